#include "adapter/http/url.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ma::http {
namespace {

using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using Query = std::vector<std::pair<std::string, std::string>>;

struct TargetCase {
  std::string name;
  std::string target;
  std::string want_path;
  std::vector<std::string> want_segments;
  Query want_query;
};

class ParseRequestTargetTest : public ::testing::TestWithParam<TargetCase> {};

TEST_P(ParseRequestTargetTest, SplitsAndDecodes) {
  const TargetCase& tc = GetParam();
  absl::StatusOr<Request> request = ParseRequestTarget("GET", tc.target);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->method, "GET");
  EXPECT_EQ(request->target, tc.target);
  EXPECT_EQ(request->path, tc.want_path);
  EXPECT_THAT(request->path_segments, ElementsAreArray(tc.want_segments));
  EXPECT_THAT(request->query, ElementsAreArray(tc.want_query));
}

INSTANTIATE_TEST_SUITE_P(
    Targets, ParseRequestTargetTest,
    ::testing::ValuesIn(std::vector<TargetCase>{
        {"Root", "/", "/", {}, {}},
        {"TrailingSlashDropped", "/apis/x/v1/", "/apis/x/v1/", {"apis", "x", "v1"}, {}},
        {"EmptySegmentsDropped", "//apis///x", "//apis///x", {"apis", "x"}, {}},
        {"StarDecoded",
         "/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/%2A/http_requests",
         "/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/%2A/http_requests",
         {"apis", "custom.metrics.k8s.io", "v1beta1", "namespaces", "default", "pods", "*",
          "http_requests"},
         {}},
        {"PlusStaysInPath", "/a+b/c%20d", "/a+b/c%20d", {"a+b", "c d"}, {}},
        {"EncodedSlashStaysInSegment", "/a%2Fb/c", "/a%2Fb/c", {"a/b", "c"}, {}},
        {"LowercaseHex", "/%7e%7E", "/%7e%7E", {"~~"}, {}},
        {"QueryFormDecoded",
         "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue_depth?labelSelector=queue%"
         "3Dorders,env+in+(a%2Cb)",
         "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue_depth",
         {"apis", "external.metrics.k8s.io", "v1beta1", "namespaces", "shop", "queue_depth"},
         {{"labelSelector", "queue=orders,env in (a,b)"}}},
        {"QueryOrderAndRepeats",
         "/x?b=2&a=1&&b=3&flag",
         "/x",
         {"x"},
         {{"b", "2"}, {"a", "1"}, {"b", "3"}, {"flag", ""}}},
        {"EqualsInValueKept", "/x?s=a%3D%3Db=c", "/x", {"x"}, {{"s", "a==b=c"}}},
        {"EmptyQuery", "/x?", "/x", {"x"}, {}},
        {"FragmentIgnored", "/x?a=1#frag", "/x", {"x"}, {{"a", "1"}}},
    }),
    [](const ::testing::TestParamInfo<TargetCase>& param_info) { return param_info.param.name; });

struct ErrorCase {
  std::string name;
  std::string target;
  std::string want_message_part;
};

class ParseRequestTargetErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ParseRequestTargetErrorTest, RejectsWithActionableMessage) {
  const ErrorCase& tc = GetParam();
  absl::StatusOr<Request> request = ParseRequestTarget("GET", tc.target);
  ASSERT_FALSE(request.ok());
  EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(request.status().message()), HasSubstr(tc.want_message_part));
}

INSTANTIATE_TEST_SUITE_P(
    Errors, ParseRequestTargetErrorTest,
    ::testing::ValuesIn(std::vector<ErrorCase>{
        {"MalformedEscapeInPath", "/a/%zz", "invalid URL escape \"%zz\""},
        {"TruncatedEscapeInPath", "/a/b%2", "invalid URL escape \"%2\""},
        {"LonePercentInQuery", "/a?x=%", "invalid URL escape \"%\""},
        {"MalformedEscapeInQueryKey", "/a?%g1=1", "invalid URL escape \"%g1\""},
        {"NotOriginForm", "http://example.com/a", "does not start with \"/\""},
        {"Empty", "", "does not start with \"/\""},
        {"TooLong", "/" + std::string(kMaxTargetBytes, 'a'), "the limit is"},
        {"TooManySegments",
         [] {
           std::string target;
           for (std::size_t i = 0; i <= kMaxPathSegments; ++i) {
             target += "/s";
           }
           return target;
         }(),
         "segments"},
        {"TooManyParameters",
         [] {
           std::string target = "/x?";
           for (std::size_t i = 0; i <= kMaxQueryParameters; ++i) {
             target += "p=1&";
           }
           return target;
         }(),
         "query parameters"},
    }),
    [](const ::testing::TestParamInfo<ErrorCase>& param_info) { return param_info.param.name; });

TEST(ParseRequestTargetTest, TargetAtTheLimitIsAccepted) {
  std::string target = "/" + std::string(kMaxTargetBytes - 1, 'a');
  absl::StatusOr<Request> request = ParseRequestTarget("GET", target);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->path_segments.size(), 1u);
}

}  // namespace
}  // namespace ma::http
