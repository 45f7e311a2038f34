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

import unittest

import harness

EXTERNAL = "/apis/external.metrics.k8s.io/v1beta1"
# Six attacking addresses: at most 6 x 256 connections admitted, more than the 1,024 slots.
HOSTILE_SOURCES = harness.HOSTILE_SOURCES[:6]
HOSTILE_CONNECTIONS = 1400
SLOW_WRITERS = 20
# The real clients' calls made while the attack runs; every one must succeed.
CLIENT_CALLS = 8
# How long the open descriptors may take to come back after the attack stops.
FD_SETTLE_TIMEOUT_S = 30
# Descriptors the adapter may open meanwhile for its own work (outbound connections).
FD_SLACK = 8


class HostileClientsTest(harness.ClusterTestCase):

    @classmethod
    def setUpClass(cls):
        harness.raise_fd_limit(HOSTILE_CONNECTIONS + SLOW_WRITERS + 512)
        super().setUpClass()

    def test_real_clients_are_served_while_others_hold_every_slot(self):
        pid = self.cluster.adapter_pid()
        port = self.cluster.adapter_port
        self.assertEqual(self.cluster.curl("/readyz").status, 200)
        baseline = harness.process_stats(pid).open_fds

        writers = harness.SlowWriters(port, self.cluster.pki.ca_crt, SLOW_WRITERS,
                                      source="127.0.0.12")
        attacker = harness.IdleConnections(port, HOSTILE_CONNECTIONS, sources=HOSTILE_SOURCES)
        attacker.start()
        try:
            attacker.wait_open()
            for call in range(CLIENT_CALLS):
                writers.trickle()
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
            writers.close()

        def settled():
            return harness.process_stats(pid).open_fds <= baseline + FD_SLACK

        harness.wait_until(settled, FD_SETTLE_TIMEOUT_S,
                           f"the adapter's open descriptors to return to about {baseline}")


if __name__ == "__main__":
    unittest.main()
