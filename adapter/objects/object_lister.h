#pragma once

// What a `*` custom-metrics request needs from Kubernetes: the names of the objects of one
// resource that match a label selector. An interface so that the handler can be tested without
// a cache.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "queries/model/group_resource.h"
#include "queries/selector/label_selector.h"

namespace ma::objects {

// Implementations are thread-safe.
class ObjectLister {
 public:
  virtual ~ObjectLister() = default;

  // The sorted names of the objects of `resource` in `namespace_name` ("" = every namespace, and
  // the only match for cluster-scoped objects) whose labels match `selector`. Empty when nothing
  // matches; kUnavailable (with a public message) when the answer is not known yet.
  virtual absl::StatusOr<std::vector<std::string>> Names(
      const model::GroupResource& resource, std::string_view namespace_name,
      const selector::LabelSelector& selector) = 0;

  // Readiness: whether the resources watched from the start have been listed once.
  virtual bool synced() const = 0;
};

}  // namespace ma::objects
