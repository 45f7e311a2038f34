#include "adapter/objects/list_watch_factory.h"

#include <memory>
#include <utility>

#include "adapter/kube/list_watcher.h"

namespace ma::objects {
namespace {

class ListWatcherWatch final : public Watch {
 public:
  ListWatcherWatch(kube::ApiClient& client, kube::ListWatchRuntime runtime,
                   kube::ListWatchOptions options, kube::ListWatchHandlers handlers,
                   const Clock& clock)
      : watcher_(client, runtime, std::move(options), std::move(handlers), clock) {}

  void Start() override { watcher_.Start(); }
  void Stop() override { watcher_.Stop(); }

 private:
  kube::ListWatcher watcher_;
};

}  // namespace

WatchFactory ListWatcherFactory(kube::ApiClient& client, kube::ListWatchRuntime runtime,
                                const Clock& clock) {
  return
      [&client, runtime, &clock](kube::ListWatchOptions options, kube::ListWatchHandlers handlers) {
        return std::make_unique<ListWatcherWatch>(client, runtime, std::move(options),
                                                  std::move(handlers), clock);
      };
}

}  // namespace ma::objects
