#include "adapter/auth/authenticator.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_join.h"
#include "adapter/auth/x509_authenticator.h"

namespace ma::auth {
namespace {

UserInfo Authenticated(UserInfo user) {
  AddAuthenticatedGroup(user);
  return user;
}

absl::Status Refused(const std::vector<std::string>& errors) {
  return absl::UnauthenticatedError(absl::StrJoin(errors, "; "));
}

}  // namespace

Authenticator::Authenticator(AuthenticatorSettings settings,
                             std::unique_ptr<TokenReviewAuthenticator> tokens)
    : tokens_(std::move(tokens)) {
  UpdateSettings(std::move(settings));
}

void Authenticator::UpdateSettings(AuthenticatorSettings settings) {
  auto state = std::make_shared<State>();
  if (settings.request_header.has_value()) {
    state->request_header.emplace(*settings.request_header);
  }
  state->settings = std::move(settings);
  state_.Set(std::move(state));
}

void Authenticator::Authenticate(const http::Request& request, AuthenticateCallback done,
                                 async::CancelSlot* cancel) const {
  const std::shared_ptr<const State> state = state_.Get();
  std::vector<std::string> errors;
  if (state->request_header.has_value()) {
    absl::StatusOr<std::optional<UserInfo>> user = state->request_header->Authenticate(request);
    if (!user.ok()) {
      errors.emplace_back(user.status().message());
    } else if (user->has_value()) {
      done(Authenticated(**std::move(user)));
      return;
    }
  }
  absl::StatusOr<std::optional<UserInfo>> x509 =
      AuthenticateX509(request, state->settings.client_ca);
  if (!x509.ok()) {
    errors.emplace_back(x509.status().message());
  } else if (x509->has_value()) {
    done(Authenticated(**std::move(x509)));
    return;
  }
  auto finish = [errors = std::move(errors),
                 done = std::move(done)](absl::StatusOr<std::optional<UserInfo>> token) mutable {
    if (!token.ok()) {
      errors.emplace_back(token.status().message());
    } else if (token->has_value()) {
      done(Authenticated(**std::move(token)));
      return;
    }
    if (!errors.empty()) {
      done(Refused(errors));
      return;
    }
    done(AnonymousUser());
  };
  if (tokens_ == nullptr) {
    finish(std::nullopt);
    return;
  }
  tokens_->Authenticate(request, std::move(finish), cancel);
}

void Authenticator::StripCredentials(http::Request& request) const {
  const std::shared_ptr<const State> state = state_.Get();
  if (state->request_header.has_value()) {
    state->request_header->StripHeaders(request);
  }
  std::erase_if(request.headers,
                [](const auto& header) { return header.first == "authorization"; });
}

}  // namespace ma::auth
