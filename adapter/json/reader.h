#pragma once

// Parsing JSON that comes from outside the process, bounded in size and in nesting, into a
// RapidJSON document. This header exposes RapidJSON on purpose: include it only from the .cc file
// that decodes a document, never from another header, so that no other translation unit sees
// RapidJSON.

#include <rapidjson/document.h>

#include <cstddef>
#include <string_view>

#include "absl/status/statusor.h"

namespace ma::json {

// The bounds for one kind of document. Each decoder names its own, next to what it decodes.
struct Limits {
  size_t max_bytes = 0;
  // Arrays and objects nested in one another. RapidJSON frees a document recursively, so this
  // also bounds the stack that freeing it takes.
  int max_depth = 0;
};

// Parses `text` as one JSON document: surrounding whitespace only, valid UTF-8, and nothing on
// the input's nesting recurses. The error's message reads after the document's name:
// "larger than N bytes" and "nested deeper than N levels" (kResourceExhausted), or RapidJSON's
// reason and the byte offset, "Invalid value. at offset 1" (kInvalidArgument).
absl::StatusOr<rapidjson::Document> Parse(std::string_view text, const Limits& limits);

// The member `name` of `object`, or nullptr when `object` is not an object or has no such member.
const rapidjson::Value* Member(const rapidjson::Value& object, std::string_view name);

// The bytes of a string value, embedded NULs included. `value` must be a string.
std::string_view StringOf(const rapidjson::Value& value);

}  // namespace ma::json
