"""The real adapter's process life: graceful shutdown under load, the self-signed serving
certificate, and the `check`, `explain` and `version` subcommands.
"""

import hashlib
import http.client
import json
import os
import re
import signal
import ssl
import threading
import time
import unittest
import urllib.parse

import harness

EXTERNAL = "/apis/external.metrics.k8s.io/v1beta1"
QUEUE = "orders"
# The exporter's value of queue_depth{namespace="shop",queue=QUEUE}.
QUEUE_DEPTH = harness.spec_value("queue_depth", namespace="shop", queue=QUEUE)
LOAD_PATH = (f"{EXTERNAL}/namespaces/shop/queue_depth?labelSelector=" +
             urllib.parse.quote(f"queue={QUEUE}", safe=""))
EXPLAIN_PATH = LOAD_PATH
LOAD_THREADS = 8
# Answers each load thread gets before SIGTERM, so that the load is real when it arrives.
ANSWERS_BEFORE_SIGTERM = 3
LOAD_START_TIMEOUT_S = 30
# Above the server's 20 s grace period (adapter/server/limits.h), below harness.CHILD_STOP_TIMEOUT_S
# plus the SIGKILL the harness would send.
SHUTDOWN_TIMEOUT_S = 25
THREAD_JOIN_TIMEOUT_S = harness.CLIENT_TIMEOUT_S + 5
# Ends of a connection that are clean once shutdown has begun: nothing of an answer was read.
CLEAN_CLOSE_ERRORS = (ConnectionRefusedError, ConnectionResetError, BrokenPipeError,
                      http.client.RemoteDisconnected, ssl.SSLEOFError, ssl.SSLZeroReturnError)
LOG_STARTED_MARKER = "--- started: "


def _last_run(log):
    """The part of an adapter log written by its most recent start."""
    return log[log.rfind(LOG_STARTED_MARKER):]


class LoadThread(threading.Thread):
    """Sends LOAD_PATH over keep-alive HTTPS connections until told to stop or refused.

    Each outcome is recorded as (monotonic time, kind, detail): kind "ok" for a complete 200
    JSON answer, "closed" for a connection that ended before any of an answer was read, and
    "bad" for anything else (a truncated or garbled answer, another status).
    """

    def __init__(self, port, context, stop, want_value):
        super().__init__(daemon=True)
        self.port = port
        self.context = context
        self.stop = stop
        self.want_value = want_value
        self.outcomes = []
        self.answers = 0

    def run(self):
        conn = None
        while not self.stop.is_set():
            if conn is None:
                conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context,
                                                   timeout=harness.CLIENT_TIMEOUT_S)
            try:
                conn.request("GET", LOAD_PATH)
                response = conn.getresponse()
                body = response.read()
            except CLEAN_CLOSE_ERRORS as e:
                self.outcomes.append((time.monotonic(), "closed", repr(e)))
                conn.close()
                conn = None
                if isinstance(e, ConnectionRefusedError):
                    return  # the listener is gone
                continue
            except Exception as e:  # noqa: BLE001  (every other failure is a finding)
                self.outcomes.append((time.monotonic(), "bad", repr(e)))
                conn.close()
                conn = None
                continue
            self.outcomes.append((time.monotonic(), *self._judge(response.status, body)))
            if response.will_close:
                conn.close()
                conn = None

    def _judge(self, status, body):
        if status != 200:
            return "bad", f"HTTP {status}: {body[:300]!r}"
        try:
            doc = json.loads(body)
        except ValueError as e:
            return "bad", f"undecodable 200 body ({e}): {body[:300]!r}"
        values = [item["value"] for item in doc.get("items", [])]
        if doc.get("kind") != "ExternalMetricValueList" or values != [self.want_value]:
            return "bad", f"unexpected 200 body: {body[:300]!r}"
        self.answers += 1
        return "ok", ""


class LifecycleTest(harness.ClusterTestCase):
    # Each test starts the adapter it needs (or none).
    cluster_options = {"start_adapter": False}

    def tearDown(self):
        try:
            super().tearDown()
        finally:
            if self.cluster.adapter_running():
                self.cluster.stop_adapter()

    def _run(self, *args):
        return harness.run_client([str(self.cluster.adapter_bin), *[str(a) for a in args]])

    # ---- graceful shutdown -----------------------------------------------------------------

    def test_graceful_shutdown_under_load(self):
        c = self.cluster
        c.start_adapter()
        want = harness.canonical_quantity(repr(QUEUE_DEPTH))
        stop = threading.Event()
        threads = [LoadThread(c.adapter_port, c.ssl_context(), stop, want)
                   for _ in range(LOAD_THREADS)]
        for t in threads:
            t.start()
        try:
            harness.wait_until(
                lambda: all(t.answers >= ANSWERS_BEFORE_SIGTERM for t in threads),
                LOAD_START_TIMEOUT_S,
                f"{ANSWERS_BEFORE_SIGTERM} answers on each of {LOAD_THREADS} threads")
            sigterm_at = time.monotonic()
            c.signal_adapter(signal.SIGTERM)
            code = c.wait_adapter_exit(SHUTDOWN_TIMEOUT_S)
        finally:
            stop.set()
            for t in threads:
                t.join(THREAD_JOIN_TIMEOUT_S)
        self.assertFalse(any(t.is_alive() for t in threads), "a load thread hung")
        self.assertEqual(code, 0)

        outcomes = [o for t in threads for o in t.outcomes]
        bad = [o for o in outcomes if o[1] == "bad"]
        self.assertEqual(bad, [], "answers that were neither complete nor cleanly refused")
        early = [o for o in outcomes if o[1] == "closed" and o[0] < sigterm_at]
        self.assertEqual(early, [], "connections that ended before shutdown began")
        self.assertGreaterEqual(sum(1 for o in outcomes if o[1] == "ok"),
                                LOAD_THREADS * ANSWERS_BEFORE_SIGTERM)
        self.assertIn("shutdown: SIGTERM received", _last_run(c.adapter_log()))
        # The harness' own check: exit code and sanitizer reports.
        c.stop_adapter()

    # ---- self-signed serving certificate ---------------------------------------------------

    def _cert_facts(self, cert_dir):
        crt = cert_dir / harness.SELF_SIGNED_CERT
        code, out, err = harness.run_client(
            ["openssl", "x509", "-noout", "-ext", "subjectAltName", "-in", str(crt)])
        self.assertEqual(code, 0, err)
        sans = {s.strip() for s in out.split("\n", 1)[1].split(",")} if "\n" in out else set()
        der = ssl.PEM_cert_to_DER_cert(crt.read_text(encoding="ascii"))
        return sans, hashlib.sha256(der).hexdigest()

    def _served_fingerprint(self):
        pem = ssl.get_server_certificate(("127.0.0.1", self.cluster.adapter_port),
                                         timeout=harness.CLIENT_TIMEOUT_S)
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()

    def test_self_signed_certificate_is_written_and_reused(self):
        c = self.cluster
        cert_dir = c.tmp / f"cert-dir-{os.getpid()}"
        self.assertFalse(cert_dir.exists())
        c.start_adapter(cert_dir=cert_dir)
        crt = cert_dir / harness.SELF_SIGNED_CERT
        key = cert_dir / harness.SELF_SIGNED_KEY
        self.assertTrue(crt.is_file() and key.is_file(), sorted(cert_dir.iterdir()))
        self.assertEqual(key.stat().st_mode & 0o777, 0o600)
        sans, fingerprint = self._cert_facts(cert_dir)
        self.assertLessEqual({"DNS:localhost", "IP Address:127.0.0.1"}, sans)
        self.assertEqual(self._served_fingerprint(), fingerprint)
        # harness.start_adapter() already proved curl trusts it for 127.0.0.1; kubectl too:
        kubeconfig = harness.write_kubeconfig(c.tmp / "kubeconfig-self-signed", c.base_url, crt,
                                              c.pki.client_crt, c.pki.client_key)
        code, out, err = c.kubectl_raw("/healthz", kubeconfig)
        self.assertEqual((code, out), (0, "ok"), err)
        key_bytes = key.read_bytes()
        c.stop_adapter()

        c.start_adapter(cert_dir=cert_dir)
        self.assertEqual(self._cert_facts(cert_dir), (sans, fingerprint))
        self.assertEqual(key.read_bytes(), key_bytes)
        self.assertEqual(self._served_fingerprint(), fingerprint)

    def test_json_log_lines_are_one_object_each(self):
        c = self.cluster
        log = c.tmp / "adapter.log"  # shared by the adapters this class starts: read only ours
        offset = log.stat().st_size if log.exists() else 0
        c.start_adapter(extra_args=["--logging-format=json", "-v=4"])
        # A metric request logs its PromQL at -v=4: a line with a quote and braces in it.
        self.assertEqual(c.curl("/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/"
                                "queue_depth?labelSelector=queue%3Dorders").status, 200)
        c.stop_adapter()
        with open(log, encoding="utf-8") as f:
            f.seek(offset)
            lines = [l for l in f.read().splitlines()
                     if l and not l.startswith("--- ")]  # the harness's own header lines
        self.assertGreater(len(lines), 3, lines)
        verbosities = set()
        for line in lines:
            with self.subTest(line=line):
                doc = json.loads(line)
                self.assertIsInstance(doc["ts"], float)
                self.assertRegex(doc["caller"], r"^[a-z_]+\.(cc|h):\d+$")
                self.assertIsInstance(doc["msg"], str)
                self.assertTrue("v" in doc or doc.get("severity") in ("warning", "error"), doc)
                verbosities.add(doc.get("v"))
        self.assertIn(4, verbosities, "the -v=4 query line")
        # The access log line has its fields as members, not inside "msg".
        access = [json.loads(l) for l in lines if json.loads(l)["msg"] == "HTTP"]
        query = [d for d in access if "queue_depth" in d.get("uri", "")]
        self.assertEqual(len(query), 1, access)
        self.assertEqual({k: query[0][k] for k in ("method", "status", "cache", "v")},
                         {"method": "GET", "status": 200, "cache": "miss", "v": 3})
        self.assertIsInstance(query[0]["duration_seconds"], float)
        self.assertIsInstance(query[0]["user"], str)

    def test_access_log_has_one_line_per_request_at_v3_only(self):
        c = self.cluster
        log = c.tmp / "adapter.log"
        path = ("/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/"
                "queue_depth?labelSelector=queue%3Dorders")

        def lines_of(run):
            offset = log.stat().st_size if log.exists() else 0
            run()
            with open(log, encoding="utf-8") as f:
                f.seek(offset)
                return [l for l in f.read().splitlines() if '] "HTTP" ' in l]

        def two_requests(verbosity):
            c.start_adapter(extra_args=[f"-v={verbosity}"])
            for _ in range(2):
                self.assertEqual(c.curl(path).status, 200)
            self.assertEqual(c.curl("/apis/external.metrics.k8s.io/v1beta1/no/such").status, 404)
            c.stop_adapter()

        quiet = lines_of(lambda: two_requests(2))
        self.assertEqual(quiet, [])
        access = lines_of(lambda: two_requests(3))
        # The readiness polls of the harness are requests too: keep ours.
        ours = [l for l in access if "queue_depth" in l or "no/such" in l]
        self.assertEqual(len(ours), 3, access)
        pattern = (r'^I\d{4} [\d:.]+ +\d+ server\.cc:\d+\] "HTTP" method="GET" uri="(?P<uri>[^"]*)" '
                   r'user="[^"]*" status=(?P<status>\d+) duration_seconds=[\d.e-]+ '
                   r'cache="(?P<cache>[a-z]+)" remote="127\.0\.0\.1:\d+"$')
        fields = []
        for line in ours:
            m = re.match(pattern, line)
            self.assertIsNotNone(m, line)
            fields.append((m["uri"], m["status"], m["cache"]))
        self.assertEqual(fields, [(path, "200", "miss"), (path, "200", "hit"),
                                  ("/apis/external.metrics.k8s.io/v1beta1/no/such", "404", "none")])

    # ---- subcommands -----------------------------------------------------------------------

    def test_check_accepts_the_integration_rules(self):
        code, out, err = self._run("check", f"--config={harness.DEFAULT_RULES}")
        self.assertEqual(code, 0, err)
        lines = out.splitlines()
        self.assertEqual(len(lines), 1, out)
        self.assertTrue(lines[0].startswith(f"{harness.DEFAULT_RULES}: OK"), out)

    def test_check_says_why_a_file_cannot_be_read(self):
        missing = self.cluster.tmp / "no-such-rules.yaml"
        code, out, err = self._run("check", f"--config={missing}")
        self.assertEqual(code, 1, out + err)
        self.assertIn(f"{missing}: cannot read the rules file: No such file or directory",
                      out + err)
        self.assertNotIn(":0:0:", out + err)

    def test_help_lists_the_flags_with_their_defaults(self):
        code, out, err = self._run("--help")
        text = out + err
        self.assertIn("metrics-adapter check --config=FILE", text)
        for flag, default in (("prometheus_url", '"https://localhost"'), ("cache_ttl", "15s"),
                              ("secure_port", "6443"), ("logging_format", '"text"')):
            with self.subTest(flag=flag):
                self.assertRegex(text, rf"--{flag} \([^)]*(\([^)]*\)[^)]*)*\);?\s+default: "
                                       rf"{re.escape(default)};")
        self.assertNotIn("No flags matched", text)

    def test_check_reports_every_problem_with_its_position(self):
        broken = self.cluster.tmp / "broken-rules.yaml"
        # Three independent problems; their positions are found in the text, not assumed.
        text = ("rules:\n"
                "- seriesQuery: 'http_requests_total{namespace!=\"\"'\n"
                "  name:\n"
                "    matches: \"^(broken\"\n"
                "  metricsQuery: '<<.Serie>>'\n")
        broken.write_text(text, encoding="utf-8")
        code, out, err = self._run("check", f"--config={broken}")
        self.assertEqual(code, 1, out + err)
        problems = err.splitlines()
        self.assertEqual(len(problems), 3, err)
        lines = text.splitlines()
        for needle in ("http_requests_total{", "^(broken", "<<.Serie>>"):
            line_no = next(i for i, line in enumerate(lines, 1) if needle in line)
            with self.subTest(problem=needle):
                reported = [p for p in problems
                            if re.match(rf"{re.escape(str(broken))}:{line_no}:\d+: ", p)]
                self.assertEqual(len(reported), 1, problems)
                column = int(reported[0].split(":")[2])
                self.assertGreaterEqual(column, 1)
                self.assertLessEqual(column, len(lines[line_no - 1]))

    def test_explain_prints_the_query(self):
        c = self.cluster
        code, out, err = self._run("explain", f"--prometheus-url={c.prometheus_url}",
                                   f"--config={harness.DEFAULT_RULES}", EXPLAIN_PATH)
        self.assertEqual(code, 0, err)
        self.assertEqual(out, f'sum(queue_depth{{queue="{QUEUE}",namespace="shop"}}) by (queue)\n')
        # And it is a query Prometheus answers with the exporter's value.
        result = c.prometheus_query(out.strip())
        self.assertEqual([float(r["value"][1]) for r in result],
                         [QUEUE_DEPTH])

    def test_version_prints_one_line(self):
        code, out, err = self._run("version")
        self.assertEqual(code, 0, err)
        self.assertRegex(
            out, r"\Ametrics-adapter v\d+\.\d+\.\d+\S* \(commit [0-9a-z]+, linux/[0-9a-z]+\)\n\Z")
        # The platform is the one this machine runs (the test runs the binary it built).
        machine = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine,
                                                              os.uname().machine)
        self.assertIn(f"linux/{machine})", out)


if __name__ == "__main__":
    unittest.main()
