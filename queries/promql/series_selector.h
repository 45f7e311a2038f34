#pragma once

// Prometheus series selectors (`metric{a="b",c=~"d.*"}` or `{__name__=~"x.*"}`), parsed and
// matched locally with Prometheus semantics: regexes are RE2 and fully anchored, a matcher against
// a missing label sees "".

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "queries/model/series.h"

namespace re2 {
class RE2;
}

namespace ma::promql {

inline constexpr size_t kMaxSeriesSelectorBytes = size_t{64} * 1024;

enum class MatchOp { kEqual, kNotEqual, kRegexMatch, kRegexNoMatch };

struct LabelMatcher {
  std::string name;  // "__name__" for the metric name
  MatchOp op = MatchOp::kEqual;
  std::string value;
  std::shared_ptr<const re2::RE2> regex;  // compiled `^(?:value)$` for the regex operators
};

// Immutable after Parse; safe to share between threads.
class SeriesSelector {
 public:
  // kInvalidArgument with the position of the problem for malformed text, a bad regex, or a
  // selector with no matcher that requires a non-empty value (Prometheus refuses `{}`
  // and selectors that match everything).
  static absl::StatusOr<SeriesSelector> Parse(std::string_view text);

  bool Matches(const model::Series& series) const;
  const std::vector<LabelMatcher>& matchers() const { return matchers_; }

 private:
  std::vector<LabelMatcher> matchers_;
};

}  // namespace ma::promql
