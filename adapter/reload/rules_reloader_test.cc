#include "adapter/reload/rules_reloader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <functional>
#include <thread>

#include "adapter/cli/rules_file.h"
#include "test/testing/fake_clock.h"
#include "test/testing/temp_dir.h"

namespace ma::reload {
namespace {

using ::ma::testing::FakeClock;
using ::ma::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kRulesA[] = R"yaml(externalRules:
- seriesQuery: '{__name__="a"}'
  resources: {namespaced: false}
  metricsQuery: x
)yaml";

constexpr char kRulesB[] = R"yaml(externalRules:
- seriesQuery: '{__name__="b"}'
  resources: {namespaced: false}
  metricsQuery: x
- seriesQuery: '{__name__="c"}'
  resources: {namespaced: false}
  metricsQuery: x
)yaml";

// Two independent problems: an unknown key (line 3) and a bad regex (line 7).
constexpr char kBroken[] = R"yaml(externalRules:
- seriesQuery: '{__name__="a"}'
  metricQuery: x
  resources: {namespaced: false}
- seriesQuery: '{__name__="b"}'
  resources: {namespaced: false}
  name: {matches: "^(b"}
  metricsQuery: x
)yaml";

const rules::CompileOptions kCompile{.mapper = model::BuiltinResourceMapper(),
                                     .allow_unknown_resources = true};

bool Eventually(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

std::string FirstQuery(const Snapshot<rules::RuleSet>& rules) {
  return rules.Get()->series_queries().front();
}

class RulesReloaderTest : public ::testing::Test {
 protected:
  RulesReloaderTest() : path_(dir_.Write("rules.yaml", kRulesA)) {
    rules_.Set(cli::LoadRulesFile(path_, kCompile).rule_set);
  }

  std::string Metrics() const { return metrics_.Serialize(); }

  TempDir dir_;
  std::string path_;
  Snapshot<rules::RuleSet> rules_;
  telemetry::AdapterMetrics metrics_{"v", "c"};
  FakeClock clock_{std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000))};
  std::atomic<int> relists_{0};
};

TEST_F(RulesReloaderTest, AGoodFileReplacesTheRulesAndRelists) {
  RulesReloader reloader(
      {.path = path_, .compile = kCompile}, rules_, metrics_, [this] { ++relists_; }, clock_);
  EXPECT_THAT(Metrics(), HasSubstr("metrics_adapter_config_last_reload_successful 1"));
  EXPECT_THAT(Metrics(),
              HasSubstr("metrics_adapter_config_last_reload_success_timestamp_seconds 1700000000"));
  const auto before = rules_.Get();

  dir_.Write("rules.yaml", kRulesB);
  clock_.Advance(std::chrono::seconds(100));
  EXPECT_TRUE(reloader.Reload("test").empty());
  EXPECT_EQ(relists_, 1);
  EXPECT_EQ(rules_.Get()->external_rules().size(), 2u);
  EXPECT_EQ(FirstQuery(rules_), R"({__name__="b"})");
  // Whoever took the old rules still holds them, whole.
  EXPECT_EQ(before->series_queries().front(), R"({__name__="a"})");
  EXPECT_THAT(Metrics(), HasSubstr("metrics_adapter_config_last_reload_successful 1"));
  EXPECT_THAT(Metrics(), HasSubstr("metrics_adapter_config_last_reload_success_timestamp_seconds "
                                   "1700000100"));
  EXPECT_THAT(Metrics(), HasSubstr(R"(metrics_adapter_config_reloads_total{outcome="success"} 1)"));
}

TEST_F(RulesReloaderTest, ABrokenFileKeepsTheLastGoodRulesAndLogsEveryProblem) {
  RulesReloader reloader(
      {.path = path_, .compile = kCompile}, rules_, metrics_, [this] { ++relists_; }, clock_);
  const auto before = rules_.Get();
  dir_.Write("rules.yaml", kBroken);
  clock_.Advance(std::chrono::seconds(100));

  ::testing::internal::CaptureStderr();
  const std::vector<std::string> problems = reloader.Reload("test");
  const std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_THAT(problems[0], StartsWith(path_ + ":3:3: externalRules[0]: unknown key"));
  EXPECT_THAT(problems[1], StartsWith(path_ + ":7:19: externalRules[1].name.matches:"));
  for (const std::string& problem : problems) {
    EXPECT_THAT(log, HasSubstr(problem));
  }
  EXPECT_THAT(log, HasSubstr("still serving the last good rules"));
  EXPECT_EQ(rules_.Get(), before);
  EXPECT_EQ(relists_, 0);
  EXPECT_THAT(Metrics(), HasSubstr("metrics_adapter_config_last_reload_successful 0"));
  EXPECT_THAT(Metrics(),
              HasSubstr("metrics_adapter_config_last_reload_success_timestamp_seconds 1700000000"));
  EXPECT_THAT(Metrics(), HasSubstr(R"(metrics_adapter_config_reloads_total{outcome="failure"} 1)"));

  // A missing file (a symlink that points nowhere) is refused the same way.
  ASSERT_EQ(std::remove(path_.c_str()), 0);
  EXPECT_EQ(reloader.Reload("test").size(), 1u);
  EXPECT_EQ(rules_.Get(), before);

  // The next good write is taken.
  dir_.Write("rules.yaml", kRulesB);
  EXPECT_TRUE(reloader.Reload("test").empty());
  EXPECT_EQ(FirstQuery(rules_), R"({__name__="b"})");
  EXPECT_EQ(relists_, 1);
  EXPECT_THAT(Metrics(), HasSubstr("metrics_adapter_config_last_reload_successful 1"));
}

// A mounted ConfigMap: rules.yaml -> ..data/rules.yaml, ..data -> a timestamped directory that
// the kubelet replaces by swapping the ..data symlink.
TEST_F(RulesReloaderTest, AConfigMapSymlinkSwapIsSeen) {
  ASSERT_EQ(::mkdir(dir_.Path("v1").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(dir_.Path("v2").c_str(), 0755), 0);
  dir_.Write("v1/config.yaml", kRulesA);
  dir_.Write("v2/config.yaml", kRulesB);
  ASSERT_EQ(::symlink("v1", dir_.Path("..data").c_str()), 0);
  ASSERT_EQ(::symlink("..data/config.yaml", dir_.Path("config.yaml").c_str()), 0);
  const std::string path = dir_.Path("config.yaml");
  rules_.Set(cli::LoadRulesFile(path, kCompile).rule_set);

  scheduler::Scheduler scheduler;
  RulesReloader reloader(
      {.path = path, .compile = kCompile, .watch_interval = std::chrono::milliseconds(10)}, rules_,
      metrics_, [this] { ++relists_; }, clock_);
  reloader.Start(scheduler);
  ASSERT_EQ(::symlink("v2", dir_.Path("..data_tmp").c_str()), 0);
  ASSERT_EQ(::rename(dir_.Path("..data_tmp").c_str(), dir_.Path("..data").c_str()), 0);
  EXPECT_TRUE(Eventually([&] { return relists_ == 1; }));
  EXPECT_EQ(FirstQuery(rules_), R"({__name__="b"})");
  reloader.Stop();
}

TEST_F(RulesReloaderTest, RequestReloadRunsOnTheSchedulerAndStopEndsIt) {
  scheduler::Scheduler scheduler;
  RulesReloader reloader(
      {.path = path_, .compile = kCompile}, rules_, metrics_, [this] { ++relists_; }, clock_);
  reloader.RequestReload();  // not started: nothing
  reloader.Start(scheduler);
  // Same size and second as before, so only the request can pick this up in time.
  reloader.RequestReload();
  EXPECT_TRUE(Eventually([&] { return relists_ == 1; }));
  reloader.Stop();
  reloader.RequestReload();  // stopped: nothing
  scheduler.Post([] {});
  EXPECT_EQ(relists_, 1);
}

}  // namespace
}  // namespace ma::reload
