#include "adapter/auth/request_attributes.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace ma::auth {
namespace {

http::Request Get(const std::string& path,
                  std::vector<std::pair<std::string, std::string>> query = {}) {
  http::Request request;
  request.method = "GET";
  request.path = path;
  for (absl::string_view segment : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    request.path_segments.emplace_back(segment);
  }
  request.query = std::move(query);
  return request;
}

RequestAttributes Resource(std::string group, std::string version, std::string ns,
                           std::string resource, std::string name, std::string subresource,
                           std::string verb, std::string path) {
  RequestAttributes a;
  a.resource_request = true;
  a.api_group = std::move(group);
  a.api_version = std::move(version);
  a.namespace_name = std::move(ns);
  a.resource = std::move(resource);
  a.name = std::move(name);
  a.subresource = std::move(subresource);
  a.verb = std::move(verb);
  a.path = std::move(path);
  return a;
}

RequestAttributes NonResource(std::string path) {
  RequestAttributes a;
  a.verb = "get";
  a.path = std::move(path);
  return a;
}

// The rows of the attribute table in docs/security.md, plus the non-resource shapes.
TEST(RequestAttributesTest, ClassifiesAsTheGoRequestInfoFactory) {
  const std::string cm = "/apis/custom.metrics.k8s.io/v1beta2/";
  const std::string em = "/apis/external.metrics.k8s.io/v1beta1/";
  struct Case {
    http::Request request;
    RequestAttributes want;
  };
  const Case cases[] = {
      {Get(cm + "namespaces/default/pods/*/http_requests"),
       Resource("custom.metrics.k8s.io", "v1beta2", "default", "pods", "*", "http_requests", "get",
                cm + "namespaces/default/pods/*/http_requests")},
      {Get(cm + "namespaces/default/deployments.apps/web/rps"),
       Resource("custom.metrics.k8s.io", "v1beta2", "default", "deployments.apps", "web", "rps",
                "get", cm + "namespaces/default/deployments.apps/web/rps")},
      {Get(cm + "nodes/*/cpu_temp"), Resource("custom.metrics.k8s.io", "v1beta2", "", "nodes", "*",
                                              "cpu_temp", "get", cm + "nodes/*/cpu_temp")},
      {Get(cm + "namespaces/default/metrics/queue_len"),
       Resource("custom.metrics.k8s.io", "v1beta2", "default", "metrics", "queue_len", "", "get",
                cm + "namespaces/default/metrics/queue_len")},
      {Get(em + "namespaces/default/queue_depth", {{"labelSelector", "a=b"}}),
       Resource("external.metrics.k8s.io", "v1beta1", "default", "queue_depth", "", "", "list",
                em + "namespaces/default/queue_depth")},
      {Get(em + "namespaces/default/queue_depth", {{"watch", "true"}}),
       Resource("external.metrics.k8s.io", "v1beta1", "default", "queue_depth", "", "", "watch",
                em + "namespaces/default/queue_depth")},
      {Get("/apis/metrics.k8s.io/v1beta1/nodes/n1"),
       Resource("metrics.k8s.io", "v1beta1", "", "nodes", "n1", "", "get",
                "/apis/metrics.k8s.io/v1beta1/nodes/n1")},
      {Get("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods"),
       Resource("metrics.k8s.io", "v1beta1", "default", "pods", "", "", "list",
                "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods")},
      {Get("/api/v1/namespaces/kube-system"),
       Resource("", "v1", "kube-system", "namespaces", "kube-system", "", "get",
                "/api/v1/namespaces/kube-system")},
      {Get("/api/v1/namespaces/kube-system/status"),
       Resource("", "v1", "kube-system", "namespaces", "kube-system", "status", "get",
                "/api/v1/namespaces/kube-system/status")},
      {Get("/apis/custom.metrics.k8s.io/v1beta1"),
       NonResource("/apis/custom.metrics.k8s.io/v1beta1")},
      {Get("/apis/custom.metrics.k8s.io"), NonResource("/apis/custom.metrics.k8s.io")},
      {Get("/apis"), NonResource("/apis")},
      {Get("/healthz"), NonResource("/healthz")},
      {Get("/openapi/v2"), NonResource("/openapi/v2")},
  };
  for (const Case& c : cases) {
    const RequestAttributes got = AttributesOf(c.request);
    EXPECT_EQ(got.resource_request, c.want.resource_request) << c.request.path;
    EXPECT_EQ(got.verb, c.want.verb) << c.request.path;
    EXPECT_EQ(got.api_group, c.want.api_group) << c.request.path;
    EXPECT_EQ(got.api_version, c.want.api_version) << c.request.path;
    EXPECT_EQ(got.namespace_name, c.want.namespace_name) << c.request.path;
    EXPECT_EQ(got.resource, c.want.resource) << c.request.path;
    EXPECT_EQ(got.name, c.want.name) << c.request.path;
    EXPECT_EQ(got.subresource, c.want.subresource) << c.request.path;
    EXPECT_EQ(got.path, c.want.path) << c.request.path;
  }
}

TEST(RequestAttributesTest, NonResourceVerbIsTheLowercaseMethod) {
  http::Request request = Get("/version");
  request.method = "POST";
  EXPECT_EQ(AttributesOf(request).verb, "post");
  request = Get("/apis/custom.metrics.k8s.io/v1beta1/nodes/n1/m");
  request.method = "DELETE";
  EXPECT_EQ(AttributesOf(request).verb, "delete");
}

TEST(RequestAttributesTest, VerbsInThePathAndDeleteCollection) {
  const RequestAttributes watch = AttributesOf(Get("/api/v1/watch/namespaces/default/pods"));
  EXPECT_TRUE(watch.resource_request);
  EXPECT_EQ(watch.verb, "watch");
  EXPECT_EQ(watch.namespace_name, "default");
  EXPECT_EQ(watch.resource, "pods");

  const RequestAttributes proxy =
      AttributesOf(Get("/api/v1/proxy/namespaces/default/pods/web-1/extra/path"));
  EXPECT_EQ(proxy.verb, "proxy");
  EXPECT_EQ(proxy.resource, "pods");
  EXPECT_EQ(proxy.name, "web-1");
  EXPECT_EQ(proxy.subresource, "");

  http::Request collection = Get("/api/v1/namespaces/default/pods");
  collection.method = "DELETE";
  EXPECT_EQ(AttributesOf(collection).verb, "deletecollection");
  collection.method = "OPTIONS";
  EXPECT_EQ(AttributesOf(collection).verb, "options");
}

}  // namespace
}  // namespace ma::auth
