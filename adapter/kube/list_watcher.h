#pragma once

// client-go's reflector, reduced to what the adapter needs: LIST a collection, then WATCH it from
// the list's resourceVersion (with bookmarks), start over with a new LIST on 410 Gone, and back
// off with jitter after errors. Objects arrive decoded to their metadata (and a ConfigMap's
// string data), so that no caller touches JSON.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "adapter/kube/api_client.h"
#include "queries/base/clock.h"

namespace ma::kube {

struct ObjectMeta {
  std::string namespace_name;  // empty for cluster-scoped objects
  std::string name;
  std::string uid;
  std::string resource_version;
  std::map<std::string, std::string> labels;
};

struct KubeObject {
  ObjectMeta metadata;
  std::map<std::string, std::string> data;  // a ConfigMap's `data`; empty otherwise
};

enum class WatchEventType { kAdded, kModified, kDeleted };

struct ListWatchOptions {
  // The collection: "/api/v1/pods", "/apis/apps/v1/deployments",
  // "/api/v1/namespaces/kube-system/configmaps".
  std::string collection_path;
  std::string field_selector;  // e.g. "metadata.name=extension-apiserver-authentication"
  bool metadata_only = true;   // ask for PartialObjectMetadata(List)
  std::chrono::seconds watch_timeout{std::chrono::minutes(5)};  // the WATCH's timeoutSeconds
  std::chrono::milliseconds initial_backoff{std::chrono::milliseconds(500)};
  std::chrono::milliseconds max_backoff{std::chrono::seconds(30)};
};

struct ListWatchHandlers {
  // The complete collection after each successful LIST (the first sync and every relist).
  std::function<void(std::vector<KubeObject> objects)> replace;
  // One change seen by the WATCH (bookmarks are consumed internally).
  std::function<void(WatchEventType type, KubeObject object)> event;
  // A failed LIST or a broken WATCH, before the backoff; for logs and metrics.
  std::function<void(const absl::Status& status)> error;
};

// Thread-safe: Start and Stop may be called from any thread; handlers are called one at a time,
// in order, from an internal thread, and must not block.
class ListWatcher {
 public:
  ListWatcher(ApiClient& client, ListWatchOptions options, ListWatchHandlers handlers,
              const Clock& clock = SystemClock::Get());
  ~ListWatcher();  // stops
  ListWatcher(const ListWatcher&) = delete;
  ListWatcher& operator=(const ListWatcher&) = delete;

  void Start();
  // Returns when no handler is running and none will be called again.
  void Stop();

  // Whether a LIST has completed and `replace` was called at least once.
  bool synced() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ma::kube
