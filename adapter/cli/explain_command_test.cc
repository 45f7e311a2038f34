#include "adapter/cli/explain_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

namespace ma::cli {
namespace {

using ::testing::HasSubstr;

const std::string kDir = std::string(MA_TEST_DATA_DIR) + "/explain/";

struct ExplainCase {
  std::string path;
  std::vector<std::string> object_names;
  std::string want;
};

// The expected queries are what prometheus-adapter sends for the same rules and request
// (its walkthrough shows the first one), with the deliberate differences of docs/design.md.
TEST(ExplainTest, PrintsThePromQLForEachRequestForm) {
  const ExplainCase cases[] = {
      {"/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/%2A/http_requests_per_second"
       "?labelSelector=app%3Dsample-app",
       {"sample-app-7cb5f9b6c4-a", "sample-app-7cb5f9b6c4-b"},
       R"(sum(rate(http_requests_total{kubernetes_namespace="default",kubernetes_pod_name=~"sample-app-7cb5f9b6c4-a|sample-app-7cb5f9b6c4-b"}[2m])) by (kubernetes_pod_name))"},
      {"/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/sample-app-7cb5f9b6c4-a/"
       "http_requests_per_second",
       {},
       R"(sum(rate(http_requests_total{kubernetes_namespace="default",kubernetes_pod_name="sample-app-7cb5f9b6c4-a"}[2m])) by (kubernetes_pod_name))"},
      {"/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/web/cpu_usage"
       "?metricLabelSelector=container%3Dapp",
       {},
       R"(sum(rate(container_cpu_usage_seconds_total{container="app",namespace="default",pod="web",container!="POD"}[2m])) by (pod))"},
      {"/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/metrics/http_requests_per_second",
       {},
       R"(sum(rate(http_requests_total{kubernetes_namespace="default"}[2m])) by (kubernetes_namespace))"},
      {"/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue_depth"
       "?labelSelector=queue+in+%28orders%2Cre.try%29",
       {},
       R"(sum(queue_depth{queue=~"orders|re\\.try",namespace="shop"}) by (queue))"},
  };
  for (const auto& c : cases) {
    ExplainOptions options;
    options.config_path = kDir + "walkthrough.yaml";
    options.series_file = kDir + "series.json";
    options.object_names = c.object_names;
    options.path = c.path;
    std::ostringstream out, err;
    EXPECT_EQ(RunExplain(options, out, err), 0) << c.path << "\n" << err.str();
    EXPECT_EQ(out.str(), c.want + "\n") << c.path;
  }
}

TEST(ExplainTest, ExplainsWhyNot) {
  struct Case {
    std::string path;
    std::string message;
  };
  const Case cases[] = {
      // container_memory_usage_bytes is not a _seconds_total series: no rule names it.
      {"/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/web/memory_usage_bytes",
       "the server could not find the metric memory_usage_bytes for pods"},
      {"/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue_depth"
       "?labelSelector=app.kubernetes.io%2Fname%3Dx",
       "not a valid Prometheus label name"},
      {"/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue_depth?labelSelector=%3D%3D",
       "invalid labelSelector"},
      {"/healthz", "is not a custom or external metric URL"},
  };
  for (const auto& c : cases) {
    ExplainOptions options;
    options.config_path = kDir + "walkthrough.yaml";
    options.series_file = kDir + "series.json";
    options.path = c.path;
    std::ostringstream out, err;
    EXPECT_EQ(RunExplain(options, out, err), 1) << c.path;
    EXPECT_EQ(out.str(), "");
    EXPECT_THAT(err.str(), HasSubstr(c.message)) << c.path;
  }
}

TEST(ExplainTest, UsageErrors) {
  std::ostringstream out, err;
  ExplainOptions options;
  options.config_path = kDir + "walkthrough.yaml";
  options.path = "/apis";
  EXPECT_EQ(RunExplain(options, out, err), 2);  // neither --series-file nor --prometheus-url
  EXPECT_THAT(err.str(), HasSubstr("usage"));
}

}  // namespace
}  // namespace ma::cli
