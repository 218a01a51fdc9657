#!/usr/bin/env bash
# JWT verification throughput on one core: bench_verify (ours) against `openssl speed`.
#
#   bash bench/verify.sh [BUILD_DIR]        # default build/release
#   BENCH_CPU=1 bash bench/verify.sh        # pin to another core (default 0)
#
# openssl speed's verify loop is the ceiling: one prepared context, a fixed 36-byte (RSA) or
# 32-byte (ECDSA) digest, no hashing, no parsing. Our "signature" rows are verify() on a real
# token's signing input (hashing included); the "full chain" rows are verify_jws (base64url,
# strict JSON, header rules, signature, claims). Both tools report CPU time per operation, so a
# busy machine skews the two sides alike. The goal is ours >= 0.90 x openssl for RS256 and
# ES256; missing it is reported, not an error: the script fails only when it cannot measure.
set -euo pipefail

BUILD_DIR=${1:-build/release}
CPU=${BENCH_CPU:-0}
GOAL=0.90
cd "$(dirname "$0")/.."

die() { echo "verify.sh: $*" >&2; exit 1; }
command -v openssl >/dev/null || die "openssl (the command) is not installed"
command -v node >/dev/null || die "node is needed to read the benchmark JSON"

# Rebuild when the build dir is configured, so the numbers are never those of a stale binary.
if [[ -f "$BUILD_DIR/CMakeCache.txt" ]]; then
  cmake --build "$BUILD_DIR" --target bench_verify >/dev/null ||
    die "building bench_verify in $BUILD_DIR failed (is Google Benchmark installed?)"
fi
BIN="$BUILD_DIR/bench_verify"
[[ -x "$BIN" ]] || die "$BIN not found: configure $BUILD_DIR first (cmake --preset release)"

PIN=()
if command -v taskset >/dev/null; then
  PIN=(taskset -c "$CPU")
else
  echo "verify.sh: taskset not found, running unpinned" >&2
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

echo "openssl speed -seconds 3 rsa2048 ecdsap256 (${PIN[*]:-unpinned}) ..." >&2
"${PIN[@]}" openssl speed -seconds 3 rsa2048 ecdsap256 >"$TMP/openssl.txt" 2>"$TMP/openssl.err" ||
  { cat "$TMP/openssl.err" >&2; die "openssl speed failed"; }

echo "bench_verify (${PIN[*]:-unpinned}), median of 3 ..." >&2
"${PIN[@]}" "$BIN" --benchmark_format=json --benchmark_repetitions=3 \
  --benchmark_report_aggregates_only=true >"$TMP/ours.json" 2>"$TMP/ours.err" ||
  { cat "$TMP/ours.err" >&2; die "bench_verify failed"; }

node - "$TMP/openssl.txt" "$TMP/ours.json" "$GOAL" "${PIN[*]:-unpinned}" <<'EOF'
const fs = require('fs');
const [osslFile, oursFile, goalText, pin] = process.argv.slice(2);
const goal = Number(goalText);
const fail = (why) => { console.error(`verify.sh: ${why}`); process.exit(1); };

// "rsa 2048 bits 0.000209s 0.000012s   4776.4  80074.2" and
// " 256 bits ecdsa (nistp256)   0.0000s   0.0000s  72370.1  24171.3": verify/s is the last field.
const ossl = {};
for (const line of fs.readFileSync(osslFile, 'utf8').split('\n')) {
  const last = Number(line.trim().split(/\s+/).pop());
  if (/^rsa 2048 bits\s/.test(line.trim())) ossl.rsa = last;
  if (/bits ecdsa \(nistp256\)/.test(line)) ossl.ec = last;
}
if (!(ossl.rsa > 0) || !(ossl.ec > 0)) fail('could not read verify/s from openssl speed');

let report;
try { report = JSON.parse(fs.readFileSync(oursFile, 'utf8')); } catch (e) { fail(`bad JSON: ${e}`); }
const ours = {};
for (const b of report.benchmarks || []) {
  if (b.error_occurred) fail(`${b.name}: ${b.error_message}`);
  if (b.aggregate_name === 'median') ours[b.run_name] = b.items_per_second;
}

const rows = [
  ['RS256 signature (verify)', 'BM_Verify_RS256', ossl.rsa],
  ['RS256 full chain (verify_jws)', 'BM_VerifyJws_RS256', ossl.rsa],
  ['ES256 signature (verify)', 'BM_Verify_ES256', ossl.ec],
  ['ES256 full chain (verify_jws)', 'BM_VerifyJws_ES256', ossl.ec],
];
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const ctx = report.context || {};
console.log(`JWT verification, one thread (${pin}), CPU time; ${ctx.host_name || ''} ` +
            `${ctx.num_cpus || '?'} cpus @ ${ctx.mhz_per_cpu || '?'} MHz`);
console.log('');
console.log('| what | ours verify/s | openssl verify/s | ratio | goal ' + goal.toFixed(2) + ' |');
console.log('|---|---:|---:|---:|---|');
for (const [label, name, ref] of rows) {
  const v = ours[name];
  if (!(v > 0)) fail(`no result for ${name}`);
  const ratio = v / ref;
  console.log(`| ${label} | ${fmt(v)} | ${fmt(ref)} | ${ratio.toFixed(2)} | ` +
              `${ratio >= goal ? 'met' : 'missed'} |`);
}
console.log('');
const cold = ours['BM_Verify_RS256_ColdCache'];
if (cold > 0)
  console.log(`RS256 signature, context cache missed every time (512 keys round robin): ` +
              `${fmt(cold)}/s (${(cold / ossl.rsa).toFixed(2)} x openssl)`);
const parse = ours['BM_ParseJws_RS256'];
if (parse > 0)
  console.log(`parse_jws alone (RS256 token): ${fmt(parse)}/s = ${(1e6 / parse).toFixed(2)} µs per token`);
EOF
