#pragma once

// Builds the parse tree from tokens, following text/template/parse/parse.go, and checks field
// names against the closed set the caller allows.

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "queries/template/lexer.h"
#include "queries/template/parse_tree.h"

namespace ma::tmpl {

struct ParsedTemplate {
  std::vector<Node> root;
  // Names X of every `.X` and `$.X` in the template, whatever dot is at that point.
  std::set<std::string, std::less<>> referenced_fields;
};

// Parses `tokens` (from Lex over `source`). kInvalidArgument ("template: 2:7: unexpected EOF")
// on a syntax error, an unknown function, an undefined variable, a control structure or
// parenthesis nested deeper than `max_depth`, or a root field outside `allowed_fields`.
absl::StatusOr<ParsedTemplate> Parse(std::string_view source, const std::vector<Token>& tokens,
                                     const std::vector<std::string>& allowed_fields, int max_depth);

}  // namespace ma::tmpl
