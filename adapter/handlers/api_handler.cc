#include "adapter/handlers/api_handler.h"

#include <atomic>
#include <chrono>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "adapter/api/encode.h"
#include "adapter/api/status.h"
#include "adapter/handlers/metric_plan.h"
#include "adapter/handlers/resource_metrics.h"
#include "adapter/telemetry/log.h"
#include "queries/base/check.h"
#include "queries/base/status_macros.h"
#include "queries/base/strings.h"

namespace ma::handlers {
namespace {

constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";
constexpr std::string_view kTextContentType = "text/plain; charset=utf-8";

// The route name of a path that matched no route.
constexpr std::string_view kUnknownRoute = "unknown";

// Route names for the request metrics: a closed set.
std::string_view RouteName(RouteKind kind) {
  switch (kind) {
    case RouteKind::kApis:
    case RouteKind::kGroup:
    case RouteKind::kGroupVersion:
      return "discovery";
    case RouteKind::kCustomMetric:
      return "custom_metric";
    case RouteKind::kExternalMetric:
      return "external_metric";
    case RouteKind::kResourceMetrics:
      return "resource_metrics";
    case RouteKind::kHealthz:
    case RouteKind::kLivez:
    case RouteKind::kReadyz:
      return "health";
    case RouteKind::kVersion:
      return "version";
    case RouteKind::kMetrics:
      return "metrics";
    case RouteKind::kOpenApi:
      return "openapi";
  }
  return kUnknownRoute;
}

http::Response Json(std::string body) {
  http::Response response;
  response.body = std::move(body);
  return response;
}

http::Response Text(int status, std::string body,
                    std::string_view content_type = kTextContentType) {
  http::Response response;
  response.status = status;
  response.content_type = std::string(content_type);
  response.body = std::move(body);
  return response;
}

// Logs the whole story of a failed request; the client sees what api::StatusResponse shows.
http::Response ErrorResponse(const http::Request& request, const absl::Status& status) {
  const int code = api::HttpCode(status);
  if (code >= 500) {
    MA_LOG(ERROR) << request.method << " " << request.path << ": " << status;
  } else {
    MA_VLOG(2) << request.method << " " << request.path << ": " << status;
  }
  return api::StatusResponse(status);
}

// A Prometheus failure, explained to the client without the backend's internals.
absl::Status BackendError(const absl::Status& status, std::string_view metric) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return api::WithPublicMessage(
          status, Cat("the metrics backend rejected the query for metric ", metric,
                      " as invalid; the adapter's log has the details"));
    case absl::StatusCode::kUnavailable:
      return api::WithPublicMessage(
          status, Cat("the metrics backend is unavailable (metric ", metric, ")"));
    case absl::StatusCode::kDeadlineExceeded:
      return api::WithPublicMessage(
          status, Cat("timed out waiting for the metrics backend (metric ", metric, ")"));
    default:
      return status;
  }
}

}  // namespace

ApiHandler::ApiHandler(const Snapshot<rules::RuleSet>& rules,
                       const Snapshot<registry::MetricRegistry>& registry,
                       std::shared_ptr<const model::ResourceMapper> mapper,
                       prometheus::Client& prometheus, telemetry::AdapterMetrics& metrics,
                       std::function<bool()> ready, ApiHandlerOptions options, const Clock& clock)
    : rules_(rules),
      registry_(registry),
      mapper_(std::move(mapper)),
      prometheus_(prometheus),
      metrics_(metrics),
      ready_(std::move(ready)),
      options_(std::move(options)),
      clock_(clock) {
  MA_CHECK(options_.standalone || options_.objects != nullptr);
  for (size_t kind = 0; kind < kRouteKinds; ++kind) {
    request_metrics_[kind] = &metrics_.Route(RouteName(static_cast<RouteKind>(kind)));
  }
  request_metrics_[kRouteKinds] = &metrics_.Route(kUnknownRoute);
}

telemetry::RequestMetrics& ApiHandler::RequestMetricsFor(const absl::StatusOr<Route>& route) {
  return *request_metrics_[route.ok() ? static_cast<size_t>(route->kind) : kRouteKinds];
}

async::Task<http::Response> ApiHandler::Handle(http::Request request) {
  const auto started = std::chrono::steady_clock::now();
  const absl::StatusOr<Route> route = MatchRoute(request.path_segments);
  const auto outcome =
      std::make_shared<std::atomic<prometheus::CacheOutcome>>(prometheus::CacheOutcome::kNone);
  http::Response response = co_await Answer(request, route, outcome);
  response.cache_outcome = prometheus::CacheOutcomeName(outcome->load(std::memory_order_acquire));
  // Every answer passes through here once, to be counted.
  RequestMetricsFor(route).Record(
      response.status,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  co_return response;
}

async::Task<http::Response> ApiHandler::Answer(const http::Request& request,
                                               const absl::StatusOr<Route>& route,
                                               const prometheus::CacheOutcomeSink& outcome) {
  if (!route.ok()) {
    if (route.status().code() == absl::StatusCode::kNotFound) {
      co_return api::NotFoundPathResponse();
    }
    co_return ErrorResponse(request, route.status());
  }
  if (request.method != "GET") {
    co_return api::MethodNotAllowedResponse(request.method, request.path);
  }
  switch (route->kind) {
    case RouteKind::kCustomMetric:
    case RouteKind::kExternalMetric:
      co_return co_await Metric(request, *route, outcome);
    case RouteKind::kResourceMetrics:
      co_return co_await ResourceMetrics(request, *route, outcome);
    case RouteKind::kApis:
    case RouteKind::kGroup:
    case RouteKind::kGroupVersion:
      co_return Discovery(*route);
    case RouteKind::kHealthz:
    case RouteKind::kLivez:
    case RouteKind::kReadyz:
      co_return Health(request, *route);
    case RouteKind::kVersion:
      co_return Json(api::EncodeVersionInfo({.major = "0",
                                             .minor = "1",
                                             .git_version = options_.git_version,
                                             .git_commit = options_.git_commit,
                                             .git_tree_state = "clean",
                                             .build_date = "",
                                             .go_version = "",
                                             .compiler = "gcc",
                                             .platform = options_.platform}));
    case RouteKind::kMetrics:
      co_return Text(200, metrics_.Serialize(), kMetricsContentType);
    case RouteKind::kOpenApi:
      // No OpenAPI spec: the aggregator takes a 404 as "none".
      co_return api::NotFoundPathResponse();
  }
  co_return api::NotFoundPathResponse();
}

async::Task<absl::StatusOr<QueryAnswers>> ApiHandler::QueryAll(
    std::vector<std::string> queries, const prometheus::CacheOutcomeSink& outcome) {
  co_return co_await async::Await<QueryAnswers>(
      [this, &queries, &outcome](async::Completion<QueryAnswers> done) {
        SendQueries(prometheus_, clock_.Now(), std::move(queries), kMaxQueriesInFlightPerRequest,
                    std::move(done), outcome);
      });
}

http::Response ApiHandler::Discovery(const Route& route) const {
  const auto group_of = [](const ApiGroupRow& row) {
    api::APIGroup group;
    group.name = std::string(row.name);
    for (const std::string_view version : row.versions) {
      group.versions.push_back({Cat(row.name, "/", version), std::string(version)});
    }
    group.preferred_version = group.versions.front();
    return group;
  };
  // Every group the adapter can serve, whatever the rules give it (api_groups.h says why).
  if (route.kind == RouteKind::kApis) {
    std::vector<api::APIGroup> groups;
    for (const ApiGroupRow& row : ApiGroups()) {
      groups.push_back(group_of(row));
    }
    return Json(api::EncodeAPIGroupList(groups));
  }
  const ApiGroupRow* row = FindApiGroup(route.group);
  MA_CHECK(row != nullptr);  // MatchRoute routes only the table's groups here
  if (route.kind == RouteKind::kGroup) {
    return Json(api::EncodeAPIGroup(group_of(*row)));
  }
  const auto rules = rules_.Get();
  const auto registry = registry_.Get();
  return Json(api::EncodeAPIResourceList(Cat(route.group, "/", route.version),
                                         DiscoveryResources(*row, rules.get(), registry.get())));
}

http::Response ApiHandler::Health(const http::Request& request, const Route& route) const {
  const std::string_view endpoint = route.kind == RouteKind::kHealthz ? "healthz"
                                    : route.kind == RouteKind::kLivez ? "livez"
                                                                      : "readyz";
  struct Check {
    std::string name;
    bool ok;
  };
  std::vector<Check> checks = {{"ping", true}, {"rules-loaded", rules_.Get() != nullptr}};
  if (route.kind == RouteKind::kReadyz) {
    checks.push_back({"first-relist", ready_()});
    if (options_.objects != nullptr) {
      // Go servers name their informers' first sync this way.
      checks.push_back({"informer-sync", options_.objects->synced()});
    }
    // The generic apiserver's name for the check that fails from SIGTERM on.
    checks.push_back({"shutdown", !options_.shutting_down || !options_.shutting_down()});
  }
  if (!route.check.empty()) {
    for (const auto& check : checks) {
      if (check.name == route.check) {
        return check.ok ? Text(200, "ok")
                        : Text(500, Cat("[-]", check.name, " failed: reason withheld\n"));
      }
    }
    return api::NotFoundPathResponse();
  }
  bool all_ok = true;
  std::string verbose;
  const bool details = route.kind == RouteKind::kReadyz &&
                       request.QueryParam("verbose").has_value() && options_.relist_details;
  for (const auto& check : checks) {
    all_ok = all_ok && check.ok;
    absl::StrAppend(&verbose, check.ok ? "[+]" : "[-]", check.name,
                    check.ok ? " ok\n" : " failed: reason withheld\n");
    if (details && check.name == "first-relist") {
      for (const auto line : absl::StrSplit(options_.relist_details(), '\n', absl::SkipEmpty())) {
        absl::StrAppend(&verbose, "    ", line, "\n");
      }
    }
  }
  if (!all_ok) {
    return Text(500, Cat(verbose, endpoint, " check failed\n"));
  }
  if (request.QueryParam("verbose").has_value()) {
    return Text(200, Cat(verbose, endpoint, " check passed\n"));
  }
  return Text(200, "ok");
}

async::Task<http::Response> ApiHandler::Metric(const http::Request& request, const Route& route,
                                               const prometheus::CacheOutcomeSink& outcome) {
  const std::shared_ptr<const registry::MetricRegistry> registry = registry_.Get();
  // An external plan reads the registry and the request only; a custom one reads the resource
  // mapper and, for `*`, the objects too, which stay fixed only in --standalone (the built-in
  // mapper, no object lister). Only those plans, and the bodies rendered from them, are memoized.
  const bool memoized =
      registry != nullptr && (route.kind == RouteKind::kExternalMetric || options_.standalone);
  const std::string memo_key = memoized ? MetricMemo::Key(route, request.query) : std::string();
  MetricMemo::PlanPtr plan = memoized ? memo_.FindPlan(memo_key, registry) : nullptr;
  if (plan == nullptr) {
    absl::StatusOr<MetricPlan> planned =
        PlanMetric(route, request.query,
                   {.registry = registry.get(),
                    .mapper = mapper_.get(),
                    .objects = options_.standalone ? nullptr : options_.objects});
    if (!planned.ok()) {
      co_return ErrorResponse(request, planned.status());
    }
    plan = std::make_shared<const MetricPlan>(*std::move(planned));
    if (memoized) {
      memo_.PutPlan(memo_key, registry, plan);
    }
  }
  MA_VLOG(4) << request.path << " -> " << plan->promql();
  // A fresh cached value answers without suspending; cancelling the request takes the wait back.
  const absl::StatusOr<prometheus::QueryResultPtr> result =
      co_await prometheus_.AwaitQuery(plan->promql(), clock_.Now(), outcome);
  if (!result.ok()) {
    co_return ErrorResponse(request, BackendError(result.status(), plan->metric()));
  }
  if (memoized) {
    if (const auto body = memo_.FindBody(memo_key, plan, *result); body != nullptr) {
      co_return Json(*body);
    }
  }
  absl::StatusOr<std::string> body = RenderMetric(*plan, **result);
  if (!body.ok()) {
    if (plan->external.has_value() && body.status().code() == absl::StatusCode::kNotFound) {
      metrics_.RecordNonFiniteValue("external");
    }
    co_return ErrorResponse(request, body.status());
  }
  if (memoized) {
    memo_.PutBody(memo_key, plan, *result, *body);
  }
  co_return Json(*std::move(body));
}

async::Task<http::Response> ApiHandler::ResourceMetrics(
    const http::Request& request, const Route& route, const prometheus::CacheOutcomeSink& outcome) {
  const std::shared_ptr<const rules::RuleSet> rules = rules_.Get();
  if (rules == nullptr || !rules->resource_rules().has_value()) {
    co_return ErrorResponse(request,
                            absl::NotFoundError(Cat("no rules serve ", kResourceMetricsGroup,
                                                    " (the rules file has no "
                                                    "resourceRules)")));
  }
  absl::StatusOr<ResourceMetricsRequest> parsed = ParseResourceMetricsRequest(route, request.query);
  if (!parsed.ok()) {
    co_return ErrorResponse(request, parsed.status());
  }
  if (options_.standalone || options_.objects == nullptr) {
    co_return ErrorResponse(
        request, absl::FailedPreconditionError(
                     "metrics.k8s.io lists pods and nodes from the Kubernetes API, and this "
                     "adapter runs with --standalone"));
  }
  absl::StatusOr<ResourceMetricsPlan> plan =
      PlanResourceMetrics(*std::move(parsed), rules, *options_.objects);
  if (!plan.ok()) {
    co_return ErrorResponse(request, plan.status());
  }
  std::vector<std::string> queries = plan->Queries();
  for (const auto& promql : queries) {
    MA_VLOG(4) << request.path << " -> " << promql;
  }
  const auto answers = co_await QueryAll(std::move(queries), outcome);
  if (!answers.ok()) {
    co_return ErrorResponse(request, answers.status());
  }
  // One failed batch fails the answer: a list that silently lacks a namespace would read as
  // pods without load (prometheus-adapter drops them and answers 200).
  std::vector<const model::QueryResult*> results;
  for (const auto& answer : *answers) {
    if (!answer.ok()) {
      co_return ErrorResponse(request, BackendError(answer.status(), "resource metrics"));
    }
    results.push_back(answer->get());
  }
  planner::UsageNotes notes;
  absl::StatusOr<std::string> body = RenderResourceMetrics(
      *plan, results,
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now().time_since_epoch())
          .count(),
      notes);
  for (size_t i = 0; i < notes.non_finite.size(); ++i) {
    metrics_.RecordNonFiniteValue("resource");
  }
  if (!notes.missing.empty() || !notes.non_finite.empty() || notes.negative > 0) {
    MA_VLOG(2) << request.path << ": left out for having no CPU or memory sample: "
               << absl::StrJoin(notes.missing, ",") << "; left out for a NaN or infinite sample: "
               << absl::StrJoin(notes.non_finite, ",")
               << "; negative samples reported as 0: " << notes.negative;
  }
  if (!body.ok()) {
    co_return ErrorResponse(request, body.status());
  }
  co_return Json(*std::move(body));
}

}  // namespace ma::handlers
