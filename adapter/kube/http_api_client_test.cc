#include "adapter/kube/http_api_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "adapter/kube/list_watcher.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "queries/base/strings.h"

namespace ma::kube {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct SeenRequest {
  std::string head;  // request line and headers
  std::string body;
};

// An HTTP/1.1 server on 127.0.0.1:0 that answers each request with `handler`'s raw reply and
// closes the connection.
class LoopbackServer {
 public:
  using Handler = std::function<std::string(const SeenRequest&)>;

  explicit LoopbackServer(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(listen(listen_fd_, 64), 0);
    socklen_t len = sizeof(addr);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }

  ~LoopbackServer() {
    shutdown(listen_fd_, SHUT_RDWR);
    acceptor_.join();
    for (std::thread& t : threads_) {
      t.join();
    }
    close(listen_fd_);
  }

  std::string Url() const { return Cat("http://127.0.0.1:", port_); }

  std::vector<SeenRequest> requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }

 private:
  void AcceptLoop() {
    while (true) {
      const int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) {
        return;
      }
      threads_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  void Serve(int fd) {
    std::string buffer;
    char chunk[4096];
    size_t header_end;
    while ((header_end = buffer.find("\r\n\r\n")) == std::string::npos) {
      const ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
      if (n <= 0) {
        close(fd);
        return;
      }
      buffer.append(chunk, static_cast<size_t>(n));
    }
    SeenRequest request;
    request.head = buffer.substr(0, header_end);
    size_t content_length = 0;
    for (absl::string_view line : absl::StrSplit(request.head, "\r\n")) {
      const std::string lower = absl::AsciiStrToLower(line);
      if (lower.starts_with("content-length:")) {
        (void)absl::SimpleAtoi(absl::StripAsciiWhitespace(lower.substr(15)), &content_length);
      }
    }
    while (buffer.size() < header_end + 4 + content_length) {
      const ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
      if (n <= 0) {
        break;
      }
      buffer.append(chunk, static_cast<size_t>(n));
    }
    request.body = buffer.substr(header_end + 4);
    {
      absl::MutexLock lock(&mu_);
      requests_.push_back(request);
    }
    const std::string reply_text = handler_(request);
    std::string_view reply = reply_text;
    while (!reply.empty()) {
      const ssize_t n = send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        break;
      }
      reply.remove_prefix(static_cast<size_t>(n));
    }
    shutdown(fd, SHUT_WR);
    while (recv(fd, chunk, sizeof(chunk), 0) > 0) {
    }
    close(fd);
  }

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  std::vector<std::thread> threads_;  // touched by the acceptor only, joined after it
  absl::Mutex mu_;
  std::vector<SeenRequest> requests_ ABSL_GUARDED_BY(mu_);
};

std::string Reply(int code, std::string_view body) {
  return Cat("HTTP/1.1 ", code,
             " X\r\nContent-Type: application/json\r\nContent-Length: ", body.size(),
             "\r\nConnection: close\r\n\r\n", body);
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

std::string Header(const SeenRequest& request, std::string_view name) {
  for (absl::string_view line : absl::StrSplit(request.head, "\r\n")) {
    if (absl::StartsWithIgnoreCase(line, Cat(name, ":"))) {
      return std::string(absl::StripAsciiWhitespace(line.substr(name.size() + 1)));
    }
  }
  return "";
}

std::string RequestLine(const SeenRequest& request) {
  return request.head.substr(0, request.head.find("\r\n"));
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

ClusterConfig Config(const LoopbackServer& server) {
  ClusterConfig config;
  config.server = server.Url();
  config.source = "test kubeconfig";
  return config;
}

TEST(HttpApiClientTest, CallSendsTokenAcceptAndBody) {
  LoopbackServer server(
      [](const SeenRequest& r) { return Reply(201, R"({"kind":"TokenReview"})"); });
  ClusterConfig config = Config(server);
  config.token = "secret";
  absl::StatusOr<std::unique_ptr<HttpApiClient>> client = HttpApiClient::Create(config);
  ASSERT_TRUE(client.ok()) << client.status();

  ApiRequest request;
  request.method = "POST";
  request.path = "/apis/authentication.k8s.io/v1/tokenreviews";
  request.body = R"({"spec":{"token":"t"}})";
  const absl::StatusOr<ApiResponse> response = CallAndWait(**client, request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->body, R"({"kind":"TokenReview"})");
  const std::vector<SeenRequest> seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(RequestLine(seen[0]), "POST /apis/authentication.k8s.io/v1/tokenreviews HTTP/1.1");
  EXPECT_EQ(Header(seen[0], "Authorization"), "Bearer secret");
  EXPECT_EQ(Header(seen[0], "Accept"), "application/json");
  EXPECT_EQ(Header(seen[0], "Content-Type"), "application/json");
  EXPECT_EQ(seen[0].body, R"({"spec":{"token":"t"}})");
}

TEST(HttpApiClientTest, TokenFileIsSent) {
  LoopbackServer server([](const SeenRequest&) { return Reply(200, "{}"); });
  char dir[] = "/tmp/http_api_client_test.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string token_path = Cat(dir, "/token");
  std::ofstream(token_path) << "from-file\n";
  ClusterConfig config = Config(server);
  config.token_file = token_path;
  absl::StatusOr<std::unique_ptr<HttpApiClient>> client = HttpApiClient::Create(config);
  ASSERT_TRUE(client.ok()) << client.status();
  ApiRequest request;
  request.path = "/api/v1/namespaces/kube-system/configmaps/x";
  request.accept = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
  ASSERT_TRUE(CallAndWait(**client, request).ok());
  const std::vector<SeenRequest> seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(RequestLine(seen[0]), "GET /api/v1/namespaces/kube-system/configmaps/x HTTP/1.1");
  EXPECT_EQ(Header(seen[0], "Authorization"), "Bearer from-file");
  EXPECT_EQ(Header(seen[0], "Accept"), request.accept);
  std::system(Cat("rm -rf '", dir, "'").c_str());
}

TEST(HttpApiClientTest, StreamSplitsLinesAcrossChunks) {
  LoopbackServer server([](const SeenRequest&) {
    return ChunkedReply({R"({"type":"ADDED"})"
                         "\n"
                         R"({"type":"MOD)",
                         R"(IFIED"})"
                         "\r\n\n",
                         R"({"type":"last, no newline"})"});
  });
  absl::StatusOr<std::unique_ptr<HttpApiClient>> client = HttpApiClient::Create(Config(server));
  ASSERT_TRUE(client.ok()) << client.status();
  ApiRequest request;
  request.path = "/api/v1/pods?watch=1";
  const StreamResult result = StreamAndWait(**client, request);
  EXPECT_TRUE(result.status.ok()) << result.status;
  EXPECT_EQ(result.http_status, 200);
  EXPECT_THAT(result.lines, ElementsAre(R"({"type":"ADDED"})", R"({"type":"MODIFIED"})",
                                        R"({"type":"last, no newline"})"));
}

TEST(HttpApiClientTest, StreamErrorStatusCarriesTheStatusMessage) {
  LoopbackServer server([](const SeenRequest&) {
    return Reply(410, R"({"kind":"Status","code":410,"message":"too old resource version"})");
  });
  absl::StatusOr<std::unique_ptr<HttpApiClient>> client = HttpApiClient::Create(Config(server));
  ASSERT_TRUE(client.ok()) << client.status();
  ApiRequest request;
  request.path = "/api/v1/pods?watch=1&resourceVersion=1";
  const StreamResult result = StreamAndWait(**client, request);
  EXPECT_EQ(result.http_status, 410);
  EXPECT_EQ(result.status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(result.status.message(), "GET /api/v1/pods: HTTP 410: too old resource version");
  EXPECT_TRUE(result.lines.empty());
}

TEST(HttpApiClientTest, StreamConsumerCanEndIt) {
  LoopbackServer server([](const SeenRequest&) { return ChunkedReply({"a\nb\nc\n"}); });
  absl::StatusOr<std::unique_ptr<HttpApiClient>> client = HttpApiClient::Create(Config(server));
  ASSERT_TRUE(client.ok()) << client.status();
  ApiRequest request;
  request.path = "/w";
  const StreamResult result = StreamAndWait(**client, request, absl::CancelledError("enough"));
  EXPECT_EQ(result.status, absl::CancelledError("enough"));
  EXPECT_THAT(result.lines, ElementsAre("a"));
}

TEST(HttpApiClientTest, StreamLineIsBounded) {
  LoopbackServer server(
      [](const SeenRequest&) { return ChunkedReply({std::string(kMaxStreamLineBytes + 1, 'x')}); });
  absl::StatusOr<std::unique_ptr<HttpApiClient>> client = HttpApiClient::Create(Config(server));
  ASSERT_TRUE(client.ok()) << client.status();
  ApiRequest request;
  request.path = "/w";
  const StreamResult result = StreamAndWait(**client, request);
  EXPECT_EQ(result.status.code(), absl::StatusCode::kResourceExhausted) << result.status;
  EXPECT_TRUE(result.lines.empty());
}

TEST(HttpApiClientTest, TransportErrorIsAStatus) {
  ClusterConfig config;
  config.server = "http://127.0.0.1:1";  // nothing listens on port 1
  absl::StatusOr<std::unique_ptr<HttpApiClient>> client = HttpApiClient::Create(config);
  ASSERT_TRUE(client.ok()) << client.status();
  ApiRequest request;
  request.path = "/api";
  const absl::StatusOr<ApiResponse> response = CallAndWait(**client, request);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable);
  const StreamResult result = StreamAndWait(**client, request);
  EXPECT_EQ(result.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(result.http_status, 0);
}

TEST(HttpApiClientTest, ExecTokenIsRenewedAfter401) {
  // The server accepts only the plugin's second token.
  LoopbackServer server([](const SeenRequest& r) {
    return Header(r, "Authorization") == "Bearer tok-2" ? Reply(200, "{}")
                                                        : Reply(401, R"({"kind":"Status"})");
  });
  char dir[] = "/tmp/http_api_client_test.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string script = Cat(dir, "/plugin.sh");
  std::ofstream(script) << "#!/bin/sh\necho run >> '" << dir << "/runs'\n"
                        << "n=$(wc -l < '" << dir << "/runs' | tr -d ' ')\n"
                        << R"(echo "{\"apiVersion\":\"client.authentication.k8s.io/v1\",)"
                        << R"(\"kind\":\"ExecCredential\",\"status\":{\"token\":\"tok-$n\"}}")"
                        << "\n";
  chmod(script.c_str(), 0700);
  ClusterConfig config = Config(server);
  ExecConfig exec;
  exec.api_version = std::string(kExecApiV1);
  exec.command = script;
  exec.interactive_mode = "Never";
  config.exec = exec;
  absl::StatusOr<std::unique_ptr<HttpApiClient>> client = HttpApiClient::Create(config);
  ASSERT_TRUE(client.ok()) << client.status();
  ApiRequest request;
  request.path = "/api";
  const absl::StatusOr<ApiResponse> response = CallAndWait(**client, request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  // The renewed token stays cached.
  ASSERT_TRUE(CallAndWait(**client, request).ok());
  const std::vector<SeenRequest> seen = server.requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(Header(seen[0], "Authorization"), "Bearer tok-1");
  EXPECT_EQ(Header(seen[1], "Authorization"), "Bearer tok-2");
  EXPECT_EQ(Header(seen[2], "Authorization"), "Bearer tok-2");
  std::system(Cat("rm -rf '", dir, "'").c_str());
}

TEST(HttpApiClientTest, ExecFailureFailsTheRequest) {
  ClusterConfig config;
  config.server = "http://127.0.0.1:1";
  ExecConfig exec;
  exec.api_version = std::string(kExecApiV1);
  exec.command = "/bin/false";
  exec.interactive_mode = "Never";
  config.exec = exec;
  absl::StatusOr<std::unique_ptr<HttpApiClient>> client = HttpApiClient::Create(config);
  ASSERT_TRUE(client.ok()) << client.status();
  ApiRequest request;
  request.path = "/api";
  const absl::StatusOr<ApiResponse> response = CallAndWait(**client, request);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(response.status().message()), HasSubstr("exec plugin \"/bin/false\""));
}

TEST(HttpApiClientTest, CreateRejectsWhatItCannotHonour) {
  ClusterConfig config;
  config.server = "https://h";
  config.source = "/k/config";
  config.tls_server_name = "kubernetes";
  absl::StatusOr<std::unique_ptr<HttpApiClient>> client = HttpApiClient::Create(config);
  EXPECT_EQ(client.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(std::string(client.status().message()), HasSubstr("/k/config: tls-server-name"));

  config.tls_server_name = "";
  config.ca_file = "/nonexistent/ca.crt";
  client = HttpApiClient::Create(config);
  EXPECT_FALSE(client.ok());
  EXPECT_THAT(std::string(client.status().message()), HasSubstr("/nonexistent/ca.crt"));

  // In-memory PEM data is accepted (written to private temporary files for curl).
  config.ca_file = "";
  config.ca_pem = "-----BEGIN CERTIFICATE-----\n";
  config.client_certificate_pem = "cert";
  config.client_key_pem = "key";
  client = HttpApiClient::Create(config);
  EXPECT_TRUE(client.ok()) << client.status();
}

TEST(HttpApiClientTest, DrivesAListWatcherThroughListWatchAndGone) {
  std::atomic<int> lists{0};
  LoopbackServer server([&lists](const SeenRequest& r) {
    const std::string line = RequestLine(r);
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
  absl::StatusOr<std::unique_ptr<HttpApiClient>> client = HttpApiClient::Create(Config(server));
  ASSERT_TRUE(client.ok()) << client.status();

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
  ListWatcher watcher(**client, options, handlers);
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
  const std::vector<SeenRequest> requests = server.requests();
  ASSERT_GE(requests.size(), 4u);
  EXPECT_EQ(RequestLine(requests[0]), "GET /api/v1/pods?limit=500 HTTP/1.1");
  EXPECT_EQ(Header(requests[1], "Accept"),
            "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json");
  EXPECT_THAT(RequestLine(requests[2]), HasSubstr("resourceVersion=8&"));
  EXPECT_EQ(RequestLine(requests[3]), "GET /api/v1/pods?limit=500 HTTP/1.1");
}

}  // namespace
}  // namespace ma::kube
