// metrics-adapter: `serve` (default), `check`, `explain`, `version`. Parses the command line and
// hands over; nothing else lives here.

#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "adapter/app/command_line.h"
#include "adapter/app/options.h"
#include "adapter/app/serve.h"
#include "adapter/app/version.h"
#include "adapter/cli/check_command.h"
#include "adapter/cli/explain_command.h"
#include "adapter/telemetry/log.h"

namespace {

constexpr char kUsage[] =
    "Kubernetes custom and external metrics from Prometheus.\n"
    "\n"
    "  metrics-adapter [serve] --config=FILE --prometheus-url=URL [flags]\n"
    "    (prometheus-adapter's flags are accepted too: docs/migrating.md)\n"
    "  metrics-adapter check --config=FILE\n"
    "  metrics-adapter explain --config=FILE (--series-file=FILE | --prometheus-url=URL)\n"
    "                          [--object-names=a,b,...] PATH\n"
    "  metrics-adapter version\n";

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  // --help lists the adapter's own flags (all defined in options.cc); absl's default shows only
  // flags defined in the file named like the binary, which is none of ours.
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "adapter/app/options.cc");
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  const auto command_line = ma::app::NormalizeCommandLine(argc, argv);
  if (!command_line.ok()) {
    std::cerr << "metrics-adapter: " << command_line.status().message() << "\n";
    return 2;
  }
  for (const auto& ignored : command_line->ignored_flags) {
    MA_LOG(WARNING) << ignored;
  }
  std::vector<char*> args;
  args.reserve(command_line->args.size());
  for (const auto& arg : command_line->args) {
    args.push_back(const_cast<char*>(arg.c_str()));  // NOLINT: absl's API wants char*
  }
  const std::vector<char*> positional =
      absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
  const std::string subcommand = positional.size() > 1 ? positional[1] : "serve";
  const std::vector<std::string> rest(positional.begin() + (positional.size() > 1 ? 2 : 1),
                                      positional.end());

  auto options = ma::app::OptionsFromFlags(command_line->prometheus_headers);
  if (!options.ok()) {
    std::cerr << "metrics-adapter: " << options.status().message() << "\n";
    return 2;
  }
  if (subcommand == "version") {
    std::cout << ma::app::VersionString() << "\n";
    return 0;
  }
  if (subcommand == "check") {
    return ma::cli::RunCheck(options->config, std::cout, std::cerr);
  }
  if (subcommand == "explain") {
    if (rest.size() != 1) {
      std::cerr << "explain: give exactly one API PATH\n";
      return 2;
    }
    ma::cli::ExplainOptions explain;
    explain.config_path = options->config;
    explain.series_file = options->series_file;
    // --prometheus-url has a default; explain uses it only when no series file is given.
    explain.prometheus_url = options->series_file.empty() ? options->prometheus_url : "";
    explain.metrics_max_age = options->metrics_max_age;
    explain.object_names = options->object_names;
    explain.path = rest[0];
    return ma::cli::RunExplain(explain, std::cout, std::cerr);
  }
  if (subcommand == "serve") {
    if (!rest.empty()) {
      std::cerr << "serve: unexpected argument " << rest[0] << "\n";
      return 2;
    }
    return ma::app::Serve(*options);
  }
  std::cerr << "metrics-adapter: unknown subcommand " << subcommand << "\n" << kUsage;
  return 2;
}
