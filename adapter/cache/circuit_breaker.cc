#include "adapter/cache/circuit_breaker.h"

#include <algorithm>

namespace ma::cache {
namespace {

// Doublings beyond this cannot matter (2^20 x any sane base exceeds any sane cap) and would
// overflow.
constexpr int kMaxDoublings = 20;

}  // namespace

bool CircuitBreaker::Allow(TimePoint now) {
  switch (state_) {
    case BreakerState::kClosed:
      return true;
    case BreakerState::kOpen:
      if (now < open_until_) {
        return false;
      }
      state_ = BreakerState::kHalfOpen;
      return true;
    case BreakerState::kHalfOpen:
      return false;
  }
  return false;
}

void CircuitBreaker::OnSuccess() {
  state_ = BreakerState::kClosed;
  consecutive_failures_ = 0;
  openings_ = 0;
}

void CircuitBreaker::OnAbandoned() {
  if (state_ == BreakerState::kHalfOpen) {
    state_ = BreakerState::kOpen;
  }
}

void CircuitBreaker::OnFailure(TimePoint now, double random01) {
  ++consecutive_failures_;
  if (state_ != BreakerState::kHalfOpen && consecutive_failures_ < options_->failure_threshold) {
    return;
  }
  const int doublings = std::min(openings_, kMaxDoublings);
  ++openings_;
  const auto backoff = std::min<std::chrono::milliseconds>(
      options_->base_backoff * (int64_t{1} << doublings), options_->max_backoff);
  const double keep = 1.0 - options_->jitter * std::clamp(random01, 0.0, 1.0);
  open_until_ = now + std::chrono::milliseconds(
                          static_cast<int64_t>(static_cast<double>(backoff.count()) * keep));
  state_ = BreakerState::kOpen;
}

}  // namespace ma::cache
