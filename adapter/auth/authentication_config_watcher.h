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

// Thread-safe: every method may be called from any thread; `on_change` is called one call at a
// time (from a decode pool thread, or from ReloadFiles' caller), only with a configuration that
// differs from the last one it accepted.
class AuthenticationConfigWatcher {
 public:
  // An error (a bundle the server cannot parse) keeps the previous configuration as the current
  // one, so that the same data is tried again on the next change.
  using OnChange = std::function<absl::Status(const AuthenticationConfig& config)>;

  // `initial` is what was applied at start, merged from `initial_data` (the ConfigMap's data from
  // FetchAuthenticationConfigMap), so that an unchanged ConfigMap does not call `on_change` and
  // ReloadFiles before the watch's first answer merges with what was read at start.
  AuthenticationConfigWatcher(kube::ApiClient& client, kube::ListWatchRuntime runtime,
                              AuthenticationFlags flags, AuthenticationConfig initial,
                              OnChange on_change,
                              std::map<std::string, std::string> initial_data = {});
  ~AuthenticationConfigWatcher();  // stops
  AuthenticationConfigWatcher(const AuthenticationConfigWatcher&) = delete;
  AuthenticationConfigWatcher& operator=(const AuthenticationConfigWatcher&) = delete;

  void Start();
  void Stop();

  // Merges `data` with the flags and calls `on_change` when the result is new; a ConfigMap that
  // does not merge is logged and the last good configuration stays. Public for tests.
  void Apply(const std::map<std::string, std::string>& data);

  // Reads the flags' CA files again and merges them with the last ConfigMap data seen, for a file
  // watcher that saw them change. An error (naming the file) keeps the current configuration.
  absl::Status ReloadFiles();

 private:
  absl::Status Merge(const std::map<std::string, std::string>& data);

  const AuthenticationFlags flags_;
  const OnChange on_change_;
  // Held across on_change_: one change at a time, in the order they were merged.
  absl::Mutex apply_mu_;
  absl::Mutex mu_;
  AuthenticationConfig current_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> last_data_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<kube::ListWatcher> watcher_;
};

}  // namespace ma::auth
