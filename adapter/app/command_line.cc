#include "adapter/app/command_line.h"

#include <algorithm>
#include <iterator>
#include <string_view>

#include "absl/flags/reflection.h"
#include "absl/status/status.h"
#include "adapter/app/prometheus_adapter_flags.h"
#include "queries/base/strings.h"

namespace ma::app {
namespace {

constexpr std::string_view kHeaderFlag = "prometheus_header";

// Flags absl::ParseCommandLine handles itself, which the flag registry does not list.
constexpr std::string_view kAbslBuiltinFlags[] = {
    "help",    "helpfull",        "helpshort", "helppackage", "helpon",     "helpmatch",
    "version", "only_check_args", "flagfile",  "fromenv",     "tryfromenv", "undefok"};

// The absl flag `name` (underscores) refers to, with its `--noNAME` form for booleans.
const absl::CommandLineFlag* FindDefinedFlag(std::string_view name, bool* negated) {
  *negated = false;
  if (const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(ToAbsl(name));
      flag != nullptr) {
    return flag;
  }
  if (name.starts_with("no")) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(ToAbsl(name.substr(2)));
    if (flag != nullptr && flag->IsOfType<bool>()) {
      *negated = true;
      return flag;
    }
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<CommandLine> NormalizeCommandLine(int argc, const char* const* argv) {
  CommandLine out;
  bool flags_done = false;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (i == 1 && arg == kPrometheusAdapterEntrypoint) {
      continue;
    }
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
    const bool has_value = name_end < arg.size();
    std::replace(arg.begin() + static_cast<std::ptrdiff_t>(name_start),
                 arg.begin() + static_cast<std::ptrdiff_t>(name_end), '-', '_');
    const std::string_view name(arg.data() + name_start, name_end - name_start);
    const bool next_is_value = !has_value && i + 1 < argc;
    if (name == kHeaderFlag) {
      if (has_value) {
        out.prometheus_headers.push_back(arg.substr(name_end + 1));
      } else if (next_is_value) {
        out.prometheus_headers.emplace_back(argv[++i]);
      } else {
        out.prometheus_headers.emplace_back();  // reported as malformed by OptionsFromFlags
      }
      continue;
    }
    if (std::find(std::begin(kAbslBuiltinFlags), std::end(kAbslBuiltinFlags), name) !=
        std::end(kAbslBuiltinFlags)) {
      out.args.push_back(std::move(arg));
      continue;
    }
    bool negated = false;
    if (const absl::CommandLineFlag* flag = FindDefinedFlag(name, &negated); flag != nullptr) {
      out.args.push_back(std::move(arg));
      // `--flag value`: the value is passed on untouched, even when it starts with a dash.
      if (next_is_value && !negated && !flag->IsOfType<bool>()) {
        out.args.emplace_back(argv[++i]);
      }
      continue;
    }
    const PrometheusAdapterFlag* foreign = FindPrometheusAdapterFlag(name);
    if (foreign == nullptr || foreign->effect != FlagEffect::kNoEffect) {
      return absl::InvalidArgumentError(
          Cat("unknown flag ", std::string_view(argv[i]).substr(0, name_end),
              " (neither metrics-adapter nor prometheus-adapter defines it; see --help)"));
    }
    if (next_is_value && foreign->takes_value) {
      ++i;
    }
    out.ignored_flags.push_back(Cat("--", foreign->name,
                                    " is accepted for prometheus-adapter compatibility but has no "
                                    "effect: ",
                                    foreign->note));
  }
  return out;
}

}  // namespace ma::app
