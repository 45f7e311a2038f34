// kubectl-metrics_adapter: the kubectl plugin (docs/kubectl-plugin.md). kubectl finds it on PATH
// by its name and runs it as `kubectl metrics-adapter ...`.

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <future>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "adapter/kube/http_api_client.h"
#include "adapter/kube/kubeconfig.h"
#include "adapter/outbound/http_client.h"
#include "adapter/plugin/command_line.h"
#include "adapter/plugin/commands.h"
#include "adapter/telemetry/log.h"
#include "queries/base/strings.h"

namespace {

// kubectl's order: --kubeconfig, then the first file of $KUBECONFIG, then ~/.kube/config.
std::string KubeconfigPath(const ma::plugin::PluginArgs& args) {
  if (!args.kubeconfig.empty()) return args.kubeconfig;
  if (const char* env = std::getenv("KUBECONFIG"); env != nullptr && *env != '\0') {
    const std::string list(env);
    return list.substr(0, list.find(':'));
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return ma::Cat(home, "/.kube/config");
  }
  return "";
}

int Run(const ma::plugin::PluginArgs& args, std::ostream& err) {
  const std::string path = KubeconfigPath(args);
  absl::StatusOr<ma::kube::ClusterConfig> config = ma::kube::LoadKubeconfig(path, args.context);
  if (!config.ok()) {
    err << "error: " << config.status().message() << "\n";
    return ma::plugin::kExitConfig;
  }
  std::string namespace_name = args.namespace_name;
  if (namespace_name.empty()) namespace_name = config->context_namespace;
  if (namespace_name.empty()) namespace_name = "default";

  ma::outbound::HttpClientOptions options;
  options.user_agent = "kubectl-metrics_adapter";
  absl::StatusOr<std::unique_ptr<ma::outbound::HttpClient>> http =
      ma::outbound::HttpClient::Create(options);
  if (!http.ok()) {
    err << "error: " << http.status().message() << "\n";
    return ma::plugin::kExitConfig;
  }
  absl::StatusOr<std::unique_ptr<ma::kube::HttpApiClient>> client =
      ma::kube::HttpApiClient::Create(**http, *config);
  if (!client.ok()) {
    err << "error: " << client.status().message() << "\n";
    return ma::plugin::kExitConfig;
  }
  const std::string server = config->server;
  const std::chrono::seconds timeout(args.request_timeout_s);
  const ma::plugin::Getter get =
      [&](const std::string& api_path) -> absl::StatusOr<ma::kube::ApiResponse> {
    std::promise<absl::StatusOr<ma::kube::ApiResponse>> done;
    std::future<absl::StatusOr<ma::kube::ApiResponse>> result = done.get_future();
    ma::kube::ApiRequest request;
    request.path = api_path;
    request.timeout = timeout;
    (*client)->Call(std::move(request), [&done](absl::StatusOr<ma::kube::ApiResponse> response) {
      done.set_value(std::move(response));
    });
    absl::StatusOr<ma::kube::ApiResponse> response = result.get();
    if (!response.ok()) {
      return absl::Status(response.status().code(),
                          ma::Cat("cannot talk to the Kubernetes API at ", server, ": ",
                                  response.status().message()));
    }
    return response;
  };
  return ma::plugin::RunCommand(args, namespace_name, get, std::cout, err);
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> raw(argv + 1, argv + argc);
  absl::StatusOr<ma::plugin::PluginArgs> args = ma::plugin::ParseArgs(raw);
  if (!args.ok()) {
    std::cerr << "error: " << args.status().message()
              << "\nSee 'kubectl metrics-adapter --help'.\n";
    return ma::plugin::kExitUsage;
  }
  if (args->help) {
    std::cout << ma::plugin::HelpText(args->command);
    return ma::plugin::kExitOk;
  }
  if (args->command.empty()) {
    std::cerr << ma::plugin::HelpText("");
    return ma::plugin::kExitUsage;
  }
  // The client modules log in klog's format to stderr; a kubectl user sees them only with -v.
  // The plugin's own messages go to the real stderr, kept aside here.
  const int stderr_fd = dup(STDERR_FILENO);
  if (args->verbosity < 0) {
    if (const int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC); null_fd >= 0) {
      dup2(null_fd, STDERR_FILENO);
      close(null_fd);
    }
  } else {
    ma::telemetry::SetVerbosity(args->verbosity);
  }
  std::ostringstream err;
  const int code = Run(*args, err);
  const std::string text = err.str();
  for (size_t written = 0; written < text.size();) {
    const ssize_t n = write(stderr_fd, text.data() + written, text.size() - written);
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  return code;
}
