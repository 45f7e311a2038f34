"""The value cache against a real Prometheus that goes away and comes back.

With a short --cache-ttl and --cache-max-stale: a value read once is served from memory (hits
counted); while Prometheus is down the last value is served unchanged, with its own timestamp,
for at most max-stale (stale reads counted), then reads fail with a clean 503 Status; once
Prometheus is back the value returns by itself. The process never exits.
"""

import unittest
import urllib.parse

import harness

EXTERNAL = "/apis/external.metrics.k8s.io/v1beta1"
QUEUE = "orders"
QUEUE_DEPTH = harness.spec_value("queue_depth", namespace="shop", queue=QUEUE)
VALUE_PATH = (f"{EXTERNAL}/namespaces/shop/queue_depth?labelSelector=" +
              urllib.parse.quote(f"queue={QUEUE}", safe=""))
TTL_S = 2
# Long enough that stopping Prometheus (SIGTERM, flush) fits well inside it.
MAX_STALE_S = 20
# Reads until the stale window has surely closed: max-stale, plus a margin for slow machines.
STALE_END_WAIT_S = MAX_STALE_S + 40
# After Prometheus is back: its start, the breaker's backoff (30 s at most), a fresh answer.
RECOVERY_WAIT_S = 90
HIT_WAIT_S = 30
BACKEND = {"backend": "prometheus"}


class CacheTest(harness.ClusterTestCase):
    cluster_options = {
        "adapter_args": [f"--cache-ttl={TTL_S}s", f"--cache-max-stale={MAX_STALE_S}s"]
    }

    def _counter(self, name, **labels):
        return harness.metric_value(self.cluster.adapter_metrics(), name, **labels) or 0

    def _assert_alive(self, when):
        self.assertTrue(self.cluster.adapter_running(), f"the adapter exited {when}")

    def _read(self):
        """(status, item or Status document) of one value read over curl."""
        r = self.cluster.curl(VALUE_PATH)
        self.assertIn(r.status, (200, 503), f"{r.body} {r.stderr}")
        doc = r.json()
        if r.status == 200:
            self.assertEqual(len(doc["items"]), 1, doc)
            return r.status, doc["items"][0]
        return r.status, doc

    def test_stale_within_max_stale_then_503_then_recovery(self):
        c = self.cluster
        want = harness.canonical_quantity(repr(QUEUE_DEPTH))
        harness.wait_until(lambda: "queue_depth" in str(self.get_json(EXTERNAL)),
                           harness.ADAPTER_READY_TIMEOUT_S, "queue_depth in external discovery")
        status, item = self._read()
        self.assertEqual(status, 200, item)
        self.assertEqual(item["value"], want)

        # A hot key is answered from memory (refreshed ahead of its TTL in the background).
        hits_before = self._counter("metrics_adapter_cache_hits_total", **BACKEND)

        def hit():
            self.assertEqual(self._read()[0], 200)
            return self._counter("metrics_adapter_cache_hits_total", **BACKEND) > hits_before

        harness.wait_until(hit, HIT_WAIT_S, "a cache hit to be counted")
        stale_before = self._counter("metrics_adapter_cache_stale_served_total", **BACKEND)

        c.stop_prometheus()
        try:
            stale_items = []

            def unavailable():
                status, doc = self._read()
                if status == 200:
                    stale_items.append(doc)
                    return None
                return doc

            status_doc = harness.wait_until(unavailable, STALE_END_WAIT_S,
                                            "reads to fail once the value is older than max-stale",
                                            check=lambda: self._assert_alive("during the outage"))
            # Served stale first: the same value, and the sample's own timestamp, never "now".
            self.assertGreater(len(stale_items), 0, "no stale value was served")
            self.assertEqual({i["value"] for i in stale_items}, {want})
            self.assertEqual(len({i["timestamp"] for i in stale_items}), 1, stale_items)
            self.assertGreater(
                self._counter("metrics_adapter_cache_stale_served_total", **BACKEND),
                stale_before)
            # Then a clean 503 Status that does not say where Prometheus lives.
            self.assertEqual((status_doc["kind"], status_doc["status"], status_doc["code"],
                              status_doc["reason"]),
                             ("Status", "Failure", 503, "ServiceUnavailable"), status_doc)
            self.assertIn("queue_depth", status_doc["message"])
            for secret in (c.prometheus_url, str(c.prometheus_port), "127.0.0.1", "connect"):
                self.assertNotIn(secret, status_doc["message"])
            # Discovery and health never wait on the backend.
            r = c.curl("/readyz")
            self.assertEqual(r.status, 200, r.body)
            self._assert_alive("after max-stale ran out")
        finally:
            c.start_prometheus()

        def recovered():
            # A restarted Prometheus may answer without the sample (404) until it scrapes again.
            r = c.curl(VALUE_PATH)
            return r.json()["items"][0] if r.status == 200 else None

        item = harness.wait_until(recovered, RECOVERY_WAIT_S,
                                  f"{VALUE_PATH} to answer 200 after Prometheus restarted",
                                  check=lambda: self._assert_alive("after Prometheus restarted"))
        self.assertEqual((item["metricLabels"], item["value"]), ({"queue": QUEUE}, want))
        samples = c.adapter_metrics()
        self.assertGreater(
            harness.metric_value(samples, "metrics_adapter_backend_breaker_transitions_total",
                                 backend="prometheus", to="open") or 0, 0)
        self._assert_alive("after the outage")


if __name__ == "__main__":
    unittest.main()
