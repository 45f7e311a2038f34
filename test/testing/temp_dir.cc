#include "test/testing/temp_dir.h"

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <utility>

#include "gtest/gtest.h"
#include "queries/base/strings.h"

namespace ma::testing {

absl::Status WriteTestFile(const std::string& path, std::string_view contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  out.close();
  if (!out) {
    return absl::InternalError(Cat("cannot write ", path));
  }
  return absl::OkStatus();
}

TempDir::TempDir(std::string_view prefix) {
  std::string pattern = (std::filesystem::temp_directory_path() / Cat(prefix, "_XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp " << pattern << ": " << std::strerror(errno);
    return;
  }
  path_ = std::move(pattern);
}

TempDir::~TempDir() {
  if (!path_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
}

std::string TempDir::Path(std::string_view name) const { return Cat(path_, "/", name); }

std::string TempDir::Write(std::string_view name, std::string_view contents) const {
  const std::string file = Path(name);
  if (const absl::Status written = WriteTestFile(file, contents); !written.ok()) {
    ADD_FAILURE() << written;
  }
  return file;
}

}  // namespace ma::testing
