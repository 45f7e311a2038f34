#pragma once

// Query planning: a metrics API request plus the current registry snapshot becomes the one PromQL
// query prometheus-adapter would send for it, and the query's result becomes the values to report.
// Both halves are pure.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "queries/model/query_result.h"
#include "queries/model/resource_mapper.h"
#include "queries/registry/metric_registry.h"
#include "queries/selector/label_selector.h"

namespace ma::planner {

// Object names a custom request covers.
struct ObjectNames {
  // The names to ask for: one for a by-name request, the listed objects for `*`.
  std::vector<std::string> names;
  // A `*` request with no object list to restrict it (standalone, no labelSelector): every object
  // that has the series, found from the resource label of the result.
  bool all_objects = false;
};

// `.../namespaces/{ns}/{resource}/{name}/{metric}`, `.../{resource}/{name}/{metric}` and
// `.../namespaces/{ns}/metrics/{metric}` (then resource "namespaces", name {ns}, no namespace).
struct CustomRequest {
  std::string namespace_name;  // "" for root-scoped requests
  std::string resource;        // as written in the URL: "pods", "deployments.apps"
  std::string metric;
  selector::LabelSelector metric_selector;  // metricLabelSelector
};

struct CustomPlan {
  std::string promql;
  model::ResourceInfo resource;
  std::string resource_label;  // the label whose values name the objects in the result
  std::string metric;
  std::string resource_text;  // as written in the URL, for messages
  std::string namespace_name;
  ObjectNames objects;
};

// `/apis/external.metrics.k8s.io/v1beta1/namespaces/{ns}/{metric}`.
struct ExternalRequest {
  std::string namespace_name;
  std::string metric;
  selector::LabelSelector selector;  // labelSelector
};

struct ExternalPlan {
  std::string promql;
  std::string metric;
};

// kNotFound with prometheus-adapter's message when no rule serves the metric
// ("the server could not find the metric m for pods"); kInvalidArgument for selectors that cannot
// become PromQL (a label key that is no Prometheus label name, `>`/`<`), or names that are not
// Kubernetes names; kInternal when the rule cannot build a query.
absl::StatusOr<CustomPlan> PlanCustom(const registry::MetricRegistry& registry,
                                      const model::ResourceMapper& mapper,
                                      const CustomRequest& request, ObjectNames objects);
absl::StatusOr<ExternalPlan> PlanExternal(const registry::MetricRegistry& registry,
                                          const ExternalRequest& request);

// One object's value.
struct ObjectValue {
  std::string name;
  double value = 0;
  int64_t timestamp_ms = 0;  // the sample's own timestamp
};

// One external series' value; `labels` is nullopt for a scalar result (metricLabels null).
struct ExternalValue {
  std::optional<model::LabelSet> labels;
  double value = 0;
  int64_t timestamp_ms = 0;
};

// Maps an instant-query result to object values, as prometheus-adapter does. A by-name request with
// no finite value for its object is kNotFound ("the server could not find the metric m for pods
// web-1");
// `*` requests list the objects that have a finite value, in request order (all_objects: sorted).
// NaN and infinities are never reported as numbers (docs/design.md, "Where we differ").
absl::StatusOr<std::vector<ObjectValue>> MapCustomResult(const CustomPlan& plan,
                                                         const model::QueryResult& result);

// One value per sample, as prometheus-adapter reports external metrics. Any NaN or infinite sample
// fails the whole request (kNotFound, naming the series): the HPA adds external values up, so
// dropping one would be silently wrong.
absl::StatusOr<std::vector<ExternalValue>> MapExternalResult(const ExternalPlan& plan,
                                                             const model::QueryResult& result);

}  // namespace ma::planner
