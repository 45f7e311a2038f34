#pragma once

// CancelSlot: how a wait is taken back. Await hands one to the operation it starts; the operation
// attaches a canceller that forgets this caller's callback (and drops work that only this caller
// needs); the slot runs it if the task is cancelled while it waits. The operation's callback may
// still be called afterwards (the canceller lost a race with the answer); Await drops it then.
//
// One concept for every callee: the value cache forgets the waiter, and a query still queued in
// the bulkhead for that waiter alone is never sent. A callee that cannot take a wait back
// attaches nothing; the wait then ends at once anyway and the late answer is dropped.

#include <functional>
#include <utility>

namespace ma::async {

// Not thread-safe: used on the waiting task's executor only. The operation attaches inside the
// call that starts the wait; the task cancels on its executor. A canceller must therefore be safe
// to run on that thread at any time until the slot is destroyed, before or after the answer.
class CancelSlot {
 public:
  CancelSlot() = default;
  CancelSlot(const CancelSlot&) = delete;
  CancelSlot& operator=(const CancelSlot&) = delete;

  // Replaces the canceller; a decorator that passes the slot on leaves it to the innermost callee.
  void Attach(std::function<void()> canceller) { canceller_ = std::move(canceller); }
  bool attached() const { return canceller_ != nullptr; }

  // Runs the canceller once, if one is attached.
  void Cancel() {
    std::function<void()> canceller = std::exchange(canceller_, nullptr);
    if (canceller) {
      canceller();
    }
  }

 private:
  std::function<void()> canceller_;
};

}  // namespace ma::async
