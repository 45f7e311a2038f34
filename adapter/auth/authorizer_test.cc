#include "adapter/auth/authorizer.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/testing/fake_api_client.h"
#include "test/testing/fake_clock.h"
#include "test/testing/status_matchers.h"

namespace ma::auth {
namespace {

using ::ma::testing::FakeApiClient;
using ::ma::testing::FakeClock;
using ::ma::testing::IsOk;
using ::ma::testing::StatusIs;
using ::testing::HasSubstr;

UserInfo User(std::string name, std::vector<std::string> groups = {}) {
  UserInfo user;
  user.name = std::move(name);
  user.groups = std::move(groups);
  return user;
}

RequestAttributes PathRequest(std::string path) {
  RequestAttributes a;
  a.verb = "get";
  a.path = std::move(path);
  return a;
}

RequestAttributes PodsMetric() {
  RequestAttributes a;
  a.resource_request = true;
  a.verb = "get";
  a.api_group = "custom.metrics.k8s.io";
  a.api_version = "v1beta2";
  a.namespace_name = "default";
  a.resource = "pods";
  a.subresource = "http_requests";
  a.name = "*";
  a.path = "/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/*/http_requests";
  return a;
}

absl::StatusOr<Authorization> Decide(Authorizer& authorizer, const UserInfo& user,
                                     const RequestAttributes& attributes) {
  absl::StatusOr<Authorization> result = absl::InternalError("callback not called");
  authorizer.Authorize(user, attributes,
                       [&](absl::StatusOr<Authorization> r) { result = std::move(r); });
  return result;
}

std::unique_ptr<Authorizer> Make(kube::ApiClient* client, AuthorizerOptions options,
                                 const Clock& clock) {
  absl::StatusOr<std::unique_ptr<Authorizer>> authorizer =
      Authorizer::Create(client, std::move(options), clock);
  EXPECT_THAT(authorizer, IsOk());
  return *std::move(authorizer);
}

TEST(AuthorizerTest, AlwaysAllowedWithoutAReview) {
  FakeApiClient client;
  FakeClock clock;
  AuthorizerOptions options;
  options.always_allow_paths = {"/healthz", "/readyz", "/livez", "/debug/*", "/"};
  std::unique_ptr<Authorizer> authorizer = Make(&client, options, clock);
  struct Case {
    UserInfo user;
    RequestAttributes attributes;
  };
  const Case cases[] = {
      {User("system:kube-aggregator", {"system:masters"}), PodsMetric()},
      {User("system:anonymous", {"system:unauthenticated"}), PathRequest("/healthz")},
      {User("jane"), PathRequest("/livez")},
      {User("jane"), PathRequest("/debug/pprof/heap")},
      {User("jane"), PathRequest("/")},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Authorization> result = Decide(*authorizer, c.user, c.attributes);
    ASSERT_THAT(result, IsOk()) << c.attributes.path;
    EXPECT_EQ(result->decision, Decision::kAllow) << c.attributes.path;
  }
  EXPECT_EQ(client.calls(), 0u);
}

TEST(AuthorizerTest, PathsAreNotAlwaysAllowedForResourceRequestsOrOtherPaths) {
  FakeApiClient client;
  client.Set(std::string(kSubjectAccessReviewPath),
             kube::ApiResponse{201, R"({"status":{"allowed":false}})"});
  FakeClock clock;
  std::unique_ptr<Authorizer> authorizer = Make(&client, AuthorizerOptions{}, clock);
  RequestAttributes healthz_resource = PodsMetric();
  healthz_resource.path = "/healthz";
  for (const RequestAttributes& attributes :
       {PathRequest("/healthzz"), PathRequest("/metrics"), healthz_resource}) {
    absl::StatusOr<Authorization> result = Decide(*authorizer, User("jane"), attributes);
    ASSERT_THAT(result, IsOk());
    EXPECT_EQ(result->decision, Decision::kNoOpinion) << attributes.path;
  }
  EXPECT_EQ(client.calls(), 3u);
}

TEST(AuthorizerTest, InvalidAlwaysAllowPath) {
  AuthorizerOptions options;
  options.always_allow_paths = {"/a*b"};
  absl::StatusOr<std::unique_ptr<Authorizer>> authorizer =
      Authorizer::Create(nullptr, options, SystemClock::Get());
  EXPECT_THAT(authorizer, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"/a*b\"")));
}

TEST(AuthorizerTest, ReviewDecisions) {
  struct Case {
    std::string name;
    absl::StatusOr<kube::ApiResponse> response;
    absl::StatusCode want_code;
    Decision want_decision;
    std::string want_reason;
  };
  const Case cases[] = {
      {"allowed", kube::ApiResponse{201, R"({"status":{"allowed":true,"reason":"RBAC: ok"}})"},
       absl::StatusCode::kOk, Decision::kAllow, "RBAC: ok"},
      {"denied",
       kube::ApiResponse{201, R"({"status":{"allowed":false,"denied":true,"reason":"no"}})"},
       absl::StatusCode::kOk, Decision::kDeny, "no"},
      {"no opinion", kube::ApiResponse{201, R"({"status":{"allowed":false,"reason":"maybe"}})"},
       absl::StatusCode::kOk, Decision::kNoOpinion, "maybe"},
      {"both", kube::ApiResponse{201, R"({"status":{"allowed":true,"denied":true}})"},
       absl::StatusCode::kInternal, Decision::kNoOpinion, ""},
      {"HTTP 500", kube::ApiResponse{500, "{}"}, absl::StatusCode::kUnavailable,
       Decision::kNoOpinion, ""},
      {"unreachable", absl::UnavailableError("connection refused"), absl::StatusCode::kUnavailable,
       Decision::kNoOpinion, ""},
  };
  for (const Case& c : cases) {
    FakeApiClient client;
    client.Set(std::string(kSubjectAccessReviewPath), c.response);
    FakeClock clock;
    std::unique_ptr<Authorizer> authorizer = Make(&client, AuthorizerOptions{}, clock);
    absl::StatusOr<Authorization> result = Decide(*authorizer, User("jane"), PodsMetric());
    EXPECT_EQ(result.status().code(), c.want_code) << c.name;
    if (result.ok()) {
      EXPECT_EQ(result->decision, c.want_decision) << c.name;
      EXPECT_EQ(result->reason, c.want_reason) << c.name;
    }
    ASSERT_EQ(client.calls(), 1u);
    EXPECT_EQ(client.requests()[0].method, "POST");
    EXPECT_EQ(client.requests()[0].path, "/apis/authorization.k8s.io/v1/subjectaccessreviews");
    EXPECT_THAT(client.requests()[0].body,
                HasSubstr(R"("resourceAttributes":{"namespace":"default","verb":"get",)"
                          R"("group":"custom.metrics.k8s.io","version":"v1beta2",)"
                          R"("resource":"pods","subresource":"http_requests","name":"*"})"));
  }
}

TEST(AuthorizerTest, AnswersAreCachedWithTheirTtl) {
  FakeApiClient client;
  FakeClock clock;
  AuthorizerOptions options;
  options.authorized_ttl = std::chrono::seconds(30);
  options.unauthorized_ttl = std::chrono::seconds(5);
  std::unique_ptr<Authorizer> authorizer = Make(&client, options, clock);
  client.Set(std::string(kSubjectAccessReviewPath),
             kube::ApiResponse{201, R"({"status":{"allowed":true}})"});
  ASSERT_TRUE(Decide(*authorizer, User("jane"), PodsMetric()).ok());
  client.Set(std::string(kSubjectAccessReviewPath),
             kube::ApiResponse{201, R"({"status":{"allowed":false,"denied":true}})"});
  ASSERT_TRUE(Decide(*authorizer, User("bob"), PodsMetric()).ok());
  EXPECT_EQ(client.calls(), 2u);

  clock.Advance(std::chrono::seconds(4));
  EXPECT_EQ(Decide(*authorizer, User("jane"), PodsMetric())->decision, Decision::kAllow);
  EXPECT_EQ(Decide(*authorizer, User("bob"), PodsMetric())->decision, Decision::kDeny);
  EXPECT_EQ(client.calls(), 2u);

  clock.Advance(std::chrono::seconds(1));  // bob's denial expires, jane's allowance does not
  EXPECT_EQ(Decide(*authorizer, User("jane"), PodsMetric())->decision, Decision::kAllow);
  EXPECT_EQ(Decide(*authorizer, User("bob"), PodsMetric())->decision, Decision::kDeny);
  EXPECT_EQ(client.calls(), 3u);
}

TEST(AuthorizerTest, CallerThatLeavesIsForgottenAndTheReviewStillCached) {
  FakeApiClient client;
  FakeClock clock;
  std::unique_ptr<Authorizer> authorizer = Make(&client, AuthorizerOptions{}, clock);
  client.Hold();
  async::CancelSlot slot;
  int called = 0;
  authorizer->Authorize(
      User("jane"), PodsMetric(), [&called](absl::StatusOr<Authorization>) { ++called; }, &slot);
  slot.Cancel();  // its request's deadline passed
  FakeApiClient::Pending review = client.Next();
  ASSERT_TRUE(review.done);
  review.done(kube::ApiResponse{201, R"({"status":{"allowed":true}})"});
  EXPECT_EQ(called, 0);
  EXPECT_EQ(Decide(*authorizer, User("jane"), PodsMetric())->decision, Decision::kAllow);
  EXPECT_EQ(client.calls(), 1u);
}

TEST(AuthorizerTest, FailuresAndHugeAttributesAreNotCached) {
  FakeApiClient client;
  FakeClock clock;
  std::unique_ptr<Authorizer> authorizer = Make(&client, AuthorizerOptions{}, clock);
  client.Set(std::string(kSubjectAccessReviewPath), absl::UnavailableError("down"));
  EXPECT_FALSE(Decide(*authorizer, User("jane"), PodsMetric()).ok());
  client.Set(std::string(kSubjectAccessReviewPath),
             kube::ApiResponse{201, R"({"status":{"allowed":true}})"});
  EXPECT_TRUE(Decide(*authorizer, User("jane"), PodsMetric()).ok());
  EXPECT_EQ(client.calls(), 2u);

  const UserInfo big = User(std::string(kMaxCacheableAttributeBytes, 'u'));
  EXPECT_TRUE(Decide(*authorizer, big, PodsMetric()).ok());
  EXPECT_TRUE(Decide(*authorizer, big, PodsMetric()).ok());
  EXPECT_EQ(client.calls(), 4u);
}

TEST(AuthorizerTest, WithoutAClientOnlyAlwaysAllowedRequestsPass) {
  FakeClock clock;
  std::unique_ptr<Authorizer> authorizer = Make(nullptr, AuthorizerOptions{}, clock);
  EXPECT_EQ(Decide(*authorizer, User("jane"), PodsMetric())->decision, Decision::kNoOpinion);
  EXPECT_EQ(Decide(*authorizer, User("jane"), PathRequest("/readyz"))->decision, Decision::kAllow);
}

}  // namespace
}  // namespace ma::auth
