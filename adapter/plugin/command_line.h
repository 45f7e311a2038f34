#pragma once

// The plugin's command line, parsed as kubectl parses its own (pflag): `--flag=value`,
// `--flag value`, `-n value`, `-nvalue`, flags anywhere among the arguments, `--` ends them. Pure.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace ma::plugin {

// Exit codes, documented in docs/kubectl-plugin.md.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // the API answered with an error, or an HPA metric fails
inline constexpr int kExitUsage = 2;   // bad command line
inline constexpr int kExitConfig = 3;  // kubeconfig, credentials or the API server unreachable

struct PluginArgs {
  std::string command;  // status, list, get, hpa; empty with `help`
  std::vector<std::string> positional;
  std::string kubeconfig;
  std::string context;
  std::string namespace_name;
  bool all_namespaces = false;
  std::string selector;  // -l
  std::string output;    // "", json, yaml
  int request_timeout_s = 10;
  int verbosity = -1;  // -v: the log (klog format) on stderr; below 0 it is not shown
  bool help = false;
};

// kInvalidArgument with a message for the user ("unknown flag: --foo").
absl::StatusOr<PluginArgs> ParseArgs(const std::vector<std::string>& args);

// The help of `command` (empty: the plugin's overview).
std::string HelpText(std::string_view command);

}  // namespace ma::plugin
