#include "queries/planner/query_plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "queries/config/rules_config.h"
#include "queries/rules/rule_set.h"
#include "test/testing/config_gen_rules.h"

namespace ma::planner {
namespace {

using ::testing::HasSubstr;

std::shared_ptr<const rules::RuleSet> Compile(std::string_view yaml) {
  const auto parsed = config::ParseRulesConfig(yaml);
  EXPECT_TRUE(parsed.problems.empty()) << parsed.problems.front().message;
  auto compiled = rules::CompileRules(parsed.config, {.mapper = model::BuiltinResourceMapper()});
  EXPECT_TRUE(compiled.problems.empty()) << compiled.problems.front().message;
  return compiled.rule_set;
}

model::Series S(std::string name, model::LabelSet labels) {
  return {std::move(name), std::move(labels)};
}

// The series of prometheus-adapter's series_registry_test, grouped by the seriesQuery that would
// list them.
registry::SeriesByQuery ConfigGenSeries() {
  registry::SeriesByQuery series;
  series[R"({__name__=~"^container_.*",container!="POD",namespace!="",pod!=""})"] = {
      S("container_some_time_seconds_total",
        {{"pod", "somepod"}, {"namespace", "somens"}, {"container", "somecont"}}),
      S("container_some_count_total",
        {{"pod", "somepod"}, {"namespace", "somens"}, {"container", "somecont"}}),
      S("container_some_usage",
        {{"pod", "somepod"}, {"namespace", "somens"}, {"container", "somecont"}}),
  };
  series[R"({kube_namespace!="",__name__!~"^container_.*"})"] = {
      S("node_gigawatts", {{"kube_node", "somenode"}}),
      S("service_proxy_packets", {{"kube_service", "somesvc"}, {"kube_namespace", "somens"}}),
      S("ingress_hits_total", {{"kube_ingress", "someingress"},
                               {"kube_service", "somesvc"},
                               {"kube_pod", "backend1"},
                               {"kube_namespace", "somens"}}),
      S("ingress_hits_total", {{"kube_ingress", "someingress"},
                               {"kube_service", "somesvc"},
                               {"kube_pod", "backend2"},
                               {"kube_namespace", "somens"}}),
      S("volume_claims_total", {{"kube_persistentvolume", "somepv"}}),
      S("work_queue_wait_seconds_total",
        {{"kube_deployment", "somedep"}, {"kube_namespace", "somens"}}),
      S("node_fan_seconds_total", {{"kube_node", "somenode"}}),
  };
  return series;
}

selector::LabelSelector Sel(std::string_view text) {
  auto parsed = selector::LabelSelector::Parse(text);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.ok() ? *parsed : selector::LabelSelector();
}

struct CustomCase {
  std::string title;
  std::string resource;
  std::string namespace_name;
  std::string metric;
  std::vector<std::string> names;
  std::string metric_selector;
  std::string want;
};

// The expected queries are prometheus-adapter's own (series_registry_test.go), except that
// several object names are regex-escaped (docs/design.md) — these names have nothing to
// escape, so the text is identical.
TEST(PlanCustomTest, MatchesPrometheusAdapterForConfigGenRules) {
  const auto registry =
      registry::MetricRegistry::Build(Compile(testing::kConfigGenRulesYaml), ConfigGenSeries());
  const auto mapper = model::BuiltinResourceMapper();
  const CustomCase cases[] = {
      {"container gauge, several names",
       "pods",
       "somens",
       "some_usage",
       {"somepod1", "somepod2"},
       "",
       R"(sum(container_some_usage{namespace="somens",pod=~"somepod1|somepod2",container!="POD"}) by (pod))"},
      {"container counter",
       "pods",
       "somens",
       "some_count",
       {"somepod1", "somepod2"},
       "",
       R"(sum(rate(container_some_count_total{namespace="somens",pod=~"somepod1|somepod2",container!="POD"}[1m])) by (pod))"},
      {"container seconds counter",
       "pods",
       "somens",
       "some_time",
       {"somepod1", "somepod2"},
       "",
       R"(sum(rate(container_some_time_seconds_total{namespace="somens",pod=~"somepod1|somepod2",container!="POD"}[1m])) by (pod))"},
      {"namespaced counter, service",
       "service",
       "somens",
       "ingress_hits",
       {"somesvc"},
       "",
       R"(sum(rate(ingress_hits_total{kube_namespace="somens",kube_service="somesvc"}[1m])) by (kube_service))"},
      {"namespaced counter, metric selector",
       "service",
       "somens",
       "ingress_hits",
       {"somesvc"},
       "param1=value1",
       R"(sum(rate(ingress_hits_total{param1="value1",kube_namespace="somens",kube_service="somesvc"}[1m])) by (kube_service))"},
      {"namespaced counter, ingress",
       "ingresses.networking.k8s.io",
       "somens",
       "ingress_hits",
       {"someingress"},
       "",
       R"(sum(rate(ingress_hits_total{kube_namespace="somens",kube_ingress="someingress"}[1m])) by (kube_ingress))"},
      {"namespaced counter, pod",
       "pod",
       "somens",
       "ingress_hits",
       {"somepod"},
       "",
       R"(sum(rate(ingress_hits_total{kube_namespace="somens",kube_pod="somepod"}[1m])) by (kube_pod))"},
      {"namespaced gauge",
       "services",
       "somens",
       "service_proxy_packets",
       {"somesvc"},
       "",
       R"(sum(service_proxy_packets{kube_namespace="somens",kube_service="somesvc"}) by (kube_service))"},
      {"namespaced seconds counter",
       "deployments.apps",
       "somens",
       "work_queue_wait",
       {"somedep"},
       "",
       R"(sum(rate(work_queue_wait_seconds_total{kube_namespace="somens",kube_deployment="somedep"}[1m])) by (kube_deployment))"},
      {"root-scoped gauge",
       "node",
       "",
       "node_gigawatts",
       {"somenode"},
       "",
       R"(sum(node_gigawatts{kube_node="somenode"}) by (kube_node))"},
      {"root-scoped counter",
       "persistentvolume",
       "",
       "volume_claims",
       {"somepv"},
       "",
       R"(sum(rate(volume_claims_total{kube_persistentvolume="somepv"}[1m])) by (kube_persistentvolume))"},
      {"root-scoped seconds counter",
       "nodes",
       "",
       "node_fan",
       {"somenode"},
       "",
       R"(sum(rate(node_fan_seconds_total{kube_node="somenode"}[1m])) by (kube_node))"},
      {"namespace metric",
       "namespaces",
       "",
       "ingress_hits",
       {"somens"},
       "",
       R"(sum(rate(ingress_hits_total{kube_namespace="somens"}[1m])) by (kube_namespace))"},
      {"regex-escaped names (deliberate difference)",
       "pods",
       "somens",
       "some_usage",
       {"web.1", "api.v2"},
       "",
       R"(sum(container_some_usage{namespace="somens",pod=~"web\\.1|api\\.v2",container!="POD"}) by (pod))"},
      {"selector operators in key order",
       "pods",
       "somens",
       "some_usage",
       {"a"},
       "zone in (b,a),tier!=x,!gone,present",
       R"(sum(container_some_usage{gone="",present!="",tier!="x",zone=~"a|b",namespace="somens",pod="a",container!="POD"}) by (pod))"},
  };
  for (const auto& c : cases) {
    CustomRequest request{c.namespace_name, c.resource, c.metric, Sel(c.metric_selector)};
    auto plan = PlanCustom(*registry, *mapper, request, {c.names, false});
    ASSERT_TRUE(plan.ok()) << c.title << ": " << plan.status();
    EXPECT_EQ(plan->promql, c.want) << c.title;
  }
}

TEST(PlanCustomTest, WildcardWithoutObjectListMatchesEveryObject) {
  const auto registry =
      registry::MetricRegistry::Build(Compile(testing::kConfigGenRulesYaml), ConfigGenSeries());
  CustomRequest request{"somens", "pods", "some_usage", {}};
  auto plan = PlanCustom(*registry, *model::BuiltinResourceMapper(), request, {{}, true});
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->promql,
            R"(sum(container_some_usage{namespace="somens",pod!="",container!="POD"}) by (pod))");
  EXPECT_EQ(plan->resource_label, "pod");
}

TEST(PlanCustomTest, ErrorsSayWhatIsWrong) {
  const auto registry =
      registry::MetricRegistry::Build(Compile(testing::kConfigGenRulesYaml), ConfigGenSeries());
  const auto mapper = model::BuiltinResourceMapper();
  struct Case {
    CustomRequest request;
    std::vector<std::string> names;
    absl::StatusCode code;
    std::string message;
  };
  const Case cases[] = {
      {{"somens", "pods", "no_such_metric", {}},
       {"a"},
       absl::StatusCode::kNotFound,
       "the server could not find the metric no_such_metric for pods"},
      // node metrics are root-scoped: asking through a namespace misses the registry.
      {{"somens", "nodes", "node_fan", {}},
       {"a"},
       absl::StatusCode::kNotFound,
       "the server could not find the metric node_fan for nodes"},
      {{"somens", "widgets", "some_usage", {}},
       {"a"},
       absl::StatusCode::kNotFound,
       "the server could not find the metric some_usage for widgets"},
      {{"somens", "pods", "some_usage", {}},
       {},
       absl::StatusCode::kNotFound,
       "the server could not find the metric some_usage for pods"},
      {{"somens", "pods", "some_usage", Sel("app.kubernetes.io/name=web")},
       {"a"},
       absl::StatusCode::kInvalidArgument,
       "app.kubernetes.io/name"},
      {{"somens", "pods", "some_usage", Sel("replicas>3")},
       {"a"},
       absl::StatusCode::kInvalidArgument,
       "operator not supported by prometheus"},
      {{"some\"ns", "pods", "some_usage", {}},
       {"a"},
       absl::StatusCode::kInvalidArgument,
       "is not a valid Kubernetes name"},
      {{"somens", "pods", "some_usage", {}},
       {"a\"})"},
       absl::StatusCode::kInvalidArgument,
       "is not a valid Kubernetes name"},
  };
  for (const auto& c : cases) {
    auto plan = PlanCustom(*registry, *mapper, c.request, {c.names, false});
    ASSERT_FALSE(plan.ok()) << c.message;
    EXPECT_EQ(plan.status().code(), c.code) << plan.status();
    EXPECT_THAT(std::string(plan.status().message()), HasSubstr(c.message));
  }
}

constexpr std::string_view kExternalRules = R"yaml(externalRules:
- seriesQuery: '{__name__="queue_depth",namespace!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)
- seriesQuery: '{__name__="cluster_load"}'
  resources:
    namespaced: false
  metricsQuery: max(<<.Series>>{<<.LabelMatchers>>})
- seriesQuery: '{__name__=~"^jobs_.*_total$"}'
  resources:
    template: <<.Resource>>
  name:
    matches: ^jobs_(.*)_total$
    as: ${1}_per_second
  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) <<.GroupBy>> <<len .GroupBySlice>>
)yaml";

registry::SeriesByQuery ExternalSeries() {
  registry::SeriesByQuery series;
  series[R"({__name__="queue_depth",namespace!=""})"] = {
      S("queue_depth", {{"namespace", "shop"}, {"queue", "orders"}})};
  series[R"({__name__="cluster_load"})"] = {S("cluster_load", {})};
  series[R"({__name__=~"^jobs_.*_total$"})"] = {S("jobs_done_total", {{"namespace", "x"}})};
  return series;
}

TEST(PlanExternalTest, BuildsQueries) {
  const auto registry = registry::MetricRegistry::Build(Compile(kExternalRules), ExternalSeries());
  struct Case {
    ExternalRequest request;
    std::string want;
  };
  const Case cases[] = {
      {{"shop", "queue_depth", Sel("queue=orders")},
       R"(sum(queue_depth{queue="orders",namespace="shop"}) by (queue))"},
      {{"shop", "queue_depth", Sel("queue in (orders,pay.ments)")},
       R"(sum(queue_depth{queue=~"orders|pay\\.ments",namespace="shop"}) by (queue))"},
      {{"shop", "queue_depth", {}}, R"(sum(queue_depth{namespace="shop"}) by (queue))"},
      // namespaced: false ignores the request namespace.
      {{"shop", "cluster_load", {}}, R"(max(cluster_load{}))"},
      // GroupBy is always empty for external rules.
      {{"x", "done_per_second", {}},
       R"(sum(rate(jobs_done_total{namespace="x"}[2m])))"
       R"(  0)"},
  };
  for (const auto& c : cases) {
    auto plan = PlanExternal(*registry, c.request);
    ASSERT_TRUE(plan.ok()) << c.request.metric << ": " << plan.status();
    EXPECT_EQ(plan->promql, c.want);
  }
  auto missing = PlanExternal(*registry, {"default", "nope", {}});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "the server could not find the metric nope for namespaces");
}

model::Sample Sample(model::LabelSet labels, double value, int64_t ts) {
  return {std::move(labels), value, ts};
}

TEST(MapCustomResultTest, KeepsRequestOrderAndDropsMissingAndNonFinite) {
  CustomPlan plan;
  plan.metric = "m";
  plan.resource_text = "pods";
  plan.resource_label = "pod";
  plan.objects.names = {"b", "a", "gone", "nan"};
  model::QueryResult result;
  result.samples = {Sample({{"pod", "a"}}, 1.5, 1000), Sample({{"pod", "b"}}, 2, 2000),
                    Sample({{"pod", "nan"}}, std::nan(""), 3000)};
  auto values = MapCustomResult(plan, result);
  ASSERT_TRUE(values.ok());
  ASSERT_EQ(values->size(), 2u);
  EXPECT_EQ((*values)[0].name, "b");
  EXPECT_EQ((*values)[0].timestamp_ms, 2000);
  EXPECT_EQ((*values)[1].name, "a");
  EXPECT_EQ((*values)[1].value, 1.5);
}

TEST(MapCustomResultTest, ByNameMissingOrNaNIsNotFound) {
  CustomPlan plan;
  plan.metric = "m";
  plan.resource_text = "pods";
  plan.resource_label = "pod";
  plan.objects.names = {"web-1"};
  model::QueryResult empty;
  auto missing = MapCustomResult(plan, empty);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "the server could not find the metric m for pods web-1");
  model::QueryResult nan;
  nan.samples = {Sample({{"pod", "web-1"}}, std::nan(""), 1)};
  auto not_finite = MapCustomResult(plan, nan);
  EXPECT_EQ(not_finite.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(not_finite.status().message()), HasSubstr("not a finite number"));
}

TEST(MapCustomResultTest, AllObjectsAreSortedByName) {
  CustomPlan plan;
  plan.resource_label = "pod";
  plan.objects.all_objects = true;
  model::QueryResult result;
  result.samples = {Sample({{"pod", "z"}}, 1, 1), Sample({{"pod", "a"}}, 2, 1),
                    Sample({{"other", "x"}}, 3, 1)};
  auto values = MapCustomResult(plan, result);
  ASSERT_TRUE(values.ok());
  ASSERT_EQ(values->size(), 2u);
  EXPECT_EQ((*values)[0].name, "a");
  EXPECT_EQ((*values)[1].name, "z");
}

TEST(MapExternalResultTest, VectorScalarAndNonFinite) {
  ExternalPlan plan{"q", "queue_depth"};
  model::QueryResult vector;
  vector.samples = {Sample({{"queue", "orders"}}, 42, 5000)};
  auto values = MapExternalResult(plan, vector);
  ASSERT_TRUE(values.ok());
  ASSERT_EQ(values->size(), 1u);
  EXPECT_EQ((*values)[0].labels->at("queue"), "orders");
  EXPECT_EQ((*values)[0].timestamp_ms, 5000);

  model::QueryResult scalar;
  scalar.type = model::ResultType::kScalar;
  scalar.samples = {Sample({}, 7, 1)};
  auto scalar_values = MapExternalResult(plan, scalar);
  ASSERT_TRUE(scalar_values.ok());
  EXPECT_FALSE((*scalar_values)[0].labels.has_value());

  model::QueryResult inf;
  inf.samples = {Sample({{"queue", "a"}}, 1, 1),
                 Sample({{"queue", "b"}}, std::numeric_limits<double>::infinity(), 1)};
  EXPECT_EQ(MapExternalResult(plan, inf).status().code(), absl::StatusCode::kNotFound);

  model::QueryResult matrix;
  matrix.type = model::ResultType::kMatrix;
  EXPECT_EQ(MapExternalResult(plan, matrix).status().code(), absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace ma::planner
