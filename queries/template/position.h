#pragma once

// Turns a byte offset into the "line:column" shape of Go template errors.

#include <cstddef>
#include <string>
#include <string_view>

namespace ma::tmpl {

// 1-based line and 1-based byte column of `offset` within `source` ("3:14").
std::string LineColumn(std::string_view source, size_t offset);

}  // namespace ma::tmpl
