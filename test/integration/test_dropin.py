"""prometheus-adapter's own command lines start metrics-adapter and get correct answers (issue 10).

Two command lines, copied verbatim into test/data/dropin/ with their sources named there:

  * the container args of prometheus-adapter's deploy/manifests/deployment.yaml (also what
    kube-prometheus ships): --tls-cipher-suites with Go's suite names, a self-signed certificate
    in --cert-dir;
  * its Helm chart's, rendered here from the chart's deployment template and default values: a
    leading `/adapter` argument, --logtostderr (no effect here: one warning line), --v=4.

Only what the test must set is substituted: the rules file, the Prometheus URL, the port and the
certificate directory. A pod would find the Kubernetes API through its service account; here the
harness's flags point at the fake kube-apiserver instead (and bind to 127.0.0.1).

The Helm run loads rules with no externalRules: external.metrics.k8s.io must still answer its
discovery with 200 (an APIService registered for it would otherwise turn unavailable).
"""

import json
import re
import unittest
import urllib.parse

import harness

DROPIN_DATA = harness.SOURCE_DIR / "test" / "data" / "dropin"
MANIFEST = DROPIN_DATA / "prometheus-adapter-deployment.yaml"
HELM_TEMPLATE = DROPIN_DATA / "helm-chart-deployment.yaml"
HELM_VALUES = DROPIN_DATA / "helm-chart-values.yaml"
CUSTOM_ONLY_RULES = DROPIN_DATA / "rules-custom-only.yaml"

# A TLS 1.2 suite in the manifest's --tls-cipher-suites (TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA)
# but not among Go's defaults; the self-signed certificate has an ECDSA key.
MANIFEST_ONLY_CIPHER = "ECDHE-ECDSA-AES128-SHA"
PROMETHEUS_ADAPTER_HISTOGRAM = "prometheus_adapter_prometheus_client_request_duration_seconds"


def manifest_args():
    """The container args of the manifest, in order."""
    text = MANIFEST.read_text(encoding="utf-8")
    block = text.split("      - args:\n", 1)[1].split("        image:", 1)[0]
    return [re.fullmatch(r"\s+- (.*)", line).group(1) for line in block.splitlines()]


def read_values(text):
    """The scalars and nested maps of a values.yaml (enough of YAML for the chart's defaults)."""
    root = {}
    stack = [(-1, root)]
    for line in text.splitlines():
        m = re.fullmatch(r"( *)([A-Za-z_][\w-]*):(?: (.*))?", line.split(" #")[0].rstrip())
        if not m or line.lstrip().startswith("#"):
            continue
        indent, key, value = len(m.group(1)), m.group(2), (m.group(3) or "").strip()
        while stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1]
        if value == "":
            parent[key] = {}
            stack.append((indent, parent[key]))
        elif value in ("{}", "[]"):
            parent[key] = {} if value == "{}" else []
        elif value in ("true", "false"):
            parent[key] = value == "true"
        else:
            parent[key] = value.strip('"')
    return root


def render_helm_args(template, values):
    """The container args the chart's template renders with `values` (Go template semantics for
    the few constructs its args block uses: if/or/end, .Values lookups, tpl)."""

    def lookup(path):
        node = {"Values": values}
        for part in path.lstrip(".").split("."):
            node = node.get(part) if isinstance(node, dict) else None
        return node

    def truthy(expr):
        words = expr.split()
        if words[0] == "or":
            return any(truthy(w) for w in words[1:])
        return bool(lookup(words[0]))

    def substitute(text):
        text = re.sub(r"\{\{ if (\S+) \}\}(.*?)\{\{end\}\}",
                      lambda m: m.group(2) if truthy(m.group(1)) else "", text)
        text = re.sub(r"\{\{ tpl (\S+) \. \}\}", lambda m: str(lookup(m.group(1))), text)
        return re.sub(r"\{\{ (\.Values\.\S+) \}\}", lambda m: str(lookup(m.group(1))), text)

    block = template.split("        args:\n", 1)[1].split("        ports:\n", 1)[0]
    args, skipping = [], []
    for line in block.splitlines():
        stripped = line.strip()
        if m := re.fullmatch(r"\{\{- if (.+?) \}\}", stripped):
            skipping.append(not truthy(m.group(1)))
        elif re.fullmatch(r"\{\{- end ?\}\}", stripped):
            skipping.pop()
        elif not any(skipping):
            m = re.fullmatch(r"- (.*)", stripped)
            if not m:
                raise harness.HarnessError(f"cannot render template line {line!r}")
            args.append(substitute(m.group(1)))
    return args


def substitute(args, **by_flag):
    """args with the value of each --flag named in by_flag (underscores for dashes) replaced."""
    out = []
    for arg in args:
        name, eq, _ = arg.partition("=")
        key = name.lstrip("-").replace("-", "_")
        out.append(f"{name}={by_flag.pop(key)}" if eq and key in by_flag else arg)
    if by_flag:
        raise harness.HarnessError(f"flags not in the command line: {sorted(by_flag)}")
    return out


class DropInTest(harness.ClusterTestCase):
    cluster_options = {"kube": True, "start_adapter": False}

    def start(self, argv, cert_dir):
        """Starts the adapter with argv + the stand-in for the pod's in-cluster configuration."""
        cluster = self.cluster
        cluster.start_adapter(argv=argv + cluster.kube_args(), cert_dir=cert_dir)
        self.addCleanup(cluster.stop_adapter)
        self.ca = cert_dir / harness.SELF_SIGNED_CERT
        self.kubeconfig = harness.write_kubeconfig(
            cert_dir.parent / f"kubeconfig-{cert_dir.name}", cluster.base_url, self.ca,
            cluster.pki.client_crt, cluster.pki.client_key)

    def get(self, path):
        code, out, err = harness.kubectl_raw(self.kubeconfig, path, self.cluster.kube_cache)
        self.assertEqual(code, 0, f"kubectl get --raw {path}: {err.strip()}")
        return json.loads(out)

    def tls12_handshake_with(self, cipher):
        r = self.cluster.curl("/readyz", ca_file=self.ca,
                              extra_args=["--tlsv1.2", "--tls-max", "1.2", "--ciphers", cipher])
        return r.status == 200

    def test_manifest_command_line(self):
        cluster = self.cluster
        cert_dir = cluster.tmp / "serving-cert"
        args = manifest_args()
        self.assertIn("--tls-cipher-suites=TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305,"
                      "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", ",".join(args))
        self.start(substitute(args, cert_dir=cert_dir, config=harness.DEFAULT_RULES,
                              prometheus_url=cluster.prometheus_url,
                              secure_port=cluster.adapter_port), cert_dir)

        metric = "queue_depth"
        selector = urllib.parse.quote("queue=orders", safe="")
        doc = self.get(f"/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/{metric}"
                       f"?labelSelector={selector}")
        self.assertEqual([(i["metricName"], i["metricLabels"], i["value"]) for i in doc["items"]],
                         [(metric, {"queue": "orders"}, "42")])

        # --tls-cipher-suites is applied: a suite only that list offers is accepted.
        self.assertTrue(self.tls12_handshake_with(MANIFEST_ONLY_CIPHER))

        # prometheus-adapter's histogram counts the query above and the relist's listings.
        r = cluster.curl("/metrics", ca_file=self.ca, client_cert=True)
        self.assertEqual(r.status, 200, r.body[:300])
        samples = harness.parse_exposition(r.body)
        server = cluster.prometheus_url
        queries = harness.metric_value(samples, PROMETHEUS_ADAPTER_HISTOGRAM + "_count",
                                       path="/api/v1/query", server=server)
        listings = harness.metric_value(samples, PROMETHEUS_ADAPTER_HISTOGRAM + "_count",
                                        path="/api/v1/series", server=server)
        self.assertGreaterEqual(queries or 0, 1, f"no query in {PROMETHEUS_ADAPTER_HISTOGRAM}")
        self.assertGreaterEqual(listings or 0, 1, f"no listing in {PROMETHEUS_ADAPTER_HISTOGRAM}")
        self.assertEqual(
            harness.metric_value(samples, PROMETHEUS_ADAPTER_HISTOGRAM + "_bucket",
                                 path="/api/v1/query", server=server, le="+Inf"), queries)
        self.assertIsNotNone(
            harness.metric_value(samples, PROMETHEUS_ADAPTER_HISTOGRAM + "_bucket",
                                 path="/api/v1/query", server=server, le="0.005"))

    def test_helm_chart_default_command_line(self):
        cluster = self.cluster
        args = render_helm_args(HELM_TEMPLATE.read_text(encoding="utf-8"),
                                read_values(HELM_VALUES.read_text(encoding="utf-8")))
        self.assertEqual(args, [
            "/adapter", "--secure-port=6443", "--cert-dir=/tmp/cert", "--logtostderr=true",
            "--prometheus-url=http://prometheus.default.svc:9090",
            "--metrics-relist-interval=1m", "--v=4", "--config=/etc/adapter/config.yaml"])
        cert_dir = cluster.tmp / "cert"
        self.start(substitute(args, cert_dir=cert_dir, config=CUSTOM_ONLY_RULES,
                              prometheus_url=cluster.prometheus_url,
                              secure_port=cluster.adapter_port), cert_dir)

        doc = self.get("/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/metrics/namespace_cost")
        self.assertEqual([(i["describedObject"]["name"], i["value"]) for i in doc["items"]],
                         [("shop", "12750m")])

        # This run's klog lines (the log file also holds earlier runs and the command lines).
        log = cluster.adapter_log().rsplit("--- started:", 1)[-1]
        ignored = [line for line in log.splitlines()
                   if re.match(r"[IWE]\d{4} ", line) and "--logtostderr" in line]
        self.assertEqual(len(ignored), 1, log[-3000:])
        self.assertRegex(ignored[0], r"^W.*--logtostderr .*has no effect")
        # --v=4 is honoured: each metric request is logged with its PromQL.
        self.assertIn("namespace_cost{namespace=\"shop\"}", log)
        # No --tls-cipher-suites: Go's defaults, without the CBC suites.
        self.assertFalse(self.tls12_handshake_with(MANIFEST_ONLY_CIPHER))

    def test_discovery_of_a_group_the_rules_give_nothing(self):
        cluster = self.cluster
        cert_dir = cluster.tmp / "discovery-cert"
        self.start([f"--config={CUSTOM_ONLY_RULES}", f"--prometheus-url={cluster.prometheus_url}",
                    f"--secure-port={cluster.adapter_port}", f"--cert-dir={cert_dir}"], cert_dir)
        group = "external.metrics.k8s.io"
        resources = self.get(f"/apis/{group}/v1beta1")
        self.assertEqual(resources["kind"], "APIResourceList")
        self.assertEqual(resources["groupVersion"], f"{group}/v1beta1")
        self.assertEqual([r["name"] for r in resources["resources"]], ["externalmetrics"])
        self.assertEqual(self.get(f"/apis/{group}")["preferredVersion"]["version"], "v1beta1")
        self.assertIn(group, [g["name"] for g in self.get("/apis")["groups"]])
        # A metric of that group is still a 404, not a 500.
        code, _, err = harness.kubectl_raw(
            self.kubeconfig, f"/apis/{group}/v1beta1/namespaces/shop/queue_depth",
            cluster.kube_cache)
        self.assertNotEqual(code, 0)
        self.assertIn("NotFound", err)


if __name__ == "__main__":
    unittest.main()
