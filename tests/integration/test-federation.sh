#!/usr/bin/env bash
# test-federation.sh: one job list across two print services
# (docs/FEDERATION.md §4), two nimbusd on loopback.  The remote has tenant
# acme with alice and a release_immediately queue "fed" whose printer
# registration the home nimbusd takes as a remote printer link; home has
# tenant acme with its own alice, queue office and a printer (nimbus-
# connector printing to ippeveprinter).  Home's alice links her remote
# account (device grant approved at the remote's REST).  Checks:
#  - a job at home and a later one at the remote: the panel's GET
#    /device/jobs lists both, newest first, marked by origin (the remote one
#    with remote_id and no id); GET /jobs?include=remote the same;
#  - the remote saw no Fetch-Document before a job was chosen;
#  - the remote job taken at the panel with copies 2 and two-sided-long-edge
#    prints on ippeveprinter byte-identical to what was sent to the remote,
#    with copies=2; the remote shows the job completed (Update-Job-Status);
#  - taken twice: 409 remote-job-taken;
#  - the token revoked at the remote: 409 relink-needed, the list says so;
#  - the remote stopped: home's list still answers with the local job.
# Runs on SQLite and, as federation-pg, on PostgreSQL.
set -euo pipefail
source "$(dirname "$0")/test-connector-common.sh"
source "$(dirname "$0")/lib-ippeve.sh"

T=$(mktemp -d)
_lib_tmpdirs+=("$T")
JSON=(-H 'Content-Type: application/json')

# ---- the remote ----------------------------------------------------------------
nimbusd_start_remote
check "remote: tenant acme, alice, boss" conn_setup_tenant
remote_setup() {
  curl -fsS -o /dev/null -u boss@acme:boss-pw-1 -X POST "${JSON[@]}" \
    -d '{"name":"fed","release_immediately":true}' "$REMOTE_URL/api/v1/queues" &&
    RCLAIM=$(curl -fsS -u boss@acme:boss-pw-1 -X POST "${JSON[@]}" \
      -d '{"name":"home-link","queues":["fed"]}' "$REMOTE_URL/api/v1/printers" |
      json_get "d['claim_code']") && [ -n "$RCLAIM" ]
}
check "remote: queue fed (release_immediately), a printer claim for home" remote_setup

# ---- home ------------------------------------------------------------------------
nimbusd_start --remote-poll 1 --remote-resync 2 --account-link-check 2
HOME_URL=$NIMBUS_URL
check "home: tenant acme, alice, boss, queue office" conn_setup_tenant
check "ippeveprinter is up (two-sided)" ippeve_start -2
check "register the printer" conn_register front "$(conn_claim front)"
check "connector starts" conn_start front --output "$IPPEVE_URI"
caps_sent() { grep -q 'msg="capabilities sent"' "$CONN_DIR/front.log"; }
check "the connector sent the printer's capabilities" wait_until "capabilities" caps_sent

# home USER METHOD PATH [curl args] / remote ...: REST; $status, body in $T/b
home() {
  local user=$1 method=$2 path=$3
  shift 3
  rm -f "$T/b"
  status=$(curl -sS -u "$user" -X "$method" -o "$T/b" -w '%{http_code}' "$HOME_URL$path" "$@")
}
remote() {
  local user=$1 method=$2 path=$3
  shift 3
  rm -f "$T/b"
  status=$(curl -sS -u "$user" -X "$method" -o "$T/b" -w '%{http_code}' "$REMOTE_URL$path" "$@")
}
body() { json_get "$1" <"$T/b"; }

link_setup() {
  home boss@acme:boss-pw-1 POST /api/v1/remote-links "${JSON[@]}" -d "{\"name\":\"other\",
    \"printer_uri\":\"ipp://127.0.0.1:$REMOTE_PORT/ipp/print/acme/fed\",\"queue\":\"office\",
    \"claim_code\":\"$RCLAIM\"}"
  [ "$status" = 201 ] || { cat "$T/b" >&2; return 1; }
}
check "home: remote printer link 'other' to the remote's queue fed" link_setup
link_ok() {
  home boss@acme:boss-pw-1 GET /api/v1/remote-links/other
  [ "$(body "d['status']")" = ok ]
}
check "the link registers (ok)" wait_until "link ok" link_ok

account_link() {
  home alice@acme:alice-pw-1 POST /api/v1/me/account-links "${JSON[@]}" \
    -d "{\"service_url\":\"$REMOTE_URL\"}"
  [ "$status" = 201 ] || { cat "$T/b" >&2; return 1; }
  ALINK=$(body "d['id']")
  local code
  code=$(body "d['user_code']")
  remote alice@acme:alice-pw-1 POST /api/v1/oauth/device/approve "${JSON[@]}" \
    -d "{\"user_code\":\"$code\"}"
  [ "$status" = 200 ]
}
check "alice links her remote account (approved at the remote)" account_link
alink_is() {
  home alice@acme:alice-pw-1 GET "/api/v1/me/account-links/$ALINK"
  [ "$(body "d['status']")" = "$1" ]
}
check "home polls: linked" wait_until "linked" alink_is linked

# ---- jobs on both sides ------------------------------------------------------------
LOCAL=$(submit_job onepage.pdf)
check "a held job at home" job_is "$LOCAL" held
sleep 1.1 # the remote job is the newer (times are in seconds)
remote_submit() {
  remote alice@acme:alice-pw-1 POST /api/v1/jobs -F queue=fed -F job-name=from-remote \
    -F "document=@$NIMBUS_TEST_DATA/threepage.pdf;type=application/pdf"
  [ "$status" = 201 ] || { cat "$T/b" >&2; return 1; }
  RJOB=$(body "d['id']")
}
check "alice submits a job at the remote" remote_submit

CRED=$(conn_state_field front credential)
# panel METHOD PATH [JSON]: the device API as the printer, alice's session
panel() {
  local args=(-sS -o "$T/b" -w '%{http_code}' -X "$1" "$HOME_URL/api/v1$2"
    -H "Authorization: Bearer $CRED")
  [ -n "${SESSION:-}" ] && args+=(-H "X-Nimbus-Session: $SESSION")
  [ -n "${3-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
  rm -f "$T/b"
  status=$(curl "${args[@]}")
}
sign_in() {
  SESSION=
  panel POST /device/sessions '{"user":"alice","secret":"alice-pw-1"}'
  [ "$status" = 201 ]
  SESSION=$(body "d['session']")
}
check "alice signs in at the panel" sign_in

listed_remote() {
  panel GET /device/jobs
  [ "$status" = 200 ] && body "any(j.get('remote_id') == 'other:$RJOB' for j in d['jobs']) or exit(1)"
}
check "the remote job reaches home's list" wait_until "remote job listed" listed_remote
merged() {
  body "[(j.get('id'), j.get('remote_id'), j['origin']['kind']) for j in d['jobs']] == [(None, 'other:$RJOB', 'remote'), ($LOCAL, None, 'local')] or exit(1)"
  body "(lambda r: (r['name'], r['pages'], r['copies'], r['origin']['link'], r['origin']['service']))(d['jobs'][0]) == ('from-remote', 3, 1, 'other', '$REMOTE_URL') or exit(1)"
  body "d['links'] == [{'service': '$REMOTE_URL', 'status': 'linked'}] or exit(1)"
}
check "GET /device/jobs: remote (newer) then local, marked by origin" merged
rest_merged() {
  home alice@acme:alice-pw-1 GET '/api/v1/jobs?include=remote'
  [ "$status" = 200 ] &&
    body "[(j.get('id'), j.get('remote_id'), j['origin']['kind']) for j in d['jobs']] == [(None, 'other:$RJOB', 'remote'), ($LOCAL, None, 'local')] or exit(1)"
}
check "GET /jobs?include=remote: the same list" rest_merged

remote_ops() { # OP: how many INFRA operations OP the remote answered
  curl -fsS "$REMOTE_URL/metrics" |
    awk -v op="nimbus_requests_total{op=\"ipp.$1\"" 'index($0, op) == 1 { n += $NF } END { print n + 0 }'
}
check "the remote saw Get-Jobs from home" test "$(remote_ops get-jobs-fetchable)" -gt 0
check "before selection the remote saw no Fetch-Document" test "$(remote_ops fetch-document)" = 0

# ---- take the remote job with settings ----------------------------------------------
take() {
  panel POST "/device/remote-jobs/other/$RJOB/release" \
    '{"settings":{"copies":2,"sides":"two-sided-long-edge"}}'
  [ "$status" = 200 ] || { cat "$T/b" >&2; return 1; }
  TAKEN=$(body "d['id']")
  body "(d['origin']['kind'], d['origin']['remote_job_id'], d['copies']) == ('remote', $RJOB, 2) or exit(1)"
}
check "take it at the panel: 200, a local job of remote origin, copies 2" take
check "the remote saw one Fetch-Document" test "$(remote_ops fetch-document)" = 1
check "the local copy is printed" wait_until "printed" job_is "$TAKEN" completed
same_bytes() {
  [ "$(ippeve_printed_count)" = 1 ] &&
    cmp "$NIMBUS_TEST_DATA/threepage.pdf" "$(find "$IPPEVE_PRINTED" -type f | head -1)"
}
check "ippeveprinter printed it byte-identical to what the remote got" same_bytes
check "ippeveprinter's job carries copies=2 and sides=two-sided-long-edge" \
  ippeve_printed_with 2 two-sided-long-edge
remote_completed() {
  remote alice@acme:alice-pw-1 GET "/api/v1/jobs/$RJOB"
  [ "$(body "d['state']")" = completed ]
}
check "the remote shows the job completed" wait_until "remote completed" remote_completed
not_listed() {
  panel GET /device/jobs
  [ "$status" = 200 ] && body "all(j.get('remote_id') is None for j in d['jobs']) or exit(1)"
}
check "the taken job is no longer offered" not_listed
take_again() {
  panel POST "/device/remote-jobs/other/$RJOB/release"
  [ "$status" = 409 ] || [ "$status" = 410 ]
}
check "taken twice: 409/410" take_again
reported_once() {
  [ "$(grep -c 'remote job status reported.*state=9' "$NIMBUS_STATE.log")" = 1 ]
}
check "completion reported once" reported_once

# ---- the token revoked at the remote: relink needed ------------------------------------
remote_submit2() {
  remote alice@acme:alice-pw-1 POST /api/v1/jobs -F queue=fed -F job-name=second \
    -F "document=@$NIMBUS_TEST_DATA/onepage.pdf;type=application/pdf"
  [ "$status" = 201 ] && RJOB2=$(body "d['id']")
}
check "a second job at the remote" remote_submit2
listed2() {
  panel GET /device/jobs
  body "any(j.get('remote_id') == 'other:$RJOB2' for j in d['jobs']) or exit(1)"
}
check "listed at home" wait_until "second listed" listed2
revoke() {
  remote alice@acme:alice-pw-1 GET /api/v1/tokens
  local id
  id=$(body "[t['id'] for t in d['tokens'] if t['label'].startswith('linked: ')][0]")
  remote alice@acme:alice-pw-1 DELETE "/api/v1/tokens/$id"
  [ "$status" = 204 ]
}
check "alice revokes the token at the remote" revoke
relink() {
  panel POST "/device/remote-jobs/other/$RJOB2/release"
  [ "$status" = 409 ] && [ "$(body "d['type']")" = urn:nimbus:problem:relink-needed ]
}
check "taking a job now: 409 relink-needed" relink
list_says_relink() {
  panel GET /device/jobs
  [ "$status" = 200 ] && body "d['links'][0]['status'] == 'relink-needed' or exit(1)"
}
check "the list says relink needed" list_says_relink
check "nothing was fetched for it" test "$(remote_ops fetch-document)" = 1

# ---- the remote down: the local list still answers -------------------------------------
kill -TERM "$REMOTE_PID"
wait "$REMOTE_PID" 2>/dev/null || true
REMOTE_PID=
local_still() {
  panel GET /device/jobs
  [ "$status" = 200 ] && body "[j.get('id') for j in d['jobs'] if j['origin']['kind'] == 'local'] == [$LOCAL] or exit(1)"
}
check "remote stopped: GET /device/jobs answers 200 with the local job" local_still
finish test-federation
