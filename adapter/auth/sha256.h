#pragma once

// SHA-256 (FIPS 180-4), so that the token cache keys on a digest and never keeps a bearer token
// in memory. OpenSSL is reserved to the TLS and certificate modules, hence this small copy.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace ma::auth {

using Sha256Digest = std::array<uint8_t, 32>;

Sha256Digest Sha256(std::string_view data);

// Lowercase hexadecimal, 64 characters.
std::string Sha256Hex(std::string_view data);

}  // namespace ma::auth
