#include "adapter/prometheus/byte_budget.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "adapter/outbound/http_client.h"
#include "adapter/prometheus/http_prometheus_client.h"
#include "adapter/prometheus/response_decoder.h"
#include "test/testing/loopback_http_server.h"
#include "test/testing/status_matchers.h"

namespace ma::prometheus {
namespace {

using ::ma::testing::IsOk;
using ::ma::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ByteBudgetTest, TakesWhatFitsAndGivesBack) {
  ByteBudget budget(100);
  EXPECT_TRUE(budget.TryTake(60));
  EXPECT_FALSE(budget.TryTake(41));
  EXPECT_EQ(budget.in_use(), 60u);
  EXPECT_TRUE(budget.TryTake(40));
  EXPECT_FALSE(budget.TryTake(1));
  budget.Give(100);
  EXPECT_EQ(budget.in_use(), 0u);
  EXPECT_TRUE(budget.TryTake(100));
}

// A vector answer of `samples` samples, each with a label of `label_bytes` characters.
std::string VectorAnswer(int samples, size_t label_bytes) {
  std::string body = R"({"status":"success","data":{"resultType":"vector","result":[)";
  for (int i = 0; i < samples; ++i) {
    absl::StrAppend(&body, i == 0 ? "" : ",", R"({"metric":{"pod":")", i,
                    std::string(label_bytes, 'p'), R"("},"value":[1700000000,"1"]})");
  }
  return body + "]}}";
}

absl::StatusOr<QueryResultPtr> QuerySync(Client& client) {
  std::promise<absl::StatusOr<QueryResultPtr>> promise;
  auto future = promise.get_future();
  client.Query("q", std::chrono::system_clock::now(),
               [&promise](absl::StatusOr<QueryResultPtr> r) { promise.set_value(std::move(r)); });
  return future.get();
}

class QueryBodyBudgetTest : public ::testing::Test {
 protected:
  std::unique_ptr<HttpPrometheusClient> NewClient(const std::string& url, ByteBudget& budget) {
    PrometheusOptions options;
    options.url = url;
    auto client = HttpPrometheusClient::Create(*http_, options, /*decode=*/nullptr, budget);
    EXPECT_THAT(client, IsOk());
    return client.ok() ? *std::move(client) : nullptr;
  }

  std::unique_ptr<outbound::HttpClient> http_ = *outbound::HttpClient::Create({});
};

TEST_F(QueryBodyBudgetTest, AnswersThatFitAreDecodedAndGiveTheirBytesBack) {
  const std::string answer = VectorAnswer(100, 1000);
  ma::testing::LoopbackHttpServer server([&answer](const ma::testing::LoopbackRequest&) {
    return ma::testing::HttpResponseBytes(200, answer, "application/json");
  });
  ByteBudget budget(2 * answer.size());
  auto client = NewClient(server.Url(), budget);
  ASSERT_NE(client, nullptr);
  for (int i = 0; i < 3; ++i) {
    auto result = QuerySync(*client);
    ASSERT_THAT(result, IsOk());
    EXPECT_EQ((*result)->samples.size(), 100u);
    EXPECT_EQ(budget.in_use(), 0u);
  }
}

TEST_F(QueryBodyBudgetTest, AnswerBeyondTheBudgetIsUnavailableAndTakesNothing) {
  const std::string answer = VectorAnswer(100, 1000);
  ma::testing::LoopbackHttpServer server([&answer](const ma::testing::LoopbackRequest&) {
    return ma::testing::HttpResponseBytes(200, answer, "application/json");
  });
  ByteBudget budget(answer.size() * 3 / 4);
  auto client = NewClient(server.Url(), budget);
  ASSERT_NE(client, nullptr);
  auto result = QuerySync(*client);
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kUnavailable,
                               HasSubstr("does not fit the memory budget for query answers")));
  EXPECT_EQ(budget.in_use(), 0u);
}

// Other answers hold most of the budget: the next one fails at once instead of piling up.
TEST_F(QueryBodyBudgetTest, AnswersHeldByOthersCountAgainstTheBudget) {
  const std::string answer = VectorAnswer(100, 1000);
  ma::testing::LoopbackHttpServer server([&answer](const ma::testing::LoopbackRequest&) {
    return ma::testing::HttpResponseBytes(200, answer, "application/json");
  });
  ByteBudget budget(2 * answer.size());
  auto client = NewClient(server.Url(), budget);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(budget.TryTake(budget.capacity() - answer.size() / 2));  // held by others
  EXPECT_THAT(QuerySync(*client), StatusIs(absl::StatusCode::kUnavailable));
  budget.Give(budget.capacity() - answer.size() / 2);
  EXPECT_THAT(QuerySync(*client), IsOk());
  EXPECT_EQ(budget.in_use(), 0u);
}

TEST(QueryBodyBudget, HoldsTheLargestAnswer) {
  EXPECT_GE(QueryBodyBudget().capacity(), kMaxQueryResponseBytes);
}

}  // namespace
}  // namespace ma::prometheus
