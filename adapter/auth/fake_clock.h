#pragma once

// A settable Clock for the module's tests.

#include <chrono>
#include <mutex>

#include "queries/base/clock.h"

namespace ma::auth {

// Thread-safe: Now and Advance take a lock.
class FakeClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return now_;
  }
  void Advance(std::chrono::milliseconds by) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ += by;
  }

 private:
  mutable std::mutex mu_;
  std::chrono::system_clock::time_point now_{std::chrono::seconds(1'700'000'000)};
};

}  // namespace ma::auth
