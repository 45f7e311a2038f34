#include "adapter/objects/discovery_resource_mapper.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "adapter/scheduler/scheduler.h"
#include "test/testing/fake_api_client.h"
#include "test/testing/fake_clock.h"
#include "test/testing/status_matchers.h"

namespace ma::objects {
namespace {

using ::ma::testing::FakeApiClient;
using ::ma::testing::FakeClock;
using ::ma::testing::IsOk;
using ::ma::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view kCore = R"({"resources":[
  {"name":"pods","singularName":"pod","namespaced":true,"kind":"Pod"},
  {"name":"events","singularName":"event","namespaced":true,"kind":"Event"},
  {"name":"nodes","singularName":"node","namespaced":false,"kind":"Node"}]})";

class DiscoveryResourceMapperTest : public ::testing::Test {
 protected:
  DiscoveryResourceMapperTest() {
    client_.SetJson("/api", R"({"versions":["v1"]})");
    client_.SetJson("/api/v1", std::string(kCore));
    client_.SetJson("/apis", R"({"groups":[
      {"name":"events.k8s.io","preferredVersion":{"version":"v1"}},
      {"name":"apps","preferredVersion":{"version":"v1"}},
      {"name":"example.com","preferredVersion":{"version":"v1alpha1"}}]})");
    client_.SetJson("/apis/events.k8s.io/v1",
                    R"({"resources":[{"name":"events","singularName":"event","kind":"Event"}]})");
    client_.SetJson("/apis/apps/v1", R"({"resources":[
      {"name":"deployments","singularName":"deployment","namespaced":true,"kind":"Deployment"}]})");
    client_.SetJson("/apis/example.com/v1alpha1", R"({"resources":[
      {"name":"widgets","singularName":"widget","namespaced":false,"kind":"Widget"}]})");
  }

  FakeApiClient client_;
  FakeClock clock_;  // never moves
  DiscoveryResourceMapper mapper_{client_, {}, clock_};
};

TEST_F(DiscoveryResourceMapperTest, KnowsNothingBeforeDiscovery) {
  EXPECT_FALSE(mapper_.loaded());
  auto info = mapper_.Normalize("", "pods");
  ASSERT_THAT(info, Not(IsOk()));
  EXPECT_THAT(info, StatusIs(absl::StatusCode::kNotFound, HasSubstr("has not completed yet")));
}

TEST_F(DiscoveryResourceMapperTest, ResolvesLikeARestMapper) {
  ASSERT_TRUE(mapper_.Refresh().ok());
  EXPECT_TRUE(mapper_.loaded());
  struct Case {
    std::string group;
    std::string resource;
    std::string want;  // group-resource@version, or "" for kNotFound
    bool namespaced = true;
  };
  const Case cases[] = {
      {"", "pods", "pods@v1"},
      {"", "pod", "pods@v1"},
      {"", "Pod", "pods@v1"},
      {"", "nodes", "nodes@v1", false},
      {"apps", "deployments", "deployments.apps@v1"},
      {"", "deployment", "deployments.apps@v1"},
      {"", "Deployment", "deployments.apps@v1"},
      {"example.com", "widgets", "widgets.example.com@v1alpha1", false},
      // No group: the core resource wins over events.k8s.io's.
      {"", "events", "events@v1"},
      {"events.k8s.io", "events", "events.events.k8s.io@v1"},
      {"batch", "deployments", ""},
      {"", "gadgets", ""},
      {"", "", ""},
  };
  for (const auto& c : cases) {
    auto info = mapper_.Normalize(c.group, c.resource);
    if (c.want.empty()) {
      EXPECT_THAT(info, StatusIs(absl::StatusCode::kNotFound));
      continue;
    }
    ASSERT_THAT(info, IsOk()) << c.group << "/" << c.resource << ": " << info.status();
    EXPECT_EQ(info->group_resource.String() + "@" + info->version, c.want);
    EXPECT_EQ(info->namespaced, c.namespaced) << c.want;
  }
  auto deployment = mapper_.Normalize("apps", "deployments");
  ASSERT_THAT(deployment, IsOk());
  EXPECT_EQ(deployment->kind, "Deployment");
  EXPECT_EQ(deployment->singular, "deployment");
  EXPECT_EQ(deployment->ApiVersion(), "apps/v1");
}

TEST_F(DiscoveryResourceMapperTest, FailedGroupKeepsWhatWasKnown) {
  ASSERT_TRUE(mapper_.Refresh().ok());
  client_.Set("/apis/example.com/v1alpha1", kube::ApiResponse{503, "service unavailable"});
  client_.SetJson("/apis/apps/v1", R"({"resources":[]})");
  ASSERT_TRUE(mapper_.Refresh().ok());
  EXPECT_TRUE(mapper_.Normalize("example.com", "widgets").ok());
  // A group that answered replaces what was known of it.
  EXPECT_FALSE(mapper_.Normalize("apps", "deployments").ok());
}

TEST_F(DiscoveryResourceMapperTest, FailedRunKeepsTheLastTable) {
  ASSERT_TRUE(mapper_.Refresh().ok());
  client_.Set("/api", absl::UnavailableError("connection refused"));
  const auto status = mapper_.Refresh();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(status.message()), HasSubstr("connection refused"));
  EXPECT_TRUE(mapper_.Normalize("", "pods").ok());
}

TEST_F(DiscoveryResourceMapperTest, UnknownNameRefreshesInTheBackground) {
  client_.SetJson("/apis", R"({"groups":[]})");
  ASSERT_TRUE(mapper_.Refresh().ok());
  scheduler::Scheduler scheduler;
  mapper_.Start(scheduler);  // the periodic refresh is 10 minutes away
  // A CRD installed after the last discovery.
  client_.SetJson(
      "/apis", R"({"groups":[{"name":"example.com","preferredVersion":{"version":"v1alpha1"}}]})");
  EXPECT_FALSE(mapper_.Normalize("example.com", "widgets").ok());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!mapper_.Normalize("example.com", "widgets").ok() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  mapper_.Stop();
  EXPECT_TRUE(mapper_.Normalize("example.com", "widgets").ok());
}

}  // namespace
}  // namespace ma::objects
