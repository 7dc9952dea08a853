#!/usr/bin/env bash
# nimbus-connector end to end: ipptool submits to nimbusd, the owner
# releases, the connector fetches the job over the IPP INFRA device channel
# and prints it on a real IPP printer (ippeveprinter) or the file://
# virtual printer, and the job ends `completed` in nimbusd with its
# impressions.  A connector killed while the printer works on a job
# resumes from its journal after the restart without printing it twice.
# Also: register errors, --help of every subcommand, state file mode.
set -euo pipefail
source "$(dirname "$0")/test-connector-common.sh"

nimbusd_start
check "tenant, users and queue" conn_setup_tenant
check "ippeveprinter is up" ippeve_start

# ---- register ----
CODE=$(conn_claim lobby)
check "a wrong claim code is refused" \
  bash -c "! '$NIMBUS_CONNECTOR' register --server '$NIMBUS_URL' --claim NMBC-0000-0000-0000-0000 --state '$CONN_DIR/bad.json' 2>'$CONN_DIR/bad.log'"
check "no state file after a refused claim" test ! -e "$CONN_DIR/bad.json"
check "register with the claim code" conn_register lobby "$CODE"
check "state file is mode 0600" test "$(stat -c %a "$CONN_DIR/lobby.json")" = 600
check "state file holds uuid, credential, queue URI" \
  python3 -c "import json,sys; d=json.load(open('$CONN_DIR/lobby.json')); \
sys.exit(not (d['output_device_uuid'].startswith('urn:uuid:') and d['credential'].startswith('nmd_') \
and d['printer_uris'][0].endswith('/ipp/print/acme/office') and d['status']=='registered' and d['registered_at']))"
CRED=$(conn_state_field lobby credential)
check "neither claim code nor credential in the output" \
  bash -c "! grep -qF -e '$CODE' -e '$CRED' '$CONN_DIR/lobby.register.out' '$CONN_DIR/lobby.register.log'"
check "the claim code works once" \
  bash -c "! '$NIMBUS_CONNECTOR' register --server '$NIMBUS_URL' --claim '$CODE' --state '$CONN_DIR/again.json' 2>/dev/null"
check "register refuses to overwrite a registration" \
  bash -c "! '$NIMBUS_CONNECTOR' register --server '$NIMBUS_URL' --claim '$(conn_claim spare)' --state '$CONN_DIR/lobby.json' 2>/dev/null"
for sub in "" register run status; do
  check "--help ${sub:-(top level)}" bash -c "'$NIMBUS_CONNECTOR' $sub --help | grep -q Usage"
done
check "status from the state file (daemon not running)" \
  bash -c "'$NIMBUS_CONNECTOR' status --state '$CONN_DIR/lobby.json' | grep -q 'Registration: *registered'"

# ---- ipp:// output (ippeveprinter) ----
check "connector starts (polling, ipp output)" conn_start lobby --output "$IPPEVE_URI"
check "capabilities reach nimbusd" wait_until "printer attributes" bash -c \
  "curl -fsS -u boss@acme:boss-pw-1 '$NIMBUS_URL/api/v1/printers/lobby' | grep -q 'Nimbus Test Printer'"
JOB=$(submit_job threepage.pdf)
check "the job waits for release (held)" job_is "$JOB" held
check "owner releases the job" release_job "$JOB"
check "the job completes in nimbusd" wait_until "job $JOB completed" job_is "$JOB" completed
check "impressions reported (3 pages)" test "$(job_field "$JOB" impressions_completed)" = 3
check "ippeveprinter printed it once" test "$(ippeve_printed_count)" = 1
check "panel counts the job" bash -c "curl -fsS '$(conn_panel lobby)/status.json' | grep -q '\"jobs_printed\": *1'"
check "status talks to the running daemon" \
  bash -c "'$NIMBUS_CONNECTOR' status --state '$CONN_DIR/lobby.json' | grep -q 'Daemon: *running'"
check "status --json" bash -c "'$NIMBUS_CONNECTOR' status --json --state '$CONN_DIR/lobby.json' | \
  python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(d[\"status\"]!=\"registered\" or \"credential\" in d)'"
check "the credential never appears in the connector's log" bash -c "! grep -qF '$CRED' '$CONN_DIR/lobby.log'"

# ---- restart while the printer works on a job: no second print ----
touch "$IPPEVE_HOLD"
JOB2=$(submit_job onepage.pdf)
release_job "$JOB2"
check "the printer has the job" wait_until "journal has the printer's job id" bash -c \
  "grep -Eq '^$JOB2 1 0 0 [1-9]' '$CONN_DIR/lobby.json.journal'"
conn_kill9 lobby
rm -f "$IPPEVE_HOLD"
check "connector restarts" conn_start lobby --output "$IPPEVE_URI"
check "the job completes after the restart" wait_until "job $JOB2 completed" job_is "$JOB2" completed
check "reconciled from the journal, not fetched again" \
  grep -q "reconciling a job from the journal\|job already in the journal" "$CONN_DIR/lobby.log"
check "printed exactly once" test "$(ippeve_printed_count)" = 2
check "connector stops cleanly" conn_stop lobby

# ---- cups:QUEUE output: a private cupsd forwarding to the same printer ----
source "$HERE/lib-cupsd.sh"
chmod 755 "$CONN_DIR" # backends run as lp and must reach the spool (state files stay 0600)
check "private cupsd" cupsd_start "$CONN_DIR/cupsd" auto
check "raw CUPS queue to ippeveprinter" cupsd_add_queue fwd "$IPPEVE_URI"
check "register a CUPS connector" conn_register viacups "$(conn_claim viacups)"
export CUPS_SERVER="$CUPSD_SERVER"
check "it starts (output cups:fwd)" conn_start viacups --output cups:fwd
unset CUPS_SERVER
JOB5=$(submit_job threepage.pdf)
release_job "$JOB5"
check "the CUPS job completes in nimbusd" wait_until "job $JOB5 completed" job_is "$JOB5" completed
# what CUPS counts (a raw queue counts a raw job as one page)
check "impressions reported through CUPS" test "$(job_field "$JOB5" impressions_completed)" -ge 1
printed_is() { [ "$(ippeve_printed_count)" = "$1" ]; }
check "ippeveprinter got it through CUPS" wait_until "third print" printed_is 3
check "CUPS connector stops cleanly" conn_stop viacups

# ---- file:// output ----
OUT="$CONN_DIR/out"
check "second connector (persistent, file output)" conn_register filer "$(conn_claim filer)"
check "it starts" conn_start filer --transport persistent --output "file://$OUT"
JOB3=$(submit_job threepage.pdf)
release_job "$JOB3"
check "file job completes" wait_until "job $JOB3 completed" job_is "$JOB3" completed
check "document written" cmp "$NIMBUS_TEST_DATA/threepage.pdf" "$OUT/$JOB3-1.pdf"
check "attributes written" python3 -c "import json,sys; d=json.load(open('$OUT/$JOB3-1.json')); \
sys.exit(not (d['job-id']==$JOB3 and d['impressions']==3 and d['document-format']=='application/pdf'))"
check "no partial files left" bash -c "! ls -A '$OUT' | grep -q part"
check "impressions from the file printer" test "$(job_field "$JOB3" impressions_completed)" = 3
check "file connector stops cleanly" conn_stop filer
check "restarted connector does not print old jobs again" conn_start filer --transport persistent --output "file://$OUT"
JOB4=$(submit_job onepage.pdf)
release_job "$JOB4"
check "a new job still prints" wait_until "job $JOB4 completed" job_is "$JOB4" completed
check "one file per document" test "$(ls "$OUT" | grep -c '\.pdf$')" = 2
check "file connector stops cleanly again" conn_stop filer
check "nimbusd stops cleanly" nimbusd_stop
finish test-connector-e2e
