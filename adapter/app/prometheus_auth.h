#pragma once

// --prometheus-auth-config and --prometheus-auth-incluster: prometheus-adapter's way to give
// Prometheus credentials, as a kubeconfig. The current context's CA, client certificate and key,
// insecure-skip-tls-verify, token and token file are used; its server is not (--prometheus-url
// says where Prometheus is). --prometheus-auth-incluster takes the pod's service-account token
// and CA the same way.

#include "absl/status/status.h"
#include "adapter/app/options.h"
#include "adapter/kube/cluster_tls.h"
#include "adapter/kube/kubeconfig.h"
#include "adapter/prometheus/http_prometheus_client.h"

namespace ma::app {

// Adds the credentials to `prometheus` (already filled from the other --prometheus-* flags).
// As in prometheus-adapter, --prometheus-ca-file wins (the kubeconfig is then ignored, with a
// warning) and --prometheus-token-file wins over the kubeconfig's token. `files` holds the
// kubeconfig's `*-data` fields and must outlive the Prometheus client. Errors name the flag:
// an unreadable kubeconfig, an exec plugin or basic auth (not supported for Prometheus).
absl::Status ApplyPrometheusAuth(
    const Options& options, kube::PemFiles& files, prometheus::PrometheusOptions& prometheus,
    const kube::InClusterEnvironment& in_cluster = kube::InClusterEnvironment::FromProcess());

}  // namespace ma::app
