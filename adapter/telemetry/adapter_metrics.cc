#include "adapter/telemetry/adapter_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <mutex>

namespace ma::telemetry {
namespace {

const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const auto* const buckets = new prometheus::Histogram::BucketBoundaries{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  return *buckets;
}

}  // namespace

struct AdapterMetrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Counter>& requests =
      prometheus::BuildCounter()
          .Name("metrics_adapter_requests_total")
          .Help("Requests served, by route and HTTP code")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& request_seconds =
      prometheus::BuildHistogram()
          .Name("metrics_adapter_request_duration_seconds")
          .Help("Time to answer a request, by route")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& prometheus_calls =
      prometheus::BuildCounter()
          .Name("metrics_adapter_prometheus_requests_total")
          .Help("Calls to the Prometheus HTTP API, by endpoint and outcome")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& prometheus_seconds =
      prometheus::BuildHistogram()
          .Name("metrics_adapter_prometheus_request_duration_seconds")
          .Help("Latency of calls to the Prometheus HTTP API, by endpoint")
          .Register(*registry);
  prometheus::Histogram& relist_seconds = prometheus::BuildHistogram()
                                              .Name("metrics_adapter_relist_duration_seconds")
                                              .Help("Time one discovery relist took")
                                              .Register(*registry)
                                              .Add({}, LatencyBuckets());
  prometheus::Counter& relists = prometheus::BuildCounter()
                                     .Name("metrics_adapter_relists_total")
                                     .Help("Discovery relists run")
                                     .Register(*registry)
                                     .Add({});
  prometheus::Counter& relist_failed_queries =
      prometheus::BuildCounter()
          .Name("metrics_adapter_relist_failed_queries_total")
          .Help("seriesQuery listings that failed (the rule keeps its last good series)")
          .Register(*registry)
          .Add({});
  prometheus::Family<prometheus::Gauge>& rule_series =
      prometheus::BuildGauge()
          .Name("metrics_adapter_rule_series")
          .Help("Series the rule's seriesQuery listed at the last successful relist")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& rule_errors =
      prometheus::BuildCounter()
          .Name("metrics_adapter_rule_relist_errors_total")
          .Help("Failed listings of the rule's seriesQuery")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& registry_metrics =
      prometheus::BuildGauge()
          .Name("metrics_adapter_registry_metrics")
          .Help("API metrics currently discovered, by API")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& non_finite =
      prometheus::BuildCounter()
          .Name("metrics_adapter_non_finite_values_total")
          .Help("Values refused because the sample was NaN or infinite, by API")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& build_info =
      prometheus::BuildGauge()
          .Name("metrics_adapter_build_info")
          .Help("Version of the running adapter; always 1")
          .Register(*registry);
};

AdapterMetrics::AdapterMetrics(std::string_view version, std::string_view commit)
    : impl_(std::make_unique<Impl>()) {
  impl_->build_info.Add({{"version", std::string(version)}, {"commit", std::string(commit)}})
      .Set(1);
}

AdapterMetrics::~AdapterMetrics() = default;

void AdapterMetrics::RecordRequest(std::string_view route, int code, double seconds) {
  impl_->requests.Add({{"route", std::string(route)}, {"code", std::to_string(code)}}).Increment();
  impl_->request_seconds.Add({{"route", std::string(route)}}, LatencyBuckets()).Observe(seconds);
}

void AdapterMetrics::RecordPrometheusCall(std::string_view endpoint, std::string_view outcome,
                                          double seconds) {
  impl_->prometheus_calls
      .Add({{"endpoint", std::string(endpoint)}, {"outcome", std::string(outcome)}})
      .Increment();
  impl_->prometheus_seconds.Add({{"endpoint", std::string(endpoint)}}, LatencyBuckets())
      .Observe(seconds);
}

void AdapterMetrics::RecordRelist(double seconds, int failed_queries) {
  impl_->relists.Increment();
  impl_->relist_seconds.Observe(seconds);
  impl_->relist_failed_queries.Increment(failed_queries);
}

void AdapterMetrics::SetRuleSeries(std::string_view rule, double series) {
  impl_->rule_series.Add({{"rule", std::string(rule)}}).Set(series);
}

void AdapterMetrics::RecordRuleRelistError(std::string_view rule) {
  impl_->rule_errors.Add({{"rule", std::string(rule)}}).Increment();
}

void AdapterMetrics::SetRegistrySize(double custom_metrics, double external_metrics) {
  impl_->registry_metrics.Add({{"api", "custom"}}).Set(custom_metrics);
  impl_->registry_metrics.Add({{"api", "external"}}).Set(external_metrics);
}

void AdapterMetrics::RecordNonFiniteValue(std::string_view api) {
  impl_->non_finite.Add({{"api", std::string(api)}}).Increment();
}

std::string AdapterMetrics::Serialize() const {
  return prometheus::TextSerializer().Serialize(impl_->registry->Collect());
}

}  // namespace ma::telemetry
