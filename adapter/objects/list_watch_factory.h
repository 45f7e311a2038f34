#pragma once

// The object cache's WatchFactory in production: a kube::ListWatcher per resource.

#include "adapter/kube/api_client.h"
#include "adapter/objects/object_cache.h"
#include "queries/base/clock.h"

namespace ma::objects {

// Watches made by the factory use `client`, which must outlive them.
WatchFactory ListWatcherFactory(kube::ApiClient& client, const Clock& clock = SystemClock::Get());

}  // namespace ma::objects
