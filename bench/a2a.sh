#!/usr/bin/env bash
# The A2A proxy (issue 11), two measurements against the official @a2a-js/sdk 1.3.0 server as the
# agent runtime (tests/integration/support/a2a_runtime.mjs, which verifies the gateway's
# X-Portcullis-Identity on every request). Called by `make bench`; see bench/README.md ("A2A").
#
# 1. SendMessage (JSON-RPC, A2A 1.0, ~1 KiB text, the runtime answers a completed task) through the
#    gateway's /a2a/{agent} vs straight to the runtime: req/s, p99, the ratio (goal >= 0.90x while
#    the runtime is the bottleneck) and the gateway's CPU per message (utime + stime from /proc).
#    Direct calls carry an identity token the gateway signed for the agent (taken from a probe), so
#    the runtime does the same work either way.
# 2. SendStreamingMessage of A2A_STREAM_EVENTS (1,000) events (bench/a2a-stream.mjs), through the
#    gateway vs direct: burst (the runtime writes them as fast as it can: total time, added time per
#    event) and paced (1 ms apart: the latency of each event from the runtime's write to the
#    client's read, p50/p99, and what the relay adds).
#
# Knobs: BENCH_SECONDS (10), BENCH_CONNECTIONS (50), BENCH_WARMUP (2), A2A_STREAM_EVENTS (1000),
# A2A_STREAM_RUNS (5), A2A_PARTS ("send stream"), A2A_DIRECT_ONLY (1: only the runtime, no
# gateway, for working on the runtime side), PORTCULLIS_BIN.
# Fails (exit 1) on errors: a peer that does not start, a message that does not reach the runtime,
# non-2xx answers, socket errors, answers that are not a completed task, fewer invocation records
# than messages answered through the gateway, a stream that loses events. Missed goals are printed,
# not failed on.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${PORTCULLIS_BIN:-$ROOT/build/portcullis}
DURATION=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-50}
WARMUP=${BENCH_WARMUP:-2}
EVENTS=${A2A_STREAM_EVENTS:-1000}
RUNS=${A2A_STREAM_RUNS:-5}
PARTS=${A2A_PARTS:-send stream}
DIRECT_ONLY=${A2A_DIRECT_ONLY:-0}
AGENT=bench-a2a
GOAL_RATIO=0.90
RUNTIME=$ROOT/tests/integration/support/a2a_runtime.mjs
TMP=$(mktemp -d "${TMPDIR:-/tmp}/portcullis-a2a.XXXXXX")
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

for v in DURATION CONNS EVENTS RUNS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] ||
    die "BENCH_SECONDS / BENCH_CONNECTIONS / A2A_STREAM_EVENTS / A2A_STREAM_RUNS must be positive integers (got ${!v})"
done
[[ $WARMUP =~ ^[0-9]+$ ]] || die "BENCH_WARMUP must be a non-negative integer (got $WARMUP)"
for p in $PARTS; do [[ $p == send || $p == stream ]] || die "A2A_PARTS: unknown part '$p' (send stream)"; done
for tool in wrk curl node sqlite3 setsid timeout; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found (install the bench tools: make deps-bench)"
done
((DIRECT_ONLY)) || [[ -x $BIN ]] || die "gateway binary not found at $BIN (build it first: make build)"
for f in bench/a2a.lua bench/a2a-stream.mjs tests/integration/support/a2a_runtime.mjs node_modules/@a2a-js/sdk/package.json; do
  [[ -f $ROOT/$f ]] || die "missing $f (node packages: make deps-bench)"
done
pin_check

# ---------------------------------------------------------------- the gateway
GW=
if ((!DIRECT_ONLY)); then
  mkdir -p "$TMP/gw-data"
  # One I/O thread, no access log; the rest at its defaults (records, redaction, audit).
  cat >"$TMP/portcullis.yaml" <<YAML
data_dir: $TMP/gw-data
server:
  listen: "127.0.0.1:0"
  threads: 1
  limits: {max_connections: 2000, idle_timeout_ms: 120000}
log: {level: info, access: false}
# limits (issue 12): the demo tenant's tier with room for the load; the limit stage still runs on every request.
tiers: {standard: {rps: 1000000, burst: 1000000, max_concurrent: 0, daily_quota: 0, daily_tool_calls: 0}}
YAML
  start_bg 0 "$TMP/gateway.log" "$TMP/gateway.err" "$BIN" serve --config "$TMP/portcullis.yaml" --demo
  GW_PID=$LAST_PID
  wait_listening "gateway" "$GW_PID" "$TMP/gateway.log" "$TMP/gateway.err"
  GW=http://127.0.0.1:$LISTEN_PORT
  TOKEN=$(demo_token "$GW" "$TMP/gw-data")
fi
gw_alive() { kill -0 "$GW_PID" 2>/dev/null || { show_logs "$TMP/gateway.log" "$TMP/gateway.err"; die "the gateway died $1"; }; }

# ---------------------------------------------------------------- the runtime (the SDK server)
rt_args=(--agent "$AGENT")
if ((DIRECT_ONLY)); then rt_args+=(--no-identity); else rt_args+=(--gateway "$GW"); fi
start_bg 1 "$TMP/runtime.out" "$TMP/runtime.err" node "$RUNTIME" "${rt_args[@]}"
RT_PID=$LAST_PID
deadline=$((SECONDS + 15))
until [[ $(cat "$TMP/runtime.out" 2>/dev/null) =~ \"listening\":\"127\.0\.0\.1:([0-9]+)\" ]]; do
  kill -0 "$RT_PID" 2>/dev/null || { show_logs "$TMP/runtime.out" "$TMP/runtime.err"; die "the A2A runtime exited during startup"; }
  ((SECONDS < deadline)) || { show_logs "$TMP/runtime.out" "$TMP/runtime.err"; die "the A2A runtime did not start within 15s"; }
  sleep 0.1
done
RT=http://127.0.0.1:${BASH_REMATCH[1]}
DIRECT=$RT/a2a/jsonrpc
rt_alive() { kill -0 "$RT_PID" 2>/dev/null || { show_logs "$TMP/runtime.out" "$TMP/runtime.err"; die "the A2A runtime died $1"; }; }

# ---------------------------------------------------------------- setup through the Admin API
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
admin_post() { # admin_post PATH JSON : dies unless 200/201
  local out
  out=$(curl -s --max-time 10 -w '\n%{http_code}' -X POST -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
    --data "$2" "$GW$1" 2>/dev/null || true)
  [[ ${out##*$'\n'} == 201 || ${out##*$'\n'} == 200 ]] || die "gateway: POST $1 answered ${out##*$'\n'}: ${out%$'\n'*}"
}
if ((!DIRECT_ONLY)); then
  ADMIN=$(admin_token)
  admin_post /v1/platform/agents "{\"name\":\"$AGENT\",\"protocol\":\"a2a\"}"
  admin_post "/v1/platform/agents/$AGENT/versions" "{\"version\":\"v1\",\"endpoint\":\"$RT\"}"
  admin_post "/v1/platform/agents/$AGENT/versions/v1/promote" "{}"
  # The catalog is refreshed in the background: wait until tenant demo sees the agent.
  deadline=$((SECONDS + 15))
  until curl -s --max-time 5 -H "Authorization: Bearer $TOKEN" "$GW/v1/agents?limit=100" 2>/dev/null | grep -q "\"name\":\"$AGENT\""; do
    ((SECONDS < deadline)) || die "gateway: agent $AGENT is not visible to tenant demo after 15s"
    sleep 0.2
  done
fi

# send URL TEXT [HEADER...] : one SendMessage; the answer's body in $TMP/send.body; prints the status
send() {
  local url=$1 text=$2 h=(-H 'Content-Type: application/json' -H 'A2A-Version: 1.0')
  shift 2
  for x in "$@"; do h+=(-H "$x"); done
  curl -s --max-time 10 -o "$TMP/send.body" -w '%{http_code}' -X POST "${h[@]}" \
    --data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"SendMessage\",\"params\":{\"message\":{\"messageId\":\"probe-$RANDOM$RANDOM\",\"role\":\"ROLE_USER\",\"parts\":[{\"text\":\"echo $text\"}]}}}" \
    "$url" 2>/dev/null || echo 000
}
# probe NAME URL [HEADER...] : one echo message with a fresh text; the answer must be a completed
# task carrying that text
probe() {
  local name=$1 url=$2 text code
  shift 2
  text="probe-$RANDOM$RANDOM"
  code=$(send "$url" "$text" "$@")
  if [[ $code != 200 ]] || ! grep -q '"result":' "$TMP/send.body" || ! grep -q 'TASK_STATE_COMPLETED' "$TMP/send.body" ||
    ! grep -q "echo: $text" "$TMP/send.body"; then
    show_logs "$TMP/gateway.log" "$TMP/runtime.err"
    die "$name: SendMessage answered $code without a completed task echoing the text: $(head -c 400 "$TMP/send.body")"
  fi
}
# identity : a fresh probe through the gateway, then the X-Portcullis-Identity the runtime received
identity() {
  probe "gateway" "$GW/a2a/$AGENT" "Authorization: Bearer $TOKEN"
  curl -s --max-time 5 "$RT/__runtime/records" 2>/dev/null | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const r = JSON.parse(s).requests.at(-1);
      if (!r || r.refused || !r.headers["x-portcullis-identity"] || r.headers.authorization) process.exit(1);
      console.log(r.headers["x-portcullis-identity"]);
    });' || die "the runtime did not record a verified X-Portcullis-Identity (or it saw an Authorization) for the probe"
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
records() { # invocation records of the bench agent
  sqlite3 -readonly "$TMP/gw-data/portcullis.db" "SELECT count(*) FROM invocations WHERE agent = '$AGENT'" 2>"$TMP/sqlite.err" || true
}

LOAD=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
ERRORS=0
echo
echo "A2A proxy ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, load avg at start $LOAD; runtime: @a2a-js/sdk $(node -p 'require(process.argv[1]).version' "$ROOT/node_modules/@a2a-js/sdk/package.json") on Node $(node --version))"
if ((PIN)); then
  echo "pinning: gateway on core 0; the SDK runtime, wrk and the Node stream client on core 1"
else
  echo "pinning: UNPINNED (fewer than 2 usable cores)"
fi
((DIRECT_ONLY)) && echo "A2A_DIRECT_ONLY=1: the runtime alone, no gateway (no ratio, no CPU per message)"

# ---------------------------------------------------------------- 1. SendMessage
if [[ " $PARTS " == *" send "* ]]; then
  if ((DIRECT_ONLY)); then
    IDENTITY=
    probe "runtime" "$DIRECT"
  else
    IDENTITY=$(identity)
    probe "runtime" "$DIRECT" "X-Portcullis-Identity: $IDENTITY"
  fi
  sent=1 # answered through the gateway: the probe
  declare -A RPS P50 P99 REQS NON2XX SOCKERR BAD
  run_wrk() { # run_wrk SECONDS URL ID_BASE TOKEN IDENTITY OUT
    local cmd=(wrk -t1 -c"$CONNS" -d"$1s" --timeout 5s --latency -s "$ROOT/bench/a2a.lua" "$2") rc=0
    ((PIN)) && cmd=(taskset -c 1 "${cmd[@]}")
    BENCH_ID_BASE=$3 BENCH_BEARER=$4 BENCH_IDENTITY=$5 timeout -k 5 $(($1 + 30)) "${cmd[@]}" >"$6" 2>&1 &
    WRK_PID=$!
    wait "$WRK_PID" || rc=$?
    WRK_PID=
    ((rc == 0)) || { cat "$6" >&2; die "wrk failed (exit $rc)"; }
    ((DIRECT_ONLY)) || gw_alive "under load"
    rt_alive "under load"
  }
  # measure KEY URL TOKEN IDENTITY : warm-up, then the measured run
  measure() {
    local key=$1 url=$2 token=$3 ident=$4 out=$TMP/wrk-$1.txt c0= c1= w base=0
    [[ $key == gateway ]] && base=2000000000 # message ids never repeat across the runs
    note "SendMessage $key: warm-up ${WARMUP}s, then ${DURATION}s ($url)"
    if ((WARMUP > 0)); then
      run_wrk "$WARMUP" "$url" "$((base + 1000000000))" "$token" "$ident" "$out.warmup"
      w=$(awk '/ requests in / {print $1; exit}' "$out.warmup")
      [[ $key == gateway ]] && sent=$((sent + ${w:-0}))
      if grep -q 'Non-2xx\|Socket errors' "$out.warmup" || ! grep -q '^Not a result: 0$' "$out.warmup"; then
        cat "$out.warmup" >&2
        ERRORS=1
      fi
    fi
    ((DIRECT_ONLY)) || c0=$(cpu_ticks "$GW_PID")
    run_wrk "$DURATION" "$url" "$((base + 2000000000))" "$token" "$ident" "$out"
    ((DIRECT_ONLY)) || c1=$(cpu_ticks "$GW_PID")
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
    if [[ -n $c0 ]]; then
      local u0=${c0% *} s0=${c0#* } u1=${c1% *} s1=${c1#* }
      [[ $key == gateway ]] && { sent=$((sent + REQS[$key])); GW_TICKS=$((u1 + s1 - u0 - s0)); GW_UTICKS=$((u1 - u0)); }
      [[ $key == direct ]] && DIRECT_GW_TICKS=$((u1 + s1 - u0 - s0))
    fi
    return 0
  }
  measure direct "$DIRECT" "" "$IDENTITY"
  ((DIRECT_ONLY)) || measure gateway "$GW/a2a/$AGENT" "$TOKEN" ""

  flag() {
    local k=$1 f=()
    ((NON2XX[$k] > 0)) && f+=("NON-2XX: ${NON2XX[$k]}")
    ((SOCKERR[$k] > 0)) && f+=("SOCKET ERRORS: ${SOCKERR[$k]}")
    ((BAD[$k] > 0)) && f+=("NOT A COMPLETED TASK: ${BAD[$k]}")
    ((REQS[$k] == 0)) && f+=("NO REQUESTS")
    if ((${#f[@]})); then
      local IFS=,
      echo "!! ${f[*]}"
    else echo ok; fi
  }
  row() { printf '%-30s %10s %10s %10s %10s  %s\n' "$@"; }
  echo
  echo "1. SendMessage (JSON-RPC, A2A 1.0), ~1 KiB text, answered with a completed task (wrk: 1 thread, $CONNS connections,"
  echo "   ${WARMUP}s warm-up + ${DURATION}s; the runtime verifies an ES256 identity token on every message either way)"
  row "row" "req/s" "p50 ms" "p99 ms" "requests" "errors"
  row "direct to the SDK runtime" "${RPS[direct]}" "${P50[direct]}" "${P99[direct]}" "${REQS[direct]}" "$(flag direct)"
  if ((!DIRECT_ONLY)); then
    row "through the gateway" "${RPS[gateway]}" "${P50[gateway]}" "${P99[gateway]}" "${REQS[gateway]}" "$(flag gateway)"
    ratio=$(awk -v a="${RPS[gateway]}" -v b="${RPS[direct]}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
    p99r=$(awk -v a="${P99[gateway]}" -v b="${P99[direct]}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
    met_ratio=$(awk -v r="$ratio" -v g="$GOAL_RATIO" 'BEGIN { print (r != "n/a" && r + 0 >= g) ? "yes" : "no" }')
    row "gateway / direct" "${ratio}x" "" "${p99r}x" "" "req/s goal >= ${GOAL_RATIO}x: $met_ratio"
    tick_us=$(awk -v t="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", 1e6 / t }')
    cpu_us=$(awk -v t="$GW_TICKS" -v n="${REQS[gateway]}" -v k="$tick_us" 'BEGIN { if (n > 0) printf "%.1f", t * k / n; else print "n/a" }')
    user_pct=$(awk -v u="$GW_UTICKS" -v t="$GW_TICKS" 'BEGIN { if (t > 0) printf "%.0f", 100 * u / t; else print "n/a" }')
    echo "gateway CPU per message: $cpu_us µs (utime+stime of the gateway, $GW_TICKS ticks of $tick_us µs over ${REQS[gateway]} messages, $user_pct% user)"
    echo "gateway CPU while idle during the direct run: ${DIRECT_GW_TICKS} ticks"
    # Every message answered through the gateway reached the runtime and was recorded (written
    # behind: wait for them).
    deadline=$((SECONDS + 15))
    while rows=$(records) && [[ $rows =~ ^[0-9]+$ ]] && ((rows < sent && SECONDS < deadline)); do sleep 0.2; done
    [[ $rows =~ ^[0-9]+$ ]] || { show_logs "$TMP/sqlite.err"; die "could not count invocations in $TMP/gw-data/portcullis.db"; }
    echo "invocation records of $AGENT: $rows (messages answered through the gateway, probe and warm-up included: $sent)"
    ((rows >= sent)) || { echo "ERROR: fewer invocation records ($rows) than messages answered ($sent)"; ERRORS=1; }
  fi
fi

# ---------------------------------------------------------------- 2. a stream of events
if [[ " $PARTS " == *" stream "* ]]; then
  if ((DIRECT_ONLY)); then IDENTITY=; else IDENTITY=$(identity); fi # a fresh one (they live minutes)
  # stream_run KEY URL GAP TOKEN IDENTITY : bench/a2a-stream.mjs's JSON in $TMP/stream-KEY-GAP.json
  stream_run() {
    local cmd=(node "$ROOT/bench/a2a-stream.mjs" "$2" "$EVENTS" "$3" "$RUNS") rc=0
    ((PIN)) && cmd=(taskset -c 1 "${cmd[@]}")
    note "stream $1: $EVENTS events, gap ${3} ms, $RUNS runs after a warm-up ($2)"
    BENCH_BEARER=$4 BENCH_IDENTITY=$5 timeout -k 5 600 "${cmd[@]}" >"$TMP/stream-$1-$3.json" 2>"$TMP/stream.err" || rc=$?
    if ((rc != 0)); then
      show_logs "$TMP/stream.err" "$TMP/gateway.log" "$TMP/runtime.err"
      echo "ERROR: the $1 stream (gap $3 ms) failed"
      ERRORS=1
      echo '{}' >"$TMP/stream-$1-$3.json"
    fi
  }
  for gap in 0 1; do
    stream_run direct "$DIRECT" "$gap" "" "$IDENTITY"
    ((DIRECT_ONLY)) || stream_run gateway "$GW/a2a/$AGENT" "$gap" "$TOKEN" ""
  done
  ((DIRECT_ONLY)) || gw_alive "after the streams"
  rt_alive "after the streams"
  echo
  node -e '
    const fs = require("fs");
    const [dir, events, runs, directOnly] = process.argv.slice(1);
    const read = (k, g) => { try { return JSON.parse(fs.readFileSync(`${dir}/stream-${k}-${g}.json`, "utf8")).median ?? null; } catch { return null; } };
    const f = (x, d = 1) => (x === null || x === undefined ? "n/a" : x.toFixed(d));
    const row = (...c) => console.log(c[0].padEnd(30) + c.slice(1).map((x) => String(x).padStart(11)).join(""));
    console.log(`2. SendStreamingMessage of ${events} events (JSON-RPC SSE; the run with the median total of ${runs}, after a warm-up)`);
    row("burst (no gap)", "total ms", "events/s", "p50 ms", "p99 ms");
    for (const k of ["direct", "gateway"]) {
      const m = read(k, 0);
      if (k === "gateway" && directOnly === "1") continue;
      row(`  ${k}`, f(m?.total_ms), m ? f((1000 * m.events) / m.total_ms, 0) : "n/a", f(m?.p50_ms, 2), f(m?.p99_ms, 2));
    }
    const d0 = read("direct", 0), g0 = read("gateway", 0);
    if (d0 && g0) console.log(`  added by the gateway: ${f(((g0.total_ms - d0.total_ms) * 1000) / d0.events)} µs per event over the whole stream (${f(g0.total_ms - d0.total_ms)} ms for ${d0.events})`);
    row("paced (1 ms apart)", "total ms", "p50 ms", "p99 ms", "max ms");
    for (const k of ["direct", "gateway"]) {
      const m = read(k, 1);
      if (k === "gateway" && directOnly === "1") continue;
      row(`  ${k}`, f(m?.total_ms), f(m?.p50_ms, 3), f(m?.p99_ms, 3), f(m?.max_ms, 3));
    }
    const d1 = read("direct", 1), g1 = read("gateway", 1);
    if (d1 && g1) console.log(`  added latency per event (runtime write → client read): p50 ${f((g1.p50_ms - d1.p50_ms) * 1000)} µs, p99 ${f((g1.p99_ms - d1.p99_ms) * 1000)} µs`);
  ' "$TMP" "$EVENTS" "$RUNS" "$DIRECT_ONLY"
fi

echo "load avg at the end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")"
if ((ERRORS)); then
  echo "ERROR: the run had errors (flagged above); it is not a result"
  exit 1
fi
