#include "queries/planner/query_plan.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "queries/base/status_macros.h"
#include "queries/base/strings.h"
#include "queries/planner/object_name.h"
#include "queries/promql/promql.h"
#include "queries/template/template.h"

namespace ma::planner {
namespace {

const model::GroupResource kNamespaces{"", "namespaces"};

// The matchers and LabelValuesByName entries that come from a metric selector, in requirement
// order (prometheus-adapter's processQueryParts).
struct QueryParts {
  std::vector<std::string> matchers;
  std::map<std::string, std::string> values_by_name;
};

absl::StatusOr<QueryParts> SelectorParts(const selector::LabelSelector& selector) {
  QueryParts parts;
  MA_ASSIGN_OR_RETURN(parts.matchers, promql::SelectorMatchers(selector));
  for (const auto& requirement : selector.requirements()) {
    parts.values_by_name[requirement.key] = absl::StrJoin(requirement.values, "|");
  }
  return parts;
}

absl::StatusOr<std::string> RenderQuery(const rules::Rule& rule, const std::string& series,
                                        const QueryParts& parts,
                                        std::vector<std::string> group_by) {
  tmpl::Data data{
      {"Series", series},
      {"LabelMatchers", absl::StrJoin(parts.matchers, ",")},
      {"LabelValuesByName", parts.values_by_name},
      {"GroupBy", absl::StrJoin(group_by, ",")},
      {"GroupBySlice", std::move(group_by)},
  };
  auto query = rule.metrics_query().Render(data);
  if (!query.ok()) {
    return absl::InternalError(Cat(rule.Describe(), ".metricsQuery: ", query.status().message()));
  }
  if (query->empty()) {
    return absl::InternalError(
        Cat(rule.Describe(), ": empty query produced by metrics query template"));
  }
  return query;
}

std::string NotFoundMessage(std::string_view metric, std::string_view resource_text) {
  return Cat("the server could not find the metric ", metric, " for ", resource_text);
}

}  // namespace

absl::StatusOr<CustomPlan> PlanCustom(const registry::MetricRegistry& registry,
                                      const model::ResourceMapper& mapper,
                                      const CustomRequest& request, ObjectNames objects) {
  const bool namespaced = !request.namespace_name.empty();
  if (namespaced) {
    MA_RETURN_IF_ERROR(ValidateObjectName("namespace", request.namespace_name));
  }
  for (const auto& name : objects.names) {
    MA_RETURN_IF_ERROR(ValidateObjectName("object name", name));
  }
  const auto not_found = [&](std::string_view detail = {}) {
    return absl::NotFoundError(Cat(NotFoundMessage(request.metric, request.resource),
                                   detail.empty() ? "" : " (", detail, detail.empty() ? "" : ")"));
  };
  const auto parsed = model::GroupResource::Parse(request.resource);
  auto info = mapper.Normalize(parsed.group, parsed.resource);
  if (!info.ok()) {
    return not_found();
  }
  const auto* entry = registry.FindCustom({info->group_resource, namespaced, request.metric});
  if (entry == nullptr) {
    return not_found();
  }
  if (!objects.all_objects && objects.names.empty()) {
    return not_found();
  }
  const auto& rule = *entry->rule;

  MA_ASSIGN_OR_RETURN(QueryParts parts, SelectorParts(request.metric_selector));
  if (namespaced) {
    auto namespace_label = rule.resources().LabelForResource(kNamespaces);
    if (!namespace_label.ok()) {
      return not_found(ToStd(namespace_label.status().message()));
    }
    parts.matchers.push_back(promql::LabelEq(*namespace_label, request.namespace_name));
    parts.values_by_name[*namespace_label] = request.namespace_name;
  }
  auto resource_label = rule.resources().LabelForResource(info->group_resource);
  if (!resource_label.ok()) {
    return not_found(ToStd(resource_label.status().message()));
  }
  if (objects.all_objects) {
    parts.matchers.push_back(promql::LabelNeq(*resource_label, ""));
  } else {
    parts.matchers.push_back(promql::ObjectNamesMatcher(*resource_label, objects.names));
    parts.values_by_name[*resource_label] = absl::StrJoin(objects.names, "|");
  }
  MA_ASSIGN_OR_RETURN(std::string promql,
                      RenderQuery(rule, entry->series_name, parts, {*resource_label}));
  return CustomPlan{std::move(promql), *std::move(info), *std::move(resource_label),
                    request.metric,    request.resource, request.namespace_name,
                    std::move(objects)};
}

absl::StatusOr<ExternalPlan> PlanExternal(const registry::MetricRegistry& registry,
                                          const ExternalRequest& request) {
  if (!request.namespace_name.empty()) {
    MA_RETURN_IF_ERROR(ValidateObjectName("namespace", request.namespace_name));
  }
  const auto* entry = registry.FindExternal(request.metric);
  if (entry == nullptr) {
    // prometheus-adapter's message names "namespaces" only for the namespace "default".
    return absl::NotFoundError(
        NotFoundMessage(request.metric, request.namespace_name == "default" ? "namespaces" : ""));
  }
  const auto& rule = *entry->rule;
  MA_ASSIGN_OR_RETURN(QueryParts parts, SelectorParts(request.selector));
  if (rule.namespaced() && !request.namespace_name.empty()) {
    auto namespace_label = rule.resources().LabelForResource(kNamespaces);
    if (!namespace_label.ok()) {
      return absl::InternalError(Cat(rule.Describe(), ": ", namespace_label.status().message()));
    }
    parts.matchers.push_back(promql::LabelEq(*namespace_label, request.namespace_name));
    parts.values_by_name[*namespace_label] = request.namespace_name;
  }
  MA_ASSIGN_OR_RETURN(std::string promql, RenderQuery(rule, entry->series_name, parts, {}));
  return ExternalPlan{std::move(promql), request.metric};
}

absl::StatusOr<std::vector<ObjectValue>> MapCustomResult(const CustomPlan& plan,
                                                         const model::QueryResult& result) {
  if (result.type != model::ResultType::kVector) {
    return absl::InternalError(Cat("query for metric ", plan.metric,
                                   " returned a result that is not a vector: ", plan.promql));
  }
  // Resource label value -> sample; a later sample wins, as in prometheus-adapter.
  std::map<std::string, const model::Sample*, std::less<>> by_name;
  for (const auto& sample : result.samples) {
    const auto label = sample.labels.find(plan.resource_label);
    by_name[label == sample.labels.end() ? std::string() : label->second] = &sample;
  }
  std::vector<ObjectValue> values;
  const auto add = [&](const std::string& name, const model::Sample& sample) {
    if (std::isfinite(sample.value)) {
      values.push_back({name, sample.value, sample.timestamp_ms});
    }
  };
  if (plan.objects.all_objects) {
    for (const auto& [name, sample] : by_name) {
      if (!name.empty()) {
        add(name, *sample);
      }
    }
  } else {
    for (const auto& name : plan.objects.names) {
      if (const auto it = by_name.find(name); it != by_name.end()) {
        add(name, *it->second);
      }
    }
  }
  const bool by_name_request = !plan.objects.all_objects && plan.objects.names.size() == 1;
  if (by_name_request && values.empty()) {
    const auto it = by_name.find(plan.objects.names.front());
    return absl::NotFoundError(
        Cat(NotFoundMessage(plan.metric, plan.resource_text), " ", plan.objects.names.front(),
            it != by_name.end() ? " (the value is not a finite number)" : ""));
  }
  return values;
}

absl::StatusOr<std::vector<ExternalValue>> MapExternalResult(const ExternalPlan& plan,
                                                             const model::QueryResult& result) {
  std::vector<ExternalValue> values;
  switch (result.type) {
    case model::ResultType::kVector:
    case model::ResultType::kScalar:
      break;
    default:
      return absl::InternalError(
          Cat("encountered an unexpected query result type for metric ", plan.metric));
  }
  for (const auto& sample : result.samples) {
    if (!std::isfinite(sample.value)) {
      return absl::NotFoundError(
          Cat("the external metric ", plan.metric, " has a value that is not a finite number (",
              sample.value, ") for ",
              GoQuote(absl::StrJoin(sample.labels, ",", absl::PairFormatter("=")))));
    }
    ExternalValue value;
    if (result.type == model::ResultType::kVector) {
      value.labels = sample.labels;
    }
    value.value = sample.value;
    value.timestamp_ms = sample.timestamp_ms;
    values.push_back(std::move(value));
  }
  return values;
}

}  // namespace ma::planner
