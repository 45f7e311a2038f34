#include "queries/base/url_codec.h"

#include <cstddef>

#include "absl/status/status.h"
#include "queries/base/hex.h"
#include "queries/base/strings.h"

namespace ma {
namespace {

enum class Component { kQuery, kPathSegment };

// Go's shouldEscape for the two modes we use.
bool ShouldEscape(char c, Component component) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
    return false;
  }
  switch (c) {
    case '-':
    case '_':
    case '.':
    case '~':
      return false;
    case '$':
    case '&':
    case '+':
    case ',':
    case '/':
    case ':':
    case ';':
    case '=':
    case '?':
    case '@':
      // Reserved: a query component escapes them all, a path segment only what splits a path.
      return component == Component::kQuery || c == '/' || c == ';' || c == ',' || c == '?';
    default:
      return true;
  }
}

std::string Escape(std::string_view text, Component component) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (!ShouldEscape(c, component)) {
      out += c;
    } else if (c == ' ' && component == Component::kQuery) {
      out += '+';
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out += '%';
      out += kUpperHexDigits[byte >> 4];
      out += kUpperHexDigits[byte & 0xF];
    }
  }
  return out;
}

absl::StatusOr<std::string> Unescape(std::string_view encoded, bool plus_is_space) {
  std::string decoded;
  decoded.reserve(encoded.size());
  for (size_t i = 0; i < encoded.size(); ++i) {
    const char c = encoded[i];
    if (c == '+' && plus_is_space) {
      decoded += ' ';
      continue;
    }
    if (c != '%') {
      decoded += c;
      continue;
    }
    const int high = i + 1 < encoded.size() ? HexDigitValue(encoded[i + 1]) : -1;
    const int low = i + 2 < encoded.size() ? HexDigitValue(encoded[i + 2]) : -1;
    if (high < 0 || low < 0) {
      return absl::InvalidArgumentError(
          Cat("invalid URL escape ", GoQuote(encoded.substr(i, 3)), " in ", GoQuote(encoded)));
    }
    decoded += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return decoded;
}

}  // namespace

std::string QueryEscape(std::string_view text) { return Escape(text, Component::kQuery); }

std::string PathEscape(std::string_view text) { return Escape(text, Component::kPathSegment); }

absl::StatusOr<std::string> PercentDecode(std::string_view encoded) {
  return Unescape(encoded, /*plus_is_space=*/false);
}

absl::StatusOr<std::string> FormDecode(std::string_view encoded) {
  return Unescape(encoded, /*plus_is_space=*/true);
}

}  // namespace ma
