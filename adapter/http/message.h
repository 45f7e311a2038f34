#pragma once

// Beast-free HTTP request and response values, and the handler that turns one into the other:
// what the server hands to handlers and what they hand back. Handlers never include Beast.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "adapter/async/task.h"

namespace ma::http {

// The TLS client certificate of the connection, when the client presented one and a client CA
// is configured (front-proxy or --client-ca-file): the name only when a CA verified it.
struct PeerCertificate {
  std::string common_name;
  std::vector<std::string> organizations;
  bool verified_by_requestheader_ca = false;
  bool verified_by_client_ca = false;
  bool has_client_auth_usage = false;
};

struct Request {
  std::string method;  // "GET"
  std::string target;  // raw request target, "/apis/...?labelSelector=a%3Db"
  // Path percent-decoded segment by segment ("%2A" -> "*"; "+" stays "+"), split on "/", with
  // empty segments dropped: "/apis/x/v1/" -> {"apis", "x", "v1"}.
  std::vector<std::string> path_segments;
  std::string path;  // the raw path (before "?"), for logs and error messages
  // Query parameters form-decoded ("+" -> " "), in order of appearance.
  std::vector<std::pair<std::string, std::string>> query;
  // Header names lowercased; repeated headers kept as separate entries.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string remote_address;
  std::optional<PeerCertificate> peer_certificate;

  // First value of a query parameter, if present.
  std::optional<std::string> QueryParam(std::string_view name) const {
    for (const auto& [k, v] : query) {
      if (k == name) {
        return v;
      }
    }
    return std::nullopt;
  }
  // First value of a header (name in lowercase), if present.
  std::optional<std::string> Header(std::string_view lowercase_name) const {
    for (const auto& [k, v] : headers) {
      if (k == lowercase_name) {
        return v;
      }
    }
    return std::nullopt;
  }
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  // Not sent; for the server's access log line. The authenticated user's name (empty when none
  // was), set by the authentication filter; how the value cache answered the request's queries
  // ("hit", "miss", "stale", "none"; a static name), set by the API handler.
  std::string user{};
  std::string_view cache_outcome = "none";
};

// Serves one request as a task on the connection's executor. The returned Task must not refer to
// the callable itself (a coroutine lambda's captures die with it): call a member coroutine.
using Handler = std::function<async::Task<Response>(Request request)>;

// The answer for an error met outside any handler (a malformed request, a timeout); the server
// has no error format of its own.
using ErrorRenderer = std::function<Response(const absl::Status& status)>;

}  // namespace ma::http
