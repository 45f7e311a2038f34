#pragma once

// A bearer token kept in a file: --prometheus-token-file, a kubeconfig `tokenFile`, or the
// in-cluster service-account token. The kubelet rotates projected tokens in place, so the file is
// re-read when it changes instead of once at startup.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace ma::outbound {

// The file's identity is looked at no more often than this.
inline constexpr std::chrono::seconds kTokenFileRecheckInterval{1};
inline constexpr size_t kMaxTokenFileBytes = size_t{16} * 1024;

// A token read from a file and refreshed when the file's mtime, size or inode changes.
// Thread-safe: Token() may be called concurrently.
class TokenFile {
 public:
  using SteadyNow = std::function<std::chrono::steady_clock::time_point()>;

  // Reads the file once; an unreadable, empty or oversized file is kInvalidArgument whose message
  // starts with `description` and the path: `--prometheus-token-file "/path": is empty`.
  static absl::StatusOr<std::unique_ptr<TokenFile>> Create(
      std::string path, std::string description, SteadyNow now = &std::chrono::steady_clock::now);

  // The current token. If a re-read fails, the last good token stays in use.
  std::string Token();

 private:
  struct Identity {
    int64_t mtime_ns = 0;
    int64_t size = 0;
    uint64_t inode = 0;
    friend bool operator==(const Identity&, const Identity&) = default;
  };
  struct Contents {
    Identity identity;
    std::string token;
  };
  static absl::StatusOr<Contents> Read(const std::string& path, const std::string& description);

  TokenFile(std::string path, std::string description, SteadyNow now, Contents initial);

  const std::string path_;
  const std::string description_;
  const SteadyNow now_;
  absl::Mutex mu_;
  Contents current_ ABSL_GUARDED_BY(mu_);
  std::chrono::steady_clock::time_point last_check_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ma::outbound
