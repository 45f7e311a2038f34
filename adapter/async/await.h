#pragma once

// Await<T>: the one place where a task waits for work done elsewhere (a backend answer, a
// TokenReview, a test that answers later). It turns a call that completes through a callback
// into something a Task can `co_await`:
//
//   absl::StatusOr<prometheus::QueryResultPtr> result =
//       co_await async::Await<prometheus::QueryResultPtr>(
//           [&](async::Completion<prometheus::QueryResultPtr> done) {
//             client.Query(promql, now, done);
//           });
//
// - A callback called before `start` returns, on the same thread (a cache hit), completes the
//   wait without suspending the task.
// - A callback called later, from any thread, posts the task's resumption to its executor, so
//   the rest of the request runs there and never on the caller's thread (a curl worker).
// - Cancelling the task's context ends the wait at once with the cancellation's status; the
//   late callback then finds nothing to resume and its result is dropped.

#include <coroutine>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include "absl/status/statusor.h"
#include "adapter/async/task_context.h"
#include "queries/base/check.h"

namespace ma::async {

// Called exactly once, from any thread.
template <typename T>
using Completion = std::function<void(absl::StatusOr<T>)>;

namespace internal {

// Which wait, if any, is being started on this thread; a callback that sees its own wait here
// runs inline.
inline thread_local const void* starting_wait = nullptr;

template <typename T>
struct WaitState {
  std::shared_ptr<Executor> executor;
  std::coroutine_handle<> waiter;
  std::optional<absl::StatusOr<T>> inline_result;  // touched only by the starting thread
  std::optional<absl::StatusOr<T>> result;         // touched only on the executor
  bool settled = false;                            // touched only on the executor
};

}  // namespace internal

// Not thread-safe; one use: `co_await Await<T>(start)` inside a Task.
template <typename T>
class [[nodiscard]] Await {
 public:
  explicit Await(std::function<void(Completion<T>)> start) : start_(std::move(start)) {}

  bool await_ready() const noexcept { return false; }

  template <typename Promise>
  bool await_suspend(std::coroutine_handle<Promise> waiter) {
    context_ = waiter.promise().context;
    MA_CHECK(context_ != nullptr);  // awaited outside a started task
    if (context_->cancelled()) {
      result_ = context_->cancel_reason();
      return false;
    }
    auto state = std::make_shared<internal::WaitState<T>>();
    state->executor = context_->executor();
    state->waiter = waiter;
    const void* outer = std::exchange(internal::starting_wait, state.get());
    start_([state](absl::StatusOr<T> value) { Complete(state, std::move(value)); });
    internal::starting_wait = outer;
    if (state->inline_result.has_value()) {
      result_ = *std::move(state->inline_result);
      return false;
    }
    state_ = state;
    context_->SetCancelHandler([state, context = context_] {
      if (!state->settled) {
        state->settled = true;
        state->result = context->cancel_reason();
        state->waiter.resume();
      }
    });
    return true;
  }

  absl::StatusOr<T> await_resume() {
    if (state_ == nullptr) {
      return *std::move(result_);
    }
    context_->ClearCancelHandler();
    return *std::move(state_->result);
  }

 private:
  static void Complete(const std::shared_ptr<internal::WaitState<T>>& state,
                       absl::StatusOr<T> value) {
    if (internal::starting_wait == state.get()) {
      state->inline_result = std::move(value);
      return;
    }
    state->executor->Post([state, value = std::move(value)]() mutable {
      if (state->settled) {
        return;  // cancelled first: the request has moved on
      }
      state->settled = true;
      state->result = std::move(value);
      state->waiter.resume();
    });
  }

  std::function<void(Completion<T>)> start_;
  TaskContext* context_ = nullptr;
  std::shared_ptr<internal::WaitState<T>> state_;  // set when the task suspended
  std::optional<absl::StatusOr<T>> result_;        // set when it did not
};

}  // namespace ma::async
