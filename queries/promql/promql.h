#pragma once

// The only module that produces PromQL text. Everything that ends up in a query (label names,
// values, object names, namespaces) goes through these functions, which quote and escape it so
// that no value can change the shape of a query.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "queries/selector/label_selector.h"

namespace ma::promql {

// `[a-zA-Z_][a-zA-Z0-9_]*`: what PromQL accepts as a label name in a matcher.
bool IsValidLabelName(std::string_view name);

// A PromQL string literal, quoted as Go's %q (which is what prometheus-adapter emits).
std::string QuoteString(std::string_view value);

// Go's regexp.QuoteMeta: a backslash before each of \.+*?()|[]{}^$ so the text matches literally.
std::string QuoteRegexMeta(std::string_view value);

// Single matchers, `name="value"` and friends. `name` must be a valid label name (MA_CHECKed:
// callers validate user-supplied names first with IsValidLabelName).
std::string LabelEq(std::string_view name, std::string_view value);
std::string LabelNeq(std::string_view name, std::string_view value);
// `name=~"v1|v2"`: each value regex-escaped, so this matches exactly the given values.
std::string LabelMatchesAny(std::string_view name, const std::vector<std::string>& values);
// `name!~"v1|v2"`, escaped likewise.
std::string LabelMatchesNone(std::string_view name, const std::vector<std::string>& values);

// The matcher of one object-name list, as prometheus-adapter builds resource matchers: one name
// gives `label="name"`, several give `label=~"n1|n2"` (in the given order, regex-escaped).
// `names` must not be empty (MA_CHECKed): `label=~""` would match every series without the label.
std::string ObjectNamesMatcher(std::string_view label, const std::vector<std::string>& names);

// Converts a Kubernetes label selector into matchers, one per requirement in selector order
// (as prometheus-adapter converts them). kInvalidArgument naming the key when a key is not a valid
// PromQL label name, or naming the operator for > and < ("operator not supported by prometheus").
absl::StatusOr<std::vector<std::string>> SelectorMatchers(const selector::LabelSelector& selector);

}  // namespace ma::promql
