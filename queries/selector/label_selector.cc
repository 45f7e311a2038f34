#include "queries/selector/label_selector.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "queries/base/strings.h"

namespace ma::selector {
namespace {

// apimachinery reports every bad value of a requirement; a URL with thousands of bad values must
// not produce a megabyte of error text, so only the first few are spelled out.
constexpr size_t kMaxReportedErrors = 4;

constexpr size_t kMaxNameLength = 63;
constexpr size_t kMaxValueLength = 63;
constexpr size_t kMaxPrefixLength = 253;

// The validation texts of k8s.io/apimachinery/pkg/util/validation, which users already know.
constexpr std::string_view kQualifiedNameFmt = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
constexpr std::string_view kQualifiedNameErrMsg =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character";
constexpr std::string_view kLabelValueFmt = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
constexpr std::string_view kLabelValueErrMsg =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character";
constexpr std::string_view kDns1123SubdomainFmt =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
constexpr std::string_view kDns1123SubdomainErrMsg =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character";

// Go's validation.RegexError, including its doubled space before "or".
std::string RegexError(std::string_view msg, std::string_view fmt,
                       const std::vector<std::string_view>& examples) {
  std::string out(msg);
  out += " (e.g. ";
  for (size_t i = 0; i < examples.size(); ++i) {
    if (i > 0) {
      out += " or ";
    }
    absl::StrAppend(&out, "'", ToAbsl(examples[i]), "', ");
  }
  absl::StrAppend(&out, "regex used for validation is '", ToAbsl(fmt), "')");
  return out;
}

std::string MaxLenError(size_t n) {
  return absl::StrCat("must be no more than ", n, " characters");
}

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`
bool IsQualifiedNamePart(std::string_view s) {
  if (s.empty() || !IsAlnum(s.front()) || !IsAlnum(s.back())) {
    return false;
  }
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return IsAlnum(c) || c == '-' || c == '_' || c == '.'; });
}

// `[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*`
bool IsDns1123Subdomain(std::string_view s) {
  size_t start = 0;
  while (true) {
    const size_t dot = s.find('.', start);
    const std::string_view label =
        s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || !IsLowerAlnum(label.front()) || !IsLowerAlnum(label.back()) ||
        !std::all_of(label.begin(), label.end(),
                     [](char c) { return IsLowerAlnum(c) || c == '-'; })) {
      return false;
    }
    if (dot == std::string_view::npos) {
      return true;
    }
    start = dot + 1;
  }
}

// validation.IsQualifiedName: the problems with a label key, empty when it is valid.
std::vector<std::string> QualifiedNameErrors(std::string_view key) {
  std::vector<std::string> errors;
  const auto name_regex_error = [] {
    return RegexError(kQualifiedNameErrMsg, kQualifiedNameFmt, {"MyName", "my.name", "123-abc"});
  };
  std::string_view name = key;
  const size_t slash = key.find('/');
  if (slash != std::string_view::npos) {
    if (key.find('/', slash + 1) != std::string_view::npos) {
      errors.push_back(absl::StrCat(
          "a qualified name ", name_regex_error(),
          " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"));
      return errors;
    }
    const std::string_view prefix = key.substr(0, slash);
    name = key.substr(slash + 1);
    if (prefix.empty()) {
      errors.emplace_back("prefix part must be non-empty");
    } else {
      if (prefix.size() > kMaxPrefixLength) {
        errors.push_back("prefix part " + MaxLenError(kMaxPrefixLength));
      }
      if (!IsDns1123Subdomain(prefix)) {
        errors.push_back("prefix part " + RegexError(kDns1123SubdomainErrMsg, kDns1123SubdomainFmt,
                                                     {"example.com"}));
      }
    }
  }
  if (name.empty()) {
    errors.emplace_back("name part must be non-empty");
  } else if (name.size() > kMaxNameLength) {
    errors.push_back("name part " + MaxLenError(kMaxNameLength));
  }
  if (!IsQualifiedNamePart(name)) {
    errors.push_back("name part " + name_regex_error());
  }
  return errors;
}

// validation.IsValidLabelValue.
std::vector<std::string> LabelValueErrors(std::string_view value) {
  std::vector<std::string> errors;
  if (value.size() > kMaxValueLength) {
    errors.push_back(MaxLenError(kMaxValueLength));
  }
  if (!value.empty() && !IsQualifiedNamePart(value)) {
    errors.push_back(
        RegexError(kLabelValueErrMsg, kLabelValueFmt, {"MyValue", "my_value", "12345"}));
  }
  return errors;
}

// field.Invalid(path, value, detail).Error().
std::string InvalidField(std::string_view path, std::string_view value,
                         const std::vector<std::string>& details) {
  return absl::StrCat(ToAbsl(path), ": Invalid value: ", GoQuote(value), ": ",
                      absl::StrJoin(details, "; "));
}

// utilerrors.Aggregate's text: one error bare, several de-duplicated inside brackets.
std::string AggregateErrors(const std::vector<std::string>& errors, size_t total) {
  std::vector<std::string> unique;
  for (const auto& e : errors) {
    if (std::find(unique.begin(), unique.end(), e) == unique.end()) {
      unique.push_back(e);
    }
  }
  if (unique.size() == 1 && total == errors.size()) {
    return unique.front();
  }
  std::string out = absl::StrCat("[", absl::StrJoin(unique, ", "));
  if (total > errors.size()) {
    absl::StrAppend(&out, ", and ", total - errors.size(), " more");
  }
  out += "]";
  return out;
}

// strconv.ParseInt(s, 10, 64).
std::optional<int64_t> ParseGoInt64(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) {
    return std::nullopt;
  }
  // Accumulate as a negative number so that the minimum int64 is representable.
  int64_t value = 0;
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  for (char c : s) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    const int digit = c - '0';
    if (value < (kMin + digit) / 10) {
      return std::nullopt;
    }
    value = value * 10 - digit;
  }
  if (!negative) {
    if (value == kMin) {
      return std::nullopt;
    }
    value = -value;
  }
  return value;
}

// ---- Lexer (apimachinery labels.Lexer) ----

enum class Token {
  kEnd,
  kClosedPar,
  kComma,
  kDoesNotExist,
  kDoubleEquals,
  kEquals,
  kGreaterThan,
  kIdentifier,
  kIn,
  kLessThan,
  kNotEquals,
  kNotIn,
  kOpenPar,
};

struct Item {
  Token token;
  std::string_view literal;
};

bool IsWhitespace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool IsSpecialSymbol(char c) {
  switch (c) {
    case '=':
    case '!':
    case '(':
    case ')':
    case ',':
    case '>':
    case '<':
      return true;
    default:
      return false;
  }
}

// Go's lexer takes the longest run of special symbols that is a known token; every single symbol
// is a token and the only two-symbol tokens are "==" and "!=", so one byte of lookahead suffices.
// Unlike Go, a NUL byte is not an end of input: it stays in the identifier and fails validation,
// so no text after it can be silently ignored.
std::vector<Item> Lex(std::string_view text) {
  std::vector<Item> items;
  size_t pos = 0;
  while (true) {
    while (pos < text.size() && IsWhitespace(text[pos])) {
      ++pos;
    }
    if (pos == text.size()) {
      items.push_back({Token::kEnd, ""});
      return items;
    }
    const char c = text[pos];
    if (IsSpecialSymbol(c)) {
      const bool followed_by_equals = pos + 1 < text.size() && text[pos + 1] == '=';
      Token token = Token::kEquals;
      size_t length = 1;
      switch (c) {
        case '=':
          token = followed_by_equals ? Token::kDoubleEquals : Token::kEquals;
          length = followed_by_equals ? 2 : 1;
          break;
        case '!':
          token = followed_by_equals ? Token::kNotEquals : Token::kDoesNotExist;
          length = followed_by_equals ? 2 : 1;
          break;
        case '(':
          token = Token::kOpenPar;
          break;
        case ')':
          token = Token::kClosedPar;
          break;
        case ',':
          token = Token::kComma;
          break;
        case '>':
          token = Token::kGreaterThan;
          break;
        default:
          token = Token::kLessThan;
          break;
      }
      items.push_back({token, text.substr(pos, length)});
      pos += length;
      continue;
    }
    const size_t start = pos;
    while (pos < text.size() && !IsSpecialSymbol(text[pos]) && !IsWhitespace(text[pos])) {
      ++pos;
    }
    const std::string_view word = text.substr(start, pos - start);
    Token token = Token::kIdentifier;
    if (word == "in") {
      token = Token::kIn;
    } else if (word == "notin") {
      token = Token::kNotIn;
    }
    items.push_back({token, word});
  }
}

// ---- Parser (apimachinery labels.Parser) ----

// In the Values context `in` and `notin` are plain identifiers; only the operator position sees
// them as keywords.
enum class Context { kKeyAndOperator, kValues };

absl::Status ParseError(std::string_view message) {
  return absl::InvalidArgumentError(ToAbsl(message));
}

class Parser {
 public:
  explicit Parser(std::vector<Item> items) : items_(std::move(items)) {}

  absl::StatusOr<std::vector<Requirement>> Parse() {
    std::vector<Requirement> requirements;
    while (true) {
      const Item next = Lookahead(Context::kValues);
      switch (next.token) {
        case Token::kIdentifier:
        case Token::kDoesNotExist: {
          auto requirement = ParseRequirement();
          if (!requirement.ok()) {
            return ParseError(
                absl::StrCat("unable to parse requirement: ", requirement.status().message()));
          }
          if (requirements.size() == kMaxRequirements) {
            return ParseError(absl::StrCat("label selector has more than ", kMaxRequirements,
                                           " requirements, the most this server accepts"));
          }
          requirements.push_back(*std::move(requirement));
          const Item after = Consume(Context::kValues);
          if (after.token == Token::kEnd) {
            return requirements;
          }
          if (after.token != Token::kComma) {
            return ParseError(absl::StrCat("found '", ToAbsl(after.literal),
                                           "', expected: ',' or 'end of string'"));
          }
          const Item following = Lookahead(Context::kValues);
          if (following.token != Token::kIdentifier && following.token != Token::kDoesNotExist) {
            return ParseError(absl::StrCat("found '", ToAbsl(following.literal),
                                           "', expected: identifier after ','"));
          }
          break;
        }
        case Token::kEnd:
          return requirements;
        default:
          return ParseError(absl::StrCat("found '", ToAbsl(next.literal),
                                         "', expected: !, identifier, or 'end of string'"));
      }
    }
  }

 private:
  static Item InContext(Item item, Context context) {
    if (context == Context::kValues && (item.token == Token::kIn || item.token == Token::kNotIn)) {
      item.token = Token::kIdentifier;
    }
    return item;
  }

  Item Lookahead(Context context) const { return InContext(items_[position_], context); }

  // Never moves past the final kEnd item, so a grammar slip cannot read out of bounds.
  Item Consume(Context context) {
    const Item item = items_[position_];
    if (position_ + 1 < items_.size()) {
      ++position_;
    }
    return InContext(item, context);
  }

  absl::StatusOr<Requirement> ParseRequirement() {
    Requirement requirement;
    Item item = Consume(Context::kValues);
    bool does_not_exist = false;
    if (item.token == Token::kDoesNotExist) {
      does_not_exist = true;
      item = Consume(Context::kValues);
    }
    if (item.token != Token::kIdentifier) {
      return ParseError(absl::StrCat("found '", ToAbsl(item.literal), "', expected: identifier"));
    }
    if (auto errors = QualifiedNameErrors(item.literal); !errors.empty()) {
      return ParseError(InvalidField("key", item.literal, errors));
    }
    requirement.key = std::string(item.literal);
    if (does_not_exist) {
      // `!a=b` comes back here as DoesNotExist; the caller then rejects the '='.
      requirement.op = Operator::kDoesNotExist;
      return requirement;
    }
    const Token next = Lookahead(Context::kValues).token;
    if (next == Token::kEnd || next == Token::kComma) {
      requirement.op = Operator::kExists;
      return requirement;
    }

    const Item op = Consume(Context::kKeyAndOperator);
    switch (op.token) {
      case Token::kIn:
        requirement.op = Operator::kIn;
        break;
      case Token::kNotIn:
        requirement.op = Operator::kNotIn;
        break;
      case Token::kEquals:
        requirement.op = Operator::kEquals;
        break;
      case Token::kDoubleEquals:
        requirement.op = Operator::kDoubleEquals;
        break;
      case Token::kNotEquals:
        requirement.op = Operator::kNotEquals;
        break;
      case Token::kGreaterThan:
        requirement.op = Operator::kGreaterThan;
        break;
      case Token::kLessThan:
        requirement.op = Operator::kLessThan;
        break;
      default:
        return ParseError(absl::StrCat("found '", ToAbsl(op.literal),
                                       "', expected: in, notin, =, ==, !=, gt, lt"));
    }

    if (requirement.op == Operator::kIn || requirement.op == Operator::kNotIn) {
      auto values = ParseValues();
      if (!values.ok()) {
        return values.status();
      }
      requirement.values = *std::move(values);
      if (requirement.values.size() > kMaxValuesPerRequirement) {
        return ParseError(absl::StrCat(
            "the value list of key ", GoQuote(requirement.key), " has ", requirement.values.size(),
            " values, more than the limit of ", kMaxValuesPerRequirement));
      }
    } else {
      auto value = ParseExactValue();
      if (!value.ok()) {
        return value.status();
      }
      requirement.values.push_back(*std::move(value));
    }
    if (auto error = ValidateValues(requirement); !error.empty()) {
      return ParseError(error);
    }
    return requirement;
  }

  // `(` valuelist? `)` as a sorted, de-duplicated set.
  absl::StatusOr<std::vector<std::string>> ParseValues() {
    const Item open = Consume(Context::kValues);
    if (open.token != Token::kOpenPar) {
      return ParseError(absl::StrCat("found '", ToAbsl(open.literal), "' expected: '('"));
    }
    const Item first = Lookahead(Context::kValues);
    std::vector<std::string> values;
    switch (first.token) {
      case Token::kClosedPar:
        Consume(Context::kValues);
        values.emplace_back();
        return values;
      case Token::kIdentifier:
      case Token::kComma:
        break;
      default:
        return ParseError(
            absl::StrCat("found '", ToAbsl(first.literal), "', expected: ',', ')' or identifier"));
    }
    // Go's parseIdentifiersList: an empty slot before, between or after commas is "".
    while (true) {
      const Item item = Consume(Context::kValues);
      if (item.token == Token::kIdentifier) {
        values.emplace_back(item.literal);
        const Item next = Lookahead(Context::kValues);
        if (next.token == Token::kClosedPar) {
          break;
        }
        if (next.token != Token::kComma) {
          return ParseError(
              absl::StrCat("found '", ToAbsl(next.literal), "', expected: ',' or ')'"));
        }
      } else if (item.token == Token::kComma) {
        if (values.empty()) {
          values.emplace_back();
        }
        const Token next = Lookahead(Context::kValues).token;
        if (next == Token::kClosedPar) {
          values.emplace_back();
          break;
        }
        if (next == Token::kComma) {
          Consume(Context::kValues);
          values.emplace_back();
        }
      } else {
        return ParseError(
            absl::StrCat("found '", ToAbsl(item.literal), "', expected: ',', or identifier"));
      }
    }
    Consume(Context::kValues);  // the ')' seen by the loop
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
    return values;
  }

  // The value after =, ==, !=, >, <; missing (end or ',') means "".
  absl::StatusOr<std::string> ParseExactValue() {
    const Token next = Lookahead(Context::kValues).token;
    if (next == Token::kEnd || next == Token::kComma) {
      return std::string();
    }
    const Item item = Consume(Context::kValues);
    if (item.token != Token::kIdentifier) {
      return ParseError(absl::StrCat("found '", ToAbsl(item.literal), "', expected: identifier"));
    }
    return std::string(item.literal);
  }

  // labels.NewRequirement's value checks; the parser already guarantees the value counts.
  static std::string ValidateValues(const Requirement& requirement) {
    std::vector<std::string> errors;
    size_t total = 0;
    const auto add = [&](std::string error) {
      ++total;
      if (errors.size() < kMaxReportedErrors) {
        errors.push_back(std::move(error));
      }
    };
    const bool numeric =
        requirement.op == Operator::kGreaterThan || requirement.op == Operator::kLessThan;
    for (size_t i = 0; numeric && i < requirement.values.size(); ++i) {
      if (!ParseGoInt64(requirement.values[i]).has_value()) {
        add(InvalidField(absl::StrCat("values[", i, "]"), requirement.values[i],
                         {"for 'Gt', 'Lt' operators, the value must be an integer"}));
      }
    }
    for (size_t i = 0; i < requirement.values.size(); ++i) {
      if (auto details = LabelValueErrors(requirement.values[i]); !details.empty()) {
        add(InvalidField(absl::StrCat("values[", i, "][", requirement.key, "]"),
                         requirement.values[i], details));
      }
    }
    return errors.empty() ? std::string() : AggregateErrors(errors, total);
  }

  std::vector<Item> items_;
  size_t position_ = 0;
};

bool HasValue(const Requirement& requirement, std::string_view value) {
  return std::binary_search(requirement.values.begin(), requirement.values.end(), value);
}

bool RequirementMatches(const Requirement& requirement, const model::LabelSet& labels) {
  const auto it = labels.find(requirement.key);
  const bool present = it != labels.end();
  switch (requirement.op) {
    case Operator::kEquals:
    case Operator::kDoubleEquals:
    case Operator::kIn:
      return present && HasValue(requirement, it->second);
    case Operator::kNotEquals:
    case Operator::kNotIn:
      return !present || !HasValue(requirement, it->second);
    case Operator::kExists:
      return present;
    case Operator::kDoesNotExist:
      return !present;
    case Operator::kGreaterThan:
    case Operator::kLessThan: {
      if (!present || requirement.values.size() != 1) {
        return false;
      }
      const auto have = ParseGoInt64(it->second);
      const auto want = ParseGoInt64(requirement.values.front());
      if (!have.has_value() || !want.has_value()) {
        return false;
      }
      return requirement.op == Operator::kGreaterThan ? *have > *want : *have < *want;
    }
  }
  return false;
}

std::string RequirementString(const Requirement& requirement) {
  std::string out;
  if (requirement.op == Operator::kDoesNotExist) {
    out += '!';
  }
  out += requirement.key;
  switch (requirement.op) {
    case Operator::kExists:
    case Operator::kDoesNotExist:
      return out;
    case Operator::kEquals:
      out += '=';
      break;
    case Operator::kDoubleEquals:
      out += "==";
      break;
    case Operator::kNotEquals:
      out += "!=";
      break;
    case Operator::kGreaterThan:
      out += '>';
      break;
    case Operator::kLessThan:
      out += '<';
      break;
    case Operator::kIn:
    case Operator::kNotIn:
      absl::StrAppend(&out, requirement.op == Operator::kIn ? " in (" : " notin (",
                      absl::StrJoin(requirement.values, ","), ")");
      return out;
  }
  out += absl::StrJoin(requirement.values, ",");
  return out;
}

}  // namespace

absl::StatusOr<LabelSelector> LabelSelector::Parse(std::string_view text) {
  if (text.size() > kMaxSelectorBytes) {
    return absl::InvalidArgumentError(absl::StrCat("label selector is ", text.size(),
                                                   " bytes long, more than the limit of ",
                                                   kMaxSelectorBytes, " bytes"));
  }
  Parser parser(Lex(text));
  auto requirements = parser.Parse();
  if (!requirements.ok()) {
    return requirements.status();
  }
  LabelSelector selector;
  selector.requirements_ = *std::move(requirements);
  std::stable_sort(selector.requirements_.begin(), selector.requirements_.end(),
                   [](const Requirement& a, const Requirement& b) { return a.key < b.key; });
  return selector;
}

bool LabelSelector::Matches(const model::LabelSet& labels) const {
  return std::all_of(requirements_.begin(), requirements_.end(),
                     [&labels](const Requirement& r) { return RequirementMatches(r, labels); });
}

std::string LabelSelector::String() const {
  std::vector<std::string> parts;
  parts.reserve(requirements_.size());
  for (const auto& requirement : requirements_) {
    parts.push_back(RequirementString(requirement));
  }
  return absl::StrJoin(parts, ",");
}

}  // namespace ma::selector
