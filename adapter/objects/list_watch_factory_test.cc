#include "adapter/objects/list_watch_factory.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "adapter/decode/decode_pool.h"
#include "adapter/scheduler/scheduler.h"
#include "test/testing/fake_api_client.h"
#include "test/testing/status_matchers.h"

namespace ma::objects {
namespace {

using ::ma::testing::FakeApiClient;
using ::ma::testing::IsOk;
using ::testing::ElementsAre;

constexpr std::string_view kPods = R"({"kind":"PartialObjectMetadataList",
  "apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"42"},"items":[
  {"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"web-2",
   "namespace":"shop","uid":"u2","resourceVersion":"41","labels":{"app":"web"}}},
  {"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"web-1",
   "namespace":"shop","uid":"u1","resourceVersion":"40","labels":{"app":"web"}}},
  {"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"db-0",
   "namespace":"shop","uid":"u3","resourceVersion":"39","labels":{"app":"db"}}}]})";

// The cache on a real kube::ListWatcher: the LIST's objects reach Names.
TEST(ListWatcherFactoryTest, CacheFillsFromTheList) {
  FakeApiClient client;
  scheduler::Scheduler scheduler;
  decode::DecodePool decode;
  client.SetJson("/api/v1/pods", std::string(kPods));
  ObjectCache cache(model::BuiltinResourceMapper(),
                    ListWatcherFactory(client, {scheduler, decode}));
  ASSERT_TRUE(cache.WatchAtStart({model::GroupResource{"", "pods"}}).ok());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!cache.synced() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE(cache.synced());
  auto selector = selector::LabelSelector::Parse("app=web");
  ASSERT_THAT(selector, IsOk());
  auto names = cache.Names({"", "pods"}, "shop", *selector);
  ASSERT_THAT(names, IsOk());
  EXPECT_THAT(*names, ElementsAre("web-1", "web-2"));
  cache.Stop();
  const auto paths = client.paths();
  ASSERT_FALSE(paths.empty());
  EXPECT_THAT(paths.front(), ::testing::StartsWith("/api/v1/pods?"));
}

}  // namespace
}  // namespace ma::objects
