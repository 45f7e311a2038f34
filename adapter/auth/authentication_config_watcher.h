#pragma once

// Follows the kube-system/extension-apiserver-authentication ConfigMap after start, as Go's
// dynamic CA and request-header controllers do, so that rotated front-proxy and client CAs and
// changed header names apply without a restart.

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "adapter/auth/authentication_config.h"
#include "adapter/kube/api_client.h"
#include "adapter/kube/list_watcher.h"

namespace ma::auth {

// Thread-safe: Start and Stop may be called from any thread; `on_change` is called from the
// watch thread, one call at a time, only with a configuration that differs from the last one.
class AuthenticationConfigWatcher {
 public:
  using OnChange = std::function<void(const AuthenticationConfig& config)>;

  // `initial` is what was applied at start (from FetchAuthenticationConfigMap), so that an
  // unchanged ConfigMap does not call `on_change`.
  AuthenticationConfigWatcher(kube::ApiClient& client, AuthenticationFlags flags,
                              AuthenticationConfig initial, OnChange on_change);
  ~AuthenticationConfigWatcher();  // stops
  AuthenticationConfigWatcher(const AuthenticationConfigWatcher&) = delete;
  AuthenticationConfigWatcher& operator=(const AuthenticationConfigWatcher&) = delete;

  void Start();
  void Stop();

  // Merges `data` with the flags and calls `on_change` when the result is new; a ConfigMap that
  // does not merge is logged and the last good configuration stays. Public for tests.
  void Apply(const std::map<std::string, std::string>& data);

 private:
  const AuthenticationFlags flags_;
  const OnChange on_change_;
  absl::Mutex mu_;
  AuthenticationConfig current_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<kube::ListWatcher> watcher_;
};

}  // namespace ma::auth
