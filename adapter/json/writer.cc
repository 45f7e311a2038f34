#include "adapter/json/writer.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "queries/base/check.h"
#include "queries/base/hex.h"
#include "queries/base/strings.h"
#include "queries/base/utf8.h"

namespace ma::json {
namespace {

void AppendUnicodeEscape(std::string& out, uint32_t code_point) {
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) {
    out += kLowerHexDigits[(code_point >> shift) & 0xFu];
  }
}

}  // namespace

void AppendQuoted(std::string& out, std::string_view text) {
  out.reserve(out.size() + text.size() + 2);
  out += '"';
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (const std::string_view escape = ShortEscape(text[i]); !escape.empty()) {
        out += escape;
      } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
        AppendUnicodeEscape(out, c);  // `<` `>` `&` too: Go escapes HTML
      } else {
        out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    uint32_t code_point = 0;
    const size_t length = DecodeUtf8(text, i, code_point);
    if (length == 0) {
      out += "\\ufffd";
      ++i;
    } else if (code_point == 0x2028 || code_point == 0x2029) {
      AppendUnicodeEscape(out, code_point);
      i += length;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  out += '"';
}

void Writer::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (open_has_items_.empty()) {
    MA_CHECK(out_.empty());  // one document per writer
    return;
  }
  if (open_has_items_.back()) {
    out_ += ',';
  }
  open_has_items_.back() = true;
}

void Writer::Close(char bracket) {
  MA_CHECK(!open_has_items_.empty() && !after_key_);
  open_has_items_.pop_back();
  out_ += bracket;
}

void Writer::StartObject() {
  BeforeValue();
  out_ += '{';
  open_has_items_.push_back(false);
}

void Writer::EndObject() { Close('}'); }

void Writer::StartArray() {
  BeforeValue();
  out_ += '[';
  open_has_items_.push_back(false);
}

void Writer::EndArray() { Close(']'); }

void Writer::Key(std::string_view key) {
  MA_CHECK(!after_key_);
  BeforeValue();
  AppendQuoted(out_, key);
  out_ += ':';
  after_key_ = true;
}

void Writer::String(std::string_view value) {
  BeforeValue();
  AppendQuoted(out_, value);
}

void Writer::Int64(int64_t value) {
  BeforeValue();
  absl::StrAppend(&out_, value);
}

void Writer::Bool(bool value) {
  BeforeValue();
  out_ += value ? "true" : "false";
}

void Writer::Null() {
  BeforeValue();
  out_ += "null";
}

void Writer::OptionalString(std::string_view key, std::string_view value) {
  if (!value.empty()) {
    Key(key);
    String(value);
  }
}

void Writer::EmptyObject(std::string_view key) {
  Key(key);
  StartObject();
  EndObject();
}

void Writer::StringArray(const std::vector<std::string>& values) {
  StartArray();
  for (const std::string& value : values) {
    String(value);
  }
  EndArray();
}

std::string Writer::Finish() && {
  MA_CHECK(open_has_items_.empty() && !after_key_ && !out_.empty());
  return std::move(out_);
}

}  // namespace ma::json
