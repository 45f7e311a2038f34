#include "queries/registry/metric_registry.h"

#include <algorithm>

namespace ma::registry {
namespace {

// Calls fn(series, metric_name) for each series of the rule's query that its filters accept and its
// naming can name.
template <typename Fn>
void ForEachNamedSeries(const rules::Rule& rule, const SeriesByQuery& series, Fn fn) {
  const auto listed = series.find(rule.series_query());
  if (listed == series.end()) {
    return;
  }
  for (const auto& s : listed->second) {
    if (!rule.AcceptsSeries(s.name)) {
      continue;
    }
    if (auto metric = rule.MetricName(s.name); metric.ok()) {
      fn(s, *std::move(metric));
    }
  }
}

}  // namespace

std::shared_ptr<const MetricRegistry> MetricRegistry::Build(
    std::shared_ptr<const rules::RuleSet> rules, const SeriesByQuery& series) {
  auto registry = std::make_shared<MetricRegistry>();
  for (const auto& rule : rules->custom_rules()) {
    ForEachNamedSeries(rule, series, [&](const model::Series& s, std::string metric) {
      const auto resources = rule.resources().ResourcesForLabels(s.labels);
      for (const auto& resource : resources.resources) {
        CustomMetricKey key{
            resource.group_resource,
            resources.namespaced && !model::IsAlwaysRootScoped(resource.group_resource), metric};
        registry->custom_[std::move(key)] = CustomMetricEntry{s.name, &rule, resource};
      }
    });
  }
  for (const auto& rule : rules->external_rules()) {
    ForEachNamedSeries(rule, series, [&](const model::Series& s, std::string metric) {
      registry->external_[std::move(metric)] = ExternalMetricEntry{s.name, &rule};
    });
  }
  registry->rules_ = std::move(rules);
  return registry;
}

const CustomMetricEntry* MetricRegistry::FindCustom(const CustomMetricKey& key) const {
  const auto it = custom_.find(key);
  return it == custom_.end() ? nullptr : &it->second;
}

const ExternalMetricEntry* MetricRegistry::FindExternal(std::string_view metric) const {
  const auto it = external_.find(metric);
  return it == external_.end() ? nullptr : &it->second;
}

std::vector<DiscoveryEntry> MetricRegistry::CustomDiscovery() const {
  std::vector<DiscoveryEntry> out;
  out.reserve(custom_.size());
  for (const auto& [key, entry] : custom_) {
    out.push_back({key.group_resource.String() + "/" + key.metric, key.namespaced});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::tie(a.name, a.namespaced) < std::tie(b.name, b.namespaced);
  });
  return out;
}

std::vector<DiscoveryEntry> MetricRegistry::ExternalDiscovery() const {
  std::vector<DiscoveryEntry> out;
  out.reserve(external_.size());
  for (const auto& [metric, entry] : external_) {
    out.push_back({metric, true});
  }
  return out;
}

}  // namespace ma::registry
