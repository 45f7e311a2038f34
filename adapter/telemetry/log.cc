#include "adapter/telemetry/log.h"

#include <sys/time.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>

#include "adapter/json/writer.h"

namespace ma::telemetry {
namespace {

std::atomic<int> verbosity{0};
std::atomic<LogFormat> log_format{LogFormat::kText};
std::mutex write_mutex;

char SeverityLetter(Severity severity) {
  switch (severity) {
    case Severity::kInfo:
      return 'I';
    case Severity::kWarning:
      return 'W';
    case Severity::kError:
      return 'E';
  }
  return 'I';
}

std::string_view BaseName(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

int64_t NowUnixMicros() {
  timeval now{};
  gettimeofday(&now, nullptr);
  return static_cast<int64_t>(now.tv_sec) * 1'000'000 + now.tv_usec;
}

std::string TextLine(Severity severity, int64_t unix_micros, int64_t thread_id,
                     std::string_view file, int line, std::string_view message) {
  const time_t seconds = static_cast<time_t>(unix_micros / 1'000'000);
  tm utc{};
  gmtime_r(&seconds, &utc);
  char header[64];
  std::snprintf(header, sizeof(header), "%c%02d%02d %02d:%02d:%02d.%06" PRId64 " %7" PRId64 " ",
                SeverityLetter(severity), utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                utc.tm_sec, unix_micros % 1'000'000, thread_id);
  std::string out(header);
  out.append(BaseName(file));
  out.append(":").append(std::to_string(line)).append("] ");
  out.append(message);
  return out;
}

std::string JsonLine(Severity severity, int verbosity_level, int64_t unix_micros,
                     std::string_view file, int line, std::string_view message) {
  char ts[32];
  std::snprintf(ts, sizeof(ts), "%" PRId64 ".%06" PRId64, unix_micros / 1'000'000,
                unix_micros % 1'000'000);
  std::string out = "{\"ts\":";
  out.append(ts);
  out.append(",\"caller\":");
  json::AppendQuoted(out, std::string(BaseName(file)) + ":" + std::to_string(line));
  out.append(",\"msg\":");
  json::AppendQuoted(out, message);
  switch (severity) {
    case Severity::kInfo:
      out.append(",\"v\":").append(std::to_string(verbosity_level));
      break;
    case Severity::kWarning:
      out.append(",\"severity\":\"warning\"");
      break;
    case Severity::kError:
      out.append(",\"severity\":\"error\"");
      break;
  }
  out.append("}");
  return out;
}

}  // namespace

void SetVerbosity(int level) { verbosity.store(level, std::memory_order_relaxed); }
int Verbosity() { return verbosity.load(std::memory_order_relaxed); }

void SetLogFormat(LogFormat format) { log_format.store(format, std::memory_order_relaxed); }

std::optional<LogFormat> ParseLogFormat(std::string_view name) {
  if (name == "text") return LogFormat::kText;
  if (name == "json") return LogFormat::kJson;
  return std::nullopt;
}

std::string FormatLogLine(LogFormat format, Severity severity, int verbosity_level,
                          int64_t unix_micros, int64_t thread_id, std::string_view file, int line,
                          std::string_view message) {
  return format == LogFormat::kJson
             ? JsonLine(severity, verbosity_level, unix_micros, file, line, message)
             : TextLine(severity, unix_micros, thread_id, file, line, message);
}

LogMessage::LogMessage(Severity severity, const char* file, int line, int verbosity_level)
    : severity_(severity),
      file_(file),
      line_(line),
      verbosity_(verbosity_level),
      unix_micros_(NowUnixMicros()) {}

LogMessage::~LogMessage() {
  std::string text =
      FormatLogLine(log_format.load(std::memory_order_relaxed), severity_, verbosity_, unix_micros_,
                    static_cast<int64_t>(::gettid()), file_, line_, stream_.str());
  text.push_back('\n');
  std::lock_guard<std::mutex> lock(write_mutex);
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

}  // namespace ma::telemetry
