#include "adapter/json/reader.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ma::json {
namespace {

using ::testing::HasSubstr;

constexpr Limits kLimits{.max_bytes = 1024, .max_depth = 4};

std::string Nested(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(ParseTest, ReadsADocument) {
  absl::StatusOr<rapidjson::Document> document =
      Parse(" {\"a\":[1,\"x\\u0000y\"],\"b\":{\"c\":null}}\n", kLimits);
  ASSERT_TRUE(document.ok()) << document.status();
  const rapidjson::Value* a = Member(*document, "a");
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(a->IsArray());
  EXPECT_EQ(StringOf((*a)[1]), std::string_view("x\0y", 3));
  EXPECT_NE(Member(*document, "b"), nullptr);
  EXPECT_EQ(Member(*document, "missing"), nullptr);
  EXPECT_EQ(Member(*a, "a"), nullptr);  // not an object
}

TEST(ParseTest, NestingUpToTheLimitIsAccepted) {
  EXPECT_TRUE(Parse(Nested(kLimits.max_depth), kLimits).ok());
  const absl::StatusOr<rapidjson::Document> deep = Parse(Nested(kLimits.max_depth + 1), kLimits);
  EXPECT_EQ(deep.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(deep.status().message(), "nested deeper than 4 levels");
}

TEST(ParseTest, AHugeNestingIsAnErrorNotACrash) {
  const std::string bomb(size_t{1} << 20, '[');
  const Limits limits{.max_bytes = bomb.size(), .max_depth = 32};
  EXPECT_EQ(Parse(bomb, limits).status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(ParseTest, SizeIsCheckedBeforeParsing) {
  const absl::StatusOr<rapidjson::Document> large =
      Parse(std::string(kLimits.max_bytes + 1, ' '), kLimits);
  EXPECT_EQ(large.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(large.status().message(), "larger than 1024 bytes");
}

TEST(ParseTest, MalformedInputNamesTheReasonAndOffset) {
  struct Case {
    std::string text;
    std::string message;
  };
  const Case cases[] = {
      {"", "The document is empty. at offset 0"},
      {"not json", "Invalid value. at offset 1"},
      {"{} {}", "The document root must not be followed by other values."},
      {"\"\xff\"", "Invalid encoding in string."},
  };
  for (const Case& c : cases) {
    const absl::StatusOr<rapidjson::Document> document = Parse(c.text, kLimits);
    EXPECT_EQ(document.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_THAT(std::string(document.status().message()), HasSubstr(c.message)) << c.text;
  }
}

}  // namespace
}  // namespace ma::json
