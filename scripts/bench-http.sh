#!/usr/bin/env bash
# HTTP throughput and latency of centurion's guard, measured with wrk against a real server
# on 127.0.0.1, every figure as a ratio against a baseline measured in the same run.
#
#   scripts/bench-http.sh            # ~3 minutes; needs wrk (apt-get install wrk), redis-server for the Redis row
#   DURATION=20 scripts/bench-http.sh
#
# Rows: an unauthenticated route; the same handler behind #[secured(roles = "admin")];
# behind a minimal hand-written jsonwebtoken extractor; the secured route with the Redis
# and with no revocation check; and a login storm (4x the hashing pool hammering
# /auth/login) while a secured GET's p50/p99 latency and the process's peak memory are read.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
CONNS=${CONNS:-32}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
cargo build --release -q -p centurion-examples --bin bench_server
BIN=target/release/bench_server
PORT=${PORT:-3901}
BASE=http://127.0.0.1:$PORT
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

start_server() { # $1 = revocation mode
  BENCH_ADDR=127.0.0.1:$PORT BENCH_REVOCATION=$1 "$BIN" >/tmp/bench_server.log 2>&1 &
  server=$!; pids+=("$server")
  for _ in $(seq 100); do curl -sf "$BASE/open" >/dev/null && return 0; sleep 0.1; done
  echo "server did not start:"; cat /tmp/bench_server.log; exit 1
}
stop_server() { kill "$server"; wait "$server" 2>/dev/null || true; }
token() {
  curl -sf -X POST "$BASE/login" -H 'content-type: application/json' \
    -d '{"username":"bench","password":"bench-password"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
rps() { # $1 = path; prints requests/s
  wrk -t1 -c"$CONNS" -d"${DURATION}s" -H "Authorization: Bearer $TOKEN" "$BASE$1" \
    | awk '/Requests\/sec/ {print $2} /Non-2xx/ {print "NON-2XX " $0 > "/dev/stderr"}'
}
ratio() { python3 -c "print(f'{$1/$2:.3f}')"; }

echo "# centurion HTTP benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, wrk -t1 -c$CONNS -d${DURATION}s"
start_server memory
TOKEN=$(token)
open=$(rps /open); secured=$(rps /secured); hand=$(rps /handwritten)
echo "| route | req/s | ratio |"
echo "| --- | --- | --- |"
echo "| unauthenticated /open | $open | 1.000 |"
echo "| #[secured(roles = \"admin\")] /secured (memory revocation) | $secured | $(ratio "$secured" "$open") of /open, $(ratio "$secured" "$hand") of hand-written |"
echo "| hand-written jsonwebtoken extractor /handwritten | $hand | $(ratio "$hand" "$open") of /open |"
stop_server

start_server none
TOKEN=$(token); norev=$(rps /secured)
stop_server
echo "| /secured, no revocation check | $norev | baseline for revocation cost |"
echo "| /secured, memory revocation (from above) | $secured | $(ratio "$secured" "$norev") of no check |"
if command -v redis-server >/dev/null; then
  RPORT=6399
  redis-server --port $RPORT --bind 127.0.0.1 --save '' --appendonly no >/tmp/bench_redis.log 2>&1 &
  pids+=($!); sleep 0.5
  REDIS_URL=redis://127.0.0.1:$RPORT start_server redis
  TOKEN=$(token); redis_rps=$(rps /secured)
  stop_server
  echo "| /secured, Redis revocation | $redis_rps | $(ratio "$redis_rps" "$norev") of no check |"
else
  echo "| /secured, Redis revocation | SKIPPED: redis-server missing | |"
fi

# Login storm: 4x the hashing pool (= cores) hammering /login.
POOL=$(nproc)
BENCH_POOL=$POOL start_server memory
TOKEN=$(token)
lat() { wrk -t1 -c4 -d"${DURATION}s" --latency -H "Authorization: Bearer $TOKEN" "$BASE/secured" \
  | awk '/^ +50%/ {p50=$2} /^ +99%/ {p99=$2} END {print p50, p99}'; }
read -r idle50 idle99 < <(lat)
cat >/tmp/bench_login.lua <<'LUA'
wrk.method = "POST"
wrk.body = '{"username":"bench","password":"bench-password"}'
wrk.headers["Content-Type"] = "application/json"
LUA
wrk -t1 -c$((4 * POOL)) -d"$((DURATION + 4))s" -s /tmp/bench_login.lua "$BASE/login" >/tmp/bench_storm.txt &
storm=$!; pids+=("$storm"); sleep 2
read -r storm50 storm99 < <(lat)
wait "$storm" || true
peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")
logins=$(awk '/Requests\/sec/ {print $2}' /tmp/bench_storm.txt)
stop_server
echo
echo "| login storm (pool $POOL, $((4 * POOL)) login clients, $logins logins/s) | p50 | p99 |"
echo "| --- | --- | --- |"
echo "| secured GET, idle | $idle50 | $idle99 |"
echo "| secured GET, during the storm | $storm50 | $storm99 |"
echo "peak RSS of the server: $((peak_kb / 1024)) MiB (pool $POOL x 19 MiB argon2 = $((POOL * 19)) MiB + base)"
