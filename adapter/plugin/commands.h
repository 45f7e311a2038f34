#pragma once

// The plugin's subcommands over a blocking GET to the API server, so that they can be tested
// with a lambda instead of a cluster.

#include <functional>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "adapter/kube/api_client.h"
#include "adapter/plugin/command_line.h"

namespace ma::plugin {

// GETs `path` (from the API root, escaped): a response of any HTTP status, or a transport error
// (the API server cannot be reached, the credential plugin failed).
using Getter = std::function<absl::StatusOr<kube::ApiResponse>(const std::string& path)>;

// Runs `args.command` in `namespace_name` (already resolved from -n and the context); tables
// and values go to `out`, errors and hints to `err`. Returns the exit code.
int RunCommand(const PluginArgs& args, const std::string& namespace_name, const Getter& get,
               std::ostream& out, std::ostream& err);

}  // namespace ma::plugin
