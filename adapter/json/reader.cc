#include "adapter/json/reader.h"

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <cstdint>

#include "absl/status/status.h"
#include "queries/base/strings.h"

namespace ma::json {
namespace {

// Forwards SAX events to the document being built and stops the parse past `max_depth`, so that
// a `[[[[...` bomb is an error, not a deep document. With the iterative reader nothing recurses
// on the input's nesting.
class DepthLimiter {
 public:
  DepthLimiter(rapidjson::Document& next, int max_depth) : next_(next), max_depth_(max_depth) {}

  bool Null() { return next_.Null(); }
  bool Bool(bool b) { return next_.Bool(b); }
  bool Int(int i) { return next_.Int(i); }
  bool Uint(unsigned u) { return next_.Uint(u); }
  bool Int64(int64_t i) { return next_.Int64(i); }
  bool Uint64(uint64_t u) { return next_.Uint64(u); }
  bool Double(double d) { return next_.Double(d); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool copy) {
    return next_.RawNumber(s, n, copy);
  }
  bool String(const char* s, rapidjson::SizeType n, bool copy) { return next_.String(s, n, copy); }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) { return next_.Key(s, n, copy); }
  bool StartObject() { return Enter() && next_.StartObject(); }
  bool EndObject(rapidjson::SizeType n) {
    --depth_;
    return next_.EndObject(n);
  }
  bool StartArray() { return Enter() && next_.StartArray(); }
  bool EndArray(rapidjson::SizeType n) {
    --depth_;
    return next_.EndArray(n);
  }

  bool too_deep() const { return too_deep_; }

 private:
  bool Enter() {
    too_deep_ = too_deep_ || ++depth_ > max_depth_;
    return !too_deep_;
  }

  rapidjson::Document& next_;
  const int max_depth_;
  int depth_ = 0;
  bool too_deep_ = false;
};

}  // namespace

absl::StatusOr<rapidjson::Document> Parse(std::string_view text, const Limits& limits) {
  if (text.size() > limits.max_bytes) {
    return absl::ResourceExhaustedError(Cat("larger than ", limits.max_bytes, " bytes"));
  }
  rapidjson::Document document;
  rapidjson::MemoryStream stream(text.data(), text.size());
  rapidjson::ParseResult result;
  bool too_deep = false;
  auto generate = [&](rapidjson::Document& target) {
    DepthLimiter limiter(target, limits.max_depth);
    rapidjson::Reader reader;
    result = reader.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(
        stream, limiter);
    too_deep = limiter.too_deep();
    return !result.IsError();
  };
  document.Populate(generate);
  if (too_deep) {
    return absl::ResourceExhaustedError(Cat("nested deeper than ", limits.max_depth, " levels"));
  }
  if (result.IsError()) {
    return absl::InvalidArgumentError(
        Cat(rapidjson::GetParseError_En(result.Code()), " at offset ", result.Offset()));
  }
  return document;
}

const rapidjson::Value* Member(const rapidjson::Value& object, std::string_view name) {
  if (!object.IsObject()) {
    return nullptr;
  }
  const rapidjson::Value key(rapidjson::StringRef(name.data(), name.size()));
  const auto it = object.FindMember(key);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

std::string_view StringOf(const rapidjson::Value& value) {
  return {value.GetString(), value.GetStringLength()};
}

}  // namespace ma::json
