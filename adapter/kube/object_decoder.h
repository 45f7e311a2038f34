#pragma once

// Decodes the Kubernetes JSON the list-watcher reads: a (PartialObjectMetadata)List page, one
// WATCH event line, and a metav1.Status error body.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "adapter/kube/list_watcher.h"

namespace ma::kube {

// Untrusted input bounds. A list page or watch event is as large as the largest response the
// client accepts; managedFields mirror an object's own nesting, hence the generous depth.
inline constexpr size_t kMaxDocumentBytes = size_t{64} << 20;
inline constexpr int kMaxJsonDepth = 64;
inline constexpr size_t kMaxLabelsPerObject = 1024;
inline constexpr size_t kMaxDataEntriesPerObject = 4096;

struct ObjectList {
  std::vector<KubeObject> items;
  std::string resource_version;  // metadata.resourceVersion of the list
  std::string continue_token;    // metadata.continue: more pages follow
};

// `max_items` bounds the page; more is kResourceExhausted.
absl::StatusOr<ObjectList> DecodeObjectList(std::string_view json, size_t max_items);

enum class RawWatchEventType { kAdded, kModified, kDeleted, kBookmark, kError };

struct WatchEvent {
  RawWatchEventType type = RawWatchEventType::kAdded;
  KubeObject object;   // for ADDED/MODIFIED/DELETED/BOOKMARK (a bookmark: only the RV)
  int error_code = 0;  // ERROR: the Status code (410 when the RV is too old)
  std::string error_message;
};

absl::StatusOr<WatchEvent> DecodeWatchEvent(std::string_view line);

// The `message` of a metav1.Status body, or "" when the body is not one.
std::string DecodeStatusMessage(std::string_view json);

// A non-2xx response as a status: 401 kUnauthenticated, 403 kPermissionDenied, 404 kNotFound,
// 409/410 kFailedPrecondition, 429 kResourceExhausted, 5xx kUnavailable, other kInvalidArgument;
// the message is "<what>: HTTP <code>: <the Status message>".
absl::Status ResponseError(long http_status, std::string_view body,  // NOLINT(google-runtime-int)
                           std::string_view what);

}  // namespace ma::kube
