#!/usr/bin/env python3
"""Soak: HPA-like polling of the real adapter while faults come and go; writes a report.

One driver, two durations. `make soak` (scripts/soak.sh) runs `main()` for SOAK_MINUTES (30 by
default) and writes docs/reliability.md; test/integration/test_soak_short.py runs a short
schedule of the same pieces inside `make test` and asserts on them.

What runs (test/integration/harness.py starts every process):
  * the adapter, not standalone: authentication and authorization are delegated to the fake
    kube-apiserver, which allows everything, so every poll carries the aggregator's identity: the
    front-proxy client certificate and X-Remote-User/-Group headers of the HPA controller;
  * Prometheus behind a TcpProxy the driver controls (forward, hang, delay), and killed with
    SIGKILL and restarted when the schedule says so;
  * `Poller` threads, each one HPA-like client on one keep-alive HTTPS connection, reading a set
    of external and custom metric values on a fixed cadence, and one discovery client;
  * during the hostile window, 2,000 idle TCP connections (replaced as the server closes them),
    partial TLS handshakes and slow writers from other loopback addresses.

Every answer is recorded and classified: `fresh` (a 200 whose sample is at most the cache TTL old,
plus a slack for query time and the timestamp's one-second resolution), `stale` (an older
sample), or its failure (`503`, `504`, other codes, `timeout`, `connection`). A failure is
*unjustified* when the driver had seen a value for that key within --cache-max-stale (less a
margin): the adapter could have served it. RSS, open descriptors and threads of the adapter come
from /proc (harness.process_stats). Latencies are measured, never asserted.

Only the Python standard library is used.
"""

import argparse
import contextlib
import dataclasses
import datetime
import http.client
import json
import os
import pathlib
import re
import shlex
import shutil
import signal
import socket
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "integration"))
import harness  # noqa: E402

EXTERNAL = "/apis/external.metrics.k8s.io/v1beta1"
CUSTOM = "/apis/custom.metrics.k8s.io/v1beta1"
HPA_USER = "system:serviceaccount:kube-system:horizontal-pod-autoscaler"
HPA_GROUPS = ("system:serviceaccounts", "system:serviceaccounts:kube-system",
              "system:authenticated")


def _selector(selector):
    return "?labelSelector=" + urllib.parse.quote(selector, safe="")


# The values an HPA of each kind reads (test/data/integration: metrics.txt and rules.yaml).
VALUE_PATHS = (
    f"{EXTERNAL}/namespaces/shop/queue_depth" + _selector("queue=orders"),
    f"{EXTERNAL}/namespaces/shop/queue_depth" + _selector("queue=payments"),
    f"{EXTERNAL}/namespaces/billing/queue_depth",
    f"{EXTERNAL}/namespaces/default/cluster_backlog_seconds",
    f"{CUSTOM}/namespaces/shop/pods/*/http_requests_per_second" + _selector("app=web"),
    f"{CUSTOM}/namespaces/shop/metrics/namespace_cost",
    f"{CUSTOM}/namespaces/billing/metrics/namespace_cost",
)
DISCOVERY_PATHS = (EXTERNAL, CUSTOM)
# Pods behind the custom pod metric, for the fake apiserver (the adapter lists them).
PODS = (("shop", "web-1", {"app": "web"}), ("shop", "web-2", {"app": "web"}),
        ("billing", "api-1", {"app": "api"}))

# A 200 whose sample is older than the TTL by more than this is stale: query time, refresh lead,
# and the one-second resolution of the timestamp.
FRESH_SLACK_S = 2.0
# A failure counts against the adapter only if the driver saw a value this much inside max-stale.
JUSTIFY_MARGIN_S = 3.0
# An answer slower than this is a failed poll: the aggregator would have given up.
POLL_TIMEOUT_S = 45
# Bounds on the driver's own waits.
WARM_UP_TIMEOUT_S = 120
SETTLE_TIMEOUT_S = 60
STATS_INTERVAL_S = 1.0
# The hostile window's attack (harness.IdleConnections and friends).
IDLE_CONNECTIONS = 2000
PARTIAL_HANDSHAKES = 200
SLOW_WRITERS = 20
# The slow-Prometheus window: each chunk a client sends waits this long at the proxy.
SLOW_DELAY_S = 2.0
RULES_REPLACEMENTS = 3

SUCCESS_OUTCOMES = ("fresh", "stale")


def is_server_failure(outcome):
    """A 5xx, or no answer at all: what max-stale exists to avoid."""
    return outcome in ("timeout", "connection") or (outcome.isdigit() and int(outcome) >= 500)


@dataclasses.dataclass(frozen=True)
class Settings:
    """What the adapter runs with, and how hard the clients poll."""
    cache_ttl_s: float = 5
    cache_max_stale_s: float = 60
    clients: int = 8
    poll_interval_s: float = 2.0
    discovery_interval_s: float = 5.0
    # Flags beyond the cache's (e.g. --prometheus-timeout=3s); SOAK_ADAPTER_ARGS adds more.
    adapter_args: tuple = ()

    def adapter_flags(self):
        return (f"--cache-ttl={self.cache_ttl_s:g}s",
                f"--cache-max-stale={self.cache_max_stale_s:g}s", *self.adapter_args)


@dataclasses.dataclass(frozen=True)
class Poll:
    window: int  # index into Soak.windows; -1 outside every window (warm-up, settling)
    client: str
    path: str
    outcome: str  # fresh, stale, an HTTP status, timeout or connection
    latency_s: float
    unjustified: bool  # a failure while a value within max-stale was known
    retried: bool  # sent again on a new connection after the kept-alive one was found closed
    started: float  # time.monotonic() when it was sent


@dataclasses.dataclass
class Window:
    name: str
    description: str
    seconds: float = 0.0
    stats_before: harness.ProcessStats = None
    stats_after: harness.ProcessStats = None
    started: float = 0.0  # time.monotonic() when it began
    counters: dict = dataclasses.field(default_factory=dict)  # deltas of adapter counters
    idle_open: int = None  # hostile window: idle connections open when the attack began
    notes: list = dataclasses.field(default_factory=list)


def cluster_options(**extra):
    """Options of the harness.Cluster a soak runs in; the soak starts the adapter itself."""
    return {"kube": True, "prometheus_proxy": True, "start_adapter": False, **extra}


_TIMESTAMP_RE = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)")


def parse_timestamp(text):
    """Seconds since the epoch of an RFC 3339 timestamp (any number of fractional digits)."""
    m = _TIMESTAMP_RE.fullmatch(text)
    if not m:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    zone = "+00:00" if m.group(3) == "Z" else m.group(3)
    seconds = datetime.datetime.fromisoformat(m.group(1) + zone).timestamp()
    return seconds + float(m.group(2) or 0)


def percentile(values, q):
    """The q-th percentile (0..100) of values by nearest rank; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


# Adapter counters whose growth each window reports (summed over their labels).
COUNTERS = {
    "stale served": "metrics_adapter_cache_stale_served_total",
    "cache hits": "metrics_adapter_cache_hits_total",
    "connections evicted": "metrics_adapter_connections_evicted_total",
    "rules reloads ok": "metrics_adapter_config_reloads_total",
}


class Poller(threading.Thread):
    """One client on one keep-alive HTTPS connection with the aggregator's identity.

    Reads its paths once per interval; like Go's HTTP transport, a GET whose kept-alive
    connection turns out closed before any answer is sent again once on a new connection.
    """

    def __init__(self, soak, name, paths, interval_s, offset_s=0.0):
        super().__init__(name=name, daemon=True)
        self.soak = soak
        self.paths = paths
        self.interval_s = interval_s
        self.offset_s = offset_s
        self.stop_event = threading.Event()
        self.conn = None

    def _connect(self):
        return http.client.HTTPSConnection("127.0.0.1", self.soak.cluster.adapter_port,
                                           timeout=POLL_TIMEOUT_S, context=self.soak.tls)

    def _request(self, path):
        """(status or None, body or what went wrong, whether the GET was sent twice)."""
        for attempt in (0, 1):
            reused = self.conn is not None
            if self.conn is None:
                self.conn = self._connect()
            try:
                # One header line per group, as the aggregator sends them.
                self.conn.putrequest("GET", path)
                self.conn.putheader(harness.USERNAME_HEADER, HPA_USER)
                for group in HPA_GROUPS:
                    self.conn.putheader(harness.GROUP_HEADER, group)
                self.conn.endheaders()
                response = self.conn.getresponse()
                return response.status, response.read(), attempt == 1
            except socket.timeout:
                self._drop()
                return None, b"timeout", attempt == 1
            except (OSError, http.client.HTTPException) as e:
                self._drop()
                closed_early = isinstance(e, (http.client.RemoteDisconnected, BrokenPipeError,
                                              ConnectionResetError))
                if not (reused and closed_early and attempt == 0):
                    return None, f"{type(e).__name__}: {e}".encode(), attempt == 1
        raise AssertionError("unreachable")

    def _drop(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def run(self):
        next_at = time.monotonic() + self.offset_s
        while not self.stop_event.wait(max(0.0, next_at - time.monotonic())):
            # A controller that fell behind skips the missed rounds rather than bursting.
            next_at = max(next_at + self.interval_s, time.monotonic())
            for path in self.paths:
                window = self.soak.current_window()  # a poll belongs to the window it began in
                started = time.monotonic()
                status, body, retried = self._request(path)
                self.soak.record(window, self.name, path, status, body, started, retried)
                if self.stop_event.is_set():
                    break
        self._drop()


class Soak:
    """Drives one harness.Cluster (made with cluster_options()) through fault windows.

    Thread-safe where it must be: record() is called by every Poller.
    """

    def __init__(self, cluster, settings):
        self.cluster = cluster
        self.settings = settings
        self.windows = []
        self.polls = []
        self._lock = threading.Lock()
        self._window = -1
        self._last_good = {}  # path -> newest sample timestamp seen (epoch seconds)
        self.examples = {}  # (window, outcome) -> the first answer of that kind, for the report
        self._pollers = []
        self.tls = None
        self.rules = None
        self.start_stats = None
        self.end_stats = None
        self.peak = None

    # ---- setting up ----------------------------------------------------------------------

    def prepare(self):
        """Objects and permissions in the fake apiserver, a rules file of our own, the adapter."""
        c = self.cluster
        for namespace in ("shop", "billing", "default"):
            c.fake.add_namespace(namespace)
        for namespace, name, labels in PODS:
            c.fake.add_pod(namespace, name, labels)
        c.fake.allow(reason="the soak allows everything")
        self.rules = c.tmp / "soak-rules.yaml"
        shutil.copyfile(harness.DEFAULT_RULES, self.rules)
        c.start_adapter(rules=self.rules, extra_args=self.settings.adapter_flags())
        cert, key = c.pki.front_proxy_client
        self.tls = c.ssl_context()
        self.tls.load_cert_chain(str(cert), str(key))

    def start_pollers(self):
        s = self.settings
        for i in range(s.clients):
            poller = Poller(self, f"hpa-{i}", VALUE_PATHS, s.poll_interval_s,
                            offset_s=s.poll_interval_s * i / s.clients)
            self._pollers.append(poller)
        self._pollers.append(Poller(self, "discovery", DISCOVERY_PATHS, s.discovery_interval_s))
        for poller in self._pollers:
            poller.start()

    def stop_pollers(self):
        for poller in self._pollers:
            poller.stop_event.set()
        for poller in self._pollers:
            poller.join(POLL_TIMEOUT_S + harness.CHILD_STOP_TIMEOUT_S)
        self._pollers = []

    def warm_up(self):
        """Waits until every value path has been answered fresh: every key is cached."""

        def warm():
            with self._lock:
                fresh = {p.path for p in self.polls if p.outcome == "fresh"}
            return set(VALUE_PATHS) <= fresh

        harness.wait_until(warm, WARM_UP_TIMEOUT_S, "a fresh answer for every polled value",
                           check=self._check_adapter)

    def _check_adapter(self):
        if not self.cluster.adapter_running():
            raise harness.HarnessError("the adapter exited during the soak")

    # ---- recording -----------------------------------------------------------------------

    def current_window(self):
        with self._lock:
            return self._window

    def record(self, window, client, path, status, body, started, retried):
        latency_s = time.monotonic() - started
        now = time.time()
        outcome = self._classify(path, status, body, now)
        with self._lock:
            if outcome in SUCCESS_OUTCOMES and path in VALUE_PATHS:
                newest = self._newest_sample(body)
                self._last_good[path] = max(newest, self._last_good.get(path, newest))
            last = self._last_good.get(path)
            unjustified = (is_server_failure(outcome) and last is not None and
                           now - last < self.settings.cache_max_stale_s - JUSTIFY_MARGIN_S)
            self.polls.append(Poll(window, client, path, outcome, latency_s, unjustified,
                                   retried, started))
            if outcome not in SUCCESS_OUTCOMES:
                self.examples.setdefault((window, outcome), _message(body))

    def _classify(self, path, status, body, now):
        if status is None:
            return "timeout" if body == b"timeout" else "connection"
        if status != 200:
            return str(status)
        if path not in VALUE_PATHS:
            return "fresh"  # discovery is served from memory: always current
        try:
            items = json.loads(body)["items"]
        except (ValueError, KeyError):
            return "bad-body"
        if not items:
            return "empty"
        age = now - min(parse_timestamp(i["timestamp"]) for i in items)
        return "fresh" if age <= self.settings.cache_ttl_s + FRESH_SLACK_S else "stale"

    @staticmethod
    def _newest_sample(body):
        return max(parse_timestamp(i["timestamp"]) for i in json.loads(body)["items"])

    def polls_in(self, window):
        """The polls recorded during `window` (a Window of self.windows)."""
        index = self.windows.index(window)
        with self._lock:
            return [p for p in self.polls if p.window == index]

    def _counters(self):
        try:
            samples = self.cluster.adapter_metrics()
        except harness.HarnessError:
            return {}
        totals = {}
        for label, name in COUNTERS.items():
            want = ("outcome", "success") if name.endswith("reloads_total") else None
            totals[label] = sum(v for (n, labels), v in samples.items()
                                if n == name and (want is None or want in labels))
        return totals

    def stats(self):
        return harness.process_stats(self.cluster.adapter_pid())

    def _note_peak(self, stats):
        if self.peak is None:
            self.peak = stats
        else:
            self.peak = harness.ProcessStats(max(self.peak.rss_bytes, stats.rss_bytes),
                                             max(self.peak.open_fds, stats.open_fds),
                                             max(self.peak.threads, stats.threads))

    @contextlib.contextmanager
    def window(self, name, description):
        """Polls recorded inside the block belong to window `name`."""
        w = Window(name, description)
        w.stats_before = self.stats()
        self._note_peak(w.stats_before)
        before = self._counters()
        started = w.started = time.monotonic()
        with self._lock:
            self.windows.append(w)
            self._window = len(self.windows) - 1
        try:
            yield w
        finally:
            with self._lock:
                self._window = -1
            w.seconds = time.monotonic() - started
            if self.cluster.adapter_running():
                w.stats_after = self.stats()
                self._note_peak(w.stats_after)
                after = self._counters()
                w.counters = {k: after[k] - before.get(k, 0) for k in after}

    def hold(self, seconds, tick=None):
        """Waits `seconds` while the pollers run, calling tick() and sampling peaks meanwhile."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self._check_adapter()
            if tick:
                tick()
            self._note_peak(self.stats())
            time.sleep(min(STATS_INTERVAL_S, max(0.0, end - time.monotonic())))

    def settle(self, baseline, rss_margin_bytes, fd_slack, timeout_s=SETTLE_TIMEOUT_S):
        """Waits (bounded) until RSS and descriptors are back near baseline; returns the last
        sample, whether or not they came back."""
        last = [self.stats()]

        def back():
            last[0] = self.stats()
            return (last[0].open_fds <= baseline.open_fds + fd_slack and
                    last[0].rss_bytes <= baseline.rss_bytes + rss_margin_bytes)

        try:
            harness.wait_until(back, timeout_s, "RSS and descriptors back to the start")
        except harness.HarnessError:
            pass
        self.end_stats = last[0]
        return last[0]

    # ---- faults --------------------------------------------------------------------------

    def calm(self, seconds, name="calm"):
        with self.window(name, "no fault"):
            self.hold(seconds)

    def hostile(self, seconds, idle=IDLE_CONNECTIONS, partial=PARTIAL_HANDSHAKES,
                slow=SLOW_WRITERS):
        port = self.cluster.adapter_port
        with self.window("hostile", f"{idle} idle connections (replaced when closed), {partial} "
                         f"partial TLS handshakes, {slow} slow writers") as w:
            attack = harness.IdleConnections(port, idle)
            attack.start()
            partials = writers = None
            try:
                attack.wait_open()
                w.idle_open = len(attack.sockets)
                partials = harness.PartialHandshakes(port, partial)
                writers = harness.SlowWriters(port, self.cluster.pki.ca_crt, slow)
                self.hold(seconds, tick=writers.trickle)
                w.notes.append(f"{attack.opened} idle connections opened in all, "
                               f"{len(attack.sockets)} open at the end")
            finally:
                attack.close()
                for group in (partials, writers):
                    if group is not None:
                        group.close()

    def prometheus_hang(self, seconds):
        with self.window("prometheus-hang", "the proxy accepts and never answers, kept-alive "
                         "connections included"):
            self.cluster.proxy.set_mode(harness.TcpProxy.HANG)
            try:
                self.hold(seconds)
            finally:
                self.cluster.proxy.set_mode(harness.TcpProxy.FORWARD)

    def prometheus_slow(self, seconds, delay_s=SLOW_DELAY_S):
        with self.window("prometheus-slow", f"every request to Prometheus held {delay_s:g} s at "
                         "the proxy"):
            self.cluster.proxy.set_mode(harness.TcpProxy.DELAY, delay_s)
            try:
                self.hold(seconds)
            finally:
                self.cluster.proxy.set_mode(harness.TcpProxy.FORWARD)

    def prometheus_killed(self, seconds, down_fraction=0.6):
        down_s = seconds * down_fraction
        with self.window("prometheus-killed", f"SIGKILL, down {down_s:.0f} s, then restarted "
                         "(start and re-scrape inside the window)") as w:
            self.cluster.stop_prometheus(kill=True)
            try:
                self.hold(down_s)
            finally:
                restarted = time.monotonic()
                self.cluster.start_prometheus()
            w.notes.append(f"Prometheus ready {time.monotonic() - restarted:.1f} s after restart")
            answered = []

            def samples_back():
                # What Prometheus itself answers: tells its gaps from the adapter's.
                if not answered and self._prometheus_has_samples():
                    answered.append(time.monotonic() - restarted)

            self.hold(max(0.0, seconds - (time.monotonic() - restarted) - down_s),
                      tick=samples_back)
            w.notes.append(f"Prometheus answered queue_depth again {answered[0]:.1f} s after "
                           "restart" if answered else "Prometheus answered no queue_depth sample "
                           "before the window ended")

    def _prometheus_has_samples(self):
        try:
            return bool(self.cluster.prometheus_query("queue_depth"))
        except harness.HarnessError:
            return False

    def rules_replaced(self, seconds, times=RULES_REPLACEMENTS):
        """The rules file replaced (rename over it, as an editor or a ConfigMap update does) with
        a copy that differs only in a comment, then SIGHUP; the values must keep flowing."""
        with self.window("rules-replaced", f"rules file replaced {times} times, each followed "
                         "by SIGHUP"):
            text = harness.DEFAULT_RULES.read_text(encoding="utf-8")
            for i in range(times):
                staged = self.rules.with_suffix(".new")
                staged.write_text(f"# soak replacement {i + 1}\n{text}", encoding="utf-8")
                staged.replace(self.rules)
                self.cluster.signal_adapter(signal.SIGHUP)
                self.hold(seconds / times)

    # ---- the report ----------------------------------------------------------------------

    def report(self, title_note):
        s = self.settings
        lines = [
            "# Reliability: the soak",
            "",
            "Written by `make soak` (test/soak/soak.py); do not edit by hand. " + title_note,
            "",
            "The real adapter (not standalone: authentication and authorization delegated to a "
            "fake kube-apiserver that allows everything) serves "
            f"{s.clients} HPA-like clients, each reading {len(VALUE_PATHS)} metric values "
            f"(external and custom) every {s.poll_interval_s:g} s on one kept-alive connection "
            "with the aggregator's identity (front-proxy client certificate, X-Remote-User of "
            "the HPA controller), and one discovery client every "
            f"{s.discovery_interval_s:g} s. A poll belongs to the window it began in. "
            "Prometheus sits behind a TCP proxy the soak "
            "controls. Adapter flags: `" + " ".join(s.adapter_flags()) + "`; the rest at their "
            "defaults" + ("" if any(f.startswith("--prometheus-timeout") for f in s.adapter_flags())
                          else " (--prometheus-timeout=30s among them)") + ".",
            "",
            "How an answer is counted: **fresh** is a 200 whose sample is at most the cache TTL "
            f"old (+{FRESH_SLACK_S:g} s for query time and the timestamp's resolution); "
            "**stale** is an older sample (the last value, within --cache-max-stale); the rest "
            "are failures by status (503, 504, 404, ...), `empty` (200 without items), `timeout` "
            f"(no answer within {POLL_TIMEOUT_S} s) or `connection`. **5xx beyond max-stale** "
            "counts the 5xx, timeouts and connection failures of a key for which the soak had "
            f"seen a value less than max-stale − {JUSTIFY_MARGIN_S:g} s before: the adapter "
            "could have served that value instead. `retried` counts GETs sent again on a new "
            "connection because the kept-alive one was found closed (as Go's HTTP transport "
            "does). Latency "
            "is of the answered value polls, measured by the client.",
            "",
            "## What this run shows",
            "",
            *self._findings(),
            "",
            "## Per window",
            "",
            "| window | what | s | value polls | fresh | stale | failures | "
            "5xx beyond max-stale | retried | p50 / p90 / p99 / max latency (ms) | discovery |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for w in self.windows:
            m = self.summary(w)
            failures = {o: n for o, n in m["outcomes"].items() if o not in SUCCESS_OUTCOMES}
            lat = " / ".join("–" if m["latency"][q] is None else f"{m['latency'][q] * 1000:.0f}"
                             for q in (50, 90, 99, 100))
            lines.append(
                f"| {w.name} | {w.description} | {w.seconds:.0f} | {m['polls']} | "
                f"{m['outcomes'].get('fresh', 0)} | {m['outcomes'].get('stale', 0)} | "
                f"{_format_counts(failures) or 0} | {m['unjustified']} | {m['retried']} | {lat} | "
                f"{_format_counts(m['discovery'])} |")
        lines += ["", "Adapter counters (growth per window) and notes:", ""]
        for w in self.windows:
            counters = ", ".join(f"{k} +{v:g}" for k, v in w.counters.items())
            failed = _count(f"{_short(p.path)} {p.outcome}" for p in self.polls_in(w)
                            if p.outcome not in SUCCESS_OUTCOMES)
            index = self.windows.index(w)
            said = [f"first {o}: \"{m}\"" for (i, o), m in self.examples.items() if i == index]
            for outcome in sorted({p.outcome for p in self.polls_in(w)} - set(SUCCESS_OUTCOMES)):
                times = [p.started - w.started for p in self.polls_in(w) if p.outcome == outcome]
                said.append(f"{outcome} sent from {min(times):.0f} s to {max(times):.0f} s into "
                            "the window")
            notes = "; ".join(w.notes + ([f"failures by path: {_format_counts(failed)}"]
                                         if failed else []) + said)
            lines.append(f"- {w.name}: {counters or 'n/a'}{'; ' + notes if notes else ''}")
        hostile = [w for w in self.windows if w.name == "hostile"]
        if hostile:
            m = self.summary(hostile[0])
            calm = [self.summary(w) for w in self.windows if w.name == "calm"]
            lines += ["", "## The aggregator while hostile clients are active", "",
                      "| | value polls | p50 ms | p90 ms | p99 ms | max ms |",
                      "|---|---|---|---|---|---|"]
            for label, x in [("hostile window", m)] + ([("first calm window", calm[0])]
                                                       if calm else []):
                lines.append(f"| {label} | {x['polls']} | " + " | ".join(
                    "–" if x["latency"][q] is None else f"{x['latency'][q] * 1000:.0f}"
                    for q in (50, 90, 99, 100)) + " |")
        lines += ["", "## The adapter's footprint", "",
                  "| | RSS MiB | open fds | threads |", "|---|---|---|---|"]
        for label, st in (("start (after warm-up)", self.start_stats), ("peak", self.peak),
                          ("end (load gone, settled)", self.end_stats)):
            if st is not None:
                lines.append(f"| {label} | {st.rss_bytes / 2**20:.1f} | {st.open_fds} | "
                             f"{st.threads} |")
        if self.start_stats and self.end_stats:
            a, b = self.start_stats, self.end_stats
            lines.append(f"| growth | {(b.rss_bytes - a.rss_bytes) / 2**20:+.1f} | "
                         f"{b.open_fds - a.open_fds:+d} | {b.threads - a.threads:+d} |")
        total = self.summary(None)
        lines += ["", "## In all", "",
                  f"{total['polls']} value polls: {_format_counts(total['outcomes'])}; "
                  f"{total['unjustified']} 5xx or unanswered polls while max-stale allowed the "
                  "last value.", ""]
        return "\n".join(lines)

    def _findings(self):
        """A few lines derived from the figures below, worst news first."""
        lines = []
        for w in self.windows:
            m = self.summary(w)
            if m["unjustified"]:
                lines.append(f"- {w.name}: {m['unjustified']} of {m['polls']} value polls failed "
                             "with a 5xx or no answer although max-stale allowed the last value.")
        for w in self.windows:
            m = self.summary(w)
            failed = {o: n for o, n in m["outcomes"].items() if o not in SUCCESS_OUTCOMES}
            if failed and not m["unjustified"]:
                lines.append(f"- {w.name}: {sum(failed.values())} of {m['polls']} value polls "
                             f"failed ({_format_counts(failed)}), no 5xx among them while "
                             "max-stale allowed the last value.")
        for w in self.windows:
            worst = self.summary(w)["latency"][100]
            if w.name.startswith("prometheus-") and worst is not None:
                lines.append(f"- {w.name}: the slowest answered poll took {worst:.1f} s.")
        if self.start_stats and self.end_stats:
            a, b = self.start_stats, self.end_stats
            lines.append(f"- The adapter's RSS went from {a.rss_bytes / 2**20:.1f} MiB to "
                         f"{b.rss_bytes / 2**20:.1f} MiB, open descriptors from {a.open_fds} to "
                         f"{b.open_fds}, threads from {a.threads} to {b.threads}.")
        return lines or ["- Every poll was answered."]

    def summary(self, window=None):
        """Counts and latency percentiles of the polls of one Window, or of the whole run."""
        if window is None:
            with self._lock:
                polls = list(self.polls)
        else:
            polls = self.polls_in(window)
        values = [p for p in polls if p.path in VALUE_PATHS]
        latencies = [p.latency_s for p in values if p.outcome in SUCCESS_OUTCOMES]
        return {
            "polls": len(values),
            "outcomes": _count(p.outcome for p in values),
            "unjustified": sum(p.unjustified for p in values),
            "retried": sum(p.retried for p in values),
            "latency": {q: percentile(latencies, q) for q in (50, 90, 99, 100)},
            "discovery": _count(p.outcome for p in polls if p.path not in VALUE_PATHS),
        }


def _count(items):
    counts = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return counts


def _message(body):
    """The message of a Kubernetes Status body, else the start of the body."""
    try:
        return json.loads(body)["message"][:200]
    except (ValueError, KeyError, TypeError):
        return body[:200].decode("utf-8", errors="replace").strip()


def _short(path):
    """A path without the API group prefix, for the report."""
    for prefix in (EXTERNAL, CUSTOM):
        if path.startswith(prefix + "/"):
            return urllib.parse.unquote(path[len(prefix) + 1:])
    return path


def _format_counts(counts):
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))


# `make soak`: fault windows twice as long as the calm ones around them, in this order.
SCHEDULE = (("calm", 1), ("hostile", 2), ("calm", 1), ("prometheus_hang", 2), ("calm", 1),
            ("prometheus_slow", 2), ("calm", 1), ("prometheus_killed", 2), ("calm", 1),
            ("rules_replaced", 2), ("calm", 1))
# "Back to the start" for the settled figures: descriptors the adapter may keep for its own
# outbound connections, and memory an allocator may keep.
FD_SLACK = 8
RSS_MARGIN_BYTES = 16 * 2**20


def run(minutes, out, settings):
    """Runs the whole schedule over `minutes` and writes the report to `out`."""
    harness.raise_fd_limit(IDLE_CONNECTIONS + PARTIAL_HANDSHAKES + SLOW_WRITERS + 1024)
    unit_s = minutes * 60 / sum(weight for _, weight in SCHEDULE)
    started = datetime.datetime.now(datetime.timezone.utc)
    with harness.Cluster(**cluster_options()) as cluster:
        soak = Soak(cluster, settings)
        soak.prepare()
        soak.start_pollers()
        try:
            soak.warm_up()
            soak.start_stats = soak.stats()
            for fault, weight in SCHEDULE:
                getattr(soak, fault)(unit_s * weight)
                w = soak.windows[-1]
                print(f"soak: {w.name} window done ({w.seconds:.0f} s)", flush=True)
            soak.settle(soak.start_stats, RSS_MARGIN_BYTES, FD_SLACK)
        finally:
            soak.stop_pollers()
        note = (f"This run: {minutes:g} minutes on {started:%Y-%m-%d} ({os.cpu_count()} cores), "
                f"each fault window {unit_s * 2:.0f} s, each calm window {unit_s:.0f} s. "
                "A short run only shows that the soak works; the 30-minute run (`make soak`, "
                "the default SOAK_MINUTES) is the one whose figures count, on a quiet machine.")
        text = soak.report(note)
    pathlib.Path(out).write_text(text, encoding="utf-8")
    total = soak.summary()
    print(f"soak: wrote {out}: {total['polls']} value polls, "
          f"{_format_counts(total['outcomes'])}, {total['unjustified']} 5xx beyond max-stale")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float,
                        default=float(os.environ.get("SOAK_MINUTES", "30")),
                        help="length of the whole schedule (default: SOAK_MINUTES or 30)")
    parser.add_argument("--out", default=str(harness.SOURCE_DIR / "docs" / "reliability.md"),
                        help="where the report goes (default: docs/reliability.md)")
    args = parser.parse_args(argv)
    extra = tuple(shlex.split(os.environ.get("SOAK_ADAPTER_ARGS", "")))
    run(args.minutes, args.out, Settings(adapter_args=extra))
    return 0


if __name__ == "__main__":
    sys.exit(main())
