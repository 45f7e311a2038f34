#include "adapter/server/client_cert_verifier.h"

#include <unistd.h>

#include <filesystem>
#include <string>

#include "adapter/server/test_certs.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ma::server {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

X509Ptr Leaf(const PemCertificate& pem) {
  absl::StatusOr<std::vector<X509Ptr>> certificates = ParsePemCertificates(pem.certificate_pem);
  EXPECT_TRUE(certificates.ok());
  return certificates.ok() ? std::move(certificates->front()) : nullptr;
}

class ClientCertVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "verifier_XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    absl::StatusOr<PemCertificate> root = IssueTestCertificate({"root", {}, true, false}, nullptr);
    ASSERT_TRUE(root.ok());
    root_ = *root;
    absl::StatusOr<PemCertificate> intermediate =
        IssueTestCertificate({"intermediate", {}, true, false}, &root_);
    ASSERT_TRUE(intermediate.ok());
    intermediate_ = *intermediate;
    absl::StatusOr<PemCertificate> leaf =
        IssueTestCertificate({"jane", {"dev", "ops"}, false, true}, &intermediate_);
    ASSERT_TRUE(leaf.ok());
    leaf_ = *leaf;
    ASSERT_TRUE(WriteTestFile(dir_ + "/root.crt", root_.certificate_pem).ok());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_;
  PemCertificate root_;
  PemCertificate intermediate_;
  PemCertificate leaf_;
};

TEST_F(ClientCertVerifierTest, IntermediatesFromThePresentedChainAreUsed) {
  absl::StatusOr<ClientCertVerifier> verifier = ClientCertVerifier::Create(dir_ + "/root.crt", "");
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  EXPECT_TRUE(verifier->enabled());
  X509Ptr leaf = Leaf(leaf_);
  X509Ptr intermediate = Leaf(intermediate_);

  EXPECT_FALSE(verifier->Verify(leaf.get(), nullptr).has_value());

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
  ASSERT_TRUE(verifier.ok());
  EXPECT_FALSE(verifier->enabled());
  X509Ptr root = Leaf(root_);
  EXPECT_FALSE(verifier->Verify(root.get(), nullptr).has_value());
}

TEST_F(ClientCertVerifierTest, EmptyBundleNamesTheFlagAndFile) {
  ASSERT_TRUE(WriteTestFile(dir_ + "/empty.crt", "").ok());
  absl::StatusOr<ClientCertVerifier> verifier = ClientCertVerifier::Create("", dir_ + "/empty.crt");
  ASSERT_FALSE(verifier.ok());
  EXPECT_THAT(std::string(verifier.status().message()),
              HasSubstr("--requestheader-client-ca-file"));
  EXPECT_THAT(std::string(verifier.status().message()), HasSubstr("empty.crt"));
}

}  // namespace
}  // namespace ma::server
