#include "queries/template/exec.h"

#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "queries/base/status_macros.h"
#include "queries/base/strings.h"
#include "queries/template/builtins.h"
#include "queries/template/go_fmt.h"
#include "queries/template/position.h"
#include "queries/template/runtime_value.h"

namespace ma::tmpl {
namespace {

// Error messages quote at most this much of the failing action.
constexpr size_t kMaxContextBytes = 80;
// A result of this many bytes costs one extra execution step.
constexpr size_t kBytesPerStep = 256;

enum class Flow { kNormal, kBreak, kContinue };

struct Span {
  size_t begin;
  size_t end;
};

class Executor {
 public:
  Executor(std::string_view source, const std::vector<std::string>& root_fields, const Data& data)
      : src_(source) {
    root_.kind = RuntimeValue::Kind::kStruct;
    root_.root = &data;
    root_.root_fields = &root_fields;
    vars_.emplace_back("$", root_);
  }

  absl::StatusOr<std::string> Run(const std::vector<Node>& root) {
    MA_ASSIGN_OR_RETURN(const Flow flow, WalkList(root_, root));
    (void)flow;  // the parser allows break/continue only inside range
    return std::move(out_);
  }

 private:
  absl::Status Error(Span at, std::string_view what) const {
    std::string_view context = src_.substr(at.begin, at.end - at.begin);
    std::string suffix;
    if (context.size() > kMaxContextBytes) {
      context = context.substr(0, kMaxContextBytes);
      suffix = "...";
    }
    return absl::InvalidArgumentError(absl::StrCat("template: ", LineColumn(src_, at.begin),
                                                   ": executing at <", ToAbsl(context), suffix,
                                                   ">: ", ToAbsl(what)));
  }

  absl::Status Step(Span at, size_t bytes = 0) {
    steps_ += 1 + static_cast<int64_t>(bytes / kBytesPerStep);
    if (steps_ > kMaxExecSteps) {
      return absl::ResourceExhaustedError(absl::StrCat("template: ", LineColumn(src_, at.begin),
                                                       ": execution exceeds ", kMaxExecSteps,
                                                       " steps"));
    }
    return absl::OkStatus();
  }

  absl::Status Write(std::string_view s, size_t pos) {
    if (out_.size() + s.size() > kMaxOutputBytes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "template: ", LineColumn(src_, pos), ": output exceeds ", kMaxOutputBytes, " bytes"));
    }
    out_.append(s);
    return absl::OkStatus();
  }

  absl::StatusOr<Flow> WalkList(const RuntimeValue& dot, const std::vector<Node>& list) {
    for (const auto& node : list) {
      MA_ASSIGN_OR_RETURN(const Flow flow, Walk(dot, node));
      if (flow != Flow::kNormal) {
        return flow;
      }
    }
    return Flow::kNormal;
  }

  absl::StatusOr<Flow> Walk(const RuntimeValue& dot, const Node& node) {
    switch (node.kind) {
      case NodeKind::kText:
        MA_RETURN_IF_ERROR(Write(node.text, node.pos));
        return Flow::kNormal;
      case NodeKind::kAction: {
        // Variables declared by an action stay until the enclosing control's end.
        MA_ASSIGN_OR_RETURN(const RuntimeValue value, EvalPipeline(dot, *node.pipe));
        if (node.pipe->decl.empty()) {
          MA_RETURN_IF_ERROR(
              Write(value.kind == RuntimeValue::Kind::kInvalid ? "<no value>" : FormatValue(value),
                    node.pos));
        }
        return Flow::kNormal;
      }
      case NodeKind::kBreak:
        return Flow::kBreak;
      case NodeKind::kContinue:
        return Flow::kContinue;
      case NodeKind::kIf:
      case NodeKind::kWith: {
        const size_t mark = vars_.size();
        MA_ASSIGN_OR_RETURN(const RuntimeValue value, EvalPipeline(dot, *node.pipe));
        absl::StatusOr<Flow> flow = Flow::kNormal;
        if (value.Truth()) {
          flow = WalkList(node.kind == NodeKind::kWith ? value : dot, node.list);
        } else if (node.has_else) {
          flow = WalkList(dot, node.else_list);
        }
        vars_.resize(mark);
        return flow;
      }
      case NodeKind::kRange:
        return WalkRange(dot, node);
    }
    return Flow::kNormal;
  }

  absl::StatusOr<Flow> WalkRange(const RuntimeValue& dot, const Node& node) {
    const size_t outer_mark = vars_.size();
    MA_ASSIGN_OR_RETURN(const RuntimeValue value, EvalPipeline(dot, *node.pipe));
    const size_t mark = vars_.size();
    const Pipe& pipe = *node.pipe;
    const Span span{pipe.begin, pipe.end};
    bool stop = false;
    auto one_iteration = [&](RuntimeValue index, const RuntimeValue& elem) -> absl::Status {
      MA_RETURN_IF_ERROR(Step(span));
      if (!pipe.decl.empty()) {
        if (pipe.is_assign) {
          MA_RETURN_IF_ERROR(SetVar(span, pipe.decl[0],
                                    pipe.decl.size() > 1 ? std::move(index) : RuntimeValue(elem)));
          if (pipe.decl.size() > 1) {
            MA_RETURN_IF_ERROR(SetVar(span, pipe.decl[1], elem));
          }
        } else {
          vars_[mark - 1].second = elem;
          if (pipe.decl.size() > 1) {
            vars_[mark - 2].second = std::move(index);
          }
        }
      }
      absl::StatusOr<Flow> flow = WalkList(elem, node.list);
      vars_.resize(mark);
      if (!flow.ok()) {
        return flow.status();
      }
      stop = *flow == Flow::kBreak;
      return absl::OkStatus();
    };
    absl::Status status;
    bool iterated = false;
    switch (value.kind) {
      case RuntimeValue::Kind::kStrings: {
        const auto strings = value.strings;  // keeps an owned slice alive during the loop
        for (size_t i = 0; i < strings->size() && !stop && status.ok(); ++i) {
          iterated = true;
          status = one_iteration(RuntimeValue::Int(static_cast<int64_t>(i)),
                                 RuntimeValue::String((*strings)[i]));
        }
        break;
      }
      case RuntimeValue::Kind::kMap: {
        const auto map = value.map;
        for (auto it = map->begin(); it != map->end() && !stop && status.ok(); ++it) {
          iterated = true;
          status = one_iteration(RuntimeValue::String(it->first), RuntimeValue::String(it->second));
        }
        break;
      }
      case RuntimeValue::Kind::kInvalid:
      case RuntimeValue::Kind::kNil:
        break;
      default:
        return Error(span, absl::StrCat("range can't iterate over ", FormatValue(value)));
    }
    MA_RETURN_IF_ERROR(status);
    absl::StatusOr<Flow> flow = Flow::kNormal;
    if (!iterated && node.has_else) {
      flow = WalkList(dot, node.else_list);
    }
    vars_.resize(outer_mark);
    return flow;
  }

  absl::Status SetVar(Span at, const std::string& name, RuntimeValue value) {
    for (auto it = vars_.rbegin(); it != vars_.rend(); ++it) {
      if (it->first == name) {
        it->second = std::move(value);
        return absl::OkStatus();
      }
    }
    return Error(at, absl::StrCat("undefined variable: ", name));
  }

  absl::StatusOr<RuntimeValue> LookupVar(Span at, const std::string& name) const {
    for (auto it = vars_.rbegin(); it != vars_.rend(); ++it) {
      if (it->first == name) {
        return it->second;
      }
    }
    return Error(at, absl::StrCat("undefined variable: ", name));
  }

  absl::StatusOr<RuntimeValue> EvalPipeline(const RuntimeValue& dot, const Pipe& pipe) {
    std::optional<RuntimeValue> value;
    for (const auto& cmd : pipe.cmds) {
      MA_ASSIGN_OR_RETURN(RuntimeValue result, EvalCommand(dot, cmd, value));
      // Go unwraps a nil interface result into the invalid value.
      if (result.kind == RuntimeValue::Kind::kNil) {
        result = RuntimeValue::Invalid();
      }
      value = std::move(result);
    }
    RuntimeValue result = value.value_or(RuntimeValue::Invalid());
    for (const auto& name : pipe.decl) {
      if (pipe.is_assign) {
        MA_RETURN_IF_ERROR(SetVar({pipe.begin, pipe.end}, name, result));
      } else {
        vars_.emplace_back(name, result);
      }
    }
    return result;
  }

  absl::Status NotAFunction(const Command& cmd, const std::optional<RuntimeValue>& final) const {
    if (cmd.args.size() > 1 || final.has_value()) {
      const Operand& first = cmd.args[0];
      return Error({first.begin, first.end},
                   absl::StrCat("can't give argument to non-function ",
                                ToAbsl(src_.substr(first.begin, first.end - first.begin))));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<RuntimeValue> EvalCommand(const RuntimeValue& dot, const Command& cmd,
                                           const std::optional<RuntimeValue>& final) {
    MA_RETURN_IF_ERROR(Step({cmd.begin, cmd.end}));
    const Operand& first = cmd.args[0];
    const bool has_args = cmd.args.size() > 1 || final.has_value();
    switch (first.kind) {
      case OperandKind::kField:
        return EvalFieldChain(first, dot, first.fields, has_args);
      case OperandKind::kChain: {
        MA_ASSIGN_OR_RETURN(const RuntimeValue base, EvalArg(dot, *first.base));
        return EvalFieldChain(first, base, first.fields, has_args);
      }
      case OperandKind::kFunction:
        return EvalFunction(dot, cmd, final);
      case OperandKind::kPipe:
        MA_RETURN_IF_ERROR(NotAFunction(cmd, final));
        return EvalPipeline(dot, *first.pipe);
      case OperandKind::kVariable: {
        MA_ASSIGN_OR_RETURN(const RuntimeValue value,
                            LookupVar({first.begin, first.end}, first.text));
        if (first.fields.empty()) {
          MA_RETURN_IF_ERROR(NotAFunction(cmd, final));
          return value;
        }
        return EvalFieldChain(first, value, first.fields, has_args);
      }
      default:
        break;
    }
    MA_RETURN_IF_ERROR(NotAFunction(cmd, final));
    if (first.kind == OperandKind::kNil) {
      return Error({first.begin, first.end}, "nil is not a command");
    }
    return EvalArg(dot, first);
  }

  // .A.B.C on `receiver`; only the last field sees the command's arguments.
  absl::StatusOr<RuntimeValue> EvalFieldChain(const Operand& node, RuntimeValue receiver,
                                              const std::vector<std::string>& fields,
                                              bool has_args) {
    const Span span{node.begin, node.end};
    for (size_t i = 0; i < fields.size(); ++i) {
      const std::string& name = fields[i];
      const bool last = i + 1 == fields.size();
      switch (receiver.kind) {
        case RuntimeValue::Kind::kInvalid:
        case RuntimeValue::Kind::kNil:
          return RuntimeValue::Invalid();
        case RuntimeValue::Kind::kStruct: {
          const auto it = receiver.root->find(name);
          if (it == receiver.root->end()) {
            return Error(span, absl::StrCat("can't evaluate field ", name, " in type struct"));
          }
          if (last && has_args) {
            return Error(span,
                         absl::StrCat(name, " has arguments but cannot be invoked as function"));
          }
          receiver = RuntimeValue::Borrow(it->second);
          break;
        }
        case RuntimeValue::Kind::kMap: {
          if (last && has_args) {
            return Error(span, absl::StrCat(name, " is not a method but has arguments"));
          }
          const auto it = receiver.map->find(name);
          // Unlike index, a missing key is Go's invalid value, printed as "<no value>".
          receiver = it == receiver.map->end() ? RuntimeValue::Invalid()
                                               : RuntimeValue::String(it->second);
          break;
        }
        default:
          return Error(
              span, absl::StrCat("can't evaluate field ", name, " in type ", receiver.TypeName()));
      }
    }
    return receiver;
  }

  absl::StatusOr<RuntimeValue> EvalArg(const RuntimeValue& dot, const Operand& arg) {
    switch (arg.kind) {
      case OperandKind::kDot:
        return dot;
      case OperandKind::kNil:
        return RuntimeValue::Nil();
      case OperandKind::kBool:
        return RuntimeValue::Bool(arg.bool_value);
      case OperandKind::kString:
        return RuntimeValue::String(arg.text);
      case OperandKind::kNumber:
        if (arg.number_is_float) {
          return RuntimeValue::Float(arg.float_value);
        }
        return RuntimeValue::Int(arg.int_value, arg.text == "rune" ? RuntimeValue::IntType::kInt32
                                                                   : RuntimeValue::IntType::kInt);
      case OperandKind::kField:
        return EvalFieldChain(arg, dot, arg.fields, false);
      case OperandKind::kVariable: {
        MA_ASSIGN_OR_RETURN(const RuntimeValue value, LookupVar({arg.begin, arg.end}, arg.text));
        return EvalFieldChain(arg, value, arg.fields, false);
      }
      case OperandKind::kPipe:
        return EvalPipeline(dot, *arg.pipe);
      case OperandKind::kChain: {
        MA_ASSIGN_OR_RETURN(const RuntimeValue base, EvalArg(dot, *arg.base));
        return EvalFieldChain(arg, base, arg.fields, false);
      }
      case OperandKind::kFunction: {
        MA_RETURN_IF_ERROR(Step({arg.begin, arg.end}));
        return CallFunction(dot, arg.text, {}, std::nullopt, {arg.begin, arg.end});
      }
    }
    return RuntimeValue::Invalid();
  }

  absl::StatusOr<RuntimeValue> EvalFunction(const RuntimeValue& dot, const Command& cmd,
                                            const std::optional<RuntimeValue>& final) {
    std::vector<const Operand*> args;
    for (size_t i = 1; i < cmd.args.size(); ++i) {
      args.push_back(&cmd.args[i]);
    }
    return CallFunction(dot, cmd.args[0].text, args, final, {cmd.begin, cmd.end});
  }

  absl::StatusOr<RuntimeValue> CallFunction(const RuntimeValue& dot, const std::string& name,
                                            const std::vector<const Operand*>& args,
                                            const std::optional<RuntimeValue>& final, Span span) {
    if (name == "and" || name == "or") {
      // Short-circuit: later arguments are not evaluated once the result is decided.
      if (args.empty() && !final.has_value()) {
        return Error(span,
                     absl::StrCat("wrong number of args for ", name, ": want at least 1 got 0"));
      }
      RuntimeValue value;
      for (const Operand* arg : args) {
        MA_ASSIGN_OR_RETURN(value, EvalArg(dot, *arg));
        if (value.Truth() == (name == "or")) {
          return value;
        }
      }
      if (final.has_value()) {
        value = *final;
      }
      return value;
    }
    std::vector<RuntimeValue> values;
    values.reserve(args.size() + 1);
    for (const Operand* arg : args) {
      MA_ASSIGN_OR_RETURN(RuntimeValue value, EvalArg(dot, *arg));
      values.push_back(std::move(value));
    }
    if (final.has_value()) {
      values.push_back(*final);
    }
    absl::StatusOr<RuntimeValue> result = CallBuiltin(name, std::move(values));
    if (!result.ok()) {
      return Error(span, ToStd(result.status().message()));
    }
    MA_RETURN_IF_ERROR(Step(span, result->string_value.size()));
    return result;
  }

  std::string_view src_;
  RuntimeValue root_;
  std::vector<std::pair<std::string, RuntimeValue>> vars_;
  std::string out_;
  int64_t steps_ = 0;
};

}  // namespace

absl::StatusOr<std::string> Execute(std::string_view source, const std::vector<Node>& root,
                                    const std::vector<std::string>& root_fields, const Data& data) {
  return Executor(source, root_fields, data).Run(root);
}

}  // namespace ma::tmpl
