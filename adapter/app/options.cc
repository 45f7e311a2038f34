#include "adapter/app/options.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "adapter/cache/bulkhead.h"
#include "adapter/cache/caching_client.h"
#include "adapter/server/limits.h"
#include "adapter/server/tls_context.h"
#include "adapter/telemetry/log.h"
#include "queries/base/strings.h"

ABSL_FLAG(std::string, config, "", "rules file (prometheus-adapter's format)");
ABSL_FLAG(absl::Duration, metrics_relist_interval, absl::Minutes(10),
          "how often to list the series behind the rules");
ABSL_FLAG(absl::Duration, metrics_max_age, absl::ZeroDuration(),
          "only series with samples this recent are discovered (default: the relist interval)");
ABSL_FLAG(std::string, prometheus_url, "https://localhost", "Prometheus (or compatible) URL");
ABSL_FLAG(std::string, prometheus_token_file, "", "bearer token for Prometheus, re-read on change");
ABSL_FLAG(std::string, prometheus_ca_file, "", "CA bundle to verify Prometheus' certificate");
ABSL_FLAG(std::string, prometheus_client_tls_cert_file, "", "client certificate for Prometheus");
ABSL_FLAG(std::string, prometheus_client_tls_key_file, "", "client key for Prometheus");
ABSL_FLAG(std::string, prometheus_verb, "GET", "GET or POST for queries");
ABSL_FLAG(absl::Duration, prometheus_timeout, absl::Seconds(30), "timeout of one Prometheus query");
ABSL_FLAG(std::string, prometheus_auth_config, "",
          "kubeconfig file whose current context holds the credentials for Prometheus (its "
          "server is not used: --prometheus-url is)");
ABSL_FLAG(bool, prometheus_auth_incluster, false,
          "authenticate to Prometheus with the pod's service account token and CA");
ABSL_FLAG(absl::Duration, cache_ttl, absl::Seconds(15),
          "how long a Prometheus answer is served from memory; hot keys are refreshed before it "
          "runs out. 0 disables caching (identical concurrent queries are still sent once)");
namespace {
// Unless --cache-max-stale is given, it follows --cache-ttl: this many TTLs, and at least the
// flag's default (which is exactly that many of the default TTL).
constexpr int kMaxStaleTtls = 8;
const absl::Duration kDefaultCacheMaxStale = absl::Minutes(2);

// "<digits>[Ki|Mi|Gi]", as Kubernetes writes memory quantities; nullopt when it is not that or
// overflows.
std::optional<size_t> ParseByteSize(std::string_view text) {
  int shift = 0;
  for (const auto& [suffix, bits] : {std::pair{"Ki", 10}, {"Mi", 20}, {"Gi", 30}}) {
    if (text.ends_with(suffix)) {
      text.remove_suffix(2);
      shift = bits;
      break;
    }
  }
  uint64_t n = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() ||
      n > (std::numeric_limits<uint64_t>::max() >> shift)) {
    return std::nullopt;
  }
  return static_cast<size_t>(n << shift);
}
}  // namespace

ABSL_FLAG(absl::Duration, cache_max_stale, kDefaultCacheMaxStale,
          "how old a cached value may be when it is served because Prometheus fails; beyond "
          "that reads fail with 503. Default: 8 times --cache-ttl, at least 2m");
ABSL_FLAG(int64_t, cache_max_entries, 100000, "most queries kept in the cache (LRU eviction)");
static_assert(ma::cache::kDefaultCacheMaxBytes == size_t{128} << 20,
              "the --cache-max-bytes default below says 128Mi");
ABSL_FLAG(std::string, cache_max_bytes, "128Mi",
          "most memory the cache's keys and values may take (estimated; LRU eviction), in bytes "
          "or with a Ki, Mi or Gi suffix");
ABSL_FLAG(int, backend_max_concurrency, 32, "most queries in flight to Prometheus at once");
ABSL_FLAG(int, backend_max_queue, 1000,
          "most queries waiting for a free slot; beyond that reads fail at once with 503");
ABSL_FLAG(absl::Duration, cache_stale_wait, absl::FromChrono(ma::cache::kDefaultCacheStaleWait),
          "how long a read whose key has a value within --cache-max-stale waits for the key's "
          "query in flight before it is answered with that value (the query goes on and fills "
          "the cache); 0 answers at once");
ABSL_FLAG(absl::Duration, request_timeout, absl::FromChrono(ma::server::kHandlerTimeout),
          "the deadline of one request: authentication, authorization and the Prometheus query "
          "together; past it the client gets a 504 Timeout Status");
ABSL_FLAG(int, secure_port, 6443, "HTTPS port");
ABSL_FLAG(std::string, bind_address, "",
          "address to listen on (default 0.0.0.0; 127.0.0.1 with --standalone)");
ABSL_FLAG(std::string, cert_dir, "apiserver.local.config/certificates",
          "where the self-signed serving certificate is written when --tls-cert-file is absent");
ABSL_FLAG(std::string, tls_cert_file, "", "serving certificate (PEM)");
ABSL_FLAG(std::string, tls_private_key_file, "", "serving key (PEM)");
ABSL_FLAG(std::string, tls_min_version, "VersionTLS12", "VersionTLS12 or VersionTLS13");
ABSL_FLAG(std::vector<std::string>, tls_cipher_suites, {},
          "TLS 1.2 cipher suites, Go's names (e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256); "
          "default: Go's secure defaults");
ABSL_FLAG(std::string, client_ca_file, "", "CA for client certificates");
ABSL_FLAG(std::string, requestheader_client_ca_file, "", "CA of the front proxy (aggregator)");
ABSL_FLAG(std::vector<std::string>, requestheader_allowed_names, {},
          "common names allowed for the front proxy");
ABSL_FLAG(std::vector<std::string>, requestheader_username_headers, {"X-Remote-User"},
          "headers carrying the user name");
ABSL_FLAG(std::vector<std::string>, requestheader_group_headers, {"X-Remote-Group"},
          "headers carrying groups");
ABSL_FLAG(std::string, requestheader_extra_headers_prefix, "X-Remote-Extra-",
          "prefix of headers carrying extra user information");
ABSL_FLAG(std::string, authentication_kubeconfig, "", "kubeconfig for TokenReview");
ABSL_FLAG(std::string, authorization_kubeconfig, "", "kubeconfig for SubjectAccessReview");
ABSL_FLAG(std::vector<std::string>, authorization_always_allow_paths,
          std::vector<std::string>({"/healthz", "/readyz", "/livez"}),
          "paths served without authorization");
ABSL_FLAG(absl::Duration, authentication_token_webhook_cache_ttl, absl::Seconds(10),
          "how long TokenReview answers are cached");
ABSL_FLAG(absl::Duration, authorization_webhook_cache_authorized_ttl, absl::Seconds(10),
          "how long allowing SubjectAccessReview answers are cached");
ABSL_FLAG(absl::Duration, authorization_webhook_cache_unauthorized_ttl, absl::Seconds(10),
          "how long denying SubjectAccessReview answers are cached");
ABSL_FLAG(std::string, lister_kubeconfig, "", "kubeconfig for object lookups");
ABSL_FLAG(absl::Duration, shutdown_delay_duration, absl::ZeroDuration(),
          "after SIGTERM, how long /readyz fails while requests are still served, before the "
          "listener closes; give endpoints and the aggregator this long to stop sending here "
          "(a second SIGTERM ends it early)");
ABSL_FLAG(std::string, logging_format, "text",
          "log format: text (klog's lines) or json (one object per line, as the Kubernetes "
          "components write it)");
ABSL_FLAG(bool, standalone, false,
          "no Kubernetes API: no delegated authn/authz, no object lookups; anonymous requests "
          "are allowed");
ABSL_FLAG(int, v, 0,
          "log verbosity: 1 relists, 2 client errors, 4 each metric request and its PromQL, 6 "
          "each call to Prometheus");
ABSL_FLAG(std::string, vmodule, "",
          "per-file verbosity, PATTERN=N,...: PATTERN is a glob over source file names without "
          "extension (api_handler=4)");
ABSL_FLAG(std::string, series_file, "", "explain: a Prometheus /api/v1/series response body");
ABSL_FLAG(std::vector<std::string>, object_names, {},
          "explain: the objects a `*` request covers (stands in for the Kubernetes LIST)");

namespace ma::app {
namespace {

// Longer caches would keep revoked tokens and permissions alive for too long.
constexpr absl::Duration kMaxAuthCacheTtl = absl::Hours(1);
// A longer delay is a typo: no endpoint update takes minutes, and the pod's grace period must
// cover the delay and the drain after it.
constexpr absl::Duration kMaxShutdownDelay = absl::Minutes(5);

std::chrono::milliseconds ToMillis(absl::Duration d) {
  return std::chrono::milliseconds(absl::ToInt64Milliseconds(d));
}

}  // namespace

absl::StatusOr<Options> OptionsFromFlags(const std::vector<std::string>& prometheus_headers) {
  Options o;
  o.config = absl::GetFlag(FLAGS_config);
  o.metrics_relist_interval = ToMillis(absl::GetFlag(FLAGS_metrics_relist_interval));
  o.metrics_max_age = ToMillis(absl::GetFlag(FLAGS_metrics_max_age));
  if (o.metrics_relist_interval <= std::chrono::milliseconds(0)) {
    return absl::InvalidArgumentError("--metrics-relist-interval must be positive");
  }
  if (o.metrics_max_age.count() == 0) {
    o.metrics_max_age = o.metrics_relist_interval;
  } else if (o.metrics_max_age < o.metrics_relist_interval) {
    return absl::InvalidArgumentError(
        "--metrics-max-age must be at least --metrics-relist-interval, or series would vanish "
        "between relists");
  }
  o.prometheus_url = absl::GetFlag(FLAGS_prometheus_url);
  for (const auto& header : prometheus_headers) {
    const auto eq = header.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(
          Cat("--prometheus-header ", GoQuote(header), " is not of the form Name=value"));
    }
    o.prometheus_headers.emplace_back(header.substr(0, eq), header.substr(eq + 1));
  }
  o.prometheus_token_file = absl::GetFlag(FLAGS_prometheus_token_file);
  o.prometheus_ca_file = absl::GetFlag(FLAGS_prometheus_ca_file);
  o.prometheus_client_tls_cert_file = absl::GetFlag(FLAGS_prometheus_client_tls_cert_file);
  o.prometheus_client_tls_key_file = absl::GetFlag(FLAGS_prometheus_client_tls_key_file);
  o.prometheus_verb = absl::GetFlag(FLAGS_prometheus_verb);
  o.prometheus_timeout = ToMillis(absl::GetFlag(FLAGS_prometheus_timeout));
  o.prometheus_auth_config = absl::GetFlag(FLAGS_prometheus_auth_config);
  o.prometheus_auth_incluster = absl::GetFlag(FLAGS_prometheus_auth_incluster);
  if (o.prometheus_auth_incluster && !o.prometheus_auth_config.empty()) {
    return absl::InvalidArgumentError(
        "--prometheus-auth-incluster and --prometheus-auth-config may not be used together");
  }
  o.cache_ttl = ToMillis(absl::GetFlag(FLAGS_cache_ttl));
  o.cache_max_stale = ToMillis(absl::GetFlag(FLAGS_cache_max_stale));
  // absl does not tell whether a flag was on the command line: its default value counts as not
  // given (with a TTL above 15s, 2m would be refused anyway).
  const bool max_stale_given = absl::GetFlag(FLAGS_cache_max_stale) != kDefaultCacheMaxStale;
  if (!max_stale_given) {
    // `--cache-ttl=10m` alone must start: a fixed 2m would be below the TTL.
    o.cache_max_stale = std::min(cache::kMaxCacheMaxStale, std::max(ToMillis(kDefaultCacheMaxStale),
                                                                    kMaxStaleTtls * o.cache_ttl));
  }
  if (o.cache_ttl.count() < 0 || o.cache_ttl > cache::kMaxCacheTtl) {
    return absl::InvalidArgumentError(
        Cat("--cache-ttl must be between 0 (no caching) and ",
            absl::FormatDuration(absl::FromChrono(cache::kMaxCacheTtl))));
  }
  if (o.cache_max_stale > cache::kMaxCacheMaxStale) {
    return absl::InvalidArgumentError(
        Cat("--cache-max-stale must be at most ",
            absl::FormatDuration(absl::FromChrono(cache::kMaxCacheMaxStale))));
  }
  if (o.cache_max_stale < o.cache_ttl) {
    return absl::InvalidArgumentError(
        "--cache-max-stale must be at least --cache-ttl: a value is served fresh for the TTL, "
        "and stale values are the ones older than that");
  }
  const int64_t max_entries = absl::GetFlag(FLAGS_cache_max_entries);
  if (max_entries < 1 || max_entries > static_cast<int64_t>(cache::kMaxCacheEntries)) {
    return absl::InvalidArgumentError(
        Cat("--cache-max-entries must be between 1 and ", cache::kMaxCacheEntries));
  }
  o.cache_max_entries = static_cast<size_t>(max_entries);
  const std::string max_bytes_flag = absl::GetFlag(FLAGS_cache_max_bytes);
  const std::optional<size_t> max_bytes = ParseByteSize(max_bytes_flag);
  if (!max_bytes || *max_bytes < cache::kMinCacheMaxBytes ||
      *max_bytes > cache::kMaxCacheMaxBytes) {
    return absl::InvalidArgumentError(Cat("--cache-max-bytes ", GoQuote(max_bytes_flag),
                                          ": must be between ", cache::kMinCacheMaxBytes >> 20,
                                          "Mi and ", cache::kMaxCacheMaxBytes >> 30, "Gi"));
  }
  o.cache_max_bytes = *max_bytes;
  o.backend_max_concurrency = absl::GetFlag(FLAGS_backend_max_concurrency);
  if (o.backend_max_concurrency < 1 || o.backend_max_concurrency > cache::kMaxBackendConcurrency) {
    return absl::InvalidArgumentError(
        Cat("--backend-max-concurrency must be between 1 and ", cache::kMaxBackendConcurrency));
  }
  o.backend_max_queue = absl::GetFlag(FLAGS_backend_max_queue);
  if (o.backend_max_queue < 0 || o.backend_max_queue > cache::kMaxBackendQueue) {
    return absl::InvalidArgumentError(
        Cat("--backend-max-queue must be between 0 and ", cache::kMaxBackendQueue));
  }
  o.request_timeout = ToMillis(absl::GetFlag(FLAGS_request_timeout));
  if (o.request_timeout < server::kMinRequestTimeout ||
      o.request_timeout > server::kMaxRequestTimeout) {
    return absl::InvalidArgumentError(
        Cat("--request-timeout must be between ",
            absl::FormatDuration(absl::FromChrono(server::kMinRequestTimeout)), " and ",
            absl::FormatDuration(absl::FromChrono(server::kMaxRequestTimeout)),
            " (the aggregator gives up after 60s)"));
  }
  o.cache_stale_wait = ToMillis(absl::GetFlag(FLAGS_cache_stale_wait));
  if (o.cache_stale_wait.count() < 0 || o.cache_stale_wait > cache::kMaxCacheStaleWait ||
      o.cache_stale_wait >= o.request_timeout) {
    return absl::InvalidArgumentError(
        Cat("--cache-stale-wait must be between 0 and ",
            absl::FormatDuration(absl::FromChrono(cache::kMaxCacheStaleWait)),
            ", and below --request-timeout: a read past its deadline gets no stale value"));
  }
  o.secure_port = absl::GetFlag(FLAGS_secure_port);
  if (o.secure_port < 0 || o.secure_port > 65535) {
    return absl::InvalidArgumentError(Cat("--secure-port ", o.secure_port, " is out of range"));
  }
  o.standalone = absl::GetFlag(FLAGS_standalone);
  o.bind_address = absl::GetFlag(FLAGS_bind_address);
  if (o.bind_address.empty()) {
    o.bind_address = o.standalone ? "127.0.0.1" : "0.0.0.0";
  }
  o.cert_dir = absl::GetFlag(FLAGS_cert_dir);
  o.tls_cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  o.tls_private_key_file = absl::GetFlag(FLAGS_tls_private_key_file);
  if (o.tls_cert_file.empty() != o.tls_private_key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls-cert-file and --tls-private-key-file must be given together");
  }
  o.tls_min_version = absl::GetFlag(FLAGS_tls_min_version);
  if (o.tls_min_version != "VersionTLS12" && o.tls_min_version != "VersionTLS13") {
    return absl::InvalidArgumentError(Cat("--tls-min-version ", GoQuote(o.tls_min_version),
                                          " is not VersionTLS12 or VersionTLS13"));
  }
  o.tls_cipher_suites = absl::GetFlag(FLAGS_tls_cipher_suites);
  if (!o.tls_cipher_suites.empty()) {
    if (const auto list = server::Tls12CipherList(o.tls_cipher_suites); !list.ok()) {
      return list.status();
    }
  }
  o.client_ca_file = absl::GetFlag(FLAGS_client_ca_file);
  o.requestheader_client_ca_file = absl::GetFlag(FLAGS_requestheader_client_ca_file);
  o.requestheader_allowed_names = absl::GetFlag(FLAGS_requestheader_allowed_names);
  o.requestheader_username_headers = absl::GetFlag(FLAGS_requestheader_username_headers);
  o.requestheader_group_headers = absl::GetFlag(FLAGS_requestheader_group_headers);
  o.requestheader_extra_headers_prefix = absl::GetFlag(FLAGS_requestheader_extra_headers_prefix);
  o.authentication_kubeconfig = absl::GetFlag(FLAGS_authentication_kubeconfig);
  o.authorization_kubeconfig = absl::GetFlag(FLAGS_authorization_kubeconfig);
  o.authorization_always_allow_paths = absl::GetFlag(FLAGS_authorization_always_allow_paths);
  struct AuthCacheTtl {
    std::string_view flag;
    absl::Duration value;
    std::chrono::milliseconds* field;
  };
  for (const AuthCacheTtl& ttl : {
           AuthCacheTtl{"--authentication-token-webhook-cache-ttl",
                        absl::GetFlag(FLAGS_authentication_token_webhook_cache_ttl),
                        &o.authentication_token_webhook_cache_ttl},
           AuthCacheTtl{"--authorization-webhook-cache-authorized-ttl",
                        absl::GetFlag(FLAGS_authorization_webhook_cache_authorized_ttl),
                        &o.authorization_webhook_cache_authorized_ttl},
           AuthCacheTtl{"--authorization-webhook-cache-unauthorized-ttl",
                        absl::GetFlag(FLAGS_authorization_webhook_cache_unauthorized_ttl),
                        &o.authorization_webhook_cache_unauthorized_ttl},
       }) {
    if (ttl.value < absl::ZeroDuration() || ttl.value > kMaxAuthCacheTtl) {
      return absl::InvalidArgumentError(Cat(ttl.flag, " must be between 0 (no caching) and ",
                                            absl::FormatDuration(kMaxAuthCacheTtl)));
    }
    *ttl.field = ToMillis(ttl.value);
  }
  o.lister_kubeconfig = absl::GetFlag(FLAGS_lister_kubeconfig);
  const absl::Duration shutdown_delay = absl::GetFlag(FLAGS_shutdown_delay_duration);
  if (shutdown_delay < absl::ZeroDuration() || shutdown_delay > kMaxShutdownDelay) {
    return absl::InvalidArgumentError(Cat("--shutdown-delay-duration must be between 0 and ",
                                          absl::FormatDuration(kMaxShutdownDelay)));
  }
  o.shutdown_delay_duration = ToMillis(shutdown_delay);
  o.verbosity = absl::GetFlag(FLAGS_v);
  o.vmodule = absl::GetFlag(FLAGS_vmodule);
  const std::string logging_format = absl::GetFlag(FLAGS_logging_format);
  if (const auto format = telemetry::ParseLogFormat(logging_format); format.has_value()) {
    o.logging_format = *format;
  } else {
    return absl::InvalidArgumentError(
        Cat("--logging-format must be text or json, not ", GoQuote(logging_format)));
  }
  if (const std::string problem = telemetry::CheckVModule(o.vmodule); !problem.empty()) {
    return absl::InvalidArgumentError(problem);
  }
  o.series_file = absl::GetFlag(FLAGS_series_file);
  o.object_names = absl::GetFlag(FLAGS_object_names);
  return o;
}

}  // namespace ma::app
