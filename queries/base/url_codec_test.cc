#include "queries/base/url_codec.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "queries/base/hex.h"

namespace ma {
namespace {

using ::testing::HasSubstr;

struct EscapeCase {
  std::string text;
  std::string want;
};

// The expected strings are Go's own: net/url's queryEscapeTests and pathEscapeTests.
TEST(QueryEscapeTest, MatchesGo) {
  const EscapeCase cases[] = {
      {"", ""},
      {"abc", "abc"},
      {"one two", "one+two"},
      {"10%", "10%25"},
      {" ?&=#+%!<>#\"{}|\\^[]`\xE2\x98\xBA\t:/@$'()*,;",
       "+%3F%26%3D%23%2B%25%21%3C%3E%23%22%7B%7D%7C%5C%5E%5B%5D%60%E2%98%BA%09%3A%2F%40%24%27%28%"
       "29%2A%2C%3B"},
      {"-_.~", "-_.~"},
      {std::string(1, '\0'), "%00"},
  };
  for (const EscapeCase& c : cases) {
    EXPECT_EQ(QueryEscape(c.text), c.want) << c.text;
  }
}

TEST(PathEscapeTest, MatchesGo) {
  const EscapeCase cases[] = {
      {"", ""},
      {"abc", "abc"},
      {"abc+def", "abc+def"},
      {"a/b", "a%2Fb"},
      {"one two", "one%20two"},
      {"10%", "10%25"},
      {" ?&=#+%!<>#\"{}|\\^[]`\xE2\x98\xBA\t:/@$'()*,;",
       "%20%3F&=%23+%25%21%3C%3E%23%22%7B%7D%7C%5C%5E%5B%5D%60%E2%98%BA%09:%2F@$%27%28%29%2A%2C%"
       "3B"},
  };
  for (const EscapeCase& c : cases) {
    EXPECT_EQ(PathEscape(c.text), c.want) << c.text;
  }
}

struct DecodeCase {
  std::string encoded;
  std::string want_percent;
  std::string want_form;
};

class DecodeTest : public ::testing::TestWithParam<DecodeCase> {};

TEST_P(DecodeTest, PercentAndFormDifferOnlyInPlus) {
  const DecodeCase& tc = GetParam();
  absl::StatusOr<std::string> percent = PercentDecode(tc.encoded);
  absl::StatusOr<std::string> form = FormDecode(tc.encoded);
  ASSERT_TRUE(percent.ok()) << percent.status();
  ASSERT_TRUE(form.ok()) << form.status();
  EXPECT_EQ(*percent, tc.want_percent);
  EXPECT_EQ(*form, tc.want_form);
}

INSTANTIATE_TEST_SUITE_P(Decoding, DecodeTest,
                         ::testing::ValuesIn(std::vector<DecodeCase>{
                             {"", "", ""},
                             {"plain", "plain", "plain"},
                             {"a+b", "a+b", "a b"},
                             {"a%2Bb", "a+b", "a+b"},
                             {"%41%62", "Ab", "Ab"},
                             {"%00", std::string(1, '\0'), std::string(1, '\0')},
                             {"%C3%A9", "\xC3\xA9", "\xC3\xA9"},
                             {"%2a%2A", "**", "**"},
                         }));

TEST(DecodeTest, MalformedEscapesAreInvalidArgument) {
  for (const std::string encoded : {"%", "a%2", "%zz", "%g0", "100%"}) {
    for (const absl::StatusOr<std::string>& decoded :
         {PercentDecode(encoded), FormDecode(encoded)}) {
      ASSERT_FALSE(decoded.ok()) << encoded;
      EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument) << encoded;
      EXPECT_THAT(std::string(decoded.status().message()), HasSubstr("invalid URL escape"));
    }
  }
}

TEST(DecodeTest, EscapeThenDecodeIsIdentity) {
  std::string every_byte;
  for (int b = 0; b < 256; ++b) {
    every_byte += static_cast<char>(b);
  }
  EXPECT_EQ(FormDecode(QueryEscape(every_byte)).value(), every_byte);
  EXPECT_EQ(PercentDecode(PathEscape(every_byte)).value(), every_byte);
}

TEST(HexDigitValueTest, BothCasesAndNothingElse) {
  EXPECT_EQ(HexDigitValue('0'), 0);
  EXPECT_EQ(HexDigitValue('9'), 9);
  EXPECT_EQ(HexDigitValue('a'), 10);
  EXPECT_EQ(HexDigitValue('F'), 15);
  for (const char c : {'g', 'G', '/', ':', '@', '`', ' ', '\0'}) {
    EXPECT_EQ(HexDigitValue(c), -1) << c;
  }
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(HexDigitValue(kLowerHexDigits[i]), i);
    EXPECT_EQ(HexDigitValue(kUpperHexDigits[i]), i);
  }
}

}  // namespace
}  // namespace ma
