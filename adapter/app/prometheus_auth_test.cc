#include "adapter/app/prometheus_auth.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "test/testing/status_matchers.h"
#include "test/testing/temp_dir.h"

namespace ma::app {
namespace {

using ::ma::testing::IsOk;
using ::ma::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

constexpr char kCaPem[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A kubeconfig whose cluster points elsewhere than Prometheus, with `user` as its user entry.
std::string Kubeconfig(std::string_view cluster_extra, std::string_view user) {
  return std::string(R"(apiVersion: v1
kind: Config
current-context: prom
contexts:
- name: prom
  context: {cluster: prom, user: prom}
clusters:
- name: prom
  cluster:
    server: https://kubernetes.example:6443
)") + std::string(cluster_extra) +
         "users:\n- name: prom\n  user:\n" + std::string(user);
}

class PrometheusAuthTest : public ::testing::Test {
 protected:
  TempDir dir_{"prom_auth"};
  kube::PemFiles files_;
  Options options_;
  prometheus::PrometheusOptions prometheus_;
};

TEST_F(PrometheusAuthTest, NothingWithoutTheFlags) {
  ASSERT_THAT(ApplyPrometheusAuth(options_, files_, prometheus_), IsOk());
  EXPECT_TRUE(prometheus_.tls.ca_file.empty());
  EXPECT_TRUE(prometheus_.headers.empty());
}

TEST_F(PrometheusAuthTest, KubeconfigGivesCaDataAndToken) {
  options_.prometheus_auth_config = dir_.Write(
      "kubeconfig",
      Kubeconfig(
          "    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUIKLS0tLS1"
          "FTkQgQ0VSVElGSUNBVEUtLS0tLQo=\n",
          "    token: s3cret\n"));
  ASSERT_THAT(ApplyPrometheusAuth(options_, files_, prometheus_), IsOk());
  EXPECT_EQ(ReadAll(prometheus_.tls.ca_file), kCaPem);
  EXPECT_THAT(prometheus_.headers, ElementsAre(Pair("Authorization", "Bearer s3cret")));
}

TEST_F(PrometheusAuthTest, TokenFileFlagWinsOverTheKubeconfigToken) {
  options_.prometheus_auth_config = dir_.Write(
      "kubeconfig",
      Kubeconfig("    insecure-skip-tls-verify: true\n", "    tokenFile: /var/run/other-token\n"));
  prometheus_.token_file = "/etc/prometheus-token";
  ASSERT_THAT(ApplyPrometheusAuth(options_, files_, prometheus_), IsOk());
  EXPECT_TRUE(prometheus_.tls.insecure_skip_verify);
  EXPECT_EQ(prometheus_.token_file, "/etc/prometheus-token");
  EXPECT_TRUE(prometheus_.headers.empty());
}

TEST_F(PrometheusAuthTest, InClusterUsesTheServiceAccount) {
  options_.prometheus_auth_incluster = true;
  kube::InClusterEnvironment env;
  env.service_host = "10.96.0.1";
  env.service_port = "443";
  env.token_path = dir_.Write("token", "sa-token");
  env.ca_path = dir_.Write("ca.crt", kCaPem);
  ASSERT_THAT(ApplyPrometheusAuth(options_, files_, prometheus_, env), IsOk());
  EXPECT_EQ(prometheus_.tls.ca_file, env.ca_path);
  EXPECT_EQ(prometheus_.token_file, env.token_path);
}

TEST_F(PrometheusAuthTest, CaFileFlagWins) {
  options_.prometheus_auth_config = dir_.Write("kubeconfig", Kubeconfig("", "    token: t\n"));
  options_.prometheus_ca_file = "/etc/prom-ca.pem";
  prometheus_.tls.ca_file = "/etc/prom-ca.pem";
  ASSERT_THAT(ApplyPrometheusAuth(options_, files_, prometheus_), IsOk());
  EXPECT_EQ(prometheus_.tls.ca_file, "/etc/prom-ca.pem");
  EXPECT_TRUE(prometheus_.headers.empty());
}

TEST_F(PrometheusAuthTest, ErrorsNameTheFlag) {
  options_.prometheus_auth_config = dir_.path() + "/missing";
  auto status = ApplyPrometheusAuth(options_, files_, prometheus_);
  EXPECT_THAT(std::string(status.message()), HasSubstr("--prometheus-auth-config: "));

  options_.prometheus_auth_config = dir_.Write(
      "exec", Kubeconfig("",
                         "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
                         "      command: /bin/get-token\n      interactiveMode: Never\n"));
  status = ApplyPrometheusAuth(options_, files_, prometheus_);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("exec credential plugins"));

  options_.prometheus_auth_config.clear();
  options_.prometheus_auth_incluster = true;
  status = ApplyPrometheusAuth(options_, files_, prometheus_, kube::InClusterEnvironment{});
  EXPECT_THAT(std::string(status.message()), HasSubstr("--prometheus-auth-incluster: "));
}

}  // namespace
}  // namespace ma::app
