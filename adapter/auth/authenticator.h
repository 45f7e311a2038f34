#pragma once

// The delegating authenticator chain (docs/security.md): front proxy, then x509 client
// certificate, then bearer token; the first that succeeds names the user, who joins
// system:authenticated. A request that none applies to is system:anonymous; one that some
// refused and none accepted is a 401.

#include <functional>
#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "adapter/async/cancel_slot.h"
#include "adapter/auth/request_header_authenticator.h"
#include "adapter/auth/token_review_authenticator.h"
#include "adapter/auth/user_info.h"
#include "adapter/http/message.h"
#include "queries/base/snapshot.h"

namespace ma::auth {

// What the extension-apiserver-authentication ConfigMap (or the flags) decide, replaced at run
// time when the ConfigMap changes.
struct AuthenticatorSettings {
  // Set when a request-header (front-proxy) CA is configured.
  std::optional<RequestHeaderConfig> request_header;
  // A client CA is configured, so verified client certificates name users.
  bool client_ca = false;

  bool operator==(const AuthenticatorSettings&) const = default;
};

// The user, or kUnauthenticated with every authenticator's reason (for the log; the client
// sees only "Unauthorized").
using AuthenticateCallback = std::function<void(absl::StatusOr<UserInfo>)>;

// Thread-safe: Authenticate, StripCredentials and UpdateSettings may be called from any thread;
// the settings are an immutable snapshot swapped whole.
class Authenticator {
 public:
  // `tokens` null: bearer tokens are ignored (no --authentication-kubeconfig).
  Authenticator(AuthenticatorSettings settings, std::unique_ptr<TokenReviewAuthenticator> tokens);
  Authenticator(const Authenticator&) = delete;
  Authenticator& operator=(const Authenticator&) = delete;

  void UpdateSettings(AuthenticatorSettings settings);

  // Calls `done` exactly once, at once unless a TokenReview is needed; with `cancel`, a caller
  // that goes away while the review runs is forgotten instead (token_review_authenticator.h).
  void Authenticate(const http::Request& request, AuthenticateCallback done,
                    async::CancelSlot* cancel = nullptr) const;

  // Removes the front-proxy identity headers and the Authorization header, so that nothing
  // behind the filter can see or trust them.
  void StripCredentials(http::Request& request) const;

 private:
  struct State {
    AuthenticatorSettings settings;
    std::optional<RequestHeaderAuthenticator> request_header;
  };

  Snapshot<State> state_;
  std::unique_ptr<TokenReviewAuthenticator> tokens_;
};

}  // namespace ma::auth
