#pragma once

// Tokenizer for Go text/template with `<<` `>>` delimiters, following text/template/parse/lex.go:
// trim markers, comments and the action grammar's tokens. Comments produce no token.

#include <cstddef>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace ma::tmpl {

enum class TokenKind {
  kText,
  kLeftDelim,
  kRightDelim,
  kSpace,
  kField,     // ".Name"
  kVariable,  // "$" or "$name"
  kDot,       // "."
  kIdentifier,
  kBool,
  kNumber,
  kCharConstant,
  kString,     // "..." with quotes
  kRawString,  // `...` with quotes
  kPipe,
  kDeclare,  // :=
  kAssign,   // =
  kLeftParen,
  kRightParen,
  kChar,  // any other printable ASCII character, e.g. ','
  kIf,
  kElse,
  kEnd,
  kRange,
  kWith,
  kBreak,
  kContinue,
  kNil,
  kDefine,
  kTemplate,
  kBlock,
  kEof,
};

struct Token {
  TokenKind kind;
  std::string_view text;  // a view into the source (text tokens already trimmed)
  size_t pos;             // byte offset in the source
};

// Splits `source` into tokens ending with kEof. kInvalidArgument ("template: 1:5: unclosed
// action") on a lexical error. Parenthesis nesting is limited to `max_paren_depth`.
absl::StatusOr<std::vector<Token>> Lex(std::string_view source, int max_paren_depth);

// Go's rendering of a token in "unexpected ..." messages.
std::string DescribeToken(const Token& token);

}  // namespace ma::tmpl
