#include "adapter/server/tls_context.h"

#include <unistd.h>

#include <string>
#include <string_view>
#include <vector>

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

// The TLS 1.2 suites a context offers, by OpenSSL name.
std::vector<std::string> Tls12Ciphers(SSL_CTX* ctx) {
  std::vector<std::string> names;
  STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(ctx);
  for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
    const SSL_CIPHER* cipher = sk_SSL_CIPHER_value(ciphers, i);
    if (std::string_view(SSL_CIPHER_get_version(cipher)) != "TLSv1.3") {
      names.emplace_back(SSL_CIPHER_get_name(cipher));
    }
  }
  return names;
}

TEST(Tls12CipherListTest, MapsGoNamesToOpenSsl) {
  // The head of prometheus-adapter's manifest list, with Go's alias and a TLS 1.3 name.
  absl::StatusOr<std::string> list =
      Tls12CipherList({"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", "TLS_AES_128_GCM_SHA256",
                       "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_256_CBC_SHA"});
  ASSERT_THAT(list, IsOk());
  EXPECT_EQ(*list, "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:AES256-SHA");
}

TEST(Tls12CipherListTest, RefusesUnknownNamesAndTls13Only) {
  absl::StatusOr<std::string> unknown =
      Tls12CipherList({"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"});
  ASSERT_THAT(unknown, Not(IsOk()));
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(unknown.status().message()),
              HasSubstr("\"ECDHE-RSA-AES128-GCM-SHA256\" is not supported"));
  absl::StatusOr<std::string> tls13 = Tls12CipherList({"TLS_AES_256_GCM_SHA384"});
  ASSERT_THAT(tls13, Not(IsOk()));
  EXPECT_THAT(std::string(tls13.status().message()), HasSubstr("names no TLS 1.2 suite"));
}

TEST_F(CreateServerSslContextTest, CipherSuitesRestrictTls12) {
  absl::StatusOr<SslCtxPtr> defaults = CreateServerSslContext(options_);
  ASSERT_THAT(defaults, IsOk());
  EXPECT_THAT(Tls12Ciphers(defaults->get()), ::testing::Contains("ECDHE-ECDSA-AES128-GCM-SHA256"));

  options_.cipher_suites = {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                            "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"};
  absl::StatusOr<SslCtxPtr> context = CreateServerSslContext(options_);
  ASSERT_THAT(context, IsOk());
  EXPECT_THAT(Tls12Ciphers(context->get()),
              ::testing::ElementsAre("ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-AES128-SHA"));

  options_.cipher_suites = {"TLS_NOT_A_SUITE"};
  EXPECT_THAT(CreateServerSslContext(options_), Not(IsOk()));
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
