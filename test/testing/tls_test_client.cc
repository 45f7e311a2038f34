#include "test/testing/tls_test_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "queries/base/status_macros.h"
#include "queries/base/strings.h"

namespace ma::testing {

using server::CertificateToPem;
using server::DrainOpenSslErrors;
using server::EvpPkeyPtr;
using server::ParsePemCertificates;
using server::ParsePemPrivateKey;
using server::SslCtxPtr;
using server::X509Ptr;

std::optional<std::string> HttpReply::Header(std::string_view lowercase_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lowercase_name) {
      return value;
    }
  }
  return std::nullopt;
}

absl::StatusOr<int> ConnectTcp(uint16_t port, const std::string& source_address) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::InternalError(std::strerror(errno));
  }
  timeval timeout{kTestClientIoTimeoutSeconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  if (!source_address.empty()) {
    sockaddr_in source{};
    source.sin_family = AF_INET;
    if (::inet_pton(AF_INET, source_address.c_str(), &source.sin_addr) != 1 ||
        ::bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof(source)) != 0) {
      int error = errno;
      ::close(fd);
      return absl::InvalidArgumentError(
          absl::StrCat("bind to ", source_address, ": ", std::strerror(error)));
    }
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    int error = errno;
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("connect: ", std::strerror(error)));
  }
  return fd;
}

absl::StatusOr<std::unique_ptr<TlsTestClient>> TlsTestClient::Connect(
    uint16_t port, const TlsTestClientOptions& options) {
  // Writing to a connection the server has closed (a refused request) must fail the write, not
  // kill the test binary.
  ::signal(SIGPIPE, SIG_IGN);
  DrainOpenSslErrors();
  SslCtxPtr context(SSL_CTX_new(TLS_client_method()));
  if (context == nullptr) {
    return absl::InternalError(DrainOpenSslErrors());
  }
  if (options.min_version < TLS1_2_VERSION) {
    // Debian's default security level forbids TLS 1.0/1.1 even in a client; the test needs to
    // offer them so that the server is the one refusing.
    SSL_CTX_set_security_level(context.get(), 0);
    SSL_CTX_set_cipher_list(context.get(), "DEFAULT:@SECLEVEL=0");
  }
  SSL_CTX_set_min_proto_version(context.get(), options.min_version);
  SSL_CTX_set_max_proto_version(context.get(), options.max_version);
  if (!options.trusted_ca_pem.empty()) {
    MA_ASSIGN_OR_RETURN(std::vector<X509Ptr> cas, ParsePemCertificates(options.trusted_ca_pem));
    for (const X509Ptr& ca : cas) {
      X509_STORE_add_cert(SSL_CTX_get_cert_store(context.get()), ca.get());
    }
    SSL_CTX_set_verify(context.get(), SSL_VERIFY_PEER, nullptr);
  }
  if (!options.certificate_pem.empty()) {
    MA_ASSIGN_OR_RETURN(std::vector<X509Ptr> chain, ParsePemCertificates(options.certificate_pem));
    MA_ASSIGN_OR_RETURN(EvpPkeyPtr key, ParsePemPrivateKey(options.private_key_pem));
    if (SSL_CTX_use_certificate(context.get(), chain.front().get()) != 1 ||
        SSL_CTX_use_PrivateKey(context.get(), key.get()) != 1) {
      return absl::InternalError(DrainOpenSslErrors());
    }
  }

  MA_ASSIGN_OR_RETURN(const int fd, ConnectTcp(port, options.source_address));
  SSL* ssl = SSL_new(context.get());
  auto client = std::unique_ptr<TlsTestClient>(new TlsTestClient(std::move(context), ssl, fd));
  SSL_set_fd(ssl, fd);
  if (!options.trusted_ca_pem.empty()) {
    SSL_set1_host(ssl, "localhost");
  }
  if (SSL_connect(ssl) != 1) {
    std::string errors = DrainOpenSslErrors();
    return absl::UnavailableError(
        absl::StrCat("TLS handshake failed: ", errors.empty() ? "connection closed" : errors));
  }
  return client;
}

TlsTestClient::~TlsTestClient() {
  SSL_free(ssl_);
  ::close(fd_);
}

absl::Status TlsTestClient::Send(std::string_view bytes) {
  while (!bytes.empty()) {
    int n = SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()));
    if (n <= 0) {
      return absl::UnavailableError(absl::StrCat("write failed: ", DrainOpenSslErrors()));
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return absl::OkStatus();
}

absl::Status TlsTestClient::Fill() {
  char chunk[16 * 1024];
  int n = SSL_read(ssl_, chunk, sizeof(chunk));
  if (n <= 0) {
    DrainOpenSslErrors();
    return absl::UnavailableError("connection closed by the server");
  }
  buffer_.append(chunk, static_cast<std::size_t>(n));
  return absl::OkStatus();
}

absl::StatusOr<HttpReply> TlsTestClient::ReadReply() {
  std::size_t header_end;
  while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    MA_RETURN_IF_ERROR(Fill());
  }
  std::vector<std::string> lines =
      absl::StrSplit(ToAbsl(std::string_view(buffer_).substr(0, header_end)), "\r\n");
  HttpReply reply;
  std::vector<std::string> status_line = absl::StrSplit(lines.front(), absl::MaxSplits(' ', 2));
  if (status_line.size() < 2 || !absl::SimpleAtoi(status_line[1], &reply.status)) {
    return absl::DataLossError(absl::StrCat("bad status line ", GoQuote(lines.front())));
  }
  std::size_t content_length = 0;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::size_t colon = lines[i].find(':');
    if (colon == std::string::npos) {
      continue;
    }
    std::string name = absl::AsciiStrToLower(lines[i].substr(0, colon));
    std::string value(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
    if (name == "content-length" && !absl::SimpleAtoi(value, &content_length)) {
      return absl::DataLossError("bad Content-Length");
    }
    reply.headers.emplace_back(std::move(name), std::move(value));
  }
  buffer_.erase(0, header_end + 4);
  while (buffer_.size() < content_length) {
    MA_RETURN_IF_ERROR(Fill());
  }
  reply.body = buffer_.substr(0, content_length);
  buffer_.erase(0, content_length);
  return reply;
}

absl::StatusOr<HttpReply> TlsTestClient::Get(std::string_view target,
                                             std::string_view extra_headers) {
  MA_RETURN_IF_ERROR(Send(absl::StrCat("GET ", ToAbsl(target), " HTTP/1.1\r\nHost: localhost\r\n",
                                       ToAbsl(extra_headers), "\r\n")));
  return ReadReply();
}

bool TlsTestClient::ReadsEof() { return buffer_.empty() && !Fill().ok(); }

std::string TlsTestClient::PeerCertificatePem() const {
  X509* peer = SSL_get0_peer_certificate(ssl_);
  if (peer == nullptr) {
    return "";
  }
  absl::StatusOr<std::string> pem = CertificateToPem(peer);
  return pem.ok() ? *pem : "";
}

}  // namespace ma::testing
