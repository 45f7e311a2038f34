#include "queries/selector/field_selector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ma::selector {
namespace {

using ::testing::HasSubstr;

TEST(FieldSelectorTest, ParsesTermsAndEscapes) {
  struct Case {
    std::string text;
    std::vector<FieldTerm> want;
  };
  const Case cases[] = {
      {"", {}},
      {"metadata.name=web-1", {{"metadata.name", true, "web-1"}}},
      {"metadata.name==web-1", {{"metadata.name", true, "web-1"}}},
      {"metadata.namespace!=kube-system,metadata.name=a",
       {{"metadata.namespace", false, "kube-system"}, {"metadata.name", true, "a"}}},
      {"metadata.name=a\\,b\\=c\\\\", {{"metadata.name", true, "a,b=c\\"}}},
      {"metadata.name=", {{"metadata.name", true, ""}}},
      {"metadata.name=a,,", {{"metadata.name", true, "a"}}},
  };
  for (const auto& c : cases) {
    auto parsed = FieldSelector::Parse(c.text);
    ASSERT_TRUE(parsed.ok()) << c.text << ": " << parsed.status();
    EXPECT_EQ(parsed->terms(), c.want) << c.text;
  }
}

TEST(FieldSelectorTest, RejectsMalformedText) {
  struct Case {
    std::string text;
    std::string message;
  };
  const Case cases[] = {
      {"metadata.name", "can't understand"},
      {"status.phase=Running", "field label not supported: status.phase"},
      {"metadata.name=a=b", "unescaped"},
      {"metadata.name=a\\x", "backslash"},
      {std::string(kMaxSelectorBytes + 1, 'a'), "longer than"},
  };
  for (const auto& c : cases) {
    auto parsed = FieldSelector::Parse(c.text);
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_THAT(parsed.status().message(), HasSubstr(c.message)) << c.text;
  }
  std::string many;
  for (size_t i = 0; i <= kMaxFieldTerms; ++i) {
    many += "metadata.name!=a,";
  }
  EXPECT_THAT(FieldSelector::Parse(many).status().message(), HasSubstr("more than"));
}

TEST(FieldSelectorTest, MatchesNameAndNamespace) {
  const auto selector = *FieldSelector::Parse("metadata.namespace=shop,metadata.name!=web-2");
  EXPECT_TRUE(selector.Matches("shop", "web-1"));
  EXPECT_FALSE(selector.Matches("shop", "web-2"));
  EXPECT_FALSE(selector.Matches("billing", "web-1"));
  EXPECT_TRUE(FieldSelector().Matches("any", "thing"));
  // A cluster-scoped object has no namespace.
  EXPECT_TRUE(FieldSelector::Parse("metadata.namespace=")->Matches("", "node-1"));
}

}  // namespace
}  // namespace ma::selector
