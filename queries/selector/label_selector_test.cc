#include "queries/selector/label_selector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ma::selector {
namespace {

using ::testing::HasSubstr;

// What Go's labels.Parse produces for the same text: the requirements and Selector.String().
struct GrammarCase {
  std::string text;
  std::vector<Requirement> want;
  std::string canonical;
};

TEST(LabelSelectorParseTest, GrammarRows) {
  const GrammarCase cases[] = {
      {"", {}, ""},
      {" \t\r\n ", {}, ""},
      {"a", {{"a", Operator::kExists, {}}}, "a"},
      {"!a", {{"a", Operator::kDoesNotExist, {}}}, "!a"},
      {"! a", {{"a", Operator::kDoesNotExist, {}}}, "!a"},
      {"a=b", {{"a", Operator::kEquals, {"b"}}}, "a=b"},
      {"a==b", {{"a", Operator::kDoubleEquals, {"b"}}}, "a==b"},
      {"a!=b", {{"a", Operator::kNotEquals, {"b"}}}, "a!=b"},
      {"a=", {{"a", Operator::kEquals, {""}}}, "a="},
      {"a==", {{"a", Operator::kDoubleEquals, {""}}}, "a=="},
      {"a!=,b", {{"a", Operator::kNotEquals, {""}}, {"b", Operator::kExists, {}}}, "a!=,b"},
      {"a>5", {{"a", Operator::kGreaterThan, {"5"}}}, "a>5"},
      {"a<007", {{"a", Operator::kLessThan, {"007"}}}, "a<007"},
      {"a in (c,b,b)", {{"a", Operator::kIn, {"b", "c"}}}, "a in (b,c)"},
      {"a notin (x)", {{"a", Operator::kNotIn, {"x"}}}, "a notin (x)"},
      {"a in ()", {{"a", Operator::kIn, {""}}}, "a in ()"},
      {"a in (,)", {{"a", Operator::kIn, {""}}}, "a in ()"},
      {"a in (b,)", {{"a", Operator::kIn, {"", "b"}}}, "a in (,b)"},
      {"a in (,b)", {{"a", Operator::kIn, {"", "b"}}}, "a in (,b)"},
      {"a in (b,,c)", {{"a", Operator::kIn, {"", "b", "c"}}}, "a in (,b,c)"},
      {"a in (b,,,c)", {{"a", Operator::kIn, {"", "b", "c"}}}, "a in (,b,c)"},
      {" a  in  ( c , b ) , ! d ",
       {{"a", Operator::kIn, {"b", "c"}}, {"d", Operator::kDoesNotExist, {}}},
       "a in (b,c),!d"},
      {"a\t=\nb", {{"a", Operator::kEquals, {"b"}}}, "a=b"},
      // `in` and `notin` are keywords only in operator position.
      {"in", {{"in", Operator::kExists, {}}}, "in"},
      {"!notin", {{"notin", Operator::kDoesNotExist, {}}}, "!notin"},
      {"in=notin", {{"in", Operator::kEquals, {"notin"}}}, "in=notin"},
      {"in in (in,notin)", {{"in", Operator::kIn, {"in", "notin"}}}, "in in (in,notin)"},
      {"notin notin (notin)", {{"notin", Operator::kNotIn, {"notin"}}}, "notin notin (notin)"},
      // Sorted by key, stable for equal keys.
      {"z=1,a=2,m",
       {{"a", Operator::kEquals, {"2"}},
        {"m", Operator::kExists, {}},
        {"z", Operator::kEquals, {"1"}}},
       "a=2,m,z=1"},
      {"b=2,a,b!=1",
       {{"a", Operator::kExists, {}},
        {"b", Operator::kEquals, {"2"}},
        {"b", Operator::kNotEquals, {"1"}}},
       "a,b=2,b!=1"},
      {"app.kubernetes.io/name in (web,api),example.com/Team_x=a.b-c_d",
       {{"app.kubernetes.io/name", Operator::kIn, {"api", "web"}},
        {"example.com/Team_x", Operator::kEquals, {"a.b-c_d"}}},
       "app.kubernetes.io/name in (api,web),example.com/Team_x=a.b-c_d"},
  };
  for (const auto& c : cases) {
    auto parsed = LabelSelector::Parse(c.text);
    ASSERT_TRUE(parsed.ok()) << "input: " << c.text << ": " << parsed.status();
    EXPECT_EQ(parsed->requirements(), c.want) << "input: " << c.text;
    EXPECT_EQ(parsed->String(), c.canonical) << "input: " << c.text;
    EXPECT_EQ(parsed->empty(), c.want.empty()) << "input: " << c.text;
  }
}

TEST(LabelSelectorParseTest, CanonicalFormReparsesToTheSameSelector) {
  const std::string inputs[] = {
      "x in (b,a),!y,z", "a in (,)",         "in notin (in)", "k==v,k=v,k!=v",
      "n>1,n<9",         "p/q notin (,x,y)", "a=,b!=",
  };
  for (const auto& input : inputs) {
    auto first = LabelSelector::Parse(input);
    ASSERT_TRUE(first.ok()) << input << ": " << first.status();
    auto second = LabelSelector::Parse(first->String());
    ASSERT_TRUE(second.ok()) << first->String() << ": " << second.status();
    EXPECT_EQ(second->requirements(), first->requirements()) << input;
    EXPECT_EQ(second->String(), first->String()) << input;
  }
}

struct ErrorCase {
  std::string text;
  std::string want;  // a substring of the message
};

TEST(LabelSelectorParseTest, GrammarErrors) {
  const ErrorCase cases[] = {
      {"a,", "found '', expected: identifier after ','"},
      {"a,,b", "found ',', expected: identifier after ','"},
      {"a=b,", "found '', expected: identifier after ','"},
      {"a,=b", "found '=', expected: identifier after ','"},
      {",a", "found ',', expected: !, identifier, or 'end of string'"},
      {"(a)", "found '(', expected: !, identifier, or 'end of string'"},
      {"!a=b", "found '=', expected: ',' or 'end of string'"},
      {"a=b=c", "found '=', expected: ',' or 'end of string'"},
      {"a=b c", "found 'c', expected: ',' or 'end of string'"},
      {"!", "unable to parse requirement: found '', expected: identifier"},
      {"!!a", "unable to parse requirement: found '!', expected: identifier"},
      {"a===b", "unable to parse requirement: found '=', expected: identifier"},
      {"a=!b", "unable to parse requirement: found '!', expected: identifier"},
      {"a=(b)", "unable to parse requirement: found '(', expected: identifier"},
      {"a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"},
      {"a(b)", "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt"},
      {"ain(b)", "unable to parse requirement: found '(', expected: in, notin"},
      {"a in b", "unable to parse requirement: found 'b' expected: '('"},
      {"a in", "unable to parse requirement: found '' expected: '('"},
      {"a in (b", "unable to parse requirement: found '', expected: ',' or ')'"},
      {"a in (b c)", "unable to parse requirement: found 'c', expected: ',' or ')'"},
      {"a in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier"},
      {"a in (", "unable to parse requirement: found '', expected: ',', ')' or identifier"},
      {"a in (b,=)", "unable to parse requirement: found '=', expected: ',', or identifier"},
      {"a in (b,", "unable to parse requirement: found '', expected: ',', or identifier"},
      {"a in (b),", "found '', expected: identifier after ','"},
  };
  for (const auto& c : cases) {
    auto parsed = LabelSelector::Parse(c.text);
    ASSERT_FALSE(parsed.ok()) << "input: " << c.text << " parsed as " << parsed->String();
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_THAT(std::string(parsed.status().message()), HasSubstr(c.want)) << "input: " << c.text;
  }
}

TEST(LabelSelectorParseTest, ValidationErrors) {
  const std::string name_regex = "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]'";
  const std::string value_regex = "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?'";
  const ErrorCase cases[] = {
      {"-a", "key: Invalid value: \"-a\": name part must consist of alphanumeric characters"},
      {"-a", name_regex},
      {"a_=b", "name part must consist of alphanumeric characters"},
      {"a/b/c", "a qualified name must consist of alphanumeric characters"},
      {"a/b/c", "with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"},
      {"/a", "prefix part must be non-empty"},
      {"a/", "name part must be non-empty"},
      {"Example.com/a", "prefix part a lowercase RFC 1123 subdomain must consist of lower case"},
      {"a..b/c", "prefix part a lowercase RFC 1123 subdomain"},
      {"a-/c", "prefix part a lowercase RFC 1123 subdomain"},
      {std::string(64, 'k'), "name part must be no more than 63 characters"},
      {std::string(254, 'p') + "/n=v", "prefix part must be no more than 253 characters"},
      {"a=" + std::string(64, 'v'), "values[0][a]: Invalid value"},
      {"a=" + std::string(64, 'v'), "must be no more than 63 characters"},
      {"a=-b", value_regex},
      {"a=b_", "values[0][a]: Invalid value: \"b_\": a valid label must be an empty string"},
      {"a in (ok,x_)", "values[1][a]: Invalid value: \"x_\""},
      {"a in (-x,-y)", "[values[0][a]: Invalid value: \"-x\""},
      {"a in (-x,-y)", ", values[1][a]: Invalid value: \"-y\""},
      {"a>b",
       "values[0]: Invalid value: \"b\": for 'Gt', 'Lt' operators, the value must be an "
       "integer"},
      {"a>", "values[0]: Invalid value: \"\": for 'Gt', 'Lt' operators"},
      {"a<1.5", "the value must be an integer"},
      {"a>99999999999999999999", "the value must be an integer"},
      {"a>-5", "values[0][a]: Invalid value: \"-5\": a valid label"},
      {std::string("a=b\0c", 5), "Invalid value: \"b\\x00c\""},
      {"a=caf\xc3\xa9", "Invalid value: \"caf\xc3\xa9\""},
  };
  for (const auto& c : cases) {
    auto parsed = LabelSelector::Parse(c.text);
    ASSERT_FALSE(parsed.ok()) << "input: " << c.text << " parsed as " << parsed->String();
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_THAT(std::string(parsed.status().message()), HasSubstr(c.want)) << "input: " << c.text;
    EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("unable to parse requirement: "))
        << "input: " << c.text;
  }
}

TEST(LabelSelectorParseTest, ValueErrorMatchesApimachineryText) {
  // The text kubectl shows for `-l a=-b` (apimachinery validation.RegexError, including its
  // doubled spaces).
  auto parsed = LabelSelector::Parse("a=-b");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message(),
            "unable to parse requirement: values[0][a]: Invalid value: \"-b\": a valid label must "
            "be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
            "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
            "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')");
}

TEST(LabelSelectorParseTest, ValidKeysAndValuesAtTheLimits) {
  const std::string name63(63, 'n');
  const std::string value63 = "v" + std::string(61, '-') + "v";
  const std::string prefix253 = std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                                std::string(63, 'c') + "." + std::string(61, 'd');
  ASSERT_EQ(prefix253.size(), 253u);
  const std::string inputs[] = {
      name63 + "=" + value63,
      prefix253 + "/" + name63,
      "a.b-c_d=E.f-g_H",
  };
  for (const auto& input : inputs) {
    auto parsed = LabelSelector::Parse(input);
    EXPECT_TRUE(parsed.ok()) << input << ": " << parsed.status();
  }
}

TEST(LabelSelectorParseTest, EnforcesInputBounds) {
  std::string big = "a=" + std::string(kMaxSelectorBytes, 'b');
  auto too_big = LabelSelector::Parse(big);
  ASSERT_FALSE(too_big.ok());
  EXPECT_THAT(std::string(too_big.status().message()),
              HasSubstr("more than the limit of " + std::to_string(kMaxSelectorBytes)));

  std::string many_requirements;
  for (size_t i = 0; i <= kMaxRequirements; ++i) {
    many_requirements += (i == 0 ? "k" : ",k") + std::to_string(i);
  }
  ASSERT_LE(many_requirements.size(), kMaxSelectorBytes);
  auto too_many = LabelSelector::Parse(many_requirements);
  ASSERT_FALSE(too_many.ok());
  EXPECT_THAT(std::string(too_many.status().message()),
              HasSubstr("more than " + std::to_string(kMaxRequirements) + " requirements"));

  // Exactly at the limit is fine.
  std::string at_limit = many_requirements.substr(0, many_requirements.rfind(','));
  auto ok = LabelSelector::Parse(at_limit);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->requirements().size(), kMaxRequirements);

  // kMaxValuesPerRequirement + 1 distinct values, short enough to fit in kMaxSelectorBytes.
  const std::string alnum = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::vector<std::string> distinct;
  for (size_t length = 1; distinct.size() <= kMaxValuesPerRequirement; ++length) {
    for (size_t n = 0; distinct.size() <= kMaxValuesPerRequirement; ++n) {
      std::string value;
      size_t rest = n;
      for (size_t i = 0; i < length; ++i, rest /= alnum.size()) {
        value += alnum[rest % alnum.size()];
      }
      if (rest != 0) {
        break;  // all values of this length are used
      }
      distinct.push_back(value);
    }
  }
  std::string many_values = "a in (";
  for (size_t i = 0; i < distinct.size(); ++i) {
    many_values += (i == 0 ? "" : ",") + distinct[i];
  }
  many_values += ")";
  ASSERT_LE(many_values.size(), kMaxSelectorBytes);
  auto too_many_values = LabelSelector::Parse(many_values);
  ASSERT_FALSE(too_many_values.ok());
  EXPECT_THAT(std::string(too_many_values.status().message()),
              HasSubstr("more than the limit of " + std::to_string(kMaxValuesPerRequirement)));
}

TEST(LabelSelectorParseTest, ManyInvalidValuesGiveABoundedMessage) {
  std::string text = "a in (";
  for (int i = 0; i < 1000; ++i) {
    text += (i == 0 ? "-" : ",-") + std::to_string(i);
  }
  text += ")";
  auto parsed = LabelSelector::Parse(text);
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("more]"));
  EXPECT_LT(parsed.status().message().size(), 4096u);
}

struct MatchCase {
  std::string selector;
  model::LabelSet labels;
  bool want;
};

TEST(LabelSelectorMatchTest, MatchesLikeApimachinery) {
  const MatchCase cases[] = {
      {"", {}, true},
      {"", {{"a", "b"}}, true},
      {"a=b", {{"a", "b"}}, true},
      {"a=b", {{"a", "c"}}, false},
      {"a=b", {}, false},
      {"a==b", {{"a", "b"}, {"x", "y"}}, true},
      {"a=", {{"a", ""}}, true},
      {"a=", {}, false},
      {"a!=b", {}, true},
      {"a!=b", {{"a", "b"}}, false},
      {"a!=b", {{"a", "c"}}, true},
      {"a in (b,c)", {{"a", "c"}}, true},
      {"a in (b,c)", {{"a", "d"}}, false},
      {"a in (b,c)", {}, false},
      {"a in ()", {{"a", ""}}, true},
      {"a in ()", {}, false},
      {"a notin (b,c)", {}, true},
      {"a notin (b,c)", {{"a", "b"}}, false},
      {"a notin (b,c)", {{"a", "d"}}, true},
      {"a", {{"a", ""}}, true},
      {"a", {{"b", "a"}}, false},
      {"!a", {}, true},
      {"!a", {{"a", "x"}}, false},
      {"a>5", {{"a", "6"}}, true},
      {"a>5", {{"a", "+6"}}, true},
      {"a>5", {{"a", "5"}}, false},
      {"a>5", {{"a", "x"}}, false},
      {"a>5", {}, false},
      {"a<5", {{"a", "-10"}}, true},
      {"a<5", {{"a", "5"}}, false},
      {"a<5", {{"a", "99999999999999999999"}}, false},
      {"a>0", {{"a", "9223372036854775807"}}, true},
      {"a<0", {{"a", "-9223372036854775808"}}, true},
      {"a=b,c", {{"a", "b"}, {"c", "x"}}, true},
      {"a=b,c", {{"a", "b"}}, false},
      {"a=b,a!=c", {{"a", "b"}}, true},
      {"app.kubernetes.io/name=web", {{"app.kubernetes.io/name", "web"}}, true},
      {"app.kubernetes.io/name=web", {{"name", "web"}}, false},
  };
  for (const auto& c : cases) {
    auto parsed = LabelSelector::Parse(c.selector);
    ASSERT_TRUE(parsed.ok()) << c.selector << ": " << parsed.status();
    EXPECT_EQ(parsed->Matches(c.labels), c.want) << "selector: " << c.selector;
  }
}

TEST(LabelSelectorMatchTest, DefaultSelectorMatchesEverything) {
  const LabelSelector selector;
  EXPECT_TRUE(selector.empty());
  EXPECT_TRUE(selector.Matches({}));
  EXPECT_TRUE(selector.Matches({{"a", "b"}}));
  EXPECT_EQ(selector.String(), "");
}

}  // namespace
}  // namespace ma::selector
