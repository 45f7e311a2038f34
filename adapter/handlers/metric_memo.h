#pragma once

// MetricMemo: what the handler worked out for a hot metric request last time, so that serving it
// again skips the work whose inputs have not changed:
//   - the plan (route + query parameters -> PromQL), valid while the registry it was planned
//     against is the one served (PlanMetric's other inputs are fixed for the memoized requests);
//   - the rendered JSON body, valid for that plan and for the exact value it was rendered from
//     (the value cache hands every reader of a key the same QueryResultPtr until the value
//     changes).
// Plan and render are pure functions of those inputs, so a memoized answer is byte for byte the
// one a fresh plan and render would give. Old bytes are never served for a changed value or
// rule: a new value is a new pointer, and a rule change comes with a new registry snapshot,
// which invalidates the plan and with it the body. Authorization is not involved: it runs per
// request before the handler.
//
// Entries hold no value and no registry: identities are kept as weak_ptrs, compared by owner,
// which stays exact even after the original is freed and its address reused.

#include <cstddef>
#include <list>
#include <memory>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "adapter/handlers/metric_plan.h"
#include "adapter/handlers/metric_request.h"
#include "adapter/handlers/route.h"
#include "adapter/prometheus/client.h"
#include "queries/registry/metric_registry.h"

namespace ma::handlers {

// Requests remembered at most, least recently used dropped first. An entry is a plan and one
// body (a few hundred bytes to a few KiB), so this bounds the memo to about a MiB while covering
// the hot keys of an HPA fleet; colder requests are planned and rendered as before.
inline constexpr size_t kMaxMetricMemoEntries = 512;

// Thread-safe: every method may be called from any thread; one mutex guards the entries.
class MetricMemo {
 public:
  using PlanPtr = std::shared_ptr<const MetricPlan>;
  using RegistryPtr = std::shared_ptr<const registry::MetricRegistry>;

  explicit MetricMemo(size_t max_entries = kMaxMetricMemoEntries);

  // The memo key of a metric request: everything of the request that PlanMetric reads.
  static std::string Key(const Route& route, const QueryParams& query);

  // The plan remembered for `key` if it was made against `registry`, else null.
  PlanPtr FindPlan(const std::string& key, const RegistryPtr& registry);
  // Remembers `plan`, made against `registry`, for `key`; forgets the key's body.
  void PutPlan(const std::string& key, const RegistryPtr& registry, PlanPtr plan);

  // The body remembered for `key` if it was rendered from `plan` and `value` (the same objects),
  // else null.
  std::shared_ptr<const std::string> FindBody(const std::string& key, const PlanPtr& plan,
                                              const prometheus::QueryResultPtr& value);
  // Remembers `body`, rendered from `plan` and `value`, if `plan` is still the key's plan.
  void PutBody(const std::string& key, const PlanPtr& plan, const prometheus::QueryResultPtr& value,
               std::string body);

  size_t size() const;

 private:
  struct Entry {
    std::string key;
    std::weak_ptr<const registry::MetricRegistry> registry;
    PlanPtr plan;
    std::weak_ptr<const model::QueryResult> rendered_from;  // empty: no body
    std::shared_ptr<const std::string> body;
  };
  using Lru = std::list<Entry>;  // most recently used first

  // The key's entry, made most recently used, or null.
  Entry* Find(const std::string& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t max_entries_;
  mutable absl::Mutex mu_;
  Lru lru_ ABSL_GUARDED_BY(mu_);
  // Keys view the Entry's own string: list nodes do not move.
  absl::flat_hash_map<std::string_view, Lru::iterator> index_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ma::handlers
