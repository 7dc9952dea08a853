#!/usr/bin/env bash
# Several nodes on one database run each periodic sweep on one node at a
# time (store_lease_take, src/server/daemon/housekeeping.c): two nimbusd on
# the same state directory (database and spool) with node ids node-a and
# node-b and a 5-second device lease (a 1-second housekeeping period, a
# 3-second sweep lease).  node-a, started first, runs the sweeps; node-b
# does not while node-a lives; after kill -9 of node-a, node-b takes them
# over within a few periods and serves on.  With NIMBUS_TEST_STORE_URL both
# nodes share that store instead (lib-nimbusd.sh).
set -euo pipefail
source "$(dirname "$0")/lib-nimbusd.sh"

RUNS="this node runs the periodic sweeps"
nimbusd_start --demo --node-id node-a --device-lease 5 --log-level info
A_LOG=$NIMBUS_STATE.log

B_PID=
B_LOG=$NIMBUS_STATE.b.log
trap '[ -z "$B_PID" ] || kill -KILL "$B_PID" 2>/dev/null; _lib_cleanup' EXIT
store=()
[ -z "${NIMBUS_TEST_STORE_URL:-}" ] || store=(--store "$NIMBUS_TEST_STORE_URL")
"$NIMBUSD" --listen 127.0.0.1 --port 0 --state-dir "$NIMBUS_STATE" \
  --admin-password "$NIMBUS_ADMIN_PASSWORD" --fast-hashing --threads 2 --workers 4 \
  --node-id node-b --device-lease 5 --log-level info "${store[@]}" \
  >"$NIMBUS_STATE.b.out" 2>"$B_LOG" &
B_PID=$!

# wait_for_line FILE TEXT SECONDS: until FILE has a line with TEXT
wait_for_line() {
  local i
  for i in $(seq 1 $((20 * $3))); do
    if grep -q "$2" "$1" 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  return 1
}

b_listens() {
  wait_for_line "$NIMBUS_STATE.b.out" "listening on" 30
  B_URL="http://127.0.0.1:$(sed -n 's/.* port \([0-9]*\), state.*/\1/p' "$NIMBUS_STATE.b.out")"
  curl -fsS "$B_URL/healthz" >/dev/null
}
check "a second node (node-b) starts on the same database and spool" b_listens

a_runs() {
  wait_for_line "$A_LOG" "$RUNS" 10
  grep "$RUNS" "$A_LOG" | grep -q "node_id=node-a"
}
check "node-a, the first, runs the sweeps" a_runs

b_waits() {
  sleep 4 # four housekeeping periods of node-b
  if grep -q "$RUNS" "$B_LOG"; then return 1; fi
  grep -q "this node runs" "$A_LOG"
}
check "node-b does not run them while node-a lives" b_waits

b_takes_over() {
  nimbusd_kill9
  wait_for_line "$B_LOG" "$RUNS" 15
  grep "$RUNS" "$B_LOG" | grep -q "node_id=node-b"
  curl -fsS -u alice@demo:alice-demo-pass "$B_URL/api/v1/jobs" >/dev/null
}
check "after kill -9 of node-a, node-b takes the sweeps over and serves" b_takes_over

b_stops() {
  kill -TERM "$B_PID"
  local rc=0
  wait "$B_PID" || rc=$?
  B_PID=
  [ "$rc" -eq 0 ]
}
check "node-b stops cleanly" b_stops
finish sweep-lease
