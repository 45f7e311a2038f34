#include "adapter/auth/user_info.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ma::auth {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

TEST(UserInfoTest, AnonymousUser) {
  const UserInfo user = AnonymousUser();
  EXPECT_EQ(user.name, "system:anonymous");
  EXPECT_THAT(user.groups, ElementsAre("system:unauthenticated"));
}

TEST(UserInfoTest, AddAuthenticatedGroup) {
  struct Case {
    std::vector<std::string> groups;
    std::vector<std::string> want;
  };
  const Case cases[] = {
      {{}, {"system:authenticated"}},
      {{"dev"}, {"dev", "system:authenticated"}},
      {{"system:authenticated", "dev"}, {"system:authenticated", "dev"}},
      {{"system:unauthenticated"}, {"system:unauthenticated"}},
  };
  for (const Case& c : cases) {
    UserInfo user;
    user.name = "jane";
    user.groups = c.groups;
    AddAuthenticatedGroup(user);
    EXPECT_THAT(user.groups, ElementsAreArray(c.want));
  }
}

}  // namespace
}  // namespace ma::auth
