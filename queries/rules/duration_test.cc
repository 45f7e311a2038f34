#include "queries/rules/duration.h"

#include <gtest/gtest.h>

namespace ma::rules {
namespace {

TEST(ParsePrometheusDurationTest, AcceptsPrometheusSyntax) {
  using std::chrono::milliseconds;
  const std::pair<std::string, int64_t> ok[] = {
      {"0", 0},         {"5m", 300000},      {"1h30m", 5400000}, {"90s", 90000},
      {"250ms", 250},   {"1d", 86400000},    {"2w", 1209600000}, {"1y", 31536000000},
      {"1m30s", 90000}, {"1h0m0s", 3600000},
  };
  for (const auto& [text, want] : ok) {
    auto parsed = ParsePrometheusDuration(text);
    ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.status();
    EXPECT_EQ(parsed->count(), want) << text;
  }
}

TEST(ParsePrometheusDurationTest, RejectsEverythingElse) {
  for (const std::string text :
       {"", "5", "1.5m", "m", "5x", "30s1m", "1m1m", "-5m", "5 m", "1ms5s"}) {
    EXPECT_FALSE(ParsePrometheusDuration(text).ok()) << text;
  }
}

}  // namespace
}  // namespace ma::rules
