#include "adapter/objects/discovery_resource_mapper.h"

#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "adapter/telemetry/log.h"
#include "queries/base/strings.h"

namespace ma::objects {

DiscoveryResourceMapper::DiscoveryResourceMapper(kube::ApiClient& client,
                                                 DiscoveryMapperOptions options, const Clock& clock)
    : client_(client), options_(options), clock_(clock) {}

DiscoveryResourceMapper::~DiscoveryResourceMapper() { Stop(); }

absl::Status DiscoveryResourceMapper::Refresh() {
  auto result = DiscoverApiResources(client_);
  if (!result.ok()) {
    return result.status();
  }
  Publish(*std::move(result));
  return absl::OkStatus();
}

void DiscoveryResourceMapper::Publish(DiscoveryResult result) {
  std::lock_guard<std::mutex> lock(refresh_mutex_);
  auto table = std::make_shared<Table>();
  table->resources = std::move(result.resources);
  if (const auto previous = table_.Get(); previous != nullptr && !result.failed_groups.empty()) {
    const std::set<std::string> failed(result.failed_groups.begin(), result.failed_groups.end());
    for (const auto& resource : previous->resources) {
      if (failed.contains(resource.group)) {
        table->resources.push_back(resource);
      }
    }
  }
  MA_VLOG(1) << "API discovery: " << table->resources.size() << " resources";
  table_.Set(std::move(table));
}

void DiscoveryResourceMapper::Start(scheduler::Scheduler& scheduler) {
  std::lock_guard<std::mutex> lock(loop_mutex_);
  if (scheduler_ != nullptr) {
    return;
  }
  scheduler_ = &scheduler;
  stopping_ = false;
  begin_on_demand_run_ = [this] { BeginRun(/*on_demand=*/true); };
  next_run_ = scheduler.RunAfter(options_.refresh_interval, [this] { BeginRun(false); });
}

void DiscoveryResourceMapper::BeginRun(bool on_demand) {
  scheduler::Scheduler* scheduler = nullptr;
  {
    std::lock_guard<std::mutex> lock(loop_mutex_);
    if (on_demand) {
      on_demand_run_ = 0;
    }
    if (stopping_ || running_) {
      return;  // a run under way serves the request when it finishes
    }
    running_ = true;
    refresh_requested_ = false;
    scheduler = scheduler_;
  }
  // The scheduler outlives Stop, which waits for this run: the callbacks may use it and `this`.
  DiscoverApiResourcesAsync(
      client_, [scheduler](std::function<void()> job) { scheduler->Post(std::move(job)); },
      [this](absl::StatusOr<DiscoveryResult> result) { FinishRun(std::move(result)); });
}

void DiscoveryResourceMapper::FinishRun(absl::StatusOr<DiscoveryResult> result) {
  if (result.ok()) {
    Publish(*std::move(result));
  } else if (absl::IsCancelled(result.status())) {
    MA_VLOG(1) << "API discovery refresh cancelled: shutting down";
  } else {
    MA_LOG(WARNING) << "API discovery refresh failed; keeping the last table: " << result.status();
  }
  std::lock_guard<std::mutex> lock(loop_mutex_);
  running_ = false;
  if (!stopping_) {
    // The periodic run counts from the last run, whatever started it. On the scheduler thread,
    // so Cancel does not wait.
    scheduler_->Cancel(next_run_);
    next_run_ = scheduler_->RunAfter(options_.refresh_interval, [this] { BeginRun(false); });
    // A request that came during the run is served at once.
    if (refresh_requested_ && on_demand_run_ == 0) {
      on_demand_run_ = scheduler_->Post(begin_on_demand_run_);
    }
  }
  run_finished_.notify_all();
}

void DiscoveryResourceMapper::Stop() {
  scheduler::Scheduler* scheduler = nullptr;
  scheduler::JobId next_run = 0;
  scheduler::JobId on_demand_run = 0;
  {
    std::lock_guard<std::mutex> lock(loop_mutex_);
    stopping_ = true;
    scheduler = scheduler_;
    next_run = next_run_;
    on_demand_run = on_demand_run_;
  }
  if (scheduler == nullptr) {
    return;
  }
  // Removes the runs not begun, or waits for BeginRun if it is sending right now; once stopping,
  // nothing schedules another.
  scheduler->Cancel(next_run);
  scheduler->Cancel(on_demand_run);
  std::unique_lock<std::mutex> lock(loop_mutex_);
  run_finished_.wait(lock, [this] { return !running_; });
  scheduler_ = nullptr;
  begin_on_demand_run_ = nullptr;
  next_run_ = 0;
  on_demand_run_ = 0;
}

void DiscoveryResourceMapper::RequestRefresh() const {
  std::lock_guard<std::mutex> lock(loop_mutex_);
  const auto now = clock_.Now();
  if (now - last_request_ < options_.min_on_demand_interval) {
    return;
  }
  last_request_ = now;
  refresh_requested_ = true;
  if (scheduler_ == nullptr || stopping_ || running_ || on_demand_run_ != 0) {
    return;  // not started, or a run under way or already posted picks the request up
  }
  on_demand_run_ = scheduler_->Post(begin_on_demand_run_);
}

absl::StatusOr<model::ResourceInfo> DiscoveryResourceMapper::Normalize(
    std::string_view group, std::string_view resource) const {
  // A RESTMapper compares resource names in lower case; kinds are CamelCase on the wire.
  const std::string wanted = absl::AsciiStrToLower(ToAbsl(resource));
  const auto table = table_.Get();
  if (table != nullptr && !wanted.empty()) {
    for (const auto& r : table->resources) {
      if (!group.empty() && group != r.group) {
        continue;
      }
      if (wanted == r.plural || wanted == r.singular || wanted == absl::AsciiStrToLower(r.kind)) {
        return model::ResourceInfo{
            {r.group, r.plural}, r.singular, r.kind, r.version, r.namespaced};
      }
    }
  }
  RequestRefresh();
  const model::GroupResource unknown{std::string(group), std::string(resource)};
  return absl::NotFoundError(Cat("the Kubernetes API serves no resource \"", unknown.String(), "\"",
                                 table == nullptr ? " (API discovery has not completed yet)" : ""));
}

}  // namespace ma::objects
