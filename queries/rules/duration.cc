#include "queries/rules/duration.h"

#include <array>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "queries/base/strings.h"

namespace ma::rules {
namespace {

struct Unit {
  std::string_view suffix;
  int64_t millis;
};

// Longest suffix first where one is a prefix of another ("ms" before "m").
constexpr std::array<Unit, 7> kUnits = {{{"y", 365LL * 24 * 3600 * 1000},
                                         {"w", 7LL * 24 * 3600 * 1000},
                                         {"d", 24LL * 3600 * 1000},
                                         {"h", 3600LL * 1000},
                                         {"m", 60LL * 1000},
                                         {"s", 1000},
                                         {"ms", 1}}};

}  // namespace

absl::StatusOr<std::chrono::milliseconds> ParsePrometheusDuration(std::string_view text) {
  const auto invalid = [&] {
    return absl::InvalidArgumentError(
        Cat("not a valid duration string: \"", text, "\" (use e.g. 30s, 5m, 1h30m)"));
  };
  if (text.empty()) {
    return absl::InvalidArgumentError("empty duration string");
  }
  if (text == "0") {
    return std::chrono::milliseconds(0);
  }
  int64_t total = 0;
  size_t next_unit = 0;
  size_t i = 0;
  while (i < text.size()) {
    int64_t number = 0;
    const size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (number > (INT64_MAX - 9) / 10) {
        return invalid();
      }
      number = number * 10 + (text[i] - '0');
      ++i;
    }
    if (i == start) {
      return invalid();
    }
    // "m" followed by "s" is the unit "ms", not minutes then a bare "s".
    std::string_view rest = text.substr(i);
    size_t unit = kUnits.size();
    if (rest.substr(0, 2) == "ms") {
      unit = 6;
    } else {
      for (size_t u = 0; u < 6; ++u) {
        if (!rest.empty() && rest[0] == kUnits[u].suffix[0]) {
          unit = u;
          break;
        }
      }
    }
    if (unit == kUnits.size() || unit < next_unit) {
      return invalid();
    }
    next_unit = unit + 1;
    i += kUnits[unit].suffix.size();
    if (number > INT64_MAX / kUnits[unit].millis ||
        total > INT64_MAX - number * kUnits[unit].millis) {
      return invalid();
    }
    total += number * kUnits[unit].millis;
  }
  return std::chrono::milliseconds(total);
}

}  // namespace ma::rules
