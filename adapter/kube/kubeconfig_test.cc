#include "adapter/kube/kubeconfig.h"

#include <string>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "queries/base/strings.h"
#include "test/testing/status_matchers.h"
#include "test/testing/temp_dir.h"

namespace ma::kube {
namespace {

using ::ma::testing::IsOk;
using ::ma::testing::StatusIs;
using ::ma::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

std::string Kubeconfig(std::string_view cluster, std::string_view user) {
  return Cat(R"(apiVersion: v1
kind: Config
current-context: main
contexts:
- name: other
  context: {cluster: nowhere, user: nobody}
- name: main
  context: {cluster: c1, user: u1, namespace: ns}
clusters:
- name: c1
  cluster:
)",
             cluster, R"(
users:
- name: u1
  user:
)",
             user, "\n");
}

TEST(ParseKubeconfigTest, ResolvesCurrentContextAndRelativePaths) {
  const absl::StatusOr<ClusterConfig> config =
      ParseKubeconfig(Kubeconfig("    server: https://api.example:6443/\n"
                                 "    certificate-authority: ca.crt\n"
                                 "    tls-server-name: kubernetes",
                                 "    client-certificate: /abs/client.crt\n"
                                 "    client-key: keys/client.key\n"
                                 "    tokenFile: token"),
                      "/etc/kube", "/etc/kube/config");
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->server, "https://api.example:6443");
  EXPECT_EQ(config->ca_file, "/etc/kube/ca.crt");
  EXPECT_EQ(config->tls_server_name, "kubernetes");
  EXPECT_EQ(config->client_certificate_file, "/abs/client.crt");
  EXPECT_EQ(config->client_key_file, "/etc/kube/keys/client.key");
  EXPECT_EQ(config->token_file, "/etc/kube/token");
  EXPECT_FALSE(config->exec.has_value());
  EXPECT_EQ(config->source, "/etc/kube/config");
}

TEST(ParseKubeconfigTest, DecodesDataFieldsAndToken) {
  const std::string ca = absl::Base64Escape("CA PEM");
  const std::string cert = absl::Base64Escape("CERT PEM");
  const std::string key = absl::Base64Escape("KEY PEM");
  const absl::StatusOr<ClusterConfig> config = ParseKubeconfig(
      Kubeconfig(Cat("    server: https://h\n    certificate-authority-data: ", ca),
                 Cat("    client-certificate-data: ", cert, "\n    client-key-data: ", key,
                     "\n    token: abc\n    tokenFile: ignored-when-token-is-set")),
      "/d", "f");
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->ca_pem, "CA PEM");
  EXPECT_EQ(config->client_certificate_pem, "CERT PEM");
  EXPECT_EQ(config->client_key_pem, "KEY PEM");
  EXPECT_EQ(config->token, "abc");
  EXPECT_EQ(config->token_file, "");
}

TEST(ParseKubeconfigTest, ParsesExec) {
  const absl::StatusOr<ClusterConfig> config =
      ParseKubeconfig(Kubeconfig("    server: https://h\n    insecure-skip-tls-verify: true",
                                 R"(    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./bin/get-token
      args: [--cluster, c1]
      env: [{name: REGION, value: eu}]
      interactiveMode: IfAvailable)"),
                      "/home/me/.kube", "config");
  ASSERT_THAT(config, IsOk());
  EXPECT_TRUE(config->insecure_skip_tls_verify);
  ASSERT_TRUE(config->exec.has_value());
  EXPECT_EQ(config->exec->command, "/home/me/.kube/./bin/get-token");
  EXPECT_THAT(config->exec->args, ::testing::ElementsAre("--cluster", "c1"));
  ASSERT_EQ(config->exec->env.size(), 1u);
  EXPECT_EQ(config->exec->env[0].first, "REGION");
  EXPECT_EQ(config->exec->env[0].second, "eu");
  EXPECT_EQ(config->exec->interactive_mode, "IfAvailable");
}

TEST(ParseKubeconfigTest, ExecCommandWithoutSlashStaysAPathLookup) {
  const absl::StatusOr<ClusterConfig> config = ParseKubeconfig(
      Kubeconfig("    server: https://h",
                 "    exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: aws}"),
      "/d", "config");
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->exec->command, "aws");
}

struct BadCase {
  std::string name;
  std::string yaml;
  std::string message;
};

TEST(ParseKubeconfigTest, RejectsBadFilesNamingTheField) {
  const std::vector<BadCase> cases = {
      {"not yaml", "a: [", "line "},
      {"not a map", "- 1", "must be a map"},
      {"no context", "clusters: []", "current-context: is not set"},
      {"missing context", "current-context: x\ncontexts: []",
       "current-context: names \"x\", which is not in contexts"},
      {"missing cluster",
       "current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]",
       "contexts[\"x\"].context.cluster: names \"c\", which is not in clusters"},
      {"no server", Kubeconfig("    certificate-authority: x", "    token: t"),
       "clusters[\"c1\"].cluster.server: is not set"},
      {"bad scheme", Kubeconfig("    server: ftp://h", "    token: t"), "must start with"},
      {"bad base64",
       Kubeconfig("    server: https://h\n    certificate-authority-data: '%%'", "    token: t"),
       "certificate-authority-data: is not valid base64"},
      {"bad bool",
       Kubeconfig("    server: https://h\n    insecure-skip-tls-verify: maybe", "    token: t"),
       "insecure-skip-tls-verify: must be true or false"},
      {"insecure with CA",
       Kubeconfig("    server: https://h\n    insecure-skip-tls-verify: true\n"
                  "    certificate-authority: ca",
                  "    token: t"),
       "cannot be combined"},
      {"cert without key", Kubeconfig("    server: https://h", "    client-certificate: c"),
       "must be given together"},
      {"auth provider", Kubeconfig("    server: https://h", "    auth-provider: {name: gcp}"),
       "users[\"u1\"].user.auth-provider: is not supported"},
      {"exec without interactiveMode",
       Kubeconfig("    server: https://h",
                  "    exec: {apiVersion: client.authentication.k8s.io/v1, command: x}"),
       "users[\"u1\"].user.exec: interactiveMode must be set"},
      {"exec Always",
       Kubeconfig("    server: https://h",
                  "    exec: {apiVersion: client.authentication.k8s.io/v1, command: login, "
                  "interactiveMode: Always}"),
       "exec plugin \"login\" requires interactiveMode Always"},
      {"exec bad version",
       Kubeconfig("    server: https://h",
                  "    exec: {apiVersion: client.authentication.k8s.io/v1alpha1, command: x}"),
       "apiVersion \"client.authentication.k8s.io/v1alpha1\" is not supported"},
      {"exec env",
       Kubeconfig("    server: https://h",
                  "    exec: {apiVersion: client.authentication.k8s.io/v1, command: "
                  "x, interactiveMode: Never, env: [{name: '', value: v}]}"),
       "exec.env[0].name: must be non-empty"},
  };
  for (const BadCase& c : cases) {
    const absl::StatusOr<ClusterConfig> config = ParseKubeconfig(c.yaml, "/d", "/d/config");
    ASSERT_THAT(config, Not(IsOk())) << c.name;
    EXPECT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(std::string(config.status().message()), HasSubstr("kubeconfig \"/d/config\""))
        << c.name;
    EXPECT_THAT(std::string(config.status().message()), HasSubstr(c.message)) << c.name;
  }
}

TEST(ParseKubeconfigTest, MissingUserIsNamed) {
  const std::string yaml =
      "current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
      "clusters: [{name: c, cluster: {server: 'https://h'}}]\n";
  const absl::StatusOr<ClusterConfig> config = ParseKubeconfig(yaml, "/d", "f");
  ASSERT_THAT(config, Not(IsOk()));
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr("contexts[\"x\"].context.user: names \"u\", which is not in users"));
}

TEST(ParseKubeconfigTest, ChosenContextWinsOverCurrentAndCarriesItsNamespace) {
  const std::string yaml =
      "current-context: a\n"
      "contexts: [{name: a, context: {cluster: ca}}, "
      "{name: b, context: {cluster: cb, namespace: shop}}]\n"
      "clusters: [{name: ca, cluster: {server: 'https://a'}}, "
      "{name: cb, cluster: {server: 'https://b'}}]\n";
  absl::StatusOr<ClusterConfig> config = ParseKubeconfig(yaml, "/d", "f");
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->server, "https://a");
  EXPECT_EQ(config->context_namespace, "");
  config = ParseKubeconfig(yaml, "/d", "f", "b");
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->server, "https://b");
  EXPECT_EQ(config->context_namespace, "shop");
  config = ParseKubeconfig(yaml, "/d", "f", "nope");
  ASSERT_THAT(config, Not(IsOk()));
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("\"nope\""));
}

TEST(LoadKubeconfigTest, ResolvesAgainstTheFilesFolder) {
  TempDir dir("kubeconfig_test");
  const std::string file = dir.Write("config", Kubeconfig("    server: https://h\n"
                                                          "    certificate-authority: ca.crt",
                                                          "    token: t"));
  const absl::StatusOr<ClusterConfig> config = LoadKubeconfig(file);
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->ca_file, Cat(dir.path(), "/ca.crt"));
  EXPECT_EQ(config->token, "t");
}

TEST(LoadKubeconfigTest, MissingFileIsNamed) {
  const absl::StatusOr<ClusterConfig> config = LoadKubeconfig("/nonexistent/kubeconfig");
  ASSERT_THAT(config, Not(IsOk()));
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("/nonexistent/kubeconfig"));
}

TEST(InClusterConfigTest, UsesServiceAccountFiles) {
  TempDir dir("kubeconfig_test");
  InClusterEnvironment env;
  env.service_host = "10.96.0.1";
  env.service_port = "443";
  env.token_path = dir.Write("token", "sa-token\n");
  env.ca_path = dir.Write("ca.crt", "PEM");
  const absl::StatusOr<ClusterConfig> config = InClusterConfig(env);
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->server, "https://10.96.0.1:443");
  EXPECT_EQ(config->token_file, env.token_path);
  EXPECT_EQ(config->ca_file, env.ca_path);
  EXPECT_EQ(config->token, "");

  env.service_host = "fd00::1";
  const absl::StatusOr<ClusterConfig> v6 = InClusterConfig(env);
  ASSERT_THAT(v6, IsOk());
  EXPECT_EQ(v6->server, "https://[fd00::1]:443");
}

TEST(InClusterConfigTest, ExplainsWhatIsMissing) {
  TempDir dir("kubeconfig_test");
  InClusterEnvironment env;
  env.token_path = dir.Write("token", "t");
  env.ca_path = dir.Write("ca.crt", "PEM");
  absl::StatusOr<ClusterConfig> config = InClusterConfig(env);
  ASSERT_THAT(config, Not(IsOk()));
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("KUBERNETES_SERVICE_HOST"));

  env.service_host = "h";
  env.service_port = "443";
  env.token_path = Cat(dir.path(), "/missing-token");
  config = InClusterConfig(env);
  ASSERT_THAT(config, Not(IsOk()));
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("service-account token"));
}

}  // namespace
}  // namespace ma::kube
