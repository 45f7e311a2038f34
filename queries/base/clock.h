#pragma once

#include <chrono>

namespace ma {

// Time source, injected so that tests control it. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point Now() const = 0;
};

// The real wall clock.
class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::now();
  }
  static const SystemClock& Get() {
    static const SystemClock clock;
    return clock;
  }
};

}  // namespace ma
