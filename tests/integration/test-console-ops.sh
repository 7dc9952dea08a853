#!/usr/bin/env bash
# The web console's reports, audit log and operator pages (docs/CONSOLE.md
# §2, issue 14) in headless Chromium (tests/browser/console-ops.test.js
# with tests/browser/console-lib.js), against a real nimbusd serving the
# built console, nimbus-connector and ippeveprinter, so that the jobs the
# reports count are really printed and charged.
#
# Here: tenant acme (conn_setup_tenant: alice, boss, queue office) and
# bob; EUR with a service fee of 10 + 5 %, a price table on office, an
# invoiced account CORP (everyone) and a prepaid CLIENT-A (alice's, topped
# up), purposes on them; a printer through the connector to ippeveprinter;
# four jobs of alice and bob released, printed and charged (each a charge
# posting in the ledger); 55 API tokens of alice (token-created audit
# entries: more than one page of the audit log); tenant "doomed" to
# delete.  In the browser: the reports page's table against the ledger
# (GET /ledger) and the completed jobs, its CSV download against GET
# /reports/totals?format=csv; the audit log filtered by action and paged,
# its CSV; a tenant admin sees no operator page ("not permitted"); the
# operator creates a tenant, edits its limits, suspends it (its user's
# sign-in is refused with the suspension in words), resumes and deletes
# one; a service-fee edit reaches GET /billing?tenant=; system health says
# ok with the schema version of /healthz.
#
# Needs: Debian's chromium, node + npm, ippeveprinter, the built console
# (NIMBUS_CONSOLE_DIR); skipped (77) without them.
# SCREENSHOTS_DIR=DIR: the pages as DIR/5N-*.png (docs/console/ is made so).
set -euo pipefail

source "$(dirname "$0")/lib-browser.sh"
browser_need console-ops curl ippeveprinter
if [ -z "${NIMBUS_CONSOLE_DIR:-}" ] || ! [ -f "$NIMBUS_CONSOLE_DIR/console.js" ]; then
  echo "skip - console-ops: the console is not built (NIMBUS_CONSOLE_DIR; meson -Dconsole)"
  exit 77
fi
source "$(dirname "$0")/test-connector-common.sh"
if ! "$NIMBUSD" --help | grep -q -- '--console-dir'; then
  echo "skip - console-ops: this nimbusd has no --console-dir (docs/CONSOLE.md §1.2)"
  exit 77
fi

check "npm ci: playwright-core into $DEPS" install_playwright

nimbusd_start
boss() { curl -fsS -u boss@acme:boss-pw-1 "$@"; }
jpost() { # AUTH-FUNCTION PATH JSON: a JSON POST that must succeed
  "$1" -X POST -H 'Content-Type: application/json' -d "$3" "$NIMBUS_URL/api/v1$2" -o /dev/null
}
alice() { curl -fsS -u alice@acme:alice-pw-1 "$@"; }
bob() { curl -fsS -u bob@acme:bob-pw-1 "$@"; }

# ---- the tenant, its money and its printer ----
check "tenant acme, alice, boss, queue office" conn_setup_tenant
check "user bob" api POST '/api/v1/users?tenant=acme' -H 'Content-Type: application/json' \
  -d '{"name":"bob","password":"bob-pw-1","role":"user"}' -o /dev/null
check "acme: EUR, service fee 10 + 5 %" api PATCH '/api/v1/billing?tenant=acme' \
  -H 'Content-Type: application/json' \
  -d '{"currency":"EUR","service_fee_fixed":10,"service_fee_bps":500}' -o /dev/null
TABLE='{"currency":"EUR","mode":"graduated","tiers":[{"from":1,"prices":{"a4":{"mono":{"one-sided":10,"two-sided":8},"color":{"one-sided":50,"two-sided":40}},"other":{"mono":{"one-sided":10},"color":{"one-sided":50}}}}]}'
check "price table office" jpost boss /price-tables "{\"name\":\"office\",\"table\":$TABLE}"
check "office priced, no payment at the printer" boss -X PATCH -H 'Content-Type: application/json' \
  -d '{"price_table":"office","payment":"none"}' "$NIMBUS_URL/api/v1/queues/office" -o /dev/null
check "account CORP: invoiced, everyone" jpost boss /billing-accounts \
  '{"code":"CORP","name":"Company","mode":"invoiced","everyone":true}'
check "account CLIENT-A: prepaid" jpost boss /billing-accounts \
  '{"code":"CLIENT-A","name":"Client A","mode":"prepaid"}'
check "alice may charge CLIENT-A" boss -X PUT "$NIMBUS_URL/api/v1/billing-accounts/CLIENT-A/users/alice"
check "CLIENT-A topped up with EUR 20.00" jpost boss /billing-accounts/CLIENT-A/topup '{"amount":2000}'
check "alice's purpose work (CORP)" jpost alice /purposes '{"name":"work","account":"CORP"}'
check "alice's purpose client a (CLIENT-A)" jpost alice /purposes '{"name":"client a","account":"CLIENT-A"}'
check "bob's purpose project (CORP)" jpost bob /purposes '{"name":"project","account":"CORP"}'
check "ippeveprinter is up" ippeve_start
check "register the printer lobby" conn_register lobby "$(conn_claim lobby)"
check "the connector runs" conn_start lobby --output "$IPPEVE_URI"

# ---- jobs printed and charged ----
submit() { # USER PURPOSE FILE → job id
  curl -fsS -u "$1@acme:$1-pw-1" -F queue=office -F "purpose=$2" \
    -F "document=@$NIMBUS_TEST_DATA/$3;type=application/pdf" "$NIMBUS_URL/api/v1/jobs" |
    json_get "d['id']"
}
charged() {
  [ "$(boss "$NIMBUS_URL/api/v1/jobs/$1" | json_get "(d['state'], (d.get('purpose') or {}).get('charge', {}).get('state'))")" = "('completed', 'charged')" ]
}
print_charged() { # USER PURPOSE FILE
  local id
  id=$(submit "$1" "$2" "$3") || return 1
  curl -fsS -o /dev/null -X POST -u "$1@acme:$1-pw-1" "$NIMBUS_URL/api/v1/jobs/$id/release" || return 1
  wait_until "job $id printed and charged" charged "$id"
}
check "alice: 3 pages on work, printed and charged" print_charged alice work threepage.pdf
check "alice: 1 page on work, printed and charged" print_charged alice work onepage.pdf
check "alice: 3 pages on client a, printed and charged" print_charged alice "client a" threepage.pdf
check "bob: 1 page on project, printed and charged" print_charged bob project onepage.pdf
ledger_balanced() {
  api GET '/api/v1/ledger/balances?all=1' | json_get "all(v == 0 for v in d['totals'].values())" |
    grep -qx True
}
check "the ledger balances" ledger_balanced

# ---- more than a page of the audit log: 55 token-created entries ----
tokens() {
  local i
  for i in $(seq 1 55); do jpost alice /tokens "{\"label\":\"t$i\"}" || return 1; done
}
check "55 API tokens of alice (audited)" tokens
check "tenant doomed (to delete on the page)" api POST /api/v1/tenants \
  -H 'Content-Type: application/json' -d '{"name":"doomed"}' -o /dev/null

if [ -n "${SCREENSHOTS_DIR:-}" ]; then
  mkdir -p "$SCREENSHOTS_DIR"
  SCREENSHOTS_DIR=$(cd "$SCREENSHOTS_DIR" && pwd)
fi
TENANT_ID=$(nimbus_sql "SELECT id FROM tenants WHERE name = 'acme'")
run_browser() {
  NODE_PATH="$DEPS/node_modules" CHROMIUM="$CHROMIUM" NIMBUS_URL="$NIMBUS_URL" \
    ADMIN_AUTH=boss@acme:boss-pw-1 OPERATOR_AUTH="admin@system:$NIMBUS_ADMIN_PASSWORD" \
    TENANT_ID="$TENANT_ID" SCREENSHOTS_DIR="${SCREENSHOTS_DIR:-}" \
    FAILURE_DIR="$BUILD_ROOT/meson-logs" node "$BROWSER_SRC/console-ops.test.js" || {
    echo "--- nimbusd's log (last lines):" >&2
    grep -v 'msg=request' "$NIMBUS_STATE.log" | tail -30 >&2
    return 1
  }
}
START=$(date +%s)
check "reports, audit log, tenants, service fees and health in headless Chromium (console-ops.test.js)" \
  run_browser
echo "# browser part took $(($(date +%s) - START)) s"
check "the ledger still balances" ledger_balanced
check "the connector stops cleanly" conn_stop lobby
check "nimbusd stops cleanly" nimbusd_stop
finish test-console-ops
