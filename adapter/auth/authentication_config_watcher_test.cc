#include "adapter/auth/authentication_config_watcher.h"

#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "adapter/decode/decode_pool.h"
#include "adapter/scheduler/scheduler.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/testing/fake_api_client.h"
#include "test/testing/temp_dir.h"

namespace ma::auth {
namespace {

using ::ma::testing::FakeApiClient;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Bounds the wait for the watch; a broken watcher fails instead of hanging.
constexpr absl::Duration kTestWait = absl::Seconds(30);

std::map<std::string, std::string> ProxyConfigMap(const std::string& ca, const std::string& name) {
  return {{"requestheader-client-ca-file", ca},
          {"requestheader-allowed-names", "[\"" + name + "\"]"},
          {"requestheader-username-headers", R"(["X-Remote-User"])"},
          {"requestheader-group-headers", R"(["X-Remote-Group"])"},
          {"requestheader-extra-headers-prefix", R"(["X-Remote-Extra-"])"}};
}

class Recorder {
 public:
  void Add(const AuthenticationConfig& config) {
    std::lock_guard<std::mutex> lock(mu_);
    configs_.push_back(config);
  }
  std::vector<AuthenticationConfig> configs() {
    std::lock_guard<std::mutex> lock(mu_);
    return configs_;
  }

 private:
  std::mutex mu_;
  std::vector<AuthenticationConfig> configs_;
};

TEST(AuthenticationConfigWatcherTest, ApplyCallsOnChangeOnlyForNewGoodConfigurations) {
  scheduler::Scheduler scheduler;
  decode::DecodePool decode;
  FakeApiClient client;
  Recorder recorder;
  AuthenticationConfigWatcher watcher(client, {scheduler, decode}, AuthenticationFlags{},
                                      AuthenticationConfig{}, [&](const AuthenticationConfig& c) {
                                        recorder.Add(c);
                                        return absl::OkStatus();
                                      });
  watcher.Apply({});  // same as the initial configuration
  watcher.Apply(ProxyConfigMap("CA1", "front-proxy-client"));
  watcher.Apply(ProxyConfigMap("CA1", "front-proxy-client"));
  std::map<std::string, std::string> broken = ProxyConfigMap("CA2", "x");
  broken["requestheader-group-headers"] = "not json";
  watcher.Apply(broken);
  watcher.Apply(ProxyConfigMap("CA2", "aggregator"));
  watcher.Apply({});  // deleted

  const std::vector<AuthenticationConfig> configs = recorder.configs();
  ASSERT_EQ(configs.size(), 3u);
  EXPECT_EQ(configs[0].requestheader_ca_pem, "CA1");
  EXPECT_THAT(configs[0].request_header.allowed_names, ElementsAre("front-proxy-client"));
  EXPECT_EQ(configs[1].requestheader_ca_pem, "CA2");
  EXPECT_THAT(configs[1].request_header.allowed_names, ElementsAre("aggregator"));
  EXPECT_EQ(configs[2], AuthenticationConfig{});
  EXPECT_EQ(client.calls(), 0u);
}

TEST(AuthenticationConfigWatcherTest, ReloadFilesReadsTheFlagsCaFilesAgain) {
  scheduler::Scheduler scheduler;
  decode::DecodePool decode;
  FakeApiClient client;
  testing::TempDir dir("auth_watcher_test");
  AuthenticationFlags flags;
  flags.client_ca_file = dir.Write("client-ca.crt", "CA1");
  // The ConfigMap read at start: its front-proxy settings stay when a file is reloaded before
  // the watch has answered.
  const std::map<std::string, std::string> data = ProxyConfigMap("PROXY CA", "front-proxy-client");
  absl::StatusOr<AuthenticationConfig> initial = MergeAuthenticationConfig(flags, data);
  ASSERT_TRUE(initial.ok()) << initial.status();
  Recorder recorder;
  bool refuse = false;
  AuthenticationConfigWatcher watcher(
      client, {scheduler, decode}, flags, *initial,
      [&](const AuthenticationConfig& c) {
        recorder.Add(c);
        return refuse ? absl::InvalidArgumentError("bad bundle") : absl::OkStatus();
      },
      data);
  EXPECT_TRUE(watcher.ReloadFiles().ok());  // unchanged: no call
  dir.Write("client-ca.crt", "CA2");
  EXPECT_TRUE(watcher.ReloadFiles().ok());
  dir.Write("client-ca.crt", "");
  EXPECT_THAT(watcher.ReloadFiles().message(), HasSubstr("--client-ca-file"));
  // A bundle the server refuses is not taken as current: the same file is offered again.
  refuse = true;
  dir.Write("client-ca.crt", "CA3");
  EXPECT_FALSE(watcher.ReloadFiles().ok());
  refuse = false;
  EXPECT_TRUE(watcher.ReloadFiles().ok());

  const std::vector<AuthenticationConfig> configs = recorder.configs();
  ASSERT_EQ(configs.size(), 3u);
  EXPECT_EQ(configs[0].client_ca_pem, "CA2");
  EXPECT_EQ(configs[0].requestheader_ca_pem, "PROXY CA");
  EXPECT_THAT(configs[0].request_header.allowed_names, ElementsAre("front-proxy-client"));
  EXPECT_EQ(configs[1].client_ca_pem, "CA3");
  EXPECT_EQ(configs[2].client_ca_pem, "CA3");
}

// Answers the LIST of the ConfigMap collection; WATCH streams end at once.
void ScriptConfigMapCollection(FakeApiClient& client) {
  constexpr std::string_view kCollection = "/api/v1/namespaces/kube-system/configmaps";
  client.SetJson(std::string(kCollection),
                 R"({"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"7"},)"
                 R"("items":[{"metadata":{"name":"extension-apiserver-authentication",)"
                 R"("namespace":"kube-system","uid":"u","resourceVersion":"7"},)"
                 R"("data":{"client-ca-file":"CLIENT CA"}}]})");
  client.SetStream(std::string(kCollection),
                   {.lines = {}, .end = absl::OkStatus(), .http_status = 200});
}

TEST(AuthenticationConfigWatcherTest, ListsTheConfigMapByName) {
  scheduler::Scheduler scheduler;
  decode::DecodePool decode;
  FakeApiClient client;
  ScriptConfigMapCollection(client);
  absl::Notification changed;
  AuthenticationConfig seen;
  AuthenticationConfigWatcher watcher(client, {scheduler, decode}, AuthenticationFlags{},
                                      AuthenticationConfig{}, [&](const AuthenticationConfig& c) {
                                        if (!changed.HasBeenNotified()) {
                                          seen = c;
                                          changed.Notify();
                                        }
                                        return absl::OkStatus();
                                      });
  watcher.Start();
  ASSERT_TRUE(changed.WaitForNotificationWithTimeout(kTestWait));
  watcher.Stop();
  EXPECT_EQ(seen.client_ca_pem, "CLIENT CA");
  ASSERT_FALSE(client.paths().empty());
  // The escape's hex case is the client's business.
  EXPECT_THAT(absl::AsciiStrToLower(client.paths().front()),
              HasSubstr("fieldselector=metadata.name%3dextension-apiserver-authentication"));
}

}  // namespace
}  // namespace ma::auth
