#include "adapter/outbound/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <future>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ma::outbound {
namespace {

using ::testing::HasSubstr;

constexpr size_t kBigBodyBytes = 100000;

// A minimal HTTP/1.1 server on 127.0.0.1:0 with one thread per connection, enough to observe
// what the client sends and how it reuses connections.
class LoopbackServer {
 public:
  LoopbackServer() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(listen(listen_fd_, 64), 0);
    socklen_t len = sizeof(addr);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }

  ~LoopbackServer() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
      for (const int fd : open_fds_) {
        shutdown(fd, SHUT_RDWR);
      }
    }
    shutdown(listen_fd_, SHUT_RDWR);
    acceptor_.join();
    for (std::thread& t : connection_threads_) {
      t.join();
    }
    close(listen_fd_);
  }

  int port() const { return port_; }
  std::string Url(std::string_view path) const {
    return absl::StrCat("http://127.0.0.1:", port_, std::string(path));
  }
  int connections_accepted() {
    absl::MutexLock lock(&mu_);
    return connections_accepted_;
  }

 private:
  void AcceptLoop() {
    while (true) {
      const int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) {
        return;
      }
      absl::MutexLock lock(&mu_);
      if (stopping_) {
        close(fd);
        return;
      }
      ++connections_accepted_;
      open_fds_.push_back(fd);
      connection_threads_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  static bool WriteAll(int fd, std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        return false;
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  static std::string Response(int code, const std::string& body, const std::string& extra = "") {
    return absl::StrCat("HTTP/1.1 ", code,
                        " X\r\nContent-Type: text/plain\r\nContent-Length: ", body.size(), "\r\n",
                        extra, "\r\n", body);
  }

  void Close(int fd) {
    absl::MutexLock lock(&mu_);
    std::erase(open_fds_, fd);
    close(fd);
  }

  // Serves requests on one connection until the peer closes it or the server stops.
  void Serve(int fd) {
    std::string buffer;
    char chunk[4096];
    while (true) {
      size_t header_end;
      while ((header_end = buffer.find("\r\n\r\n")) == std::string::npos) {
        const ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
        if (n <= 0) {
          Close(fd);
          return;
        }
        buffer.append(chunk, static_cast<size_t>(n));
      }
      const std::string head = buffer.substr(0, header_end + 4);
      size_t content_length = 0;
      for (absl::string_view line : absl::StrSplit(head, "\r\n")) {
        const std::string lower = absl::AsciiStrToLower(line);
        if (lower.starts_with("content-length:")) {
          (void)absl::SimpleAtoi(absl::StripAsciiWhitespace(lower.substr(15)), &content_length);
        }
      }
      while (buffer.size() < head.size() + content_length) {
        const ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
        if (n <= 0) {
          Close(fd);
          return;
        }
        buffer.append(chunk, static_cast<size_t>(n));
      }
      const std::string request = buffer.substr(0, head.size() + content_length);
      buffer.erase(0, request.size());
      const std::vector<std::string> request_line =
          absl::StrSplit(head.substr(0, head.find("\r\n")), ' ');
      const std::string path = request_line.size() > 1 ? request_line[1] : "";

      std::string reply;
      if (path == "/hello") {
        reply = Response(200, "hello");
      } else if (path == "/status/503") {
        reply = Response(503, "down");
      } else if (path == "/status/404") {
        reply = Response(404, "missing");
      } else if (path.starts_with("/echo")) {
        reply = Response(200, request);
      } else if (path == "/big") {
        reply = Response(200, std::string(kBigBodyBytes, 'x'));
      } else if (path == "/chunked-big") {
        reply = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        for (size_t sent = 0; sent < kBigBodyBytes; sent += 1000) {
          absl::StrAppend(&reply, "3e8\r\n", std::string(1000, 'y'), "\r\n");
        }
        absl::StrAppend(&reply, "0\r\n\r\n");
      } else if (path == "/hang") {
        // Never answers: waits for the client (or the server's shutdown) to close.
        while (recv(fd, chunk, sizeof(chunk), 0) > 0) {
        }
        Close(fd);
        return;
      } else {
        reply = Response(404, "no route");
      }
      if (!WriteAll(fd, reply)) {
        Close(fd);
        return;
      }
    }
  }

  int listen_fd_ = -1;
  int port_ = 0;
  absl::Mutex mu_;
  bool stopping_ = false;
  int connections_accepted_ = 0;
  std::vector<int> open_fds_;
  std::vector<std::thread> connection_threads_;
  std::thread acceptor_;
};

// A loopback port with nothing listening on it.
int UnusedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ADD_FAILURE() << "cannot reserve a loopback port";
  }
  close(fd);
  return ntohs(addr.sin_port);
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
  EXPECT_TRUE(client.ok()) << client.status();
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
  LoopbackServer server;
  auto client = NewClient();
  for (const ResponseCase& c : cases) {
    auto response = SendSync(*client, Get(server.Url(c.path)));
    ASSERT_TRUE(response.ok()) << c.path << ": " << response.status();
    EXPECT_EQ(response->status, c.status) << c.path;
    EXPECT_EQ(response->body, c.body) << c.path;
    EXPECT_EQ(response->content_type, "text/plain") << c.path;
  }
}

TEST(HttpClientTest, ReusesKeepAliveConnection) {
  LoopbackServer server;
  auto client = NewClient();
  for (int i = 0; i < 5; ++i) {
    auto response = SendSync(*client, Get(server.Url("/hello")));
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->status, 200);
  }
  EXPECT_EQ(server.connections_accepted(), 1);
}

TEST(HttpClientTest, TimeoutIsDeadlineExceeded) {
  LoopbackServer server;
  auto client = NewClient();
  OutboundRequest request = Get(server.Url("/hang"));
  request.timeout = std::chrono::milliseconds(200);
  auto response = SendSync(*client, std::move(request));
  EXPECT_EQ(response.status().code(), absl::StatusCode::kDeadlineExceeded) << response.status();
  // The connection stays usable for later requests.
  auto after = SendSync(*client, Get(server.Url("/hello")));
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->body, "hello");
}

TEST(HttpClientTest, OversizedBodyIsResourceExhausted) {
  LoopbackServer server;
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
    ASSERT_TRUE(response.ok()) << path << ": " << response.status();
    EXPECT_EQ(response->body.size(), kBigBodyBytes) << path;
  }
}

TEST(HttpClientTest, StreamedBodyArrivesInChunksAndIsNotBuffered) {
  LoopbackServer server;
  auto client = NewClient();
  for (const std::string path : {"/big", "/chunked-big"}) {
    std::string streamed;  // written on the worker thread, read after the final callback
    int chunks = 0;
    OutboundRequest request = Get(server.Url(path));
    request.on_body = [&](std::string_view chunk) {
      streamed.append(chunk);
      ++chunks;
      return absl::OkStatus();
    };
    auto response = SendSync(*client, std::move(request));
    ASSERT_TRUE(response.ok()) << path << ": " << response.status();
    EXPECT_EQ(response->status, 200);
    EXPECT_TRUE(response->body.empty()) << path;
    EXPECT_EQ(streamed.size(), kBigBodyBytes) << path;
    EXPECT_GE(chunks, 1) << path;
  }
}

TEST(HttpClientTest, StreamConsumerErrorAbortsTheTransferWithThatError) {
  LoopbackServer server;
  auto client = NewClient();
  OutboundRequest request = Get(server.Url("/big"));
  request.on_body = [](std::string_view) { return absl::DataLossError("bad JSON at byte 7"); };
  auto response = SendSync(*client, std::move(request));
  EXPECT_EQ(response.status().code(), absl::StatusCode::kDataLoss) << response.status();
  EXPECT_THAT(response.status().message(), HasSubstr("bad JSON at byte 7"));
}

TEST(HttpClientTest, ErrorStatusBodyIsBufferedEvenWhenStreaming) {
  LoopbackServer server;
  auto client = NewClient();
  bool streamed = false;
  OutboundRequest request = Get(server.Url("/status/503"));
  request.on_body = [&streamed](std::string_view) {
    streamed = true;
    return absl::OkStatus();
  };
  auto response = SendSync(*client, std::move(request));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 503);
  EXPECT_EQ(response->body, "down");
  EXPECT_FALSE(streamed);
}

TEST(HttpClientTest, StreamedBodyIsBoundedToo) {
  LoopbackServer server;
  auto client = NewClient();
  OutboundRequest request = Get(server.Url("/chunked-big"));
  request.max_response_bytes = kBigBodyBytes - 1;
  request.on_body = [](std::string_view) { return absl::OkStatus(); };
  auto response = SendSync(*client, std::move(request));
  EXPECT_EQ(response.status().code(), absl::StatusCode::kResourceExhausted) << response.status();
}

TEST(HttpClientTest, ConnectionRefusedIsUnavailableWithCurlText) {
  auto client = NewClient();
  const int port = UnusedPort();
  auto response = SendSync(*client, Get(absl::StrCat("http://127.0.0.1:", port, "/x?secret=1")));
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable) << response.status();
  EXPECT_THAT(std::string(response.status().message()), HasSubstr(absl::StrCat(port)));
  EXPECT_THAT(std::string(response.status().message()), ::testing::Not(HasSubstr("secret")));
}

TEST(HttpClientTest, PostSendsBodyAndHeaders) {
  LoopbackServer server;
  auto client = NewClient({.tls = {}, .max_connections = 4, .user_agent = "ma-test/1"});
  OutboundRequest request = Get(server.Url("/echo"));
  request.method = "POST";
  request.body = "query=up&time=1";
  request.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                     {"X-Scope-OrgID", "tenant-a"}};
  auto response = SendSync(*client, std::move(request));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_THAT(response->body, HasSubstr("POST /echo HTTP/1.1\r\n"));
  EXPECT_THAT(response->body, HasSubstr("Content-Type: application/x-www-form-urlencoded\r\n"));
  EXPECT_THAT(response->body, HasSubstr("X-Scope-OrgID: tenant-a\r\n"));
  EXPECT_THAT(response->body, HasSubstr("User-Agent: ma-test/1\r\n"));
  EXPECT_THAT(response->body, HasSubstr("Content-Length: 15\r\n"));
  EXPECT_THAT(response->body, ::testing::EndsWith("\r\n\r\nquery=up&time=1"));
  EXPECT_THAT(response->body, ::testing::Not(HasSubstr("Expect:")));
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
  LoopbackServer server;
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

TEST(HttpClientTest, ConcurrentSendersAllComplete) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 10;
  LoopbackServer server;
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
  LoopbackServer server;
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
  ASSERT_TRUE(response.ok()) << response.status();
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
    EXPECT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
  }
}

}  // namespace
}  // namespace ma::outbound
