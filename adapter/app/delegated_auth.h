#pragma once

// Delegated authentication and authorization as `serve` assembles them from the flags and the
// Kubernetes API (docs/security.md): the extension-apiserver-authentication ConfigMap read at
// start and followed after, merged with the flags; TokenReview and SubjectAccessReview on their
// own clients; and the filter that puts both in front of the API handler.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "adapter/app/options.h"
#include "adapter/auth/authentication_config.h"
#include "adapter/auth/authentication_config_watcher.h"
#include "adapter/auth/authenticator.h"
#include "adapter/auth/authorizer.h"
#include "adapter/http/message.h"
#include "adapter/kube/api_client.h"
#include "adapter/telemetry/adapter_metrics.h"

namespace ma::app {

// How long start-up waits for the authentication ConfigMap before giving up.
inline constexpr std::chrono::seconds kAuthenticationConfigMapStartTimeout{30};

// Replaces the server's client CA bundles (PEM text): the server's UpdateClientCas.
using UpdateClientCas = std::function<absl::Status(std::string_view client_ca_pem,
                                                   std::string_view requestheader_ca_pem)>;

// Thread-safe: Wrap's handler and ReloadCaFiles may be called from any thread; Start and Stop are
// called once each from the thread that runs `serve`. The API clients must outlive this object.
class DelegatedAuth {
 public:
  // Reads the ConfigMap (a missing one is empty, as in Go) and merges it with the flags; fails
  // with a message naming the flag, file or RBAC rule at fault.
  static absl::StatusOr<std::unique_ptr<DelegatedAuth>> Create(const Options& options,
                                                               kube::ApiClient& authentication,
                                                               kube::ApiClient& authorization);
  ~DelegatedAuth();
  DelegatedAuth(const DelegatedAuth&) = delete;
  DelegatedAuth& operator=(const DelegatedAuth&) = delete;

  // The CA bundles and header names in force at start: the server is created with them.
  const auth::AuthenticationConfig& initial_config() const { return initial_config_; }

  // `inner` behind authentication and authorization, each outcome counted in `metrics`.
  http::Handler Wrap(http::Handler inner, telemetry::AdapterMetrics* metrics) const;

  // Follows the ConfigMap: a change updates the authenticator and, through `update_cas`, the
  // server's bundles for new connections. The watch runs on `runtime`'s shared threads.
  void Start(kube::ListWatchRuntime runtime, UpdateClientCas update_cas);
  void Stop();

  // Reads --client-ca-file and --requestheader-client-ca-file again (a file watcher saw them
  // change) and applies the result as a ConfigMap change would; after Start. On error (naming
  // the file) the current bundles stay.
  absl::Status ReloadCaFiles();

 private:
  DelegatedAuth(const Options& options, kube::ApiClient& authentication,
                auth::AuthenticationConfig initial_config,
                std::map<std::string, std::string> initial_data,
                std::shared_ptr<auth::Authenticator> authenticator,
                std::shared_ptr<auth::Authorizer> authorizer);

  kube::ApiClient& authentication_;
  const auth::AuthenticationFlags flags_;
  const auth::AuthenticationConfig initial_config_;
  // The ConfigMap's data that initial_config_ was merged from.
  const std::map<std::string, std::string> initial_data_;
  std::shared_ptr<auth::Authenticator> authenticator_;
  std::shared_ptr<auth::Authorizer> authorizer_;
  std::unique_ptr<auth::AuthenticationConfigWatcher> watcher_;
};

}  // namespace ma::app
