#!/usr/bin/env bash
# Runs COMMAND with a throwaway PostgreSQL 15 server and PORTCULLIS_TEST_PG_URL pointing at it:
#   scripts/with-postgres.sh COMMAND [ARGS...]
# The server lives in a fresh temp dir (trust auth, user postgres, fsync off), listens on
# 127.0.0.1 at a port picked at run time, and is stopped and deleted when COMMAND ends, whatever
# happens. Exits with COMMAND's status. Run as root, the server runs as the `postgres` user
# (PostgreSQL refuses root). If PORTCULLIS_TEST_PG_URL is already set, COMMAND just runs with it.
set -uo pipefail

if [ $# -eq 0 ]; then
  echo "usage: $0 COMMAND [ARGS...]" >&2
  exit 2
fi
if [ -n "${PORTCULLIS_TEST_PG_URL:-}" ]; then
  "$@"
  exit $?
fi

bindir=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
if [ ! -x "$bindir/initdb" ]; then
  echo "with-postgres: $bindir/initdb not found (install the postgresql package: make deps-test)" >&2
  exit 1
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/pc-postgres-XXXXXX")
data="$dir/data"
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres: "$dir"
  as_pg=(runuser -u postgres --)
fi

server=
pg_ctl() { "${as_pg[@]}" "$bindir/pg_ctl" -D "$data" "$@"; }
cleanup() {
  if [ -n "$server" ]; then
    pg_ctl -m fast -w stop >/dev/null 2>&1 || kill -KILL "$server" 2>/dev/null
    wait "$server" 2>/dev/null
  fi
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# C collation: text sorts byte-wise, as in SQLite, so both backends order rows alike.
if ! "${as_pg[@]}" "$bindir/initdb" -D "$data" -A trust -U postgres -E UTF8 --locale=C --no-sync \
    >"$dir/initdb.log" 2>&1; then
  echo "with-postgres: initdb failed:" >&2
  cat "$dir/initdb.log" >&2
  exit 1
fi

# The server runs as this script's child, not through `pg_ctl start`: a daemonised postmaster
# is re-parented to PID 1, which in these containers never reaps it. A random port; if another
# process holds it the server exits at once and we try another.
port=
for _ in 1 2 3 4 5 6 7 8 9 10; do
  candidate=$(( 20000 + RANDOM % 40000 ))
  "${as_pg[@]}" "$bindir/postgres" -D "$data" -c listen_addresses=127.0.0.1 -p "$candidate" -k "$dir" \
    -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 \
    >>"$dir/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 600); do
    if ! kill -0 "$server" 2>/dev/null; then break; fi
    if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$candidate"; then
      port=$candidate
      break 2
    fi
    sleep 0.1
  done
  kill -KILL "$server" 2>/dev/null  # never became ready in a minute
  wait "$server" 2>/dev/null  # it exited (port taken) or was killed
  server=
done
if [ -z "$port" ]; then
  echo "with-postgres: the server did not start:" >&2
  tail -n 20 "$dir/server.log" >&2
  exit 1
fi

export PORTCULLIS_TEST_PG_URL="postgresql://postgres@127.0.0.1:$port/postgres"
"$@"
