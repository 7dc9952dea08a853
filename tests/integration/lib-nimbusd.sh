# lib-nimbusd.sh: start and stop real nimbusd processes for integration
# tests.  Source it, then:
#   nimbusd_start [extra flags...]   starts on an ephemeral loopback port with
#                                    a fresh state dir and a fresh store (see
#                                    NIMBUS_TEST_STORE_URL below); exports
#                                    NIMBUS_URL, NIMBUS_PORT, NIMBUS_STATE,
#                                    NIMBUSD_PID, NIMBUS_ADMIN_PASSWORD
#   nimbusd_stop                     SIGTERM and wait (fails on a non-zero exit,
#                                    e.g. a sanitizer report)
#   nimbusd_kill9                    SIGKILL (durability tests)
#   nimbusd_restart [flags...]       start again: same state dir, port and flags
#   nimbusd_start_remote [flags...]  a second deployment started first (the
#                                    remote of a federation test): REMOTE_URL,
#                                    REMOTE_PORT, REMOTE_PID, REMOTE_STATE
#   check NAME CMD...                run CMD, count a pass or stop on failure;
#                                    the first failing step of CMD fails it
#                                    (see check below: steps allowed to fail
#                                    must be written as conditions)
#   finish NAME                      print "NAME: N passed, 0 failed"
#   nimbus_sql SQL                   run SQL on the store of the test's
#                                    nimbusd (SQLite file or PostgreSQL),
#                                    rows on stdout
# NIMBUS_CONSOLE_DIR (set by meson when the web console is built): every
# nimbusd gets --console-dir with it, when this nimbusd has that option.
# Needs: NIMBUSD (path to the binary; set by meson, else build/ of the
# tree when run by hand), curl, python3; sqlite3 or psql for nimbus_sql.
#
# NIMBUS_TEST_STORE_URL (optional): a postgresql:// URL naming a fresh
# database (tests/pg/with-database.sh makes one) to run the test on
# PostgreSQL: every nimbusd of the test gets it as --store instead of
# using state-dir/nimbus.db.  The first nimbusd_start uses that database
# as it is; each later nimbusd_start (a fresh state dir, so a fresh store)
# creates a new database next to it (same URL, database <name>_<pid>_<n>),
# points NIMBUS_TEST_STORE_URL at it and drops it when the test exits.

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
_lib_store_first=${NIMBUS_TEST_STORE_URL:-} # the database given to the test
_lib_store_starts=0                         # nimbusd_start calls so far
_lib_store_dbs=()                           # databases made here, dropped at exit

_lib_cleanup() {
  if [ -n "${REMOTE_PID:-}" ] && kill -0 "$REMOTE_PID" 2>/dev/null; then
    kill -TERM "$REMOTE_PID" 2>/dev/null
    wait "$REMOTE_PID" 2>/dev/null || true
  fi
  if [ -n "${NIMBUSD_PID:-}" ] && kill -0 "$NIMBUSD_PID" 2>/dev/null; then
    kill -TERM "$NIMBUSD_PID" 2>/dev/null
    wait "$NIMBUSD_PID" 2>/dev/null || true
  fi
  for d in "${_lib_tmpdirs[@]}"; do rm -rf "$d"; done
  for d in "${_lib_store_dbs[@]}"; do
    psql -X -q "$_lib_store_first" -c "DROP DATABASE IF EXISTS \"$d\" WITH (FORCE)" >/dev/null || true
  done
}
trap _lib_cleanup EXIT

# nimbusd_start_remote [nimbusd flags...]: a second deployment, "the
# remote" of a federation test (docs/FEDERATION.md), started first: sets
# REMOTE_URL, REMOTE_PORT, REMOTE_PID, REMOTE_STATE; stopped at exit.  The
# next nimbusd_start then starts "home" and the NIMBUS_* variables follow it.
nimbusd_start_remote() {
  nimbusd_start "$@"
  REMOTE_URL=$NIMBUS_URL REMOTE_PORT=$NIMBUS_PORT REMOTE_PID=$NIMBUSD_PID
  REMOTE_STATE=$NIMBUS_STATE
  NIMBUSD_PID= # home's nimbusd_start must not take the remote's place
}

# _lib_fresh_store: on PostgreSQL, a fresh database for a nimbusd_start
# after the first (see NIMBUS_TEST_STORE_URL above).
_lib_fresh_store() {
  [ -n "$_lib_store_first" ] || return 0
  _lib_store_starts=$((_lib_store_starts + 1))
  [ "$_lib_store_starts" -gt 1 ] || return 0
  local base db
  base=$(psql -X -q -At "$_lib_store_first" -c "SELECT current_database()") || return 1
  db="${base}_$$_$_lib_store_starts"
  # The same URL with another database, as tests/pg/with-database.sh
  # derives its own.
  NIMBUS_TEST_STORE_URL=$("$(dirname "${BASH_SOURCE[0]}")/../pg/database-url.sh" \
    "$_lib_store_first" "$db") || return 1
  psql -X -q -v ON_ERROR_STOP=1 "$_lib_store_first" -c "CREATE DATABASE \"$db\"" >/dev/null || return 1
  _lib_store_dbs+=("$db")
  export NIMBUS_TEST_STORE_URL
}

# nimbus_sql SQL: run SQL (one or more statements) on the store of the
# test's nimbusd, behind its back: psql on NIMBUS_TEST_STORE_URL, else
# sqlite3 on $NIMBUS_STATE/nimbus.db (waiting up to 10 s for nimbusd's
# write lock).  Rows go to stdout the same way on both: columns separated
# by |, NULL as an empty string (but booleans print as t/f on PostgreSQL
# and 1/0 on SQLite, bytea as \x... on PostgreSQL).  An SQL error fails.
nimbus_sql() {
  if [ -n "${NIMBUS_TEST_STORE_URL:-}" ]; then
    psql -X -q -At -v ON_ERROR_STOP=1 "$NIMBUS_TEST_STORE_URL" -c "$1"
  else
    sqlite3 -batch -bail -cmd ".timeout 10000" "$NIMBUS_STATE/nimbus.db" "$1"
  fi
}

# _lib_has_console_dir: this nimbusd knows --console-dir (asked once)
_lib_console_dir_known=
_lib_has_console_dir() {
  if [ -z "$_lib_console_dir_known" ]; then
    _lib_console_dir_known=no
    if "$NIMBUSD" --help 2>/dev/null | grep -q -- '--console-dir'; then _lib_console_dir_known=yes; fi
  fi
  [ "$_lib_console_dir_known" = yes ]
}

# Start nimbusd; $NIMBUS_STATE and $NIMBUS_PORT are reused when set.
# NIMBUS_TEST_STORE_URL: see above (docs/OPERATIONS.md §4a).
_lib_launch() {
  local log="$NIMBUS_STATE.log" store=() console=()
  [ -z "${NIMBUS_TEST_STORE_URL:-}" ] || store=(--store "$NIMBUS_TEST_STORE_URL")
  if [ -n "${NIMBUS_CONSOLE_DIR:-}" ] && _lib_has_console_dir; then
    console=(--console-dir "$NIMBUS_CONSOLE_DIR")
  fi
  "$NIMBUSD" --listen 127.0.0.1 --port "${NIMBUS_PORT:-0}" --state-dir "$NIMBUS_STATE" \
    --admin-password "$NIMBUS_ADMIN_PASSWORD" --fast-hashing --threads 2 --workers 4 \
    "${store[@]}" "${console[@]}" "$@" >"$NIMBUS_STATE.out" 2>>"$log" &
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
  _lib_fresh_store || { echo "nimbusd_start: cannot make a fresh database" >&2; return 1; }
  _lib_launch "$@"
}

nimbusd_stop() {
  [ -n "${NIMBUSD_PID:-}" ] || return 0
  kill -TERM "$NIMBUSD_PID" || true # exited already: wait reports its status
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
# CMD runs in this shell (a function may set variables or start processes)
# under `set -eE -o pipefail` and `shopt -s inherit_errexit`, with an ERR
# trap, so the FIRST failing simple command in CMD or in any function it
# calls (command substitutions and subshells included) fails the check; the
# report names that step (file:line, function, command, status).  Its last
# step deciding is not enough: a failing earlier step fails the check.
# A step that may fail must be written as a condition, which bash exempts
# from errexit: `if cmd; then`, `while/until cmd`, `cmd || true`,
# `cmd && return 1`, `! cmd`, `cmd || rc=$?` (and, for a function, being
# called from one of those exempts all its steps: wait_until's polls are).
# Beware of steps that fail quietly: `wait PID` of a killed process,
# `kill -0`/`kill` of an exited one, `((n++))` from 0, `read` at EOF,
# `grep` finding nothing, `out=$(cmd)` of a failing cmd.
# Called itself inside `if`/`&&`/`||`, errexit is off and only CMD's status
# counts (so never write `check ... || ...`).  To expect failure, negate
# inside a function or `bash -c '! cmd'`.  The caller's options and ERR trap
# are restored after CMD.
# Time: CI runs two of these tests at once on two cores under ASan, where a
# check can take seconds.  Never let a product timeout (a payment's, a
# session's idle time) run against the test's own steps: give those a
# minute, and test the timeout itself where nothing has to happen before it
# (restart with the short value, wait for it to pass).  `cmd | grep -q` under
# pipefail fails when cmd is still writing as grep exits at its first match
# (SIGPIPE): put a long output in a file or a variable first.
_lib_check_name=
_lib_check_cmd=
_lib_check_pid=
# _lib_check_step_failed LINE COMMAND STATUS: the ERR trap while CMD runs.
# In a subshell it only reports (the subshell then exits, which fails the
# step that started it); in the check's shell it fails the check.
_lib_check_step_failed() {
  local where="${BASH_SOURCE[1]##*/}:$1 in ${FUNCNAME[1]:-main}"
  [ "${FUNCNAME[1]:-}" != check ] || where="the check's command"
  if [ "$BASHPID" != "$_lib_check_pid" ]; then
    echo "  (in a subshell) $where: '$2' exited with status $3" >&2
    return 0
  fi
  trap - ERR
  set +eE +o pipefail
  echo "FAILED - $_lib_check_name" >&2
  echo "  first failing step: $where: '$2' exited with status $3" >&2
  echo "  (the check's command: $_lib_check_cmd)" >&2
  [ -f "${NIMBUS_STATE:-/nonexistent}.log" ] && tail -20 "$NIMBUS_STATE.log" >&2
  # a test library may add its own evidence (the connector logs)
  ! declare -F _lib_on_failure >/dev/null || _lib_on_failure >&2
  exit 1
}
check() {
  local _lib_name=$1 _lib_restore=() _lib_trap _lib_rc _lib_opt
  shift
  # what to restore afterwards ($(set +o) would not do: -e is off in $(...))
  case $- in *e*) ;; *) _lib_restore+=("set +e") ;; esac
  case $- in *E*) ;; *) _lib_restore+=("set +E") ;; esac
  [[ -o pipefail ]] || _lib_restore+=("set +o pipefail")
  shopt -q inherit_errexit || _lib_restore+=("shopt -u inherit_errexit")
  _lib_trap=$(trap -p ERR)
  _lib_check_name=$_lib_name
  _lib_check_cmd="$*"
  _lib_check_pid=$BASHPID
  trap '_lib_check_step_failed "$LINENO" "$BASH_COMMAND" "$?"' ERR
  shopt -s inherit_errexit
  set -eE -o pipefail
  "$@"
  _lib_rc=$? # non-zero only where errexit is off (check called in a condition)
  trap - ERR
  for _lib_opt in "${_lib_restore[@]}"; do $_lib_opt; done
  [ -z "$_lib_trap" ] || eval "$_lib_trap"
  if [ "$_lib_rc" != 0 ]; then
    _lib_check_step_failed "?" "$_lib_check_cmd" "$_lib_rc"
  fi
  _lib_passed=$((_lib_passed + 1))
  echo "ok - $_lib_name"
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
