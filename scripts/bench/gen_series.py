#!/usr/bin/env python3
"""Writes a realistic Prometheus /api/v1/series response body of N series.

Usage: gen_series.py N OUT

The series look like a Kubernetes cluster's: a dozen metric names with namespace, pod, job,
instance and a few metric-specific labels (container, code, method, queue), 100-150 bytes each,
sorted by metric name as Prometheus returns them. The output is deterministic for a given N.
"""

import random
import sys

# Metric name -> extra labels (name -> values) besides namespace/pod/job/instance.
METRICS = [
    ("container_cpu_usage_seconds_total", {"container": ["app", "istio-proxy", "log-shipper"]}),
    ("container_memory_working_set_bytes", {"container": ["app", "istio-proxy", "log-shipper"]}),
    ("container_network_receive_bytes_total", {"interface": ["eth0"]}),
    ("http_requests_total", {"code": ["200", "404", "500"], "method": ["GET", "POST"]}),
    ("http_request_duration_seconds_count", {"handler": ["/api", "/health", "/login"]}),
    ("process_resident_memory_bytes", {}),
    ("process_cpu_seconds_total", {}),
    ("go_goroutines", {}),
    ("queue_messages_ready", {"queue": ["orders", "payments", "emails", "audit"]}),
    ("kube_pod_container_status_restarts_total", {"container": ["app", "istio-proxy"]}),
    ("grpc_server_handled_total", {"grpc_code": ["OK", "Unavailable"], "grpc_method": ["Get", "List"]}),
    ("up", {}),
]
APPS = ["frontend", "checkout", "cart", "payments", "search", "catalog", "shipping", "auth",
        "recommend", "ads", "email", "currency"]
ALNUM = "bcdfghjklmnpqrstvwxz2456789"


def pods(rng, count):
    out = []
    for i in range(count):
        app = APPS[i % len(APPS)]
        namespace = f"ns-{i % 97:02d}"
        replica_set = "".join(rng.choice(ALNUM) for _ in range(10))
        suffix = "".join(rng.choice(ALNUM) for _ in range(5))
        ip = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
        out.append((namespace, f"{app}-{replica_set}-{suffix}", app, f"{ip}:80"))
    return out


def main():
    if len(sys.argv) != 3:
        print("usage: gen_series.py N OUT", file=sys.stderr)
        return 2
    total = int(sys.argv[1])
    rng = random.Random(42)
    pod_list = pods(rng, max(1, min(50000, total // 20)))
    per_metric = [total // len(METRICS) + (1 if i < total % len(METRICS) else 0)
                  for i in range(len(METRICS))]
    with open(sys.argv[2], "w", encoding="utf-8") as out:
        out.write('{"status":"success","data":[')
        first = True
        for (name, extra), count in zip(METRICS, per_metric):
            keys = sorted(extra)
            batch = []
            for i in range(count):
                namespace, pod, app, instance = pod_list[i % len(pod_list)]
                variant = i // len(pod_list)
                labels = {"__name__": name, "instance": instance, "job": app}
                if name != "up":
                    labels["namespace"] = namespace
                    labels["pod"] = pod
                for k in keys:
                    values = extra[k]
                    labels[k] = values[variant % len(values)]
                    variant //= len(values)
                if variant:
                    labels["shard"] = str(variant)
                batch.append("{" + ",".join(f'"{k}":"{v}"' for k, v in sorted(labels.items()))
                             + "}")
                if len(batch) == 10000:
                    out.write(("" if first else ",") + ",".join(batch))
                    first = False
                    batch = []
            if batch:
                out.write(("" if first else ",") + ",".join(batch))
                first = False
        out.write("]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
