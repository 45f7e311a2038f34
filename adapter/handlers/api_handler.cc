#include "adapter/handlers/api_handler.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "adapter/api/encode.h"
#include "adapter/api/quantity.h"
#include "adapter/api/status.h"
#include "adapter/handlers/metric_request.h"
#include "adapter/telemetry/log.h"
#include "queries/base/check.h"
#include "queries/base/status_macros.h"
#include "queries/base/strings.h"
#include "queries/planner/query_plan.h"

namespace ma::handlers {
namespace {

constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";
constexpr std::string_view kTextContentType = "text/plain; charset=utf-8";

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
  return "unknown";
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
}

void ApiHandler::Handle(const http::Request& request, http::Responder respond) {
  const auto started = std::chrono::steady_clock::now();
  auto route = MatchRoute(request.path_segments);
  const std::string_view route_name = route.ok() ? RouteName(route->kind) : "unknown";
  // Every answer passes through here once, to be counted.
  http::Responder counted = [this, route_name, started,
                             respond = std::move(respond)](http::Response response) {
    metrics_.RecordRequest(
        route_name, response.status,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    respond(std::move(response));
  };
  if (!route.ok()) {
    if (route.status().code() == absl::StatusCode::kNotFound) {
      counted(api::NotFoundPathResponse());
    } else {
      counted(ErrorResponse(request, route.status()));
    }
    return;
  }
  if (request.method != "GET") {
    counted(api::MethodNotAllowedResponse(request.method, request.path));
    return;
  }
  switch (route->kind) {
    case RouteKind::kCustomMetric:
      HandleCustomMetric(request, *route, std::move(counted));
      return;
    case RouteKind::kExternalMetric:
      HandleExternalMetric(request, *route, std::move(counted));
      return;
    case RouteKind::kApis:
    case RouteKind::kGroup:
    case RouteKind::kGroupVersion:
      counted(Discovery(*route));
      return;
    case RouteKind::kHealthz:
    case RouteKind::kLivez:
    case RouteKind::kReadyz:
      counted(Health(request, *route));
      return;
    case RouteKind::kVersion:
      counted(Json(api::EncodeVersionInfo({.major = "0",
                                           .minor = "1",
                                           .git_version = options_.git_version,
                                           .git_commit = options_.git_commit,
                                           .git_tree_state = "clean",
                                           .build_date = "",
                                           .go_version = "",
                                           .compiler = "gcc",
                                           .platform = "linux/amd64"})));
      return;
    case RouteKind::kMetrics:
      counted(Text(200, metrics_.Serialize(), kMetricsContentType));
      return;
    case RouteKind::kOpenApi:
      // No OpenAPI spec: the aggregator takes a 404 as "none" (contract section 3.5).
      counted(api::NotFoundPathResponse());
      return;
  }
}

absl::StatusOr<planner::ObjectNames> ApiHandler::WildcardObjects(
    const registry::MetricRegistry& registry, const CustomMetricRequest& parsed) {
  const auto& custom = parsed.request;
  const auto parsed_resource = model::GroupResource::Parse(custom.resource);
  const auto info = mapper_->Normalize(parsed_resource.group, parsed_resource.resource);
  if (!info.ok() || registry.FindCustom({info->group_resource, !custom.namespace_name.empty(),
                                         custom.metric}) == nullptr) {
    // No metric: the planner answers 404 as it does for any request, and no resource that no
    // metric describes is ever watched.
    return planner::ObjectNames{};
  }
  MA_ASSIGN_OR_RETURN(auto names, options_.objects->Names(
                                      info->group_resource, custom.namespace_name,
                                      parsed.object_selector.value_or(selector::LabelSelector())));
  // No matching object is prometheus-adapter's 404 (section 8.2), which the planner gives for
  // an empty name list: the HPA treats it as it treats an empty list, as an invalid metric.
  return planner::ObjectNames{std::move(names), false};
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

void ApiHandler::HandleCustomMetric(const http::Request& request, const Route& route,
                                    http::Responder respond) {
  auto parsed = ParseCustomMetricRequest(route, request.query);
  if (!parsed.ok()) {
    respond(ErrorResponse(request, parsed.status()));
    return;
  }
  const auto registry = registry_.Get();
  const auto no_registry = [&] {
    respond(ErrorResponse(request, absl::UnavailableError("no metrics discovered yet")));
  };
  planner::ObjectNames objects;
  if (!parsed->wildcard()) {
    objects.names = {parsed->name};
  } else if (!options_.standalone) {
    if (registry == nullptr) {
      no_registry();
      return;
    }
    auto listed = WildcardObjects(*registry, *parsed);
    if (!listed.ok()) {
      respond(ErrorResponse(request, listed.status()));
      return;
    }
    objects = *std::move(listed);
  } else if (parsed->object_selector.has_value() && !parsed->object_selector->empty()) {
    respond(ErrorResponse(
        request, absl::InvalidArgumentError(
                     "a labelSelector on a `*` request needs the Kubernetes API to list the "
                     "matching objects, and this adapter runs with --standalone")));
    return;
  } else {
    objects.all_objects = true;
  }
  if (registry == nullptr) {
    no_registry();
    return;
  }
  auto plan = planner::PlanCustom(*registry, *mapper_, parsed->request, std::move(objects));
  if (!plan.ok()) {
    respond(ErrorResponse(request, plan.status()));
    return;
  }
  MA_VLOG(4) << "custom " << request.path << " -> " << plan->promql;
  auto shared_plan = std::make_shared<const planner::CustomPlan>(*std::move(plan));
  prometheus_.Query(
      shared_plan->promql, clock_.Now(),
      [this, request, shared_plan, selector = parsed->request.metric_selector,
       version = route.version,
       respond = std::move(respond)](absl::StatusOr<model::QueryResult> result) {
        if (!result.ok()) {
          respond(ErrorResponse(request, BackendError(result.status(), shared_plan->metric)));
          return;
        }
        auto values = planner::MapCustomResult(*shared_plan, *result);
        if (!values.ok()) {
          respond(ErrorResponse(request, values.status()));
          return;
        }
        std::vector<api::CustomMetricValue> items;
        items.reserve(values->size());
        for (const auto& value : *values) {
          auto quantity = api::FormatMetricValue(value.value);
          if (!quantity.ok()) {
            respond(ErrorResponse(request, quantity.status()));
            return;
          }
          api::CustomMetricValue item;
          item.described_object = {shared_plan->resource.kind, shared_plan->namespace_name,
                                   value.name, shared_plan->resource.ApiVersion()};
          item.metric_name = shared_plan->metric;
          item.timestamp_ms = value.timestamp_ms;
          item.value = *std::move(quantity);
          if (!selector.empty()) {
            item.metric_selector = selector;
          }
          items.push_back(std::move(item));
        }
        respond(Json(api::EncodeMetricValueList(items, version)));
      });
}

void ApiHandler::HandleExternalMetric(const http::Request& request, const Route& route,
                                      http::Responder respond) {
  auto parsed = ParseExternalMetricRequest(route, request.query);
  if (!parsed.ok()) {
    respond(ErrorResponse(request, parsed.status()));
    return;
  }
  const auto registry = registry_.Get();
  if (registry == nullptr) {
    respond(ErrorResponse(request, absl::UnavailableError("no metrics discovered yet")));
    return;
  }
  auto plan = planner::PlanExternal(*registry, *parsed);
  if (!plan.ok()) {
    respond(ErrorResponse(request, plan.status()));
    return;
  }
  MA_VLOG(4) << "external " << request.path << " -> " << plan->promql;
  auto shared_plan = std::make_shared<const planner::ExternalPlan>(*std::move(plan));
  prometheus_.Query(
      shared_plan->promql, clock_.Now(),
      [this, request, shared_plan,
       respond = std::move(respond)](absl::StatusOr<model::QueryResult> result) {
        if (!result.ok()) {
          respond(ErrorResponse(request, BackendError(result.status(), shared_plan->metric)));
          return;
        }
        auto values = planner::MapExternalResult(*shared_plan, *result);
        if (!values.ok()) {
          if (values.status().code() == absl::StatusCode::kNotFound) {
            metrics_.RecordNonFiniteValue("external");
          }
          respond(ErrorResponse(request, values.status()));
          return;
        }
        std::vector<api::ExternalMetricValue> items;
        items.reserve(values->size());
        for (auto& value : *values) {
          auto quantity = api::FormatMetricValue(value.value);
          if (!quantity.ok()) {
            respond(ErrorResponse(request, quantity.status()));
            return;
          }
          items.push_back({shared_plan->metric, std::move(value.labels), value.timestamp_ms,
                           std::nullopt, *std::move(quantity)});
        }
        respond(Json(api::EncodeExternalMetricValueList(items)));
      });
}

}  // namespace ma::handlers
