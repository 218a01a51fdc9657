#!/usr/bin/env bash
# Three gateway nodes on one PostgreSQL database and one Redis (issue 12): GET /v1/agents with a
# demo token, aggregate req/s of three nodes against one node on the same gateway core budget
# (the scaling factor per core used), then the accuracy of a shared rate limit: a tenant with a
# low rate hammered on all three nodes at once, admitted / expected. Called by `make bench`; see
# bench/README.md ("Three nodes").
#
# Knobs: BENCH_SECONDS (10), BENCH_CONNECTIONS (50, split over the nodes), BENCH_WARMUP (2),
# BENCH_LIMIT_RATE (50 requests/s for the accuracy row; burst the same), PORTCULLIS_BIN.
# PostgreSQL: a throwaway server (scripts/with-postgres.sh) unless PORTCULLIS_TEST_PG_URL is set.
# Fails (exit 1) on errors only: a peer that does not start or dies, socket errors, answers other
# than 200 (and 429 in the accuracy row). The numbers are printed, not judged.
set -euo pipefail

if [[ -z ${PORTCULLIS_TEST_PG_URL:-} ]]; then
  exec bash "$(dirname "$0")/../scripts/with-postgres.sh" bash "$0" "$@"
fi

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${PORTCULLIS_BIN:-$ROOT/build/portcullis}
DURATION=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-50}
WARMUP=${BENCH_WARMUP:-2}
LIMIT_RATE=${BENCH_LIMIT_RATE:-50}
NODES=3
TMP=$(mktemp -d "${TMPDIR:-/tmp}/portcullis-cluster.XXXXXX")
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

for v in DURATION CONNS LIMIT_RATE; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_SECONDS / BENCH_CONNECTIONS / BENCH_LIMIT_RATE must be positive integers (got ${!v})"
done
[[ $WARMUP =~ ^[0-9]+$ ]] || die "BENCH_WARMUP must be a non-negative integer (got $WARMUP)"
((CONNS >= NODES)) || die "BENCH_CONNECTIONS must be at least $NODES"
for tool in wrk curl node psql redis-server setsid timeout python3; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found (install the bench tools: make deps-bench)"
done
[[ -x $BIN ]] || die "gateway binary not found at $BIN (build it first: make build)"
pin_check
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# CPU seconds (user + system) a process has used so far.
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }

# The store: a database of its own on the PostgreSQL server.
DB=pc_bench_cluster_$$
psql -q -v ON_ERROR_STOP=1 "$PORTCULLIS_TEST_PG_URL" -c "CREATE DATABASE $DB" >/dev/null ||
  die "could not create database $DB on $PORTCULLIS_TEST_PG_URL"
PG_URL=${PORTCULLIS_TEST_PG_URL%/*}/$DB
drop_db() { psql -q "$PORTCULLIS_TEST_PG_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true; }

# Redis on core 1, with wrk (the gateways get core 0).
REDIS_PORT=$(free_port)
start_bg 1 "$TMP/redis.log" "$TMP/redis.err" redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' \
  --appendonly no --dir "$TMP"
REDIS_PID=$LAST_PID
for _ in $(seq 100); do
  redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break
  kill -0 "$REDIS_PID" 2>/dev/null || { show_logs "$TMP/redis.log" "$TMP/redis.err"; die "redis-server exited"; }
  sleep 0.1
done

# One config per node, alike but for the port: the same store, Redis and token issuer (node 1's
# address, where its token endpoint is; a token from it verifies on every node). demo (standard)
# has room for the load — the limit stage still runs on every request and takes its leases from
# Redis; acme (basic) has the low rate of the accuracy row.
mkdir -p "$TMP/gw-data"
PORTS=()
for i in $(seq "$NODES"); do PORTS+=("$(free_port)"); done
for i in $(seq "$NODES"); do
  cat >"$TMP/portcullis$i.yaml" <<YAML
data_dir: $TMP/gw-data
server: {listen: "127.0.0.1:${PORTS[i - 1]}", threads: 1}
log: {level: info, access: false}
tokens: {issuer: "http://127.0.0.1:${PORTS[0]}"}
storage: {backend: postgres, postgres: {url: "$PG_URL"}}
cluster: {redis: {url: "redis://127.0.0.1:$REDIS_PORT"}}
tiers:
  standard: {rps: 1000000, burst: 1000000, max_concurrent: 0, daily_quota: 0, daily_tool_calls: 0}
  basic: {rps: $LIMIT_RATE, burst: $LIMIT_RATE, max_concurrent: 0, daily_quota: 0, daily_tool_calls: 0}
YAML
done
GW_PIDS=()
GW_URLS=()
for i in $(seq "$NODES"); do
  args=()
  ((i == 1)) && args=(--demo --demo-agent "http://127.0.0.1:$(free_port)")  # migrates and seeds the demo
  start_bg 0 "$TMP/gw$i.log" "$TMP/gw$i.err" "$BIN" serve --config "$TMP/portcullis$i.yaml" "${args[@]}"
  GW_PIDS+=("$LAST_PID")
  wait_listening "gateway $i" "$LAST_PID" "$TMP/gw$i.log" "$TMP/gw$i.err"
  GW_URLS+=("http://127.0.0.1:$LISTEN_PORT")
done
trap 'drop_db; cleanup' EXIT
DEMO_TOKEN=$(demo_token "${GW_URLS[0]}" "$TMP/gw-data" demo)
ACME_TOKEN=$(demo_token "${GW_URLS[0]}" "$TMP/gw-data" acme)
for u in "${GW_URLS[@]}"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Authorization: Bearer $DEMO_TOKEN" "$u/v1/agents" || true)
  [[ $code == 200 ]] || die "GET $u/v1/agents answered ${code:-nothing} (expected 200)"
done

# wrk_nodes SECONDS TOKEN OUT_PREFIX N : one wrk per node on the first N nodes at once (CONNS
# split over them), on core 1; fails on socket errors or a dead gateway.
WRK_PIDS=()
wrk_nodes() {
  local secs=$1 token=$2 prefix=$3 n=$4 i rc=0 cmd
  WRK_PIDS=()
  for ((i = 0; i < n; i++)); do
    cmd=(wrk -t1 -c$((CONNS / n)) -d"${secs}s" --timeout 5s --latency -s "$ROOT/bench/bearer.lua" "${GW_URLS[i]}/v1/agents")
    ((PIN)) && cmd=(taskset -c 1 "${cmd[@]}")
    BENCH_BEARER=$token timeout -k 5 $((secs + 30)) "${cmd[@]}" >"$prefix.$i" 2>&1 &
    WRK_PIDS+=($!)
  done
  for i in "${WRK_PIDS[@]}"; do wait "$i" || rc=$?; done
  ((rc == 0)) || { cat "$prefix".* >&2; die "wrk failed (exit $rc)"; }
  for ((i = 0; i < NODES; i++)); do
    kill -0 "${GW_PIDS[i]}" 2>/dev/null || { show_logs "$TMP/gw$((i + 1)).log" "$TMP/gw$((i + 1)).err"; die "gateway $((i + 1)) died"; }
  done
}
sum() { awk "$1" "$2".* | awk '{ s += $1 } END { printf "%.0f", s }'; }
sockerrs() { sum '/Socket errors:/ {gsub(/,/, ""); print $4 + $6 + $8 + $10}' "$1"; }
non2xx() { sum '/Non-2xx or 3xx responses/ {print $NF}' "$1"; }
total() { sum '/ requests in / {print $1}' "$1"; }
rps() { sum '/^Requests\/sec:/ {print $2}' "$1"; }
gw_cpu() { # summed CPU seconds of the first N gateways
  local n=$1 i s=0
  for ((i = 0; i < n; i++)); do s=$(awk -v a="$s" -v b="$(cpu_s "${GW_PIDS[i]}")" 'BEGIN { print a + b }'); done
  echo "$s"
}
errors=0

# row NAME N : GET /v1/agents (demo) on N nodes at once; prints req/s, req per gateway CPU second.
row() {
  local name=$1 n=$2 c0 c1 r reqs cpu
  ((WARMUP > 0)) && wrk_nodes "$WARMUP" "$DEMO_TOKEN" "$TMP/warm-$n" "$n"
  c0=$(gw_cpu "$n")
  wrk_nodes "$DURATION" "$DEMO_TOKEN" "$TMP/row-$n" "$n"
  c1=$(gw_cpu "$n")
  r=$(rps "$TMP/row-$n")
  reqs=$(total "$TMP/row-$n")
  cpu=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }')
  if (($(non2xx "$TMP/row-$n") + $(sockerrs "$TMP/row-$n") > 0)); then
    echo "ERROR: $name: $(non2xx "$TMP/row-$n") answers other than 200, $(sockerrs "$TMP/row-$n") socket errors"
    errors=1
  fi
  printf '%-34s %10s %12s %16s\n' "$name" "$r" "$cpu" "$(awk -v q="$reqs" -v c="$cpu" 'BEGIN { printf "%.0f", (c > 0) ? q / c : 0 }')"
  eval "ROW_RPS_$n=$r ROW_PER_CPU_$n=$(awk -v q="$reqs" -v c="$cpu" 'BEGIN { printf "%.0f", (c > 0) ? q / c : 0 }')"
}

LOAD=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
echo
echo "Three gateway nodes, one PostgreSQL, one Redis ($(date -u +%Y-%m-%dT%H:%M:%SZ), load avg $LOAD)"
echo "GET /v1/agents, demo token (limit stage on, leases from Redis); gateways on core 0, wrk + Redis + PostgreSQL on core 1;"
echo "wrk: one per node, 1 thread, $CONNS connections in all, ${WARMUP}s warm-up + ${DURATION}s"
printf '%-34s %10s %12s %16s\n' "row" "req/s" "gw CPU s" "req / gw CPU s"
row "1 node" 1
row "3 nodes (aggregate, same core)" 3
echo "scaling, three nodes / one node on the same gateway core: req/s $(awk -v a="$ROW_RPS_3" -v b="$ROW_RPS_1" 'BEGIN { printf "%.2f", a / b }')x," \
  "per gateway CPU second $(awk -v a="$ROW_PER_CPU_3" -v b="$ROW_PER_CPU_1" 'BEGIN { printf "%.2f", a / b }')x"
echo "(this machine has 2 cores: three nodes share one; the per-CPU-second ratio is what N cores would scale by)"

# Accuracy: acme (basic: LIMIT_RATE/s, burst LIMIT_RATE) hammered on all three nodes at once.
sleep 1.2  # acme's budget is full
wrk_nodes "$DURATION" "$ACME_TOKEN" "$TMP/limit" "$NODES"
reqs=$(total "$TMP/limit")
refused=$(non2xx "$TMP/limit")
admitted=$((reqs - refused))
# The window: the longest of the three wrk runs ("N requests in 5.00s"; they run side by side).
secs=$(awk '/ requests in / { sub(/s,?$/, "", $4); if ($4 + 0 > m) m = $4 + 0 } END { printf "%.2f", m }' "$TMP/limit".*)
expected=$(awk -v r="$LIMIT_RATE" -v s="$secs" 'BEGIN { printf "%.1f", r + r * s }')
# metric REGEX : a sample summed over the nodes' /metrics
metric() {
  local i s=0 n
  for ((i = 0; i < NODES; i++)); do
    n=$(curl -s --max-time 5 "${GW_URLS[i]}/metrics" | awk -v re="$1" '$0 ~ re {print $2}' | head -1)
    s=$(awk -v a="$s" -v b="${n:-0}" 'BEGIN { printf "%.0f", a + b }')
  done
  echo "$s"
}
# Every refusal must be a 429 of the limit stage: the gateways' counters say how many they sent.
not429=$(metric '^portcullis_limit_refusals_total[{]kind="rate"[}]')
if (($(sockerrs "$TMP/limit") > 0)) || ((not429 < refused)); then
  echo "ERROR: accuracy row: $(sockerrs "$TMP/limit") socket errors; $refused non-200 answers, $not429 rate refusals counted"
  errors=1
fi
echo
echo "Shared limit accuracy: acme at $LIMIT_RATE req/s, burst $LIMIT_RATE, hammered on $NODES nodes for ${secs}s"
echo "sent $reqs, admitted $admitted, refused (429) $refused; expected burst + rate x seconds = $expected;" \
  "admitted / expected = $(awk -v a="$admitted" -v e="$expected" 'BEGIN { printf "%.3f", a / e }')" \
  "(without sharing: up to ${NODES}x)"
echo "switches to per-node shares: $(metric '^portcullis_limit_fallbacks_total'); answered on credit:" \
  "$(metric '^portcullis_limit_local_answers_total[{]why="credit"[}]'), by the share while a lease was slow:" \
  "$(metric '^portcullis_limit_local_answers_total[{]why="stall"[}]')"
if ((errors)); then
  echo "ERROR: the run had errors; it is not a result"
  exit 1
fi
