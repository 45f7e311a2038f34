#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "adapter/outbound/http_client.h"
#include "adapter/prometheus/http_prometheus_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/testing/free_port.h"
#include "test/testing/prometheus_server.h"
#include "test/testing/status_matchers.h"

namespace ma::prometheus {
namespace {

// The process's one outbound client, as serve has it; never destroyed, so no channel outlives it.
outbound::HttpClient& SharedHttp() {
  static outbound::HttpClient* const http = outbound::HttpClient::Create({})->release();
  return *http;
}

using ::ma::testing::FreeLoopbackPort;
using ::ma::testing::IsOk;
using ::ma::testing::StatusIs;
using std::chrono::system_clock;
using ::testing::HasSubstr;

absl::StatusOr<model::QueryResult> QuerySync(Client& client, std::string promql,
                                             system_clock::time_point time) {
  std::promise<absl::StatusOr<model::QueryResult>> promise;
  auto future = promise.get_future();
  client.Query(std::move(promql), time, [&promise](absl::StatusOr<QueryResultPtr> result) {
    if (!result.ok()) {
      promise.set_value(result.status());
      return;
    }
    EXPECT_NE(*result, nullptr);
    promise.set_value(**result);
  });
  return future.get();
}

absl::StatusOr<std::vector<model::Series>> SeriesSync(Client& client, std::string match,
                                                      system_clock::time_point start) {
  std::promise<absl::StatusOr<std::vector<model::Series>>> promise;
  auto future = promise.get_future();
  client.Series(std::move(match), start,
                [&promise](absl::StatusOr<std::vector<model::Series>> result) {
                  promise.set_value(std::move(result));
                });
  return future.get();
}

std::unique_ptr<HttpPrometheusClient> NewClient(std::string url, std::string verb = "GET") {
  PrometheusOptions options;
  options.url = std::move(url);
  options.verb = std::move(verb);
  auto client = HttpPrometheusClient::Create(SharedHttp(), std::move(options));
  EXPECT_THAT(client, IsOk());
  return client.ok() ? *std::move(client) : nullptr;
}

// Now at millisecond precision (the API's), so the evaluation time can be compared exactly. Not
// earlier: a freshly started server has samples only from the last moments.
system_clock::time_point QueryTime() {
  return std::chrono::floor<std::chrono::milliseconds>(system_clock::now());
}

int64_t Millis(system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

bool HasPrometheusUpSample(const model::QueryResult& result) {
  return std::any_of(result.samples.begin(), result.samples.end(), [](const model::Sample& s) {
    const auto job = s.labels.find("job");
    const auto name = s.labels.find("__name__");
    return job != s.labels.end() && job->second == "prometheus" && name != s.labels.end() &&
           name->second == "up" && s.value == 1;
  });
}

// Servers are started on first use (each takes seconds: Prometheus applies new scrape targets
// after 5s) and shared by the tests of the suite; ctest runs each test in its own process.
class PrometheusClientTest : public ::testing::Test {
 protected:
  static void TearDownTestSuite() {
    Slot(false).reset();
    Slot(true).reset();
  }

  static std::unique_ptr<ma::testing::PrometheusServer>& Slot(bool prefixed) {
    static std::unique_ptr<ma::testing::PrometheusServer> servers[2];
    return servers[prefixed ? 1 : 0];
  }

  // Plain: served at "/". Prefixed: served under "/prometheus".
  static ma::testing::PrometheusServer& Server(bool prefixed) {
    std::unique_ptr<ma::testing::PrometheusServer>& slot = Slot(prefixed);
    if (slot == nullptr) {
      ma::testing::PrometheusServerOptions options;
      options.route_prefix = prefixed ? "/prometheus" : "";
      auto server = ma::testing::PrometheusServer::Create(options);
      if (!server.ok()) {
        // Every test of the suite needs it: fail loudly once rather than limp on.
        std::fprintf(stderr, "Prometheus did not start: %s\n", server.status().ToString().c_str());
        std::abort();
      }
      slot = *std::move(server);
    }
    return *slot;
  }
  static ma::testing::PrometheusServer& Plain() { return Server(false); }
  static ma::testing::PrometheusServer& Prefixed() { return Server(true); }
};

TEST_F(PrometheusClientTest, UpQueryReturnsVectorWithJobLabelAtQueryTime) {
  for (const std::string verb : {"GET", "POST"}) {
    auto client = NewClient(Plain().url(), verb);
    const auto time = QueryTime();
    auto result = QuerySync(*client, "up", time);
    ASSERT_THAT(result, IsOk()) << verb << ": " << result.status();
    EXPECT_EQ(result->type, model::ResultType::kVector) << verb;
    EXPECT_TRUE(HasPrometheusUpSample(*result)) << verb;
    for (const model::Sample& sample : result->samples) {
      EXPECT_EQ(sample.timestamp_ms, Millis(time)) << verb;
    }
  }
}

TEST_F(PrometheusClientTest, ScalarQuery) {
  auto client = NewClient(Plain().url());
  auto result = QuerySync(*client, "1 + 1", QueryTime());
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->type, model::ResultType::kScalar);
  ASSERT_EQ(result->samples.size(), 1u);
  EXPECT_EQ(result->samples[0].value, 2);
}

TEST_F(PrometheusClientTest, SyntaxErrorIsInvalidArgument) {
  for (const std::string verb : {"GET", "POST"}) {
    auto client = NewClient(Plain().url(), verb);
    auto result = QuerySync(*client, "sum(up", QueryTime());
    EXPECT_THAT(result, StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(std::string(result.status().message()), HasSubstr("bad_data")) << verb;
  }
}

TEST_F(PrometheusClientTest, SeriesListsUpSeries) {
  for (const std::string verb : {"GET", "POST"}) {
    auto client = NewClient(Plain().url(), verb);
    auto series = SeriesSync(*client, "up", system_clock::now() - std::chrono::hours(1));
    ASSERT_THAT(series, IsOk()) << verb << ": " << series.status();
    // Label names only: the listing is streamed and merged by shape.
    const model::Series want{.name = "up", .labels = {{"instance", ""}, {"job", ""}}};
    EXPECT_THAT(*series, ::testing::Contains(want)) << verb;
  }
}

// An error answer is not streamed: it is buffered and its envelope decoded as before.
TEST_F(PrometheusClientTest, SeriesWithBadMatcherIsInvalidArgument) {
  auto client = NewClient(Plain().url());
  auto series = SeriesSync(*client, "{", system_clock::now() - std::chrono::hours(1));
  EXPECT_THAT(series, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bad_data")));
}

TEST_F(PrometheusClientTest, LongGetQueryFallsBackToPost) {
  auto client = NewClient(Plain().url(), "GET");
  std::string alternation = "prometheus";
  while (alternation.size() <= kMaxGetUrlBytes) {
    absl::StrAppend(&alternation, "|not-a-job-", alternation.size());
  }
  auto result = QuerySync(*client, absl::StrCat("up{job=~\"", alternation, "\"}"), QueryTime());
  ASSERT_THAT(result, IsOk());
  EXPECT_TRUE(HasPrometheusUpSample(*result));
}

TEST_F(PrometheusClientTest, BasePathIsKept) {
  for (const std::string suffix : {"", "/"}) {
    auto client = NewClient(Prefixed().url() + suffix);
    auto result = QuerySync(*client, "up", QueryTime());
    ASSERT_THAT(result, IsOk()) << suffix << ": " << result.status();
    EXPECT_TRUE(HasPrometheusUpSample(*result));
    auto series = SeriesSync(*client, "up", system_clock::now() - std::chrono::hours(1));
    ASSERT_THAT(series, IsOk());
    EXPECT_FALSE(series->empty());
  }
  // Without the prefix the same server has no API: the path really is used.
  auto rootless = NewClient(absl::StrCat("http://127.0.0.1:", Prefixed().port()));
  auto result = QuerySync(*rootless, "up", QueryTime());
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kInternal, HasSubstr("unknown response code")));
}

TEST_F(PrometheusClientTest, OutageIsUnavailableAndRecovers) {
  auto client = NewClient(Prefixed().url());
  ASSERT_TRUE(Prefixed().Stop().ok());
  auto down = QuerySync(*client, "up", QueryTime());
  EXPECT_THAT(down, StatusIs(absl::StatusCode::kUnavailable));
  auto down_series = SeriesSync(*client, "up", system_clock::now() - std::chrono::hours(1));
  EXPECT_THAT(down_series, StatusIs(absl::StatusCode::kUnavailable));

  ASSERT_TRUE(Prefixed().Start().ok());
  auto up = QuerySync(*client, "up", QueryTime());
  ASSERT_THAT(up, IsOk());
  EXPECT_TRUE(HasPrometheusUpSample(*up));
}

TEST(HttpPrometheusClientTest, UnreachablePortIsUnavailable) {
  const absl::StatusOr<int> port = FreeLoopbackPort();
  ASSERT_THAT(port, IsOk());
  auto client = NewClient(absl::StrCat("http://127.0.0.1:", *port));
  auto result = QuerySync(*client, "up", system_clock::now());
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("/api/v1/query")));
}

TEST(HttpPrometheusClientTest, CreateNamesTheFlagAtFault) {
  struct Case {
    std::string name;
    PrometheusOptions options;
    std::string flag;
  };
  const auto with = [](auto mutate) {
    PrometheusOptions options;
    options.url = "http://127.0.0.1:9090";
    mutate(options);
    return options;
  };
  const std::vector<Case> cases = {
      {"no url", with([](PrometheusOptions& o) { o.url = ""; }), "--prometheus-url"},
      {"bad url", with([](PrometheusOptions& o) { o.url = "localhost:9090"; }), "--prometheus-url"},
      {"verb", with([](PrometheusOptions& o) { o.verb = "PUT"; }), "--prometheus-verb"},
      {"lowercase verb", with([](PrometheusOptions& o) { o.verb = "get"; }), "--prometheus-verb"},
      {"header name", with([](PrometheusOptions& o) {
         o.headers = {{"Bad Name", "v"}};
       }),
       "--prometheus-header"},
      {"header value", with([](PrometheusOptions& o) {
         o.headers = {{"X-A", "v\nX-B: 1"}};
       }),
       "--prometheus-header"},
      {"token file", with([](PrometheusOptions& o) { o.token_file = "/nonexistent/token"; }),
       "--prometheus-token-file"},
      {"ca file", with([](PrometheusOptions& o) { o.tls.ca_file = "/nonexistent/ca.pem"; }),
       "--prometheus-ca-file"},
      {"cert without key",
       with([](PrometheusOptions& o) { o.tls.client_cert_file = "/etc/hostname"; }),
       "--prometheus-client-tls-key-file"},
      {"unreadable key", with([](PrometheusOptions& o) {
         o.tls.client_cert_file = "/etc/hostname";
         o.tls.client_key_file = "/nonexistent/key.pem";
       }),
       "--prometheus-client-tls-key-file"},
  };
  for (const Case& c : cases) {
    auto client = HttpPrometheusClient::Create(SharedHttp(), c.options);
    EXPECT_THAT(client, StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(std::string(client.status().message()), HasSubstr(c.flag)) << c.name;
  }
}

}  // namespace
}  // namespace ma::prometheus
