#!/usr/bin/env bash
# scripts/demo.sh --postgresql on the built tree (NIMBUS_BUILD_ROOT): the
# demo starts a private PostgreSQL cluster in <state dir>/pg, runs nimbusd
# on it (the banner names it), a job submitted and released with its PIN
# is printed by the demo's printer, and SIGTERM stops nimbusd, the
# connector and the cluster.  Needs Debian's postgresql (install-deps):
# skipped (77) without its server binaries, failed instead when CI=true.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-nimbusd.sh"
SRC=${NIMBUS_SOURCE_ROOT:-$(cd "$here/../.." && pwd)}
: "${NIMBUS_BUILD_ROOT:?run through meson test (NIMBUS_BUILD_ROOT)}"

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  [ "${CI:-}" = true ] && { echo "FAIL: no PostgreSQL server binaries (install-deps)" >&2; exit 1; }
  echo "SKIP: no PostgreSQL server binaries (scripts/install-deps.sh installs postgresql)" >&2
  exit 77
fi

work=$(mktemp -d /tmp/nimbus-demo-pg.XXXXXX)
chmod 0755 "$work" # the cluster runs as postgres under root
_lib_tmpdirs+=("$work")
STATE=$work/state
DEMO_PID=
trap '[ -z "$DEMO_PID" ] || kill -TERM "$DEMO_PID" 2>/dev/null; wait 2>/dev/null; _lib_cleanup' EXIT
read -r P_SERVER P_PANEL P_PRINTER < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')
URL=http://127.0.0.1:$P_SERVER

(cd "$SRC" && exec env NIMBUS_STATE_DIR="$STATE" scripts/demo.sh --postgresql \
  --port "$P_SERVER" --panel-port "$P_PANEL" --printer-port "$P_PRINTER") \
  >"$work/demo.log" 2>&1 </dev/null &
DEMO_PID=$!

up() {
  local i
  for i in $(seq 1 1200); do
    grep -q "demo is running" "$work/demo.log" && break
    kill -0 "$DEMO_PID" 2>/dev/null || break
    sleep 0.1
  done
  grep -q "database        PostgreSQL, private cluster in $STATE/pg" "$work/demo.log" ||
    { tail -30 "$work/demo.log" >&2; return 1; }
  test -f "$STATE/pg/data/postmaster.pid"
  test ! -e "$STATE/nimbus.db" # no SQLite file: the data is in PostgreSQL
}
check "the demo comes up on PostgreSQL and says so" up

printed() {
  local job i
  job=$(curl -fsS -u alice@demo:alice-demo-pass -F queue=office -F job-password=4711 \
    -F document=@"$SRC/tests/data/onepage.pdf" "$URL/api/v1/jobs" | json_get "d['id']")
  curl -fsS -u alice@demo:alice-demo-pass -H 'Content-Type: application/json' \
    -d '{"pin":"4711"}' "$URL/api/v1/jobs/$job/release" >/dev/null
  for i in $(seq 1 300); do
    [ "$(curl -fsS -u alice@demo:alice-demo-pass "$URL/api/v1/jobs/$job" | json_get "d['state']")" = completed ] && break
    sleep 0.1
  done
  test "$(ls "$STATE/printed/"*.pdf | wc -l)" = 1
}
check "a job released with its PIN is printed" printed

stops() {
  kill -TERM "$DEMO_PID"
  local rc=0
  wait "$DEMO_PID" || rc=$?
  DEMO_PID=
  [ "$rc" -eq 143 ] || { tail -20 "$work/demo.log" >&2; return 1; }
  test ! -f "$STATE/pg/data/postmaster.pid" # the cluster stopped too
}
check "SIGTERM stops the demo and its PostgreSQL" stops
finish demo-pg
