#pragma once

// metrics.k8s.io/v1beta1 (NodeMetrics, PodMetrics) from the rules file's `resourceRules`, as
// prometheus-adapter serves it, in two pure halves around the backend calls:
//   PlanResourceMetrics:   route + query parameters + the watched objects -> the PromQL to send
//                          (one CPU and one memory query per namespace of pods, or for the nodes);
//   RenderResourceMetrics: the plan + the backend's answers -> the JSON body.
// The objects come from the object cache (the pods whose phase is Running, and the nodes), never
// from a LIST per request.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "adapter/handlers/metric_request.h"
#include "adapter/handlers/route.h"
#include "adapter/objects/object_lister.h"
#include "queries/model/query_result.h"
#include "queries/planner/resource_plan.h"
#include "queries/rules/rule_set.h"
#include "queries/selector/field_selector.h"
#include "queries/selector/label_selector.h"

namespace ma::handlers {

// The watches metrics.k8s.io answers from: Running pods (as metrics-server's informer selects
// them) and all nodes.
objects::Collection RunningPods();
objects::Collection Nodes();

struct ResourceMetricsRequest {
  bool nodes = false;          // else pods
  std::string namespace_name;  // pods: "" lists every namespace
  std::string name;            // "" lists; otherwise a get by name
  selector::LabelSelector label_selector;
  selector::FieldSelector field_selector;
};

// kInvalidArgument naming the parameter when labelSelector or fieldSelector does not parse.
absl::StatusOr<ResourceMetricsRequest> ParseResourceMetricsRequest(const Route& route,
                                                                   const QueryParams& query);

struct ResourceMetricsPlan {
  // One CPU and one memory query for some objects: the pods of one namespace, or the nodes.
  struct Batch {
    std::vector<objects::ListedObject> objects;
    planner::ResourceQueries queries;
  };

  ResourceMetricsRequest request;
  std::shared_ptr<const rules::RuleSet> rules;  // holds the resource rules the batches came from
  std::vector<Batch> batches;

  // The queries to send, CPU then memory for each batch in order; RenderResourceMetrics takes
  // the answers in the same order.
  std::vector<std::string> Queries() const;
};

// kNotFound with metrics-server's message (`podmetrics.metrics.k8s.io "ns/name" not found`,
// `nodemetrics.metrics.k8s.io "name" not found`) for a get of an object that is not watched;
// kUnavailable before the objects are listed; kInternal when a rule cannot build its query.
// `rules` must hold resource rules.
absl::StatusOr<ResourceMetricsPlan> PlanResourceMetrics(ResourceMetricsRequest request,
                                                        std::shared_ptr<const rules::RuleSet> rules,
                                                        objects::ObjectLister& objects);

// The PodMetricsList/NodeMetricsList (or, for a get, the object) for the backend's `results`, one
// per query of plan.Queries(). Objects without usage are left out of lists, as prometheus-adapter
// does, and a get of one is kNotFound with metrics-server's message; `notes` says which and why.
// `now_ms` is the objects' creationTimestamp.
absl::StatusOr<std::string> RenderResourceMetrics(
    const ResourceMetricsPlan& plan, const std::vector<const model::QueryResult*>& results,
    int64_t now_ms, planner::UsageNotes& notes);

}  // namespace ma::handlers
