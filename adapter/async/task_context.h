#pragma once

// What every task of one request shares: the executor it resumes on, and its cancellation.

#include <functional>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "adapter/async/executor.h"

namespace ma::async {

// Not thread-safe: used only on its executor, by the request's tasks and by whoever started them
// (the server cancels on the same strand). Must outlive the tasks started with it.
class TaskContext {
 public:
  explicit TaskContext(std::shared_ptr<Executor> executor) : executor_(std::move(executor)) {}
  TaskContext(const TaskContext&) = delete;
  TaskContext& operator=(const TaskContext&) = delete;

  const std::shared_ptr<Executor>& executor() const { return executor_; }

  // Ends the pending wait, if there is one, with `reason`, and makes every later wait return
  // `reason` at once; the request's code then runs to its end without waiting again. The first
  // reason stays; an OK reason counts as kCancelled.
  void Cancel(absl::Status reason);
  bool cancelled() const { return !cancel_reason_.ok(); }
  const absl::Status& cancel_reason() const { return cancel_reason_; }

  // For awaitables only: how the one pending wait ends itself early. Replaced by the next wait.
  void SetCancelHandler(std::function<void()> handler) { cancel_handler_ = std::move(handler); }
  void ClearCancelHandler() { cancel_handler_ = nullptr; }

 private:
  std::shared_ptr<Executor> executor_;
  absl::Status cancel_reason_;  // OK until cancelled
  std::function<void()> cancel_handler_;
};

}  // namespace ma::async
