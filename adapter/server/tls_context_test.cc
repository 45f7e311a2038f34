#include "adapter/server/tls_context.h"

#include <unistd.h>

#include <string>

#include "adapter/server/self_signed_cert.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/testing/status_matchers.h"
#include "test/testing/temp_dir.h"

namespace ma::server {
namespace {

using ::ma::testing::IsOk;
using ::ma::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

struct VersionCase {
  std::string go_name;
  int want_version;  // 0: an error
  std::string want_message_part;
};

class ParseTlsMinVersionTest : public ::testing::TestWithParam<VersionCase> {};

TEST_P(ParseTlsMinVersionTest, MapsGoNames) {
  absl::StatusOr<int> version = ParseTlsMinVersion(GetParam().go_name);
  if (GetParam().want_version != 0) {
    ASSERT_THAT(version, IsOk());
    EXPECT_EQ(*version, GetParam().want_version);
  } else {
    ASSERT_THAT(version, Not(IsOk()));
    EXPECT_THAT(std::string(version.status().message()), HasSubstr(GetParam().want_message_part));
  }
}

INSTANTIATE_TEST_SUITE_P(Names, ParseTlsMinVersionTest,
                         ::testing::ValuesIn(std::vector<VersionCase>{
                             {"VersionTLS12", TLS1_2_VERSION, ""},
                             {"VersionTLS13", TLS1_3_VERSION, ""},
                             {"VersionTLS11", 0, "TLS 1.2 is the minimum"},
                             {"VersionTLS10", 0, "TLS 1.2 is the minimum"},
                             {"TLS12", 0, "use VersionTLS12 or VersionTLS13"},
                             {"", 0, "unknown"},
                         }));

class CreateServerSslContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<CertificateFiles> files = EnsureSelfSignedCertificate(dir_);
    ASSERT_THAT(files, IsOk());
    options_.cert_file = files->cert_file;
    options_.key_file = files->key_file;
  }

  TempDir temp_dir_{"tls_ctx"};
  const std::string dir_ = temp_dir_.path();
  TlsContextOptions options_;
};

TEST_F(CreateServerSslContextTest, HardenedDefaults) {
  for (bool request_client_certificate : {false, true}) {
    options_.request_client_certificate = request_client_certificate;
    for (const auto& [name, version] :
         {std::pair{"VersionTLS12", TLS1_2_VERSION}, std::pair{"VersionTLS13", TLS1_3_VERSION}}) {
      options_.min_version = name;
      absl::StatusOr<SslCtxPtr> context = CreateServerSslContext(options_);
      ASSERT_THAT(context, IsOk());
      SSL_CTX* ctx = context->get();
      EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx), version);
      uint64_t options = SSL_CTX_get_options(ctx);
      EXPECT_NE(options & SSL_OP_NO_COMPRESSION, 0u);
      EXPECT_NE(options & SSL_OP_NO_RENEGOTIATION, 0u);
      EXPECT_EQ(SSL_CTX_get_verify_mode(ctx),
                request_client_certificate ? SSL_VERIFY_PEER : SSL_VERIFY_NONE);
    }
  }
}

TEST_F(CreateServerSslContextTest, ErrorsNameTheFile) {
  options_.key_file = dir_ + "/nope.key";
  absl::StatusOr<SslCtxPtr> context = CreateServerSslContext(options_);
  ASSERT_THAT(context, Not(IsOk()));
  EXPECT_THAT(std::string(context.status().message()), HasSubstr("--tls-private-key-file"));
  EXPECT_THAT(std::string(context.status().message()), HasSubstr("nope.key"));
}

TEST(ServingCertificateNotAfterTest, IsTheLeafsNotAfter) {
  TempDir temp_dir("tls_ctx");
  const absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  absl::StatusOr<PemCertificate> pem = GenerateSelfSignedCertificate(now);
  ASSERT_THAT(pem, IsOk());
  TlsContextOptions options;
  options.cert_file = temp_dir.Write("serving.crt", pem->certificate_pem);
  options.key_file = temp_dir.Write("serving.key", pem->private_key_pem);
  absl::StatusOr<SslCtxPtr> context = CreateServerSslContext(options);
  ASSERT_THAT(context, IsOk());
  absl::StatusOr<absl::Time> not_after = ServingCertificateNotAfter(context->get());
  ASSERT_THAT(not_after, IsOk());
  EXPECT_EQ(*not_after, now - kSelfSignedBackdate + kSelfSignedValidity);
}

}  // namespace
}  // namespace ma::server
