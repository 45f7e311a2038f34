#include "adapter/telemetry/process_stats.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace ma::telemetry {
namespace {

// Field numbers of proc(5), counted from 1 at the pid; the parser starts after the command name.
constexpr int kUtimeField = 14;
constexpr int kStimeField = 15;
constexpr int kNumThreadsField = 20;
constexpr int kStartTimeField = 22;
constexpr int kVsizeField = 23;
constexpr int kRssField = 24;
// The state field, the first after the command name (field 2).
constexpr int kFirstFieldAfterCommand = 3;

std::optional<double> ToDouble(std::string_view text) {
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<double> BootTimeSeconds() {
  std::ifstream stat("/proc/stat");
  std::string line;
  while (std::getline(stat, line)) {
    if (line.starts_with("btime ")) return ToDouble(std::string_view(line).substr(6));
  }
  return std::nullopt;
}

std::optional<double> OpenFds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return std::nullopt;
  double count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count - 1;  // the descriptor opendir itself holds
}

}  // namespace

std::optional<ProcessStats> ParseProcStat(std::string_view stat, double ticks_per_second,
                                          double page_size, double boot_time_seconds) {
  // The command name is in parentheses and may contain anything, ")" included: the fields
  // start after the last ")".
  const size_t command_end = stat.rfind(')');
  if (command_end == std::string_view::npos || ticks_per_second <= 0) return std::nullopt;
  std::vector<std::string_view> fields;
  std::string_view rest = stat.substr(command_end + 1);
  while (!rest.empty()) {
    const size_t start = rest.find_first_not_of(" \n");
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    const size_t end = std::min(rest.find_first_of(" \n"), rest.size());
    fields.push_back(rest.substr(0, end));
    rest.remove_prefix(end);
  }
  auto field = [&](int number) -> std::optional<double> {
    const size_t index = static_cast<size_t>(number - kFirstFieldAfterCommand);
    if (index >= fields.size()) return std::nullopt;
    return ToDouble(fields[index]);
  };
  const std::optional<double> utime = field(kUtimeField);
  const std::optional<double> stime = field(kStimeField);
  const std::optional<double> threads = field(kNumThreadsField);
  const std::optional<double> start = field(kStartTimeField);
  const std::optional<double> vsize = field(kVsizeField);
  const std::optional<double> rss = field(kRssField);
  if (!utime || !stime || !threads || !start || !vsize || !rss) return std::nullopt;
  ProcessStats stats;
  stats.cpu_seconds = (*utime + *stime) / ticks_per_second;
  stats.threads = *threads;
  stats.start_time_seconds = boot_time_seconds + *start / ticks_per_second;
  stats.virtual_memory_bytes = *vsize;
  stats.resident_memory_bytes = *rss * page_size;
  return stats;
}

std::optional<ProcessStats> ReadProcessStats() {
  std::ifstream file("/proc/self/stat");
  const std::string stat((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const std::optional<double> boot_time = BootTimeSeconds();
  if (stat.empty() || !boot_time.has_value()) return std::nullopt;
  std::optional<ProcessStats> stats =
      ParseProcStat(stat, static_cast<double>(::sysconf(_SC_CLK_TCK)),
                    static_cast<double>(::sysconf(_SC_PAGESIZE)), *boot_time);
  if (!stats.has_value()) return std::nullopt;
  if (const std::optional<double> fds = OpenFds(); fds.has_value()) stats->open_fds = *fds;
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    stats->max_fds = static_cast<double>(limit.rlim_cur);
  }
  return stats;
}

}  // namespace ma::telemetry
