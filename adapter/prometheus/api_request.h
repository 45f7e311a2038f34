#pragma once

// How a Prometheus API call is put on the wire, exactly as prometheus-adapter's Go client does it:
// path.Join of the base path and the endpoint, url.Values.Encode parameters, seconds with
// millisecond precision.

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace ma::prometheus {

// A GET whose URL would be longer than this is sent as a form POST instead: proxies and
// Prometheus itself reject long request lines (414), e.g. large object-name alternations.
inline constexpr size_t kMaxGetUrlBytes = 8000;
// Upper bound for --prometheus-url.
inline constexpr size_t kMaxBaseUrlBytes = 4096;

// A parsed --prometheus-url.
struct BaseUrl {
  std::string origin;  // "https://user@host:9090": scheme (lowercased) and authority
  std::string path;    // "/prometheus" or ""
  std::string query;   // without '?'; kept only for POST, as Go's client does
};

// Accepts absolute http(s) URLs with a host; drops the fragment.
absl::StatusOr<BaseUrl> ParseBaseUrl(std::string_view url);

// Go's path.Join(base, endpoint): joined with '/', then cleaned ("//", ".", ".." resolved).
std::string JoinPath(std::string_view base, std::string_view endpoint);

using Params = std::vector<std::pair<std::string, std::string>>;

// Go's url.Values.Encode: keys sorted (stable for repeated keys), url.QueryEscape'd, '&'-joined.
std::string EncodeForm(Params params);

// Seconds since the epoch with up to three decimals, trailing zeros trimmed: "1597806407.851",
// "1597806407.8", "1597806407".
std::string FormatTime(std::chrono::system_clock::time_point time);

// A duration Prometheus' parseDuration accepts: "30s" for whole seconds, else "1500ms".
std::string FormatTimeout(std::chrono::milliseconds timeout);

struct ApiRequest {
  std::string method;  // "GET" or "POST"
  std::string url;
  std::string body;  // form-encoded parameters for POST
};

// Builds the request for `endpoint` ("/api/v1/query"). With post=false, falls back to POST when
// the GET URL would exceed kMaxGetUrlBytes.
ApiRequest BuildApiRequest(const BaseUrl& base, std::string_view endpoint, Params params,
                           bool post);

}  // namespace ma::prometheus
