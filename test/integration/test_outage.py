"""The real adapter while Prometheus is down, and after it comes back.

Values fail with a clean 503 Status that does not say where Prometheus lives; discovery and
health keep answering from memory; failed relists keep the last good series and are counted;
the process stays up; values come back by themselves once Prometheus does. The value cache is
off here (--cache-ttl=0), so that every read meets the outage.
"""

import unittest
import urllib.parse

import harness

EXTERNAL = "/apis/external.metrics.k8s.io/v1beta1"
CUSTOM = "/apis/custom.metrics.k8s.io/v1beta1"
QUEUE = "orders"
# The exporter's value of queue_depth{namespace="shop",queue=QUEUE}.
QUEUE_DEPTH = harness.spec_value("queue_depth", namespace="shop", queue=QUEUE)
VALUE_PATH = (f"{EXTERNAL}/namespaces/shop/queue_depth?labelSelector=" +
              urllib.parse.quote(f"queue={QUEUE}", safe=""))
CUSTOM_VALUE_PATH = f"{CUSTOM}/namespaces/shop/metrics/namespace_cost"
# Relists run every harness.DEFAULT_RELIST_INTERVAL (5 s): a few of them fit in this bound.
RELIST_WAIT_S = 60
# After Prometheus is back: its start, the adapter's reconnect, a fresh answer.
RECOVERY_WAIT_S = 90


class OutageTest(harness.ClusterTestCase):
    # The uncached path: every read goes to Prometheus. Stale serving from the value cache during
    # an outage is test_cache.py's subject.
    cluster_options = {"adapter_args": ["--cache-ttl=0"]}

    def _discovered(self):
        names = {}
        for gv in (EXTERNAL, CUSTOM):
            doc = self.get_json(gv)
            names[gv] = sorted(r["name"] for r in doc["resources"])
        return names

    def _counter(self, name, **labels):
        return harness.metric_value(self.cluster.adapter_metrics(), name, **labels) or 0

    def _assert_alive(self, when):
        self.assertTrue(self.cluster.adapter_running(), f"the adapter exited {when}")

    def _assert_unavailable(self, path, metric):
        c = self.cluster
        r = c.curl(path)
        self.assertEqual(r.status, 503, f"{path}: {r.body} {r.stderr}")
        self.assertTrue(r.content_type.startswith("application/json"), r.content_type)
        status = r.json()
        self.assertEqual((status["kind"], status["apiVersion"], status["status"]),
                         ("Status", "v1", "Failure"))
        self.assertEqual((status["code"], status["reason"]), (503, "ServiceUnavailable"))
        self.assertIn(metric, status["message"])
        # curl's error text ("Failed to connect to 127.0.0.1 port N") stays in the log.
        for secret in (c.prometheus_url, str(c.prometheus_port), "127.0.0.1", "connect"):
            self.assertNotIn(secret, r.body)

    def test_prometheus_outage_and_recovery(self):
        c = self.cluster
        want = harness.canonical_quantity(repr(QUEUE_DEPTH))

        def listed():
            names = self._discovered()
            return names if "queue_depth" in names[EXTERNAL] else None

        before = harness.wait_until(listed, harness.ADAPTER_READY_TIMEOUT_S,
                                    "queue_depth in external discovery")
        self.assertEqual(self.get_json(VALUE_PATH)["items"][0]["value"], want)
        unavailable_before = self._counter("metrics_adapter_prometheus_requests_total",
                                           endpoint="query", outcome="unavailable")
        failed_relists_before = self._counter("metrics_adapter_relist_failed_queries_total")

        c.stop_prometheus()
        try:
            self._assert_unavailable(VALUE_PATH, "queue_depth")
            self._assert_unavailable(CUSTOM_VALUE_PATH, "namespace_cost")
            self._assert_alive("after its first failed queries")

            # A relist during the outage fails, and is counted...
            harness.wait_until(
                lambda: self._counter("metrics_adapter_relist_failed_queries_total") >
                failed_relists_before, RELIST_WAIT_S, "a failed relist to be counted")
            # ...but discovery keeps what the last good relist found.
            self.assertEqual(self._discovered(), before)
            for path in ("/healthz", "/livez"):
                with self.subTest(path=path):
                    r = c.curl(path)
                    self.assertEqual((r.status, r.body), (200, "ok"), r.stderr)
            samples = c.adapter_metrics()
            self.assertGreater(
                harness.metric_value(samples, "metrics_adapter_relist_failed_queries_total"), 0)
            # Both value requests above went to Prometheus and found it unavailable.
            self.assertGreaterEqual(
                harness.metric_value(samples, "metrics_adapter_prometheus_requests_total",
                                     endpoint="query", outcome="unavailable") or 0,
                unavailable_before + 2)
            self._assert_unavailable(VALUE_PATH, "queue_depth")
            self._assert_alive("during the outage")
        finally:
            c.start_prometheus()

        def recovered():
            r = c.curl(VALUE_PATH)
            return r if r.status == 200 else None

        r = harness.wait_until(recovered, RECOVERY_WAIT_S,
                               f"{VALUE_PATH} to answer 200 after Prometheus restarted",
                               check=lambda: self._assert_alive("after Prometheus restarted"))
        items = r.json()["items"]
        self.assertEqual([(i["metricLabels"], i["value"]) for i in items],
                         [({"queue": QUEUE}, want)])
        self.assertEqual(self._discovered(), before)
        self._assert_alive("after the outage")


if __name__ == "__main__":
    unittest.main()
