#include "adapter/plugin/command_line.h"

#include <algorithm>
#include <iterator>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "queries/base/strings.h"

namespace ma::plugin {
namespace {

constexpr std::string_view kCommands[] = {"status", "list", "get", "hpa"};

constexpr std::string_view kGlobalFlags = R"(
Flags (as kubectl's):
      --kubeconfig=PATH       kubeconfig file (default: $KUBECONFIG, its first file, else ~/.kube/config)
      --context=NAME          the kubeconfig context to use (default: its current-context)
  -n, --namespace=NAME        the namespace (default: the context's namespace, else "default")
      --request-timeout=SECS  bound on each API call (default 10)
  -v, --v=LEVEL               show the client's log (exec plugin output, API calls) on stderr
  -h, --help                  this help

Exit status: 0 success; 1 the API answered with an error or a metric of the HPA fails;
2 bad command line; 3 kubeconfig, credentials, or the API server unreachable.
)";

std::string WithFlags(std::string_view text) { return Cat(text, kGlobalFlags); }

// The value of a flag that takes one: after '=', glued to a short flag, or the next argument.
absl::StatusOr<std::string> TakeValue(std::string_view flag, std::string_view inline_value,
                                      bool has_inline, const std::vector<std::string>& args,
                                      size_t& i) {
  if (has_inline) return std::string(inline_value);
  if (i + 1 >= args.size()) {
    return absl::InvalidArgumentError(Cat("flag needs an argument: ", flag));
  }
  return args[++i];
}

}  // namespace

absl::StatusOr<PluginArgs> ParseArgs(const std::vector<std::string>& args) {
  PluginArgs parsed;
  bool flags_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (flags_done || arg.size() < 2 || arg[0] != '-') {
      if (parsed.command.empty()) {
        parsed.command = arg;
      } else {
        parsed.positional.push_back(arg);
      }
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    std::string name;
    std::string inline_value;
    bool has_inline = false;
    if (arg.starts_with("--")) {
      const size_t eq = arg.find('=');
      name = arg.substr(0, eq);
      if (eq != std::string::npos) {
        inline_value = arg.substr(eq + 1);
        has_inline = true;
      }
    } else {
      name = arg.substr(0, 2);
      if (arg.size() > 2) {
        inline_value = arg.substr(arg[2] == '=' ? 3 : 2);
        has_inline = true;
      }
    }
    if (name == "-h" || name == "--help") {
      if (has_inline) return absl::InvalidArgumentError(Cat("unknown flag: ", arg));
      parsed.help = true;
    } else if (name == "-A" || name == "--all-namespaces") {
      if (has_inline && inline_value != "true") {
        return absl::InvalidArgumentError(Cat("unknown flag: ", arg));
      }
      parsed.all_namespaces = true;
    } else if (name == "--kubeconfig" || name == "--context" || name == "-n" ||
               name == "--namespace" || name == "-l" || name == "--selector" || name == "-o" ||
               name == "--output" || name == "--request-timeout" || name == "-v" || name == "--v") {
      absl::StatusOr<std::string> value = TakeValue(name, inline_value, has_inline, args, i);
      if (!value.ok()) return value.status();
      if (name == "--kubeconfig") {
        parsed.kubeconfig = *value;
      } else if (name == "--context") {
        parsed.context = *value;
      } else if (name == "-n" || name == "--namespace") {
        parsed.namespace_name = *value;
      } else if (name == "-l" || name == "--selector") {
        parsed.selector = *value;
      } else if (name == "-o" || name == "--output") {
        if (*value != "json" && *value != "yaml" && *value != "table") {
          return absl::InvalidArgumentError(
              Cat("unable to match a printer suitable for the output format \"", *value,
                  "\", allowed formats are: json,table,yaml"));
        }
        parsed.output = *value == "table" ? "" : *value;
      } else if (name == "-v" || name == "--v") {
        if (!absl::SimpleAtoi(*value, &parsed.verbosity) || parsed.verbosity < 0 ||
            parsed.verbosity > 10) {
          return absl::InvalidArgumentError(
              Cat("invalid -v \"", *value, "\": a log level from 0 to 10"));
        }
      } else {
        std::string seconds = *value;
        if (seconds.ends_with('s')) seconds.pop_back();
        if (!absl::SimpleAtoi(seconds, &parsed.request_timeout_s) ||
            parsed.request_timeout_s <= 0 || parsed.request_timeout_s > 3600) {
          return absl::InvalidArgumentError(
              Cat("invalid --request-timeout \"", *value, "\": whole seconds from 1 to 3600"));
        }
      }
    } else {
      return absl::InvalidArgumentError(Cat("unknown flag: ", name));
    }
  }
  if (parsed.command == "help") {
    parsed.help = true;
    parsed.command = parsed.positional.empty() ? "" : parsed.positional.front();
    parsed.positional.clear();
  }
  if (!parsed.command.empty() && std::find(std::begin(kCommands), std::end(kCommands),
                                           parsed.command) == std::end(kCommands)) {
    return absl::InvalidArgumentError(
        Cat("unknown command \"", parsed.command, "\" (status, list, get, hpa)"));
  }
  return parsed;
}

std::string HelpText(std::string_view command) {
  if (command == "status") {
    return WithFlags(
        R"(Shows the metrics APIServices (external.metrics.k8s.io, custom.metrics.k8s.io,
metrics.k8s.io): whether each is Available and why, the ready replicas of the Deployment behind it
(or its ready endpoints), and how many metrics each group discovers.

Usage: kubectl metrics-adapter status [flags]
)");
  }
  if (command == "list") {
    return WithFlags(R"(Lists the metrics the adapter discovers, as a table.

Usage: kubectl metrics-adapter list [external|custom|resource] [flags]
)");
  }
  if (command == "get") {
    return WithFlags(R"(Gets metric values through the API server, as the HPA would.

Usage:
  kubectl metrics-adapter get external METRIC [-l SELECTOR] [-o json|yaml] [flags]
  kubectl metrics-adapter get custom RESOURCE/NAME METRIC [-o json|yaml] [flags]
  kubectl metrics-adapter get custom RESOURCE METRIC [-l SELECTOR] [-o json|yaml] [flags]

  -l, --selector=SELECTOR     external: the metric's label selector; custom: which objects
  -o, --output=FORMAT         json or yaml: the API's answer instead of a table
)");
  }
  if (command == "hpa") {
    return WithFlags(
        R"(Explains an autoscaling/v2 HorizontalPodAutoscaler's metrics: for each one, the
metrics-API request the HPA controller sends, the value or the error it gets, the target, and a
hint for each failure. Exits 1 when any metric fails.

Usage:
  kubectl metrics-adapter hpa NAME [flags]
  kubectl metrics-adapter hpa [-A] [flags]     # every HPA of the namespace (or all): a table

  -A, --all-namespaces        with no NAME: the HPAs of every namespace
)");
  }
  return WithFlags(R"(kubectl metrics-adapter: what the metrics APIs answer, as the HPA sees them.

Usage: kubectl metrics-adapter COMMAND [flags]

Commands:
  status    the metrics APIServices, the adapter's ready replicas, metrics discovered per group
  list      the discovered metrics (external, custom, resource)
  get       metric values (external METRIC, custom RESOURCE/NAME METRIC)
  hpa       each metric of an HPA: the request the HPA controller makes, its answer, a hint

Run `kubectl metrics-adapter COMMAND --help` for a command's usage.
)");
}

}  // namespace ma::plugin
