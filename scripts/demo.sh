#!/usr/bin/env bash
# Install dependencies, build, and start a local Nimbus Print deployment on
# the embedded defaults: nimbusd with SQLite + local spool in ./nimbus-state
# (a demo tenant, users and queue are created on first start), and a
# nimbus-connector with a virtual printer (file:// output in
# ./nimbus-state/printed) registered to the demo queue over the IPP INFRA
# device channel, with its panel and its own IPP printer for PCs (release
# at the printer).  Runs in the foreground; Ctrl-C stops both gracefully.
#
# Usage: scripts/demo.sh [--port N] [--panel-port N] [--printer-port N]
#                        [--postgresql] [extra nimbusd flags]
#   --port N          nimbusd (IPP, REST, console)     env NIMBUS_PORT, default 8631
#   --panel-port N    the printer's panel               env NIMBUS_PANEL_PORT, default 8632
#   --printer-port N  the printer's IPP listener (PCs)  env NIMBUS_PRINTER_PORT, default 8633
#   --postgresql      store the data in PostgreSQL instead of SQLite: a
#                     private cluster in <state dir>/pg (unix socket only,
#                     tests/pg/pg-cluster.sh), started with the demo and
#                     stopped with it; env NIMBUS_DEMO_POSTGRESQL=1
# Everything listens on 127.0.0.1.  A port that is taken stops the demo
# before anything starts; a component that fails to start stops the rest.
# The addresses and demo sign-ins are printed last, once all is listening.
# Environment: NIMBUS_STATE_DIR (default ./nimbus-state); NIMBUS_BUILD_ROOT
# (an already built tree: no dependency install, no build; otherwise BUILD,
# default build/, is set up in release mode and built).
set -euo pipefail
cd "$(dirname "$0")/.."

die() {
  echo "demo: $*" >&2
  exit 1
}

PORT=${NIMBUS_PORT:-8631}
PANEL_PORT=${NIMBUS_PANEL_PORT:-8632}
PRINTER_PORT=${NIMBUS_PRINTER_PORT:-8633}
POSTGRESQL=${NIMBUS_DEMO_POSTGRESQL:-0}
nimbusd_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --postgresql)
      POSTGRESQL=1
      shift
      continue
      ;;
    --port | --panel-port | --printer-port)
      [ $# -ge 2 ] || die "$1 needs a port number"
      opt=$1 value=$2
      shift 2
      ;;
    --port=* | --panel-port=* | --printer-port=*)
      opt=${1%%=*} value=${1#*=}
      shift
      ;;
    *)
      nimbusd_args+=("$1")
      shift
      continue
      ;;
  esac
  case "$opt" in
    --port) PORT=$value ;;
    --panel-port) PANEL_PORT=$value ;;
    --printer-port) PRINTER_PORT=$value ;;
  esac
done
for p in "$PORT" "$PANEL_PORT" "$PRINTER_PORT"; do
  [[ "$p" =~ ^[0-9]+$ ]] && [ "$p" -ge 1 ] && [ "$p" -le 65535 ] || die "'$p' is not a port number"
done
[ "$PORT" != "$PANEL_PORT" ] && [ "$PORT" != "$PRINTER_PORT" ] &&
  [ "$PANEL_PORT" != "$PRINTER_PORT" ] || die "the three ports must differ"

if [ -n "${NIMBUS_BUILD_ROOT:-}" ]; then
  BUILD=$NIMBUS_BUILD_ROOT
else
  scripts/install-deps.sh
  BUILD=${BUILD:-build}
  [ -d "$BUILD" ] || meson setup "$BUILD" --buildtype=release
  ninja -C "$BUILD"
fi
NIMBUSD_BIN=$BUILD/src/server/nimbusd
CONNECTOR_BIN=$BUILD/src/connector/nimbus-connector
[ -x "$NIMBUSD_BIN" ] && [ -x "$CONNECTOR_BIN" ] || die "no nimbusd or nimbus-connector in $BUILD"

# Every port must be free before anything starts (a bind test, as the
# daemons will bind: 127.0.0.1, SO_REUSEADDR).
port_free() {
  python3 - "$1" <<'EOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
EOF
}
port_free "$PORT" || die "port $PORT (nimbusd) is in use; choose another with --port or NIMBUS_PORT"
port_free "$PANEL_PORT" ||
  die "port $PANEL_PORT (panel) is in use; choose another with --panel-port or NIMBUS_PANEL_PORT"
port_free "$PRINTER_PORT" ||
  die "port $PRINTER_PORT (printer's IPP) is in use; choose another with --printer-port or NIMBUS_PRINTER_PORT"

STATE=${NIMBUS_STATE_DIR:-./nimbus-state}
URL="http://127.0.0.1:$PORT"
mkdir -p "$STATE"

NIMBUSD=
CONNECTOR=
PG_DIR=
stop() {
  trap - INT TERM EXIT
  [ -n "$CONNECTOR" ] && kill -TERM "$CONNECTOR" 2>/dev/null || true
  [ -n "$NIMBUSD" ] && kill -TERM "$NIMBUSD" 2>/dev/null || true
  wait 2>/dev/null || true
  [ -z "$PG_DIR" ] || tests/pg/pg-cluster.sh stop "$PG_DIR" >/dev/null 2>&1 || true
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT

# wait_for NAME PID CMD...: until CMD succeeds; fails if PID exits or after 20 s
wait_for() {
  local name=$1 pid=$2
  shift 2
  for _ in $(seq 1 200); do
    kill -0 "$pid" 2>/dev/null || die "$name exited during start-up (see its log above)"
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  die "$name did not start listening within 20 s"
}
tcp_open() { python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1"; }

DATABASE="SQLite, $STATE/nimbus.db"
if [ "$POSTGRESQL" = 1 ]; then
  # The cluster outlives the demo (data kept in $STATE/pg/data), as the
  # SQLite file does; only its server process stops with the demo.
  mkdir -p "$STATE/pg"
  PG_DIR=$(cd "$STATE/pg" && pwd)
  tests/pg/pg-cluster.sh start "$PG_DIR" || die "cannot start PostgreSQL in $PG_DIR"
  nimbusd_args=(--store "$(tests/pg/pg-cluster.sh url "$PG_DIR")" ${nimbusd_args[@]+"${nimbusd_args[@]}"})
  DATABASE="PostgreSQL, private cluster in $PG_DIR (socket only)"
fi

"$NIMBUSD_BIN" --demo --state-dir "$STATE" --port "$PORT" ${nimbusd_args[@]+"${nimbusd_args[@]}"} &
NIMBUSD=$!
wait_for nimbusd "$NIMBUSD" curl -fsS "$URL/healthz"

# First start: register the virtual printer "lobby" to the demo queue.  A
# later start on another --port points the saved registration at it.
CSTATE="$STATE/connector/state.json"
if [ ! -s "$CSTATE" ]; then
  mkdir -p "$STATE/connector"
  CLAIM=$(curl -fsS -u demo-admin@demo:demo-admin-pass -H 'Content-Type: application/json' \
    -X POST "$URL/api/v1/printers" -d '{"name":"lobby","queues":["office"]}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["claim_code"])') ||
    die "could not create the printer 'lobby'"
  "$CONNECTOR_BIN" register --server "$URL" --claim "$CLAIM" --state "$CSTATE" ||
    die "could not register the printer 'lobby'"
else
  python3 - "$CSTATE" "$URL" <<'EOF' || die "cannot update $CSTATE"
import json, os, re, sys
path, url = sys.argv[1], sys.argv[2]
with open(path) as f:
    text = f.read()
old = re.match(r"https?://[^/]+:(\d+)$", json.loads(text).get("server", ""))
new_port = url.rsplit(":", 1)[1]
if old and old.group(1) != new_port:
    # the server and the queue URIs it handed out: //127.0.0.1:OLD/, //localhost:OLD/
    text = re.sub(r"(//(?:127\.0\.0\.1|localhost)):" + old.group(1) + r'(?=[/"])',
                  r"\g<1>:" + new_port, text)
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)
EOF
fi
mkdir -p "$STATE/printed"
"$CONNECTOR_BIN" run --state "$CSTATE" --transport persistent \
  --output "file://$(cd "$STATE" && pwd)/printed" --panel-listen "127.0.0.1:$PANEL_PORT" \
  --listen-ipp "127.0.0.1:$PRINTER_PORT" &
CONNECTOR=$!
wait_for "nimbus-connector's panel" "$CONNECTOR" curl -fsS "http://127.0.0.1:$PANEL_PORT/"
wait_for "nimbus-connector's IPP printer" "$CONNECTOR" tcp_open "$PRINTER_PORT"

cat <<EOF

+----------------------------------------------------------------------+
  Nimbus Print demo is running (Ctrl-C stops it)
    cloud queue     ipp://127.0.0.1:$PORT/ipp/print/demo/office
    REST API        $URL/api/v1/   (console: $URL/)
    printer panel   http://127.0.0.1:$PANEL_PORT/release
    print here      ipp://127.0.0.1:$PRINTER_PORT/ipp/print   (release at the printer)
    printed files   $STATE/printed/
    database        $DATABASE
  Sign-ins
    user            alice@demo / alice-demo-pass
    tenant admin    demo-admin@demo / demo-admin-pass
    operator        admin@system / password in $STATE/admin-password
+----------------------------------------------------------------------+
EOF

# Stop everything when either daemon exits.
status=0
wait -n "$NIMBUSD" "$CONNECTOR" || status=$?
echo "demo: a component stopped (status $status); stopping the rest" >&2
exit "$status"
