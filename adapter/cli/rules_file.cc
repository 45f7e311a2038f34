#include "adapter/cli/rules_file.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <tuple>

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
    // The reason as the C library words it ("No such file or directory"); there is no line or
    // column to point at.
    const int error = errno;
    out.problems.push_back(
        Cat(path, ": cannot read the rules file: ", std::strerror(error != 0 ? error : EIO)));
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
  // The semantic checks run even when the parser found problems, on everything it could decode,
  // so that one mistake does not hide the others.
  const auto parsed = config::ParseRulesConfig(text);
  auto compiled = rules::CompileRules(parsed.config, options);
  std::vector<config::Problem> problems = parsed.problems;
  problems.insert(problems.end(), compiled.problems.begin(), compiled.problems.end());
  std::stable_sort(problems.begin(), problems.end(), [](const auto& a, const auto& b) {
    return std::tie(a.pos.line, a.pos.column) < std::tie(b.pos.line, b.pos.column);
  });
  for (const auto& problem : problems) {
    out.problems.push_back(Format(path, problem));
  }
  if (out.problems.empty()) {
    out.rule_set = std::move(compiled.rule_set);
  }
  return out;
}

}  // namespace ma::cli
