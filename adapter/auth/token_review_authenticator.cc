#include "adapter/auth/token_review_authenticator.h"

#include <openssl/evp.h>

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_join.h"
#include "adapter/auth/auth_json.h"
#include "queries/base/check.h"
#include "queries/base/strings.h"

namespace ma::auth {
namespace {

// Go's bearer-token authenticator's answer for a token the review did not accept.
constexpr std::string_view kInvalidToken = "invalid bearer token";

// The cache key: the SHA-256 of the token and the audiences asked for, in lowercase hex, so that
// the token itself is never kept.
std::string CacheKey(std::string_view token, const std::vector<std::string>& audiences) {
  std::string material = Cat(audiences.size(), ":", absl::StrJoin(audiences, ","), ":");
  material.append(token);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  // SHA-256 through EVP fails only when the process is out of memory.
  MA_CHECK(EVP_Digest(material.data(), material.size(), digest, &digest_length, EVP_sha256(),
                      nullptr) == 1);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), digest_length));
}

bool Intersects(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  return std::any_of(a.begin(), a.end(), [&](const std::string& x) {
    return std::find(b.begin(), b.end(), x) != b.end();
  });
}

}  // namespace

TokenReviewAuthenticator::TokenReviewAuthenticator(kube::ApiClient& client,
                                                   TokenReviewOptions options, const Clock& clock)
    : client_(client), options_(std::move(options)), cache_(options_.max_cache_entries, clock) {}

std::optional<std::string> TokenReviewAuthenticator::BearerToken(const http::Request& request) {
  const std::optional<std::string> header = request.Header("authorization");
  if (!header.has_value()) {
    return std::nullopt;
  }
  const std::string_view value = ToStd(absl::StripAsciiWhitespace(*header));
  const size_t space = value.find(' ');
  if (space == std::string_view::npos ||
      absl::AsciiStrToLower(ToAbsl(value.substr(0, space))) != "bearer") {
    return std::nullopt;
  }
  std::string_view token = value.substr(space + 1);
  token = token.substr(0, token.find(' '));
  if (token.empty()) {
    return std::nullopt;
  }
  return std::string(token);
}

void TokenReviewAuthenticator::Authenticate(const http::Request& request, TokenCallback done,
                                            async::CancelSlot* cancel) {
  std::optional<std::string> token = BearerToken(request);
  if (!token.has_value()) {
    done(std::nullopt);
    return;
  }
  std::string key = CacheKey(*token, options_.audiences);
  if (std::optional<CachedReview> cached = cache_.Get(key); cached.has_value()) {
    if (!cached->authenticated) {
      done(absl::UnauthenticatedError(ToAbsl(kInvalidToken)));
      return;
    }
    done(std::optional<UserInfo>(std::move(cached->user)));
    return;
  }

  uint64_t waiter = 0;
  bool first = false;
  {
    absl::MutexLock lock(&mu_);
    auto [waiting, inserted] = in_flight_.try_emplace(key);
    waiter = ++next_waiter_;
    waiting->second.emplace_back(waiter, std::move(done));
    first = inserted;
  }
  if (cancel != nullptr) {
    cancel->Attach([this, key, waiter] { Forget(key, waiter); });
  }
  if (!first) {
    return;  // the review in flight answers this caller too
  }
  kube::ApiRequest call;
  call.method = "POST";
  call.path = std::string(kTokenReviewPath);
  call.body = EncodeTokenReview(*token, options_.audiences);
  call.timeout = kTokenReviewTimeout;
  client_.Call(std::move(call),
               [this, key = std::move(key)](absl::StatusOr<kube::ApiResponse> response) {
                 const Result result = Conclude(key, std::move(response));
                 std::vector<std::pair<uint64_t, TokenCallback>> waiting;
                 {
                   absl::MutexLock lock(&mu_);
                   auto it = in_flight_.find(key);
                   waiting = std::move(it->second);
                   in_flight_.erase(it);
                 }
                 for (auto& [id, callback] : waiting) {
                   callback(result);
                 }
               });
}

void TokenReviewAuthenticator::Forget(const std::string& key, uint64_t waiter) {
  TokenCallback dropped;  // destroyed outside the lock
  absl::MutexLock lock(&mu_);
  const auto it = in_flight_.find(key);
  if (it == in_flight_.end()) {
    return;  // answered already
  }
  auto& waiting = it->second;
  const auto found = std::find_if(waiting.begin(), waiting.end(),
                                  [waiter](const auto& w) { return w.first == waiter; });
  if (found != waiting.end()) {
    dropped = std::move(found->second);
    waiting.erase(found);
  }
  // The entry stays even when empty: the review's answer still finds it, and fills the cache.
}

TokenReviewAuthenticator::Result TokenReviewAuthenticator::Conclude(
    const std::string& key, absl::StatusOr<kube::ApiResponse> response) {
  if (!response.ok()) {
    return absl::UnauthenticatedError(
        Cat("the TokenReview could not be sent: ", response.status().message()));
  }
  if (response->status < 200 || response->status > 299) {
    return absl::UnauthenticatedError(
        Cat("the TokenReview was answered with HTTP ", response->status));
  }
  absl::StatusOr<TokenReviewStatus> review = DecodeTokenReviewStatus(response->body);
  if (!review.ok()) {
    return absl::UnauthenticatedError(review.status().message());
  }
  if (!review->authenticated) {
    // A reason from the reviewer is an error, which Go does not cache.
    if (!review->error.empty()) {
      return absl::UnauthenticatedError(Cat("the token was refused: ", review->error));
    }
    cache_.Put(key, CachedReview{}, options_.cache_ttl);
    return absl::UnauthenticatedError(ToAbsl(kInvalidToken));
  }
  if (!options_.audiences.empty() && !review->audiences.empty() &&
      !Intersects(options_.audiences, review->audiences)) {
    cache_.Put(key, CachedReview{}, options_.cache_ttl);
    return absl::UnauthenticatedError("the token is not meant for this server's audiences");
  }
  cache_.Put(key, CachedReview{true, review->user}, options_.cache_ttl);
  return std::optional<UserInfo>(std::move(review->user));
}

}  // namespace ma::auth
