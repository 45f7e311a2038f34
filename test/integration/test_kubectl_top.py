"""`kubectl top` against the adapter serving metrics.k8s.io from kube-prometheus' resourceRules.

kubectl talks to the fake kube-apiserver, which plays the aggregator for metrics.k8s.io/v1beta1
(it lists the group in discovery and proxies /apis/metrics.k8s.io/v1beta1/... to the adapter over
TLS with the front-proxy certificate and X-Remote-* headers), and serves the pods and nodes the
adapter watches. The exporter serves cAdvisor- and node-exporter-shaped series with their own
timestamps, so each counter's irate() is exactly its rate.

Every number kubectl prints is checked against Prometheus' answer to the rules file's own
templates, rendered for the same pods and nodes and sent straight to Prometheus, and rounded the
way kubectl rounds (CPU up to the millicore, memory down to the MiB).
"""

import decimal
import math
import re
import unittest
import urllib.parse

import harness

RULES = harness.DATA_DIR / "kube_prometheus_resource_rules.yaml"
METRICS = harness.DATA_DIR / "kubectl_top_metrics.txt"
GROUP_VERSION = "/apis/metrics.k8s.io/v1beta1"
MIB = 1024 * 1024
NANO = decimal.Decimal("1e-9")

# (namespace, name, labels, phase): what the cluster holds. quiet-1 runs without metrics;
# pending-1 has metrics but is not Running; ghost-1 has metrics but no pod at all.
PODS = (
    ("default", "web-1", {"app": "web"}, "Running"),
    ("default", "web-2", {"app": "web"}, "Running"),
    ("default", "quiet-1", {"app": "quiet"}, "Running"),
    ("default", "pending-1", {"app": "web"}, "Pending"),
    ("shop", "api-1", {"app": "api"}, "Running"),
)
NODES = {"node-1": {"cpu": "4", "memory": "16Gi"}, "node-2": {"cpu": "2", "memory": "8Gi"}}


def _templates(key):
    """The block scalars under `key` in the rules file, in file order (cpu, then memory)."""
    text = RULES.read_text(encoding="utf-8")
    blocks = []
    for m in re.finditer(rf'^( *)"{key}": \|\n((?:\1  .*\n|\n)+)', text, re.MULTILINE):
        indent = len(m.group(1)) + 2
        blocks.append("".join(line[indent:] + "\n" for line in m.group(2).splitlines()))
    if len(blocks) != 2:
        raise AssertionError(f"expected the cpu and memory {key} in {RULES}, found {len(blocks)}")
    return blocks


def _render(template, matchers, group_by):
    # These templates use only .LabelMatchers and .GroupBy.
    return template.replace("<<.LabelMatchers>>", matchers).replace("<<.GroupBy>>", group_by)


def _names_matcher(label, names):
    names = sorted(names)
    if len(names) == 1:
        return f'{label}="{names[0]}"'
    return f'{label}=~"{"|".join(names)}"'


def _milli_ceil(value):
    """kubectl's Quantity.MilliValue() of a value that went through a nano-precision Quantity."""
    return math.ceil(value.quantize(NANO) * 1000)


def _table(output):
    """kubectl's column output as a list of rows (header first)."""
    return [line.split() for line in output.splitlines() if line.strip()]


class KubectlTopTest(harness.ClusterTestCase):
    cluster_options = dict(rules=RULES, metrics_spec=METRICS, kube=True, start_adapter=False,
                           exporter_timestamps=True, honor_labels=True)

    @classmethod
    def prepare_cluster(cls):
        fake = cls.cluster.fake
        fake.add_namespace("shop")
        fake.add_namespace("monitoring")
        for namespace, name, labels, phase in PODS:
            fake.add_pod(namespace, name, labels, phase=phase)
        for name, allocatable in NODES.items():
            fake.add_node(name, {"zone": name}, **allocatable)
        cls.cluster.start_adapter()
        cert, key = cls.cluster.pki.front_proxy_client
        fake.add_api_service("metrics.k8s.io", "v1beta1", cls.cluster.base_url,
                             cls.cluster.pki.ca_crt, cert, key)

    # ---- clients ---------------------------------------------------------------------------

    def kubectl(self, *args):
        """kubectl against the fake (the aggregator); returns (exit code, stdout, stderr)."""
        return harness.run_client([
            "kubectl", "--kubeconfig", str(self.cluster.fake_kubeconfig), "--cache-dir",
            str(self.cluster.kube_cache), f"--request-timeout={harness.CLIENT_TIMEOUT_S}s", *args
        ])

    def top(self, *args):
        code, out, err = self.kubectl("top", *args)
        self.assertEqual(code, 0, f"kubectl top {' '.join(args)} failed: {err.strip()}")
        return _table(out)

    def prometheus_by(self, promql, *labels):
        """{tuple of label values: exact value} for an instant query."""
        out = {}
        for sample in self.cluster.prometheus_query(promql):
            out[tuple(sample["metric"].get(label, "") for label in labels)] = decimal.Decimal(
                sample["value"][1])
        return out

    # ---- expectations from Prometheus ------------------------------------------------------

    def container_usage(self, namespace):
        """{(pod, container): (cpu cores, memory bytes)} for the namespace's Running pods, from the
        containerQuery templates sent straight to Prometheus."""
        running = [name for ns, name, _, phase in PODS if ns == namespace and phase == "Running"]
        matchers = f'namespace="{namespace}",{_names_matcher("pod", running)}'
        cpu_query, memory_query = _templates("containerQuery")
        cpu = self.prometheus_by(_render(cpu_query, matchers, "pod,container"), "pod", "container")
        memory = self.prometheus_by(_render(memory_query, matchers, "pod,container"), "pod",
                                    "container")
        self.assertTrue(cpu and memory, f"Prometheus has no usage for {namespace}")
        return {key: (cpu.get(key, decimal.Decimal(0)), memory.get(key, decimal.Decimal(0)))
                for key in cpu.keys() | memory.keys()}

    def pod_rows(self, namespace):
        """{pod: (CPU column, MEMORY column)} as kubectl top pod should print them."""
        totals = {}
        for (pod, _), (cpu, memory) in self.container_usage(namespace).items():
            cpu_sum, memory_sum = totals.get(pod, (decimal.Decimal(0), decimal.Decimal(0)))
            totals[pod] = (cpu_sum + cpu.quantize(NANO), memory_sum + memory)
        return {pod: (f"{_milli_ceil(cpu)}m", f"{math.ceil(memory) // MIB}Mi")
                for pod, (cpu, memory) in totals.items()}

    # ---- tests -----------------------------------------------------------------------------

    def test_discovery_lists_nodes_and_pods(self):
        code, out, err = self.kubectl("api-resources", "--api-group=metrics.k8s.io")
        self.assertEqual(code, 0, err)
        rows = {row[0]: row for row in _table(out)[1:]}
        self.assertEqual(set(rows), {"nodes", "pods"}, out)
        self.assertIn("NodeMetrics", rows["nodes"])
        self.assertIn("PodMetrics", rows["pods"])

    def test_top_pod(self):
        rows = self.top("pod")
        self.assertEqual(rows[0], ["NAME", "CPU(cores)", "MEMORY(bytes)"])
        printed = {row[0]: (row[1], row[2]) for row in rows[1:]}
        expected = self.pod_rows("default")
        self.assertEqual(printed, expected)
        # The numbers of the exporter's series, so that a wrong join cannot pass unnoticed.
        self.assertEqual(printed, {"web-1": ("300m", "120Mi"), "web-2": ("500m", "200Mi")})

    def test_top_pod_containers(self):
        rows = self.top("pod", "--containers")
        self.assertEqual(rows[0], ["POD", "NAME", "CPU(cores)", "MEMORY(bytes)"])
        printed = {(row[0], row[1]): (row[2], row[3]) for row in rows[1:]}
        expected = {key: (f"{_milli_ceil(cpu)}m", f"{math.ceil(memory) // MIB}Mi")
                    for key, (cpu, memory) in self.container_usage("default").items()}
        self.assertEqual(printed, expected)
        self.assertEqual(set(printed), {("web-1", "app"), ("web-1", "sidecar"), ("web-2", "app")})

    def test_top_pod_all_namespaces(self):
        rows = self.top("pod", "-A")
        self.assertEqual(rows[0], ["NAMESPACE", "NAME", "CPU(cores)", "MEMORY(bytes)"])
        printed = {(row[0], row[1]): (row[2], row[3]) for row in rows[1:]}
        expected = {("default", pod): row for pod, row in self.pod_rows("default").items()}
        expected.update({("shop", pod): row for pod, row in self.pod_rows("shop").items()})
        self.assertEqual(printed, expected)
        self.assertEqual(printed[("shop", "api-1")], ("1125m", "300Mi"))

    def test_top_node(self):
        rows = self.top("node")
        self.assertEqual(rows[0], ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"])
        nodes = sorted(NODES)
        cpu_query, memory_query = _templates("nodeQuery")
        cpu = self.prometheus_by(
            _render(cpu_query, _names_matcher("node", nodes), "node"), "node")
        memory = self.prometheus_by(
            _render(memory_query, _names_matcher("instance", nodes), "instance"), "instance")
        expected = {}
        for node in nodes:
            cpu_milli = _milli_ceil(cpu[(node,)])
            memory_bytes = math.ceil(memory[(node,)])
            allocatable_milli = int(NODES[node]["cpu"]) * 1000
            allocatable_bytes = harness.parse_quantity(NODES[node]["memory"])
            expected[node] = [f"{cpu_milli}m", f"{cpu_milli * 100 // allocatable_milli}%",
                              f"{memory_bytes // MIB}Mi",
                              f"{int(memory_bytes * 100 // allocatable_bytes)}%"]
        self.assertEqual({row[0]: row[1:] for row in rows[1:]}, expected)
        self.assertEqual(expected["node-1"], ["750m", "18%", "4096Mi", "25%"])
        self.assertEqual(expected["node-2"][0], "125m")

    def test_pod_without_metrics_is_not_found_with_metrics_servers_wording(self):
        code, _, err = self.kubectl("top", "pod", "quiet-1")
        self.assertNotEqual(code, 0)
        self.assertIn('podmetrics.metrics.k8s.io "default/quiet-1" not found', err)
        code, _, err = self.kubectl("top", "node", "node-9")
        self.assertNotEqual(code, 0)
        self.assertIn("not found", err)

    def test_selectors_through_the_aggregator(self):
        rows = self.top("pod", "-l", "app=web")
        self.assertEqual({row[0] for row in rows[1:]}, {"web-1", "web-2"})
        code, out, err = self.kubectl(
            "get", "--raw", f"{GROUP_VERSION}/pods?fieldSelector="
            + urllib.parse.quote("metadata.name=web-2,metadata.namespace=default", safe=""))
        self.assertEqual(code, 0, err)
        self.assertIn('"name":"web-2"', out)
        self.assertNotIn('"name":"web-1"', out)
        for query in ("labelSelector=a%3D%3D%3Db", "fieldSelector=spec.nodeName%3Dnode-1"):
            code, _, err = self.kubectl("get", "--raw", f"{GROUP_VERSION}/pods?{query}")
            self.assertNotEqual(code, 0, query)
            self.assertIn("BadRequest", err, query)


if __name__ == "__main__":
    unittest.main()
