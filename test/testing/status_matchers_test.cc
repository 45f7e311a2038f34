#include "test/testing/status_matchers.h"

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ma::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(StatusMatchersTest, IsOkMatchesStatusAndStatusOr) {
  EXPECT_THAT(absl::OkStatus(), IsOk());
  EXPECT_THAT(absl::StatusOr<int>(1), IsOk());
  EXPECT_THAT(absl::NotFoundError("x"), Not(IsOk()));
  EXPECT_THAT(absl::StatusOr<int>(absl::NotFoundError("x")), Not(IsOk()));
}

TEST(StatusMatchersTest, StatusIsChecksCodeAndMessage) {
  const absl::StatusOr<std::string> missing = absl::NotFoundError("no such pod");
  EXPECT_THAT(missing, StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(missing, StatusIs(absl::StatusCode::kNotFound, HasSubstr("pod")));
  EXPECT_THAT(missing, StatusIs(absl::StatusCode::kNotFound, "no such pod"));
  EXPECT_THAT(missing, Not(StatusIs(absl::StatusCode::kNotFound, HasSubstr("node"))));
  EXPECT_THAT(missing.status(), Not(StatusIs(absl::StatusCode::kUnavailable)));
  EXPECT_THAT(absl::OkStatus(), StatusIs(absl::StatusCode::kOk));
}

TEST(StatusMatchersTest, FailureNamesTheStatus) {
  const ::testing::Matcher<absl::Status> matcher = IsOk();
  ::testing::StringMatchResultListener listener;
  EXPECT_FALSE(matcher.MatchAndExplain(absl::UnavailableError("refused"), &listener));
  EXPECT_THAT(listener.str(), HasSubstr("refused"));
}

}  // namespace
}  // namespace ma::testing
