#!/usr/bin/env bash
# Portcullis vs nginx and HAProxy, side by side, in one run; prints req/s and p99 ratios.
# Called by `make bench` after the release build. See bench/README.md.
#
# Scenarios: GET /healthz (gateway vs nginx), the proxied invoke with a bearer token of the
# gateway's own issuer (gateway vs nginx), and GET /v1/agents with an RS256 token of an external
# issuer (gateway vs HAProxy 2.6 jwt_verify + http-request return).
#
# Knobs (environment):
#   BENCH_SECONDS=10        measured run per scenario and peer
#   BENCH_CONNECTIONS=50    wrk connections (one wrk thread)
#   BENCH_WARMUP=2          warm-up run before each measured run (discarded)
#   PORTCULLIS_BIN=...      binary to test (default build/portcullis)
#   BENCH_ROUNDS=1          rounds per pair, alternating gateway and peer; the median is shown
#   BENCH_ROWS="healthz invoke direct agents nojwt"   scenarios to run (default: all)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_DIR="$ROOT/bench"
RESULTS_DIR="$BENCH_DIR/results"
POST_LUA="$BENCH_DIR/post.lua"
BEARER_LUA="$BENCH_DIR/bearer.lua"
BIN=${PORTCULLIS_BIN:-$ROOT/build/portcullis}
DURATION=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-50}
WARMUP=${BENCH_WARMUP:-2}
ROWS=${BENCH_ROWS:-healthz invoke direct agents nojwt}
ROUNDS=${BENCH_ROUNDS:-1}
START_TIMEOUT=15  # seconds to wait for anything to come up
GOAL=0.90         # gateway req/s must be >= GOAL x nginx req/s
AUTH_GOAL=2.00    # GET /v1/agents, usage-plan limits on (issue 12; 1.2 before): gateway req/s >= AUTH_GOAL x HAProxy req/s ...
AUTH_P99_GOAL=1.00  # ... and its p99 no worse (gateway p99 / HAProxy p99 <= AUTH_P99_GOAL)
P99_GOAL=1.50     # /healthz and invoke: gateway p99 <= P99_GOAL x nginx p99 (issue 9)
# The external issuer whose RS256 token both the gateway and HAProxy verify.
BENCH_ISSUER=https://bench.example
BENCH_AUDIENCE=bench

die() {
  echo "bench: error: $*" >&2
  exit 1
}
note() { echo "bench: $*" >&2; }

# ---------------------------------------------------------------- preflight
for v in DURATION CONNS ROUNDS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_SECONDS / BENCH_CONNECTIONS / BENCH_ROUNDS must be positive integers (got ${!v})"
done
[[ $WARMUP =~ ^[0-9]+$ ]] || die "BENCH_WARMUP must be a non-negative integer (got $WARMUP)"
for r in $ROWS; do
  [[ $r =~ ^(healthz|invoke|direct|agents|nojwt)$ ]] || die "BENCH_ROWS: unknown scenario '$r' (healthz invoke direct agents nojwt)"
done
for tool in wrk nginx haproxy curl awk timeout setsid openssl node; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found (install the bench tools: make deps-bench)"
done
[[ -x $BIN ]] || die "gateway binary not found at $BIN (build it first: make build)"
for f in "$POST_LUA" "$BEARER_LUA" "$BENCH_DIR/make-token.mjs"; do [[ -f $f ]] || die "missing $f"; done
[[ -f $ROOT/node_modules/jose/package.json ]] ||
  die "the 'jose' npm package is missing (install it: bash scripts/install-npm.sh, or make deps-bench)"
# jwt_verify arrived in HAProxy 2.5; the peer we compare with is Debian bookworm's 2.6.
HAPROXY_VERSION=$(haproxy -v 2>/dev/null | awk '/version/ {print $3; exit}')
case $HAPROXY_VERSION in
  2.6.*) ;;
  2.[5-9].* | 2.[1-9][0-9].* | 3.*) note "warning: HAProxy $HAPROXY_VERSION, not 2.6: the HAProxy row is not comparable with earlier runs" ;;
  *) die "HAProxy ${HAPROXY_VERSION:-?} has no jwt_verify (need >= 2.5; Debian bookworm ships 2.6)" ;;
esac

# Pinning: gateway, nginx and HAProxy on core 0 (one at a time under load), wrk and the
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
# start_bg, show_logs, wait_listening, demo_token (shared with jobs.sh and sse.sh); die, note
# and cleanup below are this script's own.
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
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

# http_probe METHOD URL [TOKEN] : one request the way wrk sends it; prints the body, a newline
# and the status code
http_probe() {
  local method=$1 url=$2 token=${3:-} args=(-s --max-time 5 -w '\n%{http_code}')
  [[ -n $token ]] && args+=(-H "Authorization: Bearer $token")
  [[ $method == POST ]] && args+=(-X POST -H 'Content-Type: application/json' --data '{"input":"hello"}')
  curl "${args[@]}" "$url" 2>/dev/null || true
}

# check_response NAME METHOD URL EXPECT [TOKEN] : one request by hand before benchmarking it
check_response() {
  local name=$1 method=$2 url=$3 expect=$4 token=${5:-} out code
  out=$(http_probe "$method" "$url" "$token")
  code=${out##*$'\n'}
  if [[ $code != 200 || $out != *"$expect"* ]]; then
    die "$name: $method $url answered ${code:-nothing} (expected 200 containing $expect): ${out%$'\n'*}"
  fi
}

# check_refused NAME METHOD URL WHAT [TOKEN] : must answer 401 or 403 (proves the peer checks tokens)
check_refused() {
  local name=$1 method=$2 url=$3 what=$4 token=${5:-} out code
  out=$(http_probe "$method" "$url" "$token")
  code=${out##*$'\n'}
  if [[ $code != 401 && $code != 403 ]]; then
    die "$name: $method $url with $what answered ${code:-nothing}, expected 401 or 403: ${out%$'\n'*}"
  fi
}


# ---------------------------------------------------------------- start the peers
AGENT_OUT=$TMP/agent.log
start_bg 1 "$AGENT_OUT" "$TMP/agent.err" "$BIN" example-agent --listen 127.0.0.1:0
AGENT_PID=$LAST_PID
wait_listening "example agent" "$AGENT_PID" "$AGENT_OUT" "$TMP/agent.err"
AGENT_PORT=$LISTEN_PORT

# The external issuer of the GET /v1/agents scenario: an RSA key pair made now, its public half
# as a JWKS file for the gateway and as PEM for HAProxy, one RS256 token (valid for a day) and
# the same token with a changed claim and the original signature.
AUTH=$TMP/auth
mkdir -p "$AUTH"
if ! openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$AUTH/priv.pem" 2>"$AUTH/openssl.err" ||
  ! openssl pkey -in "$AUTH/priv.pem" -pubout -out "$AUTH/pub.pem" 2>>"$AUTH/openssl.err"; then
  show_logs "$AUTH/openssl.err"
  die "openssl could not make the RSA key pair"
fi
(cd "$ROOT" && node "$BENCH_DIR/make-token.mjs" "$AUTH/priv.pem" "$AUTH" "$BENCH_ISSUER" "$BENCH_AUDIENCE" demo) \
  >"$AUTH/node.log" 2>&1 || { show_logs "$AUTH/node.log"; die "bench/make-token.mjs failed"; }
RS_TOKEN=$(<"$AUTH/token")
RS_TAMPERED=$(<"$AUTH/tampered")

mkdir -p "$TMP/gw-data"
cat >"$TMP/portcullis.yaml" <<EOF
data_dir: $TMP/gw-data
server:
  listen: "127.0.0.1:0"
  threads: 1
# info level so the "listening" line is printed; nothing else is logged per request
# because the access log is off (as it is for nginx and HAProxy).
log: {level: info, access: false}
# limits (issue 12): the demo tenant's tier with room for the load; the limit stage still runs on every request.
tiers: {standard: {rps: 1000000, burst: 1000000, max_concurrent: 0, daily_quota: 0, daily_tool_calls: 0}}
# The external issuer of the GET /v1/agents scenario (tokens for tenant "demo", seeded by --demo).
issuers:
  - name: bench
    issuer: "$BENCH_ISSUER"
    discovery: false
    jwks_file: $AUTH/jwks.json
    audiences: ["$BENCH_AUDIENCE"]
    algorithms: [RS256]
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
      # The gateway never forwards the caller's Authorization header; an empty value drops it.
      proxy_set_header Authorization "";
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
DEMO_TOKEN=$(demo_token "$GW" "$TMP/gw-data")
check_response "gateway" GET "$GW/healthz" '"status":"ok"'
check_response "nginx" GET "$NG/healthz" '"status":"ok"'
check_refused "gateway" POST "$GW/v1/agents/echo/invoke" "no token"
check_response "gateway" POST "$GW/v1/agents/echo/invoke" '"echo":"hello"' "$DEMO_TOKEN"
check_response "nginx" POST "$NG/v1/agents/echo/invoke" '"echo":"hello"' "$DEMO_TOKEN"
check_response "example agent" POST "$AG/invocations" '"echo":"hello"' "$DEMO_TOKEN"
check_response "gateway" GET "$GW/v1/agents" '"name":"echo"' "$RS_TOKEN"
check_refused "gateway" GET "$GW/v1/agents" "a tampered RS256 token" "$RS_TAMPERED"
check_refused "gateway" GET "$GW/v1/agents" "no token"

# HAProxy answers GET /v1/agents with the very bytes the gateway sends (same body, same length).
curl -s --max-time 5 -o "$AUTH/agents.json" -H "Authorization: Bearer $RS_TOKEN" "$GW/v1/agents" ||
  die "gateway: GET /v1/agents failed"
HAPROXY_PORT=$(free_port) || die "could not find a free port for HAProxy"
HAPROXY_PLAIN_PORT=$(free_port) || die "could not find a free port for HAProxy"
[[ $HAPROXY_PORT != "$HAPROXY_PLAIN_PORT" ]] || die "could not find two free ports for HAProxy"
cat >"$TMP/haproxy.cfg" <<EOF
# generated by bench/run.sh
global
  nbthread 1
  maxconn 4096
  pidfile $TMP/haproxy.pid
defaults
  mode http
  maxconn 4096
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  timeout http-keep-alive 30s
# What the gateway does for GET /v1/agents with an external issuer's token: the bearer token,
# alg RS256 only, the signature against the issuer's key, iss, aud, exp and the tenant claim, then
# the agents list. Like the gateway it stamps a request id on the response. No logging (the
# gateway's access log is off too). HAProxy 2.6 has no verified-token cache: jwt_verify checks the
# RSA signature on every request.
frontend jwt
  bind 127.0.0.1:$HAPROXY_PORT
  http-request set-var(txn.bearer) http_auth_bearer
  http-request set-var(txn.alg) var(txn.bearer),jwt_header_query('\$.alg')
  http-request deny deny_status 401 unless { var(txn.alg) -m str RS256 }
  http-request deny deny_status 401 unless { var(txn.bearer),jwt_verify(txn.alg,"$AUTH/pub.pem") -m int 1 }
  http-request deny deny_status 401 unless { var(txn.bearer),jwt_payload_query('\$.iss') -m str "$BENCH_ISSUER" }
  http-request deny deny_status 401 unless { var(txn.bearer),jwt_payload_query('\$.aud') -m str "$BENCH_AUDIENCE" }
  http-request set-var(txn.now) date
  http-request set-var(txn.exp) var(txn.bearer),jwt_payload_query('\$.exp','int')
  http-request deny deny_status 401 if { var(txn.exp),sub(txn.now) -m int le 0 }
  http-request deny deny_status 401 unless { var(txn.bearer),jwt_payload_query('\$.tenantid') -m str demo }
  http-request return status 200 content-type "application/json" hdr X-Request-Id "%[uuid]" file $AUTH/agents.json
# Reference: the same answer with no token check, HAProxy's own HTTP cost.
frontend nojwt
  bind 127.0.0.1:$HAPROXY_PLAIN_PORT
  http-request return status 200 content-type "application/json" hdr X-Request-Id "%[uuid]" file $AUTH/agents.json
EOF
if ! timeout 10 haproxy -c -q -f "$TMP/haproxy.cfg" >"$TMP/haproxy-check.log" 2>&1; then
  show_logs "$TMP/haproxy-check.log"
  die "HAProxy rejected the generated configuration"
fi
# -db: foreground, no daemon, no master process: one process, one thread, pinned like the others.
start_bg 0 "$TMP/haproxy.out" "$TMP/haproxy.err" haproxy -db -f "$TMP/haproxy.cfg"
HAPROXY_PID=$LAST_PID
wait_http "HAProxy" "$HAPROXY_PID" "http://127.0.0.1:$HAPROXY_PLAIN_PORT/v1/agents" "$TMP/haproxy.err"
HA=http://127.0.0.1:$HAPROXY_PORT
HA_PLAIN=http://127.0.0.1:$HAPROXY_PLAIN_PORT
check_response "HAProxy" GET "$HA/v1/agents" '"name":"echo"' "$RS_TOKEN"
check_refused "HAProxy" GET "$HA/v1/agents" "a tampered RS256 token" "$RS_TAMPERED"
check_refused "HAProxy" GET "$HA/v1/agents" "no token"
check_response "HAProxy (no JWT check)" GET "$HA_PLAIN/v1/agents" '"name":"echo"' "$RS_TOKEN"

# ---------------------------------------------------------------- measure
check_alive() { # check_alive WHEN : all four servers still running?
  local name pid
  for name in "example agent:$AGENT_PID" "gateway:$GW_PID" "nginx:$NGINX_PID" "HAProxy:$HAPROXY_PID"; do
    pid=${name##*:}
    if ! kill -0 "$pid" 2>/dev/null; then
      show_logs "$GW_OUT" "$TMP/gateway.err" "$AGENT_OUT" "$TMP/agent.err" "$TMP/nginx-error.log" "$TMP/nginx.err" \
        "$TMP/haproxy.err"
      die "${name%:*} (pid $pid) died $1"
    fi
  done
}

declare -A RPS P50 P99 NON2XX SOCKERR REQS L_RPS L_P50 L_P99
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

wrk_cmd() { # wrk_cmd SECONDS URL [LUA] [TOKEN] &  (background only: it execs) wrk on core 1, bounded by timeout
  local secs=$1 url=$2 lua=${3:-} token=${4:-}
  # the lua scripts read the token from the environment (not on the command line, not in the output)
  [[ -n $token ]] && export BENCH_BEARER=$token
  local cmd=(wrk -t1 -c"$CONNS" -d"${secs}s" --timeout 5s --latency)
  [[ -n $lua ]] && cmd+=(-s "$lua")
  cmd+=("$url")
  if ((PIN)); then cmd=(taskset -c 1 "${cmd[@]}"); fi
  exec timeout -k 5 $((secs + 30)) "${cmd[@]}" # exec: WRK_PID is then timeout itself
}

# measure KEY PEER URL [LUA] [TOKEN] : warm-up, then the measured run; results into the arrays
measure() {
  local key=$1 peer=$2 url=$3 lua=${4:-} token=${5:-} out id=$1/$2 rc=0
  [[ " $ROWS " == *" $key "* ]] || return 0
  out="$RAW_DIR/${key}-${peer}-r${round:-1}.txt"
  note "$key / $peer (round ${round:-1}/$ROUNDS): warm-up ${WARMUP}s, then ${DURATION}s ($url)"
  if ((WARMUP > 0)); then
    wrk_cmd "$WARMUP" "$url" "$lua" "$token" >"$out.warmup" 2>&1 &
    WRK_PID=$!
    wait "$WRK_PID" || rc=$?
    WRK_PID=
    ((rc == 0)) || { cat "$out.warmup" >&2; die "wrk warm-up failed for $key / $peer (exit $rc)"; }
  fi
  wrk_cmd "$DURATION" "$url" "$lua" "$token" >"$out" 2>&1 &
  WRK_PID=$!
  wait "$WRK_PID" || rc=$?
  WRK_PID=
  ((rc == 0)) || { cat "$out" >&2; die "wrk failed for $key / $peer (exit $rc)"; }
  check_alive "during $key / $peer"
  local rps reqs p50 p99 non2xx sockerr
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  reqs=$(awk '/ requests in / {print $1; exit}' "$out")
  p50=$(to_ms "$(awk '$1 == "50%" {print $2; exit}' "$out")")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2; exit}' "$out")")
  non2xx=$(awk -F: '/Non-2xx or 3xx responses/ {gsub(/ /, "", $2); print $2}' "$out")
  sockerr=$(awk '/Socket errors:/ {gsub(/,/, ""); print $4 + $6 + $8 + $10}' "$out")
  [[ -n $rps && -n $p99 ]] || { cat "$out" >&2; die "could not parse wrk output for $key / $peer"; }
  # Rounds: every value is kept; the table shows the median of the rounds (see finish_rows).
  L_RPS[$id]+=" $rps"
  L_P50[$id]+=" $p50"
  L_P99[$id]+=" $p99"
  REQS[$id]=$((${REQS[$id]:-0} + ${reqs:-0}))
  NON2XX[$id]=$((${NON2XX[$id]:-0} + ${non2xx:-0}))
  SOCKERR[$id]=$((${SOCKERR[$id]:-0} + ${sockerr:-0}))
  if ((${non2xx:-0} > 0 || ${sockerr:-0} > 0 || ${reqs:-0} == 0)); then ANY_ERRORS=1; fi
}

median() { tr ' ' '\n' <<<"$1" | awk 'NF' | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
finish_rows() { # the median of each row's rounds into RPS, P50, P99
  local id
  for id in "${!L_RPS[@]}"; do
    RPS[$id]=$(median "${L_RPS[$id]}")
    P50[$id]=$(median "${L_P50[$id]}")
    P99[$id]=$(median "${L_P99[$id]}")
  done
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
STARTED_AT=$(date -u +%Y-%m-%dT%H:%M:%SZ)
note "gateway :$GW_PORT, nginx :$NGINX_PORT, HAProxy :$HAPROXY_PORT (no JWT check :$HAPROXY_PLAIN_PORT), example agent :$AGENT_PORT; load average $LOAD_START"

# Each pair alternates for BENCH_ROUNDS rounds, and who goes first alternates too (gateway in
# odd rounds, the peer in even ones): background work on a shared machine then hits both peers
# alike, and so does whatever favours the first or the second run of a round. The table shows
# the median of the rounds.
pair() { # pair ROUND KEY URL_GATEWAY URL_PEER PEER [LUA] [TOKEN]
  local r=$1 key=$2 gw=$3 peer_url=$4 peer=$5 lua=${6:-} token=${7:-}
  if ((r % 2)); then
    measure "$key" gateway "$gw" "$lua" "$token"
    measure "$key" "$peer" "$peer_url" "$lua" "$token"
  else
    measure "$key" "$peer" "$peer_url" "$lua" "$token"
    measure "$key" gateway "$gw" "$lua" "$token"
  fi
}
for ((round = 1; round <= ROUNDS; round++)); do
  pair "$round" healthz "$GW/healthz" "$NG/healthz" nginx
done
# A fresh token (they live 15 minutes): the same one for all three invoke rows, so the requests
# from wrk are byte for byte the same.
DEMO_TOKEN=$(demo_token "$GW" "$TMP/gw-data")
for ((round = 1; round <= ROUNDS; round++)); do
  pair "$round" invoke "$GW/v1/agents/echo/invoke" "$NG/v1/agents/echo/invoke" nginx "$POST_LUA" "$DEMO_TOKEN"
done
for ((round = 1; round <= ROUNDS; round++)); do
  measure direct agent "$AG/invocations" "$POST_LUA" "$DEMO_TOKEN"
done
for ((round = 1; round <= ROUNDS; round++)); do
  pair "$round" agents "$GW/v1/agents" "$HA/v1/agents" haproxy "$BEARER_LUA" "$RS_TOKEN"
  measure nojwt haproxy "$HA_PLAIN/v1/agents" "$BEARER_LUA" "$RS_TOKEN"
done
finish_rows

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")

# ---------------------------------------------------------------- report
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0 && a != "") printf "%.2f", a / b; else print "n/a" }'; }
at_least() { awk -v r="$1" -v g="$2" 'BEGIN { print (r != "n/a" && r + 0 >= g) ? "yes" : "no" }'; }
at_most() { awk -v r="$1" -v g="$2" 'BEGIN { print (r != "n/a" && r + 0 <= g) ? "yes" : "no" }'; }
usec() { awk -v r="$1" 'BEGIN { if (r + 0 > 0) printf "%.1f", 1e6 / r; else print "n/a" }'; }
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

# Scenarios in table order; each compared row has a reference peer and goals.
SCENARIOS=(healthz invoke direct agents nojwt)
PEERS=(gateway nginx haproxy agent)
declare -A LABEL=([healthz]="GET /healthz" [invoke]="POST invoke (proxy)" [direct]="POST agent direct"
  [agents]="GET /v1/agents RS256" [nojwt]="GET, no JWT check")
declare -A REF=([healthz]=nginx [invoke]=nginx [agents]=haproxy)
declare -A GOAL_RPS=([healthz]=$GOAL [invoke]=$GOAL [agents]=$AUTH_GOAL)
declare -A GOAL_P99=([healthz]=$P99_GOAL [invoke]=$P99_GOAL [agents]=$AUTH_P99_GOAL)
declare -A R_RPS R_P99 R_MET
for key in "${!REF[@]}"; do
  ref=${REF[$key]}
  R_RPS[$key]=$(ratio "${RPS[$key/gateway]:-}" "${RPS[$key/$ref]:-}")
  R_P99[$key]=$(ratio "${P99[$key/gateway]:-}" "${P99[$key/$ref]:-}")
  R_MET[$key]=$(at_least "${R_RPS[$key]}" "${GOAL_RPS[$key]}")
  if [[ -n ${GOAL_P99[$key]:-} && $(at_most "${R_P99[$key]}" "${GOAL_P99[$key]}") != yes ]]; then R_MET[$key]=no; fi
done

row() { printf '%-21s %-10s %12s %10s %10s  %s\n' "$@"; }
pinning="gateway, nginx & HAProxy on core 0 (benchmarked one at a time), wrk & example agent on core 1"
((PIN)) || pinning="UNPINNED (fewer than 2 usable cores)"
echo
echo "Portcullis vs nginx and HAProxy  ($STARTED_AT, $(nproc) CPUs, load avg at start $LOAD_START / end $LOAD_END)"
echo "wrk: 1 thread, $CONNS connections, ${WARMUP}s warm-up + ${DURATION}s measured per row, $ROUNDS round(s) alternating (median shown)"
echo "pinning: $pinning"
echo "access logs off on all (gateway log.access: false, nginx access_log off, no HAProxy log); one thread each"
echo "invoke rows: every request carries the same 'Authorization: Bearer' (an ES256 token of the gateway's own issuer);"
echo "the gateway verifies it, nginx does not; both forward to the same example agent over pooled keep-alive"
echo "connections. 'agent direct' is the reference ceiling for the proxy rows."
echo "/v1/agents rows: the same RS256 token of an external issuer; the gateway verifies it once and then answers"
echo "from its verified-token cache, HAProxy $HAPROXY_VERSION runs jwt_verify (RSA) on every request and answers the"
echo "same bytes with http-request return. 'no JWT check' is HAProxy answering them without the checks."
echo
row "scenario" "peer" "req/s" "p50 ms" "p99 ms" "errors"
row "--------" "----" "-----" "------" "------" "------"
for key in "${SCENARIOS[@]}"; do
  for peer in "${PEERS[@]}"; do
    id=$key/$peer
    [[ -n ${RPS[$id]:-} ]] || continue
    row "${LABEL[$key]}" "$peer" "${RPS[$id]}" "${P50[$id]}" "${P99[$id]}" "$(flag "$id")"
  done
  if [[ -n ${REF[$key]:-} && -n ${RPS[$key/gateway]:-} ]]; then
    goal="req/s goal >= ${GOAL_RPS[$key]}x"
    [[ -n ${GOAL_P99[$key]:-} ]] && goal+=", p99 <= ${GOAL_P99[$key]}x"
    row "" "gw/${REF[$key]}" "${R_RPS[$key]}x" "" "${R_P99[$key]}x" "$goal: ${R_MET[$key]}"
  fi
done
echo
echo "req/s ratio: higher is better (1.00 = as fast as the peer). p99 ratio: lower is better (1.00 = same tail)."
printf 'share of the direct-agent ceiling: gateway %s, nginx %s\n' \
  "$(ratio "${RPS[invoke/gateway]:-}" "${RPS[direct/agent]:-}")" "$(ratio "${RPS[invoke/nginx]:-}" "${RPS[direct/agent]:-}")"
printf 'core-0 time per request (1/req/s, µs; while core 0 is the bottleneck): gateway healthz %s, /v1/agents %s;\n' \
  "$(usec "${RPS[healthz/gateway]:-}")" "$(usec "${RPS[agents/gateway]:-}")"
printf '  nginx healthz %s; HAProxy no JWT check %s, jwt_verify %s\n' \
  "$(usec "${RPS[healthz/nginx]:-}")" "$(usec "${RPS[nojwt/haproxy]:-}")" "$(usec "${RPS[agents/haproxy]:-}")"
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
json_num() { [[ -n $1 && $1 != n/a ]] && echo "$1" || echo null; }
{
  printf '{\n'
  printf '  "started_at": "%s",\n  "git": "%s",\n  "cpus": %s,\n' "$STARTED_AT" "$git_rev" "$(nproc)"
  printf '  "load_avg_start": "%s",\n  "load_avg_end": "%s",\n' "$LOAD_START" "$LOAD_END"
  printf '  "duration_s": %s,\n  "warmup_s": %s,\n  "rounds": %s,\n  "connections": %s,\n  "wrk_threads": 1,\n' "$DURATION" "$WARMUP" "$ROUNDS" "$CONNS"
  printf '  "haproxy_version": "%s",\n' "$HAPROXY_VERSION"
  if ((PIN)); then
    printf '  "pinning": {"gateway": 0, "nginx": 0, "haproxy": 0, "agent": 1, "wrk": 1},\n'
  else
    printf '  "pinning": null,\n'
  fi
  printf '  "access_logs": false,\n  "goal_rps_ratio": %s,\n  "runs": [\n' "$GOAL"
  first=1
  for key in "${SCENARIOS[@]}"; do
    for peer in "${PEERS[@]}"; do
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
  first=1
  for key in "${SCENARIOS[@]}"; do
    [[ -n ${REF[$key]:-} && -n ${RPS[$key/gateway]:-} ]] || continue
    ((first)) || printf ',\n'
    first=0
    printf '    "%s": {"vs": "%s", "rps": %s, "p99": %s, "goal_rps": %s, "goal_p99": %s, "goal_met": %s}' \
      "$key" "${REF[$key]}" "$(json_num "${R_RPS[$key]}")" "$(json_num "${R_P99[$key]}")" "${GOAL_RPS[$key]}" \
      "$(json_num "${GOAL_P99[$key]:-}")" "$([[ ${R_MET[$key]} == yes ]] && echo true || echo false)"
  done
  printf '\n  },\n  "errors": %s\n}\n' "$([[ $ANY_ERRORS == 1 ]] && echo true || echo false)"
} >"$RESULTS_DIR/latest.json.tmp"
mv "$RESULTS_DIR/latest.json.tmp" "$RESULTS_DIR/latest.json"
rm -rf "$RESULTS_DIR/raw"
cp -r "$RAW_DIR" "$RESULTS_DIR/raw"
echo "results: ${RESULTS_DIR#"$ROOT"/}/latest.json (raw wrk output in ${RESULTS_DIR#"$ROOT"/}/raw/)"

((ANY_ERRORS == 0)) || exit 1
