#include "adapter/scheduler/scheduler.h"

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ma::scheduler {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;

constexpr absl::Duration kTestWait = absl::Seconds(30);

TEST(SchedulerTest, RunsJobsInDueOrderOnOneThread) {
  Scheduler scheduler;
  absl::Mutex mu;
  std::vector<std::string> order;
  std::vector<std::thread::id> threads;
  absl::Notification done;
  const auto record = [&](std::string name) {
    absl::MutexLock lock(&mu);
    order.push_back(std::move(name));
    threads.push_back(std::this_thread::get_id());
  };
  scheduler.RunAfter(milliseconds(60), [&] {
    record("late");
    done.Notify();
  });
  scheduler.RunAfter(milliseconds(20), [&] { record("soon"); });
  scheduler.Post([&] { record("now"); });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(kTestWait));
  absl::MutexLock lock(&mu);
  EXPECT_THAT(order, ElementsAre("now", "soon", "late"));
  EXPECT_EQ(threads[0], threads[1]);
  EXPECT_EQ(threads[1], threads[2]);
  EXPECT_NE(threads[0], std::this_thread::get_id());
}

TEST(SchedulerTest, CancelRemovesAJobNotYetRun) {
  Scheduler scheduler;
  std::atomic<bool> ran{false};
  const JobId id = scheduler.RunAfter(milliseconds(50), [&] { ran = true; });
  scheduler.Cancel(id);
  absl::Notification later;
  scheduler.RunAfter(milliseconds(100), [&] { later.Notify(); });
  ASSERT_TRUE(later.WaitForNotificationWithTimeout(kTestWait));
  EXPECT_FALSE(ran);
}

TEST(SchedulerTest, CancelWaitsForTheRunningJob) {
  Scheduler scheduler;
  absl::Notification started;
  std::atomic<bool> finished{false};
  const JobId id = scheduler.Post([&] {
    started.Notify();
    absl::SleepFor(absl::Milliseconds(100));
    finished = true;
  });
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(kTestWait));
  scheduler.Cancel(id);
  EXPECT_TRUE(finished);
}

TEST(SchedulerTest, AJobMayScheduleAndCancelJobs) {
  Scheduler scheduler;
  absl::Notification done;
  std::atomic<bool> cancelled_ran{false};
  scheduler.Post([&] {
    const JobId doomed = scheduler.RunAfter(milliseconds(10), [&] { cancelled_ran = true; });
    scheduler.Cancel(doomed);
    scheduler.RunAfter(milliseconds(30), [&] { done.Notify(); });
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(kTestWait));
  EXPECT_FALSE(cancelled_ran);
}

TEST(SchedulerTest, DestructorDropsJobsNotYetDue) {
  std::atomic<bool> ran{false};
  {
    Scheduler scheduler;
    scheduler.RunAfter(std::chrono::hours(1), [&] { ran = true; });
  }
  EXPECT_FALSE(ran);
}

}  // namespace
}  // namespace ma::scheduler
