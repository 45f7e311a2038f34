#include "adapter/app/serve.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <vector>

#include "adapter/api/status.h"
#include "adapter/app/certificate_reload.h"
#include "adapter/app/delegated_auth.h"
#include "adapter/app/heap_trimmer.h"
#include "adapter/app/instrumented_prometheus_client.h"
#include "adapter/app/prometheus_auth.h"
#include "adapter/app/version.h"
#include "adapter/cache/caching_client.h"
#include "adapter/cli/rules_file.h"
#include "adapter/decode/decode_pool.h"
#include "adapter/discovery/relister.h"
#include "adapter/handlers/api_handler.h"
#include "adapter/handlers/resource_metrics.h"
#include "adapter/kube/api_client.h"
#include "adapter/kube/http_api_client.h"
#include "adapter/kube/kubeconfig.h"
#include "adapter/kube/list_watcher.h"
#include "adapter/objects/discovery_resource_mapper.h"
#include "adapter/objects/list_watch_factory.h"
#include "adapter/objects/object_cache.h"
#include "adapter/outbound/http_client.h"
#include "adapter/prometheus/http_prometheus_client.h"
#include "adapter/reload/rules_reloader.h"
#include "adapter/scheduler/scheduler.h"
#include "adapter/server/server.h"
#include "adapter/telemetry/adapter_metrics.h"
#include "adapter/telemetry/log.h"
#include "queries/base/snapshot.h"
#include "queries/base/status_macros.h"
#include "queries/base/strings.h"
#include "queries/model/resource_mapper.h"

namespace ma::app {
namespace {

prometheus::PrometheusOptions PrometheusOptionsFrom(const Options& o) {
  prometheus::PrometheusOptions p;
  p.url = o.prometheus_url;
  p.verb = o.prometheus_verb;
  p.headers = o.prometheus_headers;
  p.token_file = o.prometheus_token_file;
  p.tls.ca_file = o.prometheus_ca_file;
  p.tls.client_cert_file = o.prometheus_client_tls_cert_file;
  p.tls.client_key_file = o.prometheus_client_tls_key_file;
  p.query_timeout = o.prometheus_timeout;
  return p;
}

server::ServerOptions ServerOptionsFrom(const Options& o) {
  server::ServerOptions s;
  s.bind_address = o.bind_address;
  s.port = static_cast<uint16_t>(o.secure_port);
  s.tls_cert_file = o.tls_cert_file;
  s.tls_private_key_file = o.tls_private_key_file;
  s.cert_dir = o.cert_dir;
  s.tls_min_version = o.tls_min_version;
  s.tls_cipher_suites = o.tls_cipher_suites;
  s.client_ca_file = o.client_ca_file;
  s.requestheader_client_ca_file = o.requestheader_client_ca_file;
  s.shutdown_delay = o.shutdown_delay_duration;
  s.limits.handler_timeout = o.request_timeout;
  return s;
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The Kubernetes API clients, one per kubeconfig flag as a Go aggregated server has them, and the
// delegated authentication and authorization built on two of them (declared last: it holds
// references to the clients, so it goes first).
struct KubernetesParts {
  std::unique_ptr<kube::ApiClient> lister;          // discovery and the object cache's watches
  std::unique_ptr<kube::ApiClient> authentication;  // the auth ConfigMap, TokenReview
  std::unique_ptr<kube::ApiClient> authorization;   // SubjectAccessReview
  std::unique_ptr<DelegatedAuth> auth;
};

absl::StatusOr<std::unique_ptr<kube::ApiClient>> KubeClient(outbound::HttpClient& http,
                                                            const std::string& kubeconfig,
                                                            std::string_view flag) {
  MA_ASSIGN_OR_RETURN(const kube::ClusterConfig config, kube::LoadClusterConfig(kubeconfig, flag));
  MA_ASSIGN_OR_RETURN(std::unique_ptr<kube::HttpApiClient> client,
                      kube::HttpApiClient::Create(http, config));
  MA_LOG(INFO) << "Kubernetes API for " << flag << ": " << config.server << " (" << config.source
               << ")";
  return client;
}

absl::StatusOr<KubernetesParts> ConnectToKubernetes(outbound::HttpClient& http,
                                                    const Options& options) {
  KubernetesParts parts;
  MA_ASSIGN_OR_RETURN(parts.lister,
                      KubeClient(http, options.lister_kubeconfig, "--lister-kubeconfig"));
  MA_ASSIGN_OR_RETURN(parts.authentication, KubeClient(http, options.authentication_kubeconfig,
                                                       "--authentication-kubeconfig"));
  MA_ASSIGN_OR_RETURN(parts.authorization, KubeClient(http, options.authorization_kubeconfig,
                                                      "--authorization-kubeconfig"));
  MA_ASSIGN_OR_RETURN(parts.auth,
                      DelegatedAuth::Create(options, *parts.authentication, *parts.authorization));
  return parts;
}

}  // namespace

int Serve(const Options& options) {
  telemetry::SetLogFormat(options.logging_format);
  telemetry::SetVerbosity(options.verbosity);
  telemetry::SetVModule(options.vmodule);  // checked by OptionsFromFlags
  if (options.config.empty()) {
    MA_LOG(ERROR)
        << "no metrics discovery configuration file specified (make sure to use --config)";
    return 1;
  }
  // Every outbound request (Prometheus, each Kubernetes API client) goes through this one client
  // and its one worker thread; each user has a channel with its own TLS settings. Declared first,
  // so destroyed last: every channel closes before it.
  auto http = outbound::HttpClient::Create(outbound::HttpClientOptions{});
  if (!http.ok()) {
    MA_LOG(ERROR) << http.status().message();
    return 1;
  }
  // Large bodies (series listings, LIST pages, WATCH events) are decoded here, off the HTTP
  // worker. Declared before every API client, so destroyed after their callbacks stop coming.
  decode::DecodePool decode_pool;
  // The periodic work (relister runs, cache maintenance, discovery refreshes, list-watch
  // backoffs) runs as jobs on this one thread. Declared before all of them, so destroyed after
  // they stop.
  scheduler::Scheduler scheduler;
  const kube::ListWatchRuntime list_watch_runtime{scheduler, decode_pool};
  std::optional<KubernetesParts> kubernetes;
  std::shared_ptr<objects::DiscoveryResourceMapper> discovery_mapper;
  std::shared_ptr<const model::ResourceMapper> mapper = model::BuiltinResourceMapper();
  if (options.standalone) {
    MA_LOG(WARNING) << "--standalone: no Kubernetes API; requests are not authenticated and "
                       "anonymous requests are allowed";
  } else {
    auto parts = ConnectToKubernetes(**http, options);
    if (!parts.ok()) {
      MA_LOG(ERROR) << parts.status().message();
      return 1;
    }
    kubernetes = *std::move(parts);
    // The rules name resources as the cluster serves them, so discovery comes first.
    discovery_mapper = std::make_shared<objects::DiscoveryResourceMapper>(
        *kubernetes->lister, objects::DiscoveryMapperOptions{});
    if (const auto status = discovery_mapper->Refresh(); !status.ok()) {
      MA_LOG(ERROR) << status.message() << " (check --lister-kubeconfig and the RBAC rules)";
      return 1;
    }
    mapper = discovery_mapper;
  }
  const auto file = cli::LoadRulesFile(
      options.config, {.mapper = mapper, .allow_unknown_resources = options.standalone});
  if (!file.problems.empty()) {
    for (const auto& problem : file.problems) {
      MA_LOG(ERROR) << problem;
    }
    MA_LOG(ERROR) << "unable to load metrics discovery config " << options.config;
    return 1;
  }
  Snapshot<rules::RuleSet> rules(file.rule_set);
  Snapshot<registry::MetricRegistry> registry;

  prometheus::PrometheusOptions prometheus_options = PrometheusOptionsFrom(options);
  // Holds the files of the credentials' `*-data` fields as long as the client may connect.
  kube::PemFiles prometheus_pem_files;
  if (const auto status = ApplyPrometheusAuth(options, prometheus_pem_files, prometheus_options);
      !status.ok()) {
    MA_LOG(ERROR) << status.message();
    return 1;
  }
  auto http_client =
      prometheus::HttpPrometheusClient::Create(**http, std::move(prometheus_options), &decode_pool);
  if (!http_client.ok()) {
    MA_LOG(ERROR) << http_client.status().message();
    return 1;
  }
  telemetry::AdapterMetrics metrics(GitVersion(), GitCommit());
  InstrumentedPrometheusClient prometheus(**http_client, metrics, options.prometheus_url);
  // HPA reads are answered from memory; the relister's series listings go to Prometheus as is.
  cache::CacheOptions cache_options;
  cache_options.ttl = options.cache_ttl;
  cache_options.max_stale = options.cache_max_stale;
  cache_options.stale_wait = options.cache_stale_wait;
  cache_options.max_entries = options.cache_max_entries;
  cache_options.max_bytes = options.cache_max_bytes;
  cache_options.bulkhead = {options.backend_max_concurrency, options.backend_max_queue};
  cache::CachingClient cached_prometheus(prometheus, metrics, std::move(cache_options));

  discovery::Relister relister(prometheus, rules, registry, metrics,
                               {options.metrics_relist_interval, options.metrics_max_age});
  // SIGHUP and changes of the file reload the rules, validated as at start.
  reload::RulesReloader reloader(
      {.path = options.config,
       .compile = {.mapper = mapper, .allow_unknown_resources = options.standalone}},
      rules, metrics, [&relister] { relister.RelistNow(); });
  // `*` requests take their objects from here; the HPA's Pods metrics need pods from the start.
  std::unique_ptr<objects::ObjectCache> object_cache;
  if (kubernetes.has_value()) {
    object_cache = std::make_unique<objects::ObjectCache>(
        mapper, objects::ListWatcherFactory(*kubernetes->lister, list_watch_runtime));
    std::vector<objects::Collection> at_start;
    if (!file.rule_set->custom_rules().empty()) {
      at_start.push_back(model::GroupResource{"", "pods"});
    }
    if (file.rule_set->resource_rules().has_value()) {
      // metrics.k8s.io reports on Running pods and on nodes.
      at_start.push_back(handlers::RunningPods());
      at_start.push_back(handlers::Nodes());
    }
    if (const auto status = object_cache->WatchAtStart(at_start); !status.ok()) {
      MA_LOG(ERROR) << "unable to watch pods and nodes: " << status.message();
      return 1;
    }
    // Cleared before the cache stops; each scrape samples it.
    metrics.SetWatchCacheSource([cache = object_cache.get()] {
      std::vector<telemetry::AdapterMetrics::WatchCacheSize> sizes;
      for (const auto& [collection, objects] : cache->Sizes()) {
        sizes.push_back({collection.resource.String(), collection.field_selector,
                         static_cast<double>(objects)});
      }
      return sizes;
    });
  }
  // Set by the server when SIGTERM arrives: /readyz fails from then on (docs/deploy.md,
  // "Rollouts").
  std::atomic<bool> shutting_down{false};
  std::chrono::steady_clock::time_point shutdown_began;  // written before Run returns
  handlers::ApiHandler handler(
      rules, registry, mapper, cached_prometheus, metrics,
      [&relister] { return relister.has_run(); },
      {.standalone = options.standalone,
       .objects = object_cache.get(),
       .git_version = GitVersion(),
       .git_commit = GitCommit(),
       .platform = Platform(),
       .relist_details = [&relister] { return relister.DescribeRuleStates(); },
       .shutting_down = [&shutting_down] { return shutting_down.load(); }});
  http::Handler served = handler.AsHandler();
  server::ServerOptions server_options = ServerOptionsFrom(options);
  server_options.metrics = &metrics;
  server_options.on_reload_signal = [&reloader] { reloader.RequestReload(); };
  server_options.on_shutdown = [&shutting_down, &shutdown_began] {
    shutdown_began = std::chrono::steady_clock::now();
    shutting_down = true;
  };
  if (kubernetes.has_value()) {
    served = kubernetes->auth->Wrap(std::move(served), &metrics);
    // The client CA bundles come from the flags merged with the ConfigMap, and may change later.
    server_options.client_ca_file.clear();
    server_options.requestheader_client_ca_file.clear();
    server_options.request_client_certificates = true;
  }
  auto server =
      server::Server::Create(std::move(server_options), std::move(served), &api::StatusResponse);
  if (!server.ok()) {
    MA_LOG(ERROR) << server.status().message();
    return 1;
  }
  if (kubernetes.has_value()) {
    const auth::AuthenticationConfig& initial = kubernetes->auth->initial_config();
    if (const auto status =
            (*server)->UpdateClientCas(initial.client_ca_pem, initial.requestheader_ca_pem);
        !status.ok()) {
      MA_LOG(ERROR) << status.message();
      return 1;
    }
    kubernetes->auth->Start(
        list_watch_runtime,
        [&server = **server](std::string_view client_ca, std::string_view requestheader_ca) {
          return server.UpdateClientCas(client_ca, requestheader_ca);
        });
  }
  // Rotated certificates and CA bundles apply to new connections without a restart.
  CertificateReloader certificate_reloader(
      scheduler, metrics,
      ServingFiles(
          **server, metrics, options.client_ca_file, options.requestheader_client_ca_file,
          [&server = **server, auth = kubernetes.has_value() ? kubernetes->auth.get() : nullptr] {
            return auth != nullptr ? auth->ReloadCaFiles() : server.ReloadClientCaFiles();
          }));
  // Memory freed after a burst (connections, answers, cache churn) goes back to the system.
  HeapTrimmer heap_trimmer;
  heap_trimmer.Start(scheduler);
  relister.Start(scheduler);
  reloader.Start(scheduler);
  cached_prometheus.Start(scheduler);
  if (discovery_mapper != nullptr) {
    discovery_mapper->Start(scheduler);
  }
  MA_LOG(INFO) << VersionString() << " serving on https://" << options.bind_address << ":"
               << (*server)->port() << " with " << file.rule_set->custom_rules().size()
               << " custom and " << file.rule_set->external_rules().size()
               << " external rules from " << options.config;
  (*server)->Run();
  // The requests are drained. What runs in the background is cancelled rather than waited for:
  // the watches stop, then every outbound request (a relist's listings, queries queued or in
  // flight, discovery) ends at once, so the waits below are short.
  const auto cancel_began = std::chrono::steady_clock::now();
  if (shutdown_began == std::chrono::steady_clock::time_point()) {
    shutdown_began = cancel_began;
  }
  reloader.Stop();
  certificate_reloader.Stop();
  heap_trimmer.Stop();
  if (object_cache != nullptr) {
    object_cache->Stop();
    metrics.SetWatchCacheSource(nullptr);
  }
  if (kubernetes.has_value()) {
    kubernetes->auth->Stop();
  }
  cached_prometheus.Stop();
  (*http)->CancelAll();
  relister.Stop();
  if (discovery_mapper != nullptr) {
    discovery_mapper->Stop();
  }
  MA_LOG(INFO) << "shutdown: background work cancelled in " << SecondsSince(cancel_began)
               << "s; done " << SecondsSince(shutdown_began) << "s after shutdown began";
  return 0;
}

}  // namespace ma::app
