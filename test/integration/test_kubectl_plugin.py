"""`kubectl metrics-adapter`, the kubectl plugin, run through kubectl against the real adapter.

kubectl finds the plugin on PATH (build/bin) and runs it; the plugin talks only to the fake
kube-apiserver, which serves the HPAs, the APIService objects and the Deployment behind them, and
proxies external.metrics.k8s.io and custom.metrics.k8s.io to the adapter as the aggregator does.
Every value the plugin prints is checked against `kubectl get --raw` of the same request, and each
request line of `hpa` against the URL the HPA controller builds for that metric.
"""

import json
import os
import pathlib
import subprocess
import unittest

import harness

PLUGIN = pathlib.Path(harness.ADAPTER_BIN).parent / "kubectl-metrics_adapter"
EXTERNAL = "/apis/external.metrics.k8s.io/v1beta1"
CUSTOM = "/apis/custom.metrics.k8s.io/v1beta1"
TOKEN = "plugin-test-token"  # a user the fake authenticates but whom no SAR rule allows

HPA_METRICS = [
    {"type": "External", "external": {
        "metric": {"name": "queue_depth", "selector": {"matchLabels": {"queue": "orders"}}},
        "target": {"type": "AverageValue", "averageValue": "10"}}},
    {"type": "Object", "object": {
        "describedObject": {"apiVersion": "v1", "kind": "Namespace", "name": "shop"},
        "metric": {"name": "namespace_cost"}, "target": {"type": "Value", "value": "20"}}},
    {"type": "Pods", "pods": {
        "metric": {"name": "http_requests_per_second"},
        "target": {"type": "AverageValue", "averageValue": "5"}}},
]
MISSING_METRIC = {"type": "External", "external": {
    "metric": {"name": "no_such_metric"}, "target": {"type": "Value", "value": "1"}}}
# What the HPA controller requests for each of HPA_METRICS in namespace shop, scale target
# Deployment web (pods app=web).
EXPECTED_REQUESTS = [
    f"{EXTERNAL}/namespaces/shop/queue_depth?labelSelector=queue%3Dorders",
    f"{CUSTOM}/namespaces/shop/metrics/namespace_cost",
    f"{CUSTOM}/namespaces/shop/pods/%2A/http_requests_per_second?labelSelector=app%3Dweb",
]


def _blocks(output):
    """{source line: {field: value}} of `hpa` output (the indented `field: value` lines)."""
    blocks = {}
    current = None
    for line in output.splitlines():
        if line.startswith("  ") and current is not None:
            field, _, value = line.strip().partition(":")
            current[field] = value.strip()
        elif line and not line.startswith("HorizontalPodAutoscaler") and ":" not in line[:12]:
            current = blocks.setdefault(line, {})
        else:
            current = None
    return {source: fields for source, fields in blocks.items() if fields}


class KubectlPluginTest(harness.ClusterTestCase):
    cluster_options = dict(kube=True, start_adapter=False)

    @classmethod
    def setUpClass(cls):
        if not PLUGIN.exists():
            raise AssertionError(f"{PLUGIN} is missing: build it (make build)")
        super().setUpClass()

    @classmethod
    def prepare_cluster(cls):
        fake = cls.cluster.fake
        for namespace in ("shop", "monitoring"):
            fake.add_namespace(namespace)
        fake.add_pod("shop", "web-1", {"app": "web"})
        fake.add_pod("shop", "web-2", {"app": "web"})
        fake.add_deployment("shop", "web", {"app": "web"}, replicas=2)
        fake.add_deployment("monitoring", "metrics-adapter", {"app": "metrics-adapter"})
        cls.cluster.start_adapter()
        cert, key = cls.cluster.pki.front_proxy_client
        for group in ("external.metrics.k8s.io", "custom.metrics.k8s.io"):
            fake.add_api_service(group, "v1beta1", cls.cluster.base_url,
                                 cls.cluster.pki.ca_crt, cert, key)
        fake.add_hpa("shop", "web", "web", HPA_METRICS)
        fake.add_hpa("shop", "broken", "web", HPA_METRICS[:1] + [MISSING_METRIC])
        fake.client_tokens.add(TOKEN)
        cls.token_kubeconfig = harness.write_kubeconfig(
            cls.cluster.tmp / "kubeconfig-token", fake.url, cls.cluster.pki.ca_crt,
            token=TOKEN)

    # ---- clients ---------------------------------------------------------------------------

    def kubectl(self, *args, kubeconfig=None):
        """kubectl with build/bin first on PATH; (exit code, stdout, stderr)."""
        env = dict(os.environ, PATH=f"{PLUGIN.parent}{os.pathsep}{os.environ.get('PATH', '')}",
                   KUBECONFIG=str(kubeconfig or self.cluster.fake_kubeconfig),
                   KUBECACHEDIR=str(self.cluster.kube_cache))
        run = subprocess.run(["kubectl", *args], capture_output=True, text=True, env=env,
                             timeout=harness.CLIENT_TIMEOUT_S, check=False,
                             stdin=subprocess.DEVNULL)
        return run.returncode, run.stdout, run.stderr

    def plugin(self, *args, kubeconfig=None):
        return self.kubectl("metrics-adapter", *args, kubeconfig=kubeconfig)

    def raw(self, path, kubeconfig=None):
        code, out, err = self.cluster.kubectl_raw(
            path, kubeconfig=kubeconfig or self.cluster.fake_kubeconfig)
        self.assertEqual(code, 0, f"kubectl get --raw {path}: {err}")
        return json.loads(out)

    def table(self, output):
        return [line.split() for line in output.splitlines() if line.strip()]

    # ---- tests -----------------------------------------------------------------------------

    def test_kubectl_finds_the_plugin(self):
        code, out, err = self.kubectl("plugin", "list")
        self.assertEqual(code, 0, err)
        self.assertIn(str(PLUGIN), out.split())
        code, out, err = self.plugin("--help")
        self.assertEqual(code, 0, err)
        self.assertIn("hpa       each metric of an HPA", out)
        code, out, _ = self.plugin("get", "--help")
        self.assertEqual(code, 0)
        self.assertIn("get custom RESOURCE/NAME METRIC", out)

    def test_status(self):
        code, out, err = self.plugin("status")
        self.assertEqual(code, 0, out + err)
        rows = {row[0]: row for row in self.table(out)[1:]}
        self.assertEqual(self.table(out)[0],
                         ["APISERVICE", "SERVICE", "AVAILABLE", "READY", "METRICS", "MESSAGE"])
        for group, path in (("external", EXTERNAL), ("custom", CUSTOM)):
            discovered = len(self.raw(path)["resources"])
            self.assertGreater(discovered, 0)
            self.assertEqual(rows[f"v1beta1.{group}.metrics.k8s.io"][:5],
                             [f"v1beta1.{group}.metrics.k8s.io", "monitoring/metrics-adapter",
                              "True", "1/1", str(discovered)])
        self.assertEqual(rows["v1beta1.metrics.k8s.io"][2], "NotRegistered")

    def test_status_and_hpa_when_the_apiservice_is_unavailable(self):
        fake = self.cluster.fake
        fake.set_api_service_available("external.metrics.k8s.io", "v1beta1", "False",
                                       "FailedDiscoveryCheck", "failing or missing response")
        try:
            code, out, err = self.plugin("status")
            self.assertEqual(code, 1, out + err)
            row = next(line for line in out.splitlines() if "external" in line)
            self.assertIn("False", row.split())
            self.assertTrue(row.endswith("failing or missing response"), row)
            self.assertIn("hint: the APIService is unavailable or Prometheus is down", err)
            code, out, err = self.plugin("hpa", "web", "-n", "shop")
            self.assertEqual(code, 1, out + err)
            block = _blocks(out)["External queue_depth (selector queue=orders)"]
            self.assertTrue(block["error"].startswith("503 ServiceUnavailable"), block)
            self.assertIn("APIService is unavailable or Prometheus is down", block["hint"])
        finally:
            fake.set_api_service_available("external.metrics.k8s.io", "v1beta1", "True",
                                           "Passed", "all checks passed")

    def test_list(self):
        code, out, err = self.plugin("list", "external")
        self.assertEqual(code, 0, err)
        rows = self.table(out)
        self.assertEqual(rows[0], ["API", "RESOURCE", "METRIC"])
        self.assertEqual({row[2] for row in rows[1:]},
                         {r["name"] for r in self.raw(EXTERNAL)["resources"]})
        code, out, err = self.plugin("list")
        self.assertEqual(code, 0, err)
        custom = {f"{row[1]}/{row[2]}" for row in self.table(out)[1:] if row[0] == "custom"}
        self.assertEqual(custom, {r["name"] for r in self.raw(CUSTOM)["resources"]})
        code, _, err = self.plugin("list", "bogus")
        self.assertEqual(code, 2)
        self.assertIn('unknown metrics API "bogus"', err)

    def test_get_external(self):
        path = f"{EXTERNAL}/namespaces/shop/queue_depth?labelSelector=queue%3Dorders"
        code, out, err = self.plugin("get", "external", "queue_depth", "-n", "shop", "-l",
                                     "queue=orders")
        self.assertEqual(code, 0, err)
        rows = self.table(out)
        self.assertEqual(rows[0], ["METRIC", "LABELS", "VALUE", "TIMESTAMP"])
        items = self.raw(path)["items"]
        self.assertEqual([row[:3] for row in rows[1:]],
                         [["queue_depth", "queue=orders", item["value"]] for item in items])
        self.assertEqual(rows[1][2], "42")
        code, out, err = self.plugin("get", "external", "queue_depth", "-n", "shop", "-l",
                                     "queue=orders", "-o", "json")
        self.assertEqual(code, 0, err)
        printed = json.loads(out)
        self.assertEqual([i["value"] for i in printed["items"]], ["42"])
        self.assertEqual(printed["kind"], "ExternalMetricValueList")

    def test_get_custom(self):
        code, out, err = self.plugin("get", "custom", "namespaces/shop", "namespace_cost")
        self.assertEqual(code, 0, err)
        rows = self.table(out)
        self.assertEqual(rows[0], ["KIND", "NAME", "METRIC", "VALUE", "TIMESTAMP"])
        raw = self.raw(f"{CUSTOM}/namespaces/shop/metrics/namespace_cost")["items"][0]
        self.assertEqual(rows[1][:4], ["Namespace", "shop", "namespace_cost", raw["value"]])
        self.assertEqual(raw["value"], "12750m")
        code, out, err = self.plugin("get", "custom", "pods", "http_requests_per_second", "-n",
                                     "shop", "-l", "app=web")
        self.assertEqual(code, 0, err)
        self.assertEqual({row[1] for row in self.table(out)[1:]}, {"web-1", "web-2"})
        code, out, err = self.plugin("get", "custom", "pods/web-1", "no_such_metric", "-n",
                                     "shop")
        self.assertEqual(code, 1, out)
        self.assertIn("hint: no rule serves this metric", err)

    def test_hpa_shows_the_controllers_requests_and_their_values(self):
        code, out, err = self.plugin("hpa", "web", "-n", "shop")
        self.assertEqual(code, 0, out + err)
        self.assertTrue(out.startswith(
            "HorizontalPodAutoscaler shop/web: scale target Deployment/web (pods app=web)\n"), out)
        blocks = list(_blocks(out).values())
        self.assertEqual([b["request"] for b in blocks],
                         [f"GET {path}" for path in EXPECTED_REQUESTS])
        self.assertEqual([b["target"] for b in blocks],
                         ["AverageValue 10", "Value 20", "AverageValue 5"])
        external, namespace, pods = blocks
        self.assertEqual(external["value"],
                         self.raw(EXPECTED_REQUESTS[0])["items"][0]["value"])
        self.assertEqual(namespace["value"],
                         self.raw(EXPECTED_REQUESTS[1])["items"][0]["value"])
        # A rate may move between two reads: the same pods, each with a value.
        names = sorted(i["describedObject"]["name"] for i in
                       self.raw(EXPECTED_REQUESTS[2])["items"])
        self.assertEqual(names, ["web-1", "web-2"])
        self.assertEqual(sorted(p.split("=")[0] for p in
                                pods["value"].split(" (")[0].split(", ")), names)

    def test_hpa_with_a_missing_metric_fails_with_the_404_hint(self):
        code, out, err = self.plugin("hpa", "broken", "-n", "shop")
        self.assertEqual(code, 1, out + err)
        blocks = _blocks(out)
        self.assertEqual(blocks["External queue_depth (selector queue=orders)"]["value"], "42")
        missing = blocks["External no_such_metric"]
        path = f"{EXTERNAL}/namespaces/shop/no_such_metric"
        self.assertEqual(missing["request"], f"GET {path}")
        raw_code, _, raw_err = self.cluster.kubectl_raw(path,
                                                        kubeconfig=self.cluster.fake_kubeconfig)
        self.assertNotEqual(raw_code, 0)
        self.assertIn("NotFound", raw_err)
        self.assertTrue(missing["error"].startswith("404 NotFound: "), missing)
        self.assertTrue(missing["hint"].startswith(
            "no rule serves this metric, Prometheus has no series for it, or the adapter has "
            "not relisted"), missing)
        self.assertIn("1 of 2 metrics fail", out)

    def test_hpa_without_a_name_checks_every_hpa(self):
        for args in (("-n", "shop"), ("-A",)):
            code, out, err = self.plugin("hpa", *args)
            self.assertEqual(code, 1, out + err)
            rows = self.table(out)
            self.assertEqual(rows[0], ["NAMESPACE", "NAME", "TARGET", "METRICS", "FAILING"])
            self.assertEqual(sorted(rows[1:]), [["shop", "broken", "Deployment/web", "2", "1"],
                                                ["shop", "web", "Deployment/web", "3", "0"]])
            self.assertIn("explains each failing metric", err)
        code, out, err = self.plugin("hpa", "-n", "monitoring")
        self.assertEqual((code, out), (0, ""), err)
        self.assertEqual(err, "No HorizontalPodAutoscalers found in monitoring namespace.\n")
        code, _, err = self.plugin("status", "-A")
        self.assertEqual(code, 2)
        self.assertIn("-A is only for `hpa` without a NAME", err)

    def test_hpa_forbidden_by_the_adapters_authorization(self):
        # The token user passes the fake's authentication; the adapter's SubjectAccessReview
        # gets no rule that allows it, so every metric answers 403, as kubectl sees too.
        code, _, err = self.cluster.kubectl_raw(EXPECTED_REQUESTS[0],
                                                kubeconfig=self.token_kubeconfig)
        self.assertNotEqual(code, 0)
        self.assertIn("Forbidden", err)
        code, out, err = self.plugin("hpa", "web", "-n", "shop", kubeconfig=self.token_kubeconfig)
        self.assertEqual(code, 1, out + err)
        blocks = list(_blocks(out).values())
        self.assertEqual(len(blocks), 3)
        for block in blocks:
            self.assertTrue(block["error"].startswith("403 Forbidden: "), block)
            self.assertIn("system:serviceaccount:kube-system:horizontal-pod-autoscaler",
                          block["hint"])
        self.assertIn("3 of 3 metrics fail", out)

    def test_bad_input_is_one_line_and_a_documented_exit_code(self):
        code, out, err = self.plugin("hpa", "nope", "-n", "shop")
        self.assertEqual((code, out), (1, ""))
        self.assertEqual(err, 'error: horizontalpodautoscalers.autoscaling "nope" not found in '
                              "shop namespace\n")
        code, _, err = self.plugin("hpa", "--frobnicate")
        self.assertEqual(code, 2)
        self.assertTrue(err.startswith("error: unknown flag: --frobnicate\n"), err)
        # A kubeconfig whose exec credential plugin fails.
        failing = self.cluster.tmp / "kubeconfig-failing-exec"
        failing.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "c",
            "clusters": [{"name": "c", "cluster": {"server": self.cluster.fake.url,
                                                   "certificate-authority":
                                                       str(self.cluster.pki.ca_crt)}}],
            "users": [{"name": "u", "user": {"exec": {
                "apiVersion": "client.authentication.k8s.io/v1", "command": "false",
                "interactiveMode": "Never"}}}],
            "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
        code, out, err = self.plugin("status", kubeconfig=failing)
        self.assertEqual((code, out), (3, ""), err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertIn("error: cannot talk to the Kubernetes API", err)
        # A cluster without the adapter: no metrics APIService at all.
        fake = self.cluster.fake
        fake.remove_api_service("external.metrics.k8s.io", "v1beta1")
        fake.remove_api_service("custom.metrics.k8s.io", "v1beta1")
        try:
            code, _, err = self.plugin("status")
            self.assertEqual(code, 1)
            self.assertIn("no metrics APIService is registered: is the adapter installed?", err)
        finally:
            cert, key = self.cluster.pki.front_proxy_client
            for group in ("external.metrics.k8s.io", "custom.metrics.k8s.io"):
                fake.add_api_service(group, "v1beta1", self.cluster.base_url,
                                     self.cluster.pki.ca_crt, cert, key)


if __name__ == "__main__":
    unittest.main()
