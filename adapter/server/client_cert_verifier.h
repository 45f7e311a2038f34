#pragma once

// Verifies a TLS client's certificate chain after the handshake, against the front-proxy
// (requestheader) CA bundle and the client CA bundle separately, as Go's delegating
// authenticator does. A chain that verifies against neither is a certificate verified by
// neither (which the authenticators refuse with a 401), never "no certificate".

#include <openssl/ssl.h>

#include <optional>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "adapter/http/message.h"
#include "adapter/server/openssl_util.h"

namespace ma::server {

// Thread-safe: immutable after Create; OpenSSL's X509_STORE locks its own lookups.
class ClientCertVerifier {
 public:
  // Either path may be empty (that bundle is not configured). Errors name the file.
  static absl::StatusOr<ClientCertVerifier> Create(std::string_view client_ca_file,
                                                   std::string_view requestheader_client_ca_file);

  // The same from PEM text in memory (the extension-apiserver-authentication ConfigMap's
  // bundles); either may be empty. Errors name the bundle.
  static absl::StatusOr<ClientCertVerifier> CreateFromPem(
      std::string_view client_ca_pem, std::string_view requestheader_client_ca_pem);

  // True when at least one bundle is configured, i.e. client certificates are worth requesting.
  bool enabled() const { return client_ca_ != nullptr || requestheader_ca_ != nullptr; }

  // The verified identity of `leaf` (with `untrusted_chain` as intermediates, may be null);
  // nullopt only without a leaf or a bundle, and no name when neither bundle trusts it.
  std::optional<http::PeerCertificate> Verify(X509* leaf, STACK_OF(X509) * untrusted_chain) const;
  // The same for the peer of an established TLS session.
  std::optional<http::PeerCertificate> VerifyPeer(SSL* ssl) const;

 private:
  ClientCertVerifier(X509StorePtr client_ca, X509StorePtr requestheader_ca)
      : client_ca_(std::move(client_ca)), requestheader_ca_(std::move(requestheader_ca)) {}

  X509StorePtr client_ca_;
  X509StorePtr requestheader_ca_;
};

}  // namespace ma::server
