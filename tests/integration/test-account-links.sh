#!/usr/bin/env bash
# Account links (docs/FEDERATION.md §2.2): nimbusd as the OAuth 2.0
# device-grant client of another nimbusd (its authorization server,
# §2.1), two real nimbusd processes on loopback, each with its own tenant
# and users:
#  - POST /me/account-links → 201 pending with a user code, the
#    verification URIs and their QR code; the remote user approves
#    (POST /api/v1/oauth/device/approve on the remote) → linked, with the
#    remote user name from the remote's whoami;
#  - the token is nowhere in clear: not in home's log, not in its store
#    (the sealed column has no "nmb_");
#  - the token revoked at the remote (DELETE /api/v1/tokens/{id}) → after
#    --account-link-check seconds the link is relink-needed, still listed,
#    last_error in words;
#  - relink → pending again; denied at the remote → denied; a grant nobody
#    approves → expired (the remote's --oauth-device-ttl 20);
#  - the remote down: a linked link stays linked, last_error says why;
#  - another user's link is 404; an admin may use ?user=; a bad
#    service_url is 400; a second link to the same service is 409;
#  - at the panel (device API, the panel session's user): the list, 409
#    and 400 on create;
#  - DELETE → 204 and gone; create, relink and delete are audited.
set -euo pipefail
source "$(dirname "$0")/test-connector-common.sh"

T=$(mktemp -d)
_lib_tmpdirs+=("$T")

# ---- two nimbusd: the remote first, then home (lib-nimbusd.sh follows one
# at a time: nimbusd_start_remote keeps the remote's in REMOTE_*) ----------
nimbusd_start_remote --oauth-device-ttl 20 # grants expire soon: "expired" below
check "remote: tenant acme, alice, boss" conn_setup_tenant
check "remote: user bob" api POST '/api/v1/users?tenant=acme' -H 'Content-Type: application/json' \
  -d '{"name":"bob","password":"bob-pw-1"}' -o /dev/null
nimbusd_start --account-link-check 2
HOME_URL=$NIMBUS_URL
check "home: tenant acme, alice, boss" conn_setup_tenant
check "home: user hugo" api POST '/api/v1/users?tenant=acme' -H 'Content-Type: application/json' \
  -d '{"name":"hugo","password":"hugo-pw-1"}' -o /dev/null
check "home: user ivy" api POST '/api/v1/users?tenant=acme' -H 'Content-Type: application/json' \
  -d '{"name":"ivy","password":"ivy-pw-1"}' -o /dev/null

# home USER PASS METHOD PATH [curl args]: REST on home; status in $status, body in $T/b
home() {
  local user=$1 pass=$2 method=$3 path=$4
  shift 4
  rm -f "$T/b"
  status=$(curl -sS -u "$user:$pass" -X "$method" -o "$T/b" -w '%{http_code}' \
    "$HOME_URL$path" "$@")
}
# remote USER PASS METHOD PATH [curl args]: the same on the remote
remote() {
  local user=$1 pass=$2 method=$3 path=$4
  shift 4
  rm -f "$T/b"
  status=$(curl -sS -u "$user:$pass" -X "$method" -o "$T/b" -w '%{http_code}' \
    "$REMOTE_URL$path" "$@")
}
body() { json_get "$1" <"$T/b"; }
JSON=(-H 'Content-Type: application/json')

# link_field USER PASS ID EXPR: EXPR on home's record of link ID
link_field() {
  home "$1" "$2" GET "/api/v1/me/account-links/$3"
  [ "$status" = 200 ] || return 1
  body "$4"
}
link_is() { [ "$(link_field "$1" "$2" "$3" "d['status']")" = "$4" ]; }

# ---- only services a remote printer link of the tenant reaches ---------------
# (a user never makes home call an address no tenant admin chose)
no_link_refused() {
  home alice@acme alice-pw-1 POST /api/v1/me/account-links "${JSON[@]}" \
    -d "{\"service_url\":\"$REMOTE_URL\"}"
  [ "$status" = 400 ] && grep -q "no remote printer link" "$T/b"
}
check "a service no remote printer link reaches: 400, the remote never asked" no_link_refused
check "home: a remote printer link to the remote (its service is the remote's URL)" \
  api POST '/api/v1/remote-links?tenant=acme' -f -H 'Content-Type: application/json' -o /dev/null \
  -d "{\"name\":\"other\",\"printer_uri\":\"ipp://127.0.0.1:$REMOTE_PORT/ipp/print/acme/office\",\"queue\":\"office\",\"credential\":\"not-issued-by-the-remote\"}"

# ---- create: pending with a user code ---------------------------------------
create_alice() {
  home alice@acme alice-pw-1 POST /api/v1/me/account-links "${JSON[@]}" \
    -d "{\"service_url\":\"$REMOTE_URL/\"}"
  [ "$status" = 201 ] || { cat "$T/b" >&2; return 1; }
  [ "$(body "d['status']")" = pending ]
  [ "$(body "d['service_url']")" = "$REMOTE_URL" ] # the trailing / dropped
  [ "$(body "d['remote_user']")" = None ]
  CODE=$(body "d['user_code']")
  [[ "$CODE" =~ ^[BCDFGHJKLMNPQRSTVWXZ]{4}-?[BCDFGHJKLMNPQRSTVWXZ]{4}$ ]]
  [ "$(body "d['verification_uri']")" = "$REMOTE_URL/device" ]
  [ "$(body "d['verification_uri_complete'].startswith('$REMOTE_URL/device?user_code=')")" = True ]
  [ "$(body "'<svg' in d['qr_svg'] and d['qr_svg'].rstrip().endswith('</svg>')")" = True ]
  [ "$(body "d['expires_at'].endswith('Z')")" = True ]
  LINK_A=$(body "d['id']")
}
check "alice links her remote account: 201 pending, user code, URIs, QR" create_alice

second_link_conflict() {
  home alice@acme alice-pw-1 POST /api/v1/me/account-links "${JSON[@]}" \
    -d "{\"service_url\":\"$REMOTE_URL\"}"
  [ "$status" = 409 ]
}
check "a second link to the same service: 409" second_link_conflict

bad_url() {
  local u
  for u in 'ftp://x.example' 'http://x.example/?q=1' 'not a url' 'http://user@x.example'; do
    home alice@acme alice-pw-1 POST /api/v1/me/account-links "${JSON[@]}" \
      -d "{\"service_url\":\"$u\"}"
    [ "$status" = 400 ] || return 1
  done
}
check "a service URL that is not http(s) without query or user info: 400" bad_url

others_404() {
  home hugo@acme hugo-pw-1 GET "/api/v1/me/account-links/$LINK_A"
  [ "$status" = 404 ]
  home hugo@acme hugo-pw-1 DELETE "/api/v1/me/account-links/$LINK_A"
  [ "$status" = 404 ]
  home hugo@acme hugo-pw-1 GET "/api/v1/me/account-links?user=alice"
  [ "$status" = 403 ]
  home boss@acme boss-pw-1 GET "/api/v1/me/account-links?user=alice"
  [ "$status" = 200 ]
  [ "$(body "[l['id'] for l in d['account_links']]")" = "[$LINK_A]" ]
}
check "another user's link is 404 to hugo; the admin sees it with ?user=" others_404

still_pending() {
  sleep 3 # a few polls: the remote answers authorization_pending
  link_is alice@acme alice-pw-1 "$LINK_A" pending
}
check "not approved yet: still pending" still_pending

# ---- approve at the remote: linked -----------------------------------------
approve() {
  remote alice@acme alice-pw-1 POST /api/v1/oauth/device/approve "${JSON[@]}" \
    -d "{\"user_code\":\"$1\"}"
  [ "$status" = 200 ] || { cat "$T/b" >&2; return 1; }
}
check "alice approves at the remote" approve "$CODE"
check "home polls: linked" wait_until "linked" link_is alice@acme alice-pw-1 "$LINK_A" linked
linked_record() {
  home alice@acme alice-pw-1 GET "/api/v1/me/account-links/$LINK_A"
  [ "$(body "d['remote_user']")" = alice ]
  [ "$(body "d['linked_at'] is not None and d['last_checked_at'] is not None")" = True ]
  [ "$(body "'user_code' in d or 'qr_svg' in d or 'token' in d")" = False ]
  [ "$(body "d['last_error']")" = None ]
}
check "linked: remote_user alice, no code, no token" linked_record

no_clear_token() {
  local n
  n=$(nimbus_sql "SELECT count(*) FROM account_links WHERE id = $LINK_A AND token IS NOT NULL")
  [ "$n" = 1 ]
  if cat "$NIMBUS_STATE"/nimbus.db* 2>/dev/null | grep -a -q 'nmb_'; then return 1; fi
  if [ -n "${NIMBUS_TEST_STORE_URL:-}" ]; then
    n=$(nimbus_sql "SELECT count(*) FROM account_links WHERE position('\\x6e6d625f'::bytea in token) > 0")
    [ "$n" = 0 ]
  fi
  if grep -a -q 'nmb_' "$NIMBUS_STATE.log" "$NIMBUS_STATE.out"; then return 1; fi
}
check "the token is not in home's store or log in clear" no_clear_token

# ---- the token revoked at the remote: relink-needed -------------------------
revoke() {
  remote alice@acme alice-pw-1 GET /api/v1/tokens
  [ "$status" = 200 ]
  local id
  id=$(body "[t['id'] for t in d['tokens'] if t['label'].startswith('linked: ')][0]")
  remote alice@acme alice-pw-1 DELETE "/api/v1/tokens/$id"
  [ "$status" = 204 ]
}
check "alice revokes the token at the remote" revoke
check "after the check interval: relink-needed" \
  wait_until "relink-needed" link_is alice@acme alice-pw-1 "$LINK_A" relink-needed
relink_listed() {
  home alice@acme alice-pw-1 GET /api/v1/me/account-links
  [ "$(body "[(l['id'], l['status']) for l in d['account_links']]")" = \
    "[($LINK_A, 'relink-needed')]" ]
  [ "$(body "d['account_links'][0]['remote_user']")" = alice ]
  [ "$(body "'link again' in d['account_links'][0]['last_error']")" = True ]
}
check "relink-needed stays listed, with last_error in words" relink_listed

# ---- relink, then deny: denied ------------------------------------------------
relink() {
  home alice@acme alice-pw-1 POST "/api/v1/me/account-links/$LINK_A/relink"
  [ "$status" = 200 ] || { cat "$T/b" >&2; return 1; }
  [ "$(body "d['status']")" = pending ]
  CODE=$(body "d['user_code']")
}
check "relink: a new grant, pending" relink
deny() {
  remote alice@acme alice-pw-1 POST /api/v1/oauth/device/deny "${JSON[@]}" \
    -d "{\"user_code\":\"$CODE\"}"
  [ "$status" = 200 ]
}
check "alice denies it at the remote" deny
check "home polls: denied" wait_until "denied" link_is alice@acme alice-pw-1 "$LINK_A" denied

# ---- hugo's link (remote user bob), then the remote goes down ------------------
approve_as_bob() {
  home hugo@acme hugo-pw-1 POST /api/v1/me/account-links "${JSON[@]}" \
    -d "{\"service_url\":\"$REMOTE_URL\"}"
  [ "$status" = 201 ]
  LINK_H=$(body "d['id']")
  local code
  code=$(body "d['user_code']")
  remote bob@acme bob-pw-1 POST /api/v1/oauth/device/approve "${JSON[@]}" \
    -d "{\"user_code\":\"$code\"}"
  [ "$status" = 200 ]
}
check "hugo links his remote account bob" approve_as_bob
check "hugo's link: linked" wait_until "linked" link_is hugo@acme hugo-pw-1 "$LINK_H" linked
check "hugo's remote user is bob" \
  bash -c "[ \"\$(curl -sS -u hugo@acme:hugo-pw-1 $HOME_URL/api/v1/me/account-links/$LINK_H | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"remote_user\"])')\" = bob ]"

# ---- a grant nobody approves: expired ------------------------------------------
ivy_expires() {
  home ivy@acme ivy-pw-1 POST /api/v1/me/account-links "${JSON[@]}" \
    -d "{\"service_url\":\"$REMOTE_URL\"}"
  [ "$status" = 201 ]
  LINK_I=$(body "d['id']")
  link_is ivy@acme ivy-pw-1 "$LINK_I" pending
  wait_until "expired" link_is ivy@acme ivy-pw-1 "$LINK_I" expired
  [ "$(link_field ivy@acme ivy-pw-1 "$LINK_I" "'user_code' in d or d['remote_user'] is not None")" = False ]
}
check "ivy never approves: after the grant's lifetime, expired" ivy_expires

# ---- at the panel: the device API with a panel session ------------------------
panel() { # CREDENTIAL SESSION METHOD PATH [JSON]: status in $status, body in $T/b
  local cred=$1 session=$2 method=$3 path=$4 data=${5-}
  local args=(-sS -o "$T/b" -w '%{http_code}' -X "$method" "$HOME_URL/api/v1$path"
    -H "Authorization: Bearer $cred")
  [ -z "$session" ] || args+=(-H "X-Nimbus-Session: $session")
  [ -z "$data" ] || args+=(-H 'Content-Type: application/json' --data-binary "$data")
  rm -f "$T/b"
  status=$(curl "${args[@]}")
}
panel_setup() {
  home boss@acme boss-pw-1 POST /api/v1/printers "${JSON[@]}" -d '{"name":"front","queues":["office"]}'
  [ "$status" = 201 ]
  local code
  code=$(body "d['claim_code']")
  rm -f "$T/b"
  status=$(curl -sS -o "$T/b" -w '%{http_code}' -X POST "${JSON[@]}" \
    -d "{\"claim_code\":\"$code\"}" "$HOME_URL/api/v1/device/register")
  [ "$status" = 201 ]
  CRED=$(body "d['credential']")
  panel "$CRED" "" POST /device/sessions '{"user":"hugo","secret":"hugo-pw-1"}'
  [ "$status" = 201 ]
  SESSION=$(body "d['session']")
}
check "home: a printer, hugo signed in at its panel" panel_setup
panel_list() {
  panel "$CRED" "" GET /device/account-links
  [ "$status" = 401 ] # no panel session
  panel "$CRED" "$SESSION" GET /device/account-links
  [ "$status" = 200 ]
  [ "$(body "[(l['id'], l['status'], l['remote_user']) for l in d['account_links']]")" = \
    "[($LINK_H, 'linked', 'bob')]" ]
  panel "$CRED" "$SESSION" POST /device/account-links "{\"service_url\":\"$REMOTE_URL\"}"
  [ "$status" = 409 ] # already linked
  panel "$CRED" "$SESSION" POST /device/account-links '{"service_url":"gopher://x"}'
  [ "$status" = 400 ]
  # no service named: the tenant's one remote service, which hugo has linked
  panel "$CRED" "$SESSION" POST /device/account-links '{}'
  [ "$status" = 409 ]
}
check "panel: hugo's links; a second link 409 (named or the default service), a bad URL 400" \
  panel_list

stop_remote() {
  kill -TERM "$REMOTE_PID"
  local rc=0
  wait "$REMOTE_PID" || rc=$?
  REMOTE_PID=
  [ "$rc" = 0 ]
}
check "the remote stops" stop_remote
has_error() { [ "$(link_field hugo@acme hugo-pw-1 "$LINK_H" "d['last_error'] or ''")" != "" ]; }
check "the remote down: a check records why" wait_until "last_error" has_error
down_still_linked() {
  link_is hugo@acme hugo-pw-1 "$LINK_H" linked
  [ "$(link_field hugo@acme hugo-pw-1 "$LINK_H" "'no answer' in d['last_error']")" = True ]
}
check "the remote down: still linked, last_error says why" down_still_linked

relink_down() {
  home hugo@acme hugo-pw-1 POST "/api/v1/me/account-links/$LINK_H/relink"
  [ "$status" = 502 ]
  link_is hugo@acme hugo-pw-1 "$LINK_H" linked
}
check "relink while the remote is down: 502, the link unchanged" relink_down

# ---- delete --------------------------------------------------------------------
delete_links() {
  home alice@acme alice-pw-1 DELETE "/api/v1/me/account-links/$LINK_A"
  [ "$status" = 204 ]
  home alice@acme alice-pw-1 GET "/api/v1/me/account-links/$LINK_A"
  [ "$status" = 404 ]
  home alice@acme alice-pw-1 GET /api/v1/me/account-links
  [ "$(body "d['account_links']")" = "[]" ]
  home boss@acme boss-pw-1 DELETE "/api/v1/me/account-links/$LINK_H?user=hugo"
  [ "$status" = 204 ]
  home ivy@acme ivy-pw-1 DELETE "/api/v1/me/account-links/$LINK_I"
  [ "$status" = 204 ]
  [ "$(nimbus_sql "SELECT count(*) FROM account_links")" = 0 ]
}
check "delete: 204, gone (the admin deletes hugo's with ?user=)" delete_links
audited() {
  local actions
  actions=$(api GET '/api/v1/audit?tenant=acme&limit=100' |
    json_get "' '.join(sorted(set(e['action'] for e in d['entries'] if e['action'].startswith('account-link'))))")
  [ "$actions" = "account-link.create account-link.delete account-link.relink" ]
}
check "create, relink and delete are audited" audited
check "still no token in home's log" bash -c "! grep -a -q nmb_ '$NIMBUS_STATE.log' '$NIMBUS_STATE.out'"

check "home stops cleanly" nimbusd_stop
finish test-account-links
