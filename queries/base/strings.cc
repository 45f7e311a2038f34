#include "queries/base/strings.h"

#include <cstdint>

#include "queries/base/hex.h"
#include "queries/base/utf8.h"

namespace ma {
namespace {

void AppendHexByte(std::string& out, unsigned char c) {
  out += "\\x";
  out += kLowerHexDigits[c >> 4];
  out += kLowerHexDigits[c & 0xF];
}

void AppendCodePointEscape(std::string& out, uint32_t cp) {
  const int digits = cp > 0xFFFF ? 8 : 4;
  out += digits == 8 ? "\\U" : "\\u";
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) {
    out += kLowerHexDigits[(cp >> shift) & 0xF];
  }
}

// Approximates Go's unicode.IsPrint for runes above ASCII: C1 controls, the line and paragraph
// separators, private use, noncharacters and the BOM are not printable.
bool IsPrintableRune(uint32_t cp) {
  if (cp < 0xA0) {
    return false;
  }
  if (cp == 0xAD || cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF) {
    return false;
  }
  if ((cp >= 0xE000 && cp <= 0xF8FF) || (cp & 0xFFFE) == 0xFFFE) {
    return false;
  }
  return true;
}

}  // namespace

std::string_view ShortEscape(char c) {
  switch (c) {
    case '"':
      return "\\\"";
    case '\\':
      return "\\\\";
    case '\b':
      return "\\b";
    case '\f':
      return "\\f";
    case '\n':
      return "\\n";
    case '\r':
      return "\\r";
    case '\t':
      return "\\t";
    default:
      return {};
  }
}

std::string GoQuote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (const std::string_view escape = ShortEscape(s[i]); !escape.empty()) {
        out += escape;
      } else if (c == '\a') {
        out += "\\a";
      } else if (c == '\v') {
        out += "\\v";
      } else if (c < 0x20 || c == 0x7F) {
        AppendHexByte(out, c);
      } else {
        out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    uint32_t cp = 0;
    const size_t len = DecodeUtf8(s, i, cp);
    if (len == 0) {
      AppendHexByte(out, c);
      ++i;
      continue;
    }
    if (IsPrintableRune(cp)) {
      out.append(s.substr(i, len));
    } else {
      AppendCodePointEscape(out, cp);
    }
    i += len;
  }
  out += '"';
  return out;
}

std::string Truncate(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) {
    return std::string(text);
  }
  size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0u) == 0x80u) {
    --end;
  }
  return Cat(text.substr(0, end), "...");
}

}  // namespace ma
