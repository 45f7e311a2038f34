#include "adapter/app/command_line.h"

#include <algorithm>
#include <string_view>

namespace ma::app {
namespace {

constexpr std::string_view kHeaderFlag = "prometheus_header";

}  // namespace

CommandLine NormalizeCommandLine(int argc, const char* const* argv) {
  CommandLine out;
  bool flags_done = false;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (i == 0 || flags_done || arg.size() < 2 || arg[0] != '-') {
      out.args.push_back(std::move(arg));
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      out.args.push_back(std::move(arg));
      continue;
    }
    // Only the name part: values keep their dashes.
    const size_t name_start = arg.find_first_not_of('-');
    const size_t name_end = std::min(arg.find('='), arg.size());
    std::replace(arg.begin() + static_cast<std::ptrdiff_t>(name_start),
                 arg.begin() + static_cast<std::ptrdiff_t>(name_end), '-', '_');
    const std::string_view name(arg.data() + name_start, name_end - name_start);
    if (name == kHeaderFlag) {
      if (name_end < arg.size()) {
        out.prometheus_headers.push_back(arg.substr(name_end + 1));
      } else if (i + 1 < argc) {
        out.prometheus_headers.emplace_back(argv[++i]);
      } else {
        out.prometheus_headers.emplace_back();  // reported as malformed by OptionsFromFlags
      }
      continue;
    }
    out.args.push_back(std::move(arg));
  }
  return out;
}

}  // namespace ma::app
