#!/usr/bin/env bash
# `make soak`: installs what is missing, builds the server and runs the soak (test/soak/soak.py)
# for SOAK_MINUTES (30 by default), writing docs/reliability.md. Not a test: it never fails on a
# figure, only on a broken run. SOAK_ADAPTER_ARGS adds flags to the adapter's command line.
# Arguments go to soak.py, e.g. `--out FILE`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
make --no-print-directory build
MA_ADAPTER_BIN="$PWD/build/bin/metrics-adapter" exec python3 -B test/soak/soak.py "$@"
