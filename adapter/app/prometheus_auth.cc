#include "adapter/app/prometheus_auth.h"

#include <string_view>

#include "adapter/telemetry/log.h"
#include "queries/base/status_macros.h"
#include "queries/base/strings.h"

namespace ma::app {

absl::Status ApplyPrometheusAuth(const Options& options, kube::PemFiles& files,
                                 prometheus::PrometheusOptions& prometheus,
                                 const kube::InClusterEnvironment& in_cluster) {
  const bool incluster = options.prometheus_auth_incluster;
  if (!incluster && options.prometheus_auth_config.empty()) {
    return absl::OkStatus();
  }
  const std::string_view flag =
      incluster ? "--prometheus-auth-incluster" : "--prometheus-auth-config";
  if (!options.prometheus_ca_file.empty()) {
    MA_LOG(WARNING) << flag << " is ignored because --prometheus-ca-file is set (as in "
                    << "prometheus-adapter, the CA file wins)";
    return absl::OkStatus();
  }
  const auto named = [flag](const absl::Status& status) {
    return absl::Status(status.code(), Cat(flag, ": ", status.message()));
  };
  absl::StatusOr<kube::ClusterConfig> config =
      incluster ? kube::InClusterConfig(in_cluster)
                : kube::LoadKubeconfig(options.prometheus_auth_config);
  if (!config.ok()) {
    return named(config.status());
  }
  if (config->exec.has_value()) {
    return named(absl::InvalidArgumentError(
        Cat(config->source,
            ": exec credential plugins are not supported for Prometheus; use a "
            "token, a token file or a client certificate")));
  }
  absl::StatusOr<outbound::TlsOptions> tls = kube::ClusterTlsOptions(*config, files);
  if (!tls.ok()) {
    return named(
        absl::Status(tls.status().code(), Cat(config->source, ": ", tls.status().message())));
  }
  prometheus.tls = *std::move(tls);
  if (prometheus.token_file.empty()) {
    if (!config->token.empty()) {
      prometheus.headers.emplace_back("Authorization", Cat("Bearer ", config->token));
    } else {
      prometheus.token_file = config->token_file;
    }
  }
  MA_LOG(INFO) << "Prometheus credentials from " << config->source << " (" << flag << ")";
  return absl::OkStatus();
}

}  // namespace ma::app
