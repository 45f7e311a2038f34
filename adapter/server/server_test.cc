#include "adapter/server/server.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "adapter/api/status.h"
#include "adapter/async/await.h"
#include "adapter/async/cancel_slot.h"
#include "adapter/async/task.h"
#include "adapter/server/openssl_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/testing/temp_dir.h"
#include "test/testing/test_certs.h"
#include "test/testing/tls_test_client.h"

namespace ma::server {
namespace {

using ::ma::testing::HttpReply;
using ::ma::testing::IssueTestCertificate;
using ::ma::testing::TestCertificateSpec;
using ::ma::testing::TlsTestClient;
using ::ma::testing::TlsTestClientOptions;
using ::ma::testing::WriteTestFile;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::Optional;

// Bounds waits for events in tests; a test fails rather than hangs when it passes.
constexpr absl::Duration kTestWait = absl::Seconds(30);

// The tests' handlers answer through a callback, later and from any thread if they like, as a
// backend does; the server's task awaits that answer.
using Responder = std::function<void(http::Response)>;
using CallbackHandler = std::function<void(const http::Request&, Responder)>;

async::Task<http::Response> AskCallbackHandler(std::shared_ptr<const CallbackHandler> handler,
                                               http::Request request) {
  absl::StatusOr<http::Response> response =
      co_await async::Await<http::Response>([&](async::Completion<http::Response> done) {
        (*handler)(request, [done = std::move(done)](http::Response answer) { done(answer); });
      });
  if (!response.ok()) {
    co_return http::Response{500, "text/plain", std::string(response.status().message()), {}};
  }
  co_return *std::move(response);
}

http::Handler Awaiting(CallbackHandler handler) {
  auto shared = std::make_shared<const CallbackHandler>(std::move(handler));
  return [shared](http::Request request) { return AskCallbackHandler(shared, std::move(request)); };
}

// Holds the answer to requests for `path` in `*held` (guarded by `*mu`) for the test to give
// later; answers any other path at once with 200 and `body`.
CallbackHandler HoldingHandler(std::string path, std::string body, absl::Mutex* mu,
                               std::vector<Responder>* held) {
  return [path = std::move(path), body = std::move(body), mu, held](const http::Request& request,
                                                                    Responder respond) {
    if (request.path == path) {
      absl::MutexLock lock(mu);
      held->push_back(std::move(respond));
      return;
    }
    respond(http::Response{200, "text/plain", body, {}});
  };
}

// Waits, at most kTestWait, until the handler under test holds an answer in `held` (guarded by
// `mu`).
template <typename T>
bool AwaitHeld(absl::Mutex& mu, std::vector<T>& held) {
  absl::MutexLock lock(&mu);
  return mu.AwaitWithTimeout(absl::Condition(
                                 +[](std::vector<T>* h) { return !h->empty(); }, &held),
                             kTestWait);
}

std::string ReadFileOrDie(const std::string& path) {
  absl::StatusOr<std::string> contents = ReadSmallFile(path, kMaxPemFileBytes);
  EXPECT_TRUE(contents.ok()) << contents.status();
  return contents.ok() ? *contents : "";
}

// Records every request; thread-safe.
class Recorder {
 public:
  void Add(const http::Request& request) {
    absl::MutexLock lock(&mu_);
    requests_.push_back(request);
  }
  std::vector<http::Request> requests() const {
    absl::MutexLock lock(&mu_);
    return requests_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<http::Request> requests_ ABSL_GUARDED_BY(mu_);
};

// Runs a Server on its own thread; shuts it down and joins on destruction.
class RunningServer {
 public:
  static absl::StatusOr<std::unique_ptr<RunningServer>> Start(
      ServerOptions options, http::Handler handler,
      const std::function<void(Server&)>& before_run = nullptr) {
    absl::StatusOr<std::unique_ptr<Server>> server =
        Server::Create(std::move(options), std::move(handler), &api::StatusResponse);
    if (!server.ok()) {
      return server.status();
    }
    if (before_run) {
      before_run(**server);
    }
    return std::unique_ptr<RunningServer>(new RunningServer(*std::move(server)));
  }
  ~RunningServer() {
    server_->Shutdown();
    thread_.join();
  }

  Server& server() { return *server_; }
  uint16_t port() const { return server_->port(); }
  bool WaitForRunToReturn() { return run_returned_.WaitForNotificationWithTimeout(kTestWait); }

 private:
  explicit RunningServer(std::unique_ptr<Server> server) : server_(std::move(server)) {
    thread_ = std::thread([this] {
      server_->Run();
      run_returned_.Notify();
    });
  }

  std::unique_ptr<Server> server_;
  absl::Notification run_returned_;
  std::thread thread_;
};

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.bind_address = "127.0.0.1";
    options_.port = 0;
    options_.cert_dir = dir_ + "/certs";
  }
  void TearDown() override {
    running_.reset();
    for (std::thread& thread : threads_) {
      thread.join();
    }
  }

  void Start(CallbackHandler handler, const std::function<void(Server&)>& before_run = nullptr) {
    StartTasks(Awaiting(std::move(handler)), before_run);
  }
  void StartTasks(http::Handler handler, const std::function<void(Server&)>& before_run = nullptr) {
    absl::StatusOr<std::unique_ptr<RunningServer>> running =
        RunningServer::Start(options_, std::move(handler), before_run);
    ASSERT_TRUE(running.ok()) << running.status();
    running_ = *std::move(running);
  }

  std::unique_ptr<TlsTestClient> ConnectOrDie(const TlsTestClientOptions& client_options = {}) {
    absl::StatusOr<std::unique_ptr<TlsTestClient>> client =
        TlsTestClient::Connect(running_->port(), client_options);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  // Answers "ok" and records the request.
  CallbackHandler RecordingHandler() {
    return [this](const http::Request& request, const Responder& respond) {
      recorder_.Add(request);
      respond(http::Response{200, "application/json", "ok", {{"X-Served-By", "test"}}});
    };
  }

  testing::TempDir temp_{"server_test"};
  const std::string dir_ = temp_.path();
  ServerOptions options_;
  Recorder recorder_;
  std::vector<std::thread> threads_;  // handler helpers, joined in TearDown
  std::unique_ptr<RunningServer> running_;
};

struct DecodeCase {
  std::string name;
  std::string target;
  std::vector<std::string> want_segments;
  std::vector<std::pair<std::string, std::string>> want_query;
};

class ServerDecodeTest : public ServerTest, public ::testing::WithParamInterface<DecodeCase> {};

TEST_P(ServerDecodeTest, RequestReachesHandlerDecoded) {
  const DecodeCase& tc = GetParam();
  Start(RecordingHandler());
  std::unique_ptr<TlsTestClient> client = ConnectOrDie();
  ASSERT_NE(client, nullptr);
  absl::StatusOr<HttpReply> reply = client->Get(tc.target, "X-Custom-Header: Some Value\r\n");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "ok");
  EXPECT_THAT(reply->Header("content-type"), Optional(std::string("application/json")));
  EXPECT_THAT(reply->Header("x-served-by"), Optional(std::string("test")));

  std::vector<http::Request> requests = recorder_.requests();
  ASSERT_EQ(requests.size(), 1u);
  const http::Request& request = requests.front();
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.target, tc.target);
  EXPECT_THAT(request.path_segments, ElementsAreArray(tc.want_segments));
  EXPECT_THAT(request.query, ElementsAreArray(tc.want_query));
  EXPECT_THAT(request.Header("x-custom-header"), Optional(std::string("Some Value")));
  EXPECT_THAT(request.remote_address, HasSubstr("127.0.0.1:"));
  EXPECT_FALSE(request.peer_certificate.has_value());
}

INSTANTIATE_TEST_SUITE_P(
    Targets, ServerDecodeTest,
    ::testing::ValuesIn(std::vector<DecodeCase>{
        {"CustomMetricStar",
         "/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/%2A/http_requests"
         "?labelSelector=app%3Dweb",
         {"apis", "custom.metrics.k8s.io", "v1beta1", "namespaces", "default", "pods", "*",
          "http_requests"},
         {{"labelSelector", "app=web"}}},
        {"ExternalWithPlus",
         "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue_depth"
         "?labelSelector=env+in+(a,b)&metricLabelSelector=",
         {"apis", "external.metrics.k8s.io", "v1beta1", "namespaces", "shop", "queue_depth"},
         {{"labelSelector", "env in (a,b)"}, {"metricLabelSelector", ""}}},
        {"Healthz", "/healthz", {"healthz"}, {}},
    }),
    [](const ::testing::TestParamInfo<DecodeCase>& param_info) { return param_info.param.name; });

TEST_F(ServerTest, MalformedTargetIsRefusedBeforeTheHandler) {
  Start(RecordingHandler());
  std::unique_ptr<TlsTestClient> client = ConnectOrDie();
  ASSERT_NE(client, nullptr);
  absl::StatusOr<HttpReply> reply = client->Get("/apis/%zz");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->status, 400);
  EXPECT_THAT(reply->body, HasSubstr("%zz"));
  EXPECT_TRUE(recorder_.requests().empty());
}

TEST_F(ServerTest, KeepAliveServesThreeRequestsOnOneConnection) {
  Start(RecordingHandler());
  std::unique_ptr<TlsTestClient> client = ConnectOrDie();
  ASSERT_NE(client, nullptr);
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<HttpReply> reply = client->Get("/apis/" + std::to_string(i));
    ASSERT_TRUE(reply.ok()) << "request " << i << ": " << reply.status();
    EXPECT_EQ(reply->status, 200);
    EXPECT_NE(reply->Header("connection"), std::optional<std::string>("close"));
  }
  std::vector<http::Request> requests = recorder_.requests();
  ASSERT_EQ(requests.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_THAT(requests[i].path_segments, ElementsAre("apis", std::to_string(i)));
    // The same client port: one TCP connection served all three.
    EXPECT_EQ(requests[i].remote_address, requests[0].remote_address);
  }
  EXPECT_EQ(running_->server().stats().active_connections, 1u);
}

TEST_F(ServerTest, HandlerAnsweringFromAnotherThreadAfterADelay) {
  absl::Mutex mu;
  Start([this, &mu](const http::Request& request, Responder respond) {
    absl::MutexLock lock(&mu);
    threads_.emplace_back([respond = std::move(respond), path = request.path] {
      absl::SleepFor(absl::Milliseconds(100));  // a slow backend, not an assertion
      respond(http::Response{200, "text/plain", "late answer for " + path, {}});
    });
  });
  std::unique_ptr<TlsTestClient> client = ConnectOrDie();
  ASSERT_NE(client, nullptr);
  for (const char* target : {"/first", "/second"}) {
    absl::StatusOr<HttpReply> reply = client->Get(target);
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->status, 200);
    EXPECT_EQ(reply->body, std::string("late answer for ") + target);
  }
  absl::MutexLock lock(&mu);
}

TEST_F(ServerTest, HandlerThatNeverAnswersGets504AndLateAnswerIsDropped) {
  options_.limits.handler_timeout = std::chrono::milliseconds(200);
  absl::Mutex mu;
  std::vector<Responder> held;
  Start(HoldingHandler("/hang", "fine", &mu, &held));
  std::unique_ptr<TlsTestClient> client = ConnectOrDie();
  ASSERT_NE(client, nullptr);
  absl::StatusOr<HttpReply> reply = client->Get("/hang");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->status, 504);
  EXPECT_THAT(reply->body, HasSubstr(R"("reason":"Timeout")"));
  EXPECT_THAT(reply->body, HasSubstr(R"("code":504)"));
  {
    absl::MutexLock lock(&mu);
    ASSERT_EQ(held.size(), 1u);
    held.front()(http::Response{200, "text/plain", "too late", {}});
  }
  // The connection stays usable and the late answer never shows up on it.
  absl::StatusOr<HttpReply> next = client->Get("/next");
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->status, 200);
  EXPECT_EQ(next->body, "fine");
}

// A client's `?timeout=` shortens the request's deadline, as in the generic apiserver; a longer
// one does not lengthen it, and one that is no duration is a 400.
TEST_F(ServerTest, TimeoutParameterShortensTheDeadline) {
  options_.limits.handler_timeout = std::chrono::minutes(5);
  absl::Mutex mu;
  std::vector<Responder> held;
  Start(HoldingHandler("/hang", "fine", &mu, &held));
  std::unique_ptr<TlsTestClient> client = ConnectOrDie();
  ASSERT_NE(client, nullptr);
  absl::StatusOr<HttpReply> reply = client->Get("/hang?timeout=200ms");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->status, 504);
  EXPECT_THAT(reply->body, HasSubstr(R"("reason":"Timeout")"));
  absl::StatusOr<HttpReply> bad = client->Get("/next?timeout=soon");
  ASSERT_TRUE(bad.ok()) << bad.status();
  EXPECT_EQ(bad->status, 400);
  EXPECT_THAT(bad->body, HasSubstr("invalid timeout specified in the request URL"));
  absl::StatusOr<HttpReply> fine = client->Get("/next?timeout=1h");
  ASSERT_TRUE(fine.ok()) << fine.status();
  EXPECT_EQ(fine->status, 200);
  absl::MutexLock lock(&mu);
  for (Responder& respond : held) {
    respond(http::Response{200, "text/plain", "too late", {}});
  }
}

// The wait of a handler that never gets its answer ends with the timeout: the handler's own code
// runs on once, with the deadline as its error, and nothing of it is left waiting.
async::Task<http::Response> WaitForever(absl::Mutex* mu, std::vector<absl::Status>* seen,
                                        std::vector<async::Completion<int>>* held) {
  absl::StatusOr<int> answer = co_await async::Await<int>([&](async::Completion<int> done) {
    absl::MutexLock lock(mu);
    held->push_back(std::move(done));
  });
  absl::MutexLock lock(mu);
  seen->push_back(answer.status());
  co_return http::Response{200, "text/plain", "not shown", {}};
}

TEST_F(ServerTest, HandlerTimeoutCancelsTheHandlersWait) {
  options_.limits.handler_timeout = std::chrono::milliseconds(200);
  absl::Mutex mu;
  std::vector<absl::Status> seen;
  std::vector<async::Completion<int>> held;
  StartTasks([&](const http::Request&) { return WaitForever(&mu, &seen, &held); });
  std::unique_ptr<TlsTestClient> client = ConnectOrDie();
  ASSERT_NE(client, nullptr);
  absl::StatusOr<HttpReply> reply = client->Get("/hang");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->status, 504);
  absl::MutexLock lock(&mu);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen.front().code(), absl::StatusCode::kDeadlineExceeded);
  ASSERT_EQ(held.size(), 1u);
  held.front()(7);  // too late: dropped, the handler does not run again
  EXPECT_EQ(seen.size(), 1u);
}

// A client that goes away while its request waits cancels the request, long before any timeout:
// its wait ends with kCancelled and its late answer is dropped.
TEST_F(ServerTest, ClientClosingTheConnectionCancelsItsRequest) {
  options_.limits.handler_timeout = std::chrono::minutes(5);
  absl::Mutex mu;
  std::vector<absl::Status> seen;
  std::vector<async::Completion<int>> held;
  StartTasks([&](const http::Request&) { return WaitForever(&mu, &seen, &held); });
  std::unique_ptr<TlsTestClient> client = ConnectOrDie();
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Send("GET /hang HTTP/1.1\r\nHost: localhost\r\n\r\n").ok());
  ASSERT_TRUE(AwaitHeld(mu, held));
  client.reset();  // closes the connection
  absl::MutexLock lock(&mu);
  ASSERT_TRUE(
      mu.AwaitWithTimeout(absl::Condition(
                              +[](std::vector<absl::Status>* s) { return !s->empty(); }, &seen),
                          kTestWait));
  EXPECT_EQ(seen.front().code(), absl::StatusCode::kCancelled);
  held.front()(7);  // too late: dropped
  EXPECT_EQ(seen.size(), 1u);
  // The session then ends: nothing is written to a connection the client closed.
  const absl::Time deadline = absl::Now() + kTestWait;
  while (running_->server().stats().active_connections != 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(running_->server().stats().active_connections, 0u);
}

// A callee that lets a cancelled wait go (async::CancelSlot): the held completion is forgotten.
async::Task<http::Response> WaitUntilTakenBack(absl::Mutex* mu,
                                               std::vector<async::Completion<int>>* held,
                                               int* taken_back) {
  absl::StatusOr<int> answer =
      co_await async::Await<int>([&](async::Completion<int> done, async::CancelSlot& cancel) {
        absl::MutexLock lock(mu);
        held->push_back(std::move(done));
        cancel.Attach([mu, held, taken_back] {
          async::Completion<int> dropped;  // destroyed outside the lock
          absl::MutexLock relock(mu);
          dropped = std::move(held->back());
          held->pop_back();
          ++*taken_back;
        });
      });
  co_return http::Response{200, "text/plain", std::string(answer.status().message()), {}};
}

// A request the server cancels (here: its client left) leaves no callback behind in what it
// waited for: the callee's canceller runs, on the connection's strand.
TEST_F(ServerTest, CancelledRequestLeavesNoPendingCallback) {
  options_.limits.handler_timeout = std::chrono::minutes(5);
  absl::Mutex mu;
  std::vector<async::Completion<int>> held;
  int taken_back = 0;
  StartTasks([&](const http::Request&) { return WaitUntilTakenBack(&mu, &held, &taken_back); });
  std::unique_ptr<TlsTestClient> client = ConnectOrDie();
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Send("GET /leave HTTP/1.1\r\nHost: localhost\r\n\r\n").ok());
  ASSERT_TRUE(AwaitHeld(mu, held));
  client.reset();  // closes the connection
  absl::MutexLock lock(&mu);
  ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(
                                      +[](int* n) { return *n == 1; }, &taken_back),
                                  kTestWait));
  EXPECT_TRUE(held.empty());
}

// Bytes that arrive while a request waits (a pipelined request) are kept and served next.
TEST_F(ServerTest, PipelinedRequestWhileTheFirstWaitsIsServedNext) {
  absl::Mutex mu;
  std::vector<Responder> held;
  Start(HoldingHandler("/slow", "second", &mu, &held));
  std::unique_ptr<TlsTestClient> client = ConnectOrDie();
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Send("GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n").ok());
  ASSERT_TRUE(AwaitHeld(mu, held));
  ASSERT_TRUE(client->Send("GET /fast HTTP/1.1\r\nHost: localhost\r\n\r\n").ok());
  absl::SleepFor(absl::Milliseconds(100));  // let the second request reach the server first
  {
    absl::MutexLock lock(&mu);
    held.front()(http::Response{200, "text/plain", "first", {}});
  }
  absl::StatusOr<HttpReply> first = client->ReadReply();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->body, "first");
  absl::StatusOr<HttpReply> second = client->ReadReply();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->body, "second");
}

struct RefusedCase {
  std::string name;
  std::string request;
  int want_status;
};

class ServerRefusesTest : public ServerTest, public ::testing::WithParamInterface<RefusedCase> {};

TEST_P(ServerRefusesTest, OversizedRequestNeverReachesTheHandler) {
  Start(RecordingHandler());
  std::unique_ptr<TlsTestClient> client = ConnectOrDie();
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Send(GetParam().request).ok());
  absl::StatusOr<HttpReply> reply = client->ReadReply();
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->status, GetParam().want_status);
  // Answered as every error is, through the one error table: a Kubernetes Status.
  EXPECT_THAT(reply->body, HasSubstr(R"("kind":"Status")"));
  EXPECT_THAT(reply->body, HasSubstr(absl::StrCat(R"("code":)", GetParam().want_status)));
  EXPECT_THAT(reply->Header("connection"), Optional(std::string("close")));
  EXPECT_TRUE(recorder_.requests().empty());
}

INSTANTIATE_TEST_SUITE_P(
    Limits, ServerRefusesTest,
    ::testing::ValuesIn(std::vector<RefusedCase>{
        {"HeaderTooLarge",
         "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(kMaxHeaderBytes, 'a') + "\r\n\r\n",
         431},
        {"BodyTooLarge",
         "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(kMaxBodyBytes + 1) +
             "\r\n\r\n" + std::string(16, 'b'),  // refused on the declared length alone
         413},
        {"NotHttp", "HELLO\r\n\r\n", 400},
    }),
    [](const ::testing::TestParamInfo<RefusedCase>& param_info) { return param_info.param.name; });

struct TlsVersionCase {
  std::string name;
  std::string server_min_version;
  int client_max_version;
  bool want_ok;
};

class ServerTlsVersionTest : public ServerTest,
                             public ::testing::WithParamInterface<TlsVersionCase> {};

TEST_P(ServerTlsVersionTest, MinVersionIsEnforced) {
  const TlsVersionCase& tc = GetParam();
  options_.tls_min_version = tc.server_min_version;
  Start(RecordingHandler());
  TlsTestClientOptions client_options;
  client_options.min_version = TLS1_VERSION;
  client_options.max_version = tc.client_max_version;
  absl::StatusOr<std::unique_ptr<TlsTestClient>> client =
      TlsTestClient::Connect(running_->port(), client_options);
  if (tc.want_ok) {
    ASSERT_TRUE(client.ok()) << client.status();
    EXPECT_EQ((*client)->protocol_version(), tc.client_max_version);
    absl::StatusOr<HttpReply> reply = (*client)->Get("/");
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->status, 200);
  } else {
    ASSERT_FALSE(client.ok());
    // The server's refusal, not a client-side configuration problem.
    EXPECT_THAT(std::string(client.status().message()), HasSubstr("alert protocol version"));
  }
}

INSTANTIATE_TEST_SUITE_P(Versions, ServerTlsVersionTest,
                         ::testing::ValuesIn(std::vector<TlsVersionCase>{
                             {"Tls11RefusedByDefault", "VersionTLS12", TLS1_1_VERSION, false},
                             {"Tls12AcceptedByDefault", "VersionTLS12", TLS1_2_VERSION, true},
                             {"Tls13AcceptedByDefault", "VersionTLS12", TLS1_3_VERSION, true},
                             {"Tls12RefusedWhenMin13", "VersionTLS13", TLS1_2_VERSION, false},
                             {"Tls13AcceptedWhenMin13", "VersionTLS13", TLS1_3_VERSION, true},
                         }),
                         [](const ::testing::TestParamInfo<TlsVersionCase>& param_info) {
                           return param_info.param.name;
                         });

TEST_F(ServerTest, SelfSignedCertificateIsWrittenAndReused) {
  std::string cert_file = options_.cert_dir + "/apiserver.crt";
  std::string key_file = options_.cert_dir + "/apiserver.key";
  std::string served_by_first;
  for (int round = 0; round < 2; ++round) {
    Start(RecordingHandler());
    std::string cert_pem = ReadFileOrDie(cert_file);
    ASSERT_FALSE(cert_pem.empty());
    struct stat key_stat {};
    ASSERT_EQ(::stat(key_file.c_str(), &key_stat), 0);
    EXPECT_EQ(key_stat.st_mode & 0777, 0600u);
    // The written certificate is a usable trust bundle for "localhost".
    TlsTestClientOptions client_options;
    client_options.trusted_ca_pem = cert_pem;
    std::unique_ptr<TlsTestClient> client = ConnectOrDie(client_options);
    ASSERT_NE(client, nullptr);
    if (round == 0) {
      served_by_first = client->PeerCertificatePem();
      EXPECT_EQ(served_by_first, cert_pem);
    } else {
      EXPECT_EQ(client->PeerCertificatePem(), served_by_first);
    }
    client.reset();
    running_.reset();
  }
}

// Two serving pairs, A (the files at start) and B, and the files the server reads.
class ServerReloadTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    for (PemCertificate* pair : {&a_, &b_}) {
      absl::StatusOr<PemCertificate> issued =
          IssueTestCertificate({"localhost", {}, false, false}, nullptr);
      ASSERT_TRUE(issued.ok()) << issued.status();
      *pair = *issued;
    }
    options_.tls_cert_file = dir_ + "/tls.crt";
    options_.tls_private_key_file = dir_ + "/tls.key";
    WritePair(a_.certificate_pem, a_.private_key_pem);
  }

  void WritePair(std::string_view certificate_pem, std::string_view private_key_pem) {
    ASSERT_TRUE(WriteTestFile(options_.tls_cert_file, certificate_pem).ok());
    ASSERT_TRUE(WriteTestFile(options_.tls_private_key_file, private_key_pem).ok());
  }

  std::string ServedCertificate() {
    std::unique_ptr<TlsTestClient> client = ConnectOrDie();
    return client == nullptr ? "" : client->PeerCertificatePem();
  }

  PemCertificate a_;
  PemCertificate b_;
};

TEST_F(ServerReloadTest, NewConnectionsGetTheNewPairAndOpenOnesKeepTheirs) {
  Start(RecordingHandler());
  std::unique_ptr<TlsTestClient> open = ConnectOrDie();
  ASSERT_NE(open, nullptr);
  EXPECT_EQ(open->PeerCertificatePem(), a_.certificate_pem);

  WritePair(b_.certificate_pem, b_.private_key_pem);
  ASSERT_TRUE(running_->server().ReloadServingCertificate().ok());
  EXPECT_EQ(ServedCertificate(), b_.certificate_pem);
  // The connection made before the reload still serves requests on its own session.
  absl::StatusOr<HttpReply> reply = open->Get("/apis");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->status, 200);
}

struct BadPairCase {
  std::string name;
  // Leaves the files in a bad state; `b` is the fixture's second pair.
  std::function<void(const PemCertificate& b, const ServerOptions& options)> spoil;
  std::string want_message_part;
};

class ServerBadReloadTest : public ServerReloadTest,
                            public ::testing::WithParamInterface<BadPairCase> {};

TEST_P(ServerBadReloadTest, KeepsTheCurrentPairAndNamesTheFile) {
  Start(RecordingHandler());
  const absl::Time not_after = running_->server().serving_certificate_not_after();
  GetParam().spoil(b_, options_);
  absl::Status status = running_->server().ReloadServingCertificate();
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr(GetParam().want_message_part));
  EXPECT_EQ(ServedCertificate(), a_.certificate_pem);
  EXPECT_EQ(running_->server().serving_certificate_not_after(), not_after);
  // The next good write is taken.
  WritePair(b_.certificate_pem, b_.private_key_pem);
  ASSERT_TRUE(running_->server().ReloadServingCertificate().ok());
  EXPECT_EQ(ServedCertificate(), b_.certificate_pem);
}

INSTANTIATE_TEST_SUITE_P(
    Spoils, ServerBadReloadTest,
    ::testing::ValuesIn(std::vector<BadPairCase>{
        {"KeyOfAnotherCertificate",
         [](const PemCertificate& b, const ServerOptions& o) {
           // The certificate is B's, the key still A's: a rotation seen half done.
           ASSERT_TRUE(WriteTestFile(o.tls_cert_file, b.certificate_pem).ok());
         },
         "does not match"},
        {"HalfWrittenCertificate",
         [](const PemCertificate& b, const ServerOptions& o) {
           ASSERT_TRUE(WriteTestFile(o.tls_cert_file,
                                     b.certificate_pem.substr(0, b.certificate_pem.size() / 2))
                           .ok());
         },
         "--tls-cert-file"},
        {"EmptyKey",
         [](const PemCertificate& b, const ServerOptions& o) {
           ASSERT_TRUE(WriteTestFile(o.tls_cert_file, b.certificate_pem).ok());
           ASSERT_TRUE(WriteTestFile(o.tls_private_key_file, "").ok());
         },
         "--tls-private-key-file"},
        {"DanglingSymlink",
         [](const PemCertificate&, const ServerOptions& o) {
           ASSERT_EQ(::unlink(o.tls_cert_file.c_str()), 0);
           // As a Secret volume's link would after a bad swap; the next write goes through it.
           ASSERT_EQ(::symlink("missing.crt", o.tls_cert_file.c_str()), 0);
         },
         "tls.crt"},
    }),
    [](const ::testing::TestParamInfo<BadPairCase>& param_info) { return param_info.param.name; });

TEST_F(ServerTest, ReloadedClientCaChangesWhichCertificatesVerify) {
  std::map<std::string, PemCertificate> leaves;
  std::map<std::string, PemCertificate> cas;
  for (std::string name : {"old", "new"}) {
    absl::StatusOr<PemCertificate> ca =
        IssueTestCertificate({name + "-ca", {}, true, false}, nullptr);
    ASSERT_TRUE(ca.ok()) << ca.status();
    cas[name] = *ca;
    absl::StatusOr<PemCertificate> leaf =
        IssueTestCertificate({name + "-user", {}, false, true}, &cas[name]);
    ASSERT_TRUE(leaf.ok()) << leaf.status();
    leaves[name] = *leaf;
  }
  options_.client_ca_file = dir_ + "/client-ca.crt";
  ASSERT_TRUE(WriteTestFile(options_.client_ca_file, cas["old"].certificate_pem).ok());
  Start(RecordingHandler());
  // Whether a new connection with `leaf` is verified by the client CA.
  auto verified = [this](const PemCertificate& leaf) {
    TlsTestClientOptions client_options;
    client_options.certificate_pem = leaf.certificate_pem;
    client_options.private_key_pem = leaf.private_key_pem;
    std::unique_ptr<TlsTestClient> client = ConnectOrDie(client_options);
    EXPECT_NE(client, nullptr);
    if (client == nullptr || !client->Get("/apis").ok()) {
      return false;
    }
    std::optional<http::PeerCertificate> peer = recorder_.requests().back().peer_certificate;
    return peer.has_value() && peer->verified_by_client_ca;
  };
  EXPECT_TRUE(verified(leaves["old"]));
  EXPECT_FALSE(verified(leaves["new"]));

  ASSERT_TRUE(WriteTestFile(options_.client_ca_file, cas["new"].certificate_pem).ok());
  ASSERT_TRUE(running_->server().ReloadClientCaFiles().ok());
  EXPECT_FALSE(verified(leaves["old"]));
  EXPECT_TRUE(verified(leaves["new"]));

  ASSERT_TRUE(WriteTestFile(options_.client_ca_file, "-----BEGIN CERTIFICATE-----\nAAAA").ok());
  absl::Status broken = running_->server().ReloadClientCaFiles();
  EXPECT_THAT(std::string(broken.message()), HasSubstr("--client-ca-file"));
  EXPECT_TRUE(verified(leaves["new"]));
}

struct BadConfigCase {
  std::string name;
  std::function<void(const std::string& dir, ServerOptions& options)> mutate;
  std::string want_message_part;
};

class ServerBadConfigTest : public ServerTest,
                            public ::testing::WithParamInterface<BadConfigCase> {};

TEST_P(ServerBadConfigTest, CreateFailsNamingTheCulprit) {
  const BadConfigCase& tc = GetParam();
  absl::StatusOr<PemCertificate> good = GenerateSelfSignedCertificate(absl::Now());
  ASSERT_TRUE(good.ok());
  ASSERT_TRUE(WriteTestFile(dir_ + "/good.crt", good->certificate_pem).ok());
  ASSERT_TRUE(WriteTestFile(dir_ + "/good.key", good->private_key_pem).ok());
  absl::StatusOr<PemCertificate> other = GenerateSelfSignedCertificate(absl::Now());
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(WriteTestFile(dir_ + "/other.key", other->private_key_pem).ok());
  ASSERT_TRUE(WriteTestFile(dir_ + "/garbage.pem", "not a pem file\n").ok());
  tc.mutate(dir_, options_);
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Create(
      options_, Awaiting([](const http::Request&, const Responder&) {}), &api::StatusResponse);
  ASSERT_FALSE(server.ok());
  EXPECT_THAT(std::string(server.status().message()), HasSubstr(tc.want_message_part));
}

INSTANTIATE_TEST_SUITE_P(
    Configs, ServerBadConfigTest,
    ::testing::ValuesIn(std::vector<BadConfigCase>{
        {"MissingCertFile",
         [](const std::string& d, ServerOptions& o) {
           o.tls_cert_file = d + "/missing.crt";
           o.tls_private_key_file = d + "/good.key";
         },
         "missing.crt"},
        {"GarbageCertFile",
         [](const std::string& d, ServerOptions& o) {
           o.tls_cert_file = d + "/garbage.pem";
           o.tls_private_key_file = d + "/good.key";
         },
         "garbage.pem"},
        {"GarbageKeyFile",
         [](const std::string& d, ServerOptions& o) {
           o.tls_cert_file = d + "/good.crt";
           o.tls_private_key_file = d + "/garbage.pem";
         },
         "garbage.pem"},
        {"MismatchedKey",
         [](const std::string& d, ServerOptions& o) {
           o.tls_cert_file = d + "/good.crt";
           o.tls_private_key_file = d + "/other.key";
         },
         "other.key"},
        {"CertWithoutKey",
         [](const std::string& d, ServerOptions& o) { o.tls_cert_file = d + "/good.crt"; },
         "must be given together"},
        {"GarbageClientCa",
         [](const std::string& d, ServerOptions& o) { o.client_ca_file = d + "/garbage.pem"; },
         "--client-ca-file"},
        {"MissingRequestHeaderCa",
         [](const std::string& d, ServerOptions& o) {
           o.requestheader_client_ca_file = d + "/missing-ca.crt";
         },
         "missing-ca.crt"},
        {"OldTlsVersion",
         [](const std::string&, ServerOptions& o) { o.tls_min_version = "VersionTLS11"; },
         "TLS 1.2 is the minimum"},
        {"BadBindAddress",
         [](const std::string&, ServerOptions& o) { o.bind_address = "not-an-ip"; },
         "--bind-address"},
        {"NoCertDir", [](const std::string&, ServerOptions& o) { o.cert_dir.clear(); },
         "--cert-dir"},
    }),
    [](const ::testing::TestParamInfo<BadConfigCase>& param_info) {
      return param_info.param.name;
    });

struct ClientCertCase {
  std::string name;
  std::string issuer;  // "requestheader", "client", "unknown" or "" (no certificate)
  bool client_auth_usage;
  bool want_present;
  bool want_requestheader;
  bool want_client_ca;
};

class ServerClientCertTest : public ServerTest,
                             public ::testing::WithParamInterface<ClientCertCase> {};

TEST_P(ServerClientCertTest, PeerCertificateIsVerifiedPerBundle) {
  const ClientCertCase& tc = GetParam();
  std::map<std::string, PemCertificate> cas;
  for (std::string name : {"requestheader", "client", "unknown"}) {
    absl::StatusOr<PemCertificate> ca =
        IssueTestCertificate({name + "-ca", {}, true, false}, nullptr);
    ASSERT_TRUE(ca.ok()) << ca.status();
    cas[name] = *ca;
  }
  options_.requestheader_client_ca_file = dir_ + "/requestheader-ca.crt";
  options_.client_ca_file = dir_ + "/client-ca.crt";
  ASSERT_TRUE(
      WriteTestFile(options_.requestheader_client_ca_file, cas["requestheader"].certificate_pem)
          .ok());
  ASSERT_TRUE(WriteTestFile(options_.client_ca_file, cas["client"].certificate_pem).ok());
  Start(RecordingHandler());

  TlsTestClientOptions client_options;
  if (!tc.issuer.empty()) {
    TestCertificateSpec spec{
        "front-proxy-client", {"system:masters", "ops"}, false, tc.client_auth_usage};
    absl::StatusOr<PemCertificate> leaf = IssueTestCertificate(spec, &cas[tc.issuer]);
    ASSERT_TRUE(leaf.ok()) << leaf.status();
    client_options.certificate_pem = leaf->certificate_pem;
    client_options.private_key_pem = leaf->private_key_pem;
  }
  std::unique_ptr<TlsTestClient> client = ConnectOrDie(client_options);
  ASSERT_NE(client, nullptr);
  absl::StatusOr<HttpReply> reply = client->Get("/apis");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->status, 200);

  std::vector<http::Request> requests = recorder_.requests();
  ASSERT_EQ(requests.size(), 1u);
  const std::optional<http::PeerCertificate>& peer = requests.front().peer_certificate;
  ASSERT_EQ(peer.has_value(), tc.want_present);
  if (peer.has_value()) {
    // A certificate that no bundle verifies is present (the authenticators refuse it with a 401)
    // but names no one and allows nothing.
    const bool verified = tc.want_requestheader || tc.want_client_ca;
    const std::vector<std::string> want_organizations =
        verified ? std::vector<std::string>{"system:masters", "ops"} : std::vector<std::string>{};
    EXPECT_EQ(peer->common_name, verified ? "front-proxy-client" : "");
    EXPECT_EQ(peer->organizations, want_organizations);
    EXPECT_EQ(peer->verified_by_requestheader_ca, tc.want_requestheader);
    EXPECT_EQ(peer->verified_by_client_ca, tc.want_client_ca);
    EXPECT_EQ(peer->has_client_auth_usage, verified && tc.client_auth_usage);
  }
}

INSTANTIATE_TEST_SUITE_P(Issuers, ServerClientCertTest,
                         ::testing::ValuesIn(std::vector<ClientCertCase>{
                             {"RequestHeaderCa", "requestheader", true, true, true, false},
                             {"ClientCa", "client", true, true, false, true},
                             {"RequestHeaderCaWithoutClientAuth", "requestheader", false, true,
                              true, false},
                             {"UnknownCaIsUnverified", "unknown", true, true, false, false},
                             {"NoCertificateIsAbsent", "", true, false, false, false},
                         }),
                         [](const ::testing::TestParamInfo<ClientCertCase>& param_info) {
                           return param_info.param.name;
                         });

TEST_F(ServerTest, GracefulShutdownFinishesInFlightRequestAndClosesIdleOnes) {
  absl::Notification in_slow_handler;
  absl::Mutex mu;
  Start([&](const http::Request& request, Responder respond) {
    if (request.path != "/slow") {
      respond(http::Response{200, "text/plain", "fast", {}});
      return;
    }
    absl::MutexLock lock(&mu);
    threads_.emplace_back([respond = std::move(respond), &in_slow_handler] {
      in_slow_handler.Notify();
      absl::SleepFor(absl::Milliseconds(300));  // still in flight while Shutdown() runs
      respond(http::Response{200, "text/plain", "slow but done", {}});
    });
  });
  std::unique_ptr<TlsTestClient> idle = ConnectOrDie();
  std::unique_ptr<TlsTestClient> busy = ConnectOrDie();
  ASSERT_NE(idle, nullptr);
  ASSERT_NE(busy, nullptr);
  absl::StatusOr<HttpReply> warmup = idle->Get("/fast");
  ASSERT_TRUE(warmup.ok()) << warmup.status();

  ASSERT_TRUE(busy->Send("GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n").ok());
  ASSERT_TRUE(in_slow_handler.WaitForNotificationWithTimeout(kTestWait));
  running_->server().Shutdown();

  absl::StatusOr<HttpReply> reply = busy->ReadReply();
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "slow but done");
  EXPECT_THAT(reply->Header("connection"), Optional(std::string("close")));
  EXPECT_TRUE(idle->ReadsEof());
  EXPECT_TRUE(running_->WaitForRunToReturn());
  EXPECT_FALSE(TlsTestClient::Connect(running_->port(), {}).ok());
  { absl::MutexLock lock(&mu); }
}

// A handler may still hold its Responder when the server is gone (a Prometheus callback that
// lands after shutdown): answering and dropping it then must touch nothing of the server.
TEST_F(ServerTest, ResponderOutlivingTheServerIsHarmless) {
  absl::Mutex mu;
  std::optional<Responder> kept;
  absl::Notification handler_ran;
  Start([&](const http::Request&, Responder respond) {
    absl::MutexLock lock(&mu);
    kept = std::move(respond);
    handler_ran.Notify();
  });
  std::unique_ptr<TlsTestClient> client = ConnectOrDie();
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Send("GET /never HTTP/1.1\r\nHost: localhost\r\n\r\n").ok());
  ASSERT_TRUE(handler_ran.WaitForNotificationWithTimeout(kTestWait));
  running_.reset();  // shuts down, joins Run() and destroys the server and its io_context
  absl::MutexLock lock(&mu);
  ASSERT_TRUE(kept.has_value());
  (*kept)(http::Response{200, "text/plain", "too late", {}});
  kept.reset();  // ASan reports a use-after-free here if the Responder still owns a strand
  EXPECT_TRUE(client->ReadsEof());
}

TEST_F(ServerTest, ShutdownIsIdempotentAndWorksBeforeRun) {
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Create(
      options_, Awaiting([](const http::Request&, const Responder&) {}), &api::StatusResponse);
  ASSERT_TRUE(server.ok()) << server.status();
  (*server)->Shutdown();
  (*server)->Shutdown();
  (*server)->Run();  // returns at once: there is nothing to drain
  EXPECT_EQ((*server)->stats().active_connections, 0u);
}

TEST_F(ServerTest, SigtermStops) {
  Start(RecordingHandler());
  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
  EXPECT_TRUE(running_->WaitForRunToReturn());
}

// The shutdown delay: after SIGTERM the server serves as before (keep-alive included, no
// Connection: close) with readiness off, until a second signal ends the delay.
TEST_F(ServerTest, SigtermBeginsADelayOfNormalServingThatASecondSignalEnds) {
  absl::Notification shutdown_began;
  options_.shutdown_delay = std::chrono::hours(1);  // only the second signal can end it
  options_.on_shutdown = [&shutdown_began] { shutdown_began.Notify(); };
  Start(RecordingHandler());
  std::unique_ptr<TlsTestClient> kept = ConnectOrDie();
  ASSERT_NE(kept, nullptr);
  ASSERT_TRUE(kept->Get("/before").ok());

  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
  ASSERT_TRUE(shutdown_began.WaitForNotificationWithTimeout(kTestWait));
  absl::StatusOr<HttpReply> on_kept = kept->Get("/during-delay");
  ASSERT_TRUE(on_kept.ok()) << on_kept.status();
  EXPECT_EQ(on_kept->status, 200);
  EXPECT_EQ(on_kept->Header("connection"), std::nullopt);
  std::unique_ptr<TlsTestClient> fresh = ConnectOrDie();
  ASSERT_NE(fresh, nullptr);
  absl::StatusOr<HttpReply> on_fresh = fresh->Get("/new-connection-during-delay");
  ASSERT_TRUE(on_fresh.ok()) << on_fresh.status();
  EXPECT_EQ(on_fresh->status, 200);

  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
  EXPECT_TRUE(running_->WaitForRunToReturn());
  EXPECT_TRUE(kept->ReadsEof());
  EXPECT_FALSE(TlsTestClient::Connect(running_->port(), {}).ok());
}

TEST_F(ServerTest, ShutdownEndsADelayUnderWayAndTellsTheHookOnce) {
  std::atomic<int> hook_calls{0};
  absl::Notification shutdown_began;
  options_.shutdown_delay = std::chrono::hours(1);
  options_.on_shutdown = [&] {
    ++hook_calls;
    shutdown_began.Notify();
  };
  Start(RecordingHandler());
  ASSERT_EQ(::kill(::getpid(), SIGINT), 0);
  ASSERT_TRUE(shutdown_began.WaitForNotificationWithTimeout(kTestWait));
  running_->server().Shutdown();
  EXPECT_TRUE(running_->WaitForRunToReturn());
  EXPECT_EQ(hook_calls.load(), 1);
}

// Draining: the listener is closed and idle keep-alive connections end while a request is still
// in flight; that request is answered in full, with Connection: close.
TEST_F(ServerTest, DrainRefusesNewConnectionsWhileARequestInFlightCompletes) {
  absl::Notification in_slow_handler;
  absl::Notification release_slow;
  absl::Mutex mu;
  Start([&](const http::Request& request, Responder respond) {
    if (request.path != "/slow") {
      respond(http::Response{200, "text/plain", "fast", {}});
      return;
    }
    absl::MutexLock lock(&mu);
    threads_.emplace_back([respond = std::move(respond), &in_slow_handler, &release_slow] {
      in_slow_handler.Notify();
      release_slow.WaitForNotification();
      respond(http::Response{200, "text/plain", "slow but done", {}});
    });
  });
  std::unique_ptr<TlsTestClient> idle = ConnectOrDie();
  std::unique_ptr<TlsTestClient> busy = ConnectOrDie();
  ASSERT_NE(idle, nullptr);
  ASSERT_NE(busy, nullptr);
  ASSERT_TRUE(idle->Get("/fast").ok());
  ASSERT_TRUE(busy->Send("GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n").ok());
  ASSERT_TRUE(in_slow_handler.WaitForNotificationWithTimeout(kTestWait));

  running_->server().Shutdown();
  EXPECT_TRUE(idle->ReadsEof());
  // The listener closes on the server's own thread: a connection made just before may still be
  // accepted and closed at once, so wait for the refusal itself.
  const absl::Time deadline = absl::Now() + kTestWait;
  bool refused = false;
  while (!refused && absl::Now() < deadline) {
    refused = !TlsTestClient::Connect(running_->port(), {}).ok();
  }
  EXPECT_TRUE(refused);

  release_slow.Notify();
  absl::StatusOr<HttpReply> reply = busy->ReadReply();
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "slow but done");
  EXPECT_THAT(reply->Header("connection"), Optional(std::string("close")));
  EXPECT_TRUE(busy->ReadsEof());
  EXPECT_TRUE(running_->WaitForRunToReturn());
  { absl::MutexLock lock(&mu); }
}

TEST_F(ServerTest, SighupCallsTheReloadHookAndKeepsServing) {
  absl::Notification reloaded;
  options_.on_reload_signal = [&reloaded] { reloaded.Notify(); };
  Start(RecordingHandler());
  ASSERT_EQ(::kill(::getpid(), SIGHUP), 0);
  ASSERT_TRUE(reloaded.WaitForNotificationWithTimeout(kTestWait));
  std::unique_ptr<TlsTestClient> client = ConnectOrDie();
  ASSERT_NE(client, nullptr);
  absl::StatusOr<HttpReply> reply = client->Get("/after-sighup");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->status, 200);
  // SIGTERM still stops it.
  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
  EXPECT_TRUE(running_->WaitForRunToReturn());
}

TEST_F(ServerTest, AnIdleConnectionGivesItsSlotToANewOne) {
  options_.limits.max_connections = 1;
  Start(RecordingHandler());
  std::unique_ptr<TlsTestClient> idle = ConnectOrDie();
  ASSERT_NE(idle, nullptr);
  std::unique_ptr<TlsTestClient> next = ConnectOrDie();
  ASSERT_NE(next, nullptr);
  absl::StatusOr<HttpReply> reply = next->Get("/served");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->status, 200);
  EXPECT_TRUE(idle->ReadsEof());
  EXPECT_EQ(running_->server().stats().evicted_connections, 1u);
  EXPECT_EQ(running_->server().stats().rejected_connections, 0u);
}

TEST_F(ServerTest, ConnectionsBeyondTheLimitAreClosedAndCountedWhenEverySlotIsBusy) {
  options_.limits.max_connections = 1;
  absl::Mutex mu;
  std::vector<Responder> held;
  Start(HoldingHandler("/slow", "not held", &mu, &held));
  std::unique_ptr<TlsTestClient> busy = ConnectOrDie();
  ASSERT_NE(busy, nullptr);
  ASSERT_TRUE(busy->Send("GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n").ok());
  ASSERT_TRUE(AwaitHeld(mu, held));
  EXPECT_FALSE(TlsTestClient::Connect(running_->port(), {}).ok());
  EXPECT_EQ(running_->server().stats().rejected_connections, 1u);
  {
    absl::MutexLock lock(&mu);
    held.front()(http::Response{200, "text/plain", "still served", {}});
  }
  absl::StatusOr<HttpReply> reply = busy->ReadReply();
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->body, "still served");
}

// Another host opening connections it never uses (not even a TLS handshake) as fast as it can:
// it stays within its own share, and a client from elsewhere still gets a slot.
TEST_F(ServerTest, ASourceHoldingIdleConnectionsCannotLockOthersOut) {
  options_.limits.max_connections = 8;
  options_.limits.max_connections_per_source = 4;
  Start(RecordingHandler());
  std::vector<int> hostile;
  for (int i = 0; i < 12; ++i) {
    absl::StatusOr<int> fd = testing::ConnectTcp(running_->port(), "127.0.0.2");
    ASSERT_TRUE(fd.ok()) << fd.status();
    hostile.push_back(*fd);
  }
  TlsTestClientOptions from_elsewhere;
  from_elsewhere.source_address = "127.0.0.3";
  absl::StatusOr<std::unique_ptr<TlsTestClient>> client =
      TlsTestClient::Connect(running_->port(), from_elsewhere);
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<HttpReply> reply = (*client)->Get("/served");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->status, 200);
  // Each hostile connection past its share of 4 took the slot of one of its own.
  EXPECT_EQ(running_->server().stats().evicted_connections, 8u);
  EXPECT_EQ(running_->server().stats().rejected_connections, 0u);
  for (int fd : hostile) ::close(fd);
}

}  // namespace
}  // namespace ma::server
