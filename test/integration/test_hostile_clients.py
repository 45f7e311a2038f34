"""Fair to the aggregator while other clients are hostile.

An attacker thread keeps about 1,400 TCP connections open from six other loopback addresses
(127.0.0.2-7), more than the server's 1,024 slots, never sending a byte, and opens a new one for
each the server closes, as a pod flooding the adapter would. A few more complete the TLS
handshake and then write a request one byte at a time. While that goes on, the real clients
(kubectl and curl from 127.0.0.1, as the aggregator would be) must be answered every time. When
the attack stops, the adapter's open file descriptors come back to where they were.

Without the per-source limit and the eviction of idle connections (adapter/server/
connection_slots.h) the attacker holds every slot and the real clients' connections are closed
at accept.
"""

import os
import resource
import select
import socket
import ssl
import threading
import time
import unittest

import harness

EXTERNAL = "/apis/external.metrics.k8s.io/v1beta1"
HOSTILE_SOURCES = [f"127.0.0.{i}" for i in range(2, 8)]
HOSTILE_CONNECTIONS = 1400
SLOW_WRITERS = 20
SLOW_WRITER_SOURCE = "127.0.0.8"
# The real clients' calls made while the attack runs; every one must succeed.
CLIENT_CALLS = 8
# How long the open descriptors may take to come back after the attack stops.
FD_SETTLE_TIMEOUT_S = 30
# Descriptors the adapter may open meanwhile for its own work (outbound connections).
FD_SLACK = 8


def _open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


class Attacker:
    """Keeps HOSTILE_CONNECTIONS idle connections open, replacing each one the server closes."""

    def __init__(self, port):
        self.port = port
        self.sockets = []
        self.opened = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _connect(self, source):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((source, 0))
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", self.port))
        self.opened += 1
        return s

    def _run(self):
        i = 0
        while len(self.sockets) < HOSTILE_CONNECTIONS:
            self.sockets.append(self._connect(HOSTILE_SOURCES[i % len(HOSTILE_SOURCES)]))
            i += 1
        poller = select.poll()  # select() cannot take descriptors above 1023
        by_fd = {}
        for s in self.sockets:
            poller.register(s, select.POLLIN)
            by_fd[s.fileno()] = s
        while not self.stop.is_set():
            for fd, _ in poller.poll(50):  # readable with nothing sent: closed by the server
                s = by_fd.pop(fd)
                poller.unregister(fd)
                self.sockets.remove(s)
                s.close()
                fresh = self._connect(HOSTILE_SOURCES[i % len(HOSTILE_SOURCES)])
                i += 1
                self.sockets.append(fresh)
                poller.register(fresh, select.POLLIN)
                by_fd[fresh.fileno()] = fresh

    def close(self):
        self.stop.set()
        self.thread.join()
        for s in self.sockets:
            s.close()


class HostileClientsTest(harness.ClusterTestCase):

    @classmethod
    def setUpClass(cls):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = HOSTILE_CONNECTIONS + SLOW_WRITERS + 512
        if soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
        super().setUpClass()

    def _slow_writers(self, port):
        context = ssl.create_default_context(cafile=str(self.cluster.pki.ca_crt))
        writers = []
        for _ in range(SLOW_WRITERS):
            raw = socket.create_connection(("127.0.0.1", port), timeout=10,
                                           source_address=(SLOW_WRITER_SOURCE, 0))
            tls = context.wrap_socket(raw, server_hostname="localhost")
            tls.sendall(b"G")
            writers.append(tls)
        return writers

    def test_real_clients_are_served_while_others_hold_every_slot(self):
        pid = self.cluster.children["adapter"].process.pid
        port = int(self.cluster.base_url.rsplit(":", 1)[1])
        self.assertEqual(self.cluster.curl("/readyz").status, 200)
        baseline = _open_fds(pid)

        writers = self._slow_writers(port)
        attacker = Attacker(port)
        attacker.thread.start()
        try:
            harness.wait_until(lambda: len(attacker.sockets) >= HOSTILE_CONNECTIONS, 30,
                               "the attacker's connections to be open")
            for call in range(CLIENT_CALLS):
                for w in writers:  # one more byte each, keeping their requests unfinished
                    try:
                        w.send(b"E")
                    except OSError:
                        pass  # closed to make room: fine, it was idle
                code, out, err = self.cluster.kubectl_raw(EXTERNAL)
                self.assertEqual(code, 0, f"call {call}: kubectl failed under attack: {err}")
                self.assertIn("ExternalMetricValueList", out)
                r = self.cluster.curl("/readyz")
                self.assertEqual(r.status, 200, f"call {call}: {r.stderr}")
            # The server closed idle attacker connections to make room (the attacker replaced
            # them), and said so on /metrics: the eviction happened, not a lucky timeout.
            self.assertGreater(attacker.opened, HOSTILE_CONNECTIONS)
            samples = self.cluster.adapter_metrics()
            evicted = harness.metric_value(samples, "metrics_adapter_connections_evicted_total")
            self.assertGreater(evicted or 0, 0)
            self.assertLessEqual(
                harness.metric_value(samples, "metrics_adapter_open_connections"),
                1024 + len(HOSTILE_SOURCES) + SLOW_WRITERS)
        finally:
            attacker.close()
            for w in writers:
                w.close()

        def settled():
            return _open_fds(pid) <= baseline + FD_SLACK

        harness.wait_until(settled, FD_SETTLE_TIMEOUT_S,
                           f"the adapter's open descriptors to return to about {baseline}")


if __name__ == "__main__":
    unittest.main()
