#!/usr/bin/env python3
"""`make bench`: measures the adapter and writes docs/benchmarks.md and its plots.

Every figure that has a target is measured side by side with its baseline in the same run on the
same machine, alternating rounds so that noise from the shared machine hits both alike, and the
median of the rounds is reported:

  a. cached external-metric GETs over TLS keep-alive (wrk, 1 thread, 16 connections) against the
     adapter and against Debian's nginx (2 workers) serving the same body with the same
     certificate;
  b. uncached: the adapter with --cache-ttl=0 against the same PromQL sent straight to Prometheus
     (wrk, 1 connection, so latency is not queueing);
  c. HPA fan-in: 2,000 simulated HPAs polling every 15 s over 200 distinct queries; Prometheus'
     own query log counts the backend queries and finds identical queries in flight together;
  d. RSS of the adapter idle, under (a), and with 100,000 cached keys;
  e. new connections: a new TCP connection (TCP_NODELAY set, as Go's client and so the
     aggregator set it), a full TLS handshake and one GET per request, timed from connect() to
     the end of the answer, against the adapter and against the nginx of (a);
  f. discovery at scale: scripts/bench/relist_at_scale.sh (a relist over 1,000,000 series);
  g. RSS with 100,000 distinct keys at the default --cache-ttl (15 s): the keys are read again
     and again while they fill, so refresh-ahead churns their values as it would in a pod
     (--cache-max-stale=20m, so that a slow machine can fill them all).

The latency distributions of (a), (b) and (e) are drawn as percentile curves with gnuplot
(docs/bench/*.png beside docs/benchmarks.md): wrk's own `--latency` prints four percentiles only,
so a wrk Lua script (PERCENTILES_SCRIPT) writes latency:percentile(p) for p from 1 to 99.99.

The processes come from the integration-test harness (test/integration/harness.py): a real
Prometheus scraping the test exporter, the real binary, generated certificates. Only the Python
standard library and gnuplot are used. A figure that misses its target is reported as it is.

--quick (MA_BENCH_QUICK=1 for `make bench`) runs every measurement briefly and one round, and
writes build/bench/benchmarks.md unless --out says otherwise: a smoke run of the script itself on
a busy machine must not overwrite the figures in docs/.
"""

import argparse
import concurrent.futures
import datetime
import http.client
import json
import math
import os
import pathlib
import platform
import random
import re
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

SOURCE_DIR = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(SOURCE_DIR / "test" / "integration"))
import harness  # noqa: E402

CACHED_PATH = ("/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue_depth"
               "?labelSelector=queue%3Dorders")
# Targets of issue 9 (discovery's from issue 5), stated once here and in the report.
TARGET_RPS_RATIO = 0.9  # (a) at least, x nginx's requests/s
TARGET_P99_RATIO = 1.2  # (a) at most, x nginx's p99
TARGET_ADDED_P50_MS = 0.25  # (b) at most, over Prometheus direct
TARGET_FAN_IN_RATIO = 1.05  # (c) at most, backend queries / distinct keys per TTL
TARGET_IDLE_RSS_MIB = 18.1  # (d) at most: the "before" run's figures
TARGET_100K_RSS_MIB = 55.5
TARGET_NEW_CONNECTION_RATIO = 1.5  # (e) at most, x nginx's p50 and p99
TARGET_RELIST_S = 5  # (f)
TARGET_RELIST_RSS_MIB = 150
TARGET_CHURN_RSS_MIB = 200  # (g) at most, peak RSS (VmHWM): issue 12's target

# The "before" column: the figures of the run of 2026-12-03 on the code before issue 9, as
# docs/benchmarks.md reported them. (c) was then counted over the whole run, first TTL included.
# What limits a missed target, as measured on 2026-12-05 (shown only when the target is missed).
P99_LIMIT = (
    "What limits p99 here: wrk's thread and the adapter's two I/O threads (an event loop each) are"
    " three busy threads on two cores, so a connection whose loop's thread has lost its core waits"
    " a scheduler time slice (1–3 ms). nginx's two workers meet the same, but the kernel spreads"
    " its 16 connections unevenly over them, and its p99 varies from round to round as much as"
    " ours. With one I/O thread (`ServerOptions::threads`) the adapter's p99 was 0.44–0.57 ms"
    " against nginx's 0.5–2.8 ms in the same runs; two are kept so that one long request (a large"
    " custom-metrics list) cannot hold up every connection, and on a machine with a core to spare"
    " for each they are not preempted.")
UNCACHED_LIMIT = (
    "What limits it: each answer crosses two threads. The I/O thread hands the query to the curl"
    " worker, and the worker posts the decoded answer back; each hand-over wakes a sleeping"
    " thread, which costs tens of microseconds on this virtual machine (pinning the process to one"
    " core took 47 µs off the p50). Driving curl from the I/O loops themselves (curl's"
    " multi-socket API, a multi handle per loop) would remove both hand-overs.")
RSS_LIMIT = (
    "Where the memory is: idle RSS is mostly pages of the binary and its shared libraries (of"
    " 19.4 MiB read from /proc/PID/smaps on 2026-12-05, 12.5 MiB are file-backed, libcrypto alone"
    " 3.9 MiB and the binary 2.8 MiB; 3.0 MiB are anonymous), so it follows the code that runs at"
    " start; how the before figure divided was not recorded. With 100,000 keys, each cache entry"
    " has two 8-byte fields more since issue 12 (its share of the `--cache-max-bytes` budget, and"
    " the bulkhead ticket that lets a cancelled reader's query be withdrawn): 16 bytes × 100,000,"
    " about 1.6 MiB by arithmetic, not measured apart; the idle difference is most of the rest.")
BEFORE_DATE = "2026-12-03"
BEFORE = {
    "rps_ratio": 0.67, "p99_ratio": 1.58, "p50_ratio": 2.21, "added_p50_ms": 0.546,
    "fan_in_ratio": 17.16 / (200 / 15), "overlaps": 0, "idle_rss": 18.1, "rss_100k": 55.5,
    "relist_s": 0.56, "relist_rss": 17.8,
}
# (g) with the code before issue 12's memory work, measured the same way on 2026-12-05 (not in
# the run of BEFORE_DATE). Issue 12 reported 286–319 MiB with a fill of its own.
BEFORE_CHURN_RSS = "63.6 MiB"

HPA_COUNT = 2000
HPA_DISTINCT_QUERIES = 200
HPA_PERIOD_S = 15
CACHE_TTL_S = 15  # the adapter's default --cache-ttl
# (c) counts backend queries after this warm-up: the first TTL holds each key's first miss and
# its jittered first refresh, which a run of a few TTLs would otherwise weigh far more than a
# long-running adapter ever sees.
FAN_IN_WARM_UP_S = 2 * CACHE_TTL_S
CACHED_KEYS = 100_000
# (g) keeps reading every key for this many TTLs after the cache holds CACHED_KEYS, so that
# every value has been refreshed at least once before the RSS is read.
CHURN_TTLS = 2
# (g)'s --cache-max-stale, long enough for a slow machine to fill CACHED_KEYS.
CHURN_MAX_STALE = "20m"
WRK_TIMEOUT_MARGIN_S = 30


class Settings:
    def __init__(self, quick):
        self.quick = quick
        self.rounds = 1 if quick else 3
        self.wrk_seconds = 3 if quick else 10
        self.fan_in_seconds = FAN_IN_WARM_UP_S + (15 if quick else 120)
        self.fill_timeout_s = 120 if quick else 600
        self.new_connection_seconds = 2 if quick else 10


# ---- small tools ---------------------------------------------------------------------------

def log(message):
    sys.stderr.write(f"bench: {message}\n")
    sys.stderr.flush()


def rss_mib(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"{field} not found for pid {pid}")


class RssSampler:
    """Samples a process's VmRSS every 200 ms in the background; max() is the peak seen."""

    def __init__(self, pid):
        self.pid = pid
        self.samples = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self):
        while not self._stop.is_set():
            self.samples.append(rss_mib(self.pid))
            self._stop.wait(0.2)

    def peak(self):
        return max(self.samples) if self.samples else float("nan")


_WRK_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _wrk_ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        raise RuntimeError(f"unexpected wrk latency {text!r}")
    return float(m.group(1)) * _WRK_UNITS[m.group(2)]


# The percentiles the plots draw: 1 to 99 by 1, then the tail.
PLOT_PERCENTILES = [float(p) for p in range(1, 100)] + [99.5, 99.9, 99.99]

# A wrk script whose done() writes "percentile<TAB>microseconds" lines to the file named by the
# MA_WRK_PERCENTILES_OUT environment variable (wrk's Lua has the os and io libraries).
PERCENTILES_SCRIPT = """-- Written by scripts/bench/bench.py: dumps wrk's latency distribution.
local percentiles = {%s}
done = function(summary, latency, requests)
  local out = assert(io.open(os.getenv("MA_WRK_PERCENTILES_OUT"), "w"))
  for _, p in ipairs(percentiles) do
    out:write(string.format("%%g\\t%%d\\n", p, latency:percentile(p)))
  end
  out:close()
end
""" % ", ".join(f"{p:g}" for p in PLOT_PERCENTILES)

WORK_DIR = None  # a temporary directory for wrk's scripts and dumps, set by main()


def wrk(url, seconds, connections, script=None):
    """Runs wrk with 1 thread; returns {'rps', 'p50', 'p99', 'requests', 'errors'} (ms) and, unless
    a script of the caller's is given, 'dist': [(percentile, ms)] for the plots."""
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    env = dict(os.environ)
    dump = None
    if script is None:
        script = WORK_DIR / "percentiles.lua"
        if not script.exists():
            script.write_text(PERCENTILES_SCRIPT, encoding="utf-8")
        dump = WORK_DIR / "percentiles.tsv"
        dump.unlink(missing_ok=True)
        env["MA_WRK_PERCENTILES_OUT"] = str(dump)
    argv += ["-s", str(script), url]
    out = subprocess.run(argv, capture_output=True, text=True, check=True, env=env,
                         timeout=seconds + WRK_TIMEOUT_MARGIN_S).stdout
    result = {"errors": 0}
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("Requests/sec:"):
            result["rps"] = float(line.split()[1])
        elif re.match(r"^50%\s", line):
            result["p50"] = _wrk_ms(line.split()[1])
        elif re.match(r"^99%\s", line):
            result["p99"] = _wrk_ms(line.split()[1])
        elif "requests in" in line:
            result["requests"] = int(line.split()[0])
        elif line.startswith("Non-2xx or 3xx responses:"):
            result["errors"] += int(line.split()[-1])
        elif line.startswith("Socket errors:"):
            result["errors"] += sum(int(n) for n in re.findall(r"\d+", line))
    missing = {"rps", "p50", "p99"} - result.keys()
    if missing:
        raise RuntimeError(f"wrk printed no {sorted(missing)}:\n{out}")
    if dump is not None:
        result["dist"] = [(float(p), int(us) / 1000.0) for p, us in
                          (line.split("\t") for line in
                           dump.read_text(encoding="ascii").splitlines() if line)]
    return result


def median_of(runs, key):
    return statistics.median(r[key] for r in runs)


def median_distribution(runs):
    """The per-percentile median of the rounds' distributions: [(percentile, ms)]."""
    dists = [r["dist"] for r in runs if r.get("dist")]
    if not dists:
        return []
    return [(points[0][0], statistics.median(ms for _, ms in points)) for points in zip(*dists)]


def percentile_of(sorted_values, p):
    """The p-th percentile (0 < p <= 100) of sorted values, nearest rank."""
    rank = max(1, min(len(sorted_values), math.ceil(p / 100.0 * len(sorted_values))))
    return sorted_values[rank - 1]


class BenchCluster(harness.Cluster):
    """The test cluster, with Prometheus logging every query it evaluates."""

    def _write_prometheus_config(self):
        super()._write_prometheus_config()
        self.query_log = self.tmp / "prometheus-queries.jsonl"
        text = self.prometheus_config.read_text(encoding="utf-8")
        text = text.replace("global:\n", f"global:\n  query_log_file: {self.query_log}\n", 1)
        self.prometheus_config.write_text(text, encoding="utf-8")

    def adapter_pid(self):
        return self.children["adapter"].process.pid

    def restart_adapter(self, *args):
        if self.adapter_running():
            self.stop_adapter()
        self.start_adapter(extra_args=args)

    def queries_logged(self, since, until):
        """(query text, start, end) of every instant query Prometheus finished in the window."""
        out = []
        if not self.query_log.exists():
            return out
        for line in self.query_log.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            end = _parse_rfc3339(entry["ts"])
            if not since <= end <= until:
                continue
            took = entry.get("stats", {}).get("timings", {}).get("execTotalTime", 0.0)
            out.append((entry["params"]["query"], end - took, end))
        return out


def _parse_rfc3339(text):
    # Prometheus writes nanoseconds; Python keeps microseconds.
    m = re.fullmatch(r"(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", text)
    if not m:
        raise ValueError(text)
    base = datetime.datetime.fromisoformat(m.group(1) + (m.group(3).replace("Z", "+00:00")))
    fraction = float("0." + m.group(2)) if m.group(2) else 0.0
    return base.timestamp() + fraction


def metric_sum(samples, fragment):
    """Sum of every sample whose metric name contains fragment (label sets added up)."""
    return sum(v for (name, _labels), v in samples.items() if fragment in name)


# ---- (a) cached GETs vs nginx ----------------------------------------------------------------

class Nginx:
    """Debian's nginx, 2 workers, TLS with the adapter's certificate, serving one body."""

    def __init__(self, directory, port, body, pki):
        self.dir = pathlib.Path(directory)
        self.port = port
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "body.json").write_text(body, encoding="utf-8")
        for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi", "logs"):
            (self.dir / sub).mkdir(exist_ok=True)
        # As root, nginx's workers would run as nobody, who cannot read body.json in the
        # harness's private (0700) temporary directory: keep them as the user running the bench.
        user = "user root root;" if os.geteuid() == 0 else ""
        (self.dir / "nginx.conf").write_text(f"""
{user}
worker_processes 2;
daemon off;
pid {self.dir}/nginx.pid;
error_log {self.dir}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {self.dir}/client_body;
  proxy_temp_path {self.dir}/proxy;
  fastcgi_temp_path {self.dir}/fastcgi;
  uwsgi_temp_path {self.dir}/uwsgi;
  scgi_temp_path {self.dir}/scgi;
  keepalive_requests 100000000;
  keepalive_timeout 90s;
  server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {pki.server_crt};
    ssl_certificate_key {pki.server_key};
    ssl_protocols TLSv1.2 TLSv1.3;
    root {self.dir};
    location / {{
      default_type application/json;
      try_files /body.json =404;
    }}
  }}
}}
""", encoding="utf-8")
        self.child = harness.Child("nginx", ["nginx", "-p", self.dir, "-c", self.dir / "nginx.conf",
                                             "-e", self.dir / "logs" / "error.log"],
                                   self.dir / "nginx.log")

    def __enter__(self):
        self.child.start()
        harness.wait_until(lambda: self._ok(), 30, "nginx to answer", check=self.child.check_running)
        return self

    def __exit__(self, *exc):
        self.child.stop()

    def _ok(self):
        try:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            connection = http.client.HTTPSConnection("127.0.0.1", self.port, context=context,
                                                     timeout=2)
            connection.request("GET", "/")
            return connection.getresponse().status == 200
        except OSError:
            return False


def bench_cached(cluster, settings, results):
    url = cluster.base_url + CACHED_PATH
    warm = cluster.curl(CACHED_PATH)
    if warm.status != 200:
        raise RuntimeError(f"warm-up GET answered {warm.status}: {warm.body[:300]}")
    port = harness.free_port(exclude={cluster.adapter_port, cluster.prometheus_port})
    adapter_runs, nginx_runs = [], []
    with Nginx(cluster.tmp / "nginx", port, warm.body, cluster.pki) as nginx:
        nginx_url = f"https://127.0.0.1:{nginx.port}{CACHED_PATH}"
        wrk(url, 2, 16)  # warm both (connections, caches) before measuring
        wrk(nginx_url, 2, 16)
        with RssSampler(cluster.adapter_pid()) as rss:
            for i in range(settings.rounds):
                adapter_runs.append(wrk(url, settings.wrk_seconds, 16))
                log(f"(a) round {i + 1}: adapter {_brief(adapter_runs[-1])}")
                nginx_runs.append(wrk(nginx_url, settings.wrk_seconds, 16))
                log(f"(a) round {i + 1}: nginx {_brief(nginx_runs[-1])}")
    results["a"] = {"adapter": adapter_runs, "nginx": nginx_runs, "rss_under_load": rss.peak(),
                    "body_bytes": len(warm.body.encode())}


# ---- (e) new connections: adapter vs nginx ----------------------------------------------------

def new_connection_get(port, path, context):
    """One new TCP connection with TCP_NODELAY, a full TLS handshake (no session reuse) and one
    GET; returns (milliseconds from connect() to the last byte of the answer, HTTP status)."""
    request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: bench\r\n"
               "Connection: close\r\n\r\n").encode("ascii")
    start = time.perf_counter()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as raw:
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        raw.settimeout(10)
        raw.connect(("127.0.0.1", port))
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            tls.sendall(request)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = tls.recv(65536)
                if not chunk:
                    raise OSError("connection closed before the end of the headers")
                data += chunk
            head, body = data.split(b"\r\n\r\n", 1)
            length = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
            # Without a Content-Length the answer ends when the server closes the connection.
            while length is None or len(body) < int(length.group(1)):
                chunk = tls.recv(65536)
                if not chunk:
                    if length is None:
                        break
                    raise OSError("connection closed before the end of the body")
                body += chunk
            elapsed_ms = (time.perf_counter() - start) * 1000.0
    return elapsed_ms, int(head.split(b" ", 2)[1])


def new_connections(port, path, context, seconds):
    """New-connection GETs one after the other for `seconds`; the wrk() result's keys plus
    'samples' (ms, sorted)."""
    samples, errors = [], 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            elapsed_ms, status = new_connection_get(port, path, context)
        except OSError:
            errors += 1
            continue
        if status != 200:
            errors += 1
        samples.append(elapsed_ms)
    if not samples:
        raise RuntimeError(f"no new-connection GET to port {port} completed")
    samples.sort()
    return {"rps": len(samples) / seconds, "p50": percentile_of(samples, 50),
            "p99": percentile_of(samples, 99), "requests": len(samples), "errors": errors,
            "dist": [(p, percentile_of(samples, p)) for p in PLOT_PERCENTILES]}


def bench_new_connections(cluster, settings, results):
    warm = cluster.curl(CACHED_PATH)
    if warm.status != 200:
        raise RuntimeError(f"warm-up GET answered {warm.status}: {warm.body[:300]}")
    port = harness.free_port(exclude={cluster.adapter_port, cluster.prometheus_port})
    context = cluster.ssl_context()
    adapter_runs, nginx_runs = [], []
    with Nginx(cluster.tmp / "nginx-e", port, warm.body, cluster.pki) as nginx:
        for target in (cluster.adapter_port, nginx.port):
            new_connections(target, CACHED_PATH, context, 1)  # warm up
        for i in range(settings.rounds):
            adapter_runs.append(new_connections(cluster.adapter_port, CACHED_PATH, context,
                                                settings.new_connection_seconds))
            log(f"(e) round {i + 1}: adapter {_brief(adapter_runs[-1])}")
            nginx_runs.append(new_connections(nginx.port, CACHED_PATH, context,
                                              settings.new_connection_seconds))
            log(f"(e) round {i + 1}: nginx {_brief(nginx_runs[-1])}")
    results["e"] = {"adapter": adapter_runs, "nginx": nginx_runs}


def _brief(run):
    return {k: v for k, v in run.items() if k != "dist"}


# ---- (b) uncached adapter vs Prometheus ------------------------------------------------------

def promql_for(cluster, path):
    out = subprocess.run([str(cluster.adapter_bin), "explain", f"--config={cluster.rules}",
                          f"--prometheus-url={cluster.prometheus_url}", path],
                         capture_output=True, text=True, check=True, timeout=60)
    return out.stdout.strip()


def bench_uncached(cluster, settings, results):
    cluster.restart_adapter("--cache-ttl=0")
    promql = promql_for(cluster, CACHED_PATH)
    prom_url = (cluster.prometheus_url + "/api/v1/query?" +
                urllib.parse.urlencode({"query": promql}))
    adapter_url = cluster.base_url + CACHED_PATH
    wrk(adapter_url, 2, 1)
    wrk(prom_url, 2, 1)
    adapter_runs, prom_runs = [], []
    for i in range(settings.rounds):
        adapter_runs.append(wrk(adapter_url, settings.wrk_seconds, 1))
        log(f"(b) round {i + 1}: adapter uncached {_brief(adapter_runs[-1])}")
        prom_runs.append(wrk(prom_url, settings.wrk_seconds, 1))
        log(f"(b) round {i + 1}: prometheus {_brief(prom_runs[-1])}")
    results["b"] = {"adapter": adapter_runs, "prometheus": prom_runs, "promql": promql}


# ---- (c) HPA fan-in -------------------------------------------------------------------------

def fan_in_path(key):
    return ("/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue_depth?labelSelector=" +
            urllib.parse.quote(f"queue=bench-{key}", safe=""))


def bench_fan_in(cluster, settings, results):
    cluster.restart_adapter()
    duration = settings.fan_in_seconds
    rng = random.Random(42)
    # HPA h reads key h % 200 at phase + 15 s * k: what 2,000 HPA syncs look like.
    schedule = sorted((rng.uniform(0, HPA_PERIOD_S) + HPA_PERIOD_S * k, h % HPA_DISTINCT_QUERIES)
                      for h in range(HPA_COUNT) for k in range(int(duration // HPA_PERIOD_S) + 1))
    schedule = [(t, key) for t, key in schedule if t < duration]
    context = cluster.ssl_context()
    local = threading.local()
    statuses = {}
    lock = threading.Lock()

    def get(path):
        if getattr(local, "conn", None) is None:
            local.conn = http.client.HTTPSConnection("127.0.0.1", cluster.adapter_port,
                                                     context=context, timeout=30)
        try:
            local.conn.request("GET", path)
            response = local.conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            local.conn = None
            status = 0
        with lock:
            statuses[status] = statuses.get(status, 0) + 1

    start_wall = time.time()
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        for due, key in schedule:
            delay = start + due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pool.submit(get, fan_in_path(key))
    elapsed = time.monotonic() - start
    end_wall = time.time()
    time.sleep(1)  # let Prometheus flush its query log
    whole_run = [q for q in cluster.queries_logged(start_wall, end_wall + 0.5)
                 if "bench-" in q[0]]
    steady_from = start_wall + FAN_IN_WARM_UP_S
    queries = [q for q in whole_run if steady_from <= q[2] <= end_wall]
    per_key = {}
    for text, _, _ in queries:
        per_key[text] = per_key.get(text, 0) + 1
    overlaps = 0
    by_text = {}
    for text, begin, end in whole_run:
        by_text.setdefault(text, []).append((begin, end))
    for spans in by_text.values():
        spans.sort()
        for (_, end_a), (begin_b, _) in zip(spans, spans[1:]):
            if begin_b < end_a:
                overlaps += 1
    results["c"] = {
        "requests": len(schedule), "seconds": elapsed, "statuses": statuses,
        "backend_queries": len(queries), "distinct_keys": len(per_key),
        "max_per_key": max(per_key.values()) if per_key else 0, "overlaps": overlaps,
        "window_s": end_wall - steady_from, "warm_up_s": FAN_IN_WARM_UP_S,
        "whole_run_queries": len(whole_run), "whole_run_s": end_wall - start_wall,
    }


# ---- (d) memory ------------------------------------------------------------------------------

FILL_SCRIPT = """
counter = 0
request = function()
  counter = counter + 1
  local key = counter %% %d
  return wrk.format(nil, "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue_depth" ..
                         "?labelSelector=queue%%3Dfill-" .. key)
end
"""


# (g)'s: as FILL_SCRIPT, from a given key on, so that the keys of the runs before are not read
# again (and so kept hot: refreshed every TTL) but left to go cold while the others fill.
CHURN_FILL_SCRIPT = """
counter = %d
request = function()
  counter = counter + 1
  local key = counter %% %d
  return wrk.format(nil, "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue_depth" ..
                         "?labelSelector=queue%%3Dfill-" .. key)
end
"""


def bench_memory(cluster, settings, results):
    cluster.restart_adapter("--cache-ttl=10m", "--cache-max-stale=20m",
                            f"--cache-max-entries={CACHED_KEYS}")
    time.sleep(2)
    idle = rss_mib(cluster.adapter_pid())
    script = cluster.tmp / "fill.lua"
    script.write_text(FILL_SCRIPT % CACHED_KEYS, encoding="utf-8")
    deadline = time.monotonic() + settings.fill_timeout_s
    entries = 0
    while time.monotonic() < deadline:
        wrk(cluster.base_url + "/", 15, 16, script=script)
        entries = metric_sum(cluster.adapter_metrics(), "cache_entries")
        log(f"(d) cached entries: {entries:.0f}")
        if entries >= CACHED_KEYS:
            break
    results["d"] = {"idle": idle, "entries": entries, "rss_100k": rss_mib(cluster.adapter_pid()),
                    "hwm": rss_mib(cluster.adapter_pid(), "VmHWM")}


def bench_memory_churn(cluster, settings, results):
    # The default --cache-ttl, --cache-max-entries and --cache-max-bytes. A key not read for two
    # TTLs is dropped once its value is older than --cache-max-stale: with the default (2 min)
    # the keys held would be the reads of the last two minutes or so, fewer than CACHED_KEYS on a
    # machine whose Prometheus cannot answer that many new keys a second besides the refreshes.
    cluster.restart_adapter(f"--cache-max-stale={CHURN_MAX_STALE}")
    time.sleep(2)
    pid = cluster.adapter_pid()
    idle = rss_mib(pid)
    script = cluster.tmp / "fill-churn.lua"
    deadline = time.monotonic() + settings.fill_timeout_s
    entries = peak_entries = 0
    started = time.monotonic()
    offset = 0  # each run goes on from the key where the last one stopped
    errors = 0
    with RssSampler(pid) as rss:
        while time.monotonic() < deadline:
            script.write_text(CHURN_FILL_SCRIPT % (offset, CACHED_KEYS), encoding="utf-8")
            run = wrk(cluster.base_url + "/", CACHE_TTL_S, 16, script=script)
            offset += run["requests"]
            errors += run["errors"]
            entries = metric_sum(cluster.adapter_metrics(), "cache_entries")
            peak_entries = max(peak_entries, entries)
            log(f"(g) cached entries: {entries:.0f}, RSS {rss_mib(pid):.1f} MiB")
            if entries >= CACHED_KEYS:
                break
        filled_s = time.monotonic() - started
        script.write_text(CHURN_FILL_SCRIPT % (offset, CACHED_KEYS), encoding="utf-8")
        wrk(cluster.base_url + "/", CHURN_TTLS * CACHE_TTL_S, 16, script=script)
    metrics = cluster.adapter_metrics()
    results["g"] = {
        "idle": idle, "entries": metric_sum(metrics, "cache_entries"), "peak_entries": peak_entries,
        "cached_mib": metric_sum(metrics, "cache_bytes") / 2**20, "filled_s": filled_s,
        "refreshes": metric_sum(metrics, "cache_refreshes_total"), "reads": offset,
        "errors": errors, "rss": rss_mib(pid), "hwm": rss_mib(pid, "VmHWM"), "sampled_peak": rss.peak(),
    }


# ---- (f) discovery at scale ------------------------------------------------------------------

def bench_relist(settings, results):
    script = SOURCE_DIR / "scripts" / "bench" / "relist_at_scale.sh"
    if not os.access(script, os.X_OK):
        results["f"] = {"error": f"{script} is missing"}
        return
    out = subprocess.run([str(script)], capture_output=True, text=True, timeout=900,
                         env=dict(os.environ, MA_BENCH_QUICK="1" if settings.quick else "0"))
    last = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
    fields = dict(kv.split("=", 1) for kv in last.split() if "=" in kv)
    if out.returncode != 0 or "relist_seconds" not in fields:
        results["f"] = {"error": f"exit {out.returncode}: {out.stderr[-2000:]}"}
        return
    results["f"] = {k: float(v) if re.fullmatch(r"[\d.]+", v) else v for k, v in fields.items()}


# ---- report ----------------------------------------------------------------------------------

def machine():
    model = "unknown CPU"
    with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break

    def version(argv):
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            text = (out.stdout + out.stderr).strip().splitlines()
            return text[0] if text else "?"
        except OSError:
            return "not found"

    return {
        "cpu": model, "cores": os.cpu_count(), "kernel": platform.release(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
        "wrk": version(["wrk", "--version"]), "nginx": version(["nginx", "-v"]),
        "prometheus": version(["prometheus", "--version"]),
        "gnuplot": version(["gnuplot", "--version"]),
    }


def verdict(ok):
    return "met" if ok else "**missed**"


# ---- plots -----------------------------------------------------------------------------------

# name -> (section of the results, title, [(series label, key of its rounds in the section)])
PLOTS = {
    "cached": ("a", "(a) cached GETs, TLS keep-alive, wrk -t1 -c16",
               [("adapter", "adapter"), ("nginx, same body", "nginx")]),
    "uncached": ("b", "(b) uncached, wrk -t1 -c1",
                 [("adapter, --cache-ttl=0", "adapter"), ("Prometheus direct", "prometheus")]),
    "new_connections": ("e", "(e) new TCP+TLS connection and one GET, TCP_NODELAY",
                        [("adapter", "adapter"), ("nginx, same body", "nginx")]),
}


def draw_plots(results, plot_dir, run_label):
    """Draws the percentile curves of (a), (b) and (e) as PNGs with gnuplot; returns
    {section: file name} of the plots drawn (none when gnuplot is missing)."""
    if shutil.which("gnuplot") is None:
        log("gnuplot is not installed (make deps installs it): no plots")
        return {}
    plot_dir.mkdir(parents=True, exist_ok=True)
    drawn = {}
    for name, (section, title, series) in PLOTS.items():
        if section not in results:
            continue
        plots = []
        for label, key in series:
            points = median_distribution(results[section][key])
            if not points:
                continue
            data = WORK_DIR / f"{name}-{key}.tsv"
            data.write_text("".join(f"{p:g}\t{max(ms, 0.001):.4f}\n" for p, ms in points),
                            encoding="ascii")
            plots.append(f"'{data}' using (1/(1-$1/100)):2 with linespoints pt 7 ps 0.4 lw 2"
                         f" title '{label}'")
        if not plots:
            continue
        png = plot_dir / f"{name}.png"
        script = "\n".join([
            "set terminal pngcairo size 900,540 font 'sans,10' noenhanced",
            f"set output '{png}'",
            f"set title \"{title}\\n{run_label}\"",
            "set logscale xy",
            "set xrange [1:10000]",
            "set xtics ('0%%' 1, '50%%' 2, '90%%' 10, '99%%' 100, '99.9%%' 1000, '99.99%%' 10000)",  # labels are formats
            "set xlabel 'percentile'",
            "set ylabel 'latency (ms, log scale)'",
            "set grid xtics ytics mytics",
            "set key top left",
            "plot " + ", ".join(plots),
        ]) + "\n"
        out = subprocess.run(["gnuplot"], input=script, capture_output=True, text=True,
                             timeout=60)
        if out.returncode != 0:
            log(f"gnuplot failed on {name}: {out.stderr.strip()}")
            continue
        drawn[section] = png.name
        log(f"drew {png}")
    return drawn


# ---- report ----------------------------------------------------------------------------------

def ratio_row(target, before, after, ok):
    return f"| {target} | {before} | {after} | {verdict(ok) if after != '—' else 'not measured'} |"


def churn_target_met(g):
    """(g)'s target holds only if the cache held every key at some point."""
    return g["hwm"] <= TARGET_CHURN_RSS_MIB and g["peak_entries"] >= CACHED_KEYS


def summary(results):
    """The table of issue 9's targets: before (BEFORE_DATE), after (this run), verdict."""
    lines = [
        "## Targets: before and after",
        "",
        f"\"Before\" is the run of {BEFORE_DATE} on the code before issue 9, as this page then"
        " reported it; \"after\" is this run. Each ratio is measured in the same run against its"
        " baseline.",
        "",
        "| target | before | after | |",
        "|---|---:|---:|---|",
    ]
    a, b, c, d, e, f, g = (results.get(k) for k in "abcdefg")
    if a:
        rps = median_of(a["adapter"], "rps") / median_of(a["nginx"], "rps")
        p99 = median_of(a["adapter"], "p99") / median_of(a["nginx"], "p99")
        lines.append(ratio_row(f"(a) cached requests/s ≥ {TARGET_RPS_RATIO}× nginx's",
                               f"{BEFORE['rps_ratio']:.2f}×", f"{rps:.2f}×",
                               rps >= TARGET_RPS_RATIO))
        lines.append(ratio_row(f"(a) cached p99 ≤ {TARGET_P99_RATIO}× nginx's",
                               f"{BEFORE['p99_ratio']:.2f}×", f"{p99:.2f}×",
                               p99 <= TARGET_P99_RATIO))
    if b:
        added = median_of(b["adapter"], "p50") - median_of(b["prometheus"], "p50")
        lines.append(ratio_row(f"(b) uncached p50 ≤ +{TARGET_ADDED_P50_MS} ms over Prometheus",
                               f"+{BEFORE['added_p50_ms']:.3f} ms", f"{added:+.3f} ms",
                               added <= TARGET_ADDED_P50_MS))
    if c:
        ratio = fan_in_ratio(c)
        lines.append(ratio_row(f"(c) backend queries ≤ {TARGET_FAN_IN_RATIO}× distinct keys"
                               " per TTL", f"{BEFORE['fan_in_ratio']:.2f}× (whole run)",
                               f"{ratio:.3f}×", ratio <= TARGET_FAN_IN_RATIO))
        lines.append(ratio_row("(c) identical queries in flight together: 0",
                               str(BEFORE["overlaps"]), str(c["overlaps"]), c["overlaps"] == 0))
    if d:
        lines.append(ratio_row(f"(d) idle RSS ≤ {TARGET_IDLE_RSS_MIB} MiB",
                               f"{BEFORE['idle_rss']:.1f} MiB", f"{d['idle']:.1f} MiB",
                               d["idle"] <= TARGET_IDLE_RSS_MIB))
        lines.append(ratio_row(f"(d) RSS with {CACHED_KEYS:,} keys ≤ {TARGET_100K_RSS_MIB} MiB",
                               f"{BEFORE['rss_100k']:.1f} MiB", f"{d['rss_100k']:.1f} MiB",
                               d["rss_100k"] <= TARGET_100K_RSS_MIB
                               and d["entries"] >= CACHED_KEYS))
    if g:
        lines.append(ratio_row(f"(g) peak RSS, {CACHED_KEYS:,} keys at the default TTL ≤"
                               f" {TARGET_CHURN_RSS_MIB} MiB", BEFORE_CHURN_RSS,
                               f"{g['hwm']:.1f} MiB", churn_target_met(g)))
    if e:
        for key in ("p50", "p99"):
            ratio = median_of(e["adapter"], key) / median_of(e["nginx"], key)
            lines.append(ratio_row(f"(e) new connection + GET {key} ≤"
                                   f" {TARGET_NEW_CONNECTION_RATIO}× nginx's", "not measured",
                                   f"{ratio:.2f}×", ratio <= TARGET_NEW_CONNECTION_RATIO))
    if f and "error" not in f:
        lines.append(ratio_row(f"(f) relist of 1,000,000 series ≤ {TARGET_RELIST_S} s",
                               f"{BEFORE['relist_s']:.2f} s", f"{f['relist_seconds']:.2f} s",
                               f["relist_seconds"] <= TARGET_RELIST_S))
        lines.append(ratio_row(f"(f) relist peak RSS ≤ {TARGET_RELIST_RSS_MIB} MiB",
                               f"{BEFORE['relist_rss']:.1f} MiB", f"{f['peak_rss_mib']:.1f} MiB",
                               f["peak_rss_mib"] <= TARGET_RELIST_RSS_MIB))
    return lines + [""]


def fan_in_ratio(c):
    """Backend queries per second over distinct keys per TTL, after the warm-up."""
    return (c["backend_queries"] / c["window_s"]) / (HPA_DISTINCT_QUERIES / CACHE_TTL_S)


def plot_link(plots, section, plot_dir_name, what):
    if section not in plots:
        return []
    return [f"![{what}]({plot_dir_name}/{plots[section]})", ""]


def render(results, settings, info, plots, plot_dir_name, run_time):
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (scripts/bench/bench.py); do not edit by hand. Benchmarks are not",
        "tests: nothing here fails the build. Each pair is measured in the same run, rounds",
        f"alternating between the adapter and its baseline ({settings.rounds} rounds, medians"
        " quoted). The plots are percentile curves (latency against percentile, both on log"
        " scales; the per-percentile median of the rounds), drawn by gnuplot.",
        "",
        f"Run: {run_time:%Y-%m-%d %H:%M} UTC"
        f"{' (quick mode: shorter runs, one round; not figures to quote)' if settings.quick else ''}.",
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB, Linux "
        f"{info['kernel']}; the load generator shares the cores with the server under test.",
        f"Tools: {info['wrk']}; {info['nginx']}; {info['prometheus']}; {info['gnuplot']}.",
        "Build: RelWithDebInfo (`make build`), the binary the tests run.",
        "",
    ]
    lines += summary(results)
    if "a" in results:
        a = results["a"]
        rps_a, rps_n = median_of(a["adapter"], "rps"), median_of(a["nginx"], "rps")
        p50_a, p50_n = median_of(a["adapter"], "p50"), median_of(a["nginx"], "p50")
        p99_a, p99_n = median_of(a["adapter"], "p99"), median_of(a["nginx"], "p99")
        rps_ratio, p99_ratio = rps_a / rps_n, p99_a / p99_n
        lines += [
            "## (a) Cached GETs over TLS keep-alive: adapter vs nginx",
            "",
            f"`wrk -t1 -c16 -d{settings.wrk_seconds}s --latency` on `{CACHED_PATH}` (a warm cache"
            f" entry, {a['body_bytes']} bytes of JSON) against the adapter, and against nginx (2"
            " worker processes) serving the same body from a file over TLS with the same"
            " certificate and key.",
            "",
            "| | requests/s | p50 | p99 |",
            "|---|---:|---:|---:|",
            f"| adapter | {rps_a:,.0f} | {p50_a:.3f} ms | {p99_a:.3f} ms |",
            f"| nginx | {rps_n:,.0f} | {p50_n:.3f} ms | {p99_n:.3f} ms |",
            f"| ratio | {rps_ratio:.2f}× | {p50_a / p50_n:.2f}× | {p99_ratio:.2f}× |",
            f"| ratio before ({BEFORE_DATE}) | {BEFORE['rps_ratio']:.2f}× |"
            f" {BEFORE['p50_ratio']:.2f}× | {BEFORE['p99_ratio']:.2f}× |",
            "",
            f"Throughput {rps_ratio:.2f}× nginx (target ≥ {TARGET_RPS_RATIO}×):"
            f" {verdict(rps_ratio >= TARGET_RPS_RATIO)}. p99 {p99_ratio:.2f}× nginx's (target ≤"
            f" {TARGET_P99_RATIO}×): {verdict(p99_ratio <= TARGET_P99_RATIO)}.",
            "",
            "Rounds (adapter / nginx requests/s): " + ", ".join(
                f"{x['rps']:,.0f} / {y['rps']:,.0f}" for x, y in zip(a["adapter"], a["nginx"])) +
            ".",
            "",
        ]
        if p99_ratio > TARGET_P99_RATIO:
            lines += [P99_LIMIT, ""]
        lines += plot_link(plots, "a", plot_dir_name, "Latency percentiles, cached: adapter vs nginx")
    if "b" in results:
        b = results["b"]
        p50_a, p50_p = median_of(b["adapter"], "p50"), median_of(b["prometheus"], "p50")
        p99_a, p99_p = median_of(b["adapter"], "p99"), median_of(b["prometheus"], "p99")
        added = p50_a - p50_p
        lines += [
            "## (b) Uncached: adapter vs the same PromQL straight to Prometheus",
            "",
            f"The adapter with `--cache-ttl=0` (every GET is a Prometheus query) over TLS, and"
            f" Prometheus' `/api/v1/query` over plain HTTP with the PromQL the adapter sends"
            f" (`{b['promql']}`); `wrk -t1 -c1 -d{settings.wrk_seconds}s`, one connection so that"
            " latency is not queueing.",
            "",
            "| | p50 | p99 | requests/s |",
            "|---|---:|---:|---:|",
            f"| adapter, uncached | {p50_a:.3f} ms | {p99_a:.3f} ms |"
            f" {median_of(b['adapter'], 'rps'):,.0f} |",
            f"| Prometheus direct | {p50_p:.3f} ms | {p99_p:.3f} ms |"
            f" {median_of(b['prometheus'], 'rps'):,.0f} |",
            "",
            f"The adapter adds {added:.3f} ms at p50 (target ≤ {TARGET_ADDED_P50_MS} ms; before:"
            f" {BEFORE['added_p50_ms']:.3f} ms): {verdict(added <= TARGET_ADDED_P50_MS)}. This"
            " includes TLS, routing, planning, rendering and the HTTP hop to Prometheus."
            " Instant queries ask Prometheus for an uncompressed answer: with gzip (curl's"
            " default Accept-Encoding, which the adapter sent before 2026-12-05) Prometheus spent"
            " about three times the CPU per query and the p50 was about 0.1 ms higher.",
            "",
        ]
        if added > TARGET_ADDED_P50_MS:
            lines += [UNCACHED_LIMIT, ""]
        lines += plot_link(plots, "b", plot_dir_name,
                           "Latency percentiles, uncached: adapter vs Prometheus direct")
    if "c" in results:
        c = results["c"]
        req_rate = c["requests"] / c["seconds"]
        q_rate = c["backend_queries"] / c["window_s"]
        ceiling = HPA_DISTINCT_QUERIES / CACHE_TTL_S
        ratio = fan_in_ratio(c)
        whole_ratio = (c["whole_run_queries"] / c["whole_run_s"]) / ceiling
        ok = ratio <= TARGET_FAN_IN_RATIO and c["overlaps"] == 0
        lines += [
            "## (c) HPA fan-in",
            "",
            f"{HPA_COUNT:,} simulated HPAs, each reading one of {HPA_DISTINCT_QUERIES} distinct"
            f" external-metric queries every {HPA_PERIOD_S} s at a random phase, for"
            f" {c['seconds']:.0f} s, over 16 keep-alive TLS connections, with the default"
            f" `--cache-ttl={CACHE_TTL_S}s`. Backend queries are counted by Prometheus itself (its"
            f" `query_log_file`), not by the adapter, over the last {c['window_s']:.0f} s: the"
            f" first {c['warm_up_s']} s hold each key's first miss and first (jittered) refresh,"
            " which a long-running adapter pays once. Identical queries in flight together are"
            " looked for over the whole run.",
            "",
            "| requests | requests/s | Prometheus queries | queries/s | distinct keys |"
            " max queries per key | identical queries in flight together |",
            "|---:|---:|---:|---:|---:|---:|---:|",
            f"| {c['requests']:,} | {req_rate:.1f} | {c['backend_queries']:,} | {q_rate:.2f} |"
            f" {c['distinct_keys']} | {c['max_per_key']} | {c['overlaps']} |",
            "",
            f"Answers by status: {json.dumps(c['statuses'], sort_keys=True)}. Target: at most"
            f" {TARGET_FAN_IN_RATIO}× distinct keys per TTL ({ceiling:.1f} queries/s), measured"
            f" {ratio:.3f}×, and never two identical queries in flight: {verdict(ok)}. Over the"
            f" whole run, warm-up included, {c['whole_run_queries']:,} queries in"
            f" {c['whole_run_s']:.0f} s: {whole_ratio:.2f}× (before, counted that way:"
            f" {BEFORE['fan_in_ratio']:.2f}×). Requests per backend query:"
            f" {c['requests'] / max(c['whole_run_queries'], 1):.1f}.",
            "",
        ]
    if "d" in results or "a" in results:
        d = results.get("d", {})
        a = results.get("a", {})
        lines += ["## (d) Memory (RSS of the adapter process)", "",
                  "| state | RSS | before | target |", "|---|---:|---:|---:|"]
        if d:
            lines.append(f"| idle, after readiness | {d['idle']:.1f} MiB |"
                         f" {BEFORE['idle_rss']:.1f} MiB | ≤ {TARGET_IDLE_RSS_MIB}"
                         f" MiB: {verdict(d['idle'] <= TARGET_IDLE_RSS_MIB)} |")
        if a:
            lines.append(f"| peak under (a) | {a['rss_under_load']:.1f} MiB | — | — |")
        if d:
            ok = d["rss_100k"] <= TARGET_100K_RSS_MIB and d["entries"] >= CACHED_KEYS
            lines.append(f"| {d['entries']:,.0f} cached keys | {d['rss_100k']:.1f} MiB |"
                         f" {BEFORE['rss_100k']:.1f} MiB | ≤ {TARGET_100K_RSS_MIB} MiB:"
                         f" {verdict(ok)} |")
            lines += ["", f"The keys were filled with wrk (16 connections) requesting"
                      f" {CACHED_KEYS:,} distinct label selectors; the entry count is the"
                      f" adapter's own cache gauge. Peak RSS (VmHWM) over that run:"
                      f" {d['hwm']:.1f} MiB."]
            if d["idle"] > TARGET_IDLE_RSS_MIB or d["rss_100k"] > TARGET_100K_RSS_MIB:
                lines += ["", RSS_LIMIT]
        lines.append("")
    if "g" in results:
        g = results["g"]
        lines += [
            "## (g) Memory under TTL churn", "",
            f"The adapter with its default flags (`--cache-ttl` {CACHE_TTL_S} s, so every key read"
            " within two TTLs is refreshed ahead of expiry while the keys fill) but"
            f" `--cache-max-stale={CHURN_MAX_STALE}` (so that keys read once stay while the rest"
            " fill, however fast the machine answers) is sent wrk (16"
            f" connections, {CACHE_TTL_S} s runs, each going on from the key where the last"
            f" stopped) over {CACHED_KEYS:,} distinct label selectors until its cache gauge holds"
            " them all (or the fill time runs out), then"
            f" {CHURN_TTLS * CACHE_TTL_S} s more of the same reads.", "",
            "| idle | entries at the end (peak) | cached bytes | RSS at the end | peak RSS"
            " (VmHWM) | target |",
            "|---:|---:|---:|---:|---:|---|",
            f"| {g['idle']:.1f} MiB | {g['entries']:,.0f} ({g['peak_entries']:,.0f}) |"
            f" {g['cached_mib']:.1f} MiB | {g['rss']:.1f} MiB | {g['hwm']:.1f} MiB |"
            f" ≤ {TARGET_CHURN_RSS_MIB} MiB with {CACHED_KEYS:,} keys: {verdict(churn_target_met(g))} |",
            "",
            f"Fill time {g['filled_s']:.0f} s: {g['reads']:,} reads, {g['errors']:,} of them"
            " answered with an error (503 when the backend's queue was full);"
            f" refresh-ahead queries started: {g['refreshes']:,.0f}. Before issue 12:"
            f" {BEFORE_CHURN_RSS}.", "",
        ]
    if "e" in results:
        e = results["e"]
        p50_a, p50_n = median_of(e["adapter"], "p50"), median_of(e["nginx"], "p50")
        p99_a, p99_n = median_of(e["adapter"], "p99"), median_of(e["nginx"], "p99")
        lines += [
            "## (e) New connections: adapter vs nginx",
            "",
            f"For {settings.new_connection_seconds} s per round, one request after the other,"
            " each on a new TCP connection with `TCP_NODELAY` set (as Go's HTTP client, and so the"
            " aggregator, sets it) and a full TLS handshake (no session resumption), one GET of"
            f" `{CACHED_PATH}` with `Connection: close`, timed from `connect()` to the last byte"
            " of the answer, by scripts/bench/bench.py (Python's ssl module, so the client's own"
            " cost is in both figures alike). The server under test is the adapter with a warm"
            " cache entry, and nginx as in (a). wrk is not used here: it too sets `TCP_NODELAY`"
            " and opens a new connection per request when the answer says `Connection: close`,"
            " but it starts its latency clock after the TLS handshake.",
            "",
            "| | connections/s | p50 | p99 |",
            "|---|---:|---:|---:|",
            f"| adapter | {median_of(e['adapter'], 'rps'):,.0f} | {p50_a:.3f} ms |"
            f" {p99_a:.3f} ms |",
            f"| nginx | {median_of(e['nginx'], 'rps'):,.0f} | {p50_n:.3f} ms | {p99_n:.3f} ms |",
            f"| ratio | | {p50_a / p50_n:.2f}× | {p99_a / p99_n:.2f}× |",
            "",
            f"p50 {p50_a / p50_n:.2f}× and p99 {p99_a / p99_n:.2f}× nginx's (target ≤"
            f" {TARGET_NEW_CONNECTION_RATIO}× each; not measured before):"
            f" {verdict(p50_a / p50_n <= TARGET_NEW_CONNECTION_RATIO)},"
            f" {verdict(p99_a / p99_n <= TARGET_NEW_CONNECTION_RATIO)}. Errors (adapter /"
            f" nginx): {sum(r['errors'] for r in e['adapter'])} /"
            f" {sum(r['errors'] for r in e['nginx'])}.",
            "",
        ]
        lines += plot_link(plots, "e", plot_dir_name,
                           "Latency percentiles, new connection and one GET: adapter vs nginx")
    if "f" in results:
        f = results["f"]
        lines += ["## (f) Discovery at scale", ""]
        if "error" in f:
            lines += [f"Not measured: {f['error']}", ""]
        else:
            secs, peak = f["relist_seconds"], f["peak_rss_mib"]
            series = f.get("series", 1_000_000)
            lines += [
                f"`scripts/bench/relist_at_scale.sh`: the adapter relists a generated"
                f" `/api/v1/series` answer of {float(series):,.0f} series served from a file.",
                "",
                "| wall time | peak RSS |",
                "|---:|---:|",
                f"| {secs:.2f} s | {peak:.1f} MiB |",
                "",
                f"Targets ≤ {TARGET_RELIST_S} s: {verdict(secs <= TARGET_RELIST_S)}; ≤"
                f" {TARGET_RELIST_RSS_MIB} MiB: {verdict(peak <= TARGET_RELIST_RSS_MIB)}.",
                "",
            ]
    return "\n".join(lines) + "\n"


def main():
    global WORK_DIR
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="the report (default docs/benchmarks.md;"
                        " build/bench/benchmarks.md with --quick); plots go to bench/ beside it")
    parser.add_argument("--quick", action="store_true", help="short runs, one round (smoke)")
    parser.add_argument("--only", default="abcdefg", help="which measurements, e.g. 'ae'")
    args = parser.parse_args()
    settings = Settings(args.quick)
    out = pathlib.Path(args.out or (SOURCE_DIR / "build" / "bench" / "benchmarks.md" if args.quick
                                    else SOURCE_DIR / "docs" / "benchmarks.md"))
    for tool in ("wrk", "nginx", "prometheus"):
        if shutil.which(tool) is None:
            sys.exit(f"bench: {tool} is not installed (make deps installs it)")
    results = {}
    info = machine()
    run_time = datetime.datetime.now(datetime.timezone.utc)
    with tempfile.TemporaryDirectory(prefix="ma-bench-") as work:
        WORK_DIR = pathlib.Path(work)
        with BenchCluster() as cluster:
            # (e) runs while the adapter still has its default flags; (b) restarts it uncached.
            steps = {"a": bench_cached, "e": bench_new_connections, "b": bench_uncached,
                     "c": bench_fan_in, "d": bench_memory, "g": bench_memory_churn}
            for name, step in steps.items():
                if name in args.only:
                    log(f"measuring ({name})")
                    step(cluster, settings, results)
        if "f" in args.only:
            log("measuring (f)")
            bench_relist(settings, results)
        plot_dir = out.parent / "bench"
        run_label = (f"{run_time:%Y-%m-%d %H:%M} UTC, {info['cores']} cores shared with the load"
                     " generator" + (", QUICK MODE (not figures to quote)" if args.quick else ""))
        plots = draw_plots(results, plot_dir, run_label)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(results, settings, info, plots, plot_dir.name, run_time),
                   encoding="utf-8")
    log(f"wrote {out}")


if __name__ == "__main__":
    main()
