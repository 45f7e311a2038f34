#include "queries/rules/naming.h"

#include <gtest/gtest.h>

namespace ma::rules {
namespace {

struct NamingCase {
  std::string matches;
  std::string as;
  std::string series;
  std::string want;
};

TEST(NameMatcherTest, ExpandsLikeGoRegexpExpandString) {
  const NamingCase cases[] = {
      {"^(.*)_total$", "${1}_per_second", "http_requests_total", "http_requests_per_second"},
      // `$1_per_second` names the group "1_per_second", which does not exist: Go expands "".
      {"^(.*)_total$", "$1_per_second", "http_requests_total", ""},
      {"^(.*)_total$", "", "http_requests_total", "http_requests"},  // one group: $1
      {"", "", "anything_goes", "anything_goes"},                    // ".*" and $0
      {"_total", "", "http_requests_total", "_total"},  // unanchored; only the match is kept
      {"^(?P<base>.*)_seconds_total$", "${base}_rate", "cpu_seconds_total", "cpu_rate"},
      {"^(?P<base>.*)_seconds_total$", "$base", "cpu_seconds_total", "cpu"},
      {"^(a)(b)?$", "$1-$2-${3}", "a", "a--"},  // unmatched and missing groups expand to ""
      {"^(.*)$", "$$1 costs $", "x", "$1 costs $"},
      {"^(.*)$", "${1", "x", "${1"},             // malformed reference stays as text
      {"^(.*)$", "$01", "x", ""},                // leading zero: a name, not a number
      {"^(\\w+)_(\\w+)$", "$2_$1", "a_b", "a"},  // "$2_" names a missing group; then "$1"
      {"^(\\w+)_(\\w+)$", "${2}_${1}", "a_b", "b_a"},
  };
  for (const auto& c : cases) {
    auto matcher = NameMatcher::Create(c.matches, c.as);
    ASSERT_TRUE(matcher.ok()) << c.matches << ": " << matcher.status();
    auto name = matcher->MetricName(c.series);
    ASSERT_TRUE(name.ok()) << name.status();
    EXPECT_EQ(*name, c.want) << "matches=" << c.matches << " as=" << c.as;
  }
}

TEST(NameMatcherTest, Errors) {
  auto two_groups = NameMatcher::Create("^(a)(b)$", "");
  EXPECT_EQ(two_groups.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(two_groups.status().message().find("must specify an 'as' value"), std::string::npos);
  auto bad = NameMatcher::Create("^(unclosed", "");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("invalid regex"), std::string::npos);
  auto matcher = NameMatcher::Create("^foo_(.*)$", "");
  ASSERT_TRUE(matcher.ok());
  EXPECT_FALSE(matcher->Matches("bar_x"));
  EXPECT_EQ(matcher->MetricName("bar_x").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace ma::rules
