#include "adapter/auth/x509_authenticator.h"

#include "absl/status/status.h"

namespace ma::auth {

absl::StatusOr<std::optional<UserInfo>> AuthenticateX509(const http::Request& request,
                                                         bool client_ca_configured) {
  if (!client_ca_configured || !request.peer_certificate.has_value()) {
    return std::nullopt;
  }
  const http::PeerCertificate& peer = *request.peer_certificate;
  if (!peer.verified_by_client_ca) {
    return absl::UnauthenticatedError(
        "x509: the client certificate is not signed by the client CA");
  }
  if (!peer.has_client_auth_usage) {
    return absl::UnauthenticatedError(
        "x509: the client certificate does not allow client authentication (EKU)");
  }
  if (peer.common_name.empty()) {
    return std::nullopt;
  }
  UserInfo user;
  user.name = peer.common_name;
  user.groups = peer.organizations;
  return user;
}

}  // namespace ma::auth
