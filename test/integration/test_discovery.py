"""Discovery documents of the real adapter, read the way clients read them.

`kubectl get --raw` fetches /apis, the two groups and the three group-versions; `kubectl
api-versions` and `kubectl api-resources` run client-go's discovery against the adapter as if it
were a cluster. The metrics expected come from test/data/integration/{rules.yaml,metrics.txt}.
"""

import json
import unittest

import harness

CUSTOM = "custom.metrics.k8s.io"
EXTERNAL = "external.metrics.k8s.io"
# metrics.k8s.io answers discovery whatever the rules say (handlers/api_groups.h); these rules
# have no resourceRules, so it lists only its placeholder.
RESOURCE = "metrics.k8s.io"
CUSTOM_VERSIONS = ["v1beta2", "v1beta1"]  # preference order: the newest first

# API metric -> namespaced, as the integration rules and series define them.
EXPECTED_CUSTOM = {
    "pods/http_requests_per_second": True,
    "pods/stale_ratio": True,
    "namespaces/namespace_cost": False,
    "namespaces/http_requests_per_second": False,
}
EXPECTED_EXTERNAL = {"queue_depth", "cluster_backlog_seconds", "stale_ratio"}


def _names(resource_list):
    return {r["name"] for r in resource_list["resources"]}


class DiscoveryTest(harness.ClusterTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # /readyz waits for the first relist, but a relist may still be publishing: wait for the
        # documents to list what the rules discover.
        def listed():
            docs = {}
            for gv in (f"{CUSTOM}/v1beta1", f"{EXTERNAL}/v1beta1"):
                code, out, _ = cls.cluster.kubectl_raw(f"/apis/{gv}")
                if code != 0:
                    return False
                docs[gv] = json.loads(out)
            return (set(EXPECTED_CUSTOM) <= _names(docs[f"{CUSTOM}/v1beta1"]) and
                    EXPECTED_EXTERNAL <= _names(docs[f"{EXTERNAL}/v1beta1"]))

        try:
            harness.wait_until(listed, harness.ADAPTER_READY_TIMEOUT_S,
                               "discovery to list every metric of the integration rules")
        except BaseException:
            cls.cluster.dump_logs()
            cls.cluster.stop(check_adapter_exit=False)
            cls.cluster = None
            raise

    def _kubectl(self, *args):
        c = self.cluster
        return harness.run_client([
            "kubectl", "--kubeconfig", str(c.kubeconfig), "--cache-dir", str(c.kube_cache),
            f"--request-timeout={harness.CLIENT_TIMEOUT_S}s", *args
        ])

    def _assert_custom_group(self, group):
        self.assertEqual(group["name"], CUSTOM)
        self.assertEqual(group["versions"], [{
            "groupVersion": f"{CUSTOM}/{v}",
            "version": v
        } for v in CUSTOM_VERSIONS])
        self.assertEqual(group["preferredVersion"], {
            "groupVersion": f"{CUSTOM}/v1beta2",
            "version": "v1beta2"
        })

    def _assert_external_group(self, group):
        self.assertEqual(group["name"], EXTERNAL)
        self.assertEqual(group["versions"], [{
            "groupVersion": f"{EXTERNAL}/v1beta1",
            "version": "v1beta1"
        }])
        self.assertEqual(group["preferredVersion"], {
            "groupVersion": f"{EXTERNAL}/v1beta1",
            "version": "v1beta1"
        })

    def test_apis_lists_every_group(self):
        doc = self.get_json("/apis")
        self.assertEqual((doc["kind"], doc["apiVersion"]), ("APIGroupList", "v1"))
        groups = {g["name"]: g for g in doc["groups"]}
        self.assertEqual(set(groups), {CUSTOM, EXTERNAL, RESOURCE})
        for group in doc["groups"]:
            self.assertNotIn("kind", group, "items of a list carry no kind")
        self._assert_custom_group(groups[CUSTOM])
        self._assert_external_group(groups[EXTERNAL])

    def test_custom_group_prefers_v1beta2(self):
        doc = self.get_json(f"/apis/{CUSTOM}")
        self.assertEqual((doc["kind"], doc["apiVersion"]), ("APIGroup", "v1"))
        self._assert_custom_group(doc)

    def test_external_group(self):
        doc = self.get_json(f"/apis/{EXTERNAL}")
        self.assertEqual((doc["kind"], doc["apiVersion"]), ("APIGroup", "v1"))
        self._assert_external_group(doc)

    def test_custom_resource_lists_in_both_versions(self):
        names_by_version = {}
        for version in CUSTOM_VERSIONS:
            with self.subTest(version=version):
                doc = self.get_json(f"/apis/{CUSTOM}/{version}")
                self.assertEqual((doc["kind"], doc["apiVersion"]), ("APIResourceList", "v1"))
                self.assertEqual(doc["groupVersion"], f"{CUSTOM}/{version}")
                entries = {r["name"]: r for r in doc["resources"]}
                self.assertEqual(len(entries), len(doc["resources"]), "duplicate entries")
                for name, namespaced in EXPECTED_CUSTOM.items():
                    self.assertIn(name, entries)
                    self.assertIs(entries[name]["namespaced"], namespaced, name)
                for entry in doc["resources"]:
                    self.assertEqual(entry["kind"], "MetricValueList", entry)
                    self.assertEqual(entry["verbs"], ["get"], entry)
                    self.assertEqual(entry["singularName"], "", entry)
                # The aggregator drops a group-version whose entries disagree on the scope of
                # one parent resource.
                scope = {}
                for entry in doc["resources"]:
                    parent = entry["name"].split("/", 1)[0]
                    self.assertEqual(scope.setdefault(parent, entry["namespaced"]),
                                     entry["namespaced"], f"scope of {parent} differs")
                names_by_version[version] = set(entries)
        self.assertEqual(names_by_version["v1beta1"], names_by_version["v1beta2"])

    def test_external_resource_list(self):
        doc = self.get_json(f"/apis/{EXTERNAL}/v1beta1")
        self.assertEqual((doc["kind"], doc["apiVersion"]), ("APIResourceList", "v1"))
        self.assertEqual(doc["groupVersion"], f"{EXTERNAL}/v1beta1")
        entries = {r["name"]: r for r in doc["resources"]}
        self.assertEqual(set(entries), EXPECTED_EXTERNAL)
        for name, entry in entries.items():
            with self.subTest(metric=name):
                # Every external metric is namespaced, `namespaced: false` rules included: the
                # route always carries a namespace.
                self.assertIs(entry["namespaced"], True)
                self.assertEqual(entry["kind"], "ExternalMetricValueList")
                self.assertEqual(entry["verbs"], ["get"])

    def test_unserved_version_is_not_found(self):
        for path in (f"/apis/{EXTERNAL}/v1beta2", f"/apis/{CUSTOM}/v1"):
            with self.subTest(path=path):
                r = self.cluster.curl(path)
                self.assertEqual(r.status, 404, r.body)
                self.assertEqual(r.json()["reason"], "NotFound")

    def test_kubectl_api_versions(self):
        code, out, err = self._kubectl("api-versions")
        self.assertEqual(code, 0, err)
        want = ([f"{CUSTOM}/{v}" for v in CUSTOM_VERSIONS] + [f"{EXTERNAL}/v1beta1"] +
                [f"{RESOURCE}/v1beta1"])
        self.assertEqual(out.split(), sorted(want))

    def test_kubectl_api_resources_for_external_metrics(self):
        code, out, err = self._kubectl("api-resources", f"--api-group={EXTERNAL}", "-o", "wide")
        self.assertEqual(code, 0, err)
        lines = out.splitlines()
        self.assertTrue(lines and lines[0].split()[0] == "NAME", out)
        rows = {}
        for line in lines[1:]:
            fields = line.split()
            rows[fields[0]] = fields[1:]
        self.assertEqual(set(rows), EXPECTED_EXTERNAL, out)
        for name, fields in rows.items():
            with self.subTest(metric=name):
                # No short names: APIVERSION NAMESPACED KIND VERBS.
                self.assertEqual(fields,
                                 [f"{EXTERNAL}/v1beta1", "true", "ExternalMetricValueList", "get"])


if __name__ == "__main__":
    unittest.main()
