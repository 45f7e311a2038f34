#include "adapter/cli/rules_file.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "queries/base/strings.h"
#include "queries/config/rules_config.h"

namespace ma::cli {
namespace {

std::string Format(const std::string& path, const config::Problem& problem) {
  return Cat(path, ":", problem.pos.line, ":", problem.pos.column, ": ", problem.message);
}

}  // namespace

RulesFile LoadRulesFile(const std::string& path, const rules::CompileOptions& options) {
  RulesFile out;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    out.problems.push_back(Cat(path, ":0:0: unable to read the rules file"));
    return out;
  }
  // Read one byte past the limit so that an oversized file is reported, not truncated.
  std::string text(config::kMaxRulesFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (in.bad()) {
    out.problems.push_back(Cat(path, ":0:0: error while reading the rules file"));
    return out;
  }
  const auto parsed = config::ParseRulesConfig(text);
  for (const auto& problem : parsed.problems) {
    out.problems.push_back(Format(path, problem));
  }
  if (!out.problems.empty()) {
    return out;
  }
  auto compiled = rules::CompileRules(parsed.config, options);
  for (const auto& problem : compiled.problems) {
    out.problems.push_back(Format(path, problem));
  }
  out.rule_set = std::move(compiled.rule_set);
  return out;
}

}  // namespace ma::cli
