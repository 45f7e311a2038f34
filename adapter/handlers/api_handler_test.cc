#include "adapter/handlers/api_handler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "adapter/api/status.h"
#include "adapter/http/url.h"
#include "queries/base/strings.h"
#include "queries/config/rules_config.h"
#include "test/testing/fake_prometheus_client.h"
#include "test/testing/run_task.h"

namespace ma::handlers {
namespace {

using ::ma::testing::FakePrometheusClient;
using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr std::string_view kRules = R"yaml(rules:
- seriesQuery: 'http_requests_total{namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
  name: {matches: "^(.*)_total$", as: "${1}_per_second"}
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)'
externalRules:
- seriesQuery: 'queue_depth{namespace!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)'
)yaml";

class ApiHandlerTest : public ::testing::Test {
 protected:
  ApiHandlerTest() {
    auto parsed = config::ParseRulesConfig(kRules);
    auto compiled = rules::CompileRules(parsed.config, {.mapper = model::BuiltinResourceMapper()});
    rules_.Set(compiled.rule_set);
    registry::SeriesByQuery series;
    series[R"(http_requests_total{namespace!="",pod!=""})"] = {
        {"http_requests_total", {{"namespace", ""}, {"pod", ""}}}};
    series[R"(queue_depth{namespace!=""})"] = {{"queue_depth", {{"namespace", ""}, {"queue", ""}}}};
    registry_.Set(registry::MetricRegistry::Build(compiled.rule_set, series));
    // An unknown query fails as an unreachable backend would.
    prometheus_.SetDefaultQueryAnswer(absl::UnavailableError("dial tcp 10.1.2.3:9090: refused"));
    prometheus_.SetDefaultSeriesAnswer(std::vector<model::Series>{});
  }

  http::Response Get(std::string_view target, const std::string& method = "GET") {
    auto request = http::ParseRequestTarget(method, target);
    EXPECT_TRUE(request.ok()) << request.status();
    absl::StatusOr<http::Response> response = testing::RunTask(handler_.Handle(*request));
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? *std::move(response) : http::Response{};
  }

  static model::QueryResult Vector(std::vector<model::Sample> samples) {
    model::QueryResult result;
    result.samples = std::move(samples);
    return result;
  }

  Snapshot<rules::RuleSet> rules_;
  Snapshot<registry::MetricRegistry> registry_;
  FakePrometheusClient prometheus_;
  telemetry::AdapterMetrics metrics_{"v0.1.0", "abc"};
  bool ready_ = true;
  bool shutting_down_ = false;
  ApiHandler handler_{
      rules_,
      registry_,
      model::BuiltinResourceMapper(),
      prometheus_,
      metrics_,
      [this] { return ready_; },
      {.standalone = true, .git_version = "v0.1.0", .git_commit = "abc", .shutting_down = [this] {
         return shutting_down_;
       }}};
};

TEST_F(ApiHandlerTest, DiscoveryDocuments) {
  EXPECT_EQ(
      Get("/apis/external.metrics.k8s.io/v1beta1").body,
      R"({"kind":"APIResourceList","apiVersion":"v1","groupVersion":"external.metrics.k8s.io/v1beta1","resources":[{"name":"queue_depth","singularName":"","namespaced":true,"kind":"ExternalMetricValueList","verbs":["get"]}]})"
      "\n");
  EXPECT_EQ(
      Get("/apis/custom.metrics.k8s.io/v1beta2").body,
      R"({"kind":"APIResourceList","apiVersion":"v1","groupVersion":"custom.metrics.k8s.io/v1beta2","resources":[{"name":"namespaces/http_requests_per_second","singularName":"","namespaced":false,"kind":"MetricValueList","verbs":["get"]},{"name":"pods/http_requests_per_second","singularName":"","namespaced":true,"kind":"MetricValueList","verbs":["get"]}]})"
      "\n");
  const auto apis = Get("/apis");
  EXPECT_THAT(apis.body, HasSubstr(R"("name":"custom.metrics.k8s.io")"));
  EXPECT_THAT(
      apis.body,
      HasSubstr(
          R"("preferredVersion":{"groupVersion":"custom.metrics.k8s.io/v1beta2","version":"v1beta2"})"));
  EXPECT_THAT(Get("/apis/external.metrics.k8s.io").body, HasSubstr(R"("kind":"APIGroup")"));
}

TEST_F(ApiHandlerTest, DiscoveryIsNeverEmpty) {
  registry_.Set(registry::MetricRegistry::Build(rules_.Get(), {}));
  EXPECT_THAT(Get("/apis/external.metrics.k8s.io/v1beta1").body,
              HasSubstr(R"("resources":[{"name":"externalmetrics")"));
}

TEST_F(ApiHandlerTest, ExternalValueFromTheSample) {
  prometheus_.SetQueryAnswer(R"(sum(queue_depth{queue="orders",namespace="shop"}) by (queue))",
                             Vector({{{{"queue", "orders"}}, 1.5, 1740830400123}}));
  const auto response =
      Get("/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/"
          "queue_depth?labelSelector=queue%3Dorders");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(
      response.body,
      R"({"kind":"ExternalMetricValueList","apiVersion":"external.metrics.k8s.io/v1beta1","metadata":{},"items":[{"metricName":"queue_depth","metricLabels":{"queue":"orders"},"timestamp":"2025-03-01T12:00:00Z","value":"1500m"}]})"
      "\n");
}

TEST_F(ApiHandlerTest, CustomValueByNameInBothVersions) {
  prometheus_.SetQueryAnswer(
      R"(sum(rate(http_requests_total{namespace="shop",pod="web-1"}[2m])) by (pod))",
      Vector({{{{"pod", "web-1"}}, 0.25, 1740830400000}}));
  EXPECT_EQ(
      Get("/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/web-1/http_requests_per_second")
          .body,
      R"({"kind":"MetricValueList","apiVersion":"custom.metrics.k8s.io/v1beta1","metadata":{},"items":[{"describedObject":{"kind":"Pod","namespace":"shop","name":"web-1","apiVersion":"v1"},"metricName":"http_requests_per_second","timestamp":"2025-03-01T12:00:00Z","value":"250m","selector":null}]})"
      "\n");
  EXPECT_EQ(
      Get("/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/web-1/http_requests_per_second")
          .body,
      R"({"kind":"MetricValueList","apiVersion":"custom.metrics.k8s.io/v1beta2","metadata":{},"items":[{"describedObject":{"kind":"Pod","namespace":"shop","name":"web-1","apiVersion":"v1"},"metric":{"name":"http_requests_per_second","selector":null},"timestamp":"2025-03-01T12:00:00Z","value":"250m"}]})"
      "\n");
}

TEST_F(ApiHandlerTest, WildcardWithoutSelectorCoversEveryObjectInStandalone) {
  prometheus_.SetQueryAnswer(
      R"(sum(rate(http_requests_total{namespace="shop",pod!=""}[2m])) by (pod))",
      Vector({{{{"pod", "b"}}, 2, 1000}, {{{"pod", "a"}}, 1, 1000}}));
  const auto response =
      Get("/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/%2A/http_requests_per_second");
  EXPECT_EQ(response.status, 200);
  EXPECT_LT(response.body.find(R"("name":"a")"), response.body.find(R"("name":"b")"));
  const auto with_selector =
      Get("/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/%2A/http_requests_per_second"
          "?labelSelector=app%3Dweb");
  EXPECT_EQ(with_selector.status, 400);
  EXPECT_THAT(with_selector.body, HasSubstr("needs the Kubernetes API"));
}

TEST_F(ApiHandlerTest, ErrorsAreStatusObjects) {
  const auto unknown_metric = Get("/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/nope");
  EXPECT_EQ(unknown_metric.status, 404);
  EXPECT_THAT(unknown_metric.body, HasSubstr(R"("reason":"NotFound")"));
  const auto bad_selector = Get(
      "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue_depth?labelSelector=a%3D%3D%3D");
  EXPECT_EQ(bad_selector.status, 400);
  EXPECT_THAT(bad_selector.body, HasSubstr("invalid labelSelector"));
  const auto dotted_key =
      Get("/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue_depth"
          "?labelSelector=app.kubernetes.io%2Fname%3Dx");
  EXPECT_EQ(dotted_key.status, 400);
  EXPECT_THAT(dotted_key.body, HasSubstr("app.kubernetes.io/name"));
  // The backend is down: 503, and the backend's address stays in the log.
  const auto down = Get("/apis/external.metrics.k8s.io/v1beta1/namespaces/other/queue_depth");
  EXPECT_EQ(down.status, 503);
  EXPECT_THAT(down.body, HasSubstr("metrics backend is unavailable"));
  EXPECT_EQ(down.body.find("10.1.2.3"), std::string::npos);
  EXPECT_EQ(Get("/apis/external.metrics.k8s.io/v1beta1", "POST").status, 405);
  EXPECT_EQ(Get("/nope").status, 404);
  EXPECT_EQ(Get("/openapi/v2").status, 404);
}

TEST_F(ApiHandlerTest, NaNIsAnErrorNotZero) {
  prometheus_.SetQueryAnswer(R"(sum(queue_depth{namespace="shop"}) by (queue))",
                             Vector({{{{"queue", "orders"}}, std::nan(""), 1000}}));
  const auto response = Get("/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue_depth");
  EXPECT_EQ(response.status, 404);
  EXPECT_THAT(response.body, HasSubstr("not a finite number"));
}

TEST_F(ApiHandlerTest, NaNIsAnErrorEveryTimeAndCountedEveryTime) {
  prometheus_.SetQueryAnswer(R"(sum(queue_depth{namespace="shop"}) by (queue))",
                             Vector({{{{"queue", "orders"}}, std::nan(""), 1000}}));
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(Get("/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue_depth").status, 404);
  }
  EXPECT_THAT(metrics_.Serialize(),
              HasSubstr(R"(metrics_adapter_non_finite_values_total{api="external"} 2)"));
}

// A hot request may be answered with the bytes it rendered last time (metric_memo.h), but only
// while the value is the same one: a new value is rendered afresh.
TEST_F(ApiHandlerTest, HotRequestIsNeverServedOldBytesForANewValue) {
  constexpr std::string_view kPromQL =
      R"(sum(queue_depth{queue="orders",namespace="shop"}) by (queue))";
  constexpr std::string_view kPath =
      "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/"
      "queue_depth?labelSelector=queue%3Dorders";
  prometheus_.SetQueryAnswer(std::string(kPromQL), Vector({{{{"queue", "orders"}}, 1.5, 1000}}));
  const std::string first = Get(kPath).body;
  EXPECT_THAT(first, HasSubstr(R"("value":"1500m")"));
  EXPECT_EQ(Get(kPath).body, first);
  prometheus_.SetQueryAnswer(std::string(kPromQL), Vector({{{{"queue", "orders"}}, 2.5, 2000}}));
  const std::string second = Get(kPath).body;
  EXPECT_THAT(second, HasSubstr(R"("value":"2500m")"));
  EXPECT_EQ(Get(kPath).body, second);
  // Another request of the same metric is its own entry.
  EXPECT_THAT(Get("/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue_depth").status, 503);
  prometheus_.SetQueryAnswer(std::string(kPromQL), Vector({{{{"queue", "orders"}}, 1.5, 1000}}));
  EXPECT_EQ(Get(kPath).body, first);
  EXPECT_EQ(prometheus_.calls(std::string(kPromQL)), 5);
}

// A rule change comes with a new registry: the request is planned again (new PromQL) and
// rendered again, never answered from the bytes of the old rule.
TEST_F(ApiHandlerTest, HotRequestIsNeverServedOldBytesAfterARuleChange) {
  constexpr std::string_view kPath =
      "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/"
      "queue_depth?labelSelector=queue%3Dorders";
  const auto value = Vector({{{{"queue", "orders"}}, 1.5, 1000}});
  prometheus_.SetQueryAnswer(R"(sum(queue_depth{queue="orders",namespace="shop"}) by (queue))",
                             value);
  const std::string before = Get(kPath).body;
  EXPECT_THAT(before, HasSubstr(R"("metricName":"queue_depth")"));
  EXPECT_EQ(Get(kPath).body, before);

  // The same series exposed under another name, with another query.
  auto parsed = config::ParseRulesConfig(R"yaml(externalRules:
- seriesQuery: 'queue_depth{namespace!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
  name: {matches: "^queue_depth$", as: "queue_depth"}
  metricsQuery: 'max(<<.Series>>{<<.LabelMatchers>>}) by (queue)'
)yaml");
  auto compiled = rules::CompileRules(parsed.config, {.mapper = model::BuiltinResourceMapper()});
  rules_.Set(compiled.rule_set);
  registry::SeriesByQuery series;
  series[R"(queue_depth{namespace!=""})"] = {{"queue_depth", {{"namespace", ""}, {"queue", ""}}}};
  registry_.Set(registry::MetricRegistry::Build(compiled.rule_set, series));
  prometheus_.SetQueryAnswer(R"(max(queue_depth{queue="orders",namespace="shop"}) by (queue))",
                             Vector({{{{"queue", "orders"}}, 7, 1000}}));
  const std::string after = Get(kPath).body;
  EXPECT_THAT(after, HasSubstr(R"("value":"7")"));
  EXPECT_EQ(prometheus_.queries().back(),
            R"(max(queue_depth{queue="orders",namespace="shop"}) by (queue))");
  EXPECT_EQ(Get(kPath).body, after);

  // The same rules relisted again: a new registry, planned again, same answer.
  registry_.Set(registry::MetricRegistry::Build(compiled.rule_set, series));
  EXPECT_EQ(Get(kPath).body, after);
  // A registry without the metric: 404, not the old bytes.
  registry_.Set(registry::MetricRegistry::Build(compiled.rule_set, {}));
  EXPECT_EQ(Get(kPath).status, 404);
}

// During the shutdown delay only readiness fails; discovery and liveness are served as before.
TEST_F(ApiHandlerTest, ShutdownFailsReadinessOnly) {
  EXPECT_EQ(Get("/readyz?verbose").status, 200);
  EXPECT_THAT(Get("/readyz?verbose").body, HasSubstr("[+]shutdown ok\n"));
  shutting_down_ = true;
  const auto readyz = Get("/readyz?verbose");
  EXPECT_EQ(readyz.status, 500);
  EXPECT_THAT(readyz.body, HasSubstr("[-]shutdown failed: reason withheld\n"));
  EXPECT_THAT(readyz.body, HasSubstr("[+]first-relist ok\n"));
  EXPECT_EQ(Get("/readyz/shutdown").status, 500);
  EXPECT_EQ(Get("/livez").status, 200);
  EXPECT_EQ(Get("/healthz").status, 200);
  EXPECT_EQ(Get("/apis/external.metrics.k8s.io/v1beta1").status, 200);
}

TEST_F(ApiHandlerTest, HealthReadinessAndMetrics) {
  EXPECT_EQ(Get("/healthz").body, "ok");
  EXPECT_EQ(Get("/livez?verbose").body, "[+]ping ok\n[+]rules-loaded ok\nlivez check passed\n");
  ready_ = false;
  const auto not_ready = Get("/readyz");
  EXPECT_EQ(not_ready.status, 500);
  EXPECT_THAT(not_ready.body, HasSubstr("[-]first-relist failed"));
  ready_ = true;
  EXPECT_EQ(Get("/readyz").status, 200);
  Get("/healthz");
  EXPECT_THAT(Get("/metrics").body,
              HasSubstr(R"(metrics_adapter_requests_total{code="200",route="health"})"));
  EXPECT_THAT(Get("/version").body, HasSubstr(R"("gitVersion":"v0.1.0")"));
}

// The object cache as the handler sees it: names per namespace and labels, or "not synced".
class FakeObjects : public objects::ObjectLister {
 public:
  absl::StatusOr<std::vector<std::string>> Names(const model::GroupResource& resource,
                                                 std::string_view namespace_name,
                                                 const selector::LabelSelector& selector) override {
    calls.push_back(Cat(resource.String(), " ", namespace_name, " ", selector.String()));
    if (!synced_value) {
      return api::WithPublicMessage(absl::UnavailableError("not listed"),
                                    "the adapter has not listed pods yet");
    }
    std::vector<std::string> out;
    for (const auto& [name, labels] : objects[std::string(namespace_name)]) {
      if (selector.Matches(labels)) {
        out.push_back(name);
      }
    }
    return out;
  }
  bool synced() const override { return synced_value; }

  bool synced_value = true;
  std::map<std::string, std::map<std::string, model::LabelSet>> objects;
  std::vector<std::string> calls;
};

class KubernetesApiHandlerTest : public ApiHandlerTest {
 protected:
  KubernetesApiHandlerTest() {
    objects_.objects["shop"] = {
        {"web-1", {{"app", "web"}}}, {"web-2", {{"app", "web"}}}, {"db-0", {{"app", "db"}}}};
  }

  http::Response Get(std::string_view target) {
    auto request = http::ParseRequestTarget("GET", target);
    EXPECT_TRUE(request.ok()) << request.status();
    absl::StatusOr<http::Response> response = testing::RunTask(kube_handler_.Handle(*request));
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? *std::move(response) : http::Response{};
  }

  FakeObjects objects_;
  ApiHandler kube_handler_{
      rules_,
      registry_,
      model::BuiltinResourceMapper(),
      prometheus_,
      metrics_,
      [this] { return ready_; },
      {.standalone = false, .objects = &objects_, .git_version = "", .git_commit = ""}};
};

TEST_F(KubernetesApiHandlerTest, WildcardNamesComeFromTheObjectCache) {
  prometheus_.SetQueryAnswer(
      R"(sum(rate(http_requests_total{namespace="shop",pod=~"web-1|web-2"}[2m])) by (pod))",
      Vector({{{{"pod", "web-2"}}, 2, 1000}, {{{"pod", "web-1"}}, 1, 1000}}));
  const auto response =
      Get("/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/%2A/http_requests_per_second"
          "?labelSelector=app%3Dweb");
  EXPECT_EQ(response.status, 200) << response.body;
  EXPECT_LT(response.body.find(R"("name":"web-1")"), response.body.find(R"("name":"web-2")"));
  EXPECT_THAT(objects_.calls, ElementsAre("pods shop app=web"));
}

TEST_F(KubernetesApiHandlerTest, WildcardWithoutSelectorListsEveryObjectNotEverySeries) {
  prometheus_.SetQueryAnswer(
      R"(sum(rate(http_requests_total{namespace="shop",pod=~"db-0|web-1|web-2"}[2m])) by (pod))",
      Vector({{{{"pod", "db-0"}}, 3, 1000}, {{{"pod", "gone-7"}}, 9, 1000}}));
  const auto response =
      Get("/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/%2A/http_requests_per_second");
  EXPECT_EQ(response.status, 200) << response.body;
  EXPECT_THAT(response.body, HasSubstr(R"("name":"db-0")"));
  // A series of an object that no longer exists is not reported.
  EXPECT_EQ(response.body.find("gone-7"), std::string::npos);
  EXPECT_THAT(prometheus_.queries(), Each(Not(HasSubstr(R"(pod!="")"))));
}

TEST_F(KubernetesApiHandlerTest, NoMatchingObjectIsNotFound) {
  const auto response =
      Get("/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/%2A/http_requests_per_second"
          "?labelSelector=app%3Dcache");
  EXPECT_EQ(response.status, 404);
  EXPECT_THAT(response.body,
              HasSubstr("the server could not find the metric http_requests_per_second for pods"));
  EXPECT_THAT(prometheus_.queries(), IsEmpty());
}

TEST_F(KubernetesApiHandlerTest, NotSyncedIsServiceUnavailable) {
  objects_.synced_value = false;
  const auto response =
      Get("/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/%2A/http_requests_per_second");
  EXPECT_EQ(response.status, 503);
  EXPECT_THAT(response.body, HasSubstr("has not listed pods yet"));
  EXPECT_THAT(prometheus_.queries(), IsEmpty());
}

TEST_F(KubernetesApiHandlerTest, BeforeTheFirstRelistIsServiceUnavailable) {
  registry_.Set(nullptr);
  const auto response =
      Get("/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/%2A/http_requests_per_second"
          "?labelSelector=app%3Dweb");
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.body.find("--standalone"), std::string::npos);
  EXPECT_THAT(objects_.calls, IsEmpty());
}

TEST_F(KubernetesApiHandlerTest, UnknownMetricNeverReachesTheObjectCache) {
  struct Case {
    std::string path;
  };
  const Case cases[] = {
      {"/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/%2A/nope"},
      {"/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/services/%2A/http_requests_per_second"},
      {"/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/widgets/%2A/http_requests_per_second"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(Get(c.path).status, 404) << c.path;
  }
  EXPECT_THAT(objects_.calls, IsEmpty());
}

TEST_F(KubernetesApiHandlerTest, ByNameNeverReachesTheObjectCache) {
  prometheus_.SetQueryAnswer(
      R"(sum(rate(http_requests_total{namespace="shop",pod="web-1"}[2m])) by (pod))",
      Vector({{{{"pod", "web-1"}}, 0.25, 1000}}));
  EXPECT_EQ(
      Get("/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/web-1/http_requests_per_second")
          .status,
      200);
  EXPECT_THAT(objects_.calls, IsEmpty());
}

TEST_F(KubernetesApiHandlerTest, ReadinessWaitsForTheObjectCache) {
  objects_.synced_value = false;
  const auto not_ready = Get("/readyz");
  EXPECT_EQ(not_ready.status, 500);
  EXPECT_THAT(not_ready.body, HasSubstr("[-]informer-sync failed"));
  EXPECT_EQ(Get("/readyz/informer-sync").status, 500);
  objects_.synced_value = true;
  EXPECT_EQ(Get("/readyz").status, 200);
  EXPECT_EQ(Get("/readyz/informer-sync").status, 200);
  // Liveness does not depend on the Kubernetes API.
  objects_.synced_value = false;
  EXPECT_EQ(Get("/livez").status, 200);
}

}  // namespace
}  // namespace ma::handlers
