#include "adapter/handlers/route.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "queries/base/strings.h"

namespace ma::handlers {
namespace {

absl::Status NotFound(const std::vector<std::string>& segments) {
  std::string path;
  for (const auto& s : segments) {
    absl::StrAppend(&path, "/", s);
  }
  return absl::NotFoundError(
      Cat("the server could not find the requested resource ", path.empty() ? "/" : path));
}

Route RouteOf(RouteKind kind) {
  Route route;
  route.kind = kind;
  return route;
}

absl::StatusOr<Route> MatchCustom(Route route, const std::vector<std::string>& rest) {
  route.kind = RouteKind::kCustomMetric;
  if (rest.size() == 3 && rest[0] != "namespaces") {
    route.resource = rest[0];
    route.name = rest[1];
    route.metric = rest[2];
    return route;
  }
  if (rest.size() == 4 && rest[0] == "namespaces" && rest[2] == "metrics") {
    route.resource = "namespaces";
    route.name = rest[1];
    route.metric = rest[3];
    return route;
  }
  if (rest.size() == 5 && rest[0] == "namespaces") {
    route.namespace_name = rest[1];
    route.resource = rest[2];
    route.name = rest[3];
    route.metric = rest[4];
    return route;
  }
  return absl::InvalidArgumentError("invalid request path");
}

// metrics.k8s.io/v1beta1 as metrics-server serves it: nodes, nodes/{name}, pods,
// namespaces/{ns}/pods, namespaces/{ns}/pods/{name}.
absl::StatusOr<Route> MatchResourceMetrics(Route route, const std::vector<std::string>& rest,
                                           const std::vector<std::string>& segments) {
  route.kind = RouteKind::kResourceMetrics;
  std::vector<std::string> tail = rest;
  if (tail.size() >= 3 && tail[0] == "namespaces") {
    route.namespace_name = tail[1];
    tail.erase(tail.begin(), tail.begin() + 2);
    if (tail[0] != "pods") {
      return NotFound(segments);
    }
  }
  if (tail.empty() || tail.size() > 2 || (tail[0] != "pods" && tail[0] != "nodes")) {
    return NotFound(segments);
  }
  route.resource = tail[0];
  if (tail.size() == 2) {
    if (route.resource == "pods" && route.namespace_name.empty()) {
      return NotFound(segments);  // a pod is got within its namespace
    }
    route.name = tail[1];
  }
  return route;
}

absl::StatusOr<Route> MatchHealth(RouteKind kind, const std::vector<std::string>& segments) {
  if (segments.size() > 2) {
    return NotFound(segments);
  }
  Route route;
  route.kind = kind;
  if (segments.size() == 2) {
    route.check = segments[1];
  }
  return route;
}

}  // namespace

std::vector<std::string> ServedVersions(std::string_view group) {
  const ApiGroupRow* row = FindApiGroup(group);
  if (row == nullptr) {
    return {};
  }
  return {row->versions.begin(), row->versions.end()};
}

absl::StatusOr<Route> MatchRoute(const std::vector<std::string>& segments) {
  if (segments.empty()) {
    return NotFound(segments);
  }
  const std::string& first = segments[0];
  if (first == "healthz") {
    return MatchHealth(RouteKind::kHealthz, segments);
  }
  if (first == "livez") {
    return MatchHealth(RouteKind::kLivez, segments);
  }
  if (first == "readyz") {
    return MatchHealth(RouteKind::kReadyz, segments);
  }
  if (segments.size() == 1 && first == "version") {
    return RouteOf(RouteKind::kVersion);
  }
  if (segments.size() == 1 && first == "metrics") {
    return RouteOf(RouteKind::kMetrics);
  }
  if (first == "openapi" && segments.size() >= 2 && (segments[1] == "v2" || segments[1] == "v3")) {
    return RouteOf(RouteKind::kOpenApi);
  }
  if (first != "apis") {
    return NotFound(segments);
  }
  if (segments.size() == 1) {
    return RouteOf(RouteKind::kApis);
  }
  Route route;
  route.group = segments[1];
  const auto versions = ServedVersions(route.group);
  if (versions.empty()) {
    return NotFound(segments);
  }
  if (segments.size() == 2) {
    route.kind = RouteKind::kGroup;
    return route;
  }
  route.version = segments[2];
  if (std::find(versions.begin(), versions.end(), route.version) == versions.end()) {
    return NotFound(segments);
  }
  if (segments.size() == 3) {
    route.kind = RouteKind::kGroupVersion;
    return route;
  }
  const std::vector<std::string> rest(segments.begin() + 3, segments.end());
  if (route.group == kResourceMetricsGroup) {
    return MatchResourceMetrics(std::move(route), rest, segments);
  }
  if (route.group == kCustomGroup) {
    if (rest.size() < 3) {
      return NotFound(segments);
    }
    return MatchCustom(std::move(route), rest);
  }
  if (rest.size() == 3 && rest[0] == "namespaces") {
    route.kind = RouteKind::kExternalMetric;
    route.namespace_name = rest[1];
    route.metric = rest[2];
    return route;
  }
  return NotFound(segments);
}

}  // namespace ma::handlers
