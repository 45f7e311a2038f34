#include "adapter/handlers/metric_memo.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>

namespace ma::handlers {
namespace {

MetricMemo::RegistryPtr NewRegistry() { return std::make_shared<registry::MetricRegistry>(); }

MetricMemo::PlanPtr NewPlan(std::string promql) {
  MetricPlan plan;
  plan.external.emplace();
  plan.external->promql = std::move(promql);
  return std::make_shared<const MetricPlan>(std::move(plan));
}

prometheus::QueryResultPtr NewValue(double value) {
  auto result = std::make_shared<model::QueryResult>();
  result->samples.push_back({{{"queue", "orders"}}, value, 1});
  return result;
}

TEST(MetricMemoTest, KeyTellsApartEveryFieldAndParameter) {
  Route route;
  route.kind = RouteKind::kExternalMetric;
  route.namespace_name = "shop";
  route.metric = "queue_depth";
  std::set<std::string> keys;
  keys.insert(MetricMemo::Key(route, {}));
  keys.insert(MetricMemo::Key(route, {{"labelSelector", "a=b"}}));
  keys.insert(MetricMemo::Key(route, {{"labelSelector", "a=bc"}}));
  keys.insert(MetricMemo::Key(route, {{"labelSelectora", "=bc"}}));
  keys.insert(MetricMemo::Key(route, {{"metricLabelSelector", "a=b"}}));
  Route shifted = route;
  shifted.namespace_name = "sho";
  shifted.metric = "pqueue_depth";
  keys.insert(MetricMemo::Key(shifted, {}));
  Route custom = route;
  custom.kind = RouteKind::kCustomMetric;
  keys.insert(MetricMemo::Key(custom, {}));
  EXPECT_EQ(keys.size(), 7u);
  EXPECT_EQ(MetricMemo::Key(route, {{"labelSelector", "a=b"}}),
            MetricMemo::Key(route, {{"labelSelector", "a=b"}}));
}

TEST(MetricMemoTest, PlanOnlyForTheRegistryItWasMadeAgainst) {
  MetricMemo memo;
  const auto registry = NewRegistry();
  const auto plan = NewPlan("q");
  EXPECT_EQ(memo.FindPlan("k", registry), nullptr);
  memo.PutPlan("k", registry, plan);
  EXPECT_EQ(memo.FindPlan("k", registry), plan);
  EXPECT_EQ(memo.FindPlan("other", registry), nullptr);
  EXPECT_EQ(memo.FindPlan("k", NewRegistry()), nullptr);
  EXPECT_EQ(memo.FindPlan("k", nullptr), nullptr);
}

// A registry freed and a new one made, possibly at the same address, is still a new registry.
TEST(MetricMemoTest, ANewRegistryAtAReusedAddressIsStillNew) {
  MetricMemo memo;
  auto registry = NewRegistry();
  memo.PutPlan("k", registry, NewPlan("q"));
  for (int i = 0; i < 100; ++i) {
    registry.reset();
    registry = NewRegistry();
    EXPECT_EQ(memo.FindPlan("k", registry), nullptr);
  }
}

TEST(MetricMemoTest, BodyOnlyForThePlanAndValueItWasRenderedFrom) {
  MetricMemo memo;
  const auto registry = NewRegistry();
  const auto plan = NewPlan("q");
  const auto value = NewValue(1);
  memo.PutPlan("k", registry, plan);
  EXPECT_EQ(memo.FindBody("k", plan, value), nullptr);
  memo.PutBody("k", plan, value, "body-1");
  const auto body = memo.FindBody("k", plan, value);
  ASSERT_NE(body, nullptr);
  EXPECT_EQ(*body, "body-1");
  // A changed value is a new pointer, even with the same content.
  EXPECT_EQ(memo.FindBody("k", plan, NewValue(1)), nullptr);
  EXPECT_EQ(memo.FindBody("k", plan, NewValue(2)), nullptr);
  // A plan of the same text made afresh is another plan.
  EXPECT_EQ(memo.FindBody("k", NewPlan("q"), value), nullptr);
  EXPECT_EQ(memo.FindBody("other", plan, value), nullptr);
}

TEST(MetricMemoTest, ANewPlanForgetsTheOldBody) {
  MetricMemo memo;
  const auto registry = NewRegistry();
  const auto old_plan = NewPlan("q");
  const auto value = NewValue(1);
  memo.PutPlan("k", registry, old_plan);
  memo.PutBody("k", old_plan, value, "old");
  const auto new_registry = NewRegistry();
  const auto new_plan = NewPlan("q2");
  memo.PutPlan("k", new_registry, new_plan);
  EXPECT_EQ(memo.FindBody("k", new_plan, value), nullptr);
  EXPECT_EQ(memo.FindBody("k", old_plan, value), nullptr);
  // A render of the old plan that finishes late is not kept for the new one.
  memo.PutBody("k", old_plan, value, "old");
  EXPECT_EQ(memo.FindBody("k", old_plan, value), nullptr);
  EXPECT_EQ(memo.FindBody("k", new_plan, value), nullptr);
}

TEST(MetricMemoTest, AValueFreedAndReplacedIsNeverItsBody) {
  MetricMemo memo;
  const auto registry = NewRegistry();
  const auto plan = NewPlan("q");
  memo.PutPlan("k", registry, plan);
  auto value = NewValue(1);
  memo.PutBody("k", plan, value, "1");
  for (int i = 2; i < 100; ++i) {
    value.reset();
    value = NewValue(i);
    EXPECT_EQ(memo.FindBody("k", plan, value), nullptr);
  }
}

TEST(MetricMemoTest, BoundedLeastRecentlyUsedFirst) {
  MetricMemo memo(/*max_entries=*/2);
  const auto registry = NewRegistry();
  const auto plan = NewPlan("q");
  memo.PutPlan("a", registry, plan);
  memo.PutPlan("b", registry, plan);
  EXPECT_NE(memo.FindPlan("a", registry), nullptr);  // "b" is now the least recently used
  memo.PutPlan("c", registry, plan);
  EXPECT_EQ(memo.size(), 2u);
  EXPECT_NE(memo.FindPlan("a", registry), nullptr);
  EXPECT_EQ(memo.FindPlan("b", registry), nullptr);
  EXPECT_NE(memo.FindPlan("c", registry), nullptr);
  MetricMemo off(/*max_entries=*/0);
  off.PutPlan("a", registry, plan);
  EXPECT_EQ(off.FindPlan("a", registry), nullptr);
}

TEST(MetricMemoTest, DefaultBoundIsTheNamedConstant) {
  MetricMemo memo;
  const auto registry = NewRegistry();
  const auto plan = NewPlan("q");
  for (size_t i = 0; i < kMaxMetricMemoEntries + 10; ++i) {
    memo.PutPlan(std::to_string(i), registry, plan);
  }
  EXPECT_EQ(memo.size(), kMaxMetricMemoEntries);
}

}  // namespace
}  // namespace ma::handlers
