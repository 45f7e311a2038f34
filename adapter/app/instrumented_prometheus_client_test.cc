#include "adapter/app/instrumented_prometheus_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "test/testing/fake_prometheus_client.h"

namespace ma::app {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kServer[] = "https://prometheus.monitoring.svc:9090/";
constexpr char kHistogram[] = "prometheus_adapter_prometheus_client_request_duration_seconds";

TEST(InstrumentedPrometheusClientTest, RecordsPrometheusAdaptersHistogram) {
  testing::FakePrometheusClient fake;
  fake.SetDefaultQueryAnswer(model::QueryResult{});
  fake.SetDefaultSeriesAnswer(std::vector<model::Series>{});
  telemetry::AdapterMetrics metrics("v", "c");
  InstrumentedPrometheusClient client(fake, metrics, kServer);
  for (int i = 0; i < 2; ++i) {
    client.Query("up", std::chrono::system_clock::now(),
                 [](absl::StatusOr<prometheus::QueryResultPtr> result) {
                   EXPECT_TRUE(result.ok()) << result.status();
                 });
  }
  client.Series("{__name__=~\"x\"}", std::chrono::system_clock::now(),
                [](absl::StatusOr<std::vector<model::Series>> result) {
                  EXPECT_TRUE(result.ok()) << result.status();
                });
  const std::string text = metrics.Serialize();
  const std::string query_labels = std::string("path=\"/api/v1/query\",server=\"") + kServer + "\"";
  EXPECT_THAT(text, HasSubstr(std::string(kHistogram) + "_count{" + query_labels + "} 2"));
  EXPECT_THAT(text, HasSubstr(std::string(kHistogram) + "_count{path=\"/api/v1/series\",server=\"" +
                              kServer + "\"} 1"));
  // client_golang's DefBuckets, first to last.
  EXPECT_THAT(text,
              HasSubstr(std::string(kHistogram) + "_bucket{" + query_labels + ",le=\"0.005\"}"));
  EXPECT_THAT(text,
              HasSubstr(std::string(kHistogram) + "_bucket{" + query_labels + ",le=\"10\"} 2"));
  EXPECT_THAT(text,
              Not(HasSubstr(std::string(kHistogram) + "_bucket{" + query_labels + ",le=\"30\"}")));
  // Our own series count the same calls.
  EXPECT_THAT(
      text,
      HasSubstr(R"(metrics_adapter_prometheus_requests_total{endpoint="query",outcome="ok"} 2)"));
}

TEST(InstrumentedPrometheusClientTest, CallsWithoutAnAnswerAreNotInPrometheusAdaptersHistogram) {
  testing::FakePrometheusClient fake;  // answers kUnavailable
  telemetry::AdapterMetrics metrics("v", "c");
  InstrumentedPrometheusClient client(fake, metrics, kServer);
  client.Query(
      "up", std::chrono::system_clock::now(),
      [](absl::StatusOr<prometheus::QueryResultPtr> result) { EXPECT_FALSE(result.ok()); });
  const std::string text = metrics.Serialize();
  EXPECT_THAT(text, Not(HasSubstr(std::string(kHistogram) + "_count")));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(metrics_adapter_prometheus_requests_total{endpoint="query",outcome="unavailable"} 1)"));
}

}  // namespace
}  // namespace ma::app
