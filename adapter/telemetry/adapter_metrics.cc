#include "adapter/telemetry/adapter_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <array>
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adapter/telemetry/process_stats.h"
#include "queries/base/strings.h"

namespace ma::telemetry {
namespace {

// HTTP status codes that get a counter slot of their own per route; any other code (the server
// writes none) is looked up in the family on every request.
constexpr int kMinHttpCode = 100;
constexpr int kMaxHttpCode = 599;

// One child of a family, found on first use and then kept: Family::Add builds, hashes and looks
// up its label map under the family's lock on every call, which the per-request path should not
// pay. Children are never removed from a family here, so the pointer stays valid. Thread-safe:
// threads that resolve it at the same time get the same child (Add returns the existing one).
template <typename T>
class LazyChild {
 public:
  template <typename MakeLabels, typename... Args>
  T& Get(prometheus::Family<T>& family, const MakeLabels& make_labels, const Args&... args) {
    T* child = child_.load(std::memory_order_acquire);
    if (child == nullptr) {
      child = &family.Add(make_labels(), args...);
      child_.store(child, std::memory_order_release);
    }
    return *child;
  }

 private:
  std::atomic<T*> child_{nullptr};
};

// The children of a family whose label values are not known in advance, each found on first use
// and then kept under a key of its label values (see LazyChild). Thread-safe: one mutex, held
// for a hash lookup.
template <typename T>
class KeyedChildren {
 public:
  // `key` must differ exactly when the label values do.
  template <typename MakeLabels, typename... Args>
  T& Get(std::string_view key, prometheus::Family<T>& family, const MakeLabels& make_labels,
         const Args&... args) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = children_.find(key);
    if (it == children_.end()) {
      it = children_.emplace(std::string(key), &family.Add(make_labels(), args...)).first;
    }
    return *it->second;
  }

 private:
  std::mutex mu_;
  std::map<std::string, T*, std::less<>> children_;  // guarded by mu_
};

const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const auto* const buckets = new prometheus::Histogram::BucketBoundaries{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  return *buckets;
}

// prometheus-adapter's histogram keeps client_golang's DefBuckets.
const prometheus::Histogram::BucketBoundaries& GoDefaultBuckets() {
  static const auto* const buckets = new prometheus::Histogram::BucketBoundaries{
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return *buckets;
}

// Value ages span a TTL (seconds) up to the max-stale bound (minutes).
const prometheus::Histogram::BucketBoundaries& AgeBuckets() {
  static const auto* const buckets = new prometheus::Histogram::BucketBoundaries{
      0.1, 0.5, 1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600};
  return *buckets;
}

prometheus::MetricFamily ProcessFamily(std::string name, std::string help,
                                       prometheus::MetricType type, double value) {
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  return prometheus::MetricFamily{std::move(name), std::move(help), type, {metric}};
}

// The names and meanings of the official client libraries' process collectors.
void AppendProcessFamilies(const ProcessStats& stats,
                           std::vector<prometheus::MetricFamily>& families) {
  using prometheus::MetricType;
  families.push_back(ProcessFamily("process_cpu_seconds_total",
                                   "Total user and system CPU time spent in seconds",
                                   MetricType::Counter, stats.cpu_seconds));
  families.push_back(ProcessFamily("process_resident_memory_bytes", "Resident memory size in bytes",
                                   MetricType::Gauge, stats.resident_memory_bytes));
  families.push_back(ProcessFamily("process_virtual_memory_bytes", "Virtual memory size in bytes",
                                   MetricType::Gauge, stats.virtual_memory_bytes));
  families.push_back(ProcessFamily("process_start_time_seconds",
                                   "Start time of the process since unix epoch in seconds",
                                   MetricType::Gauge, stats.start_time_seconds));
  families.push_back(ProcessFamily("process_open_fds", "Number of open file descriptors",
                                   MetricType::Gauge, stats.open_fds));
  families.push_back(ProcessFamily("process_max_fds", "Maximum number of open file descriptors",
                                   MetricType::Gauge, stats.max_fds));
}

prometheus::Labels BackendLabel(std::string_view backend) {
  return {{"backend", std::string(backend)}};
}

// The value cache's per-read children of one backend (the cache-hit path).
struct BackendReadChildren {
  explicit BackendReadChildren(std::string_view name) : backend(name) {}
  const std::string backend;
  LazyChild<prometheus::Counter> hits;
  LazyChild<prometheus::Histogram> value_age;
};

}  // namespace

struct RequestMetrics::Impl {
  Impl(std::string_view name, prometheus::Family<prometheus::Counter>& requests_family,
       prometheus::Family<prometheus::Histogram>& seconds_family)
      : route(name), requests(requests_family), request_seconds(seconds_family) {}

  const std::string route;
  prometheus::Family<prometheus::Counter>& requests;
  prometheus::Family<prometheus::Histogram>& request_seconds;
  std::array<LazyChild<prometheus::Counter>, kMaxHttpCode - kMinHttpCode + 1> counters;
  LazyChild<prometheus::Histogram> histogram;
};

RequestMetrics::RequestMetrics(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RequestMetrics::~RequestMetrics() = default;

void RequestMetrics::Record(int code, double seconds) {
  const auto labels = [this, code] {
    return prometheus::Labels{{"route", impl_->route}, {"code", std::to_string(code)}};
  };
  prometheus::Counter& counter =
      code >= kMinHttpCode && code <= kMaxHttpCode
          ? impl_->counters[code - kMinHttpCode].Get(impl_->requests, labels)
          : impl_->requests.Add(labels());
  counter.Increment();
  impl_->histogram
      .Get(
          impl_->request_seconds,
          [this] {
            return prometheus::Labels{{"route", impl_->route}};
          },
          LatencyBuckets())
      .Observe(seconds);
}

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
  prometheus::Family<prometheus::Histogram>& prometheus_adapter_seconds =
      prometheus::BuildHistogram()
          .Name("prometheus_adapter_prometheus_client_request_duration_seconds")
          .Help(
              "Prometheus client query latency in seconds.  Broken down by target prometheus "
              "endpoint and target server")
          .Register(*registry);
  // Each Prometheus call records into these three: its children are resolved once.
  KeyedChildren<prometheus::Counter> prometheus_call_children;
  KeyedChildren<prometheus::Histogram> prometheus_seconds_children;
  KeyedChildren<prometheus::Histogram> prometheus_adapter_seconds_children;
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
  // Named as Prometheus names its own, so that the same alert rules fit.
  prometheus::Gauge& config_reload_ok =
      prometheus::BuildGauge()
          .Name("metrics_adapter_config_last_reload_successful")
          .Help("Whether the last rules-file reload attempt was successful (1) or not (0)")
          .Register(*registry)
          .Add({});
  prometheus::Gauge& config_reload_time =
      prometheus::BuildGauge()
          .Name("metrics_adapter_config_last_reload_success_timestamp_seconds")
          .Help("Unix time of the last successful rules-file load")
          .Register(*registry)
          .Add({});
  prometheus::Family<prometheus::Counter>& config_reloads =
      prometheus::BuildCounter()
          .Name("metrics_adapter_config_reloads_total")
          .Help("Rules-file reload attempts, by outcome (success, failure)")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& cache_hits =
      prometheus::BuildCounter()
          .Name("metrics_adapter_cache_hits_total")
          .Help("Reads answered from a fresh cached value, by backend")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& cache_misses =
      prometheus::BuildCounter()
          .Name("metrics_adapter_cache_misses_total")
          .Help("Reads that started a backend query, by backend")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& cache_coalesced =
      prometheus::BuildCounter()
          .Name("metrics_adapter_cache_coalesced_total")
          .Help("Reads that joined an identical backend query already in flight, by backend")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& cache_stale =
      prometheus::BuildCounter()
          .Name("metrics_adapter_cache_stale_served_total")
          .Help("Reads answered with a value older than the TTL because the backend failed")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& cache_evictions =
      prometheus::BuildCounter()
          .Name("metrics_adapter_cache_evictions_total")
          .Help("Cache keys dropped, by backend and reason (capacity, bytes, idle)")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& cache_entries =
      prometheus::BuildGauge()
          .Name("metrics_adapter_cache_entries")
          .Help("Keys held by the value cache, by backend")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& cache_bytes =
      prometheus::BuildGauge()
          .Name("metrics_adapter_cache_bytes")
          .Help("Estimated memory of the keys and values held by the value cache, by backend")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& cache_value_age =
      prometheus::BuildHistogram()
          .Name("metrics_adapter_cache_value_age_seconds")
          .Help("Age of each value served, at serve time, by backend")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& cache_refresh_lag =
      prometheus::BuildHistogram()
          .Name("metrics_adapter_cache_refresh_lag_seconds")
          .Help("How late a refresh-ahead started after it was due, by backend")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& cache_refreshes =
      prometheus::BuildCounter()
          .Name("metrics_adapter_cache_refreshes_total")
          .Help("Refresh-ahead queries, by backend and outcome")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& backend_in_flight =
      prometheus::BuildGauge()
          .Name("metrics_adapter_backend_in_flight")
          .Help("Backend queries sent and not yet answered, by backend")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& backend_queue =
      prometheus::BuildGauge()
          .Name("metrics_adapter_backend_queue_depth")
          .Help("Backend queries waiting for a concurrency slot, by backend")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& backend_rejected =
      prometheus::BuildCounter()
          .Name("metrics_adapter_backend_rejected_total")
          .Help("Backend queries refused because the bulkhead queue was full, by backend")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& breakers_open =
      prometheus::BuildGauge()
          .Name("metrics_adapter_backend_breakers_open")
          .Help("Cache keys whose circuit breaker is open or half-open, by backend")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& breaker_transitions =
      prometheus::BuildCounter()
          .Name("metrics_adapter_backend_breaker_transitions_total")
          .Help("Circuit breaker state changes, by backend and new state")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& short_circuited =
      prometheus::BuildCounter()
          .Name("metrics_adapter_backend_short_circuited_total")
          .Help("Reads failed fast by an open breaker without calling the backend")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& authentications =
      prometheus::BuildCounter()
          .Name("metrics_adapter_authentication_attempts_total")
          .Help("Requests authenticated, by result")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& authorizations =
      prometheus::BuildCounter()
          .Name("metrics_adapter_authorization_decisions_total")
          .Help("Authorization decisions on requests, by decision")
          .Register(*registry);
  prometheus::Gauge& open_connections = prometheus::BuildGauge()
                                            .Name("metrics_adapter_open_connections")
                                            .Help("Connections holding one of the server's slots")
                                            .Register(*registry)
                                            .Add({});
  prometheus::Counter& connections_rejected =
      prometheus::BuildCounter()
          .Name("metrics_adapter_connections_rejected_total")
          .Help("Connections closed at accept because every slot they could take was busy")
          .Register(*registry)
          .Add({});
  prometheus::Counter& connections_evicted =
      prometheus::BuildCounter()
          .Name("metrics_adapter_connections_evicted_total")
          .Help("Idle connections closed to make room for a new one")
          .Register(*registry)
          .Add({});
  prometheus::Family<prometheus::Counter>& certificate_reloads =
      prometheus::BuildCounter()
          .Name("metrics_adapter_certificate_reloads_total")
          .Help("Certificate and CA bundle files read again after a change, by file and outcome")
          .Register(*registry);
  prometheus::Gauge& serving_certificate_expiry =
      prometheus::BuildGauge()
          .Name("metrics_adapter_serving_certificate_expiry_timestamp_seconds")
          .Help("When the serving certificate of new connections expires, in Unix seconds")
          .Register(*registry)
          .Add({});
  prometheus::Gauge& relist_last_success =
      prometheus::BuildGauge()
          .Name("metrics_adapter_relist_last_success_timestamp_seconds")
          .Help("When the last relist without failed queries ended, in Unix seconds")
          .Register(*registry)
          .Add({});
  prometheus::Family<prometheus::Gauge>& watch_cache_objects =
      prometheus::BuildGauge()
          .Name("metrics_adapter_watch_cache_objects")
          .Help("Objects held by the watch cache, per watched collection")
          .Register(*registry);
  std::mutex watch_cache_mu;
  std::function<std::vector<AdapterMetrics::WatchCacheSize>()> watch_cache_source;  // guarded
  prometheus::Family<prometheus::Gauge>& build_info =
      prometheus::BuildGauge()
          .Name("metrics_adapter_build_info")
          .Help("Version of the running adapter; always 1")
          .Register(*registry);

  // Made on first use, never removed: the references handed out stay valid.
  std::mutex routes_mu;
  std::map<std::string, std::unique_ptr<RequestMetrics>, std::less<>> routes;
  std::mutex backends_mu;
  std::map<std::string, std::unique_ptr<BackendReadChildren>, std::less<>> backends;
  // The backend of the last cache read: with one backend, every read finds it here without a
  // lock.
  std::atomic<BackendReadChildren*> last_backend{nullptr};

  BackendReadChildren& Backend(std::string_view name) {
    BackendReadChildren* last = last_backend.load(std::memory_order_acquire);
    if (last != nullptr && last->backend == name) {
      return *last;
    }
    std::lock_guard<std::mutex> lock(backends_mu);
    auto it = backends.find(name);
    if (it == backends.end()) {
      it = backends.emplace(std::string(name), std::make_unique<BackendReadChildren>(name)).first;
    }
    last_backend.store(it->second.get(), std::memory_order_release);
    return *it->second;
  }
  prometheus::Family<prometheus::Gauge>& threads =
      prometheus::BuildGauge()
          .Name("metrics_adapter_threads")
          .Help("Threads of the process at scrape time; docs/architecture.md lists them")
          .Register(*registry);
};

AdapterMetrics::AdapterMetrics(std::string_view version, std::string_view commit)
    : impl_(std::make_unique<Impl>()) {
  impl_->build_info.Add({{"version", std::string(version)}, {"commit", std::string(commit)}})
      .Set(1);
  // Every outcome at zero from the start (see InitBackend).
  for (const char* result : {"success", "failure"}) {
    impl_->authentications.Add({{"result", result}});
  }
  for (const char* decision : {"allow", "deny", "error"}) {
    impl_->authorizations.Add({{"decision", decision}});
  }
  for (const char* api : {"custom", "external"}) {
    impl_->non_finite.Add({{"api", api}});
  }
}

AdapterMetrics::~AdapterMetrics() = default;

void AdapterMetrics::RecordRequest(std::string_view route, int code, double seconds) {
  Route(route).Record(code, seconds);
}

RequestMetrics& AdapterMetrics::Route(std::string_view route) {
  std::lock_guard<std::mutex> lock(impl_->routes_mu);
  auto it = impl_->routes.find(route);
  if (it == impl_->routes.end()) {
    it = impl_->routes
             .emplace(std::string(route), std::unique_ptr<RequestMetrics>(new RequestMetrics(
                                              std::make_unique<RequestMetrics::Impl>(
                                                  route, impl_->requests, impl_->request_seconds))))
             .first;
  }
  return *it->second;
}

void AdapterMetrics::RecordPrometheusCall(std::string_view endpoint, std::string_view outcome,
                                          double seconds) {
  impl_->prometheus_call_children
      .Get(Cat(endpoint, "\n", outcome), impl_->prometheus_calls,
           [&] {
             return prometheus::Labels{{"endpoint", std::string(endpoint)},
                                       {"outcome", std::string(outcome)}};
           })
      .Increment();
  impl_->prometheus_seconds_children
      .Get(
          endpoint, impl_->prometheus_seconds,
          [&] {
            return prometheus::Labels{{"endpoint", std::string(endpoint)}};
          },
          LatencyBuckets())
      .Observe(seconds);
}

void AdapterMetrics::RecordPrometheusAdapterCall(std::string_view path, std::string_view server,
                                                 double seconds) {
  impl_->prometheus_adapter_seconds_children
      .Get(
          Cat(path, "\n", server), impl_->prometheus_adapter_seconds,
          [&] {
            return prometheus::Labels{{"path", std::string(path)}, {"server", std::string(server)}};
          },
          GoDefaultBuckets())
      .Observe(seconds);
}

void AdapterMetrics::RecordRelist(double seconds, int failed_queries) {
  impl_->relists.Increment();
  impl_->relist_seconds.Observe(seconds);
  impl_->relist_failed_queries.Increment(failed_queries);
  if (failed_queries == 0) {
    impl_->relist_last_success.SetToCurrentTime();
  }
}

void AdapterMetrics::SetRuleSeries(std::string_view rule, double series) {
  impl_->rule_series.Add({{"rule", std::string(rule)}}).Set(series);
  impl_->rule_errors.Add({{"rule", std::string(rule)}});  // at zero until one fails
}

void AdapterMetrics::RecordRuleRelistError(std::string_view rule) {
  impl_->rule_errors.Add({{"rule", std::string(rule)}}).Increment();
}

void AdapterMetrics::SetRegistrySize(double custom_metrics, double external_metrics) {
  impl_->registry_metrics.Add({{"api", "custom"}}).Set(custom_metrics);
  impl_->registry_metrics.Add({{"api", "external"}}).Set(external_metrics);
}

void AdapterMetrics::SetConfigLoaded(double unix_seconds) {
  impl_->config_reload_ok.Set(1);
  impl_->config_reload_time.Set(unix_seconds);
}

void AdapterMetrics::RecordConfigReload(bool ok, double unix_seconds) {
  if (ok) {
    SetConfigLoaded(unix_seconds);
  } else {
    impl_->config_reload_ok.Set(0);
  }
  impl_->config_reloads.Add({{"outcome", ok ? "success" : "failure"}}).Increment();
}

void AdapterMetrics::RecordNonFiniteValue(std::string_view api) {
  impl_->non_finite.Add({{"api", std::string(api)}}).Increment();
}

void AdapterMetrics::InitBackend(std::string_view backend) {
  const prometheus::Labels labels = BackendLabel(backend);
  const auto with = [&labels](std::string_view name, std::string_view value) {
    prometheus::Labels more = labels;
    more.emplace(std::string(name), std::string(value));
    return more;
  };
  for (prometheus::Family<prometheus::Counter>* family :
       {&impl_->cache_hits, &impl_->cache_misses, &impl_->cache_coalesced, &impl_->cache_stale,
        &impl_->backend_rejected, &impl_->short_circuited}) {
    family->Add(labels);
  }
  for (prometheus::Family<prometheus::Gauge>* family :
       {&impl_->cache_entries, &impl_->cache_bytes, &impl_->breakers_open,
        &impl_->backend_in_flight, &impl_->backend_queue}) {
    family->Add(labels).Set(0);
  }
  impl_->cache_value_age.Add(labels, AgeBuckets());
  impl_->cache_refresh_lag.Add(labels, LatencyBuckets());
  for (const char* reason : {"capacity", "bytes", "idle"}) {
    impl_->cache_evictions.Add(with("reason", reason));
  }
  for (const char* outcome : {"ok", "error"}) {
    impl_->cache_refreshes.Add(with("outcome", outcome));
  }
  for (const char* to : {"open", "half_open", "closed"}) {
    impl_->breaker_transitions.Add(with("to", to));
  }
}

void AdapterMetrics::RecordCacheHit(std::string_view backend, double age_seconds) {
  BackendReadChildren& children = impl_->Backend(backend);
  const auto labels = [&backend] { return BackendLabel(backend); };
  children.hits.Get(impl_->cache_hits, labels).Increment();
  children.value_age.Get(impl_->cache_value_age, labels, AgeBuckets()).Observe(age_seconds);
}

void AdapterMetrics::RecordCacheMiss(std::string_view backend) {
  impl_->cache_misses.Add(BackendLabel(backend)).Increment();
}

void AdapterMetrics::RecordCacheCoalesced(std::string_view backend, double count) {
  impl_->cache_coalesced.Add(BackendLabel(backend)).Increment(count);
}

void AdapterMetrics::RecordCacheServed(std::string_view backend, double age_seconds, bool stale) {
  if (stale) {
    impl_->cache_stale.Add(BackendLabel(backend)).Increment();
  }
  impl_->Backend(backend)
      .value_age
      .Get(
          impl_->cache_value_age, [&backend] { return BackendLabel(backend); }, AgeBuckets())
      .Observe(age_seconds);
}

void AdapterMetrics::RecordCacheEviction(std::string_view backend, std::string_view reason,
                                         double count) {
  impl_->cache_evictions.Add({{"backend", std::string(backend)}, {"reason", std::string(reason)}})
      .Increment(count);
}

void AdapterMetrics::SetCacheEntries(std::string_view backend, double entries) {
  impl_->cache_entries.Add(BackendLabel(backend)).Set(entries);
}

void AdapterMetrics::SetCacheBytes(std::string_view backend, double bytes) {
  impl_->cache_bytes.Add(BackendLabel(backend)).Set(bytes);
}

void AdapterMetrics::RecordCacheRefresh(std::string_view backend, double lag_seconds) {
  impl_->cache_refresh_lag.Add(BackendLabel(backend), LatencyBuckets()).Observe(lag_seconds);
}

void AdapterMetrics::RecordCacheRefreshOutcome(std::string_view backend, bool ok) {
  impl_->cache_refreshes.Add({{"backend", std::string(backend)}, {"outcome", ok ? "ok" : "error"}})
      .Increment();
}

void AdapterMetrics::SetBackendLoad(std::string_view backend, double in_flight, double queued) {
  impl_->backend_in_flight.Add(BackendLabel(backend)).Set(in_flight);
  impl_->backend_queue.Add(BackendLabel(backend)).Set(queued);
}

void AdapterMetrics::RecordBackendRejected(std::string_view backend) {
  impl_->backend_rejected.Add(BackendLabel(backend)).Increment();
}

void AdapterMetrics::SetBreakersOpen(std::string_view backend, double open) {
  impl_->breakers_open.Add(BackendLabel(backend)).Set(open);
}

void AdapterMetrics::RecordBreakerTransition(std::string_view backend, std::string_view to) {
  impl_->breaker_transitions.Add({{"backend", std::string(backend)}, {"to", std::string(to)}})
      .Increment();
}

void AdapterMetrics::RecordShortCircuit(std::string_view backend) {
  impl_->short_circuited.Add(BackendLabel(backend)).Increment();
}

void AdapterMetrics::RecordAuthentication(std::string_view result) {
  impl_->authentications.Add({{"result", std::string(result)}}).Increment();
}

void AdapterMetrics::RecordAuthorization(std::string_view decision) {
  impl_->authorizations.Add({{"decision", std::string(decision)}}).Increment();
}

void AdapterMetrics::SetOpenConnections(double open) { impl_->open_connections.Set(open); }

void AdapterMetrics::RecordConnectionRejected() { impl_->connections_rejected.Increment(); }

void AdapterMetrics::RecordConnectionEvicted() { impl_->connections_evicted.Increment(); }

void AdapterMetrics::RecordCertificateReload(std::string_view file, bool ok) {
  impl_->certificate_reloads.Add({{"file", std::string(file)}, {"outcome", ok ? "ok" : "error"}})
      .Increment();
}

void AdapterMetrics::SetServingCertificateExpiry(double unix_seconds) {
  impl_->serving_certificate_expiry.Set(unix_seconds);
}

void AdapterMetrics::SetWatchCacheSource(std::function<std::vector<WatchCacheSize>()> source) {
  std::lock_guard<std::mutex> lock(impl_->watch_cache_mu);
  impl_->watch_cache_source = std::move(source);
}

std::string AdapterMetrics::Serialize() const {
  // Read at scrape time, so never stale.
  const std::optional<ProcessStats> process = ReadProcessStats();
  if (process.has_value()) {
    impl_->threads.Add({}).Set(process->threads);
  }
  {
    std::lock_guard<std::mutex> lock(impl_->watch_cache_mu);
    if (impl_->watch_cache_source) {
      for (const WatchCacheSize& size : impl_->watch_cache_source()) {
        impl_->watch_cache_objects
            .Add({{"resource", size.resource}, {"field_selector", size.field_selector}})
            .Set(size.objects);
      }
    }
  }
  std::vector<prometheus::MetricFamily> families = impl_->registry->Collect();
  if (process.has_value()) {
    AppendProcessFamilies(*process, families);
  }
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace ma::telemetry
