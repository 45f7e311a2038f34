#pragma once

// Live reload of the rules file, on SIGHUP and when the file changes (a mounted ConfigMap's
// `..data` symlink swap included). The new file is read, parsed and compiled completely before it
// replaces the served rules in one swap of their snapshot; requests keep the registry they
// started with, and a relist follows at once to build the registry of the new rules. A file with
// any problem changes nothing: the last good rules stay, every problem is logged as
// `FILE:LINE:COLUMN: message`, and the reload metrics say so.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "adapter/files/file_watcher.h"
#include "adapter/scheduler/scheduler.h"
#include "adapter/telemetry/adapter_metrics.h"
#include "queries/base/clock.h"
#include "queries/base/snapshot.h"
#include "queries/rules/rule_set.h"

namespace ma::reload {

struct RulesReloaderOptions {
  std::string path;               // --config
  rules::CompileOptions compile;  // as at start
  std::chrono::milliseconds watch_interval = files::kFileWatchInterval;
};

// Thread-safe: every method may be called from any thread; reloads run one at a time.
class RulesReloader {
 public:
  // `rules` holds the rules loaded at start from options.path; `relist` starts a relist of the
  // new rules at once (discovery::Relister::RelistNow). Records the start-up load as the last
  // successful one.
  RulesReloader(RulesReloaderOptions options, Snapshot<rules::RuleSet>& rules,
                telemetry::AdapterMetrics& metrics, std::function<void()> relist,
                const Clock& clock = SystemClock::Get());
  ~RulesReloader() { Stop(); }
  RulesReloader(const RulesReloader&) = delete;
  RulesReloader& operator=(const RulesReloader&) = delete;

  // Reads and compiles the file now; swaps it in and relists if it has no problem. `trigger`
  // ("SIGHUP", "file change") is for the log. Returns the problems, empty when swapped.
  std::vector<std::string> Reload(std::string_view trigger);

  // Watches the file on `scheduler`, which must outlive Stop.
  void Start(scheduler::Scheduler& scheduler);
  // A reload on the scheduler thread as soon as it is free (SIGHUP; never blocks the caller).
  // Requests made while one is pending are one reload. No effect unless started.
  void RequestReload();
  // Stops watching and drops a pending request; a reload under way finishes first.
  void Stop();

 private:
  const RulesReloaderOptions options_;
  Snapshot<rules::RuleSet>& rules_;
  telemetry::AdapterMetrics& metrics_;
  const std::function<void()> relist_;
  const Clock& clock_;

  absl::Mutex reload_mu_;  // one Reload at a time
  absl::Mutex mu_;
  scheduler::Scheduler* scheduler_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::unique_ptr<files::FileWatcher> watcher_ ABSL_GUARDED_BY(mu_);
  scheduler::JobId requested_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace ma::reload
