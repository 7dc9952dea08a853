#!/usr/bin/env bash
# The README works in order: scripts/demo.sh runs on free ports from the
# built tree (NIMBUS_BUILD_ROOT: no apt-get, no build), then the example
# blocks of README.md marked "<!-- readme-example -->" run in order (read
# from README.md, ports substituted) in a directory laid out like the
# repository (build/, tests/, nimbus-state/); every command must succeed
# and both jobs released with their PIN must end completed and printed,
# while the PC job with the other PIN stays held.  Also: the demo refuses a
# port that is taken, and its banner comes after the printer listens.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-nimbusd.sh"
SRC=${NIMBUS_SOURCE_ROOT:-$(cd "$here/../.." && pwd)}
BUILD_ROOT=${NIMBUS_BUILD_ROOT:-$SRC/build}
# the demo's operator password is the one nimbusd generates
unset NIMBUS_ADMIN_PASSWORD NIMBUS_URL NIMBUS_USER NIMBUS_PASSWORD NIMBUS_TOKEN

work=$(mktemp -d /tmp/nimbus-readme.XXXXXX)
_lib_tmpdirs+=("$work")
ln -s "$BUILD_ROOT" "$work/build"
ln -s "$SRC/tests" "$work/tests"
DEMO_PID=
demo_cleanup() {
  if [ -n "$DEMO_PID" ] && kill -0 "$DEMO_PID" 2>/dev/null; then
    kill -TERM "$DEMO_PID" 2>/dev/null || true
    wait "$DEMO_PID" 2>/dev/null || true
  fi
  _lib_cleanup
}
trap demo_cleanup EXIT

# distinct free loopback ports: the demo's three, two spare
read -r P_SERVER P_PANEL P_PRINTER P_FREE1 P_FREE2 < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(5)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')

demo_log=$work/demo.log
NIMBUS_BUILD_ROOT=$BUILD_ROOT NIMBUS_STATE_DIR=$work/nimbus-state \
  "$SRC/scripts/demo.sh" --port "$P_SERVER" --panel-port "$P_PANEL" \
  --printer-port "$P_PRINTER" >"$demo_log" 2>&1 &
DEMO_PID=$!
for _ in $(seq 1 600); do
  grep -q "demo is running" "$demo_log" && break
  kill -0 "$DEMO_PID" 2>/dev/null || break
  sleep 0.1
done
if ! grep -q "demo is running" "$demo_log"; then
  echo "the demo did not come up; its output:" >&2
  cat "$demo_log" >&2
  exit 1
fi

banner_after_listeners() {
  local ipp banner
  ipp=$(grep -n "ipp listening" "$demo_log" | head -1 | cut -d: -f1)
  banner=$(grep -n "demo is running" "$demo_log" | head -1 | cut -d: -f1)
  [ -n "$ipp" ] && [ "$banner" -gt "$ipp" ] &&
    grep -q "printer panel   http://127.0.0.1:$P_PANEL/release" "$demo_log" &&
    grep -q "ipp://127.0.0.1:$P_PRINTER/ipp/print" "$demo_log"
}
check "demo banner after the listeners, with the chosen ports" banner_after_listeners

taken_port_refused() {
  local out
  # nimbusd's port is the running demo's printer port; the other two are free
  out=$(NIMBUS_BUILD_ROOT=$BUILD_ROOT NIMBUS_STATE_DIR=$work/other-state \
    "$SRC/scripts/demo.sh" --port "$P_PRINTER" --panel-port "$P_FREE1" \
    --printer-port "$P_FREE2" 2>&1) && return 1
  echo "$out" | grep -q "port $P_PRINTER (nimbusd) is in use" && [ ! -e "$work/other-state" ]
}
check "demo stops on a taken port before starting anything" taken_port_refused

# The README's example blocks, in order, on the demo's ports.
python3 - "$SRC/README.md" "$P_SERVER" "$P_PANEL" "$P_PRINTER" >"$work/examples.sh" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
ports = {"8631": sys.argv[2], "8632": sys.argv[3], "8633": sys.argv[4]}
blocks = re.findall(r"<!-- readme-example -->\n```sh\n(.*?)```", text, re.S)
if len(blocks) < 6:
    sys.exit("README.md: expected at least 6 readme-example blocks, found %d" % len(blocks))
print("set -euo pipefail")
for n, block in enumerate(blocks, 1):
    block = re.sub(r"127\.0\.0\.1:(8631|8632|8633)\b", lambda m: "127.0.0.1:" + ports[m.group(1)], block)
    print("echo '== README example %d'" % n)
    print("trap 'echo \"README example %d failed\" >&2' ERR" % n)
    print(block)
EOF
check "README has its example blocks" test -s "$work/examples.sh"
check "README examples run in order" bash -c "cd '$work' && bash ./examples.sh"

api_alice() { curl -fsS -u alice@demo:alice-demo-pass "http://127.0.0.1:$P_SERVER/api/v1/$1"; }
count_jobs() { api_alice "jobs?state=$1" | json_get "len(d['jobs'])"; }
released_jobs_completed() {
  for _ in $(seq 1 300); do
    [ "$(count_jobs completed)" = 2 ] && return 0
    sleep 0.1
  done
  api_alice "jobs?state=all" >&2
  return 1
}
check "the two jobs released with their PIN complete" released_jobs_completed
check "both are printed" test "$(ls "$work/nimbus-state/printed/"*.pdf | wc -l)" = 2
pc_job_held() {
  api_alice "jobs?state=held" | python3 -c '
import json, sys
jobs = json.load(sys.stdin)["jobs"]
assert any(j["name"] == "Report" and j["has_pin"] for j in jobs), jobs'
}
check "the PC job (PIN 1234) still waits at the printer" pc_job_held
check "the operator created tenant acme with queue floor1" \
  "$BUILD_ROOT/src/cli/nimbusctl" --url "http://127.0.0.1:$P_SERVER" --user admin@system \
  --password-file "$work/nimbus-state/admin-password" --tenant acme queue show floor1

kill -TERM "$DEMO_PID"
wait "$DEMO_PID" || true
DEMO_PID=
ports_released() {
  python3 - "$P_SERVER" "$P_PANEL" "$P_PRINTER" <<'EOF'
import socket, sys
for port in sys.argv[1:]:
    try:
        socket.create_connection(("127.0.0.1", int(port)), 1).close()
        sys.exit("port %s still answers" % port)
    except ConnectionRefusedError:
        pass
EOF
}
check "stopping the demo stops nimbusd and the connector" ports_released
finish readme
