# lib-paysim.sh: nimbus-paysim, the payment provider simulator, for
# integration tests (sourced).  Needs NIMBUS_PAYSIM (set by meson).
#   paysim_start [flags...]   start on a free loopback port; exports
#                             PAYSIM_URL, PAYSIM_PID (the log: $PAYSIM_LOG)
#   paysim_stop               SIGTERM and wait (fails on a non-zero exit)
#   paysim_behaviour JSON     POST /sim/behaviour (misbehave on purpose)
#   paysim_tx ID              the simulator's record of transaction ID (JSON)
: "${NIMBUS_PAYSIM:?NIMBUS_PAYSIM must point to the nimbus-paysim binary}"

# A test that fails half-way must not leave the simulator running: stop it
# on exit, before whatever the EXIT trap did already (the libraries'
# cleanup of nimbusd, connectors and printers).
_paysim_cleanup() {
  if [ -n "${PAYSIM_PID:-}" ] && kill -0 "$PAYSIM_PID" 2>/dev/null; then
    kill -TERM "$PAYSIM_PID" 2>/dev/null
    wait "$PAYSIM_PID" 2>/dev/null || true
  fi
  rm -rf "${PAYSIM_DIR:-/nonexistent}"
}
_paysim_prev_exit=$(trap -p EXIT | sed -n "s/^trap -- '\(.*\)' EXIT\$/\1/p")
trap "_paysim_cleanup; ${_paysim_prev_exit:-:}" EXIT

paysim_start() {
  local dir
  dir=$(mktemp -d /tmp/paysim-test.XXXXXX)
  PAYSIM_DIR=$dir
  PAYSIM_LOG="$dir/paysim.log"
  "$NIMBUS_PAYSIM" --listen 127.0.0.1 --port 0 --merchant "Nimbus test shop" "$@" \
    >"$dir/paysim.out" 2>"$PAYSIM_LOG" &
  PAYSIM_PID=$!
  local i port=
  for i in $(seq 1 300); do
    port=$(sed -n 's/.*listening on .* port \([0-9]*\).*/\1/p' "$dir/paysim.out" | head -1)
    [ -n "$port" ] && break
    kill -0 "$PAYSIM_PID" 2>/dev/null || break
    sleep 0.05
  done
  if [ -z "$port" ]; then
    echo "nimbus-paysim did not start:" >&2
    cat "$dir/paysim.out" "$PAYSIM_LOG" >&2
    return 1
  fi
  PAYSIM_URL="http://127.0.0.1:$port"
  export PAYSIM_URL PAYSIM_PID PAYSIM_LOG
}

paysim_stop() {
  [ -n "${PAYSIM_PID:-}" ] || return 0
  kill -TERM "$PAYSIM_PID" || true
  local rc=0
  wait "$PAYSIM_PID" || rc=$?
  PAYSIM_PID=
  if [ "$rc" -ne 0 ]; then
    echo "nimbus-paysim exited with status $rc; log:" >&2
    tail -30 "$PAYSIM_LOG" >&2
    return 1
  fi
}

paysim_behaviour() {
  curl -fsS -X POST -H 'Content-Type: application/json' -d "$1" "$PAYSIM_URL/sim/behaviour" \
    >/dev/null
}
