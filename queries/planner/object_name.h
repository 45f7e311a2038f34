#pragma once

// Which strings may name a Kubernetes object or namespace in a query.

#include <string_view>

#include "absl/status/status.h"

namespace ma::planner {

// Kubernetes object and namespace names are DNS labels or subdomains; a few resources allow ':'.
// Anything else cannot name an object and must not reach a query (LabelValuesByName hands values
// to templates unquoted). kInvalidArgument naming `what` ("namespace", "object name") otherwise.
absl::Status ValidateObjectName(std::string_view what, std::string_view name);

}  // namespace ma::planner
