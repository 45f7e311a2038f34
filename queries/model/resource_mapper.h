#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "queries/model/group_resource.h"

namespace ma::model {

// What the adapter knows of one Kubernetes resource (Go's RESTMapper answers).
struct ResourceInfo {
  GroupResource group_resource;  // normalised: plural resource, full group
  std::string singular;          // "pod", "deployment", "endpoints"
  std::string kind;              // "Pod", "Deployment"
  std::string version;           // preferred version: "v1"
  bool namespaced = true;

  // "v1" for the core group, "apps/v1" otherwise (describedObject.apiVersion).
  std::string ApiVersion() const {
    return group_resource.group.empty() ? version : group_resource.group + "/" + version;
  }
};

// Resolves resource names the way a RESTMapper does. Implementations are immutable after
// construction and therefore thread-safe.
class ResourceMapper {
 public:
  virtual ~ResourceMapper() = default;

  // Accepts the plural, the singular or the lowercase kind, with or without a group; a group may
  // be given in full ("apps", "networking.k8s.io"). kNotFound when nothing matches.
  virtual absl::StatusOr<ResourceInfo> Normalize(std::string_view group,
                                                 std::string_view resource) const = 0;
};

// The built-in table of well-known Kubernetes resources (pods, services, namespaces, nodes,
// deployments.apps, ...), used when there is no Kubernetes API to ask (standalone mode, `check`,
// `explain`).
std::shared_ptr<const ResourceMapper> BuiltinResourceMapper();

}  // namespace ma::model
