#include "adapter/api/encode.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "adapter/api/time_format.h"
#include "adapter/json/writer.h"
#include "queries/base/check.h"
#include "queries/base/strings.h"

namespace ma::api {
namespace {

// The document as Go's json.Encoder writes it: with a trailing newline.
std::string Finish(json::Writer&& out) {
  std::string json = std::move(out).Finish();
  json += '\n';
  return json;
}

void WriteTypeMeta(json::Writer& out, std::string_view kind, std::string_view api_version) {
  out.Key("kind");
  out.String(kind);
  out.Key("apiVersion");
  out.String(api_version);
}

void WriteObjectReference(json::Writer& out, const ObjectReference& ref) {
  out.StartObject();
  out.OptionalString("kind", ref.kind);
  out.OptionalString("namespace", ref.namespace_name);
  out.OptionalString("name", ref.name);
  out.OptionalString("apiVersion", ref.api_version);
  out.EndObject();
}

std::optional<std::string_view> ExpressionOperator(selector::Operator op) {
  switch (op) {
    case selector::Operator::kIn:
      return "In";
    case selector::Operator::kNotIn:
      return "NotIn";
    case selector::Operator::kExists:
      return "Exists";
    case selector::Operator::kDoesNotExist:
      return "DoesNotExist";
    default:
      return std::nullopt;
  }
}

bool IsEquality(selector::Operator op) {
  return op == selector::Operator::kEquals || op == selector::Operator::kDoubleEquals;
}

// metav1.ParseToLabelSelector rejects !=, > and <, so a Go adapter has no selector to echo.
bool ExpressibleAsLabelSelector(const selector::LabelSelector& selector) {
  for (const selector::Requirement& requirement : selector.requirements()) {
    if (!IsEquality(requirement.op) && !ExpressionOperator(requirement.op).has_value()) {
      return false;
    }
  }
  return true;
}

// metav1.LabelSelector as ParseToLabelSelector builds it from the request's selector.
void WriteLabelSelector(json::Writer& out, const std::optional<selector::LabelSelector>& selector) {
  if (!selector.has_value() || selector->empty() || !ExpressibleAsLabelSelector(*selector)) {
    out.Null();
    return;
  }
  model::LabelSet match_labels;
  std::vector<const selector::Requirement*> expressions;
  for (const selector::Requirement& requirement : selector->requirements()) {
    if (IsEquality(requirement.op)) {
      // A Go map assignment: the last requirement for a key wins.
      match_labels[requirement.key] = requirement.values.empty() ? "" : requirement.values.front();
    } else {
      expressions.push_back(&requirement);
    }
  }
  out.StartObject();
  if (!match_labels.empty()) {
    out.Key("matchLabels");
    out.StringMap(match_labels);
  }
  if (!expressions.empty()) {
    out.Key("matchExpressions");
    out.StartArray();
    for (const selector::Requirement* requirement : expressions) {
      out.StartObject();
      out.Key("key");
      out.String(requirement->key);
      out.Key("operator");
      out.String(*ExpressionOperator(requirement->op));
      if (!requirement->values.empty()) {
        out.Key("values");
        out.StringArray(requirement->values);
      }
      out.EndObject();
    }
    out.EndArray();
  }
  out.EndObject();
}

void WriteCustomMetricValue(json::Writer& out, const CustomMetricValue& item, bool v1beta1) {
  out.StartObject();
  out.Key("describedObject");
  WriteObjectReference(out, item.described_object);
  if (v1beta1) {
    out.Key("metricName");
    out.String(item.metric_name);
  } else {
    out.Key("metric");
    out.StartObject();
    out.Key("name");
    out.String(item.metric_name);
    out.Key("selector");
    WriteLabelSelector(out, item.metric_selector);
    out.EndObject();
  }
  out.Key("timestamp");
  out.String(FormatTimestamp(item.timestamp_ms));
  if (item.window_seconds.has_value()) {
    out.Key(v1beta1 ? "window" : "windowSeconds");
    out.Int64(*item.window_seconds);
  }
  out.Key("value");
  out.String(item.value);
  if (v1beta1) {
    out.Key("selector");
    WriteLabelSelector(out, item.metric_selector);
  }
  out.EndObject();
}

void WriteGroupVersion(json::Writer& out, const GroupVersionForDiscovery& group_version) {
  out.StartObject();
  out.Key("groupVersion");
  out.String(group_version.group_version);
  out.Key("version");
  out.String(group_version.version);
  out.EndObject();
}

void WriteAPIGroupFields(json::Writer& out, const APIGroup& group) {
  out.Key("name");
  out.String(group.name);
  out.Key("versions");
  out.StartArray();
  for (const GroupVersionForDiscovery& version : group.versions) {
    WriteGroupVersion(out, version);
  }
  out.EndArray();
  out.Key("preferredVersion");
  WriteGroupVersion(out, group.preferred_version);
}

void WriteStatusDetails(json::Writer& out, const StatusDetails& details) {
  out.StartObject();
  out.OptionalString("name", details.name);
  out.OptionalString("group", details.group);
  out.OptionalString("kind", details.kind);
  out.OptionalString("uid", details.uid);
  if (!details.causes.empty()) {
    out.Key("causes");
    out.StartArray();
    for (const StatusCause& cause : details.causes) {
      out.StartObject();
      out.OptionalString("reason", cause.reason);
      out.OptionalString("message", cause.message);
      out.OptionalString("field", cause.field);
      out.EndObject();
    }
    out.EndArray();
  }
  if (details.retry_after_seconds != 0) {
    out.Key("retryAfterSeconds");
    out.Int64(details.retry_after_seconds);
  }
  out.EndObject();
}

constexpr std::string_view kResourceMetricsGroupVersion = "metrics.k8s.io/v1beta1";

// The ObjectMeta fields metrics-server fills, in Go's field order; labels omitted when empty.
void WriteObjectMeta(json::Writer& out, std::string_view name, std::string_view namespace_name,
                     int64_t creation_ms, const model::LabelSet& labels) {
  out.Key("metadata");
  out.StartObject();
  out.OptionalString("name", name);
  out.OptionalString("namespace", namespace_name);
  out.Key("creationTimestamp");
  out.String(FormatTimestamp(creation_ms));
  if (!labels.empty()) {
    out.Key("labels");
    out.StringMap(labels);
  }
  out.EndObject();
}

void WriteUsage(json::Writer& out, const ResourceUsage& usage) {
  out.Key("usage");
  out.StartObject();
  out.Key("cpu");
  out.String(usage.cpu);
  out.Key("memory");
  out.String(usage.memory);
  out.EndObject();
}

// Inside a list an item carries no kind and apiVersion; alone it does.
void WritePodMetrics(json::Writer& out, const PodMetrics& item, bool with_type) {
  out.StartObject();
  if (with_type) {
    WriteTypeMeta(out, "PodMetrics", kResourceMetricsGroupVersion);
  }
  WriteObjectMeta(out, item.name, item.namespace_name, item.creation_ms, item.labels);
  out.Key("timestamp");
  out.String(FormatTimestamp(item.timestamp_ms));
  out.Key("window");
  out.String(FormatGoDuration(item.window_ms));
  out.Key("containers");
  out.StartArray();
  for (const ContainerMetrics& container : item.containers) {
    out.StartObject();
    out.Key("name");
    out.String(container.name);
    WriteUsage(out, container.usage);
    out.EndObject();
  }
  out.EndArray();
  out.EndObject();
}

void WriteNodeMetrics(json::Writer& out, const NodeMetrics& item, bool with_type) {
  out.StartObject();
  if (with_type) {
    WriteTypeMeta(out, "NodeMetrics", kResourceMetricsGroupVersion);
  }
  WriteObjectMeta(out, item.name, "", item.creation_ms, item.labels);
  out.Key("timestamp");
  out.String(FormatTimestamp(item.timestamp_ms));
  out.Key("window");
  out.String(FormatGoDuration(item.window_ms));
  WriteUsage(out, item.usage);
  out.EndObject();
}

template <typename Item, typename WriteItem>
std::string EncodeResourceMetricsList(std::string_view kind, const std::vector<Item>& items,
                                      WriteItem write_item) {
  json::Writer out;
  out.StartObject();
  WriteTypeMeta(out, kind, kResourceMetricsGroupVersion);
  out.EmptyObject("metadata");
  out.Key("items");
  out.StartArray();
  for (const Item& item : items) {
    write_item(out, item, false);
  }
  out.EndArray();
  out.EndObject();
  return Finish(std::move(out));
}

}  // namespace

std::string EncodePodMetricsList(const std::vector<PodMetrics>& items) {
  return EncodeResourceMetricsList("PodMetricsList", items, WritePodMetrics);
}

std::string EncodePodMetrics(const PodMetrics& item) {
  json::Writer out;
  WritePodMetrics(out, item, true);
  return Finish(std::move(out));
}

std::string EncodeNodeMetricsList(const std::vector<NodeMetrics>& items) {
  return EncodeResourceMetricsList("NodeMetricsList", items, WriteNodeMetrics);
}

std::string EncodeNodeMetrics(const NodeMetrics& item) {
  json::Writer out;
  WriteNodeMetrics(out, item, true);
  return Finish(std::move(out));
}

std::string EncodeMetricValueList(const std::vector<CustomMetricValue>& items,
                                  std::string_view version) {
  MA_CHECK(version == kCustomMetricsV1Beta1 || version == kCustomMetricsV1Beta2);
  const bool v1beta1 = version == kCustomMetricsV1Beta1;
  json::Writer out;
  out.StartObject();
  WriteTypeMeta(out, "MetricValueList", absl::StrCat("custom.metrics.k8s.io/", ToAbsl(version)));
  out.EmptyObject("metadata");
  out.Key("items");
  out.StartArray();
  for (const CustomMetricValue& item : items) {
    WriteCustomMetricValue(out, item, v1beta1);
  }
  out.EndArray();
  out.EndObject();
  return Finish(std::move(out));
}

std::string EncodeExternalMetricValueList(const std::vector<ExternalMetricValue>& items) {
  json::Writer out;
  out.StartObject();
  WriteTypeMeta(out, "ExternalMetricValueList", "external.metrics.k8s.io/v1beta1");
  out.EmptyObject("metadata");
  out.Key("items");
  out.StartArray();
  for (const ExternalMetricValue& item : items) {
    out.StartObject();
    out.Key("metricName");
    out.String(item.metric_name);
    out.Key("metricLabels");
    if (item.metric_labels.has_value()) {
      out.StringMap(*item.metric_labels);
    } else {
      out.Null();
    }
    out.Key("timestamp");
    out.String(FormatTimestamp(item.timestamp_ms));
    if (item.window_seconds.has_value()) {
      out.Key("window");
      out.Int64(*item.window_seconds);
    }
    out.Key("value");
    out.String(item.value);
    out.EndObject();
  }
  out.EndArray();
  out.EndObject();
  return Finish(std::move(out));
}

std::string EncodeAPIResourceList(std::string_view group_version,
                                  const std::vector<APIResource>& resources) {
  json::Writer out;
  out.StartObject();
  WriteTypeMeta(out, "APIResourceList", "v1");
  out.Key("groupVersion");
  out.String(group_version);
  out.Key("resources");
  out.StartArray();
  for (const APIResource& resource : resources) {
    out.StartObject();
    out.Key("name");
    out.String(resource.name);
    out.Key("singularName");
    out.String(resource.singular_name);
    out.Key("namespaced");
    out.Bool(resource.namespaced);
    out.Key("kind");
    out.String(resource.kind);
    out.Key("verbs");
    out.StringArray(resource.verbs);
    out.EndObject();
  }
  out.EndArray();
  out.EndObject();
  return Finish(std::move(out));
}

std::string EncodeAPIGroupList(const std::vector<APIGroup>& groups) {
  json::Writer out;
  out.StartObject();
  WriteTypeMeta(out, "APIGroupList", "v1");
  out.Key("groups");
  out.StartArray();
  for (const APIGroup& group : groups) {
    out.StartObject();
    WriteAPIGroupFields(out, group);
    out.EndObject();
  }
  out.EndArray();
  out.EndObject();
  return Finish(std::move(out));
}

std::string EncodeAPIGroup(const APIGroup& group) {
  json::Writer out;
  out.StartObject();
  WriteTypeMeta(out, "APIGroup", "v1");
  WriteAPIGroupFields(out, group);
  out.EndObject();
  return Finish(std::move(out));
}

std::string EncodeVersionInfo(const VersionInfo& info) {
  json::Writer out;
  out.StartObject();
  const std::pair<std::string_view, const std::string*> fields[] = {
      {"major", &info.major},
      {"minor", &info.minor},
      {"gitVersion", &info.git_version},
      {"gitCommit", &info.git_commit},
      {"gitTreeState", &info.git_tree_state},
      {"buildDate", &info.build_date},
      {"goVersion", &info.go_version},
      {"compiler", &info.compiler},
      {"platform", &info.platform},
  };
  for (const auto& [key, value] : fields) {
    out.Key(key);
    out.String(*value);
  }
  out.EndObject();
  return Finish(std::move(out));
}

std::string EncodeStatus(const KubeStatus& status) {
  json::Writer out;
  out.StartObject();
  WriteTypeMeta(out, "Status", "v1");
  out.EmptyObject("metadata");
  out.OptionalString("status", status.status);
  out.OptionalString("message", status.message);
  out.OptionalString("reason", status.reason);
  if (status.details.has_value()) {
    out.Key("details");
    WriteStatusDetails(out, *status.details);
  }
  if (status.code != 0) {
    out.Key("code");
    out.Int64(status.code);
  }
  out.EndObject();
  return Finish(std::move(out));
}

}  // namespace ma::api
