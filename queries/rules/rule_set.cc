#include "queries/rules/rule_set.h"

#include <re2/re2.h>

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "queries/base/strings.h"
#include "queries/promql/promql.h"
#include "queries/promql/series_selector.h"
#include "queries/rules/duration.h"

namespace ma::rules {
namespace {

using config::Problem;
using config::SourcePos;

// Collects problems while compiling; each compile step returns std::nullopt after reporting.
class Compiler {
 public:
  explicit Compiler(const CompileOptions& options) : options_(options) {}

  template <typename... Parts>
  void Report(SourcePos pos, std::string_view where, const Parts&... message) {
    problems_.push_back(Problem{pos, Cat(where, ": ", message...)});
  }

  std::optional<tmpl::Template> CompileTemplate(const config::Located<std::string>& text,
                                                const std::vector<std::string>& fields,
                                                std::string_view where) {
    auto compiled = tmpl::Template::Compile(text.value, fields);
    if (!compiled.ok()) {
      Report(text.pos, where, compiled.status().message());
      return std::nullopt;
    }
    return *std::move(compiled);
  }

  std::optional<ResourceMapping> CompileResources(const config::ResourceMappingConfig& config,
                                                  std::string_view where) {
    bool ok = true;
    std::vector<ResourceMapping::Override> overrides;
    for (const auto& [label, gr] : config.overrides) {
      const std::string override_where = Cat(where, ".overrides.", label);
      if (!promql::IsValidLabelName(label)) {
        Report(gr.pos, override_where,
               Cat(GoQuote(label), " is not a valid Prometheus label name"));
        ok = false;
        continue;
      }
      if (gr.resource.empty()) {
        Report(gr.pos, override_where, "missing resource");
        ok = false;
        continue;
      }
      auto info = options_.mapper->Normalize(gr.group, gr.resource);
      if (!info.ok()) {
        if (!options_.allow_unknown_resources) {
          Report(gr.pos, override_where,
                 Cat("unable to normalize group-resource ",
                     model::GroupResource{gr.group, gr.resource}.String(), ": ",
                     info.status().message()));
          ok = false;
          continue;
        }
        info = model::ResourceInfo{{gr.group, gr.resource}, gr.resource, "", "", true};
      }
      overrides.push_back({label, *std::move(info)});
    }
    std::optional<tmpl::Template> label_template;
    if (config.template_text.has_value() && !config.template_text->value.empty()) {
      label_template =
          CompileTemplate(*config.template_text, ResourceTemplateFields(), Cat(where, ".template"));
      if (!label_template.has_value()) {
        return std::nullopt;
      }
    }
    if (!ok) {
      return std::nullopt;
    }
    const SourcePos template_pos =
        config.template_text.has_value() ? config.template_text->pos : config.pos;
    auto mapping =
        ResourceMapping::Create(std::move(overrides), std::move(label_template), options_.mapper);
    if (!mapping.ok()) {
      Report(template_pos, Cat(where, ".template"), mapping.status().message());
      return std::nullopt;
    }
    return *std::move(mapping);
  }

  std::optional<SeriesFilter> CompileFilter(const config::SeriesFilterConfig& filter,
                                            std::string_view where) {
    // The parser has already reported a filter with both or neither of is/isNot.
    const auto& text = filter.is.has_value() ? filter.is : filter.is_not;
    if (!text.has_value()) {
      return std::nullopt;
    }
    RE2::Options re_options;
    re_options.set_log_errors(false);
    auto regex = std::make_shared<const re2::RE2>(text->value, re_options);
    if (!regex->ok()) {
      Report(text->pos, Cat(where, filter.is.has_value() ? ".is" : ".isNot"),
             Cat("invalid regex ", GoQuote(text->value), ": ", regex->error()));
      return std::nullopt;
    }
    return SeriesFilter{std::move(regex), filter.is.has_value()};
  }

  std::optional<Rule> CompileRule(const config::DiscoveryRuleConfig& config, RuleKind kind,
                                  int index) {
    const std::string where =
        Cat(kind == RuleKind::kCustom ? "rules[" : "externalRules[", index, "]");
    const size_t problems_before = problems_.size();

    if (config.series_query.value.empty()) {
      Report(config.pos, where, "missing seriesQuery");
    } else if (auto selector = promql::SeriesSelector::Parse(config.series_query.value);
               !selector.ok()) {
      Report(config.series_query.pos, where + ".seriesQuery",
             Cat("invalid series selector ", GoQuote(config.series_query.value), ": ",
                 selector.status().message()));
    }

    std::vector<SeriesFilter> filters;
    for (size_t i = 0; i < config.series_filters.size(); ++i) {
      auto filter = CompileFilter(config.series_filters[i], Cat(where, ".seriesFilters[", i, "]"));
      if (filter.has_value()) {
        filters.push_back(*std::move(filter));
      }
    }

    std::optional<NameMatcher> name;
    {
      const auto& matches = config.name.matches;
      const auto& as = config.name.as;
      auto created = NameMatcher::Create(matches.has_value() ? matches->value : "",
                                         as.has_value() ? as->value : "");
      if (!created.ok()) {
        const SourcePos pos = matches.has_value() ? matches->pos : config.name.pos;
        Report(pos, where + ".name.matches", created.status().message());
      } else {
        name = *std::move(created);
      }
    }

    auto resources = CompileResources(config.resources, where + ".resources");

    std::optional<tmpl::Template> metrics_query;
    if (config.metrics_query.value.empty()) {
      Report(config.pos, where, "missing metricsQuery");
    } else {
      metrics_query =
          CompileTemplate(config.metrics_query, MetricsQueryFields(), where + ".metricsQuery");
    }

    const bool namespaced =
        !config.resources.namespaced.has_value() || config.resources.namespaced->value;
    if (kind == RuleKind::kExternal && namespaced && resources.has_value()) {
      // prometheus-adapter accepts this and then fails every request (its issue #282).
      if (!resources->LabelForResource({"", "namespaces"}).ok()) {
        Report(config.resources.pos.line != 0 ? config.resources.pos : config.pos,
               where + ".resources",
               "a namespaced external rule needs a label for namespaces: add "
               "`overrides: {namespace: {resource: namespace}}` or a `template`, or set "
               "`namespaced: false`");
      }
    }

    if (problems_.size() != problems_before || !name.has_value() || !resources.has_value() ||
        !metrics_query.has_value()) {
      return std::nullopt;
    }
    return Rule(kind, index, config.series_query.value, std::move(filters), *std::move(name),
                *std::move(resources), *std::move(metrics_query), namespaced);
  }

  std::optional<ResourceRule> CompileResourceRule(const config::ResourceRuleConfig& config,
                                                  std::string_view where) {
    const size_t problems_before = problems_.size();
    auto container = CompileTemplate(config.container_query, MetricsQueryFields(),
                                     Cat(where, ".containerQuery"));
    auto node = CompileTemplate(config.node_query, MetricsQueryFields(), Cat(where, ".nodeQuery"));
    auto resources = CompileResources(config.resources, Cat(where, ".resources"));
    if (!config.container_label.value.empty() &&
        !promql::IsValidLabelName(config.container_label.value)) {
      Report(config.container_label.pos, Cat(where, ".containerLabel"),
             Cat(GoQuote(config.container_label.value), " is not a valid Prometheus label name"));
    }
    if (problems_.size() != problems_before || !container || !node || !resources) {
      return std::nullopt;
    }
    return ResourceRule{*std::move(container), *std::move(node), *std::move(resources),
                        config.container_label.value};
  }

  std::optional<ResourceRules> CompileResourceRules(const config::ResourceRulesConfig& config) {
    auto cpu = CompileResourceRule(config.cpu, "resourceRules.cpu");
    auto memory = CompileResourceRule(config.memory, "resourceRules.memory");
    std::chrono::milliseconds window{0};
    if (!config.window.value.empty()) {
      auto parsed = ParsePrometheusDuration(config.window.value);
      if (!parsed.ok()) {
        Report(config.window.pos, "resourceRules.window", parsed.status().message());
        return std::nullopt;
      }
      window = *parsed;
    }
    if (!cpu || !memory) {
      return std::nullopt;
    }
    return ResourceRules{*std::move(cpu), *std::move(memory), window};
  }

  std::vector<Problem> TakeProblems() {
    std::stable_sort(problems_.begin(), problems_.end(), [](const auto& a, const auto& b) {
      return std::tie(a.pos.line, a.pos.column) < std::tie(b.pos.line, b.pos.column);
    });
    return std::move(problems_);
  }

 private:
  const CompileOptions& options_;
  std::vector<Problem> problems_;
};

}  // namespace

RuleSet::RuleSet(std::vector<Rule> custom, std::vector<Rule> external,
                 std::optional<ResourceRules> resource_rules)
    : custom_(std::move(custom)),
      external_(std::move(external)),
      resource_rules_(std::move(resource_rules)) {
  std::set<std::string, std::less<>> seen;
  for (const auto* rules : {&custom_, &external_}) {
    for (const auto& rule : *rules) {
      if (seen.insert(rule.series_query()).second) {
        series_queries_.push_back(rule.series_query());
      }
    }
  }
}

CompileResult CompileRules(const config::RulesConfig& config, const CompileOptions& options) {
  Compiler compiler(options);
  // The parser has reported what makes a rule malformed; its rule set is never built.
  bool malformed = false;
  std::vector<Rule> custom;
  std::vector<Rule> external;
  for (size_t i = 0; i < config.rules.size(); ++i) {
    if (config.rules[i].malformed) {
      malformed = true;
    } else if (auto rule =
                   compiler.CompileRule(config.rules[i], RuleKind::kCustom, static_cast<int>(i))) {
      custom.push_back(*std::move(rule));
    }
  }
  for (size_t i = 0; i < config.external_rules.size(); ++i) {
    if (config.external_rules[i].malformed) {
      malformed = true;
    } else if (auto rule = compiler.CompileRule(config.external_rules[i], RuleKind::kExternal,
                                                static_cast<int>(i))) {
      external.push_back(*std::move(rule));
    }
  }
  std::optional<ResourceRules> resource_rules;
  if (config.resource_rules.has_value()) {
    if (config.resource_rules->cpu.malformed || config.resource_rules->memory.malformed) {
      malformed = true;
    } else {
      resource_rules = compiler.CompileResourceRules(*config.resource_rules);
    }
  }
  CompileResult result;
  result.problems = compiler.TakeProblems();
  if (result.problems.empty() && !malformed) {
    MakeIdsUnique(custom);
    MakeIdsUnique(external);
    result.rule_set = std::make_shared<const RuleSet>(std::move(custom), std::move(external),
                                                      std::move(resource_rules));
  }
  return result;
}

}  // namespace ma::rules
