"""Delegated authentication and authorization of the real adapter against the fake kube-apiserver.

Issue 4, item 6, over real TLS with generated certificates (docs/security.md): an aggregator-style
request (front-proxy certificate and X-Remote-* headers) is allowed after a SubjectAccessReview
with exactly the identity and attributes the headers and the URL carry; a front-proxy certificate
with a CN outside --requestheader-allowed-names gets 401, and so does a client certificate that no
configured CA signed; a request without credentials is anonymous and gets the SAR's 403; a bearer
token goes through a TokenReview. The fake records every review, so the tests assert on what the
adapter sent.

Each test uses its own namespace or user so that the adapter's review caches (10 s, keyed by the
review spec) cannot answer for a neighbour. Every test runs twice: with kubeadm's CA and
request-header flags, and with none, the adapter then reading them from the fake's
extension-apiserver-authentication ConfigMap.
"""

import unittest
import urllib.parse

import harness

EXTERNAL = "/apis/external.metrics.k8s.io/v1beta1"
EXTERNAL_GROUP = "external.metrics.k8s.io"
HPA_USER = "system:serviceaccount:kube-system:horizontal-pod-autoscaler"
HPA_GROUPS = ["system:serviceaccounts", "system:serviceaccounts:kube-system",
              "system:authenticated"]
CREDENTIAL_ID_KEY = "authentication.kubernetes.io/credential-id"
# The header name carries the key percent-encoded; the adapter must decode and lowercase it.
CREDENTIAL_ID_HEADER = "X-Remote-Extra-Authentication.kubernetes.io%2fcredential-id"
CREDENTIAL_ID = "JTI=7d5a7ce2-test"
UNAUTHORIZED = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "Unauthorized", "reason": "Unauthorized", "code": 401}


def _external(namespace, metric, selector=None):
    path = f"{EXTERNAL}/namespaces/{namespace}/{metric}"
    if selector is not None:
        path += "?labelSelector=" + urllib.parse.quote(selector, safe="")
    return path


def _proxy_headers(user, groups, extra=None):
    """What kube-apiserver's proxy adds: one header line per group and per extra value."""
    headers = [f"{harness.USERNAME_HEADER}: {user}"]
    headers += [f"{harness.GROUP_HEADER}: {g}" for g in groups]
    for name, values in (extra or {}).items():
        headers += [f"{name}: {v}" for v in values]
    return headers


def _external_attributes(namespace, metric):
    """SAR resourceAttributes of an external metric request (verb list: docs/security.md)."""
    return {"namespace": namespace, "verb": "list", "group": EXTERNAL_GROUP,
            "version": "v1beta1", "resource": metric}


class KubeAuthTest(harness.ClusterTestCase):
    cluster_options = {"kube": True}

    def setUp(self):
        super().setUp()
        self.fake = self.cluster.fake
        self.fake.clear_sar_rules()
        self.fake.clear_reviews()

    def _reviews_of(self, user):
        return [r for r in self.fake.access_reviews() if r.get("user") == user]

    def _assert_attributes(self, review, want):
        attrs = review.get("resourceAttributes")
        self.assertIsNotNone(attrs, review)
        self.assertNotIn("nonResourceAttributes", review)
        # Only the attributes the request defines; name and subresource are absent or empty.
        self.assertEqual({k: attrs.get(k) for k in want}, want, review)
        self.assertEqual(attrs.get("name", ""), "", review)
        self.assertEqual(attrs.get("subresource", ""), "", review)

    def _assert_label_selector(self, review, key, values):
        # Newer servers send the parsed selector; omitting it is allowed.
        selector = review["resourceAttributes"].get("labelSelector")
        if selector is not None:
            self.assertEqual(selector, {"requirements": [
                {"key": key, "operator": "In", "values": values}]}, review)

    def _queue_depth(self, namespace, queue):
        _, samples = harness.exporter.parse_spec(
            harness.DEFAULT_METRICS_SPEC.read_text(encoding="utf-8"))
        want = (("namespace", namespace), ("queue", queue))
        return harness.canonical_quantity(
            repr(next(v for (n, l), v, _ in samples if n == "queue_depth" and l == want)))

    def test_aggregator_request_with_front_proxy_certificate_is_allowed(self):
        self.fake.allow(user=HPA_USER, reason="RBAC: allowed by ClusterRoleBinding "
                        "\"hpa-external-metrics\"")
        r = self.cluster.curl(
            _external("shop", "queue_depth", "queue=orders"),
            client_cert=self.cluster.pki.front_proxy_client,
            headers=_proxy_headers(HPA_USER, HPA_GROUPS,
                                   {CREDENTIAL_ID_HEADER: [CREDENTIAL_ID]}))
        self.assertEqual(r.status, 200, f"{r.body[:500]} {r.stderr}")
        doc = r.json()
        self.assertEqual(doc["kind"], "ExternalMetricValueList")
        self.assertEqual([(i["metricLabels"], i["value"]) for i in doc["items"]],
                         [({"queue": "orders"}, self._queue_depth("shop", "orders"))])

        reviews = self._reviews_of(HPA_USER)
        self.assertEqual(len(reviews), 1, self.fake.access_reviews())
        review = reviews[0]
        self.assertEqual(review["groups"], HPA_GROUPS)
        self.assertEqual(review.get("extra"), {CREDENTIAL_ID_KEY: [CREDENTIAL_ID]})
        self._assert_attributes(review, _external_attributes("shop", "queue_depth"))
        self._assert_label_selector(review, "queue", ["orders"])
        self.assertEqual(self.fake.token_reviews(), [], "a certificate needs no TokenReview")

    def test_front_proxy_certificate_with_wrong_common_name_is_unauthorized(self):
        self.fake.allow()  # whatever reaches authorization would pass: the 401 is authn's
        r = self.cluster.curl(
            _external("shop", "queue_depth", "queue=payments"),
            client_cert=self.cluster.pki.front_proxy_other,
            headers=_proxy_headers(HPA_USER, HPA_GROUPS))
        self.assertEqual(r.status, 401, f"{r.body[:500]} {r.stderr}")
        self.assertTrue(r.content_type.startswith("application/json"), r.content_type)
        self.assertEqual(r.json(), UNAUTHORIZED)
        self.assertEqual(self.fake.access_reviews(), [],
                         "an unauthenticated request must not reach the SAR")

    def test_client_certificate_from_an_unknown_ca_is_unauthorized(self):
        # Issued by another CA with the same subject: neither --client-ca-file nor the front-proxy
        # CA verifies it. As in Go, that is a 401, not an anonymous request.
        self.fake.allow()
        wrong = self.cluster.wrong_pki
        r = self.cluster.curl(_external("shop", "queue_depth", "queue=unknown-ca"),
                              client_cert=(wrong.client_crt, wrong.client_key))
        self.assertEqual(r.status, 401, f"{r.body[:500]} {r.stderr}")
        self.assertEqual(r.json(), UNAUTHORIZED)
        self.assertEqual(self.fake.access_reviews(), [],
                         "an unauthenticated request must not reach the SAR")

    def test_request_without_credentials_is_forbidden_by_the_sar(self):
        reason = "anonymous requests may not read metrics"
        self.fake.deny(user="system:anonymous", reason=reason)
        r = self.cluster.curl(_external("billing", "queue_depth"))
        self.assertEqual(r.status, 403, f"{r.body[:500]} {r.stderr}")
        self.assertTrue(r.content_type.startswith("application/json"), r.content_type)
        self.assertEqual(r.json(), {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": f'queue_depth.{EXTERNAL_GROUP} is forbidden: User "system:anonymous" '
                       f'cannot list resource "queue_depth" in API group "{EXTERNAL_GROUP}" in '
                       f'the namespace "billing": {reason}',
            "reason": "Forbidden", "details": {"group": EXTERNAL_GROUP, "kind": "queue_depth"},
            "code": 403})
        reviews = self._reviews_of("system:anonymous")
        self.assertEqual(len(reviews), 1, self.fake.access_reviews())
        self.assertEqual(reviews[0]["groups"], ["system:unauthenticated"])
        self._assert_attributes(reviews[0], _external_attributes("billing", "queue_depth"))

    def test_bearer_token_goes_through_token_review(self):
        user = "system:serviceaccount:shop:metrics-reader"
        groups = ["system:serviceaccounts", "system:serviceaccounts:shop"]
        token = "token-of-the-metrics-reader"
        self.fake.set_token(token, user, groups=groups, uid="3f1c-reader")
        self.fake.allow(user=user)
        r = self.cluster.curl(_external("shop", "queue_depth", "queue=orders.eu"),
                              headers=[f"Authorization: Bearer {token}"])
        self.assertEqual(r.status, 200, f"{r.body[:500]} {r.stderr}")
        self.assertEqual([i["metricLabels"] for i in r.json()["items"]],
                         [{"queue": "orders.eu"}])
        token_reviews = self.fake.token_reviews()
        self.assertEqual([t["token"] for t in token_reviews], [token])
        reviews = self._reviews_of(user)
        self.assertEqual(len(reviews), 1, self.fake.access_reviews())
        # Every authenticated user is in system:authenticated.
        self.assertEqual(reviews[0]["groups"], groups + ["system:authenticated"])
        self.assertEqual(reviews[0].get("uid"), "3f1c-reader")
        self._assert_attributes(reviews[0], _external_attributes("shop", "queue_depth"))

    def test_unknown_bearer_token_is_unauthorized(self):
        self.fake.allow()
        token = "a-token-nobody-issued"
        r = self.cluster.curl(_external("shop", "queue_depth"),
                              headers=[f"Authorization: Bearer {token}"])
        self.assertEqual(r.status, 401, f"{r.body[:500]} {r.stderr}")
        self.assertEqual(r.json(), UNAUTHORIZED)
        self.assertEqual([t["token"] for t in self.fake.token_reviews()], [token])
        self.assertEqual(self.fake.access_reviews(), [])

    def test_client_certificate_of_system_masters_needs_no_sar(self):
        # kubectl's kubeconfig: the generated client certificate (O=system:masters).
        doc = self.get_json(_external("billing", "queue_depth", "queue=invoices"))
        self.assertEqual([i["metricLabels"] for i in doc["items"]], [{"queue": "invoices"}])
        self.assertEqual(self.fake.access_reviews(), [],
                         "system:masters is always allowed without a SubjectAccessReview")


class KubeAuthFromConfigMapTest(KubeAuthTest):
    """The same, with no CA flags: the adapter reads both CAs, the allowed names and the header
    names from kube-system/extension-apiserver-authentication on the fake."""
    cluster_options = {"kube": True, "kube_auth_flags": False}


if __name__ == "__main__":
    unittest.main()
