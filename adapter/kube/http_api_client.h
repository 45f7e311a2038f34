#pragma once

// The ApiClient over a channel of the process's outbound::HttpClient: TLS from the ClusterConfig, a
// bearer token from the kubeconfig, a token file (re-read when it changes) or an exec plugin (run
// on a thread of its own, never on the curl worker), and WATCH bodies split into lines.

#include <atomic>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "adapter/kube/api_client.h"
#include "adapter/kube/cluster_tls.h"
#include "adapter/kube/exec_credential.h"
#include "adapter/kube/kubeconfig.h"
#include "adapter/outbound/http_client.h"
#include "adapter/outbound/token_file.h"
#include "queries/base/clock.h"

namespace ma::kube {

// A one-shot response body (a LIST page, a review) larger than this is refused.
inline constexpr size_t kMaxCallResponseBytes = size_t{64} << 20;
// A whole WATCH stream is bounded too; the watcher simply starts a new one.
inline constexpr size_t kMaxStreamBytes = size_t{1} << 30;
// One WATCH event line (an object is at most ~1.5 MiB in etcd).
inline constexpr size_t kMaxStreamLineBytes = size_t{8} << 20;
// Requests waiting for an exec plugin to produce a credential.
inline constexpr size_t kMaxPendingExecRequests = 10000;

// Thread-safe: Call and Stream may be called from any thread, including from a callback.
class HttpApiClient final : public ApiClient {
 public:
  // Fails on a configuration it cannot honour (unreadable files, tls-server-name) with a message
  // naming `config.source`. `http` is the process's shared client and must outlive this one.
  static absl::StatusOr<std::unique_ptr<HttpApiClient>> Create(
      outbound::HttpClient& http, const ClusterConfig& config,
      const Clock& clock = SystemClock::Get());

  // Requests still pending complete with kCancelled before this returns.
  ~HttpApiClient() override;

  void Call(ApiRequest request, ApiCallback done) override;
  void Stream(ApiRequest request, LineCallback on_line, StreamDone done) override;

 private:
  struct Job;

  HttpApiClient(std::string server, std::unique_ptr<PemFiles> pem_files);
  // Picks the credential and sends, or hands the job to the exec thread when the plugin must run.
  void Dispatch(std::shared_ptr<Job> job);
  void SendWithExecCredential(std::shared_ptr<Job> job, const ExecCredential& credential);
  void Send(std::shared_ptr<Job> job, std::string token, bool token_from_exec);
  void OnCallDone(std::shared_ptr<Job> job, const std::string& token, bool token_from_exec,
                  absl::StatusOr<outbound::OutboundResponse> result);
  void OnStreamDone(const std::shared_ptr<Job>& job, const std::string& token, bool token_from_exec,
                    absl::StatusOr<outbound::OutboundResponse> result);
  void Fail(const std::shared_ptr<Job>& job, absl::Status status);
  void RunExecThread();

  const std::string server_;
  std::unique_ptr<PemFiles> pem_files_;  // outlives http_, which reads them on every connect
  std::string static_token_;
  std::unique_ptr<outbound::TokenFile> token_file_;
  std::unique_ptr<ExecCredentialCache> exec_;
  std::unique_ptr<outbound::Channel> http_;  // closed first in the destructor
  std::atomic<bool> shutting_down_{false};

  absl::Mutex exec_mu_;
  std::deque<std::shared_ptr<Job>> exec_queue_ ABSL_GUARDED_BY(exec_mu_);
  bool exec_stopping_ ABSL_GUARDED_BY(exec_mu_) = false;
  std::thread exec_thread_;
};

}  // namespace ma::kube
