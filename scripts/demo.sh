#!/usr/bin/env bash
# make demo: a local Prometheus (Debian's package) scraping the test exporter, metrics-adapter in
# standalone mode over TLS with freshly generated certificates, and kubectl asking it questions.
# Everything lives in a temp dir and is stopped on exit.
#
# Environment: MA_ADAPTER_BIN (default build/bin/metrics-adapter).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
adapter_bin=${MA_ADAPTER_BIN:-$root/build/bin/metrics-adapter}
readonly kWaitSeconds=60  # bound on each wait below
readonly kPollSeconds=0.2
readonly kClientTimeoutSeconds=20
# Scrapes (one a second) before asking: the rules' rate() window is 10s.
readonly kScrapesBeforeDemo=10

if [[ ! -x $adapter_bin ]]; then
  echo "demo: $adapter_bin is missing: run make build first (or set MA_ADAPTER_BIN)" >&2
  exit 1
fi

tmp=$(mktemp -d -t ma-demo.XXXXXX)
pids=()
cleanup() {
  local rc=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ $rc -ne 0 ]]; then
    for log in "$tmp"/*.log; do
      [[ -f $log ]] && printf '\n--- %s (last lines)\n' "$(basename "$log")" && tail -n 30 "$log"
    done
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for() {  # wait_for DESCRIPTION COMMAND...
  local what=$1
  shift
  local deadline=$((SECONDS + kWaitSeconds))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      echo "demo: timed out after ${kWaitSeconds}s waiting for $what" >&2
      return 1
    fi
    sleep "$kPollSeconds"
  done
}

prometheus_has() {  # prometheus_has PROMQL: true when the instant query returns a sample
  curl -sf --max-time "$kClientTimeoutSeconds" "$prometheus_url/api/v1/query" \
    --data-urlencode "query=$1" | grep -q '"value"'
}

echo "demo: working in $tmp"
"$root/scripts/gen_certs.sh" "$tmp/pki"

python3 "$root/test/exporter/exporter.py" --spec "$root/test/data/integration/metrics.txt" \
  --port-file "$tmp/exporter.port" >"$tmp/exporter.log" 2>&1 &
pids+=($!)
wait_for "the exporter" test -s "$tmp/exporter.port"
exporter_port=$(<"$tmp/exporter.port")

prometheus_port=$(free_port)
prometheus_url="http://127.0.0.1:$prometheus_port"
cat >"$tmp/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
- job_name: exporter
  static_configs:
  - targets: ['127.0.0.1:$exporter_port']
EOF
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/prometheus-data" \
  --web.listen-address="127.0.0.1:$prometheus_port" >"$tmp/prometheus.log" 2>&1 &
pids+=($!)
wait_for "Prometheus on $prometheus_url" curl -sf "$prometheus_url/-/ready"
echo "demo: Prometheus on $prometheus_url scrapes the exporter on port $exporter_port"
wait_for "$kScrapesBeforeDemo scrapes of the exporter" \
  prometheus_has "count_over_time(up{job=\"exporter\"}[1m]) >= $kScrapesBeforeDemo"

adapter_port=$(free_port)
adapter_url="https://127.0.0.1:$adapter_port"
"$adapter_bin" serve --standalone --config="$root/test/data/integration/rules.yaml" \
  --prometheus-url="$prometheus_url" --secure-port="$adapter_port" \
  --tls-cert-file="$tmp/pki/server.crt" --tls-private-key-file="$tmp/pki/server.key" \
  --metrics-relist-interval=10s >"$tmp/adapter.log" 2>&1 &
pids+=($!)
wait_for "the adapter's /readyz on $adapter_url" \
  curl -sf --max-time "$kClientTimeoutSeconds" --cacert "$tmp/pki/ca.crt" "$adapter_url/readyz"
echo "demo: metrics-adapter on $adapter_url (standalone, TLS with a CA generated for the demo)"

cat >"$tmp/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: demo
  cluster:
    server: "$adapter_url"
    certificate-authority: "$tmp/pki/ca.crt"
users:
- name: demo
  user:
    client-certificate: "$tmp/pki/client.crt"
    client-key: "$tmp/pki/client.key"
contexts:
- name: demo
  context: {cluster: demo, user: demo}
current-context: demo
EOF

kubectl_raw() {
  kubectl --kubeconfig "$tmp/kubeconfig" --cache-dir "$tmp/kube-cache" \
    --request-timeout="${kClientTimeoutSeconds}s" get --raw "$1"
}
external_discovery_lists_queue_depth() {
  [[ $(kubectl_raw /apis/external.metrics.k8s.io/v1beta1) == *'"queue_depth"'* ]]
}
# The first relist runs at startup; give it a moment to list the external metrics.
wait_for "queue_depth in external discovery" external_discovery_lists_queue_depth

failures=0
show() {  # show HEADING PATH
  printf '\n== %s\n$ kubectl get --raw \x27%s\x27\n' "$1" "$2"
  local out
  if out=$(kubectl_raw "$2"); then
    python3 -m json.tool <<<"$out" || printf '%s\n' "$out"
  else
    failures=$((failures + 1))
  fi
}

show "External metrics the adapter discovered" "/apis/external.metrics.k8s.io/v1beta1"
show "An external value: queue_depth of queue orders in namespace shop" \
  "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue_depth?labelSelector=queue%3Dorders"
show "Custom metrics the adapter discovered" "/apis/custom.metrics.k8s.io/v1beta1"
show "A custom value by pod name: requests per second of pod web-1" \
  "/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/web-1/http_requests_per_second"
show "A namespace metric: cost of namespace shop" \
  "/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/metrics/namespace_cost"

echo
if [[ $failures -gt 0 ]]; then
  echo "demo: $failures of 5 requests failed (adapter log below)" >&2
  exit 1
fi
echo "demo: done; stopping the adapter, Prometheus and the exporter"
