#include "adapter/cli/explain_command.h"

#include <fstream>
#include <future>
#include <memory>
#include <optional>
#include <sstream>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "adapter/cli/rules_file.h"
#include "adapter/handlers/metric_plan.h"
#include "adapter/handlers/route.h"
#include "adapter/http/url.h"
#include "adapter/objects/object_lister.h"
#include "adapter/outbound/http_client.h"
#include "adapter/prometheus/http_prometheus_client.h"
#include "adapter/prometheus/response_decoder.h"
#include "queries/base/status_macros.h"
#include "queries/base/strings.h"
#include "queries/model/resource_mapper.h"
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
  // Declared first, so destroyed last: the client's channel must close before it.
  MA_ASSIGN_OR_RETURN(std::unique_ptr<outbound::HttpClient> http,
                      outbound::HttpClient::Create(outbound::HttpClientOptions{}));
  MA_ASSIGN_OR_RETURN(auto client,
                      prometheus::HttpPrometheusClient::Create(*http, prometheus_options));
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

// The names given with --object-names, whatever the resource and selector: they stand for what
// the Kubernetes LIST behind a `*` request would have answered.
class NamedObjects final : public objects::ObjectLister {
 public:
  explicit NamedObjects(std::vector<std::string> names) : names_(std::move(names)) {}
  absl::StatusOr<std::vector<std::string>> Names(
      const model::GroupResource& /*resource*/, std::string_view /*namespace_name*/,
      const selector::LabelSelector& /*selector*/) override {
    return names_;
  }
  absl::StatusOr<std::vector<objects::ListedObject>> Objects(
      const objects::Collection& /*collection*/, std::string_view /*namespace_name*/,
      const selector::LabelSelector& /*selector*/) override {
    return absl::UnimplementedError("explain does not cover metrics.k8s.io");
  }
  bool synced() const override { return true; }

 private:
  const std::vector<std::string> names_;
};

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
  if (route.kind != handlers::RouteKind::kCustomMetric &&
      route.kind != handlers::RouteKind::kExternalMetric) {
    return absl::InvalidArgumentError(Cat(options.path, " is not a custom or external metric URL"));
  }
  // The server's own planning, with --object-names standing in for the Kubernetes LIST; without
  // them, a `*` request is planned as `serve --standalone` plans it.
  std::optional<NamedObjects> named;
  if (!options.object_names.empty()) {
    named.emplace(options.object_names);
  } else if (route.kind == handlers::RouteKind::kCustomMetric && route.name == "*") {
    err << "no --object-names: the query covers every object that has the series\n";
  }
  MA_ASSIGN_OR_RETURN(const handlers::MetricPlan plan,
                      handlers::PlanMetric(route, target.query,
                                           {.registry = registry.get(),
                                            .mapper = mapper.get(),
                                            .objects = named.has_value() ? &*named : nullptr}));
  if (plan.custom.has_value()) {
    err << "series " << plan.custom->resource.group_resource.String() << " label "
        << plan.custom->resource_label << "\n";
  }
  return plan.promql();
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
