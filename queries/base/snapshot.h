#pragma once

// Holds the current version of an immutable value (the compiled rules, the metric registry) so
// that a writer can publish a new one while readers keep the one they took.

#include <memory>
#include <mutex>
#include <utility>

namespace ma {

// Thread-safe: Get and Set may be called from any thread at any time.
template <typename T>
class Snapshot {
 public:
  explicit Snapshot(std::shared_ptr<const T> initial = nullptr) : value_(std::move(initial)) {}

  std::shared_ptr<const T> Get() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return value_;
  }

  void Set(std::shared_ptr<const T> value) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      value_.swap(value);
    }
    // `value` now holds the old snapshot; the last reference may be dropped here, outside the lock.
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const T> value_;
};

}  // namespace ma
