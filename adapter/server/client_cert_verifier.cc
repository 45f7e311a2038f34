#include "adapter/server/client_cert_verifier.h"

#include <openssl/x509v3.h>

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "adapter/server/limits.h"
#include "queries/base/status_macros.h"
#include "queries/base/strings.h"

namespace ma::server {
namespace {

// A store of the certificates in `pem`; an empty `pem` is no store. `what` names the bundle in
// errors.
absl::StatusOr<X509StorePtr> StoreFromPem(std::string_view pem, std::string_view what) {
  if (pem.empty()) {
    return X509StorePtr();
  }
  absl::StatusOr<std::vector<X509Ptr>> certificates = ParsePemCertificates(pem);
  if (!certificates.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(ToAbsl(what), ": ", certificates.status().message()));
  }
  X509StorePtr store(X509_STORE_new());
  if (store == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot create a certificate store: ", DrainOpenSslErrors()));
  }
  for (const X509Ptr& certificate : *certificates) {
    if (X509_STORE_add_cert(store.get(), certificate.get()) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(ToAbsl(what), ": cannot add a certificate: ", DrainOpenSslErrors()));
    }
  }
  return store;
}

absl::StatusOr<X509StorePtr> LoadBundle(std::string_view path, std::string_view flag) {
  if (path.empty()) {
    return X509StorePtr();
  }
  absl::StatusOr<std::string> pem = ReadSmallFile(path, kMaxPemFileBytes);
  if (!pem.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(ToAbsl(flag), ": ", pem.status().message()));
  }
  if (pem->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(ToAbsl(flag), " ", GoQuote(path), ": no PEM certificate found"));
  }
  return StoreFromPem(*pem, absl::StrCat(ToAbsl(flag), " ", GoQuote(path)));
}

struct ChainResult {
  bool verified = false;
  bool client_auth = false;
};

ChainResult VerifyAgainst(X509_STORE* store, X509* leaf, STACK_OF(X509) * untrusted_chain) {
  ChainResult result;
  if (store == nullptr) {
    return result;
  }
  X509StoreCtxPtr context(X509_STORE_CTX_new());
  if (context == nullptr || X509_STORE_CTX_init(context.get(), store, leaf, untrusted_chain) != 1) {
    DrainOpenSslErrors();
    return result;
  }
  result.verified = X509_verify_cert(context.get()) == 1;
  if (result.verified) {
    // Go's rule: every certificate of the chain that lists extended key usages must allow
    // clientAuth (or any); one without the extension allows everything. OpenSSL reports a
    // missing extension as all bits set.
    result.client_auth = true;
    STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(context.get());
    for (int i = 0; i < sk_X509_num(chain); ++i) {
      uint32_t usage = X509_get_extended_key_usage(sk_X509_value(chain, i));
      if ((usage & (XKU_SSL_CLIENT | XKU_ANYEKU)) == 0) {
        result.client_auth = false;
      }
    }
  }
  DrainOpenSslErrors();
  return result;
}

std::vector<std::string> SubjectValues(X509* certificate, int nid) {
  std::vector<std::string> values;
  X509_NAME* subject = X509_get_subject_name(certificate);
  for (int index = X509_NAME_get_index_by_NID(subject, nid, -1); index >= 0;
       index = X509_NAME_get_index_by_NID(subject, nid, index)) {
    ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
    unsigned char* utf8 = nullptr;
    int length = ASN1_STRING_to_UTF8(&utf8, data);
    if (length >= 0 && utf8 != nullptr) {
      values.emplace_back(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
    }
    OPENSSL_free(utf8);
  }
  return values;
}

}  // namespace

absl::StatusOr<ClientCertVerifier> ClientCertVerifier::Create(
    std::string_view client_ca_file, std::string_view requestheader_client_ca_file) {
  MA_ASSIGN_OR_RETURN(X509StorePtr client_ca, LoadBundle(client_ca_file, "--client-ca-file"));
  MA_ASSIGN_OR_RETURN(X509StorePtr requestheader_ca,
                      LoadBundle(requestheader_client_ca_file, "--requestheader-client-ca-file"));
  return ClientCertVerifier(std::move(client_ca), std::move(requestheader_ca));
}

absl::StatusOr<ClientCertVerifier> ClientCertVerifier::CreateFromPem(
    std::string_view client_ca_pem, std::string_view requestheader_client_ca_pem) {
  if (client_ca_pem.size() > kMaxPemFileBytes ||
      requestheader_client_ca_pem.size() > kMaxPemFileBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("a client CA bundle is larger than ", kMaxPemFileBytes, " bytes"));
  }
  MA_ASSIGN_OR_RETURN(X509StorePtr client_ca, StoreFromPem(client_ca_pem, "client CA bundle"));
  MA_ASSIGN_OR_RETURN(X509StorePtr requestheader_ca,
                      StoreFromPem(requestheader_client_ca_pem, "request-header CA bundle"));
  return ClientCertVerifier(std::move(client_ca), std::move(requestheader_ca));
}

std::optional<http::PeerCertificate> ClientCertVerifier::Verify(X509* leaf,
                                                                STACK_OF(X509) *
                                                                    untrusted_chain) const {
  if (leaf == nullptr || !enabled()) {
    return std::nullopt;
  }
  ChainResult requestheader = VerifyAgainst(requestheader_ca_.get(), leaf, untrusted_chain);
  ChainResult client = VerifyAgainst(client_ca_.get(), leaf, untrusted_chain);
  http::PeerCertificate peer;
  if (!requestheader.verified && !client.verified) {
    // Presented but trusted by neither bundle: the authenticators refuse it (401, as Go's x509
    // verifier does) instead of treating the request as anonymous; no name is taken from it.
    return peer;
  }
  // Go's pkix.Name keeps the last CN it meets.
  std::vector<std::string> common_names = SubjectValues(leaf, NID_commonName);
  if (!common_names.empty()) {
    peer.common_name = std::move(common_names.back());
  }
  peer.organizations = SubjectValues(leaf, NID_organizationName);
  peer.verified_by_requestheader_ca = requestheader.verified;
  peer.verified_by_client_ca = client.verified;
  peer.has_client_auth_usage = (requestheader.verified && requestheader.client_auth) ||
                               (client.verified && client.client_auth);
  return peer;
}

std::optional<http::PeerCertificate> ClientCertVerifier::VerifyPeer(SSL* ssl) const {
  if (ssl == nullptr || !enabled()) {
    return std::nullopt;
  }
  // On the server side the peer chain excludes the leaf: exactly the untrusted intermediates.
  return Verify(SSL_get0_peer_certificate(ssl), SSL_get_peer_cert_chain(ssl));
}

}  // namespace ma::server
