#include "queries/rules/resource_mapping.h"

#include <gtest/gtest.h>

#include "queries/rules/rule.h"

namespace ma::rules {
namespace {

ResourceMapping Mapping(const std::vector<std::pair<std::string, std::string>>& overrides,
                        const std::string& label_template) {
  const auto mapper = model::BuiltinResourceMapper();
  std::vector<ResourceMapping::Override> resolved;
  for (const auto& [label, resource] : overrides) {
    auto info = mapper->Normalize("", resource);
    EXPECT_TRUE(info.ok());
    resolved.push_back({label, *info});
  }
  std::optional<tmpl::Template> compiled;
  if (!label_template.empty()) {
    auto t = tmpl::Template::Compile(label_template, ResourceTemplateFields());
    EXPECT_TRUE(t.ok()) << t.status();
    compiled = *t;
  }
  auto mapping = ResourceMapping::Create(std::move(resolved), std::move(compiled), mapper);
  EXPECT_TRUE(mapping.ok()) << mapping.status();
  return *std::move(mapping);
}

std::vector<std::string> Names(const SeriesResources& resources) {
  std::vector<std::string> out;
  for (const auto& r : resources.resources) {
    out.push_back(r.group_resource.String());
  }
  return out;
}

TEST(ResourceMappingTest, LabelForResource) {
  const auto overrides =
      Mapping({{"kubernetes_namespace", "namespace"}, {"kubernetes_pod_name", "pod"}}, "");
  EXPECT_EQ(*overrides.LabelForResource({"", "pods"}), "kubernetes_pod_name");
  EXPECT_EQ(*overrides.LabelForResource({"", "namespaces"}), "kubernetes_namespace");
  const auto missing = overrides.LabelForResource({"", "services"});
  EXPECT_EQ(missing.status().message(),
            "unable to convert resource services into label: no generic resource label form "
            "specified for this metric");

  const auto templated = Mapping({}, "kube_<<.Group>>_<<.Resource>>");
  EXPECT_EQ(*templated.LabelForResource({"apps", "deployments"}), "kube_apps_deployment");
  EXPECT_EQ(*templated.LabelForResource({"", "pods"}), "kube__pod");
  EXPECT_EQ(*templated.LabelForResource({"networking.k8s.io", "ingresses"}),
            "kube_networking_k8s_io_ingress");
  // Overrides win over the template.
  const auto both = Mapping({{"ns", "namespace"}}, "<<.Resource>>");
  EXPECT_EQ(*both.LabelForResource({"", "namespaces"}), "ns");
  EXPECT_EQ(*both.LabelForResource({"", "pods"}), "pod");
}

TEST(ResourceMappingTest, ResourcesForLabelsFollowsPrometheusAdapter) {
  const auto templated = Mapping({}, "<<.Resource>>");
  // `job` normalises to jobs.batch (prometheus-adapter issue #185); `instance` maps to nothing
  // and therefore makes the series namespaced.
  const auto r = templated.ResourcesForLabels(
      {{"pod", "a"}, {"namespace", "b"}, {"job", "c"}, {"instance", "d"}});
  EXPECT_EQ(Names(r), (std::vector<std::string>{"namespaces", "pods", "jobs.batch"}));
  EXPECT_TRUE(r.namespaced);
  const auto node_only = templated.ResourcesForLabels({{"node", "n1"}});
  EXPECT_EQ(Names(node_only), (std::vector<std::string>{"nodes"}));
  EXPECT_FALSE(node_only.namespaced);

  const auto overrides = Mapping({{"kube_node", "node"}}, "");
  const auto unmapped = overrides.ResourcesForLabels({{"kube_node", "n"}, {"zone", "z"}});
  EXPECT_EQ(Names(unmapped), (std::vector<std::string>{"nodes"}));
  EXPECT_TRUE(unmapped.namespaced);  // an unmapped label counts, as in prometheus-adapter
}

TEST(ResourceMappingTest, TemplateMustNameResource) {
  auto t = tmpl::Template::Compile("kube_<<.Group>>", ResourceTemplateFields());
  ASSERT_TRUE(t.ok());
  auto mapping = ResourceMapping::Create({}, *t, model::BuiltinResourceMapper());
  EXPECT_EQ(mapping.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ma::rules
