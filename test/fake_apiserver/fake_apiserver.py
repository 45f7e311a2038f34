"""A fake kube-apiserver for tests: HTTPS, LIST/WATCH, discovery, TokenReview, SubjectAccessReview.

No kube-apiserver can be installed on the test machines, so this is the one fake of an external
system the project allows (docs/design.md, "How we test"). Its fidelity is proven by pointing real
`kubectl` at it (test/integration/test_fake_apiserver.py). It answers with the JSON shapes of
kube-apiserver v1.32:

  * discovery: /api, /api/v1, /apis, /apis/<group>, /apis/<group>/<version>, /version; the
    aggregated-discovery Accept types are not served, so clients fall back to these documents,
    and /openapi/* answers 404 as a server without OpenAPI would;
  * GET, LIST and WATCH of every registered resource, namespaced or not, with labelSelector,
    fieldSelector (metadata.name, metadata.namespace; a pod's status.phase and spec.nodeName),
    limit/continue, one global increasing resourceVersion, and the Accept variants
    `as=PartialObjectMetadata(List)` and `as=Table`;
  * WATCH as chunked JSON lines from a bounded history: events after the requested
    resourceVersion, a 410 `Expired` ERROR event when the history no longer reaches back that
    far, BOOKMARKs every `bookmark_interval_s` when asked for, the end after timeoutSeconds;
  * POST tokenreviews and subjectaccessreviews, answered from tables the test fills and recorded
    so that a test can assert on exactly what its client sent;
  * kube-system/extension-apiserver-authentication, an ordinary ConfigMap built from PEM files;
  * the aggregator's part for APIServices the test registers (add_api_service): the group in
    /apis and /apis/<group>, and every /apis/<group>/<version>[/...] request proxied over TLS to
    the backing server with the front-proxy client certificate and the caller's identity in
    X-Remote-User / X-Remote-Group, as kube-aggregator does; each is also an
    apiregistration.k8s.io/v1 APIService object whose `Available` condition the test may set
    (set_api_service_available); while it is not True the proxy answers 503, as the aggregator
    does for an unavailable APIService;
  * autoscaling/v2 HorizontalPodAutoscalers (add_hpa), stored and served as any other object.

Its own clients authenticate with a certificate signed by `client_ca_file` or with one of
`client_tokens`; every authenticated client may do everything.

Library use (all state lives in the FakeApiServer, so it survives stop() and restart()):

    fake = FakeApiServer(cert_file, key_file, client_ca_file)
    fake.start()                       # a free loopback port, kept across restarts
    fake.add_pod("shop", "web-1", {"app": "web"})
    fake.stop(); fake.delete_pod("shop", "web-1"); fake.start()   # same port
    fake.add_api_service("metrics.k8s.io", "v1beta1", "https://127.0.0.1:6443", ca_file,
                         front_proxy_cert, front_proxy_key)   # then kubectl top works

Script use: `fake_apiserver.py --cert-file F --key-file F --client-ca-file F [--port N]
[--port-file F] [--objects FILE.json] [--client-token T]`; serves until SIGTERM or SIGINT.

Only the Python standard library is used. Thread-safe: the test thread and the server's request
threads share the state under one lock.
"""

import argparse
import base64
import collections
import copy
import dataclasses
import datetime
import http.client
import http.server
import json
import pathlib
import re
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.parse
import uuid

# Bounds on everything a client sends or makes the server hold.
MAX_BODY_BYTES = 1024 * 1024  # a TokenReview or SubjectAccessReview
MAX_REVIEW_HANG_S = 30  # a hung TokenReview's thread is freed after this, whatever the test does
MAX_SELECTOR_BYTES = 4096  # labelSelector / fieldSelector text
MAX_LIST_LIMIT = 5000  # `limit` above this is clamped, as a chunked LIST would be
HISTORY_LIMIT = 1000  # WATCH events kept; older resourceVersions get 410 Expired
MAX_WATCH_TIMEOUT_S = 1800  # kube-apiserver's --min-request-timeout (30 min)
DEFAULT_WATCH_TIMEOUT_S = 300  # a WATCH without timeoutSeconds
DEFAULT_BOOKMARK_INTERVAL_S = 2.0  # kube-apiserver sends them about once a minute; tests wait less
HANDSHAKE_TIMEOUT_S = 10
IDLE_TIMEOUT_S = 60  # a keep-alive connection with no request
MAX_RECORDED_REQUESTS = 10000
MAX_RECORDED_REVIEWS = 10000
WATCH_POLL_S = 0.2  # how often a WATCH notices stop()
START_TIMEOUT_S = 10
MAX_PROXIED_BODY_BYTES = 16 * 1024 * 1024  # an APIService's answer passed through
PROXY_TIMEOUT_S = 30
# The groups kube-apiserver gives an authenticated user beyond its certificate's organisations.
AUTHENTICATED_GROUP = "system:authenticated"

SERVER_VERSION = {
    "major": "1", "minor": "32", "gitVersion": "v1.32.0-fake", "gitCommit": "0" * 40,
    "gitTreeState": "clean", "buildDate": "2024-12-11T00:00:00Z", "goVersion": "go1.23.4",
    "compiler": "gc", "platform": "linux/amd64",
}
AUTH_CONFIGMAP_NAMESPACE = "kube-system"
AUTH_CONFIGMAP_NAME = "extension-apiserver-authentication"
META_GROUP_VERSION = "meta.k8s.io/v1"
_STANDARD_VERBS = ("get", "list", "watch")


@dataclasses.dataclass(frozen=True)
class Resource:
    """One served resource, as discovery describes it."""
    group: str  # "" for the core group
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    verbs: tuple = _STANDARD_VERBS
    short_names: tuple = ()
    categories: tuple = ()

    @property
    def group_version(self):
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self):
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def discovery_entry(self):
        entry = {"name": self.plural, "singularName": self.singular,
                 "namespaced": self.namespaced, "kind": self.kind, "verbs": list(self.verbs)}
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        if self.categories:
            entry["categories"] = list(self.categories)
        return entry


_ALL = ("all",)
_CREATE_ONLY = ("create",)
DEFAULT_RESOURCES = (
    Resource("", "v1", "pods", "pod", "Pod", True, short_names=("po",), categories=_ALL),
    Resource("", "v1", "services", "service", "Service", True, short_names=("svc",),
             categories=_ALL),
    Resource("", "v1", "endpoints", "endpoints", "Endpoints", True, short_names=("ep",)),
    Resource("", "v1", "configmaps", "configmap", "ConfigMap", True, short_names=("cm",)),
    Resource("", "v1", "secrets", "secret", "Secret", True),
    Resource("", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", True,
             short_names=("sa",)),
    Resource("", "v1", "namespaces", "namespace", "Namespace", False, short_names=("ns",)),
    Resource("", "v1", "nodes", "node", "Node", False, short_names=("no",)),
    Resource("apps", "v1", "deployments", "deployment", "Deployment", True,
             short_names=("deploy",), categories=_ALL),
    Resource("apps", "v1", "replicasets", "replicaset", "ReplicaSet", True,
             short_names=("rs",), categories=_ALL),
    Resource("apps", "v1", "statefulsets", "statefulset", "StatefulSet", True,
             short_names=("sts",), categories=_ALL),
    Resource("apps", "v1", "daemonsets", "daemonset", "DaemonSet", True, short_names=("ds",),
             categories=_ALL),
    Resource("batch", "v1", "jobs", "job", "Job", True, categories=_ALL),
    Resource("autoscaling", "v2", "horizontalpodautoscalers", "horizontalpodautoscaler",
             "HorizontalPodAutoscaler", True, short_names=("hpa",), categories=_ALL),
    Resource("apiregistration.k8s.io", "v1", "apiservices", "apiservice", "APIService", False),
    Resource("batch", "v1", "cronjobs", "cronjob", "CronJob", True, short_names=("cj",),
             categories=_ALL),
    Resource("authentication.k8s.io", "v1", "tokenreviews", "tokenreview", "TokenReview", False,
             verbs=_CREATE_ONLY),
    Resource("authorization.k8s.io", "v1", "subjectaccessreviews", "subjectaccessreview",
             "SubjectAccessReview", False, verbs=_CREATE_ONLY),
)
_REVIEW_KINDS = ("TokenReview", "SubjectAccessReview")


@dataclasses.dataclass(frozen=True)
class ApiService:
    """An APIService the fake aggregates: requests for group/version go to `url`."""
    group: str
    version: str
    url: str  # https://host:port of the backing server
    ca_file: str  # trusted for the backing server's certificate (the APIService's caBundle)
    client_cert: str  # the front-proxy client certificate the aggregator presents
    client_key: str

    @property
    def group_version(self):
        return f"{self.group}/{self.version}"


class ApiError(Exception):
    """A failure answered as a metav1.Status; `message` is what the client sees."""

    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details


def status_object(code, reason, message, details=None):
    """A metav1.Status in kube-apiserver's field order."""
    doc = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message}
    if reason:
        doc["reason"] = reason
    if details is not None:
        doc["details"] = details
    doc["code"] = code
    return doc


def _now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _available_condition(status, reason, message):
    return {"type": "Available", "status": status, "lastTransitionTime": _now_rfc3339(),
            "reason": reason, "message": message}


# ---- selectors --------------------------------------------------------------------------------

_LABEL_KEY_RE = re.compile(
    r"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_LABEL_VALUE_RE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?")
_SELECTOR_TOKEN_RE = re.compile(r"\s*(!=|==|=|!|,|\(|\)|>|<|[^\s!=,()<>]+)")


def _tokenize(text):
    tokens, pos = [], 0
    while pos < len(text):
        m = _SELECTOR_TOKEN_RE.match(text, pos)
        if not m or m.end() == pos:
            break
        tokens.append(m.group(1))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return tokens


def parse_label_selector(text):
    """apimachinery's labels.Parse grammar; returns a predicate over a labels dict.

    Raises ApiError 400 with the kind of message kube-apiserver gives for a bad selector.
    """
    if len(text) > MAX_SELECTOR_BYTES:
        raise ApiError(400, "BadRequest", f"labelSelector longer than {MAX_SELECTOR_BYTES} bytes")
    tokens = _tokenize(text)
    requirements = []
    i = 0

    def bad(why):
        raise ApiError(400, "BadRequest", f"unable to parse requirement: {why}")

    def key_at(j):
        if j >= len(tokens) or not _LABEL_KEY_RE.fullmatch(tokens[j]):
            bad(f"invalid label key in {text!r}")
        return tokens[j]

    def value_ok(v):
        if len(v) > 63 or not _LABEL_VALUE_RE.fullmatch(v):
            bad(f"invalid label value: {v!r}")
        return v

    while i < len(tokens):
        if tokens[i] == "!":
            key = key_at(i + 1)
            requirements.append(lambda ls, k=key: k not in ls)
            i += 2
        else:
            key = key_at(i)
            i += 1
            op = tokens[i] if i < len(tokens) else ","
            if op == ",":
                requirements.append(lambda ls, k=key: k in ls)
            elif op in ("=", "==", "!="):
                value = ""
                if i + 1 < len(tokens) and tokens[i + 1] != ",":
                    value = value_ok(tokens[i + 1])
                    i += 1
                i += 1
                if op == "!=":
                    requirements.append(lambda ls, k=key, v=value: ls.get(k) != v)
                else:
                    requirements.append(lambda ls, k=key, v=value: ls.get(k) == v)
            elif op in (">", "<"):
                if i + 1 >= len(tokens) or not re.fullmatch(r"-?\d+", tokens[i + 1]):
                    bad(f"for 'Gt', 'Lt' operators, the value must be an integer in {text!r}")
                bound = int(tokens[i + 1])
                i += 2

                def compare(ls, k=key, b=bound, gt=op == ">"):
                    try:
                        v = int(ls[k])
                    except (KeyError, ValueError):
                        return False
                    return v > b if gt else v < b

                requirements.append(compare)
            elif op in ("in", "notin"):
                if i + 1 >= len(tokens) or tokens[i + 1] != "(":
                    bad(f"found '{tokens[i + 1] if i + 1 < len(tokens) else ''}', "
                        "expected: '('")
                i += 2
                values = set()
                while True:
                    if i >= len(tokens):
                        bad(f"found '', expected: ',', ')' in {text!r}")
                    if tokens[i] == ")":
                        i += 1
                        break
                    if tokens[i] == ",":
                        i += 1
                        continue
                    values.add(value_ok(tokens[i]))
                    i += 1
                if not values:
                    bad("for 'in', 'notin' operators, values set can't be empty")
                if op == "in":
                    requirements.append(lambda ls, k=key, vs=frozenset(values): ls.get(k) in vs)
                else:
                    requirements.append(
                        lambda ls, k=key, vs=frozenset(values): ls.get(k) not in vs)
            else:
                bad(f"found '{op}', expected: in, notin, =, ==, !=, gt, lt in {text!r}")
        if i < len(tokens):
            if tokens[i] != ",":
                bad(f"found '{tokens[i]}', expected: ',' or 'end of string' in {text!r}")
            i += 1
            if i == len(tokens):
                bad(f"found '', expected: identifier after ',' in {text!r}")
    return lambda labels: all(r(labels) for r in requirements)


_FIELD_LABELS = {"metadata.name": ("metadata", "name"),
                 "metadata.namespace": ("metadata", "namespace")}
# Fields kube-apiserver also selects pods by (a subset of pkg/registry/core/pod's field set).
_POD_FIELD_LABELS = {"spec.nodeName": ("spec", "nodeName"), "status.phase": ("status", "phase")}


def parse_field_selector(text, kind=None):
    """metadata.name / metadata.namespace (and a pod's spec.nodeName / status.phase) with =, ==,
    !=; returns a predicate over objects."""
    if len(text) > MAX_SELECTOR_BYTES:
        raise ApiError(400, "BadRequest", f"fieldSelector longer than {MAX_SELECTOR_BYTES} bytes")
    fields = dict(_FIELD_LABELS, **(_POD_FIELD_LABELS if kind == "Pod" else {}))
    terms = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        m = re.fullmatch(r"([^=!]+?)\s*(!=|==|=)\s*(.*)", part)
        if not m:
            raise ApiError(400, "BadRequest", f"invalid selector: '{text}'; can't understand "
                           f"'{part}'")
        field, op, value = m.groups()
        if field not in fields:
            raise ApiError(400, "BadRequest", f"field label not supported: {field}")
        section, key = fields[field]
        if op == "!=":
            terms.append(lambda o, s=section, k=key, v=value: (o.get(s) or {}).get(k, "") != v)
        else:
            terms.append(lambda o, s=section, k=key, v=value: (o.get(s) or {}).get(k, "") == v)
    return lambda obj: all(t(obj) for t in terms)


# ---- content negotiation ----------------------------------------------------------------------

SHAPE_FULL = "full"
SHAPE_METADATA = "metadata"  # PartialObjectMetadata(List)
SHAPE_TABLE = "table"


def negotiate(accept, want_list, kind):
    """The response shape for an Accept header, or ApiError 406.

    Like kube-apiserver, the first acceptable media type wins, and asking for the list form of
    metadata for one object (or the reverse) is then an error rather than a reason to try the
    next one. A WATCH delivers single objects: it takes as=PartialObjectMetadata, as client-go's
    metadata informers send. Aggregated discovery, protobuf and CBOR are not served, so a client
    that offers them and JSON gets JSON, as from an older kube-apiserver.
    """
    offers = [o.strip() for o in (accept or "*/*").split(",") if o.strip()]
    for offer in offers:
        parts = [p.strip() for p in offer.split(";")]
        media = parts[0].lower()
        params = {}
        for p in parts[1:]:
            k, _, v = p.partition("=")
            params[k.strip().lower()] = v.strip()
        if media not in ("application/json", "application/*", "*/*"):
            continue
        as_kind = params.get("as")
        if as_kind is None:
            return SHAPE_FULL
        if params.get("g") != "meta.k8s.io" or params.get("v") != "v1":
            continue
        if as_kind == "Table":
            return SHAPE_TABLE
        if as_kind == "PartialObjectMetadataList":
            if not want_list:
                raise ApiError(406, "NotAcceptable", "you requested PartialObjectMetadataList, "
                               f"but the requested object is not a list (*v1.{kind})")
            return SHAPE_METADATA
        if as_kind == "PartialObjectMetadata":
            if want_list:
                raise ApiError(406, "NotAcceptable", "you requested PartialObjectMetadata, but "
                               f"the requested object is a list (*v1.{kind}List)")
            return SHAPE_METADATA
    raise ApiError(406, "NotAcceptable", "only the following media types are accepted: "
                   "application/json, application/yaml, application/vnd.kubernetes.protobuf")


def _partial(obj):
    return {"kind": "PartialObjectMetadata", "apiVersion": META_GROUP_VERSION,
            "metadata": copy.deepcopy(obj["metadata"])}


def _table(objects, resource_version):
    return {
        "kind": "Table", "apiVersion": META_GROUP_VERSION,
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": [
            {"name": "Name", "type": "string", "format": "name",
             "description": "Name must be unique within a namespace.", "priority": 0},
            {"name": "Created At", "type": "date", "format": "",
             "description": "CreationTimestamp is a timestamp representing the server time "
                            "when this object was created.", "priority": 0},
        ],
        "rows": [{"cells": [o["metadata"]["name"], o["metadata"].get("creationTimestamp")],
                  "object": _partial(o)} for o in objects],
    }


_METADATA_ORDER = ("name", "generateName", "namespace", "uid", "resourceVersion", "generation",
                   "creationTimestamp", "deletionTimestamp", "labels", "annotations",
                   "ownerReferences", "finalizers")


def _in_api_order(resource, obj):
    """The object with kube-apiserver's field order: type, metadata, then the rest."""
    meta = obj["metadata"]
    ordered_meta = {k: meta[k] for k in _METADATA_ORDER if k in meta}
    ordered_meta.update((k, v) for k, v in meta.items() if k not in ordered_meta)
    out = {"kind": resource.kind, "apiVersion": resource.group_version, "metadata": ordered_meta}
    out.update((k, v) for k, v in obj.items() if k not in out)
    return out


# ---- state ------------------------------------------------------------------------------------

@dataclasses.dataclass
class _Event:
    resource_version: int
    resource: Resource
    type: str  # ADDED, MODIFIED, DELETED
    obj: dict
    old: dict  # the object before a MODIFIED, else None


@dataclasses.dataclass
class SarRule:
    """One row of the SubjectAccessReview table; None fields match anything.

    attributes: items that must equal those of the review's resourceAttributes or
    nonResourceAttributes (e.g. {"resource": "pods", "subresource": "http_requests"}).
    """
    allowed: bool
    denied: bool = False
    reason: str = ""
    user: str = None
    group: str = None
    attributes: dict = None

    def matches(self, spec):
        if self.user is not None and spec.get("user") != self.user:
            return False
        if self.group is not None and self.group not in (spec.get("groups") or []):
            return False
        if self.attributes:
            attrs = spec.get("resourceAttributes") or spec.get("nonResourceAttributes") or {}
            if any(attrs.get(k, "") != v for k, v in self.attributes.items()):
                return False
        return True


class _HttpServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # Queue of connections not yet accepted: tests open a handful at a time.
    request_queue_size = 64

    def __init__(self, address, fake, context):
        self.fake = fake
        self.ssl_context = context
        self.stopping = threading.Event()
        self.connections = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def get_request(self):
        sock, address = self.socket.accept()
        # The handshake runs on the request's own thread (in _Handler.setup), so that a client
        # that never finishes it cannot hold up accept().
        return self.ssl_context.wrap_socket(sock, server_side=True,
                                            do_handshake_on_connect=False), address

    def handle_error(self, request, client_address):
        self.fake._log(f"connection from {client_address[0]}:{client_address[1]} failed: "
                       f"{sys.exc_info()[1]!r}")

    def close_connections(self):
        with self.connections_lock:
            connections = list(self.connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class FakeApiServer:
    """The fake kube-apiserver; see the module docstring. Thread-safe (one lock)."""

    def __init__(self, cert_file, key_file, client_ca_file=None, client_tokens=(), port=0,
                 resources=DEFAULT_RESOURCES, history_limit=HISTORY_LIMIT,
                 bookmark_interval_s=DEFAULT_BOOKMARK_INTERVAL_S, log=None):
        self.cert_file = str(cert_file)
        self.key_file = str(key_file)
        self.client_ca_file = str(client_ca_file) if client_ca_file else None
        self.client_tokens = set(client_tokens)
        self.port = port
        self.resources = tuple(resources)
        self.history_limit = history_limit
        self.bookmark_interval_s = bookmark_interval_s
        self.log_stream = log
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._objects = {r: {} for r in self.resources}  # resource -> {(ns, name): object}
        self._resource_version = 1
        self._history = collections.deque()
        # Every event with a resourceVersion above this is still in the history.
        self._history_floor = self._resource_version
        self._tokens = {}  # TokenReview table: token -> user info
        # Cleared while TokenReviews hang (hang_token_reviews): a hung review is answered once
        # it is set again, or after MAX_REVIEW_HANG_S.
        self._reviews_flowing = threading.Event()
        self._reviews_flowing.set()
        self._sar_rules = []
        self._token_reviews = collections.deque(maxlen=MAX_RECORDED_REVIEWS)
        self._access_reviews = collections.deque(maxlen=MAX_RECORDED_REVIEWS)
        self._requests = collections.deque(maxlen=MAX_RECORDED_REQUESTS)
        self._api_services = {}  # (group, version) -> ApiService
        self._server = None
        self._thread = None
        for namespace in ("default", "kube-system", "kube-public"):
            self.add_namespace(namespace)

    # ---- lifecycle ----------------------------------------------------------------------------

    @property
    def url(self):
        return f"https://127.0.0.1:{self.port}"

    def running(self):
        return self._server is not None

    def start(self):
        """Serves on 127.0.0.1:port (a free port the first time; the same one after)."""
        if self._server is not None:
            raise RuntimeError("the fake apiserver is already running")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.cert_file, self.key_file)
        if self.client_ca_file:
            context.load_verify_locations(self.client_ca_file)
            context.verify_mode = ssl.CERT_OPTIONAL
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                server = _HttpServer(("127.0.0.1", self.port), self, context)
                break
            except OSError:
                # The port of a previous run may linger for a moment after stop().
                if self.port == 0 or time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)
        self.port = server.server_address[1]
        with self._lock:
            # Like a restarted kube-apiserver, whose watch cache starts at the current state:
            # a WATCH from an older resourceVersion is told to LIST again.
            self._history.clear()
            self._history_floor = self._resource_version
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"fake-apiserver-{self.port}", daemon=True)
        self._thread.start()
        self._log(f"serving on {self.url}")
        return self

    def stop(self):
        """Stops serving and drops every open connection (WATCH streams end abruptly)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.stopping.set()
        self._reviews_flowing.set()
        with self._lock:
            self._changed.notify_all()
        server.shutdown()
        server.server_close()
        server.close_connections()
        self._thread.join(START_TIMEOUT_S)
        self._thread = None
        self._log("stopped")

    def restart(self):
        self.stop()
        self.start()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _log(self, message):
        if self.log_stream is not None:
            self.log_stream.write(f"{_now_rfc3339()} fake-apiserver: {message}\n")
            self.log_stream.flush()

    # ---- objects ------------------------------------------------------------------------------

    def resource(self, plural, group=""):
        for r in self.resources:
            if r.plural == plural and r.group == group:
                return r
        raise KeyError(f"no resource {plural!r} in group {group!r}")

    @property
    def resource_version(self):
        with self._lock:
            return self._resource_version

    def put(self, plural, obj, group=""):
        """Creates or replaces an object (ADDED or MODIFIED); returns the stored copy."""
        resource = self.resource(plural, group)
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        if "name" not in meta:
            raise ValueError("an object needs metadata.name")
        if resource.namespaced:
            meta.setdefault("namespace", "default")
        else:
            meta.pop("namespace", None)
        key = (meta.get("namespace", ""), meta["name"])
        with self._lock:
            old = self._objects[resource].get(key)
            if old is not None:
                meta["uid"] = old["metadata"]["uid"]
                meta["creationTimestamp"] = old["metadata"]["creationTimestamp"]
            else:
                meta.setdefault("uid", str(uuid.uuid4()))
                meta.setdefault("creationTimestamp", _now_rfc3339())
            meta["resourceVersion"] = ""  # set by _record; here for its place in the order
            obj = _in_api_order(resource, obj)
            self._record(resource, "MODIFIED" if old else "ADDED", key, obj, old)
            return copy.deepcopy(obj)

    def delete(self, plural, name, namespace="", group=""):
        """Deletes an object (DELETED event); KeyError if there is none."""
        resource = self.resource(plural, group)
        key = (namespace if resource.namespaced else "", name)
        with self._lock:
            old = self._objects[resource].get(key)
            if old is None:
                raise KeyError(f"{resource.group_resource} {namespace}/{name} does not exist")
            final = copy.deepcopy(old)
            self._record(resource, "DELETED", key, final, None)

    def _record(self, resource, event_type, key, obj, old):
        # Called with the lock held.
        self._resource_version += 1
        obj["metadata"]["resourceVersion"] = str(self._resource_version)
        if event_type == "DELETED":
            del self._objects[resource][key]
        else:
            self._objects[resource][key] = obj
        self._history.append(_Event(self._resource_version, resource, event_type,
                                    copy.deepcopy(obj), old))
        while len(self._history) > self.history_limit:
            self._history_floor = self._history.popleft().resource_version
        self._changed.notify_all()

    def get(self, plural, name, namespace="", group=""):
        resource = self.resource(plural, group)
        with self._lock:
            obj = self._objects[resource].get((namespace if resource.namespaced else "", name))
            return copy.deepcopy(obj)

    def objects(self, plural, group=""):
        resource = self.resource(plural, group)
        with self._lock:
            return [copy.deepcopy(o) for _, o in sorted(self._objects[resource].items())]

    def compact(self):
        """Forgets the WATCH history, as an etcd compaction would: old watches get 410."""
        with self._lock:
            self._history.clear()
            self._history_floor = self._resource_version

    def add_namespace(self, name, labels=None):
        return self.put("namespaces", {"metadata": {"name": name, "labels": {
            "kubernetes.io/metadata.name": name, **(labels or {})}},
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})

    def add_pod(self, namespace, name, labels=None, node_name="node-1", phase="Running"):
        """A Pod as kube-apiserver returns one (trimmed to fields a reader may look at)."""
        return self.put("pods", {
            "metadata": {"name": name, "namespace": namespace, "labels": dict(labels or {})},
            "spec": {"containers": [{"name": "app", "image": "registry.example/app:1.0",
                                     "resources": {}}],
                     "nodeName": node_name, "restartPolicy": "Always",
                     "serviceAccountName": "default"},
            "status": {"phase": phase, "podIP": "10.0.0.1",
                       "conditions": [{"type": "Ready",
                                       "status": "True" if phase == "Running" else "False"}]},
        })

    def set_pod_phase(self, namespace, name, phase):
        pod = self.get("pods", name, namespace)
        if pod is None:
            raise KeyError(f"pod {namespace}/{name} does not exist")
        pod["status"]["phase"] = phase
        return self.put("pods", pod)

    def add_node(self, name, labels=None, cpu="4", memory="16Gi"):
        """A Node as kube-apiserver returns one, with capacity and allocatable (kubectl top node
        prints usage as a share of allocatable)."""
        resources = {"cpu": cpu, "memory": memory, "pods": "110"}
        return self.put("nodes", {
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name,
                                                  **(labels or {})}},
            "spec": {},
            "status": {"capacity": dict(resources), "allocatable": dict(resources),
                       "conditions": [{"type": "Ready", "status": "True"}],
                       "addresses": [{"type": "Hostname", "address": name}]},
        })

    def add_api_service(self, group, version, url, ca_file, client_cert, client_key,
                        service=("monitoring", "metrics-adapter")):
        """Aggregates group/version: see the module docstring. `service` (namespace, name) is
        what the APIService object names as its backend; it starts Available."""
        with self._lock:
            self._api_services[(group, version)] = ApiService(
                group, version, url, str(ca_file), str(client_cert), str(client_key))
        if not self._serves("apiservices", "apiregistration.k8s.io"):
            return
        self.put("apiservices", {
            "metadata": {"name": f"{version}.{group}"},
            "spec": {"service": {"namespace": service[0], "name": service[1], "port": 443},
                     "group": group, "version": version, "insecureSkipTLSVerify": True,
                     "groupPriorityMinimum": 100, "versionPriority": 100},
            "status": {"conditions": [_available_condition("True", "Passed",
                                                           "all checks passed")]},
        }, group="apiregistration.k8s.io")

    def set_api_service_available(self, group, version, status, reason, message):
        """Sets the APIService's Available condition ("True", "False", "Unknown")."""
        obj = self.get("apiservices", f"{version}.{group}", group="apiregistration.k8s.io")
        if obj is None:
            raise KeyError(f"APIService {version}.{group} does not exist")
        obj["status"] = {"conditions": [_available_condition(status, reason, message)]}
        return self.put("apiservices", obj, group="apiregistration.k8s.io")

    def remove_api_service(self, group, version):
        with self._lock:
            self._api_services.pop((group, version), None)
        if self._serves("apiservices", "apiregistration.k8s.io") and self.get("apiservices", f"{version}.{group}", group="apiregistration.k8s.io"):
            self.delete("apiservices", f"{version}.{group}", group="apiregistration.k8s.io")

    def _serves(self, plural, group):
        return any(r.plural == plural and r.group == group for r in self.resources)

    def _api_service_available(self, service):
        if not self._serves("apiservices", "apiregistration.k8s.io"):
            return True
        obj = self.get("apiservices", f"{service.version}.{service.group}",
                       group="apiregistration.k8s.io")
        conditions = ((obj or {}).get("status") or {}).get("conditions") or []
        return any(c.get("type") == "Available" and c.get("status") == "True"
                   for c in conditions)

    def add_hpa(self, namespace, name, target_name, metrics, target_kind="Deployment",
                target_api_version="apps/v1", min_replicas=1, max_replicas=10):
        """An autoscaling/v2 HorizontalPodAutoscaler; `metrics` is its spec.metrics list."""
        return self.put("horizontalpodautoscalers", {
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"scaleTargetRef": {"apiVersion": target_api_version, "kind": target_kind,
                                        "name": target_name},
                     "minReplicas": min_replicas, "maxReplicas": max_replicas,
                     "metrics": copy.deepcopy(metrics)},
            "status": {"currentReplicas": min_replicas, "desiredReplicas": min_replicas},
        }, group="autoscaling")

    def api_services(self):
        with self._lock:
            return list(self._api_services.values())

    def set_pod_labels(self, namespace, name, labels):
        pod = self.get("pods", name, namespace)
        if pod is None:
            raise KeyError(f"pod {namespace}/{name} does not exist")
        pod["metadata"]["labels"] = dict(labels)
        return self.put("pods", pod)

    def delete_pod(self, namespace, name):
        self.delete("pods", name, namespace)

    def add_deployment(self, namespace, name, match_labels, replicas=1):
        return self.put("deployments", {
            "metadata": {"name": name, "namespace": namespace, "labels": dict(match_labels)},
            "spec": {"replicas": replicas, "selector": {"matchLabels": dict(match_labels)},
                     "template": {"metadata": {"labels": dict(match_labels)},
                                  "spec": {"containers": [{"name": "app",
                                                           "image": "registry.example/app:1.0"}]}}},
            "status": {"replicas": replicas, "readyReplicas": replicas},
        }, group="apps")

    def set_authentication_configmap(self, client_ca_file=None, requestheader_client_ca_file=None,
                                     allowed_names=("front-proxy-client",),
                                     username_headers=("X-Remote-User",),
                                     group_headers=("X-Remote-Group",),
                                     extra_headers_prefix=("X-Remote-Extra-",)):
        """kube-system/extension-apiserver-authentication as kube-apiserver writes it."""
        data = {}
        if client_ca_file:
            data["client-ca-file"] = pathlib.Path(client_ca_file).read_text(encoding="utf-8")
        if requestheader_client_ca_file:
            data["requestheader-client-ca-file"] = pathlib.Path(
                requestheader_client_ca_file).read_text(encoding="utf-8")
            data["requestheader-allowed-names"] = json.dumps(list(allowed_names))
            data["requestheader-username-headers"] = json.dumps(list(username_headers))
            data["requestheader-group-headers"] = json.dumps(list(group_headers))
            data["requestheader-extra-headers-prefix"] = json.dumps(list(extra_headers_prefix))
            data["requestheader-uid-headers"] = json.dumps([])
        return self.put("configmaps", {"metadata": {"name": AUTH_CONFIGMAP_NAME,
                                                    "namespace": AUTH_CONFIGMAP_NAMESPACE},
                                       "data": data})

    # ---- reviews ------------------------------------------------------------------------------

    def set_token(self, token, username, groups=(), uid="", extra=None, audiences=None):
        """TokenReview answers `authenticated` with this user for `token`."""
        with self._lock:
            self._tokens[token] = {"username": username, "uid": uid, "groups": list(groups),
                                   "extra": {k: list(v) for k, v in (extra or {}).items()},
                                   "audiences": audiences}

    def add_sar_rule(self, rule):
        """Appends a SubjectAccessReview rule; the first matching rule answers."""
        with self._lock:
            self._sar_rules.append(rule)

    def allow(self, user=None, group=None, reason="allowed by the test", **attributes):
        self.add_sar_rule(SarRule(allowed=True, reason=reason, user=user, group=group,
                                  attributes=attributes or None))

    def deny(self, user=None, group=None, reason="denied by the test", **attributes):
        self.add_sar_rule(SarRule(allowed=False, denied=True, reason=reason, user=user,
                                  group=group, attributes=attributes or None))

    def clear_sar_rules(self):
        with self._lock:
            self._sar_rules.clear()

    def token_reviews(self):
        """Every TokenReview spec received, oldest first."""
        with self._lock:
            return [copy.deepcopy(r) for r in self._token_reviews]

    def access_reviews(self):
        """Every SubjectAccessReview spec received, oldest first."""
        with self._lock:
            return [copy.deepcopy(r) for r in self._access_reviews]

    def clear_reviews(self):
        with self._lock:
            self._token_reviews.clear()
            self._access_reviews.clear()

    def requests(self):
        """(method, path with query, Accept, authenticated user) of every request, oldest first."""
        with self._lock:
            return list(self._requests)

    def hang_token_reviews(self, hang=True):
        """While `hang`, a TokenReview is read and not answered (a kube-apiserver that hangs)."""
        if hang:
            self._reviews_flowing.clear()
        else:
            self._reviews_flowing.set()

    def _token_review(self, body):
        spec = body.get("spec") or {}
        with self._lock:
            self._token_reviews.append(copy.deepcopy(spec))
        # Recorded, then held outside the lock: only this request's thread waits.
        self._reviews_flowing.wait(MAX_REVIEW_HANG_S)
        with self._lock:
            entry = self._tokens.get(spec.get("token", ""))
        status = {"user": {}}
        if entry is None:
            status["error"] = "[invalid bearer token, token lookup failed]"
        else:
            user = {"username": entry["username"]}
            if entry["uid"]:
                user["uid"] = entry["uid"]
            if entry["groups"]:
                user["groups"] = entry["groups"]
            if entry["extra"]:
                user["extra"] = entry["extra"]
            status = {"authenticated": True, "user": user,
                      "audiences": entry["audiences"] if entry["audiences"] is not None
                      else list(spec.get("audiences") or [])}
        return {"kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1",
                "metadata": {"creationTimestamp": None}, "spec": spec, "status": status}

    def _access_review(self, body):
        spec = body.get("spec") or {}
        with self._lock:
            self._access_reviews.append(copy.deepcopy(spec))
            rule = next((r for r in self._sar_rules if r.matches(spec)), None)
        status = {"allowed": False}
        if rule is not None:
            status = {"allowed": rule.allowed}
            if rule.denied:
                status["denied"] = True
            if rule.reason:
                status["reason"] = rule.reason
        return {"kind": "SubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
                "metadata": {"creationTimestamp": None}, "spec": spec, "status": status}

    # ---- reads --------------------------------------------------------------------------------

    def _select(self, resource, namespace, label_pred, field_pred):
        # Called with the lock held; sorted like etcd keys.
        out = []
        for (ns, _), obj in sorted(self._objects[resource].items()):
            if namespace and ns != namespace:
                continue
            if label_pred(obj["metadata"].get("labels") or {}) and field_pred(obj):
                out.append(obj)
        return out

    def _list(self, resource, namespace, label_pred, field_pred, limit, continue_token, shape):
        start_after = None
        if continue_token:
            try:
                token = json.loads(base64.urlsafe_b64decode(continue_token.encode()))
                start_after = tuple(token["start"])
            except (ValueError, KeyError, TypeError):
                raise ApiError(400, "BadRequest", "continue key is not valid: incorrect encoded "
                               "start resourceVersion (version meta.k8s.io/v1)")
        with self._lock:
            rv = str(self._resource_version)
            items = self._select(resource, namespace, label_pred, field_pred)
            items = [copy.deepcopy(o) for o in items]
        if start_after is not None:
            items = [o for o in items
                     if (o["metadata"].get("namespace", ""), o["metadata"]["name"]) > start_after]
        meta = {"resourceVersion": rv}
        if limit and len(items) > limit:
            last = items[limit - 1]["metadata"]
            meta["continue"] = base64.urlsafe_b64encode(json.dumps(
                {"v": META_GROUP_VERSION, "rv": int(rv),
                 "start": [last.get("namespace", ""), last["name"]]}).encode()).decode()
            meta["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        if shape == SHAPE_TABLE:
            doc = _table(items, rv)
            doc["metadata"] = meta
            return doc
        if shape == SHAPE_METADATA:
            return {"kind": "PartialObjectMetadataList", "apiVersion": META_GROUP_VERSION,
                    "metadata": meta, "items": [_partial(o) for o in items]}
        for o in items:
            # kube-apiserver's lists carry kind/apiVersion once, not per item.
            o.pop("kind", None)
            o.pop("apiVersion", None)
        return {"kind": f"{resource.kind}List", "apiVersion": resource.group_version,
                "metadata": meta, "items": items}

    def _shape_object(self, obj, shape):
        if shape == SHAPE_METADATA:
            return _partial(obj)
        if shape == SHAPE_TABLE:
            return _table([obj], obj["metadata"]["resourceVersion"])
        return copy.deepcopy(obj)

    def _watch_events(self, resource, namespace, label_pred, field_pred, since, shape):
        """Events after `since` that pass the filters (a changed object may enter or leave them),
        and the resourceVersion they bring the watcher to. Called with the lock held."""

        def passes(obj):
            if obj is None:
                return False
            if namespace and obj["metadata"].get("namespace", "") != namespace:
                return False
            return label_pred(obj["metadata"].get("labels") or {}) and field_pred(obj)

        out = []
        for event in self._history:
            if event.resource_version <= since or event.resource is not resource:
                continue
            now, before = passes(event.obj), passes(event.old)
            event_type = event.type
            if event_type == "MODIFIED":
                if now and not before:
                    event_type = "ADDED"
                elif before and not now:
                    # The object left the selection: watchers see it go, at its new version.
                    event_type = "DELETED"
                elif not now:
                    continue
            elif not now:
                continue
            out.append({"type": event_type, "object": self._shape_object(event.obj, shape)})
        return out, self._resource_version

    def _bookmark(self, resource, resource_version, shape):
        obj = {"kind": resource.kind, "apiVersion": resource.group_version,
               "metadata": {"resourceVersion": str(resource_version)}}
        if shape == SHAPE_METADATA:
            obj = _partial(obj)
        return {"type": "BOOKMARK", "object": obj}


# ---- HTTP -------------------------------------------------------------------------------------

class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-kube-apiserver"
    sys_version = ""
    timeout = IDLE_TIMEOUT_S

    def setup(self):
        self.request.settimeout(HANDSHAKE_TIMEOUT_S)
        self.request.do_handshake()
        with self.server.connections_lock:
            self.server.connections.add(self.request)
        super().setup()

    def finish(self):
        with self.server.connections_lock:
            self.server.connections.discard(self.request)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format, *args):  # noqa: A002 (BaseHTTPRequestHandler's signature)
        self.server.fake._log(f"{self.address_string()} {format % args}")

    @property
    def fake(self):
        return self.server.fake

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def do_PUT(self):
        self._serve("PUT")

    def do_PATCH(self):
        self._serve("PATCH")

    def do_DELETE(self):
        self._serve("DELETE")

    # ---- framing ------------------------------------------------------------------------------

    def _send_json(self, code, doc, extra_headers=()):
        body = (json.dumps(doc, separators=(",", ":")) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-cache, private")
        for name, value in extra_headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_text(self, code, text):
        body = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_error(self, error):
        self._send_json(error.code, status_object(error.code, error.reason, error.message,
                                                  error.details))

    def _read_body(self):
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise ApiError(411, "BadRequest", "a request body needs a Content-Length")
        if int(length) > MAX_BODY_BYTES:
            raise ApiError(413, "RequestEntityTooLarge",
                           f"the request body is larger than {MAX_BODY_BYTES} bytes")
        raw = self.rfile.read(int(length))
        try:
            doc = json.loads(raw)
        except ValueError as e:
            raise ApiError(400, "BadRequest", f"the request body is not JSON: {e}")
        if not isinstance(doc, dict):
            raise ApiError(400, "BadRequest", "the request body is not a JSON object")
        return doc

    # ---- authentication of the fake's own clients ---------------------------------------------

    def _authenticate(self):
        cert = self.request.getpeercert()
        if cert:
            for rdn in cert.get("subject", ()):
                for key, value in rdn:
                    if key == "commonName":
                        return value
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer ") and auth[len("Bearer "):].strip() in self.fake.client_tokens:
            return "token-user"
        return None

    # ---- routing ------------------------------------------------------------------------------

    def _serve(self, method):
        try:
            self._route(method)
        except ApiError as e:
            self._send_error(e)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, TimeoutError):
            self.close_connection = True
        except Exception as e:  # noqa: BLE001 (a bug in the fake must not look like a hang-up)
            self.fake._log(f"{method} {self.path} failed: {e!r}")
            self._send_error(ApiError(500, "InternalError", f"Internal error occurred: {e}",
                                      {"causes": [{"message": str(e)}]}))
            self.close_connection = True

    def _route(self, method):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        query = {k: v[0] for k, v in query.items()}
        segments = [urllib.parse.unquote(s) for s in url.path.split("/") if s]
        user = self._authenticate()
        with self.fake._lock:
            self.fake._requests.append((method, self.path, self.headers.get("Accept", ""), user))
        if segments[:1] in (["healthz"], ["livez"], ["readyz"]) and method == "GET":
            self._send_text(200, "ok")
            return
        if user is None:
            raise ApiError(401, "Unauthorized", "Unauthorized")
        if not segments:
            paths = ["/api", "/api/v1", "/apis", "/healthz", "/livez", "/readyz", "/version"]
            served = list(self.fake.resources) + self.fake.api_services()
            paths += sorted({f"/apis/{r.group}" for r in served if r.group} |
                            {f"/apis/{r.group_version}" for r in served if r.group})
            self._send_json(200, {"paths": paths})
            return
        if segments == ["version"]:
            self._send_json(200, SERVER_VERSION)
            return
        if segments[0] == "openapi":
            self._send_text(404, "404 page not found\n")
            return
        if segments[0] == "api":
            if len(segments) == 1:
                self._only_get(method)
                self._send_json(200, {"kind": "APIVersions", "versions": ["v1"],
                                      "serverAddressByClientCIDRs": [
                                          {"clientCIDR": "0.0.0.0/0",
                                           "serverAddress": f"127.0.0.1:{self.fake.port}"}]})
                return
            self._group_version(method, "", segments[1], segments[2:], query)
            return
        if segments[0] == "apis":
            if len(segments) == 1:
                self._only_get(method)
                self._send_json(200, {"kind": "APIGroupList", "apiVersion": "v1",
                                      "groups": [self._group_doc(g) for g in self._groups()]})
                return
            if len(segments) == 2:
                self._only_get(method)
                if segments[1] not in self._groups():
                    raise ApiError(404, "NotFound",
                                   "the server could not find the requested resource")
                doc = self._group_doc(segments[1])
                doc["kind"] = "APIGroup"
                doc["apiVersion"] = "v1"
                self._send_json(200, doc)
                return
            service = self._api_service(segments[1], segments[2])
            if service is not None:
                self._proxy(method, service, user)
                return
            self._group_version(method, segments[1], segments[2], segments[3:], query)
            return
        self._send_text(404, "404 page not found\n")

    @staticmethod
    def _only_get(method):
        if method != "GET":
            raise ApiError(405, "MethodNotAllowed", f"{method} is not supported on this path")

    def _groups(self):
        groups = []
        for r in list(self.fake.resources) + self.fake.api_services():
            if r.group and r.group not in groups:
                groups.append(r.group)
        return groups

    def _group_doc(self, group):
        versions = []
        for r in list(self.fake.resources) + self.fake.api_services():
            if r.group == group and r.version not in [v["version"] for v in versions]:
                versions.append({"groupVersion": r.group_version, "version": r.version})
        return {"name": group, "versions": versions, "preferredVersion": versions[0]}

    def _api_service(self, group, version):
        with self.fake._lock:
            return self.fake._api_services.get((group, version))

    def _organisations(self):
        cert = self.request.getpeercert() or {}
        return [value for rdn in cert.get("subject", ()) for key, value in rdn
                if key == "organizationName"]

    def _proxy(self, method, service, user):
        """Forwards the request as kube-aggregator does: same method, path and query; TLS with the
        front-proxy client certificate; the caller's identity in X-Remote-* headers; no
        credentials of the caller's own. The answer goes back unchanged; an unreachable service
        is 503, as the aggregator answers, and so is an APIService that is not Available."""
        if not self.fake._api_service_available(service):
            raise ApiError(503, "ServiceUnavailable",
                           "the server is currently unable to handle the request")
        url = urllib.parse.urlsplit(service.url)
        context = ssl.create_default_context(cafile=service.ca_file)
        context.load_cert_chain(service.client_cert, service.client_key)
        body = None
        if method in ("POST", "PUT", "PATCH"):
            body = self.rfile.read(min(int(self.headers.get("Content-Length") or 0),
                                       MAX_BODY_BYTES))
        connection = http.client.HTTPSConnection(url.hostname, url.port, context=context,
                                                 timeout=PROXY_TIMEOUT_S)
        try:
            connection.putrequest(method, self.path, skip_accept_encoding=True)
            connection.putheader("X-Remote-User", user)
            # kube-apiserver's groups of a certificate user: its organisations, then
            # system:authenticated; one header line each.
            for group in self._organisations() + [AUTHENTICATED_GROUP]:
                connection.putheader("X-Remote-Group", group)
            connection.putheader("Accept", self.headers.get("Accept", "application/json"))
            connection.putheader("User-Agent", self.headers.get("User-Agent", ""))
            if body is not None:
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body)
            response = connection.getresponse()
            data = response.read(MAX_PROXIED_BODY_BYTES + 1)
            if len(data) > MAX_PROXIED_BODY_BYTES:
                raise ApiError(502, "InternalError", f"{service.group_version} answered more "
                               f"than {MAX_PROXIED_BODY_BYTES} bytes")
            content_type = response.getheader("Content-Type", "application/json")
            status = response.status
        except (OSError, http.client.HTTPException) as e:
            self.fake._log(f"proxy to {service.url} for {self.path} failed: {e!r}")
            raise ApiError(503, "ServiceUnavailable",
                           "the server is currently unable to handle the request")
        finally:
            connection.close()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _group_version(self, method, group, version, rest, query):
        resources = [r for r in self.fake.resources if r.group == group and r.version == version]
        if not resources:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if not rest:
            self._only_get(method)
            self._send_json(200, {"kind": "APIResourceList", "apiVersion": "v1",
                                  "groupVersion": resources[0].group_version,
                                  "resources": [r.discovery_entry() for r in resources]})
            return
        by_name = {r.plural: r for r in resources}
        namespace = ""
        # namespaces/NS/<plural>[/name]; a bare namespaces[/NAME] is the Namespace resource.
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        resource = by_name.get(rest[0])
        if resource is None or len(rest) > 2 or (namespace and not resource.namespaced):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        name = rest[1] if len(rest) == 2 else None
        if resource.kind in _REVIEW_KINDS:
            if method != "POST" or name is not None:
                raise ApiError(405, "MethodNotAllowed",
                               f"{method} is not supported on resources of kind "
                               f'"{resource.group_resource}"',
                               {"group": group, "kind": resource.plural})
            body = self._read_body()
            if body.get("kind") != resource.kind:
                raise ApiError(400, "BadRequest", f"expected a {resource.kind}, got "
                               f"{body.get('kind')!r}")
            handler = (self.fake._token_review if resource.kind == "TokenReview"
                       else self.fake._access_review)
            self._send_json(201, handler(body))
            return
        if method != "GET":
            raise ApiError(405, "MethodNotAllowed",
                           f"{method} is not supported on resources of kind "
                           f'"{resource.group_resource}" by this fake',
                           {"group": group, "kind": resource.plural})
        if name is not None:
            self._get_one(resource, namespace, name)
            return
        label_pred = parse_label_selector(query.get("labelSelector", ""))
        field_pred = parse_field_selector(query.get("fieldSelector", ""), resource.kind)
        if query.get("watch", "") in ("1", "true"):
            self._watch(resource, namespace, label_pred, field_pred, query)
            return
        limit = 0
        if query.get("limit"):
            if not query["limit"].isdigit():
                raise ApiError(400, "BadRequest", f"invalid limit {query['limit']!r}")
            limit = min(int(query["limit"]), MAX_LIST_LIMIT)
        shape = negotiate(self.headers.get("Accept"), True, resource.kind)
        self._send_json(200, self.fake._list(resource, namespace, label_pred, field_pred, limit,
                                             query.get("continue", ""), shape))

    def _get_one(self, resource, namespace, name):
        shape = negotiate(self.headers.get("Accept"), False, resource.kind)
        obj = self.fake.get(resource.plural, name, namespace, resource.group)
        if obj is None:
            details = {"name": name, "kind": resource.plural}
            if resource.group:
                details["group"] = resource.group
            raise ApiError(404, "NotFound", f'{resource.group_resource} "{name}" not found',
                           details)
        self._send_json(200, self.fake._shape_object(obj, shape))

    # ---- WATCH --------------------------------------------------------------------------------

    def _watch(self, resource, namespace, label_pred, field_pred, query):
        shape = negotiate(self.headers.get("Accept"), False, resource.kind)
        timeout_s = DEFAULT_WATCH_TIMEOUT_S
        if query.get("timeoutSeconds"):
            if not query["timeoutSeconds"].isdigit():
                raise ApiError(400, "BadRequest",
                               f"invalid timeoutSeconds {query['timeoutSeconds']!r}")
            timeout_s = min(int(query["timeoutSeconds"]), MAX_WATCH_TIMEOUT_S)
        bookmarks = query.get("allowWatchBookmarks", "") in ("1", "true")
        rv_text = query.get("resourceVersion", "")
        # WatchList (streaming LIST): the state as ADDED events, then a bookmark marking the end.
        send_initial = query.get("sendInitialEvents", "") in ("1", "true")
        if send_initial and (not bookmarks or query.get("resourceVersionMatch") != "NotOlderThan"):
            raise ApiError(422, "Invalid", "sendInitialEvents requires allowWatchBookmarks=true "
                           "and resourceVersionMatch=NotOlderThan")
        fake = self.fake
        initial, expired = [], None
        with fake._lock:
            if rv_text in ("", "0") or send_initial:
                # No resourceVersion: the current state as ADDED events, then changes.
                since = fake._resource_version
                initial = [{"type": "ADDED", "object": fake._shape_object(o, shape)}
                           for o in fake._select(resource, namespace, label_pred, field_pred)]
                if send_initial:
                    end = fake._bookmark(resource, since, shape)
                    end["object"]["metadata"]["annotations"] = {
                        "k8s.io/initial-events-end": "true"}
                    initial.append(end)
            else:
                if not rv_text.isdigit():
                    raise ApiError(400, "BadRequest",
                                   f"invalid resource version: {rv_text!r}")
                since = int(rv_text)
                if since < fake._history_floor:
                    expired = status_object(
                        410, "Expired",
                        f"too old resource version: {since} ({fake._history_floor + 1})")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        # A WATCH ends with its connection, as kube-apiserver's do over HTTP/1.1.
        self.close_connection = True
        if expired is not None:
            self._chunk({"type": "ERROR", "object": expired})
            self._end_chunks()
            return
        for event in initial:
            self._chunk(event)
        deadline = time.monotonic() + timeout_s
        next_bookmark = time.monotonic() + fake.bookmark_interval_s
        stopping = self.server.stopping
        while not stopping.is_set():
            now = time.monotonic()
            if now >= deadline:
                break
            with fake._lock:
                events, latest = fake._watch_events(resource, namespace, label_pred, field_pred,
                                                    since, shape)
                if not events and latest == since:
                    fake._changed.wait(min(WATCH_POLL_S, deadline - now,
                                           max(0.0, next_bookmark - now)))
                    events, latest = fake._watch_events(resource, namespace, label_pred,
                                                        field_pred, since, shape)
                expired_now = since < fake._history_floor
            if expired_now:
                # The history was compacted under a slow watcher.
                self._chunk({"type": "ERROR", "object": status_object(
                    410, "Expired", f"too old resource version: {since} "
                    f"({fake._history_floor + 1})")})
                break
            for event in events:
                self._chunk(event)
            since = latest
            if bookmarks and time.monotonic() >= next_bookmark:
                self._chunk(fake._bookmark(resource, since, shape))
                next_bookmark = time.monotonic() + fake.bookmark_interval_s
        if stopping.is_set():
            # A stopped server drops the stream without the final chunk, as a crash would.
            return
        self._end_chunks()

    def _chunk(self, event):
        data = (json.dumps(event, separators=(",", ":")) + "\n").encode()
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _end_chunks(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


# ---- script -----------------------------------------------------------------------------------

def _load_objects(fake, path):
    """Loads a JSON List (kind/apiVersion per item) of objects into the fake."""
    doc = json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
    for item in doc.get("items", []):
        group_version = item.get("apiVersion", "v1")
        group = group_version.rpartition("/")[0]
        resource = next((r for r in fake.resources
                         if r.kind == item.get("kind") and r.group == group), None)
        if resource is None:
            raise SystemExit(f"{path}: no served resource of kind {item.get('kind')!r} in "
                             f"{group_version}")
        fake.put(resource.plural, item, group)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cert-file", required=True, help="serving certificate (PEM)")
    parser.add_argument("--key-file", required=True, help="serving key (PEM)")
    parser.add_argument("--client-ca-file", help="CA that signs accepted client certificates")
    parser.add_argument("--client-token", action="append", default=[],
                        help="bearer token accepted from clients (repeatable)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free one)")
    parser.add_argument("--port-file", help="write the port here once serving")
    parser.add_argument("--objects", help="JSON List of objects to serve")
    parser.add_argument("--requestheader-client-ca-file",
                        help="publish the authentication ConfigMap with this front-proxy CA")
    args = parser.parse_args(argv)
    fake = FakeApiServer(args.cert_file, args.key_file, args.client_ca_file, args.client_token,
                         port=args.port, log=sys.stderr)
    if args.objects:
        _load_objects(fake, args.objects)
    if args.client_ca_file or args.requestheader_client_ca_file:
        fake.set_authentication_configmap(args.client_ca_file, args.requestheader_client_ca_file)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    fake.start()
    if args.port_file:
        tmp = pathlib.Path(args.port_file + ".tmp")
        tmp.write_text(f"{fake.port}\n", encoding="utf-8")
        tmp.replace(args.port_file)
    while not stop.wait(1):
        pass
    fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
