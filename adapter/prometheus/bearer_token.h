#pragma once

// The --prometheus-token-file bearer token. Kubernetes rotates projected service-account tokens
// in place, so the file is re-read when it changes instead of once at startup.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace ma::prometheus {

// The file's identity is looked at no more often than this.
inline constexpr std::chrono::seconds kTokenRecheckInterval{1};
inline constexpr size_t kMaxTokenBytes = size_t{16} * 1024;

// A token read from a file and refreshed when the file's mtime, size or inode changes.
// Thread-safe: Token() may be called concurrently.
class BearerTokenFile {
 public:
  using SteadyNow = std::function<std::chrono::steady_clock::time_point()>;

  // Reads the file once; an unreadable, empty or oversized file is kInvalidArgument naming
  // --prometheus-token-file. `now` is injected by tests.
  static absl::StatusOr<std::unique_ptr<BearerTokenFile>> Create(
      std::string path, SteadyNow now = &std::chrono::steady_clock::now);

  // The current token. If a re-read fails, the last good token stays in use.
  std::string Token();

 private:
  struct Identity {
    int64_t mtime_ns = 0;
    int64_t size = 0;
    uint64_t inode = 0;
    friend bool operator==(const Identity&, const Identity&) = default;
  };
  struct Snapshot {
    Identity identity;
    std::string token;
  };
  static absl::StatusOr<Snapshot> Read(const std::string& path);

  BearerTokenFile(std::string path, SteadyNow now, Snapshot initial);

  const std::string path_;
  const SteadyNow now_;
  absl::Mutex mu_;
  Snapshot current_ ABSL_GUARDED_BY(mu_);
  std::chrono::steady_clock::time_point last_check_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ma::prometheus
