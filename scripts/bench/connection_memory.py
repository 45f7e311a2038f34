#!/usr/bin/env python3
"""Does the adapter give back the memory its connections took?

Starts the test cluster (test/integration/harness.py), reads the adapter's RSS (VmRSS in
/proc/PID/status), then opens WAVES waves of idle TLS connections (handshake done, no request),
WAVE_SIZE at once from several loopback source addresses (each under the per-source limit), holds
them a moment and closes them. It then waits for the adapter's open descriptors to come back and
prints one line, the RSS before, at the peak, and SETTLE_S after:
`start_mib=A peak_mib=B end_mib=C connections=N`.

    MA_ADAPTER_BIN=build/bin/metrics-adapter python3 scripts/bench/connection_memory.py

MA_WAVES=N changes the number of waves; MA_VERBOSE=1 prints the RSS after each wave.
"""

import os
import pathlib
import resource
import socket
import ssl
import sys
import time

SOURCE_DIR = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(SOURCE_DIR / "test" / "integration"))
import harness  # noqa: E402

WAVES = int(os.environ.get("MA_WAVES", "2"))
WAVE_SIZE = 1000
SOURCES = [f"127.0.0.{i}" for i in range(2, 10)]  # 125 each: under the per-source limit
SETTLE_TIMEOUT_S = 30
# Read the RSS this long after the descriptors came back: two of the adapter's heap trim
# intervals (adapter/app/heap_trimmer.h).
SETTLE_S = 10


def rss_mib(pid):
    return harness.process_stats(pid).rss_bytes / 2**20


def open_fds(pid):
    return harness.process_stats(pid).open_fds


def idle_tls_connections(port, cafile, count):
    context = ssl.create_default_context(cafile=str(cafile))
    out = []
    for i in range(count):
        raw = socket.create_connection(("127.0.0.1", port), timeout=10,
                                       source_address=(SOURCES[i % len(SOURCES)], 0))
        out.append(context.wrap_socket(raw, server_hostname="localhost"))
    return out


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, WAVE_SIZE + 512), hard), hard))
    with harness.Cluster() as cluster:
        pid = cluster.children["adapter"].process.pid
        port = int(cluster.base_url.rsplit(":", 1)[1])
        assert cluster.curl("/readyz").status == 200
        time.sleep(1)
        start, fds = rss_mib(pid), open_fds(pid)
        peak = start
        for _ in range(WAVES):
            conns = idle_tls_connections(port, cluster.pki.ca_crt, WAVE_SIZE)
            time.sleep(1)
            peak = max(peak, rss_mib(pid))
            for c in conns:
                c.close()
            harness.wait_until(lambda: open_fds(pid) <= fds + 8, SETTLE_TIMEOUT_S,
                               "the adapter's descriptors to come back")
            if os.environ.get("MA_VERBOSE"):
                print(f"after a wave: {rss_mib(pid):.1f} MiB", file=sys.stderr)
        time.sleep(SETTLE_S)
        print(f"start_mib={start:.1f} peak_mib={peak:.1f} end_mib={rss_mib(pid):.1f}"
              f" connections={WAVES * WAVE_SIZE}")


if __name__ == "__main__":
    main()
