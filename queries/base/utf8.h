#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ma {

// Appends the UTF-8 encoding of `cp`, as Go's utf8.AppendRune: surrogates and values past
// U+10FFFF become U+FFFD.
inline void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    cp = 0xFFFD;
  }
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Decodes the UTF-8 sequence at s[i] with Go's utf8.DecodeRuneInString rules (no overlong forms,
// no surrogates, nothing above U+10FFFF): returns its length and sets `cp`, or returns 0 when the
// byte starts no valid sequence (Go's RuneError of width 1).
inline size_t DecodeUtf8(std::string_view s, size_t i, uint32_t& cp) {
  const auto lead = static_cast<unsigned char>(s[i]);
  size_t length = 0;
  uint32_t minimum = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2, cp = lead & 0x1Fu, minimum = 0x80;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3, cp = lead & 0x0Fu, minimum = 0x800;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4, cp = lead & 0x07u, minimum = 0x10000;
  } else {
    return 0;
  }
  if (i + length > s.size()) {
    return 0;
  }
  for (size_t k = 1; k < length; ++k) {
    const auto continuation = static_cast<unsigned char>(s[i + k]);
    if ((continuation & 0xC0u) != 0x80u) {
      return 0;
    }
    cp = (cp << 6) | (continuation & 0x3Fu);
  }
  if (cp < minimum || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return length;
}

}  // namespace ma
