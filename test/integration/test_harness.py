"""Self-test of the harness: everything except the adapter, so it runs before the server exists.

Proves the pieces the adapter tests stand on: the exporter's values reach Prometheus (also after
a change made at run time), NaN survives the trip, Prometheus restarts on the same port with the
same storage, the generated certificates and kubeconfigs make kubectl and curl trust exactly the
right CA, teardown leaves no process or directory behind, and the TcpProxy that stands in for a
hanging or slow Prometheus forwards, hangs (kept-alive connections included) and delays.
"""

import http.client
import http.server
import io
import json
import os
import pathlib
import random
import shutil
import socket
import ssl
import threading
import unittest

import harness

DISCOVERY_PATH = "/apis/external.metrics.k8s.io/v1beta1"


class PrometheusAndExporterTest(harness.ClusterTestCase):
    cluster_options = {"start_adapter": False}

    def _value(self, promql):
        result = self.cluster.prometheus_query(promql)
        self.assertEqual(len(result), 1, f"{promql} returned {result}")
        return result[0]["value"][1]

    def test_spec_values_reach_prometheus(self):
        _, samples = harness.exporter.parse_spec(
            self.cluster.metrics_spec.read_text(encoding="utf-8"))
        gauges = [(k, v) for k, v, rate in samples if rate == 0 and v == v]  # v == v: not NaN
        self.assertTrue(gauges, "the spec has no plain gauges to check")
        for key, value in gauges:
            with self.subTest(series=harness.exporter.format_series(key)):
                self.assertEqual(
                    float(self._value(harness.exporter.format_series(key))), value)

    def test_value_set_at_run_time_shows_up_in_prometheus(self):
        value = random.randint(1, 10**6) + 0.25
        series = 'queue_depth{namespace="shop",queue="harness-selftest"}'
        self.cluster.exporter_set(f"{series} {value}")
        result = self.cluster.wait_for_query(
            series, lambda r: len(r) == 1 and float(r[0]["value"][1]) == value,
            f"{series} = {value} in Prometheus")
        self.assertEqual(result[0]["metric"]["queue"], "harness-selftest")
        self.cluster.exporter_delete(series)

    def test_nan_gauge_stays_nan(self):
        result = self.cluster.prometheus_query("stale_ratio")
        self.assertTrue(result, "stale_ratio missing in Prometheus")
        self.assertEqual([r["value"][1] for r in result], ["NaN"] * len(result))

    def test_counter_rate_matches_spec(self):
        _, samples = harness.exporter.parse_spec(
            self.cluster.metrics_spec.read_text(encoding="utf-8"))
        counters = [(k, rate) for k, _, rate in samples if rate > 0]
        self.assertTrue(counters, "the spec has no growing counters")
        for key, rate in counters:
            # rate() divides by the whole window until it is full of samples, so wait for the
            # value to settle; the bound only absorbs scrape-time jitter.
            promql = f"rate({harness.exporter.format_series(key)}[10s])"
            with self.subTest(promql=promql):
                self.cluster.wait_for_query(
                    promql, lambda r, want=rate: len(r) == 1 and abs(float(r[0]["value"][1]) -
                                                                     want) <= want / 4,
                    f"{promql} to settle near {rate}")

    def test_prometheus_restarts_on_same_port_and_storage(self):
        url = self.cluster.prometheus_url
        scrapes = 'count_over_time(up{job="exporter"}[1h])'
        before = float(self._value(scrapes))
        self.cluster.stop_prometheus()
        with self.assertRaises(harness.HarnessError):
            self.cluster.prometheus_query("up")
        self.cluster.start_prometheus()
        self.assertEqual(self.cluster.prometheus_url, url)
        # Samples from before the restart are still there: the storage dir was kept.
        self.assertGreaterEqual(float(self._value(scrapes)), before)
        self.cluster.wait_for_samples()


class _RawHandler(http.server.BaseHTTPRequestHandler):
    """Answers like an API server would for one discovery path; records the client's CN."""

    body = b""
    peer_common_names = []

    def do_GET(self):
        cert = self.connection.getpeercert() or {}
        subject = dict(x[0] for x in cert.get("subject", ()))
        self.peer_common_names.append(subject.get("commonName"))
        found = self.path.split("?", 1)[0] == DISCOVERY_PATH
        data = self.body if found else b'{"kind":"Status","code":404}'
        self.send_response(200 if found else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        pass


class _OkHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as curl's connections to Prometheus are

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, fmt, *args):
        pass


class TcpProxyTest(unittest.TestCase):
    # How long a request through a hanging or slow proxy is given before the client gives up,
    # and a delay far beyond it.
    HANG_PROBE_S = 0.5
    DELAY_S = 3.0

    def setUp(self):
        self.upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _OkHandler)
        threading.Thread(target=self.upstream.serve_forever, daemon=True).start()
        self.addCleanup(self.upstream.server_close)
        self.addCleanup(self.upstream.shutdown)
        self.proxy = harness.TcpProxy(self.upstream.server_address[1])
        self.proxy.start()
        self.addCleanup(self.proxy.stop)

    def _connection(self, timeout=harness.CLIENT_TIMEOUT_S):
        conn = http.client.HTTPConnection("127.0.0.1", self.proxy.port, timeout=timeout)
        self.addCleanup(conn.close)
        return conn

    @staticmethod
    def _get(conn):
        conn.request("GET", "/")
        response = conn.getresponse()
        return response.status, response.read()

    def test_forwards_hangs_kept_alive_connections_too_and_delays(self):
        kept = self._connection(timeout=self.HANG_PROBE_S)
        self.assertEqual(self._get(kept), (200, b"ok"))

        self.proxy.set_mode(harness.TcpProxy.HANG)
        with self.assertRaises(socket.timeout):  # the connection made before the hang
            self._get(kept)
        with self.assertRaises(socket.timeout):  # and a new one
            self._get(self._connection(timeout=self.HANG_PROBE_S))

        # Held far longer than this client waits: it gives up; one that waits gets the answer.
        self.proxy.set_mode(harness.TcpProxy.DELAY, self.DELAY_S)
        with self.assertRaises(socket.timeout):
            self._get(self._connection(timeout=self.HANG_PROBE_S))
        self.assertEqual(self._get(self._connection()), (200, b"ok"))

        self.proxy.set_mode(harness.TcpProxy.FORWARD)
        self.assertEqual(self._get(self._connection()), (200, b"ok"))

    def test_upstream_down_closes_the_clients_connection(self):
        self.upstream.shutdown()
        self.upstream.server_close()
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionResetError)):
            self._get(self._connection())


class TlsClientsTest(unittest.TestCase):
    """kubectl and curl through the harness' kubeconfigs and CA against a stand-in TLS server."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = pathlib.Path(harness.tempfile.mkdtemp(prefix="ma-it-tls-"))
        cls.pki = harness.generate_pki(cls.tmp / "pki")
        cls.wrong = harness.generate_pki(cls.tmp / "wrong-pki")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cls.pki.server_crt, cls.pki.server_key)
        # Require the client certificate so the test also proves the kubeconfig presents it.
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cls.pki.ca_crt)
        _RawHandler.body = json.dumps({
            "kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": "external.metrics.k8s.io/v1beta1",
            "resources": [{"name": f"queue_depth_{random.randint(0, 10**9)}"}]
        }).encode()
        cls.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RawHandler)
        cls.server.socket = context.wrap_socket(cls.server.socket, server_side=True)
        cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.thread.start()
        cls.url = f"https://127.0.0.1:{cls.server.server_address[1]}"
        cls.kubeconfig = harness.write_kubeconfig(cls.tmp / "kubeconfig", cls.url, cls.pki.ca_crt,
                                                  cls.pki.client_crt, cls.pki.client_key)
        cls.wrong_kubeconfig = harness.write_kubeconfig(cls.tmp / "kubeconfig-wrong", cls.url,
                                                        cls.wrong.ca_crt, cls.pki.client_crt,
                                                        cls.pki.client_key)

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_kubectl_trusts_the_generated_ca_and_presents_the_client_cert(self):
        _RawHandler.peer_common_names.clear()
        code, out, err = harness.kubectl_raw(self.kubeconfig, DISCOVERY_PATH, self.tmp / "cache")
        self.assertEqual(code, 0, err)
        self.assertEqual(json.loads(out), json.loads(_RawHandler.body))
        self.assertIn("metrics-adapter-test", _RawHandler.peer_common_names)

    def test_kubectl_with_another_ca_fails(self):
        code, out, err = harness.kubectl_raw(self.wrong_kubeconfig, DISCOVERY_PATH,
                                             self.tmp / "cache")
        self.assertNotEqual(code, 0, out)
        self.assertIn("x509", err)

    def test_kubectl_reports_server_errors(self):
        code, _, err = harness.kubectl_raw(self.kubeconfig, "/apis/nope/v1", self.tmp / "cache")
        self.assertNotEqual(code, 0)
        self.assertIn("NotFound", err)

    def test_curl_trusts_only_the_generated_ca(self):
        ok = harness.curl(self.url + DISCOVERY_PATH, ca_file=self.pki.ca_crt,
                          client_cert=self.pki.client_crt, client_key=self.pki.client_key)
        self.assertEqual((ok.status, ok.json()), (200, json.loads(_RawHandler.body)))
        self.assertEqual(ok.content_type, "application/json")
        wrong = harness.curl(self.url + DISCOVERY_PATH, ca_file=self.wrong.ca_crt,
                             client_cert=self.pki.client_crt, client_key=self.pki.client_key)
        self.assertEqual(wrong.status, 0)
        self.assertEqual(wrong.exit_code, 60, wrong.stderr)  # 60: peer certificate not trusted


class QuantityTest(unittest.TestCase):
    """The helpers the adapter tests compare values with, against Go's Quantity strings."""

    CASES = [("0", "0"), ("1", "1"), ("999", "999"), ("1000", "1k"), ("1500", "1500"),
             ("1200000", "1200k"), ("2000000", "2M"), ("0.1", "100m"), ("0.25", "250m"),
             ("1.5", "1500m"), ("123.456", "123456m"), ("0.0015", "1500u"), ("0.000001", "1u"),
             ("2.5e-7", "250n"), ("0.224628621", "224628621n"), ("-0.5", "-500m"),
             ("5e18", "5E")]

    def test_canonical_quantity(self):
        for value, want in self.CASES:
            with self.subTest(value=value):
                self.assertEqual(harness.canonical_quantity(value), want)

    def test_parse_quantity_round_trips(self):
        for value, text in self.CASES + [("1024", "1Ki"), ("1500", "1.5k"), ("12e6", "12e6")]:
            with self.subTest(text=text):
                self.assertEqual(harness.parse_quantity(text), harness.decimal.Decimal(value))

    def test_parse_quantity_rejects_garbage(self):
        for text in ["", "1.2.3", "1x", "k", "NaN"]:
            with self.subTest(text=text), self.assertRaises(ValueError):
                harness.parse_quantity(text)


class TeardownTest(unittest.TestCase):

    def test_stop_ends_every_child_and_removes_the_temp_dir(self):
        cluster = harness.Cluster(start_adapter=False)
        cluster.start()
        pids = [c.process.pid for c in cluster.children.values()]
        tmp = cluster.tmp
        self.assertEqual(len(pids), 2)
        cluster.stop()
        for pid in pids:
            with self.assertRaises(ProcessLookupError, msg=f"child {pid} still alive"):
                os.kill(pid, 0)
        self.assertFalse(tmp.exists())

    def test_missing_adapter_binary_fails_before_starting_anything(self):
        missing = "/nonexistent/metrics-adapter"
        with harness.tempfile.TemporaryDirectory(prefix="ma-it-root-") as root:
            cluster = harness.Cluster(adapter_bin=missing, tmp_root=root)
            with self.assertRaisesRegex(harness.HarnessError, missing):
                cluster.start()
            self.assertEqual((cluster.children, os.listdir(root)), ({}, []))

    def test_adapter_dying_at_startup_cleans_up_and_shows_logs(self):
        # `false` stands in for an adapter that rejects its flags and exits.
        with harness.tempfile.TemporaryDirectory(prefix="ma-it-root-") as root:
            cluster = harness.Cluster(adapter_bin=shutil.which("false"), tmp_root=root)
            cluster.log_stream = io.StringIO()
            with self.assertRaisesRegex(harness.HarnessError, "adapter exited with code 1"):
                cluster.start()
            self.assertEqual(cluster.children, {})
            self.assertEqual(os.listdir(root), [])
            # The logs of what did start were printed for the reader of the failure.
            self.assertIn("===== prometheus log", cluster.log_stream.getvalue())
            self.assertIn("Server is ready", cluster.log_stream.getvalue())

    def test_wait_until_fails_with_what_it_waited_for(self):
        with self.assertRaisesRegex(harness.HarnessError, "timed out after 0.3s waiting for Godot"):
            harness.wait_until(lambda: False, 0.3, "Godot")


class KubeModeTest(unittest.TestCase):
    """Cluster(kube=True): the fake kube-apiserver, the front-proxy PKI and the adapter's flags."""

    def test_fake_apiserver_serves_the_pki_and_stops_with_the_cluster(self):
        cluster = harness.Cluster(start_adapter=False, kube=True)
        cluster.start()
        try:
            fake, pki = cluster.fake, cluster.pki
            fake.add_namespace("shop")
            fake.add_pod("shop", "web-1", {"app": "web"})
            code, out, err = harness.kubectl_raw(
                cluster.fake_kubeconfig, "/api/v1/namespaces/kube-system/configmaps/"
                "extension-apiserver-authentication", cluster.kube_cache)
            self.assertEqual(code, 0, err)
            data = json.loads(out)["data"]
            self.assertEqual(data["client-ca-file"], pki.ca_crt.read_text())
            self.assertEqual(data["requestheader-client-ca-file"],
                             pki.front_proxy_ca_crt.read_text())
            self.assertEqual(json.loads(data["requestheader-allowed-names"]),
                             [harness.FRONT_PROXY_CN])
            code, out, err = harness.kubectl_raw(cluster.fake_kubeconfig,
                                                 "/api/v1/pods?labelSelector=app%3Dweb",
                                                 cluster.kube_cache)
            self.assertEqual(code, 0, err)
            self.assertEqual([i["metadata"]["name"] for i in json.loads(out)["items"]],
                             ["web-1"])
            url = fake.url
        finally:
            cluster.stop()
        self.assertIsNone(cluster.fake)
        r = harness.curl(url + "/healthz")  # the PKI went with the temp dir
        self.assertEqual(r.status, 0, "the fake still answers after Cluster.stop()")
        self.assertEqual(r.exit_code, 7, r.stderr)  # 7: could not connect

    def test_front_proxy_certificates(self):
        with harness.tempfile.TemporaryDirectory(prefix="ma-it-pki-") as tmp:
            pki = harness.generate_pki(tmp)
            for (cert, _), cn in ((pki.front_proxy_client, "front-proxy-client"),
                                  (pki.front_proxy_other, "not-front-proxy")):
                with self.subTest(cn=cn):
                    code, out, err = harness.run_client(
                        ["openssl", "x509", "-in", str(cert), "-noout", "-subject", "-ext",
                         "extendedKeyUsage"])
                    self.assertEqual(code, 0, err)
                    self.assertIn(f"CN = {cn}", out)
                    self.assertIn("TLS Web Client Authentication", out)
                    # Signed by the front-proxy CA and not by the ordinary client CA.
                    ok = harness.run_client(["openssl", "verify", "-CAfile",
                                             str(pki.front_proxy_ca_crt), str(cert)])
                    self.assertEqual(ok[0], 0, ok[2])
                    other = harness.run_client(["openssl", "verify", "-CAfile", str(pki.ca_crt),
                                                str(cert)])
                    self.assertNotEqual(other[0], 0, other[1])

    def test_adapter_runs_without_standalone_against_the_fake(self):
        # A stand-in adapter that records its command line and exits.
        with harness.tempfile.TemporaryDirectory(prefix="ma-it-root-") as root:
            argv_file = pathlib.Path(root) / "argv"
            stand_in = pathlib.Path(root) / "adapter.sh"
            stand_in.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {argv_file}\nexit 1\n')
            stand_in.chmod(0o755)
            cluster = harness.Cluster(adapter_bin=stand_in, kube=True,
                                      tmp_root=pathlib.Path(root))
            cluster.log_stream = io.StringIO()
            with self.assertRaisesRegex(harness.HarnessError, "adapter exited with code 1"):
                cluster.start()
            self.assertIsNone(cluster.fake)
            args = argv_file.read_text().split("\n")
        self.assertNotIn("--standalone", args)
        flags = {a.split("=", 1)[0]: a.split("=", 1)[1] for a in args if "=" in a}
        for flag in ("--lister-kubeconfig", "--authentication-kubeconfig",
                     "--authorization-kubeconfig"):
            self.assertTrue(flags[flag].endswith("kubeconfig-fake-apiserver"), flags)
        self.assertTrue(flags["--requestheader-client-ca-file"].endswith("front-proxy-ca.crt"))
        self.assertTrue(flags["--client-ca-file"].endswith("pki/ca.crt"))
        self.assertEqual(flags["--requestheader-allowed-names"], harness.FRONT_PROXY_CN)
        self.assertEqual(flags["--requestheader-username-headers"], harness.USERNAME_HEADER)
        self.assertEqual(flags["--requestheader-group-headers"], harness.GROUP_HEADER)
        self.assertEqual(flags["--requestheader-extra-headers-prefix"],
                         harness.EXTRA_HEADERS_PREFIX)
        self.assertEqual(flags["--bind-address"], "127.0.0.1")


if __name__ == "__main__":
    unittest.main()
