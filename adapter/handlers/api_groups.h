#pragma once

// The API groups the adapter can serve, one row each: routing, the three discovery levels and
// their tests all read this table, so serving a new group starts with one row here.
//
// Every group in the table answers discovery with 200 whatever the rules say: the rules can
// change at run time, and an APIService whose discovery answers 404 turns Available=False,
// which breaks kubectl discovery and namespace deletion cluster-wide. A group the rules give
// nothing lists one placeholder resource, because client-go reports an empty resource list as
// an error on every discovery.

#include <span>
#include <string_view>
#include <vector>

#include "adapter/api/types.h"
#include "queries/registry/metric_registry.h"
#include "queries/rules/rule_set.h"

namespace ma::handlers {

inline constexpr std::string_view kCustomGroup = "custom.metrics.k8s.io";
inline constexpr std::string_view kExternalGroup = "external.metrics.k8s.io";
inline constexpr std::string_view kResourceMetricsGroup = "metrics.k8s.io";

struct ApiGroupRow {
  std::string_view name;
  std::span<const std::string_view> versions;  // preferred first
  // The resources of the group's APIResourceList for the current rules and registry (either may
  // be null before the first load or relist); empty when they give the group nothing.
  std::vector<api::APIResource> (*resources)(const rules::RuleSet* rules,
                                             const registry::MetricRegistry* registry);
  // Listed alone when `resources` is empty.
  std::string_view placeholder_name;
  std::string_view placeholder_kind;
};

std::span<const ApiGroupRow> ApiGroups();

// The row of `name`, or nullptr for a group the adapter does not serve.
const ApiGroupRow* FindApiGroup(std::string_view name);

// What GET /apis/<group>/<version> lists: the row's resources, or its placeholder.
std::vector<api::APIResource> DiscoveryResources(const ApiGroupRow& group,
                                                 const rules::RuleSet* rules,
                                                 const registry::MetricRegistry* registry);

}  // namespace ma::handlers
