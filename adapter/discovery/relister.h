#pragma once

// The discovery loop: lists the series behind every distinct seriesQuery, applies the rules and
// publishes a new metric registry (prometheus-adapter's periodic metric lister), with one
// deliberate difference: a failing seriesQuery keeps its rules' last good series while the
// others update, instead of freezing discovery for every rule.

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "adapter/prometheus/client.h"
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

// Thread-safe: RunOnce, Start and Stop may be called from any thread; runs never overlap.
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

  // Runs RunOnce at once and then `interval` after each run completes, on a thread of its own.
  void Start();
  // Stops the loop and waits for a run in progress to end.
  void Stop();

  // Whether a run has completed (successfully or not): readiness.
  bool has_run() const;

 private:
  prometheus::Client& client_;
  const Snapshot<rules::RuleSet>& rules_;
  Snapshot<registry::MetricRegistry>& registry_;
  telemetry::AdapterMetrics& metrics_;
  const RelisterOptions options_;
  const Clock& clock_;

  std::mutex run_mutex_;               // one run at a time
  registry::SeriesByQuery last_good_;  // guarded by run_mutex_

  mutable std::mutex loop_mutex_;
  std::condition_variable loop_wakeup_;
  bool stopping_ = false;  // guarded by loop_mutex_
  bool has_run_ = false;   // guarded by loop_mutex_
  std::thread loop_;
};

}  // namespace ma::discovery
