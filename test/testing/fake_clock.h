#pragma once

// A Clock that tests set and move by hand, so that expiry, back-off and max-age logic runs
// without sleeping.

#include <chrono>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "queries/base/clock.h"

namespace ma::testing {

// Thread-safe: Now, Set and Advance may be called from any thread.
class FakeClock final : public Clock {
 public:
  // An arbitrary instant far from the epoch, so that "now minus a TTL" stays positive.
  static constexpr std::chrono::system_clock::time_point kDefaultStart{std::chrono::hours(500'000)};

  explicit FakeClock(std::chrono::system_clock::time_point start = kDefaultStart) : now_(start) {}

  std::chrono::system_clock::time_point Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Set(std::chrono::system_clock::time_point now) {
    absl::MutexLock lock(&mu_);
    now_ = now;
  }
  void Advance(std::chrono::system_clock::duration by) {
    absl::MutexLock lock(&mu_);
    now_ += by;
  }

 private:
  mutable absl::Mutex mu_;
  std::chrono::system_clock::time_point now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ma::testing
