#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster in a fresh temporary directory, runs the
# given command with MILLRACE_TEST_DATABASE_URL pointing at it, then stops the
# cluster and removes the directory, whether the command passed or not.
#
# The cluster listens on a unix socket inside its own directory only (no TCP),
# so parallel runs never collide on a port. initdb refuses to run as root, so
# as root the cluster runs as the `postgres` OS user.
set -euo pipefail

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$pgbin/initdb" ] || { echo "with-test-pg: no PostgreSQL server found under /usr/lib/postgresql" >&2; exit 1; }

dir=$(mktemp -d /tmp/millrace-test-pg.XXXXXX)
as=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres: "$dir"
  chmod 0755 "$dir"
  as=(runuser -u postgres --)
fi

cleanup() {
  "${as[@]}" "$pgbin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"${as[@]}" "$pgbin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }
"${as[@]}" "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
  -o "-k $dir -c listen_addresses='' -p 5432 -c max_connections=300 -c shared_buffers=256MB" start >/dev/null \
  || { cat "$dir/server.log" >&2; exit 1; }

export MILLRACE_TEST_DATABASE_URL="host=$dir port=5432 dbname=postgres user=postgres"
export MILLRACE_TEST_PGDATA="$dir/data"
export MILLRACE_TEST_PGBIN="$pgbin"
set +e
"$@"
rc=$?
set -e
exit $rc
