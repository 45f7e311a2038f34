#include "adapter/telemetry/log.h"

#include <sys/time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <vector>

namespace ma::telemetry {
namespace {

std::atomic<int> verbosity{0};
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

const char* BaseName(const char* path) {
  const char* slash = std::strrchr(path, '/');
  return slash == nullptr ? path : slash + 1;
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

LogMessage::LogMessage(Severity severity, const char* file, int line) {
  timeval now{};
  gettimeofday(&now, nullptr);
  tm utc{};
  gmtime_r(&now.tv_sec, &utc);
  char prefix[64];
  std::snprintf(prefix, sizeof(prefix), "%c%02d%02d %02d:%02d:%02d.%06ld ",
                SeverityLetter(severity), utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                utc.tm_sec, static_cast<long>(now.tv_usec));
  stream_ << prefix << BaseName(file) << ':' << line << "] ";
}

LogMessage::~LogMessage() {
  stream_ << '\n';
  const std::string text = stream_.str();
  std::lock_guard<std::mutex> lock(write_mutex);
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

}  // namespace ma::telemetry
