#include "adapter/app/options.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/time/time.h"

ABSL_DECLARE_FLAG(absl::Duration, cache_ttl);
ABSL_DECLARE_FLAG(absl::Duration, cache_max_stale);
ABSL_DECLARE_FLAG(int64_t, cache_max_entries);
ABSL_DECLARE_FLAG(std::string, cache_max_bytes);
ABSL_DECLARE_FLAG(int, backend_max_concurrency);
ABSL_DECLARE_FLAG(int, backend_max_queue);
ABSL_DECLARE_FLAG(std::vector<std::string>, tls_cipher_suites);
ABSL_DECLARE_FLAG(std::string, vmodule);
ABSL_DECLARE_FLAG(std::string, prometheus_auth_config);
ABSL_DECLARE_FLAG(bool, prometheus_auth_incluster);
ABSL_DECLARE_FLAG(absl::Duration, shutdown_delay_duration);
ABSL_DECLARE_FLAG(std::string, logging_format);
ABSL_DECLARE_FLAG(absl::Duration, request_timeout);
ABSL_DECLARE_FLAG(absl::Duration, cache_stale_wait);

namespace ma::app {
namespace {

using ::testing::HasSubstr;

TEST(OptionsTest, CacheDefaults) {
  absl::FlagSaver saver;
  const auto options = OptionsFromFlags({});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->cache_ttl, std::chrono::seconds(15));
  EXPECT_EQ(options->cache_max_stale, std::chrono::minutes(2));
  EXPECT_EQ(options->cache_max_entries, 100000u);
  EXPECT_EQ(options->cache_max_bytes, size_t{128} << 20);
  EXPECT_EQ(options->backend_max_concurrency, 32);
  EXPECT_EQ(options->backend_max_queue, 1000);
  EXPECT_EQ(options->cache_stale_wait, std::chrono::milliseconds(1500));
  EXPECT_EQ(options->request_timeout, std::chrono::seconds(30));
}

TEST(OptionsTest, RequestTimeoutAndStaleWaitAreBounded) {
  {
    absl::FlagSaver saver;
    absl::SetFlag(&FLAGS_request_timeout, absl::Seconds(5));
    absl::SetFlag(&FLAGS_cache_stale_wait, absl::ZeroDuration());
    const auto options = OptionsFromFlags({});
    ASSERT_TRUE(options.ok()) << options.status();
    EXPECT_EQ(options->request_timeout, std::chrono::seconds(5));
    EXPECT_EQ(options->cache_stale_wait, std::chrono::milliseconds(0));
  }
  struct Case {
    absl::Duration request_timeout;
    absl::Duration stale_wait;
    std::string want_error;
  };
  const Case cases[] = {
      {absl::Milliseconds(500), absl::ZeroDuration(), "--request-timeout"},
      {absl::Seconds(61), absl::Seconds(1), "--request-timeout"},
      {absl::Seconds(30), absl::Seconds(-1), "--cache-stale-wait"},
      {absl::Seconds(60), absl::Seconds(31), "--cache-stale-wait"},
      {absl::Seconds(2), absl::Seconds(2), "below --request-timeout"},
  };
  for (const Case& c : cases) {
    absl::FlagSaver saver;
    absl::SetFlag(&FLAGS_request_timeout, c.request_timeout);
    absl::SetFlag(&FLAGS_cache_stale_wait, c.stale_wait);
    const auto options = OptionsFromFlags({});
    EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument) << c.want_error;
    EXPECT_THAT(options.status().message(), HasSubstr(c.want_error));
  }
}

TEST(OptionsTest, CacheMaxStaleFollowsTheTtlUnlessGiven) {
  {
    absl::FlagSaver saver;
    absl::SetFlag(&FLAGS_cache_ttl, absl::Minutes(10));
    const auto options = OptionsFromFlags({});
    ASSERT_TRUE(options.ok()) << options.status();
    EXPECT_EQ(options->cache_max_stale, std::chrono::minutes(80));
  }
  {
    absl::FlagSaver saver;
    absl::SetFlag(&FLAGS_cache_ttl, absl::Hours(1));
    const auto options = OptionsFromFlags({});
    ASSERT_TRUE(options.ok()) << options.status();
    EXPECT_EQ(options->cache_max_stale, std::chrono::hours(8));
  }
  {
    absl::FlagSaver saver;
    absl::SetFlag(&FLAGS_cache_ttl, absl::Seconds(5));
    const auto options = OptionsFromFlags({});
    ASSERT_TRUE(options.ok()) << options.status();
    EXPECT_EQ(options->cache_max_stale, std::chrono::minutes(2));  // never below the default
  }
  {
    absl::FlagSaver saver;
    absl::SetFlag(&FLAGS_cache_ttl, absl::Minutes(10));
    absl::SetFlag(&FLAGS_cache_max_stale, absl::Minutes(5));  // given: checked, not replaced
    const auto options = OptionsFromFlags({});
    EXPECT_THAT(options.status().message(), HasSubstr("--cache-max-stale must be at least"));
  }
}

TEST(OptionsTest, LoggingFormatIsTextOrJson) {
  {
    absl::FlagSaver saver;
    const auto options = OptionsFromFlags({});
    ASSERT_TRUE(options.ok()) << options.status();
    EXPECT_EQ(options->logging_format, telemetry::LogFormat::kText);
  }
  {
    absl::FlagSaver saver;
    absl::SetFlag(&FLAGS_logging_format, std::string("json"));
    const auto options = OptionsFromFlags({});
    ASSERT_TRUE(options.ok()) << options.status();
    EXPECT_EQ(options->logging_format, telemetry::LogFormat::kJson);
  }
  absl::FlagSaver saver;
  absl::SetFlag(&FLAGS_logging_format, std::string("yaml"));
  EXPECT_THAT(OptionsFromFlags({}).status().message(),
              HasSubstr("--logging-format must be text or json, not \"yaml\""));
}

TEST(OptionsTest, CacheFlagsAreValidated) {
  struct Case {
    absl::Duration ttl = absl::Seconds(15);
    absl::Duration max_stale = absl::Minutes(2);
    int64_t max_entries = 100000;
    const char* max_bytes = "128Mi";
    int max_concurrency = 32;
    int max_queue = 1000;
    const char* want_error;  // nullptr: valid
  };
  const Case cases[] = {
      {.ttl = absl::ZeroDuration(), .max_stale = absl::ZeroDuration(), .want_error = nullptr},
      {.ttl = absl::Seconds(30), .max_stale = absl::Seconds(30), .want_error = nullptr},
      {.max_queue = 0, .want_error = nullptr},
      {.ttl = absl::Seconds(-1), .want_error = "--cache-ttl must be between 0"},
      {.ttl = absl::Hours(2), .max_stale = absl::Hours(3), .want_error = "--cache-ttl"},
      {.ttl = absl::Minutes(1),
       .max_stale = absl::Seconds(30),
       .want_error = "--cache-max-stale must be at least --cache-ttl"},
      {.max_stale = absl::Hours(25), .want_error = "--cache-max-stale must be at most"},
      {.max_entries = 0, .want_error = "--cache-max-entries must be between 1"},
      {.max_bytes = "1048576", .want_error = nullptr},
      {.max_bytes = "2Gi", .want_error = nullptr},
      {.max_bytes = "1Ki", .want_error = "--cache-max-bytes \"1Ki\": must be between 1Mi and 64Gi"},
      {.max_bytes = "128MB", .want_error = "--cache-max-bytes \"128MB\": must be between"},
      {.max_bytes = "-1Mi", .want_error = "--cache-max-bytes \"-1Mi\": must be between"},
      {.max_bytes = "Mi", .want_error = "--cache-max-bytes \"Mi\": must be between"},
      {.max_bytes = "99999999999999999999", .want_error = "--cache-max-bytes"},
      {.max_bytes = "65Gi", .want_error = "--cache-max-bytes \"65Gi\": must be between"},
      {.max_concurrency = 0, .want_error = "--backend-max-concurrency must be between 1"},
      {.max_queue = -1, .want_error = "--backend-max-queue must be between 0"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.want_error == nullptr ? "valid" : c.want_error);
    absl::FlagSaver saver;
    absl::SetFlag(&FLAGS_cache_ttl, c.ttl);
    absl::SetFlag(&FLAGS_cache_max_stale, c.max_stale);
    absl::SetFlag(&FLAGS_cache_max_entries, c.max_entries);
    absl::SetFlag(&FLAGS_cache_max_bytes, std::string(c.max_bytes));
    absl::SetFlag(&FLAGS_backend_max_concurrency, c.max_concurrency);
    absl::SetFlag(&FLAGS_backend_max_queue, c.max_queue);
    const auto options = OptionsFromFlags({});
    if (c.want_error == nullptr) {
      EXPECT_TRUE(options.ok()) << options.status();
    } else {
      EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(options.status().message(), HasSubstr(c.want_error));
    }
  }
}

TEST(OptionsTest, PrometheusAdapterFlagsAreValidated) {
  {
    absl::FlagSaver saver;
    absl::SetFlag(&FLAGS_tls_cipher_suites,
                  std::vector<std::string>{"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
                                           "TLS_RSA_WITH_AES_128_CBC_SHA"});
    absl::SetFlag(&FLAGS_vmodule, std::string("api_handler=4"));
    const auto options = OptionsFromFlags({});
    ASSERT_TRUE(options.ok()) << options.status();
    EXPECT_EQ(options->tls_cipher_suites.size(), 2u);
    EXPECT_EQ(options->vmodule, "api_handler=4");
  }
  struct Case {
    std::vector<std::string> cipher_suites = {};
    std::string vmodule = "";
    bool auth_config_and_incluster = false;
    const char* want_error;
  };
  const Case cases[] = {
      {.cipher_suites = {"RC4"}, .want_error = "--tls-cipher-suites: cipher suite \"RC4\""},
      {.vmodule = "api_handler", .want_error = "--vmodule entry"},
      {.auth_config_and_incluster = true,
       .want_error = "--prometheus-auth-incluster and --prometheus-auth-config may not be used"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.want_error);
    absl::FlagSaver saver;
    absl::SetFlag(&FLAGS_tls_cipher_suites, c.cipher_suites);
    absl::SetFlag(&FLAGS_vmodule, c.vmodule);
    if (c.auth_config_and_incluster) {
      absl::SetFlag(&FLAGS_prometheus_auth_config, std::string("/etc/prom-kubeconfig"));
      absl::SetFlag(&FLAGS_prometheus_auth_incluster, true);
    }
    const auto options = OptionsFromFlags({});
    EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(options.status().message(), HasSubstr(c.want_error));
  }
}

TEST(OptionsTest, ShutdownDelayDefaultsToNoneAndIsBounded) {
  {
    absl::FlagSaver saver;
    const auto options = OptionsFromFlags({});
    ASSERT_TRUE(options.ok()) << options.status();
    EXPECT_EQ(options->shutdown_delay_duration, std::chrono::milliseconds(0));
  }
  {
    absl::FlagSaver saver;
    absl::SetFlag(&FLAGS_shutdown_delay_duration, absl::Milliseconds(2500));
    const auto options = OptionsFromFlags({});
    ASSERT_TRUE(options.ok()) << options.status();
    EXPECT_EQ(options->shutdown_delay_duration, std::chrono::milliseconds(2500));
  }
  for (const absl::Duration bad : {absl::Seconds(-1), absl::Minutes(6)}) {
    absl::FlagSaver saver;
    absl::SetFlag(&FLAGS_shutdown_delay_duration, bad);
    const auto options = OptionsFromFlags({});
    EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(options.status().message(), HasSubstr("--shutdown-delay-duration"));
  }
}

}  // namespace
}  // namespace ma::app
