#include "adapter/app/certificate_reload.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "adapter/telemetry/log.h"
#include "queries/base/status_macros.h"

namespace ma::app {
namespace {

void SetExpiryGauge(const server::Server& server, telemetry::AdapterMetrics& metrics) {
  metrics.SetServingCertificateExpiry(
      absl::ToDoubleSeconds(server.serving_certificate_not_after() - absl::UnixEpoch()));
}

}  // namespace

CertificateReloader::CertificateReloader(scheduler::Scheduler& scheduler,
                                         telemetry::AdapterMetrics& metrics,
                                         std::vector<ReloadableFiles> groups)
    : metrics_(metrics), groups_(std::move(groups)) {
  for (const ReloadableFiles& group : groups_) {
    watchers_.push_back(std::make_unique<files::FileWatcher>(scheduler, group.paths,
                                                             [this, &group] { Reload(group); }));
  }
}

void CertificateReloader::Stop() {
  for (const std::unique_ptr<files::FileWatcher>& watcher : watchers_) {
    watcher->Stop();
  }
}

void CertificateReloader::Reload(const ReloadableFiles& group) {
  const absl::StatusOr<std::string> note = group.reload();
  metrics_.RecordCertificateReload(group.name, note.ok());
  if (note.ok()) {
    MA_LOG(INFO) << "reloaded the " << group.name << " certificates after a change of "
                 << absl::StrJoin(group.paths, " or ") << *note;
  } else {
    MA_LOG(ERROR) << "keeping the current " << group.name << " certificates after a change of "
                  << absl::StrJoin(group.paths, " or ") << ": " << note.status().message();
  }
}

std::vector<ReloadableFiles> ServingFiles(server::Server& server,
                                          telemetry::AdapterMetrics& metrics,
                                          const std::string& client_ca_file,
                                          const std::string& requestheader_client_ca_file,
                                          std::function<absl::Status()> reload_client_cas) {
  SetExpiryGauge(server, metrics);
  std::vector<ReloadableFiles> groups;
  const server::CertificateFiles& serving = server.serving_certificate_files();
  groups.push_back({"serving",
                    {serving.cert_file, serving.key_file},
                    [&server, &metrics]() -> absl::StatusOr<std::string> {
                      MA_RETURN_IF_ERROR(server.ReloadServingCertificate());
                      SetExpiryGauge(server, metrics);
                      return absl::StrCat("; new connections get a certificate that expires at ",
                                          absl::FormatTime(absl::RFC3339_sec,
                                                           server.serving_certificate_not_after(),
                                                           absl::UTCTimeZone()));
                    }});
  auto reload_cas = [reload = std::move(reload_client_cas)]() -> absl::StatusOr<std::string> {
    MA_RETURN_IF_ERROR(reload());
    return std::string("; new connections are verified with them");
  };
  if (!client_ca_file.empty()) {
    groups.push_back({"client-ca", {client_ca_file}, reload_cas});
  }
  if (!requestheader_client_ca_file.empty()) {
    groups.push_back({"requestheader-client-ca", {requestheader_client_ca_file}, reload_cas});
  }
  return groups;
}

}  // namespace ma::app
