#pragma once

// The compiled rules file: every regex compiled, every template parsed against its allowed fields,
// every override normalised. Immutable once built and published as shared_ptr<const RuleSet>, so
// the server can swap in a reloaded one while requests still read the old one.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "queries/config/rules_config.h"
#include "queries/model/resource_mapper.h"
#include "queries/rules/resource_mapping.h"
#include "queries/rules/rule.h"
#include "queries/template/template.h"

namespace ma::rules {

struct ResourceRule {
  tmpl::Template container_query;
  tmpl::Template node_query;
  ResourceMapping resources;
  std::string container_label;
};

struct ResourceRules {
  ResourceRule cpu;
  ResourceRule memory;
  std::chrono::milliseconds window{0};
};

// Immutable; safe to share between threads.
class RuleSet {
 public:
  RuleSet(std::vector<Rule> custom, std::vector<Rule> external,
          std::optional<ResourceRules> resource_rules);

  const std::vector<Rule>& custom_rules() const { return custom_; }
  const std::vector<Rule>& external_rules() const { return external_; }
  const std::optional<ResourceRules>& resource_rules() const { return resource_rules_; }

  // Every distinct seriesQuery of both sections, in first-seen order: one /api/v1/series call each.
  const std::vector<std::string>& series_queries() const { return series_queries_; }

 private:
  std::vector<Rule> custom_;
  std::vector<Rule> external_;
  std::optional<ResourceRules> resource_rules_;
  std::vector<std::string> series_queries_;
};

struct CompileOptions {
  std::shared_ptr<const model::ResourceMapper> mapper;
  // With no Kubernetes API to ask (standalone, `check`, `explain`) an override naming a resource
  // the mapper does not know is taken as written (a CRD, say) instead of being an error.
  bool allow_unknown_resources = false;
};

struct CompileResult {
  std::shared_ptr<const RuleSet> rule_set;  // null when there are problems
  std::vector<config::Problem> problems;    // sorted by position
};

// Compiles a parsed rules file, reporting every problem with its position.
CompileResult CompileRules(const config::RulesConfig& config, const CompileOptions& options);

}  // namespace ma::rules
