#include "adapter/kube/kubeconfig.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/escaping.h"
#include "queries/base/status_macros.h"
#include "queries/base/strings.h"

namespace ma::kube {
namespace {

// Errors name the file and the field: `kubeconfig "/x" users[0].user.token: ...`.
class Reporter {
 public:
  explicit Reporter(std::string_view source) : source_(source) {}
  absl::Status Error(std::string_view field, std::string_view what) const {
    return absl::InvalidArgumentError(Cat("kubeconfig \"", source_, "\" ", field, ": ", what));
  }

 private:
  std::string source_;
};

absl::StatusOr<std::string> ReadFileBounded(const std::string& path, size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(Cat("cannot read \"", path, "\": ", std::strerror(errno)));
  }
  std::string data(limit + 1, '\0');
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  const auto n = static_cast<size_t>(in.gcount());
  if (n > limit) {
    return absl::InvalidArgumentError(Cat("\"", path, "\" is larger than ", limit, " bytes"));
  }
  data.resize(n);
  return data;
}

std::string ResolvePath(std::string_view directory, const std::string& path) {
  if (path.empty() || path.front() == '/' || directory.empty()) {
    return path;
  }
  return Cat(directory, "/", path);
}

// A scalar field, or "" when absent. Maps and sequences where a string belongs are errors.
absl::StatusOr<std::string> String(const YAML::Node& parent, const char* key,
                                   std::string_view field, const Reporter& report) {
  const YAML::Node node = parent[key];
  if (!node || node.IsNull()) {
    return std::string();
  }
  if (!node.IsScalar()) {
    return report.Error(Cat(field, ".", key), "must be a string");
  }
  return node.Scalar();
}

absl::StatusOr<bool> Bool(const YAML::Node& parent, const char* key, std::string_view field,
                          const Reporter& report) {
  const YAML::Node node = parent[key];
  if (!node || node.IsNull()) {
    return false;
  }
  bool value = false;
  if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) {
    return report.Error(Cat(field, ".", key), "must be true or false");
  }
  return value;
}

absl::StatusOr<std::string> Base64(const YAML::Node& parent, const char* key,
                                   std::string_view field, const Reporter& report) {
  MA_ASSIGN_OR_RETURN(std::string encoded, String(parent, key, field, report));
  std::string decoded;
  if (!encoded.empty() && !absl::Base64Unescape(encoded, &decoded)) {
    return report.Error(Cat(field, ".", key), "is not valid base64");
  }
  return decoded;
}

// The `item` of the `list` entry called `name` (contexts, clusters, users).
absl::StatusOr<YAML::Node> Named(const YAML::Node& root, const char* list, const char* item,
                                 const std::string& name, std::string_view referrer,
                                 const Reporter& report) {
  const YAML::Node entries = root[list];
  if (entries && !entries.IsNull() && !entries.IsSequence()) {
    return report.Error(list, "must be a list");
  }
  if (entries) {
    for (size_t i = 0; i < entries.size(); ++i) {
      const YAML::Node entry = entries[i];
      if (entry.IsMap() && entry["name"] && entry["name"].IsScalar() &&
          entry["name"].Scalar() == name) {
        const YAML::Node body = entry[item];
        if (!body || !body.IsMap()) {
          return report.Error(Cat(list, "[", i, "].", item), "must be a map");
        }
        return body;
      }
    }
  }
  return report.Error(referrer, Cat("names ", GoQuote(name), ", which is not in ", list));
}

absl::StatusOr<ExecConfig> ParseExec(const YAML::Node& exec, std::string_view field,
                                     std::string_view directory, const Reporter& report) {
  if (!exec.IsMap()) {
    return report.Error(field, "must be a map");
  }
  ExecConfig config;
  MA_ASSIGN_OR_RETURN(config.api_version, String(exec, "apiVersion", field, report));
  MA_ASSIGN_OR_RETURN(config.command, String(exec, "command", field, report));
  MA_ASSIGN_OR_RETURN(config.interactive_mode, String(exec, "interactiveMode", field, report));
  MA_ASSIGN_OR_RETURN(config.install_hint, String(exec, "installHint", field, report));
  // client-go resolves a relative command only when it names a path, not a PATH lookup.
  if (config.command.find('/') != std::string::npos) {
    config.command = ResolvePath(directory, config.command);
  }
  if (const YAML::Node args = exec["args"]; args && !args.IsNull()) {
    if (!args.IsSequence() || args.size() > kMaxExecArgs) {
      return report.Error(Cat(field, ".args"),
                          Cat("must be a list of at most ", kMaxExecArgs, " strings"));
    }
    for (size_t i = 0; i < args.size(); ++i) {
      if (!args[i].IsScalar()) {
        return report.Error(Cat(field, ".args[", i, "]"), "must be a string");
      }
      config.args.push_back(args[i].Scalar());
    }
  }
  if (const YAML::Node env = exec["env"]; env && !env.IsNull()) {
    if (!env.IsSequence() || env.size() > kMaxExecEnv) {
      return report.Error(Cat(field, ".env"),
                          Cat("must be a list of at most ", kMaxExecEnv, " {name, value}"));
    }
    for (size_t i = 0; i < env.size(); ++i) {
      const std::string entry = Cat(field, ".env[", i, "]");
      if (!env[i].IsMap()) {
        return report.Error(entry, "must be a map with name and value");
      }
      MA_ASSIGN_OR_RETURN(std::string name, String(env[i], "name", entry, report));
      MA_ASSIGN_OR_RETURN(std::string value, String(env[i], "value", entry, report));
      if (name.empty() || name.find('=') != std::string::npos) {
        return report.Error(Cat(entry, ".name"), "must be non-empty without '='");
      }
      config.env.emplace_back(std::move(name), std::move(value));
    }
  }
  if (absl::Status s = ValidateExecConfig(config); !s.ok()) {
    return report.Error(field, ToStd(s.message()));
  }
  return config;
}

absl::StatusOr<ClusterConfig> ParseRoot(const YAML::Node& root, std::string_view directory,
                                        std::string_view chosen_context, const Reporter& report) {
  if (!root.IsMap()) {
    return report.Error("(document)", "must be a map (apiVersion: v1, kind: Config)");
  }
  std::string context_name(chosen_context);
  if (context_name.empty()) {
    MA_ASSIGN_OR_RETURN(context_name, String(root, "current-context", "(document)", report));
  }
  if (context_name.empty()) {
    return report.Error("current-context", "is not set: name the context to use");
  }
  MA_ASSIGN_OR_RETURN(const YAML::Node context,
                      Named(root, "contexts", "context", context_name,
                            chosen_context.empty() ? "current-context" : "--context", report));
  MA_ASSIGN_OR_RETURN(const std::string cluster_name,
                      String(context, "cluster", "context", report));
  MA_ASSIGN_OR_RETURN(const std::string user_name, String(context, "user", "context", report));
  const std::string context_field = Cat("contexts[", GoQuote(context_name), "].context");
  if (cluster_name.empty()) {
    return report.Error(Cat(context_field, ".cluster"), "is not set");
  }
  MA_ASSIGN_OR_RETURN(const YAML::Node cluster, Named(root, "clusters", "cluster", cluster_name,
                                                      Cat(context_field, ".cluster"), report));

  ClusterConfig config;
  MA_ASSIGN_OR_RETURN(config.context_namespace, String(context, "namespace", "context", report));
  const std::string cluster_field = Cat("clusters[", GoQuote(cluster_name), "].cluster");
  MA_ASSIGN_OR_RETURN(config.server, String(cluster, "server", cluster_field, report));
  if (config.server.empty()) {
    return report.Error(Cat(cluster_field, ".server"), "is not set");
  }
  if (!config.server.starts_with("https://") && !config.server.starts_with("http://")) {
    return report.Error(Cat(cluster_field, ".server"),
                        Cat(GoQuote(config.server), " must start with https:// or http://"));
  }
  while (config.server.ends_with('/')) {
    config.server.pop_back();
  }
  MA_ASSIGN_OR_RETURN(std::string ca_file,
                      String(cluster, "certificate-authority", cluster_field, report));
  config.ca_file = ResolvePath(directory, ca_file);
  MA_ASSIGN_OR_RETURN(config.ca_pem,
                      Base64(cluster, "certificate-authority-data", cluster_field, report));
  MA_ASSIGN_OR_RETURN(config.insecure_skip_tls_verify,
                      Bool(cluster, "insecure-skip-tls-verify", cluster_field, report));
  MA_ASSIGN_OR_RETURN(config.tls_server_name,
                      String(cluster, "tls-server-name", cluster_field, report));
  if (config.insecure_skip_tls_verify && (!config.ca_file.empty() || !config.ca_pem.empty())) {
    // client-go refuses this combination too.
    return report.Error(Cat(cluster_field, ".insecure-skip-tls-verify"),
                        "cannot be combined with a certificate authority");
  }
  if (cluster["proxy-url"]) {
    return report.Error(Cat(cluster_field, ".proxy-url"), "is not supported");
  }

  if (user_name.empty()) {
    return config;  // anonymous: rare, but valid
  }
  MA_ASSIGN_OR_RETURN(const YAML::Node user,
                      Named(root, "users", "user", user_name, Cat(context_field, ".user"), report));
  const std::string user_field = Cat("users[", GoQuote(user_name), "].user");
  MA_ASSIGN_OR_RETURN(std::string cert_file,
                      String(user, "client-certificate", user_field, report));
  MA_ASSIGN_OR_RETURN(std::string key_file, String(user, "client-key", user_field, report));
  config.client_certificate_file = ResolvePath(directory, cert_file);
  config.client_key_file = ResolvePath(directory, key_file);
  MA_ASSIGN_OR_RETURN(config.client_certificate_pem,
                      Base64(user, "client-certificate-data", user_field, report));
  MA_ASSIGN_OR_RETURN(config.client_key_pem, Base64(user, "client-key-data", user_field, report));
  const bool has_cert =
      !config.client_certificate_file.empty() || !config.client_certificate_pem.empty();
  const bool has_key = !config.client_key_file.empty() || !config.client_key_pem.empty();
  if (has_cert != has_key) {
    return report.Error(user_field, "client-certificate and client-key must be given together");
  }
  MA_ASSIGN_OR_RETURN(config.token, String(user, "token", user_field, report));
  MA_ASSIGN_OR_RETURN(std::string token_file, String(user, "tokenFile", user_field, report));
  if (config.token.empty()) {
    config.token_file = ResolvePath(directory, token_file);
  }
  for (const char* unsupported : {"auth-provider", "username", "password", "as"}) {
    if (user[unsupported]) {
      return report.Error(Cat(user_field, ".", unsupported),
                          "is not supported: use a token, a client certificate or exec");
    }
  }
  if (const YAML::Node exec = user["exec"]; exec && !exec.IsNull()) {
    MA_ASSIGN_OR_RETURN(config.exec, ParseExec(exec, Cat(user_field, ".exec"), directory, report));
  }
  return config;
}

}  // namespace

absl::StatusOr<ClusterConfig> ParseKubeconfig(std::string_view yaml, std::string_view directory,
                                              std::string_view source, std::string_view context) {
  const Reporter report(source);
  absl::StatusOr<ClusterConfig> config;
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    config = ParseRoot(root, directory, context, report);
  } catch (const YAML::Exception& e) {
    return report.Error(Cat("line ", e.mark.line + 1, " column ", e.mark.column + 1), e.msg);
  } catch (const std::exception& e) {
    return report.Error("(document)", e.what());
  }
  if (config.ok()) {
    config->source = std::string(source);
  }
  return config;
}

absl::StatusOr<ClusterConfig> LoadKubeconfig(const std::string& path, std::string_view context) {
  absl::StatusOr<std::string> text = ReadFileBounded(path, kMaxKubeconfigBytes);
  if (!text.ok()) {
    return absl::InvalidArgumentError(Cat("kubeconfig: ", ToStd(text.status().message())));
  }
  const size_t slash = path.rfind('/');
  const std::string directory = slash == std::string::npos ? "." : path.substr(0, slash);
  return ParseKubeconfig(*text, slash == 0 ? "/" : directory, path, context);
}

InClusterEnvironment InClusterEnvironment::FromProcess() {
  InClusterEnvironment env;
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  env.service_host = host != nullptr ? host : "";
  env.service_port = port != nullptr ? port : "";
  return env;
}

absl::StatusOr<ClusterConfig> InClusterConfig(const InClusterEnvironment& env) {
  if (env.service_host.empty() || env.service_port.empty()) {
    return absl::FailedPreconditionError(
        "not running in a Kubernetes pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT "
        "are not set");
  }
  // The token is read now so that a missing service account fails at start, and later re-read
  // by the client whenever the kubelet rotates it.
  if (absl::StatusOr<std::string> token = ReadFileBounded(env.token_path, kMaxKubeconfigBytes);
      !token.ok()) {
    return absl::FailedPreconditionError(
        Cat("in-cluster configuration: service-account token: ", ToStd(token.status().message()),
            " (is automountServiceAccountToken disabled?)"));
  }
  if (absl::StatusOr<std::string> ca = ReadFileBounded(env.ca_path, kMaxKubeconfigBytes);
      !ca.ok()) {
    return absl::FailedPreconditionError(
        Cat("in-cluster configuration: cluster CA: ", ToStd(ca.status().message())));
  }
  ClusterConfig config;
  const bool ipv6 = env.service_host.find(':') != std::string::npos;
  config.server = ipv6 ? Cat("https://[", env.service_host, "]:", env.service_port)
                       : Cat("https://", env.service_host, ":", env.service_port);
  config.token_file = env.token_path;
  config.ca_file = env.ca_path;
  config.source = "in-cluster configuration";
  return config;
}

absl::StatusOr<ClusterConfig> LoadClusterConfig(const std::string& path, std::string_view flag) {
  if (!path.empty()) {
    return LoadKubeconfig(path);
  }
  absl::StatusOr<ClusterConfig> config = InClusterConfig();
  if (!config.ok()) {
    return absl::Status(config.status().code(),
                        Cat(config.status().message(), "; pass ", flag, "=<kubeconfig file>"));
  }
  return config;
}

}  // namespace ma::kube
