# lib-nimbusd.sh: start and stop real nimbusd processes for integration
# tests.  Source it, then:
#   nimbusd_start [extra flags...]   starts on an ephemeral loopback port with
#                                    a fresh state dir; exports NIMBUS_URL,
#                                    NIMBUS_PORT, NIMBUS_STATE, NIMBUSD_PID,
#                                    NIMBUS_ADMIN_PASSWORD
#   nimbusd_stop                     SIGTERM and wait (fails on a non-zero exit,
#                                    e.g. a sanitizer report)
#   nimbusd_kill9                    SIGKILL (durability tests)
#   nimbusd_restart [flags...]       start again: same state dir, port and flags
#   check NAME CMD...                run CMD, count a pass or stop on failure
#   finish NAME                      print "NAME: N passed, 0 failed"
# Needs: NIMBUSD (path to the binary; set by meson, else build/ of the
# tree when run by hand), curl, python3.

_lib_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [ -z "${NIMBUSD:-}" ] && [ -x "$_lib_top/build/src/server/nimbusd" ]; then
  NIMBUSD=$_lib_top/build/src/server/nimbusd
fi
NIMBUSCTL=${NIMBUSCTL:-$_lib_top/build/src/cli/nimbusctl}
: "${NIMBUSD:?NIMBUSD must point to the nimbusd binary}"
NIMBUS_ADMIN_PASSWORD=${NIMBUS_ADMIN_PASSWORD:-admin-test-password}
NIMBUS_TEST_DATA=${NIMBUS_TEST_DATA:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../data" && pwd)}
export NIMBUS_ADMIN_PASSWORD NIMBUS_TEST_DATA
_lib_passed=0
_lib_tmpdirs=()

_lib_cleanup() {
  if [ -n "${NIMBUSD_PID:-}" ] && kill -0 "$NIMBUSD_PID" 2>/dev/null; then
    kill -TERM "$NIMBUSD_PID" 2>/dev/null
    wait "$NIMBUSD_PID" 2>/dev/null || true
  fi
  for d in "${_lib_tmpdirs[@]}"; do rm -rf "$d"; done
}
trap _lib_cleanup EXIT

# Start nimbusd; $NIMBUS_STATE and $NIMBUS_PORT are reused when set.
_lib_launch() {
  local log="$NIMBUS_STATE.log"
  "$NIMBUSD" --listen 127.0.0.1 --port "${NIMBUS_PORT:-0}" --state-dir "$NIMBUS_STATE" \
    --admin-password "$NIMBUS_ADMIN_PASSWORD" --fast-hashing --threads 2 --workers 4 \
    "$@" >"$NIMBUS_STATE.out" 2>>"$log" &
  NIMBUSD_PID=$!
  local i
  for i in $(seq 1 600); do # up to 30 s: CI machines can be busy
    if grep -q "listening on" "$NIMBUS_STATE.out" 2>/dev/null; then break; fi
    if ! kill -0 "$NIMBUSD_PID" 2>/dev/null; then
      echo "nimbusd exited during start-up:" >&2
      cat "$NIMBUS_STATE.out" "$log" >&2
      return 1
    fi
    sleep 0.05
  done
  NIMBUS_PORT=$(sed -n 's/.* port \([0-9]*\), state.*/\1/p' "$NIMBUS_STATE.out" | head -1)
  if [ -z "$NIMBUS_PORT" ]; then
    echo "nimbusd did not report its port; its output and log:" >&2
    cat "$NIMBUS_STATE.out" >&2
    tail -30 "$log" >&2
    return 1
  fi
  NIMBUS_URL="http://127.0.0.1:$NIMBUS_PORT"
  local arg insecure=()
  for arg in "$@"; do
    if [ "$arg" = --tls-cert ]; then
      NIMBUS_URL="https://127.0.0.1:$NIMBUS_PORT"
      insecure=(-k)
    fi
  done
  export NIMBUS_URL NIMBUS_PORT NIMBUSD_PID NIMBUS_STATE
  for i in $(seq 1 100); do
    curl -fsS "${insecure[@]}" "$NIMBUS_URL/healthz" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "nimbusd did not answer /healthz" >&2
  return 1
}

nimbusd_start() {
  local dir
  dir=$(mktemp -d /tmp/nimbus-test.XXXXXX)
  _lib_tmpdirs+=("$dir")
  NIMBUS_STATE="$dir/state"
  NIMBUS_PORT=0
  _lib_flags=("$@")
  _lib_launch "$@"
}

nimbusd_stop() {
  [ -n "${NIMBUSD_PID:-}" ] || return 0
  kill -TERM "$NIMBUSD_PID"
  local rc=0
  wait "$NIMBUSD_PID" || rc=$?
  NIMBUSD_PID=
  if [ "$rc" -ne 0 ]; then
    echo "nimbusd exited with status $rc; log:" >&2
    tail -50 "$NIMBUS_STATE.log" >&2
    return 1
  fi
}

nimbusd_kill9() {
  kill -KILL "$NIMBUSD_PID"
  wait "$NIMBUSD_PID" 2>/dev/null || true
  NIMBUSD_PID=
}

# Same state dir, port and start flags (plus any given here).
nimbusd_restart() { _lib_launch "${_lib_flags[@]}" "$@"; }

# check NAME CMD...: run a check; on failure print what failed and exit 1.
check() {
  local name=$1
  shift
  if "$@"; then
    _lib_passed=$((_lib_passed + 1))
    echo "ok - $name"
  else
    echo "FAILED - $name" >&2
    [ -f "${NIMBUS_STATE:-/nonexistent}.log" ] && tail -20 "$NIMBUS_STATE.log" >&2
    exit 1
  fi
}

finish() { echo "$1: $_lib_passed passed, 0 failed"; }

# api METHOD PATH [curl args...]: REST call as the operator; prints the body.
api() {
  local method=$1 path=$2
  shift 2
  curl -sS -X "$method" -u "admin@system:$NIMBUS_ADMIN_PASSWORD" "$NIMBUS_URL$path" "$@"
}

# json_get EXPR: evaluate a Python expression on the JSON document on stdin (as d).
json_get() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
