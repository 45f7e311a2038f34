#include "queries/config/rules_config.h"

// ParseRulesConfig against prometheus-adapter's documented configurations (test/data/rules) and
// one broken input per kind of problem.

#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ma::config {
namespace {

using ::testing::ElementsAreArray;
using ::testing::IsEmpty;
using ::testing::SizeIs;

std::string ReadFixture(const std::string& name) {
  const std::string path = absl::StrCat(MA_TEST_DATA_DIR, "/rules/", name);
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// "LINE:COLUMN: message", the form `metrics-adapter check` prints.
std::vector<std::string> Format(const std::vector<Problem>& problems) {
  std::vector<std::string> lines;
  lines.reserve(problems.size());
  for (const Problem& problem : problems) {
    lines.push_back(absl::StrCat(problem.pos.line, ":", problem.pos.column, ": ", problem.message));
  }
  return lines;
}

std::string Value(const std::optional<Located<std::string>>& field) {
  return field.has_value() ? field->value : "<absent>";
}

std::vector<std::pair<std::string, std::string>> Overrides(const ResourceMappingConfig& mapping) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [label, group_resource] : mapping.overrides) {
    out.emplace_back(label, absl::StrCat(group_resource.group, "/", group_resource.resource));
  }
  return out;
}

std::vector<std::string> Filters(const DiscoveryRuleConfig& rule) {
  std::vector<std::string> out;
  for (const SeriesFilterConfig& filter : rule.series_filters) {
    out.push_back(filter.is.has_value() ? absl::StrCat("is ", filter.is->value)
                                        : absl::StrCat("isNot ", Value(filter.is_not)));
  }
  return out;
}

// A rule as prometheus-adapter's config-gen writes it (cmd/config-gen/utils/default.go), so the
// fixture is checked against the generator's logic rather than against itself.
struct ExpectedRule {
  std::string series_query;
  std::vector<std::string> filters;
  std::vector<std::pair<std::string, std::string>> overrides;
  std::string template_text;
  std::string matches;
  std::string metrics_query;
};

std::vector<ExpectedRule> ConfigGenRules(const std::string& rate, const std::string& prefix) {
  const std::string container_query =
      R"({__name__=~"^container_.*",container!="POD",namespace!="",pod!=""})";
  const std::string normal_query =
      absl::StrCat("{", prefix, R"(namespace!="",__name__!~"^container_.*"})");
  const std::vector<std::pair<std::string, std::string>> pod_overrides = {
      {"namespace", "/namespace"}, {"pod", "/pod"}};
  const std::string label_template = absl::StrCat(prefix, "<<.Resource>>");
  const std::string container_rate =
      absl::StrCat(R"(sum(rate(<<.Series>>{<<.LabelMatchers>>,container!="POD"}[)", rate,
                   "])) by (<<.GroupBy>>)");
  const std::string normal_rate =
      absl::StrCat("sum(rate(<<.Series>>{<<.LabelMatchers>>}[", rate, "])) by (<<.GroupBy>>)");
  return {
      {container_query, {}, pod_overrides, "", "^container_(.*)_seconds_total$", container_rate},
      {container_query,
       {"isNot ^container_.*_seconds_total$"},
       pod_overrides,
       "",
       "^container_(.*)_total$",
       container_rate},
      {container_query,
       {"isNot ^container_.*_total$"},
       pod_overrides,
       "",
       "^container_(.*)$",
       R"(sum(<<.Series>>{<<.LabelMatchers>>,container!="POD"}) by (<<.GroupBy>>))"},
      {normal_query,
       {"isNot .*_total$"},
       {},
       label_template,
       "",
       "sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)"},
      {normal_query, {"isNot .*_seconds_total"}, {}, label_template, "^(.*)_total$", normal_rate},
      {normal_query, {}, {}, label_template, "^(.*)_seconds_total$", normal_rate},
  };
}

TEST(ParseRulesConfigTest, ConfigGenDefault) {
  const ParseResult result = ParseRulesConfig(ReadFixture("config_gen_default.yaml"));
  ASSERT_THAT(Format(result.problems), IsEmpty());
  const RulesConfig& config = result.config;
  const std::vector<ExpectedRule> expected = ConfigGenRules("5m", "kube_");
  ASSERT_THAT(config.rules, SizeIs(expected.size()));
  EXPECT_THAT(config.external_rules, IsEmpty());
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("rules[", i, "]"));
    const DiscoveryRuleConfig& rule = config.rules[i];
    EXPECT_EQ(rule.series_query.value, expected[i].series_query);
    EXPECT_EQ(Filters(rule), expected[i].filters);
    EXPECT_EQ(Overrides(rule.resources), expected[i].overrides);
    EXPECT_EQ(rule.resources.template_text.has_value() ? rule.resources.template_text->value : "",
              expected[i].template_text);
    EXPECT_FALSE(rule.resources.namespaced.has_value());
    // config-gen writes `matches: ""` and `as: ""`, which mean "unset".
    EXPECT_EQ(rule.name.matches.has_value() ? rule.name.matches->value : "", expected[i].matches);
    EXPECT_FALSE(rule.name.as.has_value());
    EXPECT_EQ(rule.metrics_query.value, expected[i].metrics_query);
  }
  // Each rule starts at the `seriesQuery` key after its dash.
  const int rule_lines[] = {2, 14, 27, 40, 49, 58};
  for (size_t i = 0; i < config.rules.size(); ++i) {
    EXPECT_EQ(config.rules[i].pos.line, rule_lines[i]);
    EXPECT_EQ(config.rules[i].pos.column, 3);
    EXPECT_EQ(config.rules[i].series_query.pos.line, config.rules[i].pos.line);
    EXPECT_EQ(config.rules[i].series_query.pos.column, 16);
  }
  EXPECT_EQ(config.rules[1].series_filters[0].pos.line, 16);
  EXPECT_EQ(config.rules[1].series_filters[0].pos.column, 5);
  EXPECT_EQ(config.rules[1].series_filters[0].is_not->pos.column, 12);

  ASSERT_TRUE(config.resource_rules.has_value());
  const ResourceRulesConfig& resource_rules = *config.resource_rules;
  EXPECT_EQ(resource_rules.window.value, "5m");
  EXPECT_EQ(resource_rules.cpu.container_query.value,
            "sum(rate(container_cpu_usage_seconds_total{<<.LabelMatchers>>}[5m])) by "
            "(<<.GroupBy>>)");
  EXPECT_EQ(resource_rules.cpu.node_query.value,
            R"(sum(1 - rate(node_cpu_seconds_total{<<.LabelMatchers>>, mode="idle"}[5m])) by )"
            "(<<.GroupBy>>)");
  EXPECT_EQ(resource_rules.memory.container_query.value,
            "sum(container_memory_working_set_bytes{<<.LabelMatchers>>}) by (<<.GroupBy>>)");
  const std::vector<std::pair<std::string, std::string>> resource_overrides = {
      {"instance", "/node"}, {"namespace", "/namespace"}, {"pod", "/pod"}};
  for (const ResourceRuleConfig* rule : {&resource_rules.cpu, &resource_rules.memory}) {
    EXPECT_EQ(Overrides(rule->resources), resource_overrides);
    EXPECT_EQ(rule->container_label.value, "kube_container");
  }
}

TEST(ParseRulesConfigTest, Walkthrough) {
  const ParseResult result = ParseRulesConfig(ReadFixture("walkthrough.yaml"));
  ASSERT_THAT(Format(result.problems), IsEmpty());
  ASSERT_THAT(result.config.rules, SizeIs(1));
  EXPECT_FALSE(result.config.resource_rules.has_value());
  const DiscoveryRuleConfig& rule = result.config.rules[0];
  EXPECT_EQ(rule.series_query.value,
            R"(http_requests_total{kubernetes_namespace!="",kubernetes_pod_name!=""})");
  EXPECT_THAT(rule.series_filters, IsEmpty());
  EXPECT_EQ(Overrides(rule.resources),
            (std::vector<std::pair<std::string, std::string>>{
                {"kubernetes_namespace", "/namespace"}, {"kubernetes_pod_name", "/pod"}}));
  EXPECT_EQ(rule.resources.overrides[1].second.pos.line, 8);
  EXPECT_EQ(rule.resources.overrides[1].second.pos.column, 28);
  EXPECT_EQ(Value(rule.name.matches), "^(.*)_total");
  EXPECT_EQ(Value(rule.name.as), "${1}_per_second");
  EXPECT_EQ(rule.name.as->pos.line, 11);
  EXPECT_EQ(rule.name.as->pos.column, 9);
  EXPECT_EQ(rule.metrics_query.value,
            "sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)");
}

TEST(ParseRulesConfigTest, ResourceMetricsConfigMap) {
  const ParseResult result = ParseRulesConfig(ReadFixture("resource_metrics.yaml"));
  ASSERT_THAT(Format(result.problems), IsEmpty());
  EXPECT_THAT(result.config.rules, IsEmpty());
  EXPECT_THAT(result.config.external_rules, IsEmpty());
  ASSERT_TRUE(result.config.resource_rules.has_value());
  const ResourceRulesConfig& rules = *result.config.resource_rules;
  EXPECT_EQ(rules.window.value, "5m");
  EXPECT_EQ(rules.cpu.container_label.value, "container");
  // A literal block scalar keeps its line breaks and relative indentation.
  EXPECT_EQ(rules.cpu.container_query.value,
            "sum by (<<.GroupBy>>) (\n"
            "  irate (\n"
            "      container_cpu_usage_seconds_total{<<.LabelMatchers>>,container!=\"\","
            "pod!=\"\"}[4m]\n"
            "  )\n"
            ")\n");
  EXPECT_EQ(rules.memory.node_query.value,
            "sum by (<<.GroupBy>>) (\n  node_memory_working_set_bytes{<<.LabelMatchers>>}\n)\n");
  EXPECT_EQ(Overrides(rules.cpu.resources),
            (std::vector<std::pair<std::string, std::string>>{
                {"namespace", "/namespace"}, {"node", "/node"}, {"pod", "/pod"}}));
  EXPECT_EQ(Overrides(rules.memory.resources),
            (std::vector<std::pair<std::string, std::string>>{
                {"node", "/node"}, {"namespace", "/namespace"}, {"pod", "/pod"}}));
  EXPECT_EQ(rules.memory.pos.line, 27);
  EXPECT_EQ(rules.memory.pos.column, 5);
}

TEST(ParseRulesConfigTest, ExternalRules) {
  const ParseResult result = ParseRulesConfig(ReadFixture("external_rules.yaml"));
  ASSERT_THAT(Format(result.problems), IsEmpty());
  EXPECT_THAT(result.config.rules, IsEmpty());
  ASSERT_THAT(result.config.external_rules, SizeIs(2));
  const DiscoveryRuleConfig& lag = result.config.external_rules[0];
  EXPECT_EQ(lag.series_query.value, R"({__name__="queue_consumer_lag",name!=""})");
  EXPECT_FALSE(lag.resources.namespaced.has_value());
  EXPECT_EQ(Overrides(lag.resources),
            (std::vector<std::pair<std::string, std::string>>{{"namespace", "/namespace"}}));
  EXPECT_EQ(lag.metrics_query.value, "sum(<<.Series>>{<<.LabelMatchers>>}) by (name)");
  const DiscoveryRuleConfig& depth = result.config.external_rules[1];
  ASSERT_TRUE(depth.resources.namespaced.has_value());
  EXPECT_FALSE(depth.resources.namespaced->value);
  EXPECT_EQ(depth.resources.namespaced->pos.line, 15);
  EXPECT_EQ(depth.resources.namespaced->pos.column, 17);
  EXPECT_EQ(Filters(depth), std::vector<std::string>{"is ^queue_depth$"});
  EXPECT_FALSE(depth.name.matches.has_value());
  EXPECT_EQ(Value(depth.name.as), "broker_queue_depth");
}

struct BrokenCase {
  std::string fixture;
  std::vector<std::string> problems;
};

class BrokenFixtureTest : public ::testing::TestWithParam<BrokenCase> {};

TEST_P(BrokenFixtureTest, ReportsEveryProblemWithItsPosition) {
  const ParseResult result = ParseRulesConfig(ReadFixture(GetParam().fixture));
  EXPECT_THAT(Format(result.problems), ElementsAreArray(GetParam().problems));
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, BrokenFixtureTest,
    ::testing::Values(
        BrokenCase{"broken_syntax.yaml", {"5:3: invalid YAML: end of map flow not found"}},
        BrokenCase{"broken_unknown_key.yaml",
                   {"8:5: rules[2].resources: unknown key \"overides\""}},
        BrokenCase{
            "broken_duplicate_key.yaml",
            {"7:7: rules[0].resources.overrides: duplicate key \"namespace\" on line 7 "
             "(first set on line 5)",
             "9:3: rules[0]: duplicate key \"seriesQuery\" on line 9 (first set on line 2)"}},
        BrokenCase{"broken_wrong_type.yaml",
                   {"4:5: rules[0].seriesFilters: expected a list, got a map",
                    "5:9: rules[0].name: expected a map, got \"^container_(.*)$\"",
                    "6:17: rules[0].metricsQuery: expected a string, got a list"}},
        BrokenCase{"broken_filter_both.yaml",
                   {"4:5: rules[0].seriesFilters[0]: cannot have both an `is` "
                    "(\"^http_requests_.*\") and `isNot` (\".*_bucket$\") expression in a single "
                    "filter"}},
        BrokenCase{"broken_filter_neither.yaml",
                   {"5:5: externalRules[0].seriesFilters[1]: must have either an `is` or `isNot` "
                    "expression in a filter",
                    "6:5: externalRules[0].seriesFilters[2]: must have either an `is` or `isNot` "
                    "expression in a filter"}},
        BrokenCase{"broken_bool.yaml",
                   {"4:17: externalRules[0].resources.namespaced: expected a boolean (true or "
                    "false), got the quoted string \"false\"; remove the quotes",
                    "7:17: externalRules[1].resources.namespaced: expected a boolean (true or "
                    "false), got \"nope\""}},
        // Line 9 holds l6 = ten *l5 of 111111 nodes each; the ninth alias crosses the limit.
        BrokenCase{"broken_alias_bomb.yaml",
                   {absl::StrCat("9:52: the document has more than ", kMaxRulesExpandedNodes,
                                 " nodes once its aliases are expanded")}},
        BrokenCase{"broken_many.yaml",
                   {"1:1: unknown key \"rule\"", "5:3: rules[0]: unknown key \"seriesFilter\"",
                    "7:39: rules[0].name: unknown key \"az\"",
                    // NOLINTNEXTLINE(bugprone-suspicious-missing-comma): one message, two lines.
                    "9:19: rules[1].seriesFilters[0]: cannot have both an `is` (\"^c\") and "
                    "`isNot` (\"^d\") expression in a single filter",
                    "11:17: externalRules[0].metricsQuery: expected a string, got a list",
                    "15:5: resourceRules.cpu: unknown key \"window\"",
                    "16:11: resourceRules.window: expected a string, got a map"}}),
    [](const ::testing::TestParamInfo<BrokenCase>& param_info) {
      const std::string& fixture = param_info.param.fixture;
      return fixture.substr(0, fixture.find('.'));
    });

struct InlineCase {
  std::string name;
  std::string yaml;
  std::vector<std::string> problems;
};

class InlineProblemTest : public ::testing::TestWithParam<InlineCase> {};

TEST_P(InlineProblemTest, Problems) {
  const ParseResult result = ParseRulesConfig(GetParam().yaml);
  EXPECT_THAT(Format(result.problems), ElementsAreArray(GetParam().problems));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, InlineProblemTest,
    ::testing::Values(
        InlineCase{"Empty", "", {}}, InlineCase{"OnlyComments", "# nothing yet\n\n# really\n", {}},
        InlineCase{"ExplicitEmptyDocument", "---\n...\n", {}},
        InlineCase{"NullDocument", "~\n", {}},
        InlineCase{"NullSections", "rules:\nexternalRules: null\nresourceRules: ~\n", {}},
        InlineCase{"SecondDocumentIgnored", "rules: []\n---\nnot: [valid, here\n", {}},
        InlineCase{"TopLevelList",
                   "- seriesQuery: up\n",
                   {"1:1: expected a map with the keys rules, externalRules and resourceRules at "
                    "the top level, got a list"}},
        InlineCase{"TopLevelScalar",
                   "rules\n",
                   {"1:1: expected a map with the keys rules, externalRules and resourceRules at "
                    "the top level, got \"rules\""}},
        InlineCase{"RulesNotAList", "rules: {}\n", {"1:8: rules: expected a list, got a map"}},
        InlineCase{"RuleNotAMap", "rules: [up]\n", {"1:9: rules[0]: expected a map, got \"up\""}},
        InlineCase{"OverrideNotAMap",
                   "rules:\n- resources:\n    overrides:\n      kube_pod: pod\n",
                   {"4:17: rules[0].resources.overrides.kube_pod: expected a map, got \"pod\""}},
        InlineCase{"OverrideUnknownKey",
                   "rules:\n- resources:\n    overrides:\n      pod: {resource: pod, "
                   "version: v1}\n",
                   {"4:28: rules[0].resources.overrides.pod: unknown key \"version\""}},
        InlineCase{"OddLabelInPath",
                   "rules:\n- resources:\n    overrides:\n      \"app.kubernetes.io/name\": []\n",
                   {"4:33: rules[0].resources.overrides[\"app.kubernetes.io/name\"]: expected a "
                    "map, got a list"}},
        InlineCase{"NonScalarKey",
                   "rules:\n- ? [a, b]\n  : c\n",
                   {"2:5: rules[0]: expected a string key, got a list"}},
        InlineCase{"MergeKey",
                   "base: &base {seriesQuery: up}\nrules:\n- <<: *base\n",
                   {"1:1: unknown key \"base\"",
                    "3:3: rules[0]: YAML merge keys (\"<<\") are not supported; write the merged "
                    "keys out in full"}},
        InlineCase{"RecursiveAlias",
                   "rules: &r\n- *r\n",
                   {"2:3: alias refers to a node that contains it (a recursive structure)"}},
        InlineCase{"UndefinedAlias",
                   "rules:\n- seriesQuery: *nowhere\n",
                   {"2:16: invalid YAML: the referenced anchor is not defined"}},
        InlineCase{"NamespacedList",
                   "externalRules:\n- resources: {namespaced: [true]}\n",
                   {"2:27: externalRules[0].resources.namespaced: expected a boolean (true or "
                    "false), got a list"}},
        InlineCase{"NamespacedStrTag",
                   "externalRules:\n- resources: {namespaced: !!str true}\n",
                   {"2:27: externalRules[0].resources.namespaced: expected a boolean (true or "
                    "false), got the quoted string \"true\"; remove the quotes"}},
        InlineCase{"NamespacedNotYaml11",
                   "externalRules:\n- resources: {namespaced: tRUE}\n",
                   {"2:27: externalRules[0].resources.namespaced: expected a boolean (true or "
                    "false), got \"tRUE\""}},
        InlineCase{"FilterNull",
                   "rules:\n- seriesFilters:\n  - ~\n",
                   {"3:5: rules[0].seriesFilters[0]: must have either an `is` or `isNot` "
                    "expression in a filter"}},
        InlineCase{"FilterWrongTypeOnlyOneMessage",
                   "rules:\n- seriesFilters:\n  - is: {a: b}\n",
                   {"3:9: rules[0].seriesFilters[0].is: expected a string, got a map"}},
        InlineCase{"ProblemsSortedByPosition",
                   "rules:\n- b: 1\n  a: 2\nresourceRules: {cpu: [], memory: 7}\n",
                   {"2:3: rules[0]: unknown key \"b\"", "3:3: rules[0]: unknown key \"a\"",
                    "4:22: resourceRules.cpu: expected a map, got a list",
                    "4:34: resourceRules.memory: expected a map, got \"7\""}}),
    [](const ::testing::TestParamInfo<InlineCase>& param_info) { return param_info.param.name; });

struct BoolCase {
  std::string text;
  bool value;
};

class NamespacedBoolTest : public ::testing::TestWithParam<BoolCase> {};

TEST_P(NamespacedBoolTest, AcceptsYaml11Spellings) {
  const ParseResult result = ParseRulesConfig(
      absl::StrCat("externalRules:\n- resources:\n    namespaced: ", GetParam().text, "\n"));
  ASSERT_THAT(Format(result.problems), IsEmpty());
  ASSERT_THAT(result.config.external_rules, SizeIs(1));
  const auto& namespaced = result.config.external_rules[0].resources.namespaced;
  ASSERT_TRUE(namespaced.has_value());
  EXPECT_EQ(namespaced->value, GetParam().value);
  EXPECT_EQ(namespaced->pos.line, 3);
  EXPECT_EQ(namespaced->pos.column, 17);
}

INSTANTIATE_TEST_SUITE_P(
    Yaml11, NamespacedBoolTest,
    ::testing::Values(BoolCase{"true", true}, BoolCase{"True", true}, BoolCase{"TRUE", true},
                      BoolCase{"yes", true}, BoolCase{"Yes", true}, BoolCase{"YES", true},
                      BoolCase{"on", true}, BoolCase{"On", true}, BoolCase{"ON", true},
                      BoolCase{"y", true}, BoolCase{"Y", true}, BoolCase{"!!bool yes", true},
                      BoolCase{"false", false}, BoolCase{"False", false}, BoolCase{"FALSE", false},
                      BoolCase{"no", false}, BoolCase{"No", false}, BoolCase{"NO", false},
                      BoolCase{"off", false}, BoolCase{"Off", false}, BoolCase{"OFF", false},
                      BoolCase{"n", false}, BoolCase{"N", false}));

TEST(ParseRulesConfigTest, NullNamespacedIsUnset) {
  const ParseResult result = ParseRulesConfig("externalRules:\n- resources:\n    namespaced: ~\n");
  ASSERT_THAT(Format(result.problems), IsEmpty());
  EXPECT_FALSE(result.config.external_rules[0].resources.namespaced.has_value());
}

struct ScalarCase {
  std::string text;
  std::string value;
};

class StringFieldTest : public ::testing::TestWithParam<ScalarCase> {};

TEST_P(StringFieldTest, TakesLiteralText) {
  const ParseResult result = ParseRulesConfig(
      absl::StrCat("rules:\n- seriesQuery: ", GetParam().text, "\n  metricsQuery: x\n"));
  ASSERT_THAT(Format(result.problems), IsEmpty());
  ASSERT_THAT(result.config.rules, SizeIs(1));
  EXPECT_EQ(result.config.rules[0].series_query.value, GetParam().value);
  EXPECT_EQ(result.config.rules[0].series_query.pos.line, 2);
  EXPECT_EQ(result.config.rules[0].metrics_query.value, "x");
}

INSTANTIATE_TEST_SUITE_P(Yaml11, StringFieldTest,
                         ::testing::Values(ScalarCase{"123", "123"}, ScalarCase{"0x1F", "0x1F"},
                                           ScalarCase{"1.50", "1.50"}, ScalarCase{"true", "true"},
                                           ScalarCase{"~", ""}, ScalarCase{"null", ""},
                                           ScalarCase{"", ""}, ScalarCase{"\"null\"", "null"},
                                           ScalarCase{"'it''s'", "it's"},
                                           ScalarCase{"!!str 5", "5"},
                                           ScalarCase{"up  # trailing comment", "up"}));

TEST(ParseRulesConfigTest, EmptyOptionalStringsAreUnset) {
  const ParseResult result = ParseRulesConfig(
      "rules:\n- seriesFilters: [{is: \"\", isNot: ^x$}]\n  name: {matches: ~, as: \"\"}\n"
      "  resources: {template: ''}\n");
  ASSERT_THAT(Format(result.problems), IsEmpty());
  const DiscoveryRuleConfig& rule = result.config.rules[0];
  EXPECT_EQ(Filters(rule), std::vector<std::string>{"isNot ^x$"});
  EXPECT_FALSE(rule.series_filters[0].is.has_value());
  EXPECT_FALSE(rule.name.matches.has_value());
  EXPECT_FALSE(rule.name.as.has_value());
  EXPECT_FALSE(rule.resources.template_text.has_value());
}

TEST(ParseRulesConfigTest, EmptyValuePointsAtItsKey) {
  const ParseResult result = ParseRulesConfig("rules:\n- seriesQuery:\n  metricsQuery: x\n");
  ASSERT_THAT(Format(result.problems), IsEmpty());
  const DiscoveryRuleConfig& rule = result.config.rules[0];
  EXPECT_EQ(rule.series_query.value, "");
  EXPECT_EQ(rule.series_query.pos.line, 2);
  EXPECT_EQ(rule.series_query.pos.column, 3);
}

TEST(ParseRulesConfigTest, EmptyResourceRulesMapIsPresent) {
  const ParseResult result = ParseRulesConfig("resourceRules: {}\n");
  ASSERT_THAT(Format(result.problems), IsEmpty());
  ASSERT_TRUE(result.config.resource_rules.has_value());
  EXPECT_EQ(result.config.resource_rules->window.value, "");
  EXPECT_EQ(result.config.resource_rules->pos.line, 1);
}

TEST(ParseRulesConfigTest, AliasesAreExpanded) {
  const ParseResult result = ParseRulesConfig(
      "rules:\n"
      "- seriesQuery: 'a{namespace!=\"\"}'\n"
      "  resources: &namespaced\n"
      "    overrides:\n"
      "      namespace: {resource: namespace}\n"
      "- seriesQuery: 'b{namespace!=\"\"}'\n"
      "  resources: *namespaced\n");
  ASSERT_THAT(Format(result.problems), IsEmpty());
  ASSERT_THAT(result.config.rules, SizeIs(2));
  for (const DiscoveryRuleConfig& rule : result.config.rules) {
    EXPECT_EQ(Overrides(rule.resources),
              (std::vector<std::pair<std::string, std::string>>{{"namespace", "/namespace"}}));
  }
}

TEST(ParseRulesConfigTest, OversizedInputIsRejectedUpFront) {
  const std::string text(kMaxRulesFileBytes + 1, ' ');
  const ParseResult result = ParseRulesConfig(text);
  EXPECT_THAT(Format(result.problems),
              ElementsAreArray(
                  {absl::StrCat("1:1: the rules file is ", kMaxRulesFileBytes + 1,
                                " bytes, more than the limit of ", kMaxRulesFileBytes, " bytes")}));
}

TEST(ParseRulesConfigTest, InputAtTheSizeLimitIsParsed) {
  std::string text = "rules: []\n";
  text.append(kMaxRulesFileBytes - text.size(), '\n');
  const ParseResult result = ParseRulesConfig(text);
  EXPECT_THAT(Format(result.problems), IsEmpty());
}

TEST(ParseRulesConfigTest, DeepNestingIsBounded) {
  // The root map is the first level, so the flow sequence that crosses the limit is the
  // kMaxRulesNestingDepth-th bracket; "laughs: " occupies columns 1 to 8.
  for (const int depth : {kMaxRulesNestingDepth + 1, 100000}) {
    SCOPED_TRACE(depth);
    const std::string text =
        absl::StrCat("laughs: ", std::string(depth, '['), std::string(depth, ']'), "\n");
    const ParseResult result = ParseRulesConfig(text);
    ASSERT_FALSE(result.problems.empty());
    EXPECT_EQ(Format(result.problems)[0],
              absl::StrCat("1:", 8 + kMaxRulesNestingDepth, ": the document nests deeper than ",
                           kMaxRulesNestingDepth, " levels; a rules file needs at most 6"));
  }
}

TEST(ParseRulesConfigTest, ExpandedTextIsBounded) {
  // Few nodes, but a long string repeated through aliases.
  std::string text = absl::StrCat("a: &a \"", std::string(1 << 20, 'x'), "\"\nb: [");
  const size_t copies = kMaxRulesExpandedScalarBytes / (1 << 20);
  for (size_t i = 0; i < copies; ++i) {
    absl::StrAppend(&text, "*a, ");
  }
  absl::StrAppend(&text, "*a]\n");
  const ParseResult result = ParseRulesConfig(text);
  ASSERT_THAT(result.problems, SizeIs(1));
  EXPECT_EQ(result.problems[0].message,
            absl::StrCat("the document has more than ", kMaxRulesExpandedScalarBytes,
                         " bytes of text once its aliases are expanded"));
  EXPECT_EQ(result.problems[0].pos.line, 2);
}

}  // namespace
}  // namespace ma::config
