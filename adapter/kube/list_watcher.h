#pragma once

// client-go's reflector, reduced to what the adapter needs: LIST a collection, then WATCH it from
// the list's resourceVersion (with bookmarks), start over with a new LIST on 410 Gone, and back
// off with jitter after errors. Objects arrive decoded to their metadata (and a ConfigMap's
// string data), so that no caller touches JSON.
//
// A watcher owns no thread. Its requests go out through the ApiClient (whose one worker thread
// moves the bytes), its pages and WATCH events are decoded on the decode pool, in order, and its
// backoff waits are scheduler jobs: the process runs the same threads whether it watches one
// collection or sixty.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "adapter/decode/decode_pool.h"
#include "adapter/kube/api_client.h"
#include "adapter/scheduler/scheduler.h"
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

// The process's shared threads a watcher runs on; both must outlive every request the watcher
// sent (in serve.cc: declared before the API clients, destroyed after them).
struct ListWatchRuntime {
  scheduler::Scheduler& scheduler;  // backoff waits
  decode::DecodePool& decode;       // decoding, and the handlers
};

// Thread-safe: Start and Stop may be called from any thread except from inside a handler;
// handlers are called one at a time, in order, from a decode pool thread, and must not block.
class ListWatcher {
 public:
  ListWatcher(ApiClient& client, ListWatchRuntime runtime, ListWatchOptions options,
              ListWatchHandlers handlers, const Clock& clock = SystemClock::Get());
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
  // Shared with the callbacks of the requests and jobs in flight, which may outlive the watcher.
  std::shared_ptr<Impl> impl_;
};

}  // namespace ma::kube
