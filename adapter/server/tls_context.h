#pragma once

// The server's OpenSSL context: TLS 1.2+ only, Go-like cipher suites, no compression, no
// renegotiation, client certificates requested but not required. Plain OpenSSL, no Asio, so
// it compiles fast and is testable on its own.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "adapter/server/openssl_util.h"

namespace ma::server {

// Go's crypto/tls defaults for TLS 1.2 (TLS 1.3 suites are not configurable there either).
inline constexpr std::string_view kTls12CipherList =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

struct TlsContextOptions {
  std::string cert_file;  // PEM chain, leaf first
  std::string key_file;
  std::string min_version = "VersionTLS12";
  // --tls-cipher-suites: Go's (IANA) names; empty: kTls12CipherList.
  std::vector<std::string> cipher_suites;
  // Sends a CertificateRequest; any presented chain is accepted here and verified later.
  bool request_client_certificate = false;
};

// "VersionTLS12" -> TLS1_2_VERSION, "VersionTLS13" -> TLS1_3_VERSION (Go's names, as the
// --tls-min-version flag takes them). Older versions are refused.
absl::StatusOr<int> ParseTlsMinVersion(std::string_view go_name);

// --tls-cipher-suites as the Go apiserver takes it (IANA names, plus Go's aliases) -> the OpenSSL
// cipher list for TLS 1.2. TLS 1.3 names are accepted and change nothing: Go does not make TLS 1.3
// suites configurable either. kInvalidArgument names an unknown suite, or says that only TLS 1.3
// suites were named (TLS 1.2 clients could then never connect).
absl::StatusOr<std::string> Tls12CipherList(const std::vector<std::string>& go_names);

// Reads the certificate chain and the key now; a file that is missing, half-written or not PEM,
// or a key that does not match the certificate, is an error naming the file.
absl::StatusOr<SslCtxPtr> CreateServerSslContext(const TlsContextOptions& options);

// When the serving certificate of `context` (its leaf) stops being valid.
absl::StatusOr<absl::Time> ServingCertificateNotAfter(SSL_CTX* context);

}  // namespace ma::server
