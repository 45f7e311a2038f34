#include "adapter/cache/bulkhead.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>
#include <vector>

namespace ma::cache {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct Recorder {
  std::vector<int> started;
  std::deque<Bulkhead::Release> releases;  // stable while a release runs

  Bulkhead::Task Task(int id) {
    return [this, id](Bulkhead::Release release) {
      started.push_back(id);
      releases.push_back(std::move(release));
    };
  }
};

TEST(BulkheadTest, LimitsConcurrencyAndRunsQueuedTasksInOrder) {
  telemetry::AdapterMetrics metrics("v", "c");
  Bulkhead bulkhead("prometheus", {.max_concurrency = 2, .max_queue = 10}, metrics);
  Recorder r;
  for (int id = 0; id < 5; ++id) {
    ASSERT_TRUE(bulkhead.Submit(r.Task(id)).ok());
  }
  EXPECT_THAT(r.started, ElementsAre(0, 1));
  EXPECT_EQ(bulkhead.in_flight(), 2);
  EXPECT_EQ(bulkhead.queued(), 3u);
  EXPECT_THAT(metrics.Serialize(),
              HasSubstr(R"(metrics_adapter_backend_queue_depth{backend="prometheus"} 3)"));

  r.releases[1]();
  EXPECT_THAT(r.started, ElementsAre(0, 1, 2));
  r.releases[0]();
  r.releases[2]();
  EXPECT_THAT(r.started, ElementsAre(0, 1, 2, 3, 4));
  EXPECT_EQ(bulkhead.queued(), 0u);
  r.releases[3]();
  r.releases[4]();
  EXPECT_EQ(bulkhead.in_flight(), 0);
  EXPECT_THAT(metrics.Serialize(),
              HasSubstr(R"(metrics_adapter_backend_in_flight{backend="prometheus"} 0)"));
}

TEST(BulkheadTest, RefusesBeyondTheQueueBound) {
  telemetry::AdapterMetrics metrics("v", "c");
  Bulkhead bulkhead("prometheus", {.max_concurrency = 1, .max_queue = 2}, metrics);
  Recorder r;
  for (int id = 0; id < 3; ++id) {
    ASSERT_TRUE(bulkhead.Submit(r.Task(id)).ok());
  }
  const absl::Status refused = bulkhead.Submit(r.Task(99)).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(refused.message(), HasSubstr("--backend-max-queue"));
  EXPECT_THAT(metrics.Serialize(),
              HasSubstr(R"(metrics_adapter_backend_rejected_total{backend="prometheus"} 1)"));
  // The refused task never runs, even once the queue drains.
  for (size_t i = 0; i < r.releases.size(); ++i) {
    r.releases[i]();
  }
  EXPECT_THAT(r.started, ElementsAre(0, 1, 2));
  EXPECT_TRUE(bulkhead.Submit(r.Task(3)).ok());
}

TEST(BulkheadTest, WithdrawnQueuedTaskNeverRuns) {
  telemetry::AdapterMetrics metrics("v", "c");
  Bulkhead bulkhead("prometheus", {.max_concurrency = 1, .max_queue = 10}, metrics);
  Recorder r;
  const absl::StatusOr<Bulkhead::Ticket> running = bulkhead.Submit(r.Task(0));
  const absl::StatusOr<Bulkhead::Ticket> gone = bulkhead.Submit(r.Task(1));
  const absl::StatusOr<Bulkhead::Ticket> kept = bulkhead.Submit(r.Task(2));
  ASSERT_TRUE(running.ok() && gone.ok() && kept.ok());
  EXPECT_FALSE(bulkhead.Withdraw(*running));  // started: left alone
  EXPECT_TRUE(bulkhead.Withdraw(*gone));
  EXPECT_FALSE(bulkhead.Withdraw(*gone));
  EXPECT_EQ(bulkhead.queued(), 1u);
  EXPECT_THAT(metrics.Serialize(),
              HasSubstr(R"(metrics_adapter_backend_queue_depth{backend="prometheus"} 1)"));
  r.releases[0]();
  r.releases[1]();
  EXPECT_THAT(r.started, ElementsAre(0, 2));
  EXPECT_EQ(bulkhead.in_flight(), 0);
}

TEST(BulkheadTest, SynchronousCompletionsDoNotRecurse) {
  telemetry::AdapterMetrics metrics("v", "c");
  constexpr int kTasks = 100000;
  Bulkhead bulkhead("prometheus", {.max_concurrency = 1, .max_queue = kTasks}, metrics);
  Recorder r;
  ASSERT_TRUE(bulkhead.Submit(r.Task(-1)).ok());
  int ran = 0;
  for (int i = 0; i < kTasks; ++i) {
    ASSERT_TRUE(bulkhead
                    .Submit([&ran](Bulkhead::Release release) {
                      ++ran;
                      release();
                    })
                    .ok());
  }
  // A recursive drain would need kTasks nested frames; the flat loop finishes.
  r.releases[0]();
  EXPECT_EQ(ran, kTasks);
  EXPECT_EQ(bulkhead.in_flight(), 0);
}

}  // namespace
}  // namespace ma::cache
