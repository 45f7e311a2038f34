#pragma once

// Kubernetes label selectors (k8s.io/apimachinery labels.Parse): the grammar, the validation of
// keys and values, matching against a label set, and the canonical string form.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "queries/model/series.h"

namespace ma::selector {

// Bounds on untrusted selector text (it arrives in URLs).
inline constexpr size_t kMaxSelectorBytes = size_t{16} * 1024;
inline constexpr size_t kMaxRequirements = 256;
inline constexpr size_t kMaxValuesPerRequirement = 4096;

enum class Operator {
  kEquals,        // k=v
  kDoubleEquals,  // k==v
  kNotEquals,     // k!=v
  kIn,            // k in (a,b)
  kNotIn,         // k notin (a,b)
  kExists,        // k
  kDoesNotExist,  // !k
  kGreaterThan,   // k>5
  kLessThan,      // k<5
};

struct Requirement {
  std::string key;
  Operator op = Operator::kEquals;
  // Sorted and de-duplicated (a Go sets.String). One value for =, ==, !=, >, <; at least one for
  // in/notin ("()" is the set {""}); none for exists/!exists.
  std::vector<std::string> values;

  friend bool operator==(const Requirement&, const Requirement&) = default;
};

// A parsed, validated selector: requirements ANDed, sorted by key (stable for equal keys).
// Immutable value type; safe to share between threads.
class LabelSelector {
 public:
  LabelSelector() = default;  // the empty selector: matches everything

  // kInvalidArgument with apimachinery-like messages ("unable to parse requirement: ...",
  // "found ',', expected: identifier after ','", key/value validation errors).
  static absl::StatusOr<LabelSelector> Parse(std::string_view text);

  const std::vector<Requirement>& requirements() const { return requirements_; }
  bool empty() const { return requirements_.empty(); }

  bool Matches(const model::LabelSet& labels) const;

  // Canonical form as Go's Selector.String(): "a=b,c in (x,y),!d".
  std::string String() const;

 private:
  std::vector<Requirement> requirements_;
};

}  // namespace ma::selector
