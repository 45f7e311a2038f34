"""One deadline per request, and the last good value when Prometheus hangs (issue 12, item 2).

The adapter reaches Prometheus through a TCP proxy in this test that forwards until it is told to
hang: from then on it reads what the adapter sends and never answers, on new and open
connections alike (a Prometheus that accepts and never answers). Meanwhile:
- a key the adapter has a value for keeps answering 200 with that value, served stale after
  --cache-stale-wait, never a 504;
- a key never read gets the 504 Timeout Status once --request-timeout has passed;
- a TokenReview that kube-apiserver (the fake) never answers ends in the same 504 at the
  request's deadline, and the adapter logs which request did not finish.
The deadline is set short here so that the test waits seconds, not the default 30 s.
"""

import socket
import threading
import unittest
import urllib.parse

import harness

EXTERNAL = "/apis/external.metrics.k8s.io/v1beta1"
QUEUE = "orders"
QUEUE_DEPTH = harness.spec_value("queue_depth", namespace="shop", queue=QUEUE)
VALUE_PATH = (f"{EXTERNAL}/namespaces/shop/queue_depth?labelSelector=" +
              urllib.parse.quote(f"queue={QUEUE}", safe=""))
REQUEST_TIMEOUT = "3s"
STALE_WAIT = "300ms"
# Polls of the cached key while Prometheus hangs, until one was answered stale (counted).
STALE_POLLS_TIMEOUT_S = 30
# The adapter's log line for a request that its deadline ended.
TIMEOUT_LOG = "handler did not answer GET"
PROXY_CHUNK_BYTES = 64 * 1024
PROXY_CONNECT_TIMEOUT_S = 5


class HangingProxy:
    """A loopback TCP proxy to `target_port` that stops answering when hang() is called.

    Thread-safe: hang() and stop() may be called from the test thread while the proxy's own
    threads forward.
    """

    def __init__(self, target_port):
        self.target_port = target_port
        self.hanging = threading.Event()
        self.stopping = threading.Event()
        self._sockets = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()

    def hang(self):
        self.hanging.set()

    def stop(self):
        self.stopping.set()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for s in [self._listener, *sockets]:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _keep(self, s):
        with self._lock:
            self._sockets.append(s)

    def _accept(self):
        while not self.stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self._keep(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        if self.hanging.is_set():
            self._swallow(client)
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port),
                                                timeout=PROXY_CONNECT_TIMEOUT_S)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        self._keep(upstream)
        threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()
        # Requests on a connection opened before the hang are swallowed too.
        self._pipe(client, upstream, swallow_when_hanging=True)

    def _swallow(self, client):
        """Reads until the client gives up; answers nothing."""
        try:
            while client.recv(PROXY_CHUNK_BYTES):
                pass
        except OSError:
            pass

    def _pipe(self, source, sink, swallow_when_hanging=False):
        try:
            while True:
                chunk = source.recv(PROXY_CHUNK_BYTES)
                if not chunk:
                    break
                if swallow_when_hanging and self.hanging.is_set():
                    continue
                sink.sendall(chunk)
        except OSError:
            pass
        if not (swallow_when_hanging and self.hanging.is_set()):
            try:
                sink.shutdown(socket.SHUT_WR)
            except OSError:
                pass


class DeadlineTest(harness.ClusterTestCase):
    # The fake kube-apiserver, for the TokenReview hang; the requests below carry the generated
    # client certificate (system:masters: no SubjectAccessReview) unless they test the token.
    cluster_options = {"kube": True, "start_adapter": False}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        c = cls.cluster
        cls.proxy = HangingProxy(c.prometheus_port)
        try:
            # The later --prometheus-url wins over the harness's own.
            c.start_adapter(extra_args=[
                f"--prometheus-url=http://127.0.0.1:{cls.proxy.port}",
                f"--request-timeout={REQUEST_TIMEOUT}", f"--cache-stale-wait={STALE_WAIT}",
                "--cache-ttl=1s", "--cache-max-stale=10m", "-v=2"
            ])
        except BaseException:
            c.dump_logs()
            cls.proxy.stop()
            c.stop(check_adapter_exit=False)
            cls.cluster = None
            raise

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()  # the adapter first: it cancels what still waits on the proxy
        cls.proxy.stop()

    def _counter(self, name, **labels):
        # /metrics needs authorization here: the client certificate is system:masters.
        r = self._get("/metrics")
        self.assertEqual(r.status, 200, f"/metrics: {r.body[:500]} {r.stderr}")
        return harness.metric_value(harness.parse_exposition(r.body), name, **labels) or 0

    def _get(self, path, **kwargs):
        kwargs.setdefault("client_cert", True)
        return self.cluster.curl(path, **kwargs)

    def _assert_timeout_status(self, r):
        self.assertEqual(r.status, 504, f"{r.body[:500]} {r.stderr}")
        status = r.json()
        self.assertEqual((status["kind"], status["status"], status["reason"], status["code"]),
                         ("Status", "Failure", "Timeout", 504))

    def test_hanging_prometheus_stale_value_for_cached_keys_504_for_new_ones(self):
        c = self.cluster
        want = harness.canonical_quantity(repr(QUEUE_DEPTH))

        def served():
            r = self._get(VALUE_PATH)
            return r if r.status == 200 else None

        r = harness.wait_until(served, harness.ADAPTER_READY_TIMEOUT_S,
                               f"{VALUE_PATH} to answer 200 through the proxy")
        self.assertEqual([i["value"] for i in r.json()["items"]], [want])
        stale_before = self._counter("metrics_adapter_cache_stale_served_total",
                                     backend="prometheus")

        self.proxy.hang()
        polls = []

        def answered_stale():
            r = self._get(VALUE_PATH)
            polls.append(r.status)
            # Every poll, fresh or stale: 200 with the last value Prometheus gave.
            self.assertEqual(r.status, 200, f"poll {len(polls)}: {r.body[:500]} {r.stderr}")
            self.assertEqual([i["value"] for i in r.json()["items"]], [want])
            return self._counter("metrics_adapter_cache_stale_served_total",
                                 backend="prometheus") > stale_before

        harness.wait_until(answered_stale, STALE_POLLS_TIMEOUT_S,
                           "a poll of the cached key to be answered with its stale value")
        self.assertNotIn(504, polls)

        # A key never read has nothing to fall back on: the request deadline answers.
        never_read = (f"{EXTERNAL}/namespaces/shop/queue_depth?labelSelector=" +
                      urllib.parse.quote("queue=never-read", safe=""))
        timeouts_logged = c.adapter_log().count(TIMEOUT_LOG)
        self._assert_timeout_status(self._get(never_read))
        self.assertEqual(c.adapter_log().count(TIMEOUT_LOG), timeouts_logged + 1)
        self.assertTrue(c.adapter_running())

    def test_hanging_token_review_ends_at_the_request_deadline(self):
        c = self.cluster
        timeouts_logged = c.adapter_log().count(TIMEOUT_LOG)
        failures_logged = c.adapter_log().count("authentication failed")
        c.fake.hang_token_reviews()
        try:
            r = self._get(VALUE_PATH, client_cert=False,
                          headers=["Authorization: Bearer token-of-a-hanging-review"])
        finally:
            c.fake.hang_token_reviews(False)
        self._assert_timeout_status(r)
        self.assertEqual([t["token"] for t in c.fake.token_reviews()],
                         ["token-of-a-hanging-review"])
        log = c.adapter_log()
        self.assertEqual(log.count(TIMEOUT_LOG), timeouts_logged + 1)
        # Not taken for a refused token: no authentication failure is logged for it.
        self.assertEqual(log.count("authentication failed"), failures_logged)
        self.assertTrue(c.adapter_running())


if __name__ == "__main__":
    unittest.main()
