#pragma once

// A Clock that tests move by hand.

#include <chrono>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "queries/base/clock.h"

namespace ma::cache {

// Thread-safe: Now, Set and Advance may be called from any thread.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(std::chrono::system_clock::time_point start =
                         std::chrono::system_clock::time_point(std::chrono::hours(500'000)))
      : now_(start) {}

  std::chrono::system_clock::time_point Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(std::chrono::system_clock::duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }

 private:
  mutable absl::Mutex mu_;
  std::chrono::system_clock::time_point now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ma::cache
