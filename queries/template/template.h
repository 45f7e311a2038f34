#pragma once

// Go text/template with `<<` `>>` delimiters, the subset real prometheus-adapter configs use:
// field access, pipelines, if/else/end, range, with, and the builtins index, len, printf, print,
// eq, ne, lt, le, gt, ge, and, or, not. Output is byte-identical to Go's for these, including
// Go's printing of slices ("[a b]") and maps ("map[k:v]").
//
// Templates are compiled once (at config load) against a closed set of field names, so a typo
// such as `<<.Serie>>` is a load error instead of a failure on every request.

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"

namespace ma::tmpl {

inline constexpr size_t kMaxTemplateBytes = size_t{64} * 1024;
// Rendering stops with an error past this many output bytes (a runaway range cannot eat memory).
inline constexpr size_t kMaxOutputBytes = size_t{1024} * 1024;
// Nesting limit for if/range/with and parentheses, so a hostile template cannot exhaust the stack
// of the recursive parser and executor.
inline constexpr int kMaxNestingDepth = 100;

// The values the adapter passes in: Go string, []string and map[string]string fields.
using Value =
    std::variant<std::string, std::vector<std::string>, std::map<std::string, std::string>>;

// The data a template runs against: a Go struct, field name -> value.
using Data = std::map<std::string, Value, std::less<>>;

// Immutable after Compile; Render may be called from many threads at once.
class Template {
 public:
  // Parses `text`. kInvalidArgument on a syntax error ("template: 3:14: unexpected \"}\" in
  // operand", position as line:column within the template), or when it names a field outside
  // `allowed_fields` ("template: 1:3: unknown field .Serie; known fields: .GroupBy, ...").
  static absl::StatusOr<Template> Compile(std::string_view text,
                                          const std::vector<std::string>& allowed_fields);

  // Executes against `data`, which must hold every allowed field. Errors only where Go's
  // execution errors too (index out of range, wrong argument types, output over the limit).
  absl::StatusOr<std::string> Render(const Data& data) const;

  // Whether the template refers to `.field` anywhere (e.g. "Resource").
  bool References(std::string_view field) const;

  const std::string& source() const;

 private:
  struct Compiled;
  std::shared_ptr<const Compiled> compiled_;
};

}  // namespace ma::tmpl
