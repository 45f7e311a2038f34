#include "adapter/discovery/relister.h"

#include <algorithm>
#include <future>
#include <set>
#include <utility>

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

void Relister::ListAll(std::function<void(std::shared_ptr<Listing>)> done) {
  auto listing = std::make_shared<Listing>();
  listing->rules = rules_.Get();
  listing->started = std::chrono::steady_clock::now();
  if (listing->rules == nullptr || listing->rules->series_queries().empty()) {
    done(std::move(listing));
    return;
  }
  const auto& queries = listing->rules->series_queries();
  // All listings run at once, as in prometheus-adapter; each completes through the client's
  // timeout. The state is shared with the callbacks so that none can outlive it.
  struct Pending {
    std::mutex mutex;
    size_t remaining;
    std::shared_ptr<Listing> listing;
    std::function<void(std::shared_ptr<Listing>)> done;
  };
  auto pending = std::make_shared<Pending>();
  pending->remaining = queries.size();
  pending->listing = listing;
  pending->done = std::move(done);
  listing->results.assign(queries.size(), absl::UnknownError("not listed"));
  const auto start = clock_.Now() - options_.max_age;
  for (size_t i = 0; i < queries.size(); ++i) {
    client_.Series(queries[i], start, [pending, i](auto listed) {
      {
        std::lock_guard<std::mutex> lock(pending->mutex);
        pending->listing->results[i] = std::move(listed);
        if (--pending->remaining != 0) {
          return;
        }
      }
      pending->done(std::move(pending->listing));
    });
  }
}

void Relister::RunOnce() {
  std::promise<std::shared_ptr<Listing>> listed;
  std::future<std::shared_ptr<Listing>> listing = listed.get_future();
  ListAll([&listed](std::shared_ptr<Listing> result) { listed.set_value(std::move(result)); });
  Apply(*listing.get());
}

void Relister::Apply(Listing& listing) {
  std::lock_guard<std::mutex> run_lock(run_mutex_);
  const auto& rules = listing.rules;
  if (rules == nullptr) {
    return;
  }
  const auto& queries = rules->series_queries();
  std::vector<absl::StatusOr<std::vector<model::Series>>>& results = listing.results;
  const auto started = listing.started;
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

void Relister::Start(scheduler::Scheduler& scheduler) {
  {
    std::lock_guard<std::mutex> lock(loop_mutex_);
    if (scheduler_ != nullptr) {
      return;
    }
    scheduler_ = &scheduler;
    stopping_ = false;
    // The first run begins here and now, so that a Stop right after still waits for it.
    running_ = true;
  }
  ListAll([this](std::shared_ptr<Listing> listing) {
    std::lock_guard<std::mutex> lock(loop_mutex_);
    scheduler_->Post([this, listing = std::move(listing)] { FinishRun(*listing); });
  });
}

void Relister::BeginRun() {
  {
    std::lock_guard<std::mutex> lock(loop_mutex_);
    if (stopping_) {
      return;
    }
    running_ = true;
  }
  ListAll([this](std::shared_ptr<Listing> listing) {
    // On the thread of the last answer: matching and building belong on the scheduler.
    std::lock_guard<std::mutex> lock(loop_mutex_);
    scheduler_->Post([this, listing = std::move(listing)] { FinishRun(*listing); });
  });
}

void Relister::FinishRun(Listing& listing) {
  // Listings cancelled at shutdown (outbound::HttpClient::CancelAll) are not failures: the run
  // publishes nothing and logs no per-query warnings.
  const bool cancelled = std::any_of(listing.results.begin(), listing.results.end(),
                                     [](const auto& r) { return absl::IsCancelled(r.status()); });
  if (cancelled) {
    MA_LOG(INFO) << "relist cancelled: shutting down";
  } else {
    Apply(listing);
  }
  std::lock_guard<std::mutex> lock(loop_mutex_);
  running_ = false;
  if (!stopping_) {
    next_run_ = scheduler_->RunAfter(options_.interval, [this] { BeginRun(); });
  }
  run_finished_.notify_all();
}

void Relister::Stop() {
  scheduler::Scheduler* scheduler = nullptr;
  scheduler::JobId next_run = 0;
  {
    std::lock_guard<std::mutex> lock(loop_mutex_);
    stopping_ = true;
    scheduler = scheduler_;
    next_run = next_run_;
  }
  if (scheduler == nullptr) {
    return;
  }
  // Removes the next run, or waits for BeginRun if it is sending right now.
  scheduler->Cancel(next_run);
  std::unique_lock<std::mutex> lock(loop_mutex_);
  run_finished_.wait(lock, [this] { return !running_; });
  scheduler_ = nullptr;
  next_run_ = 0;
}

bool Relister::has_run() const {
  std::lock_guard<std::mutex> lock(loop_mutex_);
  return has_run_;
}

}  // namespace ma::discovery
