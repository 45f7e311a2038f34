#include "adapter/outbound/http_client.h"

#include <atomic>
#include <functional>
#include <future>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/testing/free_port.h"
#include "test/testing/loopback_http_server.h"
#include "test/testing/status_matchers.h"

namespace ma::outbound {
namespace {

using ::ma::testing::FreeLoopbackPort;
using ::ma::testing::HttpResponseBytes;
using ::ma::testing::IsOk;
using ::ma::testing::LoopbackHttpServer;
using ::ma::testing::LoopbackRequest;
using ::ma::testing::StatusIs;
using ::testing::HasSubstr;

constexpr size_t kBigBodyBytes = 100000;

// The routes these tests' loopback server answers: enough to observe what the client sends and
// how it reuses connections.
std::optional<std::string> Route(const LoopbackRequest& request) {
  const std::string path = request.Target();
  if (path == "/hello") {
    return HttpResponseBytes(200, "hello");
  }
  if (path == "/status/503") {
    return HttpResponseBytes(503, "down");
  }
  if (path == "/status/404") {
    return HttpResponseBytes(404, "missing");
  }
  if (path.starts_with("/echo")) {
    return HttpResponseBytes(200, request.Raw());
  }
  if (path == "/big") {
    return HttpResponseBytes(200, std::string(kBigBodyBytes, 'x'));
  }
  if (path == "/chunked-big") {
    std::string reply = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (size_t sent = 0; sent < kBigBodyBytes; sent += 1000) {
      absl::StrAppend(&reply, "3e8\r\n", std::string(1000, 'y'), "\r\n");
    }
    absl::StrAppend(&reply, "0\r\n\r\n");
    return reply;
  }
  if (path == "/hang") {
    return std::nullopt;  // never answers
  }
  return HttpResponseBytes(404, "no route");
}

absl::StatusOr<OutboundResponse> SendSync(HttpClient& client, OutboundRequest request) {
  std::promise<absl::StatusOr<OutboundResponse>> promise;
  auto future = promise.get_future();
  client.Send(std::move(request), [&promise](absl::StatusOr<OutboundResponse> result) {
    promise.set_value(std::move(result));
  });
  return future.get();
}

std::unique_ptr<HttpClient> NewClient(HttpClientOptions options = {}) {
  auto client = HttpClient::Create(std::move(options));
  EXPECT_THAT(client, IsOk());
  return client.ok() ? *std::move(client) : nullptr;
}

OutboundRequest Get(std::string url) {
  OutboundRequest request;
  request.url = std::move(url);
  request.timeout = std::chrono::seconds(20);
  return request;
}

struct ResponseCase {
  std::string path;
  long status;
  std::string body;
};

TEST(HttpClientTest, DeliversStatusBodyAndContentType) {
  const std::vector<ResponseCase> cases = {
      {"/hello", 200, "hello"},
      {"/status/503", 503, "down"},
      {"/status/404", 404, "missing"},
  };
  LoopbackHttpServer server(Route);
  auto client = NewClient();
  for (const ResponseCase& c : cases) {
    auto response = SendSync(*client, Get(server.Url(c.path)));
    ASSERT_THAT(response, IsOk()) << c.path << ": " << response.status();
    EXPECT_EQ(response->status, c.status) << c.path;
    EXPECT_EQ(response->body, c.body) << c.path;
    EXPECT_EQ(response->content_type, "text/plain") << c.path;
  }
}

TEST(HttpClientTest, ReusesKeepAliveConnection) {
  LoopbackHttpServer server(Route);
  auto client = NewClient();
  for (int i = 0; i < 5; ++i) {
    auto response = SendSync(*client, Get(server.Url("/hello")));
    ASSERT_THAT(response, IsOk());
    EXPECT_EQ(response->status, 200);
  }
  EXPECT_EQ(server.connections_accepted(), 1);
}

TEST(HttpClientTest, TimeoutIsDeadlineExceeded) {
  LoopbackHttpServer server(Route);
  auto client = NewClient();
  OutboundRequest request = Get(server.Url("/hang"));
  request.timeout = std::chrono::milliseconds(200);
  auto response = SendSync(*client, std::move(request));
  EXPECT_THAT(response, StatusIs(absl::StatusCode::kDeadlineExceeded));
  // The connection stays usable for later requests.
  auto after = SendSync(*client, Get(server.Url("/hello")));
  ASSERT_THAT(after, IsOk());
  EXPECT_EQ(after->body, "hello");
}

TEST(HttpClientTest, OversizedBodyIsResourceExhausted) {
  LoopbackHttpServer server(Route);
  auto client = NewClient();
  for (const std::string path : {"/big", "/chunked-big"}) {
    OutboundRequest request = Get(server.Url(path));
    request.max_response_bytes = kBigBodyBytes - 1;
    auto response = SendSync(*client, std::move(request));
    EXPECT_EQ(response.status().code(), absl::StatusCode::kResourceExhausted)
        << path << ": " << response.status();

    request = Get(server.Url(path));
    request.max_response_bytes = kBigBodyBytes;
    response = SendSync(*client, std::move(request));
    ASSERT_THAT(response, IsOk()) << path << ": " << response.status();
    EXPECT_EQ(response->body.size(), kBigBodyBytes) << path;
  }
}

// What a streamed GET delivered to its consumer.
struct Streamed {
  absl::StatusOr<OutboundResponse> response;
  std::string body;  // written on the worker thread, read after the final callback
  int chunks = 0;
};

Streamed StreamGet(HttpClient& client, std::string url,
                   std::function<bool(size_t)> ready_for_chunk = nullptr) {
  Streamed out;
  OutboundRequest request = Get(std::move(url));
  request.ready_for_chunk = std::move(ready_for_chunk);
  request.on_body = [&out](std::string_view chunk) {
    out.body.append(chunk);
    ++out.chunks;
    return absl::OkStatus();
  };
  out.response = SendSync(client, std::move(request));
  return out;
}

// The bodies of /big and /chunked-big.
std::string BigBody(std::string_view path) {
  return std::string(kBigBodyBytes, path == "/big" ? 'x' : 'y');
}

TEST(HttpClientTest, StreamedBodyArrivesInChunksAndIsNotBuffered) {
  LoopbackHttpServer server(Route);
  auto client = NewClient();
  for (const std::string path : {"/big", "/chunked-big"}) {
    const Streamed streamed = StreamGet(*client, server.Url(path));
    ASSERT_THAT(streamed.response, IsOk()) << path << ": " << streamed.response.status();
    EXPECT_EQ(streamed.response->status, 200);
    EXPECT_TRUE(streamed.response->body.empty()) << path;
    EXPECT_EQ(streamed.body, BigBody(path)) << path;
    EXPECT_GE(streamed.chunks, 1) << path;
  }
}

// A consumer that is not ready pauses the transfer; the body then arrives whole, in order.
TEST(HttpClientTest, AConsumerNotReadyPausesTheTransferWithoutLosingBytes) {
  LoopbackHttpServer server(Route);
  auto client = NewClient();
  for (const std::string path : {"/big", "/chunked-big"}) {
    int asked = 0;  // on the worker thread, read after the final callback
    int refused = 0;
    // The first chunk is refused three times, then every other offer.
    const Streamed streamed = StreamGet(*client, server.Url(path), [&](size_t bytes) {
      EXPECT_GT(bytes, 0u);
      ++asked;
      const bool ready = asked % 2 == 0 && asked > 4;
      refused += ready ? 0 : 1;
      return ready;
    });
    ASSERT_THAT(streamed.response, IsOk()) << path << ": " << streamed.response.status();
    EXPECT_EQ(streamed.response->status, 200) << path;
    EXPECT_EQ(streamed.body, BigBody(path)) << path;
    EXPECT_GE(refused, 3) << path;
  }
}

TEST(HttpClientTest, StreamConsumerErrorAbortsTheTransferWithThatError) {
  LoopbackHttpServer server(Route);
  auto client = NewClient();
  OutboundRequest request = Get(server.Url("/big"));
  request.on_body = [](std::string_view) { return absl::DataLossError("bad JSON at byte 7"); };
  auto response = SendSync(*client, std::move(request));
  EXPECT_THAT(response, StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(response.status().message(), HasSubstr("bad JSON at byte 7"));
}

TEST(HttpClientTest, ErrorStatusBodyIsBufferedEvenWhenStreaming) {
  LoopbackHttpServer server(Route);
  auto client = NewClient();
  bool streamed = false;
  OutboundRequest request = Get(server.Url("/status/503"));
  request.on_body = [&streamed](std::string_view) {
    streamed = true;
    return absl::OkStatus();
  };
  auto response = SendSync(*client, std::move(request));
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->status, 503);
  EXPECT_EQ(response->body, "down");
  EXPECT_FALSE(streamed);
}

TEST(HttpClientTest, StreamedBodyIsBoundedToo) {
  LoopbackHttpServer server(Route);
  auto client = NewClient();
  OutboundRequest request = Get(server.Url("/chunked-big"));
  request.max_response_bytes = kBigBodyBytes - 1;
  request.on_body = [](std::string_view) { return absl::OkStatus(); };
  auto response = SendSync(*client, std::move(request));
  EXPECT_THAT(response, StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST(HttpClientTest, ConnectionRefusedIsUnavailableWithCurlText) {
  auto client = NewClient();
  const absl::StatusOr<int> port = FreeLoopbackPort();
  ASSERT_THAT(port, IsOk());
  auto response = SendSync(*client, Get(absl::StrCat("http://127.0.0.1:", *port, "/x?secret=1")));
  EXPECT_THAT(response, StatusIs(absl::StatusCode::kUnavailable, HasSubstr(absl::StrCat(*port))));
  EXPECT_THAT(std::string(response.status().message()), ::testing::Not(HasSubstr("secret")));
}

TEST(HttpClientTest, PostSendsBodyAndHeaders) {
  LoopbackHttpServer server(Route);
  auto client = NewClient({.tls = {}, .max_connections = 4, .user_agent = "ma-test/1"});
  OutboundRequest request = Get(server.Url("/echo"));
  request.method = "POST";
  request.body = "query=up&time=1";
  request.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                     {"X-Scope-OrgID", "tenant-a"}};
  auto response = SendSync(*client, std::move(request));
  ASSERT_THAT(response, IsOk());
  EXPECT_THAT(response->body, HasSubstr("POST /echo HTTP/1.1\r\n"));
  EXPECT_THAT(response->body, HasSubstr("Content-Type: application/x-www-form-urlencoded\r\n"));
  EXPECT_THAT(response->body, HasSubstr("X-Scope-OrgID: tenant-a\r\n"));
  EXPECT_THAT(response->body, HasSubstr("User-Agent: ma-test/1\r\n"));
  EXPECT_THAT(response->body, HasSubstr("Content-Length: 15\r\n"));
  EXPECT_THAT(response->body, ::testing::EndsWith("\r\n\r\nquery=up&time=1"));
  EXPECT_THAT(response->body, ::testing::Not(HasSubstr("Expect:")));
}

TEST(HttpClientTest, AcceptEncodingOnlyWhenCompressionIsAccepted) {
  LoopbackHttpServer server(Route);
  auto client = NewClient();
  auto compressed = SendSync(*client, Get(server.Url("/echo")));
  ASSERT_THAT(compressed, IsOk());
  EXPECT_THAT(compressed->body, HasSubstr("Accept-Encoding: "));
  OutboundRequest plain = Get(server.Url("/echo"));
  plain.accept_compressed = false;
  auto uncompressed = SendSync(*client, std::move(plain));
  ASSERT_THAT(uncompressed, IsOk());
  EXPECT_THAT(uncompressed->body, ::testing::Not(HasSubstr("Accept-Encoding")));
}

TEST(HttpClientTest, InvalidRequestsAreRejected) {
  struct Case {
    std::string name;
    OutboundRequest request;
  };
  std::vector<Case> cases;
  cases.push_back({"method", Get("http://127.0.0.1:1/")});
  cases.back().request.method = "DELETE";
  cases.push_back({"scheme", Get("ftp://127.0.0.1/")});
  cases.push_back({"header injection", Get("http://127.0.0.1:1/")});
  cases.back().request.headers = {{"X-A", "v\r\nX-Evil: 1"}};
  cases.push_back({"header name", Get("http://127.0.0.1:1/")});
  cases.back().request.headers = {{"Bad:Name", "v"}};
  cases.push_back({"zero timeout", Get("http://127.0.0.1:1/")});
  cases.back().request.timeout = std::chrono::milliseconds(0);
  cases.push_back({"huge timeout", Get("http://127.0.0.1:1/")});
  cases.back().request.timeout = kMaxRequestTimeout + std::chrono::milliseconds(1);
  cases.push_back({"too many headers", Get("http://127.0.0.1:1/")});
  cases.back().request.headers.assign(kMaxRequestHeaders + 1, {"X-A", "b"});

  auto client = NewClient();
  for (Case& c : cases) {
    auto response = SendSync(*client, std::move(c.request));
    EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument)
        << c.name << ": " << response.status();
  }
}

TEST(HttpClientTest, DestructorCancelsRequestsInFlight) {
  LoopbackHttpServer server(Route);
  auto client = NewClient();
  std::promise<absl::StatusOr<OutboundResponse>> promise;
  auto future = promise.get_future();
  OutboundRequest request = Get(server.Url("/hang"));
  request.timeout = std::chrono::minutes(5);
  client->Send(std::move(request), [&promise](absl::StatusOr<OutboundResponse> result) {
    promise.set_value(std::move(result));
  });
  client.reset();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_EQ(future.get().status().code(), absl::StatusCode::kCancelled);
}

TEST(HttpClientTest, CancelAllEndsRequestsInFlightAndRefusesLaterOnes) {
  absl::Notification received;
  LoopbackHttpServer server([&received](const LoopbackRequest& request) {
    if (request.Target() == "/hang") {
      received.Notify();
    }
    return Route(request);
  });
  auto client = NewClient();
  std::promise<absl::StatusOr<OutboundResponse>> in_flight;
  OutboundRequest request = Get(server.Url("/hang"));
  request.timeout = std::chrono::minutes(5);
  client->Send(std::move(request), [&in_flight](absl::StatusOr<OutboundResponse> result) {
    in_flight.set_value(std::move(result));
  });
  // The server has the request: it is a transfer in curl, not only queued.
  ASSERT_TRUE(received.WaitForNotificationWithTimeout(absl::Seconds(30)));
  auto future = in_flight.get_future();

  client->CancelAll();
  // Completed before CancelAll returned, not after the 5 minute timeout.
  ASSERT_EQ(future.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_THAT(future.get(), StatusIs(absl::StatusCode::kCancelled));
  EXPECT_THAT(SendSync(*client, Get(server.Url("/hello"))), StatusIs(absl::StatusCode::kCancelled));
  client->CancelAll();  // idempotent
}

TEST(HttpClientTest, ConcurrentSendersAllComplete) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 10;
  LoopbackHttpServer server(Route);
  auto client = NewClient({.tls = {}, .max_connections = 2, .user_agent = ""});
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < kPerThread; ++j) {
        auto response = SendSync(*client, Get(server.Url("/hello")));
        if (response.ok() && response->body == "hello") {
          ++ok;
        }
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  EXPECT_LE(server.connections_accepted(), 2);
}

TEST(HttpClientTest, CallbackMaySendAgain) {
  LoopbackHttpServer server(Route);
  auto client = NewClient();
  std::promise<absl::StatusOr<OutboundResponse>> promise;
  auto future = promise.get_future();
  const std::string second_url = server.Url("/echo/second");
  client->Send(Get(server.Url("/hello")), [&](const absl::StatusOr<OutboundResponse>& first) {
    if (!first.ok()) {
      promise.set_value(first.status());
      return;
    }
    client->Send(Get(second_url), [&promise](absl::StatusOr<OutboundResponse> second) {
      promise.set_value(std::move(second));
    });
  });
  auto response = future.get();
  ASSERT_THAT(response, IsOk());
  EXPECT_THAT(response->body, HasSubstr("GET /echo/second HTTP/1.1"));
}

TEST(HttpClientTest, CreateValidatesTlsFiles) {
  struct Case {
    std::string name;
    TlsOptions tls;
  };
  const std::vector<Case> cases = {
      {"missing CA",
       {.ca_file = "/nonexistent/ca.pem", .client_cert_file = "", .client_key_file = ""}},
      {"cert without key",
       {.ca_file = "", .client_cert_file = "/etc/hostname", .client_key_file = ""}},
      {"key without cert",
       {.ca_file = "", .client_cert_file = "", .client_key_file = "/etc/hostname"}},
      {"unreadable key",
       {.ca_file = "", .client_cert_file = "/etc/hostname", .client_key_file = "/nonexistent"}},
  };
  for (const Case& c : cases) {
    HttpClientOptions options;
    options.tls = c.tls;
    auto client = HttpClient::Create(std::move(options));
    EXPECT_THAT(client, StatusIs(absl::StatusCode::kInvalidArgument));
  }
}

}  // namespace
}  // namespace ma::outbound
