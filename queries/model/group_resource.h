#pragma once

#include <compare>
#include <string>
#include <string_view>

namespace ma::model {

// A Kubernetes group-resource: resource is the lowercase plural ("pods", "deployments"), group is
// "" for the core group.
struct GroupResource {
  std::string group;
  std::string resource;

  // "resource" for the core group, else "resource.group": the form used in metric URLs and in
  // discovery names ("deployments.apps").
  std::string String() const { return group.empty() ? resource : resource + "." + group; }

  // Splits "resource[.group]" at the first dot, as the Go server does.
  static GroupResource Parse(std::string_view text) {
    const auto dot = text.find('.');
    if (dot == std::string_view::npos) {
      return {"", std::string(text)};
    }
    return {std::string(text.substr(dot + 1)), std::string(text.substr(0, dot))};
  }

  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads the defaulted <=>.
  friend auto operator<=>(const GroupResource&, const GroupResource&) = default;
  friend bool operator==(const GroupResource&, const GroupResource&) = default;

  template <typename H>
  friend H AbslHashValue(H h, const GroupResource& gr) {
    return H::combine(std::move(h), gr.group, gr.resource);
  }
};

// namespaces, nodes and persistentvolumes: the resources prometheus-adapter always registers as
// root-scoped, whatever the series' other labels say.
inline bool IsAlwaysRootScoped(const GroupResource& gr) {
  return gr.group.empty() && (gr.resource == "namespaces" || gr.resource == "nodes" ||
                              gr.resource == "persistentvolumes");
}

}  // namespace ma::model
