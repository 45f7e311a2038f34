#!/usr/bin/env python3
"""`make bench`: measures the adapter and writes docs/benchmarks.md.

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
  e. discovery at scale: scripts/bench/relist_at_scale.sh (a relist over 1,000,000 series).

The processes come from the integration-test harness (test/integration/harness.py): a real
Prometheus scraping the test exporter, the real binary, generated certificates. Only the Python
standard library is used. A figure that misses its target is reported as it is.
"""

import argparse
import concurrent.futures
import datetime
import http.client
import json
import os
import pathlib
import platform
import random
import re
import shutil
import ssl
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

SOURCE_DIR = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(SOURCE_DIR / "test" / "integration"))
import harness  # noqa: E402

CACHED_PATH = ("/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue_depth"
               "?labelSelector=queue%3Dorders")
# Targets from issue 5, stated once here and in the report.
TARGET_RPS_RATIO = 0.7
TARGET_P99_RATIO = 1.5
TARGET_ADDED_P50_MS = 0.5
TARGET_IDLE_RSS_MIB = 30
TARGET_100K_RSS_MIB = 200
TARGET_RELIST_S = 5
TARGET_RELIST_RSS_MIB = 150

HPA_COUNT = 2000
HPA_DISTINCT_QUERIES = 200
HPA_PERIOD_S = 15
CACHED_KEYS = 100_000
WRK_TIMEOUT_MARGIN_S = 30


class Settings:
    def __init__(self, quick):
        self.quick = quick
        self.rounds = 1 if quick else 3
        self.wrk_seconds = 3 if quick else 10
        self.fan_in_seconds = 20 if quick else 120
        self.fill_timeout_s = 120 if quick else 600


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


def wrk(url, seconds, connections, script=None):
    """Runs wrk with 1 thread; returns {'rps', 'p50', 'p99', 'requests', 'errors'} (ms)."""
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    if script:
        argv += ["-s", str(script)]
    argv.append(url)
    out = subprocess.run(argv, capture_output=True, text=True, check=True,
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
    return result


def median_of(runs, key):
    return statistics.median(r[key] for r in runs)


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
                log(f"(a) round {i + 1}: adapter {adapter_runs[-1]}")
                nginx_runs.append(wrk(nginx_url, settings.wrk_seconds, 16))
                log(f"(a) round {i + 1}: nginx {nginx_runs[-1]}")
    results["a"] = {"adapter": adapter_runs, "nginx": nginx_runs, "rss_under_load": rss.peak(),
                    "body_bytes": len(warm.body.encode())}


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
        log(f"(b) round {i + 1}: adapter uncached {adapter_runs[-1]}")
        prom_runs.append(wrk(prom_url, settings.wrk_seconds, 1))
        log(f"(b) round {i + 1}: prometheus {prom_runs[-1]}")
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
    queries = [q for q in cluster.queries_logged(start_wall, end_wall + 0.5)
               if "bench-" in q[0]]
    per_key = {}
    for text, _, _ in queries:
        per_key[text] = per_key.get(text, 0) + 1
    overlaps = 0
    by_text = {}
    for text, begin, end in queries:
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
        "window_s": end_wall - start_wall,
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


# ---- (e) discovery at scale ------------------------------------------------------------------

def bench_relist(settings, results):
    script = SOURCE_DIR / "scripts" / "bench" / "relist_at_scale.sh"
    if not os.access(script, os.X_OK):
        results["e"] = {"error": f"{script} is missing"}
        return
    out = subprocess.run([str(script)], capture_output=True, text=True, timeout=900,
                         env=dict(os.environ, MA_BENCH_QUICK="1" if settings.quick else "0"))
    last = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
    fields = dict(kv.split("=", 1) for kv in last.split() if "=" in kv)
    if out.returncode != 0 or "relist_seconds" not in fields:
        results["e"] = {"error": f"exit {out.returncode}: {out.stderr[-2000:]}"}
        return
    results["e"] = {k: float(v) if re.fullmatch(r"[\d.]+", v) else v for k, v in fields.items()}


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
    }


def verdict(ok):
    return "meets target" if ok else "**misses target**"


def render(results, settings, info):
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (scripts/bench/bench.py); do not edit by hand. Benchmarks are not",
        "tests: nothing here fails the build. Each pair is measured in the same run, rounds",
        f"alternating between the adapter and its baseline ({settings.rounds} rounds, medians"
        " quoted).",
        "",
        f"Run: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC"
        f"{' (quick mode: shorter runs, one round)' if settings.quick else ''}.",
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB, Linux "
        f"{info['kernel']}; the load generator shares the cores with the server under test.",
        f"Tools: {info['wrk']}; {info['nginx']}; {info['prometheus']}.",
        "Build: RelWithDebInfo (`make build`), the binary the tests run.",
        "",
    ]
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
            f"The adapter adds {added:.3f} ms at p50 (target ≤ {TARGET_ADDED_P50_MS} ms):"
            f" {verdict(added <= TARGET_ADDED_P50_MS)}. This includes TLS, routing, planning,"
            " rendering and the HTTP hop to Prometheus.",
            "",
        ]
    if "c" in results:
        c = results["c"]
        req_rate = c["requests"] / c["seconds"]
        q_rate = c["backend_queries"] / c["window_s"]
        ceiling = HPA_DISTINCT_QUERIES / HPA_PERIOD_S
        ok = q_rate <= ceiling * 1.05 and c["overlaps"] == 0
        lines += [
            "## (c) HPA fan-in",
            "",
            f"{HPA_COUNT:,} simulated HPAs, each reading one of {HPA_DISTINCT_QUERIES} distinct"
            f" external-metric queries every {HPA_PERIOD_S} s at a random phase, for"
            f" {c['seconds']:.0f} s, over 16 keep-alive TLS connections, with the default"
            " `--cache-ttl=15s`. Backend queries are counted by Prometheus itself (its"
            " `query_log_file`), not by the adapter.",
            "",
            "| requests | requests/s | Prometheus queries | queries/s | distinct keys |"
            " max queries per key | identical queries in flight together |",
            "|---:|---:|---:|---:|---:|---:|---:|",
            f"| {c['requests']:,} | {req_rate:.1f} | {c['backend_queries']:,} | {q_rate:.2f} |"
            f" {c['distinct_keys']} | {c['max_per_key']} | {c['overlaps']} |",
            "",
            f"Answers by status: {json.dumps(c['statuses'], sort_keys=True)}. Target: at most"
            f" distinct keys per TTL ({ceiling:.1f} queries/s) and never two identical queries"
            f" in flight: {verdict(ok)}. Requests per backend query:"
            f" {c['requests'] / max(c['backend_queries'], 1):.1f}.",
            "",
        ]
    if "d" in results or "a" in results:
        d = results.get("d", {})
        a = results.get("a", {})
        lines += ["## (d) Memory (RSS of the adapter process)", "",
                  "| state | RSS | target |", "|---|---:|---:|"]
        if d:
            lines.append(f"| idle, after readiness | {d['idle']:.1f} MiB | ≤ {TARGET_IDLE_RSS_MIB}"
                         f" MiB: {verdict(d['idle'] <= TARGET_IDLE_RSS_MIB)} |")
        if a:
            lines.append(f"| peak under (a) | {a['rss_under_load']:.1f} MiB | — |")
        if d:
            lines.append(f"| {d['entries']:,.0f} cached keys | {d['rss_100k']:.1f} MiB |"
                         f" ≤ {TARGET_100K_RSS_MIB} MiB:"
                         f" {verdict(d['rss_100k'] <= TARGET_100K_RSS_MIB and d['entries'] >= CACHED_KEYS)} |")
            lines += ["", f"The keys were filled with wrk (16 connections) requesting"
                      f" {CACHED_KEYS:,} distinct label selectors; the entry count is the"
                      f" adapter's own cache gauge. Peak RSS (VmHWM) over that run:"
                      f" {d['hwm']:.1f} MiB."]
        lines.append("")
    if "e" in results:
        e = results["e"]
        lines += ["## (e) Discovery at scale", ""]
        if "error" in e:
            lines += [f"Not measured: {e['error']}", ""]
        else:
            secs, peak = e["relist_seconds"], e["peak_rss_mib"]
            series = e.get("series", 1_000_000)
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(SOURCE_DIR / "docs" / "benchmarks.md"))
    parser.add_argument("--quick", action="store_true", help="short runs, one round (smoke)")
    parser.add_argument("--only", default="abcde", help="which measurements, e.g. 'ab'")
    args = parser.parse_args()
    settings = Settings(args.quick)
    for tool in ("wrk", "nginx", "prometheus"):
        if shutil.which(tool) is None:
            sys.exit(f"bench: {tool} is not installed (make deps installs it)")
    results = {}
    info = machine()
    with BenchCluster() as cluster:
        steps = {"a": bench_cached, "b": bench_uncached, "c": bench_fan_in, "d": bench_memory}
        for name, step in steps.items():
            if name in args.only:
                log(f"measuring ({name})")
                step(cluster, settings, results)
    if "e" in args.only:
        log("measuring (e)")
        bench_relist(settings, results)
    pathlib.Path(args.out).write_text(render(results, settings, info), encoding="utf-8")
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
