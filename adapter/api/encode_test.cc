#include "adapter/api/encode.h"

#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "queries/selector/label_selector.h"

namespace ma::api {
namespace {

// 2025-03-01T12:00:00Z
constexpr int64_t kMarchFirstNoon = 1740830400000;

ObjectReference WebPod() {
  return {.kind = "Pod", .namespace_name = "default", .name = "web-7d9f8", .api_version = "v1"};
}

selector::LabelSelector MustParse(std::string_view text) {
  absl::StatusOr<selector::LabelSelector> parsed = selector::LabelSelector::Parse(text);
  EXPECT_TRUE(parsed.ok()) << text << ": " << parsed.status();
  return parsed.ok() ? *parsed : selector::LabelSelector();
}

// An ExternalMetricValueList as the Go apiserver marshals it.
TEST(EncodeExternalMetricValueListTest, ContractExample) {
  const std::vector<ExternalMetricValue> items = {
      {.metric_name = "queue_depth",
       .metric_labels = model::LabelSet{{"region", "eu"}, {"queue", "orders"}},
       .timestamp_ms = kMarchFirstNoon,
       .window_seconds = 60,
       .value = "1500m"},
      {.metric_name = "queue_depth",
       .metric_labels = model::LabelSet{{"queue", "orders"}, {"region", "us"}},
       .timestamp_ms = kMarchFirstNoon + 999,
       .value = "42"},
  };
  EXPECT_EQ(
      EncodeExternalMetricValueList(items),
      R"({"kind":"ExternalMetricValueList","apiVersion":"external.metrics.k8s.io/v1beta1",)"
      R"("metadata":{},"items":[{"metricName":"queue_depth","metricLabels":{"queue":"orders",)"
      R"("region":"eu"},"timestamp":"2025-03-01T12:00:00Z","window":60,"value":"1500m"},)"
      R"({"metricName":"queue_depth","metricLabels":{"queue":"orders","region":"us"},)"
      R"("timestamp":"2025-03-01T12:00:00Z","value":"42"}]})"
      "\n");
}

TEST(EncodeExternalMetricValueListTest, LabelsNullVersusEmptyAndEmptyItems) {
  struct Case {
    std::vector<ExternalMetricValue> items;
    std::string expected;
  };
  const std::string prefix =
      R"({"kind":"ExternalMetricValueList","apiVersion":"external.metrics.k8s.io/v1beta1",)"
      R"("metadata":{},"items":)";
  const Case cases[] = {
      {{}, prefix + "[]}\n"},
      {{{.metric_name = "up", .timestamp_ms = 0, .value = "1"}},
       prefix + R"([{"metricName":"up","metricLabels":null,"timestamp":"1970-01-01T00:00:00Z",)"
                R"("value":"1"}]})"
                "\n"},
      {{{.metric_name = "up", .metric_labels = model::LabelSet{}, .value = "1"}},
       prefix + R"([{"metricName":"up","metricLabels":{},"timestamp":"1970-01-01T00:00:00Z",)"
                R"("value":"1"}]})"
                "\n"},
      {{{.metric_name = "up", .window_seconds = 0, .value = "0"}},
       prefix + R"([{"metricName":"up","metricLabels":null,"timestamp":"1970-01-01T00:00:00Z",)"
                R"("window":0,"value":"0"}]})"
                "\n"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(EncodeExternalMetricValueList(c.items), c.expected);
  }
}

// MetricValueList in v1beta1 and v1beta2, byte for byte as prometheus-adapter answers them.
TEST(EncodeMetricValueListTest, ContractExamples) {
  CustomMetricValue v1beta1_item{.described_object = WebPod(),
                                 .metric_name = "http_requests",
                                 .timestamp_ms = kMarchFirstNoon,
                                 .value = "250m"};
  EXPECT_EQ(EncodeMetricValueList({v1beta1_item}, kCustomMetricsV1Beta1),
            R"({"kind":"MetricValueList","apiVersion":"custom.metrics.k8s.io/v1beta1",)"
            R"("metadata":{},"items":[{"describedObject":{"kind":"Pod","namespace":"default",)"
            R"("name":"web-7d9f8","apiVersion":"v1"},"metricName":"http_requests",)"
            R"("timestamp":"2025-03-01T12:00:00Z","value":"250m","selector":null}]})"
            "\n");

  CustomMetricValue v1beta2_item = v1beta1_item;
  v1beta2_item.window_seconds = 60;
  v1beta2_item.metric_selector = MustParse("verb=GET");
  EXPECT_EQ(EncodeMetricValueList({v1beta2_item}, kCustomMetricsV1Beta2),
            R"({"kind":"MetricValueList","apiVersion":"custom.metrics.k8s.io/v1beta2",)"
            R"("metadata":{},"items":[{"describedObject":{"kind":"Pod","namespace":"default",)"
            R"("name":"web-7d9f8","apiVersion":"v1"},"metric":{"name":"http_requests",)"
            R"("selector":{"matchLabels":{"verb":"GET"}}},"timestamp":"2025-03-01T12:00:00Z",)"
            R"("windowSeconds":60,"value":"250m"}]})"
            "\n");

  const CustomMetricValue adapter_item{.described_object = {.kind = "Pod",
                                                            .namespace_name = "production",
                                                            .name = "frontend-server-abcd-0123",
                                                            .api_version = "/v1"},
                                       .metric_name = "http_requests_per_second",
                                       .timestamp_ms = 1533663922000,
                                       .value = "16m"};
  EXPECT_EQ(EncodeMetricValueList({adapter_item}, kCustomMetricsV1Beta2),
            R"({"kind":"MetricValueList","apiVersion":"custom.metrics.k8s.io/v1beta2",)"
            R"("metadata":{},"items":[{"describedObject":{"kind":"Pod","namespace":"production",)"
            R"("name":"frontend-server-abcd-0123","apiVersion":"/v1"},)"
            R"("metric":{"name":"http_requests_per_second","selector":null},)"
            R"("timestamp":"2018-08-07T17:45:22Z","value":"16m"}]})"
            "\n");
}

TEST(EncodeMetricValueListTest, EmptyItemsWindowAndClusterScopedObjects) {
  EXPECT_EQ(EncodeMetricValueList({}, kCustomMetricsV1Beta1),
            R"({"kind":"MetricValueList","apiVersion":"custom.metrics.k8s.io/v1beta1",)"
            R"("metadata":{},"items":[]})"
            "\n");
  const CustomMetricValue node{
      .described_object = {.kind = "Node", .name = "node-1", .api_version = "v1"},
      .metric_name = "cpu_temp",
      .timestamp_ms = kMarchFirstNoon,
      .window_seconds = 0,
      .value = "61"};
  EXPECT_EQ(EncodeMetricValueList({node, node}, kCustomMetricsV1Beta1),
            R"({"kind":"MetricValueList","apiVersion":"custom.metrics.k8s.io/v1beta1",)"
            R"("metadata":{},"items":[)"
            R"({"describedObject":{"kind":"Node","name":"node-1","apiVersion":"v1"},)"
            R"("metricName":"cpu_temp","timestamp":"2025-03-01T12:00:00Z","window":0,)"
            R"("value":"61","selector":null},)"
            R"({"describedObject":{"kind":"Node","name":"node-1","apiVersion":"v1"},)"
            R"("metricName":"cpu_temp","timestamp":"2025-03-01T12:00:00Z","window":0,)"
            R"("value":"61","selector":null}]})"
            "\n");
}

// metav1.ParseToLabelSelector's conversion of the request's metricLabelSelector.
TEST(EncodeMetricValueListTest, SelectorEcho) {
  struct Case {
    std::optional<std::string> selector;
    std::string expected;  // the echoed selector JSON
  };
  const Case cases[] = {
      {std::nullopt, "null"},
      {"", "null"},
      {"verb=GET", R"({"matchLabels":{"verb":"GET"}})"},
      {"verb==GET,code=200", R"({"matchLabels":{"code":"200","verb":"GET"}})"},
      {"verb in (PUT,GET)",
       R"({"matchExpressions":[{"key":"verb","operator":"In","values":["GET","PUT"]}]})"},
      {"verb notin (GET)",
       R"({"matchExpressions":[{"key":"verb","operator":"NotIn","values":["GET"]}]})"},
      {"verb", R"({"matchExpressions":[{"key":"verb","operator":"Exists"}]})"},
      {"!verb", R"({"matchExpressions":[{"key":"verb","operator":"DoesNotExist"}]})"},
      {"zone=a,code in (2xx),!debug", R"({"matchLabels":{"zone":"a"},"matchExpressions":[)"
                                      R"({"key":"code","operator":"In","values":["2xx"]},)"
                                      R"({"key":"debug","operator":"DoesNotExist"}]})"},
      // Go's ParseToLabelSelector rejects these operators: nothing to echo.
      {"verb!=GET", "null"},
      {"code>200", "null"},
      {"code<500", "null"},
      {"zone=a,verb!=GET", "null"},
  };
  for (const Case& c : cases) {
    CustomMetricValue item{.described_object = WebPod(),
                           .metric_name = "m",
                           .timestamp_ms = kMarchFirstNoon,
                           .value = "1"};
    if (c.selector.has_value()) {
      item.metric_selector = MustParse(*c.selector);
    }
    const std::string label = c.selector.value_or("<none>");
    EXPECT_EQ(EncodeMetricValueList({item}, kCustomMetricsV1Beta2),
              R"({"kind":"MetricValueList","apiVersion":"custom.metrics.k8s.io/v1beta2",)"
              R"("metadata":{},"items":[{"describedObject":{"kind":"Pod","namespace":"default",)"
              R"("name":"web-7d9f8","apiVersion":"v1"},"metric":{"name":"m","selector":)" +
                  c.expected + R"(},"timestamp":"2025-03-01T12:00:00Z","value":"1"}]})" + "\n")
        << label;
    EXPECT_EQ(EncodeMetricValueList({item}, kCustomMetricsV1Beta1),
              R"({"kind":"MetricValueList","apiVersion":"custom.metrics.k8s.io/v1beta1",)"
              R"("metadata":{},"items":[{"describedObject":{"kind":"Pod","namespace":"default",)"
              R"("name":"web-7d9f8","apiVersion":"v1"},"metricName":"m",)"
              R"("timestamp":"2025-03-01T12:00:00Z","value":"1","selector":)" +
                  c.expected + "}]}\n")
        << label;
  }
}

// Go's encoding/json string escaping, byte for byte.
// metrics.k8s.io documents in metrics-server's shape (its wire examples, byte for byte).
TEST(EncodeResourceMetricsTest, ContractExamples) {
  const NodeMetrics node = {.name = "node-1",
                            .labels = {{"kubernetes.io/hostname", "node-1"}},
                            .creation_ms = kMarchFirstNoon + 5000,
                            .timestamp_ms = kMarchFirstNoon,
                            .window_ms = 10062,
                            .usage = {"224628621n", "1255272Ki"}};
  EXPECT_EQ(EncodeNodeMetricsList({node}),
            R"({"kind":"NodeMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},)"
            R"("items":[{"metadata":{"name":"node-1","creationTimestamp":"2025-03-01T12:00:05Z",)"
            R"("labels":{"kubernetes.io/hostname":"node-1"}},"timestamp":"2025-03-01T12:00:00Z",)"
            R"("window":"10.062s","usage":{"cpu":"224628621n","memory":"1255272Ki"}}]})"
            "\n");
  const PodMetrics pod = {.name = "web-7d9f8",
                          .namespace_name = "default",
                          .labels = {{"app", "web"}},
                          .creation_ms = kMarchFirstNoon + 5000,
                          .timestamp_ms = kMarchFirstNoon,
                          .window_ms = 15000,
                          .containers = {{"app", {"3204711n", "24816Ki"}}}};
  EXPECT_EQ(EncodePodMetricsList({pod}),
            R"({"kind":"PodMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},)"
            R"("items":[{"metadata":{"name":"web-7d9f8","namespace":"default",)"
            R"("creationTimestamp":"2025-03-01T12:00:05Z","labels":{"app":"web"}},)"
            R"("timestamp":"2025-03-01T12:00:00Z","window":"15s","containers":[{"name":"app",)"
            R"("usage":{"cpu":"3204711n","memory":"24816Ki"}}]}]})"
            "\n");
  // Alone, an object carries its kind; without labels it has no labels key.
  PodMetrics bare = pod;
  bare.labels.clear();
  bare.containers.clear();
  EXPECT_EQ(
      EncodePodMetrics(bare),
      R"({"kind":"PodMetrics","apiVersion":"metrics.k8s.io/v1beta1","metadata":{)"
      R"("name":"web-7d9f8","namespace":"default","creationTimestamp":"2025-03-01T12:00:05Z"},)"
      R"("timestamp":"2025-03-01T12:00:00Z","window":"15s","containers":[]})"
      "\n");
  constexpr std::string_view kNodeType =
      R"({"kind":"NodeMetrics","apiVersion":"metrics.k8s.io/v1beta1",)";
  EXPECT_EQ(EncodeNodeMetrics(node).substr(0, kNodeType.size()), kNodeType);
  EXPECT_EQ(EncodePodMetricsList({}),
            R"({"kind":"PodMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},)"
            R"("items":[]})"
            "\n");
}

TEST(EncodeTest, StringsEscapedAsGoDoes) {
  struct Case {
    std::string raw;
    std::string json;
  };
  const Case cases[] = {
      {"plain", R"("plain")"},
      {R"(a"b\c)", R"("a\"b\\c")"},
      {"<a&b>", R"("\u003ca\u0026b\u003e")"},
      {"tab\tnl\ncr\rbs\bff\f", R"("tab\tnl\ncr\rbs\bff\f")"},
      {std::string("nul\0x", 5), R"("nul\u0000x")"},
      {"\x1f\x7f", "\"\\u001f\x7f\""},
      {"caf\xc3\xa9 \xe2\x82\xac", "\"caf\xc3\xa9 \xe2\x82\xac\""},  // valid UTF-8 kept
      {"\xe2\x80\xa8\xe2\x80\xa9", R"("\u2028\u2029")"},
      {"bad\xff", R"("bad\ufffd")"},
      {"\xc0\xaf", R"("\ufffd\ufffd")"},            // overlong
      {"\xed\xa0\x80", R"("\ufffd\ufffd\ufffd")"},  // surrogate
      {"cut\xe2\x82", R"("cut\ufffd\ufffd")"},      // truncated sequence
      {"\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\""},
  };
  for (const Case& c : cases) {
    const ExternalMetricValue item{
        .metric_name = c.raw, .metric_labels = model::LabelSet{{c.raw, c.raw}}, .value = "1"};
    EXPECT_EQ(EncodeExternalMetricValueList({item}),
              R"({"kind":"ExternalMetricValueList","apiVersion":"external.metrics.k8s.io/v1beta1",)"
              R"("metadata":{},"items":[{"metricName":)" +
                  c.json + R"(,"metricLabels":{)" + c.json + ":" + c.json +
                  R"(},"timestamp":"1970-01-01T00:00:00Z","value":"1"}]})" + "\n")
        << c.json;
  }
}

// The discovery documents: APIGroupList, APIGroup and APIResourceList.
TEST(EncodeDiscoveryTest, ContractExamples) {
  const APIGroup custom{.name = "custom.metrics.k8s.io",
                        .versions = {{"custom.metrics.k8s.io/v1beta2", "v1beta2"},
                                     {"custom.metrics.k8s.io/v1beta1", "v1beta1"}},
                        .preferred_version = {"custom.metrics.k8s.io/v1beta2", "v1beta2"}};
  const APIGroup external{.name = "external.metrics.k8s.io",
                          .versions = {{"external.metrics.k8s.io/v1beta1", "v1beta1"}},
                          .preferred_version = {"external.metrics.k8s.io/v1beta1", "v1beta1"}};
  const std::string custom_json =
      R"("name":"custom.metrics.k8s.io","versions":[{"groupVersion":)"
      R"("custom.metrics.k8s.io/v1beta2","version":"v1beta2"},{"groupVersion":)"
      R"("custom.metrics.k8s.io/v1beta1","version":"v1beta1"}],"preferredVersion":)"
      R"({"groupVersion":"custom.metrics.k8s.io/v1beta2","version":"v1beta2"})";
  EXPECT_EQ(EncodeAPIGroupList({custom, external}),
            R"({"kind":"APIGroupList","apiVersion":"v1","groups":[{)" + custom_json +
                R"(},{"name":"external.metrics.k8s.io","versions":[{"groupVersion":)"
                R"("external.metrics.k8s.io/v1beta1","version":"v1beta1"}],)"
                R"("preferredVersion":{"groupVersion":"external.metrics.k8s.io/v1beta1",)"
                R"("version":"v1beta1"}}]})"
                "\n");
  EXPECT_EQ(EncodeAPIGroupList({}), R"({"kind":"APIGroupList","apiVersion":"v1","groups":[]})"
                                    "\n");
  EXPECT_EQ(EncodeAPIGroup(custom),
            R"({"kind":"APIGroup","apiVersion":"v1",)" + custom_json + "}\n");

  EXPECT_EQ(EncodeAPIResourceList(
                "custom.metrics.k8s.io/v1beta1",
                {{.name = "pods/http_requests",
                  .namespaced = true,
                  .kind = "MetricValueList",
                  .verbs = {"get"}},
                 {.name = "namespaces/queue_len", .kind = "MetricValueList", .verbs = {"get"}}}),
            R"({"kind":"APIResourceList","apiVersion":"v1","groupVersion":)"
            R"("custom.metrics.k8s.io/v1beta1","resources":[)"
            R"({"name":"pods/http_requests","singularName":"","namespaced":true,)"
            R"("kind":"MetricValueList","verbs":["get"]},)"
            R"({"name":"namespaces/queue_len","singularName":"","namespaced":false,)"
            R"("kind":"MetricValueList","verbs":["get"]}]})"
            "\n");
  EXPECT_EQ(
      EncodeAPIResourceList("external.metrics.k8s.io/v1beta1", {{.name = "queue_depth",
                                                                 .namespaced = true,
                                                                 .kind = "ExternalMetricValueList",
                                                                 .verbs = {"get"}}}),
      R"({"kind":"APIResourceList","apiVersion":"v1","groupVersion":)"
      R"("external.metrics.k8s.io/v1beta1","resources":[)"
      R"({"name":"queue_depth","singularName":"","namespaced":true,)"
      R"("kind":"ExternalMetricValueList","verbs":["get"]}]})"
      "\n");
  EXPECT_EQ(EncodeAPIResourceList("external.metrics.k8s.io/v1beta1", {}),
            R"({"kind":"APIResourceList","apiVersion":"v1","groupVersion":)"
            R"("external.metrics.k8s.io/v1beta1","resources":[]})"
            "\n");
}

TEST(EncodeVersionInfoTest, GoFieldOrder) {
  const VersionInfo info{.major = "0",
                         .minor = "1",
                         .git_version = "v0.1.0",
                         .git_commit = "fef5411",
                         .git_tree_state = "clean",
                         .build_date = "2025-03-01T12:00:00Z",
                         .go_version = "",
                         .compiler = "gcc",
                         .platform = "linux/amd64"};
  EXPECT_EQ(EncodeVersionInfo(info),
            R"({"major":"0","minor":"1","gitVersion":"v0.1.0","gitCommit":"fef5411",)"
            R"("gitTreeState":"clean","buildDate":"2025-03-01T12:00:00Z","goVersion":"",)"
            R"("compiler":"gcc","platform":"linux/amd64"})"
            "\n");
}

// Kubernetes Status documents for errors.
TEST(EncodeStatusTest, ContractExamples) {
  struct Case {
    KubeStatus status;
    std::string expected;
  };
  const Case cases[] = {
      {{.message = "Unauthorized", .reason = "Unauthorized", .code = 401},
       R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
       R"("message":"Unauthorized","reason":"Unauthorized","code":401})"},
      {{.message = "pods.custom.metrics.k8s.io \"*\" is forbidden: User \"jane\" cannot get "
                   "resource \"pods/http_requests\" in API group \"custom.metrics.k8s.io\" in "
                   "the namespace \"default\"",
        .reason = "Forbidden",
        .details = StatusDetails{.name = "*", .group = "custom.metrics.k8s.io", .kind = "pods"},
        .code = 403},
       R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":)"
       R"("pods.custom.metrics.k8s.io \"*\" is forbidden: User \"jane\" cannot get resource )"
       R"(\"pods/http_requests\" in API group \"custom.metrics.k8s.io\" in the namespace )"
       R"(\"default\"","reason":"Forbidden","details":{"name":"*",)"
       R"("group":"custom.metrics.k8s.io","kind":"pods"},"code":403})"},
      {{.message = "the server could not find the metric http_requests for pods web-1",
        .reason = "NotFound",
        .code = 404},
       R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":)"
       R"("the server could not find the metric http_requests for pods web-1",)"
       R"("reason":"NotFound","code":404})"},
      {{.message = "Internal error occurred: backend timeout",
        .reason = "InternalError",
        .details = StatusDetails{.causes = {{.message = "backend timeout"}}},
        .code = 500},
       R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":)"
       R"("Internal error occurred: backend timeout","reason":"InternalError",)"
       R"("details":{"causes":[{"message":"backend timeout"}]},"code":500})"},
      {{.message = "metrics backend unavailable", .reason = "ServiceUnavailable", .code = 503},
       R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":)"
       R"("metrics backend unavailable","reason":"ServiceUnavailable","code":503})"},
      // Every details field, in Go's order.
      {{.message = "m",
        .reason = "Invalid",
        .details =
            StatusDetails{
                .name = "n",
                .group = "g",
                .kind = "k",
                .uid = "u",
                .causes = {{.reason = "FieldValueInvalid", .message = "bad", .field = "spec.x"}},
                .retry_after_seconds = 5},
        .code = 422},
       R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"m",)"
       R"("reason":"Invalid","details":{"name":"n","group":"g","kind":"k","uid":"u",)"
       R"("causes":[{"reason":"FieldValueInvalid","message":"bad","field":"spec.x"}],)"
       R"("retryAfterSeconds":5},"code":422})"},
      // A present but empty details prints {}; empty message and reason are omitted.
      {{.details = StatusDetails{}, .code = 404},
       R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","details":{},)"
       R"("code":404})"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(EncodeStatus(c.status), c.expected + "\n");
  }
}

}  // namespace
}  // namespace ma::api
