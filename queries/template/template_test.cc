#include "queries/template/template.h"

#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ma::tmpl {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// The metricsQuery data of prometheus-adapter, fields in Go declaration order.
const std::vector<std::string>& QueryFields() {
  static const std::vector<std::string> fields = {"Series", "LabelMatchers", "LabelValuesByName",
                                                  "GroupBy", "GroupBySlice"};
  return fields;
}

Data QueryData() {
  return Data{
      {"Series", std::string("http_requests_total")},
      {"LabelMatchers", std::string(R"(namespace="shop",pod=~"a|b")")},
      {"LabelValuesByName",
       std::map<std::string, std::string>{{"namespace", "shop"}, {"pod", "a|b"}}},
      {"GroupBy", std::string("pod,container")},
      {"GroupBySlice", std::vector<std::string>{"pod", "container"}},
  };
}

struct RenderCase {
  std::string source;
  std::string want;
};

// Every expected output below was produced by Go 1.19's text/template with Delims("<<", ">>")
// on the same data.
const std::vector<RenderCase>& GoRenderCases() {
  static const std::vector<RenderCase> cases = {
      {"sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)",
       "sum(rate(http_requests_total{namespace=\"shop\",pod=~\"a|b\"}[2m])) by (pod,container)"},
      {"sum by (<<.GroupBy>>) "
       "(irate(container_cpu_usage_seconds_total{<<.LabelMatchers>>,container!=\"\",pod!=\"\"}[4m])"
       ")",
       "sum by (pod,container) "
       "(irate(container_cpu_usage_seconds_total{namespace=\"shop\",pod=~\"a|b\",container!=\"\","
       "pod!=\"\"}[4m]))"},
      {"<<index .LabelValuesByName \"namespace\">>", "shop"},
      {"<<index .LabelValuesByName \"zzz\">>|", "|"},
      {"<<.LabelValuesByName.missing>>", "<no value>"},
      {"<<.LabelValuesByName.namespace>>", "shop"},
      {"<<.GroupBySlice>>", "[pod container]"},
      {"<<.LabelValuesByName>>", "map[namespace:shop pod:a|b]"},
      {"<<range $i, $l := .GroupBySlice>><<if $i>>,<<end>><<$l>><<end>>", "pod,container"},
      {"<<if .GroupBy>>by (<<.GroupBy>>)<<end>>", "by (pod,container)"},
      {"<<with .GroupBy>>[<<.>>]<<else>>none<<end>>", "[pod,container]"},
      {"<<with .LabelValuesByName>><<.namespace>>/<<.pod>><<end>>", "shop/a|b"},
      {"<<with .Series>><<$.GroupBy>><<end>>", "pod,container"},
      {"<<printf \"%s{%s}\" .Series .LabelMatchers>>",
       "http_requests_total{namespace=\"shop\",pod=~\"a|b\"}"},
      {"<<printf \"%d %s %q %v %t\" 5 .GroupBySlice .GroupBySlice .LabelValuesByName true>>",
       "5 [pod container] [\"pod\" \"container\"] map[namespace:shop pod:a|b] true"},
      {"<<printf \"%d\" \"x\">> <<printf \"%d\">> <<printf \"%d\" 1 2>>",
       "%!d(string=x) %!d(MISSING) 1%!(EXTRA int=2)"},
      {"<<printf \"%5s|%-5s|%05d|%.2s|%x|%X|%c|%q|%U\" \"ab\" \"cd\" 42 \"héllo\" \"hi\" 255 65 65 "
       "65>>",
       "   ab|cd   |00042|hé|6869|FF|A|'A'|U+0041"},
      {"<<printf \"%v %v %.3f %e %g %+d %x\" 1.5 2.0 3.14159 1234.5678 0.000012 7 -255>>",
       "1.5 2 3.142 1.234568e+03 1.2e-05 +7 -ff"},
      {"<<printf \"%*d|%-*d|%.*f\" 4 7 3 8 2 3.14159>>", "   7|8  |3.14"},
      {"<<printf \"%s\" .LabelValuesByName.missing>>", "%!s(<nil>)"},
      {"<<len .GroupBySlice>> <<len .LabelValuesByName>> <<len \"héllo\">>", "2 2 6"},
      {"<<eq .GroupBy \"pod,container\">> <<ne 1 2>> <<eq \"a\" \"b\" \"a\">> <<lt 1 2>> <<le 2 "
       "2>> <<gt 1.5 1.0>> <<ge \"a\" \"b\">>",
       "true true true true true true false"},
      {"<<and 1 0 2>> <<or 0 \"\" \"x\">> <<and 1 2>> <<or 0 \"\">> <<not .GroupBy>> <<not 0>>",
       "0 x 2  false true"},
      {"<<if and .GroupBy (not .Series)>>a<<else if .Series>>b<<else>>c<<end>>", "b"},
      {"<<eq .LabelValuesByName.missing \"\">>", "false"},
      {"<<print>>|<<print \"a\" \"b\">>|<<print 1 2>>|<<print \"a\" 1 \"b\">>|<<print true "
       "false>>|<<print .GroupBySlice .GroupBySlice>>",
       "|ab|1 2|a1b|true false|[pod container] [pod container]"},
      {"<<println 1 \"a\" 2>>", "1 a 2\n"},
      {"<<1.0>> <<1e6>> <<123456.0>> <<1.5e-5>> <<0x10>> <<'a'>> <<1e21>> <<-7>> <<0o17>> "
       "<<1_000>>",
       "1 1e+06 123456 1.5e-05 16 97 1e+21 -7 15 1000"},
      {"<<urlquery \"a b&c=d/é~-_.!*'()\">>|<<urlquery \"a\" 1 .GroupBySlice>>",
       "a+b%26c%3Dd%2F%C3%A9~-_.%21%2A%27%28%29|a1+%5Bpod+container%5D"},
      {"<<js \"a'b\\\"c<>&=\\n\\t\\\\é\">>|<<html \"<a href='x'>&\\\"\">>",
       "a\\'b\\\"c\\u003C\\u003E\\u0026\\u003D\\u000A\\u0009\\\\é|&lt;a "
       "href=&#39;x&#39;&gt;&amp;&#34;"},
      {"<<index .GroupBySlice 1>> <<index \"abc\" 1>> <<slice \"abcdef\" 1 3>> <<slice "
       ".GroupBySlice 1>>",
       "container 98 bc [container]"},
      {"<<.GroupBySlice | len>> <<\"a\" | printf \"%s-%s\" \"b\">> <<.Series | printf \"%s\" | "
       "len>>",
       "2 b-a 19"},
      {"<<range .GroupBySlice>><<if eq . \"pod\">><<continue>><<end>><<.>><<end>>", "container"},
      {"<<range .GroupBySlice>><<.>><<break>><<end>>after", "podafter"},
      {"<<range $k, $v := .LabelValuesByName>><<$k>>=<<$v>>;<<end>>", "namespace=shop;pod=a|b;"},
      {"<<range .LabelValuesByName>><<.>>,<<end>>", "shop,a|b,"},
      {"<<range $v := .GroupBySlice>><<$v>><<end>>", "podcontainer"},
      {"<<range .LabelValuesByName.missing>>x<<else>>empty<<end>>", "empty"},
      {"<<$x := 1>><<$x = 2>><<$x>>", "2"},
      {"<<$x := .GroupBySlice>><<range $x>><<.>><<end>><<len $x>>", "podcontainer2"},
      {"<<$>>",
       "{http_requests_total namespace=\"shop\",pod=~\"a|b\" map[namespace:shop pod:a|b] "
       "pod,container [pod container]}"},
      {"<<.>>",
       "{http_requests_total namespace=\"shop\",pod=~\"a|b\" map[namespace:shop pod:a|b] "
       "pod,container [pod container]}"},
      {"a  <<- \"b\" ->>  c", "abc"},
      {"a <<- /* comment */ ->> b", "ab"},
      {"x<</* comment */>>y", "xy"},
      {"<<\"a-b\">> <<`raw\\n`>> <<\"tab\\tq\\\"\">>", "a-b raw\\n tab\tq\""},
      {"<<(index .GroupBySlice 0)>> <<(printf \"%s\" \"x\") | len>>", "pod 1"},
      {"<<.LabelValuesByName.missing.deeper>>", "<no value>"},
      {"<<and .LabelValuesByName.missing 1>>", "<no value>"},
      {"<<printf \"%!\">> <<printf \"%\">> <<printf \"%z\" 1>> <<printf \"%d %%\" 3>>",
       "%!!(MISSING) %!(NOVERB) %!z(int=1) 3 %"},
      {"<<printf \"%s\" nil>> <<print nil>>", "%!s(<nil>) <nil>"},
      {"<<printf \"%6.2f|%-8.3e|%08.3f|% d\" 3.14159 1234.5 -3.14159 5>>",
       "  3.14|1.234e+03|-003.142| 5"},
      {"<<printf \"%v\" .>>",
       "{http_requests_total namespace=\"shop\",pod=~\"a|b\" map[namespace:shop pod:a|b] "
       "pod,container [pod container]}"}};
  return cases;
}

TEST(TemplateTest, RendersLikeGo) {
  const Data data = QueryData();
  for (const auto& c : GoRenderCases()) {
    SCOPED_TRACE(c.source);
    auto tmpl = Template::Compile(c.source, QueryFields());
    ASSERT_TRUE(tmpl.ok()) << tmpl.status();
    auto got = tmpl->Render(data);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, c.want);
  }
}

TEST(TemplateTest, ResourceTemplateForms) {
  const std::vector<std::string> fields = {"Group", "Resource"};
  const struct {
    std::string source;
    std::string group;
    std::string resource;
    std::string want;
  } cases[] = {
      {"<<.Resource>>", "", "pod", "pod"},
      {"kube_<<.Group>>_<<.Resource>>", "apps", "deployment", "kube_apps_deployment"},
      {"kube_<<.Group>>_<<.Resource>>", "", "pod", "kube__pod"},
      {"<<if .Group>><<.Group>>_<<end>><<.Resource>>", "networking_k8s_io", "ingress",
       "networking_k8s_io_ingress"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.source);
    auto tmpl = Template::Compile(c.source, fields);
    ASSERT_TRUE(tmpl.ok()) << tmpl.status();
    auto got = tmpl->Render(Data{{"Group", c.group}, {"Resource", c.resource}});
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, c.want);
    EXPECT_EQ(tmpl->source(), c.source);
  }
}

TEST(TemplateTest, ReferencesReportsRootFields) {
  const std::vector<std::string> fields = {"Group", "Resource"};
  const struct {
    std::string source;
    bool resource;
    bool group;
  } cases[] = {
      {"<<.Resource>>", true, false},
      {"kube_<<.Group>>_<<.Resource>>", true, true},
      {"static_label", false, false},
      {"<<$.Resource>>", true, false},
      {"<<with .Group>><<.>><<end>>", false, true},
      {"<</* .Resource */>>x", false, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.source);
    auto tmpl = Template::Compile(c.source, fields);
    ASSERT_TRUE(tmpl.ok()) << tmpl.status();
    EXPECT_EQ(tmpl->References("Resource"), c.resource);
    EXPECT_EQ(tmpl->References("Group"), c.group);
  }
}

struct ErrorCase {
  std::string source;
  std::string want_prefix;  // "template: line:col: what"
};

TEST(TemplateTest, CompileErrorsNamePosition) {
  const ErrorCase cases[] = {
      {"sum(<<.Series", "template: 1:5: unclosed action"},
      {"x\n  <<.Serie>>",
       "template: 2:5: unknown field .Serie; known fields: .GroupBy, "
       ".GroupBySlice, .LabelMatchers, .LabelValuesByName, .Series"},
      {"<<$.Nope>>", "template: 1:3: unknown field .Nope"},
      {"<<if .GroupBy>><<.Missing>><<end>>", "template: 1:18: unknown field .Missing"},
      {"<<foo .Series>>", R"(template: 1:3: function "foo" not defined)"},
      {"<<if .GroupBy>>x", "template: 1:17: unexpected EOF: <<if>> at 1:3 has no matching <<end>>"},
      {"a<<else>>", "template: 1:4: unexpected <<else>>"},
      {"<<end>>", "template: 1:3: unexpected <<end>>"},
      {"<<if>>x<<end>>", "template: 1:5: missing value for if"},
      {"<<break>>", "template: 1:3: <<break>> outside <<range>>"},
      {"<<$u>>", R"(template: 1:3: undefined variable "$u")"},
      {"<<if 1>><<$y := 3>><<end>><<$y>>", R"(template: 1:29: undefined variable "$y")"},
      {"<<range $i, $j, $k := .GroupBySlice>><<end>>",
       "template: 1:13: too many declarations in range"},
      {R"(<<"abc>>)", "template: 1:3: unterminated quoted string"},
      {"<<(.Series>>", "template: 1:11: unclosed left paren"},
      {"<<.Series)>>", "template: 1:10: unexpected right paren"},
      {"<</* open", "template: 1:1: unclosed comment"},
      {"<<.Series | 1>>", "template: 1:13: non executable command in pipeline stage 2"},
      {"<<3x>>", "template: 1:3: bad number syntax"},
      {R"(<<"a".b>>)", "template: 1:3: unexpected . after term"},
      {R"(<<define "x">><<end>>)", "template: 1:3: <<define>> is not supported"},
      {"<<if 1>>a<<else>>b<<else>>c<<end>>", "template: 1:21: expected end; found <<else>>"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.source);
    auto tmpl = Template::Compile(c.source, QueryFields());
    ASSERT_FALSE(tmpl.ok());
    EXPECT_EQ(tmpl.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(tmpl.status().message()), StartsWith(c.want_prefix));
  }
}

TEST(TemplateTest, FieldCheckIsConservativeWhereDotMoves) {
  // Inside range/with dot is no longer the root, so `.namespace` is a map key, not a field.
  const std::string sources[] = {
      "<<with .LabelValuesByName>><<.namespace>><<end>>",
      "<<range $k, $v := .LabelValuesByName>><<.>><<end>>",
      "<<with .LabelValuesByName>>x<<else>><<.Series>><<end>>",
      "<<range .GroupBySlice>><<$.Series>><<end>>",
  };
  for (const auto& source : sources) {
    SCOPED_TRACE(source);
    EXPECT_TRUE(Template::Compile(source, QueryFields()).ok());
  }
  // The pipeline of range/with still sees the outer dot, so it is checked.
  auto bad = Template::Compile("<<range .Nope>><<end>>", QueryFields());
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("unknown field .Nope"));
}

TEST(TemplateTest, ExecutionErrorsLikeGo) {
  const ErrorCase cases[] = {
      {"<<index .GroupBySlice 5>>",
       "template: 1:3: executing at <index .GroupBySlice 5>: error calling index: index out of "
       "range: 5"},
      {"<<.GroupBy 1>>",
       "template: 1:3: executing at <.GroupBy>: GroupBy has arguments but cannot be invoked as "
       "function"},
      {"<<len 3>>", "template: 1:3: executing at <len 3>: error calling len: len of type int"},
      {"<<range .Series>>x<<end>>",
       "template: 1:9: executing at <.Series>: range can't iterate over http_requests_total"},
      {"<<eq 1 1.0>>", "error calling eq: incompatible types for comparison"},
      {"<<eq .GroupBySlice .GroupBySlice>>",
       "error calling eq: non-comparable type [pod container]: []string"},
      {"<<and>>", "wrong number of args for and: want at least 1 got 0"},
      {"<<not>>", "wrong number of args for not: want 1 got 0"},
      {"<<.GroupBy.x>>", "can't evaluate field x in type string"},
      {R"(<<"x" 1>>)", R"(can't give argument to non-function "x")"},
  };
  const Data data = QueryData();
  for (const auto& c : cases) {
    SCOPED_TRACE(c.source);
    auto tmpl = Template::Compile(c.source, QueryFields());
    ASSERT_TRUE(tmpl.ok()) << tmpl.status();
    auto got = tmpl->Render(data);
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(got.status().message()), HasSubstr(c.want_prefix));
  }
}

TEST(TemplateTest, ShortCircuitSkipsFailingOperands) {
  // Go's and/or stop evaluating once the result is known, so the failing index never runs.
  auto tmpl = Template::Compile(R"(<<or .Series (index .GroupBySlice 9)>>|<<and "" (len 3)>>)",
                                QueryFields());
  ASSERT_TRUE(tmpl.ok()) << tmpl.status();
  auto got = tmpl->Render(QueryData());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, "http_requests_total|");
}

TEST(TemplateTest, EnforcesLimits) {
  EXPECT_FALSE(Template::Compile(std::string(kMaxTemplateBytes + 1, 'x'), QueryFields()).ok());

  std::string deep_if;
  for (int i = 0; i <= kMaxNestingDepth; ++i) {
    deep_if += "<<if 1>>";
  }
  auto nested = Template::Compile(deep_if, QueryFields());
  ASSERT_FALSE(nested.ok());
  EXPECT_THAT(std::string(nested.status().message()), HasSubstr("nested deeper than"));

  const std::string deep_parens = "<<" + std::string(kMaxNestingDepth + 1, '(') + "1" +
                                  std::string(kMaxNestingDepth + 1, ')') + ">>";
  EXPECT_FALSE(Template::Compile(deep_parens, QueryFields()).ok());

  // Output past kMaxOutputBytes is an error, not an unbounded allocation.
  auto wide =
      Template::Compile(R"(<<range .GroupBySlice>><<printf "%900000s" .>><<end>>)", QueryFields());
  ASSERT_TRUE(wide.ok()) << wide.status();
  auto out = wide->Render(QueryData());
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kResourceExhausted);

  // Nested ranges with no output would take 2^40 iterations; the step budget stops them.
  std::string ranges;
  for (int i = 0; i < 40; ++i) {
    ranges += "<<range $.GroupBySlice>>";
  }
  for (int i = 0; i < 40; ++i) {
    ranges += "<<end>>";
  }
  auto slow = Template::Compile(ranges, QueryFields());
  ASSERT_TRUE(slow.ok()) << slow.status();
  auto stopped = slow->Render(QueryData());
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(TemplateTest, RenderIsSafeFromManyThreads) {
  auto tmpl = Template::Compile("sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)",
                                QueryFields());
  ASSERT_TRUE(tmpl.ok()) << tmpl.status();
  const Template shared = *tmpl;
  std::vector<std::string> results(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < results.size(); ++t) {
    threads.emplace_back([&, t] {
      Data data = QueryData();
      data["Series"] = "series_" + std::to_string(t);
      for (int i = 0; i < 200; ++i) {
        results[t] = *shared.Render(data);
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  for (size_t t = 0; t < results.size(); ++t) {
    EXPECT_EQ(results[t], "sum(rate(series_" + std::to_string(t) +
                              R"({namespace="shop",pod=~"a|b"}[2m])) by (pod,container))");
  }
}

}  // namespace
}  // namespace ma::tmpl
