#include "test/testing/fake_api_client.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/testing/status_matchers.h"

namespace ma::testing {
namespace {

using ::testing::ElementsAre;

kube::ApiRequest Get(std::string path) {
  kube::ApiRequest request;
  request.path = std::move(path);
  return request;
}

absl::StatusOr<kube::ApiResponse> CallNow(FakeApiClient& client, std::string path) {
  std::optional<absl::StatusOr<kube::ApiResponse>> got;
  client.Call(Get(std::move(path)),
              [&got](absl::StatusOr<kube::ApiResponse> r) { got = std::move(r); });
  EXPECT_TRUE(got.has_value());
  return got.value_or(absl::InternalError("no answer"));
}

TEST(FakeApiClientTest, AnswersByPathThenByPathWithoutQuery) {
  FakeApiClient client;
  client.SetJson("/api/v1/pods", "list");
  client.Set("/api/v1/pods?limit=1", absl::UnavailableError("down"));
  EXPECT_EQ(CallNow(client, "/api/v1/pods?limit=500")->body, "list");
  EXPECT_THAT(CallNow(client, "/api/v1/pods?limit=1"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(CallNow(client, "/api/v1/nodes")->status, 404);
  client.SetUnscripted(absl::UnavailableError("no route"));
  EXPECT_THAT(CallNow(client, "/api/v1/nodes"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(client.calls(), 4u);
  EXPECT_THAT(client.paths(), ElementsAre("/api/v1/pods?limit=500", "/api/v1/pods?limit=1",
                                          "/api/v1/nodes", "/api/v1/nodes"));
}

TEST(FakeApiClientTest, StreamsPlayTheirLinesThenEnd) {
  FakeApiClient client;
  client.SetStream("/api/v1/pods", {.lines = {"a", "b"}, .end = absl::OkStatus()});
  std::vector<std::string> lines;
  std::optional<absl::Status> end;
  client.Stream(
      Get("/api/v1/pods?watch=1"),
      [&lines](std::string_view line) {
        lines.emplace_back(line);
        return absl::OkStatus();
      },
      [&end](absl::Status status, long /*http_status*/) { end = status; });  // NOLINT
  EXPECT_THAT(lines, ElementsAre("a", "b"));
  ASSERT_TRUE(end.has_value());
  EXPECT_THAT(*end, IsOk());
  EXPECT_EQ(client.calls(), 0u);
  EXPECT_EQ(client.stream_requests().size(), 1u);
}

TEST(FakeApiClientTest, HeldRequestsWaitForTheTest) {
  FakeApiClient client;
  client.Hold();
  std::optional<absl::StatusOr<kube::ApiResponse>> got;
  client.Call(Get("/api"), [&got](absl::StatusOr<kube::ApiResponse> r) { got = std::move(r); });
  EXPECT_FALSE(got.has_value());
  FakeApiClient::Pending pending = client.Next();
  EXPECT_EQ(pending.request.path, "/api");
  ASSERT_NE(pending.done, nullptr);
  pending.done(kube::ApiResponse{200, "{}"});
  ASSERT_TRUE(got.has_value());
  EXPECT_THAT(*got, IsOk());
  EXPECT_EQ(client.Next(absl::Milliseconds(1)).request.path, "");
}

}  // namespace
}  // namespace ma::testing
