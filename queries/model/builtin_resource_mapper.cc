#include <array>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "queries/base/strings.h"
#include "queries/model/resource_mapper.h"

namespace ma::model {
namespace {

struct BuiltinResource {
  const char* group;
  const char* version;
  const char* plural;
  const char* singular;
  const char* kind;
  bool namespaced;
};

// Core group first: with no group given, the core resource wins, as a RESTMapper prefers it.
constexpr std::array kBuiltinResources = {
    BuiltinResource{"", "v1", "pods", "pod", "Pod", true},
    BuiltinResource{"", "v1", "services", "service", "Service", true},
    BuiltinResource{"", "v1", "namespaces", "namespace", "Namespace", false},
    BuiltinResource{"", "v1", "nodes", "node", "Node", false},
    BuiltinResource{"", "v1", "persistentvolumes", "persistentvolume", "PersistentVolume", false},
    BuiltinResource{"", "v1", "persistentvolumeclaims", "persistentvolumeclaim",
                    "PersistentVolumeClaim", true},
    BuiltinResource{"", "v1", "endpoints", "endpoints", "Endpoints", true},
    BuiltinResource{"", "v1", "configmaps", "configmap", "ConfigMap", true},
    BuiltinResource{"", "v1", "secrets", "secret", "Secret", true},
    BuiltinResource{"", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", true},
    BuiltinResource{"", "v1", "replicationcontrollers", "replicationcontroller",
                    "ReplicationController", true},
    BuiltinResource{"", "v1", "events", "event", "Event", true},
    BuiltinResource{"apps", "v1", "deployments", "deployment", "Deployment", true},
    BuiltinResource{"apps", "v1", "statefulsets", "statefulset", "StatefulSet", true},
    BuiltinResource{"apps", "v1", "daemonsets", "daemonset", "DaemonSet", true},
    BuiltinResource{"apps", "v1", "replicasets", "replicaset", "ReplicaSet", true},
    BuiltinResource{"batch", "v1", "jobs", "job", "Job", true},
    BuiltinResource{"batch", "v1", "cronjobs", "cronjob", "CronJob", true},
    BuiltinResource{"networking.k8s.io", "v1", "ingresses", "ingress", "Ingress", true},
    BuiltinResource{"networking.k8s.io", "v1", "networkpolicies", "networkpolicy", "NetworkPolicy",
                    true},
    BuiltinResource{"autoscaling", "v2", "horizontalpodautoscalers", "horizontalpodautoscaler",
                    "HorizontalPodAutoscaler", true},
    BuiltinResource{"policy", "v1", "poddisruptionbudgets", "poddisruptionbudget",
                    "PodDisruptionBudget", true},
};

class BuiltinMapper final : public ResourceMapper {
 public:
  absl::StatusOr<ResourceInfo> Normalize(std::string_view group,
                                         std::string_view resource) const override {
    for (const auto& r : kBuiltinResources) {
      if (!group.empty() && group != r.group) {
        continue;
      }
      if (resource == r.plural || resource == r.singular) {
        return ResourceInfo{{r.group, r.plural}, r.singular, r.kind, r.version, r.namespaced};
      }
    }
    const GroupResource wanted{std::string(group), std::string(resource)};
    return absl::NotFoundError(
        Cat("unknown resource \"", wanted.String(),
            "\" (without a Kubernetes API only the built-in resources are known)"));
  }
};

}  // namespace

std::shared_ptr<const ResourceMapper> BuiltinResourceMapper() {
  static const auto* const mapper =
      new std::shared_ptr<const ResourceMapper>(std::make_shared<BuiltinMapper>());
  return *mapper;
}

}  // namespace ma::model
