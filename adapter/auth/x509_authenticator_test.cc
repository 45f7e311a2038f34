#include "adapter/auth/x509_authenticator.h"

#include <optional>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ma::auth {
namespace {

using ::testing::ElementsAre;

http::PeerCertificate ClientCertificate() {
  http::PeerCertificate peer;
  peer.common_name = "jane";
  peer.organizations = {"dev", "ops"};
  peer.verified_by_client_ca = true;
  peer.has_client_auth_usage = true;
  return peer;
}

TEST(X509AuthenticatorTest, CommonNameIsTheUserAndOrganizationsTheGroups) {
  http::Request request;
  request.peer_certificate = ClientCertificate();
  absl::StatusOr<std::optional<UserInfo>> user = AuthenticateX509(request, true);
  ASSERT_TRUE(user.ok() && user->has_value());
  EXPECT_EQ((*user)->name, "jane");
  EXPECT_THAT((*user)->groups, ElementsAre("dev", "ops"));
}

TEST(X509AuthenticatorTest, WhenItDoesNotApplyOrRefuses) {
  http::PeerCertificate proxy_only = ClientCertificate();
  proxy_only.verified_by_client_ca = false;
  proxy_only.verified_by_requestheader_ca = true;
  http::PeerCertificate no_eku = ClientCertificate();
  no_eku.has_client_auth_usage = false;
  http::PeerCertificate no_cn = ClientCertificate();
  no_cn.common_name.clear();
  struct Case {
    std::string name;
    std::optional<http::PeerCertificate> peer;
    bool configured;
    absl::StatusCode want_code;  // kOk: does not apply
  };
  const Case cases[] = {
      {"no certificate", std::nullopt, true, absl::StatusCode::kOk},
      {"no client CA", ClientCertificate(), false, absl::StatusCode::kOk},
      {"empty CN", no_cn, true, absl::StatusCode::kOk},
      {"signed by the proxy CA only", proxy_only, true, absl::StatusCode::kUnauthenticated},
      {"no clientAuth", no_eku, true, absl::StatusCode::kUnauthenticated},
  };
  for (const Case& c : cases) {
    http::Request request;
    request.peer_certificate = c.peer;
    absl::StatusOr<std::optional<UserInfo>> user = AuthenticateX509(request, c.configured);
    EXPECT_EQ(user.status().code(), c.want_code) << c.name;
    if (user.ok()) {
      EXPECT_FALSE(user->has_value()) << c.name;
    }
  }
}

}  // namespace
}  // namespace ma::auth
