#include "queries/promql/series_selector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ma::promql {
namespace {

using ::testing::HasSubstr;

model::Series S(std::string name, model::LabelSet labels) {
  return model::Series{std::move(name), std::move(labels)};
}

struct MatchCase {
  model::Series series;
  bool want;
};

struct SelectorCase {
  std::string selector;
  std::vector<MatchCase> matches;
};

TEST(SeriesSelectorTest, MatchesWithPrometheusSemantics) {
  const SelectorCase cases[] = {
      // config-gen's default cAdvisor query.
      {R"({__name__=~"^container_.*",container!="POD",namespace!="",pod!=""})",
       {
           {S("container_cpu_usage_seconds_total",
              {{"container", "app"}, {"namespace", "ns"}, {"pod", "p"}}),
            true},
           {S("container_cpu_usage_seconds_total",
              {{"container", "POD"}, {"namespace", "ns"}, {"pod", "p"}}),
            false},
           {S("container_memory_rss", {{"namespace", "ns"}, {"pod", "p"}}), true},
           {S("container_memory_rss", {{"pod", "p"}}), false},
           {S("container_memory_rss", {{"namespace", ""}, {"pod", "p"}}), false},
           {S("node_cpu_seconds_total", {{"namespace", "ns"}, {"pod", "p"}}), false},
           {S("xcontainer_memory_rss", {{"namespace", "ns"}, {"pod", "p"}}), false},
       }},
      // config-gen's query for everything else.
      {R"({namespace!="",__name__!~"^container_.*"})",
       {
           {S("http_requests_total", {{"namespace", "x"}}), true},
           {S("container_cpu", {{"namespace", "x"}}), false},
           {S("http_requests_total", {}), false},
       }},
      {R"(http_requests_total{kubernetes_namespace!="",kubernetes_pod_name!=""})",
       {
           {S("http_requests_total", {{"kubernetes_namespace", "a"}, {"kubernetes_pod_name", "b"}}),
            true},
           {S("http_requests", {{"kubernetes_namespace", "a"}, {"kubernetes_pod_name", "b"}}),
            false},
           {S("http_requests_total", {{"kubernetes_namespace", "a"}}), false},
       }},
      // Regexes are anchored on both ends, including around an alternation.
      {R"({a=~"foo"})",
       {{S("m", {{"a", "foo"}}), true},
        {S("m", {{"a", "foobar"}}), false},
        {S("m", {{"a", "xfoo"}}), false}}},
      {R"({a=~"foo|bar"})", {{S("m", {{"a", "bar"}}), true}, {S("m", {{"a", "foobar"}}), false}}},
      {R"({a!~"foo",a!=""})", {{S("m", {{"a", "foobar"}}), true}, {S("m", {{"a", "foo"}}), false}}},
      // '.' matches a newline, as in Prometheus (Go's DotNL).
      {R"({a=~"x.y"})", {{S("m", {{"a", "x\ny"}}), true}}},
      // A missing label has the value "".
      {R"({a="",b="x"})",
       {{S("m", {{"b", "x"}}), true}, {S("m", {{"a", "1"}, {"b", "x"}}), false}}},
      {R"({b="x",a=~"|1"})",
       {{S("m", {{"b", "x"}}), true},
        {S("m", {{"a", "1"}, {"b", "x"}}), true},
        {S("m", {{"a", "2"}, {"b", "x"}}), false}}},
      // Metric names may contain ':'; whitespace anywhere; a trailing comma; empty braces.
      {"job:rate5m", {{S("job:rate5m", {}), true}, {S("job", {}), false}}},
      {" \tjob:rate5m \n{ a = \"b\" , } ",
       {{S("job:rate5m", {{"a", "b"}}), true}, {S("job:rate5m", {{"a", "c"}}), false}}},
      {"up{}", {{S("up", {{"job", "x"}}), true}, {S("down", {}), false}}},
      {R"({__name__="up"})", {{S("up", {}), true}, {S("upx", {}), false}}},
      // Quoting forms and escapes.
      {R"({a="x\"y"})", {{S("m", {{"a", "x\"y"}}), true}}},
      {R"({a='x\'y"z'})", {{S("m", {{"a", "x'y\"z"}}), true}}},
      {"{a=`x\\y\"z`}", {{S("m", {{"a", "x\\y\"z"}}), true}}},
      {R"({a="\a\b\f\n\r\t\v\\"})", {{S("m", {{"a", "\a\b\f\n\r\t\v\\"}}), true}}},
      {R"({a="\x41\101\u00e9\U0001F600"})",
       {{S("m", {{"a", "AA\xc3\xa9\xf0\x9f\x98\x80"}}), true}}},
      {R"({a=~"a\\.b"})", {{S("m", {{"a", "a.b"}}), true}, {S("m", {{"a", "axb"}}), false}}},
      {"{a=~`a\\.b`}", {{S("m", {{"a", "a.b"}}), true}, {S("m", {{"a", "axb"}}), false}}},
      {R"({on="x",by="y"})", {{S("m", {{"on", "x"}, {"by", "y"}}), true}}},
  };
  for (const auto& c : cases) {
    auto selector = SeriesSelector::Parse(c.selector);
    ASSERT_TRUE(selector.ok()) << c.selector << ": " << selector.status();
    for (const auto& m : c.matches) {
      EXPECT_EQ(selector->Matches(m.series), m.want)
          << c.selector << " against series " << m.series.name;
    }
  }
}

TEST(SeriesSelectorTest, ParsesMatchers) {
  auto selector =
      SeriesSelector::Parse(R"(http_requests_total{kubernetes_namespace!="",path=~"/api.*"})");
  ASSERT_TRUE(selector.ok()) << selector.status();
  const auto& matchers = selector->matchers();
  ASSERT_EQ(matchers.size(), 3u);
  EXPECT_EQ(matchers[0].name, "__name__");
  EXPECT_EQ(matchers[0].op, MatchOp::kEqual);
  EXPECT_EQ(matchers[0].value, "http_requests_total");
  EXPECT_EQ(matchers[1].name, "kubernetes_namespace");
  EXPECT_EQ(matchers[1].op, MatchOp::kNotEqual);
  EXPECT_EQ(matchers[1].value, "");
  EXPECT_EQ(matchers[1].regex, nullptr);
  EXPECT_EQ(matchers[2].name, "path");
  EXPECT_EQ(matchers[2].op, MatchOp::kRegexMatch);
  EXPECT_EQ(matchers[2].value, "/api.*");
  EXPECT_NE(matchers[2].regex, nullptr);
}

TEST(SeriesSelectorTest, Errors) {
  struct Case {
    std::string selector;
    std::vector<std::string> want;  // substrings of the message
  };
  const Case cases[] = {
      {"", {"at byte 0", "empty series selector"}},
      {"   ", {"at byte 3", "empty series selector"}},
      {"{}", {"at byte 0", "at least one non-empty matcher"}},
      {"  { }", {"at byte 2", "at least one non-empty matcher"}},
      {R"({a=""})", {"at least one non-empty matcher"}},
      {R"({a=~".*"})", {"at least one non-empty matcher"}},
      {R"({a!~"x",b!="y"})", {"at least one non-empty matcher"}},
      {R"({a="b")", {"at byte 6", "unexpected end of input"}},
      {R"({a="b})", {"at byte 3", "unterminated quoted string"}},
      {"{a=`b}", {"at byte 3", "unterminated raw string"}},
      {"{a=\"x\ny\"}", {"at byte 3", "unterminated quoted string"}},
      {R"({a=b})", {"at byte 3", "expected a quoted string"}},
      {R"({a=="b"})", {"at byte 2", "\"==\""}},
      {R"({a~"b"})", {"at byte 2", "expected one of =, !=, =~, !~"}},
      {R"({a.b="c"})", {"at byte 2", "after label name \"a\""}},
      {R"({a:b="c"})", {"at byte 2", "after label name \"a\""}},
      {R"({9a="b"})", {"at byte 1", "expected a label name"}},
      {R"({a="b",,})", {"at byte 7", "expected a label name"}},
      {R"({a="b" c="d"})", {"at byte 7", "expected ',' or '}'"}},
      {R"({a="b",c=d})", {"at byte 9", "expected a quoted string"}},
      {R"(m{a="b"}[5m])", {"at byte 8", "after the series selector"}},
      {R"(rate(m[5m]))", {"at byte 4", "after the metric name"}},
      {"m m", {"at byte 2", "after the metric name"}},
      {"9m", {"at byte 0", "expected a metric name or '{'"}},
      {R"(m{__name__="x"})", {"at byte 2", "metric name must not be set twice"}},
      {R"({a=~"("})", {"at byte 4", "invalid regular expression \"(\" for label \"a\""}},
      {R"({a=~"x{2,1}"})", {"invalid regular expression"}},
      {R"({a="\q"})", {"at byte 4", "unknown escape sequence"}},
      {R"({a='\"'})", {"at byte 4", "unknown escape sequence"}},
      {R"({a="\x4"})", {"at byte 4", "needs 2 hex digits"}},
      {R"({a="\400"})", {"at byte 4", "octal"}},
      {R"({a="\12"})", {"at byte 4", "octal"}},
      {R"({a="\uD800"})", {"at byte 4", "invalid Unicode code point"}},
      {R"({a="\U00110000"})", {"invalid Unicode code point"}},
      {"{a=\"b\\", {"at byte 3", "unterminated quoted string"}},
  };
  for (const auto& c : cases) {
    auto selector = SeriesSelector::Parse(c.selector);
    ASSERT_FALSE(selector.ok()) << c.selector;
    EXPECT_EQ(selector.status().code(), absl::StatusCode::kInvalidArgument) << c.selector;
    for (const auto& want : c.want) {
      EXPECT_THAT(std::string(selector.status().message()), HasSubstr(want))
          << c.selector << " -> " << selector.status().message();
    }
  }
}

TEST(SeriesSelectorTest, EnforcesTheSizeLimit) {
  const std::string big = "{a=\"" + std::string(kMaxSeriesSelectorBytes, 'x') + "\"}";
  auto selector = SeriesSelector::Parse(big);
  ASSERT_FALSE(selector.ok());
  EXPECT_THAT(std::string(selector.status().message()),
              HasSubstr("more than the limit of " + std::to_string(kMaxSeriesSelectorBytes)));
}

}  // namespace
}  // namespace ma::promql
