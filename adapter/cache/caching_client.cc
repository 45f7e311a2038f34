#include "adapter/cache/caching_client.h"

#include <algorithm>
#include <utility>

#include "absl/time/time.h"
#include "adapter/telemetry/log.h"
#include "queries/base/check.h"
#include "queries/base/strings.h"

namespace ma::cache {
namespace {

double Seconds(std::chrono::system_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

std::string_view StateName(BreakerState state) {
  switch (state) {
    case BreakerState::kClosed:
      return "closed";
    case BreakerState::kOpen:
      return "open";
    case BreakerState::kHalfOpen:
      return "half_open";
  }
  return "closed";
}

std::chrono::milliseconds MaintenanceTick(std::chrono::milliseconds ttl) {
  return std::clamp<std::chrono::milliseconds>(ttl / kMaintenanceTicksPerTtl, kMinMaintenanceTick,
                                               kMaxMaintenanceTick);
}

// The order of the min-heap of due refreshes: (due time, key) pairs, earliest on top.
constexpr auto kDueLater = [](const auto& a, const auto& b) { return a.first > b.first; };
// The same for the stale waits.
constexpr auto kStaleWaitLater = [](const auto& a, const auto& b) { return a.due > b.due; };

}  // namespace

CachingClient::CachingClient(prometheus::Client& inner, telemetry::AdapterMetrics& metrics,
                             CacheOptions options, const Clock& clock)
    : inner_(inner),
      metrics_(metrics),
      options_(std::move(options)),
      clock_(clock),
      bulkhead_(options_.backend, options_.bulkhead, metrics),
      rng_(options_.seed != 0 ? options_.seed : std::random_device()()) {
  metrics_.InitBackend(options_.backend);
}

CachingClient::~CachingClient() {
  Stop();
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](int* outstanding) { return *outstanding == 0; }, &outstanding_));
}

void CachingClient::Start(scheduler::Scheduler& scheduler) {
  if (!caching()) {
    return;
  }
  absl::MutexLock lock(&loop_mu_);
  if (scheduler_ != nullptr) {
    return;
  }
  scheduler_ = &scheduler;
  stopping_ = false;
  next_tick_ = scheduler.RunAfter(MaintenanceTick(options_.ttl), [this] { Tick(); });
}

void CachingClient::Tick() {
  const TimePoint next = RunMaintenance();
  // Runs again when RunMaintenance asks, at least 1 ms later so that a clock that does not move
  // (a test's) cannot make this spin, and at most one tick later.
  const auto tick = std::chrono::duration_cast<Duration>(MaintenanceTick(options_.ttl));
  const Duration delay =
      std::clamp<Duration>(next - clock_.Now(), std::chrono::milliseconds(1), tick);
  absl::MutexLock lock(&loop_mu_);
  if (!stopping_) {
    next_tick_ = scheduler_->RunAfter(
        std::chrono::duration_cast<scheduler::Scheduler::Clock::duration>(delay),
        [this] { Tick(); });
  }
}

void CachingClient::Stop() {
  scheduler::Scheduler* scheduler = nullptr;
  scheduler::JobId next_tick = 0;
  scheduler::JobId stale_wake = 0;
  {
    absl::MutexLock lock(&loop_mu_);
    stopping_ = true;
    scheduler = scheduler_;
    next_tick = next_tick_;
    stale_wake = std::exchange(stale_wake_, 0);
    scheduler_ = nullptr;
  }
  if (scheduler != nullptr) {
    // Removes the next tick, or waits for the one running now (which then schedules none).
    scheduler->Cancel(next_tick);
    scheduler->Cancel(stale_wake);
  }
}

void CachingClient::ArmStaleWake(TimePoint due) {
  absl::MutexLock lock(&loop_mu_);
  if (scheduler_ == nullptr || stopping_ || stale_wake_ != 0) {
    return;  // not started (tests run RunMaintenance), or a wake is pending: it re-arms
  }
  // At least 1 ms, so that a clock that does not move (a test's) cannot make this spin.
  const Duration delay = std::max<Duration>(due - clock_.Now(), std::chrono::milliseconds(1));
  stale_wake_ =
      scheduler_->RunAfter(std::chrono::duration_cast<scheduler::Scheduler::Clock::duration>(delay),
                           [this] { StaleWake(); });
}

void CachingClient::StaleWake() {
  {
    absl::MutexLock lock(&loop_mu_);
    stale_wake_ = 0;  // before serving: a wait added from now on arms a new wake
    if (stopping_) {
      return;
    }
  }
  const TimePoint next = ServeStaleWaiters();
  if (next != TimePoint::max()) {
    ArmStaleWake(next);
  }
}

uint64_t CachingClient::AddWaiter(Entry& e, TimePoint now, prometheus::QueryCallback done,
                                  prometheus::CacheOutcomeSink outcome, bool& stale_wait_started) {
  const uint64_t id = ++next_waiter_;
  e.waiters.push_back({id, std::move(done), std::move(outcome)});
  if (Servable(e, now)) {
    stale_waits_.push_back({now + options_.stale_wait, e.key, id});
    std::push_heap(stale_waits_.begin(), stale_waits_.end(), kStaleWaitLater);
    stale_wait_started = true;
  }
  return id;
}

CachingClient::TimePoint CachingClient::ServeStaleWaiters() {
  struct Served {
    prometheus::QueryCallback done;
    prometheus::CacheOutcomeSink outcome;
    ValuePtr value;
    double age;
  };
  std::vector<Served> served;
  TimePoint next = TimePoint::max();
  {
    absl::MutexLock lock(&mu_);
    const TimePoint now = clock_.Now();
    while (!stale_waits_.empty() && stale_waits_.front().due <= now) {
      std::pop_heap(stale_waits_.begin(), stale_waits_.end(), kStaleWaitLater);
      const StaleWait wait = std::move(stale_waits_.back());
      stale_waits_.pop_back();
      const auto found = index_.find(std::string_view(wait.key));
      if (found == index_.end()) {
        continue;
      }
      Entry& e = *found->second;
      const auto it = std::find_if(e.waiters.begin(), e.waiters.end(),
                                   [&wait](const Waiter& w) { return w.id == wait.waiter; });
      // Answered or gone meanwhile; or the value grew too old while it waited, and the reader
      // keeps waiting for the query (its deadline still bounds it).
      if (it == e.waiters.end() || !Servable(e, now)) {
        continue;
      }
      served.push_back(
          {std::move(it->done), std::move(it->outcome), e.value, Seconds(now - e.fetched_at)});
      e.waiters.erase(it);  // the query stays: its answer fills the cache
    }
    if (!stale_waits_.empty()) {
      next = stale_waits_.front().due;
    }
  }
  if (!served.empty()) {
    MA_VLOG(2) << "backend " << options_.backend << " has not answered within "
               << options_.stale_wait.count() << "ms; served " << served.size()
               << " reads their stale value";
  }
  for (Served& s : served) {
    metrics_.RecordCacheServed(options_.backend, s.age, /*stale=*/true);
    prometheus::ReportCacheOutcome(s.outcome, prometheus::CacheOutcome::kStale);
    s.done(std::move(s.value));
  }
  return next;
}

size_t CachingClient::size() const {
  absl::MutexLock lock(&mu_);
  return lru_.size();
}

size_t CachingClient::bytes() const {
  absl::MutexLock lock(&mu_);
  return bytes_;
}

size_t CachingClient::waiters(std::string_view promql) const {
  absl::MutexLock lock(&mu_);
  const auto found = index_.find(promql);
  return found == index_.end() ? 0 : found->second->waiters.size();
}

void CachingClient::StartQuery(std::string promql, std::chrono::system_clock::time_point /*time*/,
                               prometheus::QueryCallback done, async::CancelSlot* cancel,
                               prometheus::CacheOutcomeSink outcome) {
  ValuePtr value;
  absl::Status error;
  double age = 0;
  bool stale = false;
  uint64_t waiter = 0;
  bool fetch = false;
  bool stale_wait_started = false;
  TimePoint stale_due;
  {
    absl::MutexLock lock(&mu_);
    const TimePoint now = clock_.Now();
    stale_due = now + options_.stale_wait;
    Entry& e = FindOrInsert(promql);
    e.last_read = now;
    // A value to serve while the key's query runs, without waiting for it.
    const bool stale_at_once = options_.stale_wait.count() == 0 && Servable(e, now);
    if (caching() && e.value != nullptr && now - e.fetched_at < options_.ttl) {
      value = e.value;
      age = Seconds(now - e.fetched_at);
    } else if (e.fetching && stale_at_once) {
      value = e.value;
      age = Seconds(now - e.fetched_at);
      stale = true;
    } else if (e.fetching) {
      if (e.waiters.size() < kMaxWaitersPerKey) {
        waiter = AddWaiter(e, now, std::move(done), outcome, stale_wait_started);
        metrics_.RecordCacheCoalesced(options_.backend, 1);
      } else {
        error = absl::UnavailableError(Cat(e.waiters.size(),
                                           " reads already wait for this query (backend ",
                                           options_.backend, ")"));
      }
    } else if (BreakerAllows(e, now)) {
      e.fetching = true;
      e.ticket = 0;
      fetch = true;
      ++outstanding_;
      metrics_.RecordCacheMiss(options_.backend);
      if (stale_at_once) {
        value = e.value;
        age = Seconds(now - e.fetched_at);
        stale = true;
      } else {
        waiter = AddWaiter(e, now, std::move(done), outcome, stale_wait_started);
      }
    } else if (Servable(e, now)) {
      value = e.value;
      age = Seconds(now - e.fetched_at);
      stale = true;
    } else {
      error = ShortCircuitError(e, now);
      metrics_.RecordShortCircuit(options_.backend);
    }
  }
  if (waiter != 0 && cancel != nullptr) {
    cancel->Attach([this, promql, waiter] { Withdraw(promql, waiter); });
  }
  if (stale_wait_started) {
    ArmStaleWake(stale_due);
  }
  if (fetch) {
    StartFetch(promql, /*refresh=*/false);
  }
  if (waiter != 0) {
    return;
  }
  if (value != nullptr) {
    if (stale) {
      metrics_.RecordCacheServed(options_.backend, age, /*stale=*/true);
    } else {
      metrics_.RecordCacheHit(options_.backend, age);
    }
    prometheus::ReportCacheOutcome(
        outcome, stale ? prometheus::CacheOutcome::kStale : prometheus::CacheOutcome::kHit);
    done(std::move(value));
  } else {
    done(std::move(error));
  }
}

void CachingClient::Withdraw(const std::string& promql, uint64_t waiter) {
  prometheus::QueryCallback dropped;  // destroyed outside the lock
  absl::MutexLock lock(&mu_);
  const auto found = index_.find(std::string_view(promql));
  if (found == index_.end()) {
    return;  // answered, and the key dropped since
  }
  Entry& e = *found->second;
  const auto it = std::find_if(e.waiters.begin(), e.waiters.end(),
                               [waiter](const Waiter& w) { return w.id == waiter; });
  if (it == e.waiters.end()) {
    return;  // answered already
  }
  dropped = std::move(it->done);
  e.waiters.erase(it);
  if (!e.waiters.empty() || e.ticket == 0 || !bulkhead_.Withdraw(e.ticket)) {
    return;  // others wait, or the query is sent: its answer fills the cache
  }
  // Queued for readers that are all gone: never sent, as if never asked for.
  e.fetching = false;
  e.ticket = 0;
  --outstanding_;
  const BreakerState before = e.breaker.state();
  e.breaker.OnAbandoned();
  NoteBreakerChange(before, e.breaker.state());
  if (!caching()) {
    Erase(found->second);
  }
}

void CachingClient::Series(std::string match, std::chrono::system_clock::time_point start,
                           prometheus::SeriesCallback done) {
  {
    absl::MutexLock lock(&mu_);
    ++outstanding_;
  }
  // The task may be dropped (queue full) or run later: `done` moves through a shared slot.
  auto shared_done = std::make_shared<prometheus::SeriesCallback>(std::move(done));
  absl::StatusOr<Bulkhead::Ticket> admitted = bulkhead_.Submit(
      [this, match = std::move(match), start, shared_done](Bulkhead::Release release) {
        inner_.Series(match, start,
                      [this, shared_done, release = std::move(release)](
                          absl::StatusOr<std::vector<model::Series>> result) {
                        (*shared_done)(std::move(result));
                        release();
                        EndOutstanding();
                      });
      });
  if (!admitted.ok()) {
    (*shared_done)(admitted.status());
    EndOutstanding();
  }
}

void CachingClient::StartFetch(const std::string& promql, bool refresh) {
  const TimePoint started = clock_.Now();
  absl::StatusOr<Bulkhead::Ticket> admitted =
      bulkhead_.Submit([this, promql, refresh, started](Bulkhead::Release release) {
        inner_.Query(promql, clock_.Now(),
                     [this, promql, refresh, started,
                      release = std::move(release)](absl::StatusOr<ValuePtr> result) {
                       OnFetchDone(promql, refresh, started, std::move(result));
                       release();
                       EndOutstanding();
                     });
      });
  if (!admitted.ok()) {
    OnFetchDone(promql, refresh, started, admitted.status());
    EndOutstanding();
    return;
  }
  if (refresh) {
    return;  // wanted whoever reads: never withdrawn
  }
  absl::MutexLock lock(&mu_);
  const auto found = index_.find(std::string_view(promql));
  // Unless it completed already (and another query of the key started since).
  if (found != index_.end() && found->second->fetching && found->second->ticket == 0) {
    found->second->ticket = *admitted;
  }
}

void CachingClient::OnFetchDone(const std::string& promql, bool refresh, TimePoint started,
                                absl::StatusOr<ValuePtr> result) {
  std::vector<Waiter> waiters;
  ValuePtr value;
  absl::Status error;
  double age = 0;
  bool stale = false;
  {
    absl::MutexLock lock(&mu_);
    const TimePoint now = clock_.Now();
    const auto found = index_.find(std::string_view(promql));
    // Entries with a query in flight are never evicted.
    MA_CHECK(found != index_.end());
    Entry& e = *found->second;
    e.fetching = false;
    e.ticket = 0;
    waiters.swap(e.waiters);
    BreakerOutcome(e, now, result.ok());
    if (result.ok()) {
      NoteLatency(now - started);
      MA_CHECK(*result != nullptr);
      SetValue(e, *std::move(result));
      EvictToFit(&e);
      e.fetched_at = now;
      // One TTL from now, less the lead, so that the next value lands as this one expires. Only
      // the first refresh after a miss is jittered: the cadence then keeps the key's phase.
      e.refresh_at = now + options_.ttl - RefreshLead();
      if (!refresh) {
        e.refresh_at -=
            std::chrono::duration_cast<Duration>(options_.ttl * kFirstRefreshJitter * Random01());
      }
      e.last_error = absl::OkStatus();
      value = e.value;
    } else {
      e.last_error = result.status();
      if (result.status().code() == absl::StatusCode::kInvalidArgument) {
        SetValue(e, nullptr);
      } else if (refresh) {
        // Retry when the breaker next allows it, not on every maintenance tick.
        e.refresh_at = e.breaker.state() == BreakerState::kOpen
                           ? e.breaker.open_until()
                           : now + options_.breaker.base_backoff;
      }
      if (Servable(e, now)) {
        value = e.value;
        age = Seconds(now - e.fetched_at);
        stale = true;
      } else {
        error = result.status();
      }
    }
    if (!caching()) {
      Erase(found->second);
    }
  }
  if (refresh) {
    metrics_.RecordCacheRefreshOutcome(options_.backend, error.ok() && !stale);
  }
  if (stale || (refresh && !error.ok())) {
    MA_LOG(WARNING) << "backend " << options_.backend << " failed "
                    << (refresh ? "to refresh " : "") << GoQuote(promql) << ": "
                    << (stale ? result.status() : error)
                    << (stale ? Cat("; serving the value from ", age, "s ago") : std::string());
  }
  for (auto& waiter : waiters) {
    // Each waiter had a query's answer, or the old value when the query failed.
    prometheus::ReportCacheOutcome(
        waiter.outcome, stale ? prometheus::CacheOutcome::kStale : prometheus::CacheOutcome::kMiss);
    if (value != nullptr) {
      metrics_.RecordCacheServed(options_.backend, age, stale);
      waiter.done(value);
    } else {
      waiter.done(error);
    }
  }
}

void CachingClient::EndOutstanding() {
  absl::MutexLock lock(&mu_);
  --outstanding_;
}

CachingClient::TimePoint CachingClient::RunMaintenance() {
  if (!caching()) {
    return TimePoint::max();
  }
  const TimePoint next_stale_wait = ServeStaleWaiters();
  std::vector<std::string> start;
  TimePoint next;
  {
    absl::MutexLock lock(&mu_);
    const TimePoint now = clock_.Now();
    if (now >= next_sweep_) {
      next_sweep_ = now + MaintenanceTick(options_.ttl);
      Sweep(now);
    }
    const TimePoint horizon = now + kRefreshStartSlack;
    while (!due_.empty() && due_.front().first < horizon) {
      std::pop_heap(due_.begin(), due_.end(), kDueLater);
      std::string key = std::move(due_.back().second);
      due_.pop_back();
      const auto found = index_.find(std::string_view(key));
      if (found == index_.end()) {
        continue;  // evicted since the sweep
      }
      Entry& e = *found->second;
      // Started by a reader, refreshed already, or gone cold since the sweep: not due any more.
      if (e.fetching || e.value == nullptr || e.refresh_at >= horizon || !Hot(e, now) ||
          !BreakerAllows(e, now)) {
        continue;
      }
      metrics_.RecordCacheRefresh(options_.backend,
                                  Seconds(std::max(now - e.refresh_at, Duration::zero())));
      e.fetching = true;
      ++outstanding_;
      start.push_back(std::move(key));
    }
    next = due_.empty() ? next_sweep_ : std::min(next_sweep_, due_.front().first);
    next = std::min(next, next_stale_wait);
  }
  for (const auto& promql : start) {
    StartFetch(promql, /*refresh=*/true);
  }
  return next;
}

void CachingClient::Sweep(TimePoint now) {
  int idle = 0;
  for (auto it = lru_.begin(); it != lru_.end();) {
    Entry& e = *it;
    const auto current = it++;
    if (e.fetching) {
      continue;
    }
    if (!Hot(e, now)) {
      if (!Servable(e, now)) {
        Erase(current);
        ++idle;
      }
      continue;
    }
    if (e.value != nullptr && e.refresh_at < next_sweep_) {
      due_.emplace_back(e.refresh_at, e.key);
      std::push_heap(due_.begin(), due_.end(), kDueLater);
    }
  }
  if (idle > 0) {
    metrics_.RecordCacheEviction(options_.backend, "idle", idle);
  }
  PublishSize();
}

bool CachingClient::Hot(const Entry& e, TimePoint now) const {
  return now - e.last_read <= options_.ttl * kHotWindowTtls;
}

void CachingClient::NoteLatency(Duration latency) {
  latency_ = latency >= latency_ ? latency : latency_ - (latency_ - latency) / 8;
}

CachingClient::Duration CachingClient::RefreshLead() const {
  return std::min<Duration>(latency_ + kRefreshStartSlack,
                            std::chrono::duration_cast<Duration>(options_.ttl * kMaxRefreshLead));
}

CachingClient::Entry& CachingClient::FindOrInsert(const std::string& promql) {
  const auto found = index_.find(std::string_view(promql));
  if (found != index_.end()) {
    lru_.splice(lru_.begin(), lru_, found->second);
    return lru_.front();
  }
  lru_.emplace_front(promql, options_.breaker);
  Entry& e = lru_.front();
  index_.emplace(std::string_view(e.key), lru_.begin());
  e.bytes = EntryBytes(e);
  bytes_ += e.bytes;
  EvictToFit(&e);
  PublishSize();
  return e;
}

size_t CachingClient::EntryBytes(const Entry& e) {
  // The list node's links, the index's slot and control byte, and the key's characters: once in
  // the entry, and once more while a copy waits in the refresh heap (counted always, for a
  // stable figure).
  constexpr size_t kOverhead = sizeof(Entry) + 2 * sizeof(void*) + sizeof(std::string_view) +
                               sizeof(Lru::iterator) + 1 + model::kAllocationOverheadBytes;
  size_t bytes = kOverhead + 2 * (e.key.size() + model::kAllocationOverheadBytes);
  if (e.value != nullptr) {
    // The shared_ptr's control block shares the value's allocation (make_shared).
    bytes += model::ApproximateBytes(*e.value) + 2 * sizeof(void*);
  }
  return bytes;
}

void CachingClient::SetValue(Entry& e, ValuePtr value) {
  e.value = std::move(value);
  bytes_ -= e.bytes;
  e.bytes = EntryBytes(e);
  bytes_ += e.bytes;
  PublishSize();
}

void CachingClient::EvictToFit(const Entry* keep) {
  int by_count = 0;
  int by_bytes = 0;
  auto it = lru_.end();
  while (it != lru_.begin() &&
         (lru_.size() > options_.max_entries || bytes_ > options_.max_bytes)) {
    --it;
    if (it->fetching || &*it == keep) {
      continue;
    }
    ++(lru_.size() > options_.max_entries ? by_count : by_bytes);
    Erase(it++);
  }
  if (by_count > 0) {
    metrics_.RecordCacheEviction(options_.backend, "capacity", by_count);
  }
  if (by_bytes > 0) {
    metrics_.RecordCacheEviction(options_.backend, "bytes", by_bytes);
  }
}

void CachingClient::Erase(Lru::iterator it) {
  if (it->breaker.state() != BreakerState::kClosed) {
    --open_breakers_;
    metrics_.SetBreakersOpen(options_.backend, open_breakers_);
  }
  bytes_ -= it->bytes;
  index_.erase(std::string_view(it->key));
  lru_.erase(it);
  PublishSize();
}

bool CachingClient::BreakerAllows(Entry& e, TimePoint now) {
  if (!caching()) {
    return true;
  }
  const BreakerState before = e.breaker.state();
  const bool allowed = e.breaker.Allow(now);
  NoteBreakerChange(before, e.breaker.state());
  return allowed;
}

void CachingClient::BreakerOutcome(Entry& e, TimePoint now, bool ok) {
  if (!caching()) {
    return;
  }
  const BreakerState before = e.breaker.state();
  if (ok) {
    e.breaker.OnSuccess();
  } else {
    e.breaker.OnFailure(now, Random01());
  }
  NoteBreakerChange(before, e.breaker.state());
}

void CachingClient::NoteBreakerChange(BreakerState before, BreakerState after) {
  if (before == after) {
    return;
  }
  metrics_.RecordBreakerTransition(options_.backend, StateName(after));
  const bool was_open = before != BreakerState::kClosed;
  const bool is_open = after != BreakerState::kClosed;
  if (was_open != is_open) {
    open_breakers_ += is_open ? 1 : -1;
    metrics_.SetBreakersOpen(options_.backend, open_breakers_);
  }
}

bool CachingClient::Servable(const Entry& e, TimePoint now) const {
  return caching() && e.value != nullptr && now - e.fetched_at <= options_.max_stale;
}

absl::Status CachingClient::ShortCircuitError(const Entry& e, TimePoint now) const {
  const absl::StatusCode code =
      e.last_error.ok() ? absl::StatusCode::kUnavailable : e.last_error.code();
  const auto wait = std::max(e.breaker.open_until() - now, TimePoint::duration::zero());
  return absl::Status(code,
                      Cat("not sent to backend ", options_.backend, ": the query failed ",
                          e.breaker.consecutive_failures(), " times in a row; next attempt in ",
                          Seconds(wait), "s; last error: ", e.last_error.message()));
}

double CachingClient::Random01() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

void CachingClient::PublishSize() {
  metrics_.SetCacheEntries(options_.backend, static_cast<double>(lru_.size()));
  metrics_.SetCacheBytes(options_.backend, static_cast<double>(bytes_));
}

}  // namespace ma::cache
