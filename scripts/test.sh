#!/usr/bin/env bash
# Runs the unit tests (ctest) and the integration tests (Node's runner) under a throwaway
# PostgreSQL server and ends with one plain "N passed, N failed" line over both. Exit status:
# non-zero if either runner failed.
set -uo pipefail
build_dir=${1:?build dir}
# The whole run shares one throwaway PostgreSQL server (scripts/with-postgres.sh exports
# PORTCULLIS_TEST_PG_URL), so the store suite runs on both backends and integration tests can
# use it too.
if [ -z "${PORTCULLIS_TEST_PG_URL:-}" ]; then
  exec bash "$(dirname "$0")/with-postgres.sh" bash "$0" "$@"
fi
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" 2>&1 | tee "$log/unit"
unit_rc=${PIPESTATUS[0]}
PORTCULLIS_BIN="$PWD/build/portcullis" node --test --test-concurrency=2 --test-reporter=spec \
  tests/integration/ 2>&1 | tee "$log/integration"
int_rc=${PIPESTATUS[0]}

unit_total=$(grep -oE 'tests failed out of [0-9]+' "$log/unit" | grep -oE '[0-9]+$' || echo 0)
unit_failed=$(grep -oE '[0-9]+ tests failed' "$log/unit" | grep -oE '^[0-9]+' || echo 0)
int_pass=$(grep -oE '^ℹ pass [0-9]+' "$log/integration" | grep -oE '[0-9]+$' || echo 0)
int_fail=$(grep -oE '^ℹ fail [0-9]+' "$log/integration" | grep -oE '[0-9]+$' || echo 0)
passed=$(( unit_total - unit_failed + int_pass ))
failed=$(( unit_failed + int_fail ))
# A runner that crashed before counting still fails the run.
[ "$unit_rc" -ne 0 ] && [ "$unit_failed" -eq 0 ] && failed=$(( failed + 1 ))
[ "$int_rc" -ne 0 ] && [ "$int_fail" -eq 0 ] && failed=$(( failed + 1 ))
echo
echo "unit: $(( unit_total - unit_failed )) of $unit_total; integration: $int_pass of $(( int_pass + int_fail ))"
echo "$passed passed, $failed failed"
[ "$unit_rc" -eq 0 ] && [ "$int_rc" -eq 0 ] && [ "$failed" -eq 0 ]
