#include "queries/registry/metric_registry.h"

#include <gtest/gtest.h>

#include "queries/config/rules_config.h"
#include "test/testing/config_gen_rules.h"

namespace ma::registry {
namespace {

std::shared_ptr<const rules::RuleSet> Compile(std::string_view yaml) {
  const auto parsed = config::ParseRulesConfig(yaml);
  EXPECT_TRUE(parsed.problems.empty());
  auto compiled = rules::CompileRules(parsed.config, {.mapper = model::BuiltinResourceMapper()});
  EXPECT_TRUE(compiled.problems.empty()) << compiled.problems.front().message;
  return compiled.rule_set;
}

model::Series S(std::string name, model::LabelSet labels) {
  return {std::move(name), std::move(labels)};
}

std::vector<std::pair<std::string, bool>> Entries(const std::vector<DiscoveryEntry>& entries) {
  std::vector<std::pair<std::string, bool>> out;
  out.reserve(entries.size());
  for (const auto& e : entries) {
    out.emplace_back(e.name, e.namespaced);
  }
  return out;
}

// prometheus-adapter's series_registry_test "should list all metrics", with the API groups of
// today's Kubernetes (ingresses in networking.k8s.io, deployments in apps).
TEST(MetricRegistryTest, ListsWhatPrometheusAdapterLists) {
  SeriesByQuery series;
  const model::LabelSet container{{"pod", "p"}, {"namespace", "n"}, {"container", "c"}};
  series[R"({__name__=~"^container_.*",container!="POD",namespace!="",pod!=""})"] = {
      S("container_some_time_seconds_total", container), S("container_some_count_total", container),
      S("container_some_usage", container)};
  series[R"({kube_namespace!="",__name__!~"^container_.*"})"] = {
      S("node_gigawatts", {{"kube_node", "n"}}),
      S("service_proxy_packets", {{"kube_service", "s"}, {"kube_namespace", "n"}}),
      S("ingress_hits_total",
        {{"kube_ingress", "i"}, {"kube_service", "s"}, {"kube_pod", "p"}, {"kube_namespace", "n"}}),
      S("volume_claims_total", {{"kube_persistentvolume", "v"}}),
      S("work_queue_wait_seconds_total", {{"kube_deployment", "d"}, {"kube_namespace", "n"}}),
      S("node_fan_seconds_total", {{"kube_node", "n"}})};
  const auto registry = MetricRegistry::Build(Compile(testing::kConfigGenRulesYaml), series);
  const std::vector<std::pair<std::string, bool>> want = {
      {"deployments.apps/work_queue_wait", true},
      {"ingresses.networking.k8s.io/ingress_hits", true},
      {"namespaces/ingress_hits", false},
      {"namespaces/service_proxy_packets", false},
      {"namespaces/some_count", false},
      {"namespaces/some_time", false},
      {"namespaces/some_usage", false},
      {"namespaces/work_queue_wait", false},
      {"nodes/node_fan", false},
      {"nodes/node_gigawatts", false},
      {"persistentvolumes/volume_claims", false},
      {"pods/ingress_hits", true},
      {"pods/some_count", true},
      {"pods/some_time", true},
      {"pods/some_usage", true},
      {"services/ingress_hits", true},
      {"services/service_proxy_packets", true},
  };
  EXPECT_EQ(Entries(registry->CustomDiscovery()), want);
  const auto* entry = registry->FindCustom({{"", "pods"}, true, "some_time"});
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->series_name, "container_some_time_seconds_total");
  EXPECT_EQ(entry->rule->index(), 0);
  EXPECT_EQ(registry->FindCustom({{"", "pods"}, false, "some_time"}), nullptr);
  EXPECT_TRUE(registry->ExternalDiscovery().empty());
}

TEST(MetricRegistryTest, MissingQueryContributesNothingAndExternalLastWriterWins) {
  const auto rules = Compile(R"yaml(externalRules:
- seriesQuery: '{__name__="a_total"}'
  resources: {namespaced: false}
  name: {matches: "^(.*)_total$", as: "shared"}
  metricsQuery: first
- seriesQuery: '{__name__="b_total"}'
  resources: {namespaced: false}
  name: {matches: "^(.*)_total$", as: "shared"}
  metricsQuery: second
- seriesQuery: '{__name__="c"}'
  resources: {namespaced: false}
  metricsQuery: third
)yaml");
  SeriesByQuery series;
  series[R"({__name__="a_total"})"] = {S("a_total", {})};
  series[R"({__name__="b_total"})"] = {S("b_total", {})};
  const auto registry = MetricRegistry::Build(rules, series);
  EXPECT_EQ(Entries(registry->ExternalDiscovery()),
            (std::vector<std::pair<std::string, bool>>{{"shared", true}}));
  const auto* entry = registry->FindExternal("shared");
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->series_name, "b_total");
  EXPECT_EQ(entry->rule->index(), 1);
  EXPECT_EQ(registry->FindExternal("c"), nullptr);
}

}  // namespace
}  // namespace ma::registry
