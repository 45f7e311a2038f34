#pragma once

// Kubernetes API discovery, the legacy way a RESTMapper learns it: GET /api and /api/<v> for the
// core group, GET /apis for the groups and /apis/<group>/<preferred version> for each group's
// resources. Only the adapter's object cache and resource mapper need it, so it decodes only
// what they use.

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "adapter/kube/api_client.h"

namespace ma::objects {

// Bounds on what the API server sends us. Real clusters have a few hundred groups and a few
// thousand resources; a document is tens of KiB.
inline constexpr size_t kMaxDiscoveryDocumentBytes = size_t{4} * 1024 * 1024;
inline constexpr size_t kMaxApiGroups = 1000;
inline constexpr size_t kMaxResourcesPerGroupVersion = 1000;
inline constexpr size_t kMaxDiscoveredResources = 20000;
inline constexpr size_t kMaxVerbsPerResource = 32;

// One resource of one group-version (subresources such as pods/status are left out).
struct ApiResource {
  std::string group;    // "" for the core group
  std::string version;  // the group's preferred version
  std::string plural;   // "deployments"
  std::string singular;
  std::string kind;
  bool namespaced = true;
  std::vector<std::string> verbs;

  friend bool operator==(const ApiResource&, const ApiResource&) = default;
};

struct GroupVersion {
  std::string group;
  std::string version;

  friend bool operator==(const GroupVersion&, const GroupVersion&) = default;
};

// The decoders: kInternal naming what is wrong with the document (too large, too deep, not the
// expected kind, too many entries).
// `/api` (APIVersions) → the core versions, in the server's order.
absl::StatusOr<std::vector<std::string>> DecodeApiVersions(std::string_view body);
// `/apis` (APIGroupList) → each group's preferred version (the first listed when none is).
absl::StatusOr<std::vector<GroupVersion>> DecodeApiGroupList(std::string_view body);
// `/api/<v>` or `/apis/<g>/<v>` (APIResourceList) → its resources, tagged with `group_version`.
absl::StatusOr<std::vector<ApiResource>> DecodeApiResourceList(std::string_view body,
                                                               const GroupVersion& group_version);

struct DiscoveryResult {
  // Core group first, then the groups in the order of /apis (the server's priority order).
  std::vector<ApiResource> resources;
  // Groups whose document could not be fetched or decoded (an aggregated API that is down, say):
  // their resources are missing from `resources`, and a caller may keep what it knew of them.
  std::vector<std::string> failed_groups;
};

// One discovery run: /api and /apis must succeed (kUnavailable otherwise, with the cause); each
// group's document is fetched in parallel and may fail on its own. Blocks until every call has
// completed (each is bounded by the client's timeout), so it must not run on the client's
// callback thread.
absl::StatusOr<DiscoveryResult> DiscoverApiResources(kube::ApiClient& client);

// Runs a function elsewhere (a scheduler's thread), so that decoding stays off the thread that
// delivered the answer.
using Post = std::function<void(std::function<void()>)>;
using DiscoveryCallback = std::function<void(absl::StatusOr<DiscoveryResult>)>;

// The same run without blocking a thread: each answer's decoding and `done` run through `post`.
void DiscoverApiResourcesAsync(kube::ApiClient& client, Post post, DiscoveryCallback done);

}  // namespace ma::objects
