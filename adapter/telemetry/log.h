#pragma once

// A small leveled logger in klog's format ("I1122 03:25:46.123456 file.cc:42] message"): abseil
// 20220623 has no absl/log. Lines go to stderr whole, one write each.
//
//   MA_LOG(INFO) << "relist done in " << seconds << "s";
//   MA_VLOG(4) << "query " << promql;   // only with -v=4 or more

#include <atomic>
#include <sstream>

namespace ma::telemetry {

enum class Severity { kInfo, kWarning, kError };

// Set once at start from -v; read on every MA_VLOG.
void SetVerbosity(int level);
int Verbosity();

// Thread-safe: each message is written with a single call under a lock.
class LogMessage {
 public:
  LogMessage(Severity severity, const char* file, int line);
  ~LogMessage();
  LogMessage(const LogMessage&) = delete;
  LogMessage& operator=(const LogMessage&) = delete;

  std::ostream& stream() { return stream_; }

 private:
  std::ostringstream stream_;
};

}  // namespace ma::telemetry

#define MA_LOG_SEVERITY_INFO ::ma::telemetry::Severity::kInfo
#define MA_LOG_SEVERITY_WARNING ::ma::telemetry::Severity::kWarning
#define MA_LOG_SEVERITY_ERROR ::ma::telemetry::Severity::kError

#define MA_LOG(severity) \
  ::ma::telemetry::LogMessage(MA_LOG_SEVERITY_##severity, __FILE__, __LINE__).stream()

#define MA_VLOG(level)                          \
  if (::ma::telemetry::Verbosity() < (level)) { \
  } else                                        \
    ::ma::telemetry::LogMessage(::ma::telemetry::Severity::kInfo, __FILE__, __LINE__).stream()
