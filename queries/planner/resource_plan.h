#pragma once

// metrics.k8s.io (resource metrics) planning, as prometheus-adapter does it from `resourceRules`:
// one CPU and one memory query per namespace of pods (the containerQuery templates, grouped by
// pod and container) or for a set of nodes (the nodeQuery templates, grouped by node), and the
// mapping of their results to per-pod and per-node usage. Pure.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "queries/model/query_result.h"
#include "queries/rules/rule_set.h"

namespace ma::planner {

struct ResourceQueries {
  std::string cpu;
  std::string memory;
};

// The containerQuery of each rule with `.LabelMatchers` = `<namespace label>="<ns>"`, then the pod
// label matching `pods` (`="p"` for one, `=~"p1|p2"` for several) and `.GroupBy` =
// `<pod label>,<containerLabel>`. `pods` must not be empty. kInvalidArgument for a name that is no
// Kubernetes name; kInternal when a rule maps no label to namespaces or pods, or its template
// fails or renders nothing.
absl::StatusOr<ResourceQueries> PlanPodQueries(const rules::ResourceRules& rules,
                                               std::string_view namespace_name,
                                               const std::vector<std::string>& pods);

// The nodeQuery of each rule with `.LabelMatchers` = the node label matching `nodes` and
// `.GroupBy` = the node label. `nodes` must not be empty. Errors as PlanPodQueries.
absl::StatusOr<ResourceQueries> PlanNodeQueries(const rules::ResourceRules& rules,
                                                const std::vector<std::string>& nodes);

struct ContainerUsage {
  std::string name;
  double cpu_cores = 0;
  double memory_bytes = 0;
};

struct PodUsage {
  std::string name;
  int64_t timestamp_ms = 0;                // the earliest timestamp of the pod's samples
  std::vector<ContainerUsage> containers;  // sorted by name
};

struct NodeUsage {
  std::string name;
  int64_t timestamp_ms = 0;  // the earlier of the two samples' timestamps
  double cpu_cores = 0;
  double memory_bytes = 0;
};

// What the mapping left out or changed, for the caller to log and count.
struct UsageNotes {
  // Objects asked for that have no CPU or no memory sample (prometheus-adapter skips them too).
  std::vector<std::string> missing;
  // Objects left out because a sample of theirs is NaN or infinite (prometheus-adapter reports 0).
  std::vector<std::string> non_finite;
  // Negative samples reported as 0, as prometheus-adapter does (e.g. `1 - irate(idle)` past 1).
  int negative = 0;
};

// The usage of each of `pods` (in the given order) that has both a CPU and a memory sample.
// Containers are the union of both results' containers; a container in only one of them uses 0
// for the other resource. Samples for pods not in `pods` are ignored. kInternal when a result
// is not a vector, or a rule maps no label to pods.
absl::StatusOr<std::vector<PodUsage>> MapPodUsage(const rules::ResourceRules& rules,
                                                  const std::vector<std::string>& pods,
                                                  const model::QueryResult& cpu,
                                                  const model::QueryResult& memory,
                                                  UsageNotes& notes);

// The usage of each of `nodes` (in the given order) that has both samples; the first sample of a
// node counts, as in prometheus-adapter. Errors as MapPodUsage.
absl::StatusOr<std::vector<NodeUsage>> MapNodeUsage(const rules::ResourceRules& rules,
                                                    const std::vector<std::string>& nodes,
                                                    const model::QueryResult& cpu,
                                                    const model::QueryResult& memory,
                                                    UsageNotes& notes);

}  // namespace ma::planner
