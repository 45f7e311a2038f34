#include "adapter/plugin/api_objects.h"

#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "adapter/json/reader.h"
#include "queries/base/strings.h"

namespace ma::plugin {
namespace {

constexpr json::Limits kLimits{.max_bytes = kMaxAnswerBytes, .max_depth = 64};

using Value = rapidjson::Value;

absl::StatusOr<rapidjson::Document> Parse(std::string_view text, std::string_view what) {
  absl::StatusOr<rapidjson::Document> doc = json::Parse(text, kLimits);
  if (!doc.ok()) {
    return absl::InvalidArgumentError(Cat(what, ": ", doc.status().message()));
  }
  if (!doc->IsObject()) return absl::InvalidArgumentError(Cat(what, ": not an object"));
  return doc;
}

// The member at `path` ("spec", "selector") or nullptr.
const Value* At(const Value& root, std::initializer_list<std::string_view> path) {
  const Value* v = &root;
  for (std::string_view name : path) {
    v = json::Member(*v, name);
    if (v == nullptr) return nullptr;
  }
  return v;
}

std::string Str(const Value* v) {
  if (v == nullptr) return "";
  if (v->IsString()) return std::string(json::StringOf(*v));
  if (v->IsInt64()) return Cat(v->GetInt64());
  if (v->IsBool()) return v->GetBool() ? "true" : "false";
  if (v->IsNumber()) return Cat(v->GetDouble());
  return "";
}

int64_t Int(const Value* v) { return v != nullptr && v->IsInt64() ? v->GetInt64() : 0; }

LabelSelector Selector(const Value& v) {
  LabelSelector selector;
  if (const Value* labels = json::Member(v, "matchLabels"); labels && labels->IsObject()) {
    for (const auto& m : labels->GetObject()) {
      selector.match_labels.emplace_back(json::StringOf(m.name), Str(&m.value));
    }
  }
  if (const Value* exprs = json::Member(v, "matchExpressions"); exprs && exprs->IsArray()) {
    for (const Value& e : exprs->GetArray()) {
      SelectorRequirement r{
          .key = Str(json::Member(e, "key")), .op = Str(json::Member(e, "operator")), .values = {}};
      if (const Value* values = json::Member(e, "values"); values && values->IsArray()) {
        for (const Value& value : values->GetArray()) r.values.push_back(Str(&value));
      }
      selector.match_expressions.push_back(std::move(r));
    }
  }
  return selector;
}

std::optional<LabelSelector> OptionalSelector(const Value* v) {
  if (v == nullptr || !v->IsObject()) return std::nullopt;
  return Selector(*v);
}

ObjectReference Reference(const Value* v) {
  if (v == nullptr) return {};
  return {.api_version = Str(json::Member(*v, "apiVersion")),
          .kind = Str(json::Member(*v, "kind")),
          .name = Str(json::Member(*v, "name"))};
}

MetricTarget Target(const Value* v) {
  MetricTarget target;
  if (v == nullptr) return target;
  target.type = Str(json::Member(*v, "type"));
  target.value = Str(json::Member(*v, "value"));
  target.average_value = Str(json::Member(*v, "averageValue"));
  if (const Value* u = json::Member(*v, "averageUtilization"); u && u->IsInt()) {
    target.average_utilization = u->GetInt();
  }
  return target;
}

absl::StatusOr<HpaMetric> Metric(const Value& spec, size_t index) {
  const std::string type = Str(json::Member(spec, "type"));
  HpaMetric metric;
  auto field = [&](const char* name) { return json::Member(spec, name); };
  if (type == "External" || type == "Pods" || type == "Object") {
    const Value* source = field(type == "External" ? "external"
                                : type == "Pods"   ? "pods"
                                                   : "object");
    if (source == nullptr) {
      return absl::InvalidArgumentError(
          Cat("spec.metrics[", index, "]: type ", type, " without its source"));
    }
    metric.type = type == "External" ? SourceType::kExternal
                  : type == "Pods"   ? SourceType::kPods
                                     : SourceType::kObject;
    metric.name = Str(At(*source, {"metric", "name"}));
    metric.selector = OptionalSelector(At(*source, {"metric", "selector"}));
    metric.described_object = Reference(json::Member(*source, "describedObject"));
    metric.target = Target(json::Member(*source, "target"));
  } else if (type == "Resource" || type == "ContainerResource") {
    const Value* source = field(type == "Resource" ? "resource" : "containerResource");
    if (source == nullptr) {
      return absl::InvalidArgumentError(
          Cat("spec.metrics[", index, "]: type ", type, " without its source"));
    }
    metric.type = type == "Resource" ? SourceType::kResource : SourceType::kContainerResource;
    metric.name = Str(json::Member(*source, "name"));
    metric.container = Str(json::Member(*source, "container"));
    metric.target = Target(json::Member(*source, "target"));
  } else {
    return absl::InvalidArgumentError(
        Cat("spec.metrics[", index, "]: unknown metric type \"", type, "\""));
  }
  return metric;
}

absl::StatusOr<Hpa> HpaOf(const Value& object) {
  Hpa hpa;
  hpa.namespace_name = Str(At(object, {"metadata", "namespace"}));
  hpa.name = Str(At(object, {"metadata", "name"}));
  hpa.scale_target = Reference(At(object, {"spec", "scaleTargetRef"}));
  if (const Value* metrics = At(object, {"spec", "metrics"}); metrics && metrics->IsArray()) {
    size_t index = 0;
    for (const Value& spec : metrics->GetArray()) {
      absl::StatusOr<HpaMetric> metric = Metric(spec, index++);
      if (!metric.ok()) {
        return absl::InvalidArgumentError(Cat("HorizontalPodAutoscaler ", hpa.namespace_name, "/",
                                              hpa.name, ": ", metric.status().message()));
      }
      hpa.metrics.push_back(*std::move(metric));
    }
  }
  return hpa;
}

void WriteYaml(const Value& v, int indent, std::string& out);

bool PlainScalar(std::string_view s) {
  if (s.empty()) return false;
  static constexpr std::string_view kSpecial = ":#{}[],&*!|>'\"%@`\n\t\\";
  if (s.find_first_of(kSpecial) != std::string_view::npos) return false;
  if (s.front() == ' ' || s.back() == ' ' || s.front() == '-' || s.front() == '?') return false;
  std::string lower(s);
  absl::AsciiStrToLower(&lower);
  if (lower == "true" || lower == "false" || lower == "null" || lower == "yes" || lower == "no" ||
      lower == "on" || lower == "off" || lower == "~") {
    return false;
  }
  // Anything that reads as a number must stay a string.
  return !(absl::ascii_isdigit(static_cast<unsigned char>(s.front())) || s.front() == '.' ||
           s.front() == '+');
}

std::string Scalar(const Value& v) {
  if (v.IsNull()) return "null";
  if (v.IsBool()) return v.GetBool() ? "true" : "false";
  if (v.IsNumber()) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    v.Accept(writer);
    return buffer.GetString();
  }
  const std::string_view s = json::StringOf(v);
  if (PlainScalar(s)) return std::string(s);
  rapidjson::StringBuffer buffer;  // a JSON string is a valid double-quoted YAML scalar
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  v.Accept(writer);
  return buffer.GetString();
}

bool Nested(const Value& v) {
  return (v.IsObject() && v.MemberCount() > 0) || (v.IsArray() && !v.Empty());
}

void WriteYaml(const Value& v, int indent, std::string& out) {
  const std::string pad(indent, ' ');
  if (v.IsObject()) {
    for (const auto& m : v.GetObject()) {
      out += Cat(pad, Scalar(m.name), ":");
      if (Nested(m.value)) {
        out += '\n';
        WriteYaml(m.value, m.value.IsArray() ? indent : indent + 2, out);
      } else {
        out += Cat(" ",
                   m.value.IsObject()  ? "{}"
                   : m.value.IsArray() ? "[]"
                                       : Scalar(m.value),
                   "\n");
      }
    }
  } else if (v.IsArray()) {
    for (const Value& item : v.GetArray()) {
      if (Nested(item)) {
        std::string nested;
        WriteYaml(item, indent + 2, nested);
        // The first line of the item goes after the dash.
        out += Cat(pad, "- ", nested.substr(indent + 2));
      } else {
        out += Cat(pad, "- ", item.IsObject() ? "{}" : item.IsArray() ? "[]" : Scalar(item), "\n");
      }
    }
  } else {
    out += Cat(pad, Scalar(v), "\n");
  }
}

}  // namespace

std::string StatusMessage(std::string_view body, long http_status) {  // NOLINT
  absl::StatusOr<rapidjson::Document> doc = json::Parse(body, kLimits);
  if (doc.ok() && doc->IsObject() && Str(json::Member(*doc, "kind")) == "Status") {
    const std::string message = Str(json::Member(*doc, "message"));
    const std::string reason = Str(json::Member(*doc, "reason"));
    if (!message.empty()) return reason.empty() ? message : Cat(reason, ": ", message);
  }
  switch (http_status) {
    case 401:
      return "Unauthorized: the API server did not accept the credentials";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound: the server could not find the requested resource";
    case 503:
      return "ServiceUnavailable: the server is currently unable to handle the request";
    default:
      return Cat("the server answered HTTP ", http_status);
  }
}

absl::StatusOr<Hpa> DecodeHpa(std::string_view text) {
  absl::StatusOr<rapidjson::Document> doc = Parse(text, "HorizontalPodAutoscaler");
  if (!doc.ok()) return doc.status();
  const std::string api_version = Str(json::Member(*doc, "apiVersion"));
  if (api_version != "autoscaling/v2") {
    return absl::InvalidArgumentError(
        Cat("expected an autoscaling/v2 HorizontalPodAutoscaler, got apiVersion \"", api_version,
            "\""));
  }
  return HpaOf(*doc);
}

absl::StatusOr<std::vector<Hpa>> DecodeHpaList(std::string_view text) {
  absl::StatusOr<rapidjson::Document> doc = Parse(text, "HorizontalPodAutoscalerList");
  if (!doc.ok()) return doc.status();
  const Value* items = json::Member(*doc, "items");
  if (items == nullptr || !items->IsArray()) {
    return absl::InvalidArgumentError("HorizontalPodAutoscalerList: no items");
  }
  std::vector<Hpa> hpas;
  for (const Value& item : items->GetArray()) {
    absl::StatusOr<Hpa> hpa = HpaOf(item);
    if (!hpa.ok()) return hpa.status();
    hpas.push_back(*std::move(hpa));
  }
  return hpas;
}

absl::StatusOr<LabelSelector> DecodeWorkloadSelector(std::string_view text) {
  absl::StatusOr<rapidjson::Document> doc = Parse(text, "scale target");
  if (!doc.ok()) return doc.status();
  const Value* selector = At(*doc, {"spec", "selector"});
  if (selector == nullptr || !selector->IsObject()) {
    return absl::InvalidArgumentError("the scale target has no spec.selector");
  }
  return Selector(*selector);
}

absl::StatusOr<ApiServiceState> DecodeApiService(std::string_view text) {
  absl::StatusOr<rapidjson::Document> doc = Parse(text, "APIService");
  if (!doc.ok()) return doc.status();
  ApiServiceState state;
  state.service_namespace = Str(At(*doc, {"spec", "service", "namespace"}));
  state.service_name = Str(At(*doc, {"spec", "service", "name"}));
  state.available = "Unknown";
  if (const Value* conditions = At(*doc, {"status", "conditions"});
      conditions && conditions->IsArray()) {
    for (const Value& c : conditions->GetArray()) {
      if (Str(json::Member(c, "type")) == "Available") {
        state.available = Str(json::Member(c, "status"));
        state.reason = Str(json::Member(c, "reason"));
        state.message = Str(json::Member(c, "message"));
      }
    }
  }
  return state;
}

absl::StatusOr<Replicas> DecodeDeploymentReplicas(std::string_view text) {
  absl::StatusOr<rapidjson::Document> doc = Parse(text, "Deployment");
  if (!doc.ok()) return doc.status();
  const Value* desired = At(*doc, {"spec", "replicas"});
  return Replicas{.ready = Int(At(*doc, {"status", "readyReplicas"})),
                  .desired = desired == nullptr ? 1 : Int(desired)};
}

absl::StatusOr<int64_t> DecodeReadyEndpoints(std::string_view text) {
  absl::StatusOr<rapidjson::Document> doc = Parse(text, "Endpoints");
  if (!doc.ok()) return doc.status();
  int64_t ready = 0;
  if (const Value* subsets = json::Member(*doc, "subsets"); subsets && subsets->IsArray()) {
    for (const Value& subset : subsets->GetArray()) {
      if (const Value* a = json::Member(subset, "addresses"); a && a->IsArray()) ready += a->Size();
    }
  }
  return ready;
}

absl::StatusOr<std::vector<std::string>> DecodeResourceNames(std::string_view text) {
  absl::StatusOr<rapidjson::Document> doc = Parse(text, "APIResourceList");
  if (!doc.ok()) return doc.status();
  std::vector<std::string> names;
  if (const Value* resources = json::Member(*doc, "resources"); resources && resources->IsArray()) {
    for (const Value& r : resources->GetArray()) names.push_back(Str(json::Member(r, "name")));
  }
  return names;
}

absl::StatusOr<std::string> DecodePreferredVersion(std::string_view text) {
  absl::StatusOr<rapidjson::Document> doc = Parse(text, "APIGroup");
  if (!doc.ok()) return doc.status();
  return Str(At(*doc, {"preferredVersion", "version"}));
}

absl::StatusOr<std::vector<MetricValue>> DecodeMetricValues(std::string_view text) {
  absl::StatusOr<rapidjson::Document> doc = Parse(text, "metric value list");
  if (!doc.ok()) return doc.status();
  std::vector<MetricValue> values;
  const Value* items = json::Member(*doc, "items");
  if (items == nullptr || !items->IsArray()) {
    return absl::InvalidArgumentError("metric value list: no items");
  }
  for (const Value& item : items->GetArray()) {
    MetricValue v;
    if (const Value* object = json::Member(item, "describedObject"); object != nullptr) {
      v.object_kind = Str(json::Member(*object, "kind"));
      v.object_namespace = Str(json::Member(*object, "namespace"));
      v.object_name = Str(json::Member(*object, "name"));
    }
    // v1beta1 has metricName; v1beta2 has metric.name and metric.selector.
    v.metric_name = Str(json::Member(item, "metricName"));
    if (v.metric_name.empty()) v.metric_name = Str(At(item, {"metric", "name"}));
    std::vector<std::string> labels;
    if (const Value* l = json::Member(item, "metricLabels"); l && l->IsObject()) {
      for (const auto& m : l->GetObject()) {
        labels.push_back(Cat(json::StringOf(m.name), "=", Str(&m.value)));
      }
    }
    v.labels = absl::StrJoin(labels, ",");
    v.timestamp = Str(json::Member(item, "timestamp"));
    v.value = Str(json::Member(item, "value"));
    values.push_back(std::move(v));
  }
  return values;
}

absl::StatusOr<std::vector<ContainerUsage>> DecodePodMetrics(std::string_view text) {
  absl::StatusOr<rapidjson::Document> doc = Parse(text, "PodMetricsList");
  if (!doc.ok()) return doc.status();
  std::vector<ContainerUsage> usage;
  const Value* items = json::Member(*doc, "items");
  if (items == nullptr || !items->IsArray()) {
    return absl::InvalidArgumentError("PodMetricsList: no items");
  }
  for (const Value& item : items->GetArray()) {
    const std::string pod = Str(At(item, {"metadata", "name"}));
    if (const Value* containers = json::Member(item, "containers");
        containers && containers->IsArray()) {
      for (const Value& c : containers->GetArray()) {
        usage.push_back({.pod = pod,
                         .container = Str(json::Member(c, "name")),
                         .cpu = Str(At(c, {"usage", "cpu"})),
                         .memory = Str(At(c, {"usage", "memory"}))});
      }
    }
  }
  return usage;
}

absl::StatusOr<std::string> PrettyJson(std::string_view text) {
  absl::StatusOr<rapidjson::Document> doc = json::Parse(text, kLimits);
  if (!doc.ok()) return doc.status();
  rapidjson::StringBuffer buffer;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> writer(buffer);
  writer.SetIndent(' ', 4);
  doc->Accept(writer);
  return Cat(buffer.GetString(), "\n");
}

absl::StatusOr<std::string> JsonToYaml(std::string_view text) {
  absl::StatusOr<rapidjson::Document> doc = json::Parse(text, kLimits);
  if (!doc.ok()) return doc.status();
  std::string out;
  WriteYaml(*doc, 0, out);
  return out;
}

}  // namespace ma::plugin
