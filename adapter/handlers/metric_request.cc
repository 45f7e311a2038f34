#include "adapter/handlers/metric_request.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "queries/base/status_macros.h"
#include "queries/base/strings.h"

namespace ma::handlers {

std::optional<std::string> QueryParam(const QueryParams& query, std::string_view name) {
  for (const auto& [key, value] : query) {
    if (key == name) {
      return value;
    }
  }
  return std::nullopt;
}

namespace {

absl::StatusOr<std::optional<selector::LabelSelector>> ParseSelectorParam(const QueryParams& query,
                                                                          std::string_view name) {
  const auto text = QueryParam(query, name);
  if (!text.has_value()) {
    return std::nullopt;
  }
  auto parsed = selector::LabelSelector::Parse(*text);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        Cat("invalid ", name, " ", *text, ": ", parsed.status().message()));
  }
  return std::optional<selector::LabelSelector>(*std::move(parsed));
}

}  // namespace

absl::StatusOr<CustomMetricRequest> ParseCustomMetricRequest(const Route& route,
                                                             const QueryParams& query) {
  CustomMetricRequest out;
  out.request.namespace_name = route.namespace_name;
  out.request.resource = route.resource;
  out.request.metric = route.metric;
  out.name = route.name;
  MA_ASSIGN_OR_RETURN(auto metric_selector, ParseSelectorParam(query, "metricLabelSelector"));
  if (metric_selector.has_value()) {
    out.request.metric_selector = *std::move(metric_selector);
  }
  MA_ASSIGN_OR_RETURN(out.object_selector, ParseSelectorParam(query, "labelSelector"));
  return out;
}

absl::StatusOr<planner::ExternalRequest> ParseExternalMetricRequest(const Route& route,
                                                                    const QueryParams& query) {
  planner::ExternalRequest out;
  out.namespace_name = route.namespace_name;
  out.metric = route.metric;
  MA_ASSIGN_OR_RETURN(auto selector, ParseSelectorParam(query, "labelSelector"));
  if (selector.has_value()) {
    out.selector = *std::move(selector);
  }
  return out;
}

}  // namespace ma::handlers
