#include "test/testing/test_certs.h"

#include <openssl/x509v3.h>

#include <atomic>

#include "absl/strings/str_cat.h"
#include "adapter/server/openssl_util.h"
#include "queries/base/status_macros.h"

namespace ma::testing {
namespace {

using server::CertificateToPem;
using server::DrainOpenSslErrors;
using server::EvpPkeyPtr;
using server::ParsePemCertificates;
using server::ParsePemPrivateKey;
using server::PemCertificate;
using server::PrivateKeyToPem;
using server::X509Ptr;

absl::Status AddExtension(X509* certificate, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx(&context, issuer, certificate, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
  if (extension == nullptr) {
    return absl::InternalError(absl::StrCat("extension ", value, ": ", DrainOpenSslErrors()));
  }
  int added = X509_add_ext(certificate, extension, -1);
  X509_EXTENSION_free(extension);
  return added == 1 ? absl::OkStatus() : absl::InternalError(DrainOpenSslErrors());
}

absl::Status AddName(X509_NAME* name, const char* field, const std::string& value) {
  if (X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
                                 0) != 1) {
    return absl::InternalError(DrainOpenSslErrors());
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PemCertificate> IssueTestCertificate(const TestCertificateSpec& spec,
                                                    const PemCertificate* issuer) {
  EvpPkeyPtr key(EVP_EC_gen("P-256"));
  X509Ptr certificate(X509_new());
  if (key == nullptr || certificate == nullptr || X509_set_version(certificate.get(), 2) != 1) {
    return absl::InternalError(DrainOpenSslErrors());
  }
  static std::atomic<long> serial{1};
  ASN1_INTEGER_set(X509_get_serialNumber(certificate.get()), serial++);
  X509_NAME* subject = X509_get_subject_name(certificate.get());
  if (!spec.common_name.empty()) {
    MA_RETURN_IF_ERROR(AddName(subject, "CN", spec.common_name));
  }
  for (const std::string& organization : spec.organizations) {
    MA_RETURN_IF_ERROR(AddName(subject, "O", organization));
  }
  X509_gmtime_adj(X509_getm_notBefore(certificate.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(certificate.get()), long{24} * 3600);
  X509_set_pubkey(certificate.get(), key.get());

  X509Ptr issuer_certificate;
  EvpPkeyPtr issuer_key;
  if (issuer != nullptr) {
    MA_ASSIGN_OR_RETURN(std::vector<X509Ptr> chain, ParsePemCertificates(issuer->certificate_pem));
    issuer_certificate = std::move(chain.front());
    MA_ASSIGN_OR_RETURN(issuer_key, ParsePemPrivateKey(issuer->private_key_pem));
    X509_set_issuer_name(certificate.get(), X509_get_subject_name(issuer_certificate.get()));
  } else {
    X509_set_issuer_name(certificate.get(), subject);
  }
  X509* signer = issuer != nullptr ? issuer_certificate.get() : certificate.get();
  EVP_PKEY* signing_key = issuer != nullptr ? issuer_key.get() : key.get();
  if (spec.is_ca) {
    MA_RETURN_IF_ERROR(
        AddExtension(certificate.get(), signer, NID_basic_constraints, "critical,CA:TRUE"));
    MA_RETURN_IF_ERROR(
        AddExtension(certificate.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign"));
  } else {
    MA_RETURN_IF_ERROR(
        AddExtension(certificate.get(), signer, NID_basic_constraints, "critical,CA:FALSE"));
    MA_RETURN_IF_ERROR(AddExtension(certificate.get(), signer, NID_ext_key_usage,
                                    spec.client_auth_usage ? "clientAuth" : "serverAuth"));
  }
  if (X509_sign(certificate.get(), signing_key, EVP_sha256()) == 0) {
    return absl::InternalError(DrainOpenSslErrors());
  }
  PemCertificate pem;
  MA_ASSIGN_OR_RETURN(pem.certificate_pem, CertificateToPem(certificate.get()));
  MA_ASSIGN_OR_RETURN(pem.private_key_pem, PrivateKeyToPem(key.get()));
  return pem;
}

}  // namespace ma::testing
