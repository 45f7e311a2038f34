"""Fidelity of the fake kube-apiserver (test/fake_apiserver), proven with real kubectl.

The adapter's Kubernetes tests are only as good as the fake they run against, so real kubectl
v1.32 is pointed at it through a kubeconfig: label and field selectors, chunked LISTs
(limit/continue), `get --watch`, discovery (`api-resources`), the authentication ConfigMap and
the fake's own client authentication, and its aggregator part (an APIService proxied with the
front-proxy certificate and X-Remote-* headers). The WATCH edge cases kubectl does not reach (410 Expired,
bookmarks, PartialObjectMetadata, selector transitions) and the review tables are checked over
HTTPS with the standard library. No Prometheus and no adapter are involved.
"""

import contextlib
import http.client
import http.server
import json
import os
import pathlib
import queue
import shutil
import subprocess
import tempfile
import threading
import unittest
import urllib.parse

import harness

fake_apiserver = harness.fake_apiserver

# Bound on one wait for a line of a running `kubectl get --watch`.
WATCH_LINE_TIMEOUT_S = harness.CLIENT_TIMEOUT_S
WATCH_TIMEOUT_SECONDS = 3  # timeoutSeconds of the WATCHes this file opens itself
METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
METADATA = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"

# (namespace, name, labels) served to kubectl.
PODS = (
    ("shop", "web-1", {"app": "web", "tier": "front"}),
    ("shop", "web-2", {"app": "web"}),
    ("shop", "worker-1", {"app": "worker", "tier": "back"}),
    ("billing", "api-1", {"app": "api", "tier": "front"}),
    ("billing", "web-3", {"app": "web"}),
    ("default", "lonely", {}),
)


class LineReader:
    """Collects a child's stdout lines on a thread so that the test waits with a bound."""

    def __init__(self, stream):
        self.lines = queue.Queue()
        self.seen = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream):
        for line in stream:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for(self, wanted):
        """Reads until `wanted` (a set of lines) has all been seen; returns every line read."""
        missing = set(wanted) - set(self.seen)
        while missing:
            try:
                line = self.lines.get(timeout=WATCH_LINE_TIMEOUT_S)
            except queue.Empty:
                raise harness.HarnessError(f"no {sorted(missing)} within "
                                           f"{WATCH_LINE_TIMEOUT_S}s; read {self.seen}")
            if line is None:
                raise harness.HarnessError(f"stream ended before {sorted(missing)}; read "
                                           f"{self.seen}")
            self.seen.append(line)
            missing.discard(line)
        return list(self.seen)

    def wait_for_count(self, count):
        """Reads until `count` lines have been seen; returns them."""
        while len(self.seen) < count:
            try:
                line = self.lines.get(timeout=WATCH_LINE_TIMEOUT_S)
            except queue.Empty:
                raise harness.HarnessError(f"only {len(self.seen)} of {count} lines within "
                                           f"{WATCH_LINE_TIMEOUT_S}s: {self.seen}")
            if line is None:
                raise harness.HarnessError(f"stream ended after {self.seen}")
            self.seen.append(line)
        return list(self.seen)


class FakeApiServerTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = pathlib.Path(tempfile.mkdtemp(prefix="ma-fake-"))
        cls.pki = harness.generate_pki(cls.tmp / "pki")
        cls.log = open(cls.tmp / "fake-apiserver.log", "a", encoding="utf-8")
        cls.fake = fake_apiserver.FakeApiServer(cls.pki.server_crt, cls.pki.server_key,
                                                cls.pki.ca_crt, client_tokens={"fake-token"},
                                                bookmark_interval_s=0.5, log=cls.log)
        for namespace in ("shop", "billing"):
            cls.fake.add_namespace(namespace)
        for namespace, name, labels in PODS:
            cls.fake.add_pod(namespace, name, labels)
        cls.fake.add_deployment("shop", "web", {"app": "web"})
        cls.fake.set_authentication_configmap(cls.pki.ca_crt, cls.pki.front_proxy_ca_crt)
        cls.fake.start()
        cls.kubeconfig = harness.write_kubeconfig(cls.tmp / "kubeconfig", cls.fake.url,
                                                  cls.pki.ca_crt, cls.pki.client_crt,
                                                  cls.pki.client_key)

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()
        cls.log.close()
        if os.environ.get("MA_KEEP_TMP") == "1":
            print(f"kept {cls.tmp}")
        else:
            shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()

    # ---- helpers --------------------------------------------------------------------------

    def kubectl(self, *args, kubeconfig=None):
        return harness.run_client(["kubectl", "--kubeconfig", str(kubeconfig or self.kubeconfig),
                                   "--cache-dir", str(self.tmp / "kube-cache"),
                                   f"--request-timeout={harness.CLIENT_TIMEOUT_S}s", *args])

    def kubectl_ok(self, *args):
        code, out, err = self.kubectl(*args)
        self.assertEqual(code, 0, f"kubectl {' '.join(args)}: {err.strip()}")
        return out

    def request(self, method, path, accept="application/json", body=None, cert=True):
        """(status, content type, body text) of one HTTPS request to the fake."""
        context = harness.ssl.create_default_context(cafile=str(self.pki.ca_crt))
        if cert:
            context.load_cert_chain(str(self.pki.client_crt), str(self.pki.client_key))
        conn = http.client.HTTPSConnection("127.0.0.1", self.fake.port, context=context,
                                           timeout=harness.CLIENT_TIMEOUT_S)
        try:
            headers = {"Accept": accept}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.getheader("Content-Type"), resp.read().decode()
        finally:
            conn.close()

    def get_json(self, path, accept="application/json"):
        status, content_type, body = self.request("GET", path, accept)
        self.assertEqual(status, 200, body)
        self.assertEqual(content_type, "application/json")
        return json.loads(body)

    def watch(self, path, accept="application/json"):
        """Every event of a WATCH that ends by itself after WATCH_TIMEOUT_SECONDS."""
        sep = "&" if "?" in path else "?"
        status, _, body = self.request(
            "GET", f"{path}{sep}watch=1&timeoutSeconds={WATCH_TIMEOUT_SECONDS}", accept)
        self.assertEqual(status, 200, body)
        return [json.loads(line) for line in body.splitlines() if line]

    @contextlib.contextmanager
    def kubectl_watch(self, *output_args):
        """A running `kubectl get pods -n shop -l app=watched --watch`, killed at the end."""
        argv = ["kubectl", "--kubeconfig", str(self.kubeconfig), "--cache-dir",
                str(self.tmp / "kube-cache"), "get", "pods", "-n", "shop", "-l", "app=watched",
                "--watch", *output_args]
        child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                 text=True, stdin=subprocess.DEVNULL)
        try:
            yield LineReader(child.stdout)
        finally:
            child.kill()
            child.communicate(timeout=harness.CHILD_STOP_TIMEOUT_S)

    @staticmethod
    def expected_pods(predicate, namespace=None):
        return {f"pod/{name}" for ns, name, labels in PODS
                if predicate(labels) and namespace in (None, ns)}

    # ---- kubectl --------------------------------------------------------------------------

    def test_kubectl_get_pods_by_label_selector(self):
        cases = [
            ("app=web", lambda ls: ls.get("app") == "web"),
            ("app==web", lambda ls: ls.get("app") == "web"),
            ("app!=web", lambda ls: ls.get("app") != "web"),
            ("app in (web,api)", lambda ls: ls.get("app") in ("web", "api")),
            ("app notin (web,api)", lambda ls: ls.get("app") not in ("web", "api")),
            ("tier", lambda ls: "tier" in ls),
            ("!tier", lambda ls: "tier" not in ls),
            ("app=web,tier=front", lambda ls: ls.get("app") == "web" and
             ls.get("tier") == "front"),
            ("app=nothing", lambda ls: False),
        ]
        for selector, predicate in cases:
            with self.subTest(selector=selector):
                out = self.kubectl_ok("get", "pods", "-l", selector, "-A", "-o", "name")
                self.assertEqual(set(out.split()), self.expected_pods(predicate))
                out = self.kubectl_ok("get", "pods", "-l", selector, "-n", "shop", "-o", "name")
                self.assertEqual(set(out.split()), self.expected_pods(predicate, "shop"))

    def test_bad_label_selector_is_a_bad_request(self):
        for selector in ("app in ()", "app=web,", "a b", "app=-bad-"):
            with self.subTest(selector=selector):
                status, _, body = self.request(
                    "GET", "/api/v1/pods?labelSelector=" + urllib.parse.quote(selector))
                doc = json.loads(body)
                self.assertEqual((status, doc["kind"], doc["reason"]),
                                 (400, "Status", "BadRequest"))
                self.assertTrue(doc["message"].startswith("unable to parse requirement: "), doc)

    def test_kubectl_get_pods_by_field_selector(self):
        out = self.kubectl_ok("get", "pods", "-A", "--field-selector", "metadata.name=web-3",
                              "-o", "name")
        self.assertEqual(out.split(), ["pod/web-3"])
        out = self.kubectl_ok("get", "pods", "-A", "--field-selector",
                              "metadata.namespace!=shop", "-o", "name")
        self.assertEqual(set(out.split()), {"pod/api-1", "pod/web-3", "pod/lonely"})
        code, _, err = self.kubectl("get", "pods", "-A", "--field-selector", "spec.bogus=x")
        self.assertNotEqual(code, 0)
        self.assertIn("field label not supported: spec.bogus", err)

    def test_kubectl_chunked_list_follows_continue_tokens(self):
        out = self.kubectl_ok("get", "pods", "-A", "--chunk-size=2", "-o", "name")
        self.assertEqual(sorted(out.split()), sorted(f"pod/{name}" for _, name, _ in PODS))
        listed = [path for method, path, _, _ in self.fake.requests()
                  if path.startswith("/api/v1/pods?") and "limit=2" in path]
        self.assertGreaterEqual(sum("continue=" in p for p in listed), 2, listed)

    def test_kubectl_get_one_pod_and_a_missing_one(self):
        pod = json.loads(self.kubectl_ok("get", "pod", "-n", "shop", "web-1", "-o", "json"))
        self.assertEqual((pod["kind"], pod["apiVersion"]), ("Pod", "v1"))
        self.assertEqual(pod["metadata"]["labels"], {"app": "web", "tier": "front"})
        code, _, err = self.kubectl("get", "pod", "-n", "shop", "nope")
        self.assertNotEqual(code, 0)
        self.assertIn('pods "nope" not found', err)

    def test_kubectl_table_output(self):
        out = self.kubectl_ok("get", "pods", "-n", "billing")
        rows = [line.split()[0] for line in out.splitlines()]
        self.assertEqual(rows, ["NAME", "api-1", "web-3"])

    def test_kubectl_watch_sees_added_modified_and_deleted_pods(self):
        self.fake.add_pod("shop", "seen-first", {"app": "watched"})
        try:
            # -o name: the brief's command; what kubectl prints is the pods' names.
            with self.kubectl_watch("-o", "name") as reader:
                reader.wait_for({"pod/seen-first"})
                self.fake.add_pod("shop", "not-selected", {"app": "other"})
                self.fake.add_pod("shop", "seen-later", {"app": "watched"})
                self.assertEqual(reader.wait_for({"pod/seen-later"}),
                                 ["pod/seen-first", "pod/seen-later"])
            # One JSON event per line: the types the fake sent for a change, in order.
            with self.kubectl_watch("--output-watch-events", "-o", "json") as reader:
                first = len(self.fake.objects("pods"))
                reader.wait_for_count(2)
                self.fake.set_pod_labels("shop", "seen-first", {"app": "watched", "v": "2"})
                self.fake.delete_pod("shop", "seen-later")
                self.fake.set_pod_labels("shop", "not-selected", {"app": "watched"})
                lines = reader.wait_for_count(5)
                events = [(json.loads(line)["type"], json.loads(line)["object"]["metadata"]
                           ["name"]) for line in lines]
                self.assertEqual(events, [
                    ("ADDED", "seen-first"), ("ADDED", "seen-later"),
                    ("MODIFIED", "seen-first"), ("DELETED", "seen-later"),
                    ("ADDED", "not-selected")])
                self.assertEqual(len(self.fake.objects("pods")), first - 1)
        finally:
            self.fake.delete_pod("shop", "seen-first")
            self.fake.delete_pod("shop", "not-selected")
        watches = [p for _, p, _, _ in self.fake.requests()
                   if p.startswith("/api/v1/namespaces/shop/pods?") and "watch=true" in p]
        self.assertTrue(watches, "kubectl sent no WATCH")
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(watches[-1]).query)
        self.assertTrue(query["resourceVersion"][0].isdigit(), watches[-1])

    def test_kubectl_get_pods_by_phase_and_nodes(self):
        self.fake.add_pod("shop", "starting-1", {"app": "web"}, phase="Pending")
        self.fake.add_node("node-7", {"zone": "z"}, cpu="8", memory="32Gi")
        try:
            out = self.kubectl_ok("get", "pods", "-A", "--field-selector", "status.phase=Pending",
                                  "-o", "name")
            self.assertEqual(out.split(), ["pod/starting-1"])
            out = self.kubectl_ok("get", "pods", "-A", "--field-selector",
                                  "status.phase=Running", "-o", "name")
            self.assertEqual(set(out.split()), {f"pod/{name}" for _, name, _ in PODS})
            node = json.loads(self.kubectl_ok("get", "node", "node-7", "-o", "json"))
            self.assertEqual(node["status"]["allocatable"]["memory"], "32Gi")
            self.assertEqual(node["metadata"]["labels"]["zone"], "z")
            # A pod that leaves the phase leaves a WATCH filtered by it, as a deletion.
            rv = self.get_json("/api/v1/pods?fieldSelector=status.phase%3DPending")[
                "metadata"]["resourceVersion"]
            self.fake.set_pod_phase("shop", "starting-1", "Running")
            events = self.watch(f"/api/v1/pods?fieldSelector=status.phase%3DPending"
                                f"&resourceVersion={rv}")
            self.assertEqual([(e["type"], e["object"]["metadata"]["name"]) for e in events],
                             [("DELETED", "starting-1")])
        finally:
            self.fake.delete_pod("shop", "starting-1")
            self.fake.delete("nodes", "node-7")

    def test_kubectl_reaches_an_aggregated_api_through_the_fake(self):
        seen = []

        class Backend(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                cert = self.request.getpeercert() or {}
                cn = [v for rdn in cert.get("subject", ()) for k, v in rdn if k == "commonName"]
                seen.append({"path": self.path, "cn": cn,
                             "user": self.headers.get_all("X-Remote-User"),
                             "groups": self.headers.get_all("X-Remote-Group"),
                             "authorization": self.headers.get("Authorization")})
                doc = ({"kind": "APIResourceList", "apiVersion": "v1",
                        "groupVersion": "example.metrics.k8s.io/v1beta1",
                        "resources": [{"name": "things", "singularName": "", "namespaced": True,
                                       "kind": "Thing", "verbs": ["get", "list"]}]}
                       if self.path.split("?")[0] == "/apis/example.metrics.k8s.io/v1beta1"
                       else {"kind": "ThingList", "apiVersion": "example.metrics.k8s.io/v1beta1",
                             "metadata": {}, "items": []})
                body = json.dumps(doc).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        context = harness.ssl.SSLContext(harness.ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(self.pki.server_crt), str(self.pki.server_key))
        context.load_verify_locations(str(self.pki.front_proxy_ca_crt))
        context.verify_mode = harness.ssl.CERT_REQUIRED
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Backend)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        cert, key = self.pki.front_proxy_client
        self.fake.add_api_service("example.metrics.k8s.io", "v1beta1",
                                  f"https://127.0.0.1:{server.server_address[1]}",
                                  self.pki.ca_crt, cert, key)
        try:
            out = self.kubectl_ok("api-versions")
            self.assertIn("example.metrics.k8s.io/v1beta1", out.split())
            out = self.kubectl_ok("api-resources", "--api-group=example.metrics.k8s.io",
                                  "-o", "name")
            self.assertEqual(out.split(), ["things.example.metrics.k8s.io"])
            doc = json.loads(self.kubectl_ok(
                "get", "--raw", "/apis/example.metrics.k8s.io/v1beta1/namespaces/shop/things"
                "?labelSelector=app%3Dweb"))
            self.assertEqual(doc["kind"], "ThingList")
            proxied = [s for s in seen if "/namespaces/shop/things" in s["path"]]
            self.assertEqual(len(proxied), 1, seen)
            self.assertEqual(proxied[0], {
                # kubectl's --request-timeout travels along, as through kube-apiserver.
                "path": "/apis/example.metrics.k8s.io/v1beta1/namespaces/shop/things"
                        f"?labelSelector=app%3Dweb&timeout={harness.CLIENT_TIMEOUT_S}s",
                "cn": [harness.FRONT_PROXY_CN], "user": ["metrics-adapter-test"],
                "groups": ["system:masters", "system:authenticated"], "authorization": None})
        finally:
            self.fake.remove_api_service("example.metrics.k8s.io", "v1beta1")
            server.shutdown()
            server.server_close()

    def test_kubectl_get_hpa(self):
        metrics = [{"type": "External", "external": {
            "metric": {"name": "queue_depth", "selector": {"matchLabels": {"queue": "orders"}}},
            "target": {"type": "AverageValue", "averageValue": "10"}}}]
        self.fake.add_hpa("shop", "web", "web", metrics, max_replicas=4)
        try:
            out = self.kubectl_ok("api-resources", "--api-group=autoscaling", "--no-headers")
            self.assertEqual(out.split(), ["horizontalpodautoscalers", "hpa", "autoscaling/v2",
                                           "true", "HorizontalPodAutoscaler"])
            self.assertEqual(self.kubectl_ok("get", "hpa", "-n", "shop", "-o", "name").split(),
                             ["horizontalpodautoscaler.autoscaling/web"])
            doc = json.loads(self.kubectl_ok("get", "hpa", "web", "-n", "shop", "-o", "json"))
            self.assertEqual(doc["apiVersion"], "autoscaling/v2")
            self.assertEqual(doc["kind"], "HorizontalPodAutoscaler")
            self.assertEqual(doc["spec"]["metrics"], metrics)
            self.assertEqual(doc["spec"]["scaleTargetRef"],
                             {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"})
            self.assertEqual(doc["spec"]["maxReplicas"], 4)
            self.assertEqual(self.kubectl_ok("get", "hpa", "-A", "--no-headers").split()[:2],
                             ["shop", "web"])
            code, _, err = self.kubectl("get", "hpa", "nope", "-n", "shop")
            self.assertNotEqual(code, 0)
            self.assertIn('horizontalpodautoscalers.autoscaling "nope" not found', err)
        finally:
            self.fake.delete("horizontalpodautoscalers", "web", "shop", group="autoscaling")

    def test_kubectl_get_apiservices(self):
        cert, key = self.pki.front_proxy_client
        # Nothing listens on port 9: only the APIService object and the proxy's refusal matter.
        self.fake.add_api_service("example.metrics.k8s.io", "v1beta1", "https://127.0.0.1:9",
                                  self.pki.ca_crt, cert, key, service=("monitoring", "example"))
        name = "v1beta1.example.metrics.k8s.io"
        available = '{.status.conditions[?(@.type=="Available")].status}'
        try:
            out = self.kubectl_ok("get", "apiservices", "-o", "name")
            self.assertEqual(out.split(), [f"apiservice.apiregistration.k8s.io/{name}"])
            doc = json.loads(self.kubectl_ok("get", "apiservice", name, "-o", "json"))
            self.assertEqual(doc["apiVersion"], "apiregistration.k8s.io/v1")
            self.assertEqual(doc["spec"]["service"],
                             {"namespace": "monitoring", "name": "example", "port": 443})
            self.assertEqual(self.kubectl_ok("get", "apiservice", name, "-o",
                                             f"jsonpath={available}"), "True")
            self.fake.set_api_service_available("example.metrics.k8s.io", "v1beta1", "False",
                                                "FailedDiscoveryCheck", "failing or missing")
            self.assertEqual(self.kubectl_ok("get", "apiservice", name, "-o",
                                             f"jsonpath={available}"), "False")
            # An unavailable APIService is answered 503 by the aggregator, without a proxy try.
            code, _, err = self.kubectl(
                "get", "--raw", "/apis/example.metrics.k8s.io/v1beta1/namespaces/shop/things")
            self.assertNotEqual(code, 0)
            self.assertIn("ServiceUnavailable", err)
        finally:
            self.fake.remove_api_service("example.metrics.k8s.io", "v1beta1")
        self.assertEqual(self.kubectl_ok("get", "apiservices", "-o", "name").split(), [])

    def test_kubectl_api_resources(self):
        out = self.kubectl_ok("api-resources", "--no-headers")
        rows = {line.split()[0]: line.split() for line in out.splitlines()}
        self.assertEqual(rows["pods"], ["pods", "po", "v1", "true", "Pod"])
        self.assertEqual(rows["deployments"], ["deployments", "deploy", "apps/v1", "true",
                                               "Deployment"])
        self.assertEqual(rows["nodes"], ["nodes", "no", "v1", "false", "Node"])
        out = self.kubectl_ok("api-resources", "--api-group=apps", "-o", "name")
        self.assertEqual(set(out.split()), {"deployments.apps", "replicasets.apps",
                                            "statefulsets.apps", "daemonsets.apps"})
        out = self.kubectl_ok("get", "deployments", "-A", "-o", "name")
        self.assertEqual(out.split(), ["deployment.apps/web"])

    def test_kubectl_get_raw_authentication_configmap(self):
        path = (f"/api/v1/namespaces/{fake_apiserver.AUTH_CONFIGMAP_NAMESPACE}/configmaps/"
                f"{fake_apiserver.AUTH_CONFIGMAP_NAME}")
        doc = json.loads(self.kubectl_ok("get", "--raw", path))
        self.assertEqual((doc["kind"], doc["apiVersion"]), ("ConfigMap", "v1"))
        self.assertTrue(doc["metadata"]["resourceVersion"].isdigit())
        data = doc["data"]
        self.assertEqual(data["client-ca-file"], self.pki.ca_crt.read_text())
        self.assertEqual(data["requestheader-client-ca-file"],
                         self.pki.front_proxy_ca_crt.read_text())
        self.assertEqual(json.loads(data["requestheader-allowed-names"]), ["front-proxy-client"])
        self.assertEqual(json.loads(data["requestheader-username-headers"]), ["X-Remote-User"])
        self.assertEqual(json.loads(data["requestheader-group-headers"]), ["X-Remote-Group"])
        self.assertEqual(json.loads(data["requestheader-extra-headers-prefix"]),
                         ["X-Remote-Extra-"])
        listed = json.loads(self.kubectl_ok(
            "get", "--raw", f"/api/v1/namespaces/kube-system/configmaps?fieldSelector="
            f"metadata.name%3D{fake_apiserver.AUTH_CONFIGMAP_NAME}"))
        self.assertEqual(listed["kind"], "ConfigMapList")
        self.assertEqual([i["data"] for i in listed["items"]], [data])

    def test_client_authentication(self):
        # (Without any credentials kubectl would prompt for a user name on the 401.)
        wrong_token = harness.write_kubeconfig(self.tmp / "kubeconfig-wrong-token",
                                               self.fake.url, self.pki.ca_crt, token="wrong")
        code, _, err = self.kubectl("get", "pods", "-A", "-o", "name", kubeconfig=wrong_token)
        self.assertNotEqual(code, 0)
        # kubectl's discovery reads a 401 as a generic error, as with a real kube-apiserver.
        self.assertIn("error: You must be logged in to the server", err)
        status, _, body = self.request("GET", "/api/v1/pods", cert=False)
        self.assertEqual(status, 401)
        self.assertEqual(json.loads(body), fake_apiserver.status_object(401, "Unauthorized",
                                                                        "Unauthorized"))
        with_token = harness.write_kubeconfig(self.tmp / "kubeconfig-token", self.fake.url,
                                              self.pki.ca_crt, token="fake-token")
        code, out, err = self.kubectl("get", "pods", "-n", "billing", "-o", "name",
                                      kubeconfig=with_token)
        self.assertEqual((code, out.split()), (0, ["pod/api-1", "pod/web-3"]), err)

    def test_restart_keeps_port_and_state(self):
        url = self.fake.url
        self.fake.stop()
        code, _, _ = self.kubectl("get", "pods", "-n", "billing", "-o", "name")
        self.assertNotEqual(code, 0, "kubectl reached a stopped fake")
        self.fake.add_pod("billing", "while-down", {"app": "web"})
        try:
            self.fake.start()
            self.assertEqual(self.fake.url, url)
            out = self.kubectl_ok("get", "pods", "-n", "billing", "-l", "app=web", "-o", "name")
            self.assertEqual(out.split(), ["pod/web-3", "pod/while-down"])
        finally:
            if not self.fake.running():
                self.fake.start()
            self.fake.delete_pod("billing", "while-down")

    # ---- JSON shapes kubectl does not show -------------------------------------------------

    def test_discovery_documents(self):
        self.assertEqual(self.get_json("/api")["versions"], ["v1"])
        groups = self.get_json("/apis")
        self.assertEqual((groups["kind"], groups["apiVersion"]), ("APIGroupList", "v1"))
        apps = next(g for g in groups["groups"] if g["name"] == "apps")
        self.assertEqual(apps["preferredVersion"], {"groupVersion": "apps/v1", "version": "v1"})
        core = self.get_json("/api/v1")
        self.assertEqual((core["kind"], core["groupVersion"]), ("APIResourceList", "v1"))
        pods = next(r for r in core["resources"] if r["name"] == "pods")
        self.assertEqual(pods, {"name": "pods", "singularName": "pod", "namespaced": True,
                                "kind": "Pod", "verbs": ["get", "list", "watch"],
                                "shortNames": ["po"], "categories": ["all"]})
        self.assertEqual(self.request("GET", "/openapi/v3")[0], 404)

    def test_partial_object_metadata(self):
        doc = self.get_json("/api/v1/namespaces/shop/pods?labelSelector=app%3Dweb",
                            METADATA_LIST)
        self.assertEqual((doc["kind"], doc["apiVersion"]),
                         ("PartialObjectMetadataList", "meta.k8s.io/v1"))
        self.assertTrue(doc["metadata"]["resourceVersion"].isdigit())
        self.assertEqual([i["metadata"]["name"] for i in doc["items"]], ["web-1", "web-2"])
        for item in doc["items"]:
            self.assertEqual(set(item), {"kind", "apiVersion", "metadata"})
            self.assertEqual((item["kind"], item["apiVersion"]),
                             ("PartialObjectMetadata", "meta.k8s.io/v1"))
        one = self.get_json("/api/v1/namespaces/shop/pods/web-2", METADATA)
        self.assertEqual(one, doc["items"][1])
        status, _, body = self.request("GET", "/api/v1/pods", "application/vnd.kubernetes."
                                       "protobuf")
        self.assertEqual((status, json.loads(body)["reason"]), (406, "NotAcceptable"))
        # The first acceptable type decides, as in kube-apiserver: no fallback to plain JSON.
        status, _, body = self.request("GET", "/api/v1/pods?watch=1",
                                       METADATA_LIST + ",application/json")
        self.assertEqual((status, json.loads(body)["message"]),
                         (406, "you requested PartialObjectMetadataList, but the requested "
                          "object is not a list (*v1.Pod)"))

    def test_watch_from_list_resource_version(self):
        listed = self.get_json("/api/v1/namespaces/billing/pods", METADATA_LIST)
        rv = listed["metadata"]["resourceVersion"]
        self.fake.add_pod("billing", "w-added", {"app": "w"})
        self.fake.add_pod("billing", "w-other", {"app": "x"})
        self.fake.set_pod_labels("billing", "w-other", {"app": "w"})  # enters the selection
        self.fake.set_pod_labels("billing", "w-added", {"app": "gone"})  # leaves it
        self.fake.delete_pod("billing", "w-other")
        self.fake.delete_pod("billing", "w-added")
        events = self.watch(f"/api/v1/namespaces/billing/pods?labelSelector=app%3Dw&"
                            f"resourceVersion={rv}&allowWatchBookmarks=true", METADATA)
        changes = [(e["type"], e["object"]["metadata"]["name"]) for e in events
                   if e["type"] != "BOOKMARK"]
        self.assertEqual(changes, [("ADDED", "w-added"), ("ADDED", "w-other"),
                                   ("DELETED", "w-added"), ("DELETED", "w-other")])
        versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
        self.assertEqual(versions, sorted(versions))
        self.assertGreater(versions[0], int(rv))
        bookmarks = [e for e in events if e["type"] == "BOOKMARK"]
        self.assertTrue(bookmarks, "no BOOKMARK in a watch with allowWatchBookmarks")
        self.assertEqual(bookmarks[-1]["object"]["metadata"]["resourceVersion"],
                         str(self.fake.resource_version))
        self.assertEqual(events[-1]["type"], "BOOKMARK")

    def test_watch_list_sends_initial_events_and_their_end(self):
        events = self.watch("/api/v1/namespaces/billing/pods?sendInitialEvents=true&"
                            "allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan",
                            METADATA)
        self.assertEqual([(e["type"], e["object"]["metadata"].get("name")) for e in events[:3]],
                         [("ADDED", "api-1"), ("ADDED", "web-3"), ("BOOKMARK", None)])
        self.assertEqual(events[2]["object"]["metadata"]["annotations"],
                         {"k8s.io/initial-events-end": "true"})
        status, _, body = self.request("GET", "/api/v1/pods?watch=1&sendInitialEvents=true")
        self.assertEqual((status, json.loads(body)["reason"]), (422, "Invalid"))

    def test_watch_from_a_compacted_resource_version_is_expired(self):
        rv = self.get_json("/api/v1/pods")["metadata"]["resourceVersion"]
        self.fake.add_pod("default", "compacted", {})
        self.fake.compact()
        try:
            events = self.watch(f"/api/v1/pods?resourceVersion={rv}")
        finally:
            self.fake.delete_pod("default", "compacted")
        self.assertEqual(len(events), 1, events)
        self.assertEqual(events[0]["type"], "ERROR")
        status = events[0]["object"]
        self.assertEqual((status["kind"], status["code"], status["reason"]),
                         ("Status", 410, "Expired"))
        self.assertTrue(status["message"].startswith(f"too old resource version: {rv} ("),
                        status["message"])

    def test_reviews_answer_from_tables_and_are_recorded(self):
        self.fake.clear_reviews()
        self.fake.set_token("good", "jane", groups=["dev"], uid="u-1")
        for token, authenticated in (("good", True), ("bad", False)):
            status, _, body = self.request(
                "POST", "/apis/authentication.k8s.io/v1/tokenreviews",
                body={"kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1",
                      "metadata": {}, "spec": {"token": token}})
            self.assertEqual(status, 201, body)
            review = json.loads(body)
            self.assertEqual(review["kind"], "TokenReview")
            self.assertEqual(review["status"].get("authenticated", False), authenticated)
            if authenticated:
                self.assertEqual(review["status"]["user"],
                                 {"username": "jane", "uid": "u-1", "groups": ["dev"]})
            else:
                self.assertIn("invalid bearer token", review["status"]["error"])
        self.assertEqual(self.fake.token_reviews(), [{"token": "good"}, {"token": "bad"}])

        self.fake.clear_sar_rules()
        self.fake.deny(user="jane", reason="no pods for jane", resource="pods")
        self.fake.allow(group="dev")
        cases = [
            ({"user": "jane", "groups": ["dev"],
              "resourceAttributes": {"verb": "get", "resource": "pods"}},
             {"allowed": False, "denied": True, "reason": "no pods for jane"}),
            ({"user": "jane", "groups": ["dev"],
              "nonResourceAttributes": {"verb": "get", "path": "/apis"}},
             {"allowed": True, "reason": "allowed by the test"}),
            ({"user": "bob", "groups": ["ops"],
              "resourceAttributes": {"verb": "get", "resource": "pods"}},
             {"allowed": False}),
        ]
        try:
            for spec, want in cases:
                with self.subTest(spec=spec):
                    status, _, body = self.request(
                        "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews",
                        body={"kind": "SubjectAccessReview",
                              "apiVersion": "authorization.k8s.io/v1", "spec": spec})
                    self.assertEqual(status, 201, body)
                    self.assertEqual(json.loads(body)["status"], want)
        finally:
            self.fake.clear_sar_rules()
        self.assertEqual(self.fake.access_reviews(), [spec for spec, _ in cases])


if __name__ == "__main__":
    unittest.main()
