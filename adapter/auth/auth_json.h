#pragma once

// The JSON documents of delegated authentication and authorization: TokenReview and
// SubjectAccessReview requests and their answers (authentication.k8s.io/v1 and
// authorization.k8s.io/v1), and the extension-apiserver-authentication ConfigMap. RapidJSON stays
// inside the .cc.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "adapter/auth/request_attributes.h"
#include "adapter/auth/user_info.h"

namespace ma::auth {

// Answers larger than this are refused: a review answer is a few hundred bytes, the ConfigMap a
// few CA certificates.
inline constexpr size_t kMaxKubeResponseBytes = 1 << 20;
// Nesting beyond this is refused before it is parsed further.
inline constexpr int kMaxKubeJsonDepth = 16;

// {"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","metadata":{},
//  "spec":{"token":"...","audiences":[...]}}; audiences omitted when empty.
std::string EncodeTokenReview(std::string_view token, const std::vector<std::string>& audiences);

struct TokenReviewStatus {
  bool authenticated = false;
  UserInfo user;
  std::vector<std::string> audiences;
  std::string error;
};

// The `status` of a TokenReview answer (absent: not authenticated). kInternal when the body is
// not a TokenReview.
absl::StatusOr<TokenReviewStatus> DecodeTokenReviewStatus(std::string_view body);

// The SubjectAccessReview for `user` doing `attributes`: resourceAttributes or
// nonResourceAttributes, empty fields omitted, in Go's field order. The text doubles as the
// cache key, as Go keys its cache on the JSON of the spec.
std::string EncodeSubjectAccessReview(const UserInfo& user, const RequestAttributes& attributes);

struct SubjectAccessReviewStatus {
  bool allowed = false;
  bool denied = false;
  std::string reason;
  std::string evaluation_error;
};

absl::StatusOr<SubjectAccessReviewStatus> DecodeSubjectAccessReviewStatus(std::string_view body);

// A ConfigMap's `data` (string values only; others are skipped).
absl::StatusOr<std::map<std::string, std::string>> DecodeConfigMapData(std::string_view body);

// A JSON array of strings, as the ConfigMap's requestheader-* values hold; "" is an empty list.
absl::StatusOr<std::vector<std::string>> DecodeStringList(std::string_view text);

}  // namespace ma::auth
