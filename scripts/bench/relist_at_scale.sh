#!/usr/bin/env bash
# Discovery at scale (issue 5): serves a generated /api/v1/series answer of N series (default one
# million) from a stand-in Prometheus, starts metrics-adapter against it and measures the wall time
# from launch until the relister logs its first completed run, and the process's peak RSS
# (VmHWM). The last line is `relist_seconds=X peak_rss_mib=Y`; a broken run exits non-zero.
#
# Usage: scripts/bench/relist_at_scale.sh [N]
# Environment: MA_ADAPTER_BIN (default build/bin/metrics-adapter).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
adapter_bin=${MA_ADAPTER_BIN:-$root/build/bin/metrics-adapter}
series=${1:-1000000}
readonly kWaitSeconds=300  # bound on each wait below
readonly kPollSeconds=0.02
readonly kClientTimeoutSeconds=20

if [[ ! -x $adapter_bin ]]; then
  echo "relist_at_scale: $adapter_bin is missing: run make build first (or set MA_ADAPTER_BIN)" >&2
  exit 1
fi
if ! [[ $series =~ ^[0-9]+$ ]]; then
  echo "usage: $0 [N]" >&2
  exit 2
fi

tmp=$(mktemp -d -t ma-relist.XXXXXX)
pids=()
cleanup() {
  local rc=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ $rc -ne 0 ]]; then
    for log in "$tmp"/*.log; do
      [[ -f $log ]] && printf '\n--- %s (last lines)\n' "$(basename "$log")" >&2 &&
        tail -n 30 "$log" >&2
    done
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Polls `command` until it succeeds, at most kWaitSeconds.
wait_for() {
  local what=$1
  shift
  local deadline=$((SECONDS + kWaitSeconds))
  until "$@"; do
    if ((SECONDS > deadline)); then
      echo "relist_at_scale: timed out waiting for $what" >&2
      return 1
    fi
    sleep "$kPollSeconds"
  done
}

python3 "$root/scripts/bench/gen_series.py" "$series" "$tmp/series.json"

# The stand-in Prometheus: every series listing gets the whole file (whatever match[] says, so one
# rule sees all N series), every query an empty vector.
cat >"$tmp/prometheus.py" <<'PY'
import http.server
import os
import sys

SERIES = sys.argv[1]
EMPTY_QUERY = b'{"status":"success","data":{"resultType":"vector","result":[]}}'


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        path = self.path.split("?", 1)[0]
        if path == "/api/v1/series":
            with open(SERIES, "rb") as body:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(os.fstat(body.fileno()).st_size))
                self.end_headers()
                self.connection.sendfile(body)
            return
        body = EMPTY_QUERY if path == "/api/v1/query" else b"not found"
        self.send_response(200 if path == "/api/v1/query" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = answer
    do_POST = answer

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[2] + ".tmp", "w") as out:
    out.write(str(server.server_address[1]))
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
server.serve_forever()
PY
python3 "$tmp/prometheus.py" "$tmp/series.json" "$tmp/prometheus.port" 2>"$tmp/prometheus.log" &
pids+=($!)
wait_for "the stand-in Prometheus" test -s "$tmp/prometheus.port"
prometheus_url="http://127.0.0.1:$(cat "$tmp/prometheus.port")"

cat >"$tmp/rules.yaml" <<'YAML'
rules:
- seriesQuery: '{namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
  name:
    matches: "^(.*)_total$"
    as: "${1}_per_second"
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)'
- seriesQuery: '{namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
  seriesFilters:
  - isNot: "_total$"
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
YAML

adapter_port=$(free_port)
started=$(date +%s.%N)
"$adapter_bin" serve --standalone --config="$tmp/rules.yaml" --prometheus-url="$prometheus_url" \
  --secure-port="$adapter_port" --cert-dir="$tmp/certs" --metrics-relist-interval=1h --v=1 \
  2>"$tmp/adapter.log" &
adapter_pid=$!
pids+=("$adapter_pid")
wait_for "the first relist" grep -q "relist: " "$tmp/adapter.log"
finished=$(date +%s.%N)
peak_kib=$(awk '/^VmHWM:/ {print $2}' "/proc/$adapter_pid/status")

# A broken run (a failed listing, nothing discovered) is not a measurement.
if ! grep -q "relist: .*(0 failed)" "$tmp/adapter.log"; then
  echo "relist_at_scale: the relist failed" >&2
  exit 1
fi
discovery=$(curl -sk --max-time "$kClientTimeoutSeconds" \
  "https://127.0.0.1:$adapter_port/apis/custom.metrics.k8s.io/v1beta1")
resources=$(grep -o '"name":"pods/' <<<"$discovery" | wc -l)
if ((resources == 0)); then
  echo "relist_at_scale: no pod metrics discovered: $discovery" >&2
  exit 1
fi
grep "relist: " "$tmp/adapter.log" | head -n 1 >&2
echo "series=$series pod_metrics=$resources" >&2
awk -v s="$started" -v f="$finished" -v k="$peak_kib" \
  'BEGIN { printf "relist_seconds=%.2f peak_rss_mib=%.1f\n", f - s, k / 1024 }'
