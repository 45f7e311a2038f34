#include "queries/base/strings.h"

#include <gtest/gtest.h>

namespace ma {
namespace {

struct QuoteCase {
  std::string in;
  std::string want;
};

TEST(GoQuoteTest, MatchesGoStrconvQuote) {
  // Expected strings are what Go's strconv.Quote prints for the same input.
  const QuoteCase cases[] = {
      {"", R"("")"},
      {"plain", R"("plain")"},
      {"a\"b", R"("a\"b")"},
      {"back\\slash", R"("back\\slash")"},
      {"tab\tnl\n", R"("tab\tnl\n")"},
      {std::string("\x01\x7f", 2), R"("\x01\x7f")"},
      {"caf\xc3\xa9", "\"caf\xc3\xa9\""},
      {"\xff", R"("\xff")"},
      {"\xe2\x80\xa8", R"("\u2028")"},
      {"\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\""},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(GoQuote(c.in), c.want) << "input: " << c.in;
  }
}

TEST(TruncateTest, CutsLongTextOnARuneBoundary) {
  EXPECT_EQ(Truncate("short", 5), "short");
  EXPECT_EQ(Truncate("longer", 4), "long...");
  EXPECT_EQ(Truncate("ab\xc3\xa9", 3), "ab...");  // never half of the é
  EXPECT_EQ(Truncate("\xc3\xa9", 0), "...");
}

}  // namespace
}  // namespace ma
