#include "adapter/api/status.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "adapter/api/encode.h"
#include "adapter/api/types.h"
#include "adapter/http/error.h"
#include "queries/base/strings.h"

namespace ma::api {
namespace {

// The payload under which WithPublicMessage stores the client-safe message.
constexpr std::string_view kPublicMessageTypeUrl = "type.googleapis.com/ma.api.PublicMessage";
// Request input echoed in a 405 message is cut to these sizes first.
constexpr size_t kMaxEchoedMethodBytes = 32;
constexpr size_t kMaxEchoedPathBytes = 1024;

struct Row {
  absl::StatusCode code;
  int http_status;
  std::string_view reason;
  // 5xx: what the client sees instead of the status message. 4xx: shown only when the status
  // message is empty.
  std::string_view fixed_message;
  bool show_status_message;
};

// The table. Codes not listed answer like kInternal.
constexpr Row kRows[] = {
    {absl::StatusCode::kInvalidArgument, 400, "BadRequest", "bad request", true},
    {absl::StatusCode::kFailedPrecondition, 400, "BadRequest", "bad request", true},
    {absl::StatusCode::kUnauthenticated, 401, "Unauthorized", "Unauthorized", true},
    {absl::StatusCode::kPermissionDenied, 403, "Forbidden", "forbidden", true},
    {absl::StatusCode::kNotFound, 404, "NotFound",
     "the server could not find the requested resource", true},
    {absl::StatusCode::kResourceExhausted, 429, "TooManyRequests",
     "too many requests, please try again later", true},
    {absl::StatusCode::kUnavailable, 503, "ServiceUnavailable", "metrics backend unavailable",
     false},
    {absl::StatusCode::kDeadlineExceeded, 504, "Timeout",
     "timed out waiting for the metrics backend", false},
};
constexpr Row kInternalRow = {absl::StatusCode::kInternal, 500, "InternalError",
                              "unable to fetch metrics", false};
// Answers no absl code names, chosen by http::WithHttpCode: the server's own limits.
constexpr Row kHttpCodeRows[] = {
    {absl::StatusCode::kInvalidArgument, 413, "RequestEntityTooLarge",
     "the request body is too large", true},
    {absl::StatusCode::kInvalidArgument, 431, "BadRequest", "request header fields too large",
     true},
};

const Row& RowFor(const absl::Status& status) {
  if (const std::optional<int> http_code = http::HttpCodeOf(status); http_code.has_value()) {
    for (const Row& row : kHttpCodeRows) {
      if (row.http_status == *http_code) {
        return row;
      }
    }
  }
  for (const Row& row : kRows) {
    if (row.code == status.code()) {
      return row;
    }
  }
  return kInternalRow;
}

std::optional<std::string> PublicMessage(const absl::Status& status) {
  const auto payload = status.GetPayload(ToAbsl(kPublicMessageTypeUrl));
  if (!payload.has_value()) {
    return std::nullopt;
  }
  return std::string(*payload);
}

http::Response Render(const KubeStatus& status) {
  http::Response response;
  response.status = status.code;
  response.content_type = "application/json";
  response.body = EncodeStatus(status);
  if (status.details.has_value() && status.details->retry_after_seconds > 0) {
    response.headers.emplace_back("Retry-After", absl::StrCat(status.details->retry_after_seconds));
  }
  return response;
}

}  // namespace

absl::Status WithPublicMessage(absl::Status status, std::string_view message) {
  status.SetPayload(ToAbsl(kPublicMessageTypeUrl),
                    absl::Cord(Truncate(message, kMaxStatusMessageBytes)));
  return status;
}

int HttpCode(const absl::Status& status) { return status.ok() ? 200 : RowFor(status).http_status; }

http::Response StatusResponse(const absl::Status& status) {
  const Row& row = status.ok() ? kInternalRow : RowFor(status);
  std::optional<std::string> message = PublicMessage(status);
  if (!message.has_value() && row.show_status_message && !status.message().empty()) {
    message = Truncate(ToStd(status.message()), kMaxStatusMessageBytes);
  }
  if (!message.has_value() || message->empty()) {
    message = std::string(row.fixed_message);
  }

  KubeStatus kube;
  kube.reason = std::string(row.reason);
  kube.code = row.http_status;
  if (&row == &kInternalRow) {
    // metav1 NewInternalError's shape, which prometheus-adapter clients are used to.
    kube.message = absl::StrCat("Internal error occurred: ", *message);
    kube.details = StatusDetails{.causes = {StatusCause{.message = *message}}};
  } else {
    kube.message = *std::move(message);
  }
  if (row.code == absl::StatusCode::kResourceExhausted) {
    kube.details = StatusDetails{.retry_after_seconds = kRetryAfterSeconds};
  }
  return Render(kube);
}

http::Response MethodNotAllowedResponse(std::string_view method, std::string_view path) {
  KubeStatus kube;
  kube.message = absl::StrCat(Truncate(method, kMaxEchoedMethodBytes), " is not supported on ",
                              GoQuote(Truncate(path, kMaxEchoedPathBytes)));
  kube.reason = "MethodNotAllowed";
  kube.code = 405;
  http::Response response = Render(kube);
  response.headers.emplace_back("Allow", "GET");
  return response;
}

http::Response ForbiddenResponse(std::string_view message, std::string_view name,
                                 std::string_view group, std::string_view kind) {
  KubeStatus kube;
  kube.message = Truncate(message, kMaxStatusMessageBytes);
  kube.reason = "Forbidden";
  kube.details = StatusDetails{
      .name = std::string(name), .group = std::string(group), .kind = std::string(kind)};
  kube.code = 403;
  http::Response response = Render(kube);
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return response;
}

http::Response NotFoundPathResponse() {
  KubeStatus kube;
  kube.message = "the server could not find the requested resource";
  kube.reason = "NotFound";
  kube.details = StatusDetails{};
  kube.code = 404;
  return Render(kube);
}

}  // namespace ma::api
