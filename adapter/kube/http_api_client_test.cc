#include "adapter/kube/http_api_client.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <string>
#include <string_view>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "adapter/decode/decode_pool.h"
#include "adapter/kube/list_watcher.h"
#include "adapter/outbound/http_client.h"
#include "adapter/scheduler/scheduler.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "queries/base/strings.h"
#include "test/testing/loopback_http_server.h"
#include "test/testing/status_matchers.h"
#include "test/testing/temp_dir.h"

namespace ma::kube {
namespace {

// The process's one outbound client, as serve has it; never destroyed, so no channel outlives it.
outbound::HttpClient& SharedHttp() {
  static outbound::HttpClient* const http = outbound::HttpClient::Create({})->release();
  return *http;
}

using ::ma::testing::HttpResponseBytes;
using ::ma::testing::IsOk;
using ::ma::testing::LoopbackHttpServer;
using ::ma::testing::LoopbackRequest;
using ::ma::testing::StatusIs;
using ::ma::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

std::string Reply(int code, std::string_view body) {
  return HttpResponseBytes(code, body, "application/json", "Connection: close\r\n");
}

// A chunked reply whose chunks are exactly `chunks`, so lines arrive split.
std::string ChunkedReply(const std::vector<std::string>& chunks) {
  std::string reply =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
      "Connection: close\r\n\r\n";
  for (const std::string& c : chunks) {
    absl::StrAppend(&reply, absl::Hex(c.size()), "\r\n", c, "\r\n");
  }
  absl::StrAppend(&reply, "0\r\n\r\n");
  return reply;
}

absl::StatusOr<ApiResponse> CallAndWait(ApiClient& client, ApiRequest request) {
  std::promise<absl::StatusOr<ApiResponse>> promise;
  client.Call(std::move(request),
              [&promise](absl::StatusOr<ApiResponse> result) { promise.set_value(result); });
  return promise.get_future().get();
}

struct StreamResult {
  std::vector<std::string> lines;
  absl::Status status;
  long http_status = 0;  // NOLINT(google-runtime-int)
};

StreamResult StreamAndWait(ApiClient& client, ApiRequest request,
                           absl::Status refuse_with = absl::OkStatus()) {
  StreamResult out;
  std::promise<void> done;
  client.Stream(
      std::move(request),
      [&out, refuse_with](std::string_view line) {
        out.lines.emplace_back(line);
        return refuse_with;
      },
      [&out, &done](absl::Status status, long http_status) {  // NOLINT
        out.status = std::move(status);
        out.http_status = http_status;
        done.set_value();
      });
  done.get_future().wait();
  return out;
}

ClusterConfig Config(const LoopbackHttpServer& server) {
  ClusterConfig config;
  config.server = server.Url();
  config.source = "test kubeconfig";
  return config;
}

TEST(HttpApiClientTest, CallSendsTokenAcceptAndBody) {
  LoopbackHttpServer server(
      [](const LoopbackRequest& r) { return Reply(201, R"({"kind":"TokenReview"})"); });
  ClusterConfig config = Config(server);
  config.token = "secret";
  absl::StatusOr<std::unique_ptr<HttpApiClient>> client =
      HttpApiClient::Create(SharedHttp(), config);
  ASSERT_THAT(client, IsOk());

  ApiRequest request;
  request.method = "POST";
  request.path = "/apis/authentication.k8s.io/v1/tokenreviews";
  request.body = R"({"spec":{"token":"t"}})";
  const absl::StatusOr<ApiResponse> response = CallAndWait(**client, request);
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->body, R"({"kind":"TokenReview"})");
  const std::vector<LoopbackRequest> seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].RequestLine(), "POST /apis/authentication.k8s.io/v1/tokenreviews HTTP/1.1");
  EXPECT_EQ(seen[0].Header("Authorization"), "Bearer secret");
  EXPECT_EQ(seen[0].Header("Accept"), "application/json");
  EXPECT_EQ(seen[0].Header("Content-Type"), "application/json");
  EXPECT_EQ(seen[0].body, R"({"spec":{"token":"t"}})");
}

TEST(HttpApiClientTest, TokenFileIsSent) {
  LoopbackHttpServer server([](const LoopbackRequest&) { return Reply(200, "{}"); });
  TempDir dir("http_api_client_test");
  const std::string token_path = dir.Write("token", "from-file\n");
  ClusterConfig config = Config(server);
  config.token_file = token_path;
  absl::StatusOr<std::unique_ptr<HttpApiClient>> client =
      HttpApiClient::Create(SharedHttp(), config);
  ASSERT_THAT(client, IsOk());
  ApiRequest request;
  request.path = "/api/v1/namespaces/kube-system/configmaps/x";
  request.accept = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
  ASSERT_TRUE(CallAndWait(**client, request).ok());
  const std::vector<LoopbackRequest> seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].RequestLine(), "GET /api/v1/namespaces/kube-system/configmaps/x HTTP/1.1");
  EXPECT_EQ(seen[0].Header("Authorization"), "Bearer from-file");
  EXPECT_EQ(seen[0].Header("Accept"), request.accept);
}

TEST(HttpApiClientTest, StreamSplitsLinesAcrossChunks) {
  LoopbackHttpServer server([](const LoopbackRequest&) {
    return ChunkedReply({R"({"type":"ADDED"})"
                         "\n"
                         R"({"type":"MOD)",
                         R"(IFIED"})"
                         "\r\n\n",
                         R"({"type":"last, no newline"})"});
  });
  absl::StatusOr<std::unique_ptr<HttpApiClient>> client =
      HttpApiClient::Create(SharedHttp(), Config(server));
  ASSERT_THAT(client, IsOk());
  ApiRequest request;
  request.path = "/api/v1/pods?watch=1";
  const StreamResult result = StreamAndWait(**client, request);
  EXPECT_THAT(result.status, IsOk());
  EXPECT_EQ(result.http_status, 200);
  EXPECT_THAT(result.lines, ElementsAre(R"({"type":"ADDED"})", R"({"type":"MODIFIED"})",
                                        R"({"type":"last, no newline"})"));
}

TEST(HttpApiClientTest, StreamErrorStatusCarriesTheStatusMessage) {
  LoopbackHttpServer server([](const LoopbackRequest&) {
    return Reply(410, R"({"kind":"Status","code":410,"message":"too old resource version"})");
  });
  absl::StatusOr<std::unique_ptr<HttpApiClient>> client =
      HttpApiClient::Create(SharedHttp(), Config(server));
  ASSERT_THAT(client, IsOk());
  ApiRequest request;
  request.path = "/api/v1/pods?watch=1&resourceVersion=1";
  const StreamResult result = StreamAndWait(**client, request);
  EXPECT_EQ(result.http_status, 410);
  EXPECT_EQ(result.status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(result.status.message(), "GET /api/v1/pods: HTTP 410: too old resource version");
  EXPECT_TRUE(result.lines.empty());
}

TEST(HttpApiClientTest, StreamConsumerCanEndIt) {
  LoopbackHttpServer server([](const LoopbackRequest&) { return ChunkedReply({"a\nb\nc\n"}); });
  absl::StatusOr<std::unique_ptr<HttpApiClient>> client =
      HttpApiClient::Create(SharedHttp(), Config(server));
  ASSERT_THAT(client, IsOk());
  ApiRequest request;
  request.path = "/w";
  const StreamResult result = StreamAndWait(**client, request, absl::CancelledError("enough"));
  EXPECT_EQ(result.status, absl::CancelledError("enough"));
  EXPECT_THAT(result.lines, ElementsAre("a"));
}

TEST(HttpApiClientTest, StreamLineIsBounded) {
  LoopbackHttpServer server([](const LoopbackRequest&) {
    return ChunkedReply({std::string(kMaxStreamLineBytes + 1, 'x')});
  });
  absl::StatusOr<std::unique_ptr<HttpApiClient>> client =
      HttpApiClient::Create(SharedHttp(), Config(server));
  ASSERT_THAT(client, IsOk());
  ApiRequest request;
  request.path = "/w";
  const StreamResult result = StreamAndWait(**client, request);
  EXPECT_EQ(result.status.code(), absl::StatusCode::kResourceExhausted) << result.status;
  EXPECT_TRUE(result.lines.empty());
}

TEST(HttpApiClientTest, TransportErrorIsAStatus) {
  ClusterConfig config;
  config.server = "http://127.0.0.1:1";  // nothing listens on port 1
  absl::StatusOr<std::unique_ptr<HttpApiClient>> client =
      HttpApiClient::Create(SharedHttp(), config);
  ASSERT_THAT(client, IsOk());
  ApiRequest request;
  request.path = "/api";
  const absl::StatusOr<ApiResponse> response = CallAndWait(**client, request);
  EXPECT_THAT(response, StatusIs(absl::StatusCode::kUnavailable));
  const StreamResult result = StreamAndWait(**client, request);
  EXPECT_EQ(result.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(result.http_status, 0);
}

TEST(HttpApiClientTest, ExecTokenIsRenewedAfter401) {
  // The server accepts only the plugin's second token.
  LoopbackHttpServer server([](const LoopbackRequest& r) {
    return r.Header("Authorization") == "Bearer tok-2" ? Reply(200, "{}")
                                                       : Reply(401, R"({"kind":"Status"})");
  });
  TempDir dir("http_api_client_test");
  const std::string runs = dir.Path("runs");
  const std::string script = dir.Write(
      "plugin.sh", Cat("#!/bin/sh\necho run >> '", runs, "'\n",  //
                       "n=$(wc -l < '", runs, "' | tr -d ' ')\n",
                       R"(echo "{\"apiVersion\":\"client.authentication.k8s.io/v1\",)",
                       R"(\"kind\":\"ExecCredential\",\"status\":{\"token\":\"tok-$n\"}}")", "\n"));
  chmod(script.c_str(), 0700);
  ClusterConfig config = Config(server);
  ExecConfig exec;
  exec.api_version = std::string(kExecApiV1);
  exec.command = script;
  exec.interactive_mode = "Never";
  config.exec = exec;
  absl::StatusOr<std::unique_ptr<HttpApiClient>> client =
      HttpApiClient::Create(SharedHttp(), config);
  ASSERT_THAT(client, IsOk());
  ApiRequest request;
  request.path = "/api";
  const absl::StatusOr<ApiResponse> response = CallAndWait(**client, request);
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->status, 200);
  // The renewed token stays cached.
  ASSERT_TRUE(CallAndWait(**client, request).ok());
  const std::vector<LoopbackRequest> seen = server.requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].Header("Authorization"), "Bearer tok-1");
  EXPECT_EQ(seen[1].Header("Authorization"), "Bearer tok-2");
  EXPECT_EQ(seen[2].Header("Authorization"), "Bearer tok-2");
}

TEST(HttpApiClientTest, ExecFailureFailsTheRequest) {
  ClusterConfig config;
  config.server = "http://127.0.0.1:1";
  ExecConfig exec;
  exec.api_version = std::string(kExecApiV1);
  exec.command = "/bin/false";
  exec.interactive_mode = "Never";
  config.exec = exec;
  absl::StatusOr<std::unique_ptr<HttpApiClient>> client =
      HttpApiClient::Create(SharedHttp(), config);
  ASSERT_THAT(client, IsOk());
  ApiRequest request;
  request.path = "/api";
  const absl::StatusOr<ApiResponse> response = CallAndWait(**client, request);
  EXPECT_THAT(response,
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("exec plugin \"/bin/false\"")));
}

TEST(HttpApiClientTest, CreateRejectsWhatItCannotHonour) {
  ClusterConfig config;
  config.server = "https://h";
  config.source = "/k/config";
  config.tls_server_name = "kubernetes";
  absl::StatusOr<std::unique_ptr<HttpApiClient>> client =
      HttpApiClient::Create(SharedHttp(), config);
  EXPECT_THAT(client,
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("/k/config: tls-server-name")));

  config.tls_server_name = "";
  config.ca_file = "/nonexistent/ca.crt";
  client = HttpApiClient::Create(SharedHttp(), config);
  EXPECT_THAT(client, Not(IsOk()));
  EXPECT_THAT(std::string(client.status().message()), HasSubstr("/nonexistent/ca.crt"));

  // In-memory PEM data is accepted (written to private temporary files for curl).
  config.ca_file = "";
  config.ca_pem = "-----BEGIN CERTIFICATE-----\n";
  config.client_certificate_pem = "cert";
  config.client_key_pem = "key";
  client = HttpApiClient::Create(SharedHttp(), config);
  EXPECT_THAT(client, IsOk());
}

TEST(HttpApiClientTest, DrivesAListWatcherThroughListWatchAndGone) {
  std::atomic<int> lists{0};
  LoopbackHttpServer server([&lists](const LoopbackRequest& r) {
    const std::string line = r.RequestLine();
    if (line.find("watch=1&resourceVersion=5&") != std::string::npos) {
      return ChunkedReply(
          {R"({"type":"ADDED","object":{"metadata":{"name":"b","resourceVersion":"6"}}})"
           "\n",
           R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"8"}}})"
           "\n"});
    }
    if (line.find("watch=1&resourceVersion=8&") != std::string::npos) {
      return Reply(410, R"({"kind":"Status","code":410,"message":"too old"})");
    }
    if (line.find("watch=1") != std::string::npos) {
      return Reply(500, "");  // the relist's WATCH: the watcher backs off until stopped
    }
    return Reply(200, Cat(R"({"metadata":{"resourceVersion":")", ++lists == 1 ? 5 : 100,
                          R"("},"items":[{"metadata":{"name":"a"}}]})"));
  });
  // Before the client: its cancelled callbacks are queued on the pool.
  scheduler::Scheduler scheduler;
  decode::DecodePool decode;
  absl::StatusOr<std::unique_ptr<HttpApiClient>> client =
      HttpApiClient::Create(SharedHttp(), Config(server));
  ASSERT_THAT(client, IsOk());

  absl::Mutex mu;
  std::vector<std::string> seen;
  ListWatchHandlers handlers;
  handlers.replace = [&](std::vector<KubeObject> objects) {
    absl::MutexLock lock(&mu);
    seen.push_back(Cat("replace ", objects.size()));
  };
  handlers.event = [&](WatchEventType type, KubeObject object) {
    absl::MutexLock lock(&mu);
    seen.push_back(Cat("event ", object.metadata.name));
  };
  ListWatchOptions options;
  options.collection_path = "/api/v1/pods";
  ListWatcher watcher(**client, {scheduler, decode}, options, handlers);
  watcher.Start();
  {
    absl::MutexLock lock(&mu);
    mu.AwaitWithTimeout(absl::Condition(
                            +[](std::vector<std::string>* s) { return s->size() >= 3; }, &seen),
                        absl::Seconds(10));
    EXPECT_EQ(seen, (std::vector<std::string>{"replace 1", "event b", "replace 1"}));
  }
  watcher.Stop();
  EXPECT_TRUE(watcher.synced());
  const std::vector<LoopbackRequest> requests = server.requests();
  ASSERT_GE(requests.size(), 4u);
  EXPECT_EQ(requests[0].RequestLine(), "GET /api/v1/pods?limit=500 HTTP/1.1");
  EXPECT_EQ(requests[1].Header("Accept"),
            "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json");
  EXPECT_THAT(requests[2].RequestLine(), HasSubstr("resourceVersion=8&"));
  EXPECT_EQ(requests[3].RequestLine(), "GET /api/v1/pods?limit=500 HTTP/1.1");
}

}  // namespace
}  // namespace ma::kube
