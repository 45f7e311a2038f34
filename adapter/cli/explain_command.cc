#include "adapter/cli/explain_command.h"

#include <fstream>
#include <future>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "adapter/cli/rules_file.h"
#include "adapter/handlers/metric_request.h"
#include "adapter/handlers/route.h"
#include "adapter/http/url.h"
#include "adapter/prometheus/http_prometheus_client.h"
#include "adapter/prometheus/response_decoder.h"
#include "queries/base/status_macros.h"
#include "queries/base/strings.h"
#include "queries/model/resource_mapper.h"
#include "queries/planner/query_plan.h"
#include "queries/promql/series_selector.h"
#include "queries/registry/metric_registry.h"

namespace ma::cli {
namespace {

// A series file is a whole /api/v1/series body held in memory; bound it.
constexpr size_t kMaxSeriesFileBytes = size_t{512} * 1024 * 1024;

absl::StatusOr<std::string> ReadFile(const std::string& path, size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(Cat("unable to read ", path));
  }
  std::string text(limit + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > limit) {
    return absl::InvalidArgumentError(Cat(path, " is larger than ", limit, " bytes"));
  }
  return text;
}

// Evaluates each rule's seriesQuery locally against the series of the file, as Prometheus would.
absl::StatusOr<registry::SeriesByQuery> SeriesFromFile(const rules::RuleSet& rules,
                                                       const std::string& path) {
  MA_ASSIGN_OR_RETURN(std::string body, ReadFile(path, kMaxSeriesFileBytes));
  auto all = prometheus::DecodeSeriesResponse(200, body);
  if (!all.ok()) {
    return absl::InvalidArgumentError(
        Cat(path, ": not a Prometheus /api/v1/series response: ", all.status().message()));
  }
  registry::SeriesByQuery out;
  for (const auto& query : rules.series_queries()) {
    MA_ASSIGN_OR_RETURN(auto selector, promql::SeriesSelector::Parse(query));
    auto& matched = out[query];
    for (const auto& series : *all) {
      if (selector.Matches(series)) {
        matched.push_back(series);
      }
    }
  }
  return out;
}

absl::StatusOr<registry::SeriesByQuery> SeriesFromPrometheus(const rules::RuleSet& rules,
                                                             const ExplainOptions& options) {
  prometheus::PrometheusOptions prometheus_options;
  prometheus_options.url = options.prometheus_url;
  MA_ASSIGN_OR_RETURN(auto client, prometheus::HttpPrometheusClient::Create(prometheus_options));
  const auto start = std::chrono::system_clock::now() - options.metrics_max_age;
  registry::SeriesByQuery out;
  for (const auto& query : rules.series_queries()) {
    std::promise<absl::StatusOr<std::vector<model::Series>>> done;
    auto result = done.get_future();
    client->Series(query, start, [&done](auto series) { done.set_value(std::move(series)); });
    auto series = result.get();
    if (!series.ok()) {
      return absl::Status(series.status().code(),
                          Cat("listing series for ", query, ": ", series.status().message()));
    }
    out[query] = *std::move(series);
  }
  return out;
}

absl::StatusOr<std::string> Explain(const ExplainOptions& options, std::ostream& err) {
  const auto mapper = model::BuiltinResourceMapper();
  const auto file =
      LoadRulesFile(options.config_path, {.mapper = mapper, .allow_unknown_resources = true});
  if (!file.problems.empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(file.problems, "\n"));
  }
  absl::StatusOr<registry::SeriesByQuery> series =
      !options.series_file.empty() ? SeriesFromFile(*file.rule_set, options.series_file)
                                   : SeriesFromPrometheus(*file.rule_set, options);
  if (!series.ok()) {
    return series.status();
  }
  const auto registry = registry::MetricRegistry::Build(file.rule_set, *series);
  err << "registry: " << registry->custom_size() << " custom metrics, " << registry->external_size()
      << " external metrics\n";

  MA_ASSIGN_OR_RETURN(const http::Request target, http::ParseRequestTarget("GET", options.path));
  MA_ASSIGN_OR_RETURN(const handlers::Route route, handlers::MatchRoute(target.path_segments));
  if (route.kind == handlers::RouteKind::kExternalMetric) {
    MA_ASSIGN_OR_RETURN(auto request, handlers::ParseExternalMetricRequest(route, target.query));
    MA_ASSIGN_OR_RETURN(auto plan, planner::PlanExternal(*registry, request));
    return plan.promql;
  }
  if (route.kind != handlers::RouteKind::kCustomMetric) {
    return absl::InvalidArgumentError(Cat(options.path, " is not a custom or external metric URL"));
  }
  MA_ASSIGN_OR_RETURN(auto request, handlers::ParseCustomMetricRequest(route, target.query));
  planner::ObjectNames objects;
  if (!request.wildcard()) {
    objects.names = {request.name};
  } else if (!options.object_names.empty()) {
    objects.names = options.object_names;
  } else {
    objects.all_objects = true;
    err << "no --object-names: the query covers every object that has the series\n";
  }
  MA_ASSIGN_OR_RETURN(auto plan,
                      planner::PlanCustom(*registry, *mapper, request.request, std::move(objects)));
  err << "series " << plan.resource.group_resource.String() << " label " << plan.resource_label
      << "\n";
  return plan.promql;
}

}  // namespace

int RunExplain(const ExplainOptions& options, std::ostream& out, std::ostream& err) {
  if (options.config_path.empty() || options.path.empty() ||
      options.series_file.empty() == options.prometheus_url.empty()) {
    err << "usage: metrics-adapter explain --config=FILE (--series-file=FILE | "
           "--prometheus-url=URL) [--object-names=a,b,...] PATH\n";
    return 2;
  }
  auto promql = Explain(options, err);
  if (!promql.ok()) {
    err << "explain: " << promql.status().message() << "\n";
    return 1;
  }
  out << *promql << "\n";
  return 0;
}

}  // namespace ma::cli
