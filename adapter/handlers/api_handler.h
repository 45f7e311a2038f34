#pragma once

// The request handler behind the HTTPS server: routes a request, answers discovery and health
// from memory, and turns metric requests into one Prometheus query each (plan, fetch, render).
// Beast-free: the server hands it an http::Request and awaits the http::Response.

#include <array>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "adapter/async/task.h"
#include "adapter/handlers/metric_memo.h"
#include "adapter/handlers/metric_request.h"
#include "adapter/handlers/query_window.h"
#include "adapter/handlers/route.h"
#include "adapter/http/message.h"
#include "adapter/objects/object_lister.h"
#include "adapter/prometheus/client.h"
#include "adapter/telemetry/adapter_metrics.h"
#include "queries/base/clock.h"
#include "queries/base/snapshot.h"
#include "queries/model/resource_mapper.h"
#include "queries/registry/metric_registry.h"
#include "queries/rules/rule_set.h"

namespace ma::handlers {

// One metrics.k8s.io request sends a CPU and a memory query per namespace; this many at most are
// out at once, so that `kubectl top pod -A` in a cluster of many namespaces waits its turn
// instead of filling the backend's bulkhead queue (and failing with 429).
inline constexpr size_t kMaxQueriesInFlightPerRequest = 16;

struct ApiHandlerOptions {
  bool standalone = true;  // no Kubernetes API: `*` with a labelSelector cannot be answered
  // Required unless standalone: the objects a `*` request covers, and part of /readyz. Must
  // outlive the handler.
  objects::ObjectLister* objects = nullptr;
  std::string git_version;
  std::string git_commit;
  std::string platform = "";  // "linux/amd64", as Go's GOOS/GOARCH name it
  // Under the first-relist check of /readyz?verbose: the last listing of each rule, one line
  // each (discovery::Relister::DescribeRuleStates). Optional.
  std::function<std::string()> relist_details = nullptr;
  // True once shutdown has begun: /readyz fails its `shutdown` check, as a Go server's does,
  // while everything else is still served. Null: never.
  std::function<bool()> shutting_down = nullptr;
};

// Thread-safe: Handle may be called from many threads at once; its task never blocks.
class ApiHandler {
 public:
  ApiHandler(const Snapshot<rules::RuleSet>& rules,
             const Snapshot<registry::MetricRegistry>& registry,
             std::shared_ptr<const model::ResourceMapper> mapper, prometheus::Client& prometheus,
             telemetry::AdapterMetrics& metrics, std::function<bool()> ready,
             ApiHandlerOptions options, const Clock& clock = SystemClock::Get());

  // Route, plan, value, render: one task. It suspends only while a query is sent to the backend
  // (a cache miss); everything else answers from memory. A hot request reuses its plan and the
  // body it rendered last time while the registry and the value are the same (metric_memo.h).
  async::Task<http::Response> Handle(http::Request request);

  // As an http::Handler for the server.
  http::Handler AsHandler() {
    return [this](http::Request request) { return Handle(std::move(request)); };
  }

 private:
  // `outcome` collects how the value cache answered the request's queries, for the access log.
  async::Task<http::Response> Answer(const http::Request& request,
                                     const absl::StatusOr<Route>& route,
                                     const prometheus::CacheOutcomeSink& outcome);
  // Plan, query, render (metric_plan.h).
  async::Task<http::Response> Metric(const http::Request& request, const Route& route,
                                     const prometheus::CacheOutcomeSink& outcome);
  // metrics.k8s.io: plan, query every batch at once, render (resource_metrics.h).
  async::Task<http::Response> ResourceMetrics(const http::Request& request, const Route& route,
                                              const prometheus::CacheOutcomeSink& outcome);
  // The answers for all of `queries`, in the same order; at most kMaxQueriesInFlightPerRequest
  // are sent at once.
  async::Task<absl::StatusOr<QueryAnswers>> QueryAll(std::vector<std::string> queries,
                                                     const prometheus::CacheOutcomeSink& outcome);
  http::Response Discovery(const Route& route) const;
  http::Response Health(const http::Request& request, const Route& route) const;

  // The request metrics of each route name, resolved once (RouteName in api_handler.cc).
  telemetry::RequestMetrics& RequestMetricsFor(const absl::StatusOr<Route>& route);

  const Snapshot<rules::RuleSet>& rules_;
  const Snapshot<registry::MetricRegistry>& registry_;
  std::shared_ptr<const model::ResourceMapper> mapper_;
  prometheus::Client& prometheus_;
  telemetry::AdapterMetrics& metrics_;
  std::function<bool()> ready_;
  const ApiHandlerOptions options_;
  const Clock& clock_;
  // Hot metric requests' plans and bodies (metric_memo.h).
  MetricMemo memo_;
  // Indexed by RouteKind; the last one for a path that matched no route.
  std::array<telemetry::RequestMetrics*, kRouteKinds + 1> request_metrics_{};
};

}  // namespace ma::handlers
