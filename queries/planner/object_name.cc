#include "queries/planner/object_name.h"

#include <algorithm>
#include <cstddef>

#include "queries/base/strings.h"

namespace ma::planner {
namespace {

constexpr size_t kMaxObjectNameBytes = 253;

bool IsValidObjectName(std::string_view name) {
  if (name.empty() || name.size() > kMaxObjectNameBytes) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == ':';
  });
}

}  // namespace

absl::Status ValidateObjectName(std::string_view what, std::string_view name) {
  if (IsValidObjectName(name)) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      Cat(what, " ", GoQuote(name), " is not a valid Kubernetes name"));
}

}  // namespace ma::planner
