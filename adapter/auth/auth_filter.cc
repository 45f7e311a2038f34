#include "adapter/auth/auth_filter.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_replace.h"
#include "adapter/api/status.h"
#include "adapter/telemetry/log.h"
#include "queries/base/strings.h"

namespace ma::auth {
namespace {

// Go's forbidden-message sanitizer: the message may be shown as HTML by a browser.
std::string Sanitize(std::string_view text) {
  return absl::StrReplaceAll(ToAbsl(text), {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}});
}

std::string UserCannot(const UserInfo& user, const RequestAttributes& a) {
  if (!a.resource_request) {
    return Cat("User ", GoQuote(user.name), " cannot ", a.verb, " path ", GoQuote(a.path));
  }
  std::string resource = a.resource;
  if (!a.subresource.empty()) {
    resource = Cat(resource, "/", a.subresource);
  }
  std::string message = Cat("User ", GoQuote(user.name), " cannot ", a.verb, " resource ",
                            GoQuote(resource), " in API group ", GoQuote(a.api_group));
  if (!a.namespace_name.empty()) {
    return Cat(message, " in the namespace ", GoQuote(a.namespace_name));
  }
  return Cat(message, " at the cluster scope");
}

// Go's GroupResource.String(): "pods.custom.metrics.k8s.io", "pods" for the core group.
std::string QualifiedResource(const RequestAttributes& a) {
  return a.api_group.empty() ? a.resource : Cat(a.resource, ".", a.api_group);
}

http::Response Unauthorized() {
  return api::StatusResponse(absl::UnauthenticatedError("Unauthorized"));
}

// Go answers an authorizer error in plain text; the error itself goes to the log only.
http::Response AuthorizationFailed(const http::Request& request) {
  http::Response response;
  response.status = 500;
  response.content_type = "text/plain; charset=utf-8";
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  response.body =
      Cat("Internal Server Error: ", GoQuote(Truncate(request.path, kMaxEchoedPathBytes)),
          ": the authorization check could not be made\n");
  return response;
}

http::Response Forbidden(const UserInfo& user, const RequestAttributes& a,
                         const std::string& reason) {
  if (!a.resource_request) {
    return api::ForbiddenResponse(ForbiddenMessage(user, a, reason), "", "", "");
  }
  return api::ForbiddenResponse(ForbiddenMessage(user, a, reason), a.name, a.api_group, a.resource);
}

}  // namespace

std::string ForbiddenMessage(const UserInfo& user, const RequestAttributes& attributes,
                             const std::string& reason) {
  std::string error = Sanitize(UserCannot(user, attributes));
  if (!reason.empty()) {
    error = Cat(error, ": ", reason);
  }
  if (!attributes.resource_request ||
      (attributes.resource.empty() && attributes.api_group.empty())) {
    return Cat("forbidden: ", error);
  }
  if (attributes.name.empty()) {
    return Cat(QualifiedResource(attributes), " is forbidden: ", error);
  }
  return Cat(QualifiedResource(attributes), " ", GoQuote(attributes.name),
             " is forbidden: ", error);
}

http::Handler WithAuthentication(std::shared_ptr<const Authenticator> authenticator,
                                 std::shared_ptr<Authorizer> authorizer, http::Handler inner) {
  return [authenticator = std::move(authenticator), authorizer = std::move(authorizer),
          inner = std::move(inner)](http::Request request, http::Responder respond) {
    auto shared = std::make_shared<http::Request>(std::move(request));
    authenticator->Authenticate(*shared, [authenticator, authorizer, inner, shared,
                                          respond](absl::StatusOr<UserInfo> user) {
      if (!user.ok()) {
        MA_LOG(WARNING) << "authentication failed for " << shared->method << " "
                        << Truncate(shared->path, kMaxEchoedPathBytes) << " from "
                        << shared->remote_address << ": " << user.status().message();
        respond(Unauthorized());
        return;
      }
      authenticator->StripCredentials(*shared);
      const RequestAttributes attributes = AttributesOf(*shared);
      authorizer->Authorize(
          *user, attributes,
          [user = *user, attributes, inner, shared, respond](absl::StatusOr<Authorization> result) {
            if (!result.ok()) {
              MA_LOG(ERROR) << "authorization of user " << GoQuote(user.name) << " for "
                            << shared->method << " " << Truncate(shared->path, kMaxEchoedPathBytes)
                            << " failed: " << result.status();
              respond(AuthorizationFailed(*shared));
              return;
            }
            if (result->decision != Decision::kAllow) {
              MA_LOG(INFO) << "forbidden: user " << GoQuote(user.name) << " " << attributes.verb
                           << " " << Truncate(shared->path, kMaxEchoedPathBytes) << ": "
                           << (result->reason.empty() ? "no reason given" : result->reason);
              respond(Forbidden(user, attributes, result->reason));
              return;
            }
            inner(std::move(*shared), respond);
          });
    });
  };
}

}  // namespace ma::auth
