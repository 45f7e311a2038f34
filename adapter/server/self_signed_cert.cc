#include "adapter/server/self_signed_cert.h"

#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "adapter/server/limits.h"
#include "adapter/server/openssl_util.h"
#include "queries/base/status_macros.h"
#include "queries/base/strings.h"

namespace ma::server {
namespace {

absl::Status AddExtension(X509* certificate, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx(&context, certificate, certificate, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
  if (extension == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot build certificate extension ", value, ": ", DrainOpenSslErrors()));
  }
  int added = X509_add_ext(certificate, extension, -1);
  X509_EXTENSION_free(extension);
  if (added != 1) {
    return absl::InternalError(
        absl::StrCat("cannot add certificate extension: ", DrainOpenSslErrors()));
  }
  return absl::OkStatus();
}

absl::Status SetRandomSerial(X509* certificate) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    return absl::InternalError(absl::StrCat("no randomness for a serial: ", DrainOpenSslErrors()));
  }
  bytes[0] &= 0x7f;  // Serials are positive.
  BIGNUM* number = BN_bin2bn(bytes, sizeof(bytes), nullptr);
  bool ok = number != nullptr &&
            BN_to_ASN1_INTEGER(number, X509_get_serialNumber(certificate)) != nullptr;
  BN_free(number);
  if (!ok) {
    return absl::InternalError(absl::StrCat("cannot set serial: ", DrainOpenSslErrors()));
  }
  return absl::OkStatus();
}

absl::Status WriteFileWithMode(const std::string& path, std::string_view contents, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot write ", GoQuote(path), ": ", std::strerror(errno)));
  }
  // The file may have existed with a wider mode.
  bool ok = ::fchmod(fd, mode) == 0;
  std::size_t written = 0;
  while (ok && written < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    ok = n > 0;
    written += ok ? static_cast<std::size_t>(n) : 0;
  }
  int saved_errno = errno;
  ok = (::close(fd) == 0) && ok;
  if (!ok) {
    return absl::InternalError(
        absl::StrCat("cannot write ", GoQuote(path), ": ", std::strerror(saved_errno)));
  }
  return absl::OkStatus();
}

// True when both files exist, parse, belong together and the certificate stays valid for
// kSelfSignedRenewBefore.
bool Reusable(const CertificateFiles& files) {
  absl::StatusOr<std::string> cert_pem = ReadSmallFile(files.cert_file, kMaxPemFileBytes);
  absl::StatusOr<std::string> key_pem = ReadSmallFile(files.key_file, kMaxPemFileBytes);
  if (!cert_pem.ok() || !key_pem.ok()) {
    return false;
  }
  absl::StatusOr<std::vector<X509Ptr>> certificates = ParsePemCertificates(*cert_pem);
  absl::StatusOr<EvpPkeyPtr> key = ParsePemPrivateKey(*key_pem);
  if (!certificates.ok() || !key.ok()) {
    return false;
  }
  X509* leaf = certificates->front().get();
  time_t renew_at = absl::ToTimeT(absl::Now() + kSelfSignedRenewBefore);
  bool reusable = X509_check_private_key(leaf, key->get()) == 1 &&
                  X509_cmp_time(X509_get0_notAfter(leaf), &renew_at) > 0;
  DrainOpenSslErrors();
  return reusable;
}

}  // namespace

absl::StatusOr<PemCertificate> GenerateSelfSignedCertificate(absl::Time now) {
  EvpPkeyPtr key(EVP_EC_gen("P-256"));
  if (key == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot generate an EC P-256 key: ", DrainOpenSslErrors()));
  }
  X509Ptr certificate(X509_new());
  if (certificate == nullptr || X509_set_version(certificate.get(), 2) != 1) {
    return absl::InternalError(absl::StrCat("cannot create a certificate: ", DrainOpenSslErrors()));
  }
  MA_RETURN_IF_ERROR(SetRandomSerial(certificate.get()));
  std::string common_name = absl::StrCat("localhost@", absl::ToUnixSeconds(now));
  X509_NAME* name = X509_get_subject_name(certificate.get());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                 -1, 0) != 1 ||
      X509_set_issuer_name(certificate.get(), name) != 1) {
    return absl::InternalError(absl::StrCat("cannot name the certificate: ", DrainOpenSslErrors()));
  }
  time_t not_before = absl::ToTimeT(now - kSelfSignedBackdate);
  time_t not_after = absl::ToTimeT(now - kSelfSignedBackdate + kSelfSignedValidity);
  if (ASN1_TIME_set(X509_getm_notBefore(certificate.get()), not_before) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(certificate.get()), not_after) == nullptr ||
      X509_set_pubkey(certificate.get(), key.get()) != 1) {
    return absl::InternalError(absl::StrCat("cannot fill the certificate: ", DrainOpenSslErrors()));
  }
  // CA:TRUE lets clients use apiserver.crt directly as their trust bundle (APIService caBundle).
  MA_RETURN_IF_ERROR(AddExtension(certificate.get(), NID_basic_constraints, "critical,CA:TRUE"));
  MA_RETURN_IF_ERROR(AddExtension(certificate.get(), NID_key_usage,
                                  "critical,digitalSignature,keyEncipherment,keyCertSign"));
  MA_RETURN_IF_ERROR(AddExtension(certificate.get(), NID_ext_key_usage, "serverAuth"));
  MA_RETURN_IF_ERROR(
      AddExtension(certificate.get(), NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1"));
  if (X509_sign(certificate.get(), key.get(), EVP_sha256()) == 0) {
    return absl::InternalError(absl::StrCat("cannot sign the certificate: ", DrainOpenSslErrors()));
  }
  PemCertificate pem;
  MA_ASSIGN_OR_RETURN(pem.certificate_pem, CertificateToPem(certificate.get()));
  MA_ASSIGN_OR_RETURN(pem.private_key_pem, PrivateKeyToPem(key.get()));
  return pem;
}

absl::StatusOr<CertificateFiles> EnsureSelfSignedCertificate(std::string_view cert_dir) {
  if (cert_dir.empty()) {
    return absl::InvalidArgumentError(
        "no serving certificate: set --tls-cert-file and --tls-private-key-file, or --cert-dir "
        "for a generated self-signed one");
  }
  std::filesystem::path dir{std::string(cert_dir)};
  CertificateFiles files{(dir / kSelfSignedCertFileName).string(),
                         (dir / kSelfSignedKeyFileName).string()};
  if (Reusable(files)) {
    return files;
  }
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create --cert-dir ", GoQuote(cert_dir), ": ", error.message()));
  }
  MA_ASSIGN_OR_RETURN(PemCertificate pem, GenerateSelfSignedCertificate(absl::Now()));
  // Key first: a crash in between leaves a pair that fails Reusable() and is regenerated.
  MA_RETURN_IF_ERROR(WriteFileWithMode(files.key_file, pem.private_key_pem, 0600));
  MA_RETURN_IF_ERROR(WriteFileWithMode(files.cert_file, pem.certificate_pem, 0644));
  return files;
}

}  // namespace ma::server
