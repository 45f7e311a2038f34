#!/usr/bin/env python3
"""A Prometheus text-format exporter whose series tests can change at run time.

Series come from a spec file (--spec) and/or --metric arguments, one series per line:

    # TYPE queue_depth gauge
    queue_depth{namespace="shop",queue="orders"} 42
    http_requests_total{namespace="shop",pod="web-1"} 0 +5/s
    stale_ratio{namespace="shop"} NaN

A value is a float, NaN, +Inf or -Inf. An optional `+RATE/s` makes the series grow linearly from
VALUE at RATE per second (a counter whose rate() is RATE). Lines starting with `# TYPE` declare
the metric type; without one, names ending in `_total` are counters and others gauges. Other `#`
lines and blank lines are ignored.

With --timestamps every sample carries its timestamp (wall clock, milliseconds), and counters grow
by exactly RATE per second of those timestamps: irate() and rate() then give RATE itself, whatever
the scrape jitter, so a test can compare rates exactly.

HTTP endpoints:
    GET  /metrics   the exposition (text format 0.0.4)
    GET  /healthz   "ok"
    POST /set       body: spec lines; each series is created or replaced (its counter restarts)
    POST /delete    body: series (name and labels, no value), one a line; unknown ones are a 404

Only the Python standard library is used, so the exporter runs wherever the tests run.
"""

import argparse
import http.server
import math
import os
import re
import signal
import sys
import threading
import time

# Bounds on what a client may send (tests are trusted, but a bound keeps mistakes small).
MAX_BODY_BYTES = 64 * 1024
MAX_SERIES = 10_000
MAX_LABELS_PER_SERIES = 32

_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_RATE_RE = re.compile(r"\+([0-9.eE+-]+)/s")
_TYPE_RE = re.compile(r"#\s*TYPE\s+(\S+)\s+(counter|gauge|untyped)\s*$")


class SpecError(ValueError):
    """A spec line that cannot be parsed; the message names the line and the problem."""


def _parse_label_value(text, pos, line):
    """Parses a double-quoted label value starting at text[pos] == '"'. Returns (value, end)."""
    out = []
    i = pos + 1
    while i < len(text):
        c = text[i]
        if c == "\\":
            if i + 1 >= len(text):
                break
            nxt = text[i + 1]
            out.append({"n": "\n", "\\": "\\", '"': '"'}.get(nxt, "\\" + nxt))
            i += 2
            continue
        if c == '"':
            return "".join(out), i + 1
        out.append(c)
        i += 1
    raise SpecError(f"unterminated label value in {line!r}")


def parse_series(text, line):
    """Parses `name{l="v",...}` at the start of text. Returns ((name, labels), rest)."""
    m = _NAME_RE.match(text)
    if not m:
        raise SpecError(f"expected a metric name at the start of {line!r}")
    name = m.group(0)
    pos = m.end()
    labels = {}
    if pos < len(text) and text[pos] == "{":
        pos += 1
        while True:
            while pos < len(text) and text[pos] in " ,":
                pos += 1
            if pos < len(text) and text[pos] == "}":
                pos += 1
                break
            lm = _LABEL_NAME_RE.match(text, pos)
            if not lm:
                raise SpecError(f"expected a label name at column {pos + 1} of {line!r}")
            pos = lm.end()
            if not text.startswith('="', pos):
                raise SpecError(f'expected =" after label {lm.group(0)!r} in {line!r}')
            value, pos = _parse_label_value(text, pos + 1, line)
            if lm.group(0) in labels:
                raise SpecError(f"duplicate label {lm.group(0)!r} in {line!r}")
            labels[lm.group(0)] = value
            if len(labels) > MAX_LABELS_PER_SERIES:
                raise SpecError(f"more than {MAX_LABELS_PER_SERIES} labels in {line!r}")
    return (name, tuple(sorted(labels.items()))), text[pos:]


def parse_value(token, line):
    try:
        # float() accepts nan, inf, +inf, -inf in any case, as Prometheus does.
        return float(token)
    except ValueError:
        raise SpecError(f"bad value {token!r} in {line!r} (want a float, NaN, +Inf or -Inf)")


def parse_spec(text):
    """Returns (types: {name: type}, samples: [(key, value, rate)]) for spec text."""
    types = {}
    samples = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            tm = _TYPE_RE.match(line)
            if tm:
                types[tm.group(1)] = tm.group(2)
            continue
        key, rest = parse_series(line, line)
        tokens = rest.split()
        if not tokens or len(tokens) > 2:
            raise SpecError(f"want `SERIES VALUE [+RATE/s]`, got {line!r}")
        value = parse_value(tokens[0], line)
        rate = 0.0
        if len(tokens) == 2:
            rm = _RATE_RE.fullmatch(tokens[1])
            if not rm:
                raise SpecError(f"bad rate {tokens[1]!r} in {line!r} (want +RATE/s)")
            rate = parse_value(rm.group(1), line)
        samples.append((key, value, rate))
    return types, samples


def _escape_label_value(value):
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def format_value(value):
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def format_series(key):
    name, labels = key
    if not labels:
        return name
    inner = ",".join(f'{k}="{_escape_label_value(v)}"' for k, v in labels)
    return f"{name}{{{inner}}}"


class Registry:
    """The exporter's series. Thread-safe: every method takes the one lock."""

    def __init__(self, clock=time.monotonic, timestamps=False):
        self._lock = threading.Lock()
        self.timestamps = timestamps
        # With timestamps the clock is the samples' own: whole milliseconds as an integer, so
        # that differences are exact (epoch seconds as a float are not).
        self._clock = (lambda: time.time_ns() // 1_000_000) if timestamps else clock
        self._seconds_per_tick = 1 / 1000 if timestamps else 1
        self._types = {}
        # key -> (value at start, rate per second, start time)
        self._series = {}

    def apply(self, types, samples):
        with self._lock:
            new_keys = {k for k, _, _ in samples} - self._series.keys()
            if len(self._series) + len(new_keys) > MAX_SERIES:
                raise SpecError(f"more than {MAX_SERIES} series")
            self._types.update(types)
            now = self._clock()
            for key, value, rate in samples:
                self._series[key] = (value, rate, now)
        return len(samples)

    def delete(self, keys):
        with self._lock:
            missing = [k for k in keys if k not in self._series]
            if missing:
                raise KeyError(", ".join(format_series(k) for k in missing))
            for k in keys:
                del self._series[k]
        return len(keys)

    def _type_of(self, name):
        return self._types.get(name, "counter" if name.endswith("_total") else "gauge")

    def exposition(self):
        with self._lock:
            now = self._clock()
            lines = []
            last_name = None
            for key in sorted(self._series):
                name = key[0]
                if name != last_name:
                    lines.append(f"# TYPE {name} {self._type_of(name)}")
                    last_name = name
                value, rate, start = self._series[key]
                elapsed = (now - start) * self._seconds_per_tick
                current = value + rate * elapsed if rate else value
                stamp = f" {now}" if self.timestamps else ""
                lines.append(f"{format_series(key)} {format_value(current)}{stamp}")
            return "\n".join(lines) + "\n"


class Handler(http.server.BaseHTTPRequestHandler):
    registry = None  # set by main()
    protocol_version = "HTTP/1.1"

    def _reply(self, code, body, content_type="text/plain; charset=utf-8"):
        data = body.encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        # Scrapes arrive every second; only changes are worth a log line.
        if self.command == "POST":
            sys.stderr.write("exporter: %s\n" % (fmt % args))

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._reply(200, self.registry.exposition(), "text/plain; version=0.0.4; charset=utf-8")
        elif path == "/healthz":
            self._reply(200, "ok")
        else:
            self._reply(404, f"no such path {path}; try /metrics, POST /set or POST /delete\n")

    def do_POST(self):
        path = self.path.split("?", 1)[0]
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            self._reply(400, "bad Content-Length\n")
            return
        if length < 0 or length > MAX_BODY_BYTES:
            self._reply(413, f"body must be at most {MAX_BODY_BYTES} bytes\n")
            return
        body = self.rfile.read(length).decode("utf-8", errors="replace")
        try:
            if path == "/set":
                types, samples = parse_spec(body)
                n = self.registry.apply(types, samples)
                self._reply(200, f"set {n} series\n")
            elif path == "/delete":
                keys = []
                for raw in body.splitlines():
                    line = raw.strip()
                    if line and not line.startswith("#"):
                        key, rest = parse_series(line, line)
                        if rest.strip():
                            raise SpecError(f"unexpected {rest.strip()!r} after series in {line!r}")
                        keys.append(key)
                n = self.registry.delete(keys)
                self._reply(200, f"deleted {n} series\n")
            else:
                self._reply(404, f"no such path {path}; POST to /set or /delete\n")
        except SpecError as e:
            self._reply(400, f"{e}\n")
        except KeyError as e:
            self._reply(404, f"no such series: {e.args[0]}\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one")
    parser.add_argument("--port-file", help="write the bound port here once listening")
    parser.add_argument("--spec", action="append", default=[], help="spec file (repeatable)")
    parser.add_argument("--metric", action="append", default=[], help="one spec line (repeatable)")
    parser.add_argument("--timestamps", action="store_true",
                        help="give every sample its timestamp (see above)")
    args = parser.parse_args(argv)

    registry = Registry(timestamps=args.timestamps)
    try:
        for path in args.spec:
            with open(path, encoding="utf-8") as f:
                registry.apply(*parse_spec(f.read()))
        registry.apply(*parse_spec("\n".join(args.metric)))
    except (OSError, SpecError) as e:
        print(f"exporter: {e}", file=sys.stderr)
        return 2

    Handler.registry = registry
    server = http.server.ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    if args.port_file:
        # Written atomically so a reader never sees a partial number.
        tmp = args.port_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.port_file)
    print(f"exporter: listening on http://{args.host}:{port}/metrics", file=sys.stderr, flush=True)

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.serve_forever()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
