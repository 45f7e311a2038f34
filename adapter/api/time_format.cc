#include "adapter/api/time_format.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
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

constexpr uint64_t kMillisPerMinute = 60 * kMillisPerSecond;
constexpr uint64_t kMillisPerHour = 60 * kMillisPerMinute;

}  // namespace

std::string FormatGoDuration(int64_t millis) {
  if (millis == 0) {
    return "0s";
  }
  const std::string sign = millis < 0 ? "-" : "";
  // Through uint64_t, so that the most negative value has a magnitude too.
  const uint64_t magnitude =
      millis < 0 ? uint64_t{0} - static_cast<uint64_t>(millis) : static_cast<uint64_t>(millis);
  if (magnitude < kMillisPerSecond) {
    return absl::StrCat(sign, magnitude, "ms");
  }
  std::string out = sign;
  const uint64_t hours = magnitude / kMillisPerHour;
  const uint64_t minutes = magnitude % kMillisPerHour / kMillisPerMinute;
  if (hours > 0) {
    absl::StrAppend(&out, hours, "h");
  }
  if (hours > 0 || minutes > 0) {
    absl::StrAppend(&out, minutes, "m");
  }
  absl::StrAppend(&out, magnitude % kMillisPerMinute / kMillisPerSecond);
  if (const uint64_t fraction = magnitude % kMillisPerSecond; fraction != 0) {
    std::string digits = absl::StrFormat("%03d", fraction);
    digits.erase(digits.find_last_not_of('0') + 1);
    absl::StrAppend(&out, ".", digits);
  }
  absl::StrAppend(&out, "s");
  return out;
}

std::string FormatTimestamp(int64_t unix_millis) {
  const int64_t clamped = std::clamp(unix_millis, kMinTimestampMillis, kMaxTimestampMillis);
  const absl::CivilSecond civil =
      absl::ToCivilSecond(absl::FromUnixSeconds(FloorSeconds(clamped)), absl::UTCTimeZone());
  return absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02dZ", civil.year(), civil.month(), civil.day(),
                         civil.hour(), civil.minute(), civil.second());
}

}  // namespace ma::api
