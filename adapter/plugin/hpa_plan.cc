#include "adapter/plugin/hpa_plan.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "queries/base/strings.h"
#include "queries/base/url_codec.h"

namespace ma::plugin {
namespace {

std::string Requirement(const SelectorRequirement& r) {
  std::vector<std::string> values = r.values;
  std::sort(values.begin(), values.end());
  if (r.op == "In") return Cat(r.key, " in (", absl::StrJoin(values, ","), ")");
  if (r.op == "NotIn") return Cat(r.key, " notin (", absl::StrJoin(values, ","), ")");
  if (r.op == "Exists") return r.key;
  if (r.op == "DoesNotExist") return Cat("!", r.key);
  return Cat(r.key, " ", r.op, " (", absl::StrJoin(values, ","), ")");
}

std::string WithQuery(std::string path, const std::vector<std::string>& params) {
  if (!params.empty()) {
    path += Cat("?", absl::StrJoin(params, "&"));
  }
  return path;
}

std::string SelectorSuffix(const std::optional<LabelSelector>& selector) {
  if (!selector.has_value()) return "";
  const std::string text = SelectorString(*selector);
  return text.empty() ? "" : Cat(" (selector ", text, ")");
}

}  // namespace

std::string SelectorString(const LabelSelector& selector) {
  // Go sorts the requirements by key (stable for equal keys: matchLabels come first).
  std::vector<std::pair<std::string, std::string>> parts;
  for (const auto& [key, value] : selector.match_labels) {
    parts.emplace_back(key, Cat(key, "=", value));
  }
  for (const SelectorRequirement& r : selector.match_expressions) {
    parts.emplace_back(r.key, Requirement(r));
  }
  std::stable_sort(parts.begin(), parts.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> texts;
  texts.reserve(parts.size());
  for (auto& part : parts) texts.push_back(std::move(part.second));
  return absl::StrJoin(texts, ",");
}

std::string ResourceSegment(std::string_view api_version, std::string_view kind) {
  std::string plural(kind);
  absl::AsciiStrToLower(&plural);
  if (plural.ends_with('s') || plural.ends_with('x') || plural.ends_with("ch")) {
    plural += "es";  // ingresses, classes
  } else if (plural.ends_with('y') && plural.size() > 1 &&
             std::string_view("aeiou").find(plural[plural.size() - 2]) == std::string::npos) {
    plural.back() = 'i';
    plural += "es";  // policies
  } else if (plural != "endpoints") {
    plural += "s";
  }
  const size_t slash = api_version.find('/');
  if (slash == std::string_view::npos) return plural;  // the core group: "v1"
  return Cat(plural, ".", api_version.substr(0, slash));
}

MetricCall PlanCall(const Hpa& hpa, const HpaMetric& metric, std::string_view custom_version,
                    std::string_view pod_selector) {
  const std::string ns = PathEscape(hpa.namespace_name);
  const std::string name = PathEscape(metric.name);
  std::vector<std::string> params;
  const std::string metric_selector =
      metric.selector.has_value() ? SelectorString(*metric.selector) : "";
  MetricCall call;
  switch (metric.type) {
    case SourceType::kPods: {
      if (!pod_selector.empty()) params.push_back(Cat("labelSelector=", QueryEscape(pod_selector)));
      if (!metric_selector.empty()) {
        params.push_back(Cat("metricLabelSelector=", QueryEscape(metric_selector)));
      }
      call.source = Cat("Pods ", metric.name, SelectorSuffix(metric.selector));
      call.path = WithQuery(Cat("/apis/custom.metrics.k8s.io/", custom_version, "/namespaces/", ns,
                                "/pods/%2A/", name),
                            params);
      break;
    }
    case SourceType::kObject: {
      if (!metric_selector.empty()) {
        params.push_back(Cat("metricLabelSelector=", QueryEscape(metric_selector)));
      }
      const ObjectReference& object = metric.described_object;
      call.source = Cat("Object ", metric.name, " of ", object.kind, "/", object.name,
                        SelectorSuffix(metric.selector));
      // The namespace's own metrics have a path of their own; the object's name is not used.
      const bool is_namespace = object.kind == "Namespace" && object.api_version == "v1";
      const std::string object_path =
          is_namespace
              ? "metrics"
              : Cat(ResourceSegment(object.api_version, object.kind), "/", PathEscape(object.name));
      call.path = WithQuery(Cat("/apis/custom.metrics.k8s.io/", custom_version, "/namespaces/", ns,
                                "/", object_path, "/", name),
                            params);
      break;
    }
    case SourceType::kExternal: {
      if (!metric_selector.empty()) {
        params.push_back(Cat("labelSelector=", QueryEscape(metric_selector)));
      }
      call.source = Cat("External ", metric.name, SelectorSuffix(metric.selector));
      call.path = WithQuery(Cat("/apis/external.metrics.k8s.io/v1beta1/namespaces/", ns, "/", name),
                            params);
      break;
    }
    case SourceType::kResource:
    case SourceType::kContainerResource: {
      if (!pod_selector.empty()) params.push_back(Cat("labelSelector=", QueryEscape(pod_selector)));
      call.source = metric.type == SourceType::kResource ? Cat("Resource ", metric.name)
                                                         : Cat("ContainerResource ", metric.name,
                                                               " of container ", metric.container);
      call.path = WithQuery(Cat("/apis/metrics.k8s.io/v1beta1/namespaces/", ns, "/pods"), params);
      break;
    }
  }
  return call;
}

std::string DescribeTarget(const MetricTarget& target) {
  if (target.type == "Utilization" && target.average_utilization.has_value()) {
    return Cat("Utilization ", *target.average_utilization, "%");
  }
  if (target.type == "AverageValue") return Cat("AverageValue ", target.average_value);
  if (target.type == "Value") return Cat("Value ", target.value);
  return target.type.empty() ? "<none>" : target.type;
}

std::string HintFor(long http_status, SourceType type) {  // NOLINT(google-runtime-int)
  switch (http_status) {
    case 404:
      if (type == SourceType::kResource || type == SourceType::kContainerResource) {
        return "no pod of the target has resource metrics: is metrics.k8s.io served (resource "
               "rules) and are the pods running?";
      }
      return "no rule serves this metric, Prometheus has no series for it, or the adapter has "
             "not relisted since the series appeared (--metrics-relist-interval); see `kubectl "
             "metrics-adapter list`";
    case 401:
    case 403:
      return "forbidden: the HPA controller (system:serviceaccount:kube-system:"
             "horizontal-pod-autoscaler) needs get/list on this metrics group; check the "
             "ClusterRoleBinding of the adapter's deploy/ RBAC (and your own identity)";
    case 503:
      return "the APIService is unavailable or Prometheus is down: see `kubectl metrics-adapter "
             "status` and the adapter's log";
    case 400:
      return "the adapter refused the request: check the metric's selector";
    case 500:
      return "the adapter failed to answer (a PromQL error or a NaN value): see the adapter's log";
    case 0:
      return "the Kubernetes API could not be reached";
    default:
      return "unexpected answer: see the adapter's log";
  }
}

}  // namespace ma::plugin
