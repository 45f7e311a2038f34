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
  std::lock_guard<std::mutex> lock(refresh_mutex_);
  auto result = DiscoverApiResources(client_);
  if (!result.ok()) {
    return result.status();
  }
  auto table = std::make_shared<Table>();
  table->resources = std::move(result->resources);
  if (const auto previous = table_.Get(); previous != nullptr && !result->failed_groups.empty()) {
    const std::set<std::string> failed(result->failed_groups.begin(), result->failed_groups.end());
    for (const auto& resource : previous->resources) {
      if (failed.contains(resource.group)) {
        table->resources.push_back(resource);
      }
    }
  }
  MA_VLOG(1) << "API discovery: " << table->resources.size() << " resources";
  table_.Set(std::move(table));
  return absl::OkStatus();
}

void DiscoveryResourceMapper::Start() {
  std::lock_guard<std::mutex> lock(loop_mutex_);
  if (loop_.joinable()) {
    return;
  }
  stopping_ = false;
  loop_ = std::thread([this] { Loop(); });
}

void DiscoveryResourceMapper::Stop() {
  std::thread loop;
  {
    std::lock_guard<std::mutex> lock(loop_mutex_);
    stopping_ = true;
    loop = std::move(loop_);
  }
  loop_wakeup_.notify_all();
  if (loop.joinable()) {
    loop.join();
  }
}

void DiscoveryResourceMapper::Loop() {
  std::unique_lock<std::mutex> lock(loop_mutex_);
  while (!stopping_) {
    loop_wakeup_.wait_for(lock, options_.refresh_interval,
                          [this] { return stopping_ || refresh_requested_; });
    if (stopping_) {
      return;
    }
    refresh_requested_ = false;
    lock.unlock();
    if (const auto status = Refresh(); !status.ok()) {
      MA_LOG(WARNING) << "API discovery refresh failed; keeping the last table: " << status;
    }
    lock.lock();
  }
}

void DiscoveryResourceMapper::RequestRefresh() const {
  {
    std::lock_guard<std::mutex> lock(loop_mutex_);
    const auto now = clock_.Now();
    if (now - last_request_ < options_.min_on_demand_interval) {
      return;
    }
    last_request_ = now;
    refresh_requested_ = true;
  }
  loop_wakeup_.notify_all();
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
