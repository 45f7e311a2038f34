#include "adapter/kube/exec_credential.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "queries/base/strings.h"
#include "test/testing/fake_clock.h"
#include "test/testing/status_matchers.h"
#include "test/testing/temp_dir.h"

namespace ma::kube {
namespace {

using ::ma::testing::FakeClock;
using ::ma::testing::IsOk;
using ::ma::testing::StatusIs;
using ::ma::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

std::chrono::system_clock::time_point ParseRfc3339(const char* text) {
  absl::Time t;
  std::string error;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, text, &t, &error)) << error;
  return absl::ToChronoTime(t);
}

// A folder with a shell-script plugin that counts its runs in `runs`.
class PluginDir {
 public:
  std::string Script(std::string_view body) const {
    const std::string file = dir_.Write(
        "plugin.sh", Cat("#!/bin/sh\necho run >> '", dir_.Path("runs"), "'\n", body, "\n"));
    chmod(file.c_str(), 0700);
    return file;
  }
  int Runs() const {
    std::ifstream in(dir_.Path("runs"));
    int n = 0;
    for (std::string line; std::getline(in, line);) {
      ++n;
    }
    return n;
  }
  const std::string& path() const { return dir_.path(); }

 private:
  TempDir dir_{"exec_credential_test"};
};

ExecConfig Config(std::string command) {
  ExecConfig config;
  config.api_version = std::string(kExecApiV1);
  config.command = std::move(command);
  config.interactive_mode = "IfAvailable";
  return config;
}

std::string Credential(std::string_view token, std::string_view expiry) {
  return Cat(R"(cat <<'EOF'
{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":")",
             token, R"(","expirationTimestamp":")", expiry, "\"}}\nEOF");
}

TEST(RunExecPluginTest, ReturnsTokenAndExpiry) {
  PluginDir dir;
  const absl::StatusOr<ExecCredential> credential =
      RunExecPlugin(Config(dir.Script(Credential("tok-1", "2030-01-02T03:04:05Z"))));
  ASSERT_THAT(credential, IsOk());
  EXPECT_EQ(credential->token, "tok-1");
  ASSERT_TRUE(credential->expiration.has_value());
  EXPECT_EQ(*credential->expiration, ParseRfc3339("2030-01-02T03:04:05Z"));
}

TEST(RunExecPluginTest, PassesArgsEnvAndExecInfo) {
  PluginDir dir;
  ExecConfig config = Config(dir.Script(
      R"sh(info=$(echo "$KUBERNETES_EXEC_INFO" | tr -d '"{}:,'))sh"
      "\n"
      R"sh(printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",)sh"
      R"sh("status":{"token":"%s-%s-%s"}}' "$1" "$REGION" "$info")sh"));
  config.args = {"arg1"};
  config.env = {{"REGION", "eu"}};
  const absl::StatusOr<ExecCredential> credential = RunExecPlugin(config);
  ASSERT_THAT(credential, IsOk());
  EXPECT_EQ(credential->token,
            "arg1-eu-apiVersionclient.authentication.k8s.io/v1kindExecCredentialspec"
            "interactivefalse");
  EXPECT_FALSE(credential->expiration.has_value());
}

TEST(RunExecPluginTest, ResolvesCommandOnPath) {
  PluginDir dir;
  dir.Script(Credential("from-path", "2030-01-02T03:04:05Z"));
  const std::string old_path = std::getenv("PATH") != nullptr ? std::getenv("PATH") : "";
  setenv("PATH", Cat(dir.path(), ":", old_path).c_str(), 1);
  const absl::StatusOr<ExecCredential> credential = RunExecPlugin(Config("plugin.sh"));
  setenv("PATH", old_path.c_str(), 1);
  ASSERT_THAT(credential, IsOk());
  EXPECT_EQ(credential->token, "from-path");
}

struct FailureCase {
  std::string name;
  std::string script;
  absl::StatusCode code;
  std::string message;
};

TEST(RunExecPluginTest, FailuresNameThePlugin) {
  const std::vector<FailureCase> cases = {
      {"exit 1", "echo 'login expired' >&2; exit 3", absl::StatusCode::kUnavailable,
       "exited with status 3"},
      {"not json", "echo hello", absl::StatusCode::kInvalidArgument, "invalid ExecCredential"},
      {"wrong kind",
       R"(echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"Pod","status":{}}')",
       absl::StatusCode::kInvalidArgument, "kind must be ExecCredential"},
      {"wrong version",
       R"(echo '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential",)"
       R"("status":{"token":"t"}}')",
       absl::StatusCode::kInvalidArgument, "apiVersion must be client.authentication.k8s.io/v1"},
      {"no token",
       R"(echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",)"
       R"("status":{}}')",
       absl::StatusCode::kInvalidArgument, "neither a token nor a client certificate"},
      {"bad expiry", Credential("t", "tomorrow"), absl::StatusCode::kInvalidArgument,
       "expirationTimestamp is not an RFC 3339 time"},
      {"too much output", "head -c 2000000 /dev/zero", absl::StatusCode::kResourceExhausted,
       "wrote more than"},
  };
  for (const FailureCase& c : cases) {
    PluginDir dir;
    const std::string script = dir.Script(c.script);
    const absl::StatusOr<ExecCredential> credential = RunExecPlugin(Config(script));
    ASSERT_THAT(credential, Not(IsOk())) << c.name;
    EXPECT_EQ(credential.status().code(), c.code) << c.name << ": " << credential.status();
    EXPECT_THAT(std::string(credential.status().message()), HasSubstr(GoQuote(script))) << c.name;
    EXPECT_THAT(std::string(credential.status().message()), HasSubstr(c.message)) << c.name;
  }
}

TEST(RunExecPluginTest, MissingCommandShowsInstallHint) {
  ExecConfig config = Config("no-such-plugin-for-tests");
  config.install_hint = "Install it with: apt install no-such-plugin";
  const absl::StatusOr<ExecCredential> credential = RunExecPlugin(config);
  ASSERT_THAT(credential, Not(IsOk()));
  EXPECT_THAT(std::string(credential.status().message()),
              HasSubstr("\"no-such-plugin-for-tests\" was not found on PATH. Install it with"));
}

TEST(RunExecPluginTest, TimesOut) {
  PluginDir dir;
  ExecConfig config = Config(dir.Script("exec sleep 30"));
  config.timeout = std::chrono::milliseconds(200);
  const absl::StatusOr<ExecCredential> credential = RunExecPlugin(config);
  ASSERT_THAT(credential, Not(IsOk()));
  EXPECT_THAT(credential, StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST(RunExecPluginTest, RefusesAlwaysInteractive) {
  PluginDir dir;
  ExecConfig config = Config(dir.Script(Credential("t", "2030-01-02T03:04:05Z")));
  config.interactive_mode = "Always";
  const absl::StatusOr<ExecCredential> credential = RunExecPlugin(config);
  ASSERT_THAT(credential, Not(IsOk()));
  EXPECT_THAT(std::string(credential.status().message()),
              HasSubstr(Cat("exec plugin ", GoQuote(config.command),
                            " requires interactiveMode "
                            "Always")));
  EXPECT_EQ(dir.Runs(), 0);

  for (const char* mode : {"Never", "IfAvailable"}) {
    config.interactive_mode = mode;
    EXPECT_TRUE(RunExecPlugin(config).ok()) << mode;
  }
}

TEST(DecodeExecCredentialTest, AcceptsClientCertificate) {
  const absl::StatusOr<ExecCredential> credential = DecodeExecCredential(
      R"({"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential",)"
      R"("status":{"clientCertificateData":"CERT","clientKeyData":"KEY"}})",
      kExecApiV1Beta1);
  ASSERT_THAT(credential, IsOk());
  EXPECT_EQ(credential->client_certificate_pem, "CERT");
  EXPECT_EQ(credential->client_key_pem, "KEY");
  EXPECT_EQ(credential->token, "");
}

TEST(ExecCredentialCacheTest, CachesUntilExpiryAndAfterInvalidate) {
  PluginDir dir;
  // Each run answers a different token: "tok-<number of runs so far>".
  const std::string script = dir.Script(Cat(
      "n=$(wc -l < '", dir.path(), "/runs' | tr -d ' ')\n",
      R"(echo "{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",)",
      R"(\"status\":{\"token\":\"tok-$n\",\"expirationTimestamp\":\"2030-01-01T00:00:00Z\"}}")"));
  FakeClock clock;
  clock.Set(ParseRfc3339("2029-12-31T23:00:00Z"));
  ExecCredentialCache cache(Config(script), clock);
  EXPECT_FALSE(cache.Cached().has_value());

  absl::StatusOr<ExecCredential> first = cache.Get();
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->token, "tok-1");
  absl::StatusOr<ExecCredential> again = cache.Get();
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->token, "tok-1");
  EXPECT_EQ(dir.Runs(), 1);
  ASSERT_TRUE(cache.Cached().has_value());

  clock.Set(ParseRfc3339("2030-01-01T00:00:00Z"));  // expired
  EXPECT_FALSE(cache.Cached().has_value());
  absl::StatusOr<ExecCredential> renewed = cache.Get();
  ASSERT_THAT(renewed, IsOk());
  EXPECT_EQ(renewed->token, "tok-2");

  clock.Set(ParseRfc3339("2029-12-31T23:00:00Z"));
  cache.Invalidate("tok-1");  // an older token's 401 does not drop the new one
  EXPECT_TRUE(cache.Cached().has_value());
  cache.Invalidate("tok-2");
  EXPECT_FALSE(cache.Cached().has_value());
  absl::StatusOr<ExecCredential> after_401 = cache.Get();
  ASSERT_THAT(after_401, IsOk());
  EXPECT_EQ(after_401->token, "tok-3");
  EXPECT_EQ(dir.Runs(), 3);
}

TEST(ExecCredentialCacheTest, FailureIsNotCached) {
  PluginDir dir;
  ExecCredentialCache cache(Config(dir.Script("exit 1")));
  EXPECT_FALSE(cache.Get().ok());
  EXPECT_FALSE(cache.Get().ok());
  EXPECT_EQ(dir.Runs(), 2);
}

}  // namespace
}  // namespace ma::kube
