#include "queries/planner/resource_plan.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_join.h"
#include "queries/base/check.h"
#include "queries/base/status_macros.h"
#include "queries/base/strings.h"
#include "queries/planner/object_name.h"
#include "queries/promql/promql.h"
#include "queries/template/template.h"

namespace ma::planner {
namespace {

const model::GroupResource kNamespaces{"", "namespaces"};
const model::GroupResource kPods{"", "pods"};
const model::GroupResource kNodes{"", "nodes"};

absl::StatusOr<std::string> LabelFor(const rules::ResourceRule& rule, std::string_view where,
                                     const model::GroupResource& resource) {
  auto label = rule.resources.LabelForResource(resource);
  if (!label.ok()) {
    return absl::InternalError(Cat(where, ": ", label.status().message()));
  }
  return label;
}

// The template data prometheus-adapter hands a containerQuery or nodeQuery: no series name, the
// matchers in the given order, the values by label, and the group-by labels.
absl::StatusOr<std::string> Render(const tmpl::Template& query, std::string_view where,
                                   const std::vector<std::string>& matchers,
                                   std::map<std::string, std::string> values_by_name,
                                   std::vector<std::string> group_by) {
  tmpl::Data data{
      {"Series", std::string()},
      {"LabelMatchers", absl::StrJoin(matchers, ",")},
      {"LabelValuesByName", std::move(values_by_name)},
      {"GroupBy", absl::StrJoin(group_by, ",")},
      {"GroupBySlice", std::move(group_by)},
  };
  auto rendered = query.Render(data);
  if (!rendered.ok()) {
    return absl::InternalError(Cat(where, ": ", rendered.status().message()));
  }
  if (rendered->empty()) {
    return absl::InternalError(Cat(where, ": empty query produced by the template"));
  }
  return rendered;
}

absl::StatusOr<std::string> PodQuery(const rules::ResourceRule& rule, std::string_view where,
                                     std::string_view namespace_name,
                                     const std::vector<std::string>& pods) {
  MA_ASSIGN_OR_RETURN(std::string namespace_label, LabelFor(rule, where, kNamespaces));
  MA_ASSIGN_OR_RETURN(std::string pod_label, LabelFor(rule, where, kPods));
  std::vector<std::string> group_by = {pod_label};
  if (!rule.container_label.empty()) {
    group_by.push_back(rule.container_label);
  }
  return Render(
      rule.container_query, Cat(where, ".containerQuery"),
      {promql::LabelEq(namespace_label, namespace_name),
       promql::ObjectNamesMatcher(pod_label, pods)},
      {{namespace_label, std::string(namespace_name)}, {pod_label, absl::StrJoin(pods, "|")}},
      std::move(group_by));
}

absl::StatusOr<std::string> NodeQuery(const rules::ResourceRule& rule, std::string_view where,
                                      const std::vector<std::string>& nodes) {
  MA_ASSIGN_OR_RETURN(std::string node_label, LabelFor(rule, where, kNodes));
  return Render(rule.node_query, Cat(where, ".nodeQuery"),
                {promql::ObjectNamesMatcher(node_label, nodes)},
                {{node_label, absl::StrJoin(nodes, "|")}}, {node_label});
}

absl::Status ValidateNames(std::string_view what, const std::vector<std::string>& names) {
  MA_CHECK(!names.empty());
  for (const auto& name : names) {
    MA_RETURN_IF_ERROR(ValidateObjectName(what, name));
  }
  return absl::OkStatus();
}

absl::Status CheckVector(const model::QueryResult& result, std::string_view where) {
  if (result.type != model::ResultType::kVector) {
    return absl::InternalError(Cat(where, " returned a result that is not a vector"));
  }
  return absl::OkStatus();
}

std::string_view LabelValue(const model::LabelSet& labels, std::string_view name) {
  const auto it = labels.find(std::string(name));
  return it == labels.end() ? std::string_view() : std::string_view(it->second);
}

// One resource's samples of one pod: container name -> value, and the earliest timestamp.
struct PodSamples {
  std::map<std::string, double> by_container;
  int64_t earliest_ms = 0;
  bool non_finite = false;
};

// Groups a pod query's samples by pod and container; a later sample for the same container wins,
// as a Go map assignment does in prometheus-adapter.
absl::StatusOr<std::map<std::string, PodSamples, std::less<>>> GroupByPod(
    const rules::ResourceRule& rule, std::string_view where, const model::QueryResult& result,
    UsageNotes& notes) {
  MA_RETURN_IF_ERROR(CheckVector(result, where));
  MA_ASSIGN_OR_RETURN(std::string pod_label, LabelFor(rule, where, kPods));
  std::map<std::string, PodSamples, std::less<>> by_pod;
  for (const auto& sample : result.samples) {
    const std::string_view pod = LabelValue(sample.labels, pod_label);
    auto [it, added] = by_pod.try_emplace(std::string(pod));
    PodSamples& samples = it->second;
    if (added || sample.timestamp_ms < samples.earliest_ms) {
      samples.earliest_ms = sample.timestamp_ms;
    }
    double value = sample.value;
    if (!std::isfinite(value)) {
      samples.non_finite = true;
    } else if (value < 0) {
      ++notes.negative;
      value = 0;
    }
    samples.by_container[std::string(LabelValue(sample.labels, rule.container_label))] = value;
  }
  return by_pod;
}

struct NodeSample {
  double value = 0;
  int64_t timestamp_ms = 0;
};

absl::StatusOr<std::map<std::string, NodeSample, std::less<>>> FirstByNode(
    const rules::ResourceRule& rule, std::string_view where, const model::QueryResult& result) {
  MA_RETURN_IF_ERROR(CheckVector(result, where));
  MA_ASSIGN_OR_RETURN(std::string node_label, LabelFor(rule, where, kNodes));
  std::map<std::string, NodeSample, std::less<>> by_node;
  for (const auto& sample : result.samples) {
    by_node.try_emplace(std::string(LabelValue(sample.labels, node_label)),
                        NodeSample{sample.value, sample.timestamp_ms});
  }
  return by_node;
}

// prometheus-adapter's treatment of a single value: negative becomes 0 (noted); NaN and
// infinities have no usage to report (nullopt).
std::optional<double> Usage(double value, UsageNotes& notes) {
  if (!std::isfinite(value)) {
    return std::nullopt;
  }
  if (value < 0) {
    ++notes.negative;
    return 0.0;
  }
  return value;
}

}  // namespace

absl::StatusOr<ResourceQueries> PlanPodQueries(const rules::ResourceRules& rules,
                                               std::string_view namespace_name,
                                               const std::vector<std::string>& pods) {
  MA_RETURN_IF_ERROR(ValidateObjectName("namespace", namespace_name));
  MA_RETURN_IF_ERROR(ValidateNames("pod name", pods));
  ResourceQueries queries;
  MA_ASSIGN_OR_RETURN(queries.cpu, PodQuery(rules.cpu, "resourceRules.cpu", namespace_name, pods));
  MA_ASSIGN_OR_RETURN(queries.memory,
                      PodQuery(rules.memory, "resourceRules.memory", namespace_name, pods));
  return queries;
}

absl::StatusOr<ResourceQueries> PlanNodeQueries(const rules::ResourceRules& rules,
                                                const std::vector<std::string>& nodes) {
  MA_RETURN_IF_ERROR(ValidateNames("node name", nodes));
  ResourceQueries queries;
  MA_ASSIGN_OR_RETURN(queries.cpu, NodeQuery(rules.cpu, "resourceRules.cpu", nodes));
  MA_ASSIGN_OR_RETURN(queries.memory, NodeQuery(rules.memory, "resourceRules.memory", nodes));
  return queries;
}

absl::StatusOr<std::vector<PodUsage>> MapPodUsage(const rules::ResourceRules& rules,
                                                  const std::vector<std::string>& pods,
                                                  const model::QueryResult& cpu,
                                                  const model::QueryResult& memory,
                                                  UsageNotes& notes) {
  MA_ASSIGN_OR_RETURN(auto cpu_by_pod,
                      GroupByPod(rules.cpu, "resourceRules.cpu.containerQuery", cpu, notes));
  MA_ASSIGN_OR_RETURN(
      auto memory_by_pod,
      GroupByPod(rules.memory, "resourceRules.memory.containerQuery", memory, notes));
  std::vector<PodUsage> usage;
  for (const auto& pod : pods) {
    const auto cpu_it = cpu_by_pod.find(pod);
    const auto memory_it = memory_by_pod.find(pod);
    if (cpu_it == cpu_by_pod.end() || memory_it == memory_by_pod.end()) {
      notes.missing.push_back(pod);
      continue;
    }
    const PodSamples& cpu_samples = cpu_it->second;
    const PodSamples& memory_samples = memory_it->second;
    if (cpu_samples.non_finite || memory_samples.non_finite) {
      notes.non_finite.push_back(pod);
      continue;
    }
    std::map<std::string, ContainerUsage> containers;
    for (const auto& [name, value] : cpu_samples.by_container) {
      containers[name].cpu_cores = value;
    }
    for (const auto& [name, value] : memory_samples.by_container) {
      containers[name].memory_bytes = value;
    }
    PodUsage pod_usage;
    pod_usage.name = pod;
    pod_usage.timestamp_ms = std::min(cpu_samples.earliest_ms, memory_samples.earliest_ms);
    for (auto& [name, container] : containers) {
      container.name = name;
      pod_usage.containers.push_back(std::move(container));
    }
    usage.push_back(std::move(pod_usage));
  }
  return usage;
}

absl::StatusOr<std::vector<NodeUsage>> MapNodeUsage(const rules::ResourceRules& rules,
                                                    const std::vector<std::string>& nodes,
                                                    const model::QueryResult& cpu,
                                                    const model::QueryResult& memory,
                                                    UsageNotes& notes) {
  MA_ASSIGN_OR_RETURN(auto cpu_by_node, FirstByNode(rules.cpu, "resourceRules.cpu.nodeQuery", cpu));
  MA_ASSIGN_OR_RETURN(auto memory_by_node,
                      FirstByNode(rules.memory, "resourceRules.memory.nodeQuery", memory));
  std::vector<NodeUsage> usage;
  for (const auto& node : nodes) {
    const auto cpu_it = cpu_by_node.find(node);
    const auto memory_it = memory_by_node.find(node);
    if (cpu_it == cpu_by_node.end() || memory_it == memory_by_node.end()) {
      notes.missing.push_back(node);
      continue;
    }
    const auto cpu_value = Usage(cpu_it->second.value, notes);
    const auto memory_value = Usage(memory_it->second.value, notes);
    if (!cpu_value.has_value() || !memory_value.has_value()) {
      notes.non_finite.push_back(node);
      continue;
    }
    usage.push_back({node, std::min(cpu_it->second.timestamp_ms, memory_it->second.timestamp_ms),
                     *cpu_value, *memory_value});
  }
  return usage;
}

}  // namespace ma::planner
