#include "adapter/app/serve.h"

#include <iostream>

#include "adapter/app/instrumented_prometheus_client.h"
#include "adapter/app/version.h"
#include "adapter/cli/rules_file.h"
#include "adapter/discovery/relister.h"
#include "adapter/handlers/api_handler.h"
#include "adapter/prometheus/http_prometheus_client.h"
#include "adapter/server/server.h"
#include "adapter/telemetry/adapter_metrics.h"
#include "adapter/telemetry/log.h"
#include "queries/base/snapshot.h"
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
  s.client_ca_file = o.client_ca_file;
  s.requestheader_client_ca_file = o.requestheader_client_ca_file;
  return s;
}

}  // namespace

int Serve(const Options& options) {
  telemetry::SetVerbosity(options.verbosity);
  if (options.config.empty()) {
    MA_LOG(ERROR)
        << "no metrics discovery configuration file specified (make sure to use --config)";
    return 1;
  }
  if (!options.standalone) {
    // TODO(4): delegated authentication and authorization, object lookups.
    MA_LOG(ERROR) << "the Kubernetes integration is not available yet: run with --standalone";
    return 1;
  }
  MA_LOG(WARNING) << "--standalone: no Kubernetes API; requests are not authenticated and "
                     "anonymous requests are allowed";

  const auto mapper = model::BuiltinResourceMapper();
  const auto file =
      cli::LoadRulesFile(options.config, {.mapper = mapper, .allow_unknown_resources = true});
  if (!file.problems.empty()) {
    for (const auto& problem : file.problems) {
      MA_LOG(ERROR) << problem;
    }
    MA_LOG(ERROR) << "unable to load metrics discovery config " << options.config;
    return 1;
  }
  Snapshot<rules::RuleSet> rules(file.rule_set);
  Snapshot<registry::MetricRegistry> registry;

  auto http_client = prometheus::HttpPrometheusClient::Create(PrometheusOptionsFrom(options));
  if (!http_client.ok()) {
    MA_LOG(ERROR) << http_client.status().message();
    return 1;
  }
  telemetry::AdapterMetrics metrics(GitVersion(), GitCommit());
  InstrumentedPrometheusClient prometheus(**http_client, metrics);

  discovery::Relister relister(prometheus, rules, registry, metrics,
                               {options.metrics_relist_interval, options.metrics_max_age});
  handlers::ApiHandler handler(
      rules, registry, mapper, prometheus, metrics, [&relister] { return relister.has_run(); },
      {.standalone = options.standalone, .git_version = GitVersion(), .git_commit = GitCommit()});
  auto server = server::Server::Create(ServerOptionsFrom(options), handler.AsHandler());
  if (!server.ok()) {
    MA_LOG(ERROR) << server.status().message();
    return 1;
  }
  relister.Start();
  MA_LOG(INFO) << VersionString() << " serving on https://" << options.bind_address << ":"
               << (*server)->port() << " with " << file.rule_set->custom_rules().size()
               << " custom and " << file.rule_set->external_rules().size()
               << " external rules from " << options.config;
  (*server)->Run();
  MA_LOG(INFO) << "shutting down";
  relister.Stop();
  return 0;
}

}  // namespace ma::app
