#include "adapter/plugin/table.h"

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

namespace ma::plugin {
namespace {

constexpr size_t kPadding = 3;

void AppendRow(const Row& row, const std::vector<size_t>& widths, std::string& out) {
  std::string line;
  for (size_t i = 0; i < row.size(); ++i) {
    line += row[i];
    if (i + 1 < row.size()) line.append(widths[i] + kPadding - row[i].size(), ' ');
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  out += line;
  out += '\n';
}

}  // namespace

std::string FormatTable(const Row& header, const std::vector<Row>& rows) {
  std::vector<size_t> widths(header.size(), 0);
  auto measure = [&widths](const Row& row) {
    if (row.size() > widths.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  };
  measure(header);
  for (const Row& row : rows) measure(row);
  std::string out;
  AppendRow(header, widths, out);
  for (const Row& row : rows) AppendRow(row, widths, out);
  return out;
}

}  // namespace ma::plugin
