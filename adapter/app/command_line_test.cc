#include "adapter/app/command_line.h"

#include <gtest/gtest.h>

namespace ma::app {
namespace {

TEST(NormalizeCommandLineTest, DashesBecomeUnderscoresInNamesOnly) {
  const char* argv[] = {
      "metrics-adapter", "--metrics-relist-interval=1m",   "-v=4",    "--cert-dir",
      "/tmp/a-b",        "--tls-cert-file=/x/my-cert.pem", "explain", "/apis/x-y"};
  const auto cl = NormalizeCommandLine(8, argv);
  EXPECT_EQ(cl.args, (std::vector<std::string>{
                         "metrics-adapter", "--metrics_relist_interval=1m", "-v=4", "--cert_dir",
                         "/tmp/a-b", "--tls_cert_file=/x/my-cert.pem", "explain", "/apis/x-y"}));
}

TEST(NormalizeCommandLineTest, CollectsRepeatedPrometheusHeaders) {
  const char* argv[] = {"metrics-adapter", "--prometheus-header=X-Scope-OrgID=a,b",
                        "--prometheus-header", "Authorization=Basic x==", "serve"};
  const auto cl = NormalizeCommandLine(5, argv);
  EXPECT_EQ(cl.prometheus_headers,
            (std::vector<std::string>{"X-Scope-OrgID=a,b", "Authorization=Basic x=="}));
  EXPECT_EQ(cl.args, (std::vector<std::string>{"metrics-adapter", "serve"}));
}

}  // namespace
}  // namespace ma::app
