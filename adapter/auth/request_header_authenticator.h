#pragma once

// The front-proxy authenticator (the chain's first step): kube-apiserver's aggregator
// proves itself with a client certificate from the request-header CA and names the user in
// X-Remote-User, X-Remote-Group and X-Remote-Extra-* headers.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "adapter/auth/user_info.h"
#include "adapter/http/message.h"

namespace ma::auth {

// Header names are matched case-insensitively.
struct RequestHeaderConfig {
  std::vector<std::string> username_headers;
  std::vector<std::string> uid_headers;
  std::vector<std::string> group_headers;
  std::vector<std::string> extra_header_prefixes;
  // Common names the proxy certificate may have; empty allows any certificate of the CA.
  std::vector<std::string> allowed_names;

  bool operator==(const RequestHeaderConfig&) const = default;
};

// Thread-safe: immutable after construction.
class RequestHeaderAuthenticator {
 public:
  explicit RequestHeaderAuthenticator(RequestHeaderConfig config);

  // nullopt when this authenticator does not apply (no client certificate, or no user name in
  // the headers); kUnauthenticated when the certificate does not qualify as the front proxy's.
  absl::StatusOr<std::optional<UserInfo>> Authenticate(const http::Request& request) const;

  // Removes every header this authenticator reads, so that no handler can trust them.
  void StripHeaders(http::Request& request) const;

  const RequestHeaderConfig& config() const { return config_; }

 private:
  bool IsAuthenticationHeader(const std::string& lowercase_name) const;

  RequestHeaderConfig config_;
  // The configured names, trimmed and lowercased as the request's header names are.
  std::vector<std::string> username_headers_;
  std::vector<std::string> uid_headers_;
  std::vector<std::string> group_headers_;
  std::vector<std::string> extra_prefixes_;
};

}  // namespace ma::auth
