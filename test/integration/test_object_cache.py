"""The adapter's pod cache follows the fake kube-apiserver's WATCH (issue 4, item 6).

`pods/*` with a labelSelector must answer exactly the pods the Kubernetes API says match: as pods
are added, deleted and relabelled through the fake, the answer converges to the new set; a pod
of the same name in another namespace never leaks in; and when the fake stops, changes while it
is down, and comes back on the same port (with its WATCH history gone, as after a real restart),
the cache relists and converges too.

Every pod used here has an http_requests_total series in Prometheus (the exporter serves them
all from the start), so the answer's set of pods is decided by the cache alone. The waits are
bounded; a wait that ends shows the last answer.
"""

import json
import time
import unittest
import urllib.parse

import harness

NAMESPACE = "shop"
METRIC = "http_requests_per_second"
# Pods that have series; the tests choose which of them exist in Kubernetes and their labels.
SERIES_PODS = tuple(f"cache-{i}" for i in range(1, 9))
# Bound on the cache catching up with a change (WATCH latency, relist after a restart with the
# reflector's backoff, Prometheus' rate window).
CONVERGE_TIMEOUT_S = 60
# How long the fake stays down: long enough for the adapter's WATCH to break and a relist to fail.
DOWNTIME_S = 2


def _path(selector):
    return (f"/apis/custom.metrics.k8s.io/v1beta1/namespaces/{NAMESPACE}/pods/*/{METRIC}"
            f"?labelSelector={urllib.parse.quote(selector, safe='')}")


class ObjectCacheTest(harness.ClusterTestCase):
    cluster_options = {"kube": True}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cluster = cls.cluster
        cluster.exporter_set(*(f'http_requests_total{{namespace="{NAMESPACE}",pod="{p}"}} 0 +1/s'
                               for p in SERIES_PODS))
        cluster.wait_for_query(
            f'rate(http_requests_total{{namespace="{NAMESPACE}",pod=~"cache-.*"}}[10s]) > 0',
            lambda r: len(r) == len(SERIES_PODS),
            f"a rate for every one of {SERIES_PODS} in Prometheus")

    def setUp(self):
        super().setUp()
        self.fake = self.cluster.fake
        for pod in self.fake.objects("pods"):
            if pod["metadata"]["name"].startswith("cache-"):
                self.fake.delete_pod(pod["metadata"]["namespace"], pod["metadata"]["name"])

    def answer(self, selector):
        """Names of the pods in the adapter's answer, or a string saying why there is none."""
        code, out, err = self.cluster.kubectl_raw(_path(selector))
        if code != 0:
            return f"kubectl failed: {err.strip()}"
        doc = json.loads(out)
        return {item["describedObject"]["name"] for item in doc["items"]}

    def assert_converges(self, selector, want, what):
        last = [None]

        def settled():
            last[0] = self.answer(selector)
            return last[0] == set(want)

        try:
            harness.wait_until(settled, CONVERGE_TIMEOUT_S, what)
        except harness.HarnessError as e:
            self.fail(f"{e}: want {sorted(want)}, last answer {last[0]}")
        # Still exactly that set on the next request: no flapping between cache states.
        self.assertEqual(self.answer(selector), set(want), what)

    def test_pods_come_and_go_through_the_watch(self):
        selector = "app=come-and-go"
        other = {"app": "something-else"}
        self.fake.add_pod(NAMESPACE, "cache-1", {"app": "come-and-go"})
        self.fake.add_pod(NAMESPACE, "cache-2", {"app": "come-and-go", "tier": "web"})
        self.fake.add_pod(NAMESPACE, "cache-3", other)
        self.assert_converges(selector, {"cache-1", "cache-2"}, "the first two pods")

        self.fake.add_pod(NAMESPACE, "cache-4", {"app": "come-and-go"})
        self.assert_converges(selector, {"cache-1", "cache-2", "cache-4"}, "an added pod")

        self.fake.delete_pod(NAMESPACE, "cache-2")
        self.assert_converges(selector, {"cache-1", "cache-4"}, "a deleted pod to go")

        self.fake.set_pod_labels(NAMESPACE, "cache-3", {"app": "come-and-go"})
        self.assert_converges(selector, {"cache-1", "cache-3", "cache-4"},
                              "a pod relabelled into the selection")

        self.fake.set_pod_labels(NAMESPACE, "cache-1", other)
        self.assert_converges(selector, {"cache-3", "cache-4"},
                              "a pod relabelled out of the selection")

        # Same name, other namespace: Prometheus has cache-5 in shop, so a cache that ignored
        # namespaces would show it.
        self.fake.add_namespace("elsewhere")
        self.fake.add_pod("elsewhere", "cache-5", {"app": "come-and-go"})
        self.fake.add_pod(NAMESPACE, "cache-6", {"app": "come-and-go"})
        self.assert_converges(selector, {"cache-3", "cache-4", "cache-6"},
                              "a pod in the namespace, none from another")

        self.assert_converges("app in (come-and-go,something-else)",
                              {"cache-1", "cache-3", "cache-4", "cache-6"}, "a set selector")

    def test_cache_recovers_when_the_fake_apiserver_restarts(self):
        selector = "app=restart"
        for pod in ("cache-1", "cache-2", "cache-3"):
            self.fake.add_pod(NAMESPACE, pod, {"app": "restart"})
        self.assert_converges(selector, {"cache-1", "cache-2", "cache-3"}, "the pods before")

        url = self.fake.url
        self.fake.stop()
        self.fake.delete_pod(NAMESPACE, "cache-1")
        self.fake.set_pod_labels(NAMESPACE, "cache-2", {"app": "moved"})
        self.fake.add_pod(NAMESPACE, "cache-7", {"app": "restart"})
        requests_before = len(self.fake.requests())
        time.sleep(DOWNTIME_S)  # an outage, not an assertion: convergence is awaited below
        self.fake.start()
        self.assertEqual(self.fake.url, url)
        self.assert_converges(selector, {"cache-3", "cache-7"}, "the pods after the restart")

        # The restarted fake has no WATCH history, so the adapter must have listed again.
        after = self.fake.requests()[requests_before:]
        pod_lists = [p for _, p, _, _ in after
                     if urllib.parse.urlsplit(p).path == "/api/v1/pods" and "watch=" not in p]
        self.assertTrue(pod_lists, f"no pod LIST after the restart: {after}")


if __name__ == "__main__":
    unittest.main()
