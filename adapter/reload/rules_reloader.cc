#include "adapter/reload/rules_reloader.h"

#include <utility>

#include "adapter/cli/rules_file.h"
#include "adapter/telemetry/log.h"

namespace ma::reload {
namespace {

double UnixSeconds(std::chrono::system_clock::time_point time) {
  return std::chrono::duration<double>(time.time_since_epoch()).count();
}

}  // namespace

RulesReloader::RulesReloader(RulesReloaderOptions options, Snapshot<rules::RuleSet>& rules,
                             telemetry::AdapterMetrics& metrics, std::function<void()> relist,
                             const Clock& clock)
    : options_(std::move(options)),
      rules_(rules),
      metrics_(metrics),
      relist_(std::move(relist)),
      clock_(clock) {
  metrics_.SetConfigLoaded(UnixSeconds(clock_.Now()));
}

std::vector<std::string> RulesReloader::Reload(std::string_view trigger) {
  absl::MutexLock reload_lock(&reload_mu_);
  cli::RulesFile file = cli::LoadRulesFile(options_.path, options_.compile);
  if (!file.problems.empty()) {
    for (const std::string& problem : file.problems) {
      MA_LOG(ERROR) << problem;
    }
    MA_LOG(ERROR) << "rules reload (" << trigger << ") refused: " << file.problems.size()
                  << " problem(s) in " << options_.path << "; still serving the last good rules";
    metrics_.RecordConfigReload(false, 0);
    return std::move(file.problems);
  }
  const rules::RuleSet& loaded = *file.rule_set;
  MA_LOG(INFO) << "rules reloaded (" << trigger << ") from " << options_.path << ": "
               << loaded.custom_rules().size() << " custom and " << loaded.external_rules().size()
               << " external rules; relisting";
  rules_.Set(std::move(file.rule_set));
  metrics_.RecordConfigReload(true, UnixSeconds(clock_.Now()));
  relist_();
  return {};
}

void RulesReloader::Start(scheduler::Scheduler& scheduler) {
  absl::MutexLock lock(&mu_);
  if (scheduler_ != nullptr || stopped_) {
    return;
  }
  scheduler_ = &scheduler;
  watcher_ = std::make_unique<files::FileWatcher>(
      scheduler, std::vector<std::string>{options_.path}, [this] { Reload("file change"); },
      options_.watch_interval);
}

void RulesReloader::RequestReload() {
  absl::MutexLock lock(&mu_);
  if (scheduler_ == nullptr || stopped_ || requested_ != 0) {
    return;
  }
  requested_ = scheduler_->Post([this] {
    {
      absl::MutexLock job_lock(&mu_);
      requested_ = 0;
    }
    Reload("SIGHUP");
  });
}

void RulesReloader::Stop() {
  scheduler::Scheduler* scheduler = nullptr;
  scheduler::JobId requested = 0;
  std::unique_ptr<files::FileWatcher> watcher;
  {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
    scheduler = scheduler_;
    requested = std::exchange(requested_, 0);
    watcher = std::move(watcher_);
  }
  // Outside the lock: both wait for a job under way, which takes it.
  watcher.reset();
  if (scheduler != nullptr && requested != 0) {
    scheduler->Cancel(requested);
  }
}

}  // namespace ma::reload
