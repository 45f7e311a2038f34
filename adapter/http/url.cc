#include "adapter/http/url.h"

#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "queries/base/status_macros.h"
#include "queries/base/strings.h"

namespace ma::http {
namespace {

std::optional<int> HexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return std::nullopt;
}

absl::StatusOr<std::string> Decode(std::string_view encoded, bool plus_is_space) {
  std::string decoded;
  decoded.reserve(encoded.size());
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    const char c = encoded[i];
    if (c == '+' && plus_is_space) {
      decoded.push_back(' ');
      continue;
    }
    if (c != '%') {
      decoded.push_back(c);
      continue;
    }
    std::optional<int> high = i + 1 < encoded.size() ? HexValue(encoded[i + 1]) : std::nullopt;
    std::optional<int> low = i + 2 < encoded.size() ? HexValue(encoded[i + 2]) : std::nullopt;
    if (!high.has_value() || !low.has_value()) {
      std::string_view escape = encoded.substr(i, 3);
      return absl::InvalidArgumentError(
          absl::StrCat("invalid URL escape ", GoQuote(escape), " in ", GoQuote(encoded)));
    }
    decoded.push_back(static_cast<char>(*high * 16 + *low));
    i += 2;
  }
  return decoded;
}

absl::StatusOr<std::vector<std::string>> SplitPath(std::string_view path) {
  std::vector<std::string> segments;
  while (!path.empty()) {
    std::size_t slash = path.find('/');
    std::string_view segment = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
    if (segment.empty()) {
      continue;
    }
    if (segments.size() == kMaxPathSegments) {
      return absl::InvalidArgumentError(
          absl::StrCat("request path has more than ", kMaxPathSegments, " segments"));
    }
    MA_ASSIGN_OR_RETURN(std::string decoded, PercentDecode(segment));
    segments.push_back(std::move(decoded));
  }
  return segments;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> SplitQuery(
    std::string_view query) {
  std::vector<std::pair<std::string, std::string>> parameters;
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) {
      continue;
    }
    if (parameters.size() == kMaxQueryParameters) {
      return absl::InvalidArgumentError(
          absl::StrCat("request has more than ", kMaxQueryParameters, " query parameters"));
    }
    std::size_t equals = pair.find('=');
    std::string_view key = pair.substr(0, equals);
    std::string_view value =
        equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1);
    MA_ASSIGN_OR_RETURN(std::string decoded_key, FormDecode(key));
    MA_ASSIGN_OR_RETURN(std::string decoded_value, FormDecode(value));
    parameters.emplace_back(std::move(decoded_key), std::move(decoded_value));
  }
  return parameters;
}

}  // namespace

absl::StatusOr<std::string> PercentDecode(std::string_view encoded) {
  return Decode(encoded, /*plus_is_space=*/false);
}

absl::StatusOr<std::string> FormDecode(std::string_view encoded) {
  return Decode(encoded, /*plus_is_space=*/true);
}

absl::StatusOr<Request> ParseRequestTarget(std::string_view method, std::string_view target) {
  if (target.size() > kMaxTargetBytes) {
    return absl::InvalidArgumentError(absl::StrCat("request target is ", target.size(),
                                                   " bytes long; the limit is ", kMaxTargetBytes));
  }
  if (target.empty() || target.front() != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("request target ", GoQuote(target), " does not start with \"/\""));
  }
  // A fragment is never sent by conforming clients; if one is, it is not part of the query.
  std::string_view without_fragment = target.substr(0, target.find('#'));
  std::size_t question = without_fragment.find('?');
  std::string_view path = without_fragment.substr(0, question);
  std::string_view query = question == std::string_view::npos
                               ? std::string_view()
                               : without_fragment.substr(question + 1);

  Request request;
  request.method = std::string(method);
  request.target = std::string(target);
  request.path = std::string(path);
  MA_ASSIGN_OR_RETURN(request.path_segments, SplitPath(path));
  MA_ASSIGN_OR_RETURN(request.query, SplitQuery(query));
  return request;
}

}  // namespace ma::http
