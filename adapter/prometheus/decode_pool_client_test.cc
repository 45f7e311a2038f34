// HttpPrometheusClient with a decode pool: what is decoded off the HTTP worker, and that the
// answers are the same as when decoded on it.

#include <pthread.h>

#include <future>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "adapter/decode/decode_pool.h"
#include "adapter/outbound/http_client.h"
#include "adapter/prometheus/http_prometheus_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/testing/loopback_http_server.h"
#include "test/testing/status_matchers.h"

namespace ma::prometheus {
namespace {

using ::ma::testing::HttpResponseBytes;
using ::ma::testing::IsOk;
using ::ma::testing::LoopbackHttpServer;
using ::ma::testing::LoopbackRequest;
using std::chrono::system_clock;

// Samples in the large answer: well over kMaxInlineDecodeBytes.
constexpr int kLargeSamples = 5000;
// Series in the listing, each with its own label names so that none merge.
constexpr int kListedSeries = 3000;

std::string ThreadName() {
  char name[16] = {};
  pthread_getname_np(pthread_self(), name, sizeof(name));
  return name;
}

std::string Vector(int samples) {
  std::string body = R"({"status":"success","data":{"resultType":"vector","result":[)";
  for (int i = 0; i < samples; ++i) {
    absl::StrAppend(&body, i == 0 ? "" : ",", R"({"metric":{"__name__":"m","pod":"pod-)", i,
                    R"(-with-a-long-name-to-fill-the-answer"},"value":[1700000000,"1"]})");
  }
  return body + "]}}";
}

std::string Listing(int series) {
  std::string body = R"({"status":"success","data":[)";
  for (int i = 0; i < series; ++i) {
    absl::StrAppend(&body, i == 0 ? "" : ",", R"({"__name__":"s)", i, R"(","job":"j"})");
  }
  return body + "]}";
}

std::optional<std::string> Answer(const LoopbackRequest& r) {
  const std::string target = r.Target();
  if (target.find("/api/v1/series") == 0) {
    return HttpResponseBytes(200,
                             target.find("broken") != std::string::npos
                                 ? R"({"status":"success","data":[{"__name__":)"
                                 : Listing(kListedSeries),
                             "application/json");
  }
  return HttpResponseBytes(200,
                           Vector(target.find("large") != std::string::npos ? kLargeSamples : 1),
                           "application/json");
}

// What a callback saw: the result and the thread it ran on.
template <typename T>
struct Seen {
  absl::StatusOr<T> result;
  std::string thread;
};

class DecodePoolClientTest : public ::testing::Test {
 protected:
  // `pool`: decode on the pool; otherwise on the HTTP worker.
  std::unique_ptr<HttpPrometheusClient> NewClient(bool pool) {
    PrometheusOptions options;
    options.url = server_.Url();
    auto client =
        HttpPrometheusClient::Create(*http_, std::move(options), pool ? &decode_ : nullptr);
    EXPECT_THAT(client, IsOk());
    return client.ok() ? *std::move(client) : nullptr;
  }

  Seen<model::QueryResult> Query(Client& client, std::string promql) {
    std::promise<Seen<model::QueryResult>> promise;
    client.Query(std::move(promql), system_clock::now(), [&promise](auto result) {
      if (!result.ok()) {
        promise.set_value({result.status(), ThreadName()});
        return;
      }
      promise.set_value({**result, ThreadName()});
    });
    return promise.get_future().get();
  }

  Seen<std::vector<model::Series>> Series(Client& client, std::string match) {
    std::promise<Seen<std::vector<model::Series>>> promise;
    client.Series(std::move(match), system_clock::now(), [&promise](auto result) {
      promise.set_value({std::move(result), ThreadName()});
    });
    return promise.get_future().get();
  }

  LoopbackHttpServer server_{Answer};
  // Before the HTTP client: destroyed after it, so every callback has run.
  decode::DecodePool decode_;
  std::unique_ptr<outbound::HttpClient> http_ = *outbound::HttpClient::Create({});
};

TEST_F(DecodePoolClientTest, OnlyALargeQueryAnswerIsDecodedOnThePool) {
  auto client = NewClient(/*pool=*/true);
  const auto small = Query(*client, "small");
  ASSERT_THAT(small.result, IsOk());
  EXPECT_EQ(small.result->samples.size(), 1u);
  EXPECT_EQ(small.thread, "ma-outbound");

  const auto large = Query(*client, "large");
  ASSERT_THAT(large.result, IsOk());
  EXPECT_EQ(large.result->samples.size(), static_cast<size_t>(kLargeSamples));
  EXPECT_EQ(large.thread, "ma-decode");
}

// Compressing a small instant-query answer costs Prometheus more than it saves; a listing can be
// large and may cross a network.
TEST_F(DecodePoolClientTest, OnlyTheSeriesListingAsksForACompressedAnswer) {
  auto client = NewClient(/*pool=*/true);
  ASSERT_THAT(Query(*client, "small").result, IsOk());
  ASSERT_THAT(Series(*client, "up").result, IsOk());
  const std::vector<LoopbackRequest> requests = server_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_THAT(requests[0].Target(), ::testing::StartsWith("/api/v1/query?"));
  EXPECT_EQ(requests[0].Header("Accept-Encoding"), "");
  EXPECT_THAT(requests[1].Target(), ::testing::StartsWith("/api/v1/series?"));
  EXPECT_THAT(requests[1].Header("Accept-Encoding"), ::testing::HasSubstr("gzip"));
}

TEST_F(DecodePoolClientTest, ASeriesListingIsDecodedOnThePoolAsOnTheWorker) {
  const auto on_worker = Series(*NewClient(/*pool=*/false), "listing");
  ASSERT_THAT(on_worker.result, IsOk());
  EXPECT_EQ(on_worker.thread, "ma-outbound");
  EXPECT_EQ(on_worker.result->size(), static_cast<size_t>(kListedSeries));

  const auto pooled = Series(*NewClient(/*pool=*/true), "listing");
  ASSERT_THAT(pooled.result, IsOk());
  EXPECT_EQ(pooled.thread, "ma-decode");
  EXPECT_EQ(*pooled.result, *on_worker.result);
  EXPECT_EQ(decode_.queued_bytes(), 0u);
}

// A listing far larger than the pool's bound is not refused: its transfer waits for room.
TEST_F(DecodePoolClientTest, AListingLargerThanThePoolsBoundIsDecodedWhole) {
  decode::DecodePool small_pool(/*threads=*/1, /*max_queued_bytes=*/4096);
  PrometheusOptions options;
  options.url = server_.Url();
  auto client = HttpPrometheusClient::Create(*http_, std::move(options), &small_pool);
  ASSERT_THAT(client, IsOk());
  ASSERT_GT(Listing(kListedSeries).size(), 10 * small_pool.max_queued_bytes());
  const auto listed = Series(**client, "up");
  ASSERT_THAT(listed.result, IsOk());
  EXPECT_EQ(listed.result->size(), static_cast<size_t>(kListedSeries));
}

TEST_F(DecodePoolClientTest, ABrokenListingFailsOnThePoolAsOnTheWorker) {
  const auto on_worker = Series(*NewClient(/*pool=*/false), "broken");
  ASSERT_FALSE(on_worker.result.ok());
  const auto pooled = Series(*NewClient(/*pool=*/true), "broken");
  ASSERT_FALSE(pooled.result.ok());
  EXPECT_EQ(pooled.result.status(), on_worker.result.status());
}

}  // namespace
}  // namespace ma::prometheus
