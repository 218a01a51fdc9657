#!/usr/bin/env bash
# Admin list latency with 100,000 tenants: GET /v1/tenants?limit=100 as a platform admin, from
# the start of the list and from a cursor in the middle of the id range, against the goal
# p99 <= 5 ms. Prints req/s, p50 and p99 and the ratio of p99 to the goal. See bench/README.md.
#
#   bash bench/admin_list.sh [BUILD_DIR]      # default build/release (its portcullis binary)
#
# Steps: a fresh data dir; the gateway starts once (schema, keys, bootstrap admin) and stops;
# BENCH_TENANTS rows go into the tenants table with the sqlite3 CLI in one transaction; the
# gateway starts again (release build, one I/O thread, pinned to core 0) and wrk (one thread,
# pinned to core 1) measures the two lists with a token of the bootstrap admin.
#
# Knobs (environment):
#   BENCH_TENANTS=100000    tenants inserted
#   BENCH_SECONDS=10        measured run per row
#   BENCH_CONNECTIONS=4     wrk connections (one wrk thread)
#   BENCH_WARMUP=2          warm-up run before each measured run (discarded)
#   PORTCULLIS_BIN=...      binary to test (default BUILD_DIR/portcullis)
#
# Fails only when it cannot measure (or a row had errors); a missed goal is reported.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BUILD_DIR=${1:-build/release}
BIN=${PORTCULLIS_BIN:-$BUILD_DIR/portcullis}
BEARER_LUA=$ROOT/bench/bearer.lua
TENANTS=${BENCH_TENANTS:-100000}
DURATION=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-4}
WARMUP=${BENCH_WARMUP:-2}
LIMIT=100
GOAL_P99_MS=5
START_TIMEOUT=30  # seconds; the second start loads every tenant

die() {
  echo "admin_list.sh: error: $*" >&2
  exit 1
}
note() { echo "admin_list.sh: $*" >&2; }

# ---------------------------------------------------------------- preflight
for v in TENANTS DURATION CONNS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_TENANTS / BENCH_SECONDS / BENCH_CONNECTIONS must be positive integers (got ${!v})"
done
[[ $WARMUP =~ ^[0-9]+$ ]] || die "BENCH_WARMUP must be a non-negative integer (got $WARMUP)"
((TENANTS >= 2 * LIMIT)) || die "BENCH_TENANTS must be at least $((2 * LIMIT))"
((TENANTS <= 999999)) || die "BENCH_TENANTS must be at most 999999 (tenant ids are t000001 ...)"
for tool in wrk sqlite3 curl awk timeout setsid node; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found (install the bench tools: make deps-bench)"
done
[[ -f $BEARER_LUA ]] || die "missing $BEARER_LUA"
# Rebuild when the build dir is configured and no binary was named, so the numbers are never
# those of a stale binary.
if [[ -z ${PORTCULLIS_BIN:-} && -f $BUILD_DIR/CMakeCache.txt ]]; then
  cmake --build "$BUILD_DIR" --target portcullis >/dev/null || die "building portcullis in $BUILD_DIR failed"
fi
[[ -x $BIN ]] || die "gateway binary not found at $BIN (build it first: make build)"
if [[ -f $BUILD_DIR/CMakeCache.txt && -z ${PORTCULLIS_BIN:-} ]]; then
  BUILD_TYPE=$(awk -F= '/^CMAKE_BUILD_TYPE:/ {print $2}' "$BUILD_DIR/CMakeCache.txt")
  [[ $BUILD_TYPE == Release || $BUILD_TYPE == RelWithDebInfo ]] ||
    note "warning: $BUILD_DIR is a ${BUILD_TYPE:-?} build; latency goals are meant for a release build"
fi

# Pinning as bench/run.sh: the gateway on core 0, wrk on core 1.
PIN=0
if command -v taskset >/dev/null 2>&1 && [[ $(nproc 2>/dev/null || echo 1) -ge 2 ]] &&
  taskset -c 0 true 2>/dev/null && taskset -c 1 true 2>/dev/null; then
  PIN=1
else
  note "warning: cannot pin to cores 0 and 1 (need taskset and >= 2 CPUs); running unpinned, numbers are less comparable"
fi

# ---------------------------------------------------------------- lifecycle
TMP=$(mktemp -d "${TMPDIR:-/tmp}/portcullis-admin-list.XXXXXX")
GW_PID=
WRK_PID=

stop_gateway() { # SIGTERM to the gateway's process group, SIGKILL after 5 s
  local pid=$GW_PID deadline
  [[ -n $pid ]] || return 0
  GW_PID=
  kill -TERM -- "-$pid" "$pid" 2>/dev/null || true
  deadline=$((SECONDS + 5))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
  kill -KILL -- "-$pid" "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n $WRK_PID ]]; then kill -TERM "$WRK_PID" 2>/dev/null || true; fi
  stop_gateway
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

show_logs() { # show_logs FILE... : last lines of each, for error messages
  local f
  for f in "$@"; do
    [[ -s $f ]] || continue
    echo "---- ${f##*/} (last 15 lines) ----" >&2
    tail -n 15 "$f" >&2
  done
}

DATA=$TMP/data
DB=$DATA/portcullis.db
CONFIG=$TMP/portcullis.yaml
mkdir -p "$DATA"
cat >"$CONFIG" <<EOF
data_dir: $DATA
server:
  listen: "127.0.0.1:0"
  threads: 1
# info level so the "listening" line is printed; the access log is off, as in bench/run.sh.
log: {level: info, access: false}
EOF

# start_gateway LOG : starts `serve` under setsid (its own process group) pinned to core 0 and
# waits for its "listening" line; sets GW_PID, GW_PORT and STARTUP_MS.
start_gateway() {
  local out=$1 pin=() t0 deadline line
  ((PIN)) && pin=(taskset -c 0)
  t0=$(date +%s%N)
  setsid "${pin[@]}" "$BIN" serve --config "$CONFIG" >"$out" 2>"$out.err" </dev/null &
  GW_PID=$!
  deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    line=$(grep -m1 '"msg":"listening"' "$out" 2>/dev/null || true)
    if [[ $line =~ \"address\":\"127\.0\.0\.1:([0-9]+)\" ]]; then
      GW_PORT=${BASH_REMATCH[1]}
      STARTUP_MS=$((($(date +%s%N) - t0) / 1000000))
      return 0
    fi
    if ! kill -0 "$GW_PID" 2>/dev/null; then
      show_logs "$out" "$out.err"
      die "the gateway exited during startup"
    fi
    sleep 0.05
  done
  show_logs "$out" "$out.err"
  die "the gateway did not report listening within ${START_TIMEOUT}s"
}

# ---------------------------------------------------------------- data
note "first start (schema, keys, bootstrap admin) ..."
start_gateway "$TMP/gateway-first.log"
[[ -s $DATA/bootstrap-admin.json ]] || die "the first start wrote no $DATA/bootstrap-admin.json"
stop_gateway

# One transaction; the columns of the tenants table (src/store/migrations.cpp), revision 1..N as
# the store numbers changes, tiers in turn, every tenant active.
note "inserting $TENANTS tenants with sqlite3 ..."
t0=$(date +%s%N)
sqlite3 -batch -bail "$DB" >"$TMP/sqlite.log" 2>&1 <<EOF || { show_logs "$TMP/sqlite.log"; die "sqlite3 could not insert the tenants"; }
PRAGMA busy_timeout = 5000;
BEGIN IMMEDIATE;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $TENANTS)
INSERT INTO tenants(tenant_id, display_name, tier, status, created_at, updated_at, revision)
SELECT printf('t%06d', i), printf('Tenant %d', i),
       CASE i % 3 WHEN 0 THEN 'basic' WHEN 1 THEN 'standard' ELSE 'premium' END,
       'active', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', i
FROM n;
COMMIT;
EOF
INSERT_MS=$((($(date +%s%N) - t0) / 1000000))
COUNT=$(sqlite3 -batch "$DB" 'SELECT count(*) FROM tenants')
[[ $COUNT == "$TENANTS" ]] || die "the tenants table holds $COUNT rows, expected $TENANTS"

note "second start with $TENANTS tenants ..."
start_gateway "$TMP/gateway.log"
GW=http://127.0.0.1:$GW_PORT

# A token of the bootstrap admin, the way a client gets one: client_credentials at token_url.
fields=$(node -e '
  const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  if (!c.token_url || !c.client_id || !c.client_secret) process.exit(1);
  console.log([c.token_url, c.client_id, c.client_secret].join("\n"));' "$DATA/bootstrap-admin.json") ||
  die "$DATA/bootstrap-admin.json has no token_url or client credentials"
TOKEN_URL=${fields%%$'\n'*}
rest=${fields#*$'\n'}
CLIENT_ID=${rest%%$'\n'*}
CLIENT_SECRET=${rest#*$'\n'}
# The file names the port of the first start; the token endpoint is the running gateway's.
TOKEN_URL="$GW/${TOKEN_URL#http*://*/}"
out=$(curl -s --max-time 5 -w '\n%{http_code}' -u "$CLIENT_ID:$CLIENT_SECRET" --data grant_type=client_credentials \
  "$TOKEN_URL" 2>/dev/null || true)
[[ ${out##*$'\n'} == 200 ]] || die "POST $TOKEN_URL answered ${out##*$'\n'}: ${out%$'\n'*}"
TOKEN=$(node -e '
  const r = JSON.parse(process.argv[1]);
  if (typeof r.access_token !== "string" || !r.access_token) process.exit(1);
  console.log(r.access_token);' "${out%$'\n'*}") || die "no access_token in the token response"

# The middle of the id range: the page after it starts at the next id.
MID=$(printf 't%06d' $((TENANTS / 2)))
URL_START="$GW/v1/tenants?limit=$LIMIT"
URL_MID="$GW/v1/tenants?limit=$LIMIT&cursor=$MID"

# check_page URL FIRST NEXT : one request by hand: 200, LIMIT tenants from FIRST, nextCursor NEXT
check_page() {
  local url=$1 first=$2 next=$3 out code
  out=$(curl -s --max-time 5 -w '\n%{http_code}' -H "Authorization: Bearer $TOKEN" "$url" 2>/dev/null || true)
  code=${out##*$'\n'}
  [[ $code == 200 ]] || die "GET $url answered ${code:-nothing}: ${out%$'\n'*}"
  node -e '
    const [body, limit, first, next] = process.argv.slice(1);
    const r = JSON.parse(body);
    const t = r.tenants || [];
    if (t.length !== Number(limit) || t[0].tenantId !== first || r.nextCursor !== next) {
      console.error(`got ${t.length} tenants from ${t[0] && t[0].tenantId}, nextCursor ${r.nextCursor}`);
      process.exit(1);
    }' "${out%$'\n'*}" "$LIMIT" "$first" "$next" ||
    die "GET $url: expected $LIMIT tenants from $first and nextCursor $next"
}
check_page "$URL_START" t000001 "$(printf 't%06d' "$LIMIT")"
check_page "$URL_MID" "$(printf 't%06d' $((TENANTS / 2 + 1)))" "$(printf 't%06d' $((TENANTS / 2 + LIMIT)))"

# ---------------------------------------------------------------- measure
to_ms() { # wrk latency ("812.00us", "1.23ms", "2.01s") -> milliseconds
  awk -v v="$1" 'BEGIN {
    if (v == "") { print ""; exit }
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : -1
    if (f < 0) print ""; else printf "%.3f", n * f
  }'
}

wrk_cmd() { # wrk_cmd SECONDS URL &  (background only: it execs) wrk on core 1, bounded by timeout
  local secs=$1 url=$2 cmd
  export BENCH_BEARER=$TOKEN # bench/bearer.lua reads it: the token is in neither argv nor output
  cmd=(wrk -t1 -c"$CONNS" -d"${secs}s" --timeout 5s --latency -s "$BEARER_LUA" "$url")
  if ((PIN)); then cmd=(taskset -c 1 "${cmd[@]}"); fi
  exec timeout -k 5 $((secs + 30)) "${cmd[@]}"
}

declare -A RPS P50 P99 NON2XX SOCKERR REQS CPU_US POOL_US
ANY_ERRORS=0
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)

# cpu_ticks [store] : CPU time (user + system, clock ticks) of the gateway, or of its store
# work-pool threads ("store-N") only
cpu_ticks() {
  local t sum=0 comm fields
  for t in /proc/"$GW_PID"/task/*; do
    if [[ ${1:-} == store ]]; then
      comm=$(<"$t/comm") 2>/dev/null || continue
      [[ $comm == store-* ]] || continue
    fi
    fields=$(<"$t/stat") 2>/dev/null || continue
    fields=${fields##*) } # after "pid (comm) ": field 3 is the first
    read -r -a f <<<"$fields"
    sum=$((sum + f[11] + f[12])) # utime, stime (fields 14 and 15)
  done
  echo "$sum"
}
AUDIT_BEFORE=$(sqlite3 -batch "$DB" 'SELECT COALESCE(MAX(seq), 0) FROM audit_log')

# measure KEY URL : warm-up, then the measured run; results into the arrays
measure() {
  local key=$1 url=$2 out=$TMP/wrk-$1.txt rc=0
  note "$key: warm-up ${WARMUP}s, then ${DURATION}s ($url)"
  if ((WARMUP > 0)); then
    wrk_cmd "$WARMUP" "$url" >"$out.warmup" 2>&1 &
    WRK_PID=$!
    wait "$WRK_PID" || rc=$?
    WRK_PID=
    ((rc == 0)) || { cat "$out.warmup" >&2; die "wrk warm-up failed for $key (exit $rc)"; }
  fi
  local cpu0 pool0
  cpu0=$(cpu_ticks)
  pool0=$(cpu_ticks store)
  wrk_cmd "$DURATION" "$url" >"$out" 2>&1 &
  WRK_PID=$!
  wait "$WRK_PID" || rc=$?
  WRK_PID=
  ((rc == 0)) || { cat "$out" >&2; die "wrk failed for $key (exit $rc)"; }
  local cpu1 pool1
  cpu1=$(cpu_ticks)
  pool1=$(cpu_ticks store)
  kill -0 "$GW_PID" 2>/dev/null || { show_logs "$TMP/gateway.log" "$TMP/gateway.log.err"; die "the gateway died during $key"; }
  RPS[$key]=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  REQS[$key]=$(awk '/ requests in / {print $1; exit}' "$out")
  P50[$key]=$(to_ms "$(awk '$1 == "50%" {print $2; exit}' "$out")")
  P99[$key]=$(to_ms "$(awk '$1 == "99%" {print $2; exit}' "$out")")
  NON2XX[$key]=$(awk -F: '/Non-2xx or 3xx responses/ {gsub(/ /, "", $2); print $2}' "$out")
  NON2XX[$key]=${NON2XX[$key]:-0}
  SOCKERR[$key]=$(awk '/Socket errors:/ {gsub(/,/, ""); print $4 + $6 + $8 + $10}' "$out")
  SOCKERR[$key]=${SOCKERR[$key]:-0}
  [[ -n ${RPS[$key]} && -n ${P99[$key]} ]] || { cat "$out" >&2; die "could not parse wrk output for $key"; }
  # the gateway's CPU time per request while wrk ran (all threads; the store work pool alone)
  CPU_US[$key]=$(awk -v t=$((cpu1 - cpu0)) -v hz="$CLK_TCK" -v n="${REQS[$key]:-0}" \
    'BEGIN { if (n > 0) printf "%.0f", t / hz * 1e6 / n; else print "n/a" }')
  POOL_US[$key]=$(awk -v t=$((pool1 - pool0)) -v hz="$CLK_TCK" -v n="${REQS[$key]:-0}" \
    'BEGIN { if (n > 0) printf "%.0f", t / hz * 1e6 / n; else print "n/a" }')
  if ((${NON2XX[$key]} > 0 || ${SOCKERR[$key]} > 0 || ${REQS[$key]:-0} == 0)); then ANY_ERRORS=1; fi
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
STARTED_AT=$(date -u +%Y-%m-%dT%H:%M:%SZ)
note "gateway :$GW_PORT ($TENANTS tenants, started in ${STARTUP_MS} ms); load average $LOAD_START"
measure start "$URL_START"
measure middle "$URL_MID"
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")

# Every GET is audited: one event per request, written by the audit log's group-commit writer.
AUDIT_AFTER=$(sqlite3 -batch "$DB" 'PRAGMA busy_timeout = 5000; SELECT COALESCE(MAX(seq), 0) FROM audit_log' | tail -n 1)
RSS_KB=$(awk '/^VmRSS:/ {print $2}' "/proc/$GW_PID/status" 2>/dev/null || echo "?")

# ---------------------------------------------------------------- report
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0 && a != "") printf "%.2f", a / b; else print "n/a" }'; }
flag() { # flag KEY : error column text
  local k=$1 f=()
  ((${NON2XX[$k]} > 0)) && f+=("NON-2XX: ${NON2XX[$k]}")
  ((${SOCKERR[$k]} > 0)) && f+=("SOCKET ERRORS: ${SOCKERR[$k]}")
  ((${REQS[$k]:-0} == 0)) && f+=("NO REQUESTS")
  if ((${#f[@]})); then
    local IFS=,
    echo "!! ${f[*]}"
  else
    echo "ok"
  fi
}
row() { printf '%-34s %10s %9s %9s %9s %10s  %s\n' "$@"; }
pinning="gateway on core 0, wrk on core 1"
((PIN)) || pinning="UNPINNED (fewer than 2 usable cores)"
declare -A LABEL=([start]="GET /v1/tenants?limit=$LIMIT" [middle]="  ... &cursor=$MID")

echo
echo "Admin list latency, $TENANTS tenants  ($STARTED_AT, $(nproc) CPUs, load avg at start $LOAD_START / end $LOAD_END)"
echo "wrk: 1 thread, $CONNS connections, ${WARMUP}s warm-up + ${DURATION}s measured per row; pinning: $pinning"
echo "gateway: server.threads 1, access log off, SQLite store; Platform.Admin token of the bootstrap client"
echo "data: $TENANTS tenants inserted with sqlite3 in ${INSERT_MS} ms; gateway start with them ${STARTUP_MS} ms; RSS after the run ${RSS_KB} kB"
echo
row "scenario" "req/s" "p50 ms" "p99 ms" "p99/goal" "CPU µs/req" "errors"
row "--------" "-----" "------" "------" "--------" "----------" "------"
MET=yes
for key in start middle; do
  r=$(ratio "${P99[$key]}" "$GOAL_P99_MS")
  awk -v r="$r" 'BEGIN { exit !(r != "n/a" && r + 0 <= 1) }' || MET=no
  row "${LABEL[$key]}" "${RPS[$key]}" "${P50[$key]}" "${P99[$key]}" "${r}x" "${CPU_US[$key]}" "$(flag "$key")"
done
echo
echo "goal: p99 <= ${GOAL_P99_MS} ms on both rows (p99/goal <= 1.00): $MET"
echo "CPU µs/req: the gateway's CPU time (all threads) per request during the measured run; of it, the store work"
echo "pool (the SQL read and the JSON page): start ${POOL_US[start]} µs, middle ${POOL_US[middle]} µs. The rest is the I/O thread and the audit writer."
echo "audit events written during the runs (warm-ups included): $((AUDIT_AFTER - AUDIT_BEFORE)) (every GET is audited)"
if awk -v l="${LOAD_START%% *}" 'BEGIN { exit !(l + 0 > 0.5) }'; then
  echo "warning: the machine was not idle (1-min load $LOAD_START at start); numbers are noisy."
fi
if ((ANY_ERRORS)); then
  echo "ERROR: some runs had non-2xx responses or socket errors (flagged '!!'): those rows are not results."
  exit 1
fi
