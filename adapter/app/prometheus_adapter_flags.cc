#include "adapter/app/prometheus_adapter_flags.h"

#include <algorithm>
#include <string>

namespace ma::app {
namespace {

constexpr FlagEffect kHonoured = FlagEffect::kHonoured;
constexpr FlagEffect kChanged = FlagEffect::kChanged;
constexpr FlagEffect kNoEffect = FlagEffect::kNoEffect;

// Reasons shared by several flags.
constexpr std::string_view kNoAudit =
    "no audit log: the adapter serves read-only metrics; its request log is -v=4";
constexpr std::string_view kNoKlog = "logs always go to stderr in klog's line format";
constexpr std::string_view kNoHttp2 = "the server speaks HTTP/1.1 only";

constexpr PrometheusAdapterFlag kFlags[] = {
    // prometheus-adapter's own.
    {"config", kHonoured, false, ""},
    {"prometheus-url", kHonoured, false, ""},
    {"prometheus-header", kHonoured, false, ""},
    {"prometheus-token-file", kChanged, false,
     "re-read when the file changes, so a rotated token is picked up without a restart"},
    {"prometheus-ca-file", kHonoured, false, ""},
    {"prometheus-client-tls-cert-file", kHonoured, false, ""},
    {"prometheus-client-tls-key-file", kHonoured, false, ""},
    {"prometheus-verb", kHonoured, false, ""},
    {"prometheus-auth-config", kChanged, false,
     "certificate, key, CA, token and token file of the current context are used; basic auth "
     "and exec plugins are refused at start"},
    {"prometheus-auth-incluster", kHonoured, false, ""},
    {"metrics-relist-interval", kHonoured, false, ""},
    {"metrics-max-age", kHonoured, false, ""},
    {"disable-http2", kNoEffect, false, kNoHttp2},
    // custom-metrics-apiserver's.
    {"lister-kubeconfig", kHonoured, false, ""},
    {"discovery-interval", kNoEffect, true,
     "API discovery is refreshed on its own schedule (prometheus-adapter never refreshed it)"},
    {"client-qps", kNoEffect, true,
     "objects come from a watch cache, which sends a few requests per resource type, not one "
     "per metric read"},
    {"client-burst", kNoEffect, true, "see --client-qps"},
    // The generic apiserver's serving flags.
    {"secure-port", kHonoured, false, ""},
    {"bind-address", kHonoured, false, ""},
    {"cert-dir", kHonoured, false, ""},
    {"tls-cert-file", kHonoured, false, ""},
    {"tls-private-key-file", kHonoured, false, ""},
    {"tls-cipher-suites", kHonoured, false, ""},
    {"tls-min-version", kChanged, false,
     "VersionTLS12 or VersionTLS13; the older versions Go still accepts are refused"},
    {"tls-sni-cert-key", kNoEffect, true,
     "one serving certificate for every server name: --tls-cert-file or the self-signed one"},
    {"http2-max-streams-per-connection", kNoEffect, true, kNoHttp2},
    {"permit-port-sharing", kNoEffect, false, "the port is never shared (no SO_REUSEPORT)"},
    {"permit-address-sharing", kNoEffect, false,
     "the listening socket is always bound with SO_REUSEADDR"},
    // Delegated authentication and authorization.
    {"authentication-kubeconfig", kHonoured, false, ""},
    {"authentication-token-webhook-cache-ttl", kHonoured, false, ""},
    {"authentication-skip-lookup", kNoEffect, false,
     "the extension-apiserver-authentication ConfigMap is always read (and watched)"},
    {"authentication-tolerate-lookup-failure", kNoEffect, false,
     "a failed ConfigMap lookup at start is fatal; the flag CAs still apply"},
    {"client-ca-file", kHonoured, false, ""},
    {"requestheader-client-ca-file", kHonoured, false, ""},
    {"requestheader-allowed-names", kHonoured, false, ""},
    {"requestheader-username-headers", kHonoured, false, ""},
    {"requestheader-group-headers", kHonoured, false, ""},
    {"requestheader-extra-headers-prefix", kHonoured, false, ""},
    {"authorization-kubeconfig", kHonoured, false, ""},
    {"authorization-webhook-cache-authorized-ttl", kHonoured, false, ""},
    {"authorization-webhook-cache-unauthorized-ttl", kHonoured, false, ""},
    {"authorization-always-allow-paths", kHonoured, false, ""},
    // Audit.
    {"audit-policy-file", kNoEffect, true, kNoAudit},
    {"audit-log-path", kNoEffect, true, kNoAudit},
    {"audit-log-maxage", kNoEffect, true, kNoAudit},
    {"audit-log-maxbackup", kNoEffect, true, kNoAudit},
    {"audit-log-maxsize", kNoEffect, true, kNoAudit},
    {"audit-log-format", kNoEffect, true, kNoAudit},
    {"audit-log-compress", kNoEffect, false, kNoAudit},
    {"audit-log-mode", kNoEffect, true, kNoAudit},
    {"audit-log-batch-buffer-size", kNoEffect, true, kNoAudit},
    {"audit-log-batch-max-size", kNoEffect, true, kNoAudit},
    {"audit-log-batch-max-wait", kNoEffect, true, kNoAudit},
    {"audit-log-batch-throttle-enable", kNoEffect, false, kNoAudit},
    {"audit-log-batch-throttle-qps", kNoEffect, true, kNoAudit},
    {"audit-log-batch-throttle-burst", kNoEffect, true, kNoAudit},
    {"audit-log-truncate-enabled", kNoEffect, false, kNoAudit},
    {"audit-log-truncate-max-batch-size", kNoEffect, true, kNoAudit},
    {"audit-log-truncate-max-event-size", kNoEffect, true, kNoAudit},
    {"audit-log-version", kNoEffect, true, kNoAudit},
    {"audit-webhook-config-file", kNoEffect, true, kNoAudit},
    {"audit-webhook-initial-backoff", kNoEffect, true, kNoAudit},
    {"audit-webhook-mode", kNoEffect, true, kNoAudit},
    {"audit-webhook-batch-buffer-size", kNoEffect, true, kNoAudit},
    {"audit-webhook-batch-max-size", kNoEffect, true, kNoAudit},
    {"audit-webhook-batch-max-wait", kNoEffect, true, kNoAudit},
    {"audit-webhook-batch-throttle-enable", kNoEffect, false, kNoAudit},
    {"audit-webhook-batch-throttle-qps", kNoEffect, true, kNoAudit},
    {"audit-webhook-batch-throttle-burst", kNoEffect, true, kNoAudit},
    {"audit-webhook-truncate-enabled", kNoEffect, false, kNoAudit},
    {"audit-webhook-truncate-max-batch-size", kNoEffect, true, kNoAudit},
    {"audit-webhook-truncate-max-event-size", kNoEffect, true, kNoAudit},
    {"audit-webhook-version", kNoEffect, true, kNoAudit},
    // Features.
    {"profiling", kNoEffect, false, "no /debug/pprof endpoints"},
    {"contention-profiling", kNoEffect, false, "no /debug/pprof endpoints"},
    {"debug-socket-path", kNoEffect, true, "no debug socket"},
    // Logging: component-base and klog.
    {"v", kChanged, false, "levels are this adapter's own; docs/migrating.md maps them"},
    {"vmodule", kChanged, false,
     "patterns match this adapter's source file names (e.g. api_handler=4)"},
    {"log-flush-frequency", kNoEffect, true, "every log line is written when it is logged"},
    {"logtostderr", kNoEffect, false, kNoKlog},
    {"alsologtostderr", kNoEffect, false, kNoKlog},
    {"log_dir", kNoEffect, true, kNoKlog},
    {"log_file", kNoEffect, true, kNoKlog},
    {"log_file_max_size", kNoEffect, true, kNoKlog},
    {"skip_headers", kNoEffect, false, kNoKlog},
    {"skip_log_headers", kNoEffect, false, kNoKlog},
    {"stderrthreshold", kNoEffect, true, kNoKlog},
    {"one_output", kNoEffect, false, kNoKlog},
    {"add_dir_header", kNoEffect, false, kNoKlog},
    {"log_backtrace_at", kNoEffect, true, kNoKlog},
};

std::string Underscored(std::string_view name) {
  std::string out(name);
  std::replace(out.begin(), out.end(), '-', '_');
  return out;
}

}  // namespace

std::span<const PrometheusAdapterFlag> PrometheusAdapterFlags() { return kFlags; }

const PrometheusAdapterFlag* FindPrometheusAdapterFlag(std::string_view name) {
  const std::string wanted = Underscored(name);
  for (const PrometheusAdapterFlag& flag : kFlags) {
    if (Underscored(flag.name) == wanted) {
      return &flag;
    }
  }
  return nullptr;
}

}  // namespace ma::app
