#include "queries/template/runtime_value.h"

#include <variant>

namespace ma::tmpl {

RuntimeValue RuntimeValue::Borrow(const Value& value) {
  if (const auto* s = std::get_if<std::string>(&value)) {
    return String(*s);
  }
  if (const auto* slice = std::get_if<std::vector<std::string>>(&value)) {
    // Aliasing constructor with an empty owner: a non-owning pointer the data outlives.
    return Strings(std::shared_ptr<const std::vector<std::string>>(std::shared_ptr<void>(), slice));
  }
  const auto& map = std::get<std::map<std::string, std::string>>(value);
  return Map(
      std::shared_ptr<const std::map<std::string, std::string>>(std::shared_ptr<void>(), &map));
}

bool RuntimeValue::Truth() const {
  switch (kind) {
    case Kind::kInvalid:
    case Kind::kNil:
      return false;
    case Kind::kBool:
      return bool_value;
    case Kind::kInt:
      return int_value != 0;
    case Kind::kFloat:
      return float_value != 0;
    case Kind::kString:
      return !string_value.empty();
    case Kind::kStrings:
      return !strings->empty();
    case Kind::kMap:
      return !map->empty();
    case Kind::kStruct:
      return true;
  }
  return false;
}

std::string RuntimeValue::TypeName() const {
  switch (kind) {
    case Kind::kInvalid:
    case Kind::kNil:
      return "<nil>";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      switch (int_type) {
        case IntType::kInt:
          return "int";
        case IntType::kInt32:
          return "int32";
        case IntType::kUint8:
          return "uint8";
      }
      return "int";
    case Kind::kFloat:
      return "float64";
    case Kind::kString:
      return "string";
    case Kind::kStrings:
      return "[]string";
    case Kind::kMap:
      return "map[string]string";
    case Kind::kStruct:
      return "struct";
  }
  return "<nil>";
}

}  // namespace ma::tmpl
