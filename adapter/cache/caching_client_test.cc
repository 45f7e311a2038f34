#include "adapter/cache/caching_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "adapter/async/cancel_slot.h"
#include "adapter/scheduler/scheduler.h"
#include "queries/base/strings.h"
#include "test/testing/fake_clock.h"
#include "test/testing/fake_prometheus_client.h"
#include "test/testing/run_task.h"

namespace ma::cache {
namespace {

using ::ma::testing::FakeClock;
using ::ma::testing::FakePrometheusClient;
using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;
using Result = absl::StatusOr<prometheus::QueryResultPtr>;
using TimePointForTest = std::chrono::system_clock::time_point;

constexpr int64_t kSampleTimestampMs = 1'234'567'000;

model::QueryResult Value(double value, int64_t timestamp_ms = kSampleTimestampMs) {
  model::QueryResult result;
  result.samples.push_back({{{"queue", "orders"}}, value, timestamp_ms});
  return result;
}

CacheOptions Options(milliseconds ttl = seconds(10), milliseconds max_stale = seconds(30)) {
  CacheOptions o;
  o.ttl = ttl;
  o.max_stale = max_stale;
  o.seed = 42;
  o.breaker.jitter = 0;
  return o;
}

class CachingClientTest : public ::testing::Test {
 protected:
  // The backend answers every query at once with Value(1) until a test says otherwise.
  CachingClientTest() {
    backend_.SetDefaultQueryAnswer(Value(1));
    backend_.SetDefaultSeriesAnswer(std::vector<model::Series>(2));
  }

  // The result of one Query, which these tests' backend answers synchronously.
  Result Read(CachingClient& cache, const std::string& promql) {
    std::optional<Result> got;
    cache.Query(promql, clock_.Now(), [&got](Result r) { got = std::move(r); });
    EXPECT_TRUE(got.has_value()) << "no synchronous answer for " << promql;
    return got.value_or(absl::InternalError("no answer"));
  }
  std::string Metrics() const { return metrics_.Serialize(); }

  FakeClock clock_;
  FakePrometheusClient backend_;
  telemetry::AdapterMetrics metrics_{"v", "c"};
};

double ValueOf(const Result& r) {
  return r.ok() && !(*r)->samples.empty() ? (*r)->samples[0].value : -1;
}
int64_t TimestampOf(const Result& r) {
  return r.ok() && !(*r)->samples.empty() ? (*r)->samples[0].timestamp_ms : -1;
}

TEST_F(CachingClientTest, HitWithinTtlKeepsTheSampleTimestamp) {
  CachingClient cache(backend_, metrics_, Options(), clock_);
  backend_.SetDefaultQueryAnswer(Value(7));
  struct Step {
    milliseconds advance;
    int want_calls;
  };
  const Step steps[] = {{milliseconds(0), 1},
                        {seconds(5), 1},
                        {milliseconds(4999), 1},
                        {milliseconds(1), 2},
                        {seconds(9), 2}};
  for (const Step& step : steps) {
    clock_.Advance(step.advance);
    const Result r = Read(cache, "up");
    EXPECT_EQ(ValueOf(r), 7);
    EXPECT_EQ(TimestampOf(r), kSampleTimestampMs);
    EXPECT_EQ(backend_.calls("up"), step.want_calls);
  }
  const std::string text = Metrics();
  EXPECT_THAT(text, HasSubstr(R"(metrics_adapter_cache_hits_total{backend="prometheus"} 3)"));
  EXPECT_THAT(text, HasSubstr(R"(metrics_adapter_cache_misses_total{backend="prometheus"} 2)"));
}

TEST_F(CachingClientTest, QueryTimeIsNotPartOfTheKey) {
  CachingClient cache(backend_, metrics_, Options(), clock_);
  for (int i = 0; i < 3; ++i) {
    std::optional<Result> got;
    cache.Query("up", clock_.Now() + seconds(i * 100), [&got](Result r) { got = std::move(r); });
    ASSERT_TRUE(got.has_value() && got->ok());
  }
  EXPECT_EQ(backend_.calls("up"), 1);
}

// Hits hand out the value the cache holds, not a copy; a new value is a new pointer, which the
// handler's render memo relies on.
TEST_F(CachingClientTest, ReadersShareOneValueUntilItChanges) {
  CachingClient cache(backend_, metrics_, Options(seconds(10)), clock_);
  const Result first = Read(cache, "up");
  ASSERT_TRUE(first.ok());
  clock_.Advance(seconds(5));
  const Result hit = Read(cache, "up");
  ASSERT_TRUE(hit.ok());
  EXPECT_EQ(hit->get(), first->get());
  backend_.SetDefaultQueryAnswer(Value(2));
  clock_.Advance(seconds(6));
  const Result fresh = Read(cache, "up");
  ASSERT_TRUE(fresh.ok());
  EXPECT_NE(fresh->get(), first->get());
  EXPECT_EQ(ValueOf(fresh), 2);
}

TEST_F(CachingClientTest, EmptyResultIsAValue) {
  CachingClient cache(backend_, metrics_, Options(), clock_);
  backend_.SetDefaultQueryAnswer(model::QueryResult{});
  EXPECT_TRUE(Read(cache, "absent").ok());
  clock_.Advance(seconds(5));
  const Result r = Read(cache, "absent");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE((*r)->samples.empty());
  EXPECT_EQ(backend_.calls("absent"), 1);
}

TEST_F(CachingClientTest, ConcurrentIdenticalMissesMakeOneBackendCall) {
  constexpr int kReaders = 100;
  CachingClient cache(backend_, metrics_, Options(), clock_);
  backend_.Hold();
  absl::Mutex mu;
  std::vector<Result> results;
  std::vector<std::thread> threads;
  for (int i = 0; i < kReaders; ++i) {
    threads.emplace_back([&] {
      cache.Query("sum(rate(x[1m]))", clock_.Now(), [&](Result r) {
        absl::MutexLock lock(&mu);
        results.push_back(std::move(r));
      });
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(backend_.calls("sum(rate(x[1m]))"), 1);
  {
    absl::MutexLock lock(&mu);
    EXPECT_TRUE(results.empty());
  }
  backend_.Release(Value(3.5, 99'000));
  absl::MutexLock lock(&mu);
  ASSERT_EQ(results.size(), static_cast<size_t>(kReaders));
  for (const Result& r : results) {
    EXPECT_EQ(ValueOf(r), 3.5);
    EXPECT_EQ(TimestampOf(r), 99'000);
  }
  EXPECT_THAT(Metrics(),
              HasSubstr(R"(metrics_adapter_cache_coalesced_total{backend="prometheus"} 99)"));
}

TEST_F(CachingClientTest, RefreshAheadKeepsHotKeysFreshAndLetsIdleKeysGo) {
  CachingClient cache(backend_, metrics_, Options(seconds(10), seconds(30)), clock_);
  ASSERT_TRUE(Read(cache, "hot").ok());
  ASSERT_TRUE(Read(cache, "idle").ok());
  int idle_calls_at_40s = 0;
  // Maintenance every second for two minutes; the HPA reads "hot" every 5 s.
  for (int t = 1; t <= 120; ++t) {
    clock_.Advance(seconds(1));
    cache.RunMaintenance();
    if (t % 5 == 0) {
      ASSERT_TRUE(Read(cache, "hot").ok());
    }
    if (t == 40) {
      idle_calls_at_40s = backend_.calls("idle");
    }
  }
  // Every read of "hot" after the first was a hit: refreshes always came before expiry.
  EXPECT_THAT(Metrics(),
              HasSubstr(R"(metrics_adapter_cache_misses_total{backend="prometheus"} 2)"));
  EXPECT_THAT(Metrics(), HasSubstr(R"(metrics_adapter_cache_hits_total{backend="prometheus"} 24)"));
  // One refresh per TTL (the first up to 10 % early), after the miss at 0.
  EXPECT_GE(backend_.calls("hot"), 1 + 120 / 10);
  EXPECT_LE(backend_.calls("hot"), 1 + 120 / 10 + 1);
  // "idle", read once at 0, is refreshed only while it was read within 2 TTLs (20 s)...
  EXPECT_GE(idle_calls_at_40s, 2);
  EXPECT_LE(idle_calls_at_40s, 4);
  EXPECT_EQ(backend_.calls("idle"), idle_calls_at_40s);
  // ...and dropped once its value is older than max-stale.
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_THAT(
      Metrics(),
      HasSubstr(R"(metrics_adapter_cache_evictions_total{backend="prometheus",reason="idle"} 1)"));
  EXPECT_THAT(Metrics(), HasSubstr(R"(metrics_adapter_cache_refresh_lag_seconds_count)"));
}

// How often the maintenance thread would run in these tests' steps: often enough that a refresh
// starts when it is due, as the thread, waking for each due refresh, does.
constexpr milliseconds kStep(10);

TEST_F(CachingClientTest, SteadyReadsCostOneQueryPerKeyPerTtl) {
  // The HPA reads two keys every second for 30 TTLs. Each key costs its first miss and then one
  // refresh per TTL, and every read after the first is a hit. (Refreshing at 70-85 % of the TTL
  // cost about 1.3 queries per TTL: 39 here.)
  constexpr int kTtls = 30;
  const milliseconds ttl = seconds(10);
  CachingClient cache(backend_, metrics_, Options(ttl, seconds(30)), clock_);
  ASSERT_TRUE(Read(cache, "a").ok());
  ASSERT_TRUE(Read(cache, "b").ok());
  for (milliseconds t = kStep; t <= ttl * kTtls; t += kStep) {
    clock_.Advance(kStep);
    cache.RunMaintenance();
    if (t % seconds(1) == milliseconds(0)) {
      ASSERT_TRUE(Read(cache, "a").ok());
      ASSERT_TRUE(Read(cache, "b").ok());
    }
  }
  for (const char* key : {"a", "b"}) {
    SCOPED_TRACE(key);
    EXPECT_GE(backend_.calls(key), kTtls);
    EXPECT_LE(backend_.calls(key), kTtls + 1);
  }
  EXPECT_THAT(Metrics(),
              HasSubstr(R"(metrics_adapter_cache_misses_total{backend="prometheus"} 2)"));
}

TEST_F(CachingClientTest, RefreshStartsOneTtlAfterTheLastValueLessTheLatency) {
  // Every query takes 200 ms. Each refresh must start about 200 ms before the current value
  // expires, so that the new value lands as the old one expires: not later (a reader would
  // wait), and not much earlier (that costs more queries per TTL).
  const milliseconds ttl = seconds(10);
  const milliseconds latency(200);
  CachingClient cache(backend_, metrics_, Options(ttl, seconds(30)), clock_);
  backend_.Hold();
  std::optional<Result> first;
  cache.Query("q", clock_.Now(), [&first](Result r) { first = std::move(r); });
  clock_.Advance(latency);
  backend_.Release(Value(1));
  backend_.Hold();
  ASSERT_TRUE(first.has_value() && first->ok());

  milliseconds landed(latency);  // when the current value arrived
  milliseconds sent(0);
  int cycles = 0;
  for (milliseconds t = latency + kStep; t <= latency + ttl * 6; t += kStep) {
    clock_.Advance(kStep);
    cache.RunMaintenance();
    if (backend_.pending() > 0 && sent <= landed) {
      sent = t;
      // The first refresh is up to 10 % of the TTL early (the key's jittered phase), the
      // others start one TTL after the last value less the lead (200 ms and 10 ms of slack).
      const milliseconds earliest = (cycles == 0 ? ttl * 9 / 10 : ttl) - latency - milliseconds(30);
      EXPECT_GE(sent - landed, earliest) << "at " << t.count() << " ms";
      EXPECT_LE(sent - landed, ttl - latency) << "at " << t.count() << " ms";
    }
    if (backend_.pending() > 0 && t - sent >= latency) {
      backend_.Release(Value(static_cast<double>(t.count())));
      backend_.Hold();
      landed = t;
      ++cycles;
    }
    if (t % milliseconds(100) == milliseconds(0)) {
      // Answered at once (a hit): a reader never waits for the refresh.
      const Result r = Read(cache, "q");
      ASSERT_TRUE(r.ok()) << "at " << t.count() << " ms";
    }
  }
  EXPECT_EQ(cycles, 6);
  EXPECT_EQ(backend_.calls("q"), 7);
  EXPECT_THAT(Metrics(),
              HasSubstr(R"(metrics_adapter_cache_misses_total{backend="prometheus"} 1)"));
  backend_.Release(Value(0));
}

TEST_F(CachingClientTest, KeysFirstReadTogetherRefreshAtDifferentPhases) {
  constexpr int kKeys = 20;
  const milliseconds ttl = seconds(10);
  CachingClient cache(backend_, metrics_, Options(ttl, seconds(30)), clock_);
  for (int i = 0; i < kKeys; ++i) {
    ASSERT_TRUE(Read(cache, Cat("k", i)).ok());
  }
  std::map<std::string, milliseconds> first_refresh;
  for (milliseconds t = kStep; t <= ttl; t += kStep) {
    clock_.Advance(kStep);
    cache.RunMaintenance();
    for (int i = 0; i < kKeys; ++i) {
      const std::string key = Cat("k", i);
      if (backend_.calls(key) > 1 && !first_refresh.contains(key)) {
        first_refresh[key] = t;
      }
    }
  }
  ASSERT_EQ(first_refresh.size(), static_cast<size_t>(kKeys));
  std::set<milliseconds> phases;
  for (const auto& [key, t] : first_refresh) {
    SCOPED_TRACE(key);
    // Within the last 10 % of the TTL, less the lead (10 ms of slack, no latency here).
    EXPECT_GE(t, ttl * 9 / 10 - milliseconds(20));
    EXPECT_LE(t, ttl - milliseconds(10));
    phases.insert(t);
  }
  EXPECT_GE(phases.size(), static_cast<size_t>(kKeys / 2));
}

TEST_F(CachingClientTest, RefreshSlowerThanTheLeadIsJoinedNotServedExpired) {
  const milliseconds ttl = seconds(10);
  CachingClient cache(backend_, metrics_, Options(ttl, seconds(30)), clock_);
  backend_.SetDefaultQueryAnswer(Value(1));
  ASSERT_TRUE(Read(cache, "q").ok());  // latency 0: the lead is the 10 ms of slack
  backend_.Hold();
  milliseconds t(0);
  while (backend_.pending() == 0 && t < ttl) {
    clock_.Advance(kStep);
    t += kStep;
    cache.RunMaintenance();
    ASSERT_TRUE(Read(cache, "q").ok());  // hits while the value is fresh
  }
  ASSERT_EQ(backend_.calls("q"), 2);
  // The refresh is still in flight when the value expires: a reader then waits for it rather
  // than get the expired value, and no second query is sent.
  clock_.Advance(ttl - t);
  std::optional<Result> got;
  cache.Query("q", clock_.Now(), [&got](Result r) { got = std::move(r); });
  EXPECT_FALSE(got.has_value());
  EXPECT_EQ(backend_.calls("q"), 2);
  backend_.Release(Value(2));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(ValueOf(*got), 2);
  EXPECT_THAT(Metrics(),
              HasSubstr(R"(metrics_adapter_cache_coalesced_total{backend="prometheus"} 1)"));
}

TEST_F(CachingClientTest, ServesStaleWithinMaxStaleThenFails) {
  auto options = Options(seconds(10), seconds(30));
  options.breaker.failure_threshold = 1000;  // this test is about staleness alone
  CachingClient cache(backend_, metrics_, options, clock_);
  backend_.SetDefaultQueryAnswer(Value(5, 777'000));
  ASSERT_TRUE(Read(cache, "q").ok());
  backend_.SetDefaultQueryAnswer(absl::UnavailableError("connect: connection refused"));
  struct Step {
    milliseconds at;
    absl::StatusCode want;
  };
  const Step steps[] = {{seconds(11), absl::StatusCode::kOk},
                        {seconds(30), absl::StatusCode::kOk},
                        {milliseconds(30001), absl::StatusCode::kUnavailable},
                        {seconds(100), absl::StatusCode::kUnavailable}};
  milliseconds now(0);
  for (const Step& step : steps) {
    SCOPED_TRACE(step.at.count());
    clock_.Advance(step.at - now);
    now = step.at;
    const Result r = Read(cache, "q");
    EXPECT_EQ(r.status().code(), step.want);
    if (r.ok()) {
      EXPECT_EQ(ValueOf(r), 5);
      EXPECT_EQ(TimestampOf(r), 777'000);  // the sample's own time, never "now"
    }
  }
  EXPECT_EQ(backend_.calls("q"), 5);
  EXPECT_THAT(Metrics(),
              HasSubstr(R"(metrics_adapter_cache_stale_served_total{backend="prometheus"} 2)"));
  backend_.SetDefaultQueryAnswer(Value(6));
  EXPECT_EQ(ValueOf(Read(cache, "q")), 6);
}

// What the access log says of each read: the first read and the one after the TTL asked the
// backend (miss), the one in between came from memory (hit), and a failed backend's reader got
// the old value (stale); a reader that joined a query in flight had that query's answer (miss).
TEST_F(CachingClientTest, EachReadReportsHowItWasAnswered) {
  auto options = Options(seconds(10), seconds(60));
  options.breaker.failure_threshold = 1000;
  CachingClient cache(backend_, metrics_, options, clock_);
  const auto read = [&](const std::string& promql) {
    auto outcome =
        std::make_shared<std::atomic<prometheus::CacheOutcome>>(prometheus::CacheOutcome::kNone);
    std::optional<Result> got;
    cache.Query(
        promql, clock_.Now(), [&got](Result r) { got = std::move(r); }, nullptr, outcome);
    EXPECT_TRUE(got.has_value());
    return prometheus::CacheOutcomeName(outcome->load());
  };
  EXPECT_EQ(read("q"), "miss");
  clock_.Advance(seconds(5));
  EXPECT_EQ(read("q"), "hit");
  clock_.Advance(seconds(6));
  EXPECT_EQ(read("q"), "miss");
  backend_.SetDefaultQueryAnswer(absl::UnavailableError("connect: connection refused"));
  clock_.Advance(seconds(11));
  EXPECT_EQ(read("q"), "stale");
  EXPECT_EQ(read("never-answered"), "miss");  // an error from the backend is a miss too

  backend_.SetDefaultQueryAnswer(Value(3));
  backend_.Hold();
  std::vector<std::shared_ptr<std::atomic<prometheus::CacheOutcome>>> outcomes;
  for (int i = 0; i < 2; ++i) {
    outcomes.push_back(
        std::make_shared<std::atomic<prometheus::CacheOutcome>>(prometheus::CacheOutcome::kNone));
    cache.Query(
        "held", clock_.Now(), [](Result) {}, nullptr, outcomes.back());
  }
  EXPECT_EQ(backend_.pending(), 1);
  backend_.Release(Value(3));
  for (const auto& outcome : outcomes) {
    EXPECT_EQ(outcome->load(), prometheus::CacheOutcome::kMiss);
  }
}

TEST(CacheOutcomeTest, ARequestReportsTheLastOutcomeInOrder) {
  auto sink =
      std::make_shared<std::atomic<prometheus::CacheOutcome>>(prometheus::CacheOutcome::kNone);
  prometheus::ReportCacheOutcome(sink, prometheus::CacheOutcome::kMiss);
  prometheus::ReportCacheOutcome(sink, prometheus::CacheOutcome::kHit);
  EXPECT_EQ(sink->load(), prometheus::CacheOutcome::kMiss);
  prometheus::ReportCacheOutcome(sink, prometheus::CacheOutcome::kStale);
  prometheus::ReportCacheOutcome(sink, prometheus::CacheOutcome::kMiss);
  EXPECT_EQ(sink->load(), prometheus::CacheOutcome::kStale);
  prometheus::ReportCacheOutcome(nullptr, prometheus::CacheOutcome::kHit);  // no sink: no-op
}

TEST_F(CachingClientTest, BadDataIsNotServedStale) {
  CachingClient cache(backend_, metrics_, Options(seconds(10), seconds(60)), clock_);
  ASSERT_TRUE(Read(cache, "q").ok());
  clock_.Advance(seconds(11));
  backend_.SetDefaultQueryAnswer(absl::InvalidArgumentError("bad_data: parse error"));
  EXPECT_EQ(Read(cache, "q").status().code(), absl::StatusCode::kInvalidArgument);
  // The old value is gone: an outage now has nothing to serve.
  backend_.SetDefaultQueryAnswer(absl::UnavailableError("down"));
  EXPECT_EQ(Read(cache, "q").status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(CachingClientTest, LeastRecentlyReadKeyIsEvicted) {
  auto options = Options();
  options.max_entries = 3;
  CachingClient cache(backend_, metrics_, options, clock_);
  for (const char* key : {"a", "b", "c", "a", "d"}) {
    ASSERT_TRUE(Read(cache, key).ok());
  }
  EXPECT_EQ(cache.size(), 3u);
  // "b" was the least recently read when "d" came in.
  ASSERT_TRUE(Read(cache, "a").ok());
  ASSERT_TRUE(Read(cache, "c").ok());
  ASSERT_TRUE(Read(cache, "d").ok());
  EXPECT_EQ(backend_.calls("a") + backend_.calls("c") + backend_.calls("d"), 3);
  ASSERT_TRUE(Read(cache, "b").ok());
  EXPECT_EQ(backend_.calls("b"), 2);
  EXPECT_EQ(cache.size(), 3u);
  const std::string text = Metrics();
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(metrics_adapter_cache_evictions_total{backend="prometheus",reason="capacity"} 2)"));
  EXPECT_THAT(text, HasSubstr(R"(metrics_adapter_cache_entries{backend="prometheus"} 3)"));
}

// A value of `samples` samples, each with a label value of `label_bytes` characters.
model::QueryResult BigValue(int samples, size_t label_bytes) {
  model::QueryResult result;
  for (int i = 0; i < samples; ++i) {
    result.samples.push_back({{{"pod", Cat(i, std::string(label_bytes, 'p'))}}, 1, 0});
  }
  return result;
}

TEST_F(CachingClientTest, ByteBudgetEvictsLeastRecentlyReadAndAccountsEveryByte) {
  backend_.SetDefaultQueryAnswer(BigValue(10, 1000));
  auto options = Options();
  CachingClient sizing(backend_, metrics_, options, clock_);
  ASSERT_TRUE(Read(sizing, "a").ok());
  const size_t one = sizing.bytes();
  // Keys of one character: the entries differ in nothing the estimate sees.
  EXPECT_GT(one, 10 * 1000u);
  options.max_bytes = one * 7 / 2;  // room for three
  CachingClient cache(backend_, metrics_, options, clock_);
  for (const char* key : {"a", "b", "c", "a", "d"}) {
    ASSERT_TRUE(Read(cache, key).ok());
    EXPECT_LE(cache.bytes(), options.max_bytes);
  }
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.bytes(), 3 * one);
  // "b" was the least recently read when "d" came in: only it is asked for again.
  const int calls = backend_.calls("a") + backend_.calls("c") + backend_.calls("d");
  for (const char* key : {"a", "c", "d"}) {
    ASSERT_TRUE(Read(cache, key).ok());
  }
  EXPECT_EQ(backend_.calls("a") + backend_.calls("c") + backend_.calls("d"), calls);
  EXPECT_THAT(
      Metrics(),
      HasSubstr(R"(metrics_adapter_cache_evictions_total{backend="prometheus",reason="bytes"} 1)"));
  EXPECT_THAT(Metrics(),
              HasSubstr(Cat(R"(metrics_adapter_cache_bytes{backend="prometheus"} )", 3 * one)));

  // A smaller value shrinks the account; idle keys leave nothing behind.
  backend_.SetDefaultQueryAnswer(Value(1));
  clock_.Advance(options.ttl);
  ASSERT_TRUE(Read(cache, "a").ok());
  EXPECT_LT(cache.bytes(), 3 * one);
  clock_.Advance(options.max_stale + options.ttl * (kHotWindowTtls + 1));
  cache.RunMaintenance();
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.bytes(), 0u);
  EXPECT_THAT(Metrics(), HasSubstr(R"(metrics_adapter_cache_bytes{backend="prometheus"} 0)"));
}

TEST_F(CachingClientTest, ByteBudgetSkipsKeysWithAQueryInFlight) {
  backend_.SetDefaultQueryAnswer(BigValue(10, 1000));
  auto options = Options();
  CachingClient sizing(backend_, metrics_, options, clock_);
  ASSERT_TRUE(Read(sizing, "a").ok());
  options.max_bytes = sizing.bytes() * 3 / 2;  // room for one
  CachingClient cache(backend_, metrics_, options, clock_);
  ASSERT_TRUE(Read(cache, "old").ok());
  // "old" is due again and its query hangs: the new key cannot evict it.
  clock_.Advance(options.ttl);
  backend_.Hold();
  std::optional<Result> pending;
  cache.Query("old", clock_.Now(), [&pending](Result r) { pending = std::move(r); });
  backend_.SetQueryAnswer("new", BigValue(10, 1000));
  ASSERT_TRUE(Read(cache, "new").ok());
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_GT(cache.bytes(), options.max_bytes);
  // Its answer lands: back within the budget, "old" (just answered) kept.
  backend_.Release(BigValue(10, 1000));
  ASSERT_TRUE(pending.has_value() && pending->ok());
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_LE(cache.bytes(), options.max_bytes);
  EXPECT_EQ(backend_.calls("old"), 2);
  ASSERT_TRUE(Read(cache, "old").ok());
  EXPECT_EQ(backend_.calls("old"), 2);
  // Its value alone exceeds the budget: kept and served, and the next key evicts it.
  backend_.SetDefaultQueryAnswer(BigValue(40, 1000));
  clock_.Advance(options.ttl);
  const Result big = Read(cache, "old");
  ASSERT_TRUE(big.ok());
  EXPECT_EQ((*big)->samples.size(), 40u);
  EXPECT_GT(cache.bytes(), options.max_bytes);
  EXPECT_EQ(cache.size(), 1u);
  backend_.SetDefaultQueryAnswer(Value(1));
  ASSERT_TRUE(Read(cache, "new").ok());
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_LE(cache.bytes(), options.max_bytes);
}

TEST_F(CachingClientTest, BreakerOpensFailsFastProbesAndCloses) {
  auto options = Options();
  options.breaker.failure_threshold = 3;
  options.breaker.base_backoff = seconds(1);
  CachingClient cache(backend_, metrics_, options, clock_);
  backend_.SetDefaultQueryAnswer(absl::UnavailableError("connect: connection refused"));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Read(cache, "q").status().code(), absl::StatusCode::kUnavailable);
  }
  EXPECT_EQ(backend_.calls("q"), 3);
  EXPECT_THAT(Metrics(),
              HasSubstr(R"(metrics_adapter_backend_breakers_open{backend="prometheus"} 1)"));

  // Open: no backend call, the last failure's code.
  const Result fast = Read(cache, "q");
  EXPECT_EQ(fast.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(fast.status().message(), HasSubstr("not sent to backend"));
  EXPECT_EQ(backend_.calls("q"), 3);
  // Other keys are not affected.
  backend_.SetDefaultQueryAnswer(Value(1));
  EXPECT_TRUE(Read(cache, "other").ok());
  backend_.SetDefaultQueryAnswer(absl::UnavailableError("connect: connection refused"));

  // Half-open after the backoff: one probe, which fails and reopens for twice as long.
  clock_.Advance(seconds(1));
  EXPECT_FALSE(Read(cache, "q").ok());
  EXPECT_EQ(backend_.calls("q"), 4);
  clock_.Advance(milliseconds(1999));
  EXPECT_FALSE(Read(cache, "q").ok());
  EXPECT_EQ(backend_.calls("q"), 4);

  // The next probe succeeds and closes the breaker.
  clock_.Advance(milliseconds(1));
  backend_.SetDefaultQueryAnswer(Value(8));
  EXPECT_EQ(ValueOf(Read(cache, "q")), 8);
  EXPECT_EQ(backend_.calls("q"), 5);
  const std::string text = Metrics();
  EXPECT_THAT(text, HasSubstr(R"(metrics_adapter_backend_breakers_open{backend="prometheus"} 0)"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(metrics_adapter_backend_breaker_transitions_total{backend="prometheus",to="open"} 2)"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(metrics_adapter_backend_breaker_transitions_total{backend="prometheus",to="half_open"} 2)"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(metrics_adapter_backend_breaker_transitions_total{backend="prometheus",to="closed"} 1)"));
  EXPECT_THAT(
      text, HasSubstr(R"(metrics_adapter_backend_short_circuited_total{backend="prometheus"} 2)"));
}

TEST_F(CachingClientTest, OpenBreakerServesStaleWithoutCallingTheBackend) {
  auto options = Options(seconds(10), seconds(60));
  options.breaker.failure_threshold = 1;
  options.breaker.base_backoff = seconds(30);
  CachingClient cache(backend_, metrics_, options, clock_);
  backend_.SetDefaultQueryAnswer(Value(4));
  ASSERT_TRUE(Read(cache, "q").ok());
  clock_.Advance(seconds(11));
  backend_.SetDefaultQueryAnswer(absl::DeadlineExceededError("timeout"));
  EXPECT_EQ(ValueOf(Read(cache, "q")), 4);  // the failing call, answered stale
  clock_.Advance(seconds(5));
  EXPECT_EQ(ValueOf(Read(cache, "q")), 4);  // breaker open: stale, no call
  EXPECT_EQ(backend_.calls("q"), 2);
}

TEST_F(CachingClientTest, FullBulkheadQueueFailsFast) {
  auto options = Options();
  options.bulkhead = {.max_concurrency = 1, .max_queue = 1};
  CachingClient cache(backend_, metrics_, options, clock_);
  backend_.Hold();
  std::optional<Result> a, b, c;
  cache.Query("a", clock_.Now(), [&a](Result r) { a = std::move(r); });
  cache.Query("b", clock_.Now(), [&b](Result r) { b = std::move(r); });
  cache.Query("c", clock_.Now(), [&c](Result r) { c = std::move(r); });
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->status().code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(a.has_value());
  EXPECT_FALSE(b.has_value());
  EXPECT_EQ(backend_.total_calls(), 1);
  EXPECT_THAT(Metrics(),
              HasSubstr(R"(metrics_adapter_backend_queue_depth{backend="prometheus"} 1)"));
  backend_.Release(Value(2));  // answers "a", whose slot then runs "b" (answered at once)
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_EQ(ValueOf(*a), 2);
  EXPECT_EQ(ValueOf(*b), 2);
  EXPECT_EQ(backend_.total_calls(), 2);
}

TEST_F(CachingClientTest, ReaderThatLeavesIsForgottenAndTheOtherStillGetsTheValue) {
  CachingClient cache(backend_, metrics_, Options(), clock_);
  backend_.Hold();
  async::CancelSlot leaving_slot, staying_slot;
  int leaving_called = 0;
  std::optional<Result> staying;
  cache.Query(
      "q", clock_.Now(), [&leaving_called](Result) { ++leaving_called; }, &leaving_slot);
  cache.Query(
      "q", clock_.Now(), [&staying](Result r) { staying = std::move(r); }, &staying_slot);
  EXPECT_EQ(cache.waiters("q"), 2u);
  leaving_slot.Cancel();
  EXPECT_EQ(cache.waiters("q"), 1u);
  backend_.Release(Value(4));
  EXPECT_EQ(leaving_called, 0);
  ASSERT_TRUE(staying.has_value());
  EXPECT_EQ(ValueOf(*staying), 4);
  EXPECT_EQ(backend_.calls("q"), 1);
  // Cancelling after the answer takes nothing back.
  staying_slot.Cancel();
  EXPECT_EQ(ValueOf(Read(cache, "q")), 4);
}

TEST_F(CachingClientTest, QueryInFlightForAReaderThatLeftStillFillsTheCache) {
  CachingClient cache(backend_, metrics_, Options(), clock_);
  backend_.Hold();
  async::CancelSlot slot;
  int called = 0;
  cache.Query(
      "q", clock_.Now(), [&called](Result) { ++called; }, &slot);
  slot.Cancel();
  EXPECT_EQ(cache.waiters("q"), 0u);
  EXPECT_EQ(backend_.pending(), 1);  // sent: not taken back
  backend_.Release(Value(6));
  EXPECT_EQ(called, 0);
  EXPECT_EQ(ValueOf(Read(cache, "q")), 6);
  EXPECT_EQ(backend_.calls("q"), 1);
}

TEST_F(CachingClientTest, QueuedQueryWhoseOnlyReaderLeftIsNeverSent) {
  auto options = Options();
  options.bulkhead = {.max_concurrency = 1, .max_queue = 10};
  CachingClient cache(backend_, metrics_, options, clock_);
  backend_.Hold();
  std::optional<Result> a;
  cache.Query("a", clock_.Now(), [&a](Result r) { a = std::move(r); });  // takes the one slot
  async::CancelSlot b_slot;
  int b_called = 0;
  cache.Query(
      "b", clock_.Now(), [&b_called](Result) { ++b_called; }, &b_slot);
  EXPECT_THAT(Metrics(),
              HasSubstr(R"(metrics_adapter_backend_queue_depth{backend="prometheus"} 1)"));
  b_slot.Cancel();
  EXPECT_EQ(cache.waiters("b"), 0u);
  EXPECT_THAT(Metrics(),
              HasSubstr(R"(metrics_adapter_backend_queue_depth{backend="prometheus"} 0)"));
  backend_.Release(Value(2));
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(b_called, 0);
  EXPECT_EQ(backend_.calls("b"), 0);
  EXPECT_EQ(backend_.queries(), std::vector<std::string>{"a"});
  // The key is not left waiting for a query that never comes: the next read sends it.
  EXPECT_EQ(ValueOf(Read(cache, "b")), 2);
  EXPECT_EQ(backend_.calls("b"), 1);
}

// The request deadline's path: the server cancels the request's TaskContext, the task's wait on
// the cache ends with the deadline's status, and the query it alone was waiting for leaves the
// bulkhead's queue unsent.
TEST_F(CachingClientTest, PassedRequestDeadlineDropsItsQueuedQuery) {
  auto options = Options();
  options.bulkhead = {.max_concurrency = 1, .max_queue = 10};
  CachingClient cache(backend_, metrics_, options, clock_);
  backend_.Hold();
  cache.Query("a", clock_.Now(), [](Result) {});  // takes the one slot
  auto executor = std::make_shared<testing::QueueExecutor>();
  async::TaskContext context(executor);
  std::optional<Result> b;
  auto read = [](CachingClient& c, TimePointForTest now) -> async::Task<Result> {
    co_return co_await c.AwaitQuery("b", now);
  };
  async::Start<Result>(context, read(cache, clock_.Now()),
                       [&b](absl::StatusOr<Result> r) { b = *std::move(r); });
  EXPECT_FALSE(b.has_value());
  EXPECT_EQ(cache.waiters("b"), 1u);
  context.Cancel(absl::DeadlineExceededError("the request deadline passed"));
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(cache.waiters("b"), 0u);
  EXPECT_THAT(Metrics(),
              HasSubstr(R"(metrics_adapter_backend_queue_depth{backend="prometheus"} 0)"));
  backend_.Release(Value(2));
  EXPECT_EQ(backend_.calls("b"), 0);
  EXPECT_EQ(backend_.queries(), std::vector<std::string>{"a"});
}

TEST_F(CachingClientTest, QueuedQueryIsSentWhileOneOfItsReadersStays) {
  auto options = Options();
  options.bulkhead = {.max_concurrency = 1, .max_queue = 10};
  CachingClient cache(backend_, metrics_, options, clock_);
  backend_.Hold();
  cache.Query("a", clock_.Now(), [](Result) {});
  async::CancelSlot leaving_slot, staying_slot;
  int leaving_called = 0;
  std::optional<Result> staying;
  cache.Query(
      "b", clock_.Now(), [&leaving_called](Result) { ++leaving_called; }, &leaving_slot);
  cache.Query(
      "b", clock_.Now(), [&staying](Result r) { staying = std::move(r); }, &staying_slot);
  leaving_slot.Cancel();
  EXPECT_EQ(cache.waiters("b"), 1u);
  backend_.Release(Value(3));
  EXPECT_EQ(leaving_called, 0);
  ASSERT_TRUE(staying.has_value());
  EXPECT_EQ(ValueOf(*staying), 3);
  EXPECT_EQ(backend_.calls("b"), 1);
}

TEST_F(CachingClientTest, WithoutCachingAWithdrawnQueryLeavesNoKey) {
  auto options = Options(milliseconds(0), milliseconds(0));
  options.bulkhead = {.max_concurrency = 1, .max_queue = 10};
  CachingClient cache(backend_, metrics_, options, clock_);
  backend_.Hold();
  cache.Query("a", clock_.Now(), [](Result) {});
  async::CancelSlot slot;
  cache.Query(
      "b", clock_.Now(), [](Result) {}, &slot);
  EXPECT_EQ(cache.size(), 2u);
  slot.Cancel();
  EXPECT_EQ(cache.size(), 1u);
  backend_.Release(Value(1));
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(backend_.calls("b"), 0);
}

TEST_F(CachingClientTest, WithdrawnProbeLetsTheNextReadProbe) {
  auto options = Options();
  options.bulkhead = {.max_concurrency = 1, .max_queue = 10};
  options.breaker.failure_threshold = 1;
  CachingClient cache(backend_, metrics_, options, clock_);
  backend_.SetQueryAnswer("b", absl::UnavailableError("down"));
  ASSERT_FALSE(Read(cache, "b").ok());  // opens b's breaker
  clock_.Advance(options.breaker.base_backoff);
  backend_.Hold();
  cache.Query("a", clock_.Now(), [](Result) {});
  async::CancelSlot probe_slot;
  cache.Query(
      "b", clock_.Now(), [](Result) {}, &probe_slot);  // the half-open probe, queued
  probe_slot.Cancel();
  backend_.Release(Value(1));
  EXPECT_EQ(backend_.calls("b"), 1);
  backend_.SetQueryAnswer("b", Value(8));
  EXPECT_EQ(ValueOf(Read(cache, "b")), 8);  // not short-circuited: the probe's turn came back
  EXPECT_EQ(backend_.calls("b"), 2);
}

TEST_F(CachingClientTest, ZeroTtlPassesThroughWithSingleFlight) {
  CachingClient cache(backend_, metrics_, Options(milliseconds(0), milliseconds(0)), clock_);
  ASSERT_TRUE(Read(cache, "q").ok());
  ASSERT_TRUE(Read(cache, "q").ok());
  EXPECT_EQ(backend_.calls("q"), 2);
  backend_.Hold();
  int answered = 0;
  cache.Query("q", clock_.Now(), [&answered](Result r) { answered += r.ok(); });
  cache.Query("q", clock_.Now(), [&answered](Result r) { answered += r.ok(); });
  EXPECT_EQ(backend_.calls("q"), 3);
  backend_.Release(Value(1));
  EXPECT_EQ(answered, 2);
  EXPECT_EQ(cache.size(), 0u);
  // Nothing is kept, so an outage is an error at once.
  backend_.SetDefaultQueryAnswer(absl::UnavailableError("down"));
  EXPECT_EQ(Read(cache, "q").status().code(), absl::StatusCode::kUnavailable);
}

// A backend that accepts a query and does not answer: a reader with a stale value gets it once
// its stale wait is over, and the query goes on and fills the cache when it answers.
TEST_F(CachingClientTest, StaleValueIsServedAfterTheStaleWaitWhileTheQueryGoesOn) {
  auto options = Options(seconds(10), seconds(30));
  options.stale_wait = seconds(1);
  CachingClient cache(backend_, metrics_, options, clock_);
  backend_.SetDefaultQueryAnswer(Value(1));
  ASSERT_EQ(ValueOf(Read(cache, "q")), 1);
  clock_.Advance(seconds(11));  // expired, within max-stale
  backend_.Hold();
  std::optional<Result> first;
  cache.Query("q", clock_.Now(), [&first](Result r) { first = std::move(r); });
  EXPECT_EQ(backend_.pending(), 1);
  clock_.Advance(milliseconds(500));
  std::optional<Result> second;  // joins the query in flight
  cache.Query("q", clock_.Now(), [&second](Result r) { second = std::move(r); });
  clock_.Advance(milliseconds(499));
  cache.RunMaintenance();
  EXPECT_FALSE(first.has_value());
  clock_.Advance(milliseconds(1));
  cache.RunMaintenance();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(ValueOf(*first), 1);
  EXPECT_FALSE(second.has_value());  // its own wait is not over
  clock_.Advance(milliseconds(500));
  cache.RunMaintenance();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(ValueOf(*second), 1);
  EXPECT_THAT(Metrics(),
              HasSubstr(R"(metrics_adapter_cache_stale_served_total{backend="prometheus"} 2)"));
  // The query was never taken back: its answer is the next reader's fresh value.
  EXPECT_EQ(backend_.pending(), 1);
  EXPECT_EQ(cache.waiters("q"), 0u);
  backend_.Release(Value(2));
  EXPECT_EQ(ValueOf(Read(cache, "q")), 2);
  EXPECT_EQ(backend_.calls("q"), 2);
}

TEST_F(CachingClientTest, WithoutAServableValueTheReaderWaitsForTheQuery) {
  auto options = Options(seconds(10), seconds(30));
  options.stale_wait = seconds(1);
  CachingClient cache(backend_, metrics_, options, clock_);
  ASSERT_TRUE(Read(cache, "q").ok());
  clock_.Advance(seconds(31));  // older than max-stale
  backend_.Hold();
  std::optional<Result> got;
  cache.Query("q", clock_.Now(), [&got](Result r) { got = std::move(r); });
  std::optional<Result> never_cached;
  cache.Query("new", clock_.Now(), [&never_cached](Result r) { never_cached = std::move(r); });
  clock_.Advance(seconds(5));
  cache.RunMaintenance();
  EXPECT_FALSE(got.has_value());
  EXPECT_FALSE(never_cached.has_value());
  backend_.Release(Value(3));
  ASSERT_TRUE(got.has_value() && never_cached.has_value());
  EXPECT_EQ(ValueOf(*got), 3);
  EXPECT_EQ(ValueOf(*never_cached), 3);
  EXPECT_THAT(Metrics(),
              HasSubstr(R"(metrics_adapter_cache_stale_served_total{backend="prometheus"} 0)"));
}

TEST_F(CachingClientTest, ZeroStaleWaitServesTheStaleValueAtOnce) {
  auto options = Options(seconds(10), seconds(30));
  options.stale_wait = milliseconds(0);
  CachingClient cache(backend_, metrics_, options, clock_);
  ASSERT_EQ(ValueOf(Read(cache, "q")), 1);
  clock_.Advance(seconds(11));
  backend_.Hold();
  EXPECT_EQ(ValueOf(Read(cache, "q")), 1);  // Read asserts the answer came at once
  EXPECT_EQ(ValueOf(Read(cache, "q")), 1);
  EXPECT_EQ(backend_.pending(), 1);  // one query, started by the first reader, still runs
  backend_.Release(Value(5));
  EXPECT_EQ(ValueOf(Read(cache, "q")), 5);
  EXPECT_EQ(backend_.calls("q"), 2);
}

TEST_F(CachingClientTest, ReaderThatLeftBeforeItsStaleWaitIsNotAnswered) {
  auto options = Options(seconds(10), seconds(30));
  options.stale_wait = seconds(1);
  CachingClient cache(backend_, metrics_, options, clock_);
  ASSERT_TRUE(Read(cache, "q").ok());
  clock_.Advance(seconds(11));
  backend_.Hold();
  async::CancelSlot slot;
  int called = 0;
  cache.Query(
      "q", clock_.Now(), [&called](Result) { ++called; }, &slot);
  slot.Cancel();
  clock_.Advance(seconds(2));
  cache.RunMaintenance();
  EXPECT_EQ(called, 0);
  EXPECT_THAT(Metrics(),
              HasSubstr(R"(metrics_adapter_cache_stale_served_total{backend="prometheus"} 0)"));
  backend_.Release(Value(6));
  EXPECT_EQ(ValueOf(Read(cache, "q")), 6);
}

TEST_F(CachingClientTest, SchedulerServesTheStaleWaitWithoutAMaintenanceTick) {
  // The real scheduler with a fake clock: the wake is armed for the wait's real duration.
  auto options = Options(seconds(10), seconds(30));
  options.stale_wait = milliseconds(20);
  CachingClient cache(backend_, metrics_, options, clock_);
  ASSERT_TRUE(Read(cache, "q").ok());
  scheduler::Scheduler scheduler;
  cache.Start(scheduler);
  clock_.Advance(seconds(11));
  backend_.Hold();
  absl::Notification served;
  cache.Query("q", clock_.Now(), [&served](Result r) {
    EXPECT_EQ(ValueOf(r), 1);
    served.Notify();
  });
  clock_.Advance(milliseconds(20));
  // Bounded wait for the wake; no timing is asserted.
  EXPECT_TRUE(served.WaitForNotificationWithTimeout(absl::Seconds(30)));
  cache.Stop();
  backend_.Release(Value(2));
}

TEST_F(CachingClientTest, SeriesPassesThrough) {
  CachingClient cache(backend_, metrics_, Options(), clock_);
  for (int i = 0; i < 2; ++i) {
    std::optional<absl::StatusOr<std::vector<model::Series>>> got;
    cache.Series("{__name__=~\"x\"}", clock_.Now(), [&got](auto r) { got = std::move(r); });
    ASSERT_TRUE(got.has_value() && got->ok());
    EXPECT_EQ((*got)->size(), 2u);
  }
  EXPECT_EQ(backend_.series_calls(), 2);
}

TEST_F(CachingClientTest, MaintenanceThreadRefreshesInTheBackground) {
  // The real thread with a fake clock: the tick is 10 ms of real time.
  CachingClient cache(backend_, metrics_, Options(milliseconds(100), seconds(1)), clock_);
  ASSERT_TRUE(Read(cache, "q").ok());
  scheduler::Scheduler scheduler;
  cache.Start(scheduler);
  clock_.Advance(milliseconds(90));
  // Waits (bounded) for the background refresh; no timing is asserted.
  for (int i = 0; i < 1000 && backend_.calls("q") < 2; ++i) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  cache.Stop();
  EXPECT_EQ(backend_.calls("q"), 2);
}

}  // namespace
}  // namespace ma::cache
