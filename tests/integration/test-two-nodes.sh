#!/usr/bin/env bash
# Two nimbusd nodes on one PostgreSQL database behind HAProxy (issue 10,
# docs/OPERATIONS.md "Several nodes"): node-a and node-b each have their
# own state directory whose spool/ is the same shared directory (as an NFS
# mount would be), the same --store and --trust-proxy; Debian's haproxy
# (HTTP mode, health checks on /healthz, the configuration of the docs'
# shape written below) runs in the foreground in front of both.
#   - jobs submitted through HAProxy and directly to each node: both nodes
#     list all of them, and HAProxy spread its share over both nodes;
#   - a persistent connector parked on node-a (pointed at it directly) prints
#     a job released on node-b: the event feed woke it.  The time from the
#     release to the printed file is measured and printed; the bound is
#     generous (10 s), but a persistent connector asks for jobs only after
#     an event (an empty answer at the end of a long poll, notify-wait
#     60 s, is not one; its --poll-interval, for polling only, is 60 s
#     too), so a print within 10 s is the wake-up;
#   - kill -9 of node-a while a client submits jobs through HAProxy in a
#     loop: every job the client saw acknowledged (201) is still there
#     (asked of node-b), HAProxy marks node-a down and the client's later
#     jobs succeed through node-b; a second connector, pointed at HAProxy
#     and parked on node-a at the time, reconnects through node-b and prints
#     a job released afterwards, whose document node-a had spooled (the
#     shared spool).
# PostgreSQL only: run through tests/pg/with-database.sh (a fresh database
# in NIMBUS_TEST_STORE_URL); run by hand it goes through that script itself,
# which skips (77) without NIMBUS_TEST_PG_URL, or fails when CI=true.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

if [ -z "${NIMBUS_TEST_STORE_URL:-}" ]; then
  exec "$HERE/../pg/with-database.sh" "$0" "$@"
fi
case "$NIMBUS_TEST_STORE_URL" in
  postgres://* | postgresql://*) ;;
  *)
    echo "FAIL: two nodes need a PostgreSQL store, not $NIMBUS_TEST_STORE_URL" >&2
    exit 1
    ;;
esac
if ! command -v haproxy >/dev/null 2>&1 && [ ! -x /usr/sbin/haproxy ]; then
  [ "${CI:-}" = true ] && { echo "FAIL: no haproxy (scripts/install-deps.sh installs it)" >&2; exit 1; }
  echo "SKIP: no haproxy (scripts/install-deps.sh installs it)" >&2
  exit 77
fi
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)

source "$HERE/test-connector-common.sh"
T0=$(date +%s%N)

TOP=$(mktemp -d /tmp/nimbus-two-nodes.XXXXXX)
_lib_tmpdirs+=("$TOP")
SHARED=$TOP/shared-spool # what each node mounts at <state-dir>/spool
mkdir -m 0700 "$SHARED"
OUT=$CONN_DIR/out
A_PID='' B_PID='' HAP_PID='' LOOP_PID=''

cleanup() {
  local p
  [ -z "$LOOP_PID" ] || { touch "$TOP/stop"; wait "$LOOP_PID" 2>/dev/null || true; }
  for p in "$HAP_PID" "$A_PID" "$B_PID"; do
    [ -n "$p" ] || continue
    kill -TERM "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  _conn_cleanup # connectors, then lib-nimbusd's own (no nimbusd of its left)
}
trap cleanup EXIT

# On a failed check: both nodes' logs, HAProxy's and the connectors'.
_lib_on_failure() {
  local f n
  for f in "$TOP/node-a.log" "$TOP/node-b.log" "$TOP/haproxy.log"; do
    [ -f "$f" ] || continue
    echo "---- last lines of $(basename "$f")"
    tail -15 "$f"
  done
  # shellcheck disable=SC2154 # test-connector-common.sh keeps the list
  for n in "${_conn_names[@]}"; do
    [ -f "$CONN_DIR/$n.log" ] || continue
    echo "---- last lines of connector $n's log"
    tail -25 "$CONN_DIR/$n.log"
  done
}

# start_node NAME: a nimbusd with its own state directory, whose spool is
# the shared one, on the test's database (lib-nimbusd.sh's _lib_launch).
# Sets <A|B>_PID, _PORT, _URL.
start_node() {
  local name=$1 v=${1#node-}
  v=${v^^}
  mkdir -m 0700 "$TOP/$name"
  ln -s "$SHARED" "$TOP/$name/spool"
  # shellcheck disable=SC2034 # lib-nimbusd.sh's _lib_launch reads both
  NIMBUS_STATE=$TOP/$name NIMBUS_PORT=0
  _lib_launch --node-id "$name" --trust-proxy --notify-wait 60 --max-held-jobs 100000 \
    --log-level info
  printf -v "${v}_PID" %s "$NIMBUSD_PID"
  printf -v "${v}_PORT" %s "$NIMBUS_PORT"
  printf -v "${v}_URL" %s "$NIMBUS_URL"
  NIMBUSD_PID= # this test stops its nodes itself
}

# on A|B|LB CMD...: run CMD (a test-connector-common.sh helper) against
# node-a, node-b or HAProxy.
on() {
  local NIMBUS_URL NIMBUS_PORT
  case $1 in
    A) NIMBUS_URL=$A_URL NIMBUS_PORT=$A_PORT ;;
    B) NIMBUS_URL=$B_URL NIMBUS_PORT=$B_PORT ;;
    LB) NIMBUS_URL=$LB_URL NIMBUS_PORT=$LB_PORT ;;
  esac
  shift
  "$@"
}

# Two nodes started at the same moment on an empty database (a database of
# their own): both make the first-start set-up (the operator's tenant and
# account) or find the other's, and both come up.
both_start_at_once() {
  local base db url n pids=() ok=0
  base=$(psql -X -q -At "$NIMBUS_TEST_STORE_URL" -c "SELECT current_database()") || return 1
  db="${base}_race"
  url=$("$HERE/../pg/database-url.sh" "$NIMBUS_TEST_STORE_URL" "$db") || return 1
  psql -X -q -v ON_ERROR_STOP=1 "$NIMBUS_TEST_STORE_URL" -c "CREATE DATABASE \"$db\"" >/dev/null ||
    return 1
  for n in race-1 race-2; do
    mkdir -m 0700 "$TOP/$n"
    "$NIMBUSD" --listen 127.0.0.1 --port 0 --state-dir "$TOP/$n" --store "$url" --node-id "$n" \
      --admin-password "$NIMBUS_ADMIN_PASSWORD" --fast-hashing --threads 1 --workers 2 \
      >"$TOP/$n.out" 2>"$TOP/$n.log" &
    pids+=($!)
  done
  for _ in $(seq 1 300); do
    [ "$(cat "$TOP/race-1.out" "$TOP/race-2.out" | grep -c 'listening on')" = 2 ] && { ok=1; break; }
    kill -0 "${pids[0]}" 2>/dev/null && kill -0 "${pids[1]}" 2>/dev/null || break
    sleep 0.1
  done
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  psql -X -q "$NIMBUS_TEST_STORE_URL" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null ||
    true
  [ "$ok" = 1 ] || { tail -5 "$TOP/race-1.log" "$TOP/race-2.log" >&2; return 1; }
}
check "two nodes started at once on an empty database both come up" both_start_at_once
check "node-a starts on the database, spool shared" start_node node-a
check "node-b starts on the same database and spool" start_node node-b
both_areas() {
  test -f "$SHARED/tmp/node-a/.lock"
  test -f "$SHARED/tmp/node-b/.lock"
  test -d "$SHARED/data"
  test "$(cat "$SHARED/tmp/node-a/.lock")" = "$A_PID"
  test "$(cat "$SHARED/tmp/node-b/.lock")" = "$B_PID"
}
check "each node has its upload area in the shared spool" both_areas

# ---- HAProxy: the shape of docs/OPERATIONS.md "Several nodes" ----
# haproxy_cfg: the configuration, listening on $LB_PORT
haproxy_cfg() {
  cat >"$TOP/haproxy.cfg" <<EOF
global
    log stdout format raw local0 info
    stats socket $TOP/haproxy.sock mode 600 level admin

defaults
    mode http
    log global
    option httplog
    option redispatch
    retries 3
    timeout connect 5s
    timeout http-request 10s
    # longer than nimbusd's notify-wait (60 s): printers' long polls
    timeout client 75s
    timeout server 75s

frontend nimbus
    bind 127.0.0.1:$LB_PORT
    # the client's address for --trust-proxy: one header, set by HAProxy
    http-request set-header X-Forwarded-For %[src]
    default_backend nimbusd

backend nimbusd
    balance roundrobin
    # a printer's IPP requests stay on one node while it is up (docs)
    stick-table type integer size 1m expire 2h
    stick on req.hdr(authorization),crc32 if { path_beg /ipp/ }
    option httpchk GET /healthz
    http-check expect status 200
    default-server check inter 1s fall 2 rise 2
    server node-a 127.0.0.1:$A_PORT
    server node-b 127.0.0.1:$B_PORT
EOF
}
LB_PORT=$(_ippeve_free_port) # lib-ippeve.sh: a free loopback port
haproxy_cfg
check "haproxy accepts the configuration" "$HAPROXY" -c -q -f "$TOP/haproxy.cfg"

# hap CMD: a command on HAProxy's runtime API (stats socket); prints the answer
hap() {
  python3 - "$TOP/haproxy.sock" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
out = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    out += b
sys.stdout.write(out.decode())
PY
}
# hap_state NODE: UP, DOWN, MAINT... (show stat's status column)
hap_state() { hap "show stat" | awk -F, -v n="$1" '$1 == "nimbusd" && $2 == n { print $18 }'; }
# hap_set CMD: a runtime API command that answers nothing unless it failed
hap_set() {
  local out
  out=$(hap "$1")
  [ -z "${out//[$'\n ']/}" ] || { echo "haproxy: $out" >&2; return 1; }
}
hap_is() { [ "$(hap_state "$1")" = "$2" ]; }
hap_up() { hap_is "$1" UP; }

# haproxy_listens: until its stats socket answers (false once it exited)
haproxy_listens() {
  local _
  for _ in $(seq 1 200); do
    kill -0 "$HAP_PID" 2>/dev/null || return 1
    if [ -S "$TOP/haproxy.sock" ] && hap "show info" >/dev/null 2>&1; then return 0; fi
    sleep 0.05
  done
  return 1
}
start_haproxy() {
  local attempt
  for attempt in 1 2 3; do # the free port may have been taken meanwhile
    [ "$attempt" = 1 ] || { LB_PORT=$(_ippeve_free_port) && haproxy_cfg; }
    "$HAPROXY" -db -f "$TOP/haproxy.cfg" >"$TOP/haproxy.log" 2>&1 &
    HAP_PID=$!
    if haproxy_listens; then break; fi
    kill "$HAP_PID" 2>/dev/null || true
    wait "$HAP_PID" 2>/dev/null || true
    HAP_PID=''
  done
  test -n "$HAP_PID"
  LB_URL=http://127.0.0.1:$LB_PORT
  wait_until "node-a up in haproxy" hap_up node-a
  wait_until "node-b up in haproxy" hap_up node-b
  curl -fsS "$LB_URL/healthz" >/dev/null
}
check "haproxy runs in front of both nodes, both UP" start_haproxy

# ---- tenant and jobs from every side ----
check "tenant, users and queue office (through HAProxy)" on LB conn_setup_tenant
add_queue() {
  api POST '/api/v1/queues?tenant=acme' -H 'Content-Type: application/json' -d "{\"name\":\"$1\"}" \
    -o /dev/null -w '%{http_code}' | grep -qx 201
}
check "queue annex (on node-b)" on B add_queue annex

# rest_submit [FILE] [QUEUE]: REST upload as alice; prints the job's id
rest_submit() {
  local code
  code=$(curl -sS -o "$TOP/submit.json" -w '%{http_code}' -u alice@acme:alice-pw-1 \
    -F "queue=${2:-office}" -F "document=@${1:-$NIMBUS_TEST_DATA/onepage.pdf}" \
    "$NIMBUS_URL/api/v1/jobs")
  [ "$code" = 201 ] || { echo "REST submit answered $code: $(cat "$TOP/submit.json")" >&2; return 1; }
  json_get "d['id']" <"$TOP/submit.json"
}
# rest_count NODE: REST job submissions NODE counted (its /metrics)
rest_count() {
  curl -fsS "$1/metrics" | python3 -c '
import sys
print(sum(int(float(l.rsplit(" ", 1)[1])) for l in sys.stdin
          if l.startswith("nimbus_requests_total{op=\"api.jobs.submit\"")))'
}
SUBMITTED=()
submit_everywhere() {
  local side id
  for side in LB A B; do
    for _ in 1 2 3; do
      id=$(on "$side" rest_submit)
      SUBMITTED+=("$id")
    done
    id=$(on "$side" submit_job onepage.pdf) # ipptool Print-Job
    SUBMITTED+=("$id")
  done
  for _ in $(seq 1 8); do
    id=$(on LB rest_submit)
    SUBMITTED+=("$id")
  done
  test "${#SUBMITTED[@]}" -eq 20
}
A_REST0=$(rest_count "$A_URL")
B_REST0=$(rest_count "$B_URL")
check "20 jobs: REST and IPP, through HAProxy and to each node" submit_everywhere
# job_ids URL: the ids of alice's jobs that node lists, one a line, sorted
job_ids() {
  curl -fsS -u alice@acme:alice-pw-1 "$1/api/v1/jobs?state=all&limit=100000" |
    json_get "'\n'.join(str(j['id']) for j in sorted(d['jobs'], key=lambda j: j['id']))"
}
lists_all() {
  local ids id
  ids=$(job_ids "$1")
  for id in "${SUBMITTED[@]}"; do
    grep -qx "$id" <<<"$ids" || { echo "job $id missing from $1's list" >&2; return 1; }
  done
  test "$(wc -l <<<"$ids")" -eq "${#SUBMITTED[@]}"
}
check "node-a lists all 20 jobs" lists_all "$A_URL"
check "node-b lists all 20 jobs" lists_all "$B_URL"
check "HAProxy lists all 20 jobs" lists_all "$LB_URL"
spread() {
  local a b
  a=$(($(rest_count "$A_URL") - A_REST0))
  b=$(($(rest_count "$B_URL") - B_REST0))
  echo "# REST submissions served: node-a $a, node-b $b (3 direct to each, 11 through HAProxy)"
  test "$((a + b))" -eq 17 && test "$a" -gt 3 && test "$b" -gt 3
}
check "HAProxy spread its submissions over both nodes" spread
# job_states URL: "id state" of alice's jobs that node lists, one a line
job_states() {
  curl -fsS -u alice@acme:alice-pw-1 "$1/api/v1/jobs?state=all&limit=100000" |
    json_get "'\n'.join(f\"{j['id']} {j['state']}\" for j in d['jobs'])"
}
held_everywhere() {
  local a b id
  a=$(job_states "$A_URL")
  b=$(job_states "$B_URL")
  for id in "${SUBMITTED[@]}"; do
    grep -qx "$id held" <<<"$a"
    grep -qx "$id held" <<<"$b"
  done
}
check "each job is held, seen from both nodes" held_everywhere
forwarded_for() {
  # HAProxy sets the header itself: a client's own X-Forwarded-For is not believed
  curl -fsS -o /dev/null -H 'X-Forwarded-For: 203.0.113.7' -u alice@acme:alice-pw-1 \
    "$LB_URL/api/v1/whoami"
  wait_until "the request in a node's log" grep -q 'path=/api/v1/whoami' \
    "$TOP/node-a.log" "$TOP/node-b.log"
  grep -h 'path=/api/v1/whoami' "$TOP/node-a.log" "$TOP/node-b.log" | grep -q 'peer=127.0.0.1'
  ! grep -q 203.0.113.7 "$TOP/node-a.log" "$TOP/node-b.log"
}
check "a client's own X-Forwarded-For does not become its address" forwarded_for

# ---- a connector parked on node-a, a job released on node-b ----
LOBBY_JOB=$(on B rest_submit "$NIMBUS_TEST_DATA/threepage.pdf")
check "a held job for the lobby printer (submitted to node-b)" on A job_is "$LOBBY_JOB" held
check "register the lobby printer on node-a" on A conn_register lobby "$(on A conn_claim lobby)"
long_polls() { curl -fsS "$1/metrics" | sed -n 's/^nimbus_device_long_polls //p'; }
polls_are() { [ "$(long_polls "$A_URL")" = "$1" ] && [ "$(long_polls "$B_URL")" = "$2" ]; }
# (conn_start's --poll-interval 1 is overridden: nothing but the wake-up may explain a quick print)
check "the lobby connector starts (persistent, pointed at node-a)" conn_start lobby \
  --transport persistent --poll-interval 60 --output "file://$OUT/lobby"
check "its Get-Notifications is parked on node-a" wait_until "long poll on node-a" polls_are 1 0
sleep 1
check "... and stays parked (no job printed yet)" polls_are 1 0
check "the job is still held" on B job_is "$LOBBY_JOB" held

release_to_print() {
  local file=$OUT/lobby/$LOBBY_JOB-1.pdf start end
  start=$(date +%s%N)
  "$NIMBUSCTL" --url "$B_URL" --user alice@acme --password alice-pw-1 job release "$LOBBY_JOB" \
    >/dev/null
  for _ in $(seq 1 1000); do # 10 s: generous, not a timing target
    [ -e "$file" ] && break
    sleep 0.01
  done
  end=$(date +%s%N)
  test -e "$file"
  RELEASE_MS=$(((end - start) / 1000000))
  echo "# release on node-b -> printed by the connector parked on node-a: $RELEASE_MS ms"
  cmp "$NIMBUS_TEST_DATA/threepage.pdf" "$file"
}
check "released with nimbusctl on node-b: printed within 10 s, intact" release_to_print
check "... and completed, seen from node-b" wait_until "job $LOBBY_JOB completed" \
  on B job_is "$LOBBY_JOB" completed
check "... 3 impressions" test "$(on A job_field "$LOBBY_JOB" impressions_completed)" = 3
check "the lobby connector never lost its subscription" \
  test "$(conn_log_count lobby 'subscription unknown to the server')" = 0

# ---- a connector through HAProxy, parked on node-a ----
BIG=$TOP/big.pdf
python3 "$HERE/make_pdf.py" "$BIG" 20000 # ~200 KB: spooled, not inline
DATA0=$(find "$SHARED/data" -type f | wc -l)
ANNEX_JOB=$(on A rest_submit "$BIG" annex)
check "a held job for annex, its document spooled by node-a" \
  test "$(find "$SHARED/data" -type f | wc -l)" -gt "$DATA0"
check "register the annex printer through HAProxy" \
  on LB conn_register annex "$(on LB conn_claim annex '["annex"]')"
check "its queue URI is HAProxy's" bash -c "grep -Eq '(127.0.0.1|localhost):$LB_PORT/ipp/print/acme/annex' '$CONN_DIR/annex.json'"
# node-b in maintenance while the connector starts: it settles on node-a
check "node-b set to maintenance in haproxy" hap_set "set server nimbusd/node-b state maint"
check "the annex connector starts (persistent, through HAProxy)" conn_start annex \
  --transport persistent --poll-interval 60 --output "file://$OUT/annex"
check "both connectors parked on node-a" wait_until "two long polls on node-a" polls_are 2 0
check "node-b back in haproxy" hap_set "set server nimbusd/node-b state ready"
check "node-b UP again" wait_until "node-b up" hap_up node-b

# ---- kill -9 of node-a while a client submits through HAProxy ----
# submit_loop: REST jobs through HAProxy until $TOP/stop exists; one line
# per attempt in $TOP/loop.out: "ok ID" (201) or "fail CODE"
submit_loop() {
  local code id
  while [ ! -e "$TOP/stop" ]; do
    code=$(curl -sS --max-time 15 -o "$TOP/loop.json" -w '%{http_code}' -u alice@acme:alice-pw-1 \
      -F queue=office -F "document=@$NIMBUS_TEST_DATA/onepage.pdf" "$LB_URL/api/v1/jobs" \
      2>/dev/null) || true
    if [ "$code" = 201 ] && id=$(json_get "d['id']" <"$TOP/loop.json" 2>/dev/null); then
      echo "ok $id" >>"$TOP/loop.out"
    else
      echo "fail ${code:-000}" >>"$TOP/loop.out"
    fi
  done
}
: >"$TOP/loop.out"
A_LOOP0=$(rest_count "$A_URL")
submit_loop &
LOOP_PID=$!
oks() { grep -c '^ok ' "$TOP/loop.out" || true; }
oks_over() { [ "$(oks)" -gt "$1" ]; }
check "the client's jobs go through" wait_until "20 jobs acknowledged" oks_over 20
kill_a() {
  A_SERVED=$(($(rest_count "$A_URL") - A_LOOP0)) # at least this many the client sent went to node-a
  echo "# node-a served $A_SERVED of the client's submissions before the kill"
  test "$A_SERVED" -gt 0
  kill -KILL "$A_PID"
  wait "$A_PID" 2>/dev/null || true
  A_PID=
  KILL_LINE=$(wc -l <"$TOP/loop.out")
}
check "kill -9 node-a while the client submits" kill_a
check "haproxy marks node-a DOWN" wait_until "node-a down" hap_is node-a DOWN
oks_after_kill() { [ "$(tail -n +"$((KILL_LINE + 1))" "$TOP/loop.out" | grep -c '^ok ' || true)" -ge 20 ]; }
check "the client's later jobs succeed through node-b" wait_until "20 jobs after the kill" oks_after_kill
stop_loop() {
  touch "$TOP/stop"
  wait "$LOOP_PID"
  LOOP_PID=
}
check "the client stops" stop_loop
OKS=$(oks)
FAILS=$(grep -c '^fail ' "$TOP/loop.out" || true)
echo "# client: $OKS jobs acknowledged ($((KILL_LINE)) attempts before the kill), $FAILS attempts failed: $(grep '^fail ' "$TOP/loop.out" | sort | uniq -c | tr -s ' \n' ' ')"
acknowledged_kept() {
  local ids id missing=0
  ids=$(job_ids "$B_URL")
  while read -r _ id; do
    grep -qx "$id" <<<"$ids" || { echo "acknowledged job $id is gone" >&2; missing=$((missing + 1)); }
  done < <(grep '^ok ' "$TOP/loop.out")
  test "$missing" -eq 0
  # and nothing twice: each acknowledged id is its own job
  test "$(grep '^ok ' "$TOP/loop.out" | sort -u | wc -l)" -eq "$OKS"
}
check "every acknowledged job is still there (asked of node-b)" acknowledged_kept
first_kept() {
  local ids id
  ids=$(job_ids "$B_URL")
  for id in "${SUBMITTED[@]}" "$LOBBY_JOB" "$ANNEX_JOB"; do grep -qx "$id" <<<"$ids"; done
}
check "node-b still lists the earlier jobs" first_kept

# ---- the HAProxy connector reconnects through node-b ----
b_polls_are() { [ "$(long_polls "$B_URL")" = "$1" ]; }
check "the annex connector is parked again, on node-b" wait_until "long poll on node-b" b_polls_are 1
# node-b knows the subscription made on node-a: it is in the database
check "... with the subscription it made on node-a (no client-error-not-found)" \
  test "$(conn_log_count annex 'subscription unknown to the server')" = 0
annex_prints() {
  local file=$OUT/annex/$ANNEX_JOB-1.pdf
  on LB release_job "$ANNEX_JOB"
  wait_until "the annex job printed" test -e "$file"
  cmp "$BIG" "$file"
}
check "a job released afterwards (its document spooled by node-a) prints" annex_prints
check "... completed, seen from node-b" wait_until "job $ANNEX_JOB completed" \
  on B job_is "$ANNEX_JOB" completed
echo "# annex connector: $(conn_log_count annex 'msg=subscribed') subscription(s) made, kept across the failover"

check "the lobby connector stops cleanly (its node is gone)" conn_stop lobby
check "the annex connector stops cleanly" conn_stop annex
stop_b() {
  kill -TERM "$B_PID"
  local rc=0
  wait "$B_PID" || rc=$?
  B_PID=
  test "$rc" -eq 0
}
check "node-b stops cleanly" stop_b
echo "# wall time: $((($(date +%s%N) - T0) / 1000000)) ms"
finish two-nodes
