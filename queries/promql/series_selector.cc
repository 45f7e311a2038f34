#include "queries/promql/series_selector.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "queries/base/hex.h"
#include "queries/base/status_macros.h"
#include "queries/base/strings.h"
#include "queries/base/utf8.h"
#include "re2/re2.h"

namespace ma::promql {
namespace {

// RE2's own default, stated so that a pathological seriesQuery regex is bounded by a named limit.
constexpr int64_t kMaxRegexMemoryBytes = 8 << 20;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool MatcherMatches(const LabelMatcher& matcher, std::string_view value) {
  switch (matcher.op) {
    case MatchOp::kEqual:
      return value == matcher.value;
    case MatchOp::kNotEqual:
      return value != matcher.value;
    case MatchOp::kRegexMatch:
      return RE2::FullMatch(re2::StringPiece(value.data(), value.size()), *matcher.regex);
    case MatchOp::kRegexNoMatch:
      return !RE2::FullMatch(re2::StringPiece(value.data(), value.size()), *matcher.regex);
  }
  return false;
}

std::string_view OpText(MatchOp op) {
  switch (op) {
    case MatchOp::kEqual:
      return "=";
    case MatchOp::kNotEqual:
      return "!=";
    case MatchOp::kRegexMatch:
      return "=~";
    case MatchOp::kRegexNoMatch:
      return "!~";
  }
  return "?";
}

// A recursive-descent parser for the vector-selector subset of PromQL that seriesQuery uses.
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  absl::StatusOr<std::vector<LabelMatcher>> Parse() {
    std::vector<LabelMatcher> matchers;
    SkipSpace();
    if (AtEnd()) {
      return Error(pos_, "empty series selector");
    }
    const size_t start = pos_;
    std::optional<std::string> metric_name;
    if (IsLetter(Peek()) || Peek() == ':') {
      metric_name = ReadName(/*allow_colon=*/true);
      matchers.push_back({"__name__", MatchOp::kEqual, *metric_name, nullptr});
      SkipSpace();
      if (AtEnd()) {
        return matchers;
      }
    }
    if (Peek() != '{') {
      const std::string_view expected =
          metric_name.has_value() ? " after the metric name" : ", expected a metric name or '{'";
      return Error(pos_, absl::StrCat("unexpected ", CharText(), ToAbsl(expected)));
    }
    ++pos_;
    while (true) {
      SkipSpace();
      if (AtEnd()) {
        return Error(pos_, "unexpected end of input inside braces, expected a label name or '}'");
      }
      if (Peek() == '}') {
        ++pos_;
        break;
      }
      const size_t matcher_pos = pos_;
      auto matcher = ParseMatcher();
      if (!matcher.ok()) {
        return matcher.status();
      }
      if (metric_name.has_value() && matcher->name == "__name__") {
        return Error(matcher_pos,
                     absl::StrCat("metric name must not be set twice: ", GoQuote(*metric_name),
                                  " or ", GoQuote(matcher->value)));
      }
      matchers.push_back(*std::move(matcher));
      SkipSpace();
      if (AtEnd()) {
        return Error(pos_, "unexpected end of input inside braces, expected ',' or '}'");
      }
      if (Peek() == ',') {
        ++pos_;
        continue;
      }
      if (Peek() == '}') {
        ++pos_;
        break;
      }
      return Error(pos_, absl::StrCat("unexpected ", CharText(),
                                      " in label matching, expected "
                                      "',' or '}'"));
    }
    SkipSpace();
    if (!AtEnd()) {
      return Error(pos_, absl::StrCat("unexpected ", CharText(),
                                      " after the series selector (only a metric name and label "
                                      "matchers are allowed)"));
    }
    bool any_non_empty = false;
    for (const auto& matcher : matchers) {
      any_non_empty = any_non_empty || !MatcherMatches(matcher, "");
    }
    if (!any_non_empty) {
      return Error(start, "vector selector must contain at least one non-empty matcher");
    }
    return matchers;
  }

 private:
  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return text_[pos_]; }

  void SkipSpace() {
    while (!AtEnd() && IsSpace(Peek())) {
      ++pos_;
    }
  }

  // The character at the current position, quoted for an error message.
  std::string CharText() const {
    if (AtEnd()) {
      return "end of input";
    }
    return GoQuote(text_.substr(pos_, 1));
  }

  absl::Status Error(size_t pos, std::string_view message) const {
    return absl::InvalidArgumentError(
        absl::StrCat("series selector parse error at byte ", pos, ": ", ToAbsl(message)));
  }

  // `[a-zA-Z_][a-zA-Z0-9_]*`, with ':' too for metric names; the caller checked the first byte.
  std::string ReadName(bool allow_colon) {
    const size_t start = pos_;
    while (!AtEnd() && (IsLetter(Peek()) || IsDigit(Peek()) || (allow_colon && Peek() == ':'))) {
      ++pos_;
    }
    return std::string(text_.substr(start, pos_ - start));
  }

  absl::StatusOr<LabelMatcher> ParseMatcher() {
    LabelMatcher matcher;
    if (!IsLetter(Peek())) {
      return Error(pos_, absl::StrCat("unexpected ", CharText(),
                                      " in label matching, expected a label name "
                                      "([a-zA-Z_][a-zA-Z0-9_]*)"));
    }
    matcher.name = ReadName(/*allow_colon=*/false);
    SkipSpace();
    const std::string_view rest = text_.substr(pos_);
    if (rest.starts_with("=~")) {
      matcher.op = MatchOp::kRegexMatch;
    } else if (rest.starts_with("!~")) {
      matcher.op = MatchOp::kRegexNoMatch;
    } else if (rest.starts_with("!=")) {
      matcher.op = MatchOp::kNotEqual;
    } else if (rest.starts_with("==")) {
      return Error(pos_, "unexpected \"==\" in label matching, expected one of =, !=, =~, !~");
    } else if (rest.starts_with("=")) {
      matcher.op = MatchOp::kEqual;
    } else {
      return Error(pos_, absl::StrCat("unexpected ", CharText(), " after label name ",
                                      GoQuote(matcher.name), ", expected one of =, !=, =~, !~"));
    }
    pos_ += OpText(matcher.op).size();
    SkipSpace();
    const size_t value_pos = pos_;
    auto value = ParseString();
    if (!value.ok()) {
      return value.status();
    }
    matcher.value = *std::move(value);
    if (matcher.op == MatchOp::kRegexMatch || matcher.op == MatchOp::kRegexNoMatch) {
      RE2::Options options;
      options.set_log_errors(false);
      // Prometheus compiles with Go's DotNL flag: '.' also matches a newline.
      options.set_dot_nl(true);
      options.set_max_mem(kMaxRegexMemoryBytes);
      auto regex = std::make_shared<const RE2>(absl::StrCat("^(?:", matcher.value, ")$"), options);
      if (!regex->ok()) {
        return Error(value_pos,
                     absl::StrCat("invalid regular expression ", GoQuote(matcher.value),
                                  " for label ", GoQuote(matcher.name), ": ", regex->error()));
      }
      matcher.regex = std::move(regex);
    }
    return matcher;
  }

  // A PromQL string literal: "double" or 'single' with Go escapes, or `raw`.
  absl::StatusOr<std::string> ParseString() {
    if (AtEnd()) {
      return Error(pos_, "unexpected end of input, expected a quoted string");
    }
    const char quote = Peek();
    if (quote != '"' && quote != '\'' && quote != '`') {
      return Error(pos_, absl::StrCat("unexpected ", CharText(),
                                      ", expected a quoted string (\"...\", '...' or `...`)"));
    }
    const size_t open = pos_;
    ++pos_;
    std::string out;
    if (quote == '`') {
      const size_t close = text_.find('`', pos_);
      if (close == std::string_view::npos) {
        return Error(open, "unterminated raw string");
      }
      out = std::string(text_.substr(pos_, close - pos_));
      pos_ = close + 1;
      return out;
    }
    while (true) {
      if (AtEnd() || Peek() == '\n') {
        return Error(open, "unterminated quoted string");
      }
      const char c = Peek();
      if (c == quote) {
        ++pos_;
        return out;
      }
      if (c != '\\') {
        out += c;
        ++pos_;
        continue;
      }
      const size_t escape_pos = pos_;
      ++pos_;
      if (AtEnd()) {
        return Error(open, "unterminated quoted string");
      }
      MA_RETURN_IF_ERROR(ParseEscape(quote, escape_pos, out));
    }
  }

  // Go's strconv.UnquoteChar after the backslash, as Prometheus's lexer accepts it.
  absl::Status ParseEscape(char quote, size_t escape_pos, std::string& out) {
    const char c = Peek();
    ++pos_;
    switch (c) {
      case 'a':
        out += '\a';
        return absl::OkStatus();
      case 'b':
        out += '\b';
        return absl::OkStatus();
      case 'f':
        out += '\f';
        return absl::OkStatus();
      case 'n':
        out += '\n';
        return absl::OkStatus();
      case 'r':
        out += '\r';
        return absl::OkStatus();
      case 't':
        out += '\t';
        return absl::OkStatus();
      case 'v':
        out += '\v';
        return absl::OkStatus();
      case '\\':
        out += '\\';
        return absl::OkStatus();
      case 'x':
      case 'u':
      case 'U': {
        const size_t digits = c == 'x' ? 2 : (c == 'u' ? 4 : 8);
        uint32_t value = 0;
        for (size_t i = 0; i < digits; ++i) {
          const int digit = AtEnd() ? -1 : HexDigitValue(Peek());
          if (digit < 0) {
            return Error(escape_pos, absl::StrCat("invalid escape sequence: \\", std::string(1, c),
                                                  " needs ", digits, " hex digits"));
          }
          value = value * 16 + static_cast<uint32_t>(digit);
          ++pos_;
        }
        if (c == 'x') {
          out += static_cast<char>(value);
        } else if (value > 0x10FFFF || (value >= 0xD800 && value < 0xE000)) {
          return Error(escape_pos, "escape sequence is an invalid Unicode code point");
        } else {
          ::ma::AppendUtf8(out, value);
        }
        return absl::OkStatus();
      }
      default:
        break;
    }
    if (c == quote) {
      out += c;
      return absl::OkStatus();
    }
    if (c >= '0' && c <= '7') {
      uint32_t value = static_cast<uint32_t>(c - '0');
      for (int i = 0; i < 2; ++i) {
        if (AtEnd() || Peek() < '0' || Peek() > '7') {
          return Error(escape_pos, "invalid escape sequence: octal escapes need 3 digits");
        }
        value = value * 8 + static_cast<uint32_t>(Peek() - '0');
        ++pos_;
      }
      if (value > 255) {
        return Error(escape_pos, "invalid escape sequence: octal value above \\377");
      }
      out += static_cast<char>(value);
      return absl::OkStatus();
    }
    return Error(escape_pos,
                 absl::StrCat("unknown escape sequence ", GoQuote(text_.substr(escape_pos, 2))));
  }

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

absl::StatusOr<SeriesSelector> SeriesSelector::Parse(std::string_view text) {
  if (text.size() > kMaxSeriesSelectorBytes) {
    return absl::InvalidArgumentError(absl::StrCat("series selector is ", text.size(),
                                                   " bytes long, more than the limit of ",
                                                   kMaxSeriesSelectorBytes, " bytes"));
  }
  Parser parser(text);
  auto matchers = parser.Parse();
  if (!matchers.ok()) {
    return matchers.status();
  }
  SeriesSelector selector;
  selector.matchers_ = *std::move(matchers);
  return selector;
}

bool SeriesSelector::Matches(const model::Series& series) const {
  for (const auto& matcher : matchers_) {
    std::string_view value;
    if (matcher.name == "__name__") {
      value = series.name;
    } else if (auto it = series.labels.find(matcher.name); it != series.labels.end()) {
      value = it->second;
    }
    if (!MatcherMatches(matcher, value)) {
      return false;
    }
  }
  return true;
}

}  // namespace ma::promql
