#pragma once

// Writing JSON exactly as Go's encoding/json does, so that what we send reads byte for byte like
// a Go client or server: compact; strings escaped HTML-safe (`<` `>` `&` as \u003c \u003e
// \u0026), U+2028 and U+2029 escaped, invalid UTF-8 replaced by U+FFFD. Fields come out in the
// order they are written, which the caller keeps to Go's struct order.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ma::json {

// Appends `text` as a JSON string literal, quotes included, as Go's encoding/json writes it.
void AppendQuoted(std::string& out, std::string_view text);

// Builds one JSON document. Commas and colons are placed for the caller; a value written where
// it cannot stand (two keys in a row, a value after the document) is a bug and aborts.
// Not thread-safe: one writer builds one document on one thread.
class Writer {
 public:
  void StartObject();
  void EndObject();
  void StartArray();
  void EndArray();
  void Key(std::string_view key);
  void String(std::string_view value);
  void Int64(int64_t value);
  void Bool(bool value);
  void Null();

  // A string field tagged `omitempty` in Go: nothing when `value` is empty.
  void OptionalString(std::string_view key, std::string_view value);
  // `"key":{}`.
  void EmptyObject(std::string_view key);
  void StringArray(const std::vector<std::string>& values);
  // A Go map[string]string: `map` must iterate in key order, as Go sorts map keys.
  template <typename Map>
  void StringMap(const Map& map) {
    StartObject();
    for (const auto& [key, value] : map) {
      Key(key);
      String(value);
    }
    EndObject();
  }

  // The document. Every object and array must have been closed.
  std::string Finish() &&;

 private:
  // Places the comma a value needs, or consumes the key it follows.
  void BeforeValue();
  void Close(char bracket);

  std::string out_;
  // One entry per open object or array: whether it holds an item yet.
  std::vector<bool> open_has_items_;
  bool after_key_ = false;
};

}  // namespace ma::json
