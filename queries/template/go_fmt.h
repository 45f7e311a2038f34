#pragma once

// Go's fmt printing of runtime values: %v as an action prints it, Sprint/Sprintln as print and
// println do, and Sprintf with the verbs templates use (v s q d t x X o b c U e f g, flags,
// width and precision), including Go's "%!d(string=x)" style for mismatches.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "queries/template/runtime_value.h"

namespace ma::tmpl {

// fmt.Sprint(v): "[a b]" for []string, "map[k:v]" sorted by key, "<nil>" for nil.
std::string FormatValue(const RuntimeValue& value);

// fmt.Sprint / fmt.Sprintln / fmt.Sprintf. kResourceExhausted when the result would exceed
// `max_bytes` (widths make a short format string expand).
absl::StatusOr<std::string> Sprint(const std::vector<RuntimeValue>& args, size_t max_bytes);
absl::StatusOr<std::string> Sprintln(const std::vector<RuntimeValue>& args, size_t max_bytes);
absl::StatusOr<std::string> Sprintf(std::string_view format, const std::vector<RuntimeValue>& args,
                                    size_t max_bytes);

}  // namespace ma::tmpl
