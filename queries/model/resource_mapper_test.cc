#include "queries/model/resource_mapper.h"

#include <gtest/gtest.h>

namespace ma::model {
namespace {

TEST(BuiltinResourceMapperTest, NormalizesPluralSingularAndGroup) {
  const auto mapper = BuiltinResourceMapper();
  struct Case {
    std::string group, resource, want;
  };
  const Case cases[] = {
      {"", "pods", "pods"},
      {"", "pod", "pods"},
      {"", "deployment", "deployments.apps"},
      {"apps", "deployments", "deployments.apps"},
      {"", "job", "jobs.batch"},
      {"networking.k8s.io", "ingresses", "ingresses.networking.k8s.io"},
      {"", "endpoints", "endpoints"},
  };
  for (const auto& c : cases) {
    auto info = mapper->Normalize(c.group, c.resource);
    ASSERT_TRUE(info.ok()) << c.resource << ": " << info.status();
    EXPECT_EQ(info->group_resource.String(), c.want);
  }
}

TEST(BuiltinResourceMapperTest, ScopeKindAndApiVersion) {
  const auto mapper = BuiltinResourceMapper();
  auto ns = mapper->Normalize("", "namespaces");
  ASSERT_TRUE(ns.ok());
  EXPECT_FALSE(ns->namespaced);
  EXPECT_EQ(ns->kind, "Namespace");
  EXPECT_EQ(ns->ApiVersion(), "v1");
  auto deploy = mapper->Normalize("apps", "deployment");
  ASSERT_TRUE(deploy.ok());
  EXPECT_TRUE(deploy->namespaced);
  EXPECT_EQ(deploy->ApiVersion(), "apps/v1");
}

TEST(BuiltinResourceMapperTest, UnknownIsNotFound) {
  const auto mapper = BuiltinResourceMapper();
  EXPECT_EQ(mapper->Normalize("", "widgets").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(mapper->Normalize("batch", "pods").status().code(), absl::StatusCode::kNotFound);
}

TEST(GroupResourceTest, ParseSplitsAtFirstDot) {
  EXPECT_EQ(GroupResource::Parse("pods"), (GroupResource{"", "pods"}));
  EXPECT_EQ(GroupResource::Parse("ingresses.networking.k8s.io"),
            (GroupResource{"networking.k8s.io", "ingresses"}));
  EXPECT_EQ((GroupResource{"apps", "deployments"}).String(), "deployments.apps");
}

}  // namespace
}  // namespace ma::model
