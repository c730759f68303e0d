#!/usr/bin/env bash
# The HTTP API benchmark (issue 4's targets), with wrk. Run it on a throwaway
# database:
#
#   .ci/with-test-pg.sh tests/bench/http_bench.sh        (make bench-http)
#
# It starts build/release/bin/millrace standalone on that database and
# measures, DURATION seconds each:
#   1. GET jobs_u/get/{id}, 64 keep-alive connections: of one finished job
#      (its answer is final and kept in memory by the api actor), and of one
#      queued job (read from the database every time);
#   2. POST jobs/run_wait_result/preview of an identity job (no process), one
#      connection: the end-to-end latency of submit -> run -> result; and the
#      same for run_wait_result/f of a stored 3-step identity flow;
#   3. POST jobs/run/p/{path} of a bash script, 64 connections, with no worker
#      slots (the jobs stay queued): durable submissions per second, checked
#      against the rows in the database afterwards.
# wrk and the server share the machine's cores. SERVER_FLAGS adds settings
# flags to both servers (e.g. --api.io_threads=1); ONLY=reads|latency|submit
# runs one group (1, 2 or 3). Prints RESULT lines.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${MILLRACE_BIN:-$root/build/release/bin/millrace}
db=${MILLRACE_TEST_DATABASE_URL:?run under .ci/with-test-pg.sh}
duration=${DURATION:-10}
port=${PORT:-18480}
conns=${CONNS:-64}
only=${ONLY:-}
case "$only" in ''|reads|latency|submit) ;; *) echo "http_bench: ONLY must be reads, latency or submit" >&2; exit 2 ;; esac
want() { [ -z "$only" ] || [ "$only" = "$1" ]; }
lua=$root/tests/bench/http/request.lua
work=$(mktemp -d /tmp/millrace-http-bench.XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && kill -INT "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

start_server() {
  "$bin" standalone --database.url="$db" --api.port="$port" \
    --api.admin_token_file="$work/admin-token" --log.level=warn ${SERVER_FLAGS:-} "$@" \
    >>"$work/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 300); do
    curl -fs "http://127.0.0.1:$port/api/version" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  cat "$work/server.log" >&2
  echo "http_bench: the server did not answer" >&2
  exit 1
}
stop_server() {
  kill -INT "$pid"
  wait "$pid" || true
  pid=
}
api() { # METHOD PATH [BODY]
  curl -fsS -X "$1" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    ${3:+--data "$3"} "http://127.0.0.1:$port$2"
}
run_wrk() { # NAME THREADS CONNS METHOD PATH [BODY]
  local name=$1 threads=$2 c=$3
  METHOD=$4 BODY=${6:-} wrk -t"$threads" -c"$c" -d"${duration}s" --latency -s "$lua" \
    "http://127.0.0.1:$port$5" >"$work/$name.out" 2>&1 || { cat "$work/$name.out" >&2; exit 1; }
  local line
  line=$(grep '^RESULT' "$work/$name.out")
  local reqs secs
  reqs=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$line")
  secs=$(sed -E 's/.*seconds=([0-9.]+).*/\1/' <<<"$line")
  echo "RESULT $name conns=$c rate_per_s=$(awk -v r="$reqs" -v s="$secs" 'BEGIN{printf "%.0f", r/s}') ${line#RESULT }"
}

# 1 and 2: a server with its default worker slots.
if want reads || want latency; then
start_server
export TOKEN
TOKEN=$(head -n1 "$work/admin-token")
if want reads; then
job=$(api POST /api/w/admins/jobs/run_wait_result/preview '{"kind":"identity","args":{"warm":1}}' >/dev/null;
      api POST /api/w/admins/jobs/run/preview '{"kind":"identity","args":{"x":1}}')
api GET "/api/w/admins/jobs_u/completed/get_result_maybe/$job" >/dev/null
queued=$(api POST '/api/w/admins/jobs/run/preview?scheduled_in_secs=86400' '{"kind":"noop"}')
run_wrk jobs_u_get_finished 2 "$conns" GET "/api/w/admins/jobs_u/get/$job"
run_wrk jobs_u_get_queued 2 "$conns" GET "/api/w/admins/jobs_u/get/$queued"
fi
if want latency; then
run_wrk run_wait_result_identity 1 1 POST /api/w/admins/jobs/run_wait_result/preview \
  '{"kind":"identity","args":{"x":1}}'
# The flow engine's latency target: a 3-step identity flow, stored by path.
api POST /api/w/admins/flows/create \
  '{"path":"f/bench/three","summary":"","value":{"modules":[{"id":"a","value":{"type":"identity"}},{"id":"b","value":{"type":"identity"}},{"id":"c","value":{"type":"identity"}}]}}' >/dev/null
run_wrk run_wait_result_flow3 1 1 POST /api/w/admins/jobs/run_wait_result/f/f/bench/three '{"x":1}'
fi
stop_server
fi

# 3: durable submissions, no slots to run them.
want submit || exit 0
start_server --worker.slots=0 --dispatcher.max_unfinished_per_workspace=100000000
export TOKEN
TOKEN=$(head -n1 "$work/admin-token")
api POST /api/w/admins/scripts/create \
  '{"path":"f/bench/echo","language":"bash","content":"x=\"$1\"\necho \"$x\"\n"}' >/dev/null
before=$(psql "$db" -Atc "SELECT count(*) FROM job WHERE script_path = 'f/bench/echo'")
run_wrk jobs_run_p 2 "$conns" POST /api/w/admins/jobs/run/p/f/bench/echo '{"x":"hello"}'
stop_server
after=$(psql "$db" -Atc "SELECT count(*) FROM job WHERE script_path = 'f/bench/echo'")
echo "RESULT jobs_run_p_durable rows=$((after - before)) (each 201 answered after its commit)"
