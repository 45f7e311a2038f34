#include "adapter/cli/check_command.h"

#include "adapter/cli/rules_file.h"
#include "queries/model/resource_mapper.h"

namespace ma::cli {

int RunCheck(const std::string& config_path, std::ostream& out, std::ostream& err) {
  if (config_path.empty()) {
    err << "check: no rules file given (use --config=FILE)\n";
    return 1;
  }
  const auto file = LoadRulesFile(
      config_path, {.mapper = model::BuiltinResourceMapper(), .allow_unknown_resources = true});
  if (!file.problems.empty()) {
    for (const auto& problem : file.problems) {
      err << problem << "\n";
    }
    return 1;
  }
  const auto& rules = *file.rule_set;
  out << config_path << ": OK: " << rules.custom_rules().size() << " custom rules, "
      << rules.external_rules().size() << " external rules, "
      << (rules.resource_rules().has_value() ? "resource rules" : "no resource rules") << ", "
      << rules.series_queries().size() << " distinct series queries\n";
  return 0;
}

}  // namespace ma::cli
