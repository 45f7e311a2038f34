#include "adapter/async/task_context.h"

namespace ma::async {

void TaskContext::Cancel(absl::Status reason) {
  if (cancelled()) {
    return;
  }
  cancel_reason_ = reason.ok() ? absl::CancelledError("cancelled") : std::move(reason);
  // Moved out first: the handler resumes the request, which may set the next handler.
  std::function<void()> handler = std::move(cancel_handler_);
  cancel_handler_ = nullptr;
  if (handler) {
    handler();
  }
}

}  // namespace ma::async
