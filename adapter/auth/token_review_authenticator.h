#pragma once

// The bearer-token authenticator (the chain's third step): `Authorization: Bearer` tokens are
// checked by kube-apiserver through a TokenReview, and the answers are cached.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "adapter/async/cancel_slot.h"
#include "adapter/auth/expiring_cache.h"
#include "adapter/auth/user_info.h"
#include "adapter/http/message.h"
#include "adapter/kube/api_client.h"
#include "queries/base/clock.h"

namespace ma::auth {

inline constexpr std::string_view kTokenReviewPath = "/apis/authentication.k8s.io/v1/tokenreviews";
// Distinct tokens remembered at once; more evict the least recently used.
inline constexpr size_t kMaxTokenCacheEntries = 4096;
// --authentication-token-webhook-cache-ttl's default, as in Go's delegating authenticator.
inline constexpr std::chrono::milliseconds kDefaultTokenCacheTtl{std::chrono::seconds(10)};
// kube-apiserver's own bound on a TokenReview round trip in Go's delegating authenticator.
inline constexpr std::chrono::milliseconds kTokenReviewTimeout{std::chrono::seconds(10)};

struct TokenReviewOptions {
  // How long an answer (authenticated or not) is reused; zero disables the cache.
  std::chrono::milliseconds cache_ttl = kDefaultTokenCacheTtl;
  // The API audiences to ask for; empty asks for kube-apiserver's own.
  std::vector<std::string> audiences;
  size_t max_cache_entries = kMaxTokenCacheEntries;
};

// nullopt: does not apply; a user: authenticated; kUnauthenticated: refused, with the reason
// for the log (never the token).
using TokenCallback = std::function<void(absl::StatusOr<std::optional<UserInfo>>)>;

// Thread-safe: Authenticate may be called from any thread; the cache is internally locked. Must
// outlive the API client's pending calls.
class TokenReviewAuthenticator {
 public:
  TokenReviewAuthenticator(kube::ApiClient& client, TokenReviewOptions options,
                           const Clock& clock = SystemClock::Get());
  TokenReviewAuthenticator(const TokenReviewAuthenticator&) = delete;
  TokenReviewAuthenticator& operator=(const TokenReviewAuthenticator&) = delete;

  // Calls `done` exactly once: at once when there is no bearer token or the answer is cached,
  // otherwise from the API client's thread. Concurrent requests with the same token share one
  // TokenReview (a new token on many connections at once, as an HPA controller restart brings).
  // With `cancel`, a caller whose request was cancelled (its deadline passed, its client left)
  // is forgotten (async/cancel_slot.h); the review goes on and its answer is cached for the next
  // request, as a Prometheus query already sent fills the value cache. Its own
  // kTokenReviewTimeout bounds it.
  void Authenticate(const http::Request& request, TokenCallback done,
                    async::CancelSlot* cancel = nullptr);

  // The token of `Authorization: Bearer <token>` (scheme case-insensitive), as Go's bearer-token
  // authenticator reads it; nullopt for other or empty credentials.
  static std::optional<std::string> BearerToken(const http::Request& request);

 private:
  struct CachedReview {
    bool authenticated = false;
    UserInfo user;
  };

  using Result = absl::StatusOr<std::optional<UserInfo>>;

  // The answer for `review`, cached when Go's authenticator caches it.
  Result Conclude(const std::string& key, absl::StatusOr<kube::ApiResponse> review);
  // A caller's canceller: drops its callback, if the review has not answered it yet.
  void Forget(const std::string& key, uint64_t waiter);

  kube::ApiClient& client_;
  const TokenReviewOptions options_;
  ExpiringCache<CachedReview> cache_;
  absl::Mutex mu_;
  // Per cache key: the callers waiting for the TokenReview in flight, by id.
  absl::flat_hash_map<std::string, std::vector<std::pair<uint64_t, TokenCallback>>> in_flight_
      ABSL_GUARDED_BY(mu_);
  uint64_t next_waiter_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace ma::auth
