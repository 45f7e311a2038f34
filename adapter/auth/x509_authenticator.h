#pragma once

// The x509 client-certificate authenticator (the chain's second step): a certificate from
// the --client-ca-file bundle names the user in its CN and the groups in its O values. The
// server has already verified the chain (adapter/server/client_cert_verifier.h).

#include <optional>

#include "absl/status/statusor.h"
#include "adapter/auth/user_info.h"
#include "adapter/http/message.h"

namespace ma::auth {

// nullopt when there is no client certificate or it has no CN; kUnauthenticated when a
// certificate was presented that the client CA did not sign, or that does not allow client
// authentication. `client_ca_configured` false: never applies.
absl::StatusOr<std::optional<UserInfo>> AuthenticateX509(const http::Request& request,
                                                         bool client_ca_configured);

}  // namespace ma::auth
