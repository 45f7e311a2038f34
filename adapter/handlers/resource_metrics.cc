#include "adapter/handlers/resource_metrics.h"

#include <map>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "adapter/api/encode.h"
#include "adapter/api/quantity.h"
#include "queries/base/check.h"
#include "queries/base/status_macros.h"
#include "queries/base/strings.h"

namespace ma::handlers {
namespace {

absl::Status NotFound(const ResourceMetricsRequest& request) {
  return request.nodes
             ? absl::NotFoundError(
                   Cat("nodemetrics.metrics.k8s.io ", GoQuote(request.name), " not found"))
             : absl::NotFoundError(Cat("podmetrics.metrics.k8s.io ",
                                       GoQuote(Cat(request.namespace_name, "/", request.name)),
                                       " not found"));
}

std::vector<std::string> NamesOf(const std::vector<objects::ListedObject>& objects) {
  std::vector<std::string> names;
  names.reserve(objects.size());
  for (const auto& object : objects) {
    names.push_back(object.name);
  }
  return names;
}

absl::StatusOr<api::ResourceUsage> FormatUsage(double cpu_cores, double memory_bytes) {
  api::ResourceUsage usage;
  MA_ASSIGN_OR_RETURN(usage.cpu, api::FormatDecimalQuantity(cpu_cores));
  MA_ASSIGN_OR_RETURN(usage.memory, api::FormatBinaryQuantity(memory_bytes));
  return usage;
}

}  // namespace

objects::Collection RunningPods() { return {{"", "pods"}, "status.phase=Running"}; }
objects::Collection Nodes() { return {{"", "nodes"}}; }

absl::StatusOr<ResourceMetricsRequest> ParseResourceMetricsRequest(const Route& route,
                                                                   const QueryParams& query) {
  ResourceMetricsRequest out;
  out.nodes = route.resource == "nodes";
  out.namespace_name = route.namespace_name;
  out.name = route.name;
  if (const auto text = QueryParam(query, "labelSelector"); text.has_value()) {
    auto parsed = selector::LabelSelector::Parse(*text);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          Cat("invalid labelSelector ", *text, ": ", parsed.status().message()));
    }
    out.label_selector = *std::move(parsed);
  }
  if (const auto text = QueryParam(query, "fieldSelector"); text.has_value()) {
    auto parsed = selector::FieldSelector::Parse(*text);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          Cat("invalid fieldSelector ", *text, ": ", parsed.status().message()));
    }
    out.field_selector = *std::move(parsed);
  }
  return out;
}

std::vector<std::string> ResourceMetricsPlan::Queries() const {
  std::vector<std::string> queries;
  queries.reserve(2 * batches.size());
  for (const auto& batch : batches) {
    queries.push_back(batch.queries.cpu);
    queries.push_back(batch.queries.memory);
  }
  return queries;
}

absl::StatusOr<ResourceMetricsPlan> PlanResourceMetrics(ResourceMetricsRequest request,
                                                        std::shared_ptr<const rules::RuleSet> rules,
                                                        objects::ObjectLister& objects) {
  MA_CHECK(rules != nullptr && rules->resource_rules().has_value());
  const rules::ResourceRules& resource_rules = *rules->resource_rules();
  const bool get = !request.name.empty();
  // A get ignores the selectors, as metrics-server does.
  MA_ASSIGN_OR_RETURN(
      std::vector<objects::ListedObject> listed,
      objects.Objects(request.nodes ? Nodes() : RunningPods(), request.namespace_name,
                      get ? selector::LabelSelector() : request.label_selector));
  std::map<std::string, std::vector<objects::ListedObject>> by_namespace;
  for (auto& object : listed) {
    const bool wanted = get ? object.name == request.name
                            : request.field_selector.Matches(object.namespace_name, object.name);
    if (wanted) {
      by_namespace[object.namespace_name].push_back(std::move(object));
    }
  }
  if (get && by_namespace.empty()) {
    return NotFound(request);
  }
  ResourceMetricsPlan plan;
  for (auto& [namespace_name, batch_objects] : by_namespace) {
    const std::vector<std::string> names = NamesOf(batch_objects);
    MA_ASSIGN_OR_RETURN(planner::ResourceQueries queries,
                        request.nodes
                            ? planner::PlanNodeQueries(resource_rules, names)
                            : planner::PlanPodQueries(resource_rules, namespace_name, names));
    plan.batches.push_back({std::move(batch_objects), std::move(queries)});
  }
  plan.request = std::move(request);
  plan.rules = std::move(rules);
  return plan;
}

absl::StatusOr<std::string> RenderResourceMetrics(
    const ResourceMetricsPlan& plan, const std::vector<const model::QueryResult*>& results,
    int64_t now_ms, planner::UsageNotes& notes) {
  MA_CHECK(results.size() == 2 * plan.batches.size());
  const rules::ResourceRules& resource_rules = *plan.rules->resource_rules();
  const int64_t window_ms = resource_rules.window.count();
  const bool get = !plan.request.name.empty();
  std::vector<api::PodMetrics> pods;
  std::vector<api::NodeMetrics> nodes;
  for (size_t i = 0; i < plan.batches.size(); ++i) {
    const auto& batch = plan.batches[i];
    const model::QueryResult& cpu = *results[2 * i];
    const model::QueryResult& memory = *results[2 * i + 1];
    std::map<std::string_view, const objects::ListedObject*> by_name;
    for (const auto& object : batch.objects) {
      by_name[object.name] = &object;
    }
    const std::vector<std::string> names = NamesOf(batch.objects);
    if (plan.request.nodes) {
      MA_ASSIGN_OR_RETURN(auto usage,
                          planner::MapNodeUsage(resource_rules, names, cpu, memory, notes));
      for (const auto& node : usage) {
        api::NodeMetrics item{.name = node.name,
                              .labels = by_name.at(node.name)->labels,
                              .creation_ms = now_ms,
                              .timestamp_ms = node.timestamp_ms,
                              .window_ms = window_ms};
        MA_ASSIGN_OR_RETURN(item.usage, FormatUsage(node.cpu_cores, node.memory_bytes));
        nodes.push_back(std::move(item));
      }
      continue;
    }
    MA_ASSIGN_OR_RETURN(auto usage,
                        planner::MapPodUsage(resource_rules, names, cpu, memory, notes));
    for (const auto& pod : usage) {
      const objects::ListedObject& object = *by_name.at(pod.name);
      api::PodMetrics item{.name = pod.name,
                           .namespace_name = object.namespace_name,
                           .labels = object.labels,
                           .creation_ms = now_ms,
                           .timestamp_ms = pod.timestamp_ms,
                           .window_ms = window_ms};
      for (const auto& container : pod.containers) {
        MA_ASSIGN_OR_RETURN(api::ResourceUsage container_usage,
                            FormatUsage(container.cpu_cores, container.memory_bytes));
        item.containers.push_back({container.name, std::move(container_usage)});
      }
      pods.push_back(std::move(item));
    }
  }
  if (get) {
    if (plan.request.nodes) {
      return nodes.empty() ? absl::StatusOr<std::string>(NotFound(plan.request))
                           : api::EncodeNodeMetrics(nodes.front());
    }
    return pods.empty() ? absl::StatusOr<std::string>(NotFound(plan.request))
                        : api::EncodePodMetrics(pods.front());
  }
  return plan.request.nodes ? api::EncodeNodeMetricsList(nodes) : api::EncodePodMetricsList(pods);
}

}  // namespace ma::handlers
