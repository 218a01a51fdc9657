#!/usr/bin/env bash
# Installs the Node packages the tests use (package-lock.json) into node_modules/.
# Idempotent and quiet: `npm ci` runs only when node_modules/ was not installed from the current
# package.json + package-lock.json (a checksum stamp records what it was installed from).
# Prints npm's output and exits non-zero when npm fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

stamp=node_modules/.portcullis-npm-stamp
want=$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)

up_to_date() {
  [ -f node_modules/.package-lock.json ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
    [ ! package-lock.json -nt node_modules/.package-lock.json ]
}
up_to_date && exit 0

if ! command -v npm >/dev/null; then
  echo "install-npm: npm not found (scripts/install-deps.sh test installs it)" >&2
  exit 1
fi

# Two makes at once must not run npm ci over each other.
lock="${TMPDIR:-/tmp}/portcullis-npm-$(pwd | sha256sum | cut -c1-12).lock"
exec 9>"$lock"
command -v flock >/dev/null && flock 9
up_to_date && exit 0

echo "installing node packages (npm ci)"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! npm ci --no-audit --no-fund --loglevel=error >"$log" 2>&1; then
  echo "install-npm: npm ci failed:" >&2
  cat "$log" >&2
  exit 1
fi
echo "$want" >"$stamp"
