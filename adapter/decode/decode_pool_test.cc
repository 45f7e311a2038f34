#include "adapter/decode/decode_pool.h"

#include <atomic>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ma::decode {
namespace {

using ::testing::ElementsAre;

// Bounds every wait so that a broken pool fails the test instead of hanging it.
constexpr absl::Duration kWait = absl::Seconds(10);

// The threads of this process whose name is `name`.
size_t ThreadsNamed(const std::string& name) {
  size_t count = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string line;
    if (std::getline(comm, line) && line == name) {
      ++count;
    }
  }
  return count;
}

TEST(DecodePoolTest, StartsItsNamedThreadsAndNoMore) {
  const size_t before = ThreadsNamed("ma-decode");
  {
    DecodePool pool;
    EXPECT_EQ(ThreadsNamed("ma-decode"), before + kDecodeThreads);
  }
  EXPECT_EQ(ThreadsNamed("ma-decode"), before);
}

TEST(DecodePoolTest, ASequenceRunsInOrderOneAtATime) {
  DecodePool pool(4);
  std::shared_ptr<Sequence> sequence = pool.NewSequence();
  absl::Mutex mu;
  std::vector<int> order;
  std::atomic<int> running{0};
  std::atomic<bool> overlapped{false};
  absl::Notification done;
  constexpr int kTasks = 2000;
  for (int i = 0; i < kTasks; ++i) {
    ASSERT_TRUE(sequence->TryPost(1, [&, i] {
      if (running.fetch_add(1) != 0) {
        overlapped = true;
      }
      {
        absl::MutexLock lock(&mu);
        order.push_back(i);
      }
      running.fetch_sub(1);
      if (i == kTasks - 1) {
        done.Notify();
      }
    }));
  }
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(kWait));
  EXPECT_FALSE(overlapped);
  absl::MutexLock lock(&mu);
  ASSERT_EQ(order.size(), static_cast<size_t>(kTasks));
  for (int i = 0; i < kTasks; ++i) {
    ASSERT_EQ(order[i], i);
  }
}

TEST(DecodePoolTest, ASlowSequenceDoesNotHoldUpAnother) {
  DecodePool pool(2);
  std::shared_ptr<Sequence> slow = pool.NewSequence();
  std::shared_ptr<Sequence> quick = pool.NewSequence();
  absl::Notification quick_ran;
  absl::Notification slow_saw_quick;
  // The slow task finishes only once the quick one ran: with one sequence at a time it never would.
  ASSERT_TRUE(slow->TryPost(0, [&] {
    slow_saw_quick.Notify();
    (void)quick_ran.WaitForNotificationWithTimeout(kWait);
  }));
  ASSERT_TRUE(slow_saw_quick.WaitForNotificationWithTimeout(kWait));
  ASSERT_TRUE(quick->TryPost(0, [&] { quick_ran.Notify(); }));
  EXPECT_TRUE(quick_ran.WaitForNotificationWithTimeout(kWait));
}

TEST(DecodePoolTest, RefusesInputBeyondItsBoundButNeverAnEnd) {
  DecodePool pool(1, /*max_queued_bytes=*/100);
  std::shared_ptr<Sequence> sequence = pool.NewSequence();
  absl::Notification release;
  absl::Mutex mu;
  std::vector<std::string> ran;
  const auto record = [&](std::string what) {
    return [&, what] {
      absl::MutexLock lock(&mu);
      ran.push_back(what);
    };
  };
  // Alone in the pool, a task larger than the bound is accepted.
  ASSERT_TRUE(sequence->TryPost(150, [&] {
    (void)release.WaitForNotificationWithTimeout(kWait);
    absl::MutexLock lock(&mu);
    ran.push_back("big");
  }));
  EXPECT_EQ(pool.queued_bytes(), 150u);
  EXPECT_FALSE(pool.HasRoomFor(1));
  EXPECT_FALSE(sequence->TryPost(1, record("refused")));
  sequence->Post(record("end"));  // no input: always queued
  release.Notify();
  absl::Notification drained;
  sequence->Post([&] { drained.Notify(); });
  ASSERT_TRUE(drained.WaitForNotificationWithTimeout(kWait));
  {
    absl::MutexLock lock(&mu);
    EXPECT_THAT(ran, ElementsAre("big", "end"));
  }
  // Once decoded, the bytes no longer count: input fits again.
  EXPECT_TRUE(pool.HasRoomFor(90));
  EXPECT_TRUE(pool.HasRoomFor(101)) << "alone in an empty pool, input over the bound fits";
  absl::Notification fits;
  EXPECT_TRUE(sequence->TryPost(90, [&] { fits.Notify(); }));
  EXPECT_TRUE(fits.WaitForNotificationWithTimeout(kWait));
}

TEST(DecodePoolTest, ATaskMayPostToItsOwnSequence) {
  DecodePool pool(1);
  std::shared_ptr<Sequence> sequence = pool.NewSequence();
  absl::Notification second;
  sequence->Post([&] { sequence->Post([&] { second.Notify(); }); });
  EXPECT_TRUE(second.WaitForNotificationWithTimeout(kWait));
}

}  // namespace
}  // namespace ma::decode
