#pragma once

// The Kubernetes API as the rest of the adapter sees it: one-shot calls (GET a ConfigMap, POST a
// TokenReview or SubjectAccessReview) and long-lived streams (WATCH). Curl-free and
// RapidJSON-free, so that authentication, authorization and the object cache can be tested
// against a fake.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ma::kube {

// A one-shot call's own bound; a WATCH has its own (timeoutSeconds plus a margin).
inline constexpr std::chrono::milliseconds kDefaultCallTimeout{std::chrono::seconds(10)};

struct ApiRequest {
  std::string method = "GET";  // GET or POST
  // Path and query from the API root, already escaped: "/api/v1/namespaces/x/configmaps/y".
  std::string path;
  std::string body;  // JSON, sent with POST
  // Content negotiation, e.g. "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1".
  std::string accept = "application/json";
  std::chrono::milliseconds timeout = kDefaultCallTimeout;  // a WATCH: the whole stream
};

struct ApiResponse {
  long status = 0;  // NOLINT(google-runtime-int): curl's type
  std::string body;
};

// A response (any HTTP status) or a transport error (kUnavailable, kDeadlineExceeded, ...).
using ApiCallback = std::function<void(absl::StatusOr<ApiResponse>)>;

// Receives each complete line of a 2xx streaming response (one WATCH event per line, without
// the newline). A non-OK return ends the stream with that status.
using LineCallback = std::function<absl::Status(std::string_view line)>;
// How a stream ended: OK when the server closed it cleanly (a WATCH's timeoutSeconds), a non-2xx
// response as kFailedPrecondition/kNotFound/... with the Status message, or a transport error.
// `http_status` is the response code when there was one (410 Gone starts a new LIST).
using StreamDone = std::function<void(absl::Status status, long http_status)>;  // NOLINT

// Implementations are thread-safe: calls may be made from any thread. Callbacks run on an
// internal thread and must not block; each callback is called exactly once (LineCallback once
// per line).
class ApiClient {
 public:
  virtual ~ApiClient() = default;

  // Sends the request with the client's credentials (client certificate, bearer token, or an
  // exec plugin's token).
  virtual void Call(ApiRequest request, ApiCallback done) = 0;

  // Starts a streaming GET (a WATCH); `request.timeout` bounds the whole stream.
  virtual void Stream(ApiRequest request, LineCallback on_line, StreamDone done) = 0;
};

}  // namespace ma::kube
