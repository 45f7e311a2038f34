#include "adapter/server/log.h"

#include "adapter/telemetry/log.h"

namespace ma::server {

void LogError(std::string_view message, const char* file, int line) {
  telemetry::LogMessage(telemetry::Severity::kError, file, line).stream() << message;
}

void LogInfo(std::string_view message, const char* file, int line) {
  telemetry::LogMessage(telemetry::Severity::kInfo, file, line).stream() << message;
}

}  // namespace ma::server
