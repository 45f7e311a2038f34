#include "adapter/handlers/query_window.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>

#include "test/testing/fake_prometheus_client.h"

namespace ma::handlers {
namespace {

using ::ma::testing::FakePrometheusClient;
using ::testing::ElementsAre;

model::QueryResult Scalar(double value) { return {model::ResultType::kScalar, {{{}, value, 0}}}; }

TEST(SendQueriesTest, AnswersInQueryOrderWhateverTheWindow) {
  for (size_t window : {1, 2, 16}) {
    FakePrometheusClient prometheus;
    prometheus.SetQueryAnswer("a", Scalar(1));
    prometheus.SetQueryAnswer("b", absl::UnavailableError("down"));
    prometheus.SetQueryAnswer("c", Scalar(3));
    int calls = 0;
    std::optional<QueryAnswers> got;
    SendQueries(prometheus, {}, {"a", "b", "c"}, window, [&](absl::StatusOr<QueryAnswers> answers) {
      ++calls;
      ASSERT_TRUE(answers.ok());
      got = *std::move(answers);
    });
    EXPECT_EQ(calls, 1) << window;
    ASSERT_TRUE(got.has_value());
    ASSERT_EQ(got->size(), 3u);
    EXPECT_EQ((*got)[0].value()->samples.front().value, 1);
    EXPECT_EQ((*got)[1].status().code(), absl::StatusCode::kUnavailable);
    EXPECT_EQ((*got)[2].value()->samples.front().value, 3);
    EXPECT_THAT(prometheus.queries(), ElementsAre("a", "b", "c"));
  }
}

TEST(SendQueriesTest, NoQueriesAnswerAtOnce) {
  FakePrometheusClient prometheus;
  bool called = false;
  SendQueries(prometheus, {}, {}, 4, [&](absl::StatusOr<QueryAnswers> answers) {
    called = true;
    EXPECT_TRUE(answers.ok() && answers->empty());
  });
  EXPECT_TRUE(called);
}

TEST(SendQueriesTest, HeldQueriesStayWithinTheWindowUntilAnswered) {
  FakePrometheusClient prometheus;
  prometheus.Hold();
  std::optional<QueryAnswers> got;
  SendQueries(prometheus, {}, {"a", "b", "c", "d", "e"}, 2,
              [&](absl::StatusOr<QueryAnswers> answers) { got = *std::move(answers); });
  EXPECT_EQ(prometheus.pending(), 2);
  EXPECT_FALSE(got.has_value());
  // Answering the held two lets the rest go; no longer held, they answer at once.
  prometheus.Release(Scalar(7));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->size(), 5u);
  EXPECT_THAT(prometheus.queries(), ElementsAre("a", "b", "c", "d", "e"));
}

}  // namespace
}  // namespace ma::handlers
