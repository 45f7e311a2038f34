#include "adapter/telemetry/log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ma::telemetry {
namespace {

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
