#pragma once

// The adapter's own metrics, served at /metrics. Every family is created in the constructor;
// the hot path only increments. Label values come from closed sets (route names, rule names of
// the loaded config, HTTP codes), never from request input. prometheus-cpp stays inside this
// module.

#include <memory>
#include <string>
#include <string_view>

namespace ma::telemetry {

// Thread-safe: every method may be called from any thread.
class AdapterMetrics {
 public:
  AdapterMetrics(std::string_view version, std::string_view commit);
  ~AdapterMetrics();
  AdapterMetrics(const AdapterMetrics&) = delete;
  AdapterMetrics& operator=(const AdapterMetrics&) = delete;

  // One served request: `route` is a fixed route name ("external_metric", "discovery", ...).
  void RecordRequest(std::string_view route, int code, double seconds);
  // One call to Prometheus: `endpoint` is "query" or "series"; `outcome` "ok" or an error class
  // ("unavailable", "timeout", "bad_data", "error").
  void RecordPrometheusCall(std::string_view endpoint, std::string_view outcome, double seconds);
  // One relist run.
  void RecordRelist(double seconds, int failed_queries);
  // Per rule, after a relist: series its query listed, and whether that listing failed.
  void SetRuleSeries(std::string_view rule, double series);
  void RecordRuleRelistError(std::string_view rule);
  // The registry now served.
  void SetRegistrySize(double custom_metrics, double external_metrics);
  // Values whose sample was NaN or infinite, by API ("custom", "external").
  void RecordNonFiniteValue(std::string_view api);

  // The text exposition format (version 0.0.4).
  std::string Serialize() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ma::telemetry
