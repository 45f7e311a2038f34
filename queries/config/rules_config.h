#pragma once

// The rules file as written: plain structs mirroring prometheus-adapter's YAML schema
// (docs/config.md), each field with its source position so that later semantic checks
// (queries/rules) can point at the offending line and column.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ma::config {

// 1-based line and column in the YAML text; 0 when unknown.
struct SourcePos {
  int line = 0;
  int column = 0;
};

// One problem found in a rules file. `message` names the rule ("rules[2].seriesFilters[0]") and
// the offending value.
struct Problem {
  SourcePos pos;
  std::string message;
};

template <typename T>
struct Located {
  T value{};
  SourcePos pos;
};

// Optional string fields below: absent, null and "" are all std::nullopt, because
// prometheus-adapter's Go structs cannot tell them apart (the zero value means "unset").

struct SeriesFilterConfig {
  std::optional<Located<std::string>> is;
  std::optional<Located<std::string>> is_not;
  SourcePos pos;
};

struct GroupResourceConfig {
  std::string group;
  std::string resource;
  SourcePos pos;  // of the value (the {group, resource} map), where a bad resource is written
};

struct ResourceMappingConfig {
  // label -> group-resource, in file order.
  std::vector<std::pair<std::string, GroupResourceConfig>> overrides;
  std::optional<Located<std::string>> template_text;
  std::optional<Located<bool>> namespaced;  // YAML 1.1 booleans: true/false/yes/no/on/off/y/n
  SourcePos pos;
};

struct NameMappingConfig {
  std::optional<Located<std::string>> matches;
  std::optional<Located<std::string>> as;
  SourcePos pos;
};

// One entry of `rules` or `externalRules`.
struct DiscoveryRuleConfig {
  Located<std::string> series_query;
  std::vector<SeriesFilterConfig> series_filters;
  ResourceMappingConfig resources;
  NameMappingConfig name;
  Located<std::string> metrics_query;
  SourcePos pos;
  // A problem was reported inside this rule (an unknown key, a value of the wrong type, left empty
  // here): semantic checks skip the rule, which would otherwise add a misleading "missing ..." to
  // the one real mistake. The other rules are still checked.
  bool malformed = false;
};

struct ResourceRuleConfig {
  Located<std::string> container_query;
  Located<std::string> node_query;
  ResourceMappingConfig resources;
  Located<std::string> container_label;
  SourcePos pos;
  bool malformed = false;  // as DiscoveryRuleConfig::malformed
};

struct ResourceRulesConfig {
  ResourceRuleConfig cpu;
  ResourceRuleConfig memory;
  Located<std::string> window;
  SourcePos pos;
};

struct RulesConfig {
  std::vector<DiscoveryRuleConfig> rules;
  std::vector<DiscoveryRuleConfig> external_rules;
  std::optional<ResourceRulesConfig> resource_rules;  // absent or null: metrics.k8s.io off
};

inline constexpr size_t kMaxRulesFileBytes = size_t{4} * 1024 * 1024;
// The schema nests at most six levels deep; anything far deeper is hostile or a mistake.
inline constexpr int kMaxRulesNestingDepth = 64;
// Aliases let a small file describe a huge tree ("billion laughs"): bound the tree as if every
// alias were written out in full.
inline constexpr size_t kMaxRulesExpandedNodes = 1 << 20;
inline constexpr size_t kMaxRulesExpandedScalarBytes = 4 * kMaxRulesFileBytes;

struct ParseResult {
  RulesConfig config;
  std::vector<Problem> problems;  // empty when the file is well-formed; sorted by position
};

// Parses a rules file strictly, as yaml.v2 UnmarshalStrict does: YAML syntax errors, unknown keys,
// duplicate keys and wrong types are problems. Reports every problem it can find, not just the
// first, and still returns everything it could decode, so that the semantic checks of
// queries/rules can report the problems of the other rules too. Does not check regexes, templates
// or durations: queries/rules does that.
ParseResult ParseRulesConfig(std::string_view yaml_text);

}  // namespace ma::config
