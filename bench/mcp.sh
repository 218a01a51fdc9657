#!/usr/bin/env bash
# The MCP gateway (issue 10), two measurements. Called by `make bench`; see bench/README.md
# ("MCP gateway").
#
# 1. tools/call of the example `echo` tool with a ~4 KiB text, through the gateway (one federated
#    upstream, act-on-behalf token swap, redaction on) vs the same call straight to the upstream:
#    req/s, p99, the ratio (goal >= 0.90x while the upstream is the bottleneck) and the gateway's
#    CPU per call (utime + stime from /proc, goal <= 50 µs).
# 2. MCP_SESSIONS (10,000) idle MCP sessions through the gateway, each with its GET stream held
#    open (bench/mcp-idle.mjs): the gateway's RSS (goal < 300 MB) and the session creation rate.
#
# Knobs: BENCH_SECONDS (10), BENCH_CONNECTIONS (50), BENCH_WARMUP (2), MCP_SESSIONS (10000),
# MCP_HOLD_SECONDS (5), MCP_INIT_CONCURRENCY (32), PORTCULLIS_BIN, BENCH_TOOLS_BIN,
# MCP_PARTS ("call idle").
# Fails (exit 1) on errors: a peer that does not start, a call that does not reach the upstream,
# non-2xx answers, socket errors, JSON-RPC errors in 200s, fewer tool-call records in the store
# than calls answered, a session or stream refused or broken. Missed goals are printed, not failed on.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${PORTCULLIS_BIN:-$ROOT/build/portcullis}
TOOLS_BIN=${BENCH_TOOLS_BIN:-$BIN} # the example MCP server: another build's, to try a gateway against it
DURATION=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-50}
WARMUP=${BENCH_WARMUP:-2}
SESSIONS=${MCP_SESSIONS:-10000}
HOLD=${MCP_HOLD_SECONDS:-5}
INIT_CONC=${MCP_INIT_CONCURRENCY:-32}
PARTS=${MCP_PARTS:-call idle}
GOAL_RATIO=0.90
GOAL_CPU_US=50
GOAL_MB=300
PROTO=2025-11-25
TMP=$(mktemp -d "${TMPDIR:-/tmp}/portcullis-mcp.XXXXXX")
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

for v in DURATION CONNS SESSIONS HOLD INIT_CONC; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] ||
    die "BENCH_SECONDS / BENCH_CONNECTIONS / MCP_SESSIONS / MCP_HOLD_SECONDS / MCP_INIT_CONCURRENCY must be positive integers (got ${!v})"
done
[[ $WARMUP =~ ^[0-9]+$ ]] || die "BENCH_WARMUP must be a non-negative integer (got $WARMUP)"
for p in $PARTS; do [[ $p == call || $p == idle ]] || die "MCP_PARTS: unknown part '$p' (call idle)"; done
for tool in wrk curl node sqlite3 setsid timeout; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found (install the bench tools: make deps-bench)"
done
[[ -x $BIN ]] || die "gateway binary not found at $BIN (build it first: make build)"
[[ -x $TOOLS_BIN ]] || die "example MCP server binary not found at $TOOLS_BIN"
for f in mcp.lua mcp-idle.mjs; do [[ -f $ROOT/bench/$f ]] || die "missing bench/$f"; done
pin_check

# Each idle session is one client socket in the client and one in the gateway (the upstream is not
# contacted by a session that never called it).
if [[ " $PARTS " == *" idle "* ]]; then
  need=$((SESSIONS + 1024))
  if (($(ulimit -n) < need)); then
    { ulimit -Hn "$need" && ulimit -n "$need"; } 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  fi
  # A machine whose limit is too low measures as many as fit and says so (the row shows the count).
  if (($(ulimit -n) < need)); then
    fit=$(($(ulimit -n) - 1024))
    ((fit >= 100)) || die "open-file limit $(ulimit -n) leaves room for fewer than 100 sessions"
    note "open-file limit $(ulimit -n) (hard $(ulimit -Hn)) is below the $need that $SESSIONS sessions need: measuring $fit sessions instead"
    SESSIONS=$fit
  fi
  ports=$(awk '{print $2 - $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 28000)
  ((ports > SESSIONS + 1000)) || die "the local port range has $ports ports, fewer than $SESSIONS sessions need"
fi

start_bg 1 "$TMP/tools.log" "$TMP/tools.err" "$TOOLS_BIN" example-tools --listen 127.0.0.1:0
TOOLS_PID=$LAST_PID
wait_listening "example MCP server" "$TOOLS_PID" "$TMP/tools.log" "$TMP/tools.err"
UP=http://127.0.0.1:$LISTEN_PORT/mcp

mkdir -p "$TMP/gw-data"
# One I/O thread, no access log; redaction and the other response guards stay at their defaults.
cat >"$TMP/portcullis.yaml" <<YAML
data_dir: $TMP/gw-data
server:
  listen: "127.0.0.1:0"
  threads: 1
  limits: {max_connections: $((SESSIONS + 1000)), idle_timeout_ms: 120000}
log: {level: info, access: false}
# limits (issue 12): the demo tenant's tier with room for the load; the limit stage still runs on every request.
tiers: {standard: {rps: 1000000, burst: 1000000, max_concurrent: 0, daily_quota: 0, daily_tool_calls: 0}}
YAML
start_bg 0 "$TMP/gateway.log" "$TMP/gateway.err" "$BIN" serve --config "$TMP/portcullis.yaml" --demo
GW_PID=$LAST_PID
wait_listening "gateway" "$GW_PID" "$TMP/gateway.log" "$TMP/gateway.err"
GW=http://127.0.0.1:$LISTEN_PORT
TOKEN=$(demo_token "$GW" "$TMP/gw-data")
gw_alive() { kill -0 "$GW_PID" 2>/dev/null || { show_logs "$TMP/gateway.log" "$TMP/gateway.err"; die "the gateway died $1"; }; }

# ---------------------------------------------------------------- setup through the Admin API
# The bootstrap admin's client credentials (written by the gateway at first start) → a platform
# token → the upstream registered for tenant demo, act-on-behalf (the gateway mints a token for
# the server's URL; the client's token never goes upstream).
admin_token() {
  local creds=$TMP/gw-data/bootstrap-admin.json fields out deadline=$((SECONDS + 10))
  until [[ -s $creds ]]; do
    ((SECONDS < deadline)) || die "gateway: $creds was not written"
    sleep 0.1
  done
  fields=$(node -e '
    const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    if (!c.token_url || !c.client_id || !c.client_secret) process.exit(1);
    console.log([c.token_url, c.client_id, c.client_secret].join("\n"));' "$creds") ||
    die "gateway: $creds has no token_url, client_id or client_secret"
  local url=${fields%%$'\n'*} rest=${fields#*$'\n'}
  local id=${rest%%$'\n'*} secret=${rest#*$'\n'}
  out=$(curl -s --max-time 5 -w '\n%{http_code}' -u "$id:$secret" --data grant_type=client_credentials "$url" 2>/dev/null || true)
  [[ ${out##*$'\n'} == 200 ]] || die "gateway: the bootstrap admin's POST $url answered ${out##*$'\n'}: ${out%$'\n'*}"
  node -e 'const r = JSON.parse(process.argv[1]); if (!r.access_token) process.exit(1); console.log(r.access_token);' \
    "${out%$'\n'*}" || die "gateway: no access_token for the bootstrap admin"
}
ADMIN=$(admin_token)
out=$(curl -s --max-time 10 -w '\n%{http_code}' -X POST -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
  --data "{\"name\":\"bench\",\"url\":\"$UP\",\"auth\":{\"mode\":\"act_on_behalf\"}}" "$GW/v1/tenants/demo/mcp-servers" 2>/dev/null || true)
[[ ${out##*$'\n'} == 201 || ${out##*$'\n'} == 200 ]] ||
  die "gateway: POST /v1/tenants/demo/mcp-servers answered ${out##*$'\n'}: ${out%$'\n'*}"

# mcp_post URL SESSION BODY [TOKEN] : POST one JSON-RPC message; the answer's body in $TMP/post.body,
# its head in $TMP/post.head; prints the status
mcp_post() {
  local url=$1 sid=$2 body=$3 token=${4:-} h=()
  h=(-H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream')
  [[ -n $token ]] && h+=(-H "Authorization: Bearer $token")
  [[ -n $sid ]] && h+=(-H "Mcp-Session-Id: $sid" -H "MCP-Protocol-Version: $PROTO")
  curl -s --max-time 10 -o "$TMP/post.body" -D "$TMP/post.head" -w '%{http_code}' -X POST "${h[@]}" --data "$body" "$url" \
    2>/dev/null || echo 000
}
# mcp_open NAME URL [TOKEN] : initialize + notifications/initialized; prints the Mcp-Session-Id
mcp_open() {
  local name=$1 url=$2 token=${3:-} code sid
  code=$(mcp_post "$url" "" "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"$PROTO\",\"capabilities\":{},\"clientInfo\":{\"name\":\"bench\",\"version\":\"1\"}}}" "$token")
  sid=$(awk 'tolower($1) == "mcp-session-id:" { sub(/\r$/, "", $2); print $2 }' "$TMP/post.head")
  [[ $code == 200 && -n $sid ]] || die "$name: initialize answered $code without a session: $(head -c 300 "$TMP/post.body")"
  grep -q "\"protocolVersion\":\"$PROTO\"" "$TMP/post.body" ||
    die "$name: initialize did not negotiate $PROTO: $(head -c 300 "$TMP/post.body")"
  code=$(mcp_post "$url" "$sid" '{"jsonrpc":"2.0","method":"notifications/initialized"}' "$token")
  [[ $code == 202 ]] || die "$name: notifications/initialized answered $code (expected 202): $(head -c 300 "$TMP/post.body")"
  echo "$sid"
}
# probe NAME URL SESSION [TOKEN] : one echo call with a fresh text; its result must carry that text
probe() {
  local name=$1 url=$2 sid=$3 token=${4:-} text code
  text="probe-$RANDOM$RANDOM"
  code=$(mcp_post "$url" "$sid" "{\"jsonrpc\":\"2.0\",\"id\":\"probe\",\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"text\":\"$text\"}}}" "$token")
  if [[ $code != 200 ]] || ! grep -q "\"result\":" "$TMP/post.body" || ! grep -q "$text" "$TMP/post.body"; then
    show_logs "$TMP/gateway.log" "$TMP/tools.log"
    die "$name: tools/call echo answered $code without the text sent: $(head -c 400 "$TMP/post.body")"
  fi
}
tool_calls() { # tool_calls [OUTCOME] : rows of mcp_tool_calls (with that outcome)
  local where=
  [[ -n ${1:-} ]] && where=" WHERE outcome = '$1'"
  sqlite3 -readonly "$TMP/gw-data/portcullis.db" "SELECT count(*) FROM mcp_tool_calls$where" 2>"$TMP/sqlite.err" || true
}
to_ms() { # wrk latency ("812.00us", "1.23ms", "2.01s") -> milliseconds
  awk -v v="$1" 'BEGIN {
    if (v == "") { print ""; exit }
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : -1
    if (f < 0) print ""; else printf "%.3f", n * f
  }'
}
cpu_ticks() { # "utime stime" of a process (all its threads), clock ticks
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || die "cannot read /proc/$1/stat"
  s=${s##*) } # the fields after the command name (which may hold spaces)
  awk '{ print $12, $13 }' <<<"$s"
}
thread_ticks() { # thread_ticks PID : "name ticks" per thread (utime+stime), threads of one name summed
  local f s
  for f in /proc/"$1"/task/*/stat; do
    s=$(cat "$f" 2>/dev/null) || continue
    printf '%s %s\n' "$(sed 's/.*(\(.*\)).*/\1/; s/-[0-9]*$/-*/; s/ /_/g' <<<"$s")" "$(awk '{ print $12 + $13 }' <<<"${s##*) }")"
  done | awk '{ t[$1] += $2 } END { for (n in t) print n, t[n] }' | sort
}

LOAD=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
ERRORS=0
echo
echo "MCP gateway ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, load avg at start $LOAD)"
if ((PIN)); then
  echo "pinning: gateway on core 0; example MCP server, wrk and the Node client on core 1"
else
  echo "pinning: UNPINNED (fewer than 2 usable cores)"
fi

# ---------------------------------------------------------------- 1. tools/call
if [[ " $PARTS " == *" call "* ]]; then
  GW_SID=$(mcp_open "gateway" "$GW/mcp" "$TOKEN")
  UP_SID=$(mcp_open "upstream" "$UP")
  probe "gateway" "$GW/mcp" "$GW_SID" "$TOKEN"
  probe "upstream" "$UP" "$UP_SID"
  sent=1 # answered calls through the gateway: the probe
  declare -A RPS P50 P99 REQS NON2XX SOCKERR BAD
  run_wrk() { # run_wrk SECONDS URL SESSION ID_BASE TOKEN OUT
    local cmd=(wrk -t1 -c"$CONNS" -d"$1s" --timeout 5s --latency -s "$ROOT/bench/mcp.lua" "$2") rc=0
    ((PIN)) && cmd=(taskset -c 1 "${cmd[@]}")
    BENCH_MCP_SESSION=$3 BENCH_MCP_ID_BASE=$4 BENCH_BEARER=$5 timeout -k 5 $(($1 + 30)) "${cmd[@]}" >"$6" 2>&1 &
    WRK_PID=$!
    wait "$WRK_PID" || rc=$?
    WRK_PID=
    ((rc == 0)) || { cat "$6" >&2; die "wrk failed (exit $rc)"; }
    gw_alive "under load"
    kill -0 "$TOOLS_PID" 2>/dev/null || { show_logs "$TMP/tools.log" "$TMP/tools.err"; die "the example MCP server died under load"; }
  }
  # measure KEY URL SESSION TOKEN : warm-up, then the measured run (ids never repeat in a session)
  measure() {
    local key=$1 url=$2 sid=$3 token=$4 out=$TMP/wrk-$1.txt c0 c1 w
    note "tools/call $key: warm-up ${WARMUP}s, then ${DURATION}s ($url)"
    if ((WARMUP > 0)); then
      run_wrk "$WARMUP" "$url" "$sid" 1000000000 "$token" "$out.warmup"
      w=$(awk '/ requests in / {print $1; exit}' "$out.warmup")
      [[ $key == gateway ]] && sent=$((sent + ${w:-0}))
      if grep -q 'Non-2xx\|Socket errors' "$out.warmup" || ! grep -q '^Not a result: 0$' "$out.warmup"; then
        cat "$out.warmup" >&2
        ERRORS=1
      fi
    fi
    thread_ticks "$GW_PID" >"$TMP/threads-$key.0"
    c0=$(cpu_ticks "$GW_PID")
    run_wrk "$DURATION" "$url" "$sid" 2000000000 "$token" "$out"
    c1=$(cpu_ticks "$GW_PID")
    thread_ticks "$GW_PID" >"$TMP/threads-$key.1"
    RPS[$key]=$(awk '/^Requests\/sec:/ {print $2}' "$out")
    REQS[$key]=$(awk '/ requests in / {print $1; exit}' "$out")
    P50[$key]=$(to_ms "$(awk '$1 == "50%" {print $2; exit}' "$out")")
    P99[$key]=$(to_ms "$(awk '$1 == "99%" {print $2; exit}' "$out")")
    NON2XX[$key]=$(awk -F: '/Non-2xx or 3xx responses/ {gsub(/ /, "", $2); print $2}' "$out")
    SOCKERR[$key]=$(awk '/Socket errors:/ {gsub(/,/, ""); print $4 + $6 + $8 + $10}' "$out")
    BAD[$key]=$(awk '/^Not a result:/ {print $4}' "$out")
    [[ -n ${RPS[$key]} && -n ${P99[$key]} && -n ${REQS[$key]} && -n ${BAD[$key]} ]] ||
      { cat "$out" >&2; die "could not parse wrk's output for $key"; }
    : "${NON2XX[$key]:=0}" "${SOCKERR[$key]:=0}"
    ((NON2XX[$key] + SOCKERR[$key] + BAD[$key] == 0 && REQS[$key] > 0)) || ERRORS=1
    local u0=${c0% *} s0=${c0#* } u1=${c1% *} s1=${c1#* }
    [[ $key == gateway ]] && { sent=$((sent + REQS[$key])); GW_TICKS=$((u1 + s1 - u0 - s0)); GW_UTICKS=$((u1 - u0)); }
    [[ $key == direct ]] && DIRECT_GW_TICKS=$((u1 + s1 - u0 - s0))
    return 0
  }
  measure direct "$UP" "$UP_SID" ""
  measure gateway "$GW/mcp" "$GW_SID" "$TOKEN"

  # Every answered call through the gateway reached the upstream and was recorded: one row of
  # mcp_tool_calls with outcome succeeded each (written behind: wait for them).
  deadline=$((SECONDS + 15))
  while rows=$(tool_calls succeeded) && [[ $rows =~ ^[0-9]+$ ]] && ((rows < sent && SECONDS < deadline)); do sleep 0.2; done
  [[ $rows =~ ^[0-9]+$ ]] || { show_logs "$TMP/sqlite.err"; die "could not count mcp_tool_calls in $TMP/gw-data/portcullis.db"; }
  all_rows=$(tool_calls)
  ((rows >= sent && all_rows == rows)) || ERRORS=1

  tick_us=$(awk -v t="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", 1e6 / t }')
  cpu_us=$(awk -v t="$GW_TICKS" -v n="${REQS[gateway]}" -v k="$tick_us" 'BEGIN { if (n > 0) printf "%.1f", t * k / n; else print "n/a" }')
  ratio=$(awk -v a="${RPS[gateway]}" -v b="${RPS[direct]}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
  p99r=$(awk -v a="${P99[gateway]}" -v b="${P99[direct]}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
  met_ratio=$(awk -v r="$ratio" -v g="$GOAL_RATIO" 'BEGIN { print (r != "n/a" && r + 0 >= g) ? "yes" : "no" }')
  met_cpu=$(awk -v r="$cpu_us" -v g="$GOAL_CPU_US" 'BEGIN { print (r != "n/a" && r + 0 <= g) ? "yes" : "no" }')
  flag() {
    local k=$1 f=()
    ((NON2XX[$k] > 0)) && f+=("NON-2XX: ${NON2XX[$k]}")
    ((SOCKERR[$k] > 0)) && f+=("SOCKET ERRORS: ${SOCKERR[$k]}")
    ((BAD[$k] > 0)) && f+=("NOT A RESULT: ${BAD[$k]}")
    ((REQS[$k] == 0)) && f+=("NO REQUESTS")
    if ((${#f[@]})); then
      local IFS=,
      echo "!! ${f[*]}"
    else echo ok; fi
  }
  row() { printf '%-30s %10s %10s %10s %10s  %s\n' "$@"; }
  echo
  echo "1. tools/call echo, ~4 KiB text argument and result (wrk: 1 thread, $CONNS connections, ${WARMUP}s warm-up + ${DURATION}s,"
  echo "   one MCP session each, a new JSON-RPC id per request; gateway: act-on-behalf token, redaction on)"
  row "row" "req/s" "p50 ms" "p99 ms" "requests" "errors"
  row "direct to the upstream" "${RPS[direct]}" "${P50[direct]}" "${P99[direct]}" "${REQS[direct]}" "$(flag direct)"
  row "through the gateway" "${RPS[gateway]}" "${P50[gateway]}" "${P99[gateway]}" "${REQS[gateway]}" "$(flag gateway)"
  row "gateway / direct" "${ratio}x" "" "${p99r}x" "" "req/s goal >= ${GOAL_RATIO}x: $met_ratio"
  user_pct=$(awk -v u="$GW_UTICKS" -v t="$GW_TICKS" 'BEGIN { if (t > 0) printf "%.0f", 100 * u / t; else print "n/a" }')
  echo "gateway CPU per call: $cpu_us µs (utime+stime of the gateway, $GW_TICKS ticks of $tick_us µs over ${REQS[gateway]} calls, $user_pct% user; goal <= $GOAL_CPU_US µs: $met_cpu)"
  # Where the gateway's CPU goes, by thread (threads of a pool summed: "mcp-*"); threads that ended
  # during the run are missing here but counted in the total above.
  by_thread=$(join -a2 -e0 -o 0,1.2,2.2 "$TMP/threads-gateway.0" "$TMP/threads-gateway.1" |
    awk -v k="$tick_us" -v n="${REQS[gateway]}" '$3 - $2 > 0 { printf "%s %.1f\n", $1, ($3 - $2) * k / n }' |
    sort -k2 -g -r | awk '{ printf "%s%s %s µs", (NR > 1 ? ", " : ""), $1, $2 }')
  echo "  by thread (µs per call): ${by_thread:-n/a}"
  echo "gateway CPU while idle during the direct run: ${DIRECT_GW_TICKS} ticks"
  echo "tool-call records in the store: $rows succeeded of $all_rows (calls answered through the gateway, probe and warm-up included: $sent)"
  ((rows >= sent)) || echo "ERROR: fewer succeeded tool-call records ($rows) than calls answered ($sent): not every call reached the upstream"
  ((all_rows == rows)) || echo "ERROR: $((all_rows - rows)) tool calls had another outcome than succeeded: $(sqlite3 -readonly "$TMP/gw-data/portcullis.db" 'SELECT outcome, count(*) FROM mcp_tool_calls GROUP BY outcome' 2>/dev/null | tr '\n' ' ')"
fi

# ---------------------------------------------------------------- 2. idle sessions
if [[ " $PARTS " == *" idle "* ]]; then
  gw_alive "before the idle sessions"
  TOKEN=$(demo_token "$GW" "$TMP/gw-data") # a fresh one: tokens live 15 minutes
  note "idle sessions: $SESSIONS, initialize with $INIT_CONC at a time, GET streams held ${HOLD}s"
  client=(node "$ROOT/bench/mcp-idle.mjs" "$GW/mcp" "$SESSIONS" "$HOLD" "$GW_PID" "$INIT_CONC")
  ((PIN)) && client=(taskset -c 1 "${client[@]}")
  rc=0
  BENCH_BEARER=$TOKEN timeout -k 5 $((HOLD + 600)) "${client[@]}" >"$TMP/idle.json" 2>"$TMP/idle.err" || rc=$?
  gw_alive "with the idle sessions open"
  [[ -s $TMP/idle.json ]] || { show_logs "$TMP/idle.err" "$TMP/gateway.err"; die "the idle-session client printed no result (exit $rc)"; }
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const goal = Number(process.argv[2]);
    const rss = r.gateway_rss_mb_max, before = r.gateway_rss_mb_before;
    const met = rss !== null && rss < goal && r.held_to_the_end === r.requested ? "yes" : "no";
    const f = (x, d = 1) => (x === null || x === undefined ? "n/a" : x.toFixed(d));
    console.log("");
    console.log(`2. idle MCP sessions through the gateway, each with its GET stream open (${r.requested} sessions, held ${r.hold_seconds} s)`);
    console.log(`   initialize + notifications/initialized, ${r.concurrency} at a time: ${f(r.init_seconds)} s, ${f(r.sessions_per_second, 0)} sessions/s; GET streams opened in ${f(r.streams_seconds)} s`);
    console.log("row".padEnd(30) + ["sessions", "streams", "held", "RSS MB", "RSS before"].map((x) => x.padStart(11)).join("") + "  goal");
    console.log("idle sessions + GET streams".padEnd(30) + [r.sessions, r.streams, r.held_to_the_end, f(rss), f(before)].map((x) => String(x).padStart(11)).join("") + `  RSS ${rss === null ? "n/a" : (rss / goal).toFixed(2) + "x"} of < ${goal} MB, all held: ${met}`);
    console.log(`per session: ${rss === null || before === null ? "n/a" : (((rss - before) * 1024) / Math.max(1, r.held_to_the_end)).toFixed(1)} KiB of gateway RSS; failed: ${r.failed} ${JSON.stringify(r.failures)}; ended early: ${r.ended_early}`);
  ' "$TMP/idle.json" "$GOAL_MB"
  if ((rc != 0)); then
    show_logs "$TMP/idle.err" "$TMP/gateway.err"
    echo "ERROR: not every session and stream was established and held (client exit $rc)"
    ERRORS=1
  fi
fi

echo "load avg at the end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")"
if ((ERRORS)); then
  echo "ERROR: the run had errors (flagged above); it is not a result"
  exit 1
fi
