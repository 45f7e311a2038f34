#include "queries/template/parser.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "queries/base/hex.h"
#include "queries/base/status_macros.h"
#include "queries/base/strings.h"
#include "queries/base/utf8.h"
#include "queries/template/builtins.h"
#include "queries/template/position.h"

namespace ma::tmpl {
namespace {

// strconv.UnquoteChar on body[i...]: appends the decoded character, advances i.
bool UnquoteChar(std::string_view body, size_t& i, char quote, std::string& out) {
  const char c = body[i];
  if (c == quote && quote != '`') {
    return false;
  }
  if (c != '\\') {
    out += c;
    ++i;
    return true;
  }
  if (i + 1 >= body.size()) {
    return false;
  }
  const char e = body[i + 1];
  i += 2;
  switch (e) {
    case 'a':
      out += '\a';
      return true;
    case 'b':
      out += '\b';
      return true;
    case 'f':
      out += '\f';
      return true;
    case 'n':
      out += '\n';
      return true;
    case 'r':
      out += '\r';
      return true;
    case 't':
      out += '\t';
      return true;
    case 'v':
      out += '\v';
      return true;
    case '\\':
      out += '\\';
      return true;
    case '\'':
    case '"':
      if (e != quote) {
        return false;
      }
      out += e;
      return true;
    case 'x':
    case 'u':
    case 'U': {
      const size_t n = e == 'x' ? 2 : (e == 'u' ? 4 : 8);
      if (i + n > body.size()) {
        return false;
      }
      uint32_t v = 0;
      for (size_t k = 0; k < n; ++k) {
        const int d = HexDigitValue(body[i + k]);
        if (d < 0) {
          return false;
        }
        v = (v << 4) | static_cast<uint32_t>(d);
      }
      i += n;
      if (e == 'x') {
        out += static_cast<char>(v);
        return true;
      }
      if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
        return false;
      }
      ::ma::AppendUtf8(out, v);
      return true;
    }
    default:
      if (e >= '0' && e <= '7') {
        if (i + 2 > body.size()) {
          return false;
        }
        uint32_t v = static_cast<uint32_t>(e - '0');
        for (size_t k = 0; k < 2; ++k) {
          const char d = body[i + k];
          if (d < '0' || d > '7') {
            return false;
          }
          v = v * 8 + static_cast<uint32_t>(d - '0');
        }
        if (v > 255) {
          return false;
        }
        i += 2;
        out += static_cast<char>(v);
        return true;
      }
      return false;
  }
}

// strconv.Unquote for "..." and `...` literals.
std::optional<std::string> Unquote(std::string_view quoted) {
  if (quoted.size() < 2) {
    return std::nullopt;
  }
  const std::string_view body = quoted.substr(1, quoted.size() - 2);
  std::string out;
  if (quoted[0] == '`') {
    for (char c : body) {
      if (c != '\r') {  // Go drops carriage returns from raw strings
        out += c;
      }
    }
    return out;
  }
  for (size_t i = 0; i < body.size();) {
    if (!UnquoteChar(body, i, '"', out)) {
      return std::nullopt;
    }
  }
  return out;
}

// A rune literal 'x' as its code point.
std::optional<int64_t> UnquoteRune(std::string_view quoted) {
  if (quoted.size() < 3) {
    return std::nullopt;
  }
  const std::string_view body = quoted.substr(1, quoted.size() - 2);
  if (body[0] != '\\') {
    // One UTF-8 encoded rune.
    const auto b0 = static_cast<unsigned char>(body[0]);
    size_t len = b0 < 0x80 ? 1 : (b0 >= 0xF0 ? 4 : (b0 >= 0xE0 ? 3 : (b0 >= 0xC0 ? 2 : 0)));
    if (len == 0 || len != body.size()) {
      return std::nullopt;
    }
    uint32_t cp = len == 1 ? b0 : (b0 & (0x7Fu >> len));
    for (size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(body[k]);
      if ((b & 0xC0) != 0x80) {
        return std::nullopt;
      }
      cp = (cp << 6) | (b & 0x3Fu);
    }
    return cp;
  }
  std::string decoded;
  size_t i = 0;
  const bool is_byte_escape =
      body.size() > 1 && (body[1] == 'x' || (body[1] >= '0' && body[1] <= '7'));
  if (!UnquoteChar(body, i, '\'', decoded) || i != body.size()) {
    return std::nullopt;
  }
  if (is_byte_escape || decoded.size() == 1) {
    return static_cast<unsigned char>(decoded[0]);
  }
  uint32_t cp = 0;
  const auto b0 = static_cast<unsigned char>(decoded[0]);
  const size_t len = decoded.size();
  cp = b0 & (0x7Fu >> len);
  for (size_t k = 1; k < len; ++k) {
    cp = (cp << 6) | (static_cast<unsigned char>(decoded[k]) & 0x3Fu);
  }
  return cp;
}

// strconv.ParseInt(text, 0, 64) without underscores.
std::optional<int64_t> ParseGoInt(std::string_view text) {
  bool negative = false;
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  int base = 10;
  if (text.size() >= 2 && text[0] == '0') {
    const char p = text[1];
    if (p == 'x' || p == 'X') {
      base = 16, text.remove_prefix(2);
    } else if (p == 'o' || p == 'O') {
      base = 8, text.remove_prefix(2);
    } else if (p == 'b' || p == 'B') {
      base = 2, text.remove_prefix(2);
    } else {
      base = 8, text.remove_prefix(1);
    }
  }
  if (text.empty()) {
    return std::nullopt;
  }
  uint64_t value = 0;
  for (char c : text) {
    const int d = HexDigitValue(c);
    if (d < 0 || d >= base) {
      return std::nullopt;
    }
    if (value > (UINT64_MAX - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base)) {
      return std::nullopt;
    }
    value = value * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
  }
  if (negative ? value > static_cast<uint64_t>(INT64_MAX) + 1 : value > INT64_MAX) {
    return std::nullopt;
  }
  return negative ? static_cast<int64_t>(0 - value) : static_cast<int64_t>(value);
}

std::optional<double> ParseGoFloat(const std::string& text) {
  if (text.empty()) {
    return std::nullopt;
  }
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || errno == ERANGE) {
    return std::nullopt;
  }
  return value;
}

struct ControlEnd {
  enum class What { kNode, kEnd, kElse } what = What::kNode;
  size_t pos = 0;
  TokenKind else_chain = TokenKind::kEof;  // kIf / kWith for "else if" / "else with"
};

struct FieldCheck {
  size_t pos;
  std::string name;
  bool via_dollar;
};

class Parser {
 public:
  Parser(std::string_view source, const std::vector<Token>& tokens,
         const std::vector<std::string>& allowed_fields, int max_depth)
      : src_(source), tokens_(tokens), allowed_(allowed_fields), max_depth_(max_depth) {}

  absl::StatusOr<ParsedTemplate> Run() {
    ParsedTemplate result;
    while (Peek().kind != TokenKind::kEof) {
      ControlEnd end;
      MA_ASSIGN_OR_RETURN(std::optional<Node> node, TextOrAction(end));
      if (end.what != ControlEnd::What::kNode) {
        return Error(end.pos, end.what == ControlEnd::What::kEnd ? "unexpected <<end>>"
                                                                 : "unexpected <<else>>");
      }
      if (node.has_value()) {
        result.root.push_back(*std::move(node));
      }
    }
    MA_RETURN_IF_ERROR(CheckFields());
    result.referenced_fields = std::move(referenced_);
    return result;
  }

 private:
  absl::Status Error(size_t pos, std::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("template: ", LineColumn(src_, pos), ": ", ToAbsl(what)));
  }

  absl::Status Unexpected(const Token& token, std::string_view context) const {
    return Error(token.pos,
                 absl::StrCat("unexpected ", DescribeToken(token), " in ", ToAbsl(context)));
  }

  const Token& Peek() const { return tokens_[std::min(index_, tokens_.size() - 1)]; }
  const Token& Next() {
    const Token& token = Peek();
    if (index_ < tokens_.size()) {
      ++index_;
    }
    return token;
  }
  void Backup() { --index_; }
  const Token& NextNonSpace() {
    while (Peek().kind == TokenKind::kSpace) {
      Next();
    }
    return Next();
  }
  const Token& PeekNonSpace() {
    while (Peek().kind == TokenKind::kSpace) {
      Next();
    }
    return Peek();
  }

  absl::Status Enter(size_t pos) {
    if (++depth_ > max_depth_) {
      return Error(pos, absl::StrCat("template nested deeper than ", max_depth_, " levels"));
    }
    return absl::OkStatus();
  }

  // One text or action; `end` reports <<end>> / <<else>> markers instead of a node.
  absl::StatusOr<std::optional<Node>> TextOrAction(ControlEnd& end) {
    const Token& token = NextNonSpace();
    if (token.kind == TokenKind::kText) {
      Node node;
      node.kind = NodeKind::kText;
      node.pos = token.pos;
      node.text = std::string(token.text);
      return std::optional<Node>(std::move(node));
    }
    if (token.kind == TokenKind::kLeftDelim) {
      return Action(end);
    }
    return Unexpected(token, "input");
  }

  absl::StatusOr<std::optional<Node>> Action(ControlEnd& end) {
    const Token& token = NextNonSpace();
    switch (token.kind) {
      case TokenKind::kDefine:
      case TokenKind::kTemplate:
      case TokenKind::kBlock:
        return Error(token.pos, absl::StrCat("<<", ToAbsl(token.text),
                                             ">> is not supported: metrics-adapter templates are "
                                             "a single template without define/template/block"));
      case TokenKind::kBreak:
      case TokenKind::kContinue: {
        const bool is_break = token.kind == TokenKind::kBreak;
        const std::string context = is_break ? "<<break>>" : "<<continue>>";
        const Token& close = NextNonSpace();
        if (close.kind != TokenKind::kRightDelim) {
          return Unexpected(close, context);
        }
        if (range_depth_ == 0) {
          return Error(token.pos, absl::StrCat(context, " outside <<range>>"));
        }
        Node node;
        node.kind = is_break ? NodeKind::kBreak : NodeKind::kContinue;
        node.pos = token.pos;
        return std::optional<Node>(std::move(node));
      }
      case TokenKind::kElse: {
        end.what = ControlEnd::What::kElse;
        end.pos = token.pos;
        const Token& peek = PeekNonSpace();
        if (peek.kind == TokenKind::kIf || peek.kind == TokenKind::kWith) {
          end.else_chain = peek.kind;
          return std::optional<Node>();
        }
        const Token& close = NextNonSpace();
        if (close.kind != TokenKind::kRightDelim) {
          return Unexpected(close, "else");
        }
        return std::optional<Node>();
      }
      case TokenKind::kEnd: {
        end.what = ControlEnd::What::kEnd;
        end.pos = token.pos;
        const Token& close = NextNonSpace();
        if (close.kind != TokenKind::kRightDelim) {
          return Unexpected(close, "end");
        }
        return std::optional<Node>();
      }
      case TokenKind::kIf:
        return Control(NodeKind::kIf, token.pos);
      case TokenKind::kRange:
        return Control(NodeKind::kRange, token.pos);
      case TokenKind::kWith:
        return Control(NodeKind::kWith, token.pos);
      default:
        break;
    }
    Backup();
    Node node;
    node.kind = NodeKind::kAction;
    node.pos = token.pos;
    MA_ASSIGN_OR_RETURN(node.pipe, ParsePipeline("command", TokenKind::kRightDelim));
    return std::optional<Node>(std::move(node));
  }

  static std::string_view ControlName(NodeKind kind) {
    switch (kind) {
      case NodeKind::kIf:
        return "if";
      case NodeKind::kRange:
        return "range";
      default:
        return "with";
    }
  }

  // Items up to the matching <<end>> or <<else>>.
  absl::Status ItemList(std::vector<Node>& list, ControlEnd& end, NodeKind context,
                        size_t context_pos) {
    while (PeekNonSpace().kind != TokenKind::kEof) {
      ControlEnd item_end;
      MA_ASSIGN_OR_RETURN(std::optional<Node> node, TextOrAction(item_end));
      if (item_end.what != ControlEnd::What::kNode) {
        end = item_end;
        return absl::OkStatus();
      }
      if (node.has_value()) {
        list.push_back(*std::move(node));
      }
    }
    return Error(Peek().pos,
                 absl::StrCat("unexpected EOF: <<", ToAbsl(ControlName(context)), ">> at ",
                              LineColumn(src_, context_pos), " has no matching <<end>>"));
  }

  absl::StatusOr<std::optional<Node>> Control(NodeKind kind, size_t pos) {
    MA_RETURN_IF_ERROR(Enter(pos));
    const size_t saved_vars = vars_.size();
    Node node;
    node.kind = kind;
    node.pos = pos;
    const std::string context(ControlName(kind));
    MA_ASSIGN_OR_RETURN(node.pipe, ParsePipeline(context, TokenKind::kRightDelim));
    const bool outer_root = dot_is_root_;
    if (kind != NodeKind::kIf) {
      dot_is_root_ = false;  // range and with move dot away from the root
    }
    if (kind == NodeKind::kRange) {
      ++range_depth_;
    }
    ControlEnd end;
    MA_RETURN_IF_ERROR(ItemList(node.list, end, kind, pos));
    if (kind == NodeKind::kRange) {
      --range_depth_;
    }
    dot_is_root_ = outer_root;
    if (end.what == ControlEnd::What::kElse) {
      node.has_else = true;
      const bool chained = (kind == NodeKind::kIf && end.else_chain == TokenKind::kIf) ||
                           (kind == NodeKind::kWith && end.else_chain == TokenKind::kWith);
      if (chained) {
        // "<<else if x>>" is "<<else>><<if x>>...<<end>><<end>>" sharing the final <<end>>.
        const Token& keyword = NextNonSpace();
        MA_ASSIGN_OR_RETURN(std::optional<Node> nested, Control(kind, keyword.pos));
        node.else_list.push_back(*std::move(nested));
      } else {
        ControlEnd else_end;
        MA_RETURN_IF_ERROR(ItemList(node.else_list, else_end, kind, pos));
        if (else_end.what != ControlEnd::What::kEnd) {
          return Error(else_end.pos, "expected end; found <<else>>");
        }
      }
    }
    vars_.resize(saved_vars);
    --depth_;
    return std::optional<Node>(std::move(node));
  }

  bool IsOperandStart(TokenKind kind) {
    switch (kind) {
      case TokenKind::kBool:
      case TokenKind::kCharConstant:
      case TokenKind::kDot:
      case TokenKind::kField:
      case TokenKind::kIdentifier:
      case TokenKind::kNumber:
      case TokenKind::kNil:
      case TokenKind::kRawString:
      case TokenKind::kString:
      case TokenKind::kVariable:
      case TokenKind::kLeftParen:
        return true;
      default:
        return false;
    }
  }

  absl::StatusOr<std::unique_ptr<Pipe>> ParsePipeline(const std::string& context, TokenKind end) {
    auto pipe = std::make_unique<Pipe>();
    pipe->begin = PeekNonSpace().pos;
    while (PeekNonSpace().kind == TokenKind::kVariable) {
      const size_t variable_index = index_;
      const Token& variable = Next();
      const Token& after = Peek();
      const Token& next = PeekNonSpace();
      if (next.kind == TokenKind::kAssign || next.kind == TokenKind::kDeclare) {
        pipe->is_assign = next.kind == TokenKind::kAssign;
        NextNonSpace();
        DeclareVariable(*pipe, variable);
        break;
      }
      if (next.kind == TokenKind::kChar && next.text == ",") {
        NextNonSpace();
        DeclareVariable(*pipe, variable);
        if (context == "range" && pipe->decl.size() < 2) {
          const TokenKind peek = PeekNonSpace().kind;
          if (peek == TokenKind::kVariable || peek == TokenKind::kRightDelim ||
              peek == TokenKind::kRightParen) {
            continue;
          }
          return Error(PeekNonSpace().pos, "range can only initialize variables");
        }
        return Error(variable.pos, absl::StrCat("too many declarations in ", context));
      }
      (void)after;
      index_ = variable_index;  // an operand, not a declaration
      break;
    }
    while (true) {
      const Token& token = NextNonSpace();
      if (token.kind == end) {
        pipe->end = token.pos;
        if (pipe->cmds.empty()) {
          return Error(token.pos, absl::StrCat("missing value for ", context));
        }
        for (size_t i = 1; i < pipe->cmds.size(); ++i) {
          switch (pipe->cmds[i].args[0].kind) {
            case OperandKind::kBool:
            case OperandKind::kDot:
            case OperandKind::kNil:
            case OperandKind::kNumber:
            case OperandKind::kString:
              return Error(pipe->cmds[i].begin,
                           absl::StrCat("non executable command in pipeline stage ", i + 1));
            default:
              break;
          }
        }
        return pipe;
      }
      if (!IsOperandStart(token.kind)) {
        return Unexpected(token, context);
      }
      Backup();
      MA_ASSIGN_OR_RETURN(Command command, ParseCommand());
      pipe->cmds.push_back(std::move(command));
    }
  }

  void DeclareVariable(Pipe& pipe, const Token& variable) {
    pipe.decl.emplace_back(variable.text);
    vars_.emplace_back(variable.text);
    if (variable.text == "$") {
      dollar_redeclared_ = true;
    }
  }

  absl::StatusOr<Command> ParseCommand() {
    Command command;
    command.begin = PeekNonSpace().pos;
    command.end = command.begin;
    while (true) {
      PeekNonSpace();
      MA_ASSIGN_OR_RETURN(std::optional<Operand> operand, ParseOperand());
      if (operand.has_value()) {
        command.end = operand->end;
        command.args.push_back(*std::move(operand));
      }
      const Token& token = Next();
      if (token.kind == TokenKind::kSpace) {
        continue;
      }
      if (token.kind == TokenKind::kRightDelim || token.kind == TokenKind::kRightParen) {
        Backup();
      } else if (token.kind != TokenKind::kPipe) {
        return Unexpected(token, "operand");
      }
      break;
    }
    if (command.args.empty()) {
      return Error(command.begin, "empty command");
    }
    return command;
  }

  absl::StatusOr<std::optional<Operand>> ParseOperand() {
    MA_ASSIGN_OR_RETURN(std::optional<Operand> term, ParseTerm());
    if (!term.has_value() || Peek().kind != TokenKind::kField) {
      if (term.has_value()) {
        NoteFieldUse(*term);
      }
      return term;
    }
    std::vector<std::string> fields;
    size_t end = term->end;
    while (Peek().kind == TokenKind::kField) {
      const Token& field = Next();
      fields.emplace_back(field.text.substr(1));
      end = field.pos + field.text.size();
    }
    switch (term->kind) {
      case OperandKind::kField:
      case OperandKind::kVariable:
        term->fields.insert(term->fields.end(), fields.begin(), fields.end());
        term->end = end;
        NoteFieldUse(*term);
        return term;
      case OperandKind::kBool:
      case OperandKind::kString:
      case OperandKind::kNumber:
      case OperandKind::kNil:
      case OperandKind::kDot:
        return Error(
            term->begin,
            absl::StrFormat("unexpected . after term %s",
                            ToAbsl(GoQuote(src_.substr(term->begin, term->end - term->begin)))));
      default: {
        Operand chain;
        chain.kind = OperandKind::kChain;
        chain.begin = term->begin;
        chain.end = end;
        chain.fields = std::move(fields);
        chain.base = std::make_unique<Operand>(*std::move(term));
        return std::optional<Operand>(std::move(chain));
      }
    }
  }

  // Records `.X` / `$.X` for References and, where dot is known to be the root, for the
  // allowed-field check.
  void NoteFieldUse(const Operand& operand) {
    if (operand.fields.empty()) {
      return;
    }
    if (operand.kind == OperandKind::kField) {
      referenced_.insert(operand.fields[0]);
      if (dot_is_root_) {
        checks_.push_back({operand.begin, operand.fields[0], false});
      }
    } else if (operand.kind == OperandKind::kVariable && operand.text == "$") {
      referenced_.insert(operand.fields[0]);
      checks_.push_back({operand.begin, operand.fields[0], true});
    }
  }

  absl::Status CheckFields() const {
    for (const auto& check : checks_) {
      if (check.via_dollar && dollar_redeclared_) {
        continue;
      }
      if (std::find(allowed_.begin(), allowed_.end(), check.name) != allowed_.end()) {
        continue;
      }
      std::vector<std::string> known = allowed_;
      std::sort(known.begin(), known.end());
      return Error(
          check.pos,
          absl::StrCat("unknown field .", check.name, "; known fields: ",
                       absl::StrJoin(known, ", ", [](std::string* out, const std::string& f) {
                         absl::StrAppend(out, ".", f);
                       })));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::optional<Operand>> ParseTerm() {
    const Token& token = NextNonSpace();
    Operand operand;
    operand.begin = token.pos;
    operand.end = token.pos + token.text.size();
    switch (token.kind) {
      case TokenKind::kIdentifier:
        if (!IsBuiltin(token.text)) {
          return Error(token.pos,
                       absl::StrFormat("function %s not defined", ToAbsl(GoQuote(token.text))));
        }
        operand.kind = OperandKind::kFunction;
        operand.text = std::string(token.text);
        return std::optional<Operand>(std::move(operand));
      case TokenKind::kDot:
        operand.kind = OperandKind::kDot;
        return std::optional<Operand>(std::move(operand));
      case TokenKind::kNil:
        operand.kind = OperandKind::kNil;
        return std::optional<Operand>(std::move(operand));
      case TokenKind::kVariable: {
        const std::string name(token.text);
        if (std::find(vars_.begin(), vars_.end(), name) == vars_.end()) {
          return Error(token.pos, absl::StrFormat("undefined variable %s", ToAbsl(GoQuote(name))));
        }
        operand.kind = OperandKind::kVariable;
        operand.text = name;
        return std::optional<Operand>(std::move(operand));
      }
      case TokenKind::kField:
        operand.kind = OperandKind::kField;
        operand.fields.emplace_back(token.text.substr(1));
        return std::optional<Operand>(std::move(operand));
      case TokenKind::kBool:
        operand.kind = OperandKind::kBool;
        operand.bool_value = token.text == "true";
        return std::optional<Operand>(std::move(operand));
      case TokenKind::kCharConstant: {
        const std::optional<int64_t> rune = UnquoteRune(token.text);
        if (!rune.has_value()) {
          return Error(token.pos,
                       absl::StrFormat("malformed character constant: %s", ToAbsl(token.text)));
        }
        operand.kind = OperandKind::kNumber;
        operand.int_value = *rune;
        operand.text = "rune";
        return std::optional<Operand>(std::move(operand));
      }
      case TokenKind::kNumber:
        MA_RETURN_IF_ERROR(ParseNumber(token, operand));
        return std::optional<Operand>(std::move(operand));
      case TokenKind::kLeftParen: {
        MA_RETURN_IF_ERROR(Enter(token.pos));
        operand.kind = OperandKind::kPipe;
        MA_ASSIGN_OR_RETURN(operand.pipe,
                            ParsePipeline("parenthesized pipeline", TokenKind::kRightParen));
        operand.end = operand.pipe->end + 1;  // the closing parenthesis
        --depth_;
        return std::optional<Operand>(std::move(operand));
      }
      case TokenKind::kString:
      case TokenKind::kRawString: {
        std::optional<std::string> value = Unquote(token.text);
        if (!value.has_value()) {
          return Error(token.pos,
                       absl::StrFormat("invalid syntax in string literal %s", ToAbsl(token.text)));
        }
        operand.kind = OperandKind::kString;
        operand.text = *std::move(value);
        return std::optional<Operand>(std::move(operand));
      }
      default:
        Backup();
        return std::optional<Operand>();
    }
  }

  absl::Status ParseNumber(const Token& token, Operand& operand) const {
    std::string text;
    for (char c : token.text) {
      if (c != '_') {
        text += c;
      }
    }
    if (!text.empty() && text.back() == 'i') {
      return Error(token.pos, "complex numbers are not supported");
    }
    operand.kind = OperandKind::kNumber;
    const bool hex = text.find_first_of("xX") != std::string::npos;
    const bool float_syntax = hex ? text.find_first_of(".pP") != std::string::npos
                                  : text.find_first_of(".eE") != std::string::npos;
    if (!float_syntax) {
      if (const auto value = ParseGoInt(text)) {
        operand.int_value = *value;
        return absl::OkStatus();
      }
      const size_t digits = text.find_first_not_of("+-");
      if (digits < 2 && text.find_first_not_of("0123456789", digits) == std::string::npos) {
        return Error(token.pos, absl::StrCat(ToAbsl(token.text), " overflows int"));
      }
    } else if (const auto value = ParseGoFloat(text)) {
      operand.number_is_float = true;
      operand.float_value = *value;
      return absl::OkStatus();
    }
    return Error(token.pos,
                 absl::StrFormat("illegal number syntax: %s", ToAbsl(GoQuote(token.text))));
  }

  std::string_view src_;
  const std::vector<Token>& tokens_;
  const std::vector<std::string>& allowed_;
  int max_depth_;
  size_t index_ = 0;
  int depth_ = 0;
  int range_depth_ = 0;
  bool dot_is_root_ = true;
  bool dollar_redeclared_ = false;
  std::vector<std::string> vars_ = {"$"};
  std::vector<FieldCheck> checks_;
  std::set<std::string, std::less<>> referenced_;
};

}  // namespace

absl::StatusOr<ParsedTemplate> Parse(std::string_view source, const std::vector<Token>& tokens,
                                     const std::vector<std::string>& allowed_fields,
                                     int max_depth) {
  return Parser(source, tokens, allowed_fields, max_depth).Run();
}

}  // namespace ma::tmpl
