#include "adapter/handlers/metric_plan.h"

#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "adapter/api/encode.h"
#include "adapter/api/quantity.h"
#include "queries/base/check.h"
#include "queries/base/status_macros.h"

namespace ma::handlers {
namespace {

// A `*` request with a Kubernetes API covers the objects that exist and match, not every series
// that names one.
absl::StatusOr<planner::ObjectNames> WildcardObjects(const CustomMetricRequest& parsed,
                                                     const PlanInputs& inputs) {
  const auto& custom = parsed.request;
  const auto parsed_resource = model::GroupResource::Parse(custom.resource);
  const auto info = inputs.mapper->Normalize(parsed_resource.group, parsed_resource.resource);
  if (!info.ok() ||
      inputs.registry->FindCustom(
          {info->group_resource, !custom.namespace_name.empty(), custom.metric}) == nullptr) {
    // No metric: the planner answers 404 as it does for any request, and no resource that no
    // metric describes is ever watched.
    return planner::ObjectNames{};
  }
  MA_ASSIGN_OR_RETURN(auto names, inputs.objects->Names(
                                      info->group_resource, custom.namespace_name,
                                      parsed.object_selector.value_or(selector::LabelSelector())));
  // No matching object is prometheus-adapter's 404, which the planner gives for an empty name
  // list: the HPA treats it as it treats an empty list, as an invalid metric.
  return planner::ObjectNames{std::move(names), false};
}

absl::Status NothingDiscoveredYet() { return absl::UnavailableError("no metrics discovered yet"); }

absl::StatusOr<MetricPlan> PlanCustomMetric(const Route& route, const QueryParams& query,
                                            const PlanInputs& inputs) {
  MA_ASSIGN_OR_RETURN(CustomMetricRequest parsed, ParseCustomMetricRequest(route, query));
  planner::ObjectNames objects;
  if (!parsed.wildcard()) {
    objects.names = {parsed.name};
  } else if (inputs.objects != nullptr) {
    if (inputs.registry == nullptr) {
      return NothingDiscoveredYet();
    }
    MA_ASSIGN_OR_RETURN(objects, WildcardObjects(parsed, inputs));
  } else if (parsed.object_selector.has_value() && !parsed.object_selector->empty()) {
    return absl::InvalidArgumentError(
        "a labelSelector on a `*` request needs the Kubernetes API to list the matching objects, "
        "and this adapter runs with --standalone");
  } else {
    objects.all_objects = true;
  }
  if (inputs.registry == nullptr) {
    return NothingDiscoveredYet();
  }
  MetricPlan plan;
  MA_ASSIGN_OR_RETURN(plan.custom, planner::PlanCustom(*inputs.registry, *inputs.mapper,
                                                       parsed.request, std::move(objects)));
  plan.version = route.version;
  plan.metric_selector = std::move(parsed.request.metric_selector);
  return plan;
}

absl::StatusOr<MetricPlan> PlanExternalMetric(const Route& route, const QueryParams& query,
                                              const PlanInputs& inputs) {
  MA_ASSIGN_OR_RETURN(planner::ExternalRequest parsed, ParseExternalMetricRequest(route, query));
  if (inputs.registry == nullptr) {
    return NothingDiscoveredYet();
  }
  MetricPlan plan;
  MA_ASSIGN_OR_RETURN(plan.external, planner::PlanExternal(*inputs.registry, parsed));
  plan.version = route.version;
  return plan;
}

absl::StatusOr<std::string> RenderCustom(const MetricPlan& plan, const model::QueryResult& result) {
  const planner::CustomPlan& custom = *plan.custom;
  MA_ASSIGN_OR_RETURN(auto values, planner::MapCustomResult(custom, result));
  std::vector<api::CustomMetricValue> items;
  items.reserve(values.size());
  for (auto& value : values) {
    api::CustomMetricValue item;
    MA_ASSIGN_OR_RETURN(item.value, api::FormatMetricValue(value.value));
    item.described_object = {custom.resource.kind, custom.namespace_name, std::move(value.name),
                             custom.resource.ApiVersion()};
    item.metric_name = custom.metric;
    item.timestamp_ms = value.timestamp_ms;
    if (!plan.metric_selector.empty()) {
      item.metric_selector = plan.metric_selector;
    }
    items.push_back(std::move(item));
  }
  return api::EncodeMetricValueList(items, plan.version);
}

absl::StatusOr<std::string> RenderExternal(const MetricPlan& plan,
                                           const model::QueryResult& result) {
  MA_ASSIGN_OR_RETURN(auto values, planner::MapExternalResult(*plan.external, result));
  std::vector<api::ExternalMetricValue> items;
  items.reserve(values.size());
  for (auto& value : values) {
    MA_ASSIGN_OR_RETURN(std::string quantity, api::FormatMetricValue(value.value));
    items.push_back({plan.external->metric, std::move(value.labels), value.timestamp_ms,
                     std::nullopt, std::move(quantity)});
  }
  return api::EncodeExternalMetricValueList(items);
}

}  // namespace

absl::StatusOr<MetricPlan> PlanMetric(const Route& route, const QueryParams& query,
                                      const PlanInputs& inputs) {
  MA_CHECK(inputs.mapper != nullptr);
  if (route.kind == RouteKind::kExternalMetric) {
    return PlanExternalMetric(route, query, inputs);
  }
  MA_CHECK(route.kind == RouteKind::kCustomMetric);
  return PlanCustomMetric(route, query, inputs);
}

absl::StatusOr<std::string> RenderMetric(const MetricPlan& plan, const model::QueryResult& result) {
  return plan.custom.has_value() ? RenderCustom(plan, result) : RenderExternal(plan, result);
}

}  // namespace ma::handlers
