#include "adapter/auth/authorizer.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "adapter/auth/auth_json.h"
#include "queries/base/strings.h"

namespace ma::auth {
namespace {

size_t AttributeBytes(const UserInfo& user, const RequestAttributes& a) {
  size_t total = user.name.size() + user.uid.size() + a.verb.size() + a.path.size() +
                 a.api_group.size() + a.api_version.size() + a.namespace_name.size() +
                 a.resource.size() + a.subresource.size() + a.name.size();
  for (const std::string& group : user.groups) {
    total += group.size();
  }
  for (const auto& [key, values] : user.extra) {
    total += key.size();
    for (const std::string& value : values) {
      total += value.size();
    }
  }
  return total;
}

std::string_view TrimLeadingSlash(std::string_view path) {
  return absl::StartsWith(ToAbsl(path), "/") ? path.substr(1) : path;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Authorizer>> Authorizer::Create(kube::ApiClient* client,
                                                               AuthorizerOptions options,
                                                               const Clock& clock) {
  std::vector<std::string> paths;
  std::vector<std::string> prefixes;
  for (const std::string& raw : options.always_allow_paths) {
    const std::string_view path = TrimLeadingSlash(raw);
    if (path.empty()) {
      paths.emplace_back();
      continue;
    }
    if (path.substr(0, path.size() - 1).find('*') != std::string_view::npos) {
      return absl::InvalidArgumentError(
          Cat("--authorization-always-allow-paths: only trailing * "
              "allowed in ",
              GoQuote(raw)));
    }
    if (path.back() == '*') {
      prefixes.emplace_back(path.substr(0, path.size() - 1));
    } else {
      paths.emplace_back(path);
    }
  }
  return std::unique_ptr<Authorizer>(
      new Authorizer(client, std::move(options), std::move(paths), std::move(prefixes), clock));
}

Authorizer::Authorizer(kube::ApiClient* client, AuthorizerOptions options,
                       std::vector<std::string> paths, std::vector<std::string> prefixes,
                       const Clock& clock)
    : client_(client),
      options_(std::move(options)),
      exact_paths_(std::move(paths)),
      path_prefixes_(std::move(prefixes)),
      cache_(options_.max_cache_entries, clock) {}

bool Authorizer::AlwaysAllowed(const UserInfo& user, const RequestAttributes& attributes) const {
  for (const std::string& group : user.groups) {
    if (std::find(options_.always_allow_groups.begin(), options_.always_allow_groups.end(),
                  group) != options_.always_allow_groups.end()) {
      return true;
    }
  }
  if (attributes.resource_request) {
    return false;
  }
  const std::string_view path = TrimLeadingSlash(attributes.path);
  if (std::find(exact_paths_.begin(), exact_paths_.end(), path) != exact_paths_.end()) {
    return true;
  }
  return std::any_of(path_prefixes_.begin(), path_prefixes_.end(), [&](const std::string& prefix) {
    return absl::StartsWith(ToAbsl(path), prefix);
  });
}

namespace {

// The caller's callback while its review is in flight: the review's answer and the caller's
// canceller race for it, and whichever comes first takes it.
class PendingCallback {
 public:
  explicit PendingCallback(AuthorizeCallback done) : done_(std::move(done)) {}
  AuthorizeCallback Take() {
    absl::MutexLock lock(&mu_);
    return std::exchange(done_, nullptr);
  }

 private:
  absl::Mutex mu_;
  AuthorizeCallback done_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

void Authorizer::Authorize(const UserInfo& user, const RequestAttributes& attributes,
                           AuthorizeCallback done, async::CancelSlot* cancel) {
  if (AlwaysAllowed(user, attributes)) {
    done(Authorization{Decision::kAllow, ""});
    return;
  }
  if (client_ == nullptr) {
    done(Authorization{Decision::kNoOpinion, ""});
    return;
  }
  std::string body = EncodeSubjectAccessReview(user, attributes);
  const bool cacheable = AttributeBytes(user, attributes) < kMaxCacheableAttributeBytes;
  if (cacheable) {
    if (std::optional<Authorization> cached = cache_.Get(body); cached.has_value()) {
      done(*std::move(cached));
      return;
    }
  }
  kube::ApiRequest call;
  call.method = "POST";
  call.path = std::string(kSubjectAccessReviewPath);
  call.body = body;
  call.timeout = kSubjectAccessReviewTimeout;
  std::string key = cacheable ? std::move(body) : std::string();
  auto pending = std::make_shared<PendingCallback>(std::move(done));
  if (cancel != nullptr) {
    cancel->Attach([pending] { pending->Take(); });
  }
  client_->Call(std::move(call), [this, key = std::move(key), pending = std::move(pending)](
                                     absl::StatusOr<kube::ApiResponse> response) {
    // A caller that went away is not answered; the review's answer is still cached below.
    AuthorizeCallback taken = pending->Take();
    auto answer = [&taken](absl::StatusOr<Authorization> result) {
      if (taken) {
        taken(std::move(result));
      }
    };
    if (!response.ok()) {
      answer(absl::UnavailableError(
          Cat("the SubjectAccessReview could not be sent: ", response.status().message())));
      return;
    }
    if (response->status < 200 || response->status > 299) {
      answer(absl::UnavailableError(
          Cat("the SubjectAccessReview was answered with HTTP ", response->status)));
      return;
    }
    absl::StatusOr<SubjectAccessReviewStatus> review =
        DecodeSubjectAccessReviewStatus(response->body);
    if (!review.ok()) {
      answer(review.status());
      return;
    }
    if (review->allowed && review->denied) {
      answer(absl::InternalError("the SubjectAccessReview answered both allowed and denied"));
      return;
    }
    Authorization authorization;
    authorization.reason = review->reason;
    authorization.decision = review->allowed  ? Decision::kAllow
                             : review->denied ? Decision::kDeny
                                              : Decision::kNoOpinion;
    if (!key.empty()) {
      cache_.Put(key, authorization,
                 review->allowed ? options_.authorized_ttl : options_.unauthorized_ttl);
    }
    answer(std::move(authorization));
  });
}

}  // namespace ma::auth
