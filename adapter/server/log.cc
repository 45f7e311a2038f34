#include "adapter/server/log.h"

#include <unistd.h>

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "queries/base/strings.h"

namespace ma::server {
namespace {

std::string_view BaseName(std::string_view path) {
  std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

void Log(char severity, std::string_view message, const std::source_location& location) {
  std::string line =
      absl::StrCat(std::string(1, severity),
                   absl::FormatTime("%m%d %H:%M:%E6S", absl::Now(), absl::LocalTimeZone()), " ",
                   static_cast<long>(::gettid()), " ", ToAbsl(BaseName(location.file_name())), ":",
                   location.line(), "] ", ToAbsl(message), "\n");
  // One write per line keeps lines from different threads whole.
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace

void LogError(std::string_view message, std::source_location location) {
  Log('E', message, location);
}

void LogWarning(std::string_view message, std::source_location location) {
  Log('W', message, location);
}

}  // namespace ma::server
