#pragma once

// String helpers shared by the domain core. Our APIs take std::string_view; on Debian 12
// absl::string_view is a distinct type, so ToAbsl bridges the two inside .cc files.

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace ma {

inline absl::string_view ToAbsl(std::string_view s) { return {s.data(), s.size()}; }
inline std::string_view ToStd(absl::string_view s) { return {s.data(), s.size()}; }

namespace strings_internal {
inline absl::string_view CatArg(std::string_view s) { return ToAbsl(s); }
template <typename T>
const T& CatArg(const T& value) {
  return value;
}
}  // namespace strings_internal

// absl::StrCat that also takes std::string_view (Debian's absl::StrCat does not).
template <typename... Args>
std::string Cat(const Args&... args) {
  return absl::StrCat(strings_internal::CatArg(args)...);
}

// The escape that Go string literals and JSON strings share for `c`: \" \\ \b \f \n \r \t. Empty
// for any other byte.
std::string_view ShortEscape(char c);

// Quotes `s` exactly as Go's fmt "%q" / strconv.Quote does: double quotes, `"` and `\` escaped,
// \a \b \f \n \r \t \v as such, other control bytes and invalid UTF-8 bytes as \xNN, printable
// non-ASCII runes kept, non-printable runes as \uNNNN or \UNNNNNNNN.
std::string GoQuote(std::string_view s);

// `text` cut to at most `max_bytes` and marked with "..." when it was longer; the cut never
// splits a UTF-8 sequence. For echoing client input in messages and logs.
std::string Truncate(std::string_view text, size_t max_bytes);

}  // namespace ma
