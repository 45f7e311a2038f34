#include "adapter/handlers/api_handler.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "adapter/api/encode.h"
#include "adapter/api/status.h"
#include "adapter/async/await.h"
#include "adapter/handlers/metric_plan.h"
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

std::vector<api::APIResource> Placeholder(std::string_view name, std::string_view kind) {
  // client-go treats an empty resource list as an error on every discovery; an entry that
  // names no metric keeps it quiet until the first metrics are discovered.
  return {api::APIResource{std::string(name), "", true, std::string(kind), {"get"}}};
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
  http::Response response = co_await Answer(request, route);
  // Every answer passes through here once, to be counted.
  RequestMetricsFor(route).Record(
      response.status,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  co_return response;
}

async::Task<http::Response> ApiHandler::Answer(const http::Request& request,
                                               const absl::StatusOr<Route>& route) {
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
      co_return co_await Metric(request, *route);
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
                                             .platform = "linux/amd64"}));
    case RouteKind::kMetrics:
      co_return Text(200, metrics_.Serialize(), kMetricsContentType);
    case RouteKind::kOpenApi:
      // No OpenAPI spec: the aggregator takes a 404 as "none".
      co_return api::NotFoundPathResponse();
  }
  co_return api::NotFoundPathResponse();
}

async::Task<absl::StatusOr<prometheus::QueryResultPtr>> ApiHandler::Query(std::string promql) {
  co_return co_await async::Await<prometheus::QueryResultPtr>(
      [this, &promql](async::Completion<prometheus::QueryResultPtr> done) {
        prometheus_.Query(std::move(promql), clock_.Now(), std::move(done));
      });
}

http::Response ApiHandler::Discovery(const Route& route) const {
  const auto rules = rules_.Get();
  const bool custom = rules != nullptr && !rules->custom_rules().empty();
  const bool external = rules != nullptr && !rules->external_rules().empty();
  const auto group_of = [](std::string_view name) {
    api::APIGroup group;
    group.name = std::string(name);
    for (const auto& version : ServedVersions(name)) {
      group.versions.push_back({Cat(name, "/", version), version});
    }
    group.preferred_version = group.versions.front();
    return group;
  };
  if (route.kind == RouteKind::kApis) {
    std::vector<api::APIGroup> groups;
    if (custom) {
      groups.push_back(group_of(kCustomGroup));
    }
    if (external) {
      groups.push_back(group_of(kExternalGroup));
    }
    return Json(api::EncodeAPIGroupList(groups));
  }
  const bool served = route.group == kCustomGroup ? custom : external;
  if (!served) {
    return api::StatusResponse(
        absl::NotFoundError(Cat("no rules serve ", route.group, " (the rules file has no ",
                                route.group == kCustomGroup ? "rules" : "externalRules", ")")));
  }
  if (route.kind == RouteKind::kGroup) {
    return Json(api::EncodeAPIGroup(group_of(route.group)));
  }
  const auto registry = registry_.Get();
  std::vector<api::APIResource> resources;
  const bool is_custom = route.group == kCustomGroup;
  const std::string kind = is_custom ? "MetricValueList" : "ExternalMetricValueList";
  if (registry != nullptr) {
    for (const auto& entry :
         is_custom ? registry->CustomDiscovery() : registry->ExternalDiscovery()) {
      resources.push_back({entry.name, "", entry.namespaced, kind, {"get"}});
    }
  }
  if (resources.empty()) {
    resources = Placeholder(is_custom ? "custommetrics" : "externalmetrics", kind);
  }
  return Json(api::EncodeAPIResourceList(Cat(route.group, "/", route.version), resources));
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
  for (const auto& check : checks) {
    all_ok = all_ok && check.ok;
    absl::StrAppend(&verbose, check.ok ? "[+]" : "[-]", check.name,
                    check.ok ? " ok\n" : " failed: reason withheld\n");
  }
  if (!all_ok) {
    return Text(500, Cat(verbose, endpoint, " check failed\n"));
  }
  if (request.QueryParam("verbose").has_value()) {
    return Text(200, Cat(verbose, endpoint, " check passed\n"));
  }
  return Text(200, "ok");
}

async::Task<http::Response> ApiHandler::Metric(const http::Request& request, const Route& route) {
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
  const absl::StatusOr<prometheus::QueryResultPtr> result = co_await Query(plan->promql());
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

}  // namespace ma::handlers
