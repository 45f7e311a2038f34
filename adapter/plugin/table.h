#pragma once

// Columns aligned as kubectl prints them (Go's tabwriter with 3 spaces of padding): each cell but
// the last of a row is padded to its column's widest cell plus three spaces. Pure.

#include <string>
#include <vector>

namespace ma::plugin {

using Row = std::vector<std::string>;

// `header` (upper-case, as kubectl's) then `rows`; every line ends with '\n', none with spaces.
std::string FormatTable(const Row& header, const std::vector<Row>& rows);

}  // namespace ma::plugin
