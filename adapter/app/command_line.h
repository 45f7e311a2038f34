#pragma once

// Makes a Kubernetes-style command line digestible for absl flags: flag names are written with
// dashes (`--metrics-relist-interval`) where absl wants underscores, and `--prometheus-header` may
// repeat, which an absl flag cannot (the last value would win). prometheus-adapter's command
// lines start us unchanged: a leading `/adapter` argument (its Helm chart's container args) is
// dropped, and its flags that mean nothing here (prometheus_adapter_flags.h) are taken out and
// reported, so that absl never sees them.

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace ma::app {

inline constexpr std::string_view kPrometheusAdapterEntrypoint = "/adapter";

struct CommandLine {
  std::vector<std::string> args;                // for absl::ParseCommandLine, argv[0] first
  std::vector<std::string> prometheus_headers;  // every --prometheus-header value, in order
  // One line per prometheus-adapter flag given that has no effect here, naming it and why.
  std::vector<std::string> ignored_flags;
};

// kInvalidArgument naming the first flag that neither this program nor prometheus-adapter
// defines (absl would exit with status 1; a bad command line exits with 2 here).
absl::StatusOr<CommandLine> NormalizeCommandLine(int argc, const char* const* argv);

}  // namespace ma::app
