#include "adapter/discovery/relister.h"

#include <set>

#include "adapter/telemetry/log.h"

namespace ma::discovery {

Relister::Relister(prometheus::Client& client, const Snapshot<rules::RuleSet>& rules,
                   Snapshot<registry::MetricRegistry>& registry, telemetry::AdapterMetrics& metrics,
                   RelisterOptions options, const Clock& clock)
    : client_(client),
      rules_(rules),
      registry_(registry),
      metrics_(metrics),
      options_(options),
      clock_(clock) {}

Relister::~Relister() { Stop(); }

void Relister::RunOnce() {
  std::lock_guard<std::mutex> run_lock(run_mutex_);
  const auto rules = rules_.Get();
  if (rules == nullptr) {
    return;
  }
  const auto started = std::chrono::steady_clock::now();
  const auto& queries = rules->series_queries();
  // All listings run at once, as in prometheus-adapter; each completes through the client's
  // timeout. The state is shared with the callbacks so that none can outlive it.
  struct Pending {
    std::mutex mutex;
    std::condition_variable all_done;
    size_t remaining;
    std::vector<absl::StatusOr<std::vector<model::Series>>> results;
  };
  auto pending = std::make_shared<Pending>();
  pending->remaining = queries.size();
  pending->results.assign(queries.size(), absl::UnknownError("not listed"));
  const auto start = clock_.Now() - options_.max_age;
  for (size_t i = 0; i < queries.size(); ++i) {
    client_.Series(queries[i], start, [pending, i](auto listed) {
      std::lock_guard<std::mutex> lock(pending->mutex);
      pending->results[i] = std::move(listed);
      if (--pending->remaining == 0) {
        pending->all_done.notify_all();
      }
    });
  }
  std::vector<absl::StatusOr<std::vector<model::Series>>> results;
  {
    std::unique_lock<std::mutex> lock(pending->mutex);
    pending->all_done.wait(lock, [&] { return pending->remaining == 0; });
    results = std::move(pending->results);
  }

  int failed = 0;
  std::set<std::string, std::less<>> failed_queries;
  registry::SeriesByQuery current;
  for (size_t i = 0; i < queries.size(); ++i) {
    if (results[i].ok()) {
      // Already one entry per (name, label names) shape without values: the client merged them.
      last_good_[queries[i]] = *std::move(results[i]);
    } else {
      ++failed;
      failed_queries.insert(queries[i]);
      MA_LOG(WARNING) << "listing series for " << queries[i] << " failed, keeping "
                      << (last_good_.count(queries[i]) ? "its last good series" : "no series")
                      << ": " << results[i].status().message();
    }
    if (auto it = last_good_.find(queries[i]); it != last_good_.end()) {
      current[queries[i]] = it->second;
    }
  }
  // Queries that left the rules (after a reload) are forgotten.
  last_good_ = current;

  auto registry = registry::MetricRegistry::Build(rules, current);
  for (const auto* section : {&rules->custom_rules(), &rules->external_rules()}) {
    for (const auto& rule : *section) {
      const auto it = current.find(rule.series_query());
      size_t listed = 0;
      if (it != current.end()) {
        for (const model::Series& series : it->second) {
          listed += series.count;
        }
      }
      metrics_.SetRuleSeries(rule.Describe(), static_cast<double>(listed));
      if (failed_queries.count(rule.series_query()) != 0) {
        metrics_.RecordRuleRelistError(rule.Describe());
      }
    }
  }
  metrics_.SetRegistrySize(registry->custom_size(), registry->external_size());
  registry_.Set(std::move(registry));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  metrics_.RecordRelist(seconds, failed);
  MA_VLOG(1) << "relist: " << queries.size() << " series queries (" << failed << " failed) in "
             << seconds << "s";
  std::lock_guard<std::mutex> loop_lock(loop_mutex_);
  has_run_ = true;
}

void Relister::Start() {
  std::lock_guard<std::mutex> lock(loop_mutex_);
  if (loop_.joinable()) {
    return;
  }
  stopping_ = false;
  loop_ = std::thread([this] {
    while (true) {
      RunOnce();
      std::unique_lock<std::mutex> loop_lock(loop_mutex_);
      if (loop_wakeup_.wait_for(loop_lock, options_.interval, [this] { return stopping_; })) {
        return;
      }
    }
  });
}

void Relister::Stop() {
  {
    std::lock_guard<std::mutex> lock(loop_mutex_);
    stopping_ = true;
  }
  loop_wakeup_.notify_all();
  if (loop_.joinable()) {
    loop_.join();
  }
}

bool Relister::has_run() const {
  std::lock_guard<std::mutex> lock(loop_mutex_);
  return has_run_;
}

}  // namespace ma::discovery
