#pragma once

// One-line klog-style logging to stderr ("E1122 03:25:46.123456 4242 server.cc:123] message").
// A stopgap until the project has a shared logger; the call sites will not need to change.

#include <source_location>
#include <string_view>

namespace ma::server {

void LogError(std::string_view message,
              std::source_location location = std::source_location::current());
void LogWarning(std::string_view message,
                std::source_location location = std::source_location::current());

}  // namespace ma::server
