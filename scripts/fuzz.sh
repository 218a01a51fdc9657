#!/usr/bin/env bash
# Builds the libFuzzer targets (preset `fuzz`: clang-15, -fsanitize=fuzzer,address,undefined) and
# runs each for SECONDS (default 60) from its seed corpus in fuzz/corpus/<target>/. New inputs go
# to build/fuzz/corpus/<target>/ (the repository's seeds stay small), crash inputs to
# build/fuzz/artifacts/. Prints executions and crashes per target; fails when any target crashed.
#   bash scripts/fuzz.sh 10        # a short run, e.g. from CI or `make asan`
set -euo pipefail
SECONDS_EACH="${1:-60}"
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh fuzz
[ -f build/fuzz/build.ninja ] || cmake --preset fuzz >/dev/null
TARGETS="http jose json config redactor jsonrpc json_schema a2a_protocol edge_address"
cmake --build build/fuzz -j "${JOBS:-$(nproc)}" $(for t in $TARGETS; do echo --target fuzz_$t; done)

mkdir -p build/fuzz/artifacts
failed=0
for t in $TARGETS; do
  work="build/fuzz/corpus/$t"
  mkdir -p "$work"
  log="build/fuzz/$t.log"
  rc=0
  # -rss_limit_mb bounds memory; -timeout flags one input slower than 10 s as a hang.
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ASAN_SYMBOLIZER_PATH="$(command -v llvm-symbolizer-15 || command -v llvm-symbolizer || true)" \
    "build/fuzz/bin/fuzz_$t" -max_total_time="$SECONDS_EACH" -print_final_stats=1 -timeout=10 \
    -rss_limit_mb=2048 -max_len=16384 -artifact_prefix="build/fuzz/artifacts/$t-" \
    "$work" "fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
  # No stats line (the target never started) must still print a row, not end the script.
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || true)
  crashes=0
  if [ "$rc" -ne 0 ]; then
    crashes=1  # libFuzzer stops at the first crash
    failed=1
  fi
  printf 'fuzz_%-7s %10s executions in %ss, %d crash(es)%s\n' "$t" "${execs:-?}" "$SECONDS_EACH" "$crashes" \
    "$([ "$crashes" -ne 0 ] && echo " — see $log and build/fuzz/artifacts/$t-*")"
done
exit $failed
