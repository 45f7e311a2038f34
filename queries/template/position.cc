#include "queries/template/position.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace ma::tmpl {

std::string LineColumn(std::string_view source, size_t offset) {
  offset = std::min(offset, source.size());
  const std::string_view before = source.substr(0, offset);
  const size_t line = 1 + static_cast<size_t>(std::count(before.begin(), before.end(), '\n'));
  const size_t last_newline = before.rfind('\n');
  const size_t column = last_newline == std::string_view::npos ? offset + 1 : offset - last_newline;
  return absl::StrCat(line, ":", column);
}

}  // namespace ma::tmpl
