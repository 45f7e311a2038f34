#pragma once

// The metadata-only watch cache behind `*` custom-metrics requests. prometheus-adapter LISTs the
// full objects on every such request (an HPA's Pods metric is one LIST per sync); this keeps one
// LIST+WATCH per resource instead and answers label selectors from memory, so the request path
// never calls the Kubernetes API once a resource is synced.

#include <atomic>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "adapter/kube/list_watcher.h"
#include "adapter/objects/object_lister.h"
#include "queries/model/group_resource.h"
#include "queries/model/resource_mapper.h"
#include "queries/model/series.h"
#include "queries/selector/label_selector.h"

namespace ma::objects {

// Past this many objects a resource's cache refuses to answer (503) rather than answer from a
// partial list: the largest supported clusters hold 150,000 pods.
inline constexpr size_t kMaxObjectsPerResource = 300000;
// Collections watched at once; only resources that some metric describes are ever watched.
inline constexpr size_t kMaxWatchedResources = 64;

// A running LIST+WATCH of one collection. The seam between the cache and kube::ListWatcher, so
// that tests drive the handlers themselves. Implementations are thread-safe: Stop may be called
// from another thread than Start.
class Watch {
 public:
  virtual ~Watch() = default;
  virtual void Start() = 0;
  // Returns when no handler is running and none will be called again.
  virtual void Stop() = 0;
};

using WatchFactory = std::function<std::unique_ptr<Watch>(kube::ListWatchOptions options,
                                                          kube::ListWatchHandlers handlers)>;

// "/api/v1/pods", "/apis/apps/v1/deployments": the collection across all namespaces.
std::string CollectionPath(const model::ResourceInfo& resource);

// Thread-safe: Names, WatchAtStart, synced and Stop may be called from any thread; the watches'
// handlers update a resource's objects under that resource's own lock.
class ObjectCache final : public ObjectLister {
 public:
  // `mapper` resolves the resources named later (their version and scope).
  ObjectCache(std::shared_ptr<const model::ResourceMapper> mapper, WatchFactory factory);
  ~ObjectCache() override;  // stops
  ObjectCache(const ObjectCache&) = delete;
  ObjectCache& operator=(const ObjectCache&) = delete;

  // Starts watching `collections` now; synced() waits for them. kNotFound names a resource the
  // mapper does not know; kResourceExhausted past kMaxWatchedResources.
  absl::Status WatchAtStart(const std::vector<Collection>& collections);

  // A resource not watched yet is watched from now on (lazily, for resources only some requests
  // need), and this first request is kUnavailable like any request before the first LIST.
  absl::StatusOr<std::vector<std::string>> Names(const model::GroupResource& resource,
                                                 std::string_view namespace_name,
                                                 const selector::LabelSelector& selector) override;
  absl::StatusOr<std::vector<ListedObject>> Objects(
      const Collection& collection, std::string_view namespace_name,
      const selector::LabelSelector& selector) override;

  // True once every resource passed to WatchAtStart has been listed, and from then on: a
  // resource watched later answers 503 until it is listed, but does not make /readyz fail, which
  // would take every replica out of the Service at once.
  bool synced() const override;

  // Stops every watch; Names then answers only from what was listed.
  void Stop();

  size_t watched() const;

  // The objects held per watched collection (0 before its first LIST and past
  // kMaxObjectsPerResource), for metrics_adapter_watch_cache_objects.
  struct CollectionSize {
    Collection collection;
    size_t objects;
  };
  std::vector<CollectionSize> Sizes() const;

 private:
  struct Store;

  // The store for `collection`, started if new; kUnavailable/kResourceExhausted when it cannot be.
  absl::StatusOr<Store*> StoreFor(const Collection& collection, bool at_start);
  // OK when `store` can answer requests, else the error they get. Called under the store's lock.
  static absl::Status Readable(const Store& store, const Collection& collection);
  static void Replace(Store& store, std::vector<kube::KubeObject> objects);
  static void Apply(Store& store, kube::WatchEventType type, kube::KubeObject object);

  const std::shared_ptr<const model::ResourceMapper> mapper_;
  const WatchFactory factory_;

  mutable std::mutex mutex_;
  std::map<Collection, std::unique_ptr<Store>> stores_;  // guarded by mutex_
  std::vector<Store*> at_start_;                         // guarded by mutex_
  bool stopped_ = false;                                 // guarded by mutex_
  mutable std::atomic<bool> synced_latch_{false};
};

}  // namespace ma::objects
