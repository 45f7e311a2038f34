"""Metric values served by the real adapter, checked against the exporter's own series.

External metrics by label selector (with the `orders.eu` / `ordersXeu` regex-escaping trap),
a `namespaced: false` rule, custom pod metrics by name and by `*` in v1beta1 and v1beta2, the
namespace metric, metricLabelSelector, NaN, timestamps, and the adapter's own /metrics.
Expected values come from test/data/integration/metrics.txt, read through the exporter's parser.
"""

import calendar
import collections
import decimal
import json
import os
import re
import time
import unittest
import urllib.parse

import harness

EXTERNAL = "/apis/external.metrics.k8s.io/v1beta1"
CUSTOM = "/apis/custom.metrics.k8s.io"
CUSTOM_VERSIONS = ("v1beta1", "v1beta2")
RATE_METRIC = "http_requests_per_second"
# How far a rate may be from the exporter's: scrape-time jitter over a 10 s window.
RATE_TOLERANCE = decimal.Decimal("0.1")
# A value's timestamp is the evaluation time of the query the adapter sent just now.
TIMESTAMP_SLACK_S = 5
# The adapter's default --cache-ttl: an answer may come from memory, with the timestamp of the
# evaluation that produced it, at most this old (refresh-ahead keeps it younger for hot keys).
CACHE_TTL_S = 15
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def _spec():
    """{series name: [(labels dict, value, rate)]} of the integration metrics spec."""
    _, samples = harness.exporter.parse_spec(
        harness.DEFAULT_METRICS_SPEC.read_text(encoding="utf-8"))
    by_name = collections.defaultdict(list)
    for (name, labels), value, rate in samples:
        by_name[name].append((dict(labels), value, rate))
    return by_name


SPEC = _spec()


def _external(namespace, metric, selector=None):
    path = f"{EXTERNAL}/namespaces/{namespace}/{metric}"
    if selector is not None:
        path += "?labelSelector=" + urllib.parse.quote(selector, safe="")
    return path


def _custom(version, namespace, resource, name, metric, metric_selector=None):
    path = f"{CUSTOM}/{version}/namespaces/{namespace}/{resource}/{name}/{metric}"
    if metric_selector is not None:
        path += "?metricLabelSelector=" + urllib.parse.quote(metric_selector, safe="")
    return path


def _queue_depths(namespace):
    return {labels["queue"]: value for labels, value, _ in SPEC["queue_depth"]
            if labels["namespace"] == namespace}


def _quantity(value):
    """The canonical Quantity of a spec value (a float that came from decimal text)."""
    return harness.canonical_quantity(repr(value))


def _parse_time(text):
    return calendar.timegm(time.strptime(text, TIMESTAMP_FORMAT))


class MetricsApiTest(harness.ClusterTestCase):

    def _get(self, path):
        """curl GET; returns (status, decoded JSON body)."""
        r = self.cluster.curl(path)
        self.assertTrue(r.content_type.startswith("application/json"),
                        f"{path}: {r.status} {r.content_type} {r.body[:300]!r} {r.stderr}")
        return r.status, r.json()

    def _external_values(self, namespace, metric, selector=None):
        doc = self.get_json(_external(namespace, metric, selector))
        self.assertEqual(doc["kind"], "ExternalMetricValueList")
        self.assertEqual(doc["apiVersion"], "external.metrics.k8s.io/v1beta1")
        self.assertEqual(doc["metadata"], {})
        for item in doc["items"]:
            self.assertEqual(item["metricName"], metric)
            self.assertEqual(item["value"], harness.canonical_quantity(
                harness.parse_quantity(item["value"])), "value is not a canonical Quantity")
        return doc["items"]

    def _assert_status(self, status, body, code, reason):
        self.assertEqual(status, code, body)
        self.assertEqual((body["kind"], body["apiVersion"], body["status"]),
                         ("Status", "v1", "Failure"))
        self.assertEqual((body["code"], body["reason"]), (code, reason), body)

    # ---- external metrics ------------------------------------------------------------------

    def test_external_equality_selector(self):
        items = self._external_values("shop", "queue_depth", "queue=orders")
        self.assertEqual(len(items), 1, items)
        self.assertEqual(items[0]["metricLabels"], {"queue": "orders"})
        self.assertEqual(items[0]["value"],
                         _quantity(_queue_depths("shop")["orders"]))
        self.assertEqual(list(items[0]), ["metricName", "metricLabels", "timestamp", "value"])

    def test_external_set_selector_does_not_treat_the_dot_as_a_wildcard(self):
        # The decoy exists and an unescaped regex would catch it: the test means something.
        self.assertEqual(
            len(self.cluster.prometheus_query('queue_depth{namespace="shop",queue=~"orders.eu"}')),
            2)
        items = self._external_values("shop", "queue_depth", "queue in (orders.eu)")
        self.assertEqual([i["metricLabels"] for i in items], [{"queue": "orders.eu"}])
        self.assertEqual(items[0]["value"],
                         _quantity(_queue_depths("shop")["orders.eu"]))

    def test_external_selectors_select_series(self):
        depths = _queue_depths("shop")
        cases = [
            ("queue in (orders,payments)", {"orders", "payments"}),
            ("queue notin (orders,orders.eu)", set(depths) - {"orders", "orders.eu"}),
            ("queue!=orders", set(depths) - {"orders"}),
            ("queue", set(depths)),
            ("", set(depths)),
            ("queue=no-such-queue", set()),
        ]
        for selector, queues in cases:
            with self.subTest(selector=selector):
                items = self._external_values("shop", "queue_depth", selector)
                got = {i["metricLabels"]["queue"]: i["value"] for i in items}
                self.assertEqual(got, {q: _quantity(depths[q]) for q in queues})

    def test_external_namespaced_rule_uses_the_namespace(self):
        for namespace in ("shop", "billing", "no-such-namespace"):
            with self.subTest(namespace=namespace):
                items = self._external_values(namespace, "queue_depth")
                got = {i["metricLabels"]["queue"]: i["value"] for i in items}
                self.assertEqual(got, {q: _quantity(v)
                                       for q, v in _queue_depths(namespace).items()})

    def test_external_not_namespaced_rule_ignores_the_namespace(self):
        want = sorted(({"source": labels["source"]}, _quantity(value))
                      for labels, value, _ in SPEC["cluster_backlog_seconds"])
        self.assertTrue(want)
        for namespace in ("shop", "billing", "no-such-namespace"):
            with self.subTest(namespace=namespace):
                items = self._external_values(namespace, "cluster_backlog_seconds")
                self.assertEqual(sorted((i["metricLabels"], i["value"]) for i in items), want)

    def test_external_nan_is_404_not_a_value(self):
        status, body = self._get(_external("shop", "stale_ratio"))
        self._assert_status(status, body, 404, "NotFound")
        self.assertIn("not a finite number", body["message"])
        self.assertIn("stale_ratio", body["message"])

    # ---- custom metrics --------------------------------------------------------------------

    def _assert_pod_item(self, version, item, namespace, pod, metric, selector=None):
        self.assertEqual(list(item["describedObject"]), ["kind", "namespace", "name", "apiVersion"])
        self.assertEqual(item["describedObject"], {
            "kind": "Pod",
            "namespace": namespace,
            "name": pod,
            "apiVersion": "v1"
        })
        if version == "v1beta1":
            self.assertEqual(list(item),
                             ["describedObject", "metricName", "timestamp", "value", "selector"])
            self.assertEqual(item["metricName"], metric)
            self.assertEqual(item["selector"], selector)
        else:
            self.assertEqual(list(item), ["describedObject", "metric", "timestamp", "value"])
            self.assertEqual(item["metric"], {"name": metric, "selector": selector})
        time.strptime(item["timestamp"], TIMESTAMP_FORMAT)
        harness.parse_quantity(item["value"])

    def _custom_list(self, version, path):
        doc = self.get_json(path)
        self.assertEqual(doc["kind"], "MetricValueList")
        self.assertEqual(doc["apiVersion"], f"custom.metrics.k8s.io/{version}")
        self.assertEqual(doc["metadata"], {})
        return doc["items"]

    def test_custom_pod_by_name_in_both_versions(self):
        for version in CUSTOM_VERSIONS:
            with self.subTest(version=version):
                items = self._custom_list(
                    version, _custom(version, "shop", "pods", "web-1", RATE_METRIC))
                self.assertEqual(len(items), 1, items)
                self._assert_pod_item(version, items[0], "shop", "web-1", RATE_METRIC)

    def test_custom_rate_is_the_exporters_rate(self):
        counters = [(labels, rate) for labels, _, rate in SPEC["http_requests_total"]]
        self.assertTrue(counters)
        for labels, rate in counters:
            want = decimal.Decimal(repr(rate))
            path = _custom("v1beta2", labels["namespace"], "pods", labels["pod"], RATE_METRIC)

            def settled(path=path, want=want):
                code, out, _ = self.cluster.kubectl_raw(path)
                if code != 0:
                    return None
                items = json.loads(out)["items"]
                value = harness.parse_quantity(items[0]["value"])
                return value if abs(value - want) <= want * RATE_TOLERANCE else None

            # rate() over a window that is not yet full of samples is low: wait for it to fill.
            with self.subTest(pod=labels["pod"]):
                value = harness.wait_until(settled, harness.SAMPLES_TIMEOUT_S,
                                           f"{path} to be within {RATE_TOLERANCE} of {want}")
                self.assertLessEqual(abs(value - want), want * RATE_TOLERANCE)

    def test_custom_wildcard_lists_the_pods_that_have_the_series(self):
        pods_by_namespace = collections.defaultdict(set)
        for labels, _, _ in SPEC["http_requests_total"]:
            pods_by_namespace[labels["namespace"]].add(labels["pod"])
        for version in CUSTOM_VERSIONS:
            for namespace, pods in pods_by_namespace.items():
                # `*` sent as is (curl --globoff) and percent-encoded, as client-go sends it.
                for star in ("*", "%2A"):
                    with self.subTest(version=version, namespace=namespace, star=star):
                        status, doc = self._get(
                            _custom(version, namespace, "pods", star, RATE_METRIC))
                        self.assertEqual(status, 200, doc)
                        self.assertEqual(doc["apiVersion"], f"custom.metrics.k8s.io/{version}")
                        names = [i["describedObject"]["name"] for i in doc["items"]]
                        self.assertEqual(sorted(names), sorted(pods))
                        for item in doc["items"]:
                            self._assert_pod_item(version, item, namespace,
                                                  item["describedObject"]["name"], RATE_METRIC)

    def test_custom_wildcard_with_label_selector_needs_kubernetes(self):
        path = _custom("v1beta1", "shop", "pods", "*", RATE_METRIC) + "?labelSelector=app%3Dweb"
        status, body = self._get(path)
        self._assert_status(status, body, 400, "BadRequest")
        self.assertIn("needs the Kubernetes API", body["message"])

    def test_namespace_metric(self):
        costs = {labels["namespace"]: value for labels, value, _ in SPEC["namespace_cost"]}
        self.assertIn("shop", costs)
        for version in CUSTOM_VERSIONS:
            for namespace, cost in costs.items():
                with self.subTest(version=version, namespace=namespace):
                    path = f"{CUSTOM}/{version}/namespaces/{namespace}/metrics/namespace_cost"
                    items = self._custom_list(version, path)
                    self.assertEqual(len(items), 1, items)
                    item = items[0]
                    # A namespace is not in a namespace: no namespace field at all.
                    self.assertEqual(list(item["describedObject"]), ["kind", "name", "apiVersion"])
                    self.assertEqual(item["describedObject"], {
                        "kind": "Namespace",
                        "name": namespace,
                        "apiVersion": "v1"
                    })
                    self.assertEqual(item["value"], _quantity(cost))
                    name = item["metricName"] if version == "v1beta1" else item["metric"]["name"]
                    self.assertEqual(name, "namespace_cost")

    def test_custom_metric_label_selector(self):
        cases = [
            ("pod=web-1", {"matchLabels": {"pod": "web-1"}}),
            ("pod in (web-1)", {
                "matchExpressions": [{
                    "key": "pod",
                    "operator": "In",
                    "values": ["web-1"]
                }]
            }),
        ]
        for version in CUSTOM_VERSIONS:
            for selector, echoed in cases:
                with self.subTest(version=version, selector=selector):
                    items = self._custom_list(
                        version, _custom(version, "shop", "pods", "web-1", RATE_METRIC, selector))
                    self.assertEqual(len(items), 1, items)
                    self._assert_pod_item(version, items[0], "shop", "web-1", RATE_METRIC, echoed)

    def test_custom_metric_label_selector_reaches_the_query(self):
        # A selector that excludes web-1's series leaves nothing for web-1.
        status, body = self._get(
            _custom("v1beta1", "shop", "pods", "web-1", RATE_METRIC, "pod=web-2"))
        self._assert_status(status, body, 404, "NotFound")
        self.assertIn(RATE_METRIC, body["message"])

    def test_custom_nan_is_404_not_zero(self):
        nan_pods = [labels for labels, value, _ in SPEC["stale_ratio"] if value != value]
        self.assertTrue(nan_pods)
        for labels in nan_pods:
            for version in CUSTOM_VERSIONS:
                with self.subTest(version=version, pod=labels["pod"]):
                    status, body = self._get(
                        _custom(version, labels["namespace"], "pods", labels["pod"], "stale_ratio"))
                    self._assert_status(status, body, 404, "NotFound")
                    self.assertIn("not a finite number", body["message"])
                    self.assertIn("stale_ratio", body["message"])

    # ---- timestamps ------------------------------------------------------------------------

    def test_timestamps_are_evaluation_times(self):
        paths = [
            _external("shop", "queue_depth"),
            _custom("v1beta1", "shop", "pods", "*", RATE_METRIC),
            _custom("v1beta2", "shop", "pods", "*", RATE_METRIC),
            f"{CUSTOM}/v1beta1/namespaces/shop/metrics/namespace_cost",
        ]
        for path in paths:
            with self.subTest(path=path):
                before = time.time()
                status, doc = self._get(path)
                after = time.time()
                self.assertEqual(status, 200, doc)
                self.assertTrue(doc["items"], doc)
                stamps = {item["timestamp"] for item in doc["items"]}
                # One instant query, one evaluation time for every sample.
                self.assertEqual(len(stamps), 1, stamps)
                stamp = _parse_time(stamps.pop())  # whole seconds, UTC, literal Z
                # Never the adapter's clock at serving time when cached, never the epoch or 0.
                self.assertGreaterEqual(stamp, int(before) - CACHE_TTL_S - TIMESTAMP_SLACK_S)
                self.assertLessEqual(stamp, after + TIMESTAMP_SLACK_S)

    # ---- the adapter's own metrics ---------------------------------------------------------

    def test_self_metrics(self):
        r = self.cluster.curl("/metrics")
        self.assertEqual(r.status, 200, r.body)
        self.assertTrue(r.content_type.startswith("text/plain; version=0.0.4"), r.content_type)
        before = harness.parse_exposition(r.body)
        self._external_values("shop", "queue_depth", "queue=orders")
        after = self.cluster.adapter_metrics()

        def served(samples):
            return harness.metric_value(samples, "metrics_adapter_requests_total", code="200",
                                        route="external_metric") or 0

        # This class runs one request at a time: exactly the one above was counted.
        self.assertEqual(served(after) - served(before), 1)

        build = [(labels, value) for (name, labels), value in after.items()
                 if name == "metrics_adapter_build_info"]
        self.assertEqual(len(build), 1, build)
        labels, value = build[0]
        self.assertEqual(value, 1)
        version = self.get_json("/version")
        self.assertEqual(dict(labels).get("version"), version["gitVersion"])
        self.assertEqual(dict(labels).get("commit"), version["gitCommit"])
        self.assertNotIn(version["gitCommit"], ("", "unknown"))
        machine = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine,
                                                              os.uname().machine)
        self.assertEqual(version["platform"], f"linux/{machine}")

        discovered = self.get_json(f"{EXTERNAL}")["resources"]
        self.assertEqual(
            harness.metric_value(after, "metrics_adapter_registry_metrics", api="external"),
            len(discovered))
        custom_discovered = self.get_json(f"{CUSTOM}/v1beta1")["resources"]
        self.assertEqual(
            harness.metric_value(after, "metrics_adapter_registry_metrics", api="custom"),
            len(custom_discovered))
        # externalRules[0] lists the queue_depth series of the spec (nothing here adds any). The
        # label is the rule's id, which /readyz?verbose shows next to its position.
        states = self.cluster.curl("/readyz?verbose").body
        rule_id = re.search(r"externalRules\[0\] \((externalRules:[0-9a-f]{8})\): ok", states)
        self.assertIsNotNone(rule_id, states)
        self.assertEqual(
            harness.metric_value(after, "metrics_adapter_rule_series", rule=rule_id.group(1)),
            len(SPEC["queue_depth"]))
        self.assertFalse([k for k in after if dict(k[1]).get("rule", "").endswith("]")],
                         "a rule label is a position")


if __name__ == "__main__":
    unittest.main()
