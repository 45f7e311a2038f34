#pragma once

// Go text/template's predefined functions (text/template/funcs.go) over runtime values.

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "queries/template/runtime_value.h"

namespace ma::tmpl {

// Whether `name` is a predefined function (and, or, call, html, index, slice, js, len, not,
// print, printf, println, urlquery, eq, ge, gt, le, lt, ne).
bool IsBuiltin(std::string_view name);

// Calls builtin `name` with evaluated arguments; and/or get all their arguments here (the
// executor short-circuits before calling). Errors carry Go's text without the "error calling
// <name>: " prefix, which the executor adds.
absl::StatusOr<RuntimeValue> CallBuiltin(std::string_view name, std::vector<RuntimeValue> args);

}  // namespace ma::tmpl
