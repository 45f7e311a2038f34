#pragma once

// The Kubernetes objects the plugin reads, decoded from the API server's JSON, and the JSON
// re-encodings it prints (-o json, -o yaml). The only file of the plugin that sees RapidJSON.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "adapter/plugin/hpa_plan.h"

namespace ma::plugin {

// An API server's JSON answer larger than this is refused (a metric list of ~100k objects).
inline constexpr size_t kMaxAnswerBytes = size_t{64} << 20;

// The message of a metav1.Status body, or a generic one by HTTP status when the body is not one.
std::string StatusMessage(std::string_view body, long http_status);  // NOLINT(google-runtime-int)

// An autoscaling/v2 HorizontalPodAutoscaler.
absl::StatusOr<Hpa> DecodeHpa(std::string_view json);
// The items of an autoscaling/v2 HorizontalPodAutoscalerList.
absl::StatusOr<std::vector<Hpa>> DecodeHpaList(std::string_view json);

// spec.selector of a workload (Deployment, StatefulSet, ReplicaSet, ...).
absl::StatusOr<LabelSelector> DecodeWorkloadSelector(std::string_view json);

struct ApiServiceState {
  std::string service_namespace;  // empty: served by the API server itself (Local)
  std::string service_name;
  std::string available;  // "True", "False", "Unknown"
  std::string reason;
  std::string message;
};
absl::StatusOr<ApiServiceState> DecodeApiService(std::string_view json);

// status.readyReplicas and spec.replicas of a Deployment.
struct Replicas {
  int64_t ready = 0;
  int64_t desired = 0;
};
absl::StatusOr<Replicas> DecodeDeploymentReplicas(std::string_view json);

// The ready addresses of an Endpoints object.
absl::StatusOr<int64_t> DecodeReadyEndpoints(std::string_view json);

// The resource names of an APIResourceList ("pods/http_requests_per_second", "queue_depth").
absl::StatusOr<std::vector<std::string>> DecodeResourceNames(std::string_view json);

// The preferredVersion.version of an APIGroup.
absl::StatusOr<std::string> DecodePreferredVersion(std::string_view json);

// One item of an ExternalMetricValueList or a MetricValueList (custom metrics).
struct MetricValue {
  std::string object_kind;  // custom only: describedObject
  std::string object_namespace;
  std::string object_name;
  std::string metric_name;
  std::string labels;  // external: metricLabels as k=v,k=v; custom: metric.selector
  std::string timestamp;
  std::string value;
};
absl::StatusOr<std::vector<MetricValue>> DecodeMetricValues(std::string_view json);

// One container of a metrics.k8s.io PodMetricsList.
struct ContainerUsage {
  std::string pod;
  std::string container;
  std::string cpu;
  std::string memory;
};
absl::StatusOr<std::vector<ContainerUsage>> DecodePodMetrics(std::string_view json);

// The document indented as kubectl's -o json prints it.
absl::StatusOr<std::string> PrettyJson(std::string_view json);
// The document as YAML in block style, as kubectl's -o yaml prints it.
absl::StatusOr<std::string> JsonToYaml(std::string_view json);

}  // namespace ma::plugin
