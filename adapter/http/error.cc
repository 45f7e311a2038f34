#include "adapter/http/error.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"

namespace ma::http {
namespace {

constexpr char kHttpCodePayload[] = "ma.http_code";

}  // namespace

absl::Status WithHttpCode(absl::Status status, int http_code) {
  status.SetPayload(kHttpCodePayload, absl::Cord(std::to_string(http_code)));
  return status;
}

std::optional<int> HttpCodeOf(const absl::Status& status) {
  const auto payload = status.GetPayload(kHttpCodePayload);
  int code = 0;
  if (!payload.has_value() || !absl::SimpleAtoi(std::string(*payload), &code)) {
    return std::nullopt;
  }
  return code;
}

}  // namespace ma::http
