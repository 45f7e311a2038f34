#include "adapter/auth/authenticator.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/testing/fake_api_client.h"
#include "test/testing/fake_clock.h"
#include "test/testing/status_matchers.h"

namespace ma::auth {
namespace {

using ::ma::testing::FakeApiClient;
using ::ma::testing::FakeClock;
using ::ma::testing::IsOk;
using ::ma::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

AuthenticatorSettings Settings(bool request_header, bool client_ca) {
  AuthenticatorSettings settings;
  if (request_header) {
    RequestHeaderConfig config;
    config.username_headers = {"X-Remote-User"};
    config.group_headers = {"X-Remote-Group"};
    config.extra_header_prefixes = {"X-Remote-Extra-"};
    config.allowed_names = {"front-proxy-client"};
    settings.request_header = config;
  }
  settings.client_ca = client_ca;
  return settings;
}

http::Request WithCertificate(std::string cn, bool proxy_ca, bool client_ca) {
  http::Request request;
  request.method = "GET";
  http::PeerCertificate peer;
  peer.common_name = std::move(cn);
  peer.organizations = {"dev"};
  peer.verified_by_requestheader_ca = proxy_ca;
  peer.verified_by_client_ca = client_ca;
  peer.has_client_auth_usage = true;
  request.peer_certificate = peer;
  return request;
}

absl::StatusOr<UserInfo> AuthenticateNow(const Authenticator& authenticator,
                                         const http::Request& request) {
  absl::StatusOr<UserInfo> result = absl::InternalError("callback not called");
  authenticator.Authenticate(request, [&](absl::StatusOr<UserInfo> r) { result = std::move(r); });
  return result;
}

TEST(AuthenticatorTest, ChainAsGoUnionsIt) {
  http::Request proxied = WithCertificate("front-proxy-client", true, false);
  proxied.headers.emplace_back("x-remote-user", "jane");
  proxied.headers.emplace_back("x-remote-group", "system:authenticated");
  const http::Request client_cert = WithCertificate("bob", false, true);
  // Signed by both CAs but not an allowed proxy name: the x509 authenticator still accepts it.
  http::Request both = WithCertificate("carol", true, true);
  both.headers.emplace_back("x-remote-user", "mallory");
  // A proxy certificate without a user header, with a client CA configured that did not sign
  // it: the x509 authenticator's error makes it a 401, as in Go.
  const http::Request proxy_no_user = WithCertificate("front-proxy-client", true, false);
  // A certificate that neither CA signed (the verifier names no one): a 401 too, not anonymous.
  const http::Request unknown_ca = WithCertificate("", false, false);
  struct Case {
    std::string name;
    http::Request request;
    AuthenticatorSettings settings;
    std::optional<std::string> want_user;  // nullopt: 401
    std::vector<std::string> want_groups;
  };
  const Case cases[] = {
      {"front proxy", proxied, Settings(true, true), "jane", {"system:authenticated"}},
      {"client certificate",
       client_cert,
       Settings(true, true),
       "bob",
       {"dev", "system:authenticated"}},
      {"not an allowed proxy, but a client",
       both,
       Settings(true, true),
       "carol",
       {"dev", "system:authenticated"}},
      {"proxy without user, client CA known",
       proxy_no_user,
       Settings(true, true),
       std::nullopt,
       {}},
      {"proxy without user, no client CA",
       proxy_no_user,
       Settings(true, false),
       "system:anonymous",
       {"system:unauthenticated"}},
      {"certificate from an unknown CA", unknown_ca, Settings(true, true), std::nullopt, {}},
      {"certificate from an unknown CA, no CA configured",
       unknown_ca,
       Settings(false, false),
       "system:anonymous",
       {"system:unauthenticated"}},
      {"nothing presented",
       http::Request{},
       Settings(true, true),
       "system:anonymous",
       {"system:unauthenticated"}},
      {"front proxy not configured",
       proxied,
       Settings(false, false),
       "system:anonymous",
       {"system:unauthenticated"}},
  };
  for (const Case& c : cases) {
    Authenticator authenticator(c.settings, nullptr);
    absl::StatusOr<UserInfo> user = AuthenticateNow(authenticator, c.request);
    if (!c.want_user.has_value()) {
      EXPECT_THAT(user, StatusIs(absl::StatusCode::kUnauthenticated));
      continue;
    }
    ASSERT_THAT(user, IsOk()) << c.name << ": " << user.status();
    EXPECT_EQ(user->name, *c.want_user) << c.name;
    EXPECT_EQ(user->groups, c.want_groups) << c.name;
  }
}

TEST(AuthenticatorTest, BearerTokensAreReviewedLast) {
  FakeApiClient client;
  client.Set(
      std::string(kTokenReviewPath),
      kube::ApiResponse{201, R"({"status":{"authenticated":true,"user":{"username":"sa"}}})"});
  FakeClock clock;
  Authenticator authenticator(Settings(true, false), std::make_unique<TokenReviewAuthenticator>(
                                                         client, TokenReviewOptions{}, clock));
  http::Request request;
  request.headers.emplace_back("authorization", "Bearer t");
  absl::StatusOr<UserInfo> user = AuthenticateNow(authenticator, request);
  ASSERT_THAT(user, IsOk());
  EXPECT_EQ(user->name, "sa");
  EXPECT_THAT(user->groups, ElementsAre("system:authenticated"));

  http::Request proxied = WithCertificate("front-proxy-client", true, false);
  proxied.headers.emplace_back("x-remote-user", "jane");
  proxied.headers.emplace_back("authorization", "Bearer t");
  ASSERT_TRUE(AuthenticateNow(authenticator, proxied).ok());
  EXPECT_EQ(client.calls(), 1u);  // the front proxy answered first
}

TEST(AuthenticatorTest, UpdateSettingsAppliesToLaterRequests) {
  Authenticator authenticator(Settings(false, false), nullptr);
  http::Request proxied = WithCertificate("front-proxy-client", true, false);
  proxied.headers.emplace_back("x-remote-user", "jane");
  EXPECT_EQ(AuthenticateNow(authenticator, proxied)->name, "system:anonymous");
  authenticator.UpdateSettings(Settings(true, false));
  EXPECT_EQ(AuthenticateNow(authenticator, proxied)->name, "jane");
}

TEST(AuthenticatorTest, StripCredentials) {
  Authenticator authenticator(Settings(true, false), nullptr);
  http::Request request;
  request.headers = {{"x-remote-user", "jane"},
                     {"authorization", "Bearer t"},
                     {"x-remote-extra-scopes", "view"},
                     {"accept", "*/*"}};
  authenticator.StripCredentials(request);
  EXPECT_THAT(request.headers, ElementsAre(Pair("accept", "*/*")));
}

}  // namespace
}  // namespace ma::auth
