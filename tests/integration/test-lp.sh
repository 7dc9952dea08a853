#!/usr/bin/env bash
# The CUPS command line as a client: lp → a private cupsd (lib-cupsd.sh)
# whose raw queue forwards to nimbusd with the ipp backend (run as user lp
# when the test runs as root) and credentials in its device URI.  The job
# must arrive in nimbusd held, owned by the user of the device URI, with
# the title given to lp and the document's page count; and a job sent
# with -o job-billing=PURPOSE arrives with that purpose (billing by purpose).
# cupsd, lp and lpadmin are required: without them the test fails.
set -euo pipefail
source "$(dirname "$0")/lib-nimbusd.sh"
source "$(dirname "$0")/lib-cupsd.sh"
D=$NIMBUS_TEST_DATA
TITLE="Quarterly report"

# lib-nimbusd.sh and lib-cupsd.sh each install an EXIT trap; own it here:
# cupsd (and the backend it runs) first, then nimbusd and the temp dirs.
_lp_cleanup() {
  cupsd_stop_all
  _lib_cleanup
}
trap _lp_cleanup EXIT

have_cups() {
  local tool ok=0
  for tool in "$CUPSD_BIN" "$LPADMIN_BIN" lp lpstat; do
    command -v "$tool" >/dev/null 2>&1 && continue
    echo "test-lp: $tool is not installed (the test needs cupsd, lpadmin, lp, lpstat)" >&2
    ok=1
  done
  return $ok
}
check "cupsd, lpadmin and lp are installed" have_cups

nimbusd_start --demo

# cupsd_start makes its directory mode 0755; its parent (/tmp) must be
# traversable by lp, which runs the backend and reads the spooled file.
CUPS_DIR=$(mktemp -d /tmp/nimbus-lp-cupsd.XXXXXX)
if ! cupsd_start "$CUPS_DIR" auto; then
  echo "test-lp: the private cupsd could not start in $CUPS_DIR; see above" >&2
  check "private cupsd starts" false
fi
check "private cupsd answers on $CUPSD_SERVER" true

DEVICE="ipp://alice:alice-demo-pass@127.0.0.1:$NIMBUS_PORT/ipp/print/demo/office"
check "raw queue 'nimbus' forwarding to nimbusd" cupsd_add_queue nimbus "$DEVICE"

submit() {
  local out
  out=$(lp -h "$CUPSD_SERVER" -d nimbus -t "$TITLE" "$D/threepage.pdf" 2>&1) || {
    echo "lp failed: $out" >&2
    return 1
  }
  echo "# $out"
}
check "lp -d nimbus -t '$TITLE' threepage.pdf" submit

# arrived: poll nimbusd as alice (30 s) for the job, then check it.
arrived() {
  local i jobs="" verdict
  for i in $(seq 1 60); do
    jobs=$(curl -fsS -u alice@demo:alice-demo-pass "$NIMBUS_URL/api/v1/jobs?state=all") || jobs=""
    verdict=$(json_get "'; '.join('%s %s %s %s' % (j['name'], j['state'], j['owner'], j['pages'])
                                  for j in d['jobs'])" <<<"${jobs:-"{\"jobs\":[]}"}")
    if [ -n "$verdict" ]; then
      # Page counting may complete a moment after the job row appears.
      [ "$verdict" = "$TITLE held alice 3" ] && return 0
    fi
    sleep 0.5
  done
  echo "nimbusd jobs after 30 s: '${verdict:-none}' (want '$TITLE held alice 3')" >&2
  echo "cupsd jobs: $(lpstat -h "$CUPSD_SERVER" -o 2>&1)" >&2
  echo "cupsd error_log:" >&2
  tail -n 30 "$CUPSD_DIR/log/error_log" >&2 2>/dev/null || true
  return 1
}
check "the job arrives in nimbusd held, owned by alice, titled '$TITLE', 3 pages" arrived

# The one job, and nothing else came in (no retry created a second one).
count() {
  local n
  n=$(curl -fsS -u alice@demo:alice-demo-pass "$NIMBUS_URL/api/v1/jobs?state=all" |
    json_get "d['total']")
  [ "$n" = 1 ] || { echo "nimbusd has $n jobs for alice, want 1" >&2; return 1; }
}
check "exactly one job arrived" count

# Billing by purpose (docs/BILLING.md): lp -o job-billing=NAME names the
# purpose.  CUPS's ipp backend sends it as job-account-id to a printer
# whose PPD says cupsJobAccountId (a driverless queue, lpadmin -m
# everywhere, reads job-account-id-supported from nimbusd); a raw queue
# sends no job attributes at all.
purpose_setup() {
  api PATCH '/api/v1/billing?tenant=demo' -f -H 'Content-Type: application/json' \
    -d '{"currency":"EUR"}' -o /dev/null &&
    api POST '/api/v1/billing-accounts?tenant=demo' -f -H 'Content-Type: application/json' \
      -d '{"code":"CX","name":"Client X","mode":"invoiced","everyone":true}' -o /dev/null &&
    curl -fsS -u alice@demo:alice-demo-pass -H 'Content-Type: application/json' \
      -d '{"name":"client-x","account":"CX"}' "$NIMBUS_URL/api/v1/purposes" -o /dev/null
}
check "alice's purpose client-x (account CX)" purpose_setup
check "driverless queue 'billed' (lpadmin -m everywhere) on nimbusd" \
  "$LPADMIN_BIN" -h "$CUPSD_SERVER" -p billed -E -v "$DEVICE" -m everywhere
submit_billing() {
  lp -h "$CUPSD_SERVER" -d billed -t "Billed" -o job-billing=client-x "$D/onepage.pdf" >/dev/null
}
check "lp -o job-billing=client-x" submit_billing
billed_arrived() {
  local i verdict=""
  for i in $(seq 1 60); do
    verdict=$(curl -fsS -u alice@demo:alice-demo-pass "$NIMBUS_URL/api/v1/jobs?state=all" |
      json_get "' '.join('%s/%s' % (j['name'], (j.get('purpose') or {}).get('name')) for j in d['jobs'] if j['name'] == 'Billed')") || true
    [ "$verdict" = "Billed/client-x" ] && return 0
    sleep 0.5
  done
  echo "the job 'Billed' at nimbusd: '${verdict:-none}' (want its purpose client-x)" >&2
  tail -n 30 "$CUPSD_DIR/log/error_log" >&2 2>/dev/null || true
  return 1
}
check "the job arrives with purpose client-x" billed_arrived

cupsd_stop
check "nimbusd stops cleanly" nimbusd_stop
finish lp
