#include "adapter/auth/authentication_config.h"

#include <cstdio>
#include <fstream>
#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/testing/fake_api_client.h"
#include "test/testing/status_matchers.h"

namespace ma::auth {
namespace {

using ::ma::testing::FakeApiClient;
using ::ma::testing::IsOk;
using ::ma::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

constexpr char kClientPem[] = "-----BEGIN CERTIFICATE-----\nclient\n-----END CERTIFICATE-----\n";
constexpr char kProxyPem[] = "-----BEGIN CERTIFICATE-----\nproxy\n-----END CERTIFICATE-----\n";

std::map<std::string, std::string> KubeadmConfigMap() {
  return {
      {"client-ca-file", kClientPem},
      {"requestheader-client-ca-file", kProxyPem},
      {"requestheader-allowed-names", R"(["front-proxy-client"])"},
      {"requestheader-username-headers", R"(["X-Remote-User"])"},
      {"requestheader-group-headers", R"(["X-Remote-Group"])"},
      {"requestheader-extra-headers-prefix", R"(["X-Remote-Extra-"])"},
      {"requestheader-uid-headers", R"(["X-Remote-Uid"])"},
  };
}

std::string WriteFile(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

TEST(AuthenticationConfigTest, FromTheConfigMap) {
  absl::StatusOr<AuthenticationConfig> config =
      MergeAuthenticationConfig(AuthenticationFlags{}, KubeadmConfigMap());
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->client_ca_pem, kClientPem);
  EXPECT_EQ(config->requestheader_ca_pem, kProxyPem);
  EXPECT_THAT(config->request_header.allowed_names, ElementsAre("front-proxy-client"));
  EXPECT_THAT(config->request_header.username_headers, ElementsAre("X-Remote-User"));
  EXPECT_THAT(config->request_header.uid_headers, ElementsAre("X-Remote-Uid"));
  EXPECT_THAT(config->request_header.group_headers, ElementsAre("X-Remote-Group"));
  EXPECT_THAT(config->request_header.extra_header_prefixes, ElementsAre("X-Remote-Extra-"));
  const AuthenticatorSettings settings = config->Settings();
  EXPECT_TRUE(settings.client_ca);
  ASSERT_TRUE(settings.request_header.has_value());
  EXPECT_EQ(*settings.request_header, config->request_header);
}

TEST(AuthenticationConfigTest, EmptyConfigMapMeansNoCertificates) {
  absl::StatusOr<AuthenticationConfig> config =
      MergeAuthenticationConfig(AuthenticationFlags{}, {});
  ASSERT_THAT(config, IsOk());
  EXPECT_FALSE(config->Settings().client_ca);
  EXPECT_FALSE(config->Settings().request_header.has_value());
}

TEST(AuthenticationConfigTest, FlagsOverrideTheConfigMap) {
  AuthenticationFlags flags;
  flags.client_ca_file = WriteFile("client-ca.pem", "FLAG CLIENT CA");
  flags.requestheader_client_ca_file = WriteFile("proxy-ca.pem", "FLAG PROXY CA");
  flags.requestheader_allowed_names = {"aggregator"};
  absl::StatusOr<AuthenticationConfig> config =
      MergeAuthenticationConfig(flags, KubeadmConfigMap());
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->client_ca_pem, "FLAG CLIENT CA");
  EXPECT_EQ(config->requestheader_ca_pem, "FLAG PROXY CA");
  EXPECT_THAT(config->request_header.allowed_names, ElementsAre("aggregator"));
  EXPECT_THAT(config->request_header.username_headers, ElementsAre("X-Remote-User"));
  EXPECT_THAT(config->request_header.uid_headers, IsEmpty());
}

TEST(AuthenticationConfigTest, OnlyTheClientCaFlagKeepsTheConfigMapFrontProxy) {
  AuthenticationFlags flags;
  flags.client_ca_file = WriteFile("client-ca-only.pem", "FLAG CLIENT CA");
  absl::StatusOr<AuthenticationConfig> config =
      MergeAuthenticationConfig(flags, KubeadmConfigMap());
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->client_ca_pem, "FLAG CLIENT CA");
  EXPECT_EQ(config->requestheader_ca_pem, kProxyPem);
}

TEST(AuthenticationConfigTest, Errors) {
  AuthenticationFlags missing_file;
  missing_file.requestheader_client_ca_file = "/nonexistent/ca.pem";
  std::map<std::string, std::string> bad_list = KubeadmConfigMap();
  bad_list["requestheader-allowed-names"] = "front-proxy-client";
  struct Case {
    AuthenticationFlags flags;
    std::map<std::string, std::string> data;
    std::string message_part;
  };
  const Case cases[] = {
      {missing_file, {}, "--requestheader-client-ca-file \"/nonexistent/ca.pem\""},
      {AuthenticationFlags{}, bad_list, "requestheader-allowed-names"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<AuthenticationConfig> config = MergeAuthenticationConfig(c.flags, c.data);
    EXPECT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message_part)));
  }
}

TEST(AuthenticationConfigTest, FetchConfigMap) {
  struct Case {
    absl::StatusOr<kube::ApiResponse> response;
    absl::StatusCode want_code;
    size_t want_keys;
  };
  const Case cases[] = {
      {kube::ApiResponse{200, R"({"kind":"ConfigMap","data":{"client-ca-file":"PEM"}})"},
       absl::StatusCode::kOk, 1},
      {kube::ApiResponse{404, R"({"kind":"Status"})"}, absl::StatusCode::kOk, 0},
      {kube::ApiResponse{403, R"({"kind":"Status"})"}, absl::StatusCode::kPermissionDenied, 0},
      {kube::ApiResponse{500, "{}"}, absl::StatusCode::kUnavailable, 0},
      {kube::ApiResponse{200, "not json"}, absl::StatusCode::kInternal, 0},
      {absl::UnavailableError("refused"), absl::StatusCode::kUnavailable, 0},
  };
  for (const Case& c : cases) {
    FakeApiClient client;
    client.Set(std::string(kAuthenticationConfigMapPath), c.response);
    absl::StatusOr<std::map<std::string, std::string>> data = absl::InternalError("not called");
    FetchAuthenticationConfigMap(client, [&](auto result) { data = std::move(result); });
    EXPECT_EQ(data.status().code(), c.want_code) << data.status();
    if (data.ok()) {
      EXPECT_EQ(data->size(), c.want_keys);
    }
    ASSERT_EQ(client.calls(), 1u);
    EXPECT_EQ(client.requests()[0].method, "GET");
  }
}

}  // namespace
}  // namespace ma::auth
