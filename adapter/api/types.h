#pragma once

// The Kubernetes documents this server emits, as plain values. Field names follow the Go structs;
// encode.h turns them into JSON in Go's field order. Every field has an initializer so that
// designated initializers may leave fields out under -Wmissing-field-initializers.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "queries/model/series.h"
#include "queries/selector/label_selector.h"

namespace ma::api {

// core/v1 ObjectReference, as far as a described object needs it. Empty fields are omitted.
struct ObjectReference {
  std::string kind{};            // "Pod"
  std::string namespace_name{};  // JSON "namespace"; empty for cluster-scoped objects
  std::string name{};
  std::string api_version{};  // "v1", "apps/v1"
};

// One item of a custom.metrics.k8s.io MetricValueList (v1beta1 and v1beta2 alike).
struct CustomMetricValue {
  ObjectReference described_object{};
  std::string metric_name{};
  int64_t timestamp_ms = 0;  // milliseconds since the Unix epoch
  std::optional<int64_t> window_seconds{};
  std::string value{};  // a canonical Quantity string (FormatDecimalQuantity)
  // The request's metricLabelSelector, echoed back. Emitted as null when absent, empty, or not
  // expressible as a metav1.LabelSelector (it uses !=, > or <).
  std::optional<selector::LabelSelector> metric_selector{};
};

// One item of an external.metrics.k8s.io ExternalMetricValueList.
struct ExternalMetricValue {
  std::string metric_name{};
  std::optional<model::LabelSet> metric_labels{};  // nullopt prints null, an empty set {}
  int64_t timestamp_ms = 0;
  std::optional<int64_t> window_seconds{};
  std::string value{};  // a canonical Quantity string
};

// The usage of one container or node, as canonical Quantity strings: CPU in cores (DecimalSI),
// memory in bytes (BinarySI).
struct ResourceUsage {
  std::string cpu{};
  std::string memory{};
};

struct ContainerMetrics {
  std::string name{};
  ResourceUsage usage{};
};

// metrics.k8s.io/v1beta1 PodMetrics and NodeMetrics. `creation_ms` is when the answer was made (as
// metrics-server and prometheus-adapter set it); `labels` are the object's own.
struct PodMetrics {
  std::string name{};
  std::string namespace_name{};
  model::LabelSet labels{};
  int64_t creation_ms = 0;
  int64_t timestamp_ms = 0;
  int64_t window_ms = 0;
  std::vector<ContainerMetrics> containers{};
};

struct NodeMetrics {
  std::string name{};
  model::LabelSet labels{};
  int64_t creation_ms = 0;
  int64_t timestamp_ms = 0;
  int64_t window_ms = 0;
  ResourceUsage usage{};
};

// metav1.APIResource (discovery).
struct APIResource {
  std::string name{};           // "pods/http_requests"
  std::string singular_name{};  // always emitted, usually ""
  bool namespaced = false;
  std::string kind{};  // "MetricValueList"
  std::vector<std::string> verbs{};
};

// metav1.GroupVersionForDiscovery.
struct GroupVersionForDiscovery {
  std::string group_version{};  // "custom.metrics.k8s.io/v1beta2"
  std::string version{};        // "v1beta2"
};

// metav1.APIGroup; `versions` in preference order.
struct APIGroup {
  std::string name{};
  std::vector<GroupVersionForDiscovery> versions{};
  GroupVersionForDiscovery preferred_version{};
};

// The /version document (k8s.io/apimachinery version.Info).
struct VersionInfo {
  std::string major{};
  std::string minor{};
  std::string git_version{};
  std::string git_commit{};
  std::string git_tree_state{};
  std::string build_date{};
  std::string go_version{};
  std::string compiler{};
  std::string platform{};
};

// metav1.StatusCause. Empty fields are omitted.
struct StatusCause {
  std::string reason{};
  std::string message{};
  std::string field{};
};

// metav1.StatusDetails. Empty fields are omitted; a present but empty StatusDetails prints {}.
struct StatusDetails {
  std::string name{};
  std::string group{};
  std::string kind{};
  std::string uid{};
  std::vector<StatusCause> causes{};
  int32_t retry_after_seconds = 0;
};

// metav1.Status, the error document. Empty fields are omitted. Named KubeStatus to keep it apart
// from absl::Status.
struct KubeStatus {
  std::string status = "Failure";
  std::string message{};
  std::string reason{};  // "NotFound"
  std::optional<StatusDetails> details{};
  int32_t code = 0;  // the HTTP status
};

}  // namespace ma::api
