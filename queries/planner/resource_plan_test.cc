#include "queries/planner/resource_plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

#include "queries/config/rules_config.h"
#include "queries/rules/rule_set.h"

namespace ma::planner {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// prometheus-adapter's deploy/manifests/config-map.yaml, except that memory names nodes by
// `instance` (as kube-prometheus does), so that each rule's own mapping is seen to count.
constexpr std::string_view kRules = R"(
resourceRules:
  cpu:
    containerQuery: sum by (<<.GroupBy>>) (irate(container_cpu_usage_seconds_total{<<.LabelMatchers>>,container!="",pod!=""}[4m]))
    nodeQuery: sum by (<<.GroupBy>>) (irate(node_cpu_usage_seconds_total{<<.LabelMatchers>>}[4m]))
    resources:
      overrides:
        node: {resource: node}
        namespace: {resource: namespace}
        pod: {resource: pod}
    containerLabel: container
  memory:
    containerQuery: sum by (<<.GroupBy>>) (container_memory_working_set_bytes{<<.LabelMatchers>>,container!="",pod!=""})
    nodeQuery: sum by (<<.GroupBy>>) (node_memory_working_set_bytes{<<.LabelMatchers>>}) <<index .LabelValuesByName "instance">>
    resources:
      overrides:
        instance: {resource: node}
        namespace: {resource: namespace}
        pod: {resource: pod}
    containerLabel: container
  window: 5m
)";

class ResourcePlanTest : public ::testing::Test {
 protected:
  ResourcePlanTest() {
    const auto parsed = config::ParseRulesConfig(kRules);
    EXPECT_TRUE(parsed.problems.empty()) << parsed.problems.front().message;
    auto compiled = rules::CompileRules(parsed.config, {.mapper = model::BuiltinResourceMapper()});
    EXPECT_TRUE(compiled.problems.empty()) << compiled.problems.front().message;
    rule_set_ = compiled.rule_set;
  }

  const rules::ResourceRules& rules() const { return *rule_set_->resource_rules(); }

  std::shared_ptr<const rules::RuleSet> rule_set_;
};

model::Sample S(model::LabelSet labels, double value, int64_t timestamp_ms = 1000) {
  return {std::move(labels), value, timestamp_ms};
}

model::QueryResult Vector(std::vector<model::Sample> samples) {
  return {model::ResultType::kVector, std::move(samples)};
}

TEST_F(ResourcePlanTest, PodQueriesMatchNamespaceThenPodsAndGroupByPodAndContainer) {
  const auto one = PlanPodQueries(rules(), "shop", {"web-1"});
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(
      one->cpu,
      R"(sum by (pod,container) (irate(container_cpu_usage_seconds_total{namespace="shop",pod="web-1",container!="",pod!=""}[4m])))");
  EXPECT_EQ(
      one->memory,
      R"(sum by (pod,container) (container_memory_working_set_bytes{namespace="shop",pod="web-1",container!="",pod!=""}))");
  const auto two = PlanPodQueries(rules(), "shop", {"web-1", "web.2"});
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_THAT(two->cpu, HasSubstr(R"({namespace="shop",pod=~"web-1|web\\.2",container!="")"));
}

TEST_F(ResourcePlanTest, NodeQueriesUseEachRulesNodeLabel) {
  const auto queries = PlanNodeQueries(rules(), {"node-1", "node-2"});
  ASSERT_TRUE(queries.ok()) << queries.status();
  EXPECT_EQ(queries->cpu,
            R"(sum by (node) (irate(node_cpu_usage_seconds_total{node=~"node-1|node-2"}[4m])))");
  EXPECT_EQ(
      queries->memory,
      R"(sum by (instance) (node_memory_working_set_bytes{instance=~"node-1|node-2"}) node-1|node-2)");
}

TEST_F(ResourcePlanTest, NamesThatAreNoKubernetesNamesNeverReachAQuery) {
  EXPECT_EQ(PlanPodQueries(rules(), "shop", {"a\"}"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PlanPodQueries(rules(), "sh op", {"a"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PlanNodeQueries(rules(), {"node|x"}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ResourcePlanTest, PodUsageJoinsContainersOfBothResults) {
  const auto cpu = Vector({
      S({{"pod", "web-1"}, {"container", "app"}}, 0.25, 2000),
      S({{"pod", "web-1"}, {"container", "sidecar"}}, 0.01, 1000),
      S({{"pod", "web-2"}, {"container", "app"}}, 0.5),
      S({{"pod", "stranger"}, {"container", "app"}}, 9),  // not asked for: ignored
  });
  const auto memory = Vector({
      S({{"pod", "web-1"}, {"container", "app"}}, 1048576, 3000),
      S({{"pod", "web-1"}, {"container", "log"}}, 4096, 3000),
      S({{"pod", "stranger"}, {"container", "app"}}, 1),
  });
  UsageNotes notes;
  const auto usage = MapPodUsage(rules(), {"web-1", "web-2", "web-3"}, cpu, memory, notes);
  ASSERT_TRUE(usage.ok()) << usage.status();
  ASSERT_EQ(usage->size(), 1u);
  const PodUsage& web1 = usage->front();
  EXPECT_EQ(web1.name, "web-1");
  EXPECT_EQ(web1.timestamp_ms, 1000);  // the earliest sample
  ASSERT_EQ(web1.containers.size(), 3u);
  EXPECT_EQ(web1.containers[0].name, "app");
  EXPECT_EQ(web1.containers[0].cpu_cores, 0.25);
  EXPECT_EQ(web1.containers[0].memory_bytes, 1048576);
  EXPECT_EQ(web1.containers[1].name, "log");  // memory only: CPU 0
  EXPECT_EQ(web1.containers[1].cpu_cores, 0);
  EXPECT_EQ(web1.containers[1].memory_bytes, 4096);
  EXPECT_EQ(web1.containers[2].name, "sidecar");  // CPU only: memory 0
  EXPECT_EQ(web1.containers[2].memory_bytes, 0);
  // web-2 has no memory sample, web-3 none at all.
  EXPECT_THAT(notes.missing, ElementsAre("web-2", "web-3"));
}

TEST_F(ResourcePlanTest, NonFiniteSamplesDropThePodAndNegativeOnesCountAsZero) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const auto cpu = Vector({
      S({{"pod", "a"}, {"container", "app"}}, nan),
      S({{"pod", "b"}, {"container", "app"}}, -0.001),
  });
  const auto memory = Vector({
      S({{"pod", "a"}, {"container", "app"}}, 10),
      S({{"pod", "b"}, {"container", "app"}}, 10),
  });
  UsageNotes notes;
  const auto usage = MapPodUsage(rules(), {"a", "b"}, cpu, memory, notes);
  ASSERT_TRUE(usage.ok()) << usage.status();
  ASSERT_EQ(usage->size(), 1u);
  EXPECT_EQ(usage->front().name, "b");
  EXPECT_EQ(usage->front().containers.front().cpu_cores, 0);
  EXPECT_THAT(notes.non_finite, ElementsAre("a"));
  EXPECT_EQ(notes.negative, 1);
}

TEST_F(ResourcePlanTest, NodeUsageTakesTheFirstSampleOfEachRulesNodeLabel) {
  const auto cpu = Vector({
      S({{"node", "node-1"}}, 1.5, 5000),
      S({{"node", "node-1"}}, 7, 5000),  // a second sample for the node: the first counts
      S({{"node", "node-2"}}, std::numeric_limits<double>::infinity()),
  });
  const auto memory = Vector({
      S({{"instance", "node-1"}}, 2048, 4000),
      S({{"instance", "node-2"}}, 1),
  });
  UsageNotes notes;
  const auto usage = MapNodeUsage(rules(), {"node-1", "node-2", "node-3"}, cpu, memory, notes);
  ASSERT_TRUE(usage.ok()) << usage.status();
  ASSERT_EQ(usage->size(), 1u);
  EXPECT_EQ(usage->front().name, "node-1");
  EXPECT_EQ(usage->front().cpu_cores, 1.5);
  EXPECT_EQ(usage->front().memory_bytes, 2048);
  EXPECT_EQ(usage->front().timestamp_ms, 4000);
  EXPECT_THAT(notes.non_finite, ElementsAre("node-2"));
  EXPECT_THAT(notes.missing, ElementsAre("node-3"));
}

TEST_F(ResourcePlanTest, AResultThatIsNoVectorIsAnInternalError) {
  UsageNotes notes;
  const model::QueryResult scalar{model::ResultType::kScalar, {S({}, 1)}};
  EXPECT_EQ(MapPodUsage(rules(), {"a"}, scalar, Vector({}), notes).status().code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(MapNodeUsage(rules(), {"a"}, Vector({}), scalar, notes).status().code(),
            absl::StatusCode::kInternal);
}

TEST_F(ResourcePlanTest, ARuleWithoutAPodLabelCannotPlan) {
  const auto parsed = config::ParseRulesConfig(R"(
resourceRules:
  cpu:
    containerQuery: x{<<.LabelMatchers>>}
    nodeQuery: x{<<.LabelMatchers>>}
    resources: {overrides: {namespace: {resource: namespace}}}
  memory:
    containerQuery: y
    nodeQuery: y
)");
  ASSERT_TRUE(parsed.problems.empty());
  auto compiled = rules::CompileRules(parsed.config, {.mapper = model::BuiltinResourceMapper()});
  ASSERT_TRUE(compiled.problems.empty()) << compiled.problems.front().message;
  const auto& rules = *compiled.rule_set->resource_rules();
  const auto pods = PlanPodQueries(rules, "shop", {"a"});
  EXPECT_EQ(pods.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(pods.status().message(), HasSubstr("resourceRules.cpu"));
  EXPECT_EQ(PlanNodeQueries(rules, {"n"}).status().code(), absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace ma::planner
