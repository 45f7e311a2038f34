#include "queries/template/builtins.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "queries/base/hex.h"
#include "queries/base/status_macros.h"
#include "queries/base/strings.h"
#include "queries/base/url_codec.h"
#include "queries/base/utf8.h"
#include "queries/template/go_fmt.h"

namespace ma::tmpl {
namespace {

using Kind = RuntimeValue::Kind;
using Args = std::vector<RuntimeValue>;

struct Builtin {
  std::string_view name;
  size_t fixed;  // parameters before the variadic tail, or the exact count
  bool variadic;
};

constexpr Builtin kBuiltins[] = {
    {"and", 1, true},      {"or", 1, true},    {"call", 1, true},   {"html", 0, true},
    {"index", 1, true},    {"slice", 1, true}, {"js", 0, true},     {"len", 1, false},
    {"not", 1, false},     {"print", 0, true}, {"printf", 1, true}, {"println", 0, true},
    {"urlquery", 0, true}, {"eq", 1, true},    {"ge", 2, false},    {"gt", 2, false},
    {"le", 2, false},      {"lt", 2, false},   {"ne", 2, false},
};

const Builtin* Find(std::string_view name) {
  for (const auto& builtin : kBuiltins) {
    if (builtin.name == name) {
      return &builtin;
    }
  }
  return nullptr;
}

absl::Status Failed(std::string_view name, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("error calling ", ToAbsl(name), ": ", ToAbsl(what)));
}

enum class BasicKind { kInvalid, kBool, kInt, kFloat, kString };

BasicKind BasicKindOf(const RuntimeValue& v) {
  switch (v.kind) {
    case Kind::kBool:
      return BasicKind::kBool;
    case Kind::kInt:
      return BasicKind::kInt;
    case Kind::kFloat:
      return BasicKind::kFloat;
    case Kind::kString:
      return BasicKind::kString;
    default:
      return BasicKind::kInvalid;
  }
}

bool IsComparable(const RuntimeValue& v) {
  return v.kind != Kind::kStrings && v.kind != Kind::kMap && v.kind != Kind::kStruct;
}

constexpr char kBadComparison[] = "incompatible types for comparison";
constexpr char kBadComparisonType[] = "invalid type for comparison";

absl::StatusOr<bool> Eq(const RuntimeValue& arg1, const Args& rest) {
  if (!arg1.IsNilOrInvalid() && !IsComparable(arg1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("non-comparable type ", FormatValue(arg1), ": ", arg1.TypeName()));
  }
  if (rest.empty()) {
    return absl::InvalidArgumentError("missing argument for comparison");
  }
  const BasicKind k1 = BasicKindOf(arg1);
  for (const auto& arg : rest) {
    const BasicKind k2 = BasicKindOf(arg);
    bool truth = false;
    if (k1 != k2) {
      if (!arg1.IsNilOrInvalid() && !arg.IsNilOrInvalid()) {
        return absl::InvalidArgumentError(kBadComparison);
      }
    } else {
      switch (k1) {
        case BasicKind::kBool:
          truth = arg1.bool_value == arg.bool_value;
          break;
        case BasicKind::kInt:
          truth = arg1.int_value == arg.int_value;
          break;
        case BasicKind::kFloat:
          truth = arg1.float_value == arg.float_value;
          break;
        case BasicKind::kString:
          truth = arg1.string_value == arg.string_value;
          break;
        case BasicKind::kInvalid:
          if (arg1.IsNilOrInvalid() || arg.IsNilOrInvalid()) {
            truth = arg1.IsNilOrInvalid() && arg.IsNilOrInvalid();
          } else {
            return absl::InvalidArgumentError(
                absl::StrCat("non-comparable type ", FormatValue(arg), ": ", arg.TypeName()));
          }
          break;
      }
    }
    if (truth) {
      return true;
    }
  }
  return false;
}

absl::StatusOr<bool> Lt(const RuntimeValue& arg1, const RuntimeValue& arg2) {
  const BasicKind k1 = BasicKindOf(arg1);
  const BasicKind k2 = BasicKindOf(arg2);
  if (k1 == BasicKind::kInvalid || k2 == BasicKind::kInvalid) {
    return absl::InvalidArgumentError(kBadComparisonType);
  }
  if (k1 != k2) {
    return absl::InvalidArgumentError(kBadComparison);
  }
  switch (k1) {
    case BasicKind::kInt:
      return arg1.int_value < arg2.int_value;
    case BasicKind::kFloat:
      return arg1.float_value < arg2.float_value;
    case BasicKind::kString:
      return arg1.string_value < arg2.string_value;
    default:
      return absl::InvalidArgumentError(kBadComparisonType);
  }
}

// text/template's indexArg: an integer within [0, cap].
absl::StatusOr<int64_t> IndexArg(const RuntimeValue& index, size_t cap) {
  if (index.IsNilOrInvalid()) {
    return absl::InvalidArgumentError("cannot index slice/array with nil");
  }
  if (index.kind != Kind::kInt) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot index slice/array with type ", index.TypeName()));
  }
  if (index.int_value < 0 || static_cast<uint64_t>(index.int_value) > cap) {
    return absl::InvalidArgumentError(absl::StrCat("index out of range: ", index.int_value));
  }
  return index.int_value;
}

absl::StatusOr<RuntimeValue> Index(const RuntimeValue& item_in, const Args& indexes) {
  if (item_in.IsNilOrInvalid()) {
    return absl::InvalidArgumentError("index of untyped nil");
  }
  RuntimeValue item = item_in;
  for (const auto& index : indexes) {
    switch (item.kind) {
      case Kind::kString:
      case Kind::kStrings: {
        const size_t len =
            item.kind == Kind::kString ? item.string_value.size() : item.strings->size();
        MA_ASSIGN_OR_RETURN(const int64_t x, IndexArg(index, len));
        const auto i = static_cast<size_t>(x);
        if (i == len) {
          return absl::InvalidArgumentError(absl::StrCat("index out of range: ", x));
        }
        if (item.kind == Kind::kString) {
          item = RuntimeValue::Int(static_cast<unsigned char>(item.string_value[i]),
                                   RuntimeValue::IntType::kUint8);
        } else {
          item = RuntimeValue::String((*item.strings)[i]);
        }
        break;
      }
      case Kind::kMap: {
        if (index.IsNilOrInvalid()) {
          return absl::InvalidArgumentError("value is nil; should be of type string");
        }
        if (index.kind != Kind::kString) {
          return absl::InvalidArgumentError(
              absl::StrCat("value has type ", index.TypeName(), "; should be string"));
        }
        const auto it = item.map->find(index.string_value);
        // Unlike `.map.key`, index yields the element's zero value for a missing key.
        item = RuntimeValue::String(it == item.map->end() ? "" : it->second);
        break;
      }
      default:
        return absl::InvalidArgumentError(
            absl::StrCat("can't index item of type ", item.TypeName()));
    }
  }
  return item;
}

absl::StatusOr<RuntimeValue> Slice(const RuntimeValue& item, const Args& indexes) {
  if (item.IsNilOrInvalid()) {
    return absl::InvalidArgumentError("slice of untyped nil");
  }
  if (indexes.size() > 3) {
    return absl::InvalidArgumentError(absl::StrCat("too many slice indexes: ", indexes.size()));
  }
  size_t len = 0;
  if (item.kind == Kind::kString) {
    if (indexes.size() == 3) {
      return absl::InvalidArgumentError("cannot 3-index slice a string");
    }
    len = item.string_value.size();
  } else if (item.kind == Kind::kStrings) {
    len = item.strings->size();
  } else {
    return absl::InvalidArgumentError(absl::StrCat("can't slice item of type ", item.TypeName()));
  }
  int64_t idx[3] = {0, static_cast<int64_t>(len), 0};
  for (size_t i = 0; i < indexes.size(); ++i) {
    MA_ASSIGN_OR_RETURN(idx[i], IndexArg(indexes[i], len));
  }
  if (idx[0] > idx[1]) {
    return absl::InvalidArgumentError(absl::StrCat("invalid slice index: ", idx[0], " > ", idx[1]));
  }
  if (indexes.size() == 3 && idx[1] > idx[2]) {
    return absl::InvalidArgumentError(absl::StrCat("invalid slice index: ", idx[1], " > ", idx[2]));
  }
  const auto from = static_cast<size_t>(idx[0]);
  const auto to = static_cast<size_t>(idx[1]);
  if (item.kind == Kind::kString) {
    return RuntimeValue::String(item.string_value.substr(from, to - from));
  }
  return RuntimeValue::Strings(std::make_shared<const std::vector<std::string>>(
      item.strings->begin() + static_cast<std::ptrdiff_t>(from),
      item.strings->begin() + static_cast<std::ptrdiff_t>(to)));
}

absl::StatusOr<RuntimeValue> Len(const RuntimeValue& item) {
  switch (item.kind) {
    case Kind::kString:
      return RuntimeValue::Int(static_cast<int64_t>(item.string_value.size()));
    case Kind::kStrings:
      return RuntimeValue::Int(static_cast<int64_t>(item.strings->size()));
    case Kind::kMap:
      return RuntimeValue::Int(static_cast<int64_t>(item.map->size()));
    case Kind::kInvalid:
    case Kind::kNil:
      return absl::InvalidArgumentError("len of untyped nil");
    default:
      return absl::InvalidArgumentError(absl::StrCat("len of type ", item.TypeName()));
  }
}

// text/template's evalArgs: a lone string as is, otherwise fmt.Sprint with nil as "<no value>".
absl::StatusOr<std::string> EscaperInput(const Args& args) {
  if (args.size() == 1 && args[0].kind == Kind::kString) {
    return args[0].string_value;
  }
  Args printable = args;
  for (auto& arg : printable) {
    if (arg.IsNilOrInvalid()) {
      arg = RuntimeValue::String("<no value>");
    }
  }
  return Sprint(printable, kMaxOutputBytes);
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '\0':
        out += "\xEF\xBF\xBD";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Go's unicode.IsPrint above ASCII, approximated: C1 controls, soft hyphen, line and paragraph
// separators, BOM, private use and noncharacters are not printable.
bool IsPrintRune(uint32_t cp) {
  return cp >= 0xA0 && cp != 0xAD && cp != 0x2028 && cp != 0x2029 && cp != 0xFEFF &&
         !(cp >= 0xE000 && cp <= 0xF8FF) && (cp & 0xFFFE) != 0xFFFE;
}

std::string JsEscape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '\\':
          out += "\\\\";
          break;
        case '\'':
          out += "\\'";
          break;
        case '"':
          out += "\\\"";
          break;
        case '<':
          out += "\\u003C";
          break;
        case '>':
          out += "\\u003E";
          break;
        case '&':
          out += "\\u0026";
          break;
        case '=':
          out += "\\u003D";
          break;
        default:
          if (c < ' ') {
            out += "\\u00";
            out += kUpperHexDigits[c >> 4];
            out += kUpperHexDigits[c & 0xF];
          } else {
            out += static_cast<char>(c);
          }
      }
      continue;
    }
    uint32_t cp = 0;
    const size_t len = ::ma::DecodeUtf8(s, i, cp);
    if (len == 0) {
      out += static_cast<char>(c);  // RuneError is printable: the byte is copied
      continue;
    }
    if (IsPrintRune(cp)) {
      out.append(s.substr(i, len));
    } else {
      out += absl::StrFormat("\\u%04X", cp);
    }
    i += len - 1;
  }
  return out;
}

absl::StatusOr<RuntimeValue> Dispatch(std::string_view name, Args& args) {
  if (name == "and" || name == "or") {
    const bool want = name == "or";
    for (size_t i = 0; i + 1 < args.size(); ++i) {
      if (args[i].Truth() == want) {
        return args[i];
      }
    }
    return args.back();
  }
  if (name == "not") {
    return RuntimeValue::Bool(!args[0].Truth());
  }
  if (name == "len") {
    return Len(args[0]);
  }
  if (name == "index") {
    return Index(args[0], Args(args.begin() + 1, args.end()));
  }
  if (name == "slice") {
    return Slice(args[0], Args(args.begin() + 1, args.end()));
  }
  if (name == "eq" || name == "ne") {
    MA_ASSIGN_OR_RETURN(const bool eq, Eq(args[0], Args(args.begin() + 1, args.end())));
    return RuntimeValue::Bool(name == "eq" ? eq : !eq);
  }
  if (name == "lt" || name == "ge") {
    MA_ASSIGN_OR_RETURN(const bool lt, Lt(args[0], args[1]));
    return RuntimeValue::Bool(name == "lt" ? lt : !lt);
  }
  if (name == "le" || name == "gt") {
    MA_ASSIGN_OR_RETURN(bool le, Lt(args[0], args[1]));
    if (!le) {
      MA_ASSIGN_OR_RETURN(le, Eq(args[0], Args{args[1]}));
    }
    return RuntimeValue::Bool(name == "le" ? le : !le);
  }
  if (name == "print" || name == "println") {
    MA_ASSIGN_OR_RETURN(std::string s, name == "print" ? Sprint(args, kMaxOutputBytes)
                                                       : Sprintln(args, kMaxOutputBytes));
    return RuntimeValue::String(std::move(s));
  }
  if (name == "printf") {
    if (args[0].kind != Kind::kString) {
      return absl::InvalidArgumentError(
          absl::StrCat("wrong type for value; expected string; got ", args[0].TypeName()));
    }
    MA_ASSIGN_OR_RETURN(
        std::string s,
        Sprintf(args[0].string_value, Args(args.begin() + 1, args.end()), kMaxOutputBytes));
    return RuntimeValue::String(std::move(s));
  }
  if (name == "urlquery" || name == "js" || name == "html") {
    MA_ASSIGN_OR_RETURN(const std::string input, EscaperInput(args));
    if (name == "urlquery") {
      return RuntimeValue::String(QueryEscape(input));
    }
    return RuntimeValue::String(name == "js" ? JsEscape(input) : HtmlEscape(input));
  }
  if (name == "call") {
    if (args[0].IsNilOrInvalid()) {
      return absl::InvalidArgumentError("call of nil");
    }
    return absl::InvalidArgumentError(absl::StrCat("non-function of type ", args[0].TypeName()));
  }
  return absl::InternalError(absl::StrCat("builtin ", ToAbsl(name), " has no implementation"));
}

}  // namespace

bool IsBuiltin(std::string_view name) { return Find(name) != nullptr; }

absl::StatusOr<RuntimeValue> CallBuiltin(std::string_view name, std::vector<RuntimeValue> args) {
  const Builtin* builtin = Find(name);
  if (builtin == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrFormat("function %s not defined", ToAbsl(GoQuote(name))));
  }
  if (builtin->variadic ? args.size() < builtin->fixed : args.size() != builtin->fixed) {
    return absl::InvalidArgumentError(absl::StrCat("wrong number of args for ", ToAbsl(name),
                                                   ": want ", builtin->variadic ? "at least " : "",
                                                   builtin->fixed, " got ", args.size()));
  }
  // Go passes a missing value to a function as an untyped nil.
  for (auto& arg : args) {
    if (arg.kind == Kind::kInvalid) {
      arg = RuntimeValue::Nil();
    }
  }
  auto result = Dispatch(name, args);
  if (!result.ok()) {
    if (result.status().code() == absl::StatusCode::kResourceExhausted) {
      return result.status();
    }
    return Failed(name, ToStd(result.status().message()));
  }
  return result;
}

}  // namespace ma::tmpl
