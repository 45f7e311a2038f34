#pragma once

// The discovery loop: lists the series behind every distinct seriesQuery, applies the rules and
// publishes a new metric registry (prometheus-adapter's periodic metric lister), with one
// deliberate difference: a failing seriesQuery keeps its rules' last good series while the
// others update, instead of freezing discovery for every rule.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
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

  // Whether a run has completed (successfully or not): readiness.
  bool has_run() const;

 private:
  // What one run's listings returned, in the order of the rules' series queries.
  struct Listing {
    std::shared_ptr<const rules::RuleSet> rules;  // null: no rules, nothing was listed
    std::vector<absl::StatusOr<std::vector<model::Series>>> results;
    std::chrono::steady_clock::time_point started;
  };

  // Sends every listing at once; `done` runs on the thread of the last answer (or on this one
  // when there is nothing to list).
  void ListAll(std::function<void(std::shared_ptr<Listing>)> done);
  // Keeps the last good series of failed queries, publishes the registry, records the metrics.
  void Apply(Listing& listing);
  // The loop's steps: a scheduled run begins; its listing is applied on the scheduler.
  void BeginRun();
  void FinishRun(Listing& listing);

  prometheus::Client& client_;
  const Snapshot<rules::RuleSet>& rules_;
  Snapshot<registry::MetricRegistry>& registry_;
  telemetry::AdapterMetrics& metrics_;
  const RelisterOptions options_;
  const Clock& clock_;

  std::mutex run_mutex_;               // one Apply at a time
  registry::SeriesByQuery last_good_;  // guarded by run_mutex_

  mutable std::mutex loop_mutex_;
  std::condition_variable run_finished_;
  scheduler::Scheduler* scheduler_ = nullptr;  // guarded by loop_mutex_; set while started
  scheduler::JobId next_run_ = 0;              // guarded by loop_mutex_
  bool running_ = false;                       // guarded by loop_mutex_: a loop run is under way
  bool stopping_ = false;                      // guarded by loop_mutex_
  bool has_run_ = false;                       // guarded by loop_mutex_
};

}  // namespace ma::discovery
