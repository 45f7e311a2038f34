#pragma once

// name.matches / name.as: turns a Prometheus series name into the API metric name with Go's
// regexp semantics (unanchored leftmost-first search, Regexp.ExpandString for `as`).

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace re2 {
class RE2;
}

namespace ma::rules {

// Immutable after Create; safe to share between threads.
class NameMatcher {
 public:
  // `matches` "" means ".*". `as` "" means "$0" without capture groups and "$1" with one; with
  // two or more groups `as` is required. kInvalidArgument for a bad regex or a missing `as`.
  static absl::StatusOr<NameMatcher> Create(std::string_view matches, std::string_view as);

  // Whether `series_name` contains a match (the implicit `is` filter of name.matches).
  bool Matches(std::string_view series_name) const;

  // The expansion of `as` for the first match in `series_name`; nullopt-like error
  // (kNotFound) when there is no match.
  absl::StatusOr<std::string> MetricName(std::string_view series_name) const;

  const std::string& pattern() const { return pattern_; }
  const std::string& as() const { return as_; }

 private:
  std::shared_ptr<const re2::RE2> regex_;
  std::string pattern_;
  std::string as_;
};

// Go's Regexp.ExpandString over already-found groups: `$n`, `${n}`, `$name`, `${name}`, `$$`.
// `$name` takes the longest run of letters, digits and underscores, so "$1_total" names the group
// "1_total" (which usually does not exist and expands to ""). Exposed for tests.
std::string ExpandGoTemplate(const re2::RE2& regex, std::string_view tmpl,
                             const std::string_view* groups, int group_count);

}  // namespace ma::rules
