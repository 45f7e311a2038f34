#include "adapter/handlers/api_groups.h"

#include <string>

namespace ma::handlers {
namespace {

constexpr std::string_view kCustomVersions[] = {"v1beta2", "v1beta1"};
constexpr std::string_view kExternalVersions[] = {"v1beta1"};
constexpr std::string_view kResourceMetricsVersions[] = {"v1beta1"};

constexpr std::string_view kMetricValueList = "MetricValueList";
constexpr std::string_view kExternalMetricValueList = "ExternalMetricValueList";

std::vector<api::APIResource> FromEntries(const std::vector<registry::DiscoveryEntry>& entries,
                                          std::string_view kind) {
  std::vector<api::APIResource> resources;
  resources.reserve(entries.size());
  for (const auto& entry : entries) {
    resources.push_back({entry.name, "", entry.namespaced, std::string(kind), {"get"}});
  }
  return resources;
}

std::vector<api::APIResource> CustomResources(const rules::RuleSet* /*rules*/,
                                              const registry::MetricRegistry* registry) {
  return registry == nullptr ? std::vector<api::APIResource>()
                             : FromEntries(registry->CustomDiscovery(), kMetricValueList);
}

std::vector<api::APIResource> ExternalResources(const rules::RuleSet* /*rules*/,
                                                const registry::MetricRegistry* registry) {
  return registry == nullptr ? std::vector<api::APIResource>()
                             : FromEntries(registry->ExternalDiscovery(), kExternalMetricValueList);
}

// Nodes and pods, as metrics-server lists them, when the rules have resourceRules.
std::vector<api::APIResource> ResourceMetricsResources(
    const rules::RuleSet* rules, const registry::MetricRegistry* /*registry*/) {
  if (rules == nullptr || !rules->resource_rules().has_value()) {
    return {};
  }
  return {{"nodes", "", false, "NodeMetrics", {"get", "list"}},
          {"pods", "", true, "PodMetrics", {"get", "list"}}};
}

constexpr ApiGroupRow kGroups[] = {
    {kCustomGroup, kCustomVersions, CustomResources, "custommetrics", kMetricValueList},
    {kExternalGroup, kExternalVersions, ExternalResources, "externalmetrics",
     kExternalMetricValueList},
    {kResourceMetricsGroup, kResourceMetricsVersions, ResourceMetricsResources, "pods",
     "PodMetrics"},
};

}  // namespace

std::span<const ApiGroupRow> ApiGroups() { return kGroups; }

const ApiGroupRow* FindApiGroup(std::string_view name) {
  for (const ApiGroupRow& group : kGroups) {
    if (group.name == name) {
      return &group;
    }
  }
  return nullptr;
}

std::vector<api::APIResource> DiscoveryResources(const ApiGroupRow& group,
                                                 const rules::RuleSet* rules,
                                                 const registry::MetricRegistry* registry) {
  std::vector<api::APIResource> resources = group.resources(rules, registry);
  if (resources.empty()) {
    resources.push_back({std::string(group.placeholder_name),
                         "",
                         true,
                         std::string(group.placeholder_kind),
                         {"get"}});
  }
  return resources;
}

}  // namespace ma::handlers
