#include "adapter/plugin/table.h"

#include "gtest/gtest.h"

namespace ma::plugin {
namespace {

TEST(FormatTableTest, PadsEachColumnToItsWidestCellPlusThreeSpaces) {
  EXPECT_EQ(FormatTable({"NAME", "VALUE", "TIMESTAMP"},
                        {{"queue_depth", "42", "2026-01-01T00:00:00Z"}, {"q", "7", "t"}}),
            "NAME          VALUE   TIMESTAMP\n"
            "queue_depth   42      2026-01-01T00:00:00Z\n"
            "q             7       t\n");
}

TEST(FormatTableTest, HeaderOnlyAndNoTrailingSpaces) {
  EXPECT_EQ(FormatTable({"A", "B"}, {}), "A   B\n");
  EXPECT_EQ(FormatTable({"A", "B"}, {{"x", ""}}), "A   B\nx\n");
}

}  // namespace
}  // namespace ma::plugin
