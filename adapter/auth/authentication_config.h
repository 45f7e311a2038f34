#pragma once

// Where the authentication settings come from (docs/security.md, "Authentication"): the
// kube-system/extension-apiserver-authentication ConfigMap that kube-apiserver writes, with the
// flags taking precedence as in Go's DelegatingAuthenticationOptions.

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "adapter/auth/authenticator.h"
#include "adapter/auth/request_header_authenticator.h"
#include "adapter/kube/api_client.h"

namespace ma::auth {

inline constexpr std::string_view kAuthenticationConfigMapNamespace = "kube-system";
inline constexpr std::string_view kAuthenticationConfigMapName =
    "extension-apiserver-authentication";
inline constexpr std::string_view kAuthenticationConfigMapPath =
    "/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication";
// A CA bundle file larger than this is refused (a bundle is a few certificates).
inline constexpr size_t kMaxCaBundleFileBytes = 1 << 20;

// The authentication flags as given on the command line.
struct AuthenticationFlags {
  std::string client_ca_file;
  std::string requestheader_client_ca_file;
  std::vector<std::string> requestheader_allowed_names;
  std::vector<std::string> requestheader_username_headers = {"X-Remote-User"};
  std::vector<std::string> requestheader_group_headers = {"X-Remote-Group"};
  std::vector<std::string> requestheader_extra_headers_prefixes = {"X-Remote-Extra-"};
};

// The effective configuration: CA bundles as PEM text (the server's ClientCertVerifier is built
// from them) and the front-proxy header names.
struct AuthenticationConfig {
  std::string client_ca_pem;         // empty: no x509 client authentication
  std::string requestheader_ca_pem;  // empty: no front proxy
  RequestHeaderConfig request_header;

  // What the Authenticator needs of it.
  AuthenticatorSettings Settings() const;

  bool operator==(const AuthenticationConfig&) const = default;
};

// Flags win: --client-ca-file replaces the ConfigMap's client-ca-file, and
// --requestheader-client-ca-file replaces every requestheader-* key of the ConfigMap (the header
// flags then apply, with their defaults). Reads the flag files; kInvalidArgument names the flag
// or ConfigMap key at fault.
absl::StatusOr<AuthenticationConfig> MergeAuthenticationConfig(
    const AuthenticationFlags& flags, const std::map<std::string, std::string>& config_map_data);

// GETs the ConfigMap's data. A missing ConfigMap is empty data, as in Go; kPermissionDenied
// explains the missing RoleBinding; other failures keep their code.
void FetchAuthenticationConfigMap(
    kube::ApiClient& client,
    std::function<void(absl::StatusOr<std::map<std::string, std::string>>)> done);

}  // namespace ma::auth
