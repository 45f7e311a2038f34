#include "adapter/prometheus/api_request.h"

#include <chrono>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ma::prometheus {
namespace {

using std::chrono::milliseconds;

std::chrono::system_clock::time_point AtMillis(int64_t ms) {
  return std::chrono::system_clock::time_point(milliseconds(ms));
}

TEST(ParseBaseUrlTest, SplitsOriginPathAndQuery) {
  struct Case {
    std::string url;
    std::string origin, path, query;
  };
  const std::vector<Case> cases = {
      {"http://prometheus:9090", "http://prometheus:9090", "", ""},
      {"HTTPS://thanos.example/prometheus/", "https://thanos.example", "/prometheus/", ""},
      {"http://10.0.0.1:9090/prom?dedup=false#frag", "http://10.0.0.1:9090", "/prom",
       "dedup=false"},
      {"http://user:pw@h:1?x=1", "http://user:pw@h:1", "", "x=1"},
      {"http://[::1]:9090/", "http://[::1]:9090", "/", ""},
  };
  for (const Case& c : cases) {
    auto base = ParseBaseUrl(c.url);
    ASSERT_TRUE(base.ok()) << c.url << ": " << base.status();
    EXPECT_EQ(base->origin, c.origin) << c.url;
    EXPECT_EQ(base->path, c.path) << c.url;
    EXPECT_EQ(base->query, c.query) << c.url;
  }
  for (const std::string& bad :
       std::vector<std::string>{"", "prometheus:9090", "ftp://h/", "http://", "http:///x",
                                "http://:9090", "http://h/a b", std::string(5000, 'h')}) {
    auto base = ParseBaseUrl(bad);
    EXPECT_EQ(base.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(base.status().message()), ::testing::HasSubstr("--prometheus-url"));
  }
}

TEST(JoinPathTest, MatchesGoPathJoin) {
  struct Case {
    std::string base, endpoint, want;
  };
  const std::vector<Case> cases = {
      {"", "/api/v1/query", "/api/v1/query"},
      {"/", "/api/v1/query", "/api/v1/query"},
      {"/prometheus", "/api/v1/query", "/prometheus/api/v1/query"},
      {"/prometheus/", "/api/v1/series", "/prometheus/api/v1/series"},
      {"//a//b/./c/..", "/api", "/a/b/api"},
      {"/..", "/api", "/api"},
      {"a", "b", "a/b"},
      {"", "", ""},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(JoinPath(c.base, c.endpoint), c.want) << c.base << " + " << c.endpoint;
  }
}

TEST(EncodeFormTest, MatchesGoValuesEncode) {
  struct Case {
    Params params;
    std::string want;
  };
  const std::vector<Case> cases = {
      {{{"start", "1"}, {"match[]", "up{job=\"a b\"}"}},
       "match%5B%5D=up%7Bjob%3D%22a+b%22%7D&start=1"},
      {{{"timeout", "30s"}, {"time", "1.5"}, {"query", "sum(rate(x[5m])) by (pod)"}},
       "query=sum%28rate%28x%5B5m%5D%29%29+by+%28pod%29&time=1.5&timeout=30s"},
      {{{"q", "a=~\"x|y\",b!=\"\\\\\""}}, "q=a%3D~%22x%7Cy%22%2Cb%21%3D%22%5C%5C%22"},
      {{{"k", "-_.~é/+&"}}, "k=-_.~%C3%A9%2F%2B%26"},
      {{{"b", "2"}, {"a", "1"}, {"b", "1"}}, "a=1&b=2&b=1"},
      {{}, ""},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(EncodeForm(c.params), c.want);
  }
}

TEST(FormatTimeTest, SecondsWithTrimmedMillis) {
  struct Case {
    int64_t ms;
    std::string want;
  };
  const std::vector<Case> cases = {
      {1597806407851, "1597806407.851"},
      {1597806407800, "1597806407.8"},
      {1597806407000, "1597806407"},
      {1597806407050, "1597806407.05"},
      {0, "0"},
      {-1500, "-1.5"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(FormatTime(AtMillis(c.ms)), c.want) << c.ms;
  }
  // Sub-millisecond precision is truncated.
  EXPECT_EQ(FormatTime(AtMillis(1597806407851) + std::chrono::microseconds(999)), "1597806407.851");
}

TEST(FormatTimeoutTest, WholeSecondsOrMillis) {
  EXPECT_EQ(FormatTimeout(milliseconds(30000)), "30s");
  EXPECT_EQ(FormatTimeout(milliseconds(1500)), "1500ms");
  EXPECT_EQ(FormatTimeout(milliseconds(60000)), "60s");
}

TEST(BuildApiRequestTest, GetPostAndLongUrlFallback) {
  const BaseUrl base{.origin = "http://h:9090", .path = "/prom", .query = "dedup=false"};
  const Params params = {{"query", "up"}, {"time", "1.5"}};

  ApiRequest get = BuildApiRequest(base, "/api/v1/query", params, /*post=*/false);
  EXPECT_EQ(get.method, "GET");
  EXPECT_EQ(get.url, "http://h:9090/prom/api/v1/query?query=up&time=1.5");  // base query replaced
  EXPECT_EQ(get.body, "");

  ApiRequest post = BuildApiRequest(base, "/api/v1/query", params, /*post=*/true);
  EXPECT_EQ(post.method, "POST");
  EXPECT_EQ(post.url, "http://h:9090/prom/api/v1/query?dedup=false");  // base query kept
  EXPECT_EQ(post.body, "query=up&time=1.5");

  const Params long_params = {{"query", std::string(kMaxGetUrlBytes, 'x')}};
  ApiRequest fallback = BuildApiRequest(base, "/api/v1/query", long_params, /*post=*/false);
  EXPECT_EQ(fallback.method, "POST");
  EXPECT_EQ(fallback.body, "query=" + std::string(kMaxGetUrlBytes, 'x'));

  // Right at the limit stays a GET.
  const std::string prefix = "http://h:9090/prom/api/v1/query?query=";
  const Params at_limit = {{"query", std::string(kMaxGetUrlBytes - prefix.size(), 'y')}};
  ApiRequest edge = BuildApiRequest(base, "/api/v1/query", at_limit, /*post=*/false);
  EXPECT_EQ(edge.method, "GET");
  EXPECT_EQ(edge.url.size(), kMaxGetUrlBytes);
}

}  // namespace
}  // namespace ma::prometheus
