#pragma once

// A small leveled logger: abseil 20220623 has no absl/log. Two formats, as the Kubernetes
// components write them so that log pipelines (fluent-bit, Vector, Loki) parse them unchanged:
//   text (default), klog's header: "I1122 03:25:46.123456   12345 file.cc:42] message"
//     (severity, month and day, UTC time, thread id right-aligned in 7 columns, file:line);
//   json (--logging-format=json), one object per line:
//     {"ts":1700000000.123456,"caller":"file.cc:42","msg":"message","v":0}
//     with "v" the verbosity of an info line and "severity":"warning"/"error" otherwise.
// A line may carry structured fields (LogField), as klog's structured logging writes them:
//   text: I1122 03:25:46.123456   12345 server.cc:42] "HTTP" method="GET" status=200
//   json: {"ts":1700000000.123456,"caller":"server.cc:42","msg":"HTTP","v":3,"method":"GET",...}
// String values are quoted in both formats (Go's %q in text), so they may hold client text.
// Lines go to stderr whole, one write each.
//
//   MA_LOG(INFO) << "relist done in " << seconds << "s";
//   MA_VLOG(4) << "query " << promql;   // only with -v=4 or more (or --vmodule=<file>=4)
//
// Levels: 1 relists and API discovery refreshes, 2 client errors (4xx) and watch restarts,
// 3 the access log (adapter/server/access_log.h), 4 every metric request with its PromQL, 6 every
// call to Prometheus (prometheus-adapter's -v=6 logs the same calls as URLs). docs/migrating.md
// compares them with prometheus-adapter's.

#include <atomic>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace ma::telemetry {

enum class Severity { kInfo, kWarning, kError };
enum class LogFormat { kText, kJson };

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

// Set once at start from --logging-format, before other threads log.
void SetLogFormat(LogFormat format);
// "text" or "json", the names the Kubernetes components accept; nullopt for anything else.
std::optional<LogFormat> ParseLogFormat(std::string_view name);

// One structured field of a log line. Keys are fixed by the code (lowercase words and `_`,
// never "ts", "caller", "msg", "v" or "severity"); values may be anything.
struct LogField {
  std::string key;
  std::variant<std::string, int64_t, double> value;
};
using LogFields = std::vector<LogField>;

// One line in the current format, without the trailing newline; `unix_micros` is the time. With
// fields, the text format quotes the message as klog does for a structured line.
std::string FormatLogLine(LogFormat format, Severity severity, int verbosity, int64_t unix_micros,
                          int64_t thread_id, std::string_view file, int line,
                          std::string_view message, const LogFields& fields = {});

// Writes one structured line now, as LogMessage does; callers check VLogIsOn themselves.
void LogStructured(Severity severity, int verbosity, const char* file, int line,
                   std::string_view message, const LogFields& fields);

// Thread-safe: each message is written with a single call under a lock.
class LogMessage {
 public:
  // `verbosity` is the -v level an info line was written at (MA_VLOG's); 0 for MA_LOG.
  LogMessage(Severity severity, const char* file, int line, int verbosity = 0);
  ~LogMessage();
  LogMessage(const LogMessage&) = delete;
  LogMessage& operator=(const LogMessage&) = delete;

  std::ostream& stream() { return stream_; }

 private:
  const Severity severity_;
  const char* const file_;
  const int line_;
  const int verbosity_;
  const int64_t unix_micros_;
  std::ostringstream stream_;
};

}  // namespace ma::telemetry

#define MA_LOG_SEVERITY_INFO ::ma::telemetry::Severity::kInfo
#define MA_LOG_SEVERITY_WARNING ::ma::telemetry::Severity::kWarning
#define MA_LOG_SEVERITY_ERROR ::ma::telemetry::Severity::kError

#define MA_LOG(severity) \
  ::ma::telemetry::LogMessage(MA_LOG_SEVERITY_##severity, __FILE__, __LINE__).stream()

#define MA_VLOG(level)                                                                         \
  if (::ma::telemetry::Verbosity() < (level)) {                                                \
  } else                                                                                       \
    ::ma::telemetry::LogMessage(::ma::telemetry::Severity::kInfo, __FILE__, __LINE__, (level)) \
        .stream()
