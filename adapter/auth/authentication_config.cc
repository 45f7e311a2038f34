#include "adapter/auth/authentication_config.h"

#include <fstream>
#include <iterator>
#include <utility>

#include "absl/status/status.h"
#include "adapter/auth/auth_json.h"
#include "queries/base/status_macros.h"
#include "queries/base/strings.h"

namespace ma::auth {
namespace {

constexpr std::string_view kClientCaKey = "client-ca-file";
constexpr std::string_view kRequestHeaderCaKey = "requestheader-client-ca-file";

absl::StatusOr<std::string> ReadCaFile(const std::string& path, std::string_view flag) {
  if (path.empty()) {
    return std::string();
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return absl::InvalidArgumentError(Cat(flag, " ", GoQuote(path), ": cannot be read"));
  }
  std::string text;
  text.resize(kMaxCaBundleFileBytes + 1);
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(file.gcount()));
  if (text.size() > kMaxCaBundleFileBytes) {
    return absl::InvalidArgumentError(
        Cat(flag, " ", GoQuote(path), ": larger than ", kMaxCaBundleFileBytes, " bytes"));
  }
  if (text.empty()) {
    return absl::InvalidArgumentError(Cat(flag, " ", GoQuote(path), ": empty"));
  }
  return text;
}

std::string Value(const std::map<std::string, std::string>& data, std::string_view key) {
  const auto it = data.find(std::string(key));
  return it == data.end() ? std::string() : it->second;
}

absl::StatusOr<std::vector<std::string>> ListValue(const std::map<std::string, std::string>& data,
                                                   std::string_view key) {
  absl::StatusOr<std::vector<std::string>> list = DecodeStringList(Value(data, key));
  if (!list.ok()) {
    return absl::InvalidArgumentError(Cat("ConfigMap ", kAuthenticationConfigMapNamespace, "/",
                                          kAuthenticationConfigMapName, " key ", key, ": ",
                                          list.status().message()));
  }
  return list;
}

}  // namespace

AuthenticatorSettings AuthenticationConfig::Settings() const {
  AuthenticatorSettings settings;
  if (!requestheader_ca_pem.empty()) {
    settings.request_header = request_header;
  }
  settings.client_ca = !client_ca_pem.empty();
  return settings;
}

absl::StatusOr<AuthenticationConfig> MergeAuthenticationConfig(
    const AuthenticationFlags& flags, const std::map<std::string, std::string>& config_map_data) {
  AuthenticationConfig config;
  if (!flags.client_ca_file.empty()) {
    MA_ASSIGN_OR_RETURN(config.client_ca_pem, ReadCaFile(flags.client_ca_file, "--client-ca-file"));
  } else {
    config.client_ca_pem = Value(config_map_data, kClientCaKey);
  }

  if (!flags.requestheader_client_ca_file.empty()) {
    MA_ASSIGN_OR_RETURN(config.requestheader_ca_pem, ReadCaFile(flags.requestheader_client_ca_file,
                                                                "--requestheader-client-ca-file"));
    config.request_header.username_headers = flags.requestheader_username_headers;
    config.request_header.group_headers = flags.requestheader_group_headers;
    config.request_header.extra_header_prefixes = flags.requestheader_extra_headers_prefixes;
    config.request_header.allowed_names = flags.requestheader_allowed_names;
    return config;
  }
  config.requestheader_ca_pem = Value(config_map_data, kRequestHeaderCaKey);
  if (config.requestheader_ca_pem.empty()) {
    return config;
  }
  RequestHeaderConfig& header = config.request_header;
  MA_ASSIGN_OR_RETURN(header.username_headers,
                      ListValue(config_map_data, "requestheader-username-headers"));
  MA_ASSIGN_OR_RETURN(header.uid_headers, ListValue(config_map_data, "requestheader-uid-headers"));
  MA_ASSIGN_OR_RETURN(header.group_headers,
                      ListValue(config_map_data, "requestheader-group-headers"));
  MA_ASSIGN_OR_RETURN(header.extra_header_prefixes,
                      ListValue(config_map_data, "requestheader-extra-headers-prefix"));
  MA_ASSIGN_OR_RETURN(header.allowed_names,
                      ListValue(config_map_data, "requestheader-allowed-names"));
  return config;
}

void FetchAuthenticationConfigMap(
    kube::ApiClient& client,
    std::function<void(absl::StatusOr<std::map<std::string, std::string>>)> done) {
  kube::ApiRequest request;
  request.path = std::string(kAuthenticationConfigMapPath);
  client.Call(std::move(request), [done = std::move(done)](
                                      absl::StatusOr<kube::ApiResponse> response) {
    const std::string name =
        Cat("configmap/", kAuthenticationConfigMapName, " in ", kAuthenticationConfigMapNamespace);
    if (!response.ok()) {
      done(absl::Status(response.status().code(),
                        Cat("cannot get ", name, ": ", response.status().message())));
      return;
    }
    if (response->status == 404) {
      done(std::map<std::string, std::string>());
      return;
    }
    if (response->status == 401 || response->status == 403) {
      done(absl::PermissionDeniedError(
          Cat("cannot get ", name, " (HTTP ", response->status,
              "); usually fixed by 'kubectl create rolebinding -n kube-system ROLEBINDING_NAME "
              "--role=extension-apiserver-authentication-reader "
              "--serviceaccount=YOUR_NS:YOUR_SA'")));
      return;
    }
    if (response->status < 200 || response->status > 299) {
      done(absl::UnavailableError(Cat("cannot get ", name, ": HTTP ", response->status)));
      return;
    }
    absl::StatusOr<std::map<std::string, std::string>> data = DecodeConfigMapData(response->body);
    if (!data.ok()) {
      done(absl::InternalError(Cat("cannot read ", name, ": ", data.status().message())));
      return;
    }
    done(*std::move(data));
  });
}

}  // namespace ma::auth
