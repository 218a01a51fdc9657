#!/usr/bin/env bash
# Durable audit appends per second through AuditLog on SQLite (bench_audit), against the goal
# of >= 50,000 per second, with the parts an append is made of: the store's transaction at a few
# batch sizes, the chain hash, and the caller's record() cost; and the same AuditLog rate on
# PostgreSQL, on a throwaway server (scripts/with-postgres.sh) unless PORTCULLIS_TEST_PG_URL
# names one.
#
#   bash bench/audit.sh [BUILD_DIR]        # default build/release
#   BENCH_CPUS=0 bash bench/audit.sh       # pin everything to these cores (taskset list; default: unpinned)
#
# The AuditLog rows are wall-clock rates (producer threads and the writer thread together, each
# iteration ending with flush(), so every event counted is committed), median of 3. Unpinned by
# default: the writer and the producers are separate threads, as in the gateway, and pinning
# them all to one core measures the scheduler more than the log. The script fails only when it
# cannot measure; a missed goal is reported.
set -euo pipefail

# The PostgreSQL rows need a server: run this script again under a throwaway one.
if [[ -z "${PORTCULLIS_TEST_PG_URL:-}" && -z "${AUDIT_BENCH_NO_PG:-}" ]]; then
  exec bash "$(dirname "$0")/../scripts/with-postgres.sh" bash "$0" "$@"
fi

BUILD_DIR=${1:-build/release}
GOAL=50000
cd "$(dirname "$0")/.."

die() { echo "audit.sh: $*" >&2; exit 1; }
command -v node >/dev/null || die "node is needed to read the benchmark JSON"

# Rebuild when the build dir is configured, so the numbers are never those of a stale binary.
if [[ -f "$BUILD_DIR/CMakeCache.txt" ]]; then
  cmake --build "$BUILD_DIR" --target bench_audit >/dev/null ||
    die "building bench_audit in $BUILD_DIR failed (is Google Benchmark installed?)"
fi
BIN="$BUILD_DIR/bench_audit"
[[ -x "$BIN" ]] || die "$BIN not found: configure $BUILD_DIR first (cmake --preset release)"

PIN=()
if [[ -n "${BENCH_CPUS:-}" ]]; then
  command -v taskset >/dev/null || die "BENCH_CPUS is set but taskset is not installed"
  PIN=(taskset -c "$BENCH_CPUS")
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

echo "bench_audit (${PIN[*]:-unpinned}), median of 3 ..." >&2
"${PIN[@]}" "$BIN" --benchmark_format=json --benchmark_repetitions=3 \
  --benchmark_report_aggregates_only=true >"$TMP/audit.json" 2>"$TMP/audit.err" ||
  { cat "$TMP/audit.err" >&2; die "bench_audit failed"; }

node - "$TMP/audit.json" "$GOAL" "${PIN[*]:-unpinned}" <<'JS'
const fs = require('fs');
const [file, goalText, pin] = process.argv.slice(2);
const goal = Number(goalText);
const fail = (why) => { console.error(`audit.sh: ${why}`); process.exit(1); };

let report;
try { report = JSON.parse(fs.readFileSync(file, 'utf8')); } catch (e) { fail(`bad JSON: ${e}`); }
const rate = {};
const notes = [];
for (const b of report.benchmarks || []) {
  if (b.error_occurred) {
    // The PostgreSQL row says why it did not run; anything else is a failed measurement.
    if (/PostgreSQL/.test(b.name)) { notes.push(`${b.run_name || b.name}: ${b.error_message}`); continue; }
    fail(`${b.name}: ${b.error_message}`);
  }
  if (b.aggregate_name === 'median') rate[b.run_name] = b.items_per_second;
}
const need = (name) => { if (!(rate[name] > 0)) fail(`no result for ${name}`); return rate[name]; };
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const ctx = report.context || {};
const ld = (ctx.load_avg || []).map((x) => x.toFixed(2)).join(' ');

console.log(`Audit log, durable appends (SQLite, ${pin}); ${ctx.host_name || ''} ${ctx.num_cpus || '?'} cpus, ` +
            `load ${ld || '?'}; goal >= ${fmt(goal)}/s`);
console.log('');
console.log('| what | events/s | µs per event | ratio to goal | goal |');
console.log('|---|---:|---:|---:|---|');
for (const p of [1, 4, 8]) {
  const r = need(`BM_AuditLog_SQLite/producers:${p}/real_time`);
  console.log(`| AuditLog, ${p} producer thread${p > 1 ? 's' : ''}, record() + flush() | ${fmt(r)} | ` +
              `${(1e6 / r).toFixed(2)} | ${(r / goal).toFixed(2)} | ${r >= goal ? 'met' : 'missed'} |`);
}
console.log('');
console.log('| part | per second | µs each |');
console.log('|---|---:|---:|');
for (const n of [1, 64, 4096]) {
  const r = need(`BM_StoreAppend_SQLite/batch:${n}/real_time`);
  console.log(`| Store::append_audit, ${n} event${n > 1 ? 's' : ''} per transaction (events) | ${fmt(r)} | ${(1e6 / r).toFixed(2)} |`);
}
const h = need('BM_LinkHash'), rec = need('BM_RecordOnly');
console.log(`| audit::link_hash (encoding + SHA-256), CPU time | ${fmt(h)} | ${(1e6 / h).toFixed(2)} |`);
console.log(`| AuditLog::record() in the caller, CPU time | ${fmt(rec)} | ${(1e6 / rec).toFixed(2)} |`);
for (const p of [1, 8]) {
  const r = rate[`BM_AuditLog_PostgreSQL/producers:${p}/real_time`];
  if (r > 0) {
    if (p === 1) console.log('\n| PostgreSQL (fsync off in the throwaway test server) | events/s | µs per event |\n|---|---:|---:|');
    console.log(`| AuditLog, ${p} producer thread${p > 1 ? 's' : ''}, record() + flush() | ${fmt(r)} | ${(1e6 / r).toFixed(2)} |`);
  }
}
for (const n of notes) console.log(`\nnote: ${n}`);
JS
