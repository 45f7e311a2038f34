#include "adapter/objects/object_cache.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "adapter/api/status.h"
#include "queries/base/strings.h"

namespace ma::objects {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Records each watch the cache makes, so that a test plays the API server's part through the
// handlers.
struct FakeWatches {
  struct Entry {
    kube::ListWatchOptions options;
    kube::ListWatchHandlers handlers;
    bool started = false;
    bool stopped = false;
  };

  WatchFactory Factory() {
    return [this](kube::ListWatchOptions options, kube::ListWatchHandlers handlers) {
      // A filtered watch of the same collection is a watch of its own.
      auto& entry = by_path[options.field_selector.empty()
                                ? options.collection_path
                                : options.collection_path + "?" + options.field_selector];
      entry.options = std::move(options);
      entry.handlers = std::move(handlers);
      return std::make_unique<FakeWatch>(entry);
    };
  }

  class FakeWatch : public Watch {
   public:
    explicit FakeWatch(Entry& entry) : entry_(entry) {}
    void Start() override { entry_.started = true; }
    void Stop() override { entry_.stopped = true; }

   private:
    Entry& entry_;
  };

  std::map<std::string, Entry> by_path;
};

kube::KubeObject Object(std::string ns, std::string name,
                        std::map<std::string, std::string> labels = {}) {
  kube::KubeObject object;
  object.metadata.namespace_name = std::move(ns);
  object.metadata.name = std::move(name);
  object.metadata.labels = std::move(labels);
  return object;
}

selector::LabelSelector Selector(std::string_view text) {
  auto parsed = selector::LabelSelector::Parse(text);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.ok() ? *parsed : selector::LabelSelector();
}

const model::GroupResource kPods{"", "pods"};
const model::GroupResource kDeployments{"apps", "deployments"};
const model::GroupResource kNodes{"", "nodes"};

class ObjectCacheTest : public ::testing::Test {
 protected:
  FakeWatches watches_;
  ObjectCache cache_{model::BuiltinResourceMapper(), watches_.Factory()};

  kube::ListWatchHandlers& Pods() { return watches_.by_path.at("/api/v1/pods").handlers; }
};

TEST(CollectionPathTest, CoreAndGroups) {
  const auto mapper = model::BuiltinResourceMapper();
  EXPECT_EQ(CollectionPath(*mapper->Normalize("", "pods")), "/api/v1/pods");
  EXPECT_EQ(CollectionPath(*mapper->Normalize("apps", "deployments")), "/apis/apps/v1/deployments");
  EXPECT_EQ(CollectionPath(*mapper->Normalize("networking.k8s.io", "ingresses")),
            "/apis/networking.k8s.io/v1/ingresses");
}

TEST_F(ObjectCacheTest, AFilteredCollectionIsItsOwnWatchAndListsObjectsWithLabels) {
  const Collection running{kPods, "status.phase=Running"};
  ASSERT_TRUE(cache_.WatchAtStart({kPods, running}).ok());
  auto& filtered = watches_.by_path.at("/api/v1/pods?status.phase=Running");
  EXPECT_EQ(filtered.options.field_selector, "status.phase=Running");
  EXPECT_TRUE(filtered.options.metadata_only);
  EXPECT_EQ(cache_.Objects(running, "", {}).status().code(), absl::StatusCode::kUnavailable);
  Pods().replace({Object("shop", "pending-1")});
  filtered.handlers.replace({Object("shop", "web-2", {{"app", "web"}}),
                             Object("billing", "api-1", {{"app", "api"}}),
                             Object("shop", "web-1", {{"app", "web"}})});
  EXPECT_TRUE(cache_.synced());
  const auto all = cache_.Objects(running, "", {});
  ASSERT_TRUE(all.ok()) << all.status();
  std::vector<std::string> names;
  for (const auto& object : *all) {
    names.push_back(Cat(object.namespace_name, "/", object.name, " ", object.labels.at("app")));
  }
  EXPECT_THAT(names, ElementsAre("billing/api-1 api", "shop/web-1 web", "shop/web-2 web"));
  const auto shop = cache_.Objects(running, "shop", Selector("app=web"));
  ASSERT_TRUE(shop.ok());
  EXPECT_EQ(shop->size(), 2u);
  EXPECT_THAT(*cache_.Objects(running, "nowhere", {}), IsEmpty());
  // The unfiltered watch is untouched by the filtered one.
  EXPECT_THAT(*cache_.Names(kPods, "shop", {}), ElementsAre("pending-1"));
}

TEST_F(ObjectCacheTest, ReadyOnceTheStartResourcesHaveListed) {
  ASSERT_TRUE(cache_.WatchAtStart({kPods, kNodes}).ok());
  ASSERT_TRUE(watches_.by_path.contains("/api/v1/pods"));
  EXPECT_TRUE(watches_.by_path.at("/api/v1/pods").started);
  EXPECT_TRUE(watches_.by_path.at("/api/v1/pods").options.metadata_only);
  EXPECT_FALSE(cache_.synced());
  Pods().replace({});
  EXPECT_FALSE(cache_.synced());
  watches_.by_path.at("/api/v1/nodes").handlers.replace({Object("", "node-1")});
  EXPECT_TRUE(cache_.synced());
  // A resource watched later does not take readiness away.
  EXPECT_FALSE(cache_.Names(kDeployments, "shop", {}).ok());
  EXPECT_TRUE(cache_.synced());
}

TEST_F(ObjectCacheTest, UnknownStartResourceIsAnError) {
  EXPECT_EQ(cache_.WatchAtStart({model::GroupResource{"example.com", "widgets"}}).code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ObjectCacheTest, NotSyncedIsUnavailableNotEmpty) {
  auto names = cache_.Names(kPods, "shop", {});
  ASSERT_FALSE(names.ok());
  EXPECT_EQ(names.status().code(), absl::StatusCode::kUnavailable);
  // The client learns why; 503 would otherwise say "metrics backend unavailable".
  const auto response = api::StatusResponse(names.status());
  EXPECT_EQ(response.status, 503);
  EXPECT_THAT(response.body, HasSubstr("has not listed pods from the Kubernetes API yet"));
  // The request started the watch.
  ASSERT_TRUE(watches_.by_path.contains("/api/v1/pods"));
  EXPECT_TRUE(watches_.by_path.at("/api/v1/pods").started);
  Pods().replace({Object("shop", "web-1")});
  EXPECT_THAT(*cache_.Names(kPods, "shop", {}), ElementsAre("web-1"));
  EXPECT_EQ(cache_.watched(), 1);
}

TEST_F(ObjectCacheTest, SelectorsAndNamespacesMatchedInProcess) {
  ASSERT_TRUE(cache_.WatchAtStart({kPods}).ok());
  Pods().replace({
      Object("shop", "web-2", {{"app", "web"}, {"tier", "front"}}),
      Object("shop", "web-1", {{"app", "web"}}),
      Object("shop", "db-0", {{"app", "db"}}),
      Object("other", "web-1", {{"app", "web"}}),
      Object("other", "web-9", {{"app", "web"}}),
  });
  struct Case {
    std::string ns;
    std::string selector;
    std::vector<std::string> want;
  };
  const Case cases[] = {
      {"shop", "", {"db-0", "web-1", "web-2"}},
      {"shop", "app=web", {"web-1", "web-2"}},
      {"shop", "app in (web,db),!tier", {"db-0", "web-1"}},
      {"shop", "tier", {"web-2"}},
      {"shop", "app=cache", {}},
      {"nowhere", "", {}},
      // Every namespace: sorted, each name once.
      {"", "app=web", {"web-1", "web-2", "web-9"}},
  };
  for (const auto& c : cases) {
    auto names = cache_.Names(kPods, c.ns, Selector(c.selector));
    ASSERT_TRUE(names.ok()) << names.status();
    EXPECT_EQ(*names, c.want) << c.ns << " " << c.selector;
  }
}

TEST_F(ObjectCacheTest, WatchEventsUpdateTheCache) {
  ASSERT_TRUE(cache_.WatchAtStart({kPods}).ok());
  Pods().replace({Object("shop", "web-1", {{"app", "web"}})});
  Pods().event(kube::WatchEventType::kAdded, Object("shop", "web-2", {{"app", "web"}}));
  EXPECT_THAT(*cache_.Names(kPods, "shop", Selector("app=web")), ElementsAre("web-1", "web-2"));
  Pods().event(kube::WatchEventType::kModified, Object("shop", "web-1", {{"app", "old"}}));
  EXPECT_THAT(*cache_.Names(kPods, "shop", Selector("app=web")), ElementsAre("web-2"));
  Pods().event(kube::WatchEventType::kDeleted, Object("shop", "web-2"));
  EXPECT_THAT(*cache_.Names(kPods, "shop", Selector("app=web")), IsEmpty());
  Pods().event(kube::WatchEventType::kDeleted, Object("shop", "never-seen"));
  EXPECT_THAT(*cache_.Names(kPods, "shop", {}), ElementsAre("web-1"));
  // A relist (after 410 Gone) replaces everything.
  Pods().replace({Object("shop", "web-3")});
  EXPECT_THAT(*cache_.Names(kPods, "shop", {}), ElementsAre("web-3"));
  // Errors are for the log; what was listed stays.
  Pods().error(absl::UnavailableError("watch broke"));
  EXPECT_THAT(*cache_.Names(kPods, "shop", {}), ElementsAre("web-3"));
}

// What metrics_adapter_watch_cache_objects reports: objects held per collection, following the
// LIST and each watch event.
TEST_F(ObjectCacheTest, SizesFollowListsAndEvents) {
  const Collection running{kPods, "status.phase=Running"};
  ASSERT_TRUE(cache_.WatchAtStart({kPods, running}).ok());
  const auto sizes = [this] {
    std::vector<std::string> out;
    for (const auto& [collection, objects] : cache_.Sizes()) {
      out.push_back(Cat(collection.String(), "=", objects));
    }
    return out;
  };
  EXPECT_THAT(sizes(), ElementsAre("pods=0", "pods (status.phase=Running)=0"));
  Pods().replace({Object("shop", "web-1"), Object("shop", "web-2")});
  Pods().event(kube::WatchEventType::kAdded, Object("billing", "api-1"));
  Pods().event(kube::WatchEventType::kDeleted, Object("shop", "web-1"));
  watches_.by_path.at("/api/v1/pods?status.phase=Running").handlers.replace({Object("a", "b")});
  EXPECT_THAT(sizes(), ElementsAre("pods=2", "pods (status.phase=Running)=1"));
}

TEST_F(ObjectCacheTest, TooManyObjectsIsAnErrorNotAPartialAnswer) {
  ASSERT_TRUE(cache_.WatchAtStart({kPods}).ok());
  std::vector<kube::KubeObject> objects(kMaxObjectsPerResource + 1);
  Pods().replace(std::move(objects));
  auto names = cache_.Names(kPods, "", {});
  ASSERT_FALSE(names.ok());
  EXPECT_EQ(names.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(api::StatusResponse(names.status()).body, HasSubstr("too many pods"));
  // A LIST that fits again recovers.
  Pods().replace({Object("shop", "web-1")});
  EXPECT_THAT(*cache_.Names(kPods, "shop", {}), ElementsAre("web-1"));
}

// Knows every resource of the group example.com, as discovery would in a cluster of many CRDs.
class AnyResourceMapper : public model::ResourceMapper {
 public:
  absl::StatusOr<model::ResourceInfo> Normalize(std::string_view group,
                                                std::string_view resource) const override {
    if (group != "example.com") {
      return absl::NotFoundError("unknown");
    }
    return model::ResourceInfo{{std::string(group), std::string(resource)}, "", "", "v1", true};
  }
};

TEST(ObjectCacheBoundsTest, BoundedNumberOfWatchedResources) {
  FakeWatches watches;
  ObjectCache cache(std::make_shared<AnyResourceMapper>(), watches.Factory());
  // Unknown names never become watches.
  EXPECT_EQ(cache.Names({"", "widgets"}, "", {}).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(cache.watched(), 0);
  for (size_t i = 0; i < kMaxWatchedResources; ++i) {
    EXPECT_EQ(cache.Names({"example.com", Cat("r", i)}, "", {}).status().code(),
              absl::StatusCode::kUnavailable);
  }
  EXPECT_EQ(cache.watched(), kMaxWatchedResources);
  const auto one_more = cache.Names({"example.com", "more"}, "", {});
  EXPECT_EQ(one_more.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(api::StatusResponse(one_more.status()).body,
              HasSubstr("cannot list more.example.com"));
  EXPECT_EQ(cache.watched(), kMaxWatchedResources);
  // Resources already watched still answer.
  watches.by_path.at("/apis/example.com/v1/r0").handlers.replace({Object("shop", "a")});
  EXPECT_THAT(*cache.Names({"example.com", "r0"}, "shop", {}), ElementsAre("a"));
}

TEST_F(ObjectCacheTest, StopStopsEveryWatchAndStartsNoMore) {
  ASSERT_TRUE(cache_.WatchAtStart({kPods}).ok());
  Pods().replace({Object("shop", "web-1")});
  cache_.Stop();
  EXPECT_TRUE(watches_.by_path.at("/api/v1/pods").stopped);
  EXPECT_THAT(*cache_.Names(kPods, "shop", {}), ElementsAre("web-1"));
  EXPECT_EQ(cache_.Names(kDeployments, "shop", {}).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(watches_.by_path.contains("/apis/apps/v1/deployments"));
}

}  // namespace
}  // namespace ma::objects
