#!/usr/bin/env bash
# Installs the Debian packages Portcullis builds, tests and benchmarks with.
# Idempotent and quiet: does nothing when every package is already present.
set -euo pipefail
set -- "$@"
BUILD_PKGS="build-essential cmake ninja-build pkg-config ccache
libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libssl-dev libsqlite3-dev
libpq-dev libhiredis-dev libspdlog-dev libfmt-dev libcli11-dev libyaml-cpp-dev libre2-dev
libhyperscan-dev libgtest-dev libgmock-dev libbenchmark-dev curl"
TEST_PKGS="redis-server postgresql sqlite3 openssl"  # openssl: the cluster tests make a throwaway CA for rediss://
BENCH_PKGS="wrk nginx haproxy hyperfine openssl"
# libFuzzer targets (make fuzz, scripts/fuzz.sh): clang with its fuzzer runtime and sanitizers.
FUZZ_PKGS="clang-15 libfuzzer-15-dev"

want="$BUILD_PKGS"
for arg in "$@"; do
  case "$arg" in
    test) want="$want $TEST_PKGS" ;;
    bench) want="$want $TEST_PKGS $BENCH_PKGS" ;;
    fuzz) want="$want $FUZZ_PKGS" ;;
  esac
done

# Node and npm may come from another packaging of Node (the image's Node 20); only when the
# commands are absent do we ask Debian for its own.
command -v node >/dev/null && command -v npm >/dev/null || want="$want nodejs npm"

missing=()
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Refresh package lists only when they are missing or older than a day.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -1)" ]; then
  $SUDO apt-get update -qq >/dev/null
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
