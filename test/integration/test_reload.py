"""Rules reload under load, and discovery that recovers by itself.

ReloadTest: the adapter reads its rules from a ConfigMap-style mount (config.yaml -> ..data/
config.yaml, ..data -> a versioned directory). While a client thread polls a metric over one
keep-alive HTTPS connection without pause, the rules change three times: a good file picked up
on SIGHUP, a broken one seen as a file change, a good one again as a `..data` symlink swap. The
client sees no error; a metric the new rules remove answers 404 afterwards and one they add is
served, long before the (10 minute) relist interval; the broken file keeps the last good rules,
each of its problems is logged as FILE:LINE:COLUMN, and /metrics shows the reload gauges.

RecoveryTest: Prometheus is down when the adapter starts. The adapter is Ready anyway
(docs/deploy.md says why), /readyz?verbose shows the failed listings, and the metric appears
within seconds of Prometheus coming back, far below the relist interval.
"""

import http.client
import os
import pathlib
import signal
import threading
import unittest

import harness

EXTERNAL = "/apis/external.metrics.k8s.io/v1beta1"
POLLED = f"{EXTERNAL}/namespaces/default/cluster_backlog_seconds"
REMOVED = f"{EXTERNAL}/namespaces/shop/queue_depth"
ADDED = f"{EXTERNAL}/namespaces/shop/namespace_cost"
# Far longer than the test: only a reload's own relist, or a retry, can list again in time.
RELIST_INTERVAL = "10m"
# A reload and its relist, or a retry after Prometheus is back, take seconds; this bound is far
# below RELIST_INTERVAL, so meeting it proves they did not wait for the periodic relist.
CHANGE_WAIT_S = 45
POLL_TIMEOUT_S = 10

BACKLOG_RULE = """- seriesQuery: 'cluster_backlog_seconds'
  resources: {namespaced: false}
  metricsQuery: 'max(<<.Series>>{<<.LabelMatchers>>}) by (source)'
"""
QUEUE_RULE = """- seriesQuery: 'queue_depth{namespace!=""}'
  resources:
    overrides:
      namespace: {resource: "namespace"}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)'
"""
COST_RULE = """- seriesQuery: 'namespace_cost{namespace!=""}'
  resources:
    overrides:
      namespace: {resource: "namespace"}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>})'
"""
RULES_V1 = "externalRules:\n" + BACKLOG_RULE + QUEUE_RULE
RULES_V2 = "externalRules:\n" + BACKLOG_RULE + COST_RULE
# Two independent problems: an unknown key on line 3, an invalid regex on line 8 (column 19).
RULES_BROKEN = ("externalRules:\n" + BACKLOG_RULE.replace("  resources:", "  colour: blue\n"
                                                          "  resources:") +
                "- seriesQuery: 'namespace_cost'\n"
                "  resources: {namespaced: false}\n"
                '  name: {matches: "^(x"}\n'
                "  metricsQuery: x\n")
BROKEN_PROBLEMS = (":3:3: externalRules[0]: unknown key \"colour\"",
                   ":8:19: externalRules[1].name.matches: invalid regex")


class Poller(threading.Thread):
    """GETs one path over one keep-alive HTTPS connection as fast as answers come."""

    def __init__(self, cluster, path):
        super().__init__(daemon=True)
        self.cluster = cluster
        self.path = path
        self.stop_event = threading.Event()
        self.polls = 0
        self.errors = []

    def _connect(self):
        return http.client.HTTPSConnection("127.0.0.1", self.cluster.adapter_port,
                                           timeout=POLL_TIMEOUT_S,
                                           context=self.cluster.ssl_context())

    def run(self):
        conn = self._connect()
        while not self.stop_event.is_set():
            try:
                conn.request("GET", self.path)
                response = conn.getresponse()
                body = response.read()
                if response.status != 200 or b'"value"' not in body:
                    self.errors.append(f"{response.status}: {body[:200]!r}")
            except (OSError, http.client.HTTPException) as e:
                self.errors.append(f"{type(e).__name__}: {e}")
                conn.close()
                conn = self._connect()
            self.polls += 1
        conn.close()


class ReloadTest(harness.ClusterTestCase):
    cluster_options = {"start_adapter": False, "relist_interval": RELIST_INTERVAL}

    def _status(self, path):
        return self.cluster.curl(path).status

    def _wait_status(self, path, status, what):
        harness.wait_until(lambda: self._status(path) == status, CHANGE_WAIT_S, what)

    def _gauge(self, name):
        return harness.metric_value(self.cluster.adapter_metrics(), name)

    def _wait_log(self, text, what):
        harness.wait_until(lambda: text in self.cluster.adapter_log(), CHANGE_WAIT_S, what)

    def test_reloads_under_continuous_polling(self):
        c = self.cluster
        mount = pathlib.Path(c.tmp) / "rules-mount"
        (mount / "v1").mkdir(parents=True)
        (mount / "v1" / "config.yaml").write_text(RULES_V1, encoding="utf-8")
        os.symlink("v1", mount / "..data")
        os.symlink("..data/config.yaml", mount / "config.yaml")
        config = mount / "config.yaml"
        c.start_adapter(rules=config)
        self._wait_status(REMOVED, 200, "queue_depth served by the first rules")
        self.assertEqual(self._status(ADDED), 404)
        loaded_at = self._gauge("metrics_adapter_config_last_reload_success_timestamp_seconds")
        self.assertEqual(self._gauge("metrics_adapter_config_last_reload_successful"), 1)

        poller = Poller(c, POLLED)
        poller.start()
        try:
            # 1. Good rules, on SIGHUP: queue_depth goes, namespace_cost comes.
            (mount / "v1" / "config.yaml").write_text(RULES_V2, encoding="utf-8")
            c.signal_adapter(signal.SIGHUP)
            self._wait_log("rules reloaded (SIGHUP)", "the SIGHUP reload in the log")
            self._wait_status(ADDED, 200, "namespace_cost served after the reload's relist")
            self._wait_status(REMOVED, 404, "queue_depth gone after the reload's relist")
            self.assertTrue(c.adapter_running())

            # 2. A broken file, seen as a change: nothing changes but the gauge.
            (mount / "v1" / "config.yaml").write_text(RULES_BROKEN, encoding="utf-8")
            self._wait_log("still serving the last good rules", "the refused reload in the log")
            log = c.adapter_log()
            for problem in BROKEN_PROBLEMS:
                self.assertIn(f"{config}{problem}", log)
            self.assertEqual(self._gauge("metrics_adapter_config_last_reload_successful"), 0)
            self.assertEqual(
                harness.metric_value(c.adapter_metrics(), "metrics_adapter_config_reloads_total",
                                     outcome="failure"), 1)
            self.assertEqual(self._status(ADDED), 200)
            self.assertEqual(self._status(REMOVED), 404)

            # 3. Good again, as the kubelet updates a ConfigMap: a new directory, ..data swapped.
            (mount / "v3").mkdir()
            (mount / "v3" / "config.yaml").write_text(RULES_V1, encoding="utf-8")
            os.symlink("v3", mount / "..data_tmp")
            os.replace(mount / "..data_tmp", mount / "..data")
            self._wait_status(REMOVED, 200, "queue_depth served again after the symlink swap")
            self._wait_status(ADDED, 404, "namespace_cost gone after the symlink swap")
            self.assertEqual(self._gauge("metrics_adapter_config_last_reload_successful"), 1)
            self.assertGreater(
                self._gauge("metrics_adapter_config_last_reload_success_timestamp_seconds"),
                loaded_at)
        finally:
            poller.stop_event.set()
            poller.join(POLL_TIMEOUT_S * 2)
        self.assertEqual(poller.errors, [], f"{len(poller.errors)} of {poller.polls} polls failed")
        # The client really polled throughout: dozens of answers per reload at the least.
        self.assertGreater(poller.polls, 100)


class RecoveryTest(harness.ClusterTestCase):
    cluster_options = {"start_adapter": False, "relist_interval": RELIST_INTERVAL}

    def test_metric_appears_soon_after_prometheus_comes_back(self):
        c = self.cluster
        c.stop_prometheus()
        # Ready although nothing could be listed (start_adapter waits for /readyz = 200).
        c.start_adapter()
        verbose = c.curl("/readyz?verbose")
        self.assertEqual(verbose.status, 200, verbose.body)
        # Each rule by position and id (docs/config.md, "What identifies a rule").
        self.assertRegex(verbose.body,
                         r"externalRules\[0\] \(externalRules:[0-9a-f]{8}\): failed \(UNAVAILABLE\)")
        self.assertNotIn(str(c.prometheus_port), verbose.body)
        self.assertEqual(c.curl(REMOVED).status, 404)

        c.start_prometheus()
        harness.wait_until(lambda: c.curl(REMOVED + "?labelSelector=queue%3Dorders").status == 200,
                           CHANGE_WAIT_S, "queue_depth served after Prometheus came back")
        verbose = c.curl("/readyz?verbose")
        self.assertRegex(verbose.body, r"externalRules\[0\] \(externalRules:[0-9a-f]{8}\): ok, ")
        self.assertIn("retrying the failed series listings", c.adapter_log())


if __name__ == "__main__":
    unittest.main()
