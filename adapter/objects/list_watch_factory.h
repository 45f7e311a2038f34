#pragma once

// The object cache's WatchFactory in production: a kube::ListWatcher per resource.

#include "adapter/kube/api_client.h"
#include "adapter/kube/list_watcher.h"
#include "adapter/objects/object_cache.h"
#include "queries/base/clock.h"

namespace ma::objects {

// Watches made by the factory use `client`, which must outlive them, and run on `runtime`'s
// threads: no thread per watch.
WatchFactory ListWatcherFactory(kube::ApiClient& client, kube::ListWatchRuntime runtime,
                                const Clock& clock = SystemClock::Get());

}  // namespace ma::objects
