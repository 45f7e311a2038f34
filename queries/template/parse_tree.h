#pragma once

// The parse tree of a compiled template (Go's text/template/parse nodes, reduced to what the
// executor needs). Immutable once built; every position is a byte offset into the source.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ma::tmpl {

struct Pipe;

enum class OperandKind {
  kField,     // .A.B: `fields` = {A, B}
  kVariable,  // $x.A: `text` = "$x", `fields` = {A}
  kDot,
  kNil,
  kBool,
  kNumber,
  kString,    // `text` = unquoted value
  kFunction,  // `text` = builtin name
  kPipe,      // parenthesised pipeline
  kChain,     // (pipeline).A.B: `base` then `fields`
};

struct Operand {
  OperandKind kind = OperandKind::kDot;
  size_t begin = 0;
  size_t end = 0;
  std::vector<std::string> fields;
  std::string text;
  bool bool_value = false;
  bool number_is_float = false;
  int64_t int_value = 0;
  double float_value = 0;
  std::unique_ptr<Pipe> pipe;
  std::unique_ptr<Operand> base;
};

struct Command {
  size_t begin = 0;
  size_t end = 0;
  std::vector<Operand> args;
};

struct Pipe {
  size_t begin = 0;
  size_t end = 0;
  bool is_assign = false;         // `$x = ...` rather than `$x := ...`
  std::vector<std::string> decl;  // declared variables, "$x"
  std::vector<Command> cmds;
};

enum class NodeKind { kText, kAction, kIf, kRange, kWith, kBreak, kContinue };

struct Node {
  NodeKind kind = NodeKind::kText;
  size_t pos = 0;
  std::string text;             // kText
  std::unique_ptr<Pipe> pipe;   // kAction, kIf, kRange, kWith
  std::vector<Node> list;       // body of if/range/with
  std::vector<Node> else_list;  // else branch, possibly one nested if/with for "else if"
  bool has_else = false;
};

}  // namespace ma::tmpl
