#pragma once

// What every Prometheus client library exports about its process (process_cpu_seconds_total,
// process_resident_memory_bytes, ...), read from /proc at scrape time as the Go and Python
// clients read it, so that an operator's usual dashboards and alerts work unchanged.

#include <optional>
#include <string_view>

namespace ma::telemetry {

struct ProcessStats {
  double cpu_seconds = 0;  // user + system
  double resident_memory_bytes = 0;
  double virtual_memory_bytes = 0;
  double start_time_seconds = 0;  // since the Unix epoch
  double threads = 0;
  double open_fds = 0;
  double max_fds = 0;  // the soft RLIMIT_NOFILE
};

// The fields of /proc/<pid>/stat that ProcessStats needs, given the machine's constants:
// clock ticks per second, page size, and boot time (the `btime` line of /proc/stat). Nullopt for
// text that is not a stat line. The command name may hold spaces and parentheses.
std::optional<ProcessStats> ParseProcStat(std::string_view stat, double ticks_per_second,
                                          double page_size, double boot_time_seconds);

// This process, now; nullopt where /proc is missing or unreadable.
std::optional<ProcessStats> ReadProcessStats();

}  // namespace ma::telemetry
