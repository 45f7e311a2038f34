#pragma once

// Files the adapter re-reads while it runs: the rules file, the serving certificate and key, the
// client CA bundles. Kubernetes updates a mounted ConfigMap or Secret by swapping a `..data`
// symlink to a new directory, and inotify misses that unless it watches the right directory, so
// the watcher polls: one stat() per file per interval is cheap and sees every kind of update.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "adapter/scheduler/scheduler.h"

namespace ma::files {

// How often a watched file is looked at. The kubelet updates a mounted ConfigMap about once a
// minute, so a second adds nothing noticeable to the delay and costs a few stat() calls.
inline constexpr std::chrono::seconds kFileWatchInterval{1};

// What identifies one version of a file, following symlinks: a ConfigMap's `..data` swap gives a
// new inode, an in-place write a new mtime or size. A missing file is a version too (all zero,
// `exists` false), so a file that disappears and comes back is seen twice.
struct FileVersion {
  bool exists = false;
  uint64_t device = 0;
  uint64_t inode = 0;
  int64_t size = 0;
  int64_t mtime_ns = 0;
  friend bool operator==(const FileVersion&, const FileVersion&) = default;
};

// The version of `path` now.
FileVersion CurrentVersion(const std::string& path);

// Calls `on_change` on the scheduler thread when any of `paths` changes, at most once per interval
// however many of them changed. It does not read the files: the callback does, and keeps what it
// had when the new contents are bad (a half-written file changes again when the write finishes,
// and that change is seen too). Thread-safe: Stop() may be called from any thread; the callback
// never runs after Stop() returns.
class FileWatcher {
 public:
  using OnChange = std::function<void()>;

  // Records the current versions (the caller has just read the files) and starts polling.
  FileWatcher(scheduler::Scheduler& scheduler, std::vector<std::string> paths, OnChange on_change,
              std::chrono::milliseconds interval = kFileWatchInterval);
  ~FileWatcher() { Stop(); }
  FileWatcher(const FileWatcher&) = delete;
  FileWatcher& operator=(const FileWatcher&) = delete;

  void Stop();

  // Looks at the files now; true (after calling `on_change`) if any changed since the last look.
  bool CheckNow();

 private:
  void Poll();

  scheduler::Scheduler& scheduler_;
  const std::vector<std::string> paths_;
  const OnChange on_change_;
  const std::chrono::milliseconds interval_;
  absl::Mutex mu_;
  std::vector<FileVersion> versions_ ABSL_GUARDED_BY(mu_);
  scheduler::JobId next_poll_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace ma::files
