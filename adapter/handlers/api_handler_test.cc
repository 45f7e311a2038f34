#include "adapter/handlers/api_handler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <thread>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "adapter/api/status.h"
#include "adapter/async/task.h"
#include "adapter/async/task_context.h"
#include "adapter/cache/caching_client.h"
#include "adapter/http/url.h"
#include "queries/base/strings.h"
#include "queries/config/rules_config.h"
#include "test/testing/fake_clock.h"
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
  ApiHandler handler_{rules_,
                      registry_,
                      model::BuiltinResourceMapper(),
                      prometheus_,
                      metrics_,
                      [this] { return ready_; },
                      {.standalone = true,
                       .git_version = "v0.1.0",
                       .git_commit = "abc",
                       .platform = "linux/amd64",
                       .shutting_down = [this] { return shutting_down_; }}};
};

TEST(ApiHandlerReadyzTest, VerboseShowsTheLastListingOfEachRule) {
  Snapshot<rules::RuleSet> rules;
  Snapshot<registry::MetricRegistry> registry;
  FakePrometheusClient prometheus;
  telemetry::AdapterMetrics metrics{"v", "c"};
  ApiHandler handler{rules,
                     registry,
                     model::BuiltinResourceMapper(),
                     prometheus,
                     metrics,
                     [] { return true; },
                     {.standalone = true,
                      .git_version = "v",
                      .git_commit = "c",
                      .platform = "",
                      .relist_details = [] {
                        return std::string(
                            "rules[0]: ok, 3 series, listed at T\n"
                            "externalRules[0]: failed (UNAVAILABLE) at T\n");
                      }}};
  const auto get = [&](std::string_view target) {
    auto request = http::ParseRequestTarget("GET", target);
    EXPECT_TRUE(request.ok()) << request.status();
    absl::StatusOr<http::Response> response = testing::RunTask(handler.Handle(*request));
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? *std::move(response) : http::Response{};
  };
  EXPECT_EQ(get("/readyz?verbose").body,
            "[+]ping ok\n[-]rules-loaded failed: reason withheld\n[+]first-relist ok\n"
            "    rules[0]: ok, 3 series, listed at T\n"
            "    externalRules[0]: failed (UNAVAILABLE) at T\n"
            "[+]shutdown ok\n"
            "readyz check failed\n");
  EXPECT_EQ(get("/readyz").body.find("rules[0]"), std::string::npos);
}

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

// Rules can change at run time and an APIService whose discovery 404s breaks the cluster's
// discovery: every group of the table answers every discovery level with 200, whatever the rules.
TEST_F(ApiHandlerTest, DiscoveryAnswersEveryGroupTheRulesGiveNothing) {
  for (const std::string_view yaml :
       {std::string_view("rules: []\n"), std::string_view("{}\n"), kRules}) {
    SCOPED_TRACE(yaml);
    auto parsed = config::ParseRulesConfig(yaml);
    auto compiled = rules::CompileRules(parsed.config, {.mapper = model::BuiltinResourceMapper()});
    ASSERT_NE(compiled.rule_set, nullptr);
    rules_.Set(compiled.rule_set);
    registry_.Set(registry::MetricRegistry::Build(compiled.rule_set, {}));
    const auto apis = Get("/apis");
    ASSERT_EQ(apis.status, 200);
    for (const ApiGroupRow& group : ApiGroups()) {
      SCOPED_TRACE(group.name);
      EXPECT_THAT(apis.body, HasSubstr(Cat(R"("name":")", group.name, R"(")")));
      const auto group_doc = Get(Cat("/apis/", group.name));
      EXPECT_EQ(group_doc.status, 200);
      EXPECT_THAT(group_doc.body, HasSubstr(R"("kind":"APIGroup")"));
      for (const std::string_view version : group.versions) {
        const auto list = Get(Cat("/apis/", group.name, "/", version));
        EXPECT_EQ(list.status, 200);
        EXPECT_THAT(list.body,
                    HasSubstr(Cat(R"("groupVersion":")", group.name, "/", version, R"(")")));
        EXPECT_THAT(list.body,
                    HasSubstr(Cat(R"("resources":[{"name":")", group.placeholder_name, R"(")")));
      }
    }
  }
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

// A request cancelled while it waits for the backend (its client left, its deadline passed)
// leaves nothing behind: the client below takes the wait back, and a late answer finds nothing
// of the request to call.
class CancelledRequestTest : public ApiHandlerTest {
 protected:
  static constexpr std::string_view kPromQL =
      R"(sum(queue_depth{queue="orders",namespace="shop"}) by (queue))";

  // Starts the request on `context` and runs it until it waits.
  void StartRequest(ApiHandler& handler, async::TaskContext& context,
                    std::optional<absl::StatusOr<http::Response>>& result) {
    auto request = http::ParseRequestTarget("GET",
                                            "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/"
                                            "queue_depth?labelSelector=queue%3Dorders");
    ASSERT_TRUE(request.ok());
    async::Start<http::Response>(
        context, handler.Handle(*std::move(request)),
        [&result](absl::StatusOr<http::Response> r) { result = std::move(r); });
    ASSERT_FALSE(result.has_value());  // waiting for the backend
  }
  // Runs what was posted to `executor_` already; false when nothing was.
  bool RunPosted() { return executor_->RunOne(absl::Now()); }

  std::shared_ptr<testing::QueueExecutor> executor_ = std::make_shared<testing::QueueExecutor>();
};

TEST_F(CancelledRequestTest, BackendForgetsTheQueryOfACancelledRequest) {
  prometheus_.Hold();
  async::TaskContext context(executor_);
  std::optional<absl::StatusOr<http::Response>> result;
  StartRequest(handler_, context, result);
  EXPECT_EQ(prometheus_.pending(), 1);
  context.Cancel(absl::CancelledError("client closed the connection"));
  ASSERT_TRUE(result.has_value());  // ended inside Cancel
  EXPECT_EQ(prometheus_.withdrawn(), 1);
  EXPECT_EQ(prometheus_.pending(), 0);
  prometheus_.Release(Vector({}));
  EXPECT_FALSE(RunPosted());
}

TEST_F(CancelledRequestTest, CacheKeepsNoWaiterOfACancelledRequestAndIsStillFilled) {
  cache::CachingClient cache(prometheus_, metrics_, cache::CacheOptions{});
  ApiHandler handler(rules_, registry_, model::BuiltinResourceMapper(), cache, metrics_,
                     [] { return true; },
                     {.standalone = true, .git_version = "", .git_commit = "", .platform = ""});
  prometheus_.Hold();
  async::TaskContext leaving(executor_);
  async::TaskContext staying(executor_);
  std::optional<absl::StatusOr<http::Response>> left, stayed;
  StartRequest(handler, leaving, left);
  StartRequest(handler, staying, stayed);
  EXPECT_EQ(cache.waiters(kPromQL), 2u);
  leaving.Cancel(absl::DeadlineExceededError("handler timeout"));
  ASSERT_TRUE(left.has_value());
  EXPECT_EQ(cache.waiters(kPromQL), 1u);

  prometheus_.Release(Vector({{{{"queue", "orders"}}, 1.5, 1000}}));
  ASSERT_TRUE(RunPosted());  // the staying request's resumption, and only that
  EXPECT_FALSE(RunPosted());
  ASSERT_TRUE(stayed.has_value() && stayed->ok());
  EXPECT_THAT((*stayed)->body, HasSubstr(R"("value":"1500m")"));
  EXPECT_EQ(prometheus_.calls(std::string(kPromQL)), 1);
}

// The answer names how the value cache answered, for the server's access log line.
TEST_F(ApiHandlerTest, AnswersSayHowTheCacheAnswered) {
  constexpr std::string_view kTarget =
      "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/"
      "queue_depth?labelSelector=queue%3Dorders";
  prometheus_.SetQueryAnswer(R"(sum(queue_depth{queue="orders",namespace="shop"}) by (queue))",
                             Vector({{{{"queue", "orders"}}, 1.5, 1000}}));
  EXPECT_EQ(Get(kTarget).cache_outcome, "none");  // no cache in front of this handler's backend
  EXPECT_EQ(Get("/apis/external.metrics.k8s.io/v1beta1").cache_outcome, "none");

  cache::CachingClient cache(prometheus_, metrics_, cache::CacheOptions{});
  ApiHandler handler(rules_, registry_, model::BuiltinResourceMapper(), cache, metrics_,
                     [] { return true; },
                     {.standalone = true, .git_version = "", .git_commit = "", .platform = ""});
  const auto get = [&handler, kTarget] {
    absl::StatusOr<http::Response> response =
        testing::RunTask(handler.Handle(*http::ParseRequestTarget("GET", kTarget)));
    EXPECT_TRUE(response.ok() && response->status == 200);
    return response.ok() ? std::string(response->cache_outcome) : std::string();
  };
  EXPECT_EQ(get(), "miss");
  EXPECT_EQ(get(), "hit");
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
  // Without relist details, the verbose answer lists the checks only.
  EXPECT_EQ(Get("/readyz?verbose").body,
            "[+]ping ok\n[+]rules-loaded ok\n[+]first-relist ok\n[+]shutdown ok\n"
            "readyz check passed\n");
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
  // Pods come from `objects`, nodes from `nodes`.
  absl::StatusOr<std::vector<objects::ListedObject>> Objects(
      const objects::Collection& collection, std::string_view namespace_name,
      const selector::LabelSelector& selector) override {
    calls.push_back(Cat(collection.String(), " ", namespace_name, " ", selector.String()));
    if (!synced_value) {
      return api::WithPublicMessage(absl::UnavailableError("not listed"),
                                    "the adapter has not listed pods yet");
    }
    std::vector<objects::ListedObject> out;
    if (collection.resource.resource == "nodes") {
      for (const auto& [name, labels] : nodes) {
        if (selector.Matches(labels)) {
          out.push_back({"", name, labels});
        }
      }
      return out;
    }
    for (const auto& [ns, named] : objects) {
      if (!namespace_name.empty() && ns != namespace_name) {
        continue;
      }
      for (const auto& [name, labels] : named) {
        if (selector.Matches(labels)) {
          out.push_back({ns, name, labels});
        }
      }
    }
    return out;
  }
  bool synced() const override { return synced_value; }

  bool synced_value = true;
  std::map<std::string, std::map<std::string, model::LabelSet>> objects;
  std::map<std::string, model::LabelSet> nodes;
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
  ApiHandler kube_handler_{rules_,
                           registry_,
                           model::BuiltinResourceMapper(),
                           prometheus_,
                           metrics_,
                           [this] { return ready_; },
                           {.standalone = false,
                            .objects = &objects_,
                            .git_version = "",
                            .git_commit = "",
                            .platform = ""}};
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

// metrics.k8s.io from resourceRules: templates kept short so that the queries read at a glance.
constexpr std::string_view kResourceRules = R"yaml(resourceRules:
  cpu:
    containerQuery: 'sum by (<<.GroupBy>>) (cpu{<<.LabelMatchers>>})'
    nodeQuery: 'sum by (<<.GroupBy>>) (node_cpu{<<.LabelMatchers>>})'
    resources:
      overrides:
        namespace: {resource: namespace}
        pod: {resource: pod}
        node: {resource: node}
    containerLabel: container
  memory:
    containerQuery: 'sum by (<<.GroupBy>>) (mem{<<.LabelMatchers>>})'
    nodeQuery: 'sum by (<<.GroupBy>>) (node_mem{<<.LabelMatchers>>})'
    resources:
      overrides:
        namespace: {resource: namespace}
        pod: {resource: pod}
        instance: {resource: node}
    containerLabel: container
  window: 5m
)yaml";

// 2025-03-01T12:00:00Z
constexpr int64_t kNoonMs = 1740830400000;

class ResourceMetricsTest : public ::testing::Test {
 protected:
  ResourceMetricsTest() {
    auto parsed = config::ParseRulesConfig(kResourceRules);
    EXPECT_TRUE(parsed.problems.empty());
    auto compiled = rules::CompileRules(parsed.config, {.mapper = model::BuiltinResourceMapper()});
    EXPECT_TRUE(compiled.problems.empty()) << compiled.problems.front().message;
    rules_.Set(compiled.rule_set);
    prometheus_.SetDefaultQueryAnswer(absl::UnavailableError("dial tcp 10.1.2.3:9090: refused"));
    objects_.objects["shop"] = {{"web-1", {{"app", "web"}}}, {"web-2", {{"app", "web"}}}};
    objects_.objects["billing"] = {{"api-1", {{"app", "api"}}}};
    objects_.nodes = {{"node-1", {{"zone", "a"}}}, {"node-2", {{"zone", "b"}}}};
  }

  http::Response Get(std::string_view target) {
    auto request = http::ParseRequestTarget("GET", target);
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

  void AnswerShop() {
    prometheus_.SetQueryAnswer(
        R"(sum by (pod,container) (cpu{namespace="shop",pod=~"web-1|web-2"}))",
        Vector({{{{"pod", "web-1"}, {"container", "app"}}, 0.25, kNoonMs},
                {{{"pod", "web-2"}, {"container", "app"}}, 0.5, kNoonMs},
                {{{"pod", "gone-9"}, {"container", "app"}}, 7, kNoonMs}}));
    prometheus_.SetQueryAnswer(
        R"(sum by (pod,container) (mem{namespace="shop",pod=~"web-1|web-2"}))",
        Vector({{{{"pod", "web-1"}, {"container", "app"}}, 1048576, kNoonMs},
                {{{"pod", "web-2"}, {"container", "app"}}, 2097152, kNoonMs}}));
  }

  Snapshot<rules::RuleSet> rules_;
  Snapshot<registry::MetricRegistry> registry_;
  FakePrometheusClient prometheus_;
  telemetry::AdapterMetrics metrics_{"v0.1.0", "abc"};
  FakeObjects objects_;
  testing::FakeClock clock_{
      std::chrono::system_clock::time_point(std::chrono::milliseconds(kNoonMs + 5000))};
  ApiHandler handler_{
      rules_,
      registry_,
      model::BuiltinResourceMapper(),
      prometheus_,
      metrics_,
      [] { return true; },
      {.standalone = false, .objects = &objects_, .git_version = "", .git_commit = ""},
      clock_};
};

TEST_F(ResourceMetricsTest, DiscoveryListsNodesAndPodsAsMetricsServerDoes) {
  EXPECT_THAT(
      Get("/apis").body,
      HasSubstr(
          R"({"name":"metrics.k8s.io","versions":[{"groupVersion":"metrics.k8s.io/v1beta1","version":"v1beta1"}])"));
  EXPECT_THAT(Get("/apis/metrics.k8s.io").body, HasSubstr(R"("kind":"APIGroup")"));
  EXPECT_EQ(
      Get("/apis/metrics.k8s.io/v1beta1").body,
      R"({"kind":"APIResourceList","apiVersion":"v1","groupVersion":"metrics.k8s.io/v1beta1","resources":[{"name":"nodes","singularName":"","namespaced":false,"kind":"NodeMetrics","verbs":["get","list"]},{"name":"pods","singularName":"","namespaced":true,"kind":"PodMetrics","verbs":["get","list"]}]})"
      "\n");
}

TEST_F(ResourceMetricsTest, PodsOfANamespaceFromTheRunningPodsWatch) {
  AnswerShop();
  const auto response = Get("/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods");
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(
      response.body,
      R"({"kind":"PodMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},"items":[)"
      R"({"metadata":{"name":"web-1","namespace":"shop","creationTimestamp":"2025-03-01T12:00:05Z","labels":{"app":"web"}},)"
      R"("timestamp":"2025-03-01T12:00:00Z","window":"5m0s","containers":[{"name":"app","usage":{"cpu":"250m","memory":"1Mi"}}]},)"
      R"({"metadata":{"name":"web-2","namespace":"shop","creationTimestamp":"2025-03-01T12:00:05Z","labels":{"app":"web"}},)"
      R"("timestamp":"2025-03-01T12:00:00Z","window":"5m0s","containers":[{"name":"app","usage":{"cpu":"500m","memory":"2Mi"}}]}]})"
      "\n");
  EXPECT_THAT(objects_.calls, ElementsAre("pods (status.phase=Running) shop "));
}

TEST_F(ResourceMetricsTest, EveryNamespaceIsOneBatchOfTwoQueries) {
  AnswerShop();
  prometheus_.SetQueryAnswer(R"(sum by (pod,container) (cpu{namespace="billing",pod="api-1"}))",
                             Vector({{{{"pod", "api-1"}, {"container", "api"}}, 1.5, kNoonMs}}));
  prometheus_.SetQueryAnswer(R"(sum by (pod,container) (mem{namespace="billing",pod="api-1"}))",
                             Vector({{{{"pod", "api-1"}, {"container", "api"}}, 3000, kNoonMs}}));
  const auto response = Get("/apis/metrics.k8s.io/v1beta1/pods");
  ASSERT_EQ(response.status, 200) << response.body;
  // Sorted by namespace, then name.
  const auto api = response.body.find(R"("name":"api-1")");
  const auto web1 = response.body.find(R"("name":"web-1")");
  const auto web2 = response.body.find(R"("name":"web-2")");
  EXPECT_LT(api, web1);
  EXPECT_LT(web1, web2);
  EXPECT_EQ(response.body.find("gone-9"), std::string::npos);
  EXPECT_THAT(response.body, HasSubstr(R"({"cpu":"1500m","memory":"3000"})"));
  EXPECT_EQ(prometheus_.queries().size(), 4u);
}

TEST_F(ResourceMetricsTest, SelectorsNarrowTheObjects) {
  prometheus_.SetQueryAnswer(R"(sum by (pod,container) (cpu{namespace="shop",pod="web-2"}))",
                             Vector({{{{"pod", "web-2"}, {"container", "app"}}, 0.5, kNoonMs}}));
  prometheus_.SetQueryAnswer(R"(sum by (pod,container) (mem{namespace="shop",pod="web-2"}))",
                             Vector({{{{"pod", "web-2"}, {"container", "app"}}, 10, kNoonMs}}));
  const auto response =
      Get("/apis/metrics.k8s.io/v1beta1/"
          "pods?labelSelector=app%3Dweb&fieldSelector=metadata.name!%3Dweb-1");
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_THAT(response.body, HasSubstr(R"("name":"web-2")"));
  EXPECT_THAT(objects_.calls, ElementsAre("pods (status.phase=Running)  app=web"));
  // Nothing left to ask about: an empty list and no query.
  const size_t queries_before = prometheus_.queries().size();
  const auto none =
      Get("/apis/metrics.k8s.io/v1beta1/pods?fieldSelector=metadata.namespace%3Dnowhere");
  EXPECT_EQ(none.status, 200);
  EXPECT_THAT(none.body, HasSubstr(R"("items":[])"));
  EXPECT_EQ(prometheus_.queries().size(), queries_before);
}

TEST_F(ResourceMetricsTest, MalformedSelectorsAreBadRequests) {
  for (const std::string path :
       {"/apis/metrics.k8s.io/v1beta1/pods?labelSelector=a%3D%3D%3D",
        "/apis/metrics.k8s.io/v1beta1/nodes?fieldSelector=spec.nodeName%3Dx",
        "/apis/metrics.k8s.io/v1beta1/pods?fieldSelector=metadata.name"}) {
    const auto response = Get(path);
    EXPECT_EQ(response.status, 400) << path;
    EXPECT_THAT(response.body, HasSubstr(R"("reason":"BadRequest")")) << path;
  }
  EXPECT_THAT(objects_.calls, IsEmpty());
}

TEST_F(ResourceMetricsTest, GetByNameAndItsNotFoundWording) {
  AnswerShop();
  prometheus_.SetQueryAnswer(R"(sum by (pod,container) (cpu{namespace="shop",pod="web-1"}))",
                             Vector({{{{"pod", "web-1"}, {"container", "app"}}, 0.25, kNoonMs}}));
  prometheus_.SetQueryAnswer(R"(sum by (pod,container) (mem{namespace="shop",pod="web-1"}))",
                             Vector({{{{"pod", "web-1"}, {"container", "app"}}, 1024, kNoonMs}}));
  const auto found = Get("/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods/web-1");
  ASSERT_EQ(found.status, 200) << found.body;
  EXPECT_THAT(
      found.body,
      HasSubstr(
          R"({"kind":"PodMetrics","apiVersion":"metrics.k8s.io/v1beta1","metadata":{"name":"web-1")"));
  // Not a Running pod we know of: no query at all.
  const size_t queries_before = prometheus_.queries().size();
  const auto unknown = Get("/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods/web-9");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_THAT(unknown.body, HasSubstr(R"(podmetrics.metrics.k8s.io \"shop/web-9\" not found)"));
  EXPECT_EQ(prometheus_.queries().size(), queries_before);
  // Known, but without samples.
  prometheus_.SetQueryAnswer(R"(sum by (pod,container) (cpu{namespace="shop",pod="web-2"}))",
                             Vector({}));
  prometheus_.SetQueryAnswer(R"(sum by (pod,container) (mem{namespace="shop",pod="web-2"}))",
                             Vector({}));
  const auto no_metrics = Get("/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods/web-2");
  EXPECT_EQ(no_metrics.status, 404);
  EXPECT_THAT(no_metrics.body, HasSubstr(R"(podmetrics.metrics.k8s.io \"shop/web-2\" not found)"));
  const auto node = Get("/apis/metrics.k8s.io/v1beta1/nodes/node-9");
  EXPECT_EQ(node.status, 404);
  EXPECT_THAT(node.body, HasSubstr(R"(nodemetrics.metrics.k8s.io \"node-9\" not found)"));
}

TEST_F(ResourceMetricsTest, NodesUseEachRulesNodeLabel) {
  prometheus_.SetQueryAnswer(
      R"(sum by (node) (node_cpu{node=~"node-1|node-2"}))",
      Vector({{{{"node", "node-1"}}, 2.5, kNoonMs}, {{{"node", "node-2"}}, 1, kNoonMs}}));
  prometheus_.SetQueryAnswer(R"(sum by (instance) (node_mem{instance=~"node-1|node-2"}))",
                             Vector({{{{"instance", "node-1"}}, 4294967296, kNoonMs - 1000}}));
  const auto response = Get("/apis/metrics.k8s.io/v1beta1/nodes");
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(
      response.body,
      R"({"kind":"NodeMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},"items":[)"
      R"({"metadata":{"name":"node-1","creationTimestamp":"2025-03-01T12:00:05Z","labels":{"zone":"a"}},)"
      R"("timestamp":"2025-03-01T11:59:59Z","window":"5m0s","usage":{"cpu":"2500m","memory":"4Gi"}}]})"
      "\n");
  EXPECT_THAT(objects_.calls, ElementsAre("nodes  "));
}

TEST_F(ResourceMetricsTest, NonFiniteSamplesLeaveThePodOutAndAreCounted) {
  prometheus_.SetQueryAnswer(
      R"(sum by (pod,container) (cpu{namespace="shop",pod=~"web-1|web-2"}))",
      Vector({{{{"pod", "web-1"}, {"container", "app"}}, std::nan(""), kNoonMs},
              {{{"pod", "web-2"}, {"container", "app"}}, 0.5, kNoonMs}}));
  prometheus_.SetQueryAnswer(R"(sum by (pod,container) (mem{namespace="shop",pod=~"web-1|web-2"}))",
                             Vector({{{{"pod", "web-1"}, {"container", "app"}}, 1, kNoonMs},
                                     {{{"pod", "web-2"}, {"container", "app"}}, 1, kNoonMs}}));
  const auto response = Get("/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods");
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.body.find("web-1"), std::string::npos);
  EXPECT_THAT(response.body, HasSubstr("web-2"));
  EXPECT_THAT(Get("/metrics").body,
              HasSubstr(R"(metrics_adapter_non_finite_values_total{api="resource"} 1)"));
}

TEST_F(ResourceMetricsTest, AnswersArrivingLaterFromAnotherThreadAreGathered) {
  AnswerShop();  // shop's two queries answer at once; billing's two wait
  prometheus_.Hold();
  std::thread backend([this] {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (prometheus_.pending() < 2 && absl::Now() < deadline) {
      std::this_thread::yield();
    }
    prometheus_.Release(Vector({{{{"pod", "api-1"}, {"container", "api"}}, 1, kNoonMs}}));
  });
  const auto response = Get("/apis/metrics.k8s.io/v1beta1/pods");
  backend.join();
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_THAT(response.body, HasSubstr(R"("name":"api","usage":{"cpu":"1","memory":"1"})"));
  EXPECT_THAT(response.body, HasSubstr(R"("name":"web-2")"));
}

TEST_F(ResourceMetricsTest, ARequestKeepsAtMostAWindowOfQueriesInFlight) {
  // Two queries per namespace: more namespaces than the window holds.
  const size_t namespaces = kMaxQueriesInFlightPerRequest;
  for (size_t i = 0; i < namespaces; ++i) {
    objects_.objects[Cat("ns-", i)] = {{"p", {}}};
  }
  prometheus_.Hold();
  size_t seen_in_flight = 0;
  std::thread backend([&] {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (prometheus_.pending() < static_cast<int>(kMaxQueriesInFlightPerRequest) &&
           absl::Now() < deadline) {
      std::this_thread::yield();
    }
    seen_in_flight = prometheus_.queries().size();
    prometheus_.Release(Vector({}));
  });
  const auto response = Get("/apis/metrics.k8s.io/v1beta1/pods");
  backend.join();
  EXPECT_EQ(seen_in_flight, kMaxQueriesInFlightPerRequest);
  ASSERT_EQ(response.status, 200) << response.body;
  // billing and shop, and the added namespaces, two queries each.
  EXPECT_EQ(prometheus_.queries().size(), 2 * (namespaces + 2));
}

TEST_F(ResourceMetricsTest, BackendDownIsServiceUnavailableNotAShortList) {
  const auto response = Get("/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods");
  EXPECT_EQ(response.status, 503);
  EXPECT_THAT(response.body, HasSubstr("the metrics backend is unavailable"));
  EXPECT_EQ(response.body.find("10.1.2.3"), std::string::npos);
}

TEST_F(ResourceMetricsTest, NotListedYetIsServiceUnavailable) {
  objects_.synced_value = false;
  EXPECT_EQ(Get("/apis/metrics.k8s.io/v1beta1/nodes").status, 503);
  EXPECT_THAT(prometheus_.queries(), IsEmpty());
}

// Discovery still answers (see DiscoveryAnswersEveryGroupTheRulesGiveNothing); the metrics do not.
TEST_F(ApiHandlerTest, WithoutResourceRulesMetricsApiServesNoMetrics) {
  EXPECT_EQ(Get("/apis/metrics.k8s.io/v1beta1").status, 200);
  EXPECT_EQ(Get("/apis/metrics.k8s.io/v1beta1/nodes").status, 404);
  EXPECT_EQ(Get("/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods").status, 404);
}

}  // namespace
}  // namespace ma::handlers
