#include "adapter/auth/request_header_authenticator.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "queries/base/strings.h"
#include "queries/base/url_codec.h"

namespace ma::auth {
namespace {

std::vector<std::string> Normalize(const std::vector<std::string>& names) {
  std::vector<std::string> normalized;
  for (const std::string& name : names) {
    std::string lower = absl::AsciiStrToLower(absl::StripAsciiWhitespace(name));
    if (!lower.empty()) {
      normalized.push_back(std::move(lower));
    }
  }
  return normalized;
}

// Go's textproto Header.Get: the first line of the first named header that has a non-empty one.
std::string FirstValue(const http::Request& request, const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    std::optional<std::string> value = request.Header(name);
    if (value.has_value() && !value->empty()) {
      return *std::move(value);
    }
  }
  return "";
}

// Go's url.PathUnescape; a malformed escape leaves the key as it was, as Go's unescapeExtraKey
// does.
std::string UnescapeExtraKey(const std::string& encoded) {
  absl::StatusOr<std::string> decoded = PercentDecode(encoded);
  return decoded.ok() ? *std::move(decoded) : encoded;
}

}  // namespace

RequestHeaderAuthenticator::RequestHeaderAuthenticator(RequestHeaderConfig config)
    : config_(std::move(config)),
      username_headers_(Normalize(config_.username_headers)),
      uid_headers_(Normalize(config_.uid_headers)),
      group_headers_(Normalize(config_.group_headers)),
      extra_prefixes_(Normalize(config_.extra_header_prefixes)) {}

absl::StatusOr<std::optional<UserInfo>> RequestHeaderAuthenticator::Authenticate(
    const http::Request& request) const {
  if (!request.peer_certificate.has_value()) {
    return std::nullopt;
  }
  const http::PeerCertificate& peer = *request.peer_certificate;
  if (!peer.verified_by_requestheader_ca) {
    return absl::UnauthenticatedError(
        "front proxy: the client certificate is not signed by the request-header CA");
  }
  if (!peer.has_client_auth_usage) {
    return absl::UnauthenticatedError(
        "front proxy: the client certificate does not allow client authentication (EKU)");
  }
  if (!config_.allowed_names.empty() &&
      std::find(config_.allowed_names.begin(), config_.allowed_names.end(), peer.common_name) ==
          config_.allowed_names.end()) {
    return absl::UnauthenticatedError(
        Cat("x509: subject with cn=", peer.common_name, " is not in the allowed list"));
  }

  UserInfo user;
  user.name = FirstValue(request, username_headers_);
  if (user.name.empty()) {
    return std::nullopt;
  }
  user.uid = FirstValue(request, uid_headers_);
  for (const std::string& name : group_headers_) {
    for (const auto& [key, value] : request.headers) {
      if (key == name && !value.empty()) {
        user.groups.push_back(value);
      }
    }
  }
  for (const auto& [key, value] : request.headers) {
    for (const std::string& prefix : extra_prefixes_) {
      if (absl::StartsWith(key, prefix)) {
        user.extra[UnescapeExtraKey(key.substr(prefix.size()))].push_back(value);
      }
    }
  }
  return user;
}

bool RequestHeaderAuthenticator::IsAuthenticationHeader(const std::string& lowercase_name) const {
  auto listed = [&](const std::vector<std::string>& names) {
    return std::find(names.begin(), names.end(), lowercase_name) != names.end();
  };
  if (listed(username_headers_) || listed(uid_headers_) || listed(group_headers_)) {
    return true;
  }
  return std::any_of(
      extra_prefixes_.begin(), extra_prefixes_.end(),
      [&](const std::string& prefix) { return absl::StartsWith(lowercase_name, prefix); });
}

void RequestHeaderAuthenticator::StripHeaders(http::Request& request) const {
  std::erase_if(request.headers,
                [&](const auto& header) { return IsAuthenticationHeader(header.first); });
}

}  // namespace ma::auth
