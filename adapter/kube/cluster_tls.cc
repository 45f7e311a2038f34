#include "adapter/kube/cluster_tls.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "queries/base/strings.h"

namespace ma::kube {

PemFiles::~PemFiles() {
  for (const std::string& path : paths_) {
    unlink(path.c_str());
  }
}

absl::StatusOr<std::string> PemFiles::Write(std::string_view pem, std::string_view what) {
  const char* dir = std::getenv("TMPDIR");
  std::string pattern = Cat(dir != nullptr && *dir != '\0' ? dir : "/tmp", "/ma-kube-XXXXXX");
  const int fd = mkstemp(pattern.data());  // creates the file 0600
  if (fd < 0) {
    return absl::FailedPreconditionError(
        Cat("cannot write the ", what, " to a temporary file: ", std::strerror(errno)));
  }
  paths_.push_back(pattern);
  std::string_view left = pem;
  while (!left.empty()) {
    const ssize_t n = write(fd, left.data(), left.size());
    if (n <= 0) {
      const int error = errno;
      close(fd);
      return absl::FailedPreconditionError(
          Cat("cannot write the ", what, " to \"", pattern, "\": ", std::strerror(error)));
    }
    left.remove_prefix(static_cast<size_t>(n));
  }
  close(fd);
  return pattern;
}

absl::StatusOr<outbound::TlsOptions> ClusterTlsOptions(const ClusterConfig& config,
                                                       PemFiles& files) {
  if (!config.tls_server_name.empty()) {
    return absl::UnimplementedError(
        "tls-server-name is not supported: point server at a name the certificate covers");
  }
  outbound::TlsOptions tls;
  tls.insecure_skip_verify = config.insecure_skip_tls_verify;
  tls.ca_file = config.ca_file;
  tls.client_cert_file = config.client_certificate_file;
  tls.client_key_file = config.client_key_file;
  const auto pem = [&files](const std::string& data, std::string_view what,
                            std::string& file) -> absl::Status {
    if (data.empty()) {
      return absl::OkStatus();
    }
    absl::StatusOr<std::string> path = files.Write(data, what);
    if (!path.ok()) {
      return path.status();
    }
    file = *std::move(path);
    return absl::OkStatus();
  };
  for (const absl::Status& s :
       {pem(config.ca_pem, "certificate-authority-data", tls.ca_file),
        pem(config.client_certificate_pem, "client-certificate-data", tls.client_cert_file),
        pem(config.client_key_pem, "client-key-data", tls.client_key_file)}) {
    if (!s.ok()) {
      return s;
    }
  }
  return tls;
}

}  // namespace ma::kube
