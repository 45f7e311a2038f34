#include "adapter/kube/token_file.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "queries/base/strings.h"

namespace ma::kube {
namespace {

using ::testing::HasSubstr;

class TokenFileTest : public ::testing::Test {
 protected:
  TokenFileTest() {
    char pattern[] = "/tmp/token_file_test.XXXXXX";
    dir_ = mkdtemp(pattern);
    path_ = Cat(dir_, "/token");
  }
  ~TokenFileTest() override {
    std::remove(path_.c_str());
    rmdir(dir_.c_str());
  }
  // Replaces the file as the kubelet does (a new inode), so the change is seen even within the
  // same mtime tick.
  void Write(std::string_view content) {
    const std::string tmp = Cat(path_, ".new");
    std::ofstream(tmp) << content;
    std::rename(tmp.c_str(), path_.c_str());
  }

  std::string dir_;
  std::string path_;
  std::chrono::steady_clock::time_point now_{};
  TokenFile::SteadyNow Now() {
    return [this] { return now_; };
  }
};

TEST_F(TokenFileTest, RereadsAfterRotation) {
  Write("first\n");
  absl::StatusOr<std::unique_ptr<TokenFile>> file = TokenFile::Create(path_, Now());
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ((*file)->Token(), "first");
  Write("second");
  EXPECT_EQ((*file)->Token(), "first");  // within the recheck interval
  now_ += kTokenFileRecheckInterval;
  EXPECT_EQ((*file)->Token(), "second");
  // A broken rotation keeps the last good token.
  Write("");
  now_ += kTokenFileRecheckInterval;
  EXPECT_EQ((*file)->Token(), "second");
}

TEST_F(TokenFileTest, RejectsBadFiles) {
  absl::StatusOr<std::unique_ptr<TokenFile>> file = TokenFile::Create(path_, Now());
  ASSERT_FALSE(file.ok());
  EXPECT_THAT(std::string(file.status().message()), HasSubstr(path_));
  Write("  \n");
  file = TokenFile::Create(path_, Now());
  ASSERT_FALSE(file.ok());
  EXPECT_THAT(std::string(file.status().message()), HasSubstr("is empty"));
  Write("a\nb");
  file = TokenFile::Create(path_, Now());
  ASSERT_FALSE(file.ok());
  EXPECT_THAT(std::string(file.status().message()), HasSubstr("line break"));
}

}  // namespace
}  // namespace ma::kube
