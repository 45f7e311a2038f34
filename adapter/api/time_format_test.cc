#include "adapter/api/time_format.h"

#include <cstdint>
#include <string>

#include "gtest/gtest.h"

namespace ma::api {
namespace {

TEST(FormatTimestampTest, Rfc3339UtcWholeSeconds) {
  struct Case {
    int64_t millis;
    std::string expected;
  };
  const Case cases[] = {
      {0, "1970-01-01T00:00:00Z"},
      {1740830400000, "2025-03-01T12:00:00Z"},
      {1740830400999, "2025-03-01T12:00:00Z"},  // truncated, not rounded
      {1533663922000, "2018-08-07T17:45:22Z"},
      {951782400000, "2000-02-29T00:00:00Z"},  // leap day
      {-1, "1969-12-31T23:59:59Z"},            // pre-epoch truncates towards the past
      {-1000, "1969-12-31T23:59:59Z"},
      {-1001, "1969-12-31T23:59:58Z"},
      {-86400000, "1969-12-31T00:00:00Z"},
      {kMinTimestampMillis, "0000-01-01T00:00:00Z"},
      {kMaxTimestampMillis, "9999-12-31T23:59:59Z"},
      {kMinTimestampMillis - 1, "0000-01-01T00:00:00Z"},  // clamped
      {kMaxTimestampMillis + 1, "9999-12-31T23:59:59Z"},
      {INT64_MIN, "0000-01-01T00:00:00Z"},
      {INT64_MAX, "9999-12-31T23:59:59Z"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(FormatTimestamp(c.millis), c.expected) << c.millis;
  }
}

}  // namespace
}  // namespace ma::api

namespace ma::api {
namespace {

TEST(FormatGoDurationTest, GoDurationStrings) {
  const std::pair<int64_t, std::string> cases[] = {
      {0, "0s"},        {1, "1ms"},          {500, "500ms"},        {1000, "1s"},
      {1500, "1.5s"},   {10062, "10.062s"},  {60000, "1m0s"},       {90000, "1m30s"},
      {300000, "5m0s"}, {3600000, "1h0m0s"}, {3661500, "1h1m1.5s"}, {-30000, "-30s"},
      {-250, "-250ms"},
  };
  for (const auto& [millis, want] : cases) {
    EXPECT_EQ(FormatGoDuration(millis), want) << millis;
  }
}

}  // namespace
}  // namespace ma::api
