"""Error answers of the real adapter: each is a Kubernetes Status with the right code and reason
and a message a user can act on, and no 5xx body tells a client where the backend lives.

Messages that prometheus-adapter users know are kept ("the server could not find the metric
... for ..."); the deliberate differences (400 for selector keys Prometheus cannot take) are
checked too.
"""

import unittest
import urllib.parse

import harness

EXTERNAL = "/apis/external.metrics.k8s.io/v1beta1"
CUSTOM = "/apis/custom.metrics.k8s.io/v1beta1"
QUEUE_DEPTH = f"{EXTERNAL}/namespaces/shop/queue_depth"
POD_RATE = f"{CUSTOM}/namespaces/shop/pods/web-1/http_requests_per_second"
BACKEND_ERROR_RULES = harness.DATA_DIR / "rules_backend_errors.yaml"
# Bigger than any header limit a server should have (ours is 64 KiB).
OVERSIZED_HEADER_BYTES = 100 * 1024


def _selector(path, selector, param="labelSelector"):
    return f"{path}?{param}={urllib.parse.quote(selector, safe='')}"


class ErrorsTest(harness.ClusterTestCase):

    def _status(self, path, code, reason, **kwargs):
        """Requests path with curl; asserts a Status with code and reason; returns it."""
        r = self.cluster.curl(path, **kwargs)
        self.assertEqual(r.status, code, f"{path}: {r.body} {r.stderr}")
        self.assertTrue(r.content_type.startswith("application/json"), r.content_type)
        status = r.json()
        self.assertEqual((status["kind"], status["apiVersion"], status["metadata"],
                          status["status"]), ("Status", "v1", {}, "Failure"), status)
        self.assertEqual((status["code"], status["reason"]), (code, reason), status)
        self.assertTrue(status["message"], status)
        return status

    def test_unknown_metric_is_not_found(self):
        cases = [
            # prometheus-adapter's messages, word for word (its external message names the
            # group-resource "namespaces" only for the namespace "default").
            (f"{EXTERNAL}/namespaces/default/no_such_metric",
             "the server could not find the metric no_such_metric for namespaces"),
            (f"{CUSTOM}/namespaces/shop/pods/web-1/no_such_metric",
             "the server could not find the metric no_such_metric for pods"),
        ]
        for path, message in cases:
            with self.subTest(path=path):
                self.assertEqual(self._status(path, 404, "NotFound")["message"], message)
        status = self._status(f"{EXTERNAL}/namespaces/shop/no_such_metric", 404, "NotFound")
        self.assertTrue(
            status["message"].startswith("the server could not find the metric no_such_metric"),
            status)

    def test_custom_metric_without_a_series_for_the_object_is_not_found(self):
        status = self._status(f"{CUSTOM}/namespaces/shop/pods/no-such-pod/http_requests_per_second",
                              404, "NotFound")
        self.assertEqual(
            status["message"],
            "the server could not find the metric http_requests_per_second for pods no-such-pod")

    def test_bad_label_selector_is_bad_request(self):
        for selector in ("queue in (orders", "==", "queue=orders,", "!queue=orders", "a b"):
            with self.subTest(selector=selector):
                status = self._status(_selector(QUEUE_DEPTH, selector), 400, "BadRequest")
                self.assertIn("labelSelector", status["message"])

    def test_bad_metric_label_selector_is_bad_request(self):
        # prometheus-adapter answers 500 here; a 400 tells the user it is their input.
        status = self._status(_selector(POD_RATE, "pod===web-1", "metricLabelSelector"), 400,
                              "BadRequest")
        self.assertIn("metricLabelSelector", status["message"])

    def test_selector_the_query_cannot_express_is_bad_request(self):
        cases = [
            ("app.kubernetes.io/name=web", "app.kubernetes.io/name"),
            ("app.kubernetes.io/name in (web)", "app.kubernetes.io/name"),
            ("my-label=x", "my-label"),
            ("queue>1", ">"),
        ]
        for selector, named in cases:
            with self.subTest(selector=selector):
                status = self._status(_selector(QUEUE_DEPTH, selector), 400, "BadRequest")
                self.assertIn(named, status["message"])
        status = self._status(
            _selector(POD_RATE, "app.kubernetes.io/name=web", "metricLabelSelector"), 400,
            "BadRequest")
        self.assertIn("app.kubernetes.io/name", status["message"])

    def test_invalid_custom_paths_are_bad_requests(self):
        for path in (f"{CUSTOM}/namespaces/shop/x", f"{CUSTOM}/namespaces/shop/pods/web-1"):
            with self.subTest(path=path):
                self.assertEqual(self._status(path, 400, "BadRequest")["message"],
                                 "invalid request path")

    def test_unknown_paths_are_not_found(self):
        for path in ("/openapi/v2", "/openapi/v3", "/apis/custom.metrics.k8s.io/v1",
                     f"{EXTERNAL}/queue_depth", "/api", "/no/such/path"):
            with self.subTest(path=path):
                self._status(path, 404, "NotFound")

    def test_other_methods_are_not_allowed(self):
        for path in (QUEUE_DEPTH, POD_RATE, EXTERNAL, "/apis", "/healthz"):
            for method in ("POST", "PUT", "DELETE", "PATCH"):
                with self.subTest(method=method, path=path):
                    status = self._status(path, 405, "MethodNotAllowed", method=method, data="{}")
                    self.assertIn(method, status["message"])

    def test_kubectl_reports_not_found(self):
        cases = [
            (f"{EXTERNAL}/namespaces/default/no_such_metric", "could not find the metric"),
            ("/apis/no.such.group.example.com/v1", "could not find"),
        ]
        for path, words in cases:
            with self.subTest(path=path):
                code, out, err = self.cluster.kubectl_raw(path)
                self.assertNotEqual(code, 0, out)
                self.assertIn("NotFound", err)
                self.assertIn(words, err)

    def test_oversized_header_is_refused(self):
        r = self.cluster.curl("/healthz",
                              headers=[f"X-Padding: {'a' * OVERSIZED_HEADER_BYTES}"])
        self.assertEqual(r.status, 431, f"{r.body} {r.stderr}")
        # The connection was refused, not the server: the next request is served.
        r = self.cluster.curl("/healthz")
        self.assertEqual((r.status, r.body), (200, "ok"), r.stderr)

    def test_backend_errors_do_not_leak_internals(self):
        c = self.cluster
        c.stop_adapter()
        try:
            c.start_adapter(rules=BACKEND_ERROR_RULES)
            # Whatever Prometheus said: its address, the exporter's, the words of its error.
            secrets = [
                c.prometheus_url, f":{c.prometheus_port}", f":{c.exporter_port}", "127.0.0.1",
                "duplicate series", "instance="
            ]

            def listed():
                code, out, _ = c.kubectl_raw(EXTERNAL)
                return code == 0 and '"queue_depth_range"' in out

            harness.wait_until(listed, harness.ADAPTER_READY_TIMEOUT_S,
                               "the backend-error rules to be discovered")
            for metric in ("queue_depth_conflict", "queue_depth_range"):
                with self.subTest(metric=metric):
                    path = f"{EXTERNAL}/namespaces/shop/{metric}"
                    r = c.curl(path)
                    self.assertEqual(r.status, 500, r.body)
                    status = r.json()
                    self.assertEqual((status["kind"], status["code"], status["reason"]),
                                     ("Status", 500, "InternalError"), status)
                    self.assertTrue(status["message"].startswith("Internal error occurred: "),
                                    status)
                    for secret in secrets:
                        self.assertNotIn(secret, r.body)
            # What the client was not told, the operator is.
            self.assertIn("duplicate series", c.adapter_log())
        finally:
            if c.adapter_running():
                c.stop_adapter()
            c.start_adapter()


if __name__ == "__main__":
    unittest.main()
