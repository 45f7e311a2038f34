#include "queries/rules/naming.h"

#include <re2/re2.h>

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "queries/base/strings.h"

namespace ma::rules {
namespace {

bool IsNameByte(unsigned char c) {
  // Go accepts Unicode letters and digits; every non-ASCII byte is treated as part of a name,
  // which is what a multi-byte letter would be.
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c >= 0x80;
}

struct Reference {
  std::string_view name;
  int number = -1;  // -1: a name, not a group number
  size_t consumed = 0;
};

// Go's regexp.extract: parses the name after a '$'. Returns false for a malformed reference.
bool ExtractReference(std::string_view text, Reference& ref) {
  if (text.empty()) {
    return false;
  }
  size_t i = 0;
  const bool brace = text[0] == '{';
  if (brace) {
    i = 1;
  }
  const size_t name_start = i;
  while (i < text.size() && IsNameByte(static_cast<unsigned char>(text[i]))) {
    ++i;
  }
  if (i == name_start) {
    return false;
  }
  ref.name = text.substr(name_start, i - name_start);
  if (brace) {
    if (i >= text.size() || text[i] != '}') {
      return false;
    }
    ++i;
  }
  ref.number = 0;
  for (const char c : ref.name) {
    if (c < '0' || c > '9' || ref.number >= 100000000) {
      ref.number = -1;
      break;
    }
    ref.number = ref.number * 10 + (c - '0');
  }
  if (ref.name[0] == '0' && ref.name.size() > 1) {
    ref.number = -1;
  }
  ref.consumed = i;
  return true;
}

}  // namespace

std::string ExpandGoTemplate(const re2::RE2& regex, std::string_view tmpl,
                             const std::string_view* groups, int group_count) {
  std::string out;
  while (!tmpl.empty()) {
    const size_t dollar = tmpl.find('$');
    if (dollar == std::string_view::npos) {
      break;
    }
    out.append(tmpl.substr(0, dollar));
    tmpl.remove_prefix(dollar + 1);
    if (!tmpl.empty() && tmpl[0] == '$') {
      out += '$';
      tmpl.remove_prefix(1);
      continue;
    }
    Reference ref;
    if (!ExtractReference(tmpl, ref)) {
      out += '$';
      continue;
    }
    tmpl.remove_prefix(ref.consumed);
    int index = ref.number;
    if (index < 0) {
      const auto& named = regex.NamedCapturingGroups();
      const auto it = named.find(std::string(ref.name));
      index = it == named.end() ? -1 : it->second;
    }
    if (index >= 0 && index < group_count && groups[index].data() != nullptr) {
      out.append(groups[index]);
    }
  }
  out.append(tmpl);
  return out;
}

absl::StatusOr<NameMatcher> NameMatcher::Create(std::string_view matches, std::string_view as) {
  NameMatcher matcher;
  matcher.pattern_ = matches.empty() ? ".*" : std::string(matches);
  RE2::Options options;
  options.set_log_errors(false);
  auto regex = std::make_shared<const re2::RE2>(matcher.pattern_, options);
  if (!regex->ok()) {
    return absl::InvalidArgumentError(
        Cat("invalid regex \"", matcher.pattern_, "\": ", regex->error()));
  }
  matcher.as_ = std::string(as);
  if (matcher.as_.empty()) {
    const int groups = regex->NumberOfCapturingGroups();
    if (groups == 0) {
      matcher.as_ = "$0";
    } else if (groups == 1) {
      matcher.as_ = "$1";
    } else {
      return absl::InvalidArgumentError(Cat("must specify an 'as' value for name matcher \"",
                                            matcher.pattern_, "\" (it has ", groups,
                                            " capture groups)"));
    }
  }
  matcher.regex_ = std::move(regex);
  return matcher;
}

bool NameMatcher::Matches(std::string_view series_name) const {
  return RE2::PartialMatch(re2::StringPiece(series_name.data(), series_name.size()), *regex_);
}

absl::StatusOr<std::string> NameMatcher::MetricName(std::string_view series_name) const {
  const int group_count = regex_->NumberOfCapturingGroups() + 1;
  std::vector<re2::StringPiece> pieces(static_cast<size_t>(group_count));
  const re2::StringPiece text(series_name.data(), series_name.size());
  if (!regex_->Match(text, 0, text.size(), RE2::UNANCHORED, pieces.data(), group_count)) {
    return absl::NotFoundError(
        Cat("series name \"", series_name, "\" did not match expected pattern \"", pattern_, "\""));
  }
  std::vector<std::string_view> groups;
  groups.reserve(pieces.size());
  for (const auto& piece : pieces) {
    groups.emplace_back(piece.data(), piece.size());
  }
  return ExpandGoTemplate(*regex_, as_, groups.data(), group_count);
}

}  // namespace ma::rules
