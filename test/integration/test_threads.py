"""The adapter's thread count at idle: metrics_adapter_threads against docs/architecture.md.

docs/architecture.md, section "Threads", lists every thread the process starts. This test
rebuilds that list's total from the constants below (one per line of the section) and checks
that the gauge on /metrics, and the kernel's own count in /proc/<pid>/status, agree with it once
the adapter has started and sits idle: standalone, and against the fake kube-apiserver. It also
checks the threads by name (/proc/<pid>/task/*/comm), so that a miscount says which kind of
thread is extra or missing. A new thread that nobody documented, or a documented one that no
longer exists, fails here.

List-watches own no thread: against the fake kube-apiserver with rules that watch four
collections from the start (the authentication ConfigMap, pods, Running pods, nodes) the count
is the same as with two, and the same as standalone.
"""

import collections
import pathlib
import shutil
import tempfile
import unittest
import urllib.parse

import harness

# The section's list, one constant per kind of thread.
# The server's I/O threads: ServerOptions::threads (adapter/server/server.h), the main thread
# included, as Server::Run runs the io_context on the calling thread too. They are not named, so
# they carry the process's name.
SERVER_IO_THREADS = 2
PROCESS_NAME = "metrics-adapter"
# The curl worker of the process's one outbound::HttpClient, which the Prometheus client and
# every Kubernetes API client (lister, authentication, authorization) share.
OUTBOUND_HTTP_WORKER = 1
# scheduler::Scheduler's thread, which runs discovery::Relister's runs,
# cache::CachingClient's maintenance ticks and, without --standalone, the discovery mapper's
# refreshes and the list-watches' backoff waits as jobs.
SCHEDULER = 1
# decode::DecodePool's threads (decode::kDecodeThreads): series listings, large query answers,
# LIST pages and WATCH events, and the list-watches' handlers.
DECODE_POOL = 2

STANDALONE_THREADS = SERVER_IO_THREADS + OUTBOUND_HTTP_WORKER + SCHEDULER + DECODE_POOL
# List-watches add none, however many collections are watched.
KUBE_THREADS = STANDALONE_THREADS

# The same by thread name (pthread_setname_np in each module).
STANDALONE_BY_NAME = {PROCESS_NAME: SERVER_IO_THREADS, "ma-outbound": OUTBOUND_HTTP_WORKER,
                      "ma-scheduler": SCHEDULER, "ma-decode": DECODE_POOL}
KUBE_BY_NAME = STANDALONE_BY_NAME

# Rules with custom rules (pods are watched from the start) and metrics.k8s.io's resourceRules
# (Running pods and nodes too).
SEVERAL_WATCHES_RULES = (harness.DEFAULT_RULES, harness.DATA_DIR /
                         "kube_prometheus_resource_rules.yaml")
# The collections those rules watch from the start, and the ConfigMap authentication follows:
# (path, field selector) of each WATCH the fake kube-apiserver must see.
SEVERAL_WATCHES = {
    ("/api/v1/namespaces/kube-system/configmaps",
     "metadata.name=extension-apiserver-authentication"),
    ("/api/v1/pods", ""),
    ("/api/v1/pods", "status.phase=Running"),
    ("/api/v1/nodes", ""),
}

# How long the count must hold still before it is compared: the first relist and the first
# LIST of each watch finish within a few seconds of /readyz.
SETTLE_TIMEOUT_S = 30


def _proc_threads(pid):
    """The "Threads:" line of /proc/<pid>/status."""
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise harness.HarnessError(f"no Threads: line in /proc/{pid}/status")


def _threads_by_name(pid):
    """How many of the process's threads carry each name."""
    names = collections.Counter()
    for task in pathlib.Path(f"/proc/{pid}/task").iterdir():
        try:
            names[(task / "comm").read_text().strip()] += 1
        except FileNotFoundError:  # the thread ended meanwhile
            pass
    return dict(names)


class _ThreadCountMixin:
    expected_threads = None
    expected_by_name = None
    metrics_client_cert = False

    def _gauge(self):
        r = self.cluster.curl("/metrics", client_cert=self.metrics_client_cert)
        self.assertEqual(r.status, 200, r.body[:500])
        value = harness.metric_value(harness.parse_exposition(r.body), "metrics_adapter_threads")
        self.assertIsNotNone(value, "metrics_adapter_threads is missing from /metrics")
        return int(value)

    def test_thread_count_at_idle_is_the_documented_one(self):
        pid = self.cluster.children["adapter"].process.pid
        # Idle: the first relist ran (the registry lists the rules' metrics) and the count no
        # longer changes between two scrapes.
        last = [None]

        def settled():
            count = self._gauge()
            done = count == last[0]
            last[0] = count
            return done

        harness.wait_until(settled, SETTLE_TIMEOUT_S, "the adapter's thread count to settle")
        self.assertEqual(self._gauge(), self.expected_threads,
                         "metrics_adapter_threads differs from docs/architecture.md, \"Threads\"")
        self.assertEqual(_proc_threads(pid), self.expected_threads)
        self.assertEqual(_threads_by_name(pid), self.expected_by_name)
        self.assertEqual(sum(self.expected_by_name.values()), self.expected_threads)


class StandaloneThreadsTest(_ThreadCountMixin, harness.ClusterTestCase):
    expected_threads = STANDALONE_THREADS
    expected_by_name = STANDALONE_BY_NAME


class KubeThreadsTest(_ThreadCountMixin, harness.ClusterTestCase):
    cluster_options = {"kube": True}
    expected_threads = KUBE_THREADS
    expected_by_name = KUBE_BY_NAME
    # /metrics is authorized like any request: a client certificate and an allowing SAR.
    metrics_client_cert = True

    def setUp(self):
        super().setUp()
        self.cluster.fake.allow()


def _watches(fake):
    """(path, fieldSelector) of every WATCH the fake kube-apiserver was sent."""
    seen = set()
    for _, target, _, _ in fake.requests():
        path, _, query = target.partition("?")
        params = urllib.parse.parse_qs(query)
        if params.get("watch") == ["1"]:
            seen.add((path, params.get("fieldSelector", [""])[0]))
    return seen


class SeveralWatchesThreadsTest(_ThreadCountMixin, harness.ClusterTestCase):
    """Four list-watches from the start, and not one thread more than with two."""
    expected_threads = KUBE_THREADS
    expected_by_name = KUBE_BY_NAME
    metrics_client_cert = True

    @classmethod
    def setUpClass(cls):
        cls._rules_dir = pathlib.Path(tempfile.mkdtemp(prefix="ma-threads-rules-"))
        rules = cls._rules_dir / "rules.yaml"
        rules.write_text("".join(p.read_text(encoding="utf-8") + "\n"
                                 for p in SEVERAL_WATCHES_RULES), encoding="utf-8")
        cls.cluster_options = {"kube": True, "rules": rules}
        try:
            super().setUpClass()
        except BaseException:
            shutil.rmtree(cls._rules_dir, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls._rules_dir, ignore_errors=True)

    def setUp(self):
        super().setUp()
        self.cluster.fake.allow()

    def test_thread_count_at_idle_is_the_documented_one(self):
        # Every watch is running before the count is taken.
        harness.wait_until(lambda: SEVERAL_WATCHES <= _watches(self.cluster.fake),
                           SETTLE_TIMEOUT_S, f"a WATCH of each of {sorted(SEVERAL_WATCHES)}")
        super().test_thread_count_at_idle_is_the_documented_one()


if __name__ == "__main__":
    unittest.main()
