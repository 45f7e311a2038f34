#include "adapter/outbound/token_file.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/testing/temp_dir.h"

namespace ma::outbound {
namespace {

using ::testing::HasSubstr;

class TokenFileTest : public ::testing::Test {
 protected:
  void Write(const std::string& content) {
    // Replace by rename, as the kubelet does, so the inode changes even within one mtime tick.
    const std::string tmp = path_ + ".tmp";
    std::ofstream(tmp, std::ios::binary | std::ios::trunc) << content;
    ASSERT_EQ(std::rename(tmp.c_str(), path_.c_str()), 0);
  }
  absl::StatusOr<std::unique_ptr<TokenFile>> Create(const std::string& path,
                                                    const std::string& description = "token file") {
    return TokenFile::Create(path, description, [this] { return now_; });
  }

  testing::TempDir temp_{"ma_token"};
  const std::string dir_ = temp_.path();
  const std::string path_ = temp_.Path("token");
  std::chrono::steady_clock::time_point now_{std::chrono::hours(1)};
};

TEST_F(TokenFileTest, ReadsTrimmedToken) {
  Write("  secret-token\n");
  auto token = Create(path_);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ((*token)->Token(), "secret-token");
}

TEST_F(TokenFileTest, RereadsChangedFileAtMostOncePerInterval) {
  Write("first\n");
  auto token = Create(path_);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ((*token)->Token(), "first");
  Write("second-token");
  now_ += kTokenFileRecheckInterval / 2;
  EXPECT_EQ((*token)->Token(), "first");  // not yet re-checked
  now_ += kTokenFileRecheckInterval;
  EXPECT_EQ((*token)->Token(), "second-token");
}

TEST_F(TokenFileTest, KeepsLastGoodTokenWhenFileBreaks) {
  Write("good");
  auto token = Create(path_);
  ASSERT_TRUE(token.ok()) << token.status();
  Write("");
  now_ += kTokenFileRecheckInterval * 2;
  EXPECT_EQ((*token)->Token(), "good");
  std::remove(path_.c_str());
  now_ += kTokenFileRecheckInterval * 2;
  EXPECT_EQ((*token)->Token(), "good");
  Write("recovered");
  now_ += kTokenFileRecheckInterval * 2;
  EXPECT_EQ((*token)->Token(), "recovered");
}

TEST_F(TokenFileTest, CreateRejectsBadFilesNamingThem) {
  struct Case {
    std::string content;
    std::string why;
  };
  const std::vector<Case> cases = {
      {"  \n", "is empty"},
      {std::string(kMaxTokenFileBytes + 1, 'a'), "larger than"},
      {"a\nb", "line break"},
  };
  for (const Case& c : cases) {
    Write(c.content);
    auto token = Create(path_, "--prometheus-token-file");
    EXPECT_EQ(token.status().code(), absl::StatusCode::kInvalidArgument) << c.why;
    EXPECT_THAT(std::string(token.status().message()), HasSubstr("--prometheus-token-file"))
        << c.why;
    EXPECT_THAT(std::string(token.status().message()), HasSubstr(c.why));
  }
  auto missing = Create(dir_ + "/nope");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("token file \"" + dir_ + "/nope"));
}

}  // namespace
}  // namespace ma::outbound
