#pragma once

// Await<T>: the one place where a task waits for work done elsewhere (a backend answer, a
// TokenReview, a test that answers later). It turns a call that completes through a callback
// into something a Task can `co_await`:
//
//   absl::StatusOr<int> answer = co_await async::Await<int>(
//       [&](async::Completion<int> done, async::CancelSlot& cancel) {
//         service.Ask(question, std::move(done), cancel);
//       });
//
// (prometheus::Client::AwaitQuery wraps its Query this way.) `start` may also take the
// completion alone, for an operation that cannot take a wait back.
//
// - A callback called before `start` returns, on the same thread (a cache hit), completes the
//   wait without suspending the task.
// - A callback called later, from any thread, posts the task's resumption to its executor, so
//   the rest of the request runs there and never on the caller's thread (a curl worker).
// - Cancelling the task's context ends the wait at once with the cancellation's status; the
//   late callback then finds nothing to resume and its result is dropped. Before that, the
//   operation's canceller, if it attached one to the CancelSlot, runs: the callee forgets the
//   callback and the work only it needed (cancel_slot.h).

#include <coroutine>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "absl/status/statusor.h"
#include "adapter/async/cancel_slot.h"
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
  // `start(Completion<T>, CancelSlot&)`, or `start(Completion<T>)`.
  template <typename Start>
  explicit Await(Start start) {
    if constexpr (std::is_invocable_v<Start&, Completion<T>, CancelSlot&>) {
      start_ = std::move(start);
    } else {
      start_ = [start = std::move(start)](Completion<T> done, CancelSlot& /*cancel*/) mutable {
        start(std::move(done));
      };
    }
  }

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
    start_([state](absl::StatusOr<T> value) { Complete(state, std::move(value)); }, cancel_);
    internal::starting_wait = outer;
    if (state->inline_result.has_value()) {
      result_ = *std::move(state->inline_result);
      cancel_.Attach(nullptr);  // answered: nothing to take back
      return false;
    }
    state_ = state;
    context_->SetCancelHandler([this, state, context = context_] {
      cancel_.Cancel();  // the callee forgets the callback first
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
    cancel_.Attach(nullptr);
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

  std::function<void(Completion<T>, CancelSlot&)> start_;
  CancelSlot cancel_;  // lives while the task waits: in its frame, as this awaiter does
  TaskContext* context_ = nullptr;
  std::shared_ptr<internal::WaitState<T>> state_;  // set when the task suspended
  std::optional<absl::StatusOr<T>> result_;        // set when it did not
};

// `co_await async::ThisContext()`: the running task's TaskContext, without suspending, so that
// a task can tell a wait that ended because the request was cancelled from one that failed.
struct [[nodiscard]] ThisContext {
  bool await_ready() const noexcept { return false; }
  template <typename Promise>
  bool await_suspend(std::coroutine_handle<Promise> task) noexcept {
    context = task.promise().context;
    return false;
  }
  TaskContext& await_resume() const noexcept { return *context; }

  TaskContext* context = nullptr;
};

}  // namespace ma::async
