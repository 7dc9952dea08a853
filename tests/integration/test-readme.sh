#!/usr/bin/env bash
# The README works in order, on a fresh clone: the tree is cloned (git clone
# of the checkout; a copy of its files when it is not a git checkout) into a
# scratch directory, README.md's deployment command (read from README.md:
# scripts/demo.sh, which installs the Debian packages it lacks, builds into
# build/ and starts the demo) runs there on free ports (NIMBUS_PORT,
# NIMBUS_PANEL_PORT, NIMBUS_PRINTER_PORT, as the README says), and once its
# banner is out the example blocks of README.md marked
# "<!-- readme-example -->" run in order from the clone's top (read from
# README.md by readme_commands.py, ports substituted); every command must
# succeed and both jobs released with their PIN must end completed and
# printed, while the PC job with the other PIN stays held.  Also: the demo
# refuses a port that is taken, its banner comes after the printer listens,
# and SIGTERM stops all of it.
# The clone has the checkout's HEAD: uncommitted changes are not in it.
# NIMBUS_README_BUILT=1 runs the same in a directory laid out like the
# repository around the already built tree (NIMBUS_BUILD_ROOT: no clone, no
# package install, no build) for a quick local check.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-nimbusd.sh"
SRC=${NIMBUS_SOURCE_ROOT:-$(cd "$here/../.." && pwd)}
# the demo's operator password is the one nimbusd generates
unset NIMBUS_ADMIN_PASSWORD NIMBUS_URL NIMBUS_USER NIMBUS_PASSWORD NIMBUS_TOKEN

work=$(mktemp -d /tmp/nimbus-readme.XXXXXX)
_lib_tmpdirs+=("$work")
TREE=$work/nimbus-print
DEMO_PID=
demo_cleanup() {
  if [ -n "$DEMO_PID" ] && kill -0 "$DEMO_PID" 2>/dev/null; then
    kill -TERM "$DEMO_PID" 2>/dev/null || true
    wait "$DEMO_PID" 2>/dev/null || true
  fi
  _lib_cleanup
}
trap demo_cleanup EXIT

if [ "${NIMBUS_README_BUILT:-}" = 1 ]; then
  BUILD_DIR=${NIMBUS_BUILD_ROOT:-$SRC/build}
  mkdir "$TREE"
  ln -s "$BUILD_DIR" "$TREE/build"
  ln -s "$SRC/tests" "$TREE/tests"
  ln -s "$SRC/scripts" "$TREE/scripts"
  cp "$SRC/README.md" "$TREE/"
  demo_env=(NIMBUS_BUILD_ROOT="$BUILD_DIR")
else
  clone() {
    if git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
      git clone -q "$SRC" "$TREE" || return 1
      [ -z "$(git -C "$SRC" status --porcelain --untracked-files=no)" ] ||
        echo "readme: note: uncommitted changes in $SRC are not in the clone"
    else
      mkdir "$TREE" &&
        tar -C "$SRC" --exclude='./build*' --exclude='./obj-*' --exclude='./nimbus-state' -cf - . |
        tar -C "$TREE" -xf -
    fi
  }
  check "a fresh clone of the tree" clone
  BUILD_DIR=$TREE/build
  # the demo itself installs what is missing and builds
  demo_env=()
  unset NIMBUS_BUILD_ROOT BUILD
fi

# distinct free loopback ports: the demo's three, two spare
read -r P_SERVER P_PANEL P_PRINTER P_FREE1 P_FREE2 < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(5)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')

# README.md's deployment command, run as it is written, from the top of the tree
DEPLOY=$(python3 "$here/readme_commands.py" "$TREE/README.md" deploy)
echo "readme: running '$DEPLOY' in $TREE"
demo_log=$work/demo.log
SECONDS=0
(cd "$TREE" && exec env ${demo_env[@]+"${demo_env[@]}"} NIMBUS_PORT="$P_SERVER" \
  NIMBUS_PANEL_PORT="$P_PANEL" NIMBUS_PRINTER_PORT="$P_PRINTER" bash -c "exec $DEPLOY") \
  >"$demo_log" 2>&1 </dev/null &
DEMO_PID=$!
# up to 14 minutes: a first run installs what is missing and builds
for _ in $(seq 1 8400); do
  grep -q "demo is running" "$demo_log" && break
  kill -0 "$DEMO_PID" 2>/dev/null || break
  sleep 0.1
done
if ! grep -q "demo is running" "$demo_log"; then
  echo "the demo did not come up; its output:" >&2
  tail -60 "$demo_log" >&2
  exit 1
fi
echo "readme: the demo's banner after ${SECONDS}s"

banner_after_listeners() {
  local ipp banner
  ipp=$(grep -n "ipp listening" "$demo_log" | head -1 | cut -d: -f1)
  banner=$(grep -n "demo is running" "$demo_log" | head -1 | cut -d: -f1)
  [ -n "$ipp" ] && [ "$banner" -gt "$ipp" ] &&
    grep -q "printer panel   http://127.0.0.1:$P_PANEL/release" "$demo_log" &&
    grep -q "ipp://127.0.0.1:$P_PRINTER/ipp/print" "$demo_log"
}
check "demo banner after the listeners, with the chosen ports" banner_after_listeners

# The web console the banner names answers there (docs/CONSOLE.md): the
# page with its CSP, its script, and a console sign-in as the demo's alice
console_served() {
  grep -q "web console     http://127.0.0.1:$P_SERVER/" "$demo_log" &&
    curl -fsS -D "$work/console.h" -o "$work/console.html" "http://127.0.0.1:$P_SERVER/" &&
    grep -qi "^content-security-policy: default-src 'none'" "$work/console.h" &&
    grep -q 'src="/assets/console.js"' "$work/console.html" &&
    curl -fsS -o /dev/null "http://127.0.0.1:$P_SERVER/assets/console.js" &&
    [ "$(curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
      -d '{"user":"alice@demo","password":"alice-demo-pass"}' \
      "http://127.0.0.1:$P_SERVER/api/v1/session")" = 201 ]
}
check "the banner's web console is served, and alice signs in to it" console_served

taken_port_refused() {
  local out
  # nimbusd's port is the running demo's printer port; the other two are free
  out=$(NIMBUS_BUILD_ROOT=$BUILD_DIR NIMBUS_STATE_DIR=$work/other-state \
    "$TREE/scripts/demo.sh" --port "$P_PRINTER" --panel-port "$P_FREE1" \
    --printer-port "$P_FREE2" 2>&1) && return 1
  echo "$out" | grep -q "port $P_PRINTER (nimbusd) is in use" && [ ! -e "$work/other-state" ]
}
check "demo stops on a taken port before starting anything" taken_port_refused

# The README's example blocks, in order, on the demo's ports.
python3 "$here/readme_commands.py" "$TREE/README.md" examples "$P_SERVER" "$P_PANEL" "$P_PRINTER" \
  >"$work/examples.sh"
check "README has its example blocks" test -s "$work/examples.sh"
check "README examples run in order" bash -c "cd '$TREE' && bash '$work/examples.sh'"

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
check "both are printed" test "$(ls "$TREE/nimbus-state/printed/"*.pdf | wc -l)" = 2
pc_job_held() {
  api_alice "jobs?state=held" | python3 -c '
import json, sys
jobs = json.load(sys.stdin)["jobs"]
assert any(j["name"] == "Report" and j["has_pin"] for j in jobs), jobs'
}
check "the PC job (PIN 1234) still waits at the printer" pc_job_held
check "the operator created tenant acme with queue floor1" \
  "$BUILD_DIR/src/cli/nimbusctl" --url "http://127.0.0.1:$P_SERVER" --user admin@system \
  --password-file "$TREE/nimbus-state/admin-password" --tenant acme queue show floor1

stop_demo() {
  kill -TERM "$DEMO_PID"
  local rc=0
  wait "$DEMO_PID" || rc=$?
  DEMO_PID=
  # demo.sh exits 143 on SIGTERM after stopping nimbusd and the connector
  [ "$rc" -eq 143 ] || { echo "demo exit status $rc" >&2; tail -20 "$demo_log" >&2; return 1; }
  grep -q "demo: a component stopped" "$demo_log" && { tail -20 "$demo_log" >&2; return 1; }
  return 0
}
check "SIGTERM stops the demo" stop_demo
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
