#pragma once

// One compiled discovery rule (an entry of `rules` or `externalRules`): its series query, filters,
// naming, resource mapping and metrics-query template, ready for the registry and the planner.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "queries/model/series.h"
#include "queries/rules/naming.h"
#include "queries/rules/resource_mapping.h"
#include "queries/template/template.h"

namespace re2 {
class RE2;
}

namespace ma::rules {

enum class RuleKind { kCustom, kExternal };

// The fields a metricsQuery template may use.
const std::vector<std::string>& MetricsQueryFields();
// The fields a resources.template may use.
const std::vector<std::string>& ResourceTemplateFields();

struct SeriesFilter {
  std::shared_ptr<const re2::RE2> regex;  // unanchored search, as Go's MatchString
  bool positive = true;                   // `is` (true) or `isNot` (false)
};

// Immutable; safe to share between threads.
class Rule {
 public:
  Rule(RuleKind kind, int index, std::string series_query, std::vector<SeriesFilter> filters,
       NameMatcher name, ResourceMapping resources, tmpl::Template metrics_query, bool namespaced);

  RuleKind kind() const { return kind_; }
  // Position in its section, for messages: "rules[3]", "externalRules[0]".
  int index() const { return index_; }
  std::string Describe() const;
  // The rule's identity in metric labels, stable when rules are reordered: its section and a
  // hash of what it discovers (seriesQuery, name.matches, name.as), "rules:3f2a9c1e". Editing
  // one of those makes it another rule; editing its metricsQuery, filters or resources does not.
  // Rules alike in all three get "-2", "-3", ... in file order (MakeIdsUnique).
  const std::string& id() const { return id_; }

  const std::string& series_query() const { return series_query_; }
  const ResourceMapping& resources() const { return resources_; }
  const tmpl::Template& metrics_query() const { return metrics_query_; }
  const NameMatcher& name() const { return name_; }
  // `resources.namespaced` of external rules (default true); custom rules ignore it.
  bool namespaced() const { return namespaced_; }

  // seriesFilters plus the implicit filter of name.matches, all of which must hold.
  bool AcceptsSeries(std::string_view series_name) const;
  absl::StatusOr<std::string> MetricName(std::string_view series_name) const {
    return name_.MetricName(series_name);
  }

 private:
  friend void MakeIdsUnique(std::vector<Rule>& rules);

  RuleKind kind_;
  int index_;
  std::string id_;
  std::string series_query_;
  std::vector<SeriesFilter> filters_;
  NameMatcher name_;
  ResourceMapping resources_;
  tmpl::Template metrics_query_;
  bool namespaced_;
};

// Suffixes the ids that repeat within `rules` (one section) with "-2", "-3", ... in order.
void MakeIdsUnique(std::vector<Rule>& rules);

}  // namespace ma::rules
