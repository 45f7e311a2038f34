"""The adapter's thread count at idle: metrics_adapter_threads against docs/architecture.md.

docs/architecture.md, section "Threads", lists every thread the process starts. This test
rebuilds that list's total from the constants below (one per line of the section) and checks
that the gauge on /metrics, and the kernel's own count in /proc/<pid>/status, agree with it once
the adapter has started and sits idle: standalone, and against the fake kube-apiserver. It also
checks the threads by name (/proc/<pid>/task/*/comm), so that a miscount says which kind of
thread is extra or missing. A new thread that nobody documented, or a documented one that no
longer exists, fails here.
"""

import collections
import pathlib
import unittest

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
# refreshes as jobs.
SCHEDULER = 1
# Without --standalone: one thread per list-watch: the extension-apiserver-authentication
# ConfigMap (app::DelegatedAuth) and, because the rules have custom rules, the pods the object
# cache watches from the start.
KUBE_LIST_WATCHES = 2

STANDALONE_THREADS = SERVER_IO_THREADS + OUTBOUND_HTTP_WORKER + SCHEDULER
KUBE_THREADS = STANDALONE_THREADS + KUBE_LIST_WATCHES

# The same by thread name (pthread_setname_np in each module).
STANDALONE_BY_NAME = {PROCESS_NAME: SERVER_IO_THREADS, "ma-outbound": OUTBOUND_HTTP_WORKER,
                      "ma-scheduler": SCHEDULER}
KUBE_BY_NAME = dict(STANDALONE_BY_NAME, **{"ma-listwatch": KUBE_LIST_WATCHES})

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


if __name__ == "__main__":
    unittest.main()
