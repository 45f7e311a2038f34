#pragma once

// A blocking HTTPS/1.1 client for tests, on plain OpenSSL and POSIX sockets: full control over
// TLS versions, client certificates and raw request bytes, and no Beast compile cost.

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "adapter/server/openssl_util.h"

namespace ma::testing {

// Bounds every blocking read and write so that a broken server fails a test instead of hanging.
inline constexpr int kTestClientIoTimeoutSeconds = 20;

struct TlsTestClientOptions {
  int min_version = TLS1_2_VERSION;
  int max_version = 0;          // 0: the highest OpenSSL supports
  std::string trusted_ca_pem;   // verify the server (hostname "localhost") when set
  std::string certificate_pem;  // client certificate, optional
  std::string private_key_pem;
  // Bind to this loopback address (127.0.0.2, ...) before connecting, to come from another host.
  std::string source_address;
};

// A plain TCP connection to 127.0.0.1:port from `source_address` (empty: any), with the client's
// I/O timeouts; the caller closes the descriptor.
absl::StatusOr<int> ConnectTcp(uint16_t port, const std::string& source_address = "");

struct HttpReply {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;

  std::optional<std::string> Header(std::string_view lowercase_name) const;
};

// Not thread-safe: one test thread drives one client.
class TlsTestClient {
 public:
  // Connects to 127.0.0.1:port and completes the handshake; the error carries OpenSSL's reason.
  static absl::StatusOr<std::unique_ptr<TlsTestClient>> Connect(
      uint16_t port, const TlsTestClientOptions& options);
  ~TlsTestClient();
  TlsTestClient(const TlsTestClient&) = delete;
  TlsTestClient& operator=(const TlsTestClient&) = delete;

  absl::Status Send(std::string_view bytes);
  // Reads one response framed by Content-Length.
  absl::StatusOr<HttpReply> ReadReply();
  // Sends "GET target" with `extra_headers` ("Name: value\r\n" lines) and reads the reply.
  absl::StatusOr<HttpReply> Get(std::string_view target, std::string_view extra_headers = "");
  // True when the server has closed the connection (EOF before any byte).
  bool ReadsEof();
  int protocol_version() const { return SSL_version(ssl_); }
  // The server's leaf certificate in PEM.
  std::string PeerCertificatePem() const;

 private:
  TlsTestClient(server::SslCtxPtr context, SSL* ssl, int fd)
      : context_(std::move(context)), ssl_(ssl), fd_(fd) {}
  absl::Status Fill();

  server::SslCtxPtr context_;
  SSL* ssl_;
  int fd_;
  std::string buffer_;
};

}  // namespace ma::testing
