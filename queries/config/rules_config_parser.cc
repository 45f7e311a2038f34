#include "queries/config/rules_config.h"

// yaml-cpp is used through its event interface rather than YAML::Load: the events expose aliases
// (so that alias bombs can be bounded before anything is expanded), keep duplicate keys, and say
// whether a scalar was plain or quoted, which YAML 1.1 boolean resolution needs.

#include <algorithm>
#include <cstdint>
#include <exception>
#include <functional>
#include <initializer_list>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "queries/base/strings.h"
#include "yaml-cpp/anchor.h"
#include "yaml-cpp/emitterstyle.h"
#include "yaml-cpp/eventhandler.h"
#include "yaml-cpp/exceptions.h"
#include "yaml-cpp/mark.h"
#include "yaml-cpp/parser.h"

namespace ma::config {
namespace {

enum class NodeKind { kNull, kScalar, kSequence, kMap };

// What YAML 1.1 resolution needs to know about a node's tag.
enum class TagKind : uint8_t {
  kPlain,  // untagged plain scalar: resolved by its text
  kBool,   // explicit !!bool
  kOther,  // quoted or block scalar, or any other explicit tag
};

struct YamlNode {
  NodeKind kind = NodeKind::kNull;
  TagKind tag = TagKind::kOther;
  std::string value;
  SourcePos pos;
  std::vector<size_t> children;  // sequence items, or map keys and values alternating
  bool closed = false;
  uint64_t expanded_nodes = 1;
  uint64_t expanded_bytes = 0;
};

TagKind ToTagKind(const std::string& tag) {
  // yaml-cpp reports "?" for a plain scalar without a tag and "!" for a quoted one.
  if (tag == "?") {
    return TagKind::kPlain;
  }
  if (tag == "tag:yaml.org,2002:bool") {
    return TagKind::kBool;
  }
  return TagKind::kOther;
}

SourcePos ToPos(const YAML::Mark& mark) {
  if (mark.is_null()) {
    return {};
  }
  return {mark.line + 1, mark.column + 1};
}

// Builds a node tree from yaml-cpp's events. An alias becomes a second reference to the anchored
// node, so the tree is a DAG whose size stays proportional to the input; the size it would have
// with every alias written out is tracked and bounded.
class TreeBuilder final : public YAML::EventHandler {
 public:
  explicit TreeBuilder(std::vector<Problem>& problems) : problems_(problems) {}

  const std::vector<YamlNode>& nodes() const { return nodes_; }
  std::optional<size_t> root() const { return aborted_ ? std::nullopt : root_; }

  void OnDocumentStart(const YAML::Mark& /*mark*/) override {}
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    if (aborted_) {
      return;
    }
    const size_t index = NewNode(NodeKind::kNull, mark, anchor, "");
    // yaml-cpp marks an empty value (`key:` then a newline) at the next token, often on a later
    // line; the key is where the user has to look.
    if (!stack_.empty()) {
      const YamlNode& parent = nodes_[stack_.back()];
      if (parent.kind == NodeKind::kMap && parent.children.size() % 2 == 1) {
        const SourcePos key_pos = nodes_[parent.children.back()].pos;
        if (nodes_[index].pos.line != key_pos.line) {
          nodes_[index].pos = key_pos;
        }
      }
    }
    Close(index);
    Attach(index, std::nullopt);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    if (aborted_) {
      return;
    }
    const auto it = anchors_.find(anchor);
    if (it == anchors_.end()) {
      // yaml-cpp rejects undefined aliases itself; this only guards our own bookkeeping.
      Abort(ToPos(mark), "alias refers to an undefined anchor");
      return;
    }
    if (!nodes_[it->second].closed) {
      Abort(ToPos(mark), "alias refers to a node that contains it (a recursive structure)");
      return;
    }
    Attach(it->second, ToPos(mark));
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    if (aborted_) {
      return;
    }
    const size_t index = NewNode(NodeKind::kScalar, mark, anchor, tag);
    nodes_[index].value = value;
    nodes_[index].expanded_bytes = value.size();
    Close(index);
    Attach(index, std::nullopt);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value /*style*/) override {
    Open(NodeKind::kSequence, mark, tag, anchor);
  }
  void OnSequenceEnd() override { CloseContainer(); }

  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value /*style*/) override {
    Open(NodeKind::kMap, mark, tag, anchor);
  }
  void OnMapEnd() override { CloseContainer(); }

 private:
  size_t NewNode(NodeKind kind, const YAML::Mark& mark, YAML::anchor_t anchor,
                 const std::string& tag) {
    const size_t index = nodes_.size();
    YamlNode& node = nodes_.emplace_back();
    node.kind = kind;
    node.tag = ToTagKind(tag);
    node.pos = ToPos(mark);
    if (anchor != YAML::NullAnchor) {
      anchors_[anchor] = index;
    }
    return index;
  }

  void Open(NodeKind kind, const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor) {
    if (aborted_) {
      return;
    }
    if (stack_.size() >= static_cast<size_t>(kMaxRulesNestingDepth)) {
      Abort(ToPos(mark), absl::StrCat("the document nests deeper than ", kMaxRulesNestingDepth,
                                      " levels; a rules file needs at most 6"));
      return;
    }
    const size_t index = NewNode(kind, mark, anchor, tag);
    Attach(index, std::nullopt);
    stack_.push_back(index);
  }

  void CloseContainer() {
    if (aborted_ || stack_.empty()) {
      return;
    }
    const size_t index = stack_.back();
    stack_.pop_back();
    Close(index);
  }

  // Children are closed before their parent, so their expanded sizes are final here. Every
  // expanded size is at most the document total, which Attach keeps below the limit, so the sums
  // cannot overflow.
  void Close(size_t index) {
    YamlNode& node = nodes_[index];
    if (node.kind == NodeKind::kSequence || node.kind == NodeKind::kMap) {
      for (const size_t child : node.children) {
        node.expanded_nodes += nodes_[child].expanded_nodes;
        node.expanded_bytes += nodes_[child].expanded_bytes;
      }
    }
    node.closed = true;
  }

  // `alias_pos` is set when `index` is reached again through an alias written there.
  void Attach(size_t index, std::optional<SourcePos> alias_pos) {
    const YamlNode& node = nodes_[index];
    const SourcePos pos = alias_pos.value_or(node.pos);
    if (alias_pos.has_value()) {
      expanded_nodes_ += node.expanded_nodes;
      expanded_bytes_ += node.expanded_bytes;
    } else {
      expanded_nodes_ += 1;
      expanded_bytes_ += node.kind == NodeKind::kScalar ? node.value.size() : 0;
    }
    if (expanded_nodes_ > kMaxRulesExpandedNodes) {
      Abort(pos, absl::StrCat("the document has more than ", kMaxRulesExpandedNodes,
                              " nodes once its aliases are expanded"));
      return;
    }
    if (expanded_bytes_ > kMaxRulesExpandedScalarBytes) {
      Abort(pos, absl::StrCat("the document has more than ", kMaxRulesExpandedScalarBytes,
                              " bytes of text once its aliases are expanded"));
      return;
    }
    if (stack_.empty()) {
      if (!root_.has_value()) {
        root_ = index;
      }
      return;
    }
    nodes_[stack_.back()].children.push_back(index);
  }

  void Abort(SourcePos pos, std::string message) {
    problems_.push_back(Problem{pos, std::move(message)});
    aborted_ = true;
  }

  std::vector<Problem>& problems_;
  std::vector<YamlNode> nodes_;
  std::vector<size_t> stack_;
  absl::flat_hash_map<YAML::anchor_t, size_t> anchors_;
  std::optional<size_t> root_;
  uint64_t expanded_nodes_ = 0;
  uint64_t expanded_bytes_ = 0;
  bool aborted_ = false;
};

std::string Join(const std::string& path, std::string_view key) {
  if (path.empty()) {
    return std::string(key);
  }
  const bool plain = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
  if (plain) {
    return absl::StrCat(path, ".", ToAbsl(key));
  }
  return absl::StrCat(path, "[", GoQuote(key), "]");
}

std::string Index(const std::string& path, size_t index) {
  return absl::StrCat(path, "[", index, "]");
}

// yaml.v2 resolves exactly these plain scalars to booleans (YAML 1.1).
std::optional<bool> ParseYaml11Bool(std::string_view text) {
  static constexpr std::string_view kTrue[] = {"y",  "Y",  "yes",  "Yes",  "YES", "on",
                                               "On", "ON", "true", "True", "TRUE"};
  static constexpr std::string_view kFalse[] = {"n",   "N",   "no",    "No",    "NO",   "off",
                                                "Off", "OFF", "false", "False", "FALSE"};
  if (std::find(std::begin(kTrue), std::end(kTrue), text) != std::end(kTrue)) {
    return true;
  }
  if (std::find(std::begin(kFalse), std::end(kFalse), text) != std::end(kFalse)) {
    return false;
  }
  return std::nullopt;
}

// Walks the node tree along the schema, filling the config structs and reporting every problem.
// It only descends into known keys, so its depth is bounded by the schema and its work by the
// expanded size that TreeBuilder already bounded.
class Decoder {
 public:
  Decoder(const std::vector<YamlNode>& nodes, std::vector<Problem>& problems)
      : nodes_(nodes), problems_(problems) {}

  RulesConfig DecodeRoot(const YamlNode& root) {
    RulesConfig config;
    if (root.kind == NodeKind::kNull) {
      return config;
    }
    if (root.kind != NodeKind::kMap) {
      Report(root.pos, "",
             absl::StrCat("expected a map with the keys rules, externalRules and resourceRules at "
                          "the top level, got ",
                          Describe(root)));
      return config;
    }
    ForEachField(root, "", {"rules", "externalRules", "resourceRules"},
                 [&](std::string_view key, const std::string& path, const YamlNode& value) {
                   if (key == "rules") {
                     config.rules = DecodeDiscoveryRules(value, path);
                   } else if (key == "externalRules") {
                     config.external_rules = DecodeDiscoveryRules(value, path);
                   } else if (value.kind != NodeKind::kNull) {
                     config.resource_rules = DecodeResourceRules(value, path);
                   }
                 });
    return config;
  }

 private:
  using EntryFn =
      std::function<void(const YamlNode& key, const std::string& path, const YamlNode& value)>;
  using FieldFn =
      std::function<void(std::string_view key, const std::string& path, const YamlNode& value)>;

  void Report(SourcePos pos, const std::string& path, std::string_view message) {
    problems_.push_back(Problem{
        pos, path.empty() ? std::string(message) : absl::StrCat(path, ": ", ToAbsl(message))});
  }

  static std::string Describe(const YamlNode& node) {
    switch (node.kind) {
      case NodeKind::kNull:
        return "null";
      case NodeKind::kScalar:
        return GoQuote(node.value);
      case NodeKind::kSequence:
        return "a list";
      case NodeKind::kMap:
        return "a map";
    }
    return "an unknown node";
  }

  void ReportType(const YamlNode& node, const std::string& path, std::string_view expected) {
    Report(node.pos, path, absl::StrCat("expected ", ToAbsl(expected), ", got ", Describe(node)));
  }

  // True when `node` is a map to decode; null is an empty value, anything else a problem.
  bool ExpectMap(const YamlNode& node, const std::string& path) {
    if (node.kind == NodeKind::kMap) {
      return true;
    }
    if (node.kind != NodeKind::kNull) {
      ReportType(node, path, "a map");
    }
    return false;
  }

  bool ExpectList(const YamlNode& node, const std::string& path) {
    if (node.kind == NodeKind::kSequence) {
      return true;
    }
    if (node.kind != NodeKind::kNull) {
      ReportType(node, path, "a list");
    }
    return false;
  }

  // Calls `on_entry` for each entry of `map` whose key is a scalar seen for the first time;
  // reports non-scalar, merge and duplicate keys.
  void ForEachEntry(const YamlNode& map, const std::string& path, const EntryFn& on_entry) {
    absl::flat_hash_map<std::string, int> first_line;
    for (size_t i = 0; i + 1 < map.children.size(); i += 2) {
      const YamlNode& key = nodes_[map.children[i]];
      const YamlNode& value = nodes_[map.children[i + 1]];
      if (key.kind == NodeKind::kSequence || key.kind == NodeKind::kMap) {
        ReportType(key, path, "a string key");
        continue;
      }
      // A null key reads as "" in yaml.v2, which then matches no field.
      const std::string& name = key.value;
      if (key.kind == NodeKind::kScalar && key.tag == TagKind::kPlain && name == "<<") {
        Report(key.pos, path,
               "YAML merge keys (\"<<\") are not supported; write the merged keys out in full");
        continue;
      }
      const auto [it, inserted] = first_line.try_emplace(name, key.pos.line);
      if (!inserted) {
        Report(key.pos, path,
               absl::StrCat("duplicate key ", GoQuote(name), " on line ", key.pos.line,
                            " (first set on line ", it->second, ")"));
        continue;
      }
      on_entry(key, Join(path, name), value);
    }
  }

  // As ForEachEntry, for a struct: keys outside `known` are reported.
  void ForEachField(const YamlNode& map, const std::string& path,
                    std::initializer_list<std::string_view> known, const FieldFn& on_field) {
    ForEachEntry(map, path,
                 [&](const YamlNode& key, const std::string& field_path, const YamlNode& value) {
                   if (std::find(known.begin(), known.end(), key.value) == known.end()) {
                     Report(key.pos, path, absl::StrCat("unknown key ", GoQuote(key.value)));
                     return;
                   }
                   on_field(key.value, field_path, value);
                 });
  }

  // yaml.v2 stores any scalar's literal text in a string field and leaves it "" for null.
  Located<std::string> DecodeString(const YamlNode& node, const std::string& path) {
    if (node.kind == NodeKind::kNull) {
      return {"", node.pos};
    }
    if (node.kind == NodeKind::kScalar) {
      return {node.value, node.pos};
    }
    ReportType(node, path, "a string");
    return {};
  }

  std::optional<Located<std::string>> DecodeOptionalString(const YamlNode& node,
                                                           const std::string& path) {
    Located<std::string> decoded = DecodeString(node, path);
    if (decoded.value.empty()) {
      return std::nullopt;
    }
    return decoded;
  }

  std::optional<Located<bool>> DecodeBool(const YamlNode& node, const std::string& path) {
    if (node.kind == NodeKind::kNull) {
      return std::nullopt;
    }
    if (node.kind != NodeKind::kScalar) {
      ReportType(node, path, "a boolean (true or false)");
      return std::nullopt;
    }
    if (node.tag == TagKind::kOther) {
      Report(node.pos, path,
             absl::StrCat("expected a boolean (true or false), got the quoted string ",
                          GoQuote(node.value), "; remove the quotes"));
      return std::nullopt;
    }
    const std::optional<bool> value = ParseYaml11Bool(node.value);
    if (!value.has_value()) {
      ReportType(node, path, "a boolean (true or false)");
      return std::nullopt;
    }
    return Located<bool>{*value, node.pos};
  }

  std::vector<DiscoveryRuleConfig> DecodeDiscoveryRules(const YamlNode& node,
                                                        const std::string& path) {
    std::vector<DiscoveryRuleConfig> rules;
    if (!ExpectList(node, path)) {
      return rules;
    }
    rules.reserve(node.children.size());
    for (size_t i = 0; i < node.children.size(); ++i) {
      rules.push_back(DecodeDiscoveryRule(nodes_[node.children[i]], Index(path, i)));
    }
    return rules;
  }

  DiscoveryRuleConfig DecodeDiscoveryRule(const YamlNode& node, const std::string& path) {
    DiscoveryRuleConfig rule;
    rule.pos = node.pos;
    const size_t problems_before = problems_.size();
    if (!ExpectMap(node, path)) {
      rule.malformed = problems_.size() != problems_before;
      return rule;
    }
    ForEachField(node, path, {"seriesQuery", "seriesFilters", "resources", "name", "metricsQuery"},
                 [&](std::string_view key, const std::string& field_path, const YamlNode& value) {
                   if (key == "seriesQuery") {
                     rule.series_query = DecodeString(value, field_path);
                   } else if (key == "seriesFilters") {
                     rule.series_filters = DecodeSeriesFilters(value, field_path);
                   } else if (key == "resources") {
                     rule.resources = DecodeResourceMapping(value, field_path);
                   } else if (key == "name") {
                     rule.name = DecodeNameMapping(value, field_path);
                   } else {
                     rule.metrics_query = DecodeString(value, field_path);
                   }
                 });
    rule.malformed = problems_.size() != problems_before;
    return rule;
  }

  std::vector<SeriesFilterConfig> DecodeSeriesFilters(const YamlNode& node,
                                                      const std::string& path) {
    std::vector<SeriesFilterConfig> filters;
    if (!ExpectList(node, path)) {
      return filters;
    }
    filters.reserve(node.children.size());
    for (size_t i = 0; i < node.children.size(); ++i) {
      filters.push_back(DecodeSeriesFilter(nodes_[node.children[i]], Index(path, i)));
    }
    return filters;
  }

  SeriesFilterConfig DecodeSeriesFilter(const YamlNode& node, const std::string& path) {
    SeriesFilterConfig filter;
    filter.pos = node.pos;
    const size_t problems_before = problems_.size();
    if (ExpectMap(node, path)) {
      ForEachField(node, path, {"is", "isNot"},
                   [&](std::string_view key, const std::string& field_path, const YamlNode& value) {
                     (key == "is" ? filter.is : filter.is_not) =
                         DecodeOptionalString(value, field_path);
                   });
    }
    if (problems_.size() != problems_before) {
      return filter;  // a malformed filter would only add a misleading second message
    }
    // prometheus-adapter's own messages (pkg/naming NewReMatcher).
    if (filter.is.has_value() && filter.is_not.has_value()) {
      Report(
          filter.pos, path,
          absl::StrCat("cannot have both an `is` (", GoQuote(filter.is->value), ") and `isNot` (",
                       GoQuote(filter.is_not->value), ") expression in a single filter"));
    } else if (!filter.is.has_value() && !filter.is_not.has_value()) {
      Report(filter.pos, path, "must have either an `is` or `isNot` expression in a filter");
    }
    return filter;
  }

  ResourceMappingConfig DecodeResourceMapping(const YamlNode& node, const std::string& path) {
    ResourceMappingConfig mapping;
    mapping.pos = node.pos;
    if (!ExpectMap(node, path)) {
      return mapping;
    }
    ForEachField(node, path, {"overrides", "template", "namespaced"},
                 [&](std::string_view key, const std::string& field_path, const YamlNode& value) {
                   if (key == "overrides") {
                     mapping.overrides = DecodeOverrides(value, field_path);
                   } else if (key == "template") {
                     mapping.template_text = DecodeOptionalString(value, field_path);
                   } else {
                     mapping.namespaced = DecodeBool(value, field_path);
                   }
                 });
    return mapping;
  }

  std::vector<std::pair<std::string, GroupResourceConfig>> DecodeOverrides(
      const YamlNode& node, const std::string& path) {
    std::vector<std::pair<std::string, GroupResourceConfig>> overrides;
    if (!ExpectMap(node, path)) {
      return overrides;
    }
    ForEachEntry(node, path,
                 [&](const YamlNode& label, const std::string& entry_path, const YamlNode& value) {
                   overrides.emplace_back(label.value, DecodeGroupResource(value, entry_path));
                 });
    return overrides;
  }

  GroupResourceConfig DecodeGroupResource(const YamlNode& node, const std::string& path) {
    GroupResourceConfig group_resource;
    group_resource.pos = node.pos;
    if (!ExpectMap(node, path)) {
      return group_resource;
    }
    ForEachField(node, path, {"group", "resource"},
                 [&](std::string_view key, const std::string& field_path, const YamlNode& value) {
                   (key == "group" ? group_resource.group : group_resource.resource) =
                       DecodeString(value, field_path).value;
                 });
    return group_resource;
  }

  NameMappingConfig DecodeNameMapping(const YamlNode& node, const std::string& path) {
    NameMappingConfig name;
    name.pos = node.pos;
    if (!ExpectMap(node, path)) {
      return name;
    }
    ForEachField(node, path, {"matches", "as"},
                 [&](std::string_view key, const std::string& field_path, const YamlNode& value) {
                   (key == "matches" ? name.matches : name.as) =
                       DecodeOptionalString(value, field_path);
                 });
    return name;
  }

  ResourceRulesConfig DecodeResourceRules(const YamlNode& node, const std::string& path) {
    ResourceRulesConfig rules;
    rules.pos = node.pos;
    if (!ExpectMap(node, path)) {
      rules.cpu.malformed = rules.memory.malformed = true;
      return rules;
    }
    ForEachField(node, path, {"cpu", "memory", "window"},
                 [&](std::string_view key, const std::string& field_path, const YamlNode& value) {
                   if (key == "cpu") {
                     rules.cpu = DecodeResourceRule(value, field_path);
                   } else if (key == "memory") {
                     rules.memory = DecodeResourceRule(value, field_path);
                   } else {
                     rules.window = DecodeString(value, field_path);
                   }
                 });
    return rules;
  }

  ResourceRuleConfig DecodeResourceRule(const YamlNode& node, const std::string& path) {
    ResourceRuleConfig rule;
    rule.pos = node.pos;
    const size_t problems_before = problems_.size();
    if (!ExpectMap(node, path)) {
      rule.malformed = problems_.size() != problems_before;
      return rule;
    }
    ForEachField(node, path, {"containerQuery", "nodeQuery", "resources", "containerLabel"},
                 [&](std::string_view key, const std::string& field_path, const YamlNode& value) {
                   if (key == "containerQuery") {
                     rule.container_query = DecodeString(value, field_path);
                   } else if (key == "nodeQuery") {
                     rule.node_query = DecodeString(value, field_path);
                   } else if (key == "resources") {
                     rule.resources = DecodeResourceMapping(value, field_path);
                   } else {
                     rule.container_label = DecodeString(value, field_path);
                   }
                 });
    rule.malformed = problems_.size() != problems_before;
    return rule;
  }

  const std::vector<YamlNode>& nodes_;
  std::vector<Problem>& problems_;
};

void SortByPosition(std::vector<Problem>& problems) {
  std::stable_sort(problems.begin(), problems.end(), [](const Problem& a, const Problem& b) {
    return std::pair(a.pos.line, a.pos.column) < std::pair(b.pos.line, b.pos.column);
  });
}

}  // namespace

ParseResult ParseRulesConfig(std::string_view yaml_text) {
  ParseResult result;
  if (yaml_text.size() > kMaxRulesFileBytes) {
    result.problems.push_back(
        Problem{{1, 1},
                absl::StrCat("the rules file is ", yaml_text.size(),
                             " bytes, more than the limit of ", kMaxRulesFileBytes, " bytes")});
    return result;
  }

  TreeBuilder builder(result.problems);
  try {
    std::istringstream stream{std::string(yaml_text)};
    YAML::Parser parser(stream);
    // Only the first document is read, as yaml.v2's Unmarshal does.
    parser.HandleNextDocument(builder);
  } catch (const YAML::Exception& e) {
    // A truncated tree would only produce follow-on noise: report the syntax error alone.
    result.problems.push_back(Problem{ToPos(e.mark), absl::StrCat("invalid YAML: ", e.msg)});
    SortByPosition(result.problems);
    return result;
  } catch (const std::exception& e) {
    result.problems.push_back(
        Problem{{}, absl::StrCat("unable to parse the rules file: ", e.what())});
    return result;
  } catch (...) {
    result.problems.push_back(Problem{{}, "unable to parse the rules file: unknown error"});
    return result;
  }

  const std::optional<size_t> root = builder.root();
  if (root.has_value()) {
    Decoder decoder(builder.nodes(), result.problems);
    result.config = decoder.DecodeRoot(builder.nodes()[*root]);
  }
  SortByPosition(result.problems);
  return result;
}

}  // namespace ma::config
