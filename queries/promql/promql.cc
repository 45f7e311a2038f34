#include "queries/promql/promql.h"

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "queries/base/check.h"
#include "queries/base/strings.h"

namespace ma::promql {
namespace {

bool IsRegexMeta(char c) {
  switch (c) {
    case '\\':
    case '.':
    case '+':
    case '*':
    case '?':
    case '(':
    case ')':
    case '|':
    case '[':
    case ']':
    case '{':
    case '}':
    case '^':
    case '$':
      return true;
    default:
      return false;
  }
}

// `v1|v2|...` with every value escaped, so the alternation matches exactly these values.
std::string EscapedAlternation(const std::vector<std::string>& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) {
      out += '|';
    }
    out += QuoteRegexMeta(values[i]);
  }
  return out;
}

std::string Matcher(std::string_view name, std::string_view op, std::string_view value) {
  MA_CHECK(IsValidLabelName(name));
  return absl::StrCat(ToAbsl(name), ToAbsl(op), QuoteString(value));
}

std::string_view OperatorText(selector::Operator op) {
  switch (op) {
    case selector::Operator::kGreaterThan:
      return ">";
    case selector::Operator::kLessThan:
      return "<";
    default:
      return "?";
  }
}

}  // namespace

bool IsValidLabelName(std::string_view name) {
  if (name.empty()) {
    return false;
  }
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) {
      return false;
    }
  }
  return true;
}

std::string QuoteString(std::string_view value) { return GoQuote(value); }

std::string QuoteRegexMeta(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (IsRegexMeta(c)) {
      out += '\\';
    }
    out += c;
  }
  return out;
}

std::string LabelEq(std::string_view name, std::string_view value) {
  return Matcher(name, "=", value);
}

std::string LabelNeq(std::string_view name, std::string_view value) {
  return Matcher(name, "!=", value);
}

std::string LabelMatchesAny(std::string_view name, const std::vector<std::string>& values) {
  return Matcher(name, "=~", EscapedAlternation(values));
}

std::string LabelMatchesNone(std::string_view name, const std::vector<std::string>& values) {
  return Matcher(name, "!~", EscapedAlternation(values));
}

std::string ObjectNamesMatcher(std::string_view label, const std::vector<std::string>& names) {
  // No names would become `label=~""`, which matches every series without the label; the
  // planner answers "not found" before it gets here.
  MA_CHECK(!names.empty());
  if (names.size() == 1) {
    return LabelEq(label, names.front());
  }
  return LabelMatchesAny(label, names);
}

absl::StatusOr<std::vector<std::string>> SelectorMatchers(const selector::LabelSelector& selector) {
  std::vector<std::string> matchers;
  matchers.reserve(selector.requirements().size());
  for (const auto& requirement : selector.requirements()) {
    if (!IsValidLabelName(requirement.key)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "label selector key ", QuoteString(requirement.key),
          " is not a valid Prometheus label name: only names matching [a-zA-Z_][a-zA-Z0-9_]* "
          "can be used in a metric selector"));
    }
    switch (requirement.op) {
      case selector::Operator::kEquals:
      case selector::Operator::kDoubleEquals:
        matchers.push_back(LabelEq(requirement.key, requirement.values.front()));
        break;
      case selector::Operator::kNotEquals:
        matchers.push_back(LabelNeq(requirement.key, requirement.values.front()));
        break;
      case selector::Operator::kIn:
        matchers.push_back(LabelMatchesAny(requirement.key, requirement.values));
        break;
      case selector::Operator::kNotIn:
        matchers.push_back(LabelMatchesNone(requirement.key, requirement.values));
        break;
      case selector::Operator::kExists:
        matchers.push_back(LabelNeq(requirement.key, ""));
        break;
      case selector::Operator::kDoesNotExist:
        matchers.push_back(LabelEq(requirement.key, ""));
        break;
      case selector::Operator::kGreaterThan:
      case selector::Operator::kLessThan:
        return absl::InvalidArgumentError(absl::StrCat(
            "label selector requirement on key ", QuoteString(requirement.key), ": operator ",
            QuoteString(OperatorText(requirement.op)),
            " is not supported: operator not supported by prometheus (only =, ==, !=, in, notin, "
            "exists and !key can be expressed in PromQL)"));
    }
  }
  return matchers;
}

}  // namespace ma::promql
