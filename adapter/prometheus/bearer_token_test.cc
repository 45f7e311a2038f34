#include "adapter/prometheus/bearer_token.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ma::prometheus {
namespace {

class BearerTokenFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/ma_token_XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/token";
  }
  void TearDown() override {
    std::remove(path_.c_str());
    rmdir(dir_.c_str());
  }
  void Write(const std::string& content) {
    // Replace by rename, as Kubernetes does, so the inode changes even within one mtime tick.
    const std::string tmp = path_ + ".tmp";
    std::ofstream(tmp, std::ios::binary | std::ios::trunc) << content;
    ASSERT_EQ(std::rename(tmp.c_str(), path_.c_str()), 0);
  }
  BearerTokenFile::SteadyNow FakeNow() {
    return [this] { return now_; };
  }

  std::string dir_;
  std::string path_;
  std::chrono::steady_clock::time_point now_{std::chrono::hours(1)};
};

TEST_F(BearerTokenFileTest, ReadsTrimmedToken) {
  Write("  secret-token\n");
  auto token = BearerTokenFile::Create(path_, FakeNow());
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ((*token)->Token(), "secret-token");
}

TEST_F(BearerTokenFileTest, RereadsChangedFileAtMostOncePerInterval) {
  Write("first");
  auto token = BearerTokenFile::Create(path_, FakeNow());
  ASSERT_TRUE(token.ok()) << token.status();
  Write("second-token");
  now_ += kTokenRecheckInterval / 2;
  EXPECT_EQ((*token)->Token(), "first");  // not yet re-checked
  now_ += kTokenRecheckInterval;
  EXPECT_EQ((*token)->Token(), "second-token");
}

TEST_F(BearerTokenFileTest, KeepsLastGoodTokenWhenFileBreaks) {
  Write("good");
  auto token = BearerTokenFile::Create(path_, FakeNow());
  ASSERT_TRUE(token.ok()) << token.status();
  Write("");
  now_ += kTokenRecheckInterval * 2;
  EXPECT_EQ((*token)->Token(), "good");
  std::remove(path_.c_str());
  now_ += kTokenRecheckInterval * 2;
  EXPECT_EQ((*token)->Token(), "good");
  Write("recovered");
  now_ += kTokenRecheckInterval * 2;
  EXPECT_EQ((*token)->Token(), "recovered");
}

TEST_F(BearerTokenFileTest, CreateRejectsBadFiles) {
  struct Case {
    std::string name;
    std::string content;  // not written when empty name "missing"
  };
  const std::vector<Case> cases = {
      {"empty", "  \n"},
      {"oversized", std::string(kMaxTokenBytes + 1, 'a')},
      {"line break inside", "a\nb"},
  };
  for (const Case& c : cases) {
    Write(c.content);
    auto token = BearerTokenFile::Create(path_, FakeNow());
    EXPECT_EQ(token.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_THAT(std::string(token.status().message()),
                ::testing::HasSubstr("--prometheus-token-file"))
        << c.name;
  }
  auto missing = BearerTokenFile::Create(dir_ + "/nope", FakeNow());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ma::prometheus
