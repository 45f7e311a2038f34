#!/usr/bin/env bash
# `make bench`: installs what is missing, builds the server and measures it (scripts/bench/bench.py),
# writing docs/benchmarks.md. Not a test: it never fails on a slow figure, only on a broken run.
# MA_BENCH_QUICK=1 runs every measurement briefly (a smoke run of the script itself).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
make --no-print-directory build
args=()
[[ "${MA_BENCH_QUICK:-0}" == 1 ]] && args+=(--quick)
MA_ADAPTER_BIN="$PWD/build/bin/metrics-adapter" exec python3 scripts/bench/bench.py "${args[@]}" "$@"
