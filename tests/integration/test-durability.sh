#!/usr/bin/env bash
# kill -9 while jobs arrive: every job the server acknowledged survives with
# its document; nothing half-written survives a restart.  On either store
# (NIMBUS_TEST_STORE_URL: PostgreSQL, whose commits are synchronous).
set -euo pipefail
source "$(dirname "$0")/lib-nimbusd.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
PDF="$NIMBUS_TEST_DATA/onepage-30k.pdf"
WORK=$(mktemp -d /tmp/nimbus-dur.XXXXXX)
_lib_tmpdirs+=("$WORK")

# A large, valid PDF (a page with a long content stream) for a slow upload.
python3 "$(dirname "$0")/make_pdf.py" "$WORK/big.pdf" 4000000

nimbusd_start --demo --max-held-jobs 100000
H="127.0.0.1:$NIMBUS_PORT"
URI="ipp://alice:alice-demo-pass@$H/ipp/print/demo/office"

# print_loop N: keep printing; record every acknowledged job-id.
print_loop() {
  while true; do
    out=$(ipptool -t -T 5 -f "$PDF" "$URI" "$HERE/ipp/print-job-display.test" 2>/dev/null) || break
    sed -n 's/.*job-id (integer) = \([0-9]*\).*/\1/p' <<<"$out" >>"$WORK/acked.$1"
  done
}

kill_cycle() {
  local cycle=$1 pids=()
  for n in 1 2 3 4; do
    print_loop "$cycle-$n" &
    pids+=($!)
  done
  # a slow upload that is still arriving when the server dies
  python3 "$HERE/ipp_raw.py" print-job "ipp://$H/ipp/print/demo/office" >"$WORK/hdr"
  cat "$WORK/hdr" "$WORK/big.pdf" |
    curl -s -o /dev/null -u alice:alice-demo-pass --limit-rate 2M -X POST -T - \
      -H 'Content-Type: application/ipp' "http://$H/ipp/print/demo/office" &
  pids+=($!)
  sleep 2.5
  local parts
  parts=$(find "$NIMBUS_STATE/spool/tmp" -name '*.part' | wc -l)
  nimbusd_kill9
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  echo "cycle $cycle: $(cat "$WORK"/acked."$cycle"-* | wc -l) acknowledged, $parts partial file(s) at the kill"
  [ "$parts" -ge 1 ] # the kill really hit an upload in progress
}

verify() {
  nimbusd_restart
  local tmp_left blobs docs
  tmp_left=$(find "$NIMBUS_STATE/spool/tmp" -name '*.part' | wc -l)
  [ "$tmp_left" -eq 0 ] || { echo "partial files survived: $tmp_left" >&2; return 1; }
  blobs=$(find "$NIMBUS_STATE/spool" -path "$NIMBUS_STATE/spool/tmp" -prune -o -type f -print | wc -l)
  docs=$(nimbus_sql "SELECT count(*) FROM documents WHERE blob_key NOT IN ('', 'inline')")
  [ "$blobs" -eq "$docs" ] || { echo "blobs $blobs != document rows $docs" >&2; return 1; }
  # small documents live in the store: each one's bytes are all there
  local bad_inline
  bad_inline=$(nimbus_sql \
    "SELECT count(*) FROM documents d LEFT JOIN document_data x USING (job_id, number)
     WHERE d.blob_key = 'inline' AND (x.data IS NULL OR length(x.data) <> d.size)")
  [ "$bad_inline" -eq 0 ] || { echo "$bad_inline inline documents incomplete" >&2; return 1; }
  # every acknowledged id, complete, in one paged listing
  local offset=0 next
  : >"$WORK/jobs.json"
  while [ -n "$offset" ]; do
    curl -fsS -u demo-admin@demo:demo-admin-pass \
      "$NIMBUS_URL/api/v1/jobs?state=all&limit=1000&offset=$offset" >"$WORK/page.json"
    json_get "json.dumps(d['jobs'])" <"$WORK/page.json" >>"$WORK/jobs.json"
    next=$(json_get "d['next_offset'] if d['next_offset'] is not None else ''" <"$WORK/page.json")
    offset=$next
  done
  cat "$WORK"/acked.* | python3 -c '
import json, sys
jobs = {}
for line in open(sys.argv[1]):
    for j in json.loads(line):
        jobs[j["id"]] = j
bad = [i for i in map(int, sys.stdin.read().split())
       if i not in jobs or jobs[i]["state"] != "held" or jobs[i]["pages"] != 1
       or jobs[i]["documents"][0]["size"] <= 0]
if bad:
    print("acknowledged jobs missing or incomplete:", bad[:20], file=sys.stderr)
    sys.exit(1)
' "$WORK/jobs.json"
}

for cycle in 1 2 3; do
  check "kill -9 during intake (cycle $cycle)" kill_cycle "$cycle"
  check "after restart: acknowledged jobs complete, no partial or orphan files" verify
done
ACKED=$(cat "$WORK"/acked.* | wc -l)
check "some jobs were acknowledged ($ACKED)" test "$ACKED" -gt 10
check "nimbusd stops cleanly" nimbusd_stop
finish durability
