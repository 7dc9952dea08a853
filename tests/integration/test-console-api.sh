#!/usr/bin/env bash
#
# The REST additions of the web console (docs/CONSOLE.md §1.4, PROTOCOL.md
# §4.3, §4.7, §4.9, §4.11) against a real nimbusd:
#  - GET /audit: the tenant's own entries only (never another tenant's,
#    never the system's), newest first, paged by `before`, filtered by
#    action (exact), actor (substring), from/to (UTC days, included), as
#    CSV with a header row; admins only (a plain user gets 403);
#  - POST /price-tables/preview: the fee of a real job priced with that
#    table (service fee included), saved or sent; a bad table answers the
#    400 of POST /price-tables; nothing is saved;
#  - DELETE /jobs/{id}: a held job is canceled and its document is gone
#    (spool file, inline data) at once, the record stays (GET, reports);
#    again 204; another user's job 404;
#  - POST /jobs/{id}/unlock: after wrong PINs the lock answers 429 even
#    for the right PIN; an admin's unlock (audited job.pin-unlock) lets the
#    right PIN release; not locked: 409; a plain user: 403;
#  - the upload fields sides, print-color-mode, media: a value the queue
#    does not support is 400 naming the field and the allowed values;
#    good ones are the job's IPP attributes (Get-Job-Attributes) and price
#    it (monochrome two-sided).
#
set -euo pipefail
source "$(dirname "$0")/lib-nimbusd.sh"
source "$(dirname "$0")/lib-rest.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
D=$NIMBUS_TEST_DATA

nimbusd_start --pin-max-attempts 3 --pin-lockout 900

OP="admin@system:$NIMBUS_ADMIN_PASSWORD"
BOSS="boss@acme:boss-pw-1"
ALICE="alice@acme:alice-pw-1"
BOB="bob@acme:bob-pw-1"
EVE="eve@other:eve-pw-1"
H="127.0.0.1:$NIMBUS_PORT"
same() { [ "$1" = "$2" ] || { echo "  got:      $1" >&2; echo "  expected: $2" >&2; false; }; }
detail_has() { case "$(body 'd.get("detail","")')" in *"$1"*) return 0 ;; esac; echo "  detail: $(body 'd.get("detail")')" >&2; return 1; }
tenant_id() { nimbus_sql "SELECT id FROM tenants WHERE name = '$1'"; }
job_row() { nimbus_sql "SELECT id FROM jobs WHERE tenant_id = $(tenant_id acme) AND number = $1"; }
spool_files() { find "$NIMBUS_STATE/spool/data" -type f | wc -l; }
# upload AUTH FILE [curl -F args...]: the new job's id
upload() {
  local auth=$1 file=$2
  shift 2
  curl -fsS -u "$auth" -F queue=office "$@" -F "document=@$file;type=application/pdf" \
    "$NIMBUS_URL/api/v1/jobs" | json_get 'd["id"]'
}
# upload_status AUTH [curl -F args...]: HTTP status of an upload; body in $work/body
upload_status() {
  local auth=$1
  shift
  status=$(curl -sS -o "$work/body" -w '%{http_code}' -u "$auth" -F queue=office "$@" \
    -F "document=@$D/onepage.pdf;type=application/pdf" "$NIMBUS_URL/api/v1/jobs")
}

# ---- two tenants, their admins and users, a queue ---------------------------------
call "$OP" POST /tenants '{"name":"acme"}'
check "tenant acme" is 201
call "$OP" POST /tenants '{"name":"other"}'
check "tenant other" is 201
call "$OP" POST '/users?tenant=acme' '{"name":"boss","password":"boss-pw-1","role":"tenant-admin"}'
check "acme's admin boss (by the operator)" is 201
call "$OP" POST '/users?tenant=other' '{"name":"eve","password":"eve-pw-1","role":"tenant-admin"}'
check "other's admin eve" is 201
for u in alice bob; do
  call "$BOSS" POST /users "{\"name\":\"$u\",\"password\":\"$u-pw-1\"}"
  check "user $u (by boss)" is 201
done
call "$EVE" POST /users '{"name":"mallory","password":"mallory-pw-1"}'
check "user mallory in other (by eve)" is 201
call "$BOSS" POST /queues '{"name":"office"}'
check "queue office" is 201

# ---- GET /audit ----------------------------------------------------------------
ACME=$(tenant_id acme)
OTHER=$(tenant_id other)
# the audit log of acme as the store has it: ids newest first
sql_ids() { nimbus_sql "SELECT id FROM audit WHERE tenant_id = $ACME $1 ORDER BY id DESC" | tr '\n' ' ' | sed 's/ $//'; }
ids_of() { body '" ".join(str(e["id"]) for e in d["entries"])'; }

call "$BOSS" GET /audit
check "boss reads acme's audit log: 200" is 200
check "...every entry of acme, newest first, as the store has them" same "$(ids_of)" "$(sql_ids "")"
check "...at least the three user-created entries" \
  test "$(body 'sum(1 for e in d["entries"] if e["action"] == "user-created")')" -ge 3
check "...no entry of tenant other (eve, mallory)" \
  same "$(body 'sum(1 for e in d["entries"] if "other" in e["actor"] or "mallory" in e["detail"])')" 0
check "...entries have id, time, actor, action, detail; next_before null" \
  same "$(body '(sorted(d["entries"][0].keys()), d["next_before"])')" \
  "(['action', 'actor', 'detail', 'id', 'time'], None)"
call "$OP" GET '/audit?tenant=acme'
check "the operator reads acme's log with ?tenant=: the same entries" same "$(ids_of)" "$(sql_ids "")"
call "$EVE" GET /audit
check "eve reads only other's entries" \
  same "$(ids_of)" "$(nimbus_sql "SELECT id FROM audit WHERE tenant_id = $OTHER ORDER BY id DESC" | tr '\n' ' ' | sed 's/ $//')"
call "$EVE" GET '/audit?tenant=acme'
check "eve naming acme: 403" is_problem 403
call "$ALICE" GET /audit
check "a plain user: 403" is_problem 403

# paging: two at a time until next_before is null
page_all() {
  local before="" all="" n=0
  while :; do
    call "$BOSS" GET "/audit?limit=2${before:+&before=$before}"
    [ "$status" = 200 ] || return 1
    [ "$(body 'len(d["entries"])')" -le 2 ] || return 1
    all="$all $(ids_of)"
    before=$(body 'd["next_before"] if d["next_before"] is not None else ""')
    n=$((n + 1))
    [ -n "$before" ] || break
    [ "$before" = "$(body 'd["entries"][-1]["id"]')" ] || return 1
  done
  [ "$n" -ge 2 ] && same "$(echo $all)" "$(sql_ids "")"
}
check "paged by before (limit=2): every entry once, in order" page_all

# filters
call "$BOSS" GET '/audit?action=user-created'
check "?action=user-created: exactly those" same "$(ids_of)" "$(sql_ids "AND action = 'user-created'")"
call "$BOSS" GET '/audit?action=user-create'
check "?action is exact (a prefix finds nothing)" same "$(body 'len(d["entries"])')" 0
call "$BOSS" GET '/audit?actor=boss'
check "?actor=boss: the entries whose actor contains boss" \
  same "$(ids_of)" "$(sql_ids "AND actor LIKE '%boss%'")"
check "...and there are some, none by the operator" \
  test "$(body 'len(d["entries"]) > 0 and all("boss" in e["actor"] for e in d["entries"])')" = True
FIRST=$(sql_ids "" | awk '{print $NF}')
nimbus_sql "UPDATE audit SET ts = 1577880000 WHERE id = $FIRST" >/dev/null # 2020-01-01 12:00 UTC
call "$BOSS" GET '/audit?to=2020-01-01'
check "?to=2020-01-01 (included): the one entry of that day" same "$(ids_of)" "$FIRST"
call "$BOSS" GET '/audit?from=2020-01-01&to=2020-01-01'
check "?from=?to=: the same day" same "$(ids_of)" "$FIRST"
call "$BOSS" GET '/audit?from=2020-01-02'
check "?from=2020-01-02: all but that one" same "$(ids_of)" "$(sql_ids "AND id <> $FIRST")"
call "$BOSS" GET '/audit?from=2020-13-01'
check "a bad day: 400 naming it" is_problem 400
check "...detail names ?from" detail_has "?from"
call "$BOSS" GET '/audit?limit=1001'
check "limit above 1000: 400" is_problem 400
call "$BOSS" GET '/audit?format=xml'
check "?format=xml: 400" is_problem 400

# CSV
csv_ok() {
  curl -fsS -u "$BOSS" -D "$work/csv.h" -o "$work/audit.csv" "$NIMBUS_URL/api/v1/audit?format=csv"
  grep -qi '^content-type: text/csv' "$work/csv.h"
  grep -qi '^content-disposition: attachment; filename="audit.csv"' "$work/csv.h"
  same "$(head -1 "$work/audit.csv")" "id,time,actor,action,detail"
  same "$(tail -n +2 "$work/audit.csv" | python3 -c 'import csv,sys; print(" ".join(r[0] for r in csv.reader(sys.stdin)))')" \
    "$(sql_ids "")"
  grep -q ',boss@acme,user-created,user=alice role=user$' "$work/audit.csv"
}
check "?format=csv: a header row, every entry, attachment" csv_ok
csv_filtered() {
  curl -fsS -u "$BOSS" -o "$work/a2.csv" "$NIMBUS_URL/api/v1/audit?format=csv&action=user-created&limit=1"
  same "$(wc -l <"$work/a2.csv")" 2
  grep -q 'user-created' "$work/a2.csv"
}
check "CSV takes the filters and limit" csv_filtered

# ---- POST /price-tables/preview ----------------------------------------------------
call "$OP" PATCH '/billing?tenant=acme' '{"currency":"EUR","service_fee_fixed":10,"service_fee_bps":500}'
check "acme bills in EUR, service fee 10 + 5%" is 200
TABLE='{"currency":"EUR","mode":"graduated","tiers":[{"from":1,"prices":{"a4":{"mono":{"one-sided":10,"two-sided":8},"color":{"one-sided":50,"two-sided":40}},"other":{"mono":{"one-sided":10},"color":{"one-sided":50}}}},{"from":3,"prices":{"a4":{"mono":{"one-sided":5,"two-sided":4},"color":{"one-sided":30,"two-sided":25}},"other":{"mono":{"one-sided":5},"color":{"one-sided":30}}}}]}'
call "$BOSS" POST /price-tables "{\"name\":\"shop\",\"table\":$TABLE}"
check "price table shop" is 201
call "$BOSS" PATCH /queues/office '{"price_table":"shop"}'
check "queue office priced with shop" is 200

fee_of_job() { call "$BOSS" GET "/jobs/$1"; body '(d["charge"]["print_fee"], d["charge"]["service_fee"], d["charge"]["total"], d["charge"]["currency"])'; }
fee_of_preview() { body '(d["print_fee"], d["service_fee"], d["total"], d["currency"])'; }

J3=$(upload "$ALICE" "$D/threepage.pdf" -F copies=2)
REAL=$(fee_of_job "$J3")
check "a real job: 3 pages x 2 colour, one-sided: 2 x 50 + 4 x 30 = 220 + 10 + 11" \
  same "$REAL" "(220, 21, 241, 'EUR')"
call "$BOSS" POST /price-tables/preview '{"name":"shop","job":{"pages":3,"copies":2,"color":true,"sides":"one-sided"}}'
check "preview of saved table shop: 200" is 200
check "...the real job's fee" same "$(fee_of_preview)" "$REAL"
check "...with the text forms" \
  same "$(body '(d["print_fee_text"], d["service_fee_text"], d["total_text"])')" \
  "('EUR 2.20', 'EUR 0.21', 'EUR 2.41')"
call "$BOSS" POST /price-tables/preview "{\"table\":$TABLE,\"job\":{\"pages\":3,\"copies\":2}}"
check "preview of a table sent in the body (colour by default): the same fee" \
  same "$status $(fee_of_preview)" "200 $REAL"

JM=$(upload "$ALICE" "$D/threepage.pdf" -F sides=two-sided-long-edge -F print-color-mode=monochrome)
REALM=$(fee_of_job "$JM")
check "a monochrome two-sided job (upload fields): 2 x 8 + 1 x 4 = 20 + 10 + 1" \
  same "$REALM" "(20, 11, 31, 'EUR')"
call "$BOSS" POST /price-tables/preview '{"name":"shop","job":{"pages":3,"color":false,"sides":"two-sided-long-edge","media":"iso_a4_210x297mm"}}'
check "...the preview of it matches" same "$status $(fee_of_preview)" "200 $REALM"

BAD='{"currency":"EUR","mode":"graduated","tiers":[{"from":2,"prices":{"a4":{"mono":{"one-sided":10}}}}]}'
call "$BOSS" POST /price-tables "{\"name\":\"bad\",\"table\":$BAD}"
check "POST /price-tables refuses a bad table: 400" is_problem 400
WANT=$(body 'd["detail"]')
call "$BOSS" POST /price-tables/preview "{\"table\":$BAD,\"job\":{\"pages\":1}}"
check "the preview answers the same 400, naming what is wrong" \
  same "$status $(body 'd["detail"]')" "400 $WANT"
call "$BOSS" POST /price-tables/preview '{"name":"shop","job":{"pages":1,"sides":"three-sided"}}'
check "an unsupported sides: 400 naming job.sides" is_problem 400
check "...and listing the allowed values" detail_has "one-sided, two-sided-long-edge, two-sided-short-edge"
MONO='{"currency":"EUR","mode":"graduated","tiers":[{"from":1,"prices":{"a4":{"mono":{"one-sided":10}}}}]}'
call "$BOSS" POST /price-tables/preview "{\"table\":$MONO,\"job\":{\"pages\":1,\"color\":false,\"sides\":\"two-sided-long-edge\"}}"
check "a combination the table does not offer (two-sided): 422" is_problem 422
call "$BOSS" POST /price-tables/preview "{\"table\":${MONO/EUR/JPY},\"job\":{\"pages\":1,\"color\":false}}"
check "a table in another currency than the tenant's: 422 saying so" is_problem 422
check "...naming both" detail_has "is in JPY, the tenant's currency is EUR"
call "$BOSS" POST /price-tables/preview "{\"table\":$MONO,\"job\":{\"pages\":1,\"color\":false}}"
check "...and a monochrome one-sided page of it: 10 + 10 + 1" same "$status $(fee_of_preview)" "200 (10, 11, 21, 'EUR')"
call "$BOSS" POST /price-tables/preview '{"name":"nope","job":{"pages":1}}'
check "an unknown saved table: 404" is_problem 404
call "$BOSS" POST /price-tables/preview '{"job":{"pages":1}}'
check "neither table nor name: 400" is_problem 400
call "$ALICE" POST /price-tables/preview '{"name":"shop","job":{"pages":1}}'
check "a plain user: 403" is_problem 403
call "$BOSS" GET /price-tables
check "nothing was saved: shop is the only table" same "$(body '[t["name"] for t in d["price_tables"]]')" "['shop']"

# ---- DELETE /jobs/{id} ----------------------------------------------------------------
python3 "$HERE/make_pdf.py" "$work/big.pdf" 12000 # spooled, not inline
SPOOL0=$(spool_files)
JB=$(upload "$ALICE" "$work/big.pdf")
check "alice's held job with a spooled document" \
  same "$(call "$ALICE" GET "/jobs/$JB"; body 'd["state"]') $(spool_files)" "held $((SPOOL0 + 1))"
call "$BOB" DELETE "/jobs/$JB"
check "bob deleting alice's job: 404" is_problem 404
check "...which is still there" same "$(spool_files)" "$((SPOOL0 + 1))"
call "$ALICE" DELETE "/jobs/$JB"
check "alice deletes it: 204" is 204
check "its spool file is gone" same "$(spool_files)" "$SPOOL0"
check "...and the store holds no key to it" \
  same "$(nimbus_sql "SELECT count(*) FROM documents WHERE job_id = $(job_row "$JB") AND blob_key <> ''")" 0
call "$ALICE" GET "/jobs/$JB"
check "the record stays: canceled, its document marked purged" \
  same "$status $(body '(d["state"], d["documents"][0]["purged"], d["pages"])')" "200 ('canceled', True, 1)"
call "$ALICE" DELETE "/jobs/$JB"
check "deleting again: 204" is 204
call "$BOSS" GET "/reports/print-log?user=alice"
check "the job is still in the print log" test "$(body "$JB in [j['id'] for j in d['jobs']]")" = True
call "$BOSS" GET "/audit?action=job.deleted"
check "audited job.deleted by alice" \
  same "$(body '(d["entries"][-1]["actor"], d["entries"][-1]["detail"])')" "('alice@acme', 'job $JB (canceled)')"
JS=$(upload "$ALICE" "$D/onepage.pdf")
check "a small held job of alice's has its document" \
  same "$(nimbus_sql "SELECT count(*) FROM documents WHERE job_id = $(job_row "$JS") AND blob_key <> ''")" 1
call "$BOSS" DELETE "/jobs/$JS"
check "an admin deletes alice's job: 204" is 204
check "...no document data or spool key left" \
  same "$(nimbus_sql "SELECT count(*) FROM document_data WHERE job_id = $(job_row "$JS")") $(nimbus_sql "SELECT count(*) FROM documents WHERE job_id = $(job_row "$JS") AND blob_key <> ''")" "0 0"
call "$EVE" DELETE "/jobs/$JS"
check "another tenant's admin: 404" is_problem 404

# ---- POST /jobs/{id}/unlock ----------------------------------------------------------
JP=$(upload "$ALICE" "$D/onepage.pdf" -F job-password=4321)
call "$BOSS" POST "/jobs/$JP/unlock"
check "unlock of a job that is not locked: 409" is_problem 409
for i in 1 2 3; do call "$ALICE" POST "/jobs/$JP/release" '{"pin":"0000"}'; done
call "$ALICE" POST "/jobs/$JP/release" '{"pin":"4321"}'
check "after 3 wrong PINs the right one answers 429 (locked)" is_problem 429
call "$ALICE" POST "/jobs/$JP/unlock"
check "alice cannot unlock: 403" is_problem 403
call "$EVE" POST "/jobs/$JP/unlock"
check "another tenant's admin: 404" is_problem 404
call "$BOSS" POST "/jobs/$JP/unlock"
check "boss unlocks it: 200, still held" same "$status $(body 'd["state"]')" "200 held"
call "$BOSS" GET '/audit?action=job.pin-unlock'
check "audited job.pin-unlock" same "$(body '[(e["actor"], e["detail"]) for e in d["entries"]]')" "[('boss@acme', 'job $JP')]"
call "$BOSS" POST "/jobs/$JP/unlock"
check "unlocking again: 409" is_problem 409
call "$ALICE" POST "/jobs/$JP/release" '{"pin":"0000"}'
check "the count was reset: one wrong PIN is a 403, not a lock" is_problem 403
call "$ALICE" POST "/jobs/$JP/release" '{"pin":"4321"}'
check "the right PIN releases it" same "$status $(body 'd["state"]')" "200 fetchable"

# ---- upload fields ----------------------------------------------------------------------
upload_status "$ALICE" -F sides=three-sided
check "sides=three-sided: 400" is_problem 400
check "...naming sides and its values" detail_has "'sides' must be one of one-sided, two-sided-long-edge, two-sided-short-edge"
upload_status "$ALICE" -F print-color-mode=sepia
check "print-color-mode=sepia: 400 naming it" detail_has "'print-color-mode' must be one of auto, color, monochrome"
upload_status "$ALICE" -F media=iso_a0_841x1189mm
check "media=iso_a0: 400 naming it" detail_has "'media' must be one of iso_a4_210x297mm"
settings() { # JOB SIDES MODE MEDIA: Get-Job-Attributes shows them
  ipptool -t -T 10 -d job-id="$1" -d sides="$2" -d color-mode="$3" -d media="$4" \
    "ipp://alice:alice-pw-1@$H/ipp/print/acme/office" "$HERE/ipp/get-job-settings.test" >"$work/ipp.out"
}
JG=$(upload "$ALICE" "$D/onepage.pdf" -F sides=two-sided-short-edge -F print-color-mode=monochrome \
  -F media=na_letter_8.5x11in)
check "good values: the job's IPP attributes (Get-Job-Attributes)" \
  settings "$JG" two-sided-short-edge monochrome na_letter_8.5x11in
JD=$(upload "$ALICE" "$D/onepage.pdf")
check "without them: the queue's defaults" settings "$JD" one-sided auto iso_a4_210x297mm
not_settings() { ! settings "$@"; }
check "(the check fails on other values)" not_settings "$JD" two-sided-short-edge monochrome na_letter_8.5x11in
check "stored as IPP stores them" \
  same "$(nimbus_sql "SELECT attrs_json FROM jobs WHERE id = $(job_row "$JG")")" \
  '{"media":"na_letter_8.5x11in","print-color-mode":"monochrome","sides":"two-sided-short-edge"}'

nimbusd_stop
finish console-api
