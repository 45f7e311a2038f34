#pragma once

// Which API metrics exist and which Prometheus series and rule serve each (prometheus-adapter's
// series registry), built from the series that the discovery relist found. A registry is an
// immutable snapshot: the relister builds a new one and swaps it in while requests keep reading
// the one they took.

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "queries/model/group_resource.h"
#include "queries/model/resource_mapper.h"
#include "queries/model/series.h"
#include "queries/rules/rule_set.h"

namespace ma::registry {

struct CustomMetricKey {
  model::GroupResource group_resource;
  bool namespaced = true;
  std::string metric;

  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads the defaulted <=>.
  friend auto operator<=>(const CustomMetricKey&, const CustomMetricKey&) = default;
  friend bool operator==(const CustomMetricKey&, const CustomMetricKey&) = default;
};

struct CustomMetricEntry {
  std::string series_name;
  const rules::Rule* rule = nullptr;  // owned by the registry's rule set
  model::ResourceInfo resource;
};

struct ExternalMetricEntry {
  std::string series_name;
  const rules::Rule* rule = nullptr;
};

// One APIResource of a discovery document.
struct DiscoveryEntry {
  std::string name;  // "pods/http_requests" or, external, "queue_depth"
  bool namespaced = true;
};

// Series listed per seriesQuery (the key is the query text).
using SeriesByQuery = std::map<std::string, std::vector<model::Series>, std::less<>>;

// Immutable; safe to share between threads.
class MetricRegistry {
 public:
  // Applies every rule to the series of its query: filters, naming, resource association. A query
  // missing from `series` contributes nothing. Later rules overwrite earlier ones for the same key,
  // as in prometheus-adapter.
  static std::shared_ptr<const MetricRegistry> Build(std::shared_ptr<const rules::RuleSet> rules,
                                                     const SeriesByQuery& series);

  const CustomMetricEntry* FindCustom(const CustomMetricKey& key) const;
  const ExternalMetricEntry* FindExternal(std::string_view metric) const;

  // Discovery entries sorted by name (never empty lists are the discovery handler's business).
  std::vector<DiscoveryEntry> CustomDiscovery() const;
  std::vector<DiscoveryEntry> ExternalDiscovery() const;

  size_t custom_size() const { return custom_.size(); }
  size_t external_size() const { return external_.size(); }
  const std::shared_ptr<const rules::RuleSet>& rule_set() const { return rules_; }

 private:
  std::shared_ptr<const rules::RuleSet> rules_;
  std::map<CustomMetricKey, CustomMetricEntry> custom_;
  std::map<std::string, ExternalMetricEntry, std::less<>> external_;
};

}  // namespace ma::registry
