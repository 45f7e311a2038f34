#include "adapter/app/delegated_auth.h"

#include <map>
#include <string>
#include <utility>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "adapter/auth/auth_filter.h"
#include "adapter/auth/token_review_authenticator.h"
#include "adapter/telemetry/log.h"
#include "queries/base/status_macros.h"
#include "queries/base/strings.h"

namespace ma::app {
namespace {

auth::AuthenticationFlags AuthenticationFlagsFrom(const Options& o) {
  auth::AuthenticationFlags flags;
  flags.client_ca_file = o.client_ca_file;
  flags.requestheader_client_ca_file = o.requestheader_client_ca_file;
  flags.requestheader_allowed_names = o.requestheader_allowed_names;
  flags.requestheader_username_headers = o.requestheader_username_headers;
  flags.requestheader_group_headers = o.requestheader_group_headers;
  flags.requestheader_extra_headers_prefixes = {o.requestheader_extra_headers_prefix};
  return flags;
}

// The ConfigMap's data, waiting for the asynchronous GET: start-up has nothing else to do yet.
absl::StatusOr<std::map<std::string, std::string>> FetchConfigMapData(kube::ApiClient& client) {
  struct Result {
    absl::Notification done;
    absl::StatusOr<std::map<std::string, std::string>> data;
  };
  // Shared with the callback, which may still run after a timed-out wait returns.
  auto result = std::make_shared<Result>();
  auth::FetchAuthenticationConfigMap(
      client, [result](absl::StatusOr<std::map<std::string, std::string>> data) {
        result->data = std::move(data);
        result->done.Notify();
      });
  if (!result->done.WaitForNotificationWithTimeout(
          absl::FromChrono(kAuthenticationConfigMapStartTimeout))) {
    return absl::DeadlineExceededError(
        Cat("no answer for configmap/", auth::kAuthenticationConfigMapName, " in ",
            auth::kAuthenticationConfigMapNamespace, " within ",
            absl::FormatDuration(absl::FromChrono(kAuthenticationConfigMapStartTimeout))));
  }
  return std::move(result->data);
}

}  // namespace

absl::StatusOr<std::unique_ptr<DelegatedAuth>> DelegatedAuth::Create(
    const Options& options, kube::ApiClient& authentication, kube::ApiClient& authorization) {
  const auth::AuthenticationFlags flags = AuthenticationFlagsFrom(options);
  MA_ASSIGN_OR_RETURN(const auto data, FetchConfigMapData(authentication));
  MA_ASSIGN_OR_RETURN(auth::AuthenticationConfig config,
                      auth::MergeAuthenticationConfig(flags, data));

  auth::TokenReviewOptions token_options;
  token_options.cache_ttl = options.authentication_token_webhook_cache_ttl;
  auto authenticator = std::make_shared<auth::Authenticator>(
      config.Settings(),
      std::make_unique<auth::TokenReviewAuthenticator>(authentication, std::move(token_options)));

  auth::AuthorizerOptions authorizer_options;
  authorizer_options.always_allow_paths = options.authorization_always_allow_paths;
  authorizer_options.authorized_ttl = options.authorization_webhook_cache_authorized_ttl;
  authorizer_options.unauthorized_ttl = options.authorization_webhook_cache_unauthorized_ttl;
  auto authorizer = auth::Authorizer::Create(&authorization, std::move(authorizer_options));
  if (!authorizer.ok()) {
    return absl::InvalidArgumentError(
        Cat("--authorization-always-allow-paths: ", authorizer.status().message()));
  }

  if (config.requestheader_ca_pem.empty()) {
    MA_LOG(WARNING) << "no request-header CA (--requestheader-client-ca-file or configmap/"
                    << auth::kAuthenticationConfigMapName
                    << "): requests proxied by the aggregator cannot be authenticated";
  }
  return std::unique_ptr<DelegatedAuth>(new DelegatedAuth(options, authentication,
                                                          std::move(config), data, authenticator,
                                                          std::shared_ptr(*std::move(authorizer))));
}

DelegatedAuth::DelegatedAuth(const Options& options, kube::ApiClient& authentication,
                             auth::AuthenticationConfig initial_config,
                             std::map<std::string, std::string> initial_data,
                             std::shared_ptr<auth::Authenticator> authenticator,
                             std::shared_ptr<auth::Authorizer> authorizer)
    : authentication_(authentication),
      flags_(AuthenticationFlagsFrom(options)),
      initial_config_(std::move(initial_config)),
      initial_data_(std::move(initial_data)),
      authenticator_(std::move(authenticator)),
      authorizer_(std::move(authorizer)) {}

DelegatedAuth::~DelegatedAuth() { Stop(); }

http::Handler DelegatedAuth::Wrap(http::Handler inner, telemetry::AdapterMetrics* metrics) const {
  return auth::WithAuthentication(authenticator_, authorizer_, std::move(inner), metrics);
}

void DelegatedAuth::Start(kube::ListWatchRuntime runtime, UpdateClientCas update_cas) {
  watcher_ = std::make_unique<auth::AuthenticationConfigWatcher>(
      authentication_, runtime, flags_, initial_config_,
      [authenticator = authenticator_,
       update_cas = std::move(update_cas)](const auth::AuthenticationConfig& config) {
        // The bundles first: a header authenticator without its CA would refuse the proxy.
        MA_RETURN_IF_ERROR(update_cas(config.client_ca_pem, config.requestheader_ca_pem));
        authenticator->UpdateSettings(config.Settings());
        return absl::OkStatus();
      },
      initial_data_);
  watcher_->Start();
}

absl::Status DelegatedAuth::ReloadCaFiles() {
  if (watcher_ == nullptr) {
    return absl::FailedPreconditionError("delegated authentication has not started");
  }
  return watcher_->ReloadFiles();
}

void DelegatedAuth::Stop() {
  if (watcher_ != nullptr) {
    watcher_->Stop();
  }
}

}  // namespace ma::app
