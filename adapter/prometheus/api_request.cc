#include "adapter/prometheus/api_request.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "queries/base/strings.h"
#include "queries/base/url_codec.h"

namespace ma::prometheus {
namespace {

// "1234" with trailing zeros of the fraction and a bare '.' removed.
std::string FormatMillis(int64_t millis) {
  const bool negative = millis < 0;
  const uint64_t magnitude =
      negative ? uint64_t{0} - static_cast<uint64_t>(millis) : static_cast<uint64_t>(millis);
  std::string out =
      absl::StrFormat("%s%d.%03d", negative ? "-" : "", magnitude / 1000, magnitude % 1000);
  while (out.back() == '0') {
    out.pop_back();
  }
  if (out.back() == '.') {
    out.pop_back();
  }
  return out;
}

}  // namespace

absl::StatusOr<BaseUrl> ParseBaseUrl(std::string_view url) {
  const auto invalid = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("--prometheus-url ", GoQuote(url.substr(0, 200)), ": ", ToAbsl(why)));
  };
  if (url.size() > kMaxBaseUrlBytes) {
    return invalid(absl::StrCat("longer than ", kMaxBaseUrlBytes, " bytes"));
  }
  for (const char c : url) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return invalid("contains spaces or control characters");
    }
  }
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return invalid("must be an absolute http:// or https:// URL");
  }
  const std::string scheme = absl::AsciiStrToLower(ToAbsl(url.substr(0, scheme_end)));
  if (scheme != "http" && scheme != "https") {
    return invalid("scheme must be http or https");
  }
  std::string_view rest = url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find('#'));
  const size_t authority_end = std::min(rest.find_first_of("/?"), rest.size());
  const std::string_view authority = rest.substr(0, authority_end);
  const size_t at = authority.rfind('@');
  const std::string_view host_port =
      at == std::string_view::npos ? authority : authority.substr(at + 1);
  if (host_port.empty() || host_port.front() == ':') {
    return invalid("has no host");
  }
  rest.remove_prefix(authority_end);
  BaseUrl base;
  base.origin = absl::StrCat(scheme, "://", ToAbsl(authority));
  const size_t query_start = rest.find('?');
  base.path = std::string(rest.substr(0, query_start));
  if (query_start != std::string_view::npos) {
    base.query = std::string(rest.substr(query_start + 1));
  }
  return base;
}

std::string JoinPath(std::string_view base, std::string_view endpoint) {
  std::string joined;
  if (base.empty()) {
    joined = std::string(endpoint);
  } else if (endpoint.empty()) {
    joined = std::string(base);
  } else {
    joined = absl::StrCat(ToAbsl(base), "/", ToAbsl(endpoint));
  }
  if (joined.empty()) {
    return "";
  }
  // Go's path.Clean.
  const bool rooted = joined.front() == '/';
  std::vector<absl::string_view> parts;
  std::string_view rest = joined;
  while (!rest.empty()) {
    const size_t slash = std::min(rest.find('/'), rest.size());
    const absl::string_view part = ToAbsl(rest.substr(0, slash));
    rest.remove_prefix(std::min(slash + 1, rest.size()));
    if (part.empty() || part == ".") {
      continue;
    }
    if (part == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!rooted) {
        parts.push_back(part);
      }
      continue;
    }
    parts.push_back(part);
  }
  std::string cleaned = absl::StrCat(rooted ? "/" : "", absl::StrJoin(parts, "/"));
  return cleaned.empty() ? "." : cleaned;
}

std::string EncodeForm(Params params) {
  std::stable_sort(params.begin(), params.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out;
  for (const auto& [key, value] : params) {
    if (!out.empty()) {
      out += '&';
    }
    absl::StrAppend(&out, QueryEscape(key), "=", QueryEscape(value));
  }
  return out;
}

std::string FormatTime(std::chrono::system_clock::time_point time) {
  const auto millis =
      std::chrono::floor<std::chrono::milliseconds>(time.time_since_epoch()).count();
  return FormatMillis(millis);
}

std::string FormatTimeout(std::chrono::milliseconds timeout) {
  if (timeout.count() % 1000 == 0) {
    return absl::StrCat(timeout.count() / 1000, "s");
  }
  return absl::StrCat(timeout.count(), "ms");
}

ApiRequest BuildApiRequest(const BaseUrl& base, std::string_view endpoint, Params params,
                           bool post) {
  const std::string path = JoinPath(base.path, endpoint);
  std::string encoded = EncodeForm(std::move(params));
  if (!post) {
    std::string url = absl::StrCat(base.origin, path, encoded.empty() ? "" : "?", encoded);
    if (url.size() <= kMaxGetUrlBytes) {
      return ApiRequest{.method = "GET", .url = std::move(url), .body = ""};
    }
  }
  return ApiRequest{
      .method = "POST",
      .url = absl::StrCat(base.origin, path, base.query.empty() ? "" : "?", base.query),
      .body = std::move(encoded)};
}

}  // namespace ma::prometheus
