#include "adapter/auth/authentication_config_watcher.h"

#include <utility>
#include <vector>

#include "adapter/telemetry/log.h"
#include "queries/base/strings.h"

namespace ma::auth {

AuthenticationConfigWatcher::AuthenticationConfigWatcher(
    kube::ApiClient& client, kube::ListWatchRuntime runtime, AuthenticationFlags flags,
    AuthenticationConfig initial, OnChange on_change,
    std::map<std::string, std::string> initial_data)
    : flags_(std::move(flags)),
      on_change_(std::move(on_change)),
      current_(std::move(initial)),
      last_data_(std::move(initial_data)) {
  kube::ListWatchOptions options;
  options.collection_path =
      Cat("/api/v1/namespaces/", kAuthenticationConfigMapNamespace, "/configmaps");
  options.field_selector = Cat("metadata.name=", kAuthenticationConfigMapName);
  options.metadata_only = false;
  kube::ListWatchHandlers handlers;
  handlers.replace = [this](std::vector<kube::KubeObject> objects) {
    Apply(objects.empty() ? std::map<std::string, std::string>() : objects.front().data);
  };
  handlers.event = [this](kube::WatchEventType type, kube::KubeObject object) {
    Apply(type == kube::WatchEventType::kDeleted ? std::map<std::string, std::string>()
                                                 : object.data);
  };
  handlers.error = [](const absl::Status& status) {
    MA_LOG(WARNING) << "watching configmap/" << kAuthenticationConfigMapName << " in "
                    << kAuthenticationConfigMapNamespace << ": " << status;
  };
  watcher_ =
      std::make_unique<kube::ListWatcher>(client, runtime, std::move(options), std::move(handlers));
}

AuthenticationConfigWatcher::~AuthenticationConfigWatcher() { Stop(); }

void AuthenticationConfigWatcher::Start() { watcher_->Start(); }

void AuthenticationConfigWatcher::Stop() { watcher_->Stop(); }

void AuthenticationConfigWatcher::Apply(const std::map<std::string, std::string>& data) {
  if (const absl::Status status = Merge(data); !status.ok()) {
    MA_LOG(ERROR) << "configmap/" << kAuthenticationConfigMapName
                  << " cannot be used; keeping the previous authentication settings: " << status;
  }
}

absl::Status AuthenticationConfigWatcher::ReloadFiles() {
  std::map<std::string, std::string> data;
  {
    absl::MutexLock lock(&mu_);
    data = last_data_;
  }
  return Merge(data);
}

absl::Status AuthenticationConfigWatcher::Merge(const std::map<std::string, std::string>& data) {
  absl::MutexLock apply_lock(&apply_mu_);
  {
    absl::MutexLock lock(&mu_);
    last_data_ = data;
  }
  absl::StatusOr<AuthenticationConfig> config = MergeAuthenticationConfig(flags_, data);
  if (!config.ok()) {
    return config.status();
  }
  {
    absl::MutexLock lock(&mu_);
    if (*config == current_) {
      return absl::OkStatus();
    }
  }
  if (absl::Status status = on_change_(*config); !status.ok()) {
    return status;
  }
  MA_LOG(INFO) << "authentication settings changed (configmap/" << kAuthenticationConfigMapName
               << " or the CA files of the flags)";
  absl::MutexLock lock(&mu_);
  current_ = *std::move(config);
  return absl::OkStatus();
}

}  // namespace ma::auth
