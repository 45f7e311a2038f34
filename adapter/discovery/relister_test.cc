#include "adapter/discovery/relister.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <string>
#include <thread>

#include "adapter/scheduler/scheduler.h"
#include "queries/base/strings.h"
#include "queries/config/rules_config.h"
#include "test/testing/fake_clock.h"
#include "test/testing/fake_prometheus_client.h"

namespace ma::discovery {
namespace {

using ::ma::testing::FakeClock;
using ::ma::testing::FakePrometheusClient;

constexpr std::string_view kRules = R"yaml(externalRules:
- seriesQuery: '{__name__="a"}'
  resources: {namespaced: false}
  metricsQuery: x
- seriesQuery: '{__name__="b"}'
  resources: {namespaced: false}
  metricsQuery: x
- seriesQuery: '{__name__="a"}'
  resources: {namespaced: false}
  name: {matches: "^a$", as: "a_again"}
  metricsQuery: x
)yaml";

std::shared_ptr<const rules::RuleSet> Compile() {
  auto parsed = config::ParseRulesConfig(kRules);
  EXPECT_TRUE(parsed.problems.empty());
  auto compiled = rules::CompileRules(parsed.config, {.mapper = model::BuiltinResourceMapper()});
  EXPECT_TRUE(compiled.problems.empty());
  return compiled.rule_set;
}

TEST(RelisterTest, OneFailingQueryKeepsItsLastGoodSeriesWhileOthersUpdate) {
  FakePrometheusClient client;
  FakeClock clock{std::chrono::system_clock::time_point(std::chrono::seconds(1'000'000))};
  Snapshot<rules::RuleSet> rules(Compile());
  Snapshot<registry::MetricRegistry> registry;
  telemetry::AdapterMetrics metrics("v", "c");
  Relister relister(client, rules, registry, metrics,
                    {std::chrono::minutes(1), std::chrono::minutes(5)}, clock);
  EXPECT_FALSE(relister.has_run());

  client.SetSeriesAnswer(R"({__name__="a"})", std::vector<model::Series>{{"a", {{"x", "1"}}}});
  client.SetSeriesAnswer(R"({__name__="b"})", std::vector<model::Series>{{"b", {}}});
  relister.RunOnce();
  EXPECT_TRUE(relister.has_run());
  // One listing per distinct query, starting max-age ago.
  EXPECT_EQ(client.series_calls(), 2);
  EXPECT_EQ(client.last_series_start(), clock.Now() - std::chrono::minutes(5));
  auto first = registry.Get();
  ASSERT_NE(first, nullptr);
  EXPECT_NE(first->FindExternal("a"), nullptr);
  EXPECT_NE(first->FindExternal("a_again"), nullptr);
  EXPECT_NE(first->FindExternal("b"), nullptr);

  // "a" now fails: its rules keep the old series; "b" changes.
  client.SetSeriesAnswer(R"({__name__="a"})", absl::UnavailableError("connection refused"));
  client.SetSeriesAnswer(R"({__name__="b"})", std::vector<model::Series>{});
  relister.RunOnce();
  auto second = registry.Get();
  EXPECT_NE(second->FindExternal("a"), nullptr);
  EXPECT_NE(second->FindExternal("a_again"), nullptr);
  EXPECT_EQ(second->FindExternal("b"), nullptr);
  // Labelled with the rule's stable id, not its position.
  const std::string failing_rule = rules.Get()->external_rules()[0].id();
  EXPECT_NE(metrics.Serialize().find(
                Cat(R"(metrics_adapter_rule_relist_errors_total{rule=")", failing_rule, R"("} 1)")),
            std::string::npos);
  EXPECT_EQ(metrics.Serialize().find(R"(rule="externalRules[0]")"), std::string::npos);
}

TEST(RelisterTest, StartRunsAtOnceAndStopReturns) {
  FakePrometheusClient client;
  Snapshot<rules::RuleSet> rules(Compile());
  Snapshot<registry::MetricRegistry> registry;
  telemetry::AdapterMetrics metrics("v", "c");
  Relister relister(client, rules, registry, metrics,
                    {std::chrono::hours(1), std::chrono::hours(1)});
  scheduler::Scheduler scheduler;
  relister.Start(scheduler);
  relister.Stop();  // waits for the first run, which Start began at once
  EXPECT_TRUE(relister.has_run());
  EXPECT_NE(registry.Get(), nullptr);
}

TEST(RelisterTest, RetryDelayDoublesUpToItsCapAndNeverExceedsTheInterval) {
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  const auto hour = std::chrono::hours(1);
  EXPECT_EQ(RelistRetryDelay(1, hour), milliseconds(kRelistRetryFirstBackoff));
  EXPECT_EQ(RelistRetryDelay(2, hour), 2 * milliseconds(kRelistRetryFirstBackoff));
  EXPECT_EQ(RelistRetryDelay(3, hour), 4 * milliseconds(kRelistRetryFirstBackoff));
  EXPECT_EQ(RelistRetryDelay(1000, hour), milliseconds(kRelistRetryMaxBackoff));
  EXPECT_EQ(RelistRetryDelay(1000, milliseconds(1500)), milliseconds(1500));
  // Capped well below the default relist interval.
  EXPECT_LE(kRelistRetryMaxBackoff * 10, RelisterOptions{}.interval);
}

// Waits (never asserting a time) until `done` holds; false if it never does.
bool Eventually(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// Prometheus is down when the loop starts: with an hour between relists, only the retry can
// list again, and it lists only the query that failed.
TEST(RelisterTest, AFailedListingIsRetriedLongBeforeTheNextInterval) {
  FakePrometheusClient client;
  FakeClock clock;
  Snapshot<rules::RuleSet> rules(Compile());
  Snapshot<registry::MetricRegistry> registry;
  telemetry::AdapterMetrics metrics("v", "c");
  Relister relister(client, rules, registry, metrics,
                    {std::chrono::hours(1), std::chrono::minutes(5)}, clock);
  client.SetSeriesAnswer(R"({__name__="a"})", absl::UnavailableError("connection refused"));
  client.SetSeriesAnswer(R"({__name__="b"})", std::vector<model::Series>{{"b", {}}});
  scheduler::Scheduler scheduler;
  relister.Start(scheduler);
  ASSERT_TRUE(Eventually([&] { return relister.has_run(); }));
  EXPECT_EQ(registry.Get()->FindExternal("a"), nullptr);
  EXPECT_NE(registry.Get()->FindExternal("b"), nullptr);
  const auto states = relister.rule_states();
  ASSERT_EQ(states.size(), 3u);
  EXPECT_EQ(states[0].rule, Cat("externalRules[0] (", rules.Get()->external_rules()[0].id(), ")"));
  EXPECT_FALSE(states[0].ok);
  EXPECT_EQ(states[0].error, "UNAVAILABLE");
  EXPECT_TRUE(states[1].ok);
  EXPECT_EQ(states[1].series, 1u);
  EXPECT_EQ(states[1].when, clock.Now());

  // Prometheus is back.
  client.SetSeriesAnswer(R"({__name__="a"})", std::vector<model::Series>{{"a", {}}});
  ASSERT_TRUE(Eventually([&] {
    auto current = registry.Get();
    return current != nullptr && current->FindExternal("a") != nullptr;
  }));
  relister.Stop();
  EXPECT_NE(registry.Get()->FindExternal("b"), nullptr);
  const std::vector<std::string> matches = client.series_matches();
  ASSERT_GE(matches.size(), 3u);
  // The retries listed only the failed query.
  for (size_t i = 2; i < matches.size(); ++i) {
    EXPECT_EQ(matches[i], R"({__name__="a"})");
  }
  EXPECT_TRUE(relister.rule_states()[0].ok);
  EXPECT_NE(relister.DescribeRuleStates().find(Cat("externalRules[0] (",
                                                   rules.Get()->external_rules()[0].id(),
                                                   "): ok, 1 series, listed at ")),
            std::string::npos)
      << relister.DescribeRuleStates();
}

TEST(RelisterTest, RelistNowListsAtOnceWithTheCurrentRules) {
  FakePrometheusClient client;
  Snapshot<rules::RuleSet> rules(Compile());
  Snapshot<registry::MetricRegistry> registry;
  telemetry::AdapterMetrics metrics("v", "c");
  Relister relister(client, rules, registry, metrics,
                    {std::chrono::hours(1), std::chrono::hours(1)});
  client.SetDefaultSeriesAnswer(std::vector<model::Series>{});
  client.SetSeriesAnswer(R"({__name__="c"})", std::vector<model::Series>{{"c", {}}});
  scheduler::Scheduler scheduler;
  relister.Start(scheduler);
  ASSERT_TRUE(Eventually([&] { return relister.has_run(); }));
  EXPECT_EQ(registry.Get()->FindExternal("c"), nullptr);

  // A reload swaps the rules; only RelistNow can list before the hour is over.
  auto parsed = config::ParseRulesConfig(
      "externalRules:\n- seriesQuery: '{__name__=\"c\"}'\n"
      "  resources: {namespaced: false}\n  metricsQuery: x\n");
  rules.Set(
      rules::CompileRules(parsed.config, {.mapper = model::BuiltinResourceMapper()}).rule_set);
  relister.RelistNow();
  ASSERT_TRUE(Eventually([&] { return registry.Get()->FindExternal("c") != nullptr; }));
  relister.Stop();
  EXPECT_EQ(registry.Get()->FindExternal("a"), nullptr);
  ASSERT_EQ(relister.rule_states().size(), 1u);
  EXPECT_EQ(relister.rule_states()[0].rule,
            Cat("externalRules[0] (", rules.Get()->external_rules()[0].id(), ")"));
}

// At shutdown the outbound client cancels the listings in flight: the run is abandoned, not
// published as a run whose queries failed.
TEST(RelisterTest, ARunWhoseListingsWereCancelledPublishesNothing) {
  FakePrometheusClient client;
  Snapshot<rules::RuleSet> rules(Compile());
  Snapshot<registry::MetricRegistry> registry;
  telemetry::AdapterMetrics metrics("v", "c");
  Relister relister(client, rules, registry, metrics,
                    {std::chrono::hours(1), std::chrono::hours(1)});
  client.SetSeriesAnswer(R"({__name__="a"})", absl::CancelledError("HTTP client is shutting down"));
  client.SetSeriesAnswer(R"({__name__="b"})", std::vector<model::Series>{{"b", {}}});
  scheduler::Scheduler scheduler;
  relister.Start(scheduler);
  relister.Stop();  // waits for the run Start began
  EXPECT_EQ(client.series_calls(), 2);
  EXPECT_EQ(registry.Get(), nullptr);
  EXPECT_EQ(metrics.Serialize().find("metrics_adapter_rule_relist_errors_total{"),
            std::string::npos);
}

}  // namespace
}  // namespace ma::discovery
