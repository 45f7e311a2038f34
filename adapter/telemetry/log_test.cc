#include "adapter/telemetry/log.h"

#include <optional>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ma::telemetry {
namespace {

// 2023-11-22 03:25:46.012345 UTC
constexpr int64_t kMicros = 1700623546'012345;

TEST(LogTest, TextLinesCarryKlogsExactHeader) {
  const std::string line = FormatLogLine(LogFormat::kText, Severity::kWarning, 0, kMicros, 4242,
                                         "/src/adapter/app/serve.cc", 121, "relist failed");
  EXPECT_EQ(line, "W1122 03:25:46.012345    4242 serve.cc:121] relist failed");
  // klog's fixed layout, as parsers (fluent-bit's and Vector's klog patterns) read it: the
  // thread id right-aligned in 7 columns between the time and file:line.
  EXPECT_EQ(line.substr(0, 22), "W1122 03:25:46.012345 ");
  EXPECT_EQ(line.substr(22, 8), "   4242 ");
  EXPECT_EQ(FormatLogLine(LogFormat::kText, Severity::kInfo, 0, kMicros, 12345678, "x.cc", 1, "m")
                .substr(22, 9),
            "12345678 ");
}

TEST(LogTest, JsonLinesAreOneObjectWithTheKubernetesFields) {
  EXPECT_EQ(
      FormatLogLine(LogFormat::kJson, Severity::kInfo, 4, kMicros, 1, "a/relister.cc", 7,
                    "query \"up\"\nnext"),
      R"({"ts":1700623546.012345,"caller":"relister.cc:7","msg":"query \"up\"\nnext","v":4})");
  EXPECT_EQ(FormatLogLine(LogFormat::kJson, Severity::kError, 0, kMicros, 1, "x.cc", 1, "boom"),
            R"({"ts":1700623546.012345,"caller":"x.cc:1","msg":"boom","severity":"error"})");
}

TEST(LogTest, StructuredFieldsAreKlogsKeyValuesInTextAndMembersInJson) {
  const LogFields fields = {
      {"path", std::string("/a\"b\nc")}, {"status", int64_t{404}}, {"seconds", 0.001234}};
  // Text: the message and every string value quoted as Go's %q, so a client's `"` or newline
  // can neither end the value nor start a forged line.
  EXPECT_EQ(
      FormatLogLine(LogFormat::kText, Severity::kInfo, 3, kMicros, 7, "x.cc", 1, "HTTP", fields),
      R"(I1122 03:25:46.012345       7 x.cc:1] "HTTP" path="/a\"b\nc" status=404)"
      R"( seconds=0.001234)");
  EXPECT_EQ(
      FormatLogLine(LogFormat::kJson, Severity::kInfo, 3, kMicros, 7, "x.cc", 1, "HTTP", fields),
      R"({"ts":1700623546.012345,"caller":"x.cc:1","msg":"HTTP","v":3,)"
      R"("path":"/a\"b\nc","status":404,"seconds":0.001234})");
  // Without fields a text line keeps its message as written.
  EXPECT_EQ(
      FormatLogLine(LogFormat::kText, Severity::kInfo, 0, kMicros, 7, "x.cc", 1, "a \"b\"", {}),
      R"(I1122 03:25:46.012345       7 x.cc:1] a "b")");
}

TEST(LogTest, FormatNamesAreThoseOfTheKubernetesFlag) {
  EXPECT_EQ(ParseLogFormat("text"), LogFormat::kText);
  EXPECT_EQ(ParseLogFormat("json"), LogFormat::kJson);
  EXPECT_EQ(ParseLogFormat("JSON"), std::nullopt);
  EXPECT_EQ(ParseLogFormat(""), std::nullopt);
}

using ::testing::HasSubstr;

class VModuleTest : public ::testing::Test {
 protected:
  void TearDown() override {
    SetVModule("");
    SetVerbosity(0);
  }
};

TEST_F(VModuleTest, PatternsOverrideVerbosityPerFile) {
  SetVerbosity(1);
  ASSERT_EQ(SetVModule("api_handler=4,*_cache=2,relist?r=0"), "");
  EXPECT_TRUE(VLogIsOn(4, "adapter/handlers/api_handler.cc"));
  EXPECT_FALSE(VLogIsOn(5, "adapter/handlers/api_handler.cc"));
  EXPECT_TRUE(VLogIsOn(2, "/src/adapter/objects/object_cache.cc"));
  EXPECT_FALSE(VLogIsOn(3, "object_cache.h"));
  // A matching pattern may also lower the level below -v.
  EXPECT_FALSE(VLogIsOn(1, "adapter/discovery/relister.cc"));
  // Files no pattern names keep -v.
  EXPECT_TRUE(VLogIsOn(1, "adapter/kube/list_watcher.cc"));
  EXPECT_FALSE(VLogIsOn(2, "adapter/kube/list_watcher.cc"));
}

TEST_F(VModuleTest, EmptySpecMeansVerbosityOnly) {
  SetVerbosity(2);
  ASSERT_EQ(SetVModule("api_handler=9"), "");
  ASSERT_EQ(SetVModule(""), "");
  EXPECT_FALSE(VLogIsOn(9, "api_handler.cc"));
  EXPECT_TRUE(VLogIsOn(2, "api_handler.cc"));
}

TEST_F(VModuleTest, MalformedSpecsAreNamed) {
  EXPECT_THAT(SetVModule("api_handler"), HasSubstr("\"api_handler\" is not PATTERN=LEVEL"));
  EXPECT_THAT(SetVModule("=3"), HasSubstr("is not PATTERN=LEVEL"));
  EXPECT_THAT(SetVModule("a=x"), HasSubstr("\"a=x\" has no level"));
  EXPECT_THAT(SetVModule("a=-1"), HasSubstr("has no level"));
}

}  // namespace
}  // namespace ma::telemetry
