"""The installation as a cluster would receive it: deploy/, certs/ and the Dockerfile.

No cluster is needed. `kubectl kustomize` builds the manifests: deploy/base with every
combination of the components in deploy/components (2^4 overlays made in a temporary
directory, each checked by the same tests plus the checks of the components it holds), and
deploy/overlays/example. kubectl itself turns them into JSON (`kubectl label --local -o json`,
which parses every document offline), so the test needs only the standard library. The Deployment's arguments are run through the real
binary (MA_ADAPTER_BIN), the rules through `metrics-adapter check`, the example HPA's metrics
through `metrics-adapter explain`, and the serving certificate from certs/gen-serving-cert.sh
through openssl and through the adapter itself, reached under the Service's DNS name.
"""

import base64
import itertools
import json
import os
import pathlib
import re
import shutil
import stat
import subprocess
import tempfile
import unittest
import urllib.parse

import harness

SOURCE_DIR = harness.SOURCE_DIR
ADAPTER_BIN = harness.ADAPTER_BIN
DEPLOY_DIR = SOURCE_DIR / "deploy"
BASE_DIR = DEPLOY_DIR / "base"
COMPONENTS_DIR = DEPLOY_DIR / "components"
EXAMPLE_OVERLAY = DEPLOY_DIR / "overlays" / "example"
EXAMPLE_RULES = BASE_DIR / "rules.yaml"
EXAMPLE_HPA = DEPLOY_DIR / "examples" / "hpa.yaml"
GEN_SERVING_CERT = SOURCE_DIR / "certs" / "gen-serving-cert.sh"
DOCKERFILE = SOURCE_DIR / "Dockerfile"
DEPS_SCRIPT = SOURCE_DIR / "scripts" / "deps.sh"
IMAGE_ROOTFS = SOURCE_DIR / "scripts" / "image_rootfs.sh"

NAMESPACE = "metrics-adapter"
NAME = "metrics-adapter"
SERVING_CERT_SECRET = "metrics-adapter-serving-cert"
RULES_CONFIGMAP = "metrics-adapter-rules"
DASHBOARD_CONFIGMAP = "metrics-adapter-dashboard"
# ConfigMaps from a configMapGenerator: their names carry a content hash.
GENERATED_CONFIGMAPS = (RULES_CONFIGMAP, DASHBOARD_CONFIGMAP)
CA_BUNDLE_PLACEHOLDER = "CA_BUNDLE_PLACEHOLDER"
IMAGE_BINARY = "/usr/local/bin/metrics-adapter"
NON_ROOT_UID = 65532
# A label kubectl adds while converting YAML to JSON; removed again before any assertion.
CONVERT_LABEL = "metrics-adapter.test/convert"

# (kind, namespace, name) of everything `kubectl kustomize deploy/base` must emit, and nothing
# more. Generated ConfigMaps' names carry a content hash and are checked by prefix.
BASE_OBJECTS = {
    ("Namespace", "", NAMESPACE),
    ("ServiceAccount", NAMESPACE, NAME),
    ("ClusterRoleBinding", "", "metrics-adapter:system:auth-delegator"),
    ("RoleBinding", "kube-system", "metrics-adapter-auth-reader"),
    ("ClusterRole", "", "metrics-adapter-resource-reader"),
    ("ClusterRoleBinding", "", "metrics-adapter-resource-reader"),
    ("ClusterRole", "", "metrics-adapter-metrics-reader"),
    ("ClusterRoleBinding", "", "metrics-adapter:hpa-controller"),
    ("ConfigMap", NAMESPACE, RULES_CONFIGMAP),
    ("Deployment", NAMESPACE, NAME),
    ("Service", NAMESPACE, NAME),
    ("APIService", "", "v1beta1.external.metrics.k8s.io"),
    ("APIService", "", "v1beta1.custom.metrics.k8s.io"),
    ("APIService", "", "v1beta2.custom.metrics.k8s.io"),
}
CERT_MANAGER = "cert-manager"
HIGH_AVAILABILITY = "high-availability"
MONITORING = "monitoring"
NETWORK_POLICY = "network-policy"
# What each component of deploy/components adds to the base.
COMPONENT_OBJECTS = {
    CERT_MANAGER: {
        ("Issuer", NAMESPACE, "metrics-adapter-selfsigned"),
        ("Certificate", NAMESPACE, "metrics-adapter-ca"),
        ("Issuer", NAMESPACE, "metrics-adapter-ca"),
        ("Certificate", NAMESPACE, SERVING_CERT_SECRET),
    },
    HIGH_AVAILABILITY: {("PodDisruptionBudget", NAMESPACE, NAME)},
    MONITORING: {
        ("PrometheusRule", NAMESPACE, NAME),
        ("ServiceMonitor", NAMESPACE, NAME),
        ("ClusterRole", "", "metrics-adapter-metrics-scraper"),
        ("ClusterRoleBinding", "", "metrics-adapter-metrics-scraper"),
        ("ConfigMap", NAMESPACE, DASHBOARD_CONFIGMAP),
    },
    NETWORK_POLICY: {("NetworkPolicy", NAMESPACE, NAME)},
}
# The components the example overlay uses.
EXAMPLE_COMPONENTS = frozenset({HIGH_AVAILABILITY, NETWORK_POLICY})
INJECT_CA_ANNOTATION = "cert-manager.io/inject-ca-from"
# name -> (group, version, versionPriority): v1beta2 must be the preferred custom version.
EXPECTED_APISERVICES = {
    "v1beta1.external.metrics.k8s.io": ("external.metrics.k8s.io", "v1beta1", 100),
    "v1beta1.custom.metrics.k8s.io": ("custom.metrics.k8s.io", "v1beta1", 100),
    "v1beta2.custom.metrics.k8s.io": ("custom.metrics.k8s.io", "v1beta2", 200),
}
HPA_SERVICE_ACCOUNT = ("kube-system", "horizontal-pod-autoscaler")
METRICS_GROUPS = {"custom.metrics.k8s.io", "external.metrics.k8s.io"}

# Libraries debian:12-slim already has (priority required), so the image need not install them.

# A Prometheus /api/v1/series answer with one series for each rule of deploy/rules.yaml.
EXAMPLE_SERIES = {
    "status": "success",
    "data": [
        {"__name__": "http_requests_total", "namespace": "shop", "pod": "worker-1"},
        {"__name__": "inflight_requests", "namespace": "shop", "pod": "worker-1"},
        {"__name__": "queue_messages_ready", "namespace": "shop", "queue": "orders"},
        {"__name__": "broker_backlog_seconds", "broker": "main"},
    ],
}


def run(argv, env=None):
    """(exit code, stdout, stderr) of a command bounded by the harness' client timeout."""
    try:
        done = subprocess.run([str(a) for a in argv], capture_output=True, text=True, env=env,
                              timeout=harness.CLIENT_TIMEOUT_S, check=False,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise harness.HarnessError(f"{argv[0]} did not finish in {harness.CLIENT_TIMEOUT_S}s")
    return done.returncode, done.stdout, done.stderr


def kubectl_env(tmp):
    # An empty kubeconfig: nothing here may reach a real cluster by accident.
    kubeconfig = pathlib.Path(tmp) / "empty-kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n", encoding="utf-8")
    return dict(os.environ, KUBECONFIG=str(kubeconfig), HOME=str(tmp))


def to_objects(yaml_path, tmp):
    """The Kubernetes objects in a YAML file, as JSON values, converted offline by kubectl."""
    code, out, err = run(["kubectl", "label", "--local", "-o", "json", "-f", yaml_path,
                          f"{CONVERT_LABEL}=1"], env=kubectl_env(tmp))
    if code != 0:
        raise AssertionError(f"kubectl cannot parse {yaml_path}: {err}")
    decoder = json.JSONDecoder()
    objects, pos = [], 0
    while True:
        while pos < len(out) and out[pos].isspace():
            pos += 1
        if pos == len(out):
            break
        obj, pos = decoder.raw_decode(out, pos)
        labels = obj["metadata"]["labels"]
        del labels[CONVERT_LABEL]
        if not labels:
            del obj["metadata"]["labels"]
        objects.append(obj)
    return objects


def kustomize(directory, tmp):
    code, out, err = run(["kubectl", "kustomize", directory], env=kubectl_env(tmp))
    if code != 0:
        raise AssertionError(f"kubectl kustomize {directory} failed: {err}")
    built = pathlib.Path(tmp) / f"kustomized-{len(list(pathlib.Path(tmp).iterdir()))}.yaml"
    built.write_text(out, encoding="utf-8")
    return to_objects(built, tmp)


def combination_name(components):
    return "+".join(sorted(components)) or "base"


def kustomize_with(components, tmp):
    """deploy/base with these components, through an overlay in tmp (kustomize takes relative
    paths only), as docs/deploy.md tells users to write one."""
    overlay = pathlib.Path(tmp) / "overlays" / combination_name(components)
    overlay.mkdir(parents=True)
    base = os.path.relpath(BASE_DIR, overlay)
    lines = ["apiVersion: kustomize.config.k8s.io/v1beta1", "kind: Kustomization",
             "resources:", f"- {base}"]
    if components:
        lines.append("components:")
        lines += [f"- {os.path.relpath(COMPONENTS_DIR / c, overlay)}" for c in sorted(components)]
    (overlay / "kustomization.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return kustomize(overlay, tmp)


def component_names():
    return sorted(p.name for p in COMPONENTS_DIR.iterdir() if (p / "kustomization.yaml").exists())


# Every subset of the components, the empty one (the base alone) first.
COMBINATIONS = [frozenset(c) for n in range(len(COMPONENT_OBJECTS) + 1)
                for c in itertools.combinations(sorted(COMPONENT_OBJECTS), n)]
_BUILDS = {}
_BUILDS_TMP = []


def build_of(components):
    """The objects of deploy/base with these components, built once per test run."""
    if components not in _BUILDS:
        if not _BUILDS_TMP:
            _BUILDS_TMP.append(pathlib.Path(tempfile.mkdtemp(prefix="ma-deploy-test-")))
        _BUILDS[components] = kustomize_with(components, _BUILDS_TMP[0])
    return _BUILDS[components]


def tearDownModule():
    for tmp in _BUILDS_TMP:
        shutil.rmtree(tmp, ignore_errors=True)


def key_of(obj):
    meta = obj["metadata"]
    name = meta["name"]
    for generated in GENERATED_CONFIGMAPS:
        if obj["kind"] == "ConfigMap" and name.startswith(generated + "-"):
            name = generated
    return obj["kind"], meta.get("namespace", ""), name


def selects(selector_labels, labels):
    return bool(selector_labels) and all(labels.get(k) == v for k, v in selector_labels.items())


def flag_name(arg):
    return arg.lstrip("-").split("=", 1)[0].replace("-", "_")


def gen_serving_cert(out_dir, *args):
    return run(["bash", GEN_SERVING_CERT, "--out-dir", out_dir, *args])


def openssl_text(cert, *fields):
    code, out, err = run(["openssl", "x509", "-in", cert, "-noout", *fields])
    if code != 0:
        raise AssertionError(f"openssl cannot read {cert}: {err}")
    return out


def dns_names(cert):
    text = openssl_text(cert, "-ext", "subjectAltName")
    return re.findall(r"DNS:([^,\s]+)", text)


class DeployTestCase:
    """Reads the build of deploy/base with COMPONENTS; a mixin, made into one TestCase per
    combination at the end of this file."""

    COMPONENTS = frozenset()

    @classmethod
    def setUpClass(cls):
        cls.tmp = pathlib.Path(tempfile.mkdtemp(prefix="ma-deploy-test-"))
        cls.objects = build_of(cls.COMPONENTS)
        cls.by_key = {key_of(o): o for o in cls.objects}

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def has(self, component):
        return component in self.COMPONENTS

    def get(self, kind, namespace, name):
        obj = self.by_key.get((kind, namespace, name))
        self.assertIsNotNone(
            obj, f"{kind} {namespace}/{name} is not in {combination_name(self.COMPONENTS)}")
        return obj

    @property
    def pod_labels(self):
        return self.deployment["spec"]["template"]["metadata"]["labels"]

    @property
    def deployment(self):
        return self.get("Deployment", NAMESPACE, NAME)

    @property
    def pod_spec(self):
        return self.deployment["spec"]["template"]["spec"]

    @property
    def container(self):
        containers = self.pod_spec["containers"]
        self.assertEqual(len(containers), 1, containers)
        return containers[0]

    def arg(self, name):
        """The value of --name in the Deployment's args (None when absent)."""
        for arg in self.container["args"]:
            if arg.startswith("-") and flag_name(arg) == name.replace("-", "_"):
                return arg.split("=", 1)[1] if "=" in arg else ""
        return None

    def rules_text(self):
        configmap = self.get("ConfigMap", NAMESPACE, RULES_CONFIGMAP)
        return configmap["data"]["config.yaml"]

    def check_binary(self):
        if not ADAPTER_BIN.exists():
            self.fail(f"the adapter binary {ADAPTER_BIN} does not exist; build it first "
                      "(cmake --build <dir> --target metrics-adapter) or set MA_ADAPTER_BIN")


class KustomizationChecks(DeployTestCase):
    """What every build must hold, and what each component adds."""

    def test_builds_exactly_the_expected_objects(self):
        keys = [key_of(o) for o in self.objects]
        self.assertEqual(len(keys), len(set(keys)), keys)
        # The ca-bundle ConfigMap is local-config and the example HPA is not a resource: neither
        # may reach the cluster.
        expected = set(BASE_OBJECTS)
        for component in self.COMPONENTS:
            expected |= COMPONENT_OBJECTS[component]
        self.assertEqual(set(keys), expected)

    def test_every_object_is_labelled_as_part_of_the_adapter(self):
        for obj in self.objects:
            labels = obj["metadata"].get("labels", {})
            self.assertEqual(labels.get("app.kubernetes.io/part-of"), NAME, key_of(obj))

    def test_apiservices_point_at_the_service_with_the_ca_bundle_of_ca_bundle_yaml(self):
        service = self.get("Service", NAMESPACE, NAME)
        service_port = service["spec"]["ports"][0]["port"]
        for name, (group, version, priority) in EXPECTED_APISERVICES.items():
            with self.subTest(apiservice=name):
                spec = self.get("APIService", "", name)["spec"]
                self.assertEqual((spec["group"], spec["version"]), (group, version))
                self.assertEqual(name, f"{version}.{group}")
                self.assertEqual(spec["service"],
                                 {"name": NAME, "namespace": NAMESPACE, "port": service_port})
                self.assertEqual(spec["versionPriority"], priority)
                self.assertEqual(spec["groupPriorityMinimum"], 100)
                self.assertNotIn("insecureSkipTLSVerify", spec)
                annotations = self.get("APIService", "", name)["metadata"].get("annotations", {})
                if self.has(CERT_MANAGER):
                    # The cainjector fills caBundle from the serving Certificate's Secret.
                    self.assertNotIn("caBundle", spec)
                    self.assertEqual(annotations.get(INJECT_CA_ANNOTATION),
                                     f"{NAMESPACE}/{SERVING_CERT_SECRET}")
                else:
                    self.assertEqual(spec["caBundle"], CA_BUNDLE_PLACEHOLDER)
                    self.assertNotIn(INJECT_CA_ANNOTATION, annotations)

    def test_service_sends_443_to_the_containers_https_port(self):
        service = self.get("Service", NAMESPACE, NAME)["spec"]
        self.assertEqual(len(service["ports"]), 1)
        port = service["ports"][0]
        self.assertEqual(port["port"], 443)
        container_ports = {p["name"]: p["containerPort"] for p in self.container["ports"]}
        target = port["targetPort"]
        self.assertEqual(container_ports.get(target, target), 6443)
        self.assertEqual(self.arg("secure-port"), "6443")
        pod_labels = self.deployment["spec"]["template"]["metadata"]["labels"]
        for key, value in service["selector"].items():
            self.assertEqual(pod_labels.get(key), value, "the Service selects no adapter pod")

    def test_network_policy_admits_only_the_secure_port_of_the_adapter_pods(self):
        if not self.has(NETWORK_POLICY):
            self.assertNotIn(("NetworkPolicy", NAMESPACE, NAME), self.by_key)
            return
        spec = self.get("NetworkPolicy", NAMESPACE, NAME)["spec"]
        pod_labels = self.deployment["spec"]["template"]["metadata"]["labels"]
        for key, value in spec["podSelector"]["matchLabels"].items():
            self.assertEqual(pod_labels.get(key), value, "the NetworkPolicy selects no adapter pod")
        self.assertEqual(spec["policyTypes"], ["Ingress"])
        self.assertEqual(len(spec["ingress"]), 1, spec["ingress"])
        rule = spec["ingress"][0]
        # Any source (the aggregator's addresses differ per cluster), but only this port.
        self.assertNotIn("from", rule)
        container_ports = {p["name"]: p["containerPort"] for p in self.container["ports"]}
        self.assertEqual(len(rule["ports"]), 1, rule["ports"])
        port = rule["ports"][0]
        self.assertEqual(port["protocol"], "TCP")
        self.assertEqual(container_ports.get(port["port"], port["port"]), 6443)

    def test_deployment_runs_two_replicas_spread_over_nodes_or_three_on_three_nodes(self):
        spec = self.deployment["spec"]
        rolling = spec["strategy"]["rollingUpdate"]
        anti_affinity = self.pod_spec.get("affinity", {}).get("podAntiAffinity", {})
        if self.has(HIGH_AVAILABILITY):
            self.assertEqual(spec["replicas"], 3)
            required = anti_affinity["requiredDuringSchedulingIgnoredDuringExecution"]
            self.assertEqual([t["topologyKey"] for t in required], ["kubernetes.io/hostname"])
            self.assertTrue(selects(required[0]["labelSelector"]["matchLabels"], self.pod_labels))
            # No node may hold two replicas, so a rollout on three nodes cannot surge a fourth
            # pod: it replaces one at a time, never more than one down.
            self.assertEqual((rolling["maxSurge"], rolling["maxUnavailable"]), (0, 1))
        else:
            self.assertEqual(spec["replicas"], 2)
            self.assertEqual(rolling["maxUnavailable"], 0)
            self.assertEqual(anti_affinity, {})
        spread = self.pod_spec.get("topologySpreadConstraints", [])
        self.assertIn("kubernetes.io/hostname", [c["topologyKey"] for c in spread])
        pod_labels = spec["template"]["metadata"]["labels"]
        for constraint in spread:
            for key, value in constraint["labelSelector"]["matchLabels"].items():
                self.assertEqual(pod_labels.get(key), value)

    def test_deployment_is_non_root_read_only_and_without_privileges(self):
        pod = self.pod_spec["securityContext"]
        self.assertTrue(pod["runAsNonRoot"])
        self.assertEqual(pod["runAsUser"], NON_ROOT_UID)
        self.assertEqual(pod["seccompProfile"], {"type": "RuntimeDefault"})
        container = self.container["securityContext"]
        self.assertTrue(container["readOnlyRootFilesystem"])
        self.assertFalse(container["allowPrivilegeEscalation"])
        self.assertEqual(container["capabilities"]["drop"], ["ALL"])
        self.assertNotIn("add", container["capabilities"])
        self.assertNotIn("privileged", container)
        for host in ("hostNetwork", "hostPID", "hostIPC"):
            self.assertFalse(self.pod_spec.get(host, False), host)
        # The only writable place is a bounded emptyDir on /tmp.
        volumes = {v["name"]: v for v in self.pod_spec["volumes"]}
        writable = [m for m in self.container["volumeMounts"] if not m.get("readOnly")]
        self.assertEqual([m["mountPath"] for m in writable], ["/tmp"])
        self.assertIn("sizeLimit", volumes[writable[0]["name"]]["emptyDir"])
        # --cert-dir would need a writable directory; the serving certificate comes from files.
        self.assertIsNone(self.arg("cert-dir"))

    def test_resources_are_requested_and_memory_is_limited(self):
        resources = self.container["resources"]
        self.assertIn("cpu", resources["requests"])
        self.assertIn("memory", resources["requests"])
        self.assertIn("memory", resources["limits"])

    def test_probes_are_https_health_checks_the_adapter_serves_without_authorization(self):
        probes = {"livenessProbe": "/livez", "readinessProbe": "/readyz"}
        for probe, path in probes.items():
            with self.subTest(probe=probe):
                get = self.container[probe]["httpGet"]
                self.assertEqual((get["path"], get["scheme"], get["port"]), (path, "HTTPS", "https"))
        # The kubelet probes anonymously: both paths must stay always-allowed.
        always_allowed = self.arg("authorization-always-allow-paths")
        if always_allowed is not None:
            for path in probes.values():
                self.assertIn(path, always_allowed.split(","))

    def test_volumes_hold_the_rules_and_the_serving_certificate_where_the_flags_look(self):
        volumes = {v["name"]: v for v in self.pod_spec["volumes"]}
        mounts = {m["mountPath"]: m["name"] for m in self.container["volumeMounts"]}

        config = pathlib.PurePosixPath(self.arg("config"))
        rules_volume = volumes[mounts[str(config.parent)]]
        configmap = self.get("ConfigMap", NAMESPACE, RULES_CONFIGMAP)
        self.assertEqual(rules_volume["configMap"]["name"], configmap["metadata"]["name"])
        self.assertIn(config.name, configmap["data"])

        cert = pathlib.PurePosixPath(self.arg("tls-cert-file"))
        key = pathlib.PurePosixPath(self.arg("tls-private-key-file"))
        self.assertEqual(cert.parent, key.parent)
        secret_volume = volumes[mounts[str(cert.parent)]]["secret"]
        self.assertEqual(secret_volume["secretName"], SERVING_CERT_SECRET)
        # The key is readable by the adapter's group only (fsGroup), not by everyone.
        self.assertEqual(secret_volume["defaultMode"] & 0o007, 0)
        self.assertEqual(self.pod_spec["securityContext"]["fsGroup"], NON_ROOT_UID)
        # kubernetes.io/tls Secrets, as gen-serving-cert.sh writes them, hold exactly these keys.
        self.assertEqual((cert.name, key.name), ("tls.crt", "tls.key"))

    def test_pdb_lets_drains_take_one_adapter_pod_at_a_time(self):
        if not self.has(HIGH_AVAILABILITY):
            self.assertNotIn(("PodDisruptionBudget", NAMESPACE, NAME), self.by_key)
            return
        pdb = self.get("PodDisruptionBudget", NAMESPACE, NAME)["spec"]
        self.assertEqual(pdb["maxUnavailable"], 1)
        self.assertNotIn("minAvailable", pdb)
        self.assertGreaterEqual(self.deployment["spec"]["replicas"] - pdb["maxUnavailable"], 2)
        self.assertEqual(pdb["selector"]["matchLabels"],
                         self.deployment["spec"]["selector"]["matchLabels"])
        self.assertTrue(selects(pdb["selector"]["matchLabels"], self.pod_labels),
                        "the PodDisruptionBudget selects no adapter pod")

    def test_cert_manager_issues_the_secret_the_deployment_mounts_from_a_ca_it_keeps(self):
        if not self.has(CERT_MANAGER):
            self.assertFalse([k for k in self.by_key if k[0] in ("Certificate", "Issuer")])
            return
        serving = self.get("Certificate", NAMESPACE, SERVING_CERT_SECRET)["spec"]
        volumes = [v["secret"]["secretName"] for v in self.pod_spec["volumes"] if "secret" in v]
        self.assertIn(serving["secretName"], volumes)
        self.assertEqual(serving["secretName"], SERVING_CERT_SECRET)
        # The name the aggregator dials, with gen-serving-cert.sh's other forms.
        self.assertEqual(sorted(serving["dnsNames"]),
                         sorted([NAME, f"{NAME}.{NAMESPACE}", f"{NAME}.{NAMESPACE}.svc",
                                 f"{NAME}.{NAMESPACE}.svc.cluster.local"]))
        self.assertIn("server auth", serving["usages"])
        self.assertFalse(serving.get("isCA", False))
        # Signed by a CA Issuer whose CA is a Certificate of its own (so renewing the serving
        # certificate keeps the CA the APIServices trust), bootstrapped by a self-signed Issuer.
        ca_issuer = self.get("Issuer", NAMESPACE, serving["issuerRef"]["name"])["spec"]
        self.assertEqual(serving["issuerRef"]["kind"], "Issuer")
        ca_certs = [o["spec"] for o in self.objects if o["kind"] == "Certificate"
                    and o["spec"]["secretName"] == ca_issuer["ca"]["secretName"]]
        self.assertEqual(len(ca_certs), 1)
        self.assertTrue(ca_certs[0]["isCA"])
        root = self.get("Issuer", NAMESPACE, ca_certs[0]["issuerRef"]["name"])["spec"]
        self.assertEqual(root, {"selfSigned": {}})
        for key in ("duration", "renewBefore"):
            self.assertIn(key, serving)

    def test_monitoring_scrapes_the_services_port_under_the_certificates_name(self):
        if not self.has(MONITORING):
            self.assertFalse([k for k in self.by_key if k[0] in ("ServiceMonitor",
                                                                  "PrometheusRule")])
            return
        monitor = self.get("ServiceMonitor", NAMESPACE, NAME)["spec"]
        service = self.get("Service", NAMESPACE, NAME)
        self.assertTrue(selects(monitor["selector"]["matchLabels"],
                                service["metadata"]["labels"]), "the ServiceMonitor selects no Service")
        self.assertEqual(monitor["namespaceSelector"]["matchNames"], [NAMESPACE])
        (endpoint,) = monitor["endpoints"]
        self.assertEqual(endpoint["port"], service["spec"]["ports"][0]["name"])
        self.assertEqual(endpoint["tlsConfig"]["serverName"], f"{NAME}.{NAMESPACE}.svc")
        self.assertEqual(endpoint["tlsConfig"]["ca"]["secret"]["name"], SERVING_CERT_SECRET)
        dashboard = self.get("ConfigMap", NAMESPACE, DASHBOARD_CONFIGMAP)
        self.assertEqual(dashboard["metadata"]["labels"].get("grafana_dashboard"), "1")
        self.assertIn('"uid": "metrics-adapter"', dashboard["data"]["metrics-adapter.json"])

    def test_the_service_account_is_delegated_authentication_and_authorization(self):
        sa = {"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}
        self.assertEqual(self.pod_spec["serviceAccountName"], NAME)
        self.assertNotEqual(self.pod_spec.get("automountServiceAccountToken"), False)
        delegator = self.get("ClusterRoleBinding", "", "metrics-adapter:system:auth-delegator")
        self.assertEqual(delegator["roleRef"]["kind"], "ClusterRole")
        self.assertEqual(delegator["roleRef"]["name"], "system:auth-delegator")
        self.assertEqual(delegator["subjects"], [sa])
        reader = self.get("RoleBinding", "kube-system", "metrics-adapter-auth-reader")
        self.assertEqual(reader["roleRef"]["kind"], "Role")
        self.assertEqual(reader["roleRef"]["name"], "extension-apiserver-authentication-reader")
        self.assertEqual(reader["subjects"], [sa])

    def test_the_service_account_can_watch_every_resource_the_rules_map_to(self):
        role = self.get("ClusterRole", "", "metrics-adapter-resource-reader")
        granted = set()
        for rule in role["rules"]:
            self.assertNotIn("*", rule["resources"])
            self.assertFalse(set(rule["verbs"]) - {"get", "list", "watch"}, rule)
            if {"list", "watch"} <= set(rule["verbs"]):
                for group in rule["apiGroups"]:
                    granted.update((group, r) for r in rule["resources"])
        self.assertNotIn(("", "secrets"), granted)
        # Every `resource:` an override names in the example rules, as a core plural.
        mapped = set(re.findall(r'resource:\s*"?([a-z]+)"?', self.rules_text()))
        self.assertTrue(mapped, "the example rules map no resource")
        for resource in mapped:
            self.assertIn(("", resource + "s"), granted, f"rules map {resource}")
        self.assertLessEqual({("", "pods"), ("", "namespaces"), ("apps", "deployments")}, granted)
        binding = self.get("ClusterRoleBinding", "", "metrics-adapter-resource-reader")
        self.assertEqual(binding["subjects"],
                         [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}])

    def test_the_hpa_controller_may_read_custom_and_external_metrics(self):
        binding = self.get("ClusterRoleBinding", "", "metrics-adapter:hpa-controller")
        namespace, name = HPA_SERVICE_ACCOUNT
        self.assertEqual(binding["subjects"],
                         [{"kind": "ServiceAccount", "name": name, "namespace": namespace}])
        role = self.get("ClusterRole", "", binding["roleRef"]["name"])
        groups = set()
        for rule in role["rules"]:
            self.assertEqual(rule["resources"], ["*"])
            self.assertEqual(set(rule["verbs"]), {"get", "list"})
            groups.update(rule["apiGroups"])
        self.assertEqual(groups, METRICS_GROUPS)


class BinaryChecks(DeployTestCase):
    """What a build of deploy/ asks of the binary, asked of the binary."""

    def deployment_args_for(self, subcommand):
        args = list(self.container["args"])
        self.assertEqual(args[0], "serve")
        return [subcommand, *args[1:]]

    def test_the_configmaps_rules_pass_check(self):
        self.check_binary()
        rules = self.tmp / "config.yaml"
        rules.write_text(self.rules_text(), encoding="utf-8")
        code, out, err = run([ADAPTER_BIN, "check", f"--config={rules}"])
        self.assertEqual(code, 0, out + err)
        self.assertIn("OK", out)
        self.assertEqual(self.rules_text(), EXAMPLE_RULES.read_text("utf-8"))

    def test_deployment_args_name_only_flags_the_binary_offers(self):
        self.check_binary()
        code, out, err = run([ADAPTER_BIN, "--helpfull"])
        offered = set(re.findall(r"^\s+--([a-z0-9_]+) ", out + err, re.MULTILINE))
        self.assertIn("config", offered, "could not read the flag list of --helpfull")
        for arg in self.container["args"][1:]:
            self.assertTrue(arg.startswith("--"), f"{arg!r} is not a --flag")
            self.assertIn(flag_name(arg), offered, arg)

    def test_deployment_args_parse_and_validate(self):
        # `check` parses and validates every serve flag (unknown flags, durations, TLS version,
        # relist vs max-age) before it reads the rules; the last --config wins.
        self.check_binary()
        rules = self.tmp / "config-for-args.yaml"
        rules.write_text(self.rules_text(), encoding="utf-8")
        args = self.deployment_args_for("check")
        code, out, err = run([ADAPTER_BIN, *args, f"--config={rules}"])
        self.assertEqual(code, 0, out + err)
        # The same route rejects a flag the binary does not have, so the check above has teeth.
        code, out, err = run([ADAPTER_BIN, *args, "--no-such-flag=1", f"--config={rules}"])
        self.assertNotEqual(code, 0, out + err)


class ExampleHpaTest(DeployTestCase, unittest.TestCase):
    """deploy/examples/hpa.yaml against the example rules; no component changes either."""

    def test_the_example_hpas_metrics_resolve_through_the_example_rules(self):
        self.check_binary()
        hpas = to_objects(EXAMPLE_HPA, self.tmp)
        self.assertEqual(len(hpas), 1)
        hpa = hpas[0]
        self.assertEqual(hpa["kind"], "HorizontalPodAutoscaler")
        self.assertEqual(hpa["apiVersion"], "autoscaling/v2")
        namespace = hpa["metadata"]["namespace"]
        series = self.tmp / "series.json"
        series.write_text(json.dumps(EXAMPLE_SERIES), encoding="utf-8")
        rules = EXAMPLE_RULES
        kinds = [m["type"] for m in hpa["spec"]["metrics"]]
        self.assertEqual(sorted(kinds), ["External", "Pods"])
        for metric in hpa["spec"]["metrics"]:
            with self.subTest(metric=metric["type"]):
                if metric["type"] == "External":
                    source = metric["external"]["metric"]
                    selector = ",".join(f"{k}={v}"
                                        for k, v in source["selector"]["matchLabels"].items())
                    path = (f"/apis/external.metrics.k8s.io/v1beta1/namespaces/{namespace}/"
                            f"{source['name']}?labelSelector="
                            f"{urllib.parse.quote(selector, safe='')}")
                    extra = []
                    expected = [f'namespace="{namespace}"', 'queue="orders"']
                else:
                    source = metric["pods"]["metric"]
                    path = (f"/apis/custom.metrics.k8s.io/v1beta2/namespaces/{namespace}/pods/*/"
                            f"{source['name']}")
                    extra = ["--object-names=worker-1,worker-2"]
                    expected = [f'namespace="{namespace}"', 'pod=~"worker-1|worker-2"']
                code, out, err = run([ADAPTER_BIN, "explain", f"--config={rules}",
                                      f"--series-file={series}", *extra, path])
                self.assertEqual(code, 0, err)
                for matcher in expected:
                    self.assertIn(matcher, out)


class ServingCertTest(unittest.TestCase):

    def setUp(self):
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="ma-certs-test-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def generate(self, *args, out_dir=None):
        out_dir = out_dir or self.tmp / "pki"
        code, out, err = gen_serving_cert(out_dir, *args)
        self.assertEqual(code, 0, err)
        return out_dir, out

    def test_serving_certificate_names_the_service_and_verifies_against_the_ca(self):
        cases = [
            ((), NAMESPACE, NAME),
            (("--namespace", "monitoring", "--service", "custom-metrics"), "monitoring",
             "custom-metrics"),
        ]
        for args, namespace, service in cases:
            with self.subTest(namespace=namespace, service=service):
                out_dir, stdout = self.generate(*args, out_dir=self.tmp / namespace)
                self.assertEqual(
                    sorted(dns_names(out_dir / "tls.crt")),
                    sorted([service, f"{service}.{namespace}", f"{service}.{namespace}.svc",
                            f"{service}.{namespace}.svc.cluster.local"]))
                code, out, err = run(["openssl", "verify", "-CAfile", out_dir / "ca.crt",
                                      out_dir / "tls.crt"])
                self.assertEqual(code, 0, out + err)
                self.assertIn("TLS Web Server Authentication",
                              openssl_text(out_dir / "tls.crt", "-ext", "extendedKeyUsage"))
                # The printed caBundle is the CA certificate, nothing else on stdout.
                lines = stdout.splitlines()
                self.assertEqual(len(lines), 1, stdout)
                self.assertEqual(base64.b64decode(lines[0], validate=True),
                                 (out_dir / "ca.crt").read_bytes())

    def test_validity_is_bounded_and_keys_are_private(self):
        out_dir, _ = self.generate("--days", "30")
        code, _, err = run(["openssl", "x509", "-in", out_dir / "tls.crt", "-noout",
                            "-checkend", str(29 * 86400)])
        self.assertEqual(code, 0, err)
        code, _, _ = run(["openssl", "x509", "-in", out_dir / "tls.crt", "-noout", "-checkend",
                          str(31 * 86400)])
        self.assertNotEqual(code, 0, "a 30-day certificate is valid beyond 31 days")
        for key in ("ca.key", "tls.key"):
            self.assertEqual(stat.S_IMODE((out_dir / key).stat().st_mode), 0o600, key)
        code, _, err = gen_serving_cert(self.tmp / "long", "--days", "10000")
        self.assertNotEqual(code, 0)
        self.assertIn("--days", err)

    def test_rejects_names_kubernetes_would_reject_and_writes_nothing(self):
        for args in (("--namespace", "Not_A_Label"), ("--service", "a" * 64),
                     ("--namespace", "x;rm -rf /"), ("--unknown",)):
            with self.subTest(args=args):
                out_dir = self.tmp / "rejected"
                code, out, err = gen_serving_cert(out_dir, *args)
                self.assertNotEqual(code, 0, out)
                self.assertEqual(out, "")
                self.assertFalse(out_dir.exists())

    def test_a_second_run_keeps_the_ca_and_issues_a_new_serving_certificate(self):
        out_dir, first = self.generate()
        serial = openssl_text(out_dir / "tls.crt", "-serial")
        _, second = self.generate()
        self.assertEqual(first, second)
        self.assertNotEqual(openssl_text(out_dir / "tls.crt", "-serial"), serial)
        code, out, err = run(["openssl", "verify", "-CAfile", out_dir / "ca.crt",
                              out_dir / "tls.crt"])
        self.assertEqual(code, 0, out + err)

    def test_secret_manifest_is_the_tls_secret_the_deployment_mounts(self):
        out_dir, _ = self.generate("--secret-manifest")
        manifest = out_dir / "serving-cert-secret.yaml"
        self.assertEqual(stat.S_IMODE(manifest.stat().st_mode), 0o600)
        (secret,) = to_objects(manifest, self.tmp)
        self.assertEqual(secret["kind"], "Secret")
        self.assertEqual(secret["type"], "kubernetes.io/tls")
        self.assertEqual(secret["metadata"], {"name": SERVING_CERT_SECRET, "namespace": NAMESPACE})
        for key in ("tls.crt", "tls.key", "ca.crt"):
            self.assertEqual(base64.b64decode(secret["data"][key]), (out_dir / key).read_bytes())

    def test_ca_bundle_manifest_fills_the_apiservices_through_kustomize(self):
        deploy_copy = self.tmp / "deploy"
        shutil.copytree(DEPLOY_DIR, deploy_copy)
        _, ca_bundle = self.generate("--ca-bundle-manifest",
                                     deploy_copy / "base" / "ca-bundle.yaml")
        # Through the example overlay: the base's caBundle reaches what an overlay builds.
        objects = kustomize(deploy_copy / "overlays" / "example", self.tmp)
        apiservices = [o for o in objects if o["kind"] == "APIService"]
        self.assertEqual(len(apiservices), len(EXPECTED_APISERVICES))
        for apiservice in apiservices:
            self.assertEqual(apiservice["spec"]["caBundle"], ca_bundle.strip())
        self.assertNotIn("ConfigMap/metrics-adapter-ca-bundle",
                         [f"{o['kind']}/{o['metadata']['name']}" for o in objects])

    def test_the_adapter_serves_the_certificate_under_the_service_name(self):
        # What the aggregator does: dial the Service, check the certificate against caBundle
        # for <service>.<namespace>.svc. The adapter runs standalone with the generated files.
        if not ADAPTER_BIN.exists():
            self.fail(f"the adapter binary {ADAPTER_BIN} does not exist; set MA_ADAPTER_BIN")
        out_dir, _ = self.generate()
        rules = EXAMPLE_RULES
        port = harness.free_port()
        unused_prometheus = harness.free_port(exclude={port})
        adapter = harness.Child("adapter", [
            ADAPTER_BIN, "serve", "--standalone", f"--config={rules}",
            f"--prometheus-url=http://127.0.0.1:{unused_prometheus}", f"--secure-port={port}",
            f"--tls-cert-file={out_dir / 'tls.crt'}",
            f"--tls-private-key-file={out_dir / 'tls.key'}", "--metrics-relist-interval=1m"
        ], self.tmp / "adapter.log")
        adapter.start()
        self.addCleanup(adapter.stop)

        def livez(host):
            return harness.curl(f"https://{host}:{port}/livez", ca_file=out_dir / "ca.crt",
                                extra_args=["--resolve", f"{host}:{port}:127.0.0.1"])

        service_host = f"{NAME}.{NAMESPACE}.svc"
        answer = harness.wait_until(lambda: livez(service_host).status == 200 or None,
                                    harness.ADAPTER_READY_TIMEOUT_S,
                                    f"/livez over TLS as {service_host}",
                                    check=adapter.check_running)
        self.assertTrue(answer)
        # The same certificate under a name it was not issued for fails verification.
        wrong = livez(f"{NAME}.other-namespace.svc")
        self.assertEqual(wrong.status, 0)
        self.assertNotEqual(wrong.exit_code, 0)


class DockerfileTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.text = DOCKERFILE.read_text(encoding="utf-8")
        # Continuation lines joined, so each instruction is one line.
        cls.lines = [l.strip() for l in re.sub(r"\\\n", " ", cls.text).splitlines()
                     if l.strip() and not l.lstrip().startswith("#")]
        cls.stages = []
        for line in cls.lines:
            if line.startswith("FROM "):
                cls.stages.append([])
            cls.stages[-1].append(line)

    def installed(self, stage):
        packages = []
        for line in stage:
            m = re.search(r"apt-get install ([^&]*)", line)
            if m:
                packages += [w for w in m.group(1).split() if not w.startswith("-")]
        return set(packages)

    def test_builds_on_debian_12_and_runs_from_scratch(self):
        self.assertEqual(len(self.stages), 2, self.stages)
        self.assertTrue(self.stages[0][0].startswith("FROM debian:12 AS "), self.stages[0][0])
        self.assertEqual(self.stages[1][0], "FROM scratch")
        build = " ".join(self.stages[0])
        self.assertIn("--target metrics-adapter", build)
        self.assertIn("scripts/image_rootfs.sh build/bin/metrics-adapter /rootfs", build)
        # .git is not in the context: the commit comes in as a build argument.
        self.assertIn("ARG GIT_COMMIT=unknown", self.stages[0])
        self.assertIn('-DMA_GIT_COMMIT="${GIT_COMMIT}"', build)
        runtime = self.stages[1]
        self.assertIn(f"USER {NON_ROOT_UID}:{NON_ROOT_UID}", runtime)
        self.assertIn(f'ENTRYPOINT ["{IMAGE_BINARY}"]', runtime)
        self.assertIn("COPY --from=build /rootfs /", runtime)
        self.assertFalse([l for l in runtime if l.startswith("RUN ")],
                         "the runtime stage has no shell to RUN anything with")

    def test_build_packages_are_the_projects_declared_dependencies(self):
        declared = set(re.search(r"kPackages=\(([^)]*)\)",
                                 DEPS_SCRIPT.read_text(encoding="utf-8")).group(1).split())
        build = self.installed(self.stages[0])
        self.assertIn("libboost1.81-dev", build)
        self.assertFalse(build - declared, "not in scripts/deps.sh")


    def test_the_deployment_runs_the_images_user(self):
        deployment = next(o for o in build_of(frozenset()) if o["kind"] == "Deployment")
        pod = deployment["spec"]["template"]["spec"]
        self.assertEqual(pod["securityContext"]["runAsUser"], NON_ROOT_UID)
        self.assertIn(f"USER {NON_ROOT_UID}:{NON_ROOT_UID}", self.stages[1])

    def test_dockerignore_keeps_build_trees_and_keys_out_of_the_context(self):
        ignored = (SOURCE_DIR / ".dockerignore").read_text(encoding="utf-8").split()
        for pattern in (".git", "build", "build-*", "**/*.key"):
            self.assertIn(pattern, ignored)
        # CMake configures test/ too: it must stay in the context.
        self.assertNotIn("test", ignored)


class ImageRootfsTest(unittest.TestCase):
    """scripts/image_rootfs.sh, run here on the binary under test (this machine is Debian 12, as
    the image's build stage): the tree it lays out is the image's whole filesystem."""

    @classmethod
    def setUpClass(cls):
        if not ADAPTER_BIN.exists():
            raise AssertionError(f"the adapter binary {ADAPTER_BIN} does not exist")
        cls.tmp = tempfile.mkdtemp(prefix="ma-rootfs-test-")
        cls.rootfs = pathlib.Path(cls.tmp) / "rootfs"
        code, out, err = run([IMAGE_ROOTFS, ADAPTER_BIN, cls.rootfs])
        if code != 0:
            raise AssertionError(f"image_rootfs.sh failed: {err}")
        cls.files = {"/" + str(p.relative_to(cls.rootfs)) for p in cls.rootfs.rglob("*")
                     if p.is_file()}

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_holds_the_binary_the_ca_bundle_and_no_shell_or_package_manager(self):
        self.assertIn(IMAGE_BINARY, self.files)
        self.assertIn("/etc/ssl/certs/ca-certificates.crt", self.files)
        self.assertIn("/etc/passwd", self.files)
        self.assertIn(f"nonroot:x:{NON_ROOT_UID}:{NON_ROOT_UID}:",
                      (self.rootfs / "etc/passwd").read_text())
        for path in ("/bin/sh", "/bin/bash", "/usr/bin/apt-get", "/usr/bin/dpkg", "/bin/ls",
                     "/usr/bin/env"):
            self.assertNotIn(path, self.files)
        self.assertFalse([f for f in self.files if "/bin/" in f and f != IMAGE_BINARY],
                         "only one executable")

    def test_every_library_the_binary_loads_comes_from_the_image(self):
        # The image's own loader, told to look in the image's library directories first and not
        # at this machine's cache: a library the image lacks would be found on this machine
        # instead, and LD_DEBUG names where each one came from.
        loaders = [f for f in self.files if re.search(r"/ld-linux[^/]*\.so", f)]
        self.assertEqual(len(loaders), 1, loaders)
        library_dirs = sorted({os.path.dirname(f) for f in self.files if ".so" in f})
        code, out, err = run(
            [self.rootfs / loaders[0].lstrip("/"), "--inhibit-cache", "--library-path",
             ":".join(str(self.rootfs) + d for d in library_dirs),
             self.rootfs / IMAGE_BINARY.lstrip("/"), "version"],
            env=dict(os.environ, LD_DEBUG="libs", ASAN_OPTIONS="detect_leaks=0"))
        self.assertEqual(code, 0, err)
        self.assertRegex(out, r"^metrics-adapter v")
        loaded = re.findall(r"calling init: (/\S+)", err)
        self.assertGreater(len(loaded), 5, err[-2000:])
        outside = [p for p in loaded if not p.startswith(str(self.rootfs))]
        self.assertEqual(outside, [], "libraries the image lacks")


class LayoutTest(unittest.TestCase):

    def setUp(self):
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="ma-deploy-layout-test-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def test_every_component_on_disk_is_tested(self):
        self.assertEqual(component_names(), sorted(COMPONENT_OBJECTS))
        self.assertEqual(len(COMBINATIONS), 2**len(COMPONENT_OBJECTS))

    def test_the_example_overlay_is_the_base_with_its_components(self):
        # Built in place: an overlay inside the base's directory would be a kustomize cycle,
        # which is why base, components and overlays are siblings.
        example = kustomize(EXAMPLE_OVERLAY, self.tmp)
        self.assertEqual(sorted(map(json.dumps, example)),
                         sorted(map(json.dumps, build_of(EXAMPLE_COMPONENTS))))

    def test_the_base_alone_builds_in_place(self):
        base = kustomize(BASE_DIR, self.tmp)
        self.assertEqual(sorted(map(json.dumps, base)),
                         sorted(map(json.dumps, build_of(frozenset()))))


def _test_class_name(prefix, components):
    words = (c.title().replace("-", "") for c in sorted(components))
    return prefix + ("".join(words) or "BaseOnly")


# One TestCase per combination of components, each running every check above.
for _components in COMBINATIONS:
    for _prefix, _checks in (("Kustomization", KustomizationChecks), ("Binary", BinaryChecks)):
        _name = _test_class_name(_prefix, _components)
        globals()[_name] = type(_name, (_checks, unittest.TestCase), {"COMPONENTS": _components})
del _components, _prefix, _checks, _name


if __name__ == "__main__":
    unittest.main()
