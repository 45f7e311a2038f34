#include "adapter/auth/auth_filter.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_replace.h"
#include "adapter/api/status.h"
#include "adapter/async/await.h"
#include "adapter/telemetry/adapter_metrics.h"
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

// The reviewer's error goes to the log only; the client learns which request failed and why in
// general terms, as every error answer does, through the one error table.
http::Response AuthorizationFailed(const http::Request& request) {
  return api::StatusResponse(api::WithPublicMessage(
      absl::InternalError("authorization failed"),
      Cat("the authorization check for ", GoQuote(Truncate(request.path, kMaxEchoedPathBytes)),
          " could not be made")));
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

namespace {

// The filter's parts; shared by the handler and every request task it starts, so that a task
// never outlives them.
struct Filter {
  std::shared_ptr<const Authenticator> authenticator;
  std::shared_ptr<Authorizer> authorizer;
  http::Handler inner;
  telemetry::AdapterMetrics* metrics;

  void CountAuthentication(std::string_view result) const {
    if (metrics != nullptr) metrics->RecordAuthentication(result);
  }
  void CountAuthorization(std::string_view decision) const {
    if (metrics != nullptr) metrics->RecordAuthorization(decision);
  }
};

// The request's deadline (or its client leaving) ended a wait: neither an authentication failure
// nor a failed review, so it is not counted as one. The answer goes through the one error
// table; the server answers a passed deadline with its 504 anyway.
http::Response Cancelled(const async::TaskContext& context) {
  return api::StatusResponse(context.cancel_reason());
}

// Names the authenticated user for the server's access log line.
http::Response WithUser(http::Response response, const UserInfo& user) {
  response.user = user.name;
  return response;
}

async::Task<http::Response> Serve(std::shared_ptr<const Filter> filter, http::Request request) {
  const async::TaskContext& context = co_await async::ThisContext();
  // A cancelled wait forgets its callback in the authenticator and the authorizer; the review in
  // flight goes on and its answer is cached for the next request.
  const absl::StatusOr<UserInfo> user = co_await async::Await<UserInfo>(
      [&](async::Completion<UserInfo> done, async::CancelSlot& cancel) {
        filter->authenticator->Authenticate(request, std::move(done), &cancel);
      });
  if (context.cancelled()) {
    co_return Cancelled(context);
  }
  if (!user.ok()) {
    filter->CountAuthentication("failure");
    MA_VLOG(2) << "authentication failed for " << GoQuote(request.method) << " "
               << GoQuote(Truncate(request.path, kMaxEchoedPathBytes)) << " from "
               << request.remote_address << ": " << GoQuote(ToStd(user.status().message()));
    co_return Unauthorized();
  }
  filter->CountAuthentication("success");
  filter->authenticator->StripCredentials(request);
  const RequestAttributes attributes = AttributesOf(request);
  const absl::StatusOr<Authorization> result = co_await async::Await<Authorization>(
      [&](async::Completion<Authorization> done, async::CancelSlot& cancel) {
        filter->authorizer->Authorize(*user, attributes, std::move(done), &cancel);
      });
  if (context.cancelled()) {
    co_return Cancelled(context);
  }
  if (!result.ok()) {
    filter->CountAuthorization("error");
    MA_LOG(ERROR) << "authorization of user " << GoQuote(user->name) << " for "
                  << GoQuote(request.method) << " "
                  << GoQuote(Truncate(request.path, kMaxEchoedPathBytes))
                  << " failed: " << GoQuote(result.status().ToString());
    co_return WithUser(AuthorizationFailed(request), *user);
  }
  if (result->decision != Decision::kAllow) {
    filter->CountAuthorization("deny");
    MA_VLOG(2) << "forbidden: user " << GoQuote(user->name) << " " << GoQuote(attributes.verb)
               << " " << GoQuote(Truncate(request.path, kMaxEchoedPathBytes)) << ": "
               << GoQuote(result->reason.empty() ? "no reason given" : result->reason);
    co_return WithUser(Forbidden(*user, attributes, result->reason), *user);
  }
  filter->CountAuthorization("allow");
  co_return WithUser(co_await filter->inner(std::move(request)), *user);
}

}  // namespace

http::Handler WithAuthentication(std::shared_ptr<const Authenticator> authenticator,
                                 std::shared_ptr<Authorizer> authorizer, http::Handler inner,
                                 telemetry::AdapterMetrics* metrics) {
  auto filter = std::make_shared<const Filter>(
      Filter{std::move(authenticator), std::move(authorizer), std::move(inner), metrics});
  return [filter](http::Request request) { return Serve(filter, std::move(request)); };
}

}  // namespace ma::auth
