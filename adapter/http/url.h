#pragma once

// Splits an HTTP request target into the decoded pieces handlers route on. Pure: no I/O, no Beast.

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "adapter/http/message.h"

namespace ma::http {

// Longest request target we parse; longer targets are rejected before any decoding work.
inline constexpr std::size_t kMaxTargetBytes = std::size_t{16} * 1024;
// Our deepest URL (/apis/<g>/<v>/namespaces/<ns>/<resource>/<name>/<metric>) has 9 segments.
inline constexpr std::size_t kMaxPathSegments = 32;
inline constexpr std::size_t kMaxQueryParameters = 64;

// Builds a Request from the request line: fills method, target, path, path_segments (split on
// "/" first, then decoded, so a decoded "/" stays inside its segment; empty segments dropped) and
// query (in order of appearance; "a" alone is {"a", ""}). The target must be in origin form
// ("/..."), at most kMaxTargetBytes long.
absl::StatusOr<Request> ParseRequestTarget(std::string_view method, std::string_view target);

}  // namespace ma::http
