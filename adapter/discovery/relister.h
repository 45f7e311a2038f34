#pragma once

// The discovery loop: lists the series behind every distinct seriesQuery, applies the rules and
// publishes a new metric registry (prometheus-adapter's periodic metric lister), with two
// deliberate differences: a failing seriesQuery keeps its rules' last good series while the
// others update, instead of freezing discovery for every rule; and a failed listing is retried
// within seconds, with backoff, instead of waiting a whole interval.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "adapter/prometheus/client.h"
#include "adapter/scheduler/scheduler.h"
#include "adapter/telemetry/adapter_metrics.h"
#include "queries/base/clock.h"
#include "queries/base/snapshot.h"
#include "queries/registry/metric_registry.h"
#include "queries/rules/rule_set.h"

namespace ma::discovery {

struct RelisterOptions {
  std::chrono::milliseconds interval{std::chrono::minutes(10)};  // --metrics-relist-interval
  std::chrono::milliseconds max_age{std::chrono::minutes(10)};   // --metrics-max-age
};

// After a run in which a listing failed (Prometheus unreachable at start, or rolling), the failed
// listings are retried after these waits, doubling from the first to the cap, so that a metric
// appears within seconds of Prometheus coming back rather than one relist interval later. The
// cap keeps a listing that always fails (a seriesQuery Prometheus rejects) from costing much.
inline constexpr std::chrono::seconds kRelistRetryFirstBackoff{1};
inline constexpr std::chrono::seconds kRelistRetryMaxBackoff{10};

// The wait before retry number `attempt` (1 for the first): kRelistRetryFirstBackoff doubled
// per attempt, capped at kRelistRetryMaxBackoff and at `interval`.
std::chrono::milliseconds RelistRetryDelay(int attempt, std::chrono::milliseconds interval);

// The last listing of one rule's seriesQuery, for /readyz?verbose.
struct RuleRelistState {
  // Position and id: "rules[0] (rules:3f2a9c1e)", "externalRules[2] (externalRules:0b7d44a0)".
  std::string rule;
  bool ok = false;
  size_t series = 0;  // series its rules have now (the last good listing's on failure)
  std::chrono::system_clock::time_point when;  // of the last listing, successful or not
  std::string error;  // on failure: the error class only; the full error is in the log
};

// Thread-safe: RunOnce, Start and Stop may be called from any thread; runs apply their listings
// one at a time.
class Relister {
 public:
  Relister(prometheus::Client& client, const Snapshot<rules::RuleSet>& rules,
           Snapshot<registry::MetricRegistry>& registry, telemetry::AdapterMetrics& metrics,
           RelisterOptions options, const Clock& clock = SystemClock::Get());
  ~Relister();
  Relister(const Relister&) = delete;
  Relister& operator=(const Relister&) = delete;

  // One relist now; returns when the new registry is published. Every listing is bounded by the
  // Prometheus client's own timeout.
  void RunOnce();

  // Starts a run at once and another `interval` after each run completes. A run sends its
  // listings and returns; the last answer hands the rest of the run (matching series to rules,
  // building the registry) to `scheduler`, which must outlive Stop. No thread waits meanwhile.
  void Start(scheduler::Scheduler& scheduler);
  // Stops the loop and waits for a run in progress to end.
  void Stop();

  // Starts a full run at once, or right after the run under way (a reload changed the rules).
  // No effect unless started.
  void RelistNow();

  // Whether a run has completed (successfully or not): readiness.
  bool has_run() const;

  // Per rule of the rules last listed, in file order: the outcome of its last listing.
  std::vector<RuleRelistState> rule_states() const;
  // rule_states() as text, one line per rule, for /readyz?verbose.
  std::string DescribeRuleStates() const;

 private:
  // What one run's listings returned, in the order of the rules' series queries.
  struct Listing {
    std::shared_ptr<const rules::RuleSet> rules;  // null: no rules, nothing was listed
    std::vector<absl::StatusOr<std::vector<model::Series>>> results;
    std::vector<bool> sent;  // a retry lists only the queries that failed; the others keep theirs
    std::chrono::steady_clock::time_point started;
  };
  struct QueryState {
    bool ok = false;
    std::chrono::system_clock::time_point when;
    std::string error;
  };

  // Sends the listings at once (all of them, or for a retry only those that failed last); `done`
  // runs on the thread of the last answer (or on this one when there is nothing to list).
  void ListAll(bool retry, std::function<void(std::shared_ptr<Listing>)> done);
  // Keeps the last good series of failed queries, publishes the registry, records the metrics.
  // True when a listing of the current rules is failing.
  bool Apply(Listing& listing);
  // The loop's steps: a scheduled run begins; its listing is applied on the scheduler.
  void BeginRun(bool retry);
  void FinishRun(Listing& listing);

  prometheus::Client& client_;
  const Snapshot<rules::RuleSet>& rules_;
  Snapshot<registry::MetricRegistry>& registry_;
  telemetry::AdapterMetrics& metrics_;
  const RelisterOptions options_;
  const Clock& clock_;

  mutable std::mutex run_mutex_;                                 // one Apply at a time
  registry::SeriesByQuery last_good_;                            // guarded by run_mutex_
  std::map<std::string, QueryState, std::less<>> query_states_;  // guarded by run_mutex_
  std::set<std::string, std::less<>> failing_;                   // guarded by run_mutex_
  std::shared_ptr<const rules::RuleSet> listed_rules_;           // guarded by run_mutex_

  mutable std::mutex loop_mutex_;
  std::condition_variable run_finished_;
  scheduler::Scheduler* scheduler_ = nullptr;  // guarded by loop_mutex_; set while started
  scheduler::JobId next_run_ = 0;              // guarded by loop_mutex_
  scheduler::JobId relist_now_ = 0;            // guarded by loop_mutex_: a RelistNow job
  bool relist_requested_ = false;              // guarded by loop_mutex_: full run after this one
  int retry_attempt_ = 0;                      // guarded by loop_mutex_: 0 when nothing failed
  std::chrono::steady_clock::time_point last_full_run_;  // guarded by loop_mutex_
  bool running_ = false;   // guarded by loop_mutex_: a loop run is under way
  bool stopping_ = false;  // guarded by loop_mutex_
  bool has_run_ = false;   // guarded by loop_mutex_
};

}  // namespace ma::discovery
