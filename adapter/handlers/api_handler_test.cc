#include "adapter/handlers/api_handler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "adapter/http/url.h"
#include "queries/config/rules_config.h"

namespace ma::handlers {
namespace {

using ::testing::HasSubstr;

// Answers instant queries by their exact PromQL, as prometheus-adapter's fake client does; an
// unknown query fails as an unreachable backend would.
class FakePrometheus : public prometheus::Client {
 public:
  void Query(std::string promql, std::chrono::system_clock::time_point,
             prometheus::QueryCallback done) override {
    queries.push_back(promql);
    const auto it = answers.find(promql);
    done(it == answers.end() ? absl::StatusOr<model::QueryResult>(
                                   absl::UnavailableError("dial tcp 10.1.2.3:9090: refused"))
                             : it->second);
  }
  void Series(std::string, std::chrono::system_clock::time_point,
              prometheus::SeriesCallback done) override {
    done(std::vector<model::Series>{});
  }
  std::map<std::string, absl::StatusOr<model::QueryResult>> answers;
  std::vector<std::string> queries;
};

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
  }

  http::Response Get(std::string_view target, const std::string& method = "GET") {
    auto request = http::ParseRequestTarget(method, target);
    EXPECT_TRUE(request.ok()) << request.status();
    http::Response out;
    bool answered = false;
    handler_.Handle(*request, [&](http::Response response) {
      out = std::move(response);
      answered = true;
    });
    EXPECT_TRUE(answered);
    return out;
  }

  static model::QueryResult Vector(std::vector<model::Sample> samples) {
    model::QueryResult result;
    result.samples = std::move(samples);
    return result;
  }

  Snapshot<rules::RuleSet> rules_;
  Snapshot<registry::MetricRegistry> registry_;
  FakePrometheus prometheus_;
  telemetry::AdapterMetrics metrics_{"v0.1.0", "abc"};
  bool ready_ = true;
  ApiHandler handler_{rules_,
                      registry_,
                      model::BuiltinResourceMapper(),
                      prometheus_,
                      metrics_,
                      [this] { return ready_; },
                      {.standalone = true, .git_version = "v0.1.0", .git_commit = "abc"}};
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
  prometheus_.answers[R"(sum(queue_depth{queue="orders",namespace="shop"}) by (queue))"] =
      Vector({{{{"queue", "orders"}}, 1.5, 1740830400123}});
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
  prometheus_
      .answers[R"(sum(rate(http_requests_total{namespace="shop",pod="web-1"}[2m])) by (pod))"] =
      Vector({{{{"pod", "web-1"}}, 0.25, 1740830400000}});
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
  prometheus_.answers[R"(sum(rate(http_requests_total{namespace="shop",pod!=""}[2m])) by (pod))"] =
      Vector({{{{"pod", "b"}}, 2, 1000}, {{{"pod", "a"}}, 1, 1000}});
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
  prometheus_.answers[R"(sum(queue_depth{namespace="shop"}) by (queue))"] =
      Vector({{{{"queue", "orders"}}, std::nan(""), 1000}});
  const auto response = Get("/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue_depth");
  EXPECT_EQ(response.status, 404);
  EXPECT_THAT(response.body, HasSubstr("not a finite number"));
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

}  // namespace
}  // namespace ma::handlers
