#pragma once

#include <chrono>
#include <string_view>

#include "absl/status/statusor.h"

namespace ma::rules {

// Parses a Prometheus duration (model.ParseDuration): units y w d h m s ms, each at most once and
// in that order, integers only ("5m", "1h30m", "0"). kInvalidArgument otherwise.
absl::StatusOr<std::chrono::milliseconds> ParsePrometheusDuration(std::string_view text);

}  // namespace ma::rules
