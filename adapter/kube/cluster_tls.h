#pragma once

// The TLS settings of a ClusterConfig as the outbound client takes them. curl reads certificates
// and keys by file name, so kubeconfig `*-data` fields are written to owner-only temporary files
// that live as long as their PemFiles. Shared by the Kubernetes API clients and by Prometheus
// credentials taken from a kubeconfig (--prometheus-auth-config).

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "adapter/kube/kubeconfig.h"
#include "adapter/outbound/http_client.h"

namespace ma::kube {

// Removes its files when destroyed. Not thread-safe; keep it alive as long as a connection may be
// opened with the files it wrote.
class PemFiles {
 public:
  PemFiles() = default;
  ~PemFiles();
  PemFiles(const PemFiles&) = delete;
  PemFiles& operator=(const PemFiles&) = delete;

  // Writes `pem` to a new 0600 file; `what` names it in errors. Returns the file's path.
  absl::StatusOr<std::string> Write(std::string_view pem, std::string_view what);

 private:
  std::vector<std::string> paths_;
};

// CA, client certificate and key (files, or `*-data` written through `files`) and
// insecure-skip-tls-verify. kUnimplemented for tls-server-name, which curl cannot override.
absl::StatusOr<outbound::TlsOptions> ClusterTlsOptions(const ClusterConfig& config,
                                                       PemFiles& files);

}  // namespace ma::kube
