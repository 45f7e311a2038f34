#pragma once

// The filter in front of the API handler, as Go's WithAuthentication and WithAuthorization:
// authenticate (401 Status on failure), strip the credentials, authorize (403 Status with the
// reviewer's reason; 500 when the review fails), then call the inner handler.

#include <memory>
#include <string>

#include "adapter/auth/authenticator.h"
#include "adapter/auth/authorizer.h"
#include "adapter/auth/request_attributes.h"
#include "adapter/auth/user_info.h"
#include "adapter/http/message.h"

namespace ma::telemetry {
class AdapterMetrics;
}  // namespace ma::telemetry

namespace ma::auth {

// The request path echoed in a 500 answer is cut to this many bytes.
inline constexpr size_t kMaxEchoedPathBytes = 1024;

// Go's forbidden message for `user` doing `attributes`, with the reviewer's `reason` appended
// when there is one: `pods.custom.metrics.k8s.io "*" is forbidden: User "jane" cannot get
// resource "pods/http_requests" in API group "custom.metrics.k8s.io" in the namespace "default"`.
std::string ForbiddenMessage(const UserInfo& user, const RequestAttributes& attributes,
                             const std::string& reason);

// Wraps `inner`. The returned handler is thread-safe as its parts are; `authenticator` and
// `authorizer` are shared with whoever updates or owns them and must outlive pending requests,
// as must `metrics` (where each outcome is counted; none when null). Refusals are logged at -v=2
// only: any client can make them, so at a higher level they would flood the log.
http::Handler WithAuthentication(std::shared_ptr<const Authenticator> authenticator,
                                 std::shared_ptr<Authorizer> authorizer, http::Handler inner,
                                 telemetry::AdapterMetrics* metrics = nullptr);

}  // namespace ma::auth
