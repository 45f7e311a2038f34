#include "adapter/handlers/route.h"

#include <gtest/gtest.h>

#include "absl/strings/str_split.h"

namespace ma::handlers {
namespace {

std::vector<std::string> Segments(std::string_view path) {
  return absl::StrSplit(std::string(path), '/', absl::SkipEmpty());
}

TEST(MatchRouteTest, MetricRoutes) {
  struct Case {
    std::string path;
    RouteKind kind;
    std::string ns, resource, name, metric;
  };
  const Case cases[] = {
      {"/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/web-1/rps",
       RouteKind::kCustomMetric, "shop", "pods", "web-1", "rps"},
      {"/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/deployments.apps/*/rps",
       RouteKind::kCustomMetric, "shop", "deployments.apps", "*", "rps"},
      {"/apis/custom.metrics.k8s.io/v1beta1/nodes/n1/temp", RouteKind::kCustomMetric, "", "nodes",
       "n1", "temp"},
      {"/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/metrics/cost", RouteKind::kCustomMetric,
       "", "namespaces", "shop", "cost"},
      {"/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue_depth",
       RouteKind::kExternalMetric, "shop", "", "", "queue_depth"},
      {"/apis/metrics.k8s.io/v1beta1/nodes", RouteKind::kResourceMetrics, "", "nodes", "", ""},
      {"/apis/metrics.k8s.io/v1beta1/nodes/n1", RouteKind::kResourceMetrics, "", "nodes", "n1", ""},
      {"/apis/metrics.k8s.io/v1beta1/pods", RouteKind::kResourceMetrics, "", "pods", "", ""},
      {"/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods", RouteKind::kResourceMetrics, "shop",
       "pods", "", ""},
      {"/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods/web-1", RouteKind::kResourceMetrics,
       "shop", "pods", "web-1", ""},
  };
  for (const auto& c : cases) {
    auto route = MatchRoute(Segments(c.path));
    ASSERT_TRUE(route.ok()) << c.path << ": " << route.status();
    EXPECT_EQ(route->kind, c.kind) << c.path;
    EXPECT_EQ(route->namespace_name, c.ns) << c.path;
    EXPECT_EQ(route->resource, c.resource) << c.path;
    EXPECT_EQ(route->name, c.name) << c.path;
    EXPECT_EQ(route->metric, c.metric) << c.path;
  }
}

TEST(MatchRouteTest, DiscoveryAndAuxiliaryRoutes) {
  struct Case {
    std::string path;
    RouteKind kind;
  };
  const Case cases[] = {
      {"/apis", RouteKind::kApis},
      {"/apis/custom.metrics.k8s.io", RouteKind::kGroup},
      {"/apis/custom.metrics.k8s.io/v1beta2", RouteKind::kGroupVersion},
      {"/apis/external.metrics.k8s.io/v1beta1", RouteKind::kGroupVersion},
      {"/apis/metrics.k8s.io", RouteKind::kGroup},
      {"/apis/metrics.k8s.io/v1beta1", RouteKind::kGroupVersion},
      {"/healthz", RouteKind::kHealthz},
      {"/readyz/ping", RouteKind::kReadyz},
      {"/livez", RouteKind::kLivez},
      {"/version", RouteKind::kVersion},
      {"/metrics", RouteKind::kMetrics},
      {"/openapi/v2", RouteKind::kOpenApi},
      {"/openapi/v3/apis/x", RouteKind::kOpenApi},
  };
  for (const auto& c : cases) {
    auto route = MatchRoute(Segments(c.path));
    ASSERT_TRUE(route.ok()) << c.path << ": " << route.status();
    EXPECT_EQ(route->kind, c.kind) << c.path;
  }
}

TEST(MatchRouteTest, UnknownAndMalformed) {
  const std::pair<std::string, absl::StatusCode> cases[] = {
      {"/", absl::StatusCode::kNotFound},
      {"/apis/apps/v1", absl::StatusCode::kNotFound},
      {"/apis/external.metrics.k8s.io/v1beta2", absl::StatusCode::kNotFound},
      {"/apis/external.metrics.k8s.io/v1beta1/queue_depth", absl::StatusCode::kNotFound},
      {"/apis/custom.metrics.k8s.io/v1beta1/pods", absl::StatusCode::kNotFound},
      {"/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/rps",
       absl::StatusCode::kInvalidArgument},
      {"/apis/custom.metrics.k8s.io/v1beta1/a/b/c/d/e/f", absl::StatusCode::kInvalidArgument},
      {"/healthz/a/b", absl::StatusCode::kNotFound},
      {"/apis/metrics.k8s.io/v1beta2/pods", absl::StatusCode::kNotFound},
      {"/apis/metrics.k8s.io/v1beta1/namespaces/shop/nodes", absl::StatusCode::kNotFound},
      {"/apis/metrics.k8s.io/v1beta1/namespaces/shop", absl::StatusCode::kNotFound},
      {"/apis/metrics.k8s.io/v1beta1/pods/a/b", absl::StatusCode::kNotFound},
      {"/apis/metrics.k8s.io/v1beta1/pods/web-1", absl::StatusCode::kNotFound},
      {"/apis/metrics.k8s.io/v1beta1/services", absl::StatusCode::kNotFound},
  };
  for (const auto& [path, code] : cases) {
    EXPECT_EQ(MatchRoute(Segments(path)).status().code(), code) << path;
  }
}

}  // namespace
}  // namespace ma::handlers
