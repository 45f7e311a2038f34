#include "adapter/server/access_log.h"

#include <cstdint>
#include <string>

#include "queries/base/strings.h"

namespace ma::server {

telemetry::LogFields AccessLogFields(const AccessLogEntry& entry) {
  return {
      {"method", std::string(entry.method)},
      {"uri", Truncate(entry.uri, kMaxAccessLogUriBytes)},
      {"user", std::string(entry.user)},
      {"status", int64_t{entry.status}},
      {"duration_seconds", entry.duration_seconds},
      {"cache", std::string(entry.cache_outcome.empty() ? "none" : entry.cache_outcome)},
      {"remote", std::string(entry.remote_address)},
  };
}

void LogAccess(const AccessLogEntry& entry, const char* file, int line) {
  if (!telemetry::VLogIsOn(kAccessLogVerbosity, file)) {
    return;
  }
  telemetry::LogStructured(telemetry::Severity::kInfo, kAccessLogVerbosity, file, line, "HTTP",
                           AccessLogFields(entry));
}

}  // namespace ma::server
