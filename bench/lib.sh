# Shared by bench/jobs.sh and bench/sse.sh (sourced, not run): errors, process groups cleaned up on
# exit, startup waits, and a token of the gateway under test. bench/run.sh has its own copies.
# The caller sets ROOT, BIN and TMP before sourcing, and PIN (0/1).

die() {
  echo "bench: error: $*" >&2
  exit 1
}
note() { echo "bench: $*" >&2; }

PIDS=()
WRK_PID=
cleanup() {
  local rc=$? pid deadline
  trap - EXIT INT TERM
  if [[ -n $WRK_PID ]]; then kill -TERM "$WRK_PID" 2>/dev/null || true; fi
  # each server is its own process group (start_bg): signal the group, then the pid
  for pid in "${PIDS[@]}"; do kill -TERM -- "-$pid" "$pid" 2>/dev/null || true; done
  deadline=$((SECONDS + 5))
  for pid in "${PIDS[@]}"; do
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    kill -KILL -- "-$pid" "$pid" 2>/dev/null || true
  done
  if ((${#PIDS[@]})); then wait "${PIDS[@]}" 2>/dev/null || true; fi
  [[ -n ${TMP:-} ]] && rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_bg CORE STDOUT STDERR cmd... ; sets LAST_PID (the command's pid and process group)
start_bg() {
  local core=$1 out=$2 err=$3 pin=()
  shift 3
  ((PIN)) && pin=(taskset -c "$core")
  setsid "${pin[@]}" "$@" >"$out" 2>"$err" </dev/null &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
}

show_logs() {
  local f
  for f in "$@"; do
    [[ -s $f ]] || continue
    echo "---- ${f##*/} (last 15 lines) ----" >&2
    tail -n 15 "$f" >&2
  done
}

# wait_listening NAME PID LOGFILE [ERRFILE] ; sets LISTEN_PORT from the "listening" log line
wait_listening() {
  local name=$1 pid=$2 logf=$3 errf=${4:-} deadline=$((SECONDS + ${START_TIMEOUT:-15})) line
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
  die "$name did not report listening within ${START_TIMEOUT:-15}s"
}

# demo_token GW DATA_DIR [TENANT] : an access token for tenant TENANT (default "demo") from the
# client credentials that serve --demo wrote, through POST /oauth2/token (as bench/run.sh gets one)
demo_token() {
  local gw=$1 creds=$2/demo-credentials.json tenant=${3:-demo} fields out
  [[ -s $creds ]] || die "gateway: $creds was not written (serve --demo)"
  fields=$(node -e '
    const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const t = (c.tenants || {})[process.argv[2]] || {};
    if (!c.token_url || !t.client_id || !t.client_secret) process.exit(1);
    console.log([c.token_url, t.client_id, t.client_secret].join("\n"));' "$creds" "$tenant") ||
    die "gateway: $creds has no token_url or $tenant client credentials"
  local url=${fields%%$'\n'*} rest=${fields#*$'\n'}
  local id=${rest%%$'\n'*} secret=${rest#*$'\n'}
  [[ $url == "$gw"/* ]] || die "gateway: token_url $url is not on the gateway under test ($gw)"
  out=$(curl -s --max-time 5 -w '\n%{http_code}' -u "$id:$secret" --data grant_type=client_credentials "$url" \
    2>/dev/null || true)
  [[ ${out##*$'\n'} == 200 ]] || die "gateway: POST $url answered ${out##*$'\n'}: ${out%$'\n'*}"
  node -e '
    const r = JSON.parse(process.argv[1]);
    if (typeof r.access_token !== "string" || !r.access_token) process.exit(1);
    console.log(r.access_token);' "${out%$'\n'*}" || die "gateway: no access_token in the token response"
}

# pin_check : PIN=1 when cores 0 and 1 can be used with taskset
pin_check() {
  PIN=0
  if command -v taskset >/dev/null 2>&1 && [[ $(nproc 2>/dev/null || echo 1) -ge 2 ]] &&
    taskset -c 0 true 2>/dev/null && taskset -c 1 true 2>/dev/null; then
    PIN=1
  else
    note "warning: cannot pin to cores 0 and 1; running unpinned, numbers are less comparable"
  fi
}

# rss_mb PID : resident set size in MB (VmRSS), "" when the process is gone
rss_mb() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || true; }
# hwm_mb PID : peak resident set size in MB (VmHWM)
hwm_mb() { awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || true; }
