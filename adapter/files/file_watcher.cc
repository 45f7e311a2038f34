#include "adapter/files/file_watcher.h"

#include <sys/stat.h>

#include <utility>

namespace ma::files {

FileVersion CurrentVersion(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return FileVersion{};
  return FileVersion{.exists = true,
                     .device = static_cast<uint64_t>(st.st_dev),
                     .inode = static_cast<uint64_t>(st.st_ino),
                     .size = static_cast<int64_t>(st.st_size),
                     .mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 +
                                 static_cast<int64_t>(st.st_mtim.tv_nsec)};
}

FileWatcher::FileWatcher(scheduler::Scheduler& scheduler, std::vector<std::string> paths,
                         OnChange on_change, std::chrono::milliseconds interval)
    : scheduler_(scheduler),
      paths_(std::move(paths)),
      on_change_(std::move(on_change)),
      interval_(interval) {
  absl::MutexLock lock(&mu_);
  for (const std::string& path : paths_) versions_.push_back(CurrentVersion(path));
  next_poll_ = scheduler_.RunAfter(interval_, [this] { Poll(); });
}

void FileWatcher::Stop() {
  scheduler::JobId pending = 0;
  {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
    pending = std::exchange(next_poll_, 0);
  }
  // Outside the lock: Cancel waits for a running Poll, which takes the lock.
  if (pending != 0) scheduler_.Cancel(pending);
}

bool FileWatcher::CheckNow() {
  bool changed = false;
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return false;
    for (size_t i = 0; i < paths_.size(); ++i) {
      FileVersion now = CurrentVersion(paths_[i]);
      if (now != versions_[i]) {
        versions_[i] = now;
        changed = true;
      }
    }
  }
  if (changed) on_change_();
  return changed;
}

void FileWatcher::Poll() {
  CheckNow();
  absl::MutexLock lock(&mu_);
  if (!stopped_) next_poll_ = scheduler_.RunAfter(interval_, [this] { Poll(); });
}

}  // namespace ma::files
