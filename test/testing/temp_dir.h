#pragma once

// A private directory for one test's files, removed with everything in it when the test ends.

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace ma::testing {

// Writes `contents` to `path`, replacing it.
absl::Status WriteTestFile(const std::string& path, std::string_view contents);

// Not thread-safe to create or destroy; Path and Write may be called from any thread.
class TempDir {
 public:
  // Creates a fresh directory under $TMPDIR (or /tmp) whose name starts with `prefix`; a failure
  // fails the current test and leaves path() empty.
  explicit TempDir(std::string_view prefix = "ma_test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // The path of `name` inside the directory.
  std::string Path(std::string_view name) const;
  // Writes `contents` to `name` inside the directory, replacing it, and returns its path.
  std::string Write(std::string_view name, std::string_view contents) const;

 private:
  std::string path_;
};

}  // namespace ma::testing
