#include "adapter/discovery/relister.h"

#include <gtest/gtest.h>

#include <map>

#include "adapter/scheduler/scheduler.h"
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
  EXPECT_NE(metrics.Serialize().find(
                R"(metrics_adapter_rule_relist_errors_total{rule="externalRules[0]"} 1)"),
            std::string::npos);
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
