#pragma once

// The association between Prometheus label names and Kubernetes group-resources of one rule
// (docs/config.md, "How labels become resources"): explicit `overrides` and a generic `template`
// such as `kube_<<.Group>>_<<.Resource>>`, in both directions.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "queries/model/resource_mapper.h"
#include "queries/model/series.h"
#include "queries/template/template.h"

namespace re2 {
class RE2;
}

namespace ma::rules {

// The resources a series' labels point at, and whether prometheus-adapter would call the series
// namespaced (any label not mapped to namespaces, nodes or persistentvolumes makes it so).
struct SeriesResources {
  std::vector<model::ResourceInfo> resources;  // sorted by group-resource, unique
  bool namespaced = false;
};

// Immutable after Create; safe to share between threads.
class ResourceMapping {
 public:
  struct Override {
    std::string label;
    model::ResourceInfo resource;
  };

  // `overrides` are already normalised; `label_template` may be absent. kInvalidArgument when the
  // template does not reference .Resource or renders to nothing.
  static absl::StatusOr<ResourceMapping> Create(
      std::vector<Override> overrides, std::optional<tmpl::Template> label_template,
      std::shared_ptr<const model::ResourceMapper> mapper);

  // The label that holds names of `resource` (the request direction): the override, else the
  // template rendered with the sanitised group and the singular resource. kFailedPrecondition when
  // neither exists, or the result is not a valid Prometheus label name.
  absl::StatusOr<std::string> LabelForResource(const model::GroupResource& resource) const;

  // The discovery direction: which resources the label names of one series stand for.
  SeriesResources ResourcesForLabels(const model::LabelSet& labels) const;

 private:
  std::optional<model::ResourceInfo> ResourceForLabel(std::string_view label,
                                                      bool& normalize_failed) const;

  std::map<std::string, model::ResourceInfo, std::less<>> label_to_resource_;
  std::map<model::GroupResource, std::string> resource_to_label_;
  std::optional<tmpl::Template> label_template_;
  std::shared_ptr<const re2::RE2> label_regex_;  // the template turned into ^...$ with groups
  int group_index_ = -1;
  int resource_index_ = -1;
  std::shared_ptr<const model::ResourceMapper> mapper_;
};

}  // namespace ma::rules
