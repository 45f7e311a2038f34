#include "adapter/plugin/api_objects.h"

#include <string>

#include "gtest/gtest.h"

namespace ma::plugin {
namespace {

TEST(DecodeHpaTest, ReadsEveryMetricType) {
  const absl::StatusOr<Hpa> hpa = DecodeHpa(R"({"apiVersion":"autoscaling/v2",
    "metadata":{"name":"web","namespace":"shop"},
    "spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"web"},
      "metrics":[
        {"type":"Resource","resource":{"name":"cpu","target":{"type":"Utilization","averageUtilization":80}}},
        {"type":"ContainerResource","containerResource":{"name":"memory","container":"app",
          "target":{"type":"AverageValue","averageValue":"100Mi"}}},
        {"type":"Pods","pods":{"metric":{"name":"rps","selector":{"matchExpressions":[
          {"key":"verb","operator":"In","values":["POST","GET"]}]}},
          "target":{"type":"AverageValue","averageValue":"5"}}},
        {"type":"Object","object":{"describedObject":{"apiVersion":"v1","kind":"Service","name":"s"},
          "metric":{"name":"latency"},"target":{"type":"Value","value":"200m"}}}]}})");
  ASSERT_TRUE(hpa.ok()) << hpa.status();
  EXPECT_EQ(hpa->namespace_name, "shop");
  EXPECT_EQ(hpa->scale_target.kind, "Deployment");
  ASSERT_EQ(hpa->metrics.size(), 4u);
  EXPECT_EQ(hpa->metrics[0].type, SourceType::kResource);
  EXPECT_EQ(hpa->metrics[0].target.average_utilization, 80);
  EXPECT_EQ(hpa->metrics[1].container, "app");
  ASSERT_TRUE(hpa->metrics[2].selector.has_value());
  EXPECT_EQ(SelectorString(*hpa->metrics[2].selector), "verb in (GET,POST)");
  EXPECT_EQ(hpa->metrics[3].described_object.name, "s");
  EXPECT_EQ(hpa->metrics[3].target.value, "200m");
}

TEST(DecodeHpaTest, OtherVersionsAndUnknownTypesAreClearErrors) {
  EXPECT_EQ(DecodeHpa(R"({"apiVersion":"autoscaling/v2beta2","metadata":{}})").status().message(),
            "expected an autoscaling/v2 HorizontalPodAutoscaler, got apiVersion "
            "\"autoscaling/v2beta2\"");
  EXPECT_EQ(DecodeHpa(R"({"apiVersion":"autoscaling/v2","metadata":{"name":"h","namespace":"n"},
                          "spec":{"metrics":[{"type":"Magic"}]}})")
                .status()
                .message(),
            "HorizontalPodAutoscaler n/h: spec.metrics[0]: unknown metric type \"Magic\"");
  EXPECT_FALSE(DecodeHpa("not json").ok());
}

TEST(StatusMessageTest, StatusBodyOrAGenericMessageByCode) {
  EXPECT_EQ(
      StatusMessage(R"({"kind":"Status","reason":"NotFound","message":"gone","code":404})", 404),
      "NotFound: gone");
  EXPECT_EQ(StatusMessage("<html>bad gateway</html>", 503),
            "ServiceUnavailable: the server is currently unable to handle the request");
}

TEST(JsonToYamlTest, QuotesWhatWouldReadAsAnotherType) {
  const absl::StatusOr<std::string> yaml =
      JsonToYaml(R"({"a":"true","b":"12","c":"plain","d":1.5,"e":[],"f":[{"g":null}],"h":"x: y"})");
  ASSERT_TRUE(yaml.ok());
  EXPECT_EQ(*yaml, "a: \"true\"\nb: \"12\"\nc: plain\nd: 1.5\ne: []\nf:\n- g: null\nh: \"x: y\"\n");
}

}  // namespace
}  // namespace ma::plugin
