"""The soak of `make soak` (test/soak/soak.py), short, with assertions.

Four HPA-like clients with the aggregator's identity (front-proxy certificate, X-Remote-User)
poll seven external and custom metric values every second, and a discovery client polls too,
through two faults:

  (a) Prometheus hangs (the proxy in front of it accepts and never answers) for less than
      --cache-max-stale: every poll of a key cached before the hang is answered 200, and some
      with the last value (older than the TTL), so the hang was real;
  (b) 2,000 idle TCP connections from other loopback addresses are held open (replaced as the
      server closes them): every poll of the aggregator's clients is answered meanwhile;
  (c) afterwards the adapter's RSS and open descriptors come back to where they were before the
      load, within FD_SLACK descriptors and RSS_MARGIN_BYTES.

--prometheus-timeout is short here so that a hung query ends within the test's time whatever the
adapter does with the readers waiting for it.
"""

import sys
import unittest

import harness

sys.path.insert(0, str(harness.SOURCE_DIR / "test" / "soak"))
import soak  # noqa: E402  (the same driver as `make soak`: one module, two durations)

SETTINGS = soak.Settings(cache_ttl_s=2, cache_max_stale_s=60, clients=4, poll_interval_s=1.0,
                         discovery_interval_s=5.0, adapter_args=("--prometheus-timeout=3s",))
# Far shorter than max-stale: every key keeps a servable value throughout.
HANG_S = 15
IDLE_CONNECTIONS = 2000
IDLE_HOLD_S = 10
# Value polls the aggregator's clients must have made while the idle connections were open.
MIN_POLLS_UNDER_ATTACK = 20
# "Back to the start": descriptors the adapter may keep for its own outbound connections, and
# memory the allocator may keep after the load.
FD_SLACK = 8
RSS_MARGIN_BYTES = 16 * 2**20
SETTLE_TIMEOUT_S = 45


def _failures(polls):
    return [p for p in polls if p.outcome not in soak.SUCCESS_OUTCOMES]


class SoakShortTest(harness.ClusterTestCase):
    cluster_options = soak.cluster_options()

    @classmethod
    def setUpClass(cls):
        harness.raise_fd_limit(IDLE_CONNECTIONS + 1024)
        super().setUpClass()
        cls.soak = soak.Soak(cls.cluster, SETTINGS)
        cls.soak.prepare()

    def test_hang_idle_connections_and_footprint(self):
        s = self.soak
        s.start_pollers()
        try:
            s.warm_up()  # every value polled has been answered fresh: every key is cached
            start = s.stats()

            s.prometheus_hang(HANG_S)
            hang = s.polls_in(s.windows[-1])
            with self.subTest("(a) no failed poll across a Prometheus hang within max-stale"):
                self.assertEqual(_failures(hang), [])
                self.assertGreater(sum(p.outcome == "stale" for p in hang), 0,
                                   "no value older than the TTL was served: did it hang?")

            s.hostile(IDLE_HOLD_S, idle=IDLE_CONNECTIONS, partial=0, slow=0)
            window = s.windows[-1]
            attacked = [p for p in s.polls_in(window) if p.path in soak.VALUE_PATHS]
            with self.subTest("(b) the aggregator is served while 2,000 idle connections are open"):
                self.assertGreaterEqual(window.idle_open, IDLE_CONNECTIONS)
                self.assertEqual(_failures(s.polls_in(window)), [])
                self.assertGreaterEqual(len(attacked), MIN_POLLS_UNDER_ATTACK)
                self.assertGreater(window.counters.get("connections evicted", 0), 0)

            # ASan's allocator quarantines freed memory and replaces glibc's: RSS is asserted
            # by the release run of this test; under ASan only the descriptors are.
            asan = harness.uses_sanitizer_allocator(self.cluster.adapter_pid())
            rss_margin = float("inf") if asan else RSS_MARGIN_BYTES
            end = s.settle(start, rss_margin, FD_SLACK, SETTLE_TIMEOUT_S)
        finally:
            s.stop_pollers()
        with self.subTest("(c) RSS and open descriptors back to their start after the load"):
            self.assertLessEqual(end.open_fds, start.open_fds + FD_SLACK, f"{start} -> {end}")
            self.assertLessEqual(end.rss_bytes, start.rss_bytes + rss_margin,
                                 f"RSS {start.rss_bytes / 2**20:.1f} MiB before the load, "
                                 f"{end.rss_bytes / 2**20:.1f} MiB after")


if __name__ == "__main__":
    unittest.main()
