#!/usr/bin/env bash
# Portcullis vs nginx, side by side, in one run; prints req/s and p99 ratios.
# Called by `make bench` after the release build. See bench/README.md.
#
# Knobs (environment):
#   BENCH_SECONDS=10        measured run per scenario and peer
#   BENCH_CONNECTIONS=50    wrk connections (one wrk thread)
#   BENCH_WARMUP=2          warm-up run before each measured run (discarded)
#   PORTCULLIS_BIN=...      binary to test (default build/portcullis)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_DIR="$ROOT/bench"
RESULTS_DIR="$BENCH_DIR/results"
POST_LUA="$BENCH_DIR/post.lua"
BIN=${PORTCULLIS_BIN:-$ROOT/build/portcullis}
DURATION=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-50}
WARMUP=${BENCH_WARMUP:-2}
START_TIMEOUT=15  # seconds to wait for anything to come up
GOAL=0.90         # gateway req/s must be >= GOAL x nginx req/s

die() {
  echo "bench: error: $*" >&2
  exit 1
}
note() { echo "bench: $*" >&2; }

# ---------------------------------------------------------------- preflight
for v in DURATION CONNS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_SECONDS / BENCH_CONNECTIONS must be positive integers (got ${!v})"
done
[[ $WARMUP =~ ^[0-9]+$ ]] || die "BENCH_WARMUP must be a non-negative integer (got $WARMUP)"
for tool in wrk nginx curl awk timeout setsid; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found (install the bench tools: make deps-bench)"
done
[[ -x $BIN ]] || die "gateway binary not found at $BIN (build it first: make build)"
[[ -f $POST_LUA ]] || die "missing $POST_LUA"

# Pinning: gateway and nginx on core 0 (one at a time under load), wrk and the
# example agent on core 1. Without two usable cores we run unpinned and say so.
PIN=0
if command -v taskset >/dev/null 2>&1 && [[ $(nproc 2>/dev/null || echo 1) -ge 2 ]] &&
  taskset -c 0 true 2>/dev/null && taskset -c 1 true 2>/dev/null; then
  PIN=1
else
  note "warning: cannot pin to cores 0 and 1 (need taskset and >= 2 CPUs); running unpinned, numbers are less comparable"
fi

# ---------------------------------------------------------------- lifecycle
TMP=$(mktemp -d "${TMPDIR:-/tmp}/portcullis-bench.XXXXXX")
PIDS=()
WRK_PID=

cleanup() {
  local rc=$? pid deadline
  trap - EXIT INT TERM
  if [[ -n $WRK_PID ]]; then kill -TERM "$WRK_PID" 2>/dev/null || true; fi
  # each server is its own process group (see start_bg): signal the group, then the pid
  for pid in "${PIDS[@]}"; do kill -TERM -- "-$pid" "$pid" 2>/dev/null || true; done
  deadline=$((SECONDS + 5))
  for pid in "${PIDS[@]}"; do
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    kill -KILL -- "-$pid" "$pid" 2>/dev/null || true
  done
  if ((${#PIDS[@]})); then wait "${PIDS[@]}" 2>/dev/null || true; fi
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_bg CORE STDOUT STDERR cmd... ; sets LAST_PID. setsid and taskset exec, so LAST_PID is
# the command's own pid and also its process group, which cleanup signals as a whole.
start_bg() {
  local core=$1 out=$2 err=$3 pin=()
  shift 3
  ((PIN)) && pin=(taskset -c "$core")
  setsid "${pin[@]}" "$@" >"$out" 2>"$err" </dev/null &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
}

show_logs() { # show_logs FILE... : last lines of each, for error messages
  local f
  for f in "$@"; do
    [[ -s $f ]] || continue
    echo "---- ${f##*/} (last 15 lines) ----" >&2
    tail -n 15 "$f" >&2
  done
}

# wait_listening NAME PID LOGFILE [ERRFILE] ; sets LISTEN_PORT from the "listening" JSON log line
wait_listening() {
  local name=$1 pid=$2 logf=$3 errf=${4:-} deadline=$((SECONDS + START_TIMEOUT)) line
  while ((SECONDS < deadline)); do
    line=$(grep -m1 '"msg":"listening"' "$logf" 2>/dev/null || true)
    if [[ $line =~ \"address\":\"127\.0\.0\.1:([0-9]+)\" ]]; then
      LISTEN_PORT=${BASH_REMATCH[1]}
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      show_logs "$logf" "$errf"
      die "$name exited during startup"
    fi
    sleep 0.1
  done
  show_logs "$logf" "$errf"
  die "$name did not report listening within ${START_TIMEOUT}s"
}

# wait_http NAME PID URL LOGFILE : until URL answers 200
wait_http() {
  local name=$1 pid=$2 url=$3 logf=$4 deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" 2>/dev/null) == 200 ]]; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      show_logs "$logf"
      die "$name exited during startup"
    fi
    sleep 0.1
  done
  show_logs "$logf"
  die "$name did not answer $url within ${START_TIMEOUT}s"
}

free_port() { # a free loopback port: bind port 0, read it back, close
  if command -v python3 >/dev/null 2>&1 &&
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null; then
    return 0
  fi
  local p i
  for ((i = 0; i < 200; i++)); do # fallback: a random high port nothing answers on
    p=$((20000 + RANDOM % 40000))
    if ! (: </dev/tcp/127.0.0.1/$p) 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

# check_response NAME METHOD URL EXPECT : one request by hand before benchmarking it
check_response() {
  local name=$1 method=$2 url=$3 expect=$4 out code
  if [[ $method == POST ]]; then
    out=$(curl -s --max-time 5 -w '\n%{http_code}' -X POST -H 'Content-Type: application/json' \
      --data '{"input":"hello"}' "$url" 2>/dev/null || true)
  else
    out=$(curl -s --max-time 5 -w '\n%{http_code}' "$url" 2>/dev/null || true)
  fi
  code=${out##*$'\n'}
  if [[ $code != 200 || $out != *"$expect"* ]]; then
    die "$name: $method $url answered ${code:-nothing} (expected 200 containing $expect): ${out%$'\n'*}"
  fi
}

# ---------------------------------------------------------------- start the peers
AGENT_OUT=$TMP/agent.log
start_bg 1 "$AGENT_OUT" "$TMP/agent.err" "$BIN" example-agent --listen 127.0.0.1:0
AGENT_PID=$LAST_PID
wait_listening "example agent" "$AGENT_PID" "$AGENT_OUT" "$TMP/agent.err"
AGENT_PORT=$LISTEN_PORT

mkdir -p "$TMP/gw-data"
cat >"$TMP/portcullis.yaml" <<EOF
data_dir: $TMP/gw-data
server:
  listen: "127.0.0.1:0"
  threads: 1
# info level so the "listening" line is printed; nothing else is logged per request
# because the access log is off (as it is for nginx).
log: {level: info, access: false}
EOF
GW_OUT=$TMP/gateway.log
start_bg 0 "$GW_OUT" "$TMP/gateway.err" "$BIN" serve --config "$TMP/portcullis.yaml" --demo \
  --demo-agent "http://127.0.0.1:$AGENT_PORT"
GW_PID=$LAST_PID
wait_listening "gateway" "$GW_PID" "$GW_OUT" "$TMP/gateway.err"
GW_PORT=$LISTEN_PORT

NGINX_PORT=$(free_port) || die "could not find a free port for nginx"
mkdir -p "$TMP/nginx"/{client_body,proxy,fastcgi,uwsgi,scgi}
NGINX_USER=
[[ $(id -u) == 0 ]] && NGINX_USER="user root;"
cat >"$TMP/nginx.conf" <<EOF
# generated by bench/run.sh
$NGINX_USER
daemon off;
master_process off;
worker_processes 1;
pid $TMP/nginx.pid;
error_log $TMP/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $TMP/nginx/client_body;
  proxy_temp_path $TMP/nginx/proxy;
  fastcgi_temp_path $TMP/nginx/fastcgi;
  uwsgi_temp_path $TMP/nginx/uwsgi;
  scgi_temp_path $TMP/nginx/scgi;
  # The gateway does not cap requests per keep-alive connection; neither does nginx here.
  keepalive_requests 1000000;
  upstream agent_upstream {
    server 127.0.0.1:$AGENT_PORT;
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    # The gateway stamps every response with X-Request-Id and forwards it, with
    # X-Forwarded-For/-Proto, to the upstream; nginx does the same work here.
    add_header X-Request-Id \$request_id always;
    location = /healthz {
      default_type application/json;
      return 200 '{"status":"ok"}';
    }
    location = /v1/agents/echo/invoke {
      proxy_pass http://agent_upstream/invocations;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Request-Id \$request_id;
      proxy_set_header X-Forwarded-For \$remote_addr;
      proxy_set_header X-Forwarded-Proto \$scheme;
    }
  }
}
EOF
# -e: error log before the config is read (otherwise nginx opens /var/log/nginx/error.log)
NGINX_CMD=(nginx -p "$TMP/nginx" -e "$TMP/nginx-error.log" -c "$TMP/nginx.conf")
if ! timeout 10 "${NGINX_CMD[@]}" -t >"$TMP/nginx-test.log" 2>&1; then
  show_logs "$TMP/nginx-test.log" "$TMP/nginx-error.log"
  die "nginx rejected the generated configuration"
fi
start_bg 0 "$TMP/nginx.out" "$TMP/nginx.err" "${NGINX_CMD[@]}"
NGINX_PID=$LAST_PID
wait_http "nginx" "$NGINX_PID" "http://127.0.0.1:$NGINX_PORT/healthz" "$TMP/nginx-error.log"

GW=http://127.0.0.1:$GW_PORT
NG=http://127.0.0.1:$NGINX_PORT
AG=http://127.0.0.1:$AGENT_PORT
check_response "gateway" GET "$GW/healthz" '"status":"ok"'
check_response "nginx" GET "$NG/healthz" '"status":"ok"'
check_response "gateway" POST "$GW/v1/agents/echo/invoke" '"echo":"hello"'
check_response "nginx" POST "$NG/v1/agents/echo/invoke" '"echo":"hello"'
check_response "example agent" POST "$AG/invocations" '"echo":"hello"'

# ---------------------------------------------------------------- measure
check_alive() { # check_alive WHEN : all three servers still running?
  local name pid
  for name in "example agent:$AGENT_PID" "gateway:$GW_PID" "nginx:$NGINX_PID"; do
    pid=${name##*:}
    if ! kill -0 "$pid" 2>/dev/null; then
      show_logs "$GW_OUT" "$TMP/gateway.err" "$AGENT_OUT" "$TMP/agent.err" "$TMP/nginx-error.log" "$TMP/nginx.err"
      die "${name%:*} (pid $pid) died $1"
    fi
  done
}

declare -A RPS P50 P99 NON2XX SOCKERR REQS
ANY_ERRORS=0
RAW_DIR=$TMP/raw
mkdir -p "$RAW_DIR"

to_ms() { # wrk latency ("812.00us", "1.23ms", "2.01s", "1.50m") -> milliseconds
  awk -v v="$1" 'BEGIN {
    if (v == "") { print ""; exit }
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : (u == "h") ? 3600000 : -1
    if (f < 0) print ""; else printf "%.3f", n * f
  }'
}

wrk_cmd() { # wrk_cmd SECONDS URL [LUA] &  (run in the background only: it execs) wrk on core 1, bounded by timeout
  local secs=$1 url=$2 lua=${3:-}
  local cmd=(wrk -t1 -c"$CONNS" -d"${secs}s" --timeout 5s --latency)
  [[ -n $lua ]] && cmd+=(-s "$lua")
  cmd+=("$url")
  if ((PIN)); then cmd=(taskset -c 1 "${cmd[@]}"); fi
  exec timeout -k 5 $((secs + 30)) "${cmd[@]}" # exec: WRK_PID is then timeout itself
}

# measure KEY PEER URL [LUA] : warm-up, then the measured run; results into the arrays
measure() {
  local key=$1 peer=$2 url=$3 lua=${4:-} out id=$1/$2 rc=0
  out="$RAW_DIR/${key}-${peer}.txt"
  note "$key / $peer: warm-up ${WARMUP}s, then ${DURATION}s ($url)"
  if ((WARMUP > 0)); then
    wrk_cmd "$WARMUP" "$url" "$lua" >"$out.warmup" 2>&1 &
    WRK_PID=$!
    wait "$WRK_PID" || rc=$?
    WRK_PID=
    ((rc == 0)) || { cat "$out.warmup" >&2; die "wrk warm-up failed for $key / $peer (exit $rc)"; }
  fi
  wrk_cmd "$DURATION" "$url" "$lua" >"$out" 2>&1 &
  WRK_PID=$!
  wait "$WRK_PID" || rc=$?
  WRK_PID=
  ((rc == 0)) || { cat "$out" >&2; die "wrk failed for $key / $peer (exit $rc)"; }
  check_alive "during $key / $peer"
  RPS[$id]=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  REQS[$id]=$(awk '/ requests in / {print $1; exit}' "$out")
  P50[$id]=$(to_ms "$(awk '$1 == "50%" {print $2; exit}' "$out")")
  P99[$id]=$(to_ms "$(awk '$1 == "99%" {print $2; exit}' "$out")")
  NON2XX[$id]=$(awk -F: '/Non-2xx or 3xx responses/ {gsub(/ /, "", $2); print $2}' "$out")
  NON2XX[$id]=${NON2XX[$id]:-0}
  SOCKERR[$id]=$(awk '/Socket errors:/ {gsub(/,/, ""); print $4 + $6 + $8 + $10}' "$out")
  SOCKERR[$id]=${SOCKERR[$id]:-0}
  [[ -n ${RPS[$id]} && -n ${P99[$id]} ]] || { cat "$out" >&2; die "could not parse wrk output for $key / $peer"; }
  if ((${NON2XX[$id]} > 0 || ${SOCKERR[$id]} > 0 || ${REQS[$id]:-0} == 0)); then ANY_ERRORS=1; fi
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
STARTED_AT=$(date -u +%Y-%m-%dT%H:%M:%SZ)
note "gateway :$GW_PORT, nginx :$NGINX_PORT, example agent :$AGENT_PORT; load average $LOAD_START"

measure healthz gateway "$GW/healthz"
measure healthz nginx "$NG/healthz"
measure invoke gateway "$GW/v1/agents/echo/invoke" "$POST_LUA"
measure invoke nginx "$NG/v1/agents/echo/invoke" "$POST_LUA"
measure direct agent "$AG/invocations" "$POST_LUA"

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")

# ---------------------------------------------------------------- report
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0 && a != "") printf "%.2f", a / b; else print "n/a" }'; }
meets() { awk -v r="$1" -v g="$GOAL" 'BEGIN { print (r != "n/a" && r + 0 >= g) ? "yes" : "no" }'; }
flag() { # flag ID : error column text
  local id=$1 f=()
  ((${NON2XX[$id]} > 0)) && f+=("NON-2XX: ${NON2XX[$id]}")
  ((${SOCKERR[$id]} > 0)) && f+=("SOCKET ERRORS: ${SOCKERR[$id]}")
  ((${REQS[$id]:-0} == 0)) && f+=("NO REQUESTS")
  if ((${#f[@]})); then
    local IFS=,
    echo "!! ${f[*]}"
  else
    echo "ok"
  fi
}

declare -A LABEL=([healthz]="GET /healthz" [invoke]="POST invoke (proxy)" [direct]="POST agent direct")
declare -A R_RPS R_P99 R_MET
for key in healthz invoke; do
  R_RPS[$key]=$(ratio "${RPS[$key/gateway]}" "${RPS[$key/nginx]}")
  R_P99[$key]=$(ratio "${P99[$key/gateway]}" "${P99[$key/nginx]}")
  R_MET[$key]=$(meets "${R_RPS[$key]}")
done

row() { printf '%-20s %-8s %12s %10s %10s  %s\n' "$@"; }
pinning="gateway & nginx on core 0 (benchmarked one at a time), wrk & example agent on core 1"
((PIN)) || pinning="UNPINNED (fewer than 2 usable cores)"
echo
echo "Portcullis vs nginx  ($STARTED_AT, $(nproc) CPUs, load avg at start $LOAD_START / end $LOAD_END)"
echo "wrk: 1 thread, $CONNS connections, ${WARMUP}s warm-up + ${DURATION}s measured per row"
echo "pinning: $pinning"
echo "access logs off on both (gateway log.access: false, nginx access_log off); gateway threads: 1, nginx 1 worker"
echo "proxy rows: both forward to the same example agent over pooled keep-alive connections; the agent shares"
echo "core 1 with wrk in both, so the ratio is fair. 'agent direct' is the reference ceiling for the proxy rows."
echo
row "scenario" "peer" "req/s" "p50 ms" "p99 ms" "errors"
row "--------" "----" "-----" "------" "------" "------"
for key in healthz invoke direct; do
  for peer in gateway nginx agent; do
    id=$key/$peer
    [[ -n ${RPS[$id]:-} ]] || continue
    row "${LABEL[$key]}" "$peer" "${RPS[$id]}" "${P50[$id]}" "${P99[$id]}" "$(flag "$id")"
  done
  if [[ $key != direct ]]; then
    row "" "gw/nginx" "${R_RPS[$key]}x" "" "${R_P99[$key]}x" "req/s goal >= ${GOAL}x: ${R_MET[$key]}"
  fi
done
echo
echo "req/s ratio: higher is better (1.00 = as fast as nginx). p99 ratio: lower is better (1.00 = same tail)."
printf 'share of the direct-agent ceiling: gateway %s, nginx %s\n' \
  "$(ratio "${RPS[invoke/gateway]}" "${RPS[direct/agent]}")" "$(ratio "${RPS[invoke/nginx]}" "${RPS[direct/agent]}")"
if awk -v l="${LOAD_START%% *}" 'BEGIN { exit !(l + 0 > 0.5) }'; then
  echo "warning: the machine was not idle (1-min load $LOAD_START at start); other work competes for the pinned"
  echo "         cores, so absolute numbers are noisy. Compare ratios from the same run only."
fi
if ((ANY_ERRORS)); then
  echo "ERROR: some runs had non-2xx responses or socket errors (flagged '!!'): those rows are not results."
fi

# ---------------------------------------------------------------- JSON
mkdir -p "$RESULTS_DIR"
git_rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ $git_rev != unknown && -n $(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null) ]]; then git_rev+="-dirty"; fi
json_num() { [[ -n $1 ]] && echo "$1" || echo null; }
{
  printf '{\n'
  printf '  "started_at": "%s",\n  "git": "%s",\n  "cpus": %s,\n' "$STARTED_AT" "$git_rev" "$(nproc)"
  printf '  "load_avg_start": "%s",\n  "load_avg_end": "%s",\n' "$LOAD_START" "$LOAD_END"
  printf '  "duration_s": %s,\n  "warmup_s": %s,\n  "connections": %s,\n  "wrk_threads": 1,\n' "$DURATION" "$WARMUP" "$CONNS"
  if ((PIN)); then
    printf '  "pinning": {"gateway": 0, "nginx": 0, "agent": 1, "wrk": 1},\n'
  else
    printf '  "pinning": null,\n'
  fi
  printf '  "access_logs": false,\n  "goal_rps_ratio": %s,\n  "runs": [\n' "$GOAL"
  first=1
  for key in healthz invoke direct; do
    for peer in gateway nginx agent; do
      id=$key/$peer
      [[ -n ${RPS[$id]:-} ]] || continue
      ((first)) || printf ',\n'
      first=0
      ok=true
      [[ $(flag "$id") == ok ]] || ok=false
      printf '    {"scenario": "%s", "peer": "%s", "requests": %s, "rps": %s, "p50_ms": %s, "p99_ms": %s, "non_2xx": %s, "socket_errors": %s, "ok": %s}' \
        "$key" "$peer" "$(json_num "${REQS[$id]}")" "$(json_num "${RPS[$id]}")" "$(json_num "${P50[$id]}")" \
        "$(json_num "${P99[$id]}")" "${NON2XX[$id]}" "${SOCKERR[$id]}" "$ok"
    done
  done
  printf '\n  ],\n  "ratios": {\n'
  for key in healthz invoke; do
    rr=${R_RPS[$key]}
    rp=${R_P99[$key]}
    [[ $rr == n/a ]] && rr=null
    [[ $rp == n/a ]] && rp=null
    printf '    "%s": {"rps": %s, "p99": %s, "goal_met": %s}' "$key" "$rr" "$rp" \
      "$([[ ${R_MET[$key]} == yes ]] && echo true || echo false)"
    [[ $key == healthz ]] && printf ',\n' || printf '\n'
  done
  printf '  },\n  "errors": %s\n}\n' "$([[ $ANY_ERRORS == 1 ]] && echo true || echo false)"
} >"$RESULTS_DIR/latest.json.tmp"
mv "$RESULTS_DIR/latest.json.tmp" "$RESULTS_DIR/latest.json"
rm -rf "$RESULTS_DIR/raw"
cp -r "$RAW_DIR" "$RESULTS_DIR/raw"
echo "results: ${RESULTS_DIR#"$ROOT"/}/latest.json (raw wrk output in ${RESULTS_DIR#"$ROOT"/}/raw/)"

((ANY_ERRORS == 0)) || exit 1
