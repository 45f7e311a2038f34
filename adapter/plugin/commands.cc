#include "adapter/plugin/commands.h"

#include <algorithm>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "adapter/plugin/api_objects.h"
#include "adapter/plugin/hpa_plan.h"
#include "adapter/plugin/table.h"
#include "queries/base/strings.h"
#include "queries/base/url_codec.h"

namespace ma::plugin {
namespace {

constexpr std::string_view kExternal = "/apis/external.metrics.k8s.io/v1beta1";
constexpr std::string_view kCustomGroup = "/apis/custom.metrics.k8s.io";
constexpr std::string_view kApiServices = "/apis/apiregistration.k8s.io/v1/apiservices/";

// The metrics APIServices, in the order `status` shows them.
struct MetricsApi {
  std::string_view kind;  // as `list` names it
  std::string_view group;
  std::string_view version;
};
constexpr MetricsApi kApis[] = {
    {"external", "external.metrics.k8s.io", "v1beta1"},
    {"custom", "custom.metrics.k8s.io", "v1beta1"},
    {"resource", "metrics.k8s.io", "v1beta1"},
};

bool Ok(long status) { return status >= 200 && status < 300; }  // NOLINT(google-runtime-int)

// The GETs of one command. A transport error is reported once, and every later GET fails
// without being sent: the command then ends with kExitConfig.
class Session {
 public:
  Session(const Getter& get, std::ostream& err) : get_(get), err_(err) {}

  std::optional<kube::ApiResponse> Get(const std::string& path) {
    if (unreachable_) return std::nullopt;
    absl::StatusOr<kube::ApiResponse> response = get_(path);
    if (!response.ok()) {
      err_ << "error: " << response.status().message() << "\n";
      unreachable_ = true;
      return std::nullopt;
    }
    return *std::move(response);
  }

  bool unreachable() const { return unreachable_; }

  // The custom.metrics.k8s.io version the HPA would use: the group's preferred one when it is a
  // version it knows, else v1beta1.
  std::string CustomVersion() {
    std::optional<kube::ApiResponse> group = Get(std::string(kCustomGroup));
    if (group.has_value() && Ok(group->status)) {
      absl::StatusOr<std::string> preferred = DecodePreferredVersion(group->body);
      if (preferred.ok() && (*preferred == "v1beta2" || *preferred == "v1beta1")) {
        return *preferred;
      }
    }
    return "v1beta1";
  }

 private:
  const Getter& get_;
  std::ostream& err_;
  bool unreachable_ = false;
};

int Usage(std::ostream& err, std::string_view command, std::string_view problem) {
  err << "error: " << problem << "\nSee 'kubectl metrics-adapter " << command << " --help'.\n";
  return kExitUsage;
}

// An error answer: the Status message, then the hint for its code.
int ReportFailure(const kube::ApiResponse& response, SourceType type, std::ostream& err) {
  err << "error: " << StatusMessage(response.body, response.status) << "\n";
  err << "hint: " << HintFor(response.status, type) << "\n";
  return kExitFailed;
}

// -o json|yaml: the answer as it came, re-indented.
int PrintDocument(const std::string& output, const std::string& body, std::ostream& out,
                  std::ostream& err) {
  absl::StatusOr<std::string> text = output == "yaml" ? JsonToYaml(body) : PrettyJson(body);
  if (!text.ok()) {
    err << "error: the answer is not JSON: " << text.status().message() << "\n";
    return kExitFailed;
  }
  out << *text;
  return kExitOk;
}

// ---- status ---------------------------------------------------------------------------------

std::string ReadyReplicas(Session& session, const ApiServiceState& state) {
  if (state.service_name.empty()) return "-";  // served by the API server itself
  std::optional<kube::ApiResponse> deployment = session.Get(Cat(
      "/apis/apps/v1/namespaces/", state.service_namespace, "/deployments/", state.service_name));
  if (deployment.has_value() && Ok(deployment->status)) {
    if (absl::StatusOr<Replicas> r = DecodeDeploymentReplicas(deployment->body); r.ok()) {
      return Cat(r->ready, "/", r->desired);
    }
  }
  // No Deployment of the service's name: count the service's ready endpoints instead.
  std::optional<kube::ApiResponse> endpoints = session.Get(
      Cat("/api/v1/namespaces/", state.service_namespace, "/endpoints/", state.service_name));
  if (endpoints.has_value() && Ok(endpoints->status)) {
    if (absl::StatusOr<int64_t> ready = DecodeReadyEndpoints(endpoints->body); ready.ok()) {
      return Cat(*ready, " endpoints");
    }
  }
  return "<unknown>";
}

std::string MetricCount(Session& session, std::string_view group, std::string_view version) {
  std::optional<kube::ApiResponse> list = session.Get(Cat("/apis/", group, "/", version));
  if (!list.has_value() || !Ok(list->status)) return "<unknown>";
  absl::StatusOr<std::vector<std::string>> names = DecodeResourceNames(list->body);
  return names.ok() ? Cat(names->size()) : "<unknown>";
}

int Status(Session& session, std::ostream& out, std::ostream& err) {
  std::vector<Row> rows;
  int registered = 0;
  int unavailable = 0;
  for (const MetricsApi& api : kApis) {
    std::string version(api.version);
    if (api.group == "custom.metrics.k8s.io") version = session.CustomVersion();
    const std::string name = Cat(version, ".", api.group);
    std::optional<kube::ApiResponse> response = session.Get(Cat(kApiServices, name));
    if (!response.has_value()) return kExitConfig;
    if (response->status == 404) {
      rows.push_back({name, "-", "NotRegistered", "-", "-", "no APIService of this name"});
      continue;
    }
    if (!Ok(response->status)) {
      err << "error: " << name << ": " << StatusMessage(response->body, response->status) << "\n";
      return kExitFailed;
    }
    absl::StatusOr<ApiServiceState> state = DecodeApiService(response->body);
    if (!state.ok()) {
      err << "error: " << name << ": " << state.status().message() << "\n";
      return kExitFailed;
    }
    ++registered;
    if (state->available != "True") ++unavailable;
    const std::string service = state->service_name.empty()
                                    ? "Local"
                                    : Cat(state->service_namespace, "/", state->service_name);
    std::string message = state->message.empty() ? state->reason : state->message;
    rows.push_back({name, service, state->available, ReadyReplicas(session, *state),
                    MetricCount(session, api.group, version), message.empty() ? "-" : message});
  }
  if (session.unreachable()) return kExitConfig;
  out << FormatTable({"APISERVICE", "SERVICE", "AVAILABLE", "READY", "METRICS", "MESSAGE"}, rows);
  if (registered == 0) {
    err << "error: no metrics APIService is registered: is the adapter installed? (kubectl apply "
           "-k deploy/)\n";
    return kExitFailed;
  }
  if (unavailable > 0) {
    err << "hint: " << HintFor(503, SourceType::kExternal) << "\n";
    return kExitFailed;
  }
  return kExitOk;
}

// ---- list -----------------------------------------------------------------------------------

int List(Session& session, const PluginArgs& args, std::ostream& out, std::ostream& err) {
  if (args.positional.size() > 1) return Usage(err, "list", "too many arguments");
  std::vector<Row> rows;
  bool any_found = false;
  for (const MetricsApi& api : kApis) {
    if (!args.positional.empty() && args.positional.front() != api.kind) continue;
    any_found = true;
    std::string version(api.version);
    if (api.kind == "custom") version = session.CustomVersion();
    std::optional<kube::ApiResponse> response = session.Get(Cat("/apis/", api.group, "/", version));
    if (!response.has_value()) return kExitConfig;
    if (!Ok(response->status)) {
      // One group not being served is worth a line, not the end of the listing.
      err << "warning: " << api.group << "/" << version << ": "
          << StatusMessage(response->body, response->status) << "\n";
      continue;
    }
    absl::StatusOr<std::vector<std::string>> names = DecodeResourceNames(response->body);
    if (!names.ok()) {
      err << "error: " << names.status().message() << "\n";
      return kExitFailed;
    }
    std::vector<Row> group_rows;
    for (const std::string& name : *names) {
      if (api.kind == "external") {
        group_rows.push_back({std::string(api.kind), "-", name});
      } else if (api.kind == "resource") {
        group_rows.push_back({std::string(api.kind), name, "cpu,memory"});
      } else {
        std::pair<std::string, std::string> parts = absl::StrSplit(name, absl::MaxSplits('/', 1));
        group_rows.push_back({std::string(api.kind), parts.first, parts.second});
      }
    }
    std::sort(group_rows.begin(), group_rows.end());
    rows.insert(rows.end(), group_rows.begin(), group_rows.end());
  }
  if (!any_found) {
    return Usage(err, "list",
                 Cat("unknown metrics API \"", args.positional.front(),
                     "\" (external, custom or resource)"));
  }
  if (rows.empty()) {
    err << "No metrics found.\n";
    return kExitOk;
  }
  out << FormatTable({"API", "RESOURCE", "METRIC"}, rows);
  return kExitOk;
}

// ---- get ------------------------------------------------------------------------------------

// The custom-metrics path of RESOURCE[/NAME]: namespaces have a path of their own, and the
// well-known cluster-scoped resources have no namespace segment.
std::string CustomObjectPath(std::string_view version, const std::string& namespace_name,
                             std::string_view resource, std::string_view name,
                             std::string_view metric) {
  const std::string root = Cat(kCustomGroup, "/", version);
  if (resource == "namespaces" || resource == "namespace" || resource == "ns") {
    return Cat(root, "/namespaces/", name == "*" ? namespace_name : name, "/metrics/", metric);
  }
  static constexpr std::string_view kClusterScoped[] = {"nodes", "persistentvolumes",
                                                        "storageclasses"};
  if (std::find(std::begin(kClusterScoped), std::end(kClusterScoped), resource) !=
      std::end(kClusterScoped)) {
    return Cat(root, "/", resource, "/", name == "*" ? "%2A" : name, "/", metric);
  }
  return Cat(root, "/namespaces/", namespace_name, "/", resource, "/", name == "*" ? "%2A" : name,
             "/", metric);
}

int Get(Session& session, const PluginArgs& args, const std::string& namespace_name,
        std::ostream& out, std::ostream& err) {
  if (args.positional.empty()) return Usage(err, "get", "name the API: external or custom");
  const std::string& api = args.positional[0];
  std::string path;
  SourceType type = SourceType::kExternal;
  if (api == "external") {
    if (args.positional.size() != 2) return Usage(err, "get", "expected: get external METRIC");
    path = Cat(kExternal, "/namespaces/", namespace_name, "/", args.positional[1]);
    if (!args.selector.empty()) {
      path += Cat("?labelSelector=", QueryEscape(args.selector));
    }
  } else if (api == "custom") {
    if (args.positional.size() != 3) {
      return Usage(err, "get", "expected: get custom RESOURCE/NAME METRIC");
    }
    type = SourceType::kObject;
    const std::string& object = args.positional[1];
    const size_t slash = object.find('/');
    if (slash != std::string::npos && !args.selector.empty()) {
      return Usage(err, "get", "-l selects objects: give RESOURCE, not RESOURCE/NAME");
    }
    // Without a name: every object of the resource, filtered by -l.
    const std::string_view resource = std::string_view(object).substr(0, slash);
    const std::string_view name = slash == std::string::npos
                                      ? std::string_view("*")
                                      : std::string_view(object).substr(slash + 1);
    path = CustomObjectPath(session.CustomVersion(), namespace_name, resource, name,
                            args.positional[2]);
    if (!args.selector.empty()) {
      path += Cat("?labelSelector=", QueryEscape(args.selector));
    }
  } else {
    return Usage(err, "get", Cat("unknown metrics API \"", api, "\" (external, custom)"));
  }
  std::optional<kube::ApiResponse> response = session.Get(path);
  if (!response.has_value()) return kExitConfig;
  if (!Ok(response->status)) return ReportFailure(*response, type, err);
  if (!args.output.empty()) return PrintDocument(args.output, response->body, out, err);
  absl::StatusOr<std::vector<MetricValue>> values = DecodeMetricValues(response->body);
  if (!values.ok()) {
    err << "error: " << values.status().message() << "\n";
    return kExitFailed;
  }
  if (values->empty()) {
    err << "No metric values found in " << namespace_name << " namespace.\n";
    return kExitOk;
  }
  std::vector<Row> rows;
  for (const MetricValue& v : *values) {
    if (api == "external") {
      rows.push_back({v.metric_name, v.labels.empty() ? "<none>" : v.labels, v.value, v.timestamp});
    } else {
      rows.push_back({v.object_kind, v.object_name, v.metric_name, v.value, v.timestamp});
    }
  }
  out << (api == "external" ? FormatTable({"METRIC", "LABELS", "VALUE", "TIMESTAMP"}, rows)
                            : FormatTable({"KIND", "NAME", "METRIC", "VALUE", "TIMESTAMP"}, rows));
  return kExitOk;
}

// ---- hpa ------------------------------------------------------------------------------------

// What the HPA reads from a successful answer, or why it fails: the HPA treats an empty list as
// an error too.
struct Reading {
  std::string value;
  std::string problem;
};

Reading Problem(std::string problem) { return {.value = "", .problem = std::move(problem)}; }
Reading Value(std::string value) { return {.value = std::move(value), .problem = ""}; }

Reading ReadValue(const HpaMetric& metric, const std::string& body) {
  if (metric.type == SourceType::kResource || metric.type == SourceType::kContainerResource) {
    absl::StatusOr<std::vector<ContainerUsage>> usage = DecodePodMetrics(body);
    if (!usage.ok()) return Problem(std::string(usage.status().message()));
    std::vector<std::string> parts;
    for (const ContainerUsage& u : *usage) {
      if (metric.type == SourceType::kContainerResource && u.container != metric.container) {
        continue;
      }
      const std::string& value = metric.name == "memory" ? u.memory : u.cpu;
      parts.push_back(Cat(u.pod, "/", u.container, "=", value.empty() ? "?" : value));
    }
    if (parts.empty()) return Problem("no metrics returned from resource metrics API");
    return Value(absl::StrJoin(parts, ", "));
  }
  absl::StatusOr<std::vector<MetricValue>> values = DecodeMetricValues(body);
  if (!values.ok()) return Problem(std::string(values.status().message()));
  if (values->empty()) {
    return Problem(metric.type == SourceType::kExternal
                       ? "no metrics returned from external metrics API"
                       : "no metrics returned from custom metrics API");
  }
  std::vector<std::string> parts;
  for (const MetricValue& v : *values) {
    parts.push_back(metric.type == SourceType::kPods ? Cat(v.object_name, "=", v.value) : v.value);
  }
  std::string value = absl::StrJoin(parts, ", ");
  if (parts.size() > 1 && metric.type == SourceType::kExternal) {
    value += Cat(" (the HPA sums them)");
  } else if (parts.size() > 1 && metric.type == SourceType::kPods) {
    value += Cat(" (the HPA averages them)");
  }
  return Value(std::move(value));
}

bool NeedsPodSelector(const Hpa& hpa) {
  return std::any_of(hpa.metrics.begin(), hpa.metrics.end(), [](const HpaMetric& m) {
    return m.type == SourceType::kPods || m.type == SourceType::kResource ||
           m.type == SourceType::kContainerResource;
  });
}

// The scale target's pod selector, as the HPA reads it from the target's scale subresource.
absl::StatusOr<std::string> PodSelector(Session& session, const Hpa& hpa) {
  const ObjectReference& target = hpa.scale_target;
  const size_t slash = target.api_version.find('/');
  const std::string prefix = slash == std::string::npos ? Cat("/api/", target.api_version)
                                                        : Cat("/apis/", target.api_version);
  std::string resource = ResourceSegment("v1", target.kind);  // the plural, without a group
  std::optional<kube::ApiResponse> response =
      session.Get(Cat(prefix, "/namespaces/", hpa.namespace_name, "/", resource, "/", target.name));
  const std::string what = Cat("the scale target ", target.kind, "/", target.name);
  if (!response.has_value()) return absl::UnavailableError(Cat(what, ": unreachable"));
  if (!Ok(response->status)) {
    return absl::NotFoundError(Cat(what, ": ", StatusMessage(response->body, response->status)));
  }
  absl::StatusOr<LabelSelector> selector = DecodeWorkloadSelector(response->body);
  if (!selector.ok()) {
    return absl::InvalidArgumentError(Cat(what, ": ", selector.status().message()));
  }
  return SelectorString(*selector);
}

// Prints each metric of `hpa`: its request, target, and value or error with a hint. Returns how
// many fail, or -1 when the API server cannot be reached.
int Explain(Session& session, const Hpa& hpa, std::ostream& out) {
  absl::StatusOr<std::string> pod_selector = std::string();
  if (NeedsPodSelector(hpa)) pod_selector = PodSelector(session, hpa);
  const bool needs_custom =
      std::any_of(hpa.metrics.begin(), hpa.metrics.end(), [](const HpaMetric& m) {
        return m.type == SourceType::kPods || m.type == SourceType::kObject;
      });
  const std::string custom_version = needs_custom ? session.CustomVersion() : "v1beta1";
  if (session.unreachable()) return -1;

  out << "HorizontalPodAutoscaler " << hpa.namespace_name << "/" << hpa.name << ": scale target "
      << hpa.scale_target.kind << "/" << hpa.scale_target.name;
  if (pod_selector.ok() && !pod_selector->empty()) out << " (pods " << *pod_selector << ")";
  out << "\n";
  if (hpa.metrics.empty()) {
    out << "\nNo metrics in spec.metrics: the HPA scales on CPU utilization 80% by default.\n";
  }
  int failed = 0;
  for (const HpaMetric& metric : hpa.metrics) {
    const bool uses_pods = metric.type == SourceType::kPods ||
                           metric.type == SourceType::kResource ||
                           metric.type == SourceType::kContainerResource;
    const MetricCall call =
        PlanCall(hpa, metric, custom_version, pod_selector.ok() ? *pod_selector : "");
    out << "\n" << call.source << "\n";
    out << "  request: GET " << call.path << "\n";
    out << "  target:  " << DescribeTarget(metric.target) << "\n";
    if (uses_pods && !pod_selector.ok()) {
      ++failed;
      out << "  error:   " << pod_selector.status().message() << "\n";
      out << "  hint:    the HPA needs its scale target's pod selector for this metric\n";
      continue;
    }
    std::optional<kube::ApiResponse> answer = session.Get(call.path);
    if (!answer.has_value()) return -1;
    if (!Ok(answer->status)) {
      ++failed;
      out << "  error:   " << answer->status << " " << StatusMessage(answer->body, answer->status)
          << "\n";
      out << "  hint:    " << HintFor(answer->status, metric.type) << "\n";
      continue;
    }
    const Reading reading = ReadValue(metric, answer->body);
    if (!reading.problem.empty()) {
      ++failed;
      out << "  error:   " << reading.problem << "\n";
      out << "  hint:    the query matched no series for these objects: check the rule's "
             "metricsQuery and the selector\n";
      continue;
    }
    out << "  value:   " << reading.value << "\n";
  }
  if (failed > 0) {
    out << "\n"
        << failed << " of " << hpa.metrics.size() << " metrics fail: the HPA cannot "
        << "use them (condition ScalingActive=False or FailedGet*Metric events)\n";
  }
  return failed;
}

int ExplainHpa(Session& session, const PluginArgs& args, const std::string& namespace_name,
               std::ostream& out, std::ostream& err) {
  if (args.positional.size() != 1) return Usage(err, "hpa", "expected: hpa [NAME]");
  if (args.all_namespaces) return Usage(err, "hpa", "-A lists every HPA: give no NAME with it");
  const std::string& name = args.positional[0];
  std::optional<kube::ApiResponse> response = session.Get(
      Cat("/apis/autoscaling/v2/namespaces/", namespace_name, "/horizontalpodautoscalers/", name));
  if (!response.has_value()) return kExitConfig;
  if (response->status == 404) {
    // Either no such HPA, or a cluster that does not serve autoscaling/v2 at all.
    std::optional<kube::ApiResponse> group = session.Get("/apis/autoscaling/v2");
    if (group.has_value() && group->status == 404) {
      err << "error: this cluster does not serve autoscaling/v2 (Kubernetes 1.23 or later); "
             "only autoscaling/v2 HorizontalPodAutoscalers can be explained\n";
      return kExitFailed;
    }
    err << "error: horizontalpodautoscalers.autoscaling \"" << name << "\" not found in "
        << namespace_name << " namespace\n";
    return kExitFailed;
  }
  if (!Ok(response->status)) {
    err << "error: " << StatusMessage(response->body, response->status) << "\n";
    return kExitFailed;
  }
  absl::StatusOr<Hpa> hpa = DecodeHpa(response->body);
  if (!hpa.ok()) {
    err << "error: " << hpa.status().message() << "\n";
    return kExitFailed;
  }
  if (hpa->namespace_name.empty()) hpa->namespace_name = namespace_name;
  const int failed = Explain(session, *hpa, out);
  if (failed < 0) return kExitConfig;
  return failed > 0 ? kExitFailed : kExitOk;
}

// `hpa` without a name: every HPA of the namespace (or of all with -A), one row each.
int CheckAllHpas(Session& session, const PluginArgs& args, const std::string& namespace_name,
                 std::ostream& out, std::ostream& err) {
  const std::string path = args.all_namespaces ? "/apis/autoscaling/v2/horizontalpodautoscalers"
                                               : Cat("/apis/autoscaling/v2/namespaces/",
                                                     namespace_name, "/horizontalpodautoscalers");
  std::optional<kube::ApiResponse> response = session.Get(path);
  if (!response.has_value()) return kExitConfig;
  if (!Ok(response->status)) {
    err << "error: " << StatusMessage(response->body, response->status) << "\n";
    return kExitFailed;
  }
  absl::StatusOr<std::vector<Hpa>> hpas = DecodeHpaList(response->body);
  if (!hpas.ok()) {
    err << "error: " << hpas.status().message() << "\n";
    return kExitFailed;
  }
  if (hpas->empty()) {
    err << (args.all_namespaces
                ? std::string("No HorizontalPodAutoscalers found.\n")
                : Cat("No HorizontalPodAutoscalers found in ", namespace_name, " namespace.\n"));
    return kExitOk;
  }
  std::vector<Row> rows;
  bool any_failed = false;
  for (Hpa& hpa : *hpas) {
    if (hpa.namespace_name.empty()) hpa.namespace_name = namespace_name;
    std::ostringstream details;  // the per-metric story; `hpa NAME` prints it
    const int failed = Explain(session, hpa, details);
    if (failed < 0) return kExitConfig;
    any_failed = any_failed || failed > 0;
    rows.push_back({hpa.namespace_name, hpa.name,
                    Cat(hpa.scale_target.kind, "/", hpa.scale_target.name), Cat(hpa.metrics.size()),
                    Cat(failed)});
  }
  out << FormatTable({"NAMESPACE", "NAME", "TARGET", "METRICS", "FAILING"}, rows);
  if (any_failed) {
    err << "hint: `kubectl metrics-adapter hpa NAME -n NAMESPACE` explains each failing metric\n";
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace

int RunCommand(const PluginArgs& args, const std::string& namespace_name, const Getter& get,
               std::ostream& out, std::ostream& err) {
  Session session(get, err);
  if (args.all_namespaces && args.command != "hpa") {
    return Usage(err, args.command,
                 "-A is only for `hpa` without a NAME: name a namespace with -n");
  }
  if (args.command == "status") {
    if (!args.positional.empty()) return Usage(err, "status", "status takes no arguments");
    return Status(session, out, err);
  }
  if (args.command == "list") return List(session, args, out, err);
  if (args.command == "get") return Get(session, args, namespace_name, out, err);
  if (args.command == "hpa") {
    return args.positional.empty() ? CheckAllHpas(session, args, namespace_name, out, err)
                                   : ExplainHpa(session, args, namespace_name, out, err);
  }
  return Usage(err, "", "name a command: status, list, get or hpa");
}

}  // namespace ma::plugin
