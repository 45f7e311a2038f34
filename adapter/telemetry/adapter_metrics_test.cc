#include "adapter/telemetry/adapter_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ma::telemetry {
namespace {

using ::testing::HasSubstr;

TEST(AdapterMetricsTest, ExposesWhatWasRecorded) {
  AdapterMetrics metrics("v1.2.3", "abc1234");
  metrics.RecordRequest("external_metric", 200, 0.002);
  metrics.RecordRequest("external_metric", 200, 0.004);
  metrics.RecordRequest("custom_metric", 404, 0.001);
  metrics.RecordPrometheusCall("query", "unavailable", 0.5);
  metrics.RecordRelist(1.5, 1);
  metrics.SetRuleSeries("rules[0]", 42);
  metrics.RecordRuleRelistError("externalRules[1]");
  metrics.SetRegistrySize(7, 3);
  metrics.RecordNonFiniteValue("external");
  const std::string text = metrics.Serialize();
  EXPECT_THAT(text,
              HasSubstr(R"(metrics_adapter_requests_total{code="200",route="external_metric"} 2)"));
  EXPECT_THAT(text,
              HasSubstr(R"(metrics_adapter_requests_total{code="404",route="custom_metric"} 1)"));
  EXPECT_THAT(
      text,
      HasSubstr(R"(metrics_adapter_request_duration_seconds_count{route="external_metric"} 2)"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(metrics_adapter_prometheus_requests_total{endpoint="query",outcome="unavailable"} 1)"));
  EXPECT_THAT(text, HasSubstr("metrics_adapter_relist_failed_queries_total 1"));
  EXPECT_THAT(text, HasSubstr(R"(metrics_adapter_rule_series{rule="rules[0]"} 42)"));
  EXPECT_THAT(text,
              HasSubstr(R"(metrics_adapter_rule_relist_errors_total{rule="externalRules[1]"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"(metrics_adapter_registry_metrics{api="custom"} 7)"));
  EXPECT_THAT(text, HasSubstr(R"(metrics_adapter_non_finite_values_total{api="external"} 1)"));
  EXPECT_THAT(text,
              HasSubstr(R"(metrics_adapter_build_info{commit="abc1234",version="v1.2.3"} 1)"));
}

}  // namespace
}  // namespace ma::telemetry
