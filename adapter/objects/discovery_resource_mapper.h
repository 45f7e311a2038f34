#pragma once

// The ResourceMapper of a server that talks to Kubernetes: the table comes from API discovery,
// so CRDs and every group the cluster serves resolve exactly as kubectl resolves them. It knows
// nothing by itself: before the first discovery, and for a resource the cluster does not serve,
// Normalize answers kNotFound.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "adapter/kube/api_client.h"
#include "adapter/objects/api_discovery.h"
#include "adapter/scheduler/scheduler.h"
#include "queries/base/clock.h"
#include "queries/base/snapshot.h"
#include "queries/model/resource_mapper.h"

namespace ma::objects {

struct DiscoveryMapperOptions {
  // A periodic refresh picks up CRDs installed after start.
  std::chrono::milliseconds refresh_interval{std::chrono::minutes(10)};
  // An unknown name asks for a refresh, at most this often: labels such as `job` or `instance`
  // reach Normalize on every relist and must not turn into a discovery storm.
  std::chrono::milliseconds min_on_demand_interval{std::chrono::minutes(1)};
};

// Thread-safe: Normalize may be called from any thread at any time (it reads an immutable table
// swapped in whole); Refresh, Start and Stop from any thread. Unlike the built-in mapper the
// answers change over time, when a refresh publishes a new table.
class DiscoveryResourceMapper final : public model::ResourceMapper {
 public:
  DiscoveryResourceMapper(kube::ApiClient& client, DiscoveryMapperOptions options,
                          const Clock& clock = SystemClock::Get());
  ~DiscoveryResourceMapper() override;  // stops
  DiscoveryResourceMapper(const DiscoveryResourceMapper&) = delete;
  DiscoveryResourceMapper& operator=(const DiscoveryResourceMapper&) = delete;

  // One discovery run now; blocks until it is published. A group whose document fails keeps
  // what the previous table knew of it. Not on the ApiClient's callback thread.
  absl::Status Refresh();

  // Refreshes every `refresh_interval` (and on demand) as jobs on `scheduler`, which must
  // outlive Stop; the first run is `refresh_interval` after Start, as the caller is expected to
  // have called Refresh already. A run sends its calls and returns; the answers are decoded on
  // the scheduler. Stop cancels the next run and waits for one under way.
  void Start(scheduler::Scheduler& scheduler);
  void Stop();

  absl::StatusOr<model::ResourceInfo> Normalize(std::string_view group,
                                                std::string_view resource) const override;

  // Whether a discovery run has published a table.
  bool loaded() const { return table_.Get() != nullptr; }

 private:
  struct Table {
    std::vector<ApiResource> resources;  // core first, then in discovery order
  };

  void RequestRefresh() const;
  // Publishes a run's result; a group that failed keeps what the previous table knew of it.
  void Publish(DiscoveryResult result);
  // The loop's steps on the scheduler: a run begins, its result is published.
  void BeginRun(bool on_demand);
  void FinishRun(absl::StatusOr<DiscoveryResult> result);

  kube::ApiClient& client_;
  const DiscoveryMapperOptions options_;
  const Clock& clock_;
  Snapshot<Table> table_;

  std::mutex refresh_mutex_;  // one Publish at a time

  mutable std::mutex loop_mutex_;
  std::condition_variable run_finished_;
  // Set while started: the scheduler and the job that begins an on-demand run (kept here so that
  // the const RequestRefresh can post it).
  scheduler::Scheduler* scheduler_ = nullptr;                   // guarded by loop_mutex_
  std::function<void()> begin_on_demand_run_;                   // guarded by loop_mutex_
  scheduler::JobId next_run_ = 0;                               // guarded by loop_mutex_: periodic
  mutable scheduler::JobId on_demand_run_ = 0;                  // guarded by loop_mutex_
  bool running_ = false;                                        // guarded by loop_mutex_
  mutable bool refresh_requested_ = false;                      // guarded by loop_mutex_
  mutable std::chrono::system_clock::time_point last_request_;  // guarded by loop_mutex_
  bool stopping_ = false;                                       // guarded by loop_mutex_
};

}  // namespace ma::objects
