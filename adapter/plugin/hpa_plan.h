#pragma once

// What the HPA controller asks the metrics APIs for each metric of an autoscaling/v2
// HorizontalPodAutoscaler: the request path it sends, built from the HPA's spec and the pod
// selector of its scale target, exactly as kube-controller-manager builds it
// (docs/kubectl-plugin.md). Pure: no I/O.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ma::plugin {

struct SelectorRequirement {
  std::string key;
  std::string op;  // In, NotIn, Exists, DoesNotExist
  std::vector<std::string> values;
};

// A metav1.LabelSelector.
struct LabelSelector {
  std::vector<std::pair<std::string, std::string>> match_labels;
  std::vector<SelectorRequirement> match_expressions;
};

// The canonical string Go's metav1.LabelSelectorAsSelector(...).String() gives: requirements
// sorted by key, matchLabels as `k=v`, `k in (a,b)` with sorted values, `k`, `!k`; joined by ','.
std::string SelectorString(const LabelSelector& selector);

struct ObjectReference {
  std::string api_version;  // "apps/v1", "v1"
  std::string kind;         // "Deployment"
  std::string name;
};

enum class SourceType { kPods, kObject, kExternal, kResource, kContainerResource };

struct MetricTarget {
  std::string type;  // Value, AverageValue, Utilization
  std::string value;
  std::string average_value;
  std::optional<int> average_utilization;
};

struct HpaMetric {
  SourceType type = SourceType::kExternal;
  std::string name;  // the metric's name; the resource's name (cpu, memory) for Resource
  std::optional<LabelSelector> selector;  // metric.selector
  ObjectReference described_object;       // Object metrics
  std::string container;                  // ContainerResource metrics
  MetricTarget target;
};

struct Hpa {
  std::string namespace_name;
  std::string name;
  ObjectReference scale_target;
  std::vector<HpaMetric> metrics;
};

// One metric's request as the HPA controller sends it.
struct MetricCall {
  std::string source;  // "External queue_depth (selector queue=orders)"
  std::string path;    // from the API root, escaped
};

// The resource segment of a custom-metrics object path for `api_version`/`kind`: "pods",
// "deployments.apps". Lower-cased English plural, as the RESTMapper gives for built-in kinds.
std::string ResourceSegment(std::string_view api_version, std::string_view kind);

// `custom_version` is the custom.metrics.k8s.io version the HPA would pick (v1beta2 when
// served, else v1beta1); `pod_selector` is SelectorString of the scale target's selector.
MetricCall PlanCall(const Hpa& hpa, const HpaMetric& metric, std::string_view custom_version,
                    std::string_view pod_selector);

// "AverageValue 10", "Value 500m", "Utilization 80%".
std::string DescribeTarget(const MetricTarget& target);

// What a failure with this HTTP status usually means for an HPA metric: one line.
std::string HintFor(long http_status, SourceType type);  // NOLINT(google-runtime-int)

}  // namespace ma::plugin
