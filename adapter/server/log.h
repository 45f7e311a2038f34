#pragma once

// Error and info lines of the server, through the adapter's logger (adapter/telemetry/log.h),
// with the caller's file and line.

#include <string_view>

namespace ma::server {

// __builtin_FILE/__builtin_LINE rather than std::source_location: clang 14 (clang-tidy, fuzz
// builds) cannot compile libstdc++ 12's <source_location>.
void LogError(std::string_view message, const char* file = __builtin_FILE(),
              int line = __builtin_LINE());
void LogInfo(std::string_view message, const char* file = __builtin_FILE(),
             int line = __builtin_LINE());

}  // namespace ma::server
