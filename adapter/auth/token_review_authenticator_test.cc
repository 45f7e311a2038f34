#include "adapter/auth/token_review_authenticator.h"

#include <optional>
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
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kAuthenticated[] =
    R"({"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","status":{"authenticated":true,)"
    R"("user":{"username":"system:serviceaccount:kube-system:hpa","uid":"u-1",)"
    R"("groups":["system:serviceaccounts"]},"audiences":["https://kubernetes.default.svc"]}})";

http::Request WithAuthorization(std::string value) {
  http::Request request;
  request.method = "GET";
  request.headers.emplace_back("authorization", std::move(value));
  return request;
}

absl::StatusOr<std::optional<UserInfo>> AuthenticateNow(TokenReviewAuthenticator& authenticator,
                                                        const http::Request& request) {
  absl::StatusOr<std::optional<UserInfo>> result = absl::InternalError("callback not called");
  authenticator.Authenticate(
      request, [&](absl::StatusOr<std::optional<UserInfo>> r) { result = std::move(r); });
  return result;
}

TEST(TokenReviewAuthenticatorTest, BearerToken) {
  struct Case {
    std::optional<std::string> header;
    std::optional<std::string> want;
  };
  const Case cases[] = {
      {std::nullopt, std::nullopt}, {"Bearer abc", "abc"},
      {"bearer abc", "abc"},        {"  BEARER abc  ", "abc"},
      {"Bearer abc def", "abc"},    {"Bearer  abc", std::nullopt},
      {"Bearer", std::nullopt},     {"Basic dXNlcjpwYXNz", std::nullopt},
  };
  for (const Case& c : cases) {
    http::Request request;
    if (c.header.has_value()) {
      request.headers.emplace_back("authorization", *c.header);
    }
    EXPECT_EQ(TokenReviewAuthenticator::BearerToken(request), c.want)
        << c.header.value_or("<none>");
  }
}

TEST(TokenReviewAuthenticatorTest, SendsTheReviewAndReturnsTheUser) {
  FakeApiClient client;
  client.Set(std::string(kTokenReviewPath), kube::ApiResponse{201, kAuthenticated});
  FakeClock clock;
  TokenReviewAuthenticator authenticator(client, TokenReviewOptions{}, clock);
  absl::StatusOr<std::optional<UserInfo>> user =
      AuthenticateNow(authenticator, WithAuthorization("Bearer secret-token"));
  ASSERT_THAT(user, IsOk());
  ASSERT_TRUE(user->has_value());
  EXPECT_EQ((*user)->name, "system:serviceaccount:kube-system:hpa");
  EXPECT_EQ((*user)->uid, "u-1");
  EXPECT_THAT((*user)->groups, ElementsAre("system:serviceaccounts"));
  ASSERT_EQ(client.calls(), 1u);
  const kube::ApiRequest sent = client.requests()[0];
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.path, "/apis/authentication.k8s.io/v1/tokenreviews");
  EXPECT_EQ(sent.body,
            R"({"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","metadata":{},)"
            R"("spec":{"token":"secret-token"}})");
}

TEST(TokenReviewAuthenticatorTest, NoBearerTokenDoesNotApply) {
  FakeApiClient client;
  TokenReviewAuthenticator authenticator(client, TokenReviewOptions{});
  absl::StatusOr<std::optional<UserInfo>> user = AuthenticateNow(authenticator, http::Request{});
  ASSERT_THAT(user, IsOk());
  EXPECT_FALSE(user->has_value());
  EXPECT_EQ(client.calls(), 0u);
}

TEST(TokenReviewAuthenticatorTest, AnswersAreCachedForTheTtl) {
  FakeApiClient client;
  client.Set(std::string(kTokenReviewPath), kube::ApiResponse{201, kAuthenticated});
  FakeClock clock;
  TokenReviewOptions options;
  options.cache_ttl = std::chrono::seconds(10);
  TokenReviewAuthenticator authenticator(client, options, clock);
  const http::Request request = WithAuthorization("Bearer t1");
  ASSERT_TRUE(AuthenticateNow(authenticator, request).ok());
  clock.Advance(std::chrono::seconds(9));
  absl::StatusOr<std::optional<UserInfo>> cached = AuthenticateNow(authenticator, request);
  ASSERT_TRUE(cached.ok() && cached->has_value());
  EXPECT_EQ((*cached)->name, "system:serviceaccount:kube-system:hpa");
  EXPECT_EQ(client.calls(), 1u);
  ASSERT_TRUE(AuthenticateNow(authenticator, WithAuthorization("Bearer t2")).ok());
  EXPECT_EQ(client.calls(), 2u);
  clock.Advance(std::chrono::seconds(1));
  ASSERT_TRUE(AuthenticateNow(authenticator, request).ok());
  EXPECT_EQ(client.calls(), 3u);
}

TEST(TokenReviewAuthenticatorTest, ConcurrentRequestsWithTheSameTokenShareOneReview) {
  FakeApiClient client;
  client.Hold();
  TokenReviewAuthenticator authenticator(client, TokenReviewOptions{});
  std::vector<absl::StatusOr<std::optional<UserInfo>>> answers;
  auto record = [&](absl::StatusOr<std::optional<UserInfo>> r) { answers.push_back(r); };
  for (int i = 0; i < 3; ++i) {
    authenticator.Authenticate(WithAuthorization("Bearer new-token"), record);
  }
  authenticator.Authenticate(WithAuthorization("Bearer other-token"), record);
  EXPECT_EQ(client.calls(), 2u) << "one review per distinct token";
  EXPECT_TRUE(answers.empty());

  FakeApiClient::Pending first = client.Next();
  ASSERT_TRUE(first.done);
  EXPECT_THAT(first.request.body, HasSubstr("new-token"));
  first.done(kube::ApiResponse{201, kAuthenticated});
  ASSERT_EQ(answers.size(), 3u);
  for (const auto& answer : answers) {
    ASSERT_THAT(answer, IsOk());
    ASSERT_TRUE(answer->has_value());
    EXPECT_EQ((*answer)->name, "system:serviceaccount:kube-system:hpa");
  }
  FakeApiClient::Pending second = client.Next();
  ASSERT_TRUE(second.done);
  second.done(absl::UnavailableError("connection refused"));
  ASSERT_EQ(answers.size(), 4u);
  EXPECT_THAT(answers.back(), StatusIs(absl::StatusCode::kUnauthenticated));

  // The first token's answer is cached now; a failed review is not, and is sent again.
  authenticator.Authenticate(WithAuthorization("Bearer new-token"), record);
  authenticator.Authenticate(WithAuthorization("Bearer other-token"), record);
  EXPECT_EQ(client.calls(), 3u);
}

TEST(TokenReviewAuthenticatorTest, CallerThatLeavesIsForgottenAndTheReviewStillCached) {
  FakeApiClient client;
  client.Hold();
  TokenReviewAuthenticator authenticator(client, TokenReviewOptions{});
  async::CancelSlot leaving_slot;
  int leaving_called = 0;
  std::vector<absl::StatusOr<std::optional<UserInfo>>> staying;
  authenticator.Authenticate(
      WithAuthorization("Bearer new-token"),
      [&leaving_called](absl::StatusOr<std::optional<UserInfo>>) { ++leaving_called; },
      &leaving_slot);
  authenticator.Authenticate(
      WithAuthorization("Bearer new-token"),
      [&staying](absl::StatusOr<std::optional<UserInfo>> r) { staying.push_back(r); });
  leaving_slot.Cancel();  // its request's deadline passed
  FakeApiClient::Pending review = client.Next();
  ASSERT_TRUE(review.done);
  review.done(kube::ApiResponse{201, kAuthenticated});
  EXPECT_EQ(leaving_called, 0);
  ASSERT_EQ(staying.size(), 1u);
  EXPECT_THAT(staying[0], IsOk());
  // Its answer is cached, as for any review.
  authenticator.Authenticate(
      WithAuthorization("Bearer new-token"),
      [&staying](absl::StatusOr<std::optional<UserInfo>> r) { staying.push_back(r); });
  ASSERT_EQ(staying.size(), 2u);
  EXPECT_EQ(client.calls(), 1u);
}

TEST(TokenReviewAuthenticatorTest, RefusalsAndFailuresAreUnauthenticated) {
  struct Case {
    std::string name;
    absl::StatusOr<kube::ApiResponse> response;
    std::string message_part;
    bool cached;
  };
  const Case cases[] = {
      {"not authenticated", kube::ApiResponse{201, R"({"status":{"authenticated":false}})"},
       "invalid bearer token", true},
      {"refused with a reason",
       kube::ApiResponse{201, R"({"status":{"authenticated":false,"error":"token expired"}})"},
       "token expired", false},
      {"forbidden", kube::ApiResponse{403, R"({"kind":"Status"})"}, "HTTP 403", false},
      {"unreachable", absl::UnavailableError("connection refused"), "connection refused", false},
      {"garbage", kube::ApiResponse{201, "<html>"}, "not JSON", false},
  };
  for (const Case& c : cases) {
    FakeApiClient client;
    client.Set(std::string(kTokenReviewPath), c.response);
    FakeClock clock;
    TokenReviewAuthenticator authenticator(client, TokenReviewOptions{}, clock);
    const http::Request request = WithAuthorization("Bearer the-secret");
    absl::StatusOr<std::optional<UserInfo>> user = AuthenticateNow(authenticator, request);
    EXPECT_THAT(user, StatusIs(absl::StatusCode::kUnauthenticated));
    EXPECT_THAT(std::string(user.status().message()), HasSubstr(c.message_part)) << c.name;
    EXPECT_THAT(std::string(user.status().message()), Not(HasSubstr("the-secret"))) << c.name;
    EXPECT_FALSE(AuthenticateNow(authenticator, request).ok()) << c.name;
    EXPECT_EQ(client.calls(), c.cached ? 1u : 2u) << c.name;
  }
}

TEST(TokenReviewAuthenticatorTest, AudiencesAreSentAndChecked) {
  TokenReviewOptions options;
  options.audiences = {"metrics-adapter"};
  struct Case {
    std::string body;
    bool authenticated;
  };
  const Case cases[] = {
      {R"({"status":{"authenticated":true,"user":{"username":"u"},"audiences":["metrics-adapter"]}})",
       true},
      {R"({"status":{"authenticated":true,"user":{"username":"u"}}})", true},
      {R"({"status":{"authenticated":true,"user":{"username":"u"},"audiences":["other"]}})", false},
  };
  for (const Case& c : cases) {
    FakeApiClient client;
    client.Set(std::string(kTokenReviewPath), kube::ApiResponse{201, c.body});
    TokenReviewAuthenticator authenticator(client, options);
    absl::StatusOr<std::optional<UserInfo>> user =
        AuthenticateNow(authenticator, WithAuthorization("Bearer t"));
    EXPECT_EQ(user.ok(), c.authenticated) << c.body;
    EXPECT_THAT(client.requests()[0].body, HasSubstr(R"("audiences":["metrics-adapter"])"));
  }
}

}  // namespace
}  // namespace ma::auth
