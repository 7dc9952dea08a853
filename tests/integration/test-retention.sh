#!/usr/bin/env bash
# What nimbusd keeps of a job once it is over (PROTOCOL.md 7.4): documents
# of canceled jobs are deleted at once, spool files and inline data alike;
# unreleased jobs past their tenant's retention expire and are purged by
# the housekeeping thread; the job rows stay for logs and billing.
set -euo pipefail
source "$(dirname "$0")/lib-nimbusd.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
D=$NIMBUS_TEST_DATA
TMP=$(mktemp -d /tmp/nimbus-retention.XXXXXX)
_lib_tmpdirs+=("$TMP")

# A short lease makes housekeeping run every second.
nimbusd_start --device-lease 5
mk() { api POST "$1" -H 'Content-Type: application/json' -d "$2" -o /dev/null -w '%{http_code}' | grep -qx 201; }
check "set up" mk /api/v1/tenants '{"name":"acme","retention_hours":2}'
mk "/api/v1/users?tenant=acme" '{"name":"alice","password":"alice-pw-1","role":"user"}'
mk "/api/v1/queues?tenant=acme" '{"name":"floor"}'

submit() { # submit FILE: prints the new job's id
  curl -fsS -u alice@acme:alice-pw-1 -F queue=floor -F "document=@$1" "$NIMBUS_URL/api/v1/jobs" |
    json_get "d['id']"
}
submit_ipp() { # submit_ipp FILE: Print-Job (small documents stay inline); prints the job id
  python3 "$HERE/ipp_raw.py" print-job "ipp://127.0.0.1:$NIMBUS_PORT/ipp/print/acme/floor" --user alice \
    --document "$1" | curl -fsS -u alice:alice-pw-1 -H 'Content-Type: application/ipp' \
    --data-binary @- "$NIMBUS_URL/ipp/print/acme/floor" -o /dev/null
  curl -fsS -u alice@acme:alice-pw-1 "$NIMBUS_URL/api/v1/jobs?state=all" | json_get "max(j['id'] for j in d['jobs'])"
}
job() { api GET "/api/v1/jobs/$1?tenant=acme" | json_get "$2"; }
spool_files() { find "$NIMBUS_STATE/spool/data" -type f | wc -l; }
inline_rows() { nimbus_sql "SELECT count(*) FROM document_data WHERE job_id = $(($1))"; }
python3 "$HERE/make_pdf.py" "$TMP/big.pdf" 12000 # spooled, not inline

# ---- cancel deletes the documents at once ----
BIG=$(submit "$TMP/big.pdf")
SMALL=$(submit_ipp "$D/onepage.pdf")
check "a large document is in the spool" test "$(spool_files)" = 1
check "a small one is inline in the store" test "$(inline_rows "$SMALL")" = 1
curl -fsS -u alice@acme:alice-pw-1 -X POST "$NIMBUS_URL/api/v1/jobs/$BIG/cancel" -o /dev/null
curl -fsS -u alice@acme:alice-pw-1 -X POST "$NIMBUS_URL/api/v1/jobs/$SMALL/cancel" -o /dev/null
check "canceling removes the spool file" test "$(spool_files)" = 0
check "...and the inline data" test "$(inline_rows "$SMALL")" = 0
check "the jobs stay, marked purged" \
  test "$(job "$BIG" "d['state'], d['documents'][0]['purged'], d['pages']")" = "canceled True 1"

# ---- retention: an unreleased job past its tenant's retention ----
OLD=$(submit "$TMP/big.pdf")
NEW=$(submit "$D/onepage.pdf")
# Make OLD three hours old (the tenant keeps two) behind the server's back.
check "OLD made three hours old" \
  test "$(nimbus_sql "UPDATE jobs SET created_at = $(($(date +%s) - 3 * 3600)) WHERE id = $((OLD));
                      SELECT count(*) FROM jobs WHERE id = $((OLD))")" = 1
for _ in $(seq 1 100); do [ "$(job "$OLD" "d['state']")" = expired ] && break; sleep 0.2; done
check "the old held job expires" test "$(job "$OLD" "d['state']")" = expired
check "...and its document is purged" test "$(job "$OLD" "d['documents'][0]['purged']")" = True
check "...spool file included (only the recent job's is left)" test "$(spool_files)" = 1
check "the recent one is kept, held" test "$(job "$NEW" "d['state'], d['documents'][0]['purged']")" = "held False"

# ---- a purge interrupted by a crash is finished after the restart ----
LEFT=$(submit "$TMP/big.pdf")
nimbusd_kill9
check "LEFT ended (canceled) with its document left, as by a crash" \
  test "$(nimbus_sql "UPDATE jobs SET state = 7, completed_at = $(date +%s) WHERE id = $((LEFT));
                      SELECT count(*) FROM jobs WHERE id = $((LEFT)) AND state = 7")" = 1
nimbusd_restart
for _ in $(seq 1 100); do [ "$(spool_files)" = 1 ] && break; sleep 0.2; done
check "an ended job left with its document is purged by housekeeping" test "$(spool_files)" = 1
check "...and marked purged" test "$(job "$LEFT" "d['documents'][0]['purged']")" = True

nimbusd_stop
finish test-retention
