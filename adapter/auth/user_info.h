#pragma once

// Who made a request, as Kubernetes' user.Info describes it: what authentication produces and
// what a SubjectAccessReview sends.

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ma::auth {

inline constexpr std::string_view kAnonymousUser = "system:anonymous";
inline constexpr std::string_view kUnauthenticatedGroup = "system:unauthenticated";
inline constexpr std::string_view kAuthenticatedGroup = "system:authenticated";
// Members are allowed everything without a SubjectAccessReview, as in every Go apiserver.
inline constexpr std::string_view kMastersGroup = "system:masters";

struct UserInfo {
  std::string name;
  std::string uid;
  std::vector<std::string> groups;
  std::map<std::string, std::vector<std::string>> extra;

  bool operator==(const UserInfo&) const = default;
};

// system:anonymous in system:unauthenticated: who a request is when no authenticator applies.
UserInfo AnonymousUser();

// Appends system:authenticated unless the user already has it or system:unauthenticated, as
// Go's authenticated-group adder does; the aggregator's discovery calls carry no groups and are
// allowed through this one.
void AddAuthenticatedGroup(UserInfo& user);

}  // namespace ma::auth
