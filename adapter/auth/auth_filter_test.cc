#include "adapter/auth/auth_filter.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_split.h"
#include "adapter/telemetry/adapter_metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "queries/base/strings.h"
#include "test/testing/fake_api_client.h"
#include "test/testing/fake_clock.h"
#include "test/testing/run_task.h"

namespace ma::auth {
namespace {

using ::ma::testing::FakeApiClient;
using ::ma::testing::FakeClock;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Key;
using ::testing::Not;
using ::testing::Pair;

constexpr char kPodsPath[] =
    "/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/*/http_requests";

http::Request Get(const std::string& path) {
  http::Request request;
  request.method = "GET";
  request.path = path;
  request.target = path;
  for (absl::string_view segment : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    request.path_segments.emplace_back(segment);
  }
  return request;
}

http::Request FromProxy(const std::string& path, std::string user,
                        std::vector<std::string> groups) {
  http::Request request = Get(path);
  http::PeerCertificate peer;
  peer.common_name = "front-proxy-client";
  peer.verified_by_requestheader_ca = true;
  peer.has_client_auth_usage = true;
  request.peer_certificate = peer;
  request.headers.emplace_back("x-remote-user", std::move(user));
  for (std::string& group : groups) {
    request.headers.emplace_back("x-remote-group", std::move(group));
  }
  request.headers.emplace_back("x-remote-extra-scopes", "view");
  return request;
}

AuthenticatorSettings ProxySettings() {
  RequestHeaderConfig config;
  config.username_headers = {"X-Remote-User"};
  config.group_headers = {"X-Remote-Group"};
  config.extra_header_prefixes = {"X-Remote-Extra-"};
  config.allowed_names = {"front-proxy-client"};
  AuthenticatorSettings settings;
  settings.request_header = config;
  return settings;
}

class AuthFilterTest : public ::testing::Test {
 protected:
  AuthFilterTest() {
    authenticator_ = std::make_shared<Authenticator>(
        ProxySettings(),
        std::make_unique<TokenReviewAuthenticator>(client_, TokenReviewOptions{}, clock_));
    authorizer_ = *Authorizer::Create(&client_, AuthorizerOptions{}, clock_);
    handler_ = WithAuthentication(
        authenticator_, authorizer_,
        [this](http::Request request) { return Inner(std::move(request)); }, &metrics_);
  }

  async::Task<http::Response> Inner(http::Request request) {
    seen_ = std::move(request);
    co_return http::Response{200, "application/json", "{}", {}};
  }

  http::Response Serve(http::Request request) {
    absl::StatusOr<http::Response> response = testing::RunTask(handler_(std::move(request)));
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? *std::move(response) : http::Response{0, "", "", {}};
  }

  void Review(std::string status_json) {
    client_.Set(std::string(kSubjectAccessReviewPath),
                kube::ApiResponse{201, Cat(R"({"status":)", status_json, "}")});
  }

  FakeApiClient client_;
  FakeClock clock_;
  telemetry::AdapterMetrics metrics_{"v", "c"};
  std::shared_ptr<Authenticator> authenticator_;
  std::shared_ptr<Authorizer> authorizer_;
  http::Handler handler_;
  std::optional<http::Request> seen_;
};

TEST_F(AuthFilterTest, AllowedRequestsReachTheHandlerWithoutCredentials) {
  Review(R"({"allowed":true})");
  http::Request request = FromProxy(kPodsPath, "jane", {"dev"});
  request.headers.emplace_back("authorization", "Bearer should-not-leak");
  request.headers.emplace_back("accept", "application/json");
  const http::Response response = Serve(std::move(request));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.user, "jane");  // for the access log
  ASSERT_TRUE(seen_.has_value());
  EXPECT_THAT(seen_->headers, ElementsAre(Pair("accept", "application/json")));
  ASSERT_EQ(client_.calls(), 1u);
  EXPECT_EQ(client_.requests()[0].body,
            R"({"kind":"SubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{},)"
            R"("spec":{"resourceAttributes":{"namespace":"default","verb":"get",)"
            R"("group":"custom.metrics.k8s.io","version":"v1beta2","resource":"pods",)"
            R"("subresource":"http_requests","name":"*"},"user":"jane",)"
            R"("groups":["dev","system:authenticated"],"extra":{"scopes":["view"]}}})");
}

TEST_F(AuthFilterTest, DeniedRequestsGetGoForbiddenStatus) {
  Review(R"({"allowed":false,"denied":true,"reason":"RBAC: <no> match"})");
  const http::Response response = Serve(FromProxy(kPodsPath, "jane", {}));
  EXPECT_EQ(response.status, 403);
  EXPECT_EQ(response.user, "jane");
  EXPECT_FALSE(seen_.has_value());
  EXPECT_EQ(response.body,
            R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
            R"("message":"pods.custom.metrics.k8s.io \"*\" is forbidden: User \"jane\" cannot get )"
            R"(resource \"pods/http_requests\" in API group \"custom.metrics.k8s.io\" in the )"
            R"(namespace \"default\": RBAC: \u003cno\u003e match","reason":"Forbidden",)"
            R"("details":{"name":"*","group":"custom.metrics.k8s.io","kind":"pods"},"code":403})"
            "\n");
  EXPECT_THAT(response.headers, Contains(Pair("X-Content-Type-Options", "nosniff")));
}

TEST_F(AuthFilterTest, NoOpinionIsForbiddenToo) {
  Review(R"({"allowed":false})");
  const http::Response response = Serve(FromProxy("/metrics", "jane", {}));
  EXPECT_EQ(response.status, 403);
  EXPECT_THAT(response.body,
              HasSubstr(R"("message":"forbidden: User \"jane\" cannot get path \"/metrics\"")"));
  EXPECT_THAT(response.body, HasSubstr(R"("details":{})"));
}

TEST_F(AuthFilterTest, AnonymousHealthChecksPassWithoutAReview) {
  const http::Response response = Serve(Get("/healthz"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(client_.calls(), 0u);
}

TEST_F(AuthFilterTest, AnonymousUsersAreReviewedAsSuch) {
  Review(R"({"allowed":false})");
  const http::Response response = Serve(Get(kPodsPath));
  EXPECT_EQ(response.status, 403);
  EXPECT_THAT(response.body, HasSubstr(R"(User \"system:anonymous\" cannot get)"));
  ASSERT_EQ(client_.calls(), 1u);
  EXPECT_THAT(client_.requests()[0].body,
              HasSubstr(R"("user":"system:anonymous","groups":["system:unauthenticated"])"));
}

TEST_F(AuthFilterTest, MastersAreAllowedWithoutAReview) {
  const http::Response response =
      Serve(FromProxy(kPodsPath, "system:kube-aggregator", {"system:masters"}));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(client_.calls(), 0u);
}

TEST_F(AuthFilterTest, FailedAuthenticationIs401) {
  client_.Set(std::string(kTokenReviewPath),
              kube::ApiResponse{201, R"({"status":{"authenticated":false}})"});
  http::Request bad_token = Get(kPodsPath);
  bad_token.headers.emplace_back("authorization", "Bearer wrong");
  http::Request bad_proxy = FromProxy(kPodsPath, "jane", {});
  bad_proxy.peer_certificate->common_name = "mallory";
  for (http::Request& request : {std::ref(bad_token), std::ref(bad_proxy)}) {
    const http::Response response = Serve(std::move(request));
    EXPECT_EQ(response.status, 401);
    EXPECT_EQ(response.user, "") << "nobody was authenticated";
    EXPECT_EQ(response.body,
              R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
              R"("message":"Unauthorized","reason":"Unauthorized","code":401})"
              "\n");
  }
  EXPECT_FALSE(seen_.has_value());
}

TEST_F(AuthFilterTest, TokenUsersAreAuthorizedWithTheirReviewedIdentity) {
  client_.Set(std::string(kTokenReviewPath),
              kube::ApiResponse{201, R"({"status":{"authenticated":true,"user":{"username":)"
                                     R"("system:serviceaccount:kube-system:hpa"}}})"});
  Review(R"({"allowed":true})");
  http::Request request = Get("/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue");
  request.headers.emplace_back("authorization", "Bearer good");
  EXPECT_EQ(Serve(std::move(request)).status, 200);
  ASSERT_EQ(client_.calls(), 2u);
  EXPECT_THAT(client_.requests()[1].body,
              HasSubstr(R"("resourceAttributes":{"namespace":"shop","verb":"list",)"
                        R"("group":"external.metrics.k8s.io","version":"v1beta1",)"
                        R"("resource":"queue"},"user":"system:serviceaccount:kube-system:hpa",)"
                        R"("groups":["system:authenticated"]})"));
}

TEST_F(AuthFilterTest, FailedReviewIsA500WithoutDetails) {
  client_.Set(std::string(kSubjectAccessReviewPath),
              absl::UnavailableError("dial tcp 10.96.0.1:443: connection refused"));
  const http::Response response = Serve(FromProxy(kPodsPath, "jane", {}));
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_THAT(response.body, HasSubstr(R"("reason":"InternalError")"));
  EXPECT_THAT(response.body, HasSubstr(Cat("the authorization check for \\\"", kPodsPath, "\\\"")));
  EXPECT_THAT(response.body, Not(HasSubstr("10.96.0.1")));
}

TEST_F(AuthFilterTest, EveryOutcomeIsCounted) {
  Review(R"({"allowed":true})");
  Serve(FromProxy(kPodsPath, "jane", {}));
  Review(R"({"allowed":false,"denied":true})");
  Serve(FromProxy(kPodsPath, "john", {}));
  client_.Set(std::string(kSubjectAccessReviewPath), absl::UnavailableError("refused"));
  Serve(FromProxy(kPodsPath, "joan", {}));
  client_.Set(std::string(kTokenReviewPath),
              kube::ApiResponse{201, R"({"status":{"authenticated":false}})"});
  http::Request bad_token = Get(kPodsPath);
  bad_token.headers.emplace_back("authorization", "Bearer wrong");
  Serve(std::move(bad_token));

  const std::string text = metrics_.Serialize();
  EXPECT_THAT(text,
              HasSubstr(R"(metrics_adapter_authentication_attempts_total{result="success"} 3)"));
  EXPECT_THAT(text,
              HasSubstr(R"(metrics_adapter_authentication_attempts_total{result="failure"} 1)"));
  for (const char* decision : {"allow", "deny", "error"}) {
    EXPECT_THAT(text, HasSubstr(Cat(R"(metrics_adapter_authorization_decisions_total{decision=")",
                                    decision, R"("} 1)")));
  }
}

// The request's handler task, started on a queue this test drains, so that it can be cancelled
// while it waits (as the server's deadline cancels it).
class RunningRequest {
 public:
  RunningRequest(const http::Handler& handler, http::Request request)
      : executor_(std::make_shared<testing::QueueExecutor>()), context_(executor_) {
    async::Start<http::Response>(context_, handler(std::move(request)),
                                 [this](absl::StatusOr<http::Response> r) { result_ = r; });
  }
  bool ended() const { return result_.has_value(); }
  // Cancels the request as its passed deadline does, and returns its answer.
  absl::StatusOr<http::Response> Cancel() {
    context_.Cancel(absl::DeadlineExceededError("the request deadline passed"));
    while (!result_.has_value() && executor_->RunOne(absl::Now() + absl::Seconds(10))) {
    }
    return result_.value_or(absl::InternalError("the task did not end"));
  }

 private:
  std::shared_ptr<testing::QueueExecutor> executor_;
  async::TaskContext context_;
  std::optional<absl::StatusOr<http::Response>> result_;
};

TEST_F(AuthFilterTest, DeadlineEndsAHangingTokenReviewAndItsAnswerIsStillCached) {
  client_.Hold();
  http::Request request = Get(kPodsPath);
  request.headers.emplace_back("authorization", "Bearer slow");
  RunningRequest running(handler_, request);
  FakeApiClient::Pending review = client_.Next();
  ASSERT_EQ(review.request.path, kTokenReviewPath);
  EXPECT_FALSE(running.ended());
  const absl::StatusOr<http::Response> response = running.Cancel();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 504);
  EXPECT_FALSE(seen_.has_value());
  // Not an authentication failure: nothing was decided.
  EXPECT_THAT(
      metrics_.Serialize(),
      Not(HasSubstr(R"(metrics_adapter_authentication_attempts_total{result="failure"} 1)")));
  // The review answers late: the gone request is not called back, and the answer is cached.
  review.done(kube::ApiResponse{
      201, R"({"status":{"authenticated":true,"user":{"username":"system:serviceaccount:a:b"}}})"});
  Review(R"({"allowed":true})");
  EXPECT_EQ(Serve(request).status, 200);
  EXPECT_THAT(client_.paths(),
              ElementsAre(std::string(kTokenReviewPath), std::string(kSubjectAccessReviewPath)));
}

TEST_F(AuthFilterTest, DeadlineEndsAHangingSubjectAccessReviewAndItsAnswerIsStillCached) {
  client_.Hold();
  RunningRequest running(handler_, FromProxy(kPodsPath, "jane", {}));
  FakeApiClient::Pending review = client_.Next();
  ASSERT_EQ(review.request.path, kSubjectAccessReviewPath);
  const absl::StatusOr<http::Response> response = running.Cancel();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 504);
  EXPECT_FALSE(seen_.has_value());
  EXPECT_THAT(
      metrics_.Serialize(),
      Not(HasSubstr(R"(metrics_adapter_authorization_decisions_total{decision="error"} 1)")));
  review.done(kube::ApiResponse{201, R"({"status":{"allowed":true}})"});
  EXPECT_EQ(Serve(FromProxy(kPodsPath, "jane", {})).status, 200);
  EXPECT_EQ(client_.calls(), 1u);  // the late answer was cached
}

TEST(ForbiddenMessageTest, GoShapes) {
  UserInfo jane;
  jane.name = "jane";
  RequestAttributes node;
  node.resource_request = true;
  node.verb = "get";
  node.api_group = "custom.metrics.k8s.io";
  node.resource = "nodes";
  node.name = "n1";
  node.subresource = "cpu";
  EXPECT_EQ(ForbiddenMessage(jane, node, ""),
            R"(nodes.custom.metrics.k8s.io "n1" is forbidden: User "jane" cannot get resource )"
            R"("nodes/cpu" in API group "custom.metrics.k8s.io" at the cluster scope)");
  RequestAttributes external;
  external.resource_request = true;
  external.verb = "list";
  external.api_group = "external.metrics.k8s.io";
  external.namespace_name = "shop";
  external.resource = "queue";
  EXPECT_EQ(ForbiddenMessage(jane, external, "no"),
            R"(queue.external.metrics.k8s.io is forbidden: User "jane" cannot list resource )"
            R"("queue" in API group "external.metrics.k8s.io" in the namespace "shop": no)");
  UserInfo odd;
  odd.name = "<b>&";
  RequestAttributes path;
  path.verb = "get";
  path.path = "/metrics";
  EXPECT_EQ(ForbiddenMessage(odd, path, ""),
            R"(forbidden: User "&lt;b&gt;&amp;" cannot get path "/metrics")");
}

}  // namespace
}  // namespace ma::auth
