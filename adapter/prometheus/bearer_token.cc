#include "adapter/prometheus/bearer_token.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "queries/base/strings.h"

namespace ma::prometheus {

absl::StatusOr<BearerTokenFile::Snapshot> BearerTokenFile::Read(const std::string& path) {
  const auto fail = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("--prometheus-token-file \"", path, "\": ", ToAbsl(why)));
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
  std::string data(kMaxTokenBytes + 1, '\0');
  const size_t n = std::fread(data.data(), 1, data.size(), f);
  std::fclose(f);
  if (n > kMaxTokenBytes) {
    return fail(absl::StrCat("larger than ", kMaxTokenBytes, " bytes"));
  }
  data.resize(n);
  Snapshot snapshot;
  snapshot.token = std::string(absl::StripAsciiWhitespace(data));
  if (snapshot.token.empty()) {
    return fail("is empty");
  }
  if (snapshot.token.find_first_of("\r\n") != std::string::npos) {
    return fail("contains a line break inside the token");
  }
  snapshot.identity = Identity{
      .mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
      .size = static_cast<int64_t>(st.st_size),
      .inode = static_cast<uint64_t>(st.st_ino)};
  return snapshot;
}

absl::StatusOr<std::unique_ptr<BearerTokenFile>> BearerTokenFile::Create(std::string path,
                                                                         SteadyNow now) {
  absl::StatusOr<Snapshot> initial = Read(path);
  if (!initial.ok()) {
    return initial.status();
  }
  return std::unique_ptr<BearerTokenFile>(
      new BearerTokenFile(std::move(path), std::move(now), *std::move(initial)));
}

BearerTokenFile::BearerTokenFile(std::string path, SteadyNow now, Snapshot initial)
    : path_(std::move(path)), now_(std::move(now)), current_(std::move(initial)) {
  last_check_ = now_();
}

std::string BearerTokenFile::Token() {
  absl::MutexLock lock(&mu_);
  const auto now = now_();
  if (now - last_check_ < kTokenRecheckInterval) {
    return current_.token;
  }
  last_check_ = now;
  struct stat st {};
  if (stat(path_.c_str(), &st) != 0) {
    return current_.token;
  }
  const Identity identity{
      .mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
      .size = static_cast<int64_t>(st.st_size),
      .inode = static_cast<uint64_t>(st.st_ino)};
  if (identity == current_.identity) {
    return current_.token;
  }
  if (absl::StatusOr<Snapshot> fresh = Read(path_); fresh.ok()) {
    current_ = *std::move(fresh);
  }
  return current_.token;
}

}  // namespace ma::prometheus
