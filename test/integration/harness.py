"""Integration-test harness: a real Prometheus, a test exporter, the real adapter, real clients.

A `Cluster` owns a temporary directory and every process it starts:

  * certificates made by scripts/gen_certs.sh (openssl CLI): a CA, a serving certificate for
    localhost/127.0.0.1 and a client certificate, plus an unrelated CA for negative tests;
  * test/exporter/exporter.py serving a spec file (test/data/integration/metrics.txt by default);
  * Debian's `prometheus` on a free loopback port with its own storage dir, scraping the exporter
    every second; start() returns only once Prometheus holds samples for every exported metric;
  * build/bin/metrics-adapter in standalone mode with a rules file, once /readyz answers over TLS;
  * kubeconfigs that trust the CA (and one that trusts the other CA), for `kubectl get --raw`;
  * with `prometheus_proxy=True`, a TcpProxy between the adapter and Prometheus that the test
    switches between forwarding, hanging (accepts, never answers) and adding a delay.

Hostile clients (IdleConnections, PartialHandshakes, SlowWriters) and process_stats() (RSS, open
descriptors, threads of a child from /proc) are shared by the tests of fairness and the soak
(test/soak/soak.py).

With `kube=True` the Cluster also runs test/fake_apiserver/fake_apiserver.py in this process
(`cluster.fake`, mutable from the test) and starts the adapter WITHOUT --standalone: its
--lister/--authentication/--authorization-kubeconfig point at the fake (client certificate of the
generated PKI), and, unless `kube_auth_flags=False`, --client-ca-file and --requestheader-* flags
name the generated CA and the front-proxy CA, as kubeadm's flags do. The fake publishes the same
CAs in kube-system/extension-apiserver-authentication either way.

stop() always ends every child and removes the directory (MA_KEEP_TMP=1 keeps it). Children also
die with the test process (PR_SET_PDEATHSIG), so a killed test run leaves no Prometheus behind.
Every wait is bounded by a constant below and ends in a HarnessError that says what was awaited.

Environment: MA_SOURCE_DIR (repository root), MA_ADAPTER_BIN (the server binary), both set by
test/integration/CMakeLists.txt; defaults suit a run from a source checkout with build/.

Only the Python standard library is used.
"""

import ctypes
import dataclasses
import decimal
import json
import os
import pathlib
import re
import resource
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

SOURCE_DIR = pathlib.Path(
    os.environ.get("MA_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
ADAPTER_BIN = pathlib.Path(
    os.environ.get("MA_ADAPTER_BIN", SOURCE_DIR / "build" / "bin" / "metrics-adapter"))
EXPORTER = SOURCE_DIR / "test" / "exporter" / "exporter.py"
FAKE_APISERVER = SOURCE_DIR / "test" / "fake_apiserver" / "fake_apiserver.py"
GEN_CERTS = SOURCE_DIR / "scripts" / "gen_certs.sh"
DATA_DIR = SOURCE_DIR / "test" / "data" / "integration"
DEFAULT_METRICS_SPEC = DATA_DIR / "metrics.txt"
DEFAULT_RULES = DATA_DIR / "rules.yaml"

sys.path.insert(0, str(EXPORTER.parent))
sys.path.insert(0, str(FAKE_APISERVER.parent))
import exporter  # noqa: E402  (the spec grammar lives in one place)
import fake_apiserver  # noqa: E402

# Bounds on every wait. Generous because sanitizer builds and two-core CI machines are slow; a
# healthy run finishes each wait in a few seconds.
CHILD_START_TIMEOUT_S = 30  # exporter port file, Prometheus /-/ready
SAMPLES_TIMEOUT_S = 60  # Prometheus has scraped every exported metric
ADAPTER_READY_TIMEOUT_S = 90  # /readyz answers 200 over TLS
CHILD_STOP_TIMEOUT_S = 15  # SIGTERM to exit, then SIGKILL
CLIENT_TIMEOUT_S = 30  # one kubectl, curl, openssl or HTTP call
POLL_INTERVAL_S = 0.2
FREE_PORT_ATTEMPTS = 100
# Scrapes Prometheus must have made before start() returns: rate() needs two samples.
MIN_SCRAPES = 2
LOG_TAIL_BYTES = 16 * 1024
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
# TcpProxy: bytes read per recv(), and how often its loops look at a mode change.
PROXY_CHUNK_BYTES = 64 * 1024
PROXY_TICK_S = 0.1
# Hostile clients: how long one connect or TLS handshake may take before the attack gives up.
HOSTILE_CONNECT_TIMEOUT_S = 10
# Idle connections are opened from these loopback addresses (all of 127/8 is local on Linux), so
# that a per-source limit of 256 admits 2,000 of them; the real clients come from 127.0.0.1.
HOSTILE_SOURCES = tuple(f"127.0.0.{i}" for i in range(2, 12))

SCRAPE_JOB = "exporter"
# What the adapter writes into --cert-dir when it has no --tls-cert-file.
SELF_SIGNED_CERT = "apiserver.crt"
SELF_SIGNED_KEY = "apiserver.key"
# Default `--metrics-relist-interval`: series a test adds show up in discovery quickly.
DEFAULT_RELIST_INTERVAL = "5s"
# The aggregator's identity headers and proxy certificate CN (kubeadm's defaults).
FRONT_PROXY_CN = "front-proxy-client"
USERNAME_HEADER = "X-Remote-User"
GROUP_HEADER = "X-Remote-Group"
EXTRA_HEADERS_PREFIX = "X-Remote-Extra-"
# Words in a child's log that mean a sanitizer found a bug even if the exit code looks fine.
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")

_PR_SET_PDEATHSIG = 1


class HarnessError(AssertionError):
    """The environment did not come up as asked; the message says what and where to look."""


def _die_with_parent():
    # Runs in the child between fork and exec: the kernel kills it when the test process dies.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def free_port(exclude=()):
    """A loopback port that was free a moment ago (the caller binds it soon after).

    exclude: ports already promised to another child, which the kernel may hand out again
    while that child has not bound them yet.
    """
    for _ in range(FREE_PORT_ATTEMPTS):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in exclude:
            return port
    raise HarnessError(f"no free loopback port outside {sorted(exclude)} in "
                       f"{FREE_PORT_ATTEMPTS} attempts")


def wait_until(predicate, timeout_s, what, check=None):
    """Polls predicate() until it returns a truthy value, which is returned.

    check(), if given, runs before each poll and raises to stop waiting early (a child died).
    """
    deadline = time.monotonic() + timeout_s
    while True:
        if check:
            check()
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise HarnessError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(POLL_INTERVAL_S)


def _tail(path, limit=LOG_TAIL_BYTES):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - limit))
            text = f.read().decode("utf-8", errors="replace")
            return ("...\n" if size > limit else "") + text
    except OSError as e:
        return f"(no log: {e})"


def write_kubeconfig(path, server, ca_file, client_cert=None, client_key=None, token=None):
    """Writes a kubeconfig for `server` that trusts ca_file; JSON strings are valid YAML."""
    q = json.dumps
    user = ""
    if client_cert:
        user = (f"    client-certificate: {q(str(client_cert))}\n"
                f"    client-key: {q(str(client_key))}\n")
    if token:
        user += f"    token: {q(token)}\n"
    text = ("apiVersion: v1\n"
            "kind: Config\n"
            "clusters:\n"
            "- name: metrics-adapter\n"
            "  cluster:\n"
            f"    server: {q(server)}\n"
            f"    certificate-authority: {q(str(ca_file))}\n"
            "users:\n"
            "- name: test-user\n"
            "  user:\n" + (user or "    {}\n") +
            "contexts:\n"
            "- name: metrics-adapter\n"
            "  context:\n"
            "    cluster: metrics-adapter\n"
            "    user: test-user\n"
            "current-context: metrics-adapter\n")
    pathlib.Path(path).write_text(text, encoding="utf-8")
    return pathlib.Path(path)


@dataclasses.dataclass
class Pki:
    """Files written by scripts/gen_certs.sh into `directory`."""
    directory: pathlib.Path

    @property
    def ca_crt(self):
        return self.directory / "ca.crt"

    @property
    def server_crt(self):
        return self.directory / "server.crt"

    @property
    def server_key(self):
        return self.directory / "server.key"

    @property
    def client_crt(self):
        return self.directory / "client.crt"

    @property
    def client_key(self):
        return self.directory / "client.key"

    @property
    def front_proxy_ca_crt(self):
        """The request-header CA: signs only the aggregator's proxy client certificates."""
        return self.directory / "front-proxy-ca.crt"

    @property
    def front_proxy_client(self):
        """(cert, key) with CN front-proxy-client, as the aggregator presents."""
        return self.directory / "front-proxy-client.crt", self.directory / "front-proxy-client.key"

    @property
    def front_proxy_other(self):
        """(cert, key) from the front-proxy CA with a CN that is not allowed (not-front-proxy)."""
        return self.directory / "front-proxy-other.crt", self.directory / "front-proxy-other.key"


def generate_pki(directory, ca_common_name="metrics-adapter-test-ca"):
    directory = pathlib.Path(directory)
    run = subprocess.run(["bash", str(GEN_CERTS), str(directory), ca_common_name],
                         capture_output=True, text=True, timeout=CLIENT_TIMEOUT_S, check=False)
    if run.returncode != 0:
        raise HarnessError(f"{GEN_CERTS} failed ({run.returncode}): {run.stderr.strip()}")
    return Pki(directory)


@dataclasses.dataclass
class CurlResult:
    status: int  # HTTP status; 0 when no response (see exit_code and stderr)
    body: str
    content_type: str
    exit_code: int
    stderr: str

    def json(self):
        return json.loads(self.body)


def run_client(argv):
    """Runs a client command; returns (exit code, stdout, stderr)."""
    try:
        run = subprocess.run(argv, capture_output=True, text=True, timeout=CLIENT_TIMEOUT_S,
                             check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise HarnessError(f"{argv[0]} did not finish within {CLIENT_TIMEOUT_S}s: {argv}")
    return run.returncode, run.stdout, run.stderr


def curl(url, ca_file=None, client_cert=None, client_key=None, method="GET", headers=(),
         data=None, extra_args=()):
    """One request with the curl CLI; never raises on HTTP or TLS errors."""
    with tempfile.NamedTemporaryFile(prefix="curl-body-") as body_file:
        argv = ["curl", "--silent", "--show-error", "--globoff", "--max-time",
                str(CLIENT_TIMEOUT_S), "--max-filesize", str(MAX_RESPONSE_BYTES), "--request",
                method, "--output", body_file.name, "--write-out", "%{http_code}\n%{content_type}"]
        if ca_file:
            argv += ["--cacert", str(ca_file)]
        if client_cert:
            argv += ["--cert", str(client_cert), "--key", str(client_key)]
        for h in headers:
            argv += ["--header", h]
        if data is not None:
            argv += ["--data-binary", data]
        argv += list(extra_args) + [url]
        code, out, err = run_client(argv)
        status_text, _, content_type = out.partition("\n")
        body = pathlib.Path(body_file.name).read_bytes().decode("utf-8", errors="replace")
        status = int(status_text) if status_text.strip().isdigit() else 0
        return CurlResult(status, body, content_type.strip(), code, err)


def kubectl_raw(kubeconfig, path, cache_dir):
    """`kubectl get --raw PATH` through kubeconfig; returns (exit code, stdout, stderr)."""
    return run_client([
        "kubectl", "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache_dir),
        f"--request-timeout={CLIENT_TIMEOUT_S}s", "get", "--raw", path
    ])


_QUANTITY_SUFFIXES = {
    "n": decimal.Decimal("1e-9"), "u": decimal.Decimal("1e-6"), "m": decimal.Decimal("1e-3"),
    "": decimal.Decimal(1), "k": decimal.Decimal("1e3"), "M": decimal.Decimal("1e6"),
    "G": decimal.Decimal("1e9"), "T": decimal.Decimal("1e12"), "P": decimal.Decimal("1e15"),
    "E": decimal.Decimal("1e18"), "Ki": decimal.Decimal(2**10), "Mi": decimal.Decimal(2**20),
    "Gi": decimal.Decimal(2**30), "Ti": decimal.Decimal(2**40), "Pi": decimal.Decimal(2**50),
    "Ei": decimal.Decimal(2**60),
}


def parse_quantity(text):
    """Exact value of a Kubernetes Quantity string (resource.Quantity's grammar)."""
    m = re.fullmatch(r"([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?",
                     text)
    if not m:
        raise ValueError(f"not a Quantity: {text!r}")
    number = decimal.Decimal(m.group(1))
    suffix = m.group(2) or ""
    if len(suffix) > 1 and suffix[0] in ("e", "E"):
        return number.scaleb(int(suffix[1:]))
    return number * _QUANTITY_SUFFIXES[suffix]


def canonical_quantity(value):
    """The canonical DecimalSI string of value, as Go's resource.Quantity marshals it."""
    v = decimal.Decimal(value).quantize(decimal.Decimal("1e-9"), rounding=decimal.ROUND_UP)
    if v == 0:
        return "0"
    sign = "-" if v < 0 else ""
    mantissa = int(abs(v).scaleb(9).to_integral_exact())
    exponent = -9
    while mantissa % 10 == 0:
        mantissa //= 10
        exponent += 1
    while exponent % 3 != 0:
        mantissa *= 10
        exponent -= 1
    suffix = {-9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P",
              18: "E"}[exponent]
    return f"{sign}{mantissa}{suffix}"


_SAMPLE_LINE_RE = re.compile(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?')
_LABEL_PAIR_RE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')


def parse_exposition(text):
    """Samples of a Prometheus text exposition: {(name, ((label, value), ...)): float}.

    Labels are sorted by name; raises ValueError on a line it cannot read, so a garbled
    exposition fails the test that reads it.
    """
    samples = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE_LINE_RE.fullmatch(line)
        if not m:
            raise ValueError(f"not an exposition sample line: {line!r}")
        labels = {}
        inner = m.group(2) or ""
        pos = 0
        while pos < len(inner):
            lm = _LABEL_PAIR_RE.match(inner, pos)
            if not lm or lm.end() == pos:
                raise ValueError(f"bad labels in exposition line: {line!r}")
            labels[lm.group(1)] = re.sub(r"\\(.)", lambda e: {"n": "\n"}.get(e.group(1),
                                                                              e.group(1)),
                                         lm.group(2))
            pos = lm.end()
        samples[(m.group(1), tuple(sorted(labels.items())))] = float(m.group(3))
    return samples


def spec_value(name, spec=DEFAULT_METRICS_SPEC, **labels):
    """The value (at start, for counters) of the one series name{labels} of an exporter spec."""
    _, samples = exporter.parse_spec(pathlib.Path(spec).read_text(encoding="utf-8"))
    want = tuple(sorted(labels.items()))
    values = [value for (n, l), value, _ in samples if n == name and l == want]
    if len(values) != 1:
        raise HarnessError(f"{name}{labels} is not exactly one series of {spec}")
    return values[0]


def metric_value(samples, name, **labels):
    """The value of one sample of parse_exposition()'s result, or None if it is absent."""
    return samples.get((name, tuple(sorted(labels.items()))))


# ---- the adapter's footprint, and clients that do not play fair ------------------------------


@dataclasses.dataclass(frozen=True)
class ProcessStats:
    rss_bytes: int
    open_fds: int
    threads: int


def uses_sanitizer_allocator(pid):
    """True when the process runs under AddressSanitizer, whose allocator (with its quarantine)
    replaces glibc's malloc: then RSS says how ASan holds memory, not how the adapter gives it
    back, and the adapter's heap trimmer does nothing."""
    with open(f"/proc/{pid}/maps", encoding="ascii", errors="replace") as f:
        return any("libasan" in line for line in f)


def process_stats(pid):
    """Resident memory, open descriptors and threads of a running process, from /proc."""
    rss = threads = None
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key == "VmRSS":
                rss = int(value.split()[0]) * 1024  # "1234 kB"
            elif key == "Threads":
                threads = int(value)
    if rss is None or threads is None:
        raise HarnessError(f"/proc/{pid}/status lacks VmRSS or Threads")
    return ProcessStats(rss, len(os.listdir(f"/proc/{pid}/fd")), threads)


def raise_fd_limit(want):
    """Raises this process's soft descriptor limit to at least want (up to the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))


class TcpProxy:
    """A loopback TCP proxy to one upstream port whose behaviour the test switches at any time.

    Modes: FORWARD passes bytes both ways (a refused upstream closes the client's connection);
    HANG accepts and reads but never answers, and from then on the connections it held (kept
    alive ones included) stay silent until the mode changes, when they are closed; DELAY holds
    each chunk a client sends for `delay_s` before passing it on, as a slow server would.
    Thread-safe: set_mode() may be called from any thread.
    """

    FORWARD = "forward"
    HANG = "hang"
    DELAY = "delay"

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self._mode = self.FORWARD
        self.delay_s = 0.0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self._listener.settimeout(PROXY_TICK_S)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.accepted = 0
        self._threads = []

    def start(self):
        thread = threading.Thread(target=self._accept_loop, name="tcp-proxy", daemon=True)
        self._threads.append(thread)
        thread.start()

    def stop(self):
        self._stopping.set()
        for thread in list(self._threads):
            thread.join(CHILD_STOP_TIMEOUT_S)
        self._listener.close()

    def set_mode(self, mode, delay_s=0.0):
        with self._lock:
            self._mode = mode
            self.delay_s = delay_s

    def mode(self):
        with self._lock:
            return self._mode, self.delay_s

    def _accept_loop(self):
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted += 1
            thread = threading.Thread(target=self._serve, args=(client,), daemon=True)
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
            thread.start()

    def _serve(self, client):
        upstream = None
        try:
            upstream = self._connect_upstream()
            if upstream is None:
                return
            self._pump(client, upstream)
        finally:
            client.close()
            if upstream is not None:
                upstream.close()

    def _connect_upstream(self):
        """The upstream connection, or None when this connection is to be dropped."""
        mode, _ = self.mode()
        if mode == self.HANG:
            return socket.socket()  # never connected: _pump treats the connection as hung
        try:
            return socket.create_connection(("127.0.0.1", self.upstream_port),
                                            timeout=HOSTILE_CONNECT_TIMEOUT_S)
        except OSError:
            return None  # upstream down: the client sees its connection closed

    def _pump(self, client, upstream):
        hung = self.mode()[0] == self.HANG
        poller = select.poll()  # select() cannot take descriptors above 1023
        by_fd = {client.fileno(): client}
        poller.register(client, select.POLLIN)
        if not hung:
            by_fd[upstream.fileno()] = upstream
            poller.register(upstream, select.POLLIN)
        while not self._stopping.is_set():
            if hung and self.mode()[0] != self.HANG:
                return  # the hang is over: a real server would have dropped these by now
            for fd, _ in poller.poll(PROXY_TICK_S * 1000):
                sock = by_fd[fd]
                data = sock.recv(PROXY_CHUNK_BYTES)
                mode, delay_s = self.mode()  # as it is now, not before the wait
                if not data:
                    return
                if sock is upstream:
                    client.sendall(data)
                elif mode == self.HANG or hung:
                    if not hung:  # swallowed: this request, and the connection, never answer
                        hung = True
                        poller.unregister(upstream)
                else:
                    if mode == self.DELAY and delay_s > 0:
                        time.sleep(delay_s)
                    upstream.sendall(data)


class IdleConnections:
    """Keeps `count` TCP connections to `port` open that never send a byte.

    Each one the server closes is replaced at once, as a pod flooding the adapter would, and
    counted in `opened`. The connections come from HOSTILE_SOURCES in turn. Not thread-safe:
    start() and close() from one thread; `sockets` and `opened` may be read from any.
    """

    def __init__(self, port, count, sources=HOSTILE_SOURCES):
        self.port = port
        self.count = count
        self.sources = sources
        self.sockets = []
        self.opened = 0
        self._next_source = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="idle-connections", daemon=True)

    def start(self):
        raise_fd_limit(self.count + 1024)
        self._thread.start()

    def wait_open(self, timeout_s=CHILD_START_TIMEOUT_S):
        wait_until(lambda: len(self.sockets) >= self.count, timeout_s,
                   f"{self.count} idle connections to be open")

    def _connect(self):
        source = self.sources[self._next_source % len(self.sources)]
        self._next_source += 1
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((source, 0))
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", self.port))
        self.opened += 1
        return s

    def _run(self):
        poller = select.poll()  # select() cannot take descriptors above 1023
        by_fd = {}

        def add(s):
            self.sockets.append(s)
            poller.register(s, select.POLLIN)
            by_fd[s.fileno()] = s

        while len(self.sockets) < self.count and not self._stop.is_set():
            add(self._connect())
        while not self._stop.is_set():
            for fd, _ in poller.poll(50):  # readable with nothing sent: closed by the server
                s = by_fd.pop(fd)
                poller.unregister(fd)
                self.sockets.remove(s)
                s.close()
                add(self._connect())

    def close(self):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        for s in self.sockets:
            s.close()
        self.sockets = []


class PartialHandshakes:
    """Connections that start a TLS handshake and stop half way: a record header, no more."""

    # A TLS record header announcing a 512-byte handshake message, and the start of a ClientHello.
    PREFIX = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"

    def __init__(self, port, count, source="127.0.0.12"):
        self.sockets = []
        for _ in range(count):
            try:
                s = socket.create_connection(("127.0.0.1", port), HOSTILE_CONNECT_TIMEOUT_S,
                                             source_address=(source, 0))
                s.sendall(self.PREFIX)
            except OSError:
                continue  # refused or reset: the server is protecting itself, which is fine
            self.sockets.append(s)

    def close(self):
        for s in self.sockets:
            s.close()
        self.sockets = []


class SlowWriters:
    """TLS connections that write a request one byte at a time (call trickle() now and then)."""

    def __init__(self, port, ca_file, count, source="127.0.0.13"):
        context = ssl.create_default_context(cafile=str(ca_file))
        self.connections = []
        for _ in range(count):
            raw = socket.create_connection(("127.0.0.1", port), HOSTILE_CONNECT_TIMEOUT_S,
                                           source_address=(source, 0))
            tls = context.wrap_socket(raw, server_hostname="localhost")
            tls.sendall(b"G")
            self.connections.append(tls)

    def trickle(self):
        """One more byte each, keeping their requests unfinished."""
        for c in self.connections:
            try:
                c.send(b"E")
            except OSError:
                pass  # closed by the server to make room: fine, it was too slow

    def close(self):
        for c in self.connections:
            c.close()
        self.connections = []


class Child:
    """A process the harness started, with its output in a log file."""

    def __init__(self, name, argv, log_path, env=None):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.log_path = pathlib.Path(log_path)
        self.env = env
        self.process = None
        self.returncode = None

    def start(self):
        with open(self.log_path, "ab") as log:
            log.write(f"--- started: {' '.join(self.argv)}\n".encode())
            log.flush()
            try:
                self.process = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log,
                                                stderr=subprocess.STDOUT, env=self.env,
                                                start_new_session=True,
                                                preexec_fn=_die_with_parent)
            except OSError as e:
                raise HarnessError(f"cannot start {self.name} ({self.argv[0]}): {e}")
        self.returncode = None

    def running(self):
        return self.process is not None and self.process.poll() is None

    def check_running(self):
        if self.process is not None and self.process.poll() is not None:
            raise HarnessError(f"{self.name} exited with code {self.process.returncode} during "
                               f"startup; its log ends with:\n{_tail(self.log_path)}")

    def stop(self):
        """SIGTERM, then SIGKILL after CHILD_STOP_TIMEOUT_S; returns the exit code."""
        if self.process is None:
            return self.returncode
        if self.process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=CHILD_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.process.wait(timeout=CHILD_STOP_TIMEOUT_S)
                with open(self.log_path, "ab") as log:
                    log.write(f"--- harness: no exit {CHILD_STOP_TIMEOUT_S}s after SIGTERM, "
                              "sent SIGKILL\n".encode())
        self.returncode = self.process.returncode
        self.process = None
        return self.returncode

    def _signal(self, sig):
        # The child leads its own process group (start_new_session), so this reaches only it
        # and anything it spawned.
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass

    def log(self):
        return _tail(self.log_path, limit=MAX_RESPONSE_BYTES)


class Cluster:
    """Exporter + Prometheus + adapter + certificates + kubeconfigs in one temporary directory.

    Not thread-safe: one test thread drives it.
    """

    def __init__(self, rules=DEFAULT_RULES, metrics_spec=DEFAULT_METRICS_SPEC, start_adapter=True,
                 adapter_bin=ADAPTER_BIN, adapter_args=(),
                 relist_interval=DEFAULT_RELIST_INTERVAL, tmp_root=None, kube=False,
                 kube_auth_flags=True, exporter_timestamps=False, honor_labels=False,
                 prometheus_proxy=False):
        self.rules = pathlib.Path(rules)
        self.metrics_spec = pathlib.Path(metrics_spec)
        self.want_adapter = start_adapter
        self.adapter_bin = pathlib.Path(adapter_bin)
        self.adapter_args = list(adapter_args)
        self.relist_interval = relist_interval
        self.tmp_root = tmp_root
        self.kube = kube
        self.kube_auth_flags = kube_auth_flags
        # The exporter's --timestamps (exact rates), and Prometheus keeping the exporter's own
        # `job` and `instance` labels (as series of several exporters look in a cluster).
        self.exporter_timestamps = exporter_timestamps
        self.honor_labels = honor_labels
        # A TcpProxy in front of Prometheus for the adapter (never for the harness's own queries).
        self.want_proxy = prometheus_proxy
        self.proxy = None
        self.fake = None  # the fake kube-apiserver when kube=True
        # Where dump_logs() writes when a start fails or a test fails.
        self.log_stream = sys.stderr
        self.tmp = None
        self.children = {}

    # ---- lifecycle -------------------------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop(check_adapter_exit=exc[0] is None)

    def start(self):
        if self.want_adapter:
            self._check_adapter_bin()
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="ma-it-", dir=self.tmp_root))
        try:
            self.pki = generate_pki(self.tmp / "pki")
            # Same subject shape, different key: only the trust anchor differs.
            self.wrong_pki = generate_pki(self.tmp / "wrong-pki", "metrics-adapter-test-ca")
            self.kube_cache = self.tmp / "kube-cache"
            # The fake apiserver and the exporter bind ports of their own choosing: start them
            # before promising ports to Prometheus and the adapter, so that neither is promised
            # theirs.
            taken = set()
            if self.kube:
                self._start_fake_apiserver()
                taken.add(self.fake.port)
            self._start_exporter()
            taken.add(self.exporter_port)
            self.prometheus_port = free_port(exclude=taken)
            self.adapter_port = free_port(exclude=taken | {self.prometheus_port})
            self.base_url = f"https://127.0.0.1:{self.adapter_port}"
            self.kubeconfig = write_kubeconfig(self.tmp / "kubeconfig", self.base_url,
                                               self.pki.ca_crt, self.pki.client_crt,
                                               self.pki.client_key)
            self.wrong_ca_kubeconfig = write_kubeconfig(
                self.tmp / "kubeconfig-wrong-ca", self.base_url, self.wrong_pki.ca_crt,
                self.pki.client_crt, self.pki.client_key)
            self._write_prometheus_config()
            self.start_prometheus()
            self.wait_for_samples()
            if self.want_proxy:
                self.proxy = TcpProxy(self.prometheus_port)
                self.proxy.start()
            if self.want_adapter:
                self.start_adapter()
        except BaseException:
            self.dump_logs()
            self.stop(check_adapter_exit=False)
            raise

    def stop(self, check_adapter_exit=True):
        """Ends every child (adapter first) and removes the temp dir.

        Raises afterwards if the adapter exited with an error or a sanitizer report, so a leak
        found at shutdown fails the test class.
        """
        problem = None
        for name in ("adapter", "prometheus", "exporter"):
            child = self.children.pop(name, None)
            if child is None:
                continue
            child.stop()
            if name == "adapter" and check_adapter_exit:
                problem = problem or self._exit_problem(child)
        if self.proxy is not None:
            self.proxy.stop()
            self.proxy = None
        if self.fake is not None:
            self.fake.stop()
            self.fake.log_stream.close()
            self.fake = None
        if problem:
            sys.stderr.write(problem + "\n")
        if self.tmp is not None:
            if os.environ.get("MA_KEEP_TMP") == "1":
                sys.stderr.write(f"harness: kept {self.tmp}\n")
            else:
                shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None
        if problem:
            raise HarnessError(problem)

    @staticmethod
    def _exit_problem(child):
        log = child.log()
        markers = [m for m in SANITIZER_MARKERS if m in log]
        # SIGTERM ends a server that does not trap it; anything else is a crash or a report.
        if child.returncode not in (0, -signal.SIGTERM) or markers:
            return (f"{child.name} exited with code {child.returncode}"
                    f"{' and reported ' + ', '.join(markers) if markers else ''}; log tail:\n"
                    f"{_tail(child.log_path)}")
        return None

    def dump_logs(self, stream=None):
        stream = stream or self.log_stream
        for name, child in self.children.items():
            stream.write(f"\n===== {name} log ({child.log_path}) =====\n{_tail(child.log_path)}\n")
        if self.fake is not None:
            path = self.fake.log_stream.name
            stream.write(f"\n===== fake apiserver log ({path}) =====\n{_tail(path)}\n")
        stream.flush()

    # ---- fake kube-apiserver ---------------------------------------------------------------

    def _start_fake_apiserver(self):
        """The fake in this process, serving with the generated server certificate.

        It trusts the generated client certificate (the adapter's identity towards it), holds the
        authentication ConfigMap built from the PKI, and answers NoOpinion to every
        SubjectAccessReview until a test adds rules.
        """
        log = open(self.tmp / "fake-apiserver.log", "a", encoding="utf-8")
        self.fake = fake_apiserver.FakeApiServer(self.pki.server_crt, self.pki.server_key,
                                                 self.pki.ca_crt, log=log)
        self.fake.set_authentication_configmap(
            client_ca_file=self.pki.ca_crt,
            requestheader_client_ca_file=self.pki.front_proxy_ca_crt,
            allowed_names=(FRONT_PROXY_CN,), username_headers=(USERNAME_HEADER,),
            group_headers=(GROUP_HEADER,), extra_headers_prefix=(EXTRA_HEADERS_PREFIX,))
        self.fake.start()
        self.fake_kubeconfig = write_kubeconfig(self.tmp / "kubeconfig-fake-apiserver",
                                                self.fake.url, self.pki.ca_crt,
                                                self.pki.client_crt, self.pki.client_key)

    def kube_args(self):
        """The adapter's flags for the Kubernetes side (docs/design.md), pointing at the fake."""
        kubeconfig = self.fake_kubeconfig
        args = [f"--lister-kubeconfig={kubeconfig}", f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}", "--bind-address=127.0.0.1"]
        if self.kube_auth_flags:
            args += [f"--client-ca-file={self.pki.ca_crt}",
                     f"--requestheader-client-ca-file={self.pki.front_proxy_ca_crt}",
                     f"--requestheader-allowed-names={FRONT_PROXY_CN}",
                     f"--requestheader-username-headers={USERNAME_HEADER}",
                     f"--requestheader-group-headers={GROUP_HEADER}",
                     f"--requestheader-extra-headers-prefix={EXTRA_HEADERS_PREFIX}"]
        return args

    # ---- exporter --------------------------------------------------------------------------

    def _start_exporter(self):
        port_file = self.tmp / "exporter.port"
        argv = [sys.executable, EXPORTER, "--spec", self.metrics_spec, "--port-file", port_file]
        if self.exporter_timestamps:
            argv.append("--timestamps")
        child = Child("exporter", argv, self.tmp / "exporter.log")
        self.children["exporter"] = child
        child.start()
        wait_until(port_file.exists, CHILD_START_TIMEOUT_S, f"the exporter to write {port_file}",
                   check=child.check_running)
        self.exporter_port = int(port_file.read_text().strip())
        self.exporter_url = f"http://127.0.0.1:{self.exporter_port}"

    def exporter_set(self, *lines):
        """Creates or replaces series on the exporter (spec lines, e.g. 'm{a="b"} 3')."""
        return self._exporter_post("/set", "\n".join(lines))

    def exporter_delete(self, *series):
        return self._exporter_post("/delete", "\n".join(series))

    def _exporter_post(self, path, body):
        req = urllib.request.Request(self.exporter_url + path, data=body.encode(), method="POST")
        try:
            with urllib.request.urlopen(req, timeout=CLIENT_TIMEOUT_S) as resp:
                return resp.read().decode()
        except urllib.error.HTTPError as e:
            raise HarnessError(f"exporter {path} refused {body!r}: {e.read().decode().strip()}")

    # ---- Prometheus ------------------------------------------------------------------------

    def _write_prometheus_config(self):
        self.prometheus_storage = self.tmp / "prometheus-data"
        self.prometheus_config = self.tmp / "prometheus.yml"
        self.prometheus_url = f"http://127.0.0.1:{self.prometheus_port}"
        self.prometheus_config.write_text(
            "global:\n"
            "  scrape_interval: 1s\n"
            "  scrape_timeout: 1s\n"
            "  evaluation_interval: 1s\n"
            "scrape_configs:\n"
            f"- job_name: {SCRAPE_JOB}\n"
            f"  honor_labels: {'true' if self.honor_labels else 'false'}\n"
            "  static_configs:\n"
            f"  - targets: ['127.0.0.1:{self.exporter_port}']\n",
            encoding="utf-8")

    def start_prometheus(self):
        """Starts (or restarts) Prometheus on the same port and storage dir; waits for ready."""
        if "prometheus" in self.children and self.children["prometheus"].running():
            raise HarnessError("Prometheus is already running")
        child = self.children.get("prometheus") or Child(
            "prometheus", [
                "prometheus", f"--config.file={self.prometheus_config}",
                f"--storage.tsdb.path={self.prometheus_storage}",
                f"--web.listen-address=127.0.0.1:{self.prometheus_port}"
            ], self.tmp / "prometheus.log")
        self.children["prometheus"] = child
        child.start()
        wait_until(lambda: self._http_ok(self.prometheus_url + "/-/ready"), CHILD_START_TIMEOUT_S,
                   f"Prometheus to answer {self.prometheus_url}/-/ready", check=child.check_running)

    def stop_prometheus(self, kill=False):
        """Stops Prometheus (for outage tests); start_prometheus() brings it back.

        kill: SIGKILL at once, as the OOM killer or a node failure would, instead of SIGTERM.
        """
        child = self.children.get("prometheus")
        if child is None or not child.running():
            raise HarnessError("Prometheus is not running")
        if kill:
            child._signal(signal.SIGKILL)
        return child.stop()

    @property
    def adapter_prometheus_url(self):
        """The Prometheus URL the adapter is given: the proxy's when there is one."""
        return self.proxy.url if self.proxy is not None else self.prometheus_url

    def prometheus_query(self, promql):
        """Result list of an instant query, or raises HarnessError with Prometheus' error."""
        url = (self.prometheus_url + "/api/v1/query?" + urllib.parse.urlencode({"query": promql}))
        try:
            with urllib.request.urlopen(url, timeout=CLIENT_TIMEOUT_S) as resp:
                doc = json.loads(resp.read(MAX_RESPONSE_BYTES))
        except urllib.error.HTTPError as e:
            raise HarnessError(f"Prometheus rejected {promql!r}: {e.read().decode().strip()}")
        except (urllib.error.URLError, OSError) as e:
            raise HarnessError(f"Prometheus unreachable for {promql!r}: {e}")
        return doc["data"]["result"]

    def wait_for_query(self, promql, predicate, what):
        """Waits until predicate(result list) is true; returns the result list."""

        def poll():
            try:
                result = self.prometheus_query(promql)
            except HarnessError:
                return None
            return result if predicate(result) else None

        return wait_until(poll, SAMPLES_TIMEOUT_S, what)

    def wait_for_samples(self):
        """Waits until Prometheus holds every metric of the spec, scraped MIN_SCRAPES times."""
        _, samples = exporter.parse_spec(self.metrics_spec.read_text(encoding="utf-8"))
        names = sorted({key[0] for key, _, _ in samples})
        job = f'job="{SCRAPE_JOB}"'
        self.wait_for_query(f"count_over_time(up{{{job}}}[1m]) >= {MIN_SCRAPES}", bool,
                            f"{MIN_SCRAPES} scrapes of the exporter by Prometheus")
        # With honor_labels a series may name a job of its own.
        series = '__name__!=""' if self.honor_labels else job
        self.wait_for_query(
            f"group by (__name__) ({{{series}}})",
            lambda r: set(names) <= {s["metric"].get("__name__") for s in r},
            f"Prometheus to hold samples of {', '.join(names)}")

    # ---- adapter ---------------------------------------------------------------------------

    def start_adapter(self, rules=None, extra_args=(), cert_dir=None, argv=None):
        """Starts the adapter (standalone, TLS from the generated certs); waits for /readyz.

        With cert_dir, the adapter gets no certificate files but --cert-dir=cert_dir, where it
        writes (or reuses) its self-signed apiserver.crt; readiness then trusts that file.
        With argv, the adapter gets exactly that command line after the binary (a copy of
        another program's, say) and nothing of the harness's own; the caller puts this
        cluster's ports and paths in it, and cert_dir says where its certificate appears.
        """
        if "adapter" in self.children and self.children["adapter"].running():
            raise HarnessError("the adapter is already running; stop_adapter() first")
        self._check_adapter_bin()
        if argv is not None:
            if cert_dir is None:
                raise HarnessError("start_adapter(argv=...) needs the cert_dir the argv names")
            argv = [self.adapter_bin, *argv]
            ready_ca = pathlib.Path(cert_dir) / SELF_SIGNED_CERT
        else:
            argv, ready_ca = self._adapter_argv(rules, extra_args, cert_dir)
        child = Child("adapter", argv, self.tmp / "adapter.log")
        self.children["adapter"] = child
        child.start()

        def ready():
            if not ready_ca.exists():
                return False
            r = self.curl("/readyz", ca_file=ready_ca)
            return r.status == 200

        wait_until(ready, ADAPTER_READY_TIMEOUT_S, f"the adapter to answer 200 on {self.base_url}"
                   "/readyz (curl with the generated CA)", check=child.check_running)

    def _adapter_argv(self, rules, extra_args, cert_dir):
        """The harness's own command line for the adapter, and the CA that verifies it."""
        argv = [
            self.adapter_bin, "serve", f"--config={rules or self.rules}",
            f"--prometheus-url={self.adapter_prometheus_url}",
            f"--secure-port={self.adapter_port}"
        ]
        argv += self.kube_args() if self.kube else ["--standalone"]
        if cert_dir is None:
            argv += [f"--tls-cert-file={self.pki.server_crt}",
                     f"--tls-private-key-file={self.pki.server_key}"]
            ready_ca = self.pki.ca_crt
        else:
            argv.append(f"--cert-dir={cert_dir}")
            ready_ca = pathlib.Path(cert_dir) / SELF_SIGNED_CERT
        if self.relist_interval:
            argv.append(f"--metrics-relist-interval={self.relist_interval}")
        argv += self.adapter_args + list(extra_args)
        return argv, ready_ca

    def _check_adapter_bin(self):
        if not os.access(self.adapter_bin, os.X_OK):
            raise HarnessError(f"adapter binary {self.adapter_bin} is missing or not executable: "
                               "build it (make build) or set MA_ADAPTER_BIN")

    def stop_adapter(self):
        """Stops the adapter; raises if it exited with an error or a sanitizer report."""
        child = self.children.pop("adapter", None)
        if child is None:
            raise HarnessError("the adapter is not running")
        child.stop()
        problem = self._exit_problem(child)
        if problem:
            raise HarnessError(problem)
        return child.returncode

    def adapter_log(self):
        child = self.children.get("adapter")
        return child.log() if child else ""

    def adapter_running(self):
        child = self.children.get("adapter")
        return child is not None and child.running()

    def signal_adapter(self, sig):
        """Sends sig to the running adapter (and whatever it spawned)."""
        child = self.children.get("adapter")
        if child is None or not child.running():
            raise HarnessError("the adapter is not running")
        child._signal(sig)

    def wait_adapter_exit(self, timeout_s):
        """Waits up to timeout_s for the adapter to exit by itself; returns its exit code.

        Raises HarnessError if it is still running then (the caller's stop() ends it).
        """
        child = self.children.get("adapter")
        if child is None or child.process is None:
            raise HarnessError("the adapter was not started")
        try:
            return child.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise HarnessError(f"the adapter did not exit within {timeout_s}s")

    def adapter_pid(self):
        child = self.children.get("adapter")
        if child is None or not child.running():
            raise HarnessError("the adapter is not running")
        return child.process.pid

    def adapter_metrics(self):
        """The adapter's /metrics, parsed with parse_exposition(); raises unless it answers 200."""
        r = self.curl("/metrics")
        if r.status != 200:
            raise HarnessError(f"/metrics answered {r.status}: {r.body[:500]!r} {r.stderr}")
        return parse_exposition(r.body)

    def ssl_context(self, ca_file=None):
        """A client SSLContext for Python's http.client that trusts only the generated CA."""
        return ssl.create_default_context(cafile=str(ca_file or self.pki.ca_crt))

    # ---- clients ---------------------------------------------------------------------------

    def kubectl_raw(self, path, kubeconfig=None):
        """`kubectl get --raw PATH` via the kubeconfig; returns (exit code, stdout, stderr)."""
        return kubectl_raw(kubeconfig or self.kubeconfig, path, self.kube_cache)

    def curl(self, path, ca_file=None, client_cert=False, **kwargs):
        """curl against the adapter, trusting the generated CA unless ca_file says otherwise.

        client_cert: True for the generated client certificate, or a (cert, key) pair such as
        pki.front_proxy_client.
        """
        if isinstance(client_cert, tuple):
            cert = client_cert
        else:
            cert = (self.pki.client_crt, self.pki.client_key) if client_cert else (None, None)
        return curl(self.base_url + path, ca_file=ca_file or self.pki.ca_crt, client_cert=cert[0],
                    client_key=cert[1], **kwargs)

    @staticmethod
    def _http_ok(url):
        try:
            with urllib.request.urlopen(url, timeout=CLIENT_TIMEOUT_S) as resp:
                return resp.status == 200
        except (urllib.error.URLError, OSError):
            return False


def _failed(test):
    """Whether the running test has failed or errored (unittest keeps no public flag)."""
    outcome = getattr(test, "_outcome", None)
    if outcome is None:
        return False
    result = getattr(outcome, "result", None)
    if result is not None and hasattr(result, "failures"):  # Python >= 3.11
        return any(t is test for t, _ in result.failures + result.errors)
    return any(exc for _, exc in getattr(outcome, "errors", []))  # Python <= 3.10


class ClusterTestCase(unittest.TestCase):
    """One Cluster per test class; a failing test prints the children's logs."""

    cluster_options = {}
    cluster = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cluster = Cluster(**cls.cluster_options)
        cls.cluster.start()
        try:
            cls.prepare_cluster()
        except BaseException:
            cls.cluster.dump_logs()
            cls.cluster.stop(check_adapter_exit=False)
            raise

    @classmethod
    def prepare_cluster(cls):
        """Set-up after the cluster has started (objects in the fake apiserver, say)."""

    @classmethod
    def tearDownClass(cls):
        if cls.cluster is not None:
            cls.cluster.stop()
            cls.cluster = None
        super().tearDownClass()

    def tearDown(self):
        if _failed(self):
            self.cluster.dump_logs()
        super().tearDown()

    def get_json(self, path):
        """kubectl get --raw PATH, asserting success; returns the decoded document."""
        code, out, err = self.cluster.kubectl_raw(path)
        self.assertEqual(code, 0, f"kubectl get --raw {path} failed: {err.strip()}")
        try:
            return json.loads(out)
        except ValueError as e:
            self.fail(f"kubectl get --raw {path} printed no JSON ({e}): {out[:500]!r}")
