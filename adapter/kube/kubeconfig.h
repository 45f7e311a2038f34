#pragma once

// Where the Kubernetes API is and how to authenticate to it: a kubeconfig file
// (--lister-kubeconfig, --authentication-kubeconfig, --authorization-kubeconfig) or, when no file
// is given, the pod's service account (client-go's rest.InClusterConfig).

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "adapter/kube/exec_credential.h"

namespace ma::kube {

// A kubeconfig larger than this is not one.
inline constexpr size_t kMaxKubeconfigBytes = size_t{4} << 20;

inline constexpr std::string_view kServiceAccountTokenPath =
    "/var/run/secrets/kubernetes.io/serviceaccount/token";
inline constexpr std::string_view kServiceAccountCaPath =
    "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";

// Everything needed to talk to one API server, with relative paths already resolved. A `*_pem`
// field holds the decoded content of a kubeconfig `*-data` field; it wins over the file.
struct ClusterConfig {
  std::string server;  // "https://10.96.0.1:443", maybe with a path prefix
  std::string ca_file;
  std::string ca_pem;
  bool insecure_skip_tls_verify = false;
  std::string tls_server_name;
  std::string client_certificate_file;
  std::string client_certificate_pem;
  std::string client_key_file;
  std::string client_key_pem;
  std::string token;       // a fixed bearer token
  std::string token_file;  // re-read when it changes (service-account token rotation)
  std::optional<ExecConfig> exec;
  std::string source;  // the kubeconfig path, or "in-cluster configuration", for messages
  std::string context_namespace;  // the context's `namespace`, kubectl's default for -n
};

// Parses `context` of `path`, or its current context when `context` is empty (kubectl's
// --context). Errors name the file and the field.
absl::StatusOr<ClusterConfig> LoadKubeconfig(const std::string& path,
                                             std::string_view context = {});

// Parses kubeconfig text; relative paths resolve against `directory`, `source` names it in
// errors.
absl::StatusOr<ClusterConfig> ParseKubeconfig(std::string_view yaml, std::string_view directory,
                                              std::string_view source,
                                              std::string_view context = {});

// The inputs of the in-cluster configuration, injectable for tests.
struct InClusterEnvironment {
  std::string service_host;  // KUBERNETES_SERVICE_HOST
  std::string service_port;  // KUBERNETES_SERVICE_PORT
  std::string token_path = std::string(kServiceAccountTokenPath);
  std::string ca_path = std::string(kServiceAccountCaPath);

  static InClusterEnvironment FromProcess();
};

absl::StatusOr<ClusterConfig> InClusterConfig(
    const InClusterEnvironment& env = InClusterEnvironment::FromProcess());

// `path` empty: the in-cluster configuration; otherwise the kubeconfig. `flag` (e.g.
// "--lister-kubeconfig") is named in the in-cluster error so the user knows what to pass.
absl::StatusOr<ClusterConfig> LoadClusterConfig(const std::string& path, std::string_view flag);

}  // namespace ma::kube
