#pragma once

// Routing: a request's decoded path segments become a Route (which endpoint, with its path
// parameters). Pure and Beast-free; shared by the server's dispatcher and `explain`.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "adapter/handlers/api_groups.h"

namespace ma::handlers {

enum class RouteKind {
  kApis,          // /apis
  kGroup,         // /apis/<group>
  kGroupVersion,  // /apis/<group>/<version>: APIResourceList
  kCustomMetric,  // custom.metrics.k8s.io object, objects or namespace metric
  kExternalMetric,
  kResourceMetrics,  // metrics.k8s.io nodes[/{name}], pods, namespaces/{ns}/pods[/{name}]
  kHealthz,
  kLivez,
  kReadyz,
  kVersion,
  kMetrics,
  kOpenApi,  // /openapi/v2, /openapi/v3 and below
};
// How many RouteKinds there are (kOpenApi is the last).
inline constexpr size_t kRouteKinds = static_cast<size_t>(RouteKind::kOpenApi) + 1;

struct Route {
  RouteKind kind = RouteKind::kApis;
  std::string group;    // kGroup, kGroupVersion, metrics
  std::string version;  // kGroupVersion, metrics
  // Metric routes. For `namespaces/{ns}/metrics/{m}` resource is "namespaces", name is {ns} and
  // namespace_name is "" (a namespace object is root-scoped). kResourceMetrics: resource is
  // "pods" or "nodes", name "" for a list.
  std::string namespace_name;
  std::string resource;
  std::string name;  // "*" for a wildcard
  std::string metric;
  // The health check named after /healthz/, /livez/ or /readyz/ ("" for the whole endpoint).
  std::string check;
};

// kNotFound for paths we do not serve; kInvalidArgument ("invalid request path") for custom
// metric paths with a malformed shape, as the Go server answers.
absl::StatusOr<Route> MatchRoute(const std::vector<std::string>& segments);

// The versions served for a group, preferred first (api_groups.h); empty for unknown groups.
std::vector<std::string> ServedVersions(std::string_view group);

}  // namespace ma::handlers
