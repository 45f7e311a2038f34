#pragma once

// Certificate rotation without a restart (docs/deploy.md, "Certificate rotation"): follows the
// serving certificate and key and both client CA bundle files, as a Go generic apiserver's
// dynamic certificate controllers do, and re-reads what changed. New TLS connections get the new
// certificate and trust; a bad file keeps the old ones, logs one line and counts an error.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "adapter/files/file_watcher.h"
#include "adapter/scheduler/scheduler.h"
#include "adapter/server/server.h"
#include "adapter/telemetry/adapter_metrics.h"

namespace ma::app {

// Files that are read again together, and how.
struct ReloadableFiles {
  std::string name;  // the `file` label of metrics_adapter_certificate_reloads_total
  std::vector<std::string> paths;
  // Reads the files again; what the log line should add on success (may be empty).
  std::function<absl::StatusOr<std::string>()> reload;
};

// Thread-safe: reloads run on the scheduler thread, one at a time; Stop may be called from any
// thread, and no reload runs after it returns.
class CertificateReloader {
 public:
  CertificateReloader(scheduler::Scheduler& scheduler, telemetry::AdapterMetrics& metrics,
                      std::vector<ReloadableFiles> groups);
  ~CertificateReloader() { Stop(); }
  CertificateReloader(const CertificateReloader&) = delete;
  CertificateReloader& operator=(const CertificateReloader&) = delete;

  void Stop();

 private:
  void Reload(const ReloadableFiles& group);

  telemetry::AdapterMetrics& metrics_;
  const std::vector<ReloadableFiles> groups_;
  std::vector<std::unique_ptr<files::FileWatcher>> watchers_;
};

// The groups `serve` follows: the server's serving pair (which also sets the expiry gauge, now
// and after each reload), and each client CA file given on the command line, re-read through
// `reload_client_cas` (the server's own bundles in standalone mode, delegated authentication's
// otherwise).
std::vector<ReloadableFiles> ServingFiles(server::Server& server,
                                          telemetry::AdapterMetrics& metrics,
                                          const std::string& client_ca_file,
                                          const std::string& requestheader_client_ca_file,
                                          std::function<absl::Status()> reload_client_cas);

}  // namespace ma::app
