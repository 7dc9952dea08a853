#!/usr/bin/env bash
# scripts/demo.sh --with-remote on the built tree (NIMBUS_BUILD_ROOT): the
# demo also starts "the remote" (a second nimbusd, state in
# <state dir>/remote, console served) and links it (docs/FEDERATION.md):
# the banner says the remote printer link is ok and alice's account link
# linked (approved at the remote by the demo, which says so); the remote's
# console answers; a job alice@other submits at the remote the way the
# banner says appears in the demo's list of that link, owned by alice, and
# in alice's merged list at home (GET /jobs?include=remote); so does one of
# README.md's remote example, with no Fetch-Document sent; a second start
# on the same state dir keeps both links (no new approval); SIGTERM stops
# all of it, the remote too.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-nimbusd.sh"
SRC=${NIMBUS_SOURCE_ROOT:-$(cd "$here/../.." && pwd)}
: "${NIMBUS_BUILD_ROOT:?run through meson test (NIMBUS_BUILD_ROOT)}"
unset NIMBUS_ADMIN_PASSWORD

work=$(mktemp -d /tmp/nimbus-demo-remote.XXXXXX)
_lib_tmpdirs+=("$work")
STATE=$work/state
DEMO_PID=
stop_demo_at_exit() {
  if [ -n "$DEMO_PID" ] && kill -0 "$DEMO_PID" 2>/dev/null; then
    kill -TERM "$DEMO_PID" 2>/dev/null || true
    wait "$DEMO_PID" 2>/dev/null || true
  fi
  _lib_cleanup
}
trap stop_demo_at_exit EXIT
read -r P_SERVER P_PANEL P_PRINTER P_PAYSIM P_REMOTE < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(5)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')
URL=http://127.0.0.1:$P_SERVER
R_URL=http://127.0.0.1:$P_REMOTE

# start_demo LOG: the demo --with-remote in the background (DEMO_PID), until
# its banner is out (including the remote's part) or it exits
start_demo() {
  (cd "$SRC" && exec env NIMBUS_STATE_DIR="$STATE" scripts/demo.sh --with-remote \
    --port "$P_SERVER" --panel-port "$P_PANEL" --printer-port "$P_PRINTER" \
    --paysim-port "$P_PAYSIM" --remote-port "$P_REMOTE") >"$1" 2>&1 </dev/null &
  DEMO_PID=$!
  local i
  for i in $(seq 1 1200); do
    grep -q "The remote: another print service" "$1" && return 0
    kill -0 "$DEMO_PID" 2>/dev/null || break
    sleep 0.1
  done
  tail -40 "$1" >&2
  return 1
}
# linked_banner LOG: the banner names the remote and both links working
linked_banner() {
  grep -q "its console     $R_URL/" "$1" &&
    grep -q 'remote link     "other" on the demo tenant (queue office): ok' "$1" &&
    grep -q "account link    alice@demo is alice@other there: linked" "$1" ||
    { tail -30 "$1" >&2; return 1; }
}
check "the demo comes up with the remote" start_demo "$work/demo1.log"
check "the banner: the remote's console, link ok, account linked" linked_banner "$work/demo1.log"
check "the demo says it approved at the remote as its alice" \
  grep -q "this is what alice does at $R_URL/#/device" "$work/demo1.log"
remote_state_apart() {
  test -f "$STATE/remote/admin-password" && test -f "$STATE/remote/nimbus.db"
}
check "the remote keeps its own state dir" remote_state_apart
remote_console() {
  curl -fsS -o "$work/console.html" "$R_URL/" && grep -q 'src="/assets/console.js"' "$work/console.html"
}
check "the remote's console is served" remote_console

# The banner's "print there" line, as printed, then the job in the link's list
SUBMIT=$(sed -n '/print there/,/api\/v1\/jobs$/p' "$work/demo1.log" | sed 's/^ *print there *//' |
  tr -d '\\\n')
submit_at_remote() {
  [ -n "$SUBMIT" ] || return 1
  (cd "$SRC" && eval "$SUBMIT") >"$work/job.json"
  R_JOB=$(json_get "d['id']" <"$work/job.json")
  [ -n "$R_JOB" ]
}
check "alice@other prints at the remote as the banner says" submit_at_remote
listed_here() {
  curl -fsS -u demo-admin@demo:demo-admin-pass "$URL/api/v1/remote-links/other/jobs" |
    python3 -c "
import json, sys
jobs = json.load(sys.stdin)['jobs']
assert [j for j in jobs if str(j['remote_id']) == '$R_JOB' and j['owner'] == 'alice'], jobs" \
      2>/dev/null
}
within() { # SECONDS CMD...: CMD until it succeeds, polled every 0.2 s
  local end=$((SECONDS + $1))
  shift
  while [ $SECONDS -lt "$end" ]; do
    if "$@"; then return 0; fi
    sleep 0.2
  done
  "$@"
}
check "the job is listed by the demo's remote printer link" within 30 listed_here
# the banner's "see it here": alice's own list at home, merged (FEDERATION.md §4)
in_alices_list() {
  curl -fsS -u alice@demo:alice-demo-pass "$URL/api/v1/jobs?include=remote" | python3 -c "
import json, sys
jobs = json.load(sys.stdin)['jobs']
assert [j for j in jobs if j.get('remote_id') == 'other:$R_JOB'
        and j['origin'] == {'kind': 'remote', 'link': 'other', 'service': '$R_URL'}], jobs"
}
check "and in alice's merged list at home (GET /jobs?include=remote)" in_alices_list

# README.md's block for the remote (marked <!-- readme-remote-example -->),
# its default ports replaced, run from the top of the tree: its last command
# (home's list of the link) must show both of alice's jobs
readme_block() {
  python3 - "$SRC/README.md" "$P_SERVER" "$P_REMOTE" >"$work/readme.sh" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
block = re.search(r"<!-- readme-remote-example -->\n```sh\n(.*?)```", text, re.S)
if not block:
    sys.exit("README.md: no readme-remote-example block")
ports = {"8631": sys.argv[2], "8641": sys.argv[3]}
print(re.sub(r"127\.0\.0\.1:(8631|8641)\b", lambda m: "127.0.0.1:" + ports[m.group(1)],
             block.group(1)))
EOF
  (cd "$SRC" && bash -euo pipefail "$work/readme.sh") >"$work/readme.out" || return 1
  python3 - "$work/readme.out" <<'EOF'
import json, sys
text, docs, dec, i = open(sys.argv[1]).read(), [], json.JSONDecoder(), 0
while i < len(text):  # the answers of the block's two curls, one after the other
    if text[i].isspace():
        i += 1
        continue
    doc, i = dec.raw_decode(text, i)
    docs.append(doc)
jobs = docs[-1]['jobs']
assert len([j for j in jobs if j['owner'] == 'alice']) == 2, jobs
EOF
}
check "README's remote example: the job sent there is listed here" readme_block
no_fetch() {
  curl -fsS "$R_URL/metrics" >"$work/metrics" || return 1
  grep -q '^nimbus_requests_total{op="ipp\.get-jobs-fetchable"' "$work/metrics" &&
    [ "$(sed -n 's/^nimbus_requests_total{op="ipp\.fetch-document"[^ ]* //p' "$work/metrics" |
      awk '{ s += $1 } END { print s + 0 }')" = 0 ]
}
check "nothing fetched from the remote before a choice" no_fetch

stop_it() {
  kill -TERM "$DEMO_PID"
  local rc=0
  wait "$DEMO_PID" || rc=$?
  DEMO_PID=
  [ "$rc" -eq 143 ] || { tail -20 "$1" >&2; return 1; }
  python3 - "$P_SERVER" "$P_REMOTE" <<'EOF'
import socket, sys
for port in sys.argv[1:]:
    try:
        socket.create_connection(("127.0.0.1", int(port)), 1).close()
        sys.exit("port %s still answers" % port)
    except ConnectionRefusedError:
        pass
EOF
}
check "SIGTERM stops the demo and the remote" stop_it "$work/demo1.log"

check "a second start on the same state dir" start_demo "$work/demo2.log"
check "keeps both links working" linked_banner "$work/demo2.log"
no_new_approval() { ! grep -q "approving alice's account link" "$work/demo2.log"; }
check "without a new approval" no_new_approval
check "SIGTERM stops it again" stop_it "$work/demo2.log"
finish demo-remote
