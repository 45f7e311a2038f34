#include "queries/rules/rule.h"

#include <re2/re2.h>

#include <cstdint>
#include <map>

#include "absl/strings/str_cat.h"
#include "queries/base/hex.h"
#include "queries/base/strings.h"

namespace ma::rules {
namespace {

// FNV-1a, 64 bits: fixed by its definition, so an id is the same on every build and platform.
uint64_t Fnv1a(std::string_view text, uint64_t hash = 0xcbf29ce484222325ULL) {
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

std::string RuleId(RuleKind kind, std::string_view series_query, const NameMatcher& name) {
  // Each field followed by a NUL, which none of them can hold, so that fields cannot run together.
  uint64_t hash = Fnv1a(std::string_view("\0", 1), Fnv1a(series_query));
  hash = Fnv1a(std::string_view("\0", 1), Fnv1a(name.pattern(), hash));
  hash = Fnv1a(name.as(), hash);
  std::string hex(8, '0');
  const uint32_t folded = static_cast<uint32_t>(hash ^ (hash >> 32));
  for (int i = 7, shift = 0; i >= 0; --i, shift += 4) {
    hex[i] = kLowerHexDigits[(folded >> shift) & 0xf];
  }
  return Cat(kind == RuleKind::kCustom ? "rules:" : "externalRules:", hex);
}

}  // namespace

const std::vector<std::string>& MetricsQueryFields() {
  static const auto* const fields = new std::vector<std::string>{
      "Series", "LabelMatchers", "LabelValuesByName", "GroupBy", "GroupBySlice"};
  return *fields;
}

const std::vector<std::string>& ResourceTemplateFields() {
  static const auto* const fields = new std::vector<std::string>{"Group", "Resource"};
  return *fields;
}

Rule::Rule(RuleKind kind, int index, std::string series_query, std::vector<SeriesFilter> filters,
           NameMatcher name, ResourceMapping resources, tmpl::Template metrics_query,
           bool namespaced)
    : kind_(kind),
      index_(index),
      id_(RuleId(kind, series_query, name)),
      series_query_(std::move(series_query)),
      filters_(std::move(filters)),
      name_(std::move(name)),
      resources_(std::move(resources)),
      metrics_query_(std::move(metrics_query)),
      namespaced_(namespaced) {}

void MakeIdsUnique(std::vector<Rule>& rules) {
  std::map<std::string, int> seen;
  for (Rule& rule : rules) {
    if (const int occurrence = ++seen[rule.id_]; occurrence > 1) {
      rule.id_ = Cat(rule.id_, "-", occurrence);
    }
  }
}

std::string Rule::Describe() const {
  return Cat(kind_ == RuleKind::kCustom ? "rules[" : "externalRules[", index_, "]");
}

bool Rule::AcceptsSeries(std::string_view series_name) const {
  const re2::StringPiece name(series_name.data(), series_name.size());
  for (const auto& filter : filters_) {
    if (RE2::PartialMatch(name, *filter.regex) != filter.positive) {
      return false;
    }
  }
  return name_.Matches(series_name);
}

}  // namespace ma::rules
