#include "queries/rules/rule_set.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "queries/base/strings.h"
#include "test/testing/config_gen_rules.h"

namespace ma::rules {
namespace {

using ::testing::HasSubstr;

CompileResult CompileYaml(std::string_view yaml, bool allow_unknown = false) {
  const auto parsed = config::ParseRulesConfig(yaml);
  EXPECT_TRUE(parsed.problems.empty()) << parsed.problems.front().message;
  return CompileRules(parsed.config, {.mapper = model::BuiltinResourceMapper(),
                                      .allow_unknown_resources = allow_unknown});
}

TEST(CompileRulesTest, ConfigGenDefaultsCompile) {
  const auto result = CompileYaml(testing::kConfigGenRulesYaml);
  ASSERT_TRUE(result.problems.empty()) << result.problems.front().message;
  const auto& rules = *result.rule_set;
  EXPECT_EQ(rules.custom_rules().size(), 6u);
  EXPECT_TRUE(rules.external_rules().empty());
  ASSERT_TRUE(rules.resource_rules().has_value());
  EXPECT_EQ(rules.resource_rules()->window, std::chrono::minutes(1));
  EXPECT_EQ(rules.resource_rules()->cpu.container_label, "kube_container");
  // Rules sharing a seriesQuery share one /api/v1/series call.
  EXPECT_EQ(rules.series_queries(),
            (std::vector<std::string>{
                R"({__name__=~"^container_.*",container!="POD",namespace!="",pod!=""})",
                R"({kube_namespace!="",__name__!~"^container_.*"})"}));
  // Filters: rule 2 refuses seconds counters, accepts other counters.
  EXPECT_FALSE(rules.custom_rules()[1].AcceptsSeries("container_cpu_usage_seconds_total"));
  EXPECT_TRUE(rules.custom_rules()[1].AcceptsSeries("container_network_bytes_total"));
  EXPECT_FALSE(rules.custom_rules()[1].AcceptsSeries("container_memory_usage"));
}

std::vector<std::string> IdsOf(const std::vector<Rule>& rules) {
  std::vector<std::string> ids;
  for (const Rule& rule : rules) {
    ids.push_back(rule.id());
  }
  return ids;
}

constexpr std::string_view kRuleA = R"(
- seriesQuery: 'http_requests_total{namespace!="",pod!=""}'
  resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}
  name: {matches: "^(.*)_total$", as: "${1}_per_second"}
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)'
)";
constexpr std::string_view kRuleB = R"(
- seriesQuery: 'queue_depth{namespace!=""}'
  resources: {overrides: {namespace: {resource: namespace}}}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
)";

// The rule label of metrics_adapter_rule_series must name the same rule after a reload that
// reorders the file; positions ("rules[0]") would swap two rules' series counts.
TEST(RuleIdTest, ReorderingKeepsEachRulesId) {
  const auto ab = CompileYaml(Cat("rules:", kRuleA, kRuleB, "externalRules:", kRuleB));
  const auto ba = CompileYaml(Cat("externalRules:", kRuleB, "rules:", kRuleB, kRuleA));
  ASSERT_TRUE(ab.rule_set != nullptr && ba.rule_set != nullptr);
  const std::vector<std::string> ids = IdsOf(ab.rule_set->custom_rules());
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_THAT(ids[0], ::testing::MatchesRegex("rules:[0-9a-f]{8}"));
  EXPECT_NE(ids[0], ids[1]);
  EXPECT_EQ(IdsOf(ba.rule_set->custom_rules()), (std::vector<std::string>{ids[1], ids[0]}));
  EXPECT_EQ(ab.rule_set->custom_rules()[0].Describe(), "rules[0]");  // positions still move
  EXPECT_EQ(ba.rule_set->custom_rules()[1].Describe(), "rules[1]");
  // The same rule in the other section is another rule.
  const std::string external = ab.rule_set->external_rules()[0].id();
  EXPECT_EQ(external, "externalRules:" + ids[1].substr(std::string_view("rules:").size()));
}

TEST(RuleIdTest, WhatARuleDiscoversIsItsIdentity) {
  const std::string base = CompileYaml(Cat("rules:", kRuleA)).rule_set->custom_rules()[0].id();
  const auto id_with = [](std::string_view from, std::string_view to) {
    std::string yaml = Cat("rules:", kRuleA);
    const size_t at = yaml.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    yaml.replace(at, from.size(), to);
    return CompileYaml(yaml).rule_set->custom_rules()[0].id();
  };
  // Another seriesQuery, name.matches or name.as: another rule.
  EXPECT_NE(id_with("http_requests_total{", "http_requests_count{"), base);
  EXPECT_NE(id_with("^(.*)_total$", "^(.*)_tota$"), base);
  EXPECT_NE(id_with("${1}_per_second", "${1}_rate"), base);
  // How it is queried or mapped: the same rule.
  EXPECT_EQ(id_with("[2m]", "[5m]"), base);
  EXPECT_EQ(id_with("pod: {resource: pod}", "pod: {resource: pods}"), base);
}

TEST(RuleIdTest, RulesAlikeInWhatTheyDiscoverAreNumberedInFileOrder) {
  const auto result = CompileYaml(Cat("rules:", kRuleB, kRuleA, kRuleB, kRuleB));
  const std::vector<std::string> ids = IdsOf(result.rule_set->custom_rules());
  EXPECT_EQ(ids[2], ids[0] + "-2");
  EXPECT_EQ(ids[3], ids[0] + "-3");
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
}

struct ProblemCase {
  std::string yaml;
  int line;
  std::string message;
};

TEST(CompileRulesTest, EveryProblemHasItsLineAndNamesTheRule) {
  const ProblemCase cases[] = {
      {"rules:\n- seriesQuery: up\n  name:\n    matches: \"^(a)(b)$\"\n  metricsQuery: x\n", 4,
       "rules[0].name.matches: must specify an 'as' value"},
      {"rules:\n- seriesQuery: up\n  name:\n    matches: \"^(a\"\n  metricsQuery: x\n", 4,
       "rules[0].name.matches: invalid regex"},
      {"rules:\n- seriesQuery: up\n  metricsQuery: \"sum(<<.Serie>>)\"\n", 3,
       "rules[0].metricsQuery:"},
      {"rules:\n- seriesQuery: up\n  seriesFilters:\n  - isNot: \"(\"\n  metricsQuery: x\n", 4,
       "rules[0].seriesFilters[0].isNot: invalid regex"},
      {"rules:\n- seriesQuery: up\n  resources:\n    template: \"kube_<<.Group>>\"\n  "
       "metricsQuery: x\n",
       4, "rules[0].resources.template: must include at least `<<.Resource>>`"},
      {"rules:\n- seriesQuery: up\n  resources:\n    overrides:\n      ns:\n        resource: "
       "widget\n"
       "  metricsQuery: x\n",
       6, "rules[0].resources.overrides.ns: unable to normalize group-resource widget"},
      {"rules:\n- seriesQuery: up\n  resources:\n    overrides:\n      bad-label:\n        "
       "resource: pod\n"
       "  metricsQuery: x\n",
       6,
       "rules[0].resources.overrides.bad-label: \"bad-label\" is not a valid Prometheus label "
       "name"},
      {"externalRules:\n- seriesQuery: up\n  metricsQuery: x\n", 2,
       "externalRules[0].resources: a namespaced external rule needs a label for namespaces"},
      {"rules:\n- seriesQuery: 'up{'\n  metricsQuery: x\n", 2,
       "rules[0].seriesQuery: invalid series selector"},
      {"rules:\n- metricsQuery: x\n", 2, "rules[0]: missing seriesQuery"},
      {"resourceRules:\n  cpu: {containerQuery: x, nodeQuery: y}\n  memory: {containerQuery: x, "
       "nodeQuery: y}\n  window: 5 minutes\n",
       4, "resourceRules.window: not a valid duration string"},
  };
  for (const auto& c : cases) {
    const auto result = CompileYaml(c.yaml);
    ASSERT_FALSE(result.problems.empty()) << c.yaml;
    EXPECT_EQ(result.rule_set, nullptr);
    const auto& problem = result.problems.front();
    EXPECT_EQ(problem.pos.line, c.line) << problem.message;
    EXPECT_GT(problem.pos.column, 0) << problem.message;
    EXPECT_THAT(problem.message, HasSubstr(c.message));
  }
}

TEST(CompileRulesTest, ReportsEveryProblemNotJustTheFirst) {
  const auto result = CompileYaml(
      "rules:\n- seriesQuery: up\n  name: {matches: \"(\"}\n  metricsQuery: \"<<.Nope>>\"\n"
      "- seriesQuery: up\n  seriesFilters: [{is: \"[\"}]\n  metricsQuery: ok\n");
  ASSERT_EQ(result.problems.size(), 3u);
  EXPECT_EQ(result.problems[0].pos.line, 3);
  EXPECT_EQ(result.problems[1].pos.line, 4);
  EXPECT_EQ(result.problems[2].pos.line, 6);
}

// A rule the parser already reported is skipped (no second message for it), the others are still
// checked, and no rule set is built from the remains.
TEST(CompileRulesTest, MalformedRulesAreSkippedButTheOthersChecked) {
  const auto parsed = config::ParseRulesConfig(
      "rules:\n- seriesQuery: [a]\n  metricsQuery: x\n"
      "- seriesQuery: up\n  name: {matches: \"(\"}\n  metricsQuery: x\n"
      "- seriesQuery: up\n  metricsQuery: x\n");
  ASSERT_EQ(parsed.problems.size(), 1u);
  EXPECT_TRUE(parsed.config.rules[0].malformed);
  EXPECT_FALSE(parsed.config.rules[1].malformed);
  const auto result = CompileRules(parsed.config, {.mapper = model::BuiltinResourceMapper()});
  ASSERT_EQ(result.problems.size(), 1u);
  EXPECT_EQ(result.problems[0].pos.line, 5);
  EXPECT_EQ(result.rule_set, nullptr);

  const auto only_malformed =
      config::ParseRulesConfig("rules:\n- seriesQuery: up\n  colour: x\n  metricsQuery: x\n");
  ASSERT_TRUE(only_malformed.config.rules[0].malformed);
  const auto skipped =
      CompileRules(only_malformed.config, {.mapper = model::BuiltinResourceMapper()});
  EXPECT_TRUE(skipped.problems.empty());
  EXPECT_EQ(skipped.rule_set, nullptr);
}

TEST(CompileRulesTest, UnknownResourcesAreAcceptedWithoutAKubernetesApi) {
  const std::string yaml =
      "rules:\n- seriesQuery: up\n  resources:\n    overrides:\n      widget:\n        group: "
      "example.com\n        resource: widgets\n  metricsQuery: x\n";
  EXPECT_FALSE(CompileYaml(yaml).problems.empty());
  const auto lenient = CompileYaml(yaml, /*allow_unknown=*/true);
  ASSERT_TRUE(lenient.problems.empty()) << lenient.problems.front().message;
  EXPECT_EQ(
      *lenient.rule_set->custom_rules()[0].resources().LabelForResource({"example.com", "widgets"}),
      "widget");
}

}  // namespace
}  // namespace ma::rules
