#pragma once

// Reads and compiles a rules file, with every problem formatted as `FILE:LINE:COLUMN: message`.
// Used by `check`, `explain` and `serve` (at start and on reload).

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "queries/rules/rule_set.h"

namespace ma::cli {

struct RulesFile {
  std::shared_ptr<const rules::RuleSet> rule_set;  // null when there are problems
  std::vector<std::string> problems;
};

RulesFile LoadRulesFile(const std::string& path, const rules::CompileOptions& options);

}  // namespace ma::cli
