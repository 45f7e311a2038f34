#include "adapter/telemetry/process_stats.h"

#include <optional>

#include "gtest/gtest.h"

namespace ma::telemetry {
namespace {

// A real line of /proc/<pid>/stat, with a command name that holds a space and a ")".
constexpr char kStat[] =
    "4242 (ma worker) x) S 1 4242 4242 0 -1 4194560 2719 0 0 0 150 50 0 0 20 0 7 0 "
    "360000 210763776 4096 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0\n";

TEST(ProcessStatsTest, ParsesTheFieldsAfterACommandNameWithSpacesAndParentheses) {
  const std::optional<ProcessStats> stats =
      ParseProcStat(kStat, /*ticks_per_second=*/100, /*page_size=*/4096,
                    /*boot_time_seconds=*/1'700'000'000);
  ASSERT_TRUE(stats.has_value());
  EXPECT_DOUBLE_EQ(stats->cpu_seconds, 2.0);  // (150 + 50) ticks
  EXPECT_DOUBLE_EQ(stats->threads, 7);
  EXPECT_DOUBLE_EQ(stats->start_time_seconds, 1'700'000'000 + 3600);
  EXPECT_DOUBLE_EQ(stats->virtual_memory_bytes, 210763776);
  EXPECT_DOUBLE_EQ(stats->resident_memory_bytes, 4096.0 * 4096);
}

TEST(ProcessStatsTest, TextThatIsNotAStatLineIsRefused) {
  EXPECT_FALSE(ParseProcStat("", 100, 4096, 0).has_value());
  EXPECT_FALSE(ParseProcStat("4242 (short) S 1 2 3", 100, 4096, 0).has_value());
  EXPECT_FALSE(ParseProcStat("no parentheses at all", 100, 4096, 0).has_value());
}

TEST(ProcessStatsTest, ThisProcessCanBeRead) {
  const std::optional<ProcessStats> stats = ReadProcessStats();
  ASSERT_TRUE(stats.has_value());
  EXPECT_GE(stats->threads, 1);
  EXPECT_GE(stats->open_fds, 3);  // stdin, stdout, stderr at least
  EXPECT_GT(stats->resident_memory_bytes, 0);
}

}  // namespace
}  // namespace ma::telemetry
