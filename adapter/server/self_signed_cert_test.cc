#include "adapter/server/self_signed_cert.h"

#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "adapter/server/limits.h"
#include "adapter/server/openssl_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/testing/status_matchers.h"
#include "test/testing/temp_dir.h"

namespace ma::server {
namespace {

using ::ma::testing::IsOk;
using ::ma::testing::TempDir;
using ::ma::testing::WriteTestFile;
using ::testing::HasSubstr;
using ::testing::Not;

std::string CommonName(X509* certificate) {
  char buffer[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(certificate), NID_commonName, buffer,
                            sizeof(buffer));
  return buffer;
}

TEST(GenerateSelfSignedCertificateTest, MatchesTheGoApiserverShape) {
  absl::Time now = absl::FromUnixSeconds(1700000000);
  absl::StatusOr<PemCertificate> pem = GenerateSelfSignedCertificate(now);
  ASSERT_THAT(pem, IsOk());
  absl::StatusOr<std::vector<X509Ptr>> certificates = ParsePemCertificates(pem->certificate_pem);
  ASSERT_THAT(certificates, IsOk());
  ASSERT_EQ(certificates->size(), 1u);
  X509* certificate = certificates->front().get();
  absl::StatusOr<EvpPkeyPtr> key = ParsePemPrivateKey(pem->private_key_pem);
  ASSERT_THAT(key, IsOk());

  EXPECT_EQ(CommonName(certificate), "localhost@1700000000");
  EXPECT_EQ(X509_check_private_key(certificate, key->get()), 1);
  EXPECT_EQ(EVP_PKEY_get_base_id(key->get()), EVP_PKEY_EC);
  EXPECT_EQ(X509_check_host(certificate, "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(certificate, "127.0.0.1", 0), 1);
  EXPECT_NE(X509_check_host(certificate, "example.com", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_verify(certificate, key->get()), 1);  // signed by itself

  int days = 0;
  int seconds = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &seconds, X509_get0_notBefore(certificate),
                           X509_get0_notAfter(certificate)),
            1);
  EXPECT_EQ(days, 365);
  EXPECT_EQ(seconds, 0);
  // Valid from an hour before `now`.
  EXPECT_EQ(
      ASN1_TIME_cmp_time_t(X509_get0_notBefore(certificate), absl::ToTimeT(now - absl::Hours(1))),
      0);
}

class EnsureSelfSignedCertificateTest : public ::testing::Test {
 protected:
  std::string Read(const std::string& path) {
    absl::StatusOr<std::string> contents = ReadSmallFile(path, kMaxPemFileBytes);
    return contents.ok() ? *contents : "";
  }

  TempDir temp_dir_{"self_signed"};
  const std::string root_ = temp_dir_.path();
  const std::string cert_dir_ = root_ + "/nested/certs";
};

TEST_F(EnsureSelfSignedCertificateTest, WritesThenReuses) {
  absl::StatusOr<CertificateFiles> first = EnsureSelfSignedCertificate(cert_dir_);
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->cert_file, cert_dir_ + "/apiserver.crt");
  EXPECT_EQ(first->key_file, cert_dir_ + "/apiserver.key");
  struct stat key_stat {};
  ASSERT_EQ(::stat(first->key_file.c_str(), &key_stat), 0);
  EXPECT_EQ(key_stat.st_mode & 0777, 0600u);
  std::string cert = Read(first->cert_file);
  std::string key = Read(first->key_file);
  ASSERT_FALSE(cert.empty());

  absl::StatusOr<CertificateFiles> second = EnsureSelfSignedCertificate(cert_dir_);
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(Read(second->cert_file), cert);
  EXPECT_EQ(Read(second->key_file), key);
}

TEST_F(EnsureSelfSignedCertificateTest, PairNearItsExpiryIsReplacedAndOneWithTimeLeftKept) {
  for (const auto& [validity_left, want_kept] :
       {std::pair{kSelfSignedRenewBefore - absl::Hours(24), false},
        std::pair{kSelfSignedRenewBefore + absl::Hours(24), true}}) {
    absl::StatusOr<PemCertificate> old = GenerateSelfSignedCertificate(
        absl::Now() + validity_left + kSelfSignedBackdate - kSelfSignedValidity);
    ASSERT_THAT(old, IsOk());
    ASSERT_TRUE(std::filesystem::create_directories(cert_dir_) ||
                std::filesystem::is_directory(cert_dir_));
    ASSERT_TRUE(WriteTestFile(cert_dir_ + "/apiserver.crt", old->certificate_pem).ok());
    ASSERT_TRUE(WriteTestFile(cert_dir_ + "/apiserver.key", old->private_key_pem).ok());
    absl::StatusOr<CertificateFiles> files = EnsureSelfSignedCertificate(cert_dir_);
    ASSERT_THAT(files, IsOk());
    EXPECT_EQ(Read(files->cert_file) == old->certificate_pem, want_kept)
        << "validity left: " << absl::FormatDuration(validity_left);
  }
}

struct BrokenPairCase {
  std::string name;
  bool break_cert;  // otherwise the key is replaced
  std::string replacement;
};

class EnsureSelfSignedRegeneratesTest : public EnsureSelfSignedCertificateTest,
                                        public ::testing::WithParamInterface<BrokenPairCase> {};

TEST_P(EnsureSelfSignedRegeneratesTest, UnusablePairIsReplaced) {
  absl::StatusOr<CertificateFiles> first = EnsureSelfSignedCertificate(cert_dir_);
  ASSERT_THAT(first, IsOk());
  std::string old_cert = Read(first->cert_file);
  std::string replacement = GetParam().replacement;
  if (replacement == "other-key") {
    absl::StatusOr<PemCertificate> other = GenerateSelfSignedCertificate(absl::Now());
    ASSERT_THAT(other, IsOk());
    replacement = other->private_key_pem;
  }
  ASSERT_TRUE(
      WriteTestFile(GetParam().break_cert ? first->cert_file : first->key_file, replacement).ok());
  absl::StatusOr<CertificateFiles> second = EnsureSelfSignedCertificate(cert_dir_);
  ASSERT_THAT(second, IsOk());
  std::string new_cert = Read(second->cert_file);
  EXPECT_NE(new_cert, old_cert);
  absl::StatusOr<std::vector<X509Ptr>> certificates = ParsePemCertificates(new_cert);
  absl::StatusOr<EvpPkeyPtr> key = ParsePemPrivateKey(Read(second->key_file));
  ASSERT_TRUE(certificates.ok() && key.ok());
  EXPECT_EQ(X509_check_private_key(certificates->front().get(), key->get()), 1);
}

INSTANTIATE_TEST_SUITE_P(Broken, EnsureSelfSignedRegeneratesTest,
                         ::testing::ValuesIn(std::vector<BrokenPairCase>{
                             {"GarbageCert", true, "garbage"},
                             {"EmptyKey", false, ""},
                             {"MismatchedKey", false, "other-key"},
                         }),
                         [](const ::testing::TestParamInfo<BrokenPairCase>& param_info) {
                           return param_info.param.name;
                         });

TEST_F(EnsureSelfSignedCertificateTest, EmptyDirectoryIsAnActionableError) {
  absl::StatusOr<CertificateFiles> files = EnsureSelfSignedCertificate("");
  ASSERT_THAT(files, Not(IsOk()));
  EXPECT_THAT(std::string(files.status().message()), HasSubstr("--tls-cert-file"));
}

TEST_F(EnsureSelfSignedCertificateTest, UnwritableDirectoryNamesIt) {
  std::string blocker = root_ + "/file";
  ASSERT_TRUE(WriteTestFile(blocker, "x").ok());
  absl::StatusOr<CertificateFiles> files = EnsureSelfSignedCertificate(blocker + "/certs");
  ASSERT_THAT(files, Not(IsOk()));
  EXPECT_THAT(std::string(files.status().message()), HasSubstr(blocker));
}

}  // namespace
}  // namespace ma::server
