#include "adapter/discovery/relister.h"

#include <algorithm>
#include <future>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "adapter/telemetry/log.h"

namespace ma::discovery {
namespace {

// What /readyz?verbose may show of a failed listing: its class, not its text, which can carry
// the backend's address. The log has the full error.
std::string ErrorClass(const absl::Status& status) {
  return absl::StatusCodeToString(status.code());
}

}  // namespace

std::chrono::milliseconds RelistRetryDelay(int attempt, std::chrono::milliseconds interval) {
  std::chrono::milliseconds delay = kRelistRetryFirstBackoff;
  for (int i = 1; i < attempt && delay < kRelistRetryMaxBackoff; ++i) {
    delay *= 2;
  }
  return std::min({delay, std::chrono::milliseconds(kRelistRetryMaxBackoff), interval});
}

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

void Relister::ListAll(bool retry, std::function<void(std::shared_ptr<Listing>)> done) {
  auto listing = std::make_shared<Listing>();
  listing->rules = rules_.Get();
  listing->started = std::chrono::steady_clock::now();
  if (listing->rules == nullptr || listing->rules->series_queries().empty()) {
    done(std::move(listing));
    return;
  }
  const auto& queries = listing->rules->series_queries();
  listing->results.assign(queries.size(), absl::UnknownError("not listed"));
  listing->sent.assign(queries.size(), true);
  if (retry) {
    // The queries that failed, and those no run has listed yet (the rules changed since).
    std::lock_guard<std::mutex> lock(run_mutex_);
    for (size_t i = 0; i < queries.size(); ++i) {
      listing->sent[i] = failing_.count(queries[i]) != 0 || query_states_.count(queries[i]) == 0;
    }
  }
  const size_t to_send =
      static_cast<size_t>(std::count(listing->sent.begin(), listing->sent.end(), true));
  if (to_send == 0) {
    done(std::move(listing));
    return;
  }
  // All listings run at once, as in prometheus-adapter; each completes through the client's
  // timeout. The state is shared with the callbacks so that none can outlive it.
  struct Pending {
    std::mutex mutex;
    size_t remaining;
    std::shared_ptr<Listing> listing;
    std::function<void(std::shared_ptr<Listing>)> done;
  };
  auto pending = std::make_shared<Pending>();
  pending->remaining = to_send;
  pending->listing = listing;
  pending->done = std::move(done);
  const auto start = clock_.Now() - options_.max_age;
  for (size_t i = 0; i < queries.size(); ++i) {
    if (!listing->sent[i]) {
      continue;
    }
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
  ListAll(/*retry=*/false,
          [&listed](std::shared_ptr<Listing> result) { listed.set_value(std::move(result)); });
  Apply(*listing.get());
}

bool Relister::Apply(Listing& listing) {
  std::lock_guard<std::mutex> run_lock(run_mutex_);
  const auto& rules = listing.rules;
  if (rules == nullptr) {
    return false;
  }
  const auto& queries = rules->series_queries();
  std::vector<absl::StatusOr<std::vector<model::Series>>>& results = listing.results;
  const auto started = listing.started;
  const auto now = clock_.Now();
  int failed = 0;
  std::set<std::string, std::less<>> failed_queries;
  registry::SeriesByQuery current;
  std::map<std::string, QueryState, std::less<>> states;
  std::set<std::string, std::less<>> failing;
  for (size_t i = 0; i < queries.size(); ++i) {
    const std::string& query = queries[i];
    if (!listing.sent[i]) {
      // Not retried: its last listing succeeded and still stands.
      if (const auto it = query_states_.find(query); it != query_states_.end()) {
        states[query] = it->second;
      }
    } else if (results[i].ok()) {
      // Already one entry per (name, label names) shape without values: the client merged them.
      last_good_[query] = *std::move(results[i]);
      states[query] = QueryState{true, now, ""};
    } else {
      ++failed;
      failed_queries.insert(query);
      failing.insert(query);
      states[query] = QueryState{false, now, ErrorClass(results[i].status())};
      MA_LOG(WARNING) << "listing series for " << query << " failed, keeping "
                      << (last_good_.count(query) ? "its last good series" : "no series") << ": "
                      << results[i].status().message();
    }
    if (auto it = last_good_.find(query); it != last_good_.end()) {
      current[query] = it->second;
    }
  }
  // Queries that left the rules (after a reload) are forgotten.
  last_good_ = current;
  query_states_ = std::move(states);
  failing_ = std::move(failing);
  listed_rules_ = rules;

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
      metrics_.SetRuleSeries(rule.id(), static_cast<double>(listed));
      if (failed_queries.count(rule.series_query()) != 0) {
        metrics_.RecordRuleRelistError(rule.id());
      }
    }
  }
  metrics_.SetRegistrySize(registry->custom_size(), registry->external_size());
  registry_.Set(std::move(registry));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  metrics_.RecordRelist(seconds, failed);
  MA_VLOG(1) << "relist: " << std::count(listing.sent.begin(), listing.sent.end(), true) << " of "
             << queries.size() << " series queries listed (" << failed << " failed) in " << seconds
             << "s";
  std::lock_guard<std::mutex> loop_lock(loop_mutex_);
  has_run_ = true;
  return !failing_.empty();
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
    last_full_run_ = std::chrono::steady_clock::now();
  }
  ListAll(/*retry=*/false, [this](std::shared_ptr<Listing> listing) {
    std::lock_guard<std::mutex> lock(loop_mutex_);
    scheduler_->Post([this, listing = std::move(listing)] { FinishRun(*listing); });
  });
}

void Relister::BeginRun(bool retry) {
  {
    std::lock_guard<std::mutex> lock(loop_mutex_);
    if (stopping_) {
      return;
    }
    running_ = true;
    next_run_ = 0;
    const auto now = std::chrono::steady_clock::now();
    // Retries of one failing query must not hold back the other rules' periodic listing.
    if (retry && now - last_full_run_ >= options_.interval) {
      retry = false;
    }
    if (!retry) {
      last_full_run_ = now;
    }
  }
  ListAll(retry, [this](std::shared_ptr<Listing> listing) {
    // On the thread of the last answer: matching and building belong on the scheduler.
    std::lock_guard<std::mutex> lock(loop_mutex_);
    scheduler_->Post([this, listing = std::move(listing)] { FinishRun(*listing); });
  });
}

void Relister::FinishRun(Listing& listing) {
  // Listings cancelled at shutdown (outbound::HttpClient::CancelAll) are not failures: the run
  // publishes nothing, logs no per-query warnings and is not retried.
  const bool cancelled = std::any_of(listing.results.begin(), listing.results.end(),
                                     [](const auto& r) { return absl::IsCancelled(r.status()); });
  bool failing = false;
  if (cancelled) {
    MA_LOG(INFO) << "relist cancelled: shutting down";
  } else {
    failing = Apply(listing);
  }
  std::lock_guard<std::mutex> lock(loop_mutex_);
  running_ = false;
  if (!stopping_) {
    if (relist_requested_) {
      relist_requested_ = false;
      retry_attempt_ = 0;
      next_run_ = scheduler_->Post([this] { BeginRun(/*retry=*/false); });
    } else if (failing) {
      ++retry_attempt_;
      const auto delay = RelistRetryDelay(retry_attempt_, options_.interval);
      MA_LOG(INFO) << "retrying the failed series listings in "
                   << std::chrono::duration<double>(delay).count() << "s (attempt "
                   << retry_attempt_ << ")";
      next_run_ = scheduler_->RunAfter(delay, [this] { BeginRun(/*retry=*/true); });
    } else {
      retry_attempt_ = 0;
      next_run_ = scheduler_->RunAfter(options_.interval, [this] { BeginRun(/*retry=*/false); });
    }
  }
  run_finished_.notify_all();
}

void Relister::RelistNow() {
  std::lock_guard<std::mutex> lock(loop_mutex_);
  if (scheduler_ == nullptr || stopping_ || relist_now_ != 0) {
    return;
  }
  relist_now_ = scheduler_->Post([this] {
    scheduler::Scheduler* scheduler = nullptr;
    scheduler::JobId next_run = 0;
    {
      std::lock_guard<std::mutex> job_lock(loop_mutex_);
      relist_now_ = 0;
      if (stopping_) {
        return;
      }
      if (running_) {
        relist_requested_ = true;  // FinishRun starts it
        return;
      }
      scheduler = scheduler_;
      next_run = std::exchange(next_run_, 0);
      retry_attempt_ = 0;
    }
    // On the scheduler thread, where the next run would begin: removing it cannot race it.
    scheduler->Cancel(next_run);
    BeginRun(/*retry=*/false);
  });
}

void Relister::Stop() {
  scheduler::Scheduler* scheduler = nullptr;
  scheduler::JobId next_run = 0;
  scheduler::JobId relist_now = 0;
  {
    std::lock_guard<std::mutex> lock(loop_mutex_);
    stopping_ = true;
    scheduler = scheduler_;
    next_run = next_run_;
    relist_now = relist_now_;
  }
  if (scheduler == nullptr) {
    return;
  }
  // Removes the pending jobs, or waits for one that is running right now.
  scheduler->Cancel(relist_now);
  scheduler->Cancel(next_run);
  std::unique_lock<std::mutex> lock(loop_mutex_);
  run_finished_.wait(lock, [this] { return !running_; });
  scheduler_ = nullptr;
  next_run_ = 0;
  relist_now_ = 0;
}

bool Relister::has_run() const {
  std::lock_guard<std::mutex> lock(loop_mutex_);
  return has_run_;
}

std::vector<RuleRelistState> Relister::rule_states() const {
  std::lock_guard<std::mutex> lock(run_mutex_);
  std::vector<RuleRelistState> states;
  if (listed_rules_ == nullptr) {
    return states;
  }
  for (const auto* section : {&listed_rules_->custom_rules(), &listed_rules_->external_rules()}) {
    for (const auto& rule : *section) {
      RuleRelistState& state = states.emplace_back();
      state.rule = absl::StrCat(rule.Describe(), " (", rule.id(), ")");
      if (const auto it = query_states_.find(rule.series_query()); it != query_states_.end()) {
        state.ok = it->second.ok;
        state.when = it->second.when;
        state.error = it->second.error;
      }
      if (const auto it = last_good_.find(rule.series_query()); it != last_good_.end()) {
        for (const model::Series& series : it->second) {
          state.series += series.count;
        }
      }
    }
  }
  return states;
}

std::string Relister::DescribeRuleStates() const {
  std::string text;
  for (const RuleRelistState& state : rule_states()) {
    const std::string when =
        absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromChrono(state.when), absl::UTCTimeZone());
    if (state.ok) {
      absl::StrAppend(&text, state.rule, ": ok, ", state.series, " series, listed at ", when, "\n");
    } else {
      absl::StrAppend(&text, state.rule, ": failed (", state.error, ") at ", when, ", keeping ",
                      state.series, " series\n");
    }
  }
  return text;
}

}  // namespace ma::discovery
