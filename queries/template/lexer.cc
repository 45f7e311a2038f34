#include "queries/template/lexer.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "queries/base/status_macros.h"
#include "queries/base/strings.h"
#include "queries/template/position.h"

namespace ma::tmpl {
namespace {

constexpr std::string_view kLeftDelim = "<<";
constexpr std::string_view kRightDelim = ">>";
constexpr std::string_view kLeftComment = "/*";
constexpr std::string_view kRightComment = "*/";
constexpr size_t kTrimMarkerLen = 2;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool IsAlphaNumeric(char c) {
  return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool HasLeftTrimMarker(std::string_view s) { return s.size() >= 2 && s[0] == '-' && IsSpace(s[1]); }

bool HasRightTrimMarker(std::string_view s) {
  return s.size() >= 2 && IsSpace(s[0]) && s[1] == '-';
}

TokenKind KeywordOr(std::string_view word, TokenKind otherwise) {
  struct Keyword {
    std::string_view word;
    TokenKind kind;
  };
  static constexpr Keyword kKeywords[] = {
      {"if", TokenKind::kIf},
      {"else", TokenKind::kElse},
      {"end", TokenKind::kEnd},
      {"range", TokenKind::kRange},
      {"with", TokenKind::kWith},
      {"break", TokenKind::kBreak},
      {"continue", TokenKind::kContinue},
      {"nil", TokenKind::kNil},
      {"define", TokenKind::kDefine},
      {"template", TokenKind::kTemplate},
      {"block", TokenKind::kBlock},
  };
  for (const auto& keyword : kKeywords) {
    if (keyword.word == word) {
      return keyword.kind;
    }
  }
  return otherwise;
}

class Lexer {
 public:
  Lexer(std::string_view source, int max_paren_depth)
      : src_(source), max_paren_depth_(max_paren_depth) {}

  absl::StatusOr<std::vector<Token>> Run() {
    while (true) {
      if (!inside_action_) {
        if (pos_ >= src_.size()) {
          Emit(TokenKind::kEof, pos_, pos_);
          return std::move(tokens_);
        }
        MA_RETURN_IF_ERROR(LexText());
      } else {
        MA_RETURN_IF_ERROR(LexInsideAction());
      }
    }
  }

 private:
  void Emit(TokenKind kind, size_t begin, size_t end) {
    tokens_.push_back({kind, src_.substr(begin, end - begin), begin});
  }

  absl::Status Error(size_t at, std::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("template: ", LineColumn(src_, at), ": ", ToAbsl(what)));
  }

  std::string_view Rest() const { return src_.substr(pos_); }
  char Peek() const { return pos_ < src_.size() ? src_[pos_] : '\0'; }
  bool AtEnd() const { return pos_ >= src_.size(); }

  // Whether the input at pos_ is a right delimiter, and whether it carries a trim marker.
  bool AtRightDelim(bool& trim) const {
    const std::string_view rest = Rest();
    if (HasRightTrimMarker(rest) && rest.substr(kTrimMarkerLen).substr(0, 2) == kRightDelim) {
      trim = true;
      return true;
    }
    trim = false;
    return rest.substr(0, 2) == kRightDelim;
  }

  void SkipLeadingSpace() {
    while (pos_ < src_.size() && IsSpace(src_[pos_])) {
      ++pos_;
    }
  }

  absl::Status LexText() {
    const size_t start = pos_;
    const size_t found = src_.find(kLeftDelim, pos_);
    if (found == std::string_view::npos) {
      Emit(TokenKind::kText, start, src_.size());
      pos_ = src_.size();
      return absl::OkStatus();
    }
    size_t text_end = found;
    if (HasLeftTrimMarker(src_.substr(found + kLeftDelim.size()))) {
      while (text_end > start && IsSpace(src_[text_end - 1])) {
        --text_end;
      }
    }
    if (text_end > start) {
      Emit(TokenKind::kText, start, text_end);
    }
    pos_ = found;
    return LexLeftDelim();
  }

  absl::Status LexLeftDelim() {
    const size_t delim_pos = pos_;
    pos_ += kLeftDelim.size();
    const bool trim = HasLeftTrimMarker(Rest());
    const size_t after_marker = trim ? kTrimMarkerLen : 0;
    if (src_.substr(pos_ + after_marker).substr(0, 2) == kLeftComment) {
      pos_ += after_marker;
      return LexComment(delim_pos);
    }
    Emit(TokenKind::kLeftDelim, delim_pos, pos_);
    pos_ += after_marker;
    inside_action_ = true;
    paren_depth_ = 0;
    action_start_ = delim_pos;
    return absl::OkStatus();
  }

  absl::Status LexComment(size_t delim_pos) {
    pos_ += kLeftComment.size();
    const size_t end = src_.find(kRightComment, pos_);
    if (end == std::string_view::npos) {
      return Error(delim_pos, "unclosed comment");
    }
    pos_ = end + kRightComment.size();
    bool trim = false;
    if (!AtRightDelim(trim)) {
      return Error(delim_pos, "comment ends before closing delimiter");
    }
    pos_ += (trim ? kTrimMarkerLen : 0) + kRightDelim.size();
    if (trim) {
      SkipLeadingSpace();
    }
    return absl::OkStatus();
  }

  absl::Status LexRightDelim() {
    bool trim = false;
    AtRightDelim(trim);
    if (trim) {
      pos_ += kTrimMarkerLen;
    }
    Emit(TokenKind::kRightDelim, pos_, pos_ + kRightDelim.size());
    pos_ += kRightDelim.size();
    if (trim) {
      SkipLeadingSpace();
    }
    inside_action_ = false;
    return absl::OkStatus();
  }

  absl::Status LexInsideAction() {
    bool trim = false;
    if (AtRightDelim(trim)) {
      if (paren_depth_ == 0) {
        return LexRightDelim();
      }
      return Error(pos_, "unclosed left paren");
    }
    if (AtEnd()) {
      return Error(action_start_, "unclosed action");
    }
    const size_t start = pos_;
    const char c = src_[pos_];
    if (IsSpace(c)) {
      return LexSpace();
    }
    ++pos_;
    switch (c) {
      case '=':
        Emit(TokenKind::kAssign, start, pos_);
        return absl::OkStatus();
      case ':':
        if (Peek() != '=') {
          return Error(start, "expected :=");
        }
        ++pos_;
        Emit(TokenKind::kDeclare, start, pos_);
        return absl::OkStatus();
      case '|':
        Emit(TokenKind::kPipe, start, pos_);
        return absl::OkStatus();
      case '"':
        return LexQuote(start);
      case '`':
        return LexRawQuote(start);
      case '\'':
        return LexChar(start);
      case '$':
        return LexFieldOrVariable(start, TokenKind::kVariable);
      case '(':
        if (++paren_depth_ > max_paren_depth_) {
          return Error(start, absl::StrCat("parentheses nested deeper than ", max_paren_depth_));
        }
        Emit(TokenKind::kLeftParen, start, pos_);
        return absl::OkStatus();
      case ')':
        if (--paren_depth_ < 0) {
          return Error(start, "unexpected right paren");
        }
        Emit(TokenKind::kRightParen, start, pos_);
        return absl::OkStatus();
      default:
        break;
    }
    if (c == '.' && !AtEnd() && (Peek() < '0' || Peek() > '9')) {
      return LexFieldOrVariable(start, TokenKind::kField);
    }
    if (c == '.' || c == '+' || c == '-' || (c >= '0' && c <= '9')) {
      pos_ = start;
      return LexNumber(start);
    }
    if (IsAlphaNumeric(c)) {
      return LexIdentifier(start);
    }
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7F) {
      Emit(TokenKind::kChar, start, pos_);
      return absl::OkStatus();
    }
    return Error(start, absl::StrFormat("unrecognized character in action: %s",
                                        ToAbsl(GoQuote(src_.substr(start, 1)))));
  }

  absl::Status LexSpace() {
    const size_t start = pos_;
    size_t count = 0;
    while (!AtEnd() && IsSpace(Peek())) {
      ++pos_;
      ++count;
    }
    // " ->>" is a trim-marked delimiter, not a space followed by a '-' operand.
    const std::string_view from_last = src_.substr(pos_ - 1);
    if (HasRightTrimMarker(from_last) &&
        from_last.substr(kTrimMarkerLen).substr(0, 2) == kRightDelim) {
      --pos_;
      if (count == 1) {
        return LexRightDelim();
      }
    }
    Emit(TokenKind::kSpace, start, pos_);
    return absl::OkStatus();
  }

  bool AtTerminator() const {
    if (AtEnd()) {
      return true;
    }
    const char c = Peek();
    if (IsSpace(c)) {
      return true;
    }
    switch (c) {
      case '.':
      case ',':
      case '|':
      case ':':
      case ')':
      case '(':
        return true;
      default:
        return Rest().substr(0, 2) == kRightDelim;
    }
  }

  absl::Status BadCharacter() const {
    return Error(pos_, absl::StrFormat("bad character %s", ToAbsl(GoQuote(src_.substr(pos_, 1)))));
  }

  absl::Status LexFieldOrVariable(size_t start, TokenKind kind) {
    if (AtTerminator()) {
      Emit(kind == TokenKind::kVariable ? TokenKind::kVariable : TokenKind::kDot, start, pos_);
      return absl::OkStatus();
    }
    while (!AtEnd() && IsAlphaNumeric(Peek())) {
      ++pos_;
    }
    if (!AtTerminator()) {
      return BadCharacter();
    }
    Emit(kind, start, pos_);
    return absl::OkStatus();
  }

  absl::Status LexIdentifier(size_t start) {
    while (!AtEnd() && IsAlphaNumeric(Peek())) {
      ++pos_;
    }
    if (!AtTerminator()) {
      return BadCharacter();
    }
    const std::string_view word = src_.substr(start, pos_ - start);
    TokenKind kind = KeywordOr(word, TokenKind::kIdentifier);
    if (kind == TokenKind::kIdentifier && (word == "true" || word == "false")) {
      kind = TokenKind::kBool;
    }
    Emit(kind, start, pos_);
    return absl::OkStatus();
  }

  bool Accept(std::string_view valid) {
    if (!AtEnd() && valid.find(Peek()) != std::string_view::npos) {
      ++pos_;
      return true;
    }
    return false;
  }

  void AcceptRun(std::string_view valid) {
    while (Accept(valid)) {
    }
  }

  // Mirrors Go's scanNumber: the parser decides later whether the text is a valid number.
  bool ScanNumber() {
    Accept("+-");
    std::string_view digits = "0123456789_";
    if (Accept("0")) {
      if (Accept("xX")) {
        digits = "0123456789abcdefABCDEF_";
      } else if (Accept("oO")) {
        digits = "01234567_";
      } else if (Accept("bB")) {
        digits = "01_";
      }
    }
    AcceptRun(digits);
    if (Accept(".")) {
      AcceptRun(digits);
    }
    if (digits.size() == 11 && Accept("eE")) {
      Accept("+-");
      AcceptRun("0123456789_");
    }
    if (digits.size() == 23 && Accept("pP")) {
      Accept("+-");
      AcceptRun("0123456789_");
    }
    Accept("i");
    if (!AtEnd() && IsAlphaNumeric(Peek())) {
      ++pos_;
      return false;
    }
    return true;
  }

  absl::Status LexNumber(size_t start) {
    if (!ScanNumber()) {
      return Error(start, absl::StrFormat("bad number syntax: %s",
                                          ToAbsl(GoQuote(src_.substr(start, pos_ - start)))));
    }
    if (Peek() == '+' || Peek() == '-') {
      return Error(start, "complex numbers are not supported");
    }
    Emit(TokenKind::kNumber, start, pos_);
    return absl::OkStatus();
  }

  absl::Status LexQuote(size_t start) {
    while (true) {
      if (AtEnd() || Peek() == '\n') {
        return Error(start, "unterminated quoted string");
      }
      const char c = src_[pos_++];
      if (c == '\\') {
        if (AtEnd() || Peek() == '\n') {
          return Error(start, "unterminated quoted string");
        }
        ++pos_;
      } else if (c == '"') {
        break;
      }
    }
    Emit(TokenKind::kString, start, pos_);
    return absl::OkStatus();
  }

  absl::Status LexRawQuote(size_t start) {
    const size_t end = src_.find('`', pos_);
    if (end == std::string_view::npos) {
      return Error(start, "unterminated raw quoted string");
    }
    pos_ = end + 1;
    Emit(TokenKind::kRawString, start, pos_);
    return absl::OkStatus();
  }

  absl::Status LexChar(size_t start) {
    while (true) {
      if (AtEnd() || Peek() == '\n') {
        return Error(start, "unterminated character constant");
      }
      const char c = src_[pos_++];
      if (c == '\\') {
        if (AtEnd() || Peek() == '\n') {
          return Error(start, "unterminated character constant");
        }
        ++pos_;
      } else if (c == '\'') {
        break;
      }
    }
    Emit(TokenKind::kCharConstant, start, pos_);
    return absl::OkStatus();
  }

  std::string_view src_;
  int max_paren_depth_;
  size_t pos_ = 0;
  bool inside_action_ = false;
  int paren_depth_ = 0;
  size_t action_start_ = 0;
  std::vector<Token> tokens_;
};

}  // namespace

absl::StatusOr<std::vector<Token>> Lex(std::string_view source, int max_paren_depth) {
  return Lexer(source, max_paren_depth).Run();
}

std::string DescribeToken(const Token& token) {
  switch (token.kind) {
    case TokenKind::kEof:
      return "EOF";
    case TokenKind::kIf:
    case TokenKind::kElse:
    case TokenKind::kEnd:
    case TokenKind::kRange:
    case TokenKind::kWith:
    case TokenKind::kBreak:
    case TokenKind::kContinue:
    case TokenKind::kNil:
    case TokenKind::kDefine:
    case TokenKind::kTemplate:
    case TokenKind::kBlock:
      return absl::StrCat("<", ToAbsl(token.text), ">");
    default:
      break;
  }
  if (token.text.size() > 10) {
    // Go prints "%.10q": the first ten characters, quoted.
    return GoQuote(token.text.substr(0, 10));
  }
  return GoQuote(token.text);
}

}  // namespace ma::tmpl
