#!/usr/bin/env bash
# `make bench`: installs what is missing, builds the server and measures it (scripts/bench/bench.py),
# writing docs/benchmarks.md and its latency plots (docs/bench/*.png, gnuplot). Not a test: it never
# fails on a slow figure, only on a broken run.
# MA_BENCH_QUICK=1 runs every measurement briefly, one round, and writes build/bench/ instead of
# docs/ (a smoke run of the script itself). Arguments go to bench.py, e.g. `--only ae` for (a) and
# (e) alone, `--out FILE`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
make --no-print-directory build
args=()
[[ "${MA_BENCH_QUICK:-0}" == 1 ]] && args+=(--quick)
MA_ADAPTER_BIN="$PWD/build/bin/metrics-adapter" exec python3 scripts/bench/bench.py "${args[@]}" "$@"
