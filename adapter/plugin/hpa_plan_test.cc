#include "adapter/plugin/hpa_plan.h"

#include "gtest/gtest.h"

namespace ma::plugin {
namespace {

Hpa ShopHpa() {
  Hpa hpa;
  hpa.namespace_name = "shop";
  hpa.name = "web";
  hpa.scale_target = {.api_version = "apps/v1", .kind = "Deployment", .name = "web"};
  return hpa;
}

TEST(SelectorStringTest, SortsByKeyAsGoDoes) {
  LabelSelector selector;
  selector.match_labels = {{"tier", "front"}, {"app", "web"}};
  selector.match_expressions = {{.key = "env", .op = "In", .values = {"prod", "canary"}},
                                {.key = "zone", .op = "NotIn", .values = {"b", "a"}},
                                {.key = "gpu", .op = "Exists", .values = {}},
                                {.key = "legacy", .op = "DoesNotExist", .values = {}}};
  EXPECT_EQ(SelectorString(selector),
            "app=web,env in (canary,prod),gpu,!legacy,tier=front,zone notin (a,b)");
  EXPECT_EQ(SelectorString(LabelSelector{}), "");
}

TEST(ResourceSegmentTest, PluralAndGroup) {
  EXPECT_EQ(ResourceSegment("v1", "Pod"), "pods");
  EXPECT_EQ(ResourceSegment("v1", "Service"), "services");
  EXPECT_EQ(ResourceSegment("apps/v1", "Deployment"), "deployments.apps");
  EXPECT_EQ(ResourceSegment("networking.k8s.io/v1", "Ingress"), "ingresses.networking.k8s.io");
  EXPECT_EQ(ResourceSegment("networking.k8s.io/v1", "NetworkPolicy"),
            "networkpolicies.networking.k8s.io");
}

TEST(PlanCallTest, PodsMetricUsesTheTargetsPodSelectorAndTheMetricSelector) {
  const Hpa hpa = ShopHpa();
  HpaMetric metric{.type = SourceType::kPods, .name = "http_requests_per_second"};
  metric.selector = LabelSelector{.match_labels = {{"verb", "GET"}}};
  const MetricCall call = PlanCall(hpa, metric, "v1beta2", "app=web");
  EXPECT_EQ(call.path,
            "/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/%2A/"
            "http_requests_per_second?labelSelector=app%3Dweb&metricLabelSelector=verb%3DGET");
  EXPECT_EQ(call.source, "Pods http_requests_per_second (selector verb=GET)");
}

TEST(PlanCallTest, ObjectMetricNamesTheResourceWithItsGroup) {
  const Hpa hpa = ShopHpa();
  const HpaMetric metric{
      .type = SourceType::kObject,
      .name = "requests",
      .described_object = {
          .api_version = "networking.k8s.io/v1", .kind = "Ingress", .name = "main"}};
  EXPECT_EQ(PlanCall(hpa, metric, "v1beta1", "app=web").path,
            "/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/"
            "ingresses.networking.k8s.io/main/requests");
}

TEST(PlanCallTest, NamespaceObjectMetricUsesTheMetricsPathAndIgnoresTheName) {
  const Hpa hpa = ShopHpa();
  const HpaMetric metric{
      .type = SourceType::kObject,
      .name = "namespace_cost",
      .described_object = {.api_version = "v1", .kind = "Namespace", .name = "elsewhere"}};
  EXPECT_EQ(PlanCall(hpa, metric, "v1beta1", "").path,
            "/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/metrics/namespace_cost");
}

TEST(PlanCallTest, ExternalMetricSendsOnlyItsOwnSelector) {
  const Hpa hpa = ShopHpa();
  HpaMetric metric{.type = SourceType::kExternal, .name = "queue_depth"};
  EXPECT_EQ(PlanCall(hpa, metric, "v1beta2", "app=web").path,
            "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue_depth");
  metric.selector = LabelSelector{.match_labels = {{"queue", "orders"}}};
  EXPECT_EQ(PlanCall(hpa, metric, "v1beta2", "app=web").path,
            "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue_depth"
            "?labelSelector=queue%3Dorders");
  // An empty selector is no selector: the HPA omits the parameter.
  metric.selector = LabelSelector{};
  EXPECT_EQ(PlanCall(hpa, metric, "v1beta2", "").path,
            "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue_depth");
}

TEST(PlanCallTest, ResourceMetricsAskMetricsK8sIoForTheTargetsPods) {
  const Hpa hpa = ShopHpa();
  const HpaMetric cpu{.type = SourceType::kResource, .name = "cpu"};
  EXPECT_EQ(PlanCall(hpa, cpu, "v1beta1", "app=web").path,
            "/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods?labelSelector=app%3Dweb");
  const HpaMetric container{
      .type = SourceType::kContainerResource, .name = "memory", .container = "app"};
  EXPECT_EQ(PlanCall(hpa, container, "v1beta1", "app=web").source,
            "ContainerResource memory of container app");
}

TEST(DescribeTargetTest, EachTargetType) {
  EXPECT_EQ(DescribeTarget({.type = "AverageValue", .average_value = "10"}), "AverageValue 10");
  EXPECT_EQ(DescribeTarget({.type = "Value", .value = "500m"}), "Value 500m");
  EXPECT_EQ(DescribeTarget({.type = "Utilization", .average_utilization = 80}), "Utilization 80%");
}

TEST(HintForTest, EachFailureKindHasItsOwnHint) {
  EXPECT_NE(HintFor(404, SourceType::kExternal).find("no rule"), std::string::npos);
  EXPECT_NE(HintFor(403, SourceType::kPods).find("horizontal-pod-autoscaler"), std::string::npos);
  EXPECT_NE(HintFor(503, SourceType::kObject).find("APIService is unavailable"), std::string::npos);
  EXPECT_NE(HintFor(404, SourceType::kResource), HintFor(404, SourceType::kExternal));
}

}  // namespace
}  // namespace ma::plugin
