// kubectl-metrics_adapter: the kubectl plugin (docs/kubectl-plugin.md). kubectl finds it on PATH
// by its name and runs it as `kubectl metrics-adapter ...`.

#include <chrono>
#include <cstdlib>
#include <future>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "adapter/kube/http_api_client.h"
#include "adapter/kube/kubeconfig.h"
#include "adapter/outbound/http_client.h"
#include "adapter/plugin/command_line.h"
#include "adapter/plugin/commands.h"
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

int Run(const ma::plugin::PluginArgs& args) {
  const std::string path = KubeconfigPath(args);
  absl::StatusOr<ma::kube::ClusterConfig> config = ma::kube::LoadKubeconfig(path, args.context);
  if (!config.ok()) {
    std::cerr << "error: " << config.status().message() << "\n";
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
    std::cerr << "error: " << http.status().message() << "\n";
    return ma::plugin::kExitConfig;
  }
  absl::StatusOr<std::unique_ptr<ma::kube::HttpApiClient>> client =
      ma::kube::HttpApiClient::Create(**http, *config);
  if (!client.ok()) {
    std::cerr << "error: " << client.status().message() << "\n";
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
  return ma::plugin::RunCommand(args, namespace_name, get, std::cout, std::cerr);
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
  return Run(*args);
}
