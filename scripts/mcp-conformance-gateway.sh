#!/usr/bin/env bash
# The MCP conformance suite's server scenarios twice: against our conformance upstream alone
# (tests/integration/support/conformance_upstream.mjs), then through the gateway's /mcp fronting
# that same upstream; prints both pass counts. The goal is the same count: the federation should
# be invisible to a conforming client.
#
#   scripts/mcp-conformance-gateway.sh [--scenario NAME] [--keep] [-- extra conformance args]
#
# Everything runs on loopback with ports picked at run time, and is stopped at exit: the upstream,
# `portcullis serve --demo` (config and data_dir in a temp dir), and the suite (through
# scripts/mcp-conformance.sh, which installs it on first use). The upstream is registered as server
# "conf" of tenant demo through the Admin API (the bootstrap admin's token); the suite then runs
# with a token of the demo client (the suite sends none itself: --header adds it).
# --keep leaves the temp dir (config, data_dir, gateway.log) in place and prints its path.
# PORTCULLIS_BIN: the binary (default build/portcullis).
# Known difference (suite 0.1.16, active suite: 40 alone, 38 through the gateway): the scenario
# server-sse-multiple-streams negotiates 2025-11-25 through the SDK, then sends its three raw POSTs
# with MCP-Protocol-Version: 2025-03-26, which the gateway does not speak and which is not the
# session's version: 400, deliberately (docs/mcp.md "Transport"; the spec's MUST for an unsupported
# version; a suite bug, modelcontextprotocol/conformance#412). With the negotiated version the
# three concurrent POSTs are accepted; the gateway answers them as application/json, which the
# suite counts as INFO, not as a pass (the SDK upstream answers in SSE: 2 passes).
# Last lines: "upstream alone: …" and "through the gateway: …". Exit status: 0 when the counts are
# equal, 1 otherwise.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${PORTCULLIS_BIN:-$ROOT/build/portcullis}"
scenario_args=() extra=() keep=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --scenario) scenario_args=(--scenario "$2"); shift 2 ;;
    --keep) keep=1; shift ;;
    --) shift; extra=(-- "$@"); break ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "mcp-conformance-gateway: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ -x "$BIN" ]] || { echo "mcp-conformance-gateway: $BIN missing (build it, or set PORTCULLIS_BIN)" >&2; exit 1; }
for tool in curl jq node; do
  command -v "$tool" >/dev/null || { echo "mcp-conformance-gateway: $tool is needed" >&2; exit 1; }
done

tmp="$(mktemp -d -t portcullis-conformance-XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [[ $keep == 1 ]]; then echo "mcp-conformance-gateway: kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
die() { echo "mcp-conformance-gateway: $*" >&2; exit 1; }

# 1. The upstream: prints its URL on its first line.
node "$ROOT/tests/integration/support/conformance_upstream.mjs" > "$tmp/upstream.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do [[ -s "$tmp/upstream.log" ]] && break; sleep 0.1; done
upstream="$(head -1 "$tmp/upstream.log")"
[[ "$upstream" == http://127.0.0.1:*/mcp ]] || die "upstream did not start: $(cat "$tmp/upstream.log")"

# 2. The gateway, demo mode, its own data_dir.
mkdir -m 700 "$tmp/data"
cat > "$tmp/config.yaml" <<EOF
data_dir: "$tmp/data"
server:
  listen: "127.0.0.1:0"
EOF
"$BIN" serve --config "$tmp/config.yaml" --demo > "$tmp/gateway.log" 2>&1 &
pids+=($!)
gw=""
for _ in $(seq 1 150); do
  # The gateway's own "listening" line is the one that names its issuer (the demo's listeners don't).
  gw="$(grep '"msg":"listening"' "$tmp/gateway.log" | grep '"issuer"' |
        sed -nE 's/.*"address":"(127\.0\.0\.1:[0-9]+)".*/\1/p' | head -1 || true)"
  [[ -n "$gw" ]] && curl -sf "http://$gw/healthz" >/dev/null && break
  kill -0 "${pids[-1]}" 2>/dev/null || die "gateway exited: $(tail -20 "$tmp/gateway.log")"
  gw=""; sleep 0.1
done
[[ -n "$gw" ]] || die "gateway did not start: $(tail -20 "$tmp/gateway.log")"

token_of() {  # client_id secret -> access token (client_credentials)
  curl -sf -u "$1:$2" -d grant_type=client_credentials "http://$gw/oauth2/token" | jq -er .access_token
}
for _ in $(seq 1 50); do [[ -s "$tmp/data/demo-credentials.json" && -s "$tmp/data/bootstrap-admin.json" ]] && break; sleep 0.1; done
admin="$(token_of "$(jq -r .client_id "$tmp/data/bootstrap-admin.json")" "$(jq -r .client_secret "$tmp/data/bootstrap-admin.json")")" ||
  die "no admin token"
demo="$(token_of "$(jq -r .tenants.demo.client_id "$tmp/data/demo-credentials.json")" \
                 "$(jq -r .tenants.demo.client_secret "$tmp/data/demo-credentials.json")")" || die "no demo token"

# 3. The upstream as server "conf" of tenant demo.
status="$(curl -s -o "$tmp/register.json" -w '%{http_code}' -X POST "http://$gw/v1/tenants/demo/mcp-servers" \
  -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
  -d "{\"name\":\"conf\",\"url\":\"$upstream\",\"auth\":{\"mode\":\"none\"}}")"
[[ "$status" == 201 || "$status" == 200 ]] || die "registering the upstream answered $status: $(cat "$tmp/register.json")"

# 4. The suite, twice. Its last line: "mcp-conformance: P passed, F failed, W warnings (URL)".
run_suite() {
  "$ROOT/scripts/mcp-conformance.sh" "$@" "${scenario_args[@]}" "${extra[@]}" 2>&1 | tee -a "$tmp/suite.log" |
    grep -E '^mcp-conformance: [0-9]+ passed' | tail -1 | sed -E 's/^mcp-conformance: ([^(]*) \(.*/\1/' || true
}
alone="$(run_suite --url "$upstream")"
through="$(run_suite --url "http://$gw/mcp" --header "Authorization: Bearer $demo")"
[[ $keep == 1 ]] || grep -E '✗|FAIL|Failed' "$tmp/suite.log" | head -100 || true
echo "upstream alone: ${alone:-no result} ($upstream)"
echo "through the gateway: ${through:-no result} (http://$gw/mcp)"
[[ -n "$alone" && "${alone%% *}" == "${through%% *}" ]]
