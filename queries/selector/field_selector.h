#pragma once

// Kubernetes field selectors (k8s.io/apimachinery fields.ParseSelector) as metrics.k8s.io accepts
// them: terms `field=value`, `field==value` and `field!=value` joined by commas, with `\,`, `\=`
// and `\\` escaping those characters in values, over the fields metadata.name and
// metadata.namespace.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "queries/selector/label_selector.h"  // kMaxSelectorBytes

namespace ma::selector {

inline constexpr size_t kMaxFieldTerms = 64;

struct FieldTerm {
  std::string field;   // "metadata.name" or "metadata.namespace"
  bool equals = true;  // false for !=
  std::string value;

  friend bool operator==(const FieldTerm&, const FieldTerm&) = default;
};

// Terms ANDed. Immutable value type; safe to share between threads.
class FieldSelector {
 public:
  FieldSelector() = default;  // matches everything

  // kInvalidArgument for text that does not parse (as Go: "invalid selector: ..."), an unescaped
  // `=` in a value, or a field other than metadata.name and metadata.namespace ("field label not
  // supported: spec.nodeName"). Longer than kMaxSelectorBytes or more than kMaxFieldTerms terms is
  // kInvalidArgument too.
  static absl::StatusOr<FieldSelector> Parse(std::string_view text);

  const std::vector<FieldTerm>& terms() const { return terms_; }
  bool empty() const { return terms_.empty(); }

  // Whether an object with this namespace ("" for cluster-scoped objects) and name matches.
  bool Matches(std::string_view namespace_name, std::string_view name) const;

 private:
  std::vector<FieldTerm> terms_;
};

}  // namespace ma::selector
