#!/usr/bin/env bash
# nimbus-connector and nimbusd-side changes to a job it prints, and
# persistent mode with several queues:
#   - a job held printing on ippeveprinter (IPPEVE_HOLD) is canceled by its
#     owner at nimbusd (REST cancel): the connector notices (polling: the
#     Update-Active-Jobs answer; persistent: the job-state-changed event),
#     sends Cancel-Job to the printer, the printer's job ends canceled,
#     nimbusd's job stays canceled (never completed), the journal records
#     it, and the next job prints;
#   - a printer registered to two queues, persistent mode: one
#     Get-Notifications held per queue (nimbus_device_long_polls = 2), and a
#     job released on the second queue prints at once (long polls are held
#     for 600 s here, so only the second queue's own poll can bring it).
set -euo pipefail
source "$(dirname "$0")/test-connector-common.sh"

nimbusd_start --notify-wait 600 --device-lease 900
check "tenant, users and queue" conn_setup_tenant
check "second queue annex" bash -c "[ \"\$(curl -sS -o /dev/null -w '%{http_code}' -X POST \
  -u 'admin@system:$NIMBUS_ADMIN_PASSWORD' -H 'Content-Type: application/json' \
  -d '{\"name\":\"annex\"}' '$NIMBUS_URL/api/v1/queues?tenant=acme')\" = 201 ]"
check "ippeveprinter is up" ippeve_start

cat >"$CONN_DIR/job-state.test" <<'TEST'
{
  NAME "job state"
  OPERATION Get-Job-Attributes
  GROUP operation-attributes-tag
  ATTR charset attributes-charset utf-8
  ATTR naturalLanguage attributes-natural-language en
  ATTR uri printer-uri $uri
  ATTR integer job-id $job_id
  ATTR name requesting-user-name test
  ATTR keyword requested-attributes job-state,job-state-reasons
  STATUS successful-ok
  DISPLAY job-state
  DISPLAY job-state-reasons
}
TEST
# the printer's own view of its job: "STATE REASONS"
ippeve_job() {
  ipptool -t -T 5 -d "job_id=$1" "$IPPEVE_URI" "$CONN_DIR/job-state.test" |
    sed -n 's/^ *job-state\(-reasons\)\? ([a-z0-9]*) = //p' | tr '\n' ' '
}
ippeve_job_is() { ippeve_job "$1" | grep -q "^$2 "; }
ippeve_job_stopping() { ippeve_job "$1" | grep -q "processing-to-stop-point"; }
# the printer's job id the connector journalled for a nimbusd job
remote_id() { awk -v j="$2" '$1 == j && $5 > 0 {r = $5} END {if (r) print r; else exit 1}' \
  "$CONN_DIR/$1.json.journal"; }
# journalled as reported canceled (phase 3, job-state 7)
journal_canceled() { grep -q "^$2 3 7 " "$CONN_DIR/$1.json.journal"; }
cancel_job() {
  curl -fsS -o /dev/null -X POST -u alice@acme:alice-pw-1 "$NIMBUS_URL/api/v1/jobs/$1/cancel"
}
long_polls() { curl -fsS "$NIMBUS_URL/metrics" | sed -n 's/^nimbus_device_long_polls //p'; }
long_polls_are() { [ "$(long_polls)" = "$1" ]; }
print_one() {
  local job
  job=$(submit_job onepage.pdf "${1:-office}") && release_job "$job" &&
    wait_until "job $job completed" job_is "$job" completed
}

# ---- cancellation at nimbusd while the printer prints ----
for transport in polling persistent; do
  n=cancel_${transport:0:4}
  if [ "$transport" = polling ]; then
    how=Update-Active-Jobs
    flags=(--update-interval 1)
  else
    how=event # Update-Active-Jobs too rare here to be what notices it
    flags=(--update-interval 3600 --request-timeout 900)
  fi
  check "$n: register" conn_register "$n" "$(conn_claim "$n")"
  check "$n: start ($transport, ipp output)" conn_start "$n" --transport "$transport" \
    --output "$IPPEVE_URI" "${flags[@]}"
  if [ "$transport" = persistent ]; then
    check "$n: long poll held" wait_until "long poll" long_polls_are 1
  fi
  touch "$IPPEVE_HOLD"
  JOB=$(submit_job threepage.pdf)
  check "$n: owner releases the job" release_job "$JOB"
  check "$n: the printer has the job" wait_until "printer job id journalled" remote_id "$n" "$JOB"
  RJOB=$(remote_id "$n" "$JOB")
  check "$n: the printer is printing it" ippeve_job_is "$RJOB" processing
  check "$n: nimbusd has it processing" job_is "$JOB" processing
  check "$n: the owner cancels it at nimbusd" cancel_job "$JOB"
  check "$n: the connector cancels it at the printer" \
    wait_until "Cancel-Job at the printer" ippeve_job_stopping "$RJOB"
  check "$n: noticed through $how" \
    grep -q "msg=\"job ended at nimbusd; stopping it at the output\" job=$JOB .*how=$how" \
    "$CONN_DIR/$n.log"
  rm -f "$IPPEVE_HOLD"
  check "$n: the printer's job ends canceled" wait_until "printer job canceled" \
    ippeve_job_is "$RJOB" canceled
  check "$n: journalled as canceled" wait_until "journal" journal_canceled "$n" "$JOB"
  check "$n: nimbusd's job stays canceled" job_is "$JOB" canceled
  check "$n: never reported (completed or otherwise)" \
    bash -c "! grep -q 'msg=\"job reported\" job=$JOB ' '$CONN_DIR/$n.log'"
  check "$n: not counted as printed" \
    bash -c "curl -fsS '$(conn_panel "$n")/status.json' | grep -q '\"jobs_printed\": *0'"
  check "$n: the next job prints" print_one
  check "$n: the canceled job is still canceled" job_is "$JOB" canceled
  check "$n: no deregistration or retry" \
    bash -c "! grep -q 'deregistration detected\|retrying later' '$CONN_DIR/$n.log'"
  check "$n: stops cleanly" conn_stop "$n"
done

# ---- canceled at nimbusd while the connector is down: canceled at the printer on restart ----
n=cancel_down
check "$n: register" conn_register "$n" "$(conn_claim "$n")"
check "$n: start" conn_start "$n" --output "$IPPEVE_URI"
touch "$IPPEVE_HOLD"
JOB=$(submit_job onepage.pdf)
release_job "$JOB"
check "$n: the printer has the job" wait_until "printer job id journalled" remote_id "$n" "$JOB"
RJOB=$(remote_id "$n" "$JOB")
conn_kill9 "$n"
check "$n: the owner cancels it while the connector is down" cancel_job "$JOB"
check "$n: connector restarts" conn_start "$n" --output "$IPPEVE_URI"
check "$n: the journal's job is canceled at the printer" \
  wait_until "Cancel-Job at the printer" ippeve_job_stopping "$RJOB"
rm -f "$IPPEVE_HOLD"
check "$n: the printer's job ends canceled" wait_until "printer job canceled" \
  ippeve_job_is "$RJOB" canceled
check "$n: journalled as canceled" wait_until "journal" journal_canceled "$n" "$JOB"
check "$n: nimbusd's job stays canceled" job_is "$JOB" canceled
check "$n: the next job prints" print_one
check "$n: stops cleanly" conn_stop "$n"

# ---- persistent mode, two queues ----
OUT="$CONN_DIR/out"
n=twoq
check "$n: register to office and annex" conn_register "$n" "$(conn_claim "$n" '["office","annex"]')"
check "$n: both queue URIs in the state file" python3 -c "import json,sys; \
u=json.load(open('$CONN_DIR/$n.json'))['printer_uris']; \
sys.exit(not (len(u)==2 and any(x.endswith('/annex') for x in u)))"
check "$n: start (persistent, file output)" conn_start "$n" --transport persistent \
  --output "file://$OUT" --request-timeout 900
check "$n: one long poll held per queue" wait_until "two long polls" long_polls_are 2
check "$n: one subscription per queue" test "$(conn_log_count "$n" 'msg=subscribed')" = 2
for q in annex office annex; do
  JOB=$(submit_job onepage.pdf "$q")
  check "$n: job $JOB released on $q" release_job "$JOB"
  check "$n: job $JOB on $q completes" wait_until "job $JOB completed" job_is "$JOB" completed
  check "$n: printed to the file output" test -s "$OUT/$JOB-1.pdf"
  check "$n: fetched through the $q queue" \
    grep -q "msg=\"job accepted\" job=$JOB queue=.*/acme/$q" "$CONN_DIR/$n.log"
  check "$n: both long polls held again" wait_until "two long polls" long_polls_are 2
done
check "$n: no retries" bash -c "! grep -q 'retrying later' '$CONN_DIR/$n.log'"
check "$n: stops cleanly" conn_stop "$n"

check "nimbusd stops cleanly" nimbusd_stop
finish test-connector-cancel
