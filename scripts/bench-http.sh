#!/usr/bin/env bash
# HTTP throughput and latency of centurion's guard, measured with wrk against real servers
# on 127.0.0.1, every figure as a ratio against a baseline measured in the same run.
#
#   scripts/bench-http.sh                  # ~6 minutes; needs wrk (apt-get install wrk),
#                                          # redis-server for the Redis row
#   DURATION=10 ROUNDS=5 scripts/bench-http.sh
#
# Servers (all started at once, each measured while the others sit idle):
#   bench_server: served through centurion::serve (and once through axum::serve, the
#     baseline of the serving overhead); one trivial handler unauthenticated (/open), behind
#     #[secured(roles = "admin")] (/secured) and behind a minimal hand-written jsonwebtoken
#     extractor (/handwritten); instances with the cache of verified tokens off, with no
#     revocation check and with Redis revocation.
#   quickstart: the example application as the README runs it (SQLite), its bare route
#     /healthz against its secured routes /api/admin (roles from the token) and /api/me
#     (loads the user: from the user cache, and with the cache off from SQLite each time).
# Each row is measured ROUNDS times, the rows interleaved, and the median is reported, so a
# burst of noise on the machine hits every row alike.
# Last, a login storm (4x the hashing pool hammering /login) while a secured GET's p50/p99
# latency and the process's peak memory are read.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-5}
CONNS=${CONNS:-32}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
cargo build --release -q -p centurion-examples --bin bench_server --bin quickstart
BENCH=target/release/bench_server
QUICKSTART=$PWD/target/release/quickstart
PORT=${PORT:-3901}
# Server logs stay here after the run, for a look when a row reports errors.
WORK=$PWD/target/bench-http
rm -rf "$WORK"; mkdir -p "$WORK"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

port_free() { # $1 = port; refuses to measure a server left over from another run
  if curl -s -o /dev/null "http://127.0.0.1:$1/"; then
    echo "port $1 is taken by another server; stop it or set PORT" >&2; exit 1
  fi
}
wait_up() { # $1 = url, $2 = log, $3 = pid
  for _ in $(seq 150); do
    kill -0 "$3" 2>/dev/null || { echo "server exited:"; cat "$2"; exit 1; }
    curl -sf "$1" >/dev/null && return 0
    sleep 0.1
  done
  echo "server did not start:"; cat "$2"; exit 1
}
bench_server() { # $1 = port, then env assignments
  local port=$1; shift
  port_free "$port"
  env BENCH_ADDR=127.0.0.1:$port "$@" "$BENCH" >"$WORK/bench-$port.log" 2>&1 &
  pids+=($!)
  wait_up "http://127.0.0.1:$port/open" "$WORK/bench-$port.log" $!
}
quickstart() { # $1 = port, then env assignments
  local port=$1; shift
  port_free "$port"
  mkdir -p "$WORK/qs-$port"
  # exec: the recorded pid is the server's own, so cleanup stops it.
  (cd "$WORK/qs-$port" && exec env CENTURION_ADDR=127.0.0.1:$port \
    CENTURION_SECRET=bench-secret-bench-secret-bench-secret-0123456789 \
    CENTURION_SEED_USERS='bench:bench-password:admin' "$@" "$QUICKSTART" >log 2>&1) &
  pids+=($!)
  wait_up "http://127.0.0.1:$port/healthz" "$WORK/qs-$port/log" $!
}
token() { # $1 = login URL
  curl -sf -X POST "$1" -H 'content-type: application/json' \
    -d '{"username":"bench","password":"bench-password"}' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
# Reports the first response that is not a 200, so that errors are never counted as speed.
cat >"$WORK/check.lua" <<'LUA'
response = function(status, headers, body)
  if status ~= 200 and not seen then seen = true; io.stderr:write("first non-200: ", status, " ", body, "\n") end
end
LUA
rps() { # $1 = URL, $2 = token; prints requests/s
  wrk -t1 -c"$CONNS" -d"${DURATION}s" -s "$WORK/check.lua" -H "Authorization: Bearer $2" "$1" \
    | awk -v url="$1" '/Requests\/sec/ {print $2} /Non-2xx/ {print "NON-2XX from " url ": " $0 > "/dev/stderr"}'
}
median() { python3 -c 'import statistics,sys; print(f"{statistics.median(float(x) for x in sys.argv[1:]):.0f}")' "$@"; }
ratio() { python3 -c "print(f'{$1/$2:.3f}')"; }

P_MAIN=$PORT P_FULL=$((PORT + 1)) P_NONE=$((PORT + 2)) P_REDIS=$((PORT + 3))
P_QS=$((PORT + 4)) P_QS0=$((PORT + 5)) P_AXUM=$((PORT + 6))
bench_server $P_MAIN BENCH_REVOCATION=memory
bench_server $P_AXUM BENCH_REVOCATION=memory BENCH_SERVE=axum
bench_server $P_FULL BENCH_REVOCATION=memory BENCH_VERIFIED_CACHE=0
bench_server $P_NONE BENCH_REVOCATION=none
have_redis=false
if command -v redis-server >/dev/null; then
  RPORT=$((PORT + 98))
  redis-server --port $RPORT --bind 127.0.0.1 --save '' --appendonly no >"$WORK/redis.log" 2>&1 &
  pids+=($!); sleep 0.5
  bench_server $P_REDIS BENCH_REVOCATION=redis REDIS_URL=redis://127.0.0.1:$RPORT
  have_redis=true
fi
quickstart $P_QS
quickstart $P_QS0 CENTURION_USER_CACHE=0s

# row name -> URL and token
declare -A URL TOK
add() { URL[$1]=$2; TOK[$1]=$3; }
T_MAIN=$(token "http://127.0.0.1:$P_MAIN/login")
add open "http://127.0.0.1:$P_MAIN/open" "$T_MAIN"
add open_axum "http://127.0.0.1:$P_AXUM/open" "$T_MAIN"
add secured "http://127.0.0.1:$P_MAIN/secured" "$T_MAIN"
add handwritten "http://127.0.0.1:$P_MAIN/handwritten" "$T_MAIN"
add secured_full "http://127.0.0.1:$P_FULL/secured" "$(token "http://127.0.0.1:$P_FULL/login")"
add secured_norev "http://127.0.0.1:$P_NONE/secured" "$(token "http://127.0.0.1:$P_NONE/login")"
$have_redis && add secured_redis "http://127.0.0.1:$P_REDIS/secured" "$(token "http://127.0.0.1:$P_REDIS/login")"
T_QS=$(token "http://127.0.0.1:$P_QS/auth/login")
add qs_healthz "http://127.0.0.1:$P_QS/healthz" "$T_QS"
add qs_admin "http://127.0.0.1:$P_QS/api/admin" "$T_QS"
add qs_me "http://127.0.0.1:$P_QS/api/me" "$T_QS"
add qs_me_nocache "http://127.0.0.1:$P_QS0/api/me" "$(token "http://127.0.0.1:$P_QS0/auth/login")"
ROWS=(open open_axum secured secured_full handwritten secured_norev)
$have_redis && ROWS+=(secured_redis)
ROWS+=(qs_healthz qs_admin qs_me qs_me_nocache)

declare -A RUNS M
for round in $(seq "$ROUNDS"); do
  for row in "${ROWS[@]}"; do
    RUNS[$row]+=" $(rps "${URL[$row]}" "${TOK[$row]}")"
  done
  echo "round $round of $ROUNDS done" >&2
done
for row in "${ROWS[@]}"; do
  # shellcheck disable=SC2086
  M[$row]=$(median ${RUNS[$row]})
done
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
wait 2>/dev/null || true
pids=()

echo "# centurion HTTP benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, wrk -t1 -c$CONNS -d${DURATION}s, median of $ROUNDS interleaved rounds"
echo
echo "| route | req/s (median; all rounds) | ratio |"
echo "| --- | --- | --- |"
row() { echo "| $1 | ${M[$2]} (${RUNS[$2]# }) | $3 |"; }
row "bench_server /open, unauthenticated (centurion::serve)" open "1.000"
row "/open served by axum::serve (no deadlines)" open_axum \
  "centurion::serve does $(ratio "${M[open]}" "${M[open_axum]}") of axum::serve's rate"
row "/secured, #[secured(roles = \"admin\")], memory revocation" secured \
  "$(ratio "${M[secured]}" "${M[open]}") of /open, $(ratio "${M[secured]}" "${M[handwritten]}") of hand-written"
row "/secured, cache of verified tokens off (full verification per request)" secured_full \
  "$(ratio "${M[secured_full]}" "${M[open]}") of /open, $(ratio "${M[secured_full]}" "${M[handwritten]}") of hand-written"
row "/handwritten, minimal jsonwebtoken extractor" handwritten "$(ratio "${M[handwritten]}" "${M[open]}") of /open"
row "/secured, no revocation check" secured_norev "baseline of the revocation rows"
row "/secured, memory revocation (row 2)" secured "$(ratio "${M[secured]}" "${M[secured_norev]}") of no check"
if $have_redis; then
  row "/secured, Redis revocation" secured_redis "$(ratio "${M[secured_redis]}" "${M[secured_norev]}") of no check"
else
  echo "| /secured, Redis revocation | SKIPPED: redis-server missing | |"
fi
row "quickstart /healthz, unauthenticated" qs_healthz "1.000"
row "quickstart /api/admin, #[secured(roles = \"admin\")]" qs_admin "$(ratio "${M[qs_admin]}" "${M[qs_healthz]}") of /healthz"
row "quickstart /api/me, #[secured] + CurrentUser (user cache 2s)" qs_me "$(ratio "${M[qs_me]}" "${M[qs_healthz]}") of /healthz"
row "quickstart /api/me, user cache off (SQLite read per request)" qs_me_nocache "$(ratio "${M[qs_me_nocache]}" "${M[qs_healthz]}") of /healthz"

# Login storm: 4x the hashing pool (= cores) hammering /login.
POOL=$(nproc)
bench_server $PORT BENCH_POOL=$POOL
server=${pids[-1]}
BASE=http://127.0.0.1:$PORT
TOKEN=$(token "$BASE/login")
lat() { wrk -t1 -c4 -d"${DURATION}s" --latency -H "Authorization: Bearer $TOKEN" "$BASE/secured" \
  | awk '/^ +50%/ {p50=$2} /^ +99%/ {p99=$2} END {print p50, p99}'; }
read -r idle50 idle99 < <(lat)
cat >"$WORK/login.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"username":"bench","password":"bench-password"}'
wrk.headers["Content-Type"] = "application/json"
LUA
wrk -t1 -c$((4 * POOL)) -d"$((DURATION + 4))s" -s "$WORK/login.lua" "$BASE/login" >"$WORK/storm.txt" &
storm=$!; pids+=("$storm"); sleep 2
read -r storm50 storm99 < <(lat)
wait "$storm" || true
peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")
logins=$(awk '/Requests\/sec/ {print $2}' "$WORK/storm.txt")
echo
echo "| login storm (pool $POOL, $((4 * POOL)) login clients, $logins logins/s) | p50 | p99 |"
echo "| --- | --- | --- |"
echo "| secured GET, idle | $idle50 | $idle99 |"
echo "| secured GET, during the storm | $storm50 | $storm99 |"
echo "peak RSS of the server: $((peak_kb / 1024)) MiB (pool $POOL x 19 MiB argon2 = $((POOL * 19)) MiB + base)"
