#include "adapter/api/time_format.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace ma::api {
namespace {

constexpr int64_t kMillisPerSecond = 1000;

int64_t FloorSeconds(int64_t millis) {
  const int64_t seconds = millis / kMillisPerSecond;
  return millis % kMillisPerSecond < 0 ? seconds - 1 : seconds;
}

}  // namespace

std::string FormatTimestamp(int64_t unix_millis) {
  const int64_t clamped = std::clamp(unix_millis, kMinTimestampMillis, kMaxTimestampMillis);
  const absl::CivilSecond civil =
      absl::ToCivilSecond(absl::FromUnixSeconds(FloorSeconds(clamped)), absl::UTCTimeZone());
  return absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02dZ", civil.year(), civil.month(), civil.day(),
                         civil.hour(), civil.minute(), civil.second());
}

}  // namespace ma::api
