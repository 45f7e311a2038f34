"""Clean rollouts: what the real adapter does with SIGTERM (docs/deploy.md, "Rollouts").

With --shutdown-delay-duration, /readyz fails at once while every request is still answered,
over kept-alive and new connections alike; then the listener closes, the requests in flight
drain, and what runs in the background (relists, queries queued or in flight) is cancelled
instead of waited for, so the process exits well within the pod's grace period even when
Prometheus hangs.
"""

import http.client
import signal
import socket
import threading
import unittest
import urllib.parse

import harness
from test_lifecycle import LOAD_PATH, QUEUE_DEPTH, LoadThread

LOAD_THREADS = 4
# Answers each load thread gets before SIGTERM, and again after /readyz has turned unready.
ANSWERS_PER_STEP = 3
LOAD_WAIT_S = 30
# Long enough that the load checks after /readyz turns unready end well inside it, even on a
# slow sanitizer build; the test waits it out once.
DELAY_S = 4
# How long the process may take after the delay: draining answers from memory and cancelling
# background work take milliseconds. Far below the 30 s query and 60 s listing timeouts that an
# exit waiting for a hung Prometheus would take.
EXIT_BOUND_S = 10
# --shutdown-delay-duration's maximum: only a second signal can end it within the test.
LONG_DELAY = "5m"
THREAD_JOIN_TIMEOUT_S = harness.CLIENT_TIMEOUT_S + 5
OTHER_QUEUE_PATH = (f"/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue_depth"
                    f"?labelSelector={urllib.parse.quote('queue=payments', safe='')}")
BACKEND = {"backend": "prometheus"}


class HangingProxy:
    """A TCP proxy to Prometheus that, once told to hang, swallows every request it gets.

    Not a fake: Prometheus answers everything until hang() is called; afterwards the adapter's
    requests reach a socket that accepts and reads but never answers, as a stuck Prometheus
    would. `hung` lists the request lines swallowed.
    """

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.lock = threading.Lock()
        self.hanging = False
        self.hung = []
        self.sockets = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def hang(self):
        with self.lock:
            self.hanging = True

    def hung_paths(self):
        with self.lock:
            return list(self.hung)

    def close(self):
        with self.lock:
            sockets, self.sockets = self.sockets, []
        for s in sockets:
            try:
                s.close()
            except OSError:
                pass

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            with self.lock:
                self.sockets += [client, upstream]
            threading.Thread(target=self._to_upstream, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _to_upstream(self, client, upstream):
        while True:
            try:
                data = client.recv(65536)
            except OSError:
                return
            if not data:
                return
            with self.lock:
                hanging = self.hanging
                if hanging and data.startswith((b"GET ", b"POST ")):
                    self.hung.append(data.split(b"\r\n", 1)[0].decode("latin-1"))
            if not hanging:
                try:
                    upstream.sendall(data)
                except OSError:
                    return

    @staticmethod
    def _pump(source, sink):
        while True:
            try:
                data = source.recv(65536)
                if not data:
                    return
                sink.sendall(data)
            except OSError:
                return


class RolloutTest(harness.ClusterTestCase):
    # Each test starts the adapter it needs.
    cluster_options = {"start_adapter": False}

    def tearDown(self):
        try:
            super().tearDown()
        finally:
            if self.cluster.adapter_running():
                self.cluster.stop_adapter()

    def _wait_unready(self):
        """Polls /readyz?verbose (a new connection each time) until it fails; returns that."""

        def unready():
            r = self.cluster.curl("/readyz?verbose")
            return r if r.status != 200 else None

        return harness.wait_until(unready, harness.CLIENT_TIMEOUT_S, "/readyz to fail")

    def _shutdown_log(self):
        log = self.cluster.adapter_log()
        return log[log.rfind("--- started: "):]

    def test_sigterm_under_load_fails_readiness_and_keeps_serving_through_the_delay(self):
        c = self.cluster
        c.start_adapter(extra_args=[f"--shutdown-delay-duration={DELAY_S}s"])
        want = harness.canonical_quantity(repr(QUEUE_DEPTH))
        stop = threading.Event()
        threads = [LoadThread(c.adapter_port, c.ssl_context(), stop, want)
                   for _ in range(LOAD_THREADS)]
        for t in threads:
            t.start()
        try:
            harness.wait_until(lambda: all(t.answers >= ANSWERS_PER_STEP for t in threads),
                               LOAD_WAIT_S, f"{ANSWERS_PER_STEP} answers on every load thread")
            c.signal_adapter(signal.SIGTERM)
            unready = self._wait_unready()
            # Readiness is off, and the same keep-alive connections are still answered in full.
            after = [t.answers for t in threads]
            harness.wait_until(
                lambda: all(t.answers >= a + ANSWERS_PER_STEP for t, a in zip(threads, after)),
                LOAD_WAIT_S, f"{ANSWERS_PER_STEP} more answers on every load thread after "
                "/readyz failed")
            fresh = c.curl(LOAD_PATH)  # a new connection is still accepted
        finally:
            stop.set()
            for t in threads:
                t.join(THREAD_JOIN_TIMEOUT_S)
        self.assertFalse(any(t.is_alive() for t in threads), "a load thread hung")
        self.assertEqual(unready.status, 500, unready.body)
        self.assertIn("[-]shutdown failed", unready.body)
        self.assertIn("readyz check failed", unready.body)
        self.assertEqual(fresh.status, 200, fresh.body)
        self.assertIn('"kind":"ExternalMetricValueList"', fresh.body)
        outcomes = [o for t in threads for o in t.outcomes]
        failed = [o for o in outcomes if o[1] != "ok"]
        self.assertEqual(failed, [], "requests that failed before the delay was over")

        self.assertEqual(c.wait_adapter_exit(DELAY_S + EXIT_BOUND_S), 0)
        log = self._shutdown_log()
        for line in ("shutdown: SIGTERM received; not ready from now on", "closed the listener",
                     "shutdown: drained in", "shutdown: background work cancelled in"):
            self.assertIn(line, log)
        c.stop_adapter()  # the harness' own checks: exit code and sanitizer reports

    def test_a_second_sigterm_ends_the_delay(self):
        c = self.cluster
        c.start_adapter(extra_args=[f"--shutdown-delay-duration={LONG_DELAY}"])
        c.signal_adapter(signal.SIGTERM)
        self._wait_unready()
        self.assertEqual(c.curl(LOAD_PATH).status, 200)
        c.signal_adapter(signal.SIGTERM)
        self.assertEqual(c.wait_adapter_exit(EXIT_BOUND_S), 0)
        self.assertIn("shutdown: SIGTERM during the shutdown delay", self._shutdown_log())
        c.stop_adapter()

    def test_exits_promptly_while_prometheus_hangs_with_work_in_flight(self):
        c = self.cluster
        proxy = HangingProxy(c.prometheus_port)
        self.addCleanup(proxy.close)
        # One query at a time, so that a second one waits in the bulkhead's queue; relists every
        # second, so that one is in flight soon after Prometheus hangs.
        c.start_adapter(extra_args=[f"--prometheus-url={proxy.url}",
                                    "--shutdown-delay-duration=1s",
                                    "--metrics-relist-interval=1s",
                                    "--backend-max-concurrency=1"])
        proxy.hang()
        clients = []
        for path in (LOAD_PATH, OTHER_QUEUE_PATH):  # two cache misses: one sent, one queued
            conn = http.client.HTTPSConnection("127.0.0.1", c.adapter_port,
                                               context=c.ssl_context(),
                                               timeout=harness.CLIENT_TIMEOUT_S)
            conn.request("GET", path)
            clients.append(conn)
        harness.wait_until(
            lambda: ({"/api/v1/query", "/api/v1/series"}
                     <= {p.split()[1].split("?")[0] for p in proxy.hung_paths()}),
            LOAD_WAIT_S, "a query and a relist's series listing to reach the hung Prometheus")
        harness.wait_until(
            lambda: harness.metric_value(c.adapter_metrics(), "metrics_adapter_backend_queue_depth",
                                         **BACKEND) == 1,
            LOAD_WAIT_S, "the second query to wait in the bulkhead's queue")
        for conn in clients:  # the clients give up; the backend work stays in flight
            conn.close()

        c.signal_adapter(signal.SIGTERM)
        self.assertEqual(c.wait_adapter_exit(1 + EXIT_BOUND_S), 0)
        log = self._shutdown_log()
        self.assertIn("relist cancelled: shutting down", log)
        self.assertIn("shutdown: background work cancelled in", log)
        c.stop_adapter()


if __name__ == "__main__":
    unittest.main()
