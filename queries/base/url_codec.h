#pragma once

// Percent-encoding exactly as Go's net/url does it, so that what we send and what we accept
// matches a Go client and a Go server byte for byte.

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace ma {

// Go's url.QueryEscape: letters, digits and "-_.~" kept, ' ' as '+', every other byte as %XX
// (upper-case hex). For one key or value of a query string.
std::string QueryEscape(std::string_view text);

// Go's url.PathEscape: as QueryEscape, but ' ' is %20 and "$&+:=@" are kept. For one path
// segment, so '/' is escaped.
std::string PathEscape(std::string_view text);

// Go's url.PathUnescape: each %XX decoded, '+' kept ("%2A" -> "*"). A malformed escape ("%zz",
// a trailing "%") is kInvalidArgument.
absl::StatusOr<std::string> PercentDecode(std::string_view encoded);

// Go's url.QueryUnescape, as an HTML form decodes a query key or value: '+' is ' ', then as
// PercentDecode.
absl::StatusOr<std::string> FormDecode(std::string_view encoded);

}  // namespace ma
