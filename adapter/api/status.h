#pragma once

// The single table from absl::Status to an HTTP status and a Kubernetes Status document
// (docs/security.md, "Errors shown to clients"). Client errors (4xx) show the status message,
// which was written for the client; server errors (5xx) show a fixed safe message, because their
// text may carry backend addresses or internals. The caller logs the detailed status.

#include <string_view>

#include "absl/status/status.h"
#include "adapter/http/message.h"

namespace ma::api {

// Messages longer than this are cut (at a UTF-8 boundary) and end in "...": 4xx messages can
// echo request input.
inline constexpr size_t kMaxStatusMessageBytes = 4096;
// kResourceExhausted answers carry this Retry-After, in seconds.
inline constexpr int kRetryAfterSeconds = 1;

// Marks `message` as safe to show to clients in place of the fixed message of a 5xx answer (it
// also replaces a 4xx status message). No effect on an OK status.
absl::Status WithPublicMessage(absl::Status status, std::string_view message);

// The HTTP status StatusResponse uses for `status`; 200 for OK. For request metrics labels.
int HttpCode(const absl::Status& status);

// The error answer for a non-OK `status`:
//   kInvalidArgument, kFailedPrecondition -> 400 BadRequest;  kUnauthenticated -> 401 Unauthorized;
//   kPermissionDenied -> 403 Forbidden;  kNotFound -> 404 NotFound;
//   kResourceExhausted -> 429 TooManyRequests (retryAfterSeconds and Retry-After);
//   kUnavailable -> 503 ServiceUnavailable;  kDeadlineExceeded -> 504 Timeout;
//   anything else -> 500 InternalError, "Internal error occurred: unable to fetch metrics" as
//   prometheus-adapter answers. An OK status is a caller bug and also answers 500.
http::Response StatusResponse(const absl::Status& status);

// 405 MethodNotAllowed for a method the path does not serve (every endpoint is read-only), with
// an `Allow: GET` header.
http::Response MethodNotAllowedResponse(std::string_view method, std::string_view path);

// 403 Forbidden as Go's authorization filter writes it: `message` (cut like any status message),
// details {name, group, kind} with empty fields omitted ("details":{} when all are empty), and
// `X-Content-Type-Options: nosniff`.
http::Response ForbiddenResponse(std::string_view message, std::string_view name,
                                 std::string_view group, std::string_view kind);

// 404 NotFound for a path no route serves, with kube-apiserver's body for unknown paths, which
// does not echo the path.
http::Response NotFoundPathResponse();

}  // namespace ma::api
