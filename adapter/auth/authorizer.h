#pragma once

// Delegated authorization (docs/security.md), as Go's delegating authorizer chains it:
// always-allowed groups (system:masters), always-allowed non-resource paths, then a
// SubjectAccessReview to kube-apiserver, cached.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "adapter/async/cancel_slot.h"
#include "adapter/auth/expiring_cache.h"
#include "adapter/auth/request_attributes.h"
#include "adapter/auth/user_info.h"
#include "adapter/kube/api_client.h"
#include "queries/base/clock.h"

namespace ma::auth {

inline constexpr std::string_view kSubjectAccessReviewPath =
    "/apis/authorization.k8s.io/v1/subjectaccessreviews";
// Go's webhook authorizer cache size.
inline constexpr size_t kMaxAuthorizationCacheEntries = 8192;
// Reviews whose attribute strings total this much or more are not cached, as in Go.
inline constexpr size_t kMaxCacheableAttributeBytes = 10000;
// The defaults of --authorization-webhook-cache-authorized-ttl and -unauthorized-ttl.
inline constexpr std::chrono::milliseconds kDefaultAuthorizedTtl{std::chrono::seconds(10)};
inline constexpr std::chrono::milliseconds kDefaultUnauthorizedTtl{std::chrono::seconds(10)};
inline constexpr std::chrono::milliseconds kSubjectAccessReviewTimeout{std::chrono::seconds(10)};

struct AuthorizerOptions {
  // --authorization-always-allow-paths: exact paths, or prefixes ending in "*".
  std::vector<std::string> always_allow_paths = {"/healthz", "/readyz", "/livez"};
  std::vector<std::string> always_allow_groups = {std::string(kMastersGroup)};
  std::chrono::milliseconds authorized_ttl = kDefaultAuthorizedTtl;
  std::chrono::milliseconds unauthorized_ttl = kDefaultUnauthorizedTtl;
  size_t max_cache_entries = kMaxAuthorizationCacheEntries;
};

enum class Decision { kAllow, kDeny, kNoOpinion };

struct Authorization {
  Decision decision = Decision::kNoOpinion;
  std::string reason;  // the reviewer's, for the 403 message; may be empty
};

// An Authorization, or an error (the review could not be made or contradicted itself), which a
// Go server answers with a 500.
using AuthorizeCallback = std::function<void(absl::StatusOr<Authorization>)>;

// Thread-safe: Authorize may be called from any thread; the cache is internally locked. Must
// outlive the API client's pending calls.
class Authorizer {
 public:
  // `client` null: no SubjectAccessReview, so only the always-allowed groups and paths pass.
  // kInvalidArgument for an always-allow path with a `*` before its end.
  static absl::StatusOr<std::unique_ptr<Authorizer>> Create(
      kube::ApiClient* client, AuthorizerOptions options, const Clock& clock = SystemClock::Get());
  Authorizer(const Authorizer&) = delete;
  Authorizer& operator=(const Authorizer&) = delete;

  // Calls `done` exactly once: at once for always-allowed requests and cached answers,
  // otherwise from the API client's thread. With `cancel`, a caller whose request was cancelled
  // is forgotten (async/cancel_slot.h): `done` is dropped, and the review goes on, its answer
  // cached for the next request, bounded by kSubjectAccessReviewTimeout.
  void Authorize(const UserInfo& user, const RequestAttributes& attributes, AuthorizeCallback done,
                 async::CancelSlot* cancel = nullptr);

 private:
  Authorizer(kube::ApiClient* client, AuthorizerOptions options, std::vector<std::string> paths,
             std::vector<std::string> prefixes, const Clock& clock);

  bool AlwaysAllowed(const UserInfo& user, const RequestAttributes& attributes) const;

  kube::ApiClient* const client_;
  const AuthorizerOptions options_;
  // The always-allow paths without their leading "/", split as Go's path authorizer does.
  const std::vector<std::string> exact_paths_;
  const std::vector<std::string> path_prefixes_;
  ExpiringCache<Authorization> cache_;
};

}  // namespace ma::auth
