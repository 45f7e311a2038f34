#include "queries/selector/field_selector.h"

#include "absl/status/status.h"
#include "queries/base/strings.h"

namespace ma::selector {
namespace {

absl::Status Invalid(std::string_view text, std::string_view why) {
  return absl::InvalidArgumentError(Cat("invalid selector: ", GoQuote(text), "; ", why));
}

// Splits at commas that no backslash escapes; escapes stay in the parts.
std::vector<std::string_view> SplitTerms(std::string_view text) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\') {
      ++i;
    } else if (text[i] == ',') {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  parts.push_back(text.substr(start));
  return parts;
}

// The first unescaped operator of a term: where it starts and how long it is.
bool FindOperator(std::string_view term, size_t& at, size_t& length, bool& equals) {
  for (size_t i = 0; i < term.size(); ++i) {
    if (term[i] == '\\') {
      ++i;
      continue;
    }
    if (term.substr(i, 2) == "!=") {
      at = i, length = 2, equals = false;
      return true;
    }
    if (term.substr(i, 2) == "==") {
      at = i, length = 2, equals = true;
      return true;
    }
    if (term[i] == '=') {
      at = i, length = 1, equals = true;
      return true;
    }
  }
  return false;
}

// Undoes `\,`, `\=` and `\\`; any other escape, or an unescaped `=` or `,`, is an error.
absl::StatusOr<std::string> Unescape(std::string_view text, std::string_view value) {
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c == '\\') {
      if (i + 1 >= value.size() ||
          (value[i + 1] != ',' && value[i + 1] != '=' && value[i + 1] != '\\')) {
        return Invalid(text, "a backslash must escape `,`, `=` or `\\`");
      }
      out.push_back(value[++i]);
    } else if (c == '=' || c == ',') {
      return Invalid(text, Cat("unescaped ", GoQuote(std::string_view(&c, 1)), " in a value"));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<FieldSelector> FieldSelector::Parse(std::string_view text) {
  if (text.size() > kMaxSelectorBytes) {
    return absl::InvalidArgumentError(
        Cat("fieldSelector is longer than ", kMaxSelectorBytes, " bytes"));
  }
  FieldSelector selector;
  for (std::string_view term : SplitTerms(text)) {
    if (term.empty()) {
      continue;  // Go skips empty terms ("a=b,,c=d", a trailing comma)
    }
    if (selector.terms_.size() >= kMaxFieldTerms) {
      return absl::InvalidArgumentError(
          Cat("fieldSelector has more than ", kMaxFieldTerms, " terms"));
    }
    size_t at = 0;
    size_t length = 0;
    bool equals = true;
    if (!FindOperator(term, at, length, equals)) {
      return Invalid(text, Cat("can't understand ", GoQuote(term)));
    }
    const std::string_view field = term.substr(0, at);
    if (field != "metadata.name" && field != "metadata.namespace") {
      return absl::InvalidArgumentError(Cat("field label not supported: ", field));
    }
    auto value = Unescape(text, term.substr(at + length));
    if (!value.ok()) {
      return value.status();
    }
    selector.terms_.push_back({std::string(field), equals, *std::move(value)});
  }
  return selector;
}

bool FieldSelector::Matches(std::string_view namespace_name, std::string_view name) const {
  for (const auto& term : terms_) {
    const std::string_view actual = term.field == "metadata.name" ? name : namespace_name;
    if ((actual == term.value) != term.equals) {
      return false;
    }
  }
  return true;
}

}  // namespace ma::selector
