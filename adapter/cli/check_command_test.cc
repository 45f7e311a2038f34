#include "adapter/cli/check_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace ma::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string WriteTemp(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

TEST(CheckTest, ValidFilePrintsOneLineSummary) {
  std::ostringstream out, err;
  const std::string path = std::string(MA_TEST_DATA_DIR) + "/explain/walkthrough.yaml";
  EXPECT_EQ(RunCheck(path, out, err), 0) << err.str();
  EXPECT_EQ(out.str(), path +
                           ": OK: 2 custom rules, 1 external rules, no resource rules, 3 "
                           "distinct series queries\n");
  EXPECT_EQ(err.str(), "");
}

TEST(CheckTest, EveryProblemAsFileLineColumn) {
  const std::string path = WriteTemp("broken_rules.yaml",
                                     "rules:\n"
                                     "- seriesQuery: up\n"
                                     "  name:\n"
                                     "    matches: \"^(a\"\n"
                                     "  metricsQuery: \"<<.Serie>>\"\n"
                                     "externalRules:\n"
                                     "- seriesQuery: q\n"
                                     "  metricsQuery: x\n");
  std::ostringstream out, err;
  EXPECT_EQ(RunCheck(path, out, err), 1);
  EXPECT_EQ(out.str(), "");
  std::vector<std::string> lines;
  std::istringstream in(err.str());
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  ASSERT_EQ(lines.size(), 3u) << err.str();
  EXPECT_THAT(lines[0], StartsWith(path + ":4:"));
  EXPECT_THAT(lines[0], HasSubstr("rules[0].name.matches: invalid regex"));
  EXPECT_THAT(lines[1], StartsWith(path + ":5:"));
  EXPECT_THAT(lines[1], HasSubstr("Serie"));
  EXPECT_THAT(lines[2], StartsWith(path + ":7:"));
  EXPECT_THAT(lines[2], HasSubstr("externalRules[0].resources"));
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  return lines;
}

// An unknown key or a value of the wrong type in one place does not stop the rest of the file
// from being checked: each independent problem is reported once, at its own position.
TEST(CheckTest, StructuralProblemsDoNotHideTheOthers) {
  const std::string path = WriteTemp("several_problems.yaml",
                                     "rules:\n"                            // 1
                                     "- seriesQuery: up\n"                 // 2
                                     "  metricQuery: x\n"                  // 3 unknown key
                                     "  metricsQuery: x\n"                 // 4
                                     "- seriesQuery: [a, b]\n"             // 5 wrong type
                                     "  metricsQuery: x\n"                 // 6
                                     "- seriesQuery: up\n"                 // 7
                                     "  name:\n"                           // 8
                                     "    matches: \"^(a\"\n"              // 9 bad regex
                                     "  metricsQuery: \"<<.Serie>>\"\n"    // 10 bad template
                                     "colour: blue\n"                      // 11 unknown key
                                     "externalRules:\n"                    // 12
                                     "- seriesQuery: q\n"                  // 13
                                     "  resources:\n"                      // 14
                                     "    namespaced: \"false\"\n"         // 15 quoted bool
                                     "  metricsQuery: x\n"                 // 16
                                     "- seriesQuery: q\n"                  // 17
                                     "  resources: {namespaced: false}\n"  // 18
                                     "  metricsQuery: x\n");               // 19 fine
  std::ostringstream out, err;
  EXPECT_EQ(RunCheck(path, out, err), 1);
  EXPECT_EQ(out.str(), "");
  const std::vector<std::string> lines = Lines(err.str());
  ASSERT_EQ(lines.size(), 6u) << err.str();
  EXPECT_THAT(lines[0], StartsWith(path + ":3:3: rules[0]: unknown key \"metricQuery\""));
  EXPECT_THAT(lines[1], StartsWith(path + ":5:16: rules[1].seriesQuery: expected a string"));
  EXPECT_THAT(lines[2], StartsWith(path + ":9:14: rules[2].name.matches: invalid regex"));
  EXPECT_THAT(lines[3], StartsWith(path + ":10:17: rules[2].metricsQuery:"));
  EXPECT_THAT(lines[4], StartsWith(path + ":11:1: unknown key \"colour\""));
  EXPECT_THAT(
      lines[5],
      StartsWith(path + ":15:17: externalRules[0].resources.namespaced: expected a boolean"));
}

TEST(CheckTest, YamlProblemsAndMissingFile) {
  std::ostringstream out, err;
  const std::string path =
      WriteTemp("unknown_key.yaml", "rules:\n- seriesQuery: up\n  metricQuery: x\n");
  EXPECT_EQ(RunCheck(path, out, err), 1);
  EXPECT_THAT(err.str(), StartsWith(path + ":3:"));
  EXPECT_THAT(err.str(), HasSubstr("metricQuery"));

  std::ostringstream out2, err2;
  EXPECT_EQ(RunCheck("/nonexistent/rules.yaml", out2, err2), 1);
  EXPECT_THAT(err2.str(), HasSubstr("/nonexistent/rules.yaml"));
}

}  // namespace
}  // namespace ma::cli
