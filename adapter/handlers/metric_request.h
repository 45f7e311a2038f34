#pragma once

// Turns a metric Route and its query parameters into the planner's request types, parsing the
// selectors. Shared by the metric handlers and `explain`.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "adapter/handlers/route.h"
#include "queries/planner/query_plan.h"
#include "queries/selector/label_selector.h"

namespace ma::handlers {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// The first value of `name`, as Go's url.Values.Get.
std::optional<std::string> QueryParam(const QueryParams& query, std::string_view name);

struct CustomMetricRequest {
  planner::CustomRequest request;
  std::string name;  // the object name, or "*"
  // labelSelector, which selects objects for `*` (absent: all objects).
  std::optional<selector::LabelSelector> object_selector;

  bool wildcard() const { return name == "*"; }
};

// kInvalidArgument naming the parameter when a selector does not parse.
absl::StatusOr<CustomMetricRequest> ParseCustomMetricRequest(const Route& route,
                                                             const QueryParams& query);
absl::StatusOr<planner::ExternalRequest> ParseExternalMetricRequest(const Route& route,
                                                                    const QueryParams& query);

}  // namespace ma::handlers
