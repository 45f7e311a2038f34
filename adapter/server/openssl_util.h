#pragma once

// Owning pointers for OpenSSL objects and the few PEM/file helpers the TLS code shares.

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ma::server {

struct OpenSslDeleter {
  void operator()(X509* p) const { X509_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
  void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
};
using X509Ptr = std::unique_ptr<X509, OpenSslDeleter>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter>;
using BioPtr = std::unique_ptr<BIO, OpenSslDeleter>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, OpenSslDeleter>;
using X509StorePtr = std::unique_ptr<X509_STORE, OpenSslDeleter>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, OpenSslDeleter>;

// Drains this thread's OpenSSL error queue into one "; "-separated string (empty if none).
std::string DrainOpenSslErrors();

// Reads a whole file of at most `max_bytes`; errors name the file.
absl::StatusOr<std::string> ReadSmallFile(std::string_view path, std::size_t max_bytes);

// Every certificate of a PEM bundle, in order; an error if there is none.
absl::StatusOr<std::vector<X509Ptr>> ParsePemCertificates(std::string_view pem);
absl::StatusOr<EvpPkeyPtr> ParsePemPrivateKey(std::string_view pem);
absl::StatusOr<std::string> CertificateToPem(X509* certificate);
absl::StatusOr<std::string> PrivateKeyToPem(EVP_PKEY* key);

}  // namespace ma::server
