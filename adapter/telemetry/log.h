#pragma once

// A small leveled logger in klog's format ("I1122 03:25:46.123456 file.cc:42] message"): abseil
// 20220623 has no absl/log. Lines go to stderr whole, one write each.
//
//   MA_LOG(INFO) << "relist done in " << seconds << "s";
//   MA_VLOG(4) << "query " << promql;   // only with -v=4 or more (or --vmodule=<file>=4)
//
// Levels: 1 relists and API discovery refreshes, 2 client errors (4xx) and watch restarts,
// 4 every metric request with its PromQL, 6 every call to Prometheus (prometheus-adapter's -v=6
// logs the same calls as URLs). docs/migrating.md compares them with prometheus-adapter's.

#include <atomic>
#include <sstream>
#include <string>
#include <string_view>

namespace ma::telemetry {

enum class Severity { kInfo, kWarning, kError };

// Set once at start from -v; read on every MA_VLOG.
void SetVerbosity(int level);
int Verbosity();

// --vmodule, klog's syntax: comma-separated PATTERN=LEVEL, where PATTERN is a glob (`*`, `?`)
// over a source file's name without directory and extension (`api_handler=4`, `*cache*=2`). The
// first matching pattern sets that file's level in place of -v. Set once at start, before any
// thread logs. Returns "" or what is malformed (and then changes nothing).
std::string SetVModule(std::string_view spec);
// What SetVModule would say about `spec`, without setting anything.
std::string CheckVModule(std::string_view spec);

// Whether MA_VLOG(level) written in `file` (its __FILE__) logs.
bool VLogIsOn(int level, const char* file);

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

#define MA_VLOG(level)                                 \
  if (!::ma::telemetry::VLogIsOn((level), __FILE__)) { \
  } else                                               \
    ::ma::telemetry::LogMessage(::ma::telemetry::Severity::kInfo, __FILE__, __LINE__).stream()
