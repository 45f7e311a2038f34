#include "adapter/telemetry/adapter_metrics.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <ctime>
#include <sstream>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"

namespace ma::telemetry {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

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

TEST(AdapterMetricsTest, ExposesCertificateReloadsAndExpiry) {
  AdapterMetrics metrics("v1.2.3", "abc1234");
  metrics.RecordCertificateReload("serving", true);
  metrics.RecordCertificateReload("serving", false);
  metrics.RecordCertificateReload("serving", false);
  metrics.RecordCertificateReload("client-ca", true);
  metrics.SetServingCertificateExpiry(1700000000);
  const std::string text = metrics.Serialize();
  EXPECT_THAT(
      text,
      HasSubstr(R"(metrics_adapter_certificate_reloads_total{file="serving",outcome="error"} 2)"));
  EXPECT_THAT(
      text,
      HasSubstr(R"(metrics_adapter_certificate_reloads_total{file="serving",outcome="ok"} 1)"));
  EXPECT_THAT(
      text,
      HasSubstr(R"(metrics_adapter_certificate_reloads_total{file="client-ca",outcome="ok"} 1)"));
  EXPECT_THAT(text,
              HasSubstr("metrics_adapter_serving_certificate_expiry_timestamp_seconds 1700000000"));
}

TEST(AdapterMetricsTest, ExposesCacheAndBackendMetrics) {
  AdapterMetrics metrics("v", "c");
  metrics.RecordCacheHit("prometheus", 1.5);
  metrics.RecordCacheMiss("prometheus");
  metrics.RecordCacheCoalesced("prometheus", 3);
  metrics.RecordCacheServed("prometheus", 40, /*stale=*/true);
  metrics.RecordCacheServed("prometheus", 0, /*stale=*/false);
  metrics.RecordCacheEviction("prometheus", "capacity", 2);
  metrics.SetCacheEntries("prometheus", 9);
  metrics.SetCacheBytes("prometheus", 4096);
  metrics.RecordCacheRefresh("prometheus", 0.2);
  metrics.RecordCacheRefreshOutcome("prometheus", false);
  metrics.SetBackendLoad("prometheus", 4, 7);
  metrics.RecordBackendRejected("prometheus");
  metrics.SetBreakersOpen("prometheus", 2);
  metrics.RecordBreakerTransition("prometheus", "open");
  metrics.RecordShortCircuit("prometheus");
  const std::string text = metrics.Serialize();
  for (const char* want : {
           R"(metrics_adapter_cache_hits_total{backend="prometheus"} 1)",
           R"(metrics_adapter_cache_misses_total{backend="prometheus"} 1)",
           R"(metrics_adapter_cache_coalesced_total{backend="prometheus"} 3)",
           R"(metrics_adapter_cache_stale_served_total{backend="prometheus"} 1)",
           R"(metrics_adapter_cache_evictions_total{backend="prometheus",reason="capacity"} 2)",
           R"(metrics_adapter_cache_entries{backend="prometheus"} 9)",
           R"(metrics_adapter_cache_bytes{backend="prometheus"} 4096)",
           R"(metrics_adapter_cache_value_age_seconds_count{backend="prometheus"} 3)",
           R"(metrics_adapter_cache_value_age_seconds_bucket{backend="prometheus",le="2"} 2)",
           R"(metrics_adapter_cache_refresh_lag_seconds_count{backend="prometheus"} 1)",
           R"(metrics_adapter_cache_refreshes_total{backend="prometheus",outcome="error"} 1)",
           R"(metrics_adapter_backend_in_flight{backend="prometheus"} 4)",
           R"(metrics_adapter_backend_queue_depth{backend="prometheus"} 7)",
           R"(metrics_adapter_backend_rejected_total{backend="prometheus"} 1)",
           R"(metrics_adapter_backend_breakers_open{backend="prometheus"} 2)",
           R"(metrics_adapter_backend_breaker_transitions_total{backend="prometheus",to="open"} 1)",
           R"(metrics_adapter_backend_short_circuited_total{backend="prometheus"} 1)",
       }) {
    EXPECT_THAT(text, HasSubstr(want));
  }
}

// The request path records through Route() handles that resolve their children once; /metrics must
// read exactly as with RecordRequest, which looks every label set up.
// `text` without the lines of the process_* families.
std::string WithoutProcessMetrics(const std::string& text) {
  std::istringstream lines(text);
  std::string kept;
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("process_") || line.starts_with("# HELP process_") ||
        line.starts_with("# TYPE process_")) {
      continue;
    }
    kept += line + "\n";
  }
  return kept;
}

TEST(AdapterMetricsTest, RouteHandlesExposeWhatRecordRequestDoes) {
  AdapterMetrics looked_up("v", "c");
  AdapterMetrics resolved("v", "c");
  // Handles made up front, as the handler makes them, show nothing until used.
  RequestMetrics& external = resolved.Route("external_metric");
  RequestMetrics& health = resolved.Route("health");
  resolved.Route("discovery");
  EXPECT_EQ(&resolved.Route("external_metric"), &external);
  struct Call {
    const char* route;
    int code;
    double seconds;
  };
  for (const Call& call : {Call{"external_metric", 200, 0.002}, Call{"external_metric", 200, 0.3},
                           Call{"external_metric", 404, 0.001}, Call{"health", 200, 0.0001},
                           Call{"health", 42, 0.0001}, Call{"health", 1000, 7.0}}) {
    looked_up.RecordRequest(call.route, call.code, call.seconds);
    (std::string_view(call.route) == "health" ? health : external).Record(call.code, call.seconds);
  }
  const std::string text = resolved.Serialize();
  // The process_* samples (CPU time, say) move between two scrapes; the rest must be equal.
  EXPECT_EQ(WithoutProcessMetrics(text), WithoutProcessMetrics(looked_up.Serialize()));
  EXPECT_THAT(text, Not(HasSubstr(R"(route="discovery")")));
  EXPECT_THAT(text,
              HasSubstr(R"(metrics_adapter_requests_total{code="200",route="external_metric"} 2)"));
  EXPECT_THAT(text, HasSubstr(R"(metrics_adapter_requests_total{code="1000",route="health"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"(metrics_adapter_requests_total{code="42",route="health"} 1)"));
}

TEST(AdapterMetricsTest, CacheReadsOfSeveralBackendsKeepTheirOwnChildren) {
  AdapterMetrics metrics("v", "c");
  metrics.RecordCacheHit("a", 1);
  metrics.RecordCacheHit("b", 1);
  metrics.RecordCacheHit("a", 1);
  metrics.RecordCacheServed("b", 1, /*stale=*/false);
  const std::string text = metrics.Serialize();
  EXPECT_THAT(text, HasSubstr(R"(metrics_adapter_cache_hits_total{backend="a"} 2)"));
  EXPECT_THAT(text, HasSubstr(R"(metrics_adapter_cache_hits_total{backend="b"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"(metrics_adapter_cache_value_age_seconds_count{backend="a"} 2)"));
  EXPECT_THAT(text, HasSubstr(R"(metrics_adapter_cache_value_age_seconds_count{backend="b"} 2)"));
}

// The value of the unlabelled sample `name` in `text`, or -1.
double SampleValue(const std::string& text, const std::string& name) {
  const size_t at = text.find("\n" + name + " ");
  if (at == std::string::npos) {
    return -1;
  }
  return std::stod(text.substr(at + name.size() + 2));
}

TEST(AdapterMetricsTest, ThreadsGaugeCountsThreadsAtScrapeTime) {
  AdapterMetrics metrics("v1", "abc");
  const double before = SampleValue(metrics.Serialize(), "metrics_adapter_threads");
  ASSERT_GE(before, 1);
  absl::Notification started;
  absl::Notification release;
  std::thread extra([&] {
    started.Notify();
    release.WaitForNotification();
  });
  started.WaitForNotification();
  EXPECT_EQ(SampleValue(metrics.Serialize(), "metrics_adapter_threads"), before + 1);
  release.Notify();
  extra.join();
  EXPECT_EQ(SampleValue(metrics.Serialize(), "metrics_adapter_threads"), before);
}

TEST(AdapterMetricsTest, WatchCacheObjectsAreSampledAtScrapeTime) {
  AdapterMetrics metrics("v", "c");
  EXPECT_THAT(metrics.Serialize(), Not(HasSubstr("metrics_adapter_watch_cache_objects{")));
  double pods = 3;
  metrics.SetWatchCacheSource([&pods] {
    return std::vector<AdapterMetrics::WatchCacheSize>{{"pods", "", pods},
                                                       {"deployments.apps", "", 1}};
  });
  EXPECT_THAT(
      metrics.Serialize(),
      HasSubstr(R"(metrics_adapter_watch_cache_objects{field_selector="",resource="pods"} 3)"));
  pods = 5;
  const std::string text = metrics.Serialize();
  EXPECT_THAT(
      text,
      HasSubstr(R"(metrics_adapter_watch_cache_objects{field_selector="",resource="pods"} 5)"));
  EXPECT_THAT(text, HasSubstr(R"(field_selector="",resource="deployments.apps"} 1)"));
  metrics.SetWatchCacheSource(nullptr);  // the cache went away: the last values stay
  EXPECT_THAT(metrics.Serialize(), HasSubstr(R"(resource="pods"} 5)"));
}

TEST(AdapterMetricsTest, OnlyACompleteRelistMovesTheLastSuccessTime) {
  AdapterMetrics metrics("v1", "abc");
  const std::string kName = "metrics_adapter_relist_last_success_timestamp_seconds";
  metrics.RecordRelist(1, /*failed_queries=*/2);
  EXPECT_EQ(SampleValue(metrics.Serialize(), kName), 0);
  const double now = static_cast<double>(std::time(nullptr));
  metrics.RecordRelist(1, /*failed_queries=*/0);
  const double success = SampleValue(metrics.Serialize(), kName);
  EXPECT_GE(success, now);
  EXPECT_LE(success, now + 60);
  metrics.RecordRelist(1, /*failed_queries=*/1);
  EXPECT_EQ(SampleValue(metrics.Serialize(), kName), success);
}

TEST(AdapterMetricsTest, ProcessMetricsAreThoseOfTheOfficialClientsReadAtScrapeTime) {
  AdapterMetrics metrics("v1", "abc");
  const std::string before = metrics.Serialize();
  EXPECT_THAT(before, HasSubstr("# TYPE process_cpu_seconds_total counter"));
  EXPECT_THAT(before, HasSubstr("# TYPE process_resident_memory_bytes gauge"));
  EXPECT_GT(SampleValue(before, "process_resident_memory_bytes"), 1 << 20);
  EXPECT_GT(SampleValue(before, "process_virtual_memory_bytes"),
            SampleValue(before, "process_resident_memory_bytes"));
  const double now = static_cast<double>(std::time(nullptr));
  EXPECT_LE(SampleValue(before, "process_start_time_seconds"), now + 1);
  EXPECT_GT(SampleValue(before, "process_start_time_seconds"), now - 3600);
  EXPECT_GT(SampleValue(before, "process_max_fds"), 0);

  const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  const std::string with_one_more = metrics.Serialize();
  ::close(fd);
  EXPECT_EQ(SampleValue(with_one_more, "process_open_fds"),
            SampleValue(before, "process_open_fds") + 1);

  // Burn some CPU: the counter moves.
  volatile double sink = 0;
  const double cpu_before = SampleValue(before, "process_cpu_seconds_total");
  while (SampleValue(metrics.Serialize(), "process_cpu_seconds_total") <= cpu_before) {
    for (int i = 0; i < 1000000; ++i) sink = sink + i;
  }
}

}  // namespace
}  // namespace ma::telemetry
