#include "adapter/server/tls_context.h"

#include <openssl/pem.h>

#include <algorithm>
#include <ctime>
#include <iterator>
#include <string>

#include "absl/strings/str_cat.h"
#include "queries/base/status_macros.h"
#include "queries/base/strings.h"

namespace ma::server {
namespace {

constexpr std::string_view kSessionIdContext = "metrics-adapter";

struct CipherSuiteName {
  std::string_view go;       // IANA name, or Go's alias for it
  std::string_view openssl;  // "" for TLS 1.3 suites
};

// Every name Go's crypto/tls knows (CipherSuites and InsecureCipherSuites). OpenSSL may lack the
// insecure ones (RC4, 3DES); SSL_CTX_set_cipher_list then skips them, and fails if none is left.
constexpr CipherSuiteName kCipherSuites[] = {
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", "ECDHE-ECDSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", "ECDHE-RSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "ECDHE-ECDSA-AES128-SHA256"},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "ECDHE-RSA-AES128-SHA256"},
    {"TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"},
    {"TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"},
    {"TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"},
    {"TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA"},
    {"TLS_RSA_WITH_AES_128_CBC_SHA256", "AES128-SHA256"},
    {"TLS_RSA_WITH_3DES_EDE_CBC_SHA", "DES-CBC3-SHA"},
    {"TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "ECDHE-RSA-DES-CBC3-SHA"},
    {"TLS_RSA_WITH_RC4_128_SHA", "RC4-SHA"},
    {"TLS_ECDHE_RSA_WITH_RC4_128_SHA", "ECDHE-RSA-RC4-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", "ECDHE-ECDSA-RC4-SHA"},
    {"TLS_AES_128_GCM_SHA256", ""},
    {"TLS_AES_256_GCM_SHA384", ""},
    {"TLS_CHACHA20_POLY1305_SHA256", ""},
};

// Go's RequestClientCert: the handshake never fails on the client's chain; the authenticator
// verifies it against each CA bundle afterwards.
int AcceptAnyClientCertificate(int /*preverify_ok*/, X509_STORE_CTX* /*context*/) { return 1; }

}  // namespace

absl::StatusOr<int> ParseTlsMinVersion(std::string_view go_name) {
  if (go_name == "VersionTLS12") {
    return TLS1_2_VERSION;
  }
  if (go_name == "VersionTLS13") {
    return TLS1_3_VERSION;
  }
  if (go_name == "VersionTLS10" || go_name == "VersionTLS11") {
    return absl::InvalidArgumentError(absl::StrCat("--tls-min-version=", ToAbsl(go_name),
                                                   " is not supported: TLS 1.2 is the minimum"));
  }
  return absl::InvalidArgumentError(absl::StrCat("--tls-min-version=", GoQuote(go_name),
                                                 " is unknown; use VersionTLS12 or VersionTLS13"));
}

absl::StatusOr<std::string> Tls12CipherList(const std::vector<std::string>& go_names) {
  std::string list;
  for (const std::string& name : go_names) {
    const auto* suite = std::find_if(std::begin(kCipherSuites), std::end(kCipherSuites),
                                     [&name](const CipherSuiteName& s) { return s.go == name; });
    if (suite == std::end(kCipherSuites)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--tls-cipher-suites: cipher suite ", GoQuote(name),
                       " is not supported or does not exist (use Go's names, e.g. "
                       "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)"));
    }
    if (!suite->openssl.empty()) {
      list += list.empty() ? "" : ":";
      list += suite->openssl;
    }
  }
  if (list.empty()) {
    return absl::InvalidArgumentError(
        "--tls-cipher-suites names no TLS 1.2 suite; TLS 1.3 suites are not configurable, so "
        "name TLS 1.2 suites too or leave the flag out");
  }
  return list;
}

absl::StatusOr<SslCtxPtr> CreateServerSslContext(const TlsContextOptions& options) {
  MA_ASSIGN_OR_RETURN(int min_version, ParseTlsMinVersion(options.min_version));
  std::string cipher_list(kTls12CipherList);
  if (!options.cipher_suites.empty()) {
    MA_ASSIGN_OR_RETURN(cipher_list, Tls12CipherList(options.cipher_suites));
  }
  DrainOpenSslErrors();
  SslCtxPtr context(SSL_CTX_new(TLS_server_method()));
  if (context == nullptr) {
    return absl::InternalError(absl::StrCat("cannot create a TLS context: ", DrainOpenSslErrors()));
  }
  SSL_CTX* ctx = context.get();
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 |
                               SSL_OP_NO_TLSv1_1);
  if (SSL_CTX_set_cipher_list(ctx, cipher_list.c_str()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls-cipher-suites: this OpenSSL offers none of the named suites: ",
                     DrainOpenSslErrors()));
  }
  if (SSL_CTX_set_min_proto_version(ctx, min_version) != 1 ||
      SSL_CTX_set_session_id_context(
          ctx, reinterpret_cast<const unsigned char*>(kSessionIdContext.data()),
          static_cast<unsigned int>(kSessionIdContext.size())) != 1) {
    return absl::InternalError(
        absl::StrCat("cannot configure the TLS context: ", DrainOpenSslErrors()));
  }
  if (SSL_CTX_use_certificate_chain_file(ctx, options.cert_file.c_str()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot load the serving certificate from --tls-cert-file ",
                     GoQuote(options.cert_file), ": ", DrainOpenSslErrors()));
  }
  BioPtr key_bio(BIO_new_file(options.key_file.c_str(), "r"));
  EvpPkeyPtr key(key_bio == nullptr
                     ? nullptr
                     : PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot load the private key from --tls-private-key-file ",
                     GoQuote(options.key_file), ": ", DrainOpenSslErrors()));
  }
  // Checked before use, so that a key of another certificate (a rotation seen half done) is
  // reported as such rather than as an unreadable key.
  if (X509_check_private_key(SSL_CTX_get0_certificate(ctx), key.get()) != 1 ||
      SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the private key in ", GoQuote(options.key_file), " does not match the certificate in ",
        GoQuote(options.cert_file), ": ", DrainOpenSslErrors()));
  }
  if (options.request_client_certificate) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, AcceptAnyClientCertificate);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  return context;
}

absl::StatusOr<absl::Time> ServingCertificateNotAfter(SSL_CTX* context) {
  X509* leaf = context == nullptr ? nullptr : SSL_CTX_get0_certificate(context);
  if (leaf == nullptr) {
    return absl::FailedPreconditionError("the TLS context has no serving certificate");
  }
  struct tm not_after {};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(leaf), &not_after) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("the serving certificate's notAfter cannot be read: ", DrainOpenSslErrors()));
  }
  return absl::FromTM(not_after, absl::UTCTimeZone());
}

}  // namespace ma::server
