#include "adapter/discovery/relister.h"

#include <gtest/gtest.h>

#include <map>

#include "queries/config/rules_config.h"

namespace ma::discovery {
namespace {

// Answers series listings from a table; a query mapped to an error fails.
class FakeClient : public prometheus::Client {
 public:
  void Query(std::string, std::chrono::system_clock::time_point,
             prometheus::QueryCallback done) override {
    done(absl::UnimplementedError("not used"));
  }
  void Series(std::string match, std::chrono::system_clock::time_point start,
              prometheus::SeriesCallback done) override {
    last_start = start;
    ++calls;
    const auto it = answers.find(match);
    done(it == answers.end() ? absl::StatusOr<std::vector<model::Series>>(
                                   absl::UnavailableError("connection refused"))
                             : it->second);
  }

  std::map<std::string, absl::StatusOr<std::vector<model::Series>>> answers;
  std::chrono::system_clock::time_point last_start;
  int calls = 0;
};

class FixedClock : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override { return now; }
  std::chrono::system_clock::time_point now{std::chrono::seconds(1'000'000)};
};

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
  FakeClient client;
  FixedClock clock;
  Snapshot<rules::RuleSet> rules(Compile());
  Snapshot<registry::MetricRegistry> registry;
  telemetry::AdapterMetrics metrics("v", "c");
  Relister relister(client, rules, registry, metrics,
                    {std::chrono::minutes(1), std::chrono::minutes(5)}, clock);
  EXPECT_FALSE(relister.has_run());

  client.answers[R"({__name__="a"})"] = std::vector<model::Series>{{"a", {{"x", "1"}}}};
  client.answers[R"({__name__="b"})"] = std::vector<model::Series>{{"b", {}}};
  relister.RunOnce();
  EXPECT_TRUE(relister.has_run());
  // One listing per distinct query, starting max-age ago.
  EXPECT_EQ(client.calls, 2);
  EXPECT_EQ(client.last_start, clock.now - std::chrono::minutes(5));
  auto first = registry.Get();
  ASSERT_NE(first, nullptr);
  EXPECT_NE(first->FindExternal("a"), nullptr);
  EXPECT_NE(first->FindExternal("a_again"), nullptr);
  EXPECT_NE(first->FindExternal("b"), nullptr);

  // "a" now fails: its rules keep the old series; "b" changes.
  client.answers.erase(R"({__name__="a"})");
  client.answers[R"({__name__="b"})"] = std::vector<model::Series>{};
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
  FakeClient client;
  Snapshot<rules::RuleSet> rules(Compile());
  Snapshot<registry::MetricRegistry> registry;
  telemetry::AdapterMetrics metrics("v", "c");
  Relister relister(client, rules, registry, metrics,
                    {std::chrono::hours(1), std::chrono::hours(1)});
  relister.Start();
  relister.Stop();  // waits for the first run, which Start began at once
  EXPECT_TRUE(relister.has_run());
  EXPECT_NE(registry.Get(), nullptr);
}

}  // namespace
}  // namespace ma::discovery
