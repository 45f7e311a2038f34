#pragma once

// The command line: every flag of every subcommand, named as prometheus-adapter and the
// Kubernetes generic apiserver name them (docs/design.md, "Interface contract"), gathered into one
// Options value.

#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "adapter/telemetry/log.h"

namespace ma::app {

struct Options {
  // Rules and discovery.
  std::string config;
  std::chrono::milliseconds metrics_relist_interval{std::chrono::minutes(10)};
  std::chrono::milliseconds metrics_max_age{0};  // 0: the relist interval

  // Prometheus.
  std::string prometheus_url;
  std::vector<std::pair<std::string, std::string>> prometheus_headers;
  std::string prometheus_token_file;
  std::string prometheus_ca_file;
  std::string prometheus_client_tls_cert_file;
  std::string prometheus_client_tls_key_file;
  std::string prometheus_verb;
  std::chrono::milliseconds prometheus_timeout{std::chrono::seconds(30)};
  // prometheus-adapter's kubeconfig-style credentials for Prometheus (prometheus_auth.h).
  std::string prometheus_auth_config;
  bool prometheus_auth_incluster = false;

  // Value cache and bulkheads (adapter/cache).
  std::chrono::milliseconds cache_ttl{std::chrono::seconds(15)};  // 0: no caching
  std::chrono::milliseconds cache_max_stale{std::chrono::minutes(2)};
  size_t cache_max_entries = 100000;
  size_t cache_max_bytes = size_t{128} << 20;  // cache::kDefaultCacheMaxBytes
  int backend_max_concurrency = 32;
  int backend_max_queue = 1000;
  // How long a read with a stale value waits for the key's query before it gets that value.
  std::chrono::milliseconds cache_stale_wait{std::chrono::milliseconds(1500)};

  // Serving.
  // One deadline per request: authentication, authorization and the backend call together.
  std::chrono::milliseconds request_timeout{std::chrono::seconds(30)};
  int secure_port = 6443;
  std::string bind_address;
  std::string cert_dir;
  std::string tls_cert_file;
  std::string tls_private_key_file;
  std::string tls_min_version;
  std::vector<std::string> tls_cipher_suites;  // Go's names, already checked
  std::string client_ca_file;
  std::string requestheader_client_ca_file;
  std::vector<std::string> requestheader_allowed_names;
  std::vector<std::string> requestheader_username_headers;
  std::vector<std::string> requestheader_group_headers;
  std::string requestheader_extra_headers_prefix;
  std::string authentication_kubeconfig;
  std::string authorization_kubeconfig;
  std::vector<std::string> authorization_always_allow_paths;
  // Delegated authn/authz caches (Go's generic apiserver defaults); 0 disables each.
  std::chrono::milliseconds authentication_token_webhook_cache_ttl{std::chrono::seconds(10)};
  std::chrono::milliseconds authorization_webhook_cache_authorized_ttl{std::chrono::seconds(10)};
  std::chrono::milliseconds authorization_webhook_cache_unauthorized_ttl{std::chrono::seconds(10)};
  std::string lister_kubeconfig;
  // After SIGTERM: how long /readyz fails while requests are still served (docs/deploy.md).
  std::chrono::milliseconds shutdown_delay_duration{0};
  bool standalone = false;
  int verbosity = 0;
  std::string vmodule;  // already checked
  telemetry::LogFormat logging_format = telemetry::LogFormat::kText;

  // explain.
  std::string series_file;
  std::vector<std::string> object_names;
};

// Reads the parsed flags. kInvalidArgument naming the flag for values that cannot work
// (a --prometheus-header without '=', a port out of range, max-age below the relist interval,
// cache bounds out of range or a --cache-max-stale below --cache-ttl, an unknown cipher suite, a
// malformed --vmodule, a --request-timeout out of range or a --cache-stale-wait not below it,
// both --prometheus-auth-config and --prometheus-auth-incluster, a negative
// or overlong --shutdown-delay-duration).
// `prometheus_headers` are the values of the repeatable --prometheus-header, which absl flags
// cannot express (see command_line.h).
absl::StatusOr<Options> OptionsFromFlags(const std::vector<std::string>& prometheus_headers);

}  // namespace ma::app
