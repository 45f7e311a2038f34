#pragma once

// String helpers shared by the domain core. Our APIs take std::string_view; on Debian 12
// absl::string_view is a distinct type, so ToAbsl bridges the two inside .cc files.

#include <string>
#include <string_view>

#include "absl/strings/string_view.h"

namespace ma {

inline absl::string_view ToAbsl(std::string_view s) { return {s.data(), s.size()}; }
inline std::string_view ToStd(absl::string_view s) { return {s.data(), s.size()}; }

// Quotes `s` exactly as Go's fmt "%q" / strconv.Quote does: double quotes, `"` and `\` escaped,
// \a \b \f \n \r \t \v as such, other control bytes and invalid UTF-8 bytes as \xNN, printable
// non-ASCII runes kept, non-printable runes as \uNNNN or \UNNNNNNNN.
std::string GoQuote(std::string_view s);

}  // namespace ma
