#include "adapter/server/access_log.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ma::server {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

// 2023-11-22 03:25:46.012345 UTC
constexpr int64_t kMicros = 1700623546'012345;

AccessLogEntry HostileEntry() {
  // Client-controlled text with a quote, a newline and a forged klog header in it.
  return {.method = "GET",
          .uri = "/apis/x?labelSelector=a%3Db\"\nI1122 00:00:00.000000 1 fake.cc:1] forged",
          .user = "jane \"admin\"",
          .status = 404,
          .duration_seconds = 0.000412,
          .cache_outcome = "stale",
          .remote_address = "10.0.0.7:51234"};
}

std::string Text(const AccessLogEntry& entry) {
  return telemetry::FormatLogLine(telemetry::LogFormat::kText, telemetry::Severity::kInfo,
                                  kAccessLogVerbosity, kMicros, 7, "server.cc", 1, "HTTP",
                                  AccessLogFields(entry));
}

TEST(AccessLogTest, TextLineQuotesWhatTheClientSent) {
  const std::string line = Text(HostileEntry());
  EXPECT_EQ(line,
            R"(I1122 03:25:46.012345       7 server.cc:1] "HTTP" method="GET" )"
            R"(uri="/apis/x?labelSelector=a%3Db\"\nI1122 00:00:00.000000 1 fake.cc:1] forged" )"
            R"(user="jane \"admin\"" status=404 duration_seconds=0.000412 cache="stale" )"
            R"(remote="10.0.0.7:51234")");
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(AccessLogTest, JsonLineHasOneMemberPerField) {
  EXPECT_EQ(telemetry::FormatLogLine(telemetry::LogFormat::kJson, telemetry::Severity::kInfo,
                                     kAccessLogVerbosity, kMicros, 7, "server.cc", 1, "HTTP",
                                     AccessLogFields(HostileEntry())),
            R"({"ts":1700623546.012345,"caller":"server.cc:1","msg":"HTTP","v":3,)"
            R"("method":"GET","uri":"/apis/x?labelSelector=a%3Db\"\nI1122 00:00:00.000000 1 )"
            R"(fake.cc:1] forged","user":"jane \"admin\"","status":404,)"
            R"("duration_seconds":0.000412,"cache":"stale","remote":"10.0.0.7:51234"})");
}

TEST(AccessLogTest, AnUnauthenticatedRequestWithoutCacheSaysSo) {
  AccessLogEntry entry = HostileEntry();
  entry.user = "";
  entry.cache_outcome = "";
  const std::string line = Text(entry);
  EXPECT_THAT(line, HasSubstr(R"( user="" )"));
  EXPECT_THAT(line, HasSubstr(R"( cache="none" )"));
}

TEST(AccessLogTest, AVeryLongUriIsCut) {
  AccessLogEntry entry = HostileEntry();
  const std::string uri = "/" + std::string(10 * kMaxAccessLogUriBytes, 'a');
  entry.uri = uri;
  const telemetry::LogFields fields = AccessLogFields(entry);
  const auto& logged = std::get<std::string>(fields[1].value);
  EXPECT_EQ(fields[1].key, "uri");
  EXPECT_EQ(logged, uri.substr(0, kMaxAccessLogUriBytes) + "...");
}

TEST(AccessLogTest, WrittenAtVerbosityThreeOnly) {
  const int before = telemetry::Verbosity();
  telemetry::SetVerbosity(kAccessLogVerbosity - 1);
  ::testing::internal::CaptureStderr();
  LogAccess(HostileEntry());
  EXPECT_THAT(::testing::internal::GetCapturedStderr(), IsEmpty());
  telemetry::SetVerbosity(kAccessLogVerbosity);
  ::testing::internal::CaptureStderr();
  LogAccess(HostileEntry());
  const std::string written = ::testing::internal::GetCapturedStderr();
  telemetry::SetVerbosity(before);
  EXPECT_THAT(written, HasSubstr(R"(] "HTTP" method="GET" )"));
  EXPECT_THAT(written, HasSubstr("access_log_test.cc:"));
  EXPECT_EQ(written.find('\n'), written.size() - 1) << "one line";
}

}  // namespace
}  // namespace ma::server
