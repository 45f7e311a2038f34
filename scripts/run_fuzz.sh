#!/usr/bin/env bash
# Runs every libFuzzer binary in a directory for a bounded time each; fails on any crash, leak or
# sanitizer report (libFuzzer exits non-zero and leaves the input under ARTIFACTS_DIR).
#
# Usage: scripts/run_fuzz.sh FUZZ_BIN_DIR SECONDS_PER_TARGET WORK_DIR
# Seeds, when present, come from test/fuzz/corpus/<target>/ (read-only); new inputs go to
# WORK_DIR/corpus/<target>/.
set -uo pipefail

if [[ $# -ne 3 ]]; then
  echo "usage: $0 FUZZ_BIN_DIR SECONDS_PER_TARGET WORK_DIR" >&2
  exit 2
fi
bin_dir=$1
seconds=$2
work=$3
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Bounds every input so a slow or huge case is a finding, not a hang.
readonly kMaxInputBytes=65536
readonly kPerInputTimeoutS=10
readonly kRssLimitMb=2048

shopt -s nullglob
targets=()
for f in "$bin_dir"/*; do
  [[ -f $f && -x $f ]] && targets+=("$f")
done
if [[ ${#targets[@]} -eq 0 ]]; then
  echo "run_fuzz: no fuzz binaries in $bin_dir (ma_fuzz_target builds them with -DMA_FUZZ=ON)" >&2
  exit 1
fi

failed=()
for target in "${targets[@]}"; do
  name=$(basename "$target")
  corpus="$work/corpus/$name"
  artifacts="$work/artifacts/$name/"
  mkdir -p "$corpus" "$artifacts"
  seeds=()
  [[ -d $root/test/fuzz/corpus/$name ]] && seeds=("$root/test/fuzz/corpus/$name")
  echo "=== fuzzing $name for ${seconds}s"
  if "$target" -max_total_time="$seconds" -max_len="$kMaxInputBytes" \
    -timeout="$kPerInputTimeoutS" -rss_limit_mb="$kRssLimitMb" -print_final_stats=1 \
    -artifact_prefix="$artifacts" "$corpus" "${seeds[@]}"; then
    echo "=== $name: ok"
  else
    echo "=== $name: FAILED; reproducer in $artifacts" >&2
    failed+=("$name")
  fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "run_fuzz: ${#failed[@]} of ${#targets[@]} targets failed: ${failed[*]}" >&2
  exit 1
fi
echo "run_fuzz: ${#targets[@]} targets ran ${seconds}s each without a finding"
