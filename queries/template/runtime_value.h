#pragma once

// A value during template execution: the Go values a template can meet (untyped nil, bool, int,
// float64, string, []string, map[string]string, the root struct), or Go's "invalid" value that
// a missing map key yields and that prints as "<no value>".

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "queries/template/template.h"

namespace ma::tmpl {

struct RuntimeValue {
  enum class Kind { kInvalid, kNil, kBool, kInt, kFloat, kString, kStrings, kMap, kStruct };
  // Go's integer types that builtins produce: int literals and len, rune literals, string bytes.
  enum class IntType { kInt, kInt32, kUint8 };

  Kind kind = Kind::kInvalid;
  bool bool_value = false;
  int64_t int_value = 0;
  IntType int_type = IntType::kInt;
  double float_value = 0;
  std::string string_value;
  // Borrowed from the caller's Data for the duration of Render, or owned (slice results).
  std::shared_ptr<const std::vector<std::string>> strings;
  std::shared_ptr<const std::map<std::string, std::string>> map;
  const Data* root = nullptr;
  const std::vector<std::string>* root_fields = nullptr;  // Go struct field order

  static RuntimeValue Invalid() { return {}; }
  static RuntimeValue Nil() {
    RuntimeValue v;
    v.kind = Kind::kNil;
    return v;
  }
  static RuntimeValue Bool(bool b) {
    RuntimeValue v;
    v.kind = Kind::kBool;
    v.bool_value = b;
    return v;
  }
  static RuntimeValue Int(int64_t i, IntType type = IntType::kInt) {
    RuntimeValue v;
    v.kind = Kind::kInt;
    v.int_value = i;
    v.int_type = type;
    return v;
  }
  static RuntimeValue Float(double f) {
    RuntimeValue v;
    v.kind = Kind::kFloat;
    v.float_value = f;
    return v;
  }
  static RuntimeValue String(std::string s) {
    RuntimeValue v;
    v.kind = Kind::kString;
    v.string_value = std::move(s);
    return v;
  }
  static RuntimeValue Strings(std::shared_ptr<const std::vector<std::string>> s) {
    RuntimeValue v;
    v.kind = Kind::kStrings;
    v.strings = std::move(s);
    return v;
  }
  static RuntimeValue Map(std::shared_ptr<const std::map<std::string, std::string>> m) {
    RuntimeValue v;
    v.kind = Kind::kMap;
    v.map = std::move(m);
    return v;
  }
  // Wraps a field of the caller's data without copying it.
  static RuntimeValue Borrow(const Value& value);

  bool IsNilOrInvalid() const { return kind == Kind::kInvalid || kind == Kind::kNil; }
  // Go's truth: false, 0, "", empty slice or map, nil and invalid are false; structs are true.
  bool Truth() const;
  // Go's reflect type name, as fmt prints it in "%!d(string=x)".
  std::string TypeName() const;
};

}  // namespace ma::tmpl
