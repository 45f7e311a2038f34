#include "adapter/outbound/token_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "queries/base/strings.h"

namespace ma::outbound {
namespace {

int64_t MtimeNs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

}  // namespace

absl::StatusOr<TokenFile::Contents> TokenFile::Read(const std::string& path,
                                                    const std::string& description) {
  const auto fail = [&](std::string_view why) {
    return absl::InvalidArgumentError(Cat(description, " \"", path, "\": ", why));
  };
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return fail(std::strerror(errno));
  }
  struct stat st {};
  if (fstat(fileno(f), &st) != 0) {
    const int error = errno;
    std::fclose(f);
    return fail(std::strerror(error));
  }
  std::string data(kMaxTokenFileBytes + 1, '\0');
  const size_t n = std::fread(data.data(), 1, data.size(), f);
  std::fclose(f);
  if (n > kMaxTokenFileBytes) {
    return fail(Cat("larger than ", kMaxTokenFileBytes, " bytes"));
  }
  data.resize(n);
  Contents contents;
  contents.token = std::string(absl::StripAsciiWhitespace(data));
  if (contents.token.empty()) {
    return fail("is empty");
  }
  if (contents.token.find_first_of("\r\n") != std::string::npos) {
    return fail("contains a line break inside the token");
  }
  contents.identity = Identity{.mtime_ns = MtimeNs(st),
                               .size = static_cast<int64_t>(st.st_size),
                               .inode = static_cast<uint64_t>(st.st_ino)};
  return contents;
}

absl::StatusOr<std::unique_ptr<TokenFile>> TokenFile::Create(std::string path,
                                                             std::string description,
                                                             SteadyNow now) {
  absl::StatusOr<Contents> initial = Read(path, description);
  if (!initial.ok()) {
    return initial.status();
  }
  return std::unique_ptr<TokenFile>(
      new TokenFile(std::move(path), std::move(description), std::move(now), *std::move(initial)));
}

TokenFile::TokenFile(std::string path, std::string description, SteadyNow now, Contents initial)
    : path_(std::move(path)),
      description_(std::move(description)),
      now_(std::move(now)),
      current_(std::move(initial)) {
  last_check_ = now_();
}

std::string TokenFile::Token() {
  absl::MutexLock lock(&mu_);
  const auto now = now_();
  if (now - last_check_ < kTokenFileRecheckInterval) {
    return current_.token;
  }
  last_check_ = now;
  struct stat st {};
  if (stat(path_.c_str(), &st) != 0) {
    return current_.token;
  }
  const Identity identity{.mtime_ns = MtimeNs(st),
                          .size = static_cast<int64_t>(st.st_size),
                          .inode = static_cast<uint64_t>(st.st_ino)};
  if (identity == current_.identity) {
    return current_.token;
  }
  if (absl::StatusOr<Contents> fresh = Read(path_, description_); fresh.ok()) {
    current_ = *std::move(fresh);
  }
  return current_.token;
}

}  // namespace ma::outbound
