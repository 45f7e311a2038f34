#pragma once

// What the metric handlers need from Kubernetes: the names of the objects of one resource that
// match a label selector (a `*` custom-metrics request), and the objects themselves with their
// labels (metrics.k8s.io). An interface so that the handlers can be tested without a cache.

#include <compare>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "queries/model/group_resource.h"
#include "queries/model/series.h"
#include "queries/selector/label_selector.h"

namespace ma::objects {

// What one watch covers: the objects of a resource, optionally only those that a server-side field
// selector keeps ("status.phase=Running": the pods metrics.k8s.io reports on).
struct Collection {
  Collection(model::GroupResource resource_in, std::string field_selector_in = "")  // NOLINT
      : resource(std::move(resource_in)), field_selector(std::move(field_selector_in)) {}

  model::GroupResource resource;
  std::string field_selector;

  std::string String() const {
    return field_selector.empty() ? resource.String()
                                  : resource.String() + " (" + field_selector + ")";
  }
  friend auto operator<=>(const Collection&, const Collection&) = default;
  friend bool operator==(const Collection&, const Collection&) = default;
};

// One object as a listing returns it.
struct ListedObject {
  std::string namespace_name;  // "" for cluster-scoped objects
  std::string name;
  model::LabelSet labels;
};

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

  // The objects of `collection` in `namespace_name` ("" = every namespace) whose labels match
  // `selector`, sorted by namespace, then name. Errors as Names.
  virtual absl::StatusOr<std::vector<ListedObject>> Objects(
      const Collection& collection, std::string_view namespace_name,
      const selector::LabelSelector& selector) = 0;

  // Readiness: whether the resources watched from the start have been listed once.
  virtual bool synced() const = 0;
};

}  // namespace ma::objects
