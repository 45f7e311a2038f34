#pragma once

// CachingClient: a prometheus::Client decorator that answers HPA reads from memory, so that HPA
// polling at scale does not become Prometheus load: identical concurrent misses become one query,
// hot keys are refreshed ahead of expiry, a failing backend is answered with bounded-age stale
// values, and one bad query or dead backend does not take the others down. One instance serves
// one backend, so its key, the final PromQL text, is in effect (backend, PromQL). The `time`
// argument of Query is the caller's "now" and is not part of the key: a cached sample keeps its
// own timestamp.
//
// Rules:
// - Fresh: a value younger than `ttl` (counted from when its query completed) is a hit, and
//   nothing else is, except under "serve stale on error" below. Successful empty results are
//   values too.
// - Single flight: identical reads while a query is in flight wait for that query; one backend
//   call answers them all. Refreshes are single flight too: a key never has two queries in flight.
// - Refresh-ahead on a fixed cadence: a key read within the last kHotWindowTtls x `ttl` is
//   re-queried in the background once per `ttl`: each refresh starts one `ttl` after the current
//   value's query completed, less a lead, so that the new value lands as the old one expires. The
//   lead is the backend's recent query latency (a decaying maximum of the successful queries')
//   plus kRefreshStartSlack, at most kMaxRefreshLead x `ttl`, and a refresh may start up to
//   kRefreshStartSlack before it is due. A hot key thus costs the backend one query per cycle of
//   `ttl` less the unused part of the lead: at most 1 / (1 - kMaxRefreshLead - kRefreshStartSlack
//   / `ttl`) queries per `ttl` (1.032 for 15 s), typically 1.00x. A reader of a hot key never
//   waits for its refresh unless the query takes longer than the lead; then the reader joins the
//   refresh in flight (no second query) rather than being served an expired value.
//   A key's first refresh after a miss comes up to kFirstRefreshJitter x `ttl` earlier, at
//   random, so that keys first read together (after a restart, say) do not refresh together ever
//   after. Colder keys are not refreshed; they are dropped once they have no servable value.
// - Serve stale on error: when a query fails (or the key's breaker is open) and the key has a
//   value at most `max_stale` old, that value is served (counted). Otherwise the caller gets the
//   backend's error: unreachable is kUnavailable (503), a timeout kDeadlineExceeded (504). A failed
//   refresh is retried when the key's breaker next allows it.
// - Stale after a short wait: a reader that has to wait for the key's query (a refresh or a
//   miss in flight) while the key holds a value at most `max_stale` old gets that value
//   (counted as stale) once it has waited `stale_wait`, and the query goes on: its answer fills
//   the cache for later readers. A backend that hangs thus costs a reader `stale_wait`, not its
//   request deadline. `stale_wait` 0 serves such a value at once.
// - Errors are not values. A bad_data answer (kInvalidArgument: the query itself is wrong)
//   drops the key's value and is returned as is: an old value must not hide a broken rule. Other
//   errors mean "the backend could not answer" and are never stored, only counted by the breaker.
// - Circuit breaker per key (circuit_breaker.h): while open, reads get the stale value within
//   `max_stale` or fail fast with the code of the last failure, without calling the backend.
// - Bulkhead per backend (bulkhead.h): a full queue fails the query with kUnavailable (503: the
//   HPA does not treat 429 differently and retries on its next sync anyway); it counts as a
//   failure for the key's breaker.
// - Bounded memory: at most `max_entries` keys and `max_bytes` of estimated memory (each key's
//   entry and text plus its value: model::ApproximateBytes), least recently read evicted first.
//   Keys with a query in flight are skipped, so the bounds can be exceeded by the bulkhead's
//   capacity; a value just stored is kept even when it alone exceeds `max_bytes` (its readers
//   get it; the next key stored evicts it).
// - A reader that goes away (its request was cancelled: async/cancel_slot.h) is forgotten: the
//   cache keeps no callback of it. A query still queued in the bulkhead for gone readers only is
//   withdrawn and never sent; a query already sent completes and fills the cache for others.
// - `ttl` 0 disables caching: every read queries the backend, identical concurrent reads still
//   share one query, and nothing is kept (no stale values, no breaker).
// Series calls are not cached but go through the same bulkhead.

#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "adapter/async/cancel_slot.h"
#include "adapter/cache/bulkhead.h"
#include "adapter/cache/circuit_breaker.h"
#include "adapter/prometheus/client.h"
#include "adapter/scheduler/scheduler.h"
#include "adapter/telemetry/adapter_metrics.h"
#include "queries/base/clock.h"

namespace ma::cache {

// Keys read within this many TTLs are refreshed ahead of expiry.
inline constexpr int kHotWindowTtls = 2;
// A key's first refresh after a miss is due up to this fraction of the TTL early, at random: the
// phase that keeps keys first read together from refreshing together.
inline constexpr double kFirstRefreshJitter = 0.1;
// The refresh lead is at most this fraction of the TTL. A refresh cycle is one TTL less the part
// of the lead the query did not use, so this bounds the backend queries per key per TTL at
// 1 / (1 - kMaxRefreshLead), whatever the latency does; a query slower than the lead makes
// readers wait for it instead.
inline constexpr double kMaxRefreshLead = 0.03;
// A refresh starts up to this much before it is due, so maintenance runs at most once
// per slack for refreshes; the lead includes it, covering a late wake-up as well.
inline constexpr std::chrono::milliseconds kRefreshStartSlack{10};
// Callers waiting on one in-flight query; beyond this a read fails fast with kUnavailable.
inline constexpr size_t kMaxWaitersPerKey = 10000;
// Bounds for the flags.
inline constexpr std::chrono::milliseconds kMaxCacheTtl{std::chrono::hours(1)};
inline constexpr std::chrono::milliseconds kMaxCacheMaxStale{std::chrono::hours(24)};
inline constexpr size_t kMaxCacheEntries = 10'000'000;
// --cache-max-bytes: the default leaves the shipped pod's 512 MiB limit room for the process
// itself (about 20 MiB idle), the query answers being decoded (prometheus::kQueryBodyBudgetBytes
// and one answer's decoded tree) and 1,024 connections. By this estimate 100,000 keys with empty
// answers take about 40 MiB (docs/benchmarks.md, (g)); one sample of four labels adds about 0.5
// KiB a key.
inline constexpr size_t kDefaultCacheMaxBytes = size_t{128} << 20;
inline constexpr size_t kMinCacheMaxBytes = size_t{1} << 20;
inline constexpr size_t kMaxCacheMaxBytes = size_t{64} << 30;
// How long a reader with a stale value waits for the key's query before it is served that value
// (--cache-stale-wait): long enough for a healthy backend's answer, short beside the HPA's 15 s
// sync period.
inline constexpr std::chrono::milliseconds kDefaultCacheStaleWait{std::chrono::milliseconds(1500)};
inline constexpr std::chrono::milliseconds kMaxCacheStaleWait{std::chrono::seconds(30)};
// Maintenance sweeps every key (drops idle ones, finds the refreshes due before the
// next sweep) every TTL / kMaintenanceTicksPerTtl, within these bounds; in between it runs only
// to start the refreshes it found, each when it is due.
inline constexpr int kMaintenanceTicksPerTtl = 20;
inline constexpr std::chrono::milliseconds kMinMaintenanceTick{10};
inline constexpr std::chrono::milliseconds kMaxMaintenanceTick{std::chrono::seconds(1)};

struct CacheOptions {
  std::string backend = "prometheus";  // metrics label
  std::chrono::milliseconds ttl{std::chrono::seconds(15)};
  std::chrono::milliseconds max_stale{std::chrono::minutes(2)};
  std::chrono::milliseconds stale_wait = kDefaultCacheStaleWait;
  size_t max_entries = 100000;
  size_t max_bytes = kDefaultCacheMaxBytes;
  BulkheadOptions bulkhead;
  BreakerOptions breaker;
  uint64_t seed = 0;  // of the jitter; 0: random
};

// Thread-safe: Query, Series and RunMaintenance may be called from any thread, and a reader's
// canceller on its own executor; callers' callbacks are never invoked (nor destroyed) while the
// cache's mutex is held.
class CachingClient final : public prometheus::Client {
 public:
  using TimePoint = std::chrono::system_clock::time_point;

  // `inner`, `metrics` and `clock` must outlive this object.
  CachingClient(prometheus::Client& inner, telemetry::AdapterMetrics& metrics, CacheOptions options,
                const Clock& clock = SystemClock::Get());
  // Stops the maintenance ticks, then waits for the backend to answer every query it was
  // sent (the inner client calls every callback exactly once).
  ~CachingClient() override;
  CachingClient(const CachingClient&) = delete;
  CachingClient& operator=(const CachingClient&) = delete;

  void Series(std::string match, std::chrono::system_clock::time_point start,
              prometheus::SeriesCallback done) override;

  // Calls RunMaintenance on `scheduler` when it asks to be called (it only starts queries, so it
  // never holds the scheduler up); Stop ends that. `scheduler` must outlive Stop.
  void Start(scheduler::Scheduler& scheduler);
  void Stop();
  // Serves the readers whose stale wait is over, starts the refresh-ahead queries that are due (up
  // to kRefreshStartSlack early) and, once per maintenance tick, drops idle keys and finds the
  // refreshes due before the next tick. Returns when it should run next: the next due refresh,
  // stale wait or tick, whichever comes first. Tests call it with a fake clock.
  TimePoint RunMaintenance();

  size_t size() const;
  // The estimated memory of the keys and values held (the --cache-max-bytes account).
  size_t bytes() const;
  // Readers waiting for the query of `promql` in flight.
  size_t waiters(std::string_view promql) const;

 protected:
  void StartQuery(std::string promql, std::chrono::system_clock::time_point time,
                  prometheus::QueryCallback done, async::CancelSlot* cancel,
                  prometheus::CacheOutcomeSink outcome) override;

 private:
  using Duration = std::chrono::system_clock::duration;
  using ValuePtr = prometheus::QueryResultPtr;

  struct Waiter {
    uint64_t id;
    prometheus::QueryCallback done;
    prometheus::CacheOutcomeSink outcome;  // told how this reader was answered; may be null
  };
  struct Entry {
    explicit Entry(std::string k, const BreakerOptions& breaker_options)
        : key(std::move(k)), breaker(breaker_options) {}
    std::string key;
    ValuePtr value;        // null: none yet, or dropped after bad_data
    TimePoint fetched_at;  // when the query that produced `value` completed
    TimePoint last_read;
    TimePoint refresh_at;  // when the next refresh-ahead query is due to start
    bool fetching = false;
    // A reader's query's bulkhead ticket, set once submitted (0: none, or a refresh, which is
    // never withdrawn). The query may still be queued: Withdraw tries.
    Bulkhead::Ticket ticket = 0;
    std::vector<Waiter> waiters;
    CircuitBreaker breaker;
    absl::Status last_error;
    size_t bytes = 0;  // this entry's share of `bytes_`: EntryBytes() when last accounted
  };
  using Lru = std::list<Entry>;  // most recently read first

  bool caching() const { return options_.ttl.count() > 0; }
  Entry& FindOrInsert(const std::string& promql) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Erase(Lru::iterator it) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // What `e` holds in memory: the entry, its key (in the list, the index and the refresh heap)
  // and its value.
  static size_t EntryBytes(const Entry& e);
  // Stores `value` (may be null) as the entry's value and accounts the entry's bytes anew.
  void SetValue(Entry& e, ValuePtr value) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Evicts the least recently read keys without a query in flight, other than `keep`, until at
  // most `max_entries` keys and `max_bytes` remain.
  void EvictToFit(const Entry* keep) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Allow() on the key's breaker, keeping the open-breaker count and metrics in step.
  bool BreakerAllows(Entry& e, TimePoint now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void BreakerOutcome(Entry& e, TimePoint now, bool ok) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void NoteBreakerChange(BreakerState before, BreakerState after)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool Servable(const Entry& e, TimePoint now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status ShortCircuitError(const Entry& e, TimePoint now) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool Hot(const Entry& e, TimePoint now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Drops idle keys and queues in `due_` the refreshes due before `next_sweep_`.
  void Sweep(TimePoint now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Folds a successful query's latency into `latency_`.
  void NoteLatency(Duration latency) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Duration RefreshLead() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  double Random01() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PublishSize() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Sends the key's query through the bulkhead; the entry is already marked `fetching`.
  void StartFetch(const std::string& promql, bool refresh);
  // `started` is when StartFetch was called: the latency counts the bulkhead's queue too.
  void OnFetchDone(const std::string& promql, bool refresh, TimePoint started,
                   absl::StatusOr<ValuePtr> result);
  void EndOutstanding();
  // Adds a reader to the key's waiters; with a servable value, its stale wait starts too (and
  // `stale_wait_started` is set).
  uint64_t AddWaiter(Entry& e, TimePoint now, prometheus::QueryCallback done,
                     prometheus::CacheOutcomeSink outcome, bool& stale_wait_started)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Answers with the key's value the waiters whose stale wait is over; returns when the next one
  // is (TimePoint::max() for none).
  TimePoint ServeStaleWaiters();
  // Runs ServeStaleWaiters on the scheduler at `due`, unless such a run is pending already.
  void ArmStaleWake(TimePoint due);
  void StaleWake();
  // A reader's canceller: forgets its callback and, when no reader is left, withdraws the key's
  // query if it is still queued in the bulkhead.
  void Withdraw(const std::string& promql, uint64_t waiter);

  prometheus::Client& inner_;
  telemetry::AdapterMetrics& metrics_;
  const CacheOptions options_;
  const Clock& clock_;
  Bulkhead bulkhead_;

  mutable absl::Mutex mu_;
  Lru lru_ ABSL_GUARDED_BY(mu_);
  // Keys view the Entry's own string: list nodes do not move.
  absl::flat_hash_map<std::string_view, Lru::iterator> index_ ABSL_GUARDED_BY(mu_);
  int open_breakers_ ABSL_GUARDED_BY(mu_) = 0;
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;  // the sum of the entries' `bytes`
  // Backend calls (queries and series) not completed yet; the destructor waits for zero.
  int outstanding_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_waiter_ ABSL_GUARDED_BY(mu_) = 0;
  std::mt19937_64 rng_ ABSL_GUARDED_BY(mu_);
  // Decaying maximum of successful query latencies: rises at once, falls by 1/8 of the gap per
  // query, so the lead covers the recent slow queries, not only the average one.
  Duration latency_ ABSL_GUARDED_BY(mu_){};
  TimePoint next_sweep_ ABSL_GUARDED_BY(mu_){};
  // Refreshes due before the next sweep, (due time, key), a min-heap on the due time. A key may be
  // in it twice or no longer be due: each is checked again when popped.
  std::vector<std::pair<TimePoint, std::string>> due_ ABSL_GUARDED_BY(mu_);
  // Readers waiting with a servable value, a min-heap on when their stale wait is over. An entry
  // whose reader was answered (or left) meanwhile is skipped when popped.
  struct StaleWait {
    TimePoint due;
    std::string key;
    uint64_t waiter;
  };
  std::vector<StaleWait> stale_waits_ ABSL_GUARDED_BY(mu_);

  // One maintenance tick on the scheduler, which schedules the next.
  void Tick();

  absl::Mutex loop_mu_;  // never held together with mu_
  scheduler::Scheduler* scheduler_ ABSL_GUARDED_BY(loop_mu_) = nullptr;  // set while started
  scheduler::JobId next_tick_ ABSL_GUARDED_BY(loop_mu_) = 0;
  scheduler::JobId stale_wake_ ABSL_GUARDED_BY(loop_mu_) = 0;  // 0: none pending
  bool stopping_ ABSL_GUARDED_BY(loop_mu_) = false;
};

}  // namespace ma::cache
