#!/usr/bin/env bash
# Unknown user names and aliases (issue 9, item 5; PROTOCOL.md 7.1 and
# "User aliases", OPERATIONS.md "Unknown user names").  Real nimbusd and
# nimbus-connector, ipptool as the PC:
#  - aliases over REST: add, list, remove (case-insensitive), and the
#    errors: 400 bad alias or field, 403 not an admin, 404 no such user or
#    alias, 409 an alias already taken or another user's name, 409 a new
#    user named like an alias;
#  - a name that is no user is refused with client-error-not-authorized and
#    a status-message naming it, by a nimbusd queue that takes anonymous
#    jobs and by the printer's listener (the connector passes nimbusd's
#    refusal on); after an alias is added the same name prints and the job
#    is the user's;
#  - an alias of tenant acme means nothing in tenant beta;
#  - tenant set to hold: the name's job is taken and kept held without an
#    owner (issue 8's behaviour), on both paths;
#  - refusals are counted per client address (nimbusd) and per PC (through
#    the printer): past --login-failures-per-address the answer is
#    server-error-busy for any name from that address, while another PC's
#    refusals through the printer are still answered;
#  - the printer's panel signs in an alias as its user.
set -euo pipefail
source "$(dirname "$0")/test-connector-common.sh"

TESTS="$HERE/ipp"
PDF="$NIMBUS_TEST_DATA/onepage.pdf"
MAX_REFUSALS=8

nimbusd_start --login-failures-per-address "$MAX_REFUSALS"
check "tenant acme: alice, boss, queue office" conn_setup_tenant

# rest METHOD PATH [JSON] as boss (tenant-admin of acme): the status code; body in $CONN_DIR/body
rest_as() {
  local who=$1 method=$2 path=$3 data=${4:-}
  local args=(-sS -o "$CONN_DIR/body" -w '%{http_code}' -u "$who" -X "$method")
  [ -n "$data" ] && args+=(-H 'Content-Type: application/json' -d "$data")
  curl "${args[@]}" "$NIMBUS_URL$path"
}
rest() { rest_as boss@acme:boss-pw-1 "$@"; }
is() { # is STATUS METHOD PATH [JSON]: the call answers STATUS (a problem document when >= 400)
  local want=$1 got
  shift
  got=$(rest "$@")
  if [ "$got" != "$want" ]; then
    echo "  $* answered $got, not $want: $(cat "$CONN_DIR/body")" >&2
    return 1
  fi
  if [ "$want" -ge 400 ]; then
    [ "$(json_get "d['status']" <"$CONN_DIR/body")" = "$want" ] || return 1
  fi
}
body_has() { grep -q -- "$1" "$CONN_DIR/body"; }
opapi() { # opapi METHOD PATH JSON: as the operator, expecting 2xx
  api "$1" "$2" -H 'Content-Type: application/json' -d "$3" -o /dev/null -w '%{http_code}' |
    grep -q '^20'
}

# ---- the tenant setting -------------------------------------------------------
check "tenant acme refuses unknown names by default" \
  test "$(api GET /api/v1/tenants/acme | json_get "d['unknown_user_names']")" = refuse
check "unknown_user_names takes only refuse or hold (400)" \
  test "$(api PATCH /api/v1/tenants/acme -H 'Content-Type: application/json' \
    -d '{"unknown_user_names":"maybe"}' -o /dev/null -w '%{http_code}')" = 400
check "queue guests takes anonymous jobs and holds them" \
  opapi POST '/api/v1/queues?tenant=acme' '{"name":"guests","allow_anonymous":true}'
check "tenant beta with user carol and its own anonymous queue guests" bash -c '
  set -e
  '"$(declare -f api)"'
  for b in "/api/v1/tenants {\"name\":\"beta\"}" \
    "/api/v1/users?tenant=beta {\"name\":\"carol\",\"password\":\"carol-pw-1\"}" \
    "/api/v1/queues?tenant=beta {\"name\":\"guests\",\"allow_anonymous\":true}"; do
    api POST "${b%% *}" -H "Content-Type: application/json" -d "${b#* }" -o /dev/null \
      -w "%{http_code}" | grep -qx 201
  done'

# ---- aliases over REST ---------------------------------------------------------
check "add alias CORP\\jdoe to alice: 201" is 201 POST /api/v1/users/alice/aliases '{"alias":"CORP\\jdoe"}'
check "... the answer names alias and user" \
  test "$(json_get "d['alias'] + '|' + d['user']" <"$CONN_DIR/body")" = 'CORP\jdoe|alice'
check "add ALICE (her own name in capitals) to alice: 201" \
  is 201 POST /api/v1/users/alice/aliases '{"alias":"ALICE"}'
check "the same alias in another case: 409" \
  is 409 POST /api/v1/users/alice/aliases '{"alias":"corp\\JDOE"}'
check "... saying it is already alice's" body_has "already an alias of user 'alice'"
check "that alias for another user: 409" is 409 POST /api/v1/users/boss/aliases '{"alias":"Corp\\JDoe"}'
check "... without naming the owner" body_has "already an alias of another user"
check "another user's name (any case) as an alias: 409" \
  is 409 POST /api/v1/users/alice/aliases '{"alias":"BOSS"}'
check "... saying so" body_has "is the name of another user"
check "no such user: 404" is 404 POST /api/v1/users/ghost/aliases '{"alias":"x"}'
check "empty alias: 400" is 400 POST /api/v1/users/alice/aliases '{"alias":""}'
check "alias with a control character: 400" is 400 POST /api/v1/users/alice/aliases '{"alias":"a\tb"}'
check "alias with a space at the end: 400" is 400 POST /api/v1/users/alice/aliases '{"alias":"ab "}'
check "alias of 64 bytes: 400" is 400 POST /api/v1/users/alice/aliases \
  "{\"alias\":\"$(printf 'a%.0s' $(seq 1 64))\"}"
check "unknown member: 400" is 400 POST /api/v1/users/alice/aliases '{"alias":"x","user":"boss"}'
check "a user (not an admin) cannot add aliases: 403" \
  test "$(rest_as alice@acme:alice-pw-1 POST /api/v1/users/alice/aliases '{"alias":"al"}')" = 403
check "nor list them: 403" test "$(rest_as alice@acme:alice-pw-1 GET /api/v1/users/alice/aliases)" = 403
check "boss gets alias pcname" is 201 POST /api/v1/users/boss/aliases '{"alias":"pcname"}'
check "a new user named like an alias: 409" \
  is 409 POST /api/v1/users '{"name":"PCName","password":"pw-123456"}'
check "... naming the alias's user" body_has "is an alias of user 'boss'"
check "list alice's aliases" is 200 GET /api/v1/users/alice/aliases
check "... both, with their user" \
  test "$(json_get "','.join(sorted(a['alias'] + '=' + a['user'] for a in d['aliases']))" \
    <"$CONN_DIR/body")" = 'ALICE=alice,CORP\jdoe=alice'
check "remove without ?alias=: 400" is 400 DELETE /api/v1/users/alice/aliases
check "remove ALICE, spelt alice: 204" is 204 DELETE '/api/v1/users/alice/aliases?alias=alice'
check "remove it again: 404" is 404 DELETE '/api/v1/users/alice/aliases?alias=ALICE'
check "remove another user's alias through alice: 404" \
  is 404 DELETE '/api/v1/users/alice/aliases?alias=pcname'
check "nimbusctl user alias list shows CORP\\jdoe" bash -c \
  "'$NIMBUSCTL' --url '$NIMBUS_URL' --user boss@acme --password boss-pw-1 user alias list alice | grep -qF 'CORP\\jdoe'"
check "nimbusctl user alias add/remove" bash -c "
  '$NIMBUSCTL' --url '$NIMBUS_URL' --user boss@acme --password boss-pw-1 user alias add alice tmp-name >/dev/null &&
  '$NIMBUSCTL' --url '$NIMBUS_URL' --user boss@acme --password boss-pw-1 user alias remove alice TMP-NAME >/dev/null &&
  ! '$NIMBUSCTL' --url '$NIMBUS_URL' --user boss@acme --password boss-pw-1 user alias list alice | grep -q tmp-name"

# ---- the printer ---------------------------------------------------------------
check "register the printer lobby" conn_register lobby "$(conn_claim lobby)"
mkdir -p "$CONN_DIR/out"
check "connector starts with --listen-ipp" conn_start lobby --output "file://$CONN_DIR/out" \
  --listen-ipp 127.0.0.1:0
ipp_port() { sed -n 's/.*msg="ipp listening".* port=\([0-9]*\).*/\1/p' "$CONN_DIR/lobby.log" | tail -1; }
has_ipp_port() { [ -n "$(ipp_port)" ]; }
check "the ipp listener logged its port" wait_until 'msg="ipp listening"' has_ipp_port
PRINTER="ipp://127.0.0.1:$(ipp_port)/ipp/print"
GUESTS="ipp://127.0.0.1:$NIMBUS_PORT/ipp/print/acme/guests"
BETA_GUESTS="ipp://127.0.0.1:$NIMBUS_PORT/ipp/print/beta/guests"

# print_as OK|REFUSED URI NAME [PC address]: ipptool Print-Job as NAME
print_as() {
  local want=$1 uri=$2 name=$3 test=print-as.test
  [ "$want" = REFUSED ] && test=print-as-refused.test
  ipptool -t -T 30 -d "owner=$name" -f "$PDF" "$uri" "$TESTS/$test"
}
jobs_of() { # jobs_of TENANT: "id owner state origin" lines, all states
  api GET "/api/v1/jobs?tenant=$1&state=all&limit=1000" |
    json_get "'\n'.join('%s %s %s %s' % (j['id'], j['owner'], j['state'], j['origin_device'] or '-') for j in d['jobs'])"
}
newest_job() { jobs_of "$1" | sort -n | tail -1; }

# ---- refuse (the default) --------------------------------------------------------
check "nimbusd queue: bob (no user) is refused with the message" print_as REFUSED "$GUESTS" bob
check "listener: bob is refused with nimbusd's message" print_as REFUSED "$PRINTER" bob
check "nimbusd logged the refusals" \
  test "$(grep -c 'msg="refused a job for a name that is no user"' "$NIMBUS_STATE.log")" -ge 2
check "no job was stored" test -z "$(jobs_of acme)"
check "alias CORP\\bob for alice" is 201 POST /api/v1/users/alice/aliases '{"alias":"CORP\\bob"}'
check "alias bob@corp.example for alice" is 201 POST /api/v1/users/alice/aliases '{"alias":"bob@corp.example"}'
check "nimbusd queue: corp\\BOB now prints" print_as OK "$GUESTS" 'corp\BOB'
check "... the job is alice's, held for her" bash -c "test \"\$(echo '$(newest_job acme)' | cut -d' ' -f2-)\" = 'alice held -'"
check "listener: BOB@corp.example now prints" print_as OK "$PRINTER" 'BOB@corp.example'
check "... the job is alice's, held, through lobby" \
  bash -c "test \"\$(echo '$(newest_job acme)' | cut -d' ' -f2-)\" = 'alice held lobby'"
check "alice's own name still prints through the listener" print_as OK "$PRINTER" alice
check "cross-tenant: CORP\\bob means nothing in tenant beta" print_as REFUSED "$BETA_GUESTS" 'CORP\bob'
check "... nor alice" print_as REFUSED "$BETA_GUESTS" alice
check "... and beta stored no job" test -z "$(jobs_of beta)"

# ---- hold: issue 8's behaviour ------------------------------------------------------
check "tenant acme set to hold (nimbusctl)" "$NIMBUSCTL" --url "$NIMBUS_URL" --user admin@system \
  --password "$NIMBUS_ADMIN_PASSWORD" tenant set acme --unknown-user-names hold
check "... shown by the API" \
  test "$(api GET /api/v1/tenants/acme | json_get "d['unknown_user_names']")" = hold
check "listener: zed (no user) is answered as a user is" print_as OK "$PRINTER" zed
check "... its job held without an owner, through lobby" \
  bash -c "test \"\$(echo '$(newest_job acme)' | cut -d' ' -f2-)\" = 'zed held lobby'"
check "nimbusd queue: zed is taken too" print_as OK "$GUESTS" zed
check "... held without an owner" \
  bash -c "test \"\$(echo '$(newest_job acme)' | cut -d' ' -f2-)\" = 'zed held -'"
check "zed's jobs have no owner id (no user's panel lists them)" \
  test "$(api GET '/api/v1/jobs?tenant=acme&state=all&user=alice&limit=1000' |
    json_get "sum(1 for j in d['jobs'] if j['owner'] == 'zed')")" = 0
check "back to refuse" opapi PATCH /api/v1/tenants/acme '{"unknown_user_names":"refuse"}'

# ---- refusals are throttled per client address / per PC --------------------------------
# Every refusal from 127.0.0.1 straight to nimbusd counts (two above); once
# MAX_REFUSALS are counted, any name from that address is busy.
busy_direct() {
  ipptool -t -T 30 -d owner="$1" -f "$PDF" "$GUESTS" "$TESTS/print-as-busy.test"
}
refuse_until_busy() {
  local i
  for i in $(seq 1 $((MAX_REFUSALS + 1))); do
    if busy_direct "probe$i" >/dev/null 2>&1; then return 0; fi
  done
  echo "  never busy after $((MAX_REFUSALS + 1)) refusals" >&2
  return 1
}
check "probing names straight to nimbusd ends in server-error-busy" refuse_until_busy
check "... then a known alias from that address is busy too (no answer tells names apart)" \
  busy_direct 'CORP\bob'
check "the PC behind the printer has its own count: still refused, not busy" \
  print_as REFUSED "$PRINTER" bob
check "and it prints under its alias" print_as OK "$PRINTER" 'bob@corp.example'

# ---- the panel's sign-in takes an alias too ---------------------------------------
JAR="$CONN_DIR/cookies"
panel_login() { # panel_login USER SECRET: the HTTP status; the page in $CONN_DIR/page.html
  rm -f "$JAR"
  curl -sS -b "$JAR" -c "$JAR" -L -o "$CONN_DIR/page.html" -w '%{http_code}' -d csrf= \
    --data-urlencode "user=$1" --data-urlencode "secret=$2" "$(conn_panel lobby)/release/login"
}
check "panel sign-in as CORP\\BOB with alice's password" test "$(panel_login 'CORP\BOB' alice-pw-1)" = 200
check "... lists alice's jobs through lobby" grep -q 'class="job"' "$CONN_DIR/page.html"
check "panel sign-in as an unknown name is refused as a wrong password" \
  test "$(panel_login 'CORP\nobody' alice-pw-1)" = 401

check "connector stops cleanly" conn_stop lobby
check "nimbusd stops cleanly" nimbusd_stop
finish test-user-aliases
