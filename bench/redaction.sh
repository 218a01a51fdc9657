#!/usr/bin/env bash
# Redaction throughput on one core (bench_redaction, Google Benchmark): Redactor::redact over
# 1 MiB of clean prose (with numbers) and over 1 MiB dense with PII (a value every ~80 bytes),
# with the default detectors and with all of them. Goals (ISSUE 10): >= 1 GB/s clean, >= 200 MB/s
# dense. Reports the best and the median of BENCH_REPS runs (CPU time: a busy machine lowers
# both; the best is the closest to an idle core). Fails only when it cannot measure.
#
#   bash bench/redaction.sh [BUILD_DIR]     # default build/release
set -euo pipefail
BUILD_DIR=${1:-build/release}
CPU=${BENCH_CPU:-0}
REPS=${BENCH_REPS:-5}
cd "$(dirname "$0")/.."
die() { echo "redaction.sh: $*" >&2; exit 1; }
command -v node >/dev/null || die "node is needed to read the benchmark JSON"
if [[ -f "$BUILD_DIR/CMakeCache.txt" ]]; then
  cmake --build "$BUILD_DIR" --target bench_redaction >/dev/null ||
    die "building bench_redaction in $BUILD_DIR failed (is Google Benchmark installed?)"
fi
BIN="$BUILD_DIR/bench_redaction"
[[ -x "$BIN" ]] || die "$BIN not found: configure $BUILD_DIR first (cmake --preset release)"
PIN=()
command -v taskset >/dev/null && PIN=(taskset -c "$CPU")
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
echo "bench_redaction (${PIN[*]:-unpinned}), $REPS runs ..." >&2
"${PIN[@]}" "$BIN" --benchmark_format=json --benchmark_repetitions="$REPS" >"$TMP/out.json" 2>"$TMP/err" ||
  { cat "$TMP/err" >&2; die "bench_redaction failed"; }
# Google Benchmark writes NaN for some aggregate counters: not JSON.
sed -i 's/: -\?nan/: null/I; s/: -\?inf/: null/I' "$TMP/out.json"
node - "$TMP/out.json" "${PIN[*]:-unpinned}" <<'JS'
const fs = require('fs');
const [file, pin] = process.argv.slice(2);
const r = JSON.parse(fs.readFileSync(file, 'utf8'));
const runs = {};
for (const b of r.benchmarks || []) {
  if (b.error_occurred) { console.error(`${b.name}: ${b.error_message}`); process.exit(1); }
  if (b.run_type !== 'iteration') continue;
  (runs[b.run_name] = runs[b.run_name] || []).push(b.bytes_per_second / 1e6);
}
const rows = [
  ['clean prose, default detectors', 'BM_Redact_Clean_Default', 1000],
  ['PII-dense, default detectors', 'BM_Redact_Dense_Default', 200],
  ['clean prose, all 11 detectors', 'BM_Redact_Clean_AllKinds', 1000],
  ['PII-dense, all 11 detectors', 'BM_Redact_Dense_AllKinds', 200],
];
console.log(`Redaction, one thread (${pin}), CPU time, 1 MiB per call; ${r.context?.host_name || ''}`);
console.log('');
console.log('| text | best MB/s | median MB/s | goal | |');
console.log('|---|---:|---:|---:|---|');
for (const [label, name, goal] of rows) {
  const v = (runs[name] || []).sort((a, b) => a - b);
  if (!v.length) { console.error(`no result for ${name}`); process.exit(1); }
  const best = v[v.length - 1], median = v[v.length >> 1];
  console.log(`| ${label} | ${best.toFixed(0)} | ${median.toFixed(0)} | ${goal} | ${best >= goal ? 'met' : 'missed'} |`);
}
JS
