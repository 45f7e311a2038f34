#pragma once

// RunTask: runs a request task to its end in a test, on the test's thread. Work posted back to
// the task (a fake that answers from another thread) runs here too, as it would on a strand.

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "adapter/async/executor.h"
#include "adapter/async/task.h"
#include "adapter/async/task_context.h"

namespace ma::testing {

// A queue the test thread drains. Thread-safe: Post may be called from any thread.
class QueueExecutor final : public async::Executor {
 public:
  void Post(std::function<void()> work) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(work));
    }
    posted_.notify_one();
  }
  // Runs one piece of posted work; false when none came before `deadline`.
  bool RunOne(absl::Time deadline) {
    std::function<void()> work;
    {
      std::unique_lock<std::mutex> lock(mu_);
      const absl::Duration left = deadline - absl::Now();
      if (!posted_.wait_for(lock, absl::ToChronoNanoseconds(left),
                            [this] { return !queue_.empty(); })) {
        return false;
      }
      work = std::move(queue_.front());
      queue_.pop_front();
    }
    work();
    return true;
  }

 private:
  std::mutex mu_;
  std::condition_variable posted_;
  std::deque<std::function<void()>> queue_;
};

// The task's value, or kDeadlineExceeded when it has not ended within `timeout` (it is then
// cancelled and run to its end).
template <typename T>
absl::StatusOr<T> RunTask(async::Task<T> task, absl::Duration timeout = absl::Seconds(30)) {
  auto executor = std::make_shared<QueueExecutor>();
  async::TaskContext context(executor);
  std::optional<absl::StatusOr<T>> result;
  async::Start<T>(context, std::move(task), [&result](absl::StatusOr<T> r) { result = r; });
  const absl::Time deadline = absl::Now() + timeout;
  while (!result.has_value()) {
    if (!executor->RunOne(deadline)) {
      context.Cancel(absl::DeadlineExceededError("the task did not end in time"));
      return absl::DeadlineExceededError("the task did not end in time");
    }
  }
  return *std::move(result);
}

}  // namespace ma::testing
