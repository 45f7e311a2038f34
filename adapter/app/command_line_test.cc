#include "adapter/app/command_line.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "test/testing/status_matchers.h"

namespace ma::app {
namespace {

using ::ma::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

CommandLine Normalize(const std::vector<const char*>& argv) {
  auto cl = NormalizeCommandLine(static_cast<int>(argv.size()), argv.data());
  EXPECT_THAT(cl, IsOk());
  return cl.ok() ? *std::move(cl) : CommandLine{};
}

TEST(NormalizeCommandLineTest, DashesBecomeUnderscoresInNamesOnly) {
  const auto cl =
      Normalize({"metrics-adapter", "--metrics-relist-interval=1m", "-v=4", "--cert-dir",
                 "/tmp/a-b", "--tls-cert-file=/x/my-cert.pem", "explain", "/apis/x-y"});
  EXPECT_EQ(cl.args, (std::vector<std::string>{
                         "metrics-adapter", "--metrics_relist_interval=1m", "-v=4", "--cert_dir",
                         "/tmp/a-b", "--tls_cert_file=/x/my-cert.pem", "explain", "/apis/x-y"}));
  EXPECT_TRUE(cl.ignored_flags.empty());
}

TEST(NormalizeCommandLineTest, CollectsRepeatedPrometheusHeaders) {
  const auto cl = Normalize({"metrics-adapter", "--prometheus-header=X-Scope-OrgID=a,b",
                             "--prometheus-header", "Authorization=Basic x==", "serve"});
  EXPECT_EQ(cl.prometheus_headers,
            (std::vector<std::string>{"X-Scope-OrgID=a,b", "Authorization=Basic x=="}));
  EXPECT_EQ(cl.args, (std::vector<std::string>{"metrics-adapter", "serve"}));
}

TEST(NormalizeCommandLineTest, ValueOfASeparateArgumentIsPassedOnUntouched) {
  const auto cl =
      Normalize({"metrics-adapter", "--bind-address", "-weird-", "--nostandalone", "serve"});
  EXPECT_EQ(cl.args, (std::vector<std::string>{"metrics-adapter", "--bind_address", "-weird-",
                                               "--nostandalone", "serve"}));
}

TEST(NormalizeCommandLineTest, AbslsOwnFlagsPassThrough) {
  const auto cl = Normalize({"metrics-adapter", "--helpfull", "--flagfile=/etc/flags"});
  EXPECT_EQ(cl.args,
            (std::vector<std::string>{"metrics-adapter", "--helpfull", "--flagfile=/etc/flags"}));
}

TEST(NormalizeCommandLineTest, HelmChartEntrypointArgumentIsDropped) {
  const auto cl = Normalize({"metrics-adapter", "/adapter", "--secure-port=6443", "--v=4"});
  EXPECT_EQ(cl.args, (std::vector<std::string>{"metrics-adapter", "--secure_port=6443", "--v=4"}));
  // Only as the first argument: elsewhere it stays a positional argument (and serve refuses it).
  const auto later = Normalize({"metrics-adapter", "serve", "/adapter"});
  EXPECT_EQ(later.args, (std::vector<std::string>{"metrics-adapter", "serve", "/adapter"}));
}

TEST(NormalizeCommandLineTest, NoEffectFlagsAreTakenOutWithOneLineEach) {
  const auto cl = Normalize({"metrics-adapter", "--logtostderr", "--log-dir", "/var/log",
                             "--log_file=/x.log", "--audit-log-path", "-", "--disable-http2=true",
                             "--profiling", "--secure-port=1", "serve"});
  EXPECT_EQ(cl.args, (std::vector<std::string>{"metrics-adapter", "--secure_port=1", "serve"}));
  ASSERT_THAT(cl.ignored_flags,
              ElementsAre(StartsWith("--logtostderr "), StartsWith("--log_dir "),
                          StartsWith("--log_file "), StartsWith("--audit-log-path "),
                          StartsWith("--disable-http2 "), StartsWith("--profiling ")));
  for (const std::string& line : cl.ignored_flags) {
    EXPECT_THAT(line, HasSubstr("has no effect: "));
  }
}

TEST(NormalizeCommandLineTest, UnknownFlagIsAnErrorNamingIt) {
  for (const char* unknown : {"--no-such-flag=1", "--no-such-flag", "-no_such_flag"}) {
    SCOPED_TRACE(unknown);
    const char* argv[] = {"metrics-adapter", "--secure-port=1", unknown, "serve"};
    const auto cl = NormalizeCommandLine(4, argv);
    ASSERT_FALSE(cl.ok());
    EXPECT_EQ(cl.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(cl.status().message()),
                HasSubstr(std::string("unknown flag ") +
                          std::string(unknown).substr(0, std::string(unknown).find('='))));
  }
}

}  // namespace
}  // namespace ma::app
