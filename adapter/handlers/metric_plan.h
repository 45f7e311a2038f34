#pragma once

// A metric request in two pure halves around the one backend call:
//   PlanMetric:   route + query parameters + what is in memory -> the PromQL to send;
//   RenderMetric: the plan + the backend's answer -> the JSON body the client gets.
// The server's handler runs Plan, awaits the query, then Render; `explain` runs the same Plan and
// prints the PromQL, so what `explain` shows is what `serve` sends.

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "adapter/handlers/metric_request.h"
#include "adapter/handlers/route.h"
#include "adapter/objects/object_lister.h"
#include "queries/model/query_result.h"
#include "queries/model/resource_mapper.h"
#include "queries/planner/query_plan.h"
#include "queries/registry/metric_registry.h"

namespace ma::handlers {

// What a plan is made from, besides the request.
struct PlanInputs {
  // The discovered metrics; null before the first relist (the request then answers 503).
  const registry::MetricRegistry* registry = nullptr;
  const model::ResourceMapper* mapper = nullptr;
  // The objects a `*` custom request covers. Null without a Kubernetes API (--standalone): `*`
  // then covers every object that has the series, and a labelSelector on it cannot be answered.
  objects::ObjectLister* objects = nullptr;
};

struct MetricPlan {
  // Exactly one is set, as the route is a custom or an external metric.
  std::optional<planner::CustomPlan> custom;
  std::optional<planner::ExternalPlan> external;
  // Custom only: the API version to answer in, and the metricLabelSelector each item echoes.
  std::string version;
  selector::LabelSelector metric_selector;

  const std::string& promql() const {
    return custom.has_value() ? custom->promql : external->promql;
  }
  const std::string& metric() const {
    return custom.has_value() ? custom->metric : external->metric;
  }
};

// `route` must be a kCustomMetric or kExternalMetric route. Errors are client errors (a selector
// that does not parse, an unknown metric: 400, 404) or kUnavailable (nothing discovered yet, the
// objects not listed yet).
absl::StatusOr<MetricPlan> PlanMetric(const Route& route, const QueryParams& query,
                                      const PlanInputs& inputs);

// The MetricValueList or ExternalMetricValueList JSON for the backend's `result`. A NaN or
// infinite sample is kNotFound for external metrics (no value), as the planner's mapping says.
absl::StatusOr<std::string> RenderMetric(const MetricPlan& plan, const model::QueryResult& result);

}  // namespace ma::handlers
