#!/usr/bin/env bash
# test-remote-links.sh: remote printer links (docs/FEDERATION.md §1, §3)
# between two nimbusd on loopback.  The "remote" has tenant acme, user bob
# and queue office (release_immediately) with a printer registration whose
# claim code the "home" nimbusd's tenant admin gives to POST /remote-links.
# Checks: the link registers (status ok); bob's jobs at the remote appear in
# home's GET /remote-links/x/jobs with name, owner, pages and time; a job
# canceled at the remote disappears; the remote saw no Fetch-Document and
# home counted few bytes; a stopped remote makes the link unreachable (with
# last_error) while home's REST answers, and a restarted one ok again; the
# registration deleted at the remote makes it deregistered; deleting the
# link sends Deregister-Output-Device.  Runs on SQLite and, as
# remote-links-pg, on PostgreSQL (each nimbusd its own database).
set -euo pipefail
. "$(dirname "$0")/lib-nimbusd.sh"

POLL=1
# ---- the remote ----
nimbusd_start --remote-poll "$POLL" --remote-resync 5
R_URL=$NIMBUS_URL R_PORT=$NIMBUS_PORT R_STATE=$NIMBUS_STATE R_PID=$NIMBUSD_PID
R_STORE=${NIMBUS_TEST_STORE_URL:-} R_FLAGS=("${_lib_flags[@]}")
# the library stops only the nimbusd of NIMBUSD_PID: stop the other one too
_remote_cleanup() {
  if [ -n "${R_PID:-}" ] && kill -0 "$R_PID" 2>/dev/null; then
    kill -TERM "$R_PID" 2>/dev/null
    wait "$R_PID" 2>/dev/null || true
  fi
  _lib_cleanup
}
trap _remote_cleanup EXIT

radmin() { # METHOD PATH [curl args]: as the remote's tenant admin
  local m=$1 p=$2
  shift 2
  curl -sS -X "$m" -u boss@acme:boss-pw-1 "$R_URL/api/v1$p" "$@"
}

setup_remote() {
  local body
  for body in '/api/v1/tenants {"name":"acme"}' \
    '/api/v1/users?tenant=acme {"name":"bob","password":"bob-pw-1","role":"user"}' \
    '/api/v1/users?tenant=acme {"name":"boss","password":"boss-pw-1","role":"tenant-admin"}' \
    '/api/v1/queues?tenant=acme {"name":"office","release_immediately":true}'; do
    curl -sS -u "admin@system:$NIMBUS_ADMIN_PASSWORD" -X POST "$R_URL${body%% *}" \
      -H 'Content-Type: application/json' -d "${body#* }" -o /dev/null -w '%{http_code}' |
      grep -qx 201
  done
  CLAIM=$(radmin POST /printers -H 'Content-Type: application/json' \
    -d '{"name":"fed","queues":["office"]}' | json_get "d['claim_code']")
  [ -n "$CLAIM" ]
}
check "remote: tenant, bob, queue office (release_immediately), printer claim code" setup_remote

# ---- home ----
nimbusd_start --remote-poll "$POLL" --remote-resync 5
H_URL=$NIMBUS_URL

hadmin() { # METHOD PATH [curl args]: as home's tenant admin
  local m=$1 p=$2
  shift 2
  curl -sS -X "$m" -u carol@home:carol-pw-1 "$H_URL/api/v1$p" "$@"
}

setup_home() {
  local body
  for body in '/api/v1/tenants {"name":"home"}' \
    '/api/v1/users?tenant=home {"name":"carol","password":"carol-pw-1","role":"tenant-admin"}' \
    '/api/v1/users?tenant=home {"name":"dave","password":"dave-pw-1","role":"user"}' \
    '/api/v1/queues?tenant=home {"name":"main"}'; do
    api POST "${body%% *}" -H 'Content-Type: application/json' -d "${body#* }" -o /dev/null \
      -w '%{http_code}' | grep -qx 201
  done
}
check "home: tenant, admin carol, queue main" setup_home

PRINTER_URI="ipp://127.0.0.1:$R_PORT/ipp/print/acme/office"
link_field() { hadmin GET /remote-links/x | json_get "$1"; }
link_is() { [ "$(link_field "d['status']")" = "$1" ]; }
wait_for() { # SECONDS CMD...: poll CMD every 0.2 s
  local end=$((SECONDS + $1))
  shift
  while [ $SECONDS -lt "$end" ]; do
    if "$@"; then return 0; fi
    sleep 0.2
  done
  "$@"
}

create_refusals() {
  local code
  code=$(hadmin POST /remote-links -H 'Content-Type: application/json' -o /dev/null \
    -w '%{http_code}' -d "{\"name\":\"x\",\"printer_uri\":\"$PRINTER_URI\",\"queue\":\"main\"}")
  [ "$code" = 400 ] # a claim code or credential is required
  code=$(hadmin POST /remote-links -H 'Content-Type: application/json' -o /dev/null \
    -w '%{http_code}' -d '{"name":"x","printer_uri":"ftp://h/q","queue":"main","claim_code":"c"}')
  [ "$code" = 400 ]
  code=$(hadmin POST /remote-links -H 'Content-Type: application/json' -o /dev/null \
    -w '%{http_code}' -d "{\"name\":\"x\",\"printer_uri\":\"$PRINTER_URI\",\"queue\":\"nope\",\"claim_code\":\"c\"}")
  [ "$code" = 400 ]
  code=$(curl -sS -u dave@home:dave-pw-1 -o /dev/null -w '%{http_code}' "$H_URL/api/v1/remote-links")
  [ "$code" = 403 ] # tenant admins only
}
check "POST /remote-links refuses a missing claim, a bad URI, an unknown queue; users get 403" \
  create_refusals

create_link() {
  local out
  out=$(hadmin POST /remote-links -H 'Content-Type: application/json' -w '\n%{http_code}' \
    -d "{\"name\":\"x\",\"printer_uri\":\"$PRINTER_URI\",\"queue\":\"main\",\"claim_code\":\"$CLAIM\"}")
  [ "$(tail -1 <<<"$out")" = 201 ]
  head -1 <<<"$out" | python3 -c "
import json, sys
d = json.load(sys.stdin)
assert d['name'] == 'x' and d['queue'] == 'main', d
assert d['status'] in ('connecting', 'ok'), d
assert d['system_uri'] == 'ipp://127.0.0.1:$R_PORT/ipp/system', d
assert d['service_url'] == 'http://127.0.0.1:$R_PORT', d
assert 'claim_code' not in d and 'credential' not in d, d
"
  # the claim code is kept sealed, never in clear
  if nimbus_sql "SELECT count(*) FROM remote_links WHERE CAST(sealed AS TEXT) LIKE '%$CLAIM%'" |
    grep -qx 0; then :; else return 1; fi
  ! grep -q -- "$CLAIM" "$NIMBUS_STATE.log"
}
check "POST /remote-links with the remote's printer URI and claim code: 201, sealed" create_link

check "the link registers at the remote: status ok, output_device_uuid set" \
  wait_for 20 link_is ok
registered() {
  [ "$(link_field "d['output_device_uuid'] or ''")" != "" ]
  radmin GET /printers/fed | json_get "d['status']" | grep -qx registered
}
check "the registration is claimed at the remote, the link knows its uuid" registered

ctl_show() { # nimbusctl as home's tenant admin
  local out
  out=$(NIMBUS_URL=$H_URL NIMBUS_PASSWORD=carol-pw-1 "$NIMBUSCTL" --user carol@home \
    remote-link show x)
  grep -Eq '^Status: +ok' <<<"$out"
  grep -Eq '^Queue: +main' <<<"$out"
  NIMBUS_URL=$H_URL NIMBUS_PASSWORD=carol-pw-1 "$NIMBUSCTL" --user carol@home --json \
    remote-link list | json_get "[l['name'] for l in d['remote_links']]" | grep -qx "\['x'\]"
}
check "nimbusctl remote-link show / list" ctl_show

submit_remote() { # NAME: bob prints onepage.pdf at the remote, job-name NAME
  ipptool -t -T 20 -f "$NIMBUS_TEST_DATA/onepage.pdf" -d "name=$1" -d user=bob \
    "ipp://bob:bob-pw-1@127.0.0.1:$R_PORT/ipp/print/acme/office" \
    "$(dirname "$0")/ipp/print-job-named.test" >/dev/null
}
remote_jobs_named() { # N: home lists N remote jobs
  [ "$(hadmin GET /remote-links/x/jobs | json_get "len(d['jobs'])")" = "$1" ]
}
submit_three() {
  T0=$(date +%s)
  submit_remote alpha
  sleep 1.1
  submit_remote beta
  sleep 1.1
  submit_remote gamma
}
check "bob submits 3 jobs to the remote queue" submit_three
check "home's GET /remote-links/x/jobs lists them within a few polls" \
  wait_for 20 remote_jobs_named 3

jobs_metadata() {
  hadmin GET /remote-links/x/jobs | python3 -c "
import json, sys, calendar, time
d = json.load(sys.stdin)['jobs']
assert [j['name'] for j in d] == ['gamma', 'beta', 'alpha'], d   # newest first
for j in d:
    assert j['owner'] == 'bob', j
    assert j['pages'] == 1, j
    assert j['remote_id'] > 0 and j['local_job_id'] is None, j
    t = calendar.timegm(time.strptime(j['submitted_at'], '%Y-%m-%dT%H:%M:%SZ'))
    assert $T0 - 2 <= t <= time.time() + 2, (j, $T0)
"
  [ "$(link_field "d['jobs']")" = 3 ]
}
check "each carries name, owner (job-originating-user-name), pages, submission time" jobs_metadata

cancel_beta() {
  local id
  id=$(hadmin GET /remote-links/x/jobs |
    json_get "[j['remote_id'] for j in d['jobs'] if j['name'] == 'beta'][0]")
  curl -fsS -o /dev/null -X POST -u bob@acme:bob-pw-1 "$R_URL/api/v1/jobs/$id/cancel"
}
only_two_left() {
  [ "$(hadmin GET /remote-links/x/jobs | json_get "sorted(j['name'] for j in d['jobs'])")" = \
    "['alpha', 'gamma']" ]
}
check "bob cancels beta at the remote" cancel_beta
check "the canceled job disappears from home's list" wait_for 20 only_two_left

metric() { # URL NAME-REGEX: the sum of the matching samples
  curl -fsS "$1/metrics" | python3 -c "
import re, sys
total = 0
for line in sys.stdin:
    if re.match(r'$2', line):
        total += int(float(line.rsplit(' ', 1)[1]))
print(total)"
}
metadata_only() {
  [ "$(metric "$R_URL" '^nimbus_requests_total\{op="ipp\.fetch-document"')" = 0 ]
  [ "$(metric "$R_URL" '^nimbus_requests_total\{op="ipp\.get-jobs-fetchable"')" -gt 0 ]
  [ "$(metric "$H_URL" '^nimbus_remote_requests_total\{op="fetch-document"')" = 0 ]
  [ "$(metric "$H_URL" '^nimbus_remote_requests_total\{op="get-jobs"')" -gt 0 ]
  local bytes
  bytes=$(metric "$H_URL" '^nimbus_remote_bytes_received_total\{tenant="[0-9]+",link="x"\}')
  echo "bytes received from the remote before any selection: $bytes"
  [ "$bytes" -gt 0 ] && [ "$bytes" -lt 200000 ] # the PDFs alone would not fit many polls
}
check "no Fetch-Document at the remote; home received metadata only" metadata_only

stop_remote() {
  kill -TERM "$R_PID"
  wait "$R_PID" || return 1
  R_PID=
}
unreachable_with_error() {
  link_is unreachable && [ -n "$(link_field "d['last_error'] or ''")" ] &&
    [ "$(link_field "d['next_try_at'] is not None")" = True ]
}
home_answers() {
  [ "$(hadmin GET /queues -o /dev/null -w '%{http_code}')" = 200 ]
  remote_jobs_named 2 # the stored list stays
}
check "stop the remote" stop_remote
check "the link turns unreachable with last_error in words" wait_for 20 unreachable_with_error
check "home's own REST still answers, the stored list stays" home_answers

restart_remote() {
  local save_state=$NIMBUS_STATE save_port=$NIMBUS_PORT save_pid=$NIMBUSD_PID
  local save_url=$NIMBUS_URL save_store=${NIMBUS_TEST_STORE_URL:-}
  NIMBUS_STATE=$R_STATE NIMBUS_PORT=$R_PORT NIMBUS_TEST_STORE_URL=$R_STORE
  _lib_launch "${R_FLAGS[@]}"
  R_PID=$NIMBUSD_PID
  NIMBUS_STATE=$save_state NIMBUS_PORT=$save_port NIMBUSD_PID=$save_pid NIMBUS_URL=$save_url
  NIMBUS_TEST_STORE_URL=$save_store
  export NIMBUS_STATE NIMBUS_PORT NIMBUSD_PID NIMBUS_URL NIMBUS_TEST_STORE_URL
}
check "restart the remote (same state, same port)" restart_remote
check "the link is ok again (back-off at most 10 s here)" wait_for 30 link_is ok

deregistered() {
  link_is deregistered && link_field "d['last_error']" | grep -qi "deleted"
}
delete_registration() {
  curl -fsS -o /dev/null -w '%{http_code}' -u boss@acme:boss-pw-1 -X DELETE \
    "$R_URL/api/v1/printers/fed" | grep -Eqx '200|204'
}
check "the remote deletes the printer registration" delete_registration
check "the link turns deregistered and stops" wait_for 20 deregistered
stays_stopped() {
  local before after
  before=$(metric "$R_URL" '^nimbus_requests_total\{op="ipp\.')
  sleep 3
  after=$(metric "$R_URL" '^nimbus_requests_total\{op="ipp\.')
  [ "$before" = "$after" ] && link_is deregistered
}
check "a deregistered link sends nothing more" stays_stopped

relink() {
  CLAIM=$(radmin POST /printers -H 'Content-Type: application/json' \
    -d '{"name":"fed2","queues":["office"]}' | json_get "d['claim_code']")
  [ "$(hadmin PATCH /remote-links/x -H 'Content-Type: application/json' -o /dev/null \
    -w '%{http_code}' -d "{\"claim_code\":\"$CLAIM\"}")" = 200 ]
}
check "PATCH with a new claim code" relink
relinked() {
  wait_for 20 link_is ok
  wait_for 20 remote_jobs_named 2
}
check "the link registers again: ok, jobs listed again" relinked

delete_link() {
  local before after
  before=$(metric "$R_URL" '^nimbus_requests_total\{op="ipp\.deregister-output-device"')
  [ "$(hadmin DELETE /remote-links/x -o /dev/null -w '%{http_code}')" = 204 ]
  after=$(metric "$R_URL" '^nimbus_requests_total\{op="ipp\.deregister-output-device"')
  [ "$after" = $((before + 1)) ]
  [ "$(hadmin GET /remote-links/x -o /dev/null -w '%{http_code}')" = 404 ]
  # the remote forgot the registration: its printer fed2 is gone
  [ "$(radmin GET /printers/fed2 -o /dev/null -w '%{http_code}')" = 404 ]
  api GET "/api/v1/audit?tenant=home" | grep -q 'remote-link.delete'
}
check "DELETE /remote-links/x: 204, Deregister-Output-Device at the remote, audited" delete_link

stop_both() {
  nimbusd_stop
  kill -TERM "$R_PID"
  wait "$R_PID"
  R_PID=
}
check "both nimbusd stop cleanly (no sanitizer report)" stop_both
finish test-remote-links
