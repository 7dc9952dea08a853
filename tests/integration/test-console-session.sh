#!/usr/bin/env bash
# The web console's serving, sessions and CSRF (docs/CONSOLE.md §1.2 and
# §1.3, PROTOCOL.md §4.2), with curl and a cookie jar against a real
# nimbusd serving a small console directory made here:
#  - the static files: / with the CSP and the other headers, /assets/x.js
#    as text/javascript, ETag and 304, HEAD; ../, hidden files, symbolic
#    links, sub-paths and other methods refused; no console directory:
#    "the web console is not installed";
#  - sign-in: the cookie's attributes (HttpOnly, SameSite=Strict, Path=/,
#    Secure only over TLS or through --trust-proxy with X-Forwarded-Proto),
#    GET /session, a wrong password 401 with the Session challenge;
#  - the cookie authenticates REST calls and the upload; CSRF: a missing or
#    wrong X-CSRF-Token is 403 urn:nimbus:problem:csrf (an upload refused so
#    spools nothing), the right one passes; an Authorization header wins;
#  - a cookie never reaches another tenant's or another user's data;
#  - sign-out clears the cookie and ends the session; idle expiry
#    (--session-idle 5); a password or role change ends sessions;
#  - audit entries session-created / session-ended; neither the session
#    secret nor the password ever appears in nimbusd's log.
set -euo pipefail
source "$(dirname "$0")/test-connector-common.sh"

PDF="$NIMBUS_TEST_DATA/onepage.pdf"
T=$(mktemp -d)
_lib_tmpdirs+=("$T")
CONSOLE="$T/console"
mkdir -p "$CONSOLE/sub"
printf '<!doctype html><title>Nimbus Print</title><script src="/assets/x.js"></script>\n' \
  >"$CONSOLE/index.html"
printf 'export const x = 1;\n' >"$CONSOLE/x.js"
printf 'body{}\n' >"$CONSOLE/console.css"
printf 'hidden\n' >"$CONSOLE/.hidden"
printf 'below\n' >"$CONSOLE/sub/b"
ln -s /etc/passwd "$CONSOLE/passwd.js"
ln -s "$CONSOLE/x.js" "$CONSOLE/link.js"

nimbusd_start --console-dir "$CONSOLE"
check "tenant acme: alice, boss, queue office" conn_setup_tenant
check "tenant beta: carol" api POST /api/v1/tenants -H 'Content-Type: application/json' \
  -d '{"name":"beta"}' -o /dev/null
api POST '/api/v1/users?tenant=beta' -H 'Content-Type: application/json' \
  -d '{"name":"carol","password":"carol-pw-1"}' -o /dev/null

# get URL [curl args...]: status into $status, headers into $T/h, body into $T/b
get() {
  local url=$1
  shift
  rm -f "$T/b" # curl writes no file for an empty body
  status=$(curl -sS --path-as-is -D "$T/h" -o "$T/b" -w '%{http_code}' "$NIMBUS_URL$url" "$@")
}
# header NAME: the value of a response header in $T/h (last one)
header() {
  tr -d '\r' <"$T/h" | awk -v n="$(echo "$1" | tr A-Z a-z)" \
    'BEGIN{FS=": "} tolower($1)==n {sub(/^[^:]*: /, ""); v=$0} END{print v}'
}
header_count() { tr -d '\r' <"$T/h" | grep -ci "^$1:" || true; }
problem_detail() { json_get "d.get('detail', '')" <"$T/b"; }

# ---- the static files ------------------------------------------------------
CSP="default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
index_page() {
  get /
  [ "$status" = 200 ]
  cmp -s "$T/b" "$CONSOLE/index.html"
  [ "$(header Content-Type)" = "text/html; charset=utf-8" ]
  [ "$(header Content-Security-Policy)" = "$CSP" ]
  [ "$(header_count Content-Security-Policy)" = 1 ] # one policy, not two
  [ "$(header X-Content-Type-Options)" = nosniff ]
  [ "$(header Referrer-Policy)" = no-referrer ]
  [ "$(header X-Frame-Options)" = DENY ]
  [ "$(header Cache-Control)" = no-cache ]
  [ -n "$(header ETag)" ]
}
check "/ answers index.html with the console's CSP and headers" index_page

asset_js() {
  get /assets/x.js
  [ "$status" = 200 ]
  cmp -s "$T/b" "$CONSOLE/x.js"
  [ "$(header Content-Type)" = "text/javascript; charset=utf-8" ]
  [ "$(header Content-Security-Policy)" = "$CSP" ]
  get /assets/console.css
  [ "$status" = 200 ]
  [ "$(header Content-Type)" = "text/css; charset=utf-8" ]
}
check "/assets/x.js is text/javascript, /assets/console.css text/css" asset_js

etag_304() {
  get /assets/x.js
  local etag
  etag=$(header ETag)
  get /assets/x.js -H "If-None-Match: $etag"
  [ "$status" = 304 ]
  [ ! -s "$T/b" ]
  [ "$(header ETag)" = "$etag" ]
  get /assets/x.js -H 'If-None-Match: "something-else"'
  [ "$status" = 200 ]
  # a changed file has another ETag
  sleep 0.01
  printf 'export const x = 2;\n' >"$CONSOLE/x.js"
  get /assets/x.js -H "If-None-Match: $etag"
  [ "$status" = 200 ]
  grep -q 'x = 2' "$T/b"
}
check "ETag: If-None-Match answers 304, a changed file 200" etag_304

head_request() {
  status=$(curl -sS -I -D "$T/h" -o /dev/null -w '%{http_code}' "$NIMBUS_URL/")
  [ "$status" = 200 ]
  [ "$(header Content-Length)" = "$(stat -c %s "$CONSOLE/index.html")" ]
  [ "$(header Content-Security-Policy)" = "$CSP" ]
}
check "HEAD / answers the headers of index.html" head_request

refused_paths() {
  local p
  for p in /assets/../etc/passwd /assets/..%2fetc%2fpasswd /assets/.hidden /assets/passwd.js \
    /assets/link.js /assets/sub/b /assets/a/b /assets/ /assets /index.html /etc/passwd; do
    get "$p"
    if [ "$status" != 404 ]; then
      echo "  $p answered $status" >&2
      return 1
    fi
    json_get "d['status']" <"$T/b" | grep -qx 404
  done
  get /assets/x.js -X POST
  [ "$status" = 405 ]
  [ "$(header Allow)" = "GET, HEAD" ]
}
check "../, hidden files, symbolic links, sub-paths: 404; POST 405" refused_paths

# ---- sign-in ---------------------------------------------------------------
# signin JAR USER PASSWORD [curl args...]: POST /session; status, headers, body as get
signin() {
  local jar=$1 user=$2 pw=$3
  shift 3
  status=$(curl -sS -D "$T/h" -o "$T/b" -w '%{http_code}' -c "$jar" -b "$jar" \
    -H 'Content-Type: application/json' -d "{\"user\":\"$user\",\"password\":\"$pw\"}" \
    "$NIMBUS_URL/api/v1/session" "$@")
}
# secret JAR: the nimbus_session value in a cookie jar
secret() { awk '$6 == "nimbus_session" {print $7}' "$1"; }
# as JAR METHOD PATH [curl args...]: an API call with the cookie
as() {
  local jar=$1 method=$2 path=$3
  shift 3
  rm -f "$T/b"
  status=$(curl -sS -D "$T/h" -o "$T/b" -w '%{http_code}' -b "$jar" -c "$jar" -X "$method" \
    "$NIMBUS_URL/api/v1$path" "$@")
}

ALICE="$T/alice.jar"
alice_signs_in() {
  signin "$ALICE" alice@acme alice-pw-1 -H 'X-Forwarded-Proto: https'
  [ "$status" = 201 ]
  local c
  c=$(header Set-Cookie)
  [[ "$c" == "nimbus_session=nms_"* ]]
  [[ "$c" == *"; Path=/"* ]]
  [[ "$c" == *"; HttpOnly"* ]]
  [[ "$c" == *"; SameSite=Strict"* ]]
  [[ "$c" != *Secure* ]] # plain HTTP, and X-Forwarded-Proto is not trusted without --trust-proxy
  [[ "$(header Cache-Control)" == no-store ]]
  [ "$(json_get "d['user']+' '+d['tenant']+' '+d['role']" <"$T/b")" = "alice acme user" ]
  [ "$(json_get "d['idle_timeout']" <"$T/b")" = 1800 ]
  json_get "d['expires_at']" <"$T/b" | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T'
  ALICE_CSRF=$(json_get "d['csrf_token']" <"$T/b")
  [ ${#ALICE_CSRF} -ge 40 ]
  ALICE_SECRET=$(secret "$ALICE")
  [[ "$ALICE_SECRET" == nms_* ]]
}
check "POST /session: 201, the cookie HttpOnly, SameSite=Strict, Path=/, no Secure over HTTP" \
  alice_signs_in

session_get() {
  as "$ALICE" GET /session
  [ "$status" = 200 ]
  [ "$(json_get "d['user']+'@'+d['tenant']" <"$T/b")" = alice@acme ]
  [ "$(json_get "d['csrf_token']" <"$T/b")" = "$ALICE_CSRF" ] # the same session, the same token
  as "$ALICE" GET /whoami
  [ "$status" = 200 ]
  [ "$(json_get "d['user']" <"$T/b")" = alice ]
}
check "GET /session and GET /whoami with the cookie" session_get

wrong_password() {
  signin "$T/nobody.jar" alice@acme wrong-password
  [ "$status" = 401 ]
  [ "$(header WWW-Authenticate)" = 'Session realm="Nimbus Print"' ]
  [ -z "$(secret "$T/nobody.jar")" ]
  get /api/v1/session
  [ "$status" = 401 ]
  [ "$(header WWW-Authenticate)" = 'Session realm="Nimbus Print"' ]
  # the console's own calls never get a Basic challenge (no browser dialog)
  get /api/v1/jobs -H 'X-Nimbus-Console: 1'
  [ "$status" = 401 ]
  [ "$(header WWW-Authenticate)" = 'Session realm="Nimbus Print"' ]
  get /api/v1/jobs
  [ "$status" = 401 ]
  [ "$(header WWW-Authenticate)" = 'Basic realm="Nimbus Print"' ]
  signin "$T/nobody.jar" alice acme
  [ "$status" = 400 ]
}
check "a wrong password: 401 with the Session challenge, no cookie" wrong_password

# ---- cookie authentication and CSRF ----------------------------------------
JOB_BOSS=$(curl -fsS -u boss@acme:boss-pw-1 -F queue=office -F "document=@$PDF" \
  "$NIMBUS_URL/api/v1/jobs" | json_get "d['id']")
job_count() { api GET '/api/v1/jobs?tenant=acme&state=all' | json_get "d['total']"; }

cookie_reads() {
  as "$ALICE" GET /jobs
  [ "$status" = 200 ]
  json_get "d['jobs']" <"$T/b" >/dev/null
  as "$ALICE" GET /queues
  [ "$status" = 200 ]
  grep -q office "$T/b"
}
check "the cookie authenticates GET /jobs and GET /queues" cookie_reads

csrf_tokens() {
  as "$ALICE" POST /tokens -H 'Content-Type: application/json' -d '{"label":"a"}'
  [ "$status" = 403 ]
  [ "$(json_get "d['type']" <"$T/b")" = urn:nimbus:problem:csrf ]
  [ "$(problem_detail)" = "missing or wrong CSRF token" ]
  as "$ALICE" POST /tokens -H 'Content-Type: application/json' -d '{"label":"b"}' \
    -H "X-CSRF-Token: ${ALICE_CSRF%?}x"
  [ "$status" = 403 ]
  [ "$(json_get "d['type']" <"$T/b")" = urn:nimbus:problem:csrf ]
  as "$ALICE" GET /tokens
  [ "$(json_get "len(d['tokens'])" <"$T/b")" = 0 ] # neither refused call made one
  as "$ALICE" POST /tokens -H 'Content-Type: application/json' -d '{"label":"c"}' \
    -H "X-CSRF-Token: $ALICE_CSRF"
  [ "$status" = 201 ]
  as "$ALICE" GET /tokens
  [ "$(json_get "len(d['tokens'])" <"$T/b")" = 1 ]
}
check "POST /tokens by cookie: no or a wrong X-CSRF-Token 403 csrf, the right one 201" csrf_tokens

csrf_upload() {
  local before spool_before
  before=$(job_count)
  spool_before=$(find "$NIMBUS_STATE" -type f -path '*spool*' | wc -l)
  as "$ALICE" POST /jobs -F queue=office -F "document=@$PDF"
  [ "$status" = 403 ]
  [ "$(json_get "d['type']" <"$T/b")" = urn:nimbus:problem:csrf ]
  as "$ALICE" POST /jobs -F queue=office -F "document=@$PDF" -H 'X-CSRF-Token: nope'
  [ "$status" = 403 ]
  [ "$(job_count)" = "$before" ]
  [ "$(find "$NIMBUS_STATE" -type f -path '*spool*' | wc -l)" = "$spool_before" ]
  as "$ALICE" POST /jobs -F queue=office -F "document=@$PDF" -H "X-CSRF-Token: $ALICE_CSRF"
  [ "$status" = 201 ]
  ALICE_JOB=$(json_get "d['id']" <"$T/b")
  [ "$(json_get "d['owner']" <"$T/b")" = alice ]
  [ "$(job_count)" = $((before + 1)) ]
}
check "upload POST /jobs by cookie: without the token 403 and nothing spooled, with it 201" \
  csrf_upload

header_wins() {
  # Basic with the cookie: the header is who asks, and needs no CSRF token
  as "$ALICE" GET /whoami -u boss@acme:boss-pw-1
  [ "$status" = 200 ]
  [ "$(json_get "d['user']" <"$T/b")" = boss ]
  as "$ALICE" POST /tokens -u boss@acme:boss-pw-1 -H 'Content-Type: application/json' -d '{}'
  [ "$status" = 201 ]
  # a wrong header is refused even with a good cookie (no fall back)
  as "$ALICE" GET /whoami -u boss@acme:wrong
  [ "$status" = 401 ]
  as "$ALICE" GET /whoami -H 'Authorization: Bearer nmb_not-a-token'
  [ "$status" = 401 ]
}
check "an Authorization header wins over the cookie" header_wins

isolation() {
  as "$ALICE" GET '/jobs?tenant=beta'
  [ "$status" = 403 ]
  as "$ALICE" GET '/users?tenant=system'
  [ "$status" = 403 ]
  as "$ALICE" GET "/jobs/$JOB_BOSS"
  [ "$status" = 404 ]
  as "$ALICE" GET "/jobs/$ALICE_JOB"
  [ "$status" = 200 ]
  as "$ALICE" GET /users
  [ "$status" = 403 ] # a plain user administers nothing
  # carol (tenant beta) sees neither acme's job nor acme's users
  local carol="$T/carol.jar"
  signin "$carol" carol@beta carol-pw-1
  [ "$status" = 201 ]
  as "$carol" GET "/jobs/$ALICE_JOB"
  [ "$status" = 404 ]
  as "$carol" GET '/users/alice'
  [ "$status" = 403 ] # as with HTTP Basic: a user reads only its own account
  grep -q '"type"' "$T/b"
  if grep -q '"role"' "$T/b"; then return 1; fi
  as "$carol" GET '/queues?tenant=acme'
  [ "$status" = 403 ]
}
check "a cookie never reaches another tenant's or another user's data" isolation

# ---- sign-out, forced endings ----------------------------------------------
signout() {
  local old="$T/old.jar"
  cp "$ALICE" "$old"
  cp "$ALICE" "$T/old0.jar"
  as "$ALICE" DELETE /session
  [ "$status" = 403 ] # the CSRF token is needed to sign out too
  as "$ALICE" DELETE /session -H "X-CSRF-Token: $ALICE_CSRF"
  [ "$status" = 204 ]
  local c
  c=$(header Set-Cookie)
  [[ "$c" == "nimbus_session=;"* ]]
  [[ "$c" == *"Max-Age=0"* ]]
  [ -z "$(secret "$ALICE")" ] # curl dropped it
  as "$old" GET /session
  [ "$status" = 401 ]
  [[ "$(header Set-Cookie)" == *"Max-Age=0"* ]] # a dead session's cookie is cleared
  cp "$T/old0.jar" "$old"
  as "$old" GET /jobs
  [ "$status" = 401 ]
  [ "$(header WWW-Authenticate)" = 'Session realm="Nimbus Print"' ]
  # signing out without a session is no error
  cp "$T/old0.jar" "$old"
  as "$old" DELETE /session
  [ "$status" = 204 ]
  [ "$(nimbus_sql "SELECT count(*) FROM audit WHERE action = 'session-created' AND actor = 'alice@acme'")" -ge 1 ]
  [ "$(nimbus_sql "SELECT count(*) FROM audit WHERE action = 'session-ended' AND actor = 'alice@acme'")" = 1 ]
}
check "sign-out: 204, the cookie cleared, the old cookie 401, audited" signout

password_change() {
  signin "$ALICE" alice@acme alice-pw-1
  [ "$status" = 201 ]
  local csrf other="$T/alice2.jar"
  csrf=$(json_get "d['csrf_token']" <"$T/b")
  signin "$other" alice@acme alice-pw-1
  [ "$status" = 201 ]
  as "$ALICE" PATCH /users/alice -H 'Content-Type: application/json' \
    -d '{"password":"alice-pw-2"}' -H "X-CSRF-Token: $csrf"
  [ "$status" = 200 ]
  as "$ALICE" GET /session
  [ "$status" = 401 ]
  as "$other" GET /jobs
  [ "$status" = 401 ]
  signin "$ALICE" alice@acme alice-pw-2
  [ "$status" = 201 ]
  # a role change by an admin ends them too
  curl -fsS -o /dev/null -u boss@acme:boss-pw-1 -X PATCH -H 'Content-Type: application/json' \
    -d '{"role":"tenant-admin"}' "$NIMBUS_URL/api/v1/users/alice"
  as "$ALICE" GET /session
  [ "$status" = 401 ]
  [ "$(nimbus_sql "SELECT count(*) FROM web_sessions s JOIN users u ON u.id = s.user_id WHERE u.name = 'alice'")" = 0 ]
}
check "a password change or a role change ends the user's sessions" password_change

no_secrets_logged() {
  local f
  grep -q "console session created" "$NIMBUS_STATE.log" # the log does speak of sessions
  for f in "$NIMBUS_STATE.log" "$NIMBUS_STATE.out"; do
    [ -f "$f" ] || continue
    if grep -qF -e "$ALICE_SECRET" -e alice-pw-1 -e alice-pw-2 -e carol-pw-1 -e "$ALICE_CSRF" "$f"; then
      echo "  a secret or password is in $f" >&2
      return 1
    fi
  done
  if nimbus_sql "SELECT detail FROM audit" | grep -qF -e "$ALICE_SECRET" -e alice-pw-1; then
    return 1
  fi
}
check "neither the session secret nor a password appears in the log or the audit" \
  no_secrets_logged

# ---- behind a trusted proxy, idle expiry ------------------------------------
nimbusd_stop
nimbusd_restart --trust-proxy --session-idle 5

secure_cookie() {
  signin "$T/p.jar" boss@acme boss-pw-1 -H 'X-Forwarded-Proto: https'
  [ "$status" = 201 ]
  [[ "$(header Set-Cookie)" == *"; Secure"* ]]
  [ "$(json_get "d['idle_timeout']" <"$T/b")" = 5 ]
  signin "$T/p.jar" boss@acme boss-pw-1
  [ "$status" = 201 ]
  [[ "$(header Set-Cookie)" != *Secure* ]]
}
check "--trust-proxy: X-Forwarded-Proto: https makes the cookie Secure" secure_cookie

idle_expiry() {
  local jar="$T/idle.jar"
  signin "$jar" boss@acme boss-pw-1
  [ "$status" = 201 ]
  local i
  for i in 1 2 3 4 5 6; do # used every second: alive past the idle time (a slow
    # machine may take a second or two per request: 5 s leaves room)
    sleep 1
    as "$jar" GET /session
    [ "$status" = 200 ]
  done
  sleep 6.5
  as "$jar" GET /jobs
  [ "$status" = 401 ]
  as "$jar" GET /session
  [ "$status" = 401 ]
}
check "--session-idle 5: used it lives, 5 s unused it is gone" idle_expiry

# ---- no console ------------------------------------------------------------
nimbusd_stop
nimbusd_restart --console-dir "$T/none"
not_installed() {
  get /
  [ "$status" = 404 ]
  [ "$(problem_detail)" = "the web console is not installed" ]
  get /assets/x.js
  [ "$status" = 404 ]
  [ "$(problem_detail)" = "the web console is not installed" ]
  curl -fsS "$NIMBUS_URL/healthz" >/dev/null
}
check "no console directory: / answers 'the web console is not installed'" not_installed

nimbusd_stop
finish test-console-session
