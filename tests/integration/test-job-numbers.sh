#!/usr/bin/env bash
# Job numbers per tenant (issue 8): a tenant's job-ids count its own jobs
# only (1, 2, 3 whatever another tenant prints meanwhile), IPP job-id and
# job-uri and the REST id name the same job, and a number is looked up in
# the caller's tenant only: another tenant's number is not found.
set -euo pipefail
source "$(dirname "$0")/lib-nimbusd.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
D=$NIMBUS_TEST_DATA
TMP=$(mktemp -d /tmp/nimbus-jobnum.XXXXXX)
_lib_tmpdirs+=("$TMP")

nimbusd_start
mk() { api POST "$1" -H 'Content-Type: application/json' -d "$2" -o /dev/null -w '%{http_code}' | grep -qx 201; }
check "set up tenants acme and globex" mk /api/v1/tenants '{"name":"acme"}'
mk /api/v1/tenants '{"name":"globex"}'
mk "/api/v1/users?tenant=acme" '{"name":"alice","password":"alice-pw-1","role":"user"}'
mk "/api/v1/users?tenant=globex" '{"name":"gus","password":"gus-pw-1","role":"user"}'
mk "/api/v1/queues?tenant=acme" '{"name":"floor"}'
mk "/api/v1/queues?tenant=globex" '{"name":"lobby"}'
H="127.0.0.1:$NIMBUS_PORT"
ALICE=alice@acme:alice-pw-1
GUS=gus@globex:gus-pw-1

# ipp_print USER:PW TENANT QUEUE NAME: Print-Job, then Get-Job-Attributes by
# the job-uri it answered; prints "ID PATH" (PATH: the job-uri without
# scheme and host) once both answers agree.
ipp_print() {
  local out ids uris
  out=$(ipptool -t -T 20 -d name="$4" -d filename="$D/onepage.pdf" -d user="${1%%:*}" \
    "ipp://${1/@*:/:}@$H/ipp/print/$2/$3" "$HERE/ipp/job-number.test" 2>&1) || {
    echo "$out" >&2
    return 1
  }
  ids=$(sed -n 's/.*job-id (integer) = \([0-9]*\).*/\1/p' <<<"$out" | sort -u)
  uris=$(sed -n 's/.*job-uri (uri) = \([^ ]*\).*/\1/p' <<<"$out" | sort -u)
  [ "$(wc -l <<<"$ids")" = 1 ] && [ "$(wc -l <<<"$uris")" = 1 ] && [ -n "$ids" ] || {
    echo "$out" >&2
    return 1
  }
  echo "$ids /${uris#ipp://*/}"
}
# rest_print USER@TENANT:PW QUEUE NAME: REST upload; prints "ID LOCATION".
rest_print() {
  curl -fsS -u "$1" -D "$TMP/headers" -o "$TMP/body" -F "queue=$2" -F "job-name=$3" \
    -F "document=@$D/onepage.pdf;type=application/pdf" "$NIMBUS_URL/api/v1/jobs" || return 1
  echo "$(json_get "d['id']" <"$TMP/body") $(sed -n 's/^Location: \([^\r]*\).*/\1/ip' "$TMP/headers")"
}

# Interleave the two tenants; acme's numbers are 1, 2, 3 all the same.
A1=$(ipp_print "$ALICE" acme floor a-one)
for i in 1 2 3; do rest_print "$GUS" lobby "g-$i" >/dev/null; done
A2=$(rest_print "$ALICE" floor a-two)
G4=$(ipp_print "$GUS" globex lobby g-4)
A3=$(ipp_print "$ALICE" acme floor a-three)
check "acme's first job (IPP) is 1, job-uri ends in /1" \
  test "$A1" = "1 /ipp/print/acme/floor/1"
check "acme's second job (REST) is 2, Location /api/v1/jobs/2" test "$A2" = "2 /api/v1/jobs/2"
check "globex's jobs are numbered on their own: its fourth is 4" \
  test "$G4" = "4 /ipp/print/globex/lobby/4"
check "acme's third job is 3 although globex printed four meanwhile" \
  test "$A3" = "3 /ipp/print/acme/floor/3"

# REST and IPP name the same jobs.
names_by_id() { curl -fsS -u "$1" "$NIMBUS_URL/api/v1/jobs?state=all" | json_get "' '.join('%d=%s' % (j['id'], j['name']) for j in d['jobs'])"; }
check "REST lists acme's jobs as 1, 2, 3" test "$(names_by_id "$ALICE")" = "1=a-one 2=a-two 3=a-three"
check "REST lists globex's jobs as 1..4" test "$(names_by_id "$GUS")" = "1=g-1 2=g-2 3=g-3 4=g-4"
rest_name() { curl -fsS -u "$1" "$NIMBUS_URL/api/v1/jobs/$2" | json_get "d['name']"; }
check "GET /api/v1/jobs/3 is acme's IPP job 3 for alice" test "$(rest_name "$ALICE" 3)" = a-three
check "...and globex's job 3 for gus" test "$(rest_name "$GUS" 3)" = g-3

# Another tenant's number: not found, never the other tenant's job.
rest_code() { curl -sS -o /dev/null -w '%{http_code}' -u "$1" "$NIMBUS_URL/api/v1/jobs/$2"; }
check "alice: GET /jobs/4 (only globex has a 4) is 404" test "$(rest_code "$ALICE" 4)" = 404
check "acme's tenant view as operator: /jobs/4 is 404" \
  test "$(api GET "/api/v1/jobs/4?tenant=acme" -o /dev/null -w '%{http_code}')" = 404
check "globex's tenant view as operator: /jobs/4 is globex's" \
  test "$(api GET "/api/v1/jobs/4?tenant=globex" | json_get "d['name']")" = g-4
check "alice: cancel /jobs/4 is 404" \
  test "$(curl -sS -o /dev/null -w '%{http_code}' -X POST -u "$ALICE" "$NIMBUS_URL/api/v1/jobs/4/cancel")" = 404
check "...and globex's job 4 is untouched" \
  test "$(curl -fsS -u "$GUS" "$NIMBUS_URL/api/v1/jobs/4" | json_get "d['state']")" = held
ipp_status() { # ipp_status USER:PW TENANT QUEUE JOB-ID: Get-Job-Attributes status
  cat >"$TMP/gja.test" <<TEST
{
	OPERATION Get-Job-Attributes
	GROUP operation-attributes-tag
	ATTR charset attributes-charset utf-8
	ATTR naturalLanguage attributes-natural-language en
	ATTR uri printer-uri \$uri
	ATTR integer job-id $4
	DISPLAY job-name
}
TEST
  ipptool -tv -T 20 "ipp://$1@$H/ipp/print/$2/$3" "$TMP/gja.test" 2>&1 |
    sed -n -e 's/.*status-code = \([a-z-]*\).*/\1/p' -e 's/.*job-name (name[A-Za-z]*) = \(.*\)/\1/p' |
    tr '\n' ' '
}
check "IPP: job-id 4 on acme's queue is client-error-not-found" \
  test "$(ipp_status alice:alice-pw-1 acme floor 4)" = "client-error-not-found "
check "IPP: job-id 2 on acme's queue is acme's job 2" \
  test "$(ipp_status alice:alice-pw-1 acme floor 2)" = "successful-ok a-two "
check "IPP: job-id 2 on globex's queue is globex's job 2" \
  test "$(ipp_status gus:gus-pw-1 globex lobby 2)" = "successful-ok g-2 "

nimbusd_stop
finish test-job-numbers
