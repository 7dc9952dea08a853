#!/usr/bin/env bash
# Install dependencies, build, and start a local Nimbus Print deployment on
# the embedded defaults: nimbusd with SQLite + local spool in ./nimbus-state
# (a demo tenant, users and queue are created on first start), and a
# nimbus-connector with a virtual printer (file:// output in
# ./nimbus-state/printed) registered to the demo queue over the IPP INFRA
# device channel, its panel on http://127.0.0.1:8632/ and its own IPP
# printer for PCs on ipp://127.0.0.1:8633/ipp/print (release at the printer).
# Runs in the foreground; Ctrl-C stops both gracefully.
# Usage: scripts/demo.sh [extra nimbusd flags, e.g. --port 9631]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
BUILD=${BUILD:-build}
[ -d "$BUILD" ] || meson setup "$BUILD" --buildtype=release
ninja -C "$BUILD"

STATE=${NIMBUS_STATE_DIR:-./nimbus-state}
PORT=8631
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --port) PORT=${args[$((i + 1))]} ;;
    --port=*) PORT=${args[$i]#--port=} ;;
  esac
done
URL="http://127.0.0.1:$PORT"
mkdir -p "$STATE"

"$BUILD/src/server/nimbusd" --demo --state-dir "$STATE" "$@" &
NIMBUSD=$!
CONNECTOR=
stop() {
  [ -n "$CONNECTOR" ] && kill -TERM "$CONNECTOR" 2>/dev/null || true
  kill -TERM "$NIMBUSD" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

for _ in $(seq 1 100); do
  curl -fsS "$URL/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done

# First start: register the virtual printer "lobby" to the demo queue.
CSTATE="$STATE/connector/state.json"
if [ ! -s "$CSTATE" ]; then
  mkdir -p "$STATE/connector"
  CLAIM=$(curl -fsS -u demo-admin@demo:demo-admin-pass -H 'Content-Type: application/json' \
    -X POST "$URL/api/v1/printers" -d '{"name":"lobby","queues":["office"]}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["claim_code"])')
  "$BUILD/src/connector/nimbus-connector" register --server "$URL" --claim "$CLAIM" --state "$CSTATE"
fi
mkdir -p "$STATE/printed"
"$BUILD/src/connector/nimbus-connector" run --state "$CSTATE" --transport persistent \
  --output "file://$(cd "$STATE" && pwd)/printed" --panel-listen 127.0.0.1:8632 \
  --listen-ipp 127.0.0.1:8633 &
CONNECTOR=$!
echo "demo: printer 'lobby' (virtual, prints to $STATE/printed), panel http://127.0.0.1:8632/release," \
  "PCs print to ipp://127.0.0.1:8633/ipp/print"
wait "$NIMBUSD"
