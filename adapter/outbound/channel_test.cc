// Channels on one shared HttpClient: per-channel TLS settings over real TLS (the adapter's own
// server asks for client certificates and answers with the one it verified), and cancellation
// scoped to a channel.

#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "adapter/async/task.h"
#include "adapter/http/message.h"
#include "adapter/outbound/http_client.h"
#include "adapter/server/self_signed_cert.h"
#include "adapter/server/server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/testing/loopback_http_server.h"
#include "test/testing/status_matchers.h"
#include "test/testing/temp_dir.h"
#include "test/testing/test_certs.h"

namespace ma::outbound {
namespace {

using ::ma::testing::IsOk;
using ::ma::testing::LoopbackHttpServer;
using ::ma::testing::StatusIs;

constexpr absl::Duration kTestWait = absl::Seconds(30);

absl::StatusOr<OutboundResponse> SendSync(Channel& channel, std::string url) {
  std::promise<absl::StatusOr<OutboundResponse>> promise;
  auto future = promise.get_future();
  OutboundRequest request;
  request.url = std::move(url);
  channel.Send(std::move(request), [&promise](absl::StatusOr<OutboundResponse> result) {
    promise.set_value(std::move(result));
  });
  return future.get();
}

// Answers with the common name of the client certificate the server verified, or "-".
async::Task<http::Response> EchoPeer(http::Request request) {
  co_return http::Response{
      200,
      "text/plain",
      request.peer_certificate.has_value() ? request.peer_certificate->common_name : "-",
      {}};
}

// The adapter's server on a free port with a self-signed certificate for 127.0.0.1, asking for
// client certificates signed by a test CA; Run on a thread of its own.
class TlsEchoServer {
 public:
  TlsEchoServer() {
    auto ca = testing::IssueTestCertificate({.common_name = "channel-test-ca",
                                             .organizations = {},
                                             .is_ca = true,
                                             .client_auth_usage = false},
                                            nullptr);
    EXPECT_THAT(ca, IsOk());
    ca_ = *ca;
    server::ServerOptions options;
    options.bind_address = "127.0.0.1";
    options.port = 0;
    options.cert_dir = dir_.path();
    options.client_ca_file = dir_.Write("client-ca.pem", ca_.certificate_pem);
    auto server = server::Server::Create(
        std::move(options), [](http::Request r) { return EchoPeer(std::move(r)); },
        [](const absl::Status& s) {
          return http::Response{500, "text/plain", std::string(s.message()), {}};
        });
    EXPECT_THAT(server, IsOk());
    server_ = *std::move(server);
    thread_ = std::thread([this] { server_->Run(); });
  }
  ~TlsEchoServer() {
    server_->Shutdown();
    thread_.join();
  }

  std::string Url() const { return "https://127.0.0.1:" + std::to_string(server_->port()) + "/"; }
  // The server's self-signed certificate, as a CA file that trusts it.
  std::string ServerCaFile() const {
    return dir_.path() + "/" + std::string(server::kSelfSignedCertFileName);
  }
  // A client certificate with `common_name`, signed by the CA the server trusts.
  TlsOptions ClientTls(const std::string& common_name) const {
    auto cert = testing::IssueTestCertificate({.common_name = common_name,
                                               .organizations = {},
                                               .is_ca = false,
                                               .client_auth_usage = true},
                                              &ca_);
    EXPECT_THAT(cert, IsOk());
    return {.ca_file = ServerCaFile(),
            .client_cert_file = dir_.Write(common_name + ".crt", cert->certificate_pem),
            .client_key_file = dir_.Write(common_name + ".key", cert->private_key_pem),
            .insecure_skip_verify = false};
  }
  const testing::TempDir& dir() const { return dir_; }

 private:
  testing::TempDir dir_{"channel_test"};
  server::PemCertificate ca_;
  std::unique_ptr<server::Server> server_;
  std::thread thread_;
};

std::unique_ptr<HttpClient> NewClient() {
  auto client = HttpClient::Create({});
  EXPECT_THAT(client, IsOk());
  return *std::move(client);
}

std::unique_ptr<Channel> NewChannel(HttpClient& client, TlsOptions tls) {
  auto channel = Channel::Create(client, std::move(tls));
  EXPECT_THAT(channel, IsOk());
  return *std::move(channel);
}

TEST(ChannelTest, EachChannelPresentsItsOwnClientCertificateOnTheSameHost) {
  TlsEchoServer server;
  auto client = NewClient();
  auto alice = NewChannel(*client, server.ClientTls("alice"));
  auto bob = NewChannel(*client, server.ClientTls("bob"));
  auto nobody = NewChannel(*client, {.ca_file = server.ServerCaFile(),
                                     .client_cert_file = "",
                                     .client_key_file = "",
                                     .insecure_skip_verify = false});
  // Interleaved and sequential, so that a connection kept from one request is free for the next:
  // curl must not hand a connection opened with one identity to a request with another.
  for (int round = 0; round < 3; ++round) {
    for (auto [channel, want] : {std::pair{alice.get(), "alice"}, std::pair{bob.get(), "bob"},
                                 std::pair{nobody.get(), "-"}}) {
      absl::StatusOr<OutboundResponse> response = SendSync(*channel, server.Url());
      ASSERT_THAT(response, IsOk());
      EXPECT_EQ(response->status, 200);
      EXPECT_EQ(response->body, want) << "round " << round;
    }
  }
}

TEST(ChannelTest, AnInsecureChannelsConnectionIsNotReusedByAVerifyingOne) {
  TlsEchoServer server;
  auto client = NewClient();
  auto insecure = NewChannel(
      *client,
      {.ca_file = "", .client_cert_file = "", .client_key_file = "", .insecure_skip_verify = true});
  // Trusts a CA that did not sign the server's certificate.
  auto other_ca = testing::IssueTestCertificate(
      {.common_name = "other-ca", .organizations = {}, .is_ca = true, .client_auth_usage = false},
      nullptr);
  ASSERT_THAT(other_ca, IsOk());
  auto verifying =
      NewChannel(*client, {.ca_file = server.dir().Write("other-ca.pem", other_ca->certificate_pem),
                           .client_cert_file = "",
                           .client_key_file = "",
                           .insecure_skip_verify = false});
  ASSERT_THAT(SendSync(*insecure, server.Url()), IsOk());
  EXPECT_THAT(SendSync(*verifying, server.Url()), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(SendSync(*insecure, server.Url()), IsOk());
}

TEST(ChannelTest, CreateValidatesTlsFiles) {
  auto client = NewClient();
  EXPECT_THAT(Channel::Create(*client, {.ca_file = "/nonexistent/ca.pem",
                                        .client_cert_file = "",
                                        .client_key_file = "",
                                        .insecure_skip_verify = false}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Channel::Create(*client, {.ca_file = "",
                                        .client_cert_file = "/etc/hostname",
                                        .client_key_file = "",
                                        .insecure_skip_verify = false}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ChannelTest, ClosingAChannelCancelsOnlyItsOwnRequests) {
  LoopbackHttpServer hang([](const testing::LoopbackRequest&) { return std::nullopt; });
  auto client = NewClient();
  auto first = NewChannel(*client, {});
  auto second = NewChannel(*client, {});
  std::promise<absl::StatusOr<OutboundResponse>> first_result;
  std::promise<absl::StatusOr<OutboundResponse>> second_result;
  OutboundRequest request;
  request.url = hang.Url("/hang");
  first->Send(request, [&](absl::StatusOr<OutboundResponse> r) { first_result.set_value(r); });
  second->Send(request, [&](absl::StatusOr<OutboundResponse> r) { second_result.set_value(r); });
  auto first_future = first_result.get_future();
  auto second_future = second_result.get_future();

  first.reset();
  // Completed before the channel's destructor returned.
  ASSERT_EQ(first_future.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_THAT(first_future.get(), StatusIs(absl::StatusCode::kCancelled));
  EXPECT_EQ(second_future.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);

  second.reset();
  ASSERT_EQ(second_future.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_THAT(second_future.get(), StatusIs(absl::StatusCode::kCancelled));
}

TEST(ChannelTest, AChannelMayBeClosedFromItsOwnCallback) {
  LoopbackHttpServer server(
      [](const testing::LoopbackRequest&) { return testing::HttpResponseBytes(200, "ok"); });
  auto client = NewClient();
  std::unique_ptr<Channel> channel = NewChannel(*client, {});
  absl::Notification closed;
  OutboundRequest request;
  request.url = server.Url("/");
  channel->Send(request, [&](absl::StatusOr<OutboundResponse> r) {
    EXPECT_THAT(r, IsOk());
    channel.reset();  // on the worker thread: must neither deadlock nor touch freed state
    closed.Notify();
  });
  EXPECT_TRUE(closed.WaitForNotificationWithTimeout(kTestWait));
}

}  // namespace
}  // namespace ma::outbound
