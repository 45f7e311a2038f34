#include "adapter/files/file_watcher.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "adapter/scheduler/scheduler.h"
#include "gtest/gtest.h"
#include "test/testing/temp_dir.h"

namespace ma::files {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;

// A watcher that never polls by itself during the test: CheckNow() is the only look.
struct ManualWatcher {
  explicit ManualWatcher(const std::string& path)
      : watcher(
            scheduler, {path}, [this] { ++calls; }, hours(1)) {}
  scheduler::Scheduler scheduler;
  std::atomic<int> calls{0};
  FileWatcher watcher;
};

TEST(FileWatcherTest, AnUnchangedFileIsNotAChange) {
  testing::TempDir dir;
  ManualWatcher w(dir.Write("rules.yaml", "a: 1\n"));
  EXPECT_FALSE(w.watcher.CheckNow());
  EXPECT_EQ(w.calls, 0);
}

TEST(FileWatcherTest, AnInPlaceRewriteIsSeenOnce) {
  testing::TempDir dir;
  ManualWatcher w(dir.Write("rules.yaml", "a: 1\n"));
  dir.Write("rules.yaml", "a: 12\n");
  EXPECT_TRUE(w.watcher.CheckNow());
  EXPECT_FALSE(w.watcher.CheckNow());
  EXPECT_EQ(w.calls, 1);
}

// The kubelet writes a ConfigMap's new contents into a fresh directory, then renames a new
// `..data` symlink over the old one; the file the adapter opens is a symlink through `..data`.
TEST(FileWatcherTest, AConfigMapStyleSymlinkSwapIsSeenEvenWithTheSameSizeAndContents) {
  testing::TempDir dir;
  namespace fs = std::filesystem;
  fs::create_directory(dir.Path("..2026_12_04_a"));
  dir.Write("..2026_12_04_a/rules.yaml", "a: 1\n");
  fs::create_directory_symlink("..2026_12_04_a", dir.Path("..data"));
  fs::create_symlink("..data/rules.yaml", dir.Path("rules.yaml"));
  ManualWatcher w(dir.Path("rules.yaml"));

  fs::create_directory(dir.Path("..2026_12_04_b"));
  dir.Write("..2026_12_04_b/rules.yaml", "a: 1\n");
  fs::create_directory_symlink("..2026_12_04_b", dir.Path("..data_tmp"));
  ASSERT_EQ(std::rename(dir.Path("..data_tmp").c_str(), dir.Path("..data").c_str()), 0);
  fs::remove_all(dir.Path("..2026_12_04_a"));

  EXPECT_TRUE(w.watcher.CheckNow());
  EXPECT_EQ(w.calls, 1);
}

TEST(FileWatcherTest, AFileThatDisappearsAndComesBackIsSeenBothTimes) {
  testing::TempDir dir;
  ManualWatcher w(dir.Write("tls.crt", "cert"));
  ASSERT_EQ(::unlink(dir.Path("tls.crt").c_str()), 0);
  EXPECT_TRUE(w.watcher.CheckNow());
  EXPECT_FALSE(w.watcher.CheckNow());
  dir.Write("tls.crt", "cert");
  EXPECT_TRUE(w.watcher.CheckNow());
  EXPECT_EQ(w.calls, 2);
}

TEST(FileWatcherTest, SeveralChangedFilesMakeOneCall) {
  testing::TempDir dir;
  scheduler::Scheduler scheduler;
  int calls = 0;
  FileWatcher watcher(
      scheduler, {dir.Write("tls.crt", "c"), dir.Write("tls.key", "k")}, [&] { ++calls; },
      hours(1));
  dir.Write("tls.crt", "cc");
  dir.Write("tls.key", "kk");
  EXPECT_TRUE(watcher.CheckNow());
  EXPECT_EQ(calls, 1);
}

TEST(FileWatcherTest, PollsOnTheSchedulerByItself) {
  testing::TempDir dir;
  const std::string path = dir.Write("rules.yaml", "a: 1\n");
  scheduler::Scheduler scheduler;
  absl::Notification changed;
  FileWatcher watcher(
      scheduler, {path}, [&] { changed.Notify(); }, milliseconds(10));
  dir.Write("rules.yaml", "a: 12\n");
  EXPECT_TRUE(changed.WaitForNotificationWithTimeout(absl::Seconds(30)));
}

TEST(FileWatcherTest, NothingIsCalledAfterStop) {
  testing::TempDir dir;
  const std::string path = dir.Write("rules.yaml", "a: 1\n");
  scheduler::Scheduler scheduler;
  std::atomic<int> calls{0};
  FileWatcher watcher(
      scheduler, {path}, [&] { ++calls; }, milliseconds(1));
  watcher.Stop();
  dir.Write("rules.yaml", "a: 12\n");
  EXPECT_FALSE(watcher.CheckNow());
  // A poll that was due would have run by the time a job posted now runs (same thread, in order).
  absl::Notification drained;
  scheduler.RunAfter(milliseconds(20), [&] { drained.Notify(); });
  drained.WaitForNotification();
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace ma::files
