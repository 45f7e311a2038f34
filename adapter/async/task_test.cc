#include "adapter/async/task.h"

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include "adapter/async/await.h"
#include "adapter/async/cancel_slot.h"
#include "adapter/async/executor.h"
#include "adapter/async/task_context.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ma::async {
namespace {

using ::testing::HasSubstr;

// Runs posted work when the test says so, on the test's thread.
class ManualExecutor final : public Executor {
 public:
  void Post(std::function<void()> work) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!closed_) {
      queue_.push_back(std::move(work));
    }
  }
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    queue_.clear();
  }
  // Runs queued work, including work it posts; returns how many ran.
  int RunAll() {
    int ran = 0;
    for (;;) {
      std::function<void()> work;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (queue_.empty()) {
          return ran;
        }
        work = std::move(queue_.front());
        queue_.pop_front();
      }
      work();
      ++ran;
    }
  }

 private:
  std::mutex mu_;
  std::deque<std::function<void()>> queue_;
  bool closed_ = false;
};

// A callback-style service that answers later, when the test tells it to.
class LaterService {
 public:
  void Ask(Completion<int> done) {
    ++asked_;
    pending_ = std::move(done);
  }
  void Answer(absl::StatusOr<int> value) {
    Completion<int> done = std::move(pending_);
    pending_ = nullptr;
    done(std::move(value));
  }
  int asked() const { return asked_; }

 private:
  Completion<int> pending_;
  int asked_ = 0;
};

// A service that lets a caller take its question back: its canceller forgets the callback.
class CancellableService {
 public:
  void Ask(Completion<int> done, CancelSlot& cancel) {
    pending_ = std::move(done);
    cancel.Attach([this] {
      pending_ = nullptr;
      ++withdrawn_;
    });
  }
  // Answers inside Ask, as a cache hit does; the canceller it attached must never run.
  void AskAndAnswer(Completion<int> done, CancelSlot& cancel) {
    Ask(std::move(done), cancel);
    Answer(5);
  }
  void Answer(int value) {
    Completion<int> done = std::move(pending_);
    pending_ = nullptr;
    done(value);
  }
  bool pending() const { return pending_ != nullptr; }
  int withdrawn() const { return withdrawn_; }

 private:
  Completion<int> pending_;
  int withdrawn_ = 0;
};

Task<int> AskCancellable(CancellableService& service, bool answer_inline) {
  absl::StatusOr<int> answer =
      co_await Await<int>([&service, answer_inline](Completion<int> done, CancelSlot& cancel) {
        if (answer_inline) {
          service.AskAndAnswer(std::move(done), cancel);
        } else {
          service.Ask(std::move(done), cancel);
        }
      });
  co_return answer.ok() ? *answer : -answer.status().raw_code();
}

Task<int> Constant(int value) { co_return value; }

Task<int> Sum(int a, int b) {
  const int first = co_await Constant(a);
  const int second = co_await Constant(b);
  co_return first + second;
}

Task<int> Throws() {
  throw std::runtime_error("boom");
  co_return 0;
}

Task<int> AddOne(Task<int> inner) { co_return co_await inner + 1; }

Task<int> AskService(LaterService& service) {
  absl::StatusOr<int> answer =
      co_await Await<int>([&service](Completion<int> done) { service.Ask(std::move(done)); });
  co_return answer.ok() ? *answer : -answer.status().raw_code();
}

Task<int> AskTwice(LaterService& service) {
  const int first = co_await AskService(service);
  const int second = co_await AskService(service);
  co_return first * 100 + second;
}

class TaskTest : public ::testing::Test {
 protected:
  std::shared_ptr<ManualExecutor> executor_ = std::make_shared<ManualExecutor>();
  TaskContext context_{executor_};
  std::optional<absl::StatusOr<int>> result_;

  void StartInt(Task<int> task) {
    Start<int>(context_, std::move(task), [this](absl::StatusOr<int> r) { result_ = r; });
  }
};

TEST_F(TaskTest, TaskThatNeverWaitsEndsInsideStart) {
  StartInt(Sum(2, 3));
  ASSERT_TRUE(result_.has_value());
  EXPECT_EQ(**result_, 5);
  EXPECT_EQ(executor_->RunAll(), 0);
}

TEST_F(TaskTest, ExceptionBecomesInternalError) {
  StartInt(AddOne(Throws()));
  ASSERT_TRUE(result_.has_value());
  EXPECT_EQ(result_->status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(result_->status().message(), HasSubstr("boom"));
}

TEST_F(TaskTest, CallbackCalledInsideStartDoesNotSuspend) {
  auto answer_now = [](Completion<int> done) { done(41); };
  StartInt([](auto answer) -> Task<int> {
    absl::StatusOr<int> value = co_await Await<int>(answer);
    co_return *value + 1;
  }(answer_now));
  ASSERT_TRUE(result_.has_value());
  EXPECT_EQ(**result_, 42);
  EXPECT_EQ(executor_->RunAll(), 0);
}

TEST_F(TaskTest, LaterCallbackFromAnotherThreadResumesOnTheExecutor) {
  LaterService service;
  StartInt(AskService(service));
  EXPECT_FALSE(result_.has_value());
  std::thread other([&service] { service.Answer(7); });
  other.join();
  EXPECT_FALSE(result_.has_value());  // not on the answering thread
  EXPECT_EQ(executor_->RunAll(), 1);
  ASSERT_TRUE(result_.has_value());
  EXPECT_EQ(**result_, 7);
}

TEST_F(TaskTest, ErrorsArriveAsValues) {
  LaterService service;
  StartInt(AskService(service));
  service.Answer(absl::UnavailableError("down"));
  executor_->RunAll();
  ASSERT_TRUE(result_.has_value());
  EXPECT_EQ(**result_, -static_cast<int>(absl::StatusCode::kUnavailable));
}

TEST_F(TaskTest, CancelEndsThePendingWaitAndLaterWaitsAtOnce) {
  LaterService service;
  StartInt(AskTwice(service));
  EXPECT_EQ(service.asked(), 1);
  context_.Cancel(absl::DeadlineExceededError("too slow"));
  // The task ran to its end inside Cancel; the second wait never asked the service.
  ASSERT_TRUE(result_.has_value());
  const int code = -static_cast<int>(absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(**result_, code * 100 + code);
  EXPECT_EQ(service.asked(), 1);
  EXPECT_TRUE(context_.cancelled());
  // The late answer finds nothing to resume.
  service.Answer(3);
  EXPECT_EQ(executor_->RunAll(), 1);
  EXPECT_EQ(**result_, code * 100 + code);
}

TEST_F(TaskTest, CancelRunsTheCalleesCancellerSoItKeepsNoCallback) {
  CancellableService service;
  StartInt(AskCancellable(service, /*answer_inline=*/false));
  EXPECT_TRUE(service.pending());
  context_.Cancel(absl::CancelledError("client closed"));
  EXPECT_EQ(service.withdrawn(), 1);
  EXPECT_FALSE(service.pending());
  ASSERT_TRUE(result_.has_value());
  EXPECT_EQ(**result_, -static_cast<int>(absl::StatusCode::kCancelled));
}

TEST_F(TaskTest, AnsweredWaitsCancellerNeverRuns) {
  CancellableService service;
  StartInt(AskCancellable(service, /*answer_inline=*/false));
  service.Answer(9);
  EXPECT_EQ(executor_->RunAll(), 1);
  ASSERT_TRUE(result_.has_value());
  EXPECT_EQ(**result_, 9);
  context_.Cancel(absl::CancelledError("after the end"));
  EXPECT_EQ(service.withdrawn(), 0);

  result_.reset();
  TaskContext second(executor_);
  Start<int>(second, AskCancellable(service, /*answer_inline=*/true),
             [this](absl::StatusOr<int> r) { result_ = r; });
  ASSERT_TRUE(result_.has_value());
  EXPECT_EQ(**result_, 5);
  second.Cancel(absl::CancelledError("after the end"));
  EXPECT_EQ(service.withdrawn(), 0);
}

TEST_F(TaskTest, FirstCancelReasonWins) {
  context_.Cancel(absl::DeadlineExceededError("first"));
  context_.Cancel(absl::CancelledError("second"));
  EXPECT_EQ(context_.cancel_reason().message(), "first");
  LaterService service;
  StartInt(AskService(service));
  EXPECT_EQ(service.asked(), 0);
  ASSERT_TRUE(result_.has_value());
  EXPECT_EQ(**result_, -static_cast<int>(absl::StatusCode::kDeadlineExceeded));
}

TEST_F(TaskTest, AnswerAfterTheExecutorClosedIsDropped) {
  LaterService service;
  StartInt(AskService(service));
  context_.Cancel(absl::CancelledError("connection closed"));
  executor_->Close();
  service.Answer(1);  // must not touch the finished task
  EXPECT_EQ(executor_->RunAll(), 0);
  ASSERT_TRUE(result_.has_value() && result_->ok());
  EXPECT_EQ(**result_, -static_cast<int>(absl::StatusCode::kCancelled));
}

Task<int> CountTo(int n) {
  int total = 0;
  for (int i = 0; i < n; ++i) {
    total += co_await Constant(1);
  }
  co_return total;
}

TEST_F(TaskTest, LongChainsOfAwaitsDoNotGrowTheStack) {
  StartInt(CountTo(1'000'000));
  ASSERT_TRUE(result_.has_value());
  EXPECT_EQ(**result_, 1'000'000);
}

}  // namespace
}  // namespace ma::async
