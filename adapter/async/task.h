#pragma once

// Task<T>: the coroutine type of the request path. A request is one chain of tasks, started by
// Start on its executor; each `co_await` of a Task runs the callee at once (no scheduling), and
// the chain suspends only where an awaitable of await.h waits for outside work (a backend
// answer). A request whose answer is in memory therefore runs from start to end without
// suspending.
//
// A Task is lazy (it runs when awaited or started), awaited at most once, and owns its frame.
// Awaiting it runs it on the caller's thread, as a function call would.
// Tasks inherit the TaskContext of the task that awaits them: its executor and cancellation.

#include <atomic>
#include <coroutine>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "adapter/async/task_context.h"

namespace ma::async {

template <typename T>
class Task;

namespace internal {

struct PromiseBase {
  TaskContext* context = nullptr;
  std::coroutine_handle<> continuation;  // the awaiting task, or Start's frame
  std::exception_ptr exception;
  // Set by whichever comes second of: the task ending, and its caller suspending. A task that
  // ends inside the caller's await_suspend hands back by returning; one that ends later resumes
  // the caller. Either way no call nests per await, so a loop of awaits never grows the stack
  // (without relying on the compiler turning symmetric transfer into a tail call, which GCC does
  // not do in sanitizer builds).
  std::atomic<bool> handed_over{false};

  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    template <typename Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> done) noexcept {
      PromiseBase& promise = done.promise();
      if (promise.handed_over.exchange(true, std::memory_order_acq_rel)) {
        return promise.continuation;  // the caller is suspended: resume it
      }
      return std::noop_coroutine();  // the caller's await_suspend is still running: return to it
    }
    void await_resume() noexcept {}
  };

  std::suspend_always initial_suspend() noexcept { return {}; }
  FinalAwaiter final_suspend() noexcept { return {}; }
  void unhandled_exception() noexcept { exception = std::current_exception(); }
};

template <typename Promise>
class TaskBase {
 public:
  TaskBase(TaskBase&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  TaskBase& operator=(TaskBase&& other) noexcept {
    if (this != &other) {
      Destroy();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  TaskBase(const TaskBase&) = delete;
  TaskBase& operator=(const TaskBase&) = delete;
  ~TaskBase() { Destroy(); }

  bool await_ready() const noexcept { return false; }
  // Runs the task until it ends or waits; suspends the caller only in the second case.
  template <typename Caller>
  bool await_suspend(std::coroutine_handle<Caller> caller) {
    handle_.promise().context = caller.promise().context;
    handle_.promise().continuation = caller;
    handle_.resume();
    return !handle_.promise().handed_over.exchange(true, std::memory_order_acq_rel);
  }

 protected:
  explicit TaskBase(std::coroutine_handle<Promise> handle) : handle_(handle) {}
  Promise& promise() { return handle_.promise(); }
  void RethrowIfFailed() {
    if (promise().exception) {
      std::rethrow_exception(promise().exception);
    }
  }

 private:
  void Destroy() {
    if (handle_) {
      handle_.destroy();
      handle_ = {};
    }
  }
  std::coroutine_handle<Promise> handle_;
};

template <typename T>
struct ValuePromise : PromiseBase {
  std::optional<T> value;
  Task<T> get_return_object();
  template <typename U>
  void return_value(U&& v) {
    value.emplace(std::forward<U>(v));
  }
};

struct VoidPromise : PromiseBase {
  Task<void> get_return_object();
  void return_void() {}
};

}  // namespace internal

template <typename T>
class [[nodiscard]] Task : public internal::TaskBase<internal::ValuePromise<T>> {
 public:
  using promise_type = internal::ValuePromise<T>;
  T await_resume() {
    this->RethrowIfFailed();
    return std::move(*this->promise().value);
  }

 private:
  friend promise_type;
  explicit Task(std::coroutine_handle<promise_type> handle)
      : internal::TaskBase<promise_type>(handle) {}
};

template <>
class [[nodiscard]] Task<void> : public internal::TaskBase<internal::VoidPromise> {
 public:
  using promise_type = internal::VoidPromise;
  void await_resume() { RethrowIfFailed(); }

 private:
  friend promise_type;
  explicit Task(std::coroutine_handle<promise_type> handle) : TaskBase(handle) {}
};

namespace internal {

template <typename T>
Task<T> ValuePromise<T>::get_return_object() {
  return Task<T>(std::coroutine_handle<ValuePromise<T>>::from_promise(*this));
}

inline Task<void> VoidPromise::get_return_object() {
  return Task<void>(std::coroutine_handle<VoidPromise>::from_promise(*this));
}

// The frame that Start leaves running: it starts at once, awaits the task and frees itself.
struct Detached {
  struct promise_type {
    TaskContext* context;
    template <typename... Rest>
    explicit promise_type(TaskContext& started_with, Rest&... /*rest*/) : context(&started_with) {}
    Detached get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }  // RunDetached catches everything
  };
};

std::string DescribeException(const std::exception_ptr& exception);

template <typename T>
Detached RunDetached(TaskContext& /*context*/, Task<T> task,
                     std::function<void(absl::StatusOr<T>)> done) {
  std::optional<absl::StatusOr<T>> result;
  try {
    result.emplace(co_await task);
  } catch (...) {
    result.emplace(absl::InternalError(DescribeException(std::current_exception())));
  }
  done(*std::move(result));
}

}  // namespace internal

// Runs `task` on the calling thread, which must be one that `context`'s executor runs work on,
// until it first suspends or ends; `done` gets its value, or kInternal when it threw. `done` may
// run before Start returns (the task did not suspend) or later on the executor. `context` must
// outlive the task: a caller that goes away first cancels it (the task then ends at once).
template <typename T>
void Start(TaskContext& context, Task<T> task, std::function<void(absl::StatusOr<T>)> done) {
  internal::RunDetached(context, std::move(task), std::move(done));
}

}  // namespace ma::async
