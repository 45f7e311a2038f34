#include "adapter/objects/api_discovery.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "test/testing/fake_api_client.h"

namespace ma::objects {
namespace {

using ::ma::testing::FakeApiClient;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr std::string_view kCoreV1 = R"({"kind":"APIResourceList","groupVersion":"v1","resources":[
  {"name":"pods","singularName":"pod","namespaced":true,"kind":"Pod","verbs":["get","list","watch"]},
  {"name":"pods/status","singularName":"","namespaced":true,"kind":"Pod","verbs":["get"]},
  {"name":"nodes","singularName":"node","namespaced":false,"kind":"Node","verbs":["list"]}]})";

constexpr std::string_view kAppsV1 =
    R"({"kind":"APIResourceList","groupVersion":"apps/v1","resources":[
  {"name":"deployments","singularName":"","namespaced":true,"kind":"Deployment","verbs":["list","watch"]}]})";

constexpr std::string_view kGroups = R"({"kind":"APIGroupList","apiVersion":"v1","groups":[
  {"name":"apps","versions":[{"groupVersion":"apps/v1","version":"v1"}],
   "preferredVersion":{"groupVersion":"apps/v1","version":"v1"}},
  {"name":"metrics.k8s.io","versions":[{"groupVersion":"metrics.k8s.io/v1beta1","version":"v1beta1"}]},
  {"name":"autoscaling","versions":[{"version":"v2"},{"version":"v1"}],
   "preferredVersion":{"version":"v2"}}]})";

TEST(DecodeApiVersionsTest, ListsCoreVersions) {
  auto versions = DecodeApiVersions(R"({"kind":"APIVersions","versions":["v1"]})");
  ASSERT_TRUE(versions.ok()) << versions.status();
  EXPECT_THAT(*versions, ElementsAre("v1"));
}

TEST(DecodeApiGroupListTest, PreferredVersionElseFirst) {
  auto groups = DecodeApiGroupList(kGroups);
  ASSERT_TRUE(groups.ok()) << groups.status();
  EXPECT_THAT(*groups,
              ElementsAre(GroupVersion{"apps", "v1"}, GroupVersion{"metrics.k8s.io", "v1beta1"},
                          GroupVersion{"autoscaling", "v2"}));
}

TEST(DecodeApiResourceListTest, SkipsSubresourcesAndDefaultsSingular) {
  auto core = DecodeApiResourceList(kCoreV1, {"", "v1"});
  ASSERT_TRUE(core.ok()) << core.status();
  ASSERT_EQ(core->size(), 2);
  EXPECT_EQ((*core)[0],
            (ApiResource{"", "v1", "pods", "pod", "Pod", true, {"get", "list", "watch"}}));
  EXPECT_EQ((*core)[1].plural, "nodes");
  EXPECT_FALSE((*core)[1].namespaced);
  auto apps = DecodeApiResourceList(kAppsV1, {"apps", "v1"});
  ASSERT_TRUE(apps.ok()) << apps.status();
  ASSERT_EQ(apps->size(), 1);
  // An older server leaves singularName empty: the lowercase kind stands in.
  EXPECT_EQ((*apps)[0].singular, "deployment");
  EXPECT_EQ((*apps)[0].group, "apps");
}

TEST(DecodeTest, RejectsBadDocuments) {
  const std::string deep = std::string(100, '[') + std::string(100, ']');
  std::string many_verbs = R"({"resources":[{"name":"x","verbs":[)";
  for (int i = 0; i < 40; ++i) {
    many_verbs += i == 0 ? R"("v")" : R"(,"v")";
  }
  many_verbs += "]}]}";
  struct Case {
    std::string body;
    std::string error;
  };
  const Case cases[] = {
      {"not json", "APIResourceList: Invalid value"},
      {deep, "nested deeper than"},
      {"[]", "is not a JSON object"},
      {R"({"kind":"Status","resources":[]})", "expected kind APIResourceList, got \"Status\""},
      {R"({"kind":"APIResourceList"})", "has no resources"},
      {std::string(kMaxDiscoveryDocumentBytes + 1, ' '), "larger than"},
      {many_verbs, "more than 32 verbs"},
  };
  for (const auto& c : cases) {
    auto decoded = DecodeApiResourceList(c.body, {"", "v1"});
    ASSERT_FALSE(decoded.ok()) << c.error;
    EXPECT_THAT(std::string(decoded.status().message()), HasSubstr(c.error));
  }
  EXPECT_FALSE(DecodeApiGroupList(R"({"groups":{}})").ok());
  EXPECT_FALSE(DecodeApiVersions(R"({"kind":"APIVersions"})").ok());
}

TEST(DecodeTest, BoundsTheNumberOfResources) {
  std::string body = R"({"resources":[)";
  for (size_t i = 0; i <= kMaxResourcesPerGroupVersion; ++i) {
    body += (i == 0 ? "" : ",") + std::string(R"({"name":"r","kind":"R"})");
  }
  body += "]}";
  auto decoded = DecodeApiResourceList(body, {"", "v1"});
  ASSERT_FALSE(decoded.ok());
  EXPECT_THAT(std::string(decoded.status().message()), HasSubstr("more than 1000 resources"));
}

class DiscoverTest : public ::testing::Test {
 protected:
  DiscoverTest() {
    client_.SetJson("/api", R"({"kind":"APIVersions","versions":["v1"]})");
    client_.SetJson("/api/v1", std::string(kCoreV1));
    client_.SetJson("/apis", std::string(kGroups));
    client_.SetJson("/apis/apps/v1", std::string(kAppsV1));
    client_.SetJson("/apis/autoscaling/v2", R"({"resources":[
        {"name":"horizontalpodautoscalers","singularName":"horizontalpodautoscaler",
         "namespaced":true,"kind":"HorizontalPodAutoscaler","verbs":["list"]}]})");
    client_.Set("/apis/metrics.k8s.io/v1beta1", kube::ApiResponse{503, "service unavailable"});
  }
  FakeApiClient client_;
};

TEST_F(DiscoverTest, CoreFirstThenGroupsAndFailedGroupsApart) {
  auto result = DiscoverApiResources(client_);
  ASSERT_TRUE(result.ok()) << result.status();
  std::vector<std::string> names;
  for (const auto& r : result->resources) {
    names.push_back(r.group.empty() ? r.plural : r.plural + "." + r.group + "/" + r.version);
  }
  EXPECT_THAT(names, ElementsAre("pods", "nodes", "deployments.apps/v1",
                                 "horizontalpodautoscalers.autoscaling/v2"));
  EXPECT_THAT(result->failed_groups, ElementsAre("metrics.k8s.io"));
}

TEST_F(DiscoverTest, CoreOrGroupListFailureFailsTheRun) {
  struct Case {
    std::string path;
    absl::StatusOr<kube::ApiResponse> response;
    std::string error;
  };
  const Case cases[] = {
      {"/api", absl::UnavailableError("connection refused"), "GET /api: connection refused"},
      {"/apis", kube::ApiResponse{403, "{}"}, "GET /apis: HTTP 403"},
      {"/api/v1", kube::ApiResponse{200, "{"}, "APIResourceList"},
  };
  for (const auto& c : cases) {
    FakeApiClient client;
    client.SetJson("/api", R"({"kind":"APIVersions","versions":["v1"]})");
    client.SetJson("/api/v1", std::string(kCoreV1));
    client.SetJson("/apis", R"({"groups":[]})");
    client.Set(c.path, c.response);
    auto result = DiscoverApiResources(client);
    ASSERT_FALSE(result.ok()) << c.path;
    EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(std::string(result.status().message()), HasSubstr(c.error));
  }
}

// The asynchronous run gives the same answers, and every step after a call runs through `post`.
TEST_F(DiscoverTest, AsyncRunMatchesAndDecodesThroughPost) {
  int posted = 0;
  std::optional<absl::StatusOr<DiscoveryResult>> async_result;
  // The fake answers inline, so the whole run happens inside this call.
  DiscoverApiResourcesAsync(
      client_,
      [&posted](std::function<void()> job) {
        ++posted;
        job();
      },
      [&async_result](absl::StatusOr<DiscoveryResult> result) {
        async_result = std::move(result);
      });
  ASSERT_TRUE(async_result.has_value());
  ASSERT_TRUE(async_result->ok()) << async_result->status();
  auto sync_result = DiscoverApiResources(client_);
  ASSERT_TRUE(sync_result.ok());
  EXPECT_EQ((*async_result)->resources, sync_result->resources);
  EXPECT_EQ((*async_result)->failed_groups, sync_result->failed_groups);
  EXPECT_EQ(posted, 3);  // after /api, after /apis, after the group documents

  FakeApiClient failing;
  failing.Set("/api", absl::UnavailableError("connection refused"));
  async_result.reset();
  DiscoverApiResourcesAsync(
      failing, [](std::function<void()> job) { job(); },
      [&async_result](absl::StatusOr<DiscoveryResult> result) {
        async_result = std::move(result);
      });
  ASSERT_TRUE(async_result.has_value());
  EXPECT_EQ(async_result->status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(async_result->status().message()),
              HasSubstr("GET /api: connection refused"));
}

}  // namespace
}  // namespace ma::objects
