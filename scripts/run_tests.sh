#!/usr/bin/env bash
# Runs the whole CTest suite (unit + integration) in each build dir given, then prints one plain
# line "N passed, N failed" over all runs. Exits 1 if any test failed or a run gave no summary.
#
# Usage: scripts/run_tests.sh BUILD_DIR [BUILD_DIR...]
set -uo pipefail

# Sanitizer reports should carry stacks and stop the process at the first error.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1}

passed=0
failed=0
rc=0
for dir in "$@"; do
  log="$dir/ctest.log"
  echo "=== ctest in $dir"
  (cd "$dir" && ctest --output-on-failure -j"$(nproc)") 2>&1 | tee "$log"
  [[ ${PIPESTATUS[0]} -eq 0 ]] || rc=1
  # ctest ends with e.g. "97% tests passed, 1 tests failed out of 42".
  summary=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)
  if [[ -z $summary ]]; then
    echo "run_tests: no ctest summary in $log; counting the run as one failure" >&2
    failed=$((failed + 1))
    rc=1
    continue
  fi
  run_failed=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$summary")
  run_total=$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$summary")
  passed=$((passed + run_total - run_failed))
  failed=$((failed + run_failed))
done
echo "$passed passed, $failed failed"
exit $rc
