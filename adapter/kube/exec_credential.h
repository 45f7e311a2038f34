#pragma once

// kubectl's exec credential plugins (client.authentication.k8s.io/v1 and v1beta1): the plugin is
// run without a shell, told through KUBERNETES_EXEC_INFO that nobody can answer its prompts, and
// its ExecCredential is cached until its expirationTimestamp, as client-go does.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "queries/base/clock.h"

namespace ma::kube {

// A plugin that prints more than this on stdout is broken (an ExecCredential is a few KiB).
inline constexpr size_t kMaxExecOutputBytes = size_t{1} << 20;
// Of its stderr, this much is kept for the log.
inline constexpr size_t kMaxExecStderrBytes = size_t{64} * 1024;
// kubectl has no timeout; a server must not wait forever for a hung plugin.
inline constexpr std::chrono::milliseconds kDefaultExecTimeout{std::chrono::seconds(60)};
inline constexpr size_t kMaxExecArgs = 256;
inline constexpr size_t kMaxExecEnv = 256;

inline constexpr std::string_view kExecApiV1 = "client.authentication.k8s.io/v1";
inline constexpr std::string_view kExecApiV1Beta1 = "client.authentication.k8s.io/v1beta1";

// The `user.exec` stanza of a kubeconfig.
struct ExecConfig {
  std::string api_version;  // kExecApiV1 or kExecApiV1Beta1
  std::string command;      // resolved on PATH unless it contains a '/'
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;  // added to the adapter's environment
  std::string interactive_mode;  // "Never", "IfAvailable" or "Always"; v1 requires one
  std::string install_hint;      // shown when the command is missing
  std::chrono::milliseconds timeout = kDefaultExecTimeout;
};

struct ExecCredential {
  std::string token;
  std::string client_certificate_pem;  // clientCertificateData: PEM, not base64
  std::string client_key_pem;
  // Absent: valid until the API server rejects it with 401.
  std::optional<std::chrono::system_clock::time_point> expiration;
};

// Checks the stanza as kubectl does before running anything: known apiVersion, a command,
// interactiveMode. The adapter never has a terminal, so "Always" is refused here.
absl::Status ValidateExecConfig(const ExecConfig& config);

// Decodes a plugin's stdout. `api_version` is the one the plugin was asked for.
absl::StatusOr<ExecCredential> DecodeExecCredential(std::string_view json,
                                                    std::string_view api_version);

// Runs the plugin once and decodes its answer. Blocks for up to `config.timeout`: never call it
// on the curl worker thread. Its stderr goes to the adapter's log.
absl::StatusOr<ExecCredential> RunExecPlugin(const ExecConfig& config);

// The credential of one plugin, run again once it has expired or after Invalidate.
// Thread-safe: concurrent Get calls run the plugin at most once.
class ExecCredentialCache {
 public:
  explicit ExecCredentialCache(ExecConfig config, const Clock& clock = SystemClock::Get());

  // The cached credential if it is still valid; never runs the plugin, so it never blocks.
  std::optional<ExecCredential> Cached() const;

  // The cached credential, or the plugin's fresh one. Blocks while the plugin runs.
  absl::StatusOr<ExecCredential> Get();

  // Forgets the credential if it still carries `token` (the API server answered 401 to it).
  void Invalidate(std::string_view token);

  const ExecConfig& config() const { return config_; }

 private:
  bool ValidLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const ExecConfig config_;
  const Clock& clock_;
  absl::Mutex run_mu_;  // serialises plugin runs; taken before mu_
  mutable absl::Mutex mu_;
  std::optional<ExecCredential> cached_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ma::kube
