#pragma once

// One JSON encoder per document. Output matches a Go server byte for byte: Go's field order,
// compact, map keys sorted, `<` `>` `&` U+2028 U+2029 escaped as \uXXXX, invalid UTF-8 replaced
// by U+FFFD, and one trailing "\n" (json.Encoder). Lists always carry "metadata":{} and
// "items":[] when empty.

#include <string>
#include <string_view>
#include <vector>

#include "adapter/api/types.h"

namespace ma::api {

inline constexpr std::string_view kCustomMetricsV1Beta1 = "v1beta1";
inline constexpr std::string_view kCustomMetricsV1Beta2 = "v1beta2";

// custom.metrics.k8s.io MetricValueList. `version` must be kCustomMetricsV1Beta1 (metricName,
// window, selector at item level) or kCustomMetricsV1Beta2 (metric {name, selector},
// windowSeconds); the router only lets served versions through.
std::string EncodeMetricValueList(const std::vector<CustomMetricValue>& items,
                                  std::string_view version);

// external.metrics.k8s.io/v1beta1 ExternalMetricValueList.
std::string EncodeExternalMetricValueList(const std::vector<ExternalMetricValue>& items);

// metrics.k8s.io/v1beta1: a list (PodMetricsList, NodeMetricsList) or one object with its own
// kind and apiVersion (a get by name).
std::string EncodePodMetricsList(const std::vector<PodMetrics>& items);
std::string EncodePodMetrics(const PodMetrics& item);
std::string EncodeNodeMetricsList(const std::vector<NodeMetrics>& items);
std::string EncodeNodeMetrics(const NodeMetrics& item);

// APIResourceList for `group_version` ("external.metrics.k8s.io/v1beta1"). Prints the list as
// given: callers keep it non-empty (client-go reports an empty list as an error).
std::string EncodeAPIResourceList(std::string_view group_version,
                                  const std::vector<APIResource>& resources);

// APIGroupList (/apis) and APIGroup (/apis/<group>).
std::string EncodeAPIGroupList(const std::vector<APIGroup>& groups);
std::string EncodeAPIGroup(const APIGroup& group);

// The /version document.
std::string EncodeVersionInfo(const VersionInfo& info);

// metav1.Status.
std::string EncodeStatus(const KubeStatus& status);

}  // namespace ma::api
