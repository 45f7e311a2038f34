#pragma once

// Executes a parse tree against data, following text/template/exec.go.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "queries/template/parse_tree.h"
#include "queries/template/template.h"

namespace ma::tmpl {

// Evaluation steps one Render may take (commands, range iterations, and output volume):
// nested ranges over the data could otherwise run for an exponential time with little output.
inline constexpr int64_t kMaxExecSteps = int64_t{1} << 20;

// Renders `root` (parsed from `source`, used for error positions) with dot = `data`, a struct
// whose fields, in Go declaration order, are `root_fields`.
absl::StatusOr<std::string> Execute(std::string_view source, const std::vector<Node>& root,
                                    const std::vector<std::string>& root_fields, const Data& data);

}  // namespace ma::tmpl
