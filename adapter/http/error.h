#pragma once

// HTTP answers that no absl::StatusCode names (413, 431): the code rides on the status as a
// payload, so that they still go through the one error table (api::StatusResponse).

#include <optional>

#include "absl/status/status.h"

namespace ma::http {

// `status` (not OK) answered with `http_code` (a 4xx) instead of its code's usual one.
absl::Status WithHttpCode(absl::Status status, int http_code);

// The code WithHttpCode attached, if any.
std::optional<int> HttpCodeOf(const absl::Status& status);

}  // namespace ma::http
