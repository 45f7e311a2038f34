#include "queries/promql/promql.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ma::promql {
namespace {

using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

TEST(IsValidLabelNameTest, AcceptsOnlyPromqlLabelNames) {
  struct Case {
    std::string name;
    bool want;
  };
  const Case cases[] = {
      {"a", true},
      {"_", true},
      {"Ab_9", true},
      {"__name__", true},
      {"pod", true},
      {"", false},
      {"9a", false},
      {"a-b", false},
      {"a.b", false},
      {"a/b", false},
      {"a:b", false},
      {"app.kubernetes.io/name", false},
      {"caf\xc3\xa9", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(IsValidLabelName(c.name), c.want) << c.name;
  }
}

TEST(QuoteRegexMetaTest, EscapesEveryGoMetaCharacter) {
  struct Case {
    std::string in, want;
  };
  // Go: regexp.QuoteMeta(in).
  const Case cases[] = {
      {"", ""},
      {"plain-name_1", "plain-name_1"},
      {"a.b", "a\\.b"},
      {R"(\.+*?()|[]{}^$)", R"(\\\.\+\*\?\(\)\|\[\]\{\}\^\$)"},
      {"x-y/z:w", "x-y/z:w"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(QuoteRegexMeta(c.in), c.want) << c.in;
  }
}

TEST(QuoteStringTest, IsGoPercentQ) {
  EXPECT_EQ(QuoteString("web"), R"("web")");
  EXPECT_EQ(QuoteString(R"(a"b\c)"), R"("a\"b\\c")");
  EXPECT_EQ(QuoteString("a\nb"), R"("a\nb")");
}

TEST(MatcherTest, SingleMatchers) {
  EXPECT_EQ(LabelEq("namespace", "default"), R"(namespace="default")");
  EXPECT_EQ(LabelNeq("pod", ""), R"(pod!="")");
  EXPECT_EQ(LabelEq("a", R"q(x"}or vector(1))q"), R"q(a="x\"}or vector(1)")q");
  EXPECT_EQ(LabelMatchesAny("pod", {"a.b", "c"}), R"(pod=~"a\\.b|c")");
  EXPECT_EQ(LabelMatchesNone("pod", {"a|b"}), R"(pod!~"a\\|b")");
}

TEST(ObjectNamesMatcherTest, OneNameIsEqualitySeveralAreAnEscapedAlternation) {
  struct Case {
    std::vector<std::string> names;
    std::string want;
  };
  const Case cases[] = {
      {{"web-1"}, R"(pod="web-1")"},
      {{"node.example.com"}, R"(pod="node.example.com")"},
      {{"web-2", "web-1"}, R"(pod=~"web-2|web-1")"},  // given order, not sorted
      {{"a", "a"}, R"(pod=~"a|a")"},                  // not de-duplicated
      {{"node.example.com", "n+1"}, R"(pod=~"node\\.example\\.com|n\\+1")"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ObjectNamesMatcher("pod", c.names), c.want);
  }
}

selector::LabelSelector MustParse(std::string_view text) {
  auto parsed = selector::LabelSelector::Parse(text);
  EXPECT_TRUE(parsed.ok()) << text << ": " << parsed.status();
  return parsed.ok() ? *parsed : selector::LabelSelector();
}

TEST(SelectorMatchersTest, EveryRowOfTheConversionTable) {
  struct Case {
    std::string selector;
    std::vector<std::string> want;
  };
  // prometheus-adapter's conversion, with our regex escaping (docs/design.md, "Where we differ").
  const Case cases[] = {
      {"", {}},
      {"k=v", {R"(k="v")"}},
      {"k==v", {R"(k="v")"}},
      {"k!=v", {R"(k!="v")"}},
      {"k=", {R"(k="")"}},
      {"k in (v)", {R"(k=~"v")"}},
      {"k in (v2,v1)", {R"(k=~"v1|v2")"}},
      {"k notin (v)", {R"(k!~"v")"}},
      {"k notin (v2,v1,v2)", {R"(k!~"v1|v2")"}},
      {"k in ()", {R"(k=~"")"}},
      {"k", {R"(k!="")"}},
      {"!k", {R"(k="")"}},
      {"zone in (b,a),tier!=x,!gone,present",
       {R"(gone="")", R"(present!="")", R"(tier!="x")", R"(zone=~"a|b")"}},
      // Values are regex-escaped inside =~ and !~, then quoted.
      {"k in (a.b)", {R"(k=~"a\\.b")"}},
      {"k notin (a.b,c-d)", {R"(k!~"a\\.b|c-d")"}},
      {"k=a.b", {R"(k="a.b")"}},
  };
  for (const auto& c : cases) {
    auto matchers = SelectorMatchers(MustParse(c.selector));
    ASSERT_TRUE(matchers.ok()) << c.selector << ": " << matchers.status();
    EXPECT_THAT(*matchers, ElementsAreArray(c.want)) << c.selector;
  }
}

TEST(SelectorMatchersTest, RejectsWhatPromqlCannotExpress) {
  struct Case {
    std::string selector;
    std::vector<std::string> want;  // substrings of the message
  };
  const Case cases[] = {
      {"app.kubernetes.io/name=web",
       {R"(label selector key "app.kubernetes.io/name" is not a valid Prometheus label name)",
        "[a-zA-Z_][a-zA-Z0-9_]*"}},
      {"a=b,example.com/x", {R"("example.com/x")"}},
      {"my-label in (a)", {R"("my-label")"}},
      {"9lives", {R"("9lives")"}},
      {"replicas>3", {"operator not supported by prometheus", R"(">")", R"("replicas")"}},
      {"replicas<3", {"operator not supported by prometheus", R"("<")"}},
  };
  for (const auto& c : cases) {
    auto matchers = SelectorMatchers(MustParse(c.selector));
    ASSERT_FALSE(matchers.ok()) << c.selector;
    EXPECT_EQ(matchers.status().code(), absl::StatusCode::kInvalidArgument) << c.selector;
    for (const auto& want : c.want) {
      EXPECT_THAT(std::string(matchers.status().message()), HasSubstr(want)) << c.selector;
    }
  }
}

}  // namespace
}  // namespace ma::promql
