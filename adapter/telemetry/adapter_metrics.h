#pragma once

// The adapter's own metrics, served at /metrics. Every family is created in the constructor;
// the hot path only increments. Label values come from closed sets (route names, rule names of
// the loaded config, HTTP codes), never from request input. prometheus-cpp stays inside this
// module.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ma::telemetry {

// The request metrics of one route, resolved once (AdapterMetrics::Route) so that recording a
// request costs no label lookup: each (route, code) counter and the route's histogram are found
// in the registry on their first use, then kept. A child appears in /metrics only once something
// was recorded on it, as with AdapterMetrics::RecordRequest. Thread-safe: Record may be called
// from any thread; the object lives as long as the AdapterMetrics that made it.
class RequestMetrics {
 public:
  ~RequestMetrics();
  RequestMetrics(const RequestMetrics&) = delete;
  RequestMetrics& operator=(const RequestMetrics&) = delete;

  // One served request of this route.
  void Record(int code, double seconds);

 private:
  friend class AdapterMetrics;
  struct Impl;
  explicit RequestMetrics(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Thread-safe: every method may be called from any thread.
class AdapterMetrics {
 public:
  AdapterMetrics(std::string_view version, std::string_view commit);
  ~AdapterMetrics();
  AdapterMetrics(const AdapterMetrics&) = delete;
  AdapterMetrics& operator=(const AdapterMetrics&) = delete;

  // One served request: `route` is a fixed route name ("external_metric", "discovery", ...).
  // Looks the route up on every call; the request path uses Route() once instead.
  void RecordRequest(std::string_view route, int code, double seconds);
  // The request metrics of `route`, the same object for the same name; valid as long as this.
  RequestMetrics& Route(std::string_view route);
  // One call to Prometheus: `endpoint` is "query" or "series"; `outcome` "ok" or an error class
  // ("unavailable", "timeout", "bad_data", "error").
  void RecordPrometheusCall(std::string_view endpoint, std::string_view outcome, double seconds);
  // The same call as prometheus-adapter counts it, so that its users' dashboards keep working:
  //   prometheus_adapter_prometheus_client_request_duration_seconds{path,server}, a histogram
  //   with Go's default buckets (5ms to 10s); `path` is "/api/v1/query" or "/api/v1/series",
  //   `server` the --prometheus-url. Only calls Prometheus answered are recorded, as there.
  void RecordPrometheusAdapterCall(std::string_view path, std::string_view server, double seconds);
  // One relist run. A run without failed queries also sets
  //   metrics_adapter_relist_last_success_timestamp_seconds: when the last complete relist ended
  //     (Unix seconds), so an alert can say how long discovery has been failing.
  void RecordRelist(double seconds, int failed_queries);
  // Per rule, after a relist: series its query listed, and whether that listing failed.
  void SetRuleSeries(std::string_view rule, double series);
  void RecordRuleRelistError(std::string_view rule);
  // The registry now served.
  void SetRegistrySize(double custom_metrics, double external_metrics);
  // Values whose sample was NaN or infinite, by API ("custom", "external").
  void RecordNonFiniteValue(std::string_view api);

  // The rules file:
  //   metrics_adapter_config_last_reload_successful: 1 when the last load or reload worked, 0
  //     when the last reload was refused (the previous rules are still served).
  //   metrics_adapter_config_last_reload_success_timestamp_seconds: when the rules now served
  //     were loaded (Unix time).
  //   metrics_adapter_config_reloads_total{outcome}: reloads, "success" or "failure".
  // The load at start; no reload is counted.
  void SetConfigLoaded(double unix_seconds);
  void RecordConfigReload(bool ok, double unix_seconds);

  // The value cache (adapter/cache), per backend. `backend` is a configured backend name.
  //   metrics_adapter_cache_hits_total: reads answered from a fresh value (age < --cache-ttl).
  //   metrics_adapter_cache_misses_total: reads that started a backend query.
  //   metrics_adapter_cache_coalesced_total: reads that joined a query already in flight.
  //   metrics_adapter_cache_stale_served_total: reads answered with a value older than the TTL
  //     because the backend failed or the key's breaker was open (age <= --cache-max-stale).
  //   metrics_adapter_cache_evictions_total{reason}: "capacity" (LRU, --cache-max-entries),
  //     "bytes" (LRU, --cache-max-bytes) or "idle" (not read for 2x TTL and no servable value
  //     left).
  //   metrics_adapter_cache_entries: keys held.
  //   metrics_adapter_cache_bytes: the estimated memory of the keys and values held.
  //   metrics_adapter_cache_value_age_seconds: age of every value served, at serve time.
  //   metrics_adapter_cache_refresh_lag_seconds: how late a refresh-ahead started after it was
  //     due (the maintenance tick and open breakers make it late).
  //   metrics_adapter_cache_refreshes_total{outcome}: refresh-ahead queries, "ok" or "error".
  // Every series of `backend` at zero, so that rate() and alerts see a series from the start
  // instead of none until the first event of each kind.
  void InitBackend(std::string_view backend);
  void RecordCacheHit(std::string_view backend, double age_seconds);
  void RecordCacheMiss(std::string_view backend);
  void RecordCacheCoalesced(std::string_view backend, double count);
  void RecordCacheServed(std::string_view backend, double age_seconds, bool stale);
  void RecordCacheEviction(std::string_view backend, std::string_view reason, double count);
  void SetCacheEntries(std::string_view backend, double entries);
  void SetCacheBytes(std::string_view backend, double bytes);
  void RecordCacheRefresh(std::string_view backend, double lag_seconds);
  void RecordCacheRefreshOutcome(std::string_view backend, bool ok);

  // Bulkheads and breakers in front of a backend:
  //   metrics_adapter_backend_in_flight: queries sent and not answered yet.
  //   metrics_adapter_backend_queue_depth: queries waiting for a concurrency slot.
  //   metrics_adapter_backend_rejected_total: queries refused because the queue was full.
  //   metrics_adapter_backend_breakers_open: keys whose breaker is open or half-open.
  //   metrics_adapter_backend_breaker_transitions_total{to}: "open", "half_open", "closed".
  //   metrics_adapter_backend_short_circuited_total: reads failed fast by an open breaker
  //     without a servable stale value.
  void SetBackendLoad(std::string_view backend, double in_flight, double queued);
  void RecordBackendRejected(std::string_view backend);
  void SetBreakersOpen(std::string_view backend, double open);
  void RecordBreakerTransition(std::string_view backend, std::string_view to);
  void RecordShortCircuit(std::string_view backend);

  // Delegated authentication and authorization of requests (none with --standalone):
  //   metrics_adapter_authentication_attempts_total{result}: "success" or "failure".
  //   metrics_adapter_authorization_decisions_total{decision}: "allow", "deny" or "error" (the
  //     SubjectAccessReview could not be made).
  void RecordAuthentication(std::string_view result);
  void RecordAuthorization(std::string_view decision);

  // The HTTPS server's connection slots (adapter/server/connection_slots.h):
  //   metrics_adapter_open_connections: connections holding a slot.
  //   metrics_adapter_connections_rejected_total: closed at accept; every slot they could take
  //     had a request in progress.
  //   metrics_adapter_connections_evicted_total: idle connections closed to make room for a new
  //     one (a client holding many idle connections is the usual cause).
  void SetOpenConnections(double open);
  void RecordConnectionRejected();
  void RecordConnectionEvicted();

  // Certificates re-read while running (docs/deploy.md, "Certificate rotation"):
  //   metrics_adapter_certificate_reloads_total{file,outcome}: `file` is "serving" (certificate
  //     and key), "client-ca" or "requestheader-client-ca"; `outcome` "ok" or "error" (the
  //     previous certificate or bundle stays).
  //   metrics_adapter_serving_certificate_expiry_timestamp_seconds: notAfter of the certificate
  //     new connections are served with, in Unix seconds.
  void RecordCertificateReload(std::string_view file, bool ok);
  void SetServingCertificateExpiry(double unix_seconds);

  // The object watch cache (adapter/objects), sampled at every scrape from `source` (none when
  // null; set to null before what it reads goes away):
  //   metrics_adapter_watch_cache_objects{resource,field_selector}: objects held per watched
  //     collection ("pods", ""; "pods", "status.phase=Running"; "deployments.apps", "").
  struct WatchCacheSize {
    std::string resource;
    std::string field_selector;
    double objects = 0;
  };
  void SetWatchCacheSource(std::function<std::vector<WatchCacheSize>()> source);

  // The text exposition format (version 0.0.4). It also samples
  //   metrics_adapter_threads: the threads the process runs at that moment (the "Threads:" line
  //     of /proc/self/status; absent where that file is missing). docs/architecture.md, section
  //     "Threads", lists each one, so an unexpected value means a thread nobody accounted for.
  std::string Serialize() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ma::telemetry
