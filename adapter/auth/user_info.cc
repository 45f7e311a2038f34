#include "adapter/auth/user_info.h"

#include <algorithm>

namespace ma::auth {

UserInfo AnonymousUser() {
  UserInfo user;
  user.name = std::string(kAnonymousUser);
  user.groups.emplace_back(kUnauthenticatedGroup);
  return user;
}

void AddAuthenticatedGroup(UserInfo& user) {
  const bool has_marker = std::any_of(user.groups.begin(), user.groups.end(), [](const auto& g) {
    return g == kAuthenticatedGroup || g == kUnauthenticatedGroup;
  });
  if (!has_marker) {
    user.groups.emplace_back(kAuthenticatedGroup);
  }
}

}  // namespace ma::auth
