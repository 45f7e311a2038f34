#include "adapter/auth/request_header_authenticator.h"

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ma::auth {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

RequestHeaderConfig DefaultConfig() {
  RequestHeaderConfig config;
  config.username_headers = {"X-Remote-User"};
  config.group_headers = {"X-Remote-Group"};
  config.extra_header_prefixes = {"X-Remote-Extra-"};
  config.allowed_names = {"front-proxy-client"};
  return config;
}

http::PeerCertificate ProxyCertificate() {
  http::PeerCertificate peer;
  peer.common_name = "front-proxy-client";
  peer.verified_by_requestheader_ca = true;
  peer.has_client_auth_usage = true;
  return peer;
}

http::Request RequestWith(std::optional<http::PeerCertificate> peer,
                          std::vector<std::pair<std::string, std::string>> headers) {
  http::Request request;
  request.method = "GET";
  request.peer_certificate = std::move(peer);
  request.headers = std::move(headers);
  return request;
}

TEST(RequestHeaderAuthenticatorTest, TakesTheIdentityFromTheHeaders) {
  RequestHeaderAuthenticator authenticator(DefaultConfig());
  const http::Request request =
      RequestWith(ProxyCertificate(), {{"x-remote-user", "jane"},
                                       {"x-remote-group", "dev"},
                                       {"x-remote-group", "a,b"},
                                       {"x-remote-group", ""},
                                       {"x-remote-extra-scopes", "view"},
                                       {"x-remote-extra-scopes", "edit"},
                                       {"x-remote-extra-example.com%2fteam", "blue"},
                                       {"x-remote-extra-bad%zz", "x"},
                                       {"accept", "application/json"}});
  absl::StatusOr<std::optional<UserInfo>> user = authenticator.Authenticate(request);
  ASSERT_TRUE(user.ok()) << user.status();
  ASSERT_TRUE(user->has_value());
  EXPECT_EQ((*user)->name, "jane");
  EXPECT_THAT((*user)->groups, ElementsAre("dev", "a,b"));
  EXPECT_THAT((*user)->extra, ElementsAre(Pair("bad%zz", ElementsAre("x")),
                                          Pair("example.com/team", ElementsAre("blue")),
                                          Pair("scopes", ElementsAre("view", "edit"))));
}

TEST(RequestHeaderAuthenticatorTest, FirstNonEmptyUsernameHeaderWins) {
  RequestHeaderConfig config = DefaultConfig();
  config.username_headers = {" X-Remote-User ", "X-Other-User"};
  config.uid_headers = {"X-Remote-Uid"};
  RequestHeaderAuthenticator authenticator(config);
  const http::Request request =
      RequestWith(ProxyCertificate(),
                  {{"x-other-user", "bob"}, {"x-remote-user", ""}, {"x-remote-uid", "1234"}});
  absl::StatusOr<std::optional<UserInfo>> user = authenticator.Authenticate(request);
  ASSERT_TRUE(user.ok() && user->has_value());
  EXPECT_EQ((*user)->name, "bob");
  EXPECT_EQ((*user)->uid, "1234");
}

TEST(RequestHeaderAuthenticatorTest, WhenItDoesNotApplyOrRefuses) {
  http::PeerCertificate other_ca = ProxyCertificate();
  other_ca.verified_by_requestheader_ca = false;
  other_ca.verified_by_client_ca = true;
  http::PeerCertificate no_eku = ProxyCertificate();
  no_eku.has_client_auth_usage = false;
  http::PeerCertificate wrong_name = ProxyCertificate();
  wrong_name.common_name = "mallory";
  struct Case {
    std::string name;
    std::optional<http::PeerCertificate> peer;
    std::vector<std::string> allowed_names;
    std::vector<std::pair<std::string, std::string>> headers;
    bool want_error;
    std::string error_part;
  };
  const Case cases[] = {
      {"no certificate", std::nullopt, {"front-proxy-client"}, {{"x-remote-user", "j"}}, false, ""},
      {"no user header", ProxyCertificate(), {"front-proxy-client"}, {}, false, ""},
      {"empty user header", ProxyCertificate(), {}, {{"x-remote-user", ""}}, false, ""},
      {"other CA", other_ca, {}, {{"x-remote-user", "j"}}, true, "request-header CA"},
      {"no clientAuth", no_eku, {}, {{"x-remote-user", "j"}}, true, "client authentication"},
      {"name not allowed",
       wrong_name,
       {"front-proxy-client"},
       {{"x-remote-user", "j"}},
       true,
       "cn=mallory is not in the allowed list"},
  };
  for (const Case& c : cases) {
    RequestHeaderConfig config = DefaultConfig();
    config.allowed_names = c.allowed_names;
    RequestHeaderAuthenticator authenticator(config);
    absl::StatusOr<std::optional<UserInfo>> user =
        authenticator.Authenticate(RequestWith(c.peer, c.headers));
    if (c.want_error) {
      EXPECT_EQ(user.status().code(), absl::StatusCode::kUnauthenticated) << c.name;
      EXPECT_THAT(std::string(user.status().message()), HasSubstr(c.error_part)) << c.name;
    } else {
      ASSERT_TRUE(user.ok()) << c.name << ": " << user.status();
      EXPECT_FALSE(user->has_value()) << c.name;
    }
  }
}

TEST(RequestHeaderAuthenticatorTest, AnyNameIsAllowedWhenTheListIsEmpty) {
  RequestHeaderConfig config = DefaultConfig();
  config.allowed_names.clear();
  RequestHeaderAuthenticator authenticator(config);
  http::PeerCertificate peer = ProxyCertificate();
  peer.common_name = "anything";
  absl::StatusOr<std::optional<UserInfo>> user =
      authenticator.Authenticate(RequestWith(peer, {{"x-remote-user", "jane"}}));
  ASSERT_TRUE(user.ok() && user->has_value());
  EXPECT_EQ((*user)->name, "jane");
}

TEST(RequestHeaderAuthenticatorTest, StripHeadersRemovesEveryIdentityHeader) {
  RequestHeaderConfig config = DefaultConfig();
  config.uid_headers = {"X-Remote-Uid"};
  RequestHeaderAuthenticator authenticator(config);
  http::Request request = RequestWith(std::nullopt, {{"x-remote-user", "jane"},
                                                     {"x-remote-uid", "1"},
                                                     {"accept", "application/json"},
                                                     {"x-remote-group", "dev"},
                                                     {"x-remote-extra-scopes", "view"},
                                                     {"x-remote-other", "kept"}});
  authenticator.StripHeaders(request);
  EXPECT_THAT(request.headers,
              ElementsAre(Pair("accept", "application/json"), Pair("x-remote-other", "kept")));
}

}  // namespace
}  // namespace ma::auth
