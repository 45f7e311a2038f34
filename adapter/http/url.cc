#include "adapter/http/url.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "queries/base/status_macros.h"
#include "queries/base/strings.h"
#include "queries/base/url_codec.h"

namespace ma::http {
namespace {

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
