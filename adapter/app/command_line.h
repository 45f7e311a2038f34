#pragma once

// Makes a Kubernetes-style command line digestible for absl flags: flag names are written with
// dashes (`--metrics-relist-interval`) where absl wants underscores, and `--prometheus-header` may
// repeat, which an absl flag cannot (the last value would win).

#include <string>
#include <vector>

namespace ma::app {

struct CommandLine {
  std::vector<std::string> args;                // for absl::ParseCommandLine, argv[0] first
  std::vector<std::string> prometheus_headers;  // every --prometheus-header value, in order
};

CommandLine NormalizeCommandLine(int argc, const char* const* argv);

}  // namespace ma::app
