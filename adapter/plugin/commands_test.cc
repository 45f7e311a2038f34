#include "adapter/plugin/commands.h"

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace ma::plugin {
namespace {

constexpr char kHpa[] = R"({"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler",
  "metadata":{"name":"web","namespace":"shop"},
  "spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"web"},
    "minReplicas":1,"maxReplicas":5,"metrics":[
    {"type":"External","external":{"metric":{"name":"queue_depth",
      "selector":{"matchLabels":{"queue":"orders"}}},"target":{"type":"AverageValue","averageValue":"10"}}},
    {"type":"External","external":{"metric":{"name":"missing"},"target":{"type":"Value","value":"1"}}}]}})";

constexpr char kQueueDepth[] =
    R"({"kind":"ExternalMetricValueList","apiVersion":"external.metrics.k8s.io/v1beta1",
  "metadata":{},"items":[{"metricName":"queue_depth","metricLabels":{"queue":"orders"},
  "timestamp":"2026-01-01T00:00:00Z","value":"42"}]})";

constexpr char kNotFound[] = R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
  "message":"the server could not find the metric missing","reason":"NotFound","code":404})";

struct Outcome {
  int code;
  std::string out;
  std::string err;
  std::vector<std::string> paths;
};

Outcome RunWith(const std::vector<std::string>& argv,
                const std::map<std::string, kube::ApiResponse>& answers) {
  Outcome run;
  const Getter get = [&](const std::string& path) -> absl::StatusOr<kube::ApiResponse> {
    run.paths.push_back(path);
    if (answers.empty()) return absl::UnavailableError("connection refused");
    auto it = answers.find(path);
    if (it == answers.end()) return kube::ApiResponse{.status = 404, .body = "{}"};
    return it->second;
  };
  absl::StatusOr<PluginArgs> args = ParseArgs(argv);
  EXPECT_TRUE(args.ok()) << args.status();
  std::ostringstream out;
  std::ostringstream err;
  run.code = RunCommand(*args, "shop", get, out, err);
  run.out = out.str();
  run.err = err.str();
  return run;
}

TEST(RunCommandTest, HpaShowsEachRequestItsValueAndTheHintOfAFailure) {
  const Outcome run = RunWith(
      {"hpa", "web"},
      {{"/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers/web", {200, kHpa}},
       {"/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue_depth"
        "?labelSelector=queue%3Dorders",
        {200, kQueueDepth}},
       {"/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/missing", {404, kNotFound}}});
  EXPECT_EQ(run.code, kExitFailed) << run.out << run.err;
  EXPECT_NE(run.out.find("External queue_depth (selector queue=orders)\n"
                         "  request: GET /apis/external.metrics.k8s.io/v1beta1/namespaces/shop/"
                         "queue_depth?labelSelector=queue%3Dorders\n"
                         "  target:  AverageValue 10\n"
                         "  value:   42\n"),
            std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("  error:   404 NotFound: the server could not find the metric missing\n"
                         "  hint:    no rule serves this metric"),
            std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("1 of 2 metrics fail"), std::string::npos);
}

TEST(RunCommandTest, GetExternalPrintsATable) {
  const Outcome run = RunWith({"get", "external", "queue_depth", "-l", "queue=orders"},
                              {{"/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue_depth"
                                "?labelSelector=queue%3Dorders",
                                {200, kQueueDepth}}});
  EXPECT_EQ(run.code, kExitOk) << run.err;
  EXPECT_EQ(run.out,
            "METRIC        LABELS         VALUE   TIMESTAMP\n"
            "queue_depth   queue=orders   42      2026-01-01T00:00:00Z\n");
}

TEST(RunCommandTest, GetYamlReencodesTheAnswer) {
  const Outcome run =
      RunWith({"get", "external", "queue_depth", "-l", "queue=orders", "-o", "yaml"},
              {{"/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue_depth"
                "?labelSelector=queue%3Dorders",
                {200, kQueueDepth}}});
  EXPECT_EQ(run.code, kExitOk) << run.err;
  EXPECT_EQ(run.out,
            "kind: ExternalMetricValueList\n"
            "apiVersion: external.metrics.k8s.io/v1beta1\n"
            "metadata: {}\n"
            "items:\n"
            "- metricName: queue_depth\n"
            "  metricLabels:\n"
            "    queue: orders\n"
            "  timestamp: \"2026-01-01T00:00:00Z\"\n"
            "  value: \"42\"\n");
}

TEST(RunCommandTest, MissingHpaAndUnreachableServerAreOneLineErrors) {
  Outcome run = RunWith({"hpa", "nope"}, {{"/apis/autoscaling/v2", {200, "{}"}}});
  EXPECT_EQ(run.code, kExitFailed);
  EXPECT_EQ(run.err,
            "error: horizontalpodautoscalers.autoscaling \"nope\" not found in shop "
            "namespace\n");
  run = RunWith({"hpa", "web"}, {});
  EXPECT_EQ(run.code, kExitConfig);
  EXPECT_EQ(run.err, "error: connection refused\n");
}

TEST(RunCommandTest, HpaOnAClusterWithoutAutoscalingV2) {
  const Outcome run = RunWith({"hpa", "web"}, {{"/apis/autoscaling/v1", {200, "{}"}}});
  EXPECT_EQ(run.code, kExitFailed);
  EXPECT_NE(run.err.find("does not serve autoscaling/v2"), std::string::npos) << run.err;
}

}  // namespace
}  // namespace ma::plugin
