#include "adapter/telemetry/log.h"

#include <sys/time.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <vector>

#include "adapter/json/writer.h"
#include "queries/base/strings.h"

namespace ma::telemetry {
namespace {

std::atomic<int> verbosity{0};
std::atomic<LogFormat> log_format{LogFormat::kText};
std::mutex write_mutex;

struct VModulePattern {
  std::string glob;
  int level;
};
using VModule = std::vector<VModulePattern>;
// Null without --vmodule. Every table SetVModule made stays alive in `vmodule_tables` (a reader
// may still hold an earlier one), reachable so that leak checkers see no leak.
std::atomic<const VModule*> vmodule{nullptr};
std::mutex vmodule_mutex;
std::vector<std::unique_ptr<VModule>>* vmodule_tables = nullptr;

// `*` matches any run of characters, `?` any one character, as in Go's filepath.Match.
bool GlobMatch(std::string_view glob, std::string_view text) {
  size_t g = 0;
  size_t t = 0;
  size_t star = std::string_view::npos;
  size_t star_text = 0;
  while (t < text.size()) {
    if (g < glob.size() && (glob[g] == '?' || glob[g] == text[t])) {
      ++g;
      ++t;
    } else if (g < glob.size() && glob[g] == '*') {
      star = g++;
      star_text = t;
    } else if (star != std::string_view::npos) {
      g = star + 1;
      t = ++star_text;
    } else {
      return false;
    }
  }
  while (g < glob.size() && glob[g] == '*') {
    ++g;
  }
  return g == glob.size();
}

// "adapter/handlers/api_handler.cc" -> "api_handler".
std::string_view ModuleName(const char* file) {
  std::string_view name(file);
  if (const size_t slash = name.rfind('/'); slash != std::string_view::npos) {
    name.remove_prefix(slash + 1);
  }
  if (const size_t dot = name.find('.'); dot != std::string_view::npos) {
    name = name.substr(0, dot);
  }
  return name;
}

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

// Enough digits that a duration in seconds keeps its microseconds; valid JSON as printed.
std::string FormatDouble(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.9g", value);
  return text;
}

// klog's text form of a structured field: key="value" (Go's %q), or key=number.
void AppendTextField(std::string& out, const LogField& field) {
  out.append(" ").append(field.key).append("=");
  if (const auto* text = std::get_if<std::string>(&field.value)) {
    out.append(GoQuote(*text));
  } else if (const auto* integer = std::get_if<int64_t>(&field.value)) {
    out.append(std::to_string(*integer));
  } else {
    out.append(FormatDouble(std::get<double>(field.value)));
  }
}

void AppendJsonField(std::string& out, const LogField& field) {
  out.append(",");
  json::AppendQuoted(out, field.key);
  out.append(":");
  if (const auto* text = std::get_if<std::string>(&field.value)) {
    json::AppendQuoted(out, *text);
  } else if (const auto* integer = std::get_if<int64_t>(&field.value)) {
    out.append(std::to_string(*integer));
  } else {
    out.append(FormatDouble(std::get<double>(field.value)));
  }
}

std::string TextLine(Severity severity, int64_t unix_micros, int64_t thread_id,
                     std::string_view file, int line, std::string_view message,
                     const LogFields& fields) {
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
  if (fields.empty()) {
    out.append(message);
    return out;
  }
  out.append(GoQuote(message));
  for (const LogField& field : fields) {
    AppendTextField(out, field);
  }
  return out;
}

std::string JsonLine(Severity severity, int verbosity_level, int64_t unix_micros,
                     std::string_view file, int line, std::string_view message,
                     const LogFields& fields) {
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
  for (const LogField& field : fields) {
    AppendJsonField(out, field);
  }
  out.append("}");
  return out;
}

std::string ParseVModule(std::string_view spec, VModule* patterns) {
  while (!spec.empty()) {
    const size_t comma = spec.find(',');
    const std::string_view entry = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view() : spec.substr(comma + 1);
    const size_t eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return "--vmodule entry \"" + std::string(entry) + "\" is not PATTERN=LEVEL";
    }
    int level = 0;
    const std::string_view digits = entry.substr(eq + 1);
    if (digits.empty() || digits.size() > 3 ||
        digits.find_first_not_of("0123456789") != std::string_view::npos) {
      return "--vmodule entry \"" + std::string(entry) + "\" has no level from 0 to 999";
    }
    for (const char c : digits) {
      level = level * 10 + (c - '0');
    }
    patterns->push_back({std::string(entry.substr(0, eq)), level});
  }
  return "";
}

}  // namespace

void SetVerbosity(int level) { verbosity.store(level, std::memory_order_relaxed); }
int Verbosity() { return verbosity.load(std::memory_order_relaxed); }

std::string CheckVModule(std::string_view spec) {
  VModule patterns;
  return ParseVModule(spec, &patterns);
}

std::string SetVModule(std::string_view spec) {
  auto patterns = std::make_unique<VModule>();
  if (std::string problem = ParseVModule(spec, patterns.get()); !problem.empty()) {
    return problem;
  }
  std::lock_guard<std::mutex> lock(vmodule_mutex);
  if (vmodule_tables == nullptr) {
    vmodule_tables = new std::vector<std::unique_ptr<VModule>>();
  }
  const VModule* table = patterns->empty() ? nullptr : patterns.get();
  vmodule_tables->push_back(std::move(patterns));
  vmodule.store(table, std::memory_order_release);
  return "";
}

bool VLogIsOn(int level, const char* file) {
  if (const VModule* table = vmodule.load(std::memory_order_acquire); table != nullptr) {
    const std::string_view module = ModuleName(file);
    for (const VModulePattern& pattern : *table) {
      if (GlobMatch(pattern.glob, module)) {
        return pattern.level >= level;
      }
    }
  }
  return Verbosity() >= level;
}

void SetLogFormat(LogFormat format) { log_format.store(format, std::memory_order_relaxed); }

std::optional<LogFormat> ParseLogFormat(std::string_view name) {
  if (name == "text") return LogFormat::kText;
  if (name == "json") return LogFormat::kJson;
  return std::nullopt;
}

std::string FormatLogLine(LogFormat format, Severity severity, int verbosity_level,
                          int64_t unix_micros, int64_t thread_id, std::string_view file, int line,
                          std::string_view message, const LogFields& fields) {
  return format == LogFormat::kJson
             ? JsonLine(severity, verbosity_level, unix_micros, file, line, message, fields)
             : TextLine(severity, unix_micros, thread_id, file, line, message, fields);
}

namespace {

void WriteLine(Severity severity, int verbosity_level, int64_t unix_micros, const char* file,
               int line, std::string_view message, const LogFields& fields) {
  std::string text =
      FormatLogLine(log_format.load(std::memory_order_relaxed), severity, verbosity_level,
                    unix_micros, static_cast<int64_t>(::gettid()), file, line, message, fields);
  text.push_back('\n');
  std::lock_guard<std::mutex> lock(write_mutex);
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

}  // namespace

void LogStructured(Severity severity, int verbosity_level, const char* file, int line,
                   std::string_view message, const LogFields& fields) {
  WriteLine(severity, verbosity_level, NowUnixMicros(), file, line, message, fields);
}

LogMessage::LogMessage(Severity severity, const char* file, int line, int verbosity_level)
    : severity_(severity),
      file_(file),
      line_(line),
      verbosity_(verbosity_level),
      unix_micros_(NowUnixMicros()) {}

LogMessage::~LogMessage() {
  WriteLine(severity_, verbosity_, unix_micros_, file_, line_, stream_.str(), {});
}

}  // namespace ma::telemetry
