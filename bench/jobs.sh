#!/usr/bin/env bash
# Accepted async jobs per second, durable on SQLite: POST /v1/agents/echo/invoke with
# {"mode":"async"} answers 202 only once the job row is committed (issue 9). Goal: >= 5,000/s.
# Called by `make bench`; see bench/README.md ("Async jobs").
#
# Knobs: BENCH_SECONDS (10), BENCH_CONNECTIONS (50), BENCH_WARMUP (2), PORTCULLIS_BIN, BENCH_AGENT_BIN.
# Fails (exit 1) on errors: a peer that does not start, an answer other than 202, socket errors,
# fewer job rows in the store than 202s sent, or a gateway without async jobs. A missed goal is
# printed, not failed on.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${PORTCULLIS_BIN:-$ROOT/build/portcullis}
AGENT_BIN=${BENCH_AGENT_BIN:-$BIN} # the example agent: another build's, to try a gateway against it
DURATION=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-50}
WARMUP=${BENCH_WARMUP:-2}
GOAL=5000
TMP=$(mktemp -d "${TMPDIR:-/tmp}/portcullis-jobs.XXXXXX")
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

for v in DURATION CONNS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_SECONDS / BENCH_CONNECTIONS must be positive integers (got ${!v})"
done
[[ $WARMUP =~ ^[0-9]+$ ]] || die "BENCH_WARMUP must be a non-negative integer (got $WARMUP)"
for tool in wrk curl node sqlite3 setsid timeout; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found (install the bench tools: make deps-bench)"
done
[[ -x $BIN ]] || die "gateway binary not found at $BIN (build it first: make build)"
[[ -x $AGENT_BIN ]] || die "example agent binary not found at $AGENT_BIN"
pin_check

start_bg 1 "$TMP/agent.log" "$TMP/agent.err" "$AGENT_BIN" example-agent --listen 127.0.0.1:0
AGENT_PID=$LAST_PID
wait_listening "example agent" "$AGENT_PID" "$TMP/agent.log" "$TMP/agent.err"
AGENT_PORT=$LISTEN_PORT

mkdir -p "$TMP/gw-data"
cat >"$TMP/portcullis.yaml" <<YAML
data_dir: $TMP/gw-data
server: {listen: "127.0.0.1:0", threads: 1}
log: {level: info, access: false}
# limits (issue 12): the demo tenant's tier with room for the load; the limit stage still runs on every request.
tiers: {standard: {rps: 1000000, burst: 1000000, max_concurrent: 0, daily_quota: 0, daily_tool_calls: 0}}
YAML
start_bg 0 "$TMP/gateway.log" "$TMP/gateway.err" "$BIN" serve --config "$TMP/portcullis.yaml" --demo \
  --demo-agent "http://127.0.0.1:$AGENT_PORT"
GW_PID=$LAST_PID
wait_listening "gateway" "$GW_PID" "$TMP/gateway.log" "$TMP/gateway.err"
GW=http://127.0.0.1:$LISTEN_PORT
TOKEN=$(demo_token "$GW" "$TMP/gw-data")
URL=$GW/v1/agents/echo/invoke

# One job by hand: a gateway without async jobs answers something else, and this says so.
probe=$(curl -s --max-time 10 -w '\n%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' --data '{"input":"hello","mode":"async"}' "$URL" 2>/dev/null || true)
code=${probe##*$'\n'}
body=${probe%$'\n'*}
if [[ $code != 202 || $body != *'"jobId"'* ]]; then
  die "async jobs are not available in this build: POST invoke with mode async answered ${code:-nothing} (expected 202 with a jobId): ${body:0:300}"
fi

export BENCH_BEARER=$TOKEN
run_wrk() { # run_wrk SECONDS OUT
  local cmd=(wrk -t1 -c"$CONNS" -d"$1s" --timeout 5s --latency -s "$ROOT/bench/async.lua" "$URL")
  ((PIN)) && cmd=(taskset -c 1 "${cmd[@]}")
  timeout -k 5 $(($1 + 30)) "${cmd[@]}" >"$2" 2>&1 &
  WRK_PID=$!
  local rc=0
  wait "$WRK_PID" || rc=$?
  WRK_PID=
  ((rc == 0)) || { cat "$2" >&2; die "wrk failed (exit $rc)"; }
  kill -0 "$GW_PID" 2>/dev/null || { show_logs "$TMP/gateway.log" "$TMP/gateway.err"; die "the gateway died"; }
}
count() { awk "$1" "$2"; }
sent=1 # the probe
if ((WARMUP > 0)); then
  run_wrk "$WARMUP" "$TMP/warmup.txt"
  sent=$((sent + $(count '/ requests in / {print $1; exit}' "$TMP/warmup.txt")))
fi
LOAD=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
run_wrk "$DURATION" "$TMP/wrk.txt"
out=$TMP/wrk.txt
rps=$(count '/^Requests\/sec:/ {print $2}' "$out")
reqs=$(count '/ requests in / {print $1; exit}' "$out")
p50=$(count '$1 == "50%" {print $2; exit}' "$out")
p99=$(count '$1 == "99%" {print $2; exit}' "$out")
not202=$(count '/^Not 202:/ {print $3}' "$out")
warm_not202=$( ((WARMUP > 0)) && count '/^Not 202:/ {print $3}' "$TMP/warmup.txt" || echo 0)
sockerr=$(count '/Socket errors:/ {gsub(/,/, ""); print $4 + $6 + $8 + $10}' "$out")
sent=$((sent + ${reqs:-0}))
[[ -n $rps && -n $reqs ]] || { cat "$out" >&2; die "could not parse wrk's output"; }

# Durable means in the store: every 202 sent must be a row of the jobs table by now.
rows=$(sqlite3 -readonly "$TMP/gw-data/portcullis.db" 'SELECT count(*) FROM jobs' 2>"$TMP/sqlite.err" || true)
[[ $rows =~ ^[0-9]+$ ]] || { show_logs "$TMP/sqlite.err"; die "could not count the jobs table in $TMP/gw-data/portcullis.db"; }

ratio=$(awk -v r="$rps" -v g="$GOAL" 'BEGIN { printf "%.2f", r / g }')
met=$(awk -v r="$rps" -v g="$GOAL" 'BEGIN { print (r + 0 >= g) ? "yes" : "no" }')
errors=0
((${not202:-0} + ${warm_not202:-0} > 0 || ${sockerr:-0} > 0)) && errors=1
((rows >= sent)) || errors=1
echo
echo "Async jobs accepted per second, durable on SQLite ($(date -u +%Y-%m-%dT%H:%M:%SZ), load avg $LOAD)"
echo "wrk: 1 thread, $CONNS connections, ${WARMUP}s warm-up + ${DURATION}s; gateway on core 0, wrk and agent on core 1"
printf '%-32s %10s %10s %10s  %s\n' "row" "jobs/s" "p50" "p99" "goal"
printf '%-32s %10s %10s %10s  %s\n' "POST invoke mode async (202)" "$rps" "$p50" "$p99" \
  "${ratio}x of >= $GOAL/s: $met"
echo "202s sent: $sent (probe and warm-up included); job rows in the store: $rows; answers other than 202: $((${not202:-0} + ${warm_not202:-0})); socket errors: ${sockerr:-0}"
if ((errors)); then
  ((rows >= sent)) || echo "ERROR: fewer job rows ($rows) than 202 answers ($sent): an accepted job was not durable"
  echo "ERROR: the run had errors; it is not a result"
  exit 1
fi
