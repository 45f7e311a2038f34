"""deploy/components/monitoring: the alerts, their promtool unit tests, the dashboard and the component.

  * `promtool check rules` accepts alerts.yaml, and `promtool test rules alerts_test.yaml` passes;
    every alert of alerts.yaml is fired by at least one case there (an alert nobody tests fails).
  * prometheus-rule.yaml carries exactly the groups of alerts.yaml.
  * `kubectl kustomize` builds the base with the component (an overlay made in a temporary
    directory, as docs/deploy.md shows it) into the objects the component promises.
  * Every metric name the dashboard and the alerts use is on a running adapter's /metrics: a
    renamed or removed metric fails here instead of leaving an empty panel or a silent alert.
"""

import json
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import unittest

import harness

MONITORING = harness.SOURCE_DIR / "deploy" / "components" / "monitoring"
ALERTS = MONITORING / "alerts.yaml"
ALERTS_TEST = MONITORING / "alerts_test.yaml"
PROMETHEUS_RULE = MONITORING / "prometheus-rule.yaml"
DASHBOARD = MONITORING / "dashboard.json"
# Metrics other programs export: the scrape's `up` and kube-apiserver's aggregator gauge.
FOREIGN_METRICS = {"up", "aggregator_unavailable_apiservice"}
# Names of the adapter's own series: ours and the process collector's.
OWN_METRIC = re.compile(r"\b((?:metrics_adapter|process|prometheus_adapter)_[a-z0-9_]+)\b")
HISTOGRAM_SUFFIX = re.compile(r"_(bucket|sum|count)$")


def run(argv, cwd=None):
    done = subprocess.run([str(a) for a in argv], capture_output=True, text=True, cwd=cwd,
                          timeout=harness.CLIENT_TIMEOUT_S, check=False, stdin=subprocess.DEVNULL)
    return done.returncode, done.stdout, done.stderr


def alert_names(text):
    return re.findall(r"^\s*- alert: (\S+)\s*$", text, re.MULTILINE)


class AlertsTest(unittest.TestCase):

    def test_promtool_accepts_the_rules(self):
        code, out, err = run(["promtool", "check", "rules", ALERTS])
        self.assertEqual(code, 0, out + err)

    def test_promtool_unit_tests_pass(self):
        code, out, err = run(["promtool", "test", "rules", ALERTS_TEST.name], cwd=MONITORING)
        self.assertEqual(code, 0, out + err)

    def test_every_alert_is_fired_by_a_unit_test(self):
        names = alert_names(ALERTS.read_text())
        self.assertGreaterEqual(len(names), 7, names)
        tests = ALERTS_TEST.read_text()
        for name in names:
            with self.subTest(alert=name):
                # A case for this alert whose exp_alerts has an entry (exp_labels follows).
                fired = re.search(rf"alertname: {name}\n\s+exp_alerts:\n\s+- exp_labels:", tests)
                self.assertIsNotNone(fired, f"no promtool case fires {name}")

    def test_the_prometheus_rule_holds_the_same_groups(self):
        alerts = ALERTS.read_text()
        groups = alerts[alerts.index("groups:"):]
        rule = PROMETHEUS_RULE.read_text()
        spec = rule[rule.index("spec:\n") + len("spec:\n"):]
        dedented = "\n".join(line[2:] if line.startswith("  ") else line
                             for line in spec.splitlines())
        self.assertEqual(dedented.strip(), groups.strip())


class ComponentTest(unittest.TestCase):

    def test_the_base_with_the_component_builds(self):
        tmp = tempfile.mkdtemp(prefix="ma-monitoring-test-")
        try:
            deploy = os.path.relpath(harness.SOURCE_DIR / "deploy", tmp)
            pathlib.Path(tmp, "kustomization.yaml").write_text(
                f"resources:\n- {deploy}/base\ncomponents:\n- {deploy}/components/monitoring\n")
            code, out, err = run(["kubectl", "kustomize", tmp])
            self.assertEqual(code, 0, err)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        kinds = re.findall(r"^kind: (\S+)$", out, re.MULTILINE)
        for kind in ("PrometheusRule", "ServiceMonitor", "Deployment", "APIService"):
            self.assertIn(kind, kinds)
        self.assertIn('grafana_dashboard: "1"', out)
        self.assertIn("name: metrics-adapter-metrics-scraper", out)
        self.assertIn('"uid": "metrics-adapter"', out)  # the dashboard's JSON is in the ConfigMap


class MetricNamesTest(harness.ClusterTestCase):
    # With the fake kube-apiserver: the watch cache and delegated auth export their series only
    # in a cluster.
    cluster_options = {"kube": True}

    def used_names(self):
        dashboard = json.loads(DASHBOARD.read_text())
        exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
        exprs += [t["query"]["query"] for t in dashboard["templating"]["list"]
                  if isinstance(t.get("query"), dict)]
        exprs.append(ALERTS.read_text())
        names = set()
        for expr in exprs:
            names.update(HISTOGRAM_SUFFIX.sub("", n) for n in OWN_METRIC.findall(expr))
        return names

    def test_every_metric_the_dashboard_and_alerts_use_is_exported(self):
        self.cluster.fake.allow()  # every SubjectAccessReview: this test is about names
        # One request of each kind the dashboard shows, so that series made on first use exist.
        self.assertEqual(self.cluster.curl("/apis/external.metrics.k8s.io/v1beta1").status, 200)
        harness.wait_until(
            lambda: "metrics_adapter_rule_series" in self.cluster.curl("/metrics").body, 30,
            "the first relist to be counted")
        exported = set(re.findall(r"^# TYPE (\S+) ", self.cluster.curl("/metrics").body,
                                  re.MULTILINE))
        used = self.used_names()
        self.assertGreater(len(used), 20, used)
        self.assertEqual(sorted(used - exported), [], "used by deploy/components/monitoring, not exported")
        text = DASHBOARD.read_text() + ALERTS.read_text()
        for name in FOREIGN_METRICS:
            self.assertIn(name, text)


if __name__ == "__main__":
    unittest.main()
