#include "queries/template/template.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "queries/base/status_macros.h"
#include "queries/template/exec.h"
#include "queries/template/lexer.h"
#include "queries/template/parser.h"

namespace ma::tmpl {

struct Template::Compiled {
  std::string source;
  std::vector<std::string> fields;
  ParsedTemplate parsed;
};

absl::StatusOr<Template> Template::Compile(std::string_view text,
                                           const std::vector<std::string>& allowed_fields) {
  if (text.size() > kMaxTemplateBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "template: ", text.size(), " bytes exceeds the limit of ", kMaxTemplateBytes, " bytes"));
  }
  auto compiled = std::make_shared<Compiled>();
  compiled->source = std::string(text);
  compiled->fields = allowed_fields;
  MA_ASSIGN_OR_RETURN(const std::vector<Token> tokens, Lex(compiled->source, kMaxNestingDepth));
  MA_ASSIGN_OR_RETURN(compiled->parsed,
                      Parse(compiled->source, tokens, compiled->fields, kMaxNestingDepth));
  Template result;
  result.compiled_ = std::move(compiled);
  return result;
}

absl::StatusOr<std::string> Template::Render(const Data& data) const {
  return Execute(compiled_->source, compiled_->parsed.root, compiled_->fields, data);
}

bool Template::References(std::string_view field) const {
  return compiled_->parsed.referenced_fields.find(field) !=
         compiled_->parsed.referenced_fields.end();
}

const std::string& Template::source() const { return compiled_->source; }

}  // namespace ma::tmpl
