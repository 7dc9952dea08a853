#!/usr/bin/env bash
# nimbusd as an OAuth 2.0 Device Authorization Grant server (RFC 8628;
# docs/FEDERATION.md §2.1, PROTOCOL.md §4.12), with curl against a real
# nimbusd:
#  - the RFC 8414 metadata; POST /oauth/device_authorization (form body:
#    bad content type, bad escapes, repeated or missing parameters, an
#    unknown scope, an oversized body refused; codes, URIs, expires_in 600,
#    interval 5, Cache-Control: no-store); GET /device's 303 to the console;
#  - POST /oauth/token: authorization_pending, slow_down when polled too
#    fast, invalid_client, unsupported_grant_type, invalid_grant;
#  - the user's side: GET /oauth/device?user_code= (case, spaces and dashes
#    ignored), approve with Basic and once with the console's cookie (the
#    CSRF token required), deny → access_denied;
#  - the token issued exactly once (then invalid_grant), labelled
#    "linked: <client_id>", scope federation in GET /tokens: it answers
#    GET /whoami and nothing else (403 urn:nimbus:problem:token-scope for
#    GET /jobs, POST /tokens; IPP Get-Jobs refused with
#    client-error-forbidden); DELETE /tokens/{id} makes whoami 401;
#  - audit oauth.device.approve, oauth.device.deny, oauth.token.issue;
#  - 10 wrong user codes from one user in 10 minutes: 429; 1000 pending
#    grants: 503 slow_down; an expired grant: expired_token
#    (--oauth-device-ttl 2 after a restart);
#  - no user code, device code or token ever appears in nimbusd's log.
set -euo pipefail
source "$(dirname "$0")/test-connector-common.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

T=$(mktemp -d)
_lib_tmpdirs+=("$T")
nimbusd_start
H="127.0.0.1:$NIMBUS_PORT"
check "tenant acme: alice, boss, queue office" conn_setup_tenant

# post PATH [curl args...]: status into $status, headers $T/h, body $T/b
post() {
  local path=$1
  shift
  rm -f "$T/b"
  status=$(curl -sS -D "$T/h" -o "$T/b" -w '%{http_code}' -X POST "$NIMBUS_URL$path" "$@")
}
get() {
  local path=$1
  shift
  rm -f "$T/b"
  status=$(curl -sS -D "$T/h" -o "$T/b" -w '%{http_code}' "$NIMBUS_URL$path" "$@")
}
header() {
  tr -d '\r' <"$T/h" | awk -v n="$(echo "$1" | tr A-Z a-z)" \
    'BEGIN{FS=": "} tolower($1)==n {sub(/^[^:]*: /, ""); v=$0} END{print v}'
}
field() { json_get "d.get('$1')" <"$T/b"; }
# oauth_err STATUS ERROR: the last answer was that OAuth error, not cached
oauth_err() {
  [ "$status" = "$1" ]
  [ "$(field error)" = "$2" ]
  [ -n "$(field error_description)" ]
  [ "$(header Cache-Control)" = no-store ]
}

# start CLIENT: a new grant; DC (device code) and UC (user code)
start() {
  post /oauth/device_authorization --data-urlencode "client_id=$1" -d scope=federation
  [ "$status" = 200 ]
  DC=$(field device_code)
  UC=$(field user_code)
  ALL_CODES+=("$DC" "$UC" "${UC/-/}")
}
# poll DC CLIENT
poll() {
  post /oauth/token -d "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code" \
    --data-urlencode "device_code=$1" --data-urlencode "client_id=$2"
}
ALL_CODES=()
TOKENS=()

# ---- metadata, device authorization ----------------------------------------
metadata() {
  get /.well-known/oauth-authorization-server
  [ "$status" = 200 ]
  [[ "$(header Content-Type)" == application/json* ]]
  [ "$(field issuer)" = "$NIMBUS_URL" ]
  [ "$(field device_authorization_endpoint)" = "$NIMBUS_URL/oauth/device_authorization" ]
  [ "$(field token_endpoint)" = "$NIMBUS_URL/oauth/token" ]
  [ "$(json_get "d['grant_types_supported']" <"$T/b")" = \
    "['urn:ietf:params:oauth:grant-type:device_code']" ]
  [ "$(json_get "d['scopes_supported']" <"$T/b")" = "['federation']" ]
  [ "$(json_get "d['response_types_supported']" <"$T/b")" = "[]" ]
  post /.well-known/oauth-authorization-server
  [ "$status" = 405 ]
}
check "GET /.well-known/oauth-authorization-server: RFC 8414 metadata" metadata

device_authorization_refusals() {
  post /oauth/device_authorization -d scope=federation
  oauth_err 400 invalid_client
  post /oauth/device_authorization -H 'Content-Type: application/json' -d '{"client_id":"x"}'
  oauth_err 400 invalid_request
  post /oauth/device_authorization -d 'client_id=home&client_id=other'
  oauth_err 400 invalid_request
  post /oauth/device_authorization -d 'client_id=ho%zzme'
  oauth_err 400 invalid_request
  post /oauth/device_authorization -d 'client_id=ho%0ame'
  oauth_err 400 invalid_request
  post /oauth/device_authorization -d "client_id=$(printf 'a%.0s' $(seq 1 65))"
  oauth_err 400 invalid_client
  post /oauth/device_authorization -d 'client_id=home&scope=admin'
  oauth_err 400 invalid_scope
  post /oauth/device_authorization -d "client_id=home&pad=$(head -c 5000 /dev/zero | tr '\0' a)"
  oauth_err 413 invalid_request
  get /oauth/device_authorization
  [ "$status" = 405 ]
}
check "device_authorization refuses bad forms: invalid_client/request/scope, 413" \
  device_authorization_refusals

device_authorization() {
  post /oauth/device_authorization -d 'client_id=home.example%3A8631&scope=federation'
  [ "$status" = 200 ]
  [ "$(header Cache-Control)" = no-store ]
  DC=$(field device_code)
  UC=$(field user_code)
  ALL_CODES+=("$DC" "$UC" "${UC/-/}")
  [[ "$UC" =~ ^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$ ]]
  [[ "$DC" =~ ^[A-Za-z0-9_-]{43}$ ]]
  [ "$(field verification_uri)" = "$NIMBUS_URL/device" ]
  [ "$(field verification_uri_complete)" = "$NIMBUS_URL/device?user_code=$UC" ]
  [ "$(field expires_in)" = 600 ]
  [ "$(field interval)" = 5 ]
  DC1=$DC UC1=$UC
  # no scope: federation, the default
  post /oauth/device_authorization -d 'client_id=home.example%3A8631'
  [ "$status" = 200 ]
  ALL_CODES+=("$(field device_code)" "$(field user_code)")
  [ "$(field user_code)" != "$UC1" ]
}
check "device_authorization: codes, verification URIs, expires_in 600, interval 5" \
  device_authorization

device_page() {
  get "/device?user_code=$UC1"
  [ "$status" = 303 ]
  [ "$(header Location)" = "/#/device?code=$UC1" ]
  get /device
  [ "$status" = 303 ]
  [ "$(header Location)" = "/#/device" ]
  get '/device?user_code=%3Cscript%3E'
  [ "$(header Location)" = "/#/device" ]
}
check "GET /device: 303 to the console's #/device page (with the code when it looks like one)" \
  device_page

# ---- polling ---------------------------------------------------------------
polling() {
  poll "$DC1" home.example:8631
  oauth_err 400 authorization_pending
  poll "$DC1" home.example:8631 # at once: faster than the interval
  oauth_err 400 slow_down
  poll "$DC1" other.example
  oauth_err 400 invalid_client
  poll nope-not-a-device-code home.example:8631
  oauth_err 400 invalid_grant
  post /oauth/token -d grant_type=password -d username=alice -d password=alice-pw-1
  oauth_err 400 unsupported_grant_type
  post /oauth/token --data-urlencode "device_code=$DC1" -d client_id=home.example:8631
  oauth_err 400 invalid_request
  # the interval grew by 5 s: stored, as the client must honour it
  [ "$(nimbus_sql "SELECT interval FROM device_grants WHERE status = 'pending' ORDER BY id LIMIT 1")" = 10 ]
}
check "token: authorization_pending, slow_down (interval +5), invalid_client/grant, unsupported" \
  polling

# ---- the user looks and approves (Basic) -----------------------------------
look_and_approve() {
  get "/api/v1/oauth/device?user_code=$UC1"
  [ "$status" = 401 ]
  local typed
  typed=$(echo "${UC1:0:2} ${UC1:2}" | tr A-Z a-z) # "xx xx-xxxx": case and spaces ignored
  get "/api/v1/oauth/device?user_code=$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$typed")" \
    -u alice@acme:alice-pw-1
  [ "$status" = 200 ]
  [ "$(field client_id)" = home.example:8631 ]
  [ "$(field scope)" = federation ]
  [ "$(field status)" = pending ]
  json_get "d['expires_at']" <"$T/b" | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T'
  post /api/v1/oauth/device/approve -u alice@acme:alice-pw-1 -H 'Content-Type: application/json' \
    -d "{\"user_code\":\"$UC1\"}"
  [ "$status" = 200 ]
  [ "$(field status)" = approved ]
  # used: no longer pending
  get "/api/v1/oauth/device?user_code=$UC1" -u alice@acme:alice-pw-1
  [ "$status" = 404 ]
  post /api/v1/oauth/device/deny -u alice@acme:alice-pw-1 -H 'Content-Type: application/json' \
    -d "{\"user_code\":\"$UC1\"}"
  [ "$status" = 404 ]
}
check "GET /oauth/device (401 without credentials), approve as alice (Basic), then 404" \
  look_and_approve

issue_once() {
  poll "$DC1" home.example:8631
  [ "$status" = 200 ]
  [ "$(header Cache-Control)" = no-store ]
  TOKEN=$(field access_token)
  TOKENS+=("$TOKEN")
  [[ "$TOKEN" == nmb_* ]]
  [ "$(field token_type)" = Bearer ]
  [ "$(field scope)" = federation ]
  [ "$(field expires_in)" = 7776000 ]
  poll "$DC1" home.example:8631
  oauth_err 400 invalid_grant
}
check "token: issued once after approval (nmb_, Bearer, federation, 90 days), then invalid_grant" \
  issue_once

# ---- what the token may do -------------------------------------------------
ipp_get_jobs() { # AUTH-ARGS... -> "HTTP-status IPP-status"
  python3 "$HERE/ipp_raw.py" get-jobs "ipp://$H/ipp/print/acme/office" >"$T/ipp-req"
  local code
  code=$(curl -s -o "$T/ipp-resp" -w '%{http_code}' "$@" -H 'Content-Type: application/ipp' \
    --data-binary @"$T/ipp-req" "http://$H/ipp/print/acme/office")
  if [ "$code" = 200 ]; then echo "$code $(python3 "$HERE/ipp_strict.py" "$T/ipp-resp")"; else echo "$code"; fi
}
token_scope() {
  get /api/v1/whoami -H "Authorization: Bearer $TOKEN"
  [ "$status" = 200 ]
  [ "$(field user) $(field tenant)" = "alice acme" ]
  get /api/v1/jobs -H "Authorization: Bearer $TOKEN"
  [ "$status" = 403 ]
  [ "$(field type)" = urn:nimbus:problem:token-scope ]
  post /api/v1/tokens -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{}'
  [ "$status" = 403 ]
  [ "$(field type)" = urn:nimbus:problem:token-scope ]
  get /api/v1/oauth/device?user_code=BBBBBBBB -H "Authorization: Bearer $TOKEN"
  [ "$status" = 403 ]
  # IPP: the bearer token is refused with client-error-forbidden; as a
  # Basic password it is no password (401)
  [ "$(ipp_get_jobs -H "Authorization: Bearer $TOKEN")" = "200 0x0401" ]
  [ "$(ipp_get_jobs -u "alice@acme:$TOKEN")" = 401 ]
  # a full-access token of alice still works on IPP (the refusal is the scope's)
  [ "$(ipp_get_jobs -u alice@acme:alice-pw-1)" = "200 0x0000" ]
}
check "the federation token: GET /whoami 200; /jobs, POST /tokens 403 token-scope; IPP forbidden" \
  token_scope

tokens_list() {
  get /api/v1/tokens -u alice@acme:alice-pw-1
  [ "$status" = 200 ]
  [ "$(json_get "[(t['label'], t['scope']) for t in d['tokens']]" <"$T/b")" = \
    "[('linked: home.example:8631', 'federation')]" ]
  TOKEN_ID=$(json_get "d['tokens'][0]['id']" <"$T/b")
  post /api/v1/tokens -u alice@acme:alice-pw-1 -H 'Content-Type: application/json' \
    -d '{"label":"cli"}'
  [ "$status" = 201 ]
  TOKENS+=("$(field token)")
  get /api/v1/tokens -u alice@acme:alice-pw-1
  [ "$(json_get "[t['scope'] for t in d['tokens']]" <"$T/b")" = "['federation', None]" ]
}
check "GET /tokens: the linked token with scope federation, a plain one with scope null" tokens_list

# ---- approve through the console's session (cookie + CSRF) ------------------
cookie_approve() {
  start home.example:8631
  local dc=$DC uc=$UC jar="$T/alice.jar"
  post /api/v1/session -c "$jar" -H 'Content-Type: application/json' \
    -d '{"user":"alice@acme","password":"alice-pw-1"}'
  [ "$status" = 201 ]
  local csrf
  csrf=$(field csrf_token)
  get "/api/v1/oauth/device?user_code=$uc" -b "$jar"
  [ "$status" = 200 ]
  post /api/v1/oauth/device/approve -b "$jar" -H 'Content-Type: application/json' \
    -d "{\"user_code\":\"$uc\"}"
  [ "$status" = 403 ]
  [ "$(field type)" = urn:nimbus:problem:csrf ]
  post /api/v1/oauth/device/approve -b "$jar" -H "X-CSRF-Token: $csrf" \
    -H 'Content-Type: application/json' -d "{\"user_code\":\"$uc\"}"
  [ "$status" = 200 ]
  [ "$(field status)" = approved ]
  poll "$dc" home.example:8631
  [ "$status" = 200 ]
  TOKENS+=("$(field access_token)")
  get /api/v1/whoami -H "Authorization: Bearer $(field access_token)"
  [ "$status" = 200 ]
}
check "approve by the console's cookie: without X-CSRF-Token 403 csrf, with it 200; token issued" \
  cookie_approve

deny() {
  start other.example
  post /api/v1/oauth/device/deny -u boss@acme:boss-pw-1 -H 'Content-Type: application/json' \
    -d "{\"user_code\":\"$UC\"}"
  [ "$status" = 200 ]
  [ "$(field status)" = denied ]
  poll "$DC" other.example
  oauth_err 400 access_denied
  get "/api/v1/oauth/device?user_code=$UC" -u boss@acme:boss-pw-1
  [ "$status" = 404 ]
}
check "deny: 200 denied, then the client's poll access_denied" deny

audited() {
  get /api/v1/audit -u boss@acme:boss-pw-1
  [ "$status" = 200 ]
  local actions
  actions=$(json_get "' '.join(sorted(set(e['action'] for e in d['entries'] if e['action'].startswith('oauth.'))))" <"$T/b")
  [ "$actions" = "oauth.device.approve oauth.device.deny oauth.token.issue" ]
  json_get "[e['detail'] for e in d['entries'] if e['action'] == 'oauth.token.issue'][0]" <"$T/b" |
    grep -q "client_id=home.example:8631"
  [ "$(json_get "len([e for e in d['entries'] if e['action'] == 'oauth.token.issue'])" <"$T/b")" = 2 ]
}
check "audit: oauth.device.approve, oauth.device.deny, oauth.token.issue (twice)" audited

revoke() {
  curl -fsS -o /dev/null -u alice@acme:alice-pw-1 -X DELETE "$NIMBUS_URL/api/v1/tokens/$TOKEN_ID"
  get /api/v1/whoami -H "Authorization: Bearer $TOKEN"
  [ "$status" = 401 ]
}
check "DELETE /tokens/{id}: the linked token no longer answers whoami (401)" revoke

# ---- limits ----------------------------------------------------------------
wrong_codes() {
  start home.example:8631
  local i
  for i in $(seq 1 10); do
    get /api/v1/oauth/device?user_code=BBBB-BBB$(echo CDFGHJKLMN | cut -c"$i") -u boss@acme:boss-pw-1
    [ "$status" = 404 ]
  done
  get "/api/v1/oauth/device?user_code=$UC" -u boss@acme:boss-pw-1
  [ "$status" = 429 ]
  [ -n "$(header Retry-After)" ]
  post /api/v1/oauth/device/approve -u boss@acme:boss-pw-1 -H 'Content-Type: application/json' \
    -d "{\"user_code\":\"$UC\"}"
  [ "$status" = 429 ]
  # another user is not held back by boss's guesses
  get "/api/v1/oauth/device?user_code=$UC" -u alice@acme:alice-pw-1
  [ "$status" = 200 ]
}
check "10 wrong user codes from one user: the 11th lookup and approve 429 (others unaffected)" \
  wrong_codes

pending_cap() {
  local n
  n=$(nimbus_sql "SELECT count(*) FROM device_grants WHERE status = 'pending'")
  if [ -n "${NIMBUS_TEST_STORE_URL:-}" ]; then
    nimbus_sql "INSERT INTO device_grants (user_code_hash, device_code_hash, client_id, scope, created_at, expires_at) SELECT sha256(('u' || i)::bytea), sha256(('d' || i)::bytea), 'filler', 'federation', 0, 4000000000 FROM generate_series(1, $((1000 - n))) AS i" >/dev/null
  else
    nimbus_sql "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $((1000 - n))) INSERT INTO device_grants (user_code_hash, device_code_hash, client_id, scope, created_at, expires_at) SELECT randomblob(32), randomblob(32), 'filler', 'federation', 0, 4000000000 FROM s" >/dev/null
  fi
  [ "$(nimbus_sql "SELECT count(*) FROM device_grants WHERE status = 'pending'")" = 1000 ]
  post /oauth/device_authorization -d client_id=home
  oauth_err 503 slow_down
  nimbus_sql "DELETE FROM device_grants WHERE client_id = 'filler'" >/dev/null
  post /oauth/device_authorization -d client_id=home
  [ "$status" = 200 ]
  ALL_CODES+=("$(field device_code)" "$(field user_code)")
}
check "1000 pending grants: device_authorization 503 slow_down" pending_cap

expired() {
  nimbusd_stop
  nimbusd_restart --oauth-device-ttl 2
  start home.example:8631
  [ "$(field expires_in)" = 2 ]
  sleep 3
  poll "$DC" home.example:8631
  oauth_err 400 expired_token
  get "/api/v1/oauth/device?user_code=$UC" -u alice@acme:alice-pw-1
  [ "$status" = 404 ]
  post /api/v1/oauth/device/approve -u alice@acme:alice-pw-1 -H 'Content-Type: application/json' \
    -d "{\"user_code\":\"$UC\"}"
  [ "$status" = 404 ]
}
check "an expired grant: expired_token, and the user can no longer approve it (404)" expired

no_secrets_logged() {
  local s
  [ "${#ALL_CODES[@]}" -ge 10 ]
  [ "${#TOKENS[@]}" -ge 3 ]
  for s in "${ALL_CODES[@]}" "${TOKENS[@]}"; do
    [ -n "$s" ]
    if grep -qF -- "$s" "$NIMBUS_STATE.log" "$NIMBUS_STATE.out"; then
      echo "a code or token is in the log" >&2
      return 1
    fi
  done
  grep -q "oauth token issued" "$NIMBUS_STATE.log" # the log does speak of them
}
check "no user code, device code or token in nimbusd's log" no_secrets_logged

check "nimbusd exits cleanly" nimbusd_stop
finish test-oauth-device
