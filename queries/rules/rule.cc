#include "queries/rules/rule.h"

#include <re2/re2.h>

#include "absl/strings/str_cat.h"
#include "queries/base/strings.h"

namespace ma::rules {

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
      series_query_(std::move(series_query)),
      filters_(std::move(filters)),
      name_(std::move(name)),
      resources_(std::move(resources)),
      metrics_query_(std::move(metrics_query)),
      namespaced_(namespaced) {}

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
