#pragma once

// A circuit breaker for one cache key: after `failure_threshold` consecutive failures it opens
// for a backoff that doubles with every reopening, minus up to `jitter` of it so that keys that
// failed together do not retry together, capped at `max_backoff`. When the backoff has passed
// one probe goes through (half-open); its success closes the breaker, its failure reopens it.

#include <chrono>

namespace ma::cache {

struct BreakerOptions {
  int failure_threshold = 3;
  std::chrono::milliseconds base_backoff{std::chrono::seconds(1)};
  std::chrono::milliseconds max_backoff{std::chrono::seconds(30)};
  // Fraction of the backoff that may be taken off at random, in [0, 1).
  double jitter = 0.2;
};

enum class BreakerState { kClosed, kOpen, kHalfOpen };

// Not thread-safe: the owner's lock guards it. Kept small because there is one per cache key.
class CircuitBreaker {
 public:
  using TimePoint = std::chrono::system_clock::time_point;

  explicit CircuitBreaker(const BreakerOptions& options) : options_(&options) {}

  // Whether a backend call may start now. An open breaker whose backoff has passed turns
  // half-open and lets this one call through as the probe; further calls wait for its outcome.
  bool Allow(TimePoint now);
  void OnSuccess();
  // `random01` in [0, 1) picks the jitter (injected so that tests are deterministic).
  void OnFailure(TimePoint now, double random01);
  // The call Allow let through was never made (its callers left before it was sent). A probe's
  // turn goes back: the breaker is open again, with its backoff already over.
  void OnAbandoned();

  BreakerState state() const { return state_; }
  int consecutive_failures() const { return consecutive_failures_; }
  // When an open breaker lets its probe through.
  TimePoint open_until() const { return open_until_; }

 private:
  const BreakerOptions* options_;
  BreakerState state_ = BreakerState::kClosed;
  int consecutive_failures_ = 0;
  int openings_ = 0;  // since the last success: the backoff's exponent
  TimePoint open_until_;
};

}  // namespace ma::cache
