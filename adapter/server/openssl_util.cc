#include "adapter/server/openssl_util.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <fstream>
#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"
#include "queries/base/strings.h"

namespace ma::server {
namespace {

BioPtr MemoryBio(std::string_view data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

absl::StatusOr<std::string> BioContents(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  if (size < 0 || data == nullptr) {
    return absl::InternalError("cannot read an OpenSSL memory buffer");
  }
  return std::string(data, static_cast<std::size_t>(size));
}

}  // namespace

std::string DrainOpenSslErrors() {
  std::string errors;
  while (unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof(buffer));
    absl::StrAppend(&errors, errors.empty() ? "" : "; ", buffer);
  }
  return errors;
}

absl::StatusOr<std::string> ReadSmallFile(std::string_view path, std::size_t max_bytes) {
  std::ifstream in{std::string(path), std::ios::binary};
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot open ", GoQuote(path)));
  }
  std::string contents;
  char buffer[64 * 1024];
  while (in.read(buffer, sizeof(buffer)) || in.gcount() > 0) {
    contents.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (contents.size() > max_bytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(GoQuote(path), " is larger than ", max_bytes, " bytes"));
    }
  }
  if (in.bad()) {
    return absl::InternalError(absl::StrCat("cannot read ", GoQuote(path)));
  }
  return contents;
}

absl::StatusOr<std::vector<X509Ptr>> ParsePemCertificates(std::string_view pem) {
  BioPtr bio = MemoryBio(pem);
  std::vector<X509Ptr> certificates;
  while (X509* certificate = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certificates.emplace_back(certificate);
  }
  // The loop always ends on an error (end of data); only a failure before any certificate
  // matters.
  std::string errors = DrainOpenSslErrors();
  if (certificates.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("no PEM certificate found", errors.empty() ? "" : ": ", errors));
  }
  return certificates;
}

absl::StatusOr<EvpPkeyPtr> ParsePemPrivateKey(std::string_view pem) {
  BioPtr bio = MemoryBio(pem);
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("no PEM private key found: ", DrainOpenSslErrors()));
  }
  return key;
}

absl::StatusOr<std::string> CertificateToPem(X509* certificate) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_X509(bio.get(), certificate) != 1) {
    return absl::InternalError(absl::StrCat("cannot encode certificate: ", DrainOpenSslErrors()));
  }
  return BioContents(bio.get());
}

absl::StatusOr<std::string> PrivateKeyToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return absl::InternalError(absl::StrCat("cannot encode private key: ", DrainOpenSslErrors()));
  }
  return BioContents(bio.get());
}

}  // namespace ma::server
