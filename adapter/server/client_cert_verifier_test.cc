#include "adapter/server/client_cert_verifier.h"

#include <unistd.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "adapter/api/status.h"
#include "adapter/async/task.h"
#include "adapter/server/server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/testing/status_matchers.h"
#include "test/testing/temp_dir.h"
#include "test/testing/test_certs.h"
#include "test/testing/tls_test_client.h"

namespace ma::server {
namespace {

using ::ma::testing::HttpReply;
using ::ma::testing::IsOk;
using ::ma::testing::IssueTestCertificate;
using ::ma::testing::TempDir;
using ::ma::testing::TlsTestClient;
using ::ma::testing::TlsTestClientOptions;
using ::ma::testing::WriteTestFile;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

X509Ptr Leaf(const PemCertificate& pem) {
  absl::StatusOr<std::vector<X509Ptr>> certificates = ParsePemCertificates(pem.certificate_pem);
  EXPECT_THAT(certificates, IsOk());
  return certificates.ok() ? std::move(certificates->front()) : nullptr;
}

class ClientCertVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<PemCertificate> root = IssueTestCertificate({"root", {}, true, false}, nullptr);
    ASSERT_THAT(root, IsOk());
    root_ = *root;
    absl::StatusOr<PemCertificate> intermediate =
        IssueTestCertificate({"intermediate", {}, true, false}, &root_);
    ASSERT_THAT(intermediate, IsOk());
    intermediate_ = *intermediate;
    absl::StatusOr<PemCertificate> leaf =
        IssueTestCertificate({"jane", {"dev", "ops"}, false, true}, &intermediate_);
    ASSERT_THAT(leaf, IsOk());
    leaf_ = *leaf;
    ASSERT_TRUE(WriteTestFile(dir_ + "/root.crt", root_.certificate_pem).ok());
  }

  TempDir temp_dir_{"verifier"};
  const std::string dir_ = temp_dir_.path();
  PemCertificate root_;
  PemCertificate intermediate_;
  PemCertificate leaf_;
};

TEST_F(ClientCertVerifierTest, IntermediatesFromThePresentedChainAreUsed) {
  absl::StatusOr<ClientCertVerifier> verifier = ClientCertVerifier::Create(dir_ + "/root.crt", "");
  ASSERT_THAT(verifier, IsOk());
  EXPECT_TRUE(verifier->enabled());
  X509Ptr leaf = Leaf(leaf_);
  X509Ptr intermediate = Leaf(intermediate_);

  // Without its intermediate the chain does not verify: a certificate trusted by neither
  // bundle, refused by the authenticators rather than taken for no certificate.
  std::optional<http::PeerCertificate> unverified = verifier->Verify(leaf.get(), nullptr);
  ASSERT_TRUE(unverified.has_value());
  EXPECT_FALSE(unverified->verified_by_client_ca);
  EXPECT_FALSE(unverified->verified_by_requestheader_ca);
  EXPECT_FALSE(unverified->has_client_auth_usage);
  EXPECT_EQ(unverified->common_name, "");

  STACK_OF(X509)* chain = sk_X509_new_null();
  sk_X509_push(chain, intermediate.get());
  std::optional<http::PeerCertificate> peer = verifier->Verify(leaf.get(), chain);
  sk_X509_free(chain);
  ASSERT_TRUE(peer.has_value());
  EXPECT_EQ(peer->common_name, "jane");
  EXPECT_THAT(peer->organizations, ElementsAre("dev", "ops"));
  EXPECT_TRUE(peer->verified_by_client_ca);
  EXPECT_FALSE(peer->verified_by_requestheader_ca);
  EXPECT_TRUE(peer->has_client_auth_usage);
}

TEST_F(ClientCertVerifierTest, NoBundlesMeansDisabled) {
  absl::StatusOr<ClientCertVerifier> verifier = ClientCertVerifier::Create("", "");
  ASSERT_THAT(verifier, IsOk());
  EXPECT_FALSE(verifier->enabled());
  X509Ptr root = Leaf(root_);
  EXPECT_FALSE(verifier->Verify(root.get(), nullptr).has_value());
}

TEST_F(ClientCertVerifierTest, EmptyBundleNamesTheFlagAndFile) {
  ASSERT_TRUE(WriteTestFile(dir_ + "/empty.crt", "").ok());
  absl::StatusOr<ClientCertVerifier> verifier = ClientCertVerifier::Create("", dir_ + "/empty.crt");
  ASSERT_THAT(verifier, Not(IsOk()));
  EXPECT_THAT(std::string(verifier.status().message()),
              HasSubstr("--requestheader-client-ca-file"));
  EXPECT_THAT(std::string(verifier.status().message()), HasSubstr("empty.crt"));
}

TEST_F(ClientCertVerifierTest, CreateFromPem) {
  absl::StatusOr<ClientCertVerifier> verifier =
      ClientCertVerifier::CreateFromPem("", root_.certificate_pem);
  ASSERT_THAT(verifier, IsOk());
  EXPECT_TRUE(verifier->enabled());
  X509Ptr leaf = Leaf(leaf_);
  X509Ptr intermediate = Leaf(intermediate_);
  STACK_OF(X509)* chain = sk_X509_new_null();
  sk_X509_push(chain, intermediate.get());
  std::optional<http::PeerCertificate> peer = verifier->Verify(leaf.get(), chain);
  sk_X509_free(chain);
  ASSERT_TRUE(peer.has_value());
  EXPECT_TRUE(peer->verified_by_requestheader_ca);
  EXPECT_FALSE(peer->verified_by_client_ca);

  EXPECT_FALSE(ClientCertVerifier::CreateFromPem("", "")->enabled());
  absl::StatusOr<ClientCertVerifier> garbage = ClientCertVerifier::CreateFromPem("garbage", "");
  ASSERT_THAT(garbage, Not(IsOk()));
  EXPECT_THAT(std::string(garbage.status().message()), HasSubstr("client CA bundle"));
}

// Serves one request per connection on a Server whose client CAs start empty, and records
// whether the connection's certificate verified against the request-header bundle.
class ClientCaUpdateTest : public ClientCertVerifierTest {
 protected:
  void StartServer(bool request_client_certificates) {
    ServerOptions options;
    options.bind_address = "127.0.0.1";
    options.port = 0;
    options.cert_dir = dir_ + "/certs";
    options.request_client_certificates = request_client_certificates;
    absl::StatusOr<std::unique_ptr<Server>> server = Server::Create(
        options, [this](http::Request request) { return Record(std::move(request)); },
        &api::StatusResponse);
    ASSERT_THAT(server, IsOk());
    server_ = *std::move(server);
    thread_ = std::thread([this] { server_->Run(); });
  }
  async::Task<http::Response> Record(http::Request request) {
    {
      absl::MutexLock lock(&mu_);
      proxy_verified_.push_back(request.peer_certificate.has_value() &&
                                request.peer_certificate->verified_by_requestheader_ca);
    }
    co_return http::Response{200, "application/json", "{}", {}};
  }
  void TearDown() override {
    if (server_ != nullptr) {
      server_->Shutdown();
      thread_.join();
    }
    ClientCertVerifierTest::TearDown();
  }

  // One GET over a new connection that presents a leaf signed by the root (the test client
  // sends no intermediates).
  void GetWithClientCertificate() {
    absl::StatusOr<PemCertificate> leaf =
        IssueTestCertificate({"front-proxy-client", {}, false, true}, &root_);
    ASSERT_THAT(leaf, IsOk());
    TlsTestClientOptions client_options;
    client_options.certificate_pem = leaf->certificate_pem;
    client_options.private_key_pem = leaf->private_key_pem;
    absl::StatusOr<std::unique_ptr<TlsTestClient>> client =
        TlsTestClient::Connect(server_->port(), client_options);
    ASSERT_THAT(client, IsOk());
    absl::StatusOr<HttpReply> reply = (*client)->Get("/apis");
    ASSERT_THAT(reply, IsOk());
    EXPECT_EQ(reply->status, 200);
  }

  std::vector<bool> proxy_verified() {
    absl::MutexLock lock(&mu_);
    return proxy_verified_;
  }

  absl::Mutex mu_;
  std::vector<bool> proxy_verified_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<Server> server_;
  std::thread thread_;
};

TEST_F(ClientCaUpdateTest, NewBundlesApplyToNewConnections) {
  StartServer(/*request_client_certificates=*/true);
  GetWithClientCertificate();
  ASSERT_TRUE(server_->UpdateClientCas("", root_.certificate_pem).ok());
  GetWithClientCertificate();
  absl::Status bad = server_->UpdateClientCas("", "not a certificate");
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.message()), HasSubstr("request-header CA bundle"));
  GetWithClientCertificate();  // the last good bundles stay
  ASSERT_TRUE(server_->UpdateClientCas("", "").ok());
  GetWithClientCertificate();
  EXPECT_THAT(proxy_verified(), ElementsAre(false, true, true, false));
}

TEST_F(ClientCaUpdateTest, RefusedWhenCertificatesAreNotRequested) {
  StartServer(/*request_client_certificates=*/false);
  EXPECT_EQ(server_->UpdateClientCas("", root_.certificate_pem).code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace ma::server
