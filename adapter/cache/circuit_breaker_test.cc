#include "adapter/cache/circuit_breaker.h"

#include <gtest/gtest.h>

#include <vector>

namespace ma::cache {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using TimePoint = CircuitBreaker::TimePoint;

const TimePoint kStart = TimePoint(seconds(1'700'000'000));
const BreakerOptions kOptions{
    .failure_threshold = 3, .base_backoff = seconds(1), .max_backoff = seconds(10), .jitter = 0.5};

TEST(CircuitBreakerTest, OpensAfterThresholdConsecutiveFailures) {
  CircuitBreaker breaker(kOptions);
  for (int i = 0; i < 2; ++i) {
    breaker.OnFailure(kStart, 0);
    EXPECT_EQ(breaker.state(), BreakerState::kClosed);
    EXPECT_TRUE(breaker.Allow(kStart));
  }
  breaker.OnFailure(kStart, 0);
  EXPECT_EQ(breaker.state(), BreakerState::kOpen);
  EXPECT_FALSE(breaker.Allow(kStart + milliseconds(999)));
  EXPECT_EQ(breaker.open_until(), kStart + seconds(1));
}

TEST(CircuitBreakerTest, SuccessResetsTheCount) {
  CircuitBreaker breaker(kOptions);
  breaker.OnFailure(kStart, 0);
  breaker.OnFailure(kStart, 0);
  breaker.OnSuccess();
  breaker.OnFailure(kStart, 0);
  breaker.OnFailure(kStart, 0);
  EXPECT_EQ(breaker.state(), BreakerState::kClosed);
}

TEST(CircuitBreakerTest, HalfOpenLetsOneProbeThrough) {
  CircuitBreaker breaker(kOptions);
  for (int i = 0; i < 3; ++i) breaker.OnFailure(kStart, 0);
  const TimePoint later = kStart + seconds(1);
  EXPECT_TRUE(breaker.Allow(later));
  EXPECT_EQ(breaker.state(), BreakerState::kHalfOpen);
  EXPECT_FALSE(breaker.Allow(later));
  breaker.OnSuccess();
  EXPECT_EQ(breaker.state(), BreakerState::kClosed);
  EXPECT_TRUE(breaker.Allow(later));
}

TEST(CircuitBreakerTest, AbandonedProbeGivesTheProbesTurnBack) {
  CircuitBreaker breaker(kOptions);
  for (int i = 0; i < 3; ++i) breaker.OnFailure(kStart, 0);
  const TimePoint later = kStart + seconds(1);
  ASSERT_TRUE(breaker.Allow(later));
  breaker.OnAbandoned();
  EXPECT_EQ(breaker.state(), BreakerState::kOpen);
  EXPECT_EQ(breaker.consecutive_failures(), 3);
  EXPECT_TRUE(breaker.Allow(later));  // the next call is the probe
  EXPECT_EQ(breaker.state(), BreakerState::kHalfOpen);
  // Outside half-open it changes nothing.
  CircuitBreaker closed(kOptions);
  closed.OnAbandoned();
  EXPECT_EQ(closed.state(), BreakerState::kClosed);
}

TEST(CircuitBreakerTest, BackoffDoublesUpToTheCap) {
  struct Case {
    double random01;
    std::vector<milliseconds> want;
  };
  // Jitter 0.5: random 1 takes half the backoff off.
  const Case cases[] = {
      {0, {seconds(1), seconds(2), seconds(4), seconds(8), seconds(10), seconds(10)}},
      {1, {milliseconds(500), seconds(1), seconds(2), seconds(4), seconds(5), seconds(5)}},
  };
  for (const Case& c : cases) {
    CircuitBreaker breaker(kOptions);
    TimePoint now = kStart;
    for (int i = 0; i < 3; ++i) breaker.OnFailure(now, c.random01);
    for (size_t i = 0; i < c.want.size(); ++i) {
      SCOPED_TRACE(i);
      EXPECT_EQ(breaker.open_until() - now, c.want[i]);
      now = breaker.open_until();
      ASSERT_TRUE(breaker.Allow(now));  // the probe
      breaker.OnFailure(now, c.random01);
      EXPECT_EQ(breaker.state(), BreakerState::kOpen);
    }
  }
}

TEST(CircuitBreakerTest, SuccessAfterReopeningsRestartsTheBackoff) {
  CircuitBreaker breaker(kOptions);
  for (int i = 0; i < 3; ++i) breaker.OnFailure(kStart, 0);
  ASSERT_TRUE(breaker.Allow(kStart + seconds(1)));
  breaker.OnFailure(kStart + seconds(1), 0);  // reopened for 2 s
  ASSERT_TRUE(breaker.Allow(kStart + seconds(3)));
  breaker.OnSuccess();
  for (int i = 0; i < 3; ++i) breaker.OnFailure(kStart + seconds(3), 0);
  EXPECT_EQ(breaker.open_until(), kStart + seconds(4));
}

}  // namespace
}  // namespace ma::cache
