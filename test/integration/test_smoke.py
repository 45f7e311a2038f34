"""Smoke test of the real adapter: discovery, one external value, health, errors, TLS trust.

Runs build/bin/metrics-adapter (MA_ADAPTER_BIN) in standalone mode against a real Prometheus
scraping the test exporter, with test/data/integration/rules.yaml, through kubectl and curl.
"""

import random
import unittest
import urllib.parse

import harness

EXTERNAL = "/apis/external.metrics.k8s.io/v1beta1"


class SmokeTest(harness.ClusterTestCase):

    def test_external_discovery_lists_queue_depth(self):
        # The first relist runs at startup, but /readyz need not wait for it: allow it to land.
        def listed():
            code, out, _ = self.cluster.kubectl_raw(EXTERNAL)
            return code == 0 and '"queue_depth"' in out

        harness.wait_until(listed, harness.ADAPTER_READY_TIMEOUT_S,
                           f"queue_depth in {EXTERNAL} discovery")
        doc = self.get_json(EXTERNAL)
        self.assertEqual(doc["kind"], "APIResourceList")
        self.assertEqual(doc["groupVersion"], "external.metrics.k8s.io/v1beta1")
        entry = next(r for r in doc["resources"] if r["name"] == "queue_depth")
        self.assertEqual(entry["kind"], "ExternalMetricValueList")
        self.assertTrue(entry["namespaced"])
        self.assertEqual(entry["verbs"], ["get"])

    def test_external_value_is_the_exporters_value_as_a_quantity(self):
        # A series of its own, with a value no other test uses, so no cache can answer for it.
        queue = f"smoke-{random.randint(0, 10**9)}"
        value = f"{random.randint(1, 10**6)}.5"
        series = f'queue_depth{{namespace="shop",queue="{queue}"}}'
        self.cluster.exporter_set(f"{series} {value}")
        self.cluster.wait_for_query(series, lambda r: len(r) == 1, f"{series} in Prometheus")

        selector = urllib.parse.quote(f"queue={queue}", safe="")
        doc = self.get_json(f"{EXTERNAL}/namespaces/shop/queue_depth?labelSelector={selector}")
        self.assertEqual(doc["kind"], "ExternalMetricValueList")
        self.assertEqual(doc["apiVersion"], "external.metrics.k8s.io/v1beta1")
        self.assertEqual(len(doc["items"]), 1, doc)
        item = doc["items"][0]
        self.assertEqual(item["metricName"], "queue_depth")
        self.assertEqual(item["metricLabels"], {"queue": queue})
        self.assertIsInstance(item["value"], str)
        self.assertEqual(harness.parse_quantity(item["value"]), harness.decimal.Decimal(value))
        self.assertEqual(item["value"], harness.canonical_quantity(value))

    def test_healthz_is_ok(self):
        r = self.cluster.curl("/healthz")
        self.assertEqual((r.status, r.body), (200, "ok"), r.stderr)

    def test_unknown_path_is_a_404_status(self):
        r = self.cluster.curl("/apis/no.such.group.example.com/v1/widgets")
        self.assertEqual(r.status, 404, r.body)
        self.assertTrue(r.content_type.startswith("application/json"), r.content_type)
        status = r.json()
        self.assertEqual((status["kind"], status["apiVersion"]), ("Status", "v1"))
        self.assertEqual(status["status"], "Failure")
        self.assertEqual(status["code"], 404)
        self.assertEqual(status["reason"], "NotFound")

    def test_clients_trust_only_the_generated_ca(self):
        code, _, err = self.cluster.kubectl_raw("/healthz")
        self.assertEqual(code, 0, err)
        code, out, err = self.cluster.kubectl_raw("/healthz", self.cluster.wrong_ca_kubeconfig)
        self.assertNotEqual(code, 0, out)
        self.assertIn("x509", err)
        r = self.cluster.curl("/healthz", ca_file=self.cluster.wrong_pki.ca_crt)
        self.assertEqual((r.status, r.exit_code), (0, 60), r.stderr)


if __name__ == "__main__":
    unittest.main()
