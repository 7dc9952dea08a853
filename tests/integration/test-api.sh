#!/usr/bin/env bash
#
# Integration test of the REST API (/api/v1) with curl.
#
# Environment:
#   NIMBUS_URL             base URL of a running nimbusd (http://127.0.0.1:PORT)
#   NIMBUS_ADMIN_PASSWORD  password of the operator admin@system
#   NIMBUS_TEST_DATA       directory holding onepage-30k.pdf and corrupt.pdf
#   NIMBUS_STATE_DIR       optional: the server's state dir, to check that
#                          refused uploads leave no file in the spool
# Without NIMBUS_URL the test starts its own nimbusd ($NIMBUSD, else
# build/src/server/nimbusd) on a free loopback port with a scratch state
# directory and --fast-hashing, and stops it at the end; its store is
# NIMBUS_TEST_STORE_URL when set (a fresh database: tests/pg/with-database.sh),
# else the state directory's SQLite file.
#
# Every check prints its name; the first failure stops the test with a
# non-zero status.  The last line is "api: N passed, 0 failed".
# Needs bash, curl and python3 (for JSON; jq is not required).
#

set -u

: "${NIMBUS_TEST_DATA:?set NIMBUS_TEST_DATA to the test data directory}"
for f in onepage-30k.pdf corrupt.pdf; do
  [ -r "$NIMBUS_TEST_DATA/$f" ] || { echo "test-api: cannot read $NIMBUS_TEST_DATA/$f" >&2; exit 1; }
done
pdf=$NIMBUS_TEST_DATA/onepage-30k.pdf
corrupt=$NIMBUS_TEST_DATA/corrupt.pdf

work=$(mktemp -d)
server_pid=
passed=0
tag="$$$RANDOM"
ta="api-a-$tag" tb="api-b-$tag" tc="api-c-$tag"
PIN="Qz7-pin-4711"       # never expected in any response
WRONG_PIN="Qz7-pin-0000"
pw_admin_a="admin-a-pw-$tag" pw_alice="alice-pw-$tag" pw_bob="bob-pw-$tag"
pw_admin_b="admin-b-pw-$tag" pw_carol="carol-pw-$tag"

cleanup() {
  if [ -n "${NIMBUS_URL:-}" ] && [ -n "${NIMBUS_ADMIN_PASSWORD:-}" ]; then
    for t in "$ta" "$tb" "$tc"; do
      curl -s -o /dev/null -X DELETE -u "admin@system:$NIMBUS_ADMIN_PASSWORD" \
        "$NIMBUS_URL/api/v1/tenants/$t" 2>/dev/null
    done
  fi
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  if [ -s "$work/body" ]; then
    echo "  last response ($status): $(head -c 600 "$work/body")" >&2
  fi
  if [ -n "$server_pid" ] && [ -s "$work/server.log" ]; then
    echo "  server log (tail):" >&2
    tail -15 "$work/server.log" >&2
  fi
  echo "api: $passed passed, 1 failed" >&2
  exit 1
}

pass() {
  passed=$((passed + 1))
  echo "ok $passed - $*"
}

# ---- optional: our own server --------------------------------------------
if [ -z "${NIMBUS_URL:-}" ]; then
  top=$(cd "$(dirname "$0")/../.." && pwd)
  nimbusd=${NIMBUSD:-$top/build/src/server/nimbusd}
  [ -x "$nimbusd" ] || { echo "test-api: set NIMBUS_URL, or NIMBUSD to a nimbusd binary" >&2; exit 1; }
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  NIMBUS_ADMIN_PASSWORD="op-pw-$tag"
  NIMBUS_STATE_DIR=$work/state
  store=()
  [ -z "${NIMBUS_TEST_STORE_URL:-}" ] || store=(--store "$NIMBUS_TEST_STORE_URL")
  "$nimbusd" --listen 127.0.0.1 --port "$port" --state-dir "$NIMBUS_STATE_DIR" \
    --admin-password "$NIMBUS_ADMIN_PASSWORD" --fast-hashing "${store[@]}" >"$work/server.log" 2>&1 &
  server_pid=$!
  NIMBUS_URL=http://127.0.0.1:$port
  for _ in $(seq 1 100); do
    curl -sf -o /dev/null "$NIMBUS_URL/healthz" && break
    kill -0 "$server_pid" 2>/dev/null || fail "nimbusd exited at start-up: $(tail -5 "$work/server.log")"
    sleep 0.1
  done
  curl -sf -o /dev/null "$NIMBUS_URL/healthz" || fail "nimbusd did not answer /healthz"
fi
: "${NIMBUS_ADMIN_PASSWORD:?set NIMBUS_ADMIN_PASSWORD to the admin@system password}"
API=$NIMBUS_URL/api/v1

# ---- request helpers --------------------------------------------------------
# Credentials are arrays of curl options.
OP=(-u "admin@system:$NIMBUS_ADMIN_PASSWORD")
A_ADMIN=(-u "admin-a@$ta:$pw_admin_a")
ALICE=(-u "alice@$ta:$pw_alice")
BOB=(-u "bob@$ta:$pw_bob")
B_ADMIN=(-u "admin-b@$tb:$pw_admin_b")
CAROL=(-u "carol@$tc:$pw_carol")
NOAUTH=()

# req METHOD PATH [curl options...]: sets $status and $ctype, body in
# $work/body, headers in $work/headers; every body is also appended to
# $work/all (to prove the PIN is never returned).
req() {
  local method=$1 path=$2
  shift 2
  local out
  out=$(curl -s -X "$method" -o "$work/body" -D "$work/headers" \
    -w '%{http_code} %{content_type}' "$@" "$API$path") || fail "curl $method $path failed"
  status=${out%% *}
  ctype=${out#* }
  cat "$work/body" >>"$work/all"
  echo >>"$work/all"
}

# json_req METHOD PATH JSON CREDS...: a request with a JSON body.
json_req() {
  local method=$1 path=$2 data=$3
  shift 3
  req "$method" "$path" -H 'Content-Type: application/json' --data-binary "$data" "$@"
}

# j EXPR: evaluate a Python expression over the last JSON body (as d).
j() {
  python3 -c '
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    print(eval(sys.argv[2], {"d": d}))
except Exception as e:
    print("<%s: %s>" % (type(e).__name__, e))
' "$work/body" "$1"
}

# expect STATUS WHAT: the last response must have STATUS; a problem
# document for 4xx/5xx, with its status member equal to STATUS.
expect() {
  [ "$status" = "$1" ] || fail "$2: HTTP $status, expected $1"
  if [ "$1" -ge 400 ]; then
    case $ctype in
      application/problem+json*) ;;
      *) fail "$2: content-type '$ctype', expected application/problem+json" ;;
    esac
    [ "$(j 'd["status"]')" = "$1" ] || fail "$2: problem document status is not $1"
    [ -n "$(j 'd["title"]')" ] || fail "$2: problem document without title"
  elif [ "$1" != 204 ]; then
    case $ctype in
      application/json*) ;;
      *) fail "$2: content-type '$ctype', expected application/json" ;;
    esac
  fi
}

# is WHAT EXPR WANT: the JSON expression over the last body must print WANT.
is() {
  local got
  got=$(j "$2")
  [ "$got" = "$3" ] || fail "$1: $2 is '$got', expected '$3'"
}

header() { # header NAME: value of a response header of the last request
  tr -d '\r' <"$work/headers" | awk -v n="$(echo "$1" | tr 'A-Z' 'a-z')" \
    'BEGIN{FS=": "} tolower($1)==n {sub(/^[^:]*: /, ""); print; exit}'
}

# upload CREDS... -- FORM...: POST /jobs as multipart/form-data.
upload() {
  local creds=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do creds+=("$1"); shift; done
  shift
  local form=()
  for f in "$@"; do form+=(-F "$f"); done
  req POST /jobs "${creds[@]}" "${form[@]}"
}

spool_files() { # number of files in the server's spool (when known)
  if [ -n "${NIMBUS_STATE_DIR:-}" ] && [ -d "$NIMBUS_STATE_DIR" ]; then
    find "$NIMBUS_STATE_DIR" -type f -path '*spool*' | wc -l
  else
    echo unknown
  fi
}

job_total() { # job_total TENANT: all jobs of a tenant, as the operator sees them
  req GET "/jobs?tenant=$1&state=all" "${OP[@]}"
  expect 200 "count jobs of $1"
  j 'd["total"]'
}

# ---- authentication -----------------------------------------------------------
req GET /whoami "${NOAUTH[@]}"
expect 401 "whoami without credentials"
[ "$(header WWW-Authenticate)" = 'Basic realm="Nimbus Print"' ] ||
  fail "401 without WWW-Authenticate: Basic realm=\"Nimbus Print\""
pass "401 without credentials, with WWW-Authenticate and a problem document"

req GET /whoami -u "admin@system:wrong-password"
expect 401 "whoami with a wrong password"
req GET /whoami -H "Authorization: Bearer nmb_not-a-real-token"
expect 401 "whoami with an unknown token"
pass "401 for a wrong password and an unknown token"

req GET /whoami "${OP[@]}"
expect 200 "operator whoami"
is "operator whoami" '(d["user"], d["tenant"], d["role"])' "('admin', 'system', 'operator')"
pass "whoami reports admin@system as operator"

# ---- routing and bad input ------------------------------------------------
req GET /no-such-thing "${OP[@]}"
expect 404 "unknown path"
req GET /jobs/1/frobnicate "${OP[@]}"
expect 404 "unknown action"
pass "unknown paths are 404 problems"

req PUT /tenants "${OP[@]}"
expect 405 "PUT /tenants"
case $(header Allow) in *GET*POST*) ;; *) fail "405 without 'Allow: GET, POST' (got '$(header Allow)')" ;; esac
pass "wrong method is 405 with an Allow header"

json_req POST /tenants '{"name": "x",' "${OP[@]}"
expect 400 "malformed JSON"
json_req POST /tenants '["a"]' "${OP[@]}"
expect 400 "JSON array body"
pass "malformed JSON is a 400 problem"

json_req POST /tenants "{\"name\": \"$ta\", \"max_document_size\": \"big\"}" "${OP[@]}"
expect 400 "string for an integer"
case $(j 'd["detail"]') in *max_document_size*) ;; *) fail "400 detail does not name max_document_size" ;; esac
json_req POST /tenants "{\"name\": \"$ta\", \"colour\": 1}" "${OP[@]}"
expect 400 "unknown field"
case $(j 'd["detail"]') in *colour*) ;; *) fail "400 detail does not name the unknown field" ;; esac
json_req POST /tenants '{"name": ".hidden"}' "${OP[@]}"
expect 400 "bad tenant name"
json_req POST /tenants '{"name": "system"}' "${OP[@]}"
expect 400 "reserved tenant name"
req POST /tenants "${OP[@]}" -H 'Content-Type: text/plain' --data-binary "{\"name\": \"$ta\"}"
expect 415 "JSON body with a text/plain content type"
pass "wrong types, unknown fields, bad and reserved names are refused naming the field"

# ---- tenants ------------------------------------------------------------------
json_req POST /tenants "{\"name\": \"$ta\", \"display_name\": \"Tenant A\"}" "${OP[@]}"
expect 201 "create tenant A"
is "create tenant A" '(d["name"], d["display_name"], d["max_document_size"])' "('$ta', 'Tenant A', 0)"
json_req POST /tenants "{\"name\": \"$tb\"}" "${OP[@]}"
expect 201 "create tenant B"
json_req POST /tenants "{\"name\": \"$tc\", \"max_document_size\": 10000}" "${OP[@]}"
expect 201 "create tenant C"
is "create tenant C" 'd["max_document_size"]' 10000
pass "tenants created"

req GET /tenants "${OP[@]}"
expect 200 "list tenants"
is "list tenants" "sorted(t['name'] for t in d['tenants'] if t['name'] in ('$ta', '$tb', '$tc'))" \
  "$(python3 -c "print(sorted(['$ta', '$tb', '$tc']))")"
is "list tenants" "all(t['created_at'].endswith('Z') for t in d['tenants'])" True
pass "tenant list contains the new tenants with RFC 3339 times"

json_req POST /tenants "{\"name\": \"$ta\"}" "${OP[@]}"
expect 409 "duplicate tenant"
pass "duplicate tenant is 409"

json_req PATCH "/tenants/$tb" '{"display_name": "Tenant B", "max_held_jobs_per_user": 7}' "${OP[@]}"
expect 200 "patch tenant B"
is "patch tenant B" '(d["display_name"], d["max_held_jobs_per_user"])' "('Tenant B', 7)"
req GET "/tenants/no-such-tenant-$tag" "${OP[@]}"
expect 404 "unknown tenant"
pass "tenant patch and unknown tenant 404"

# ---- users --------------------------------------------------------------------
json_req POST "/users?tenant=$ta" "{\"name\": \"admin-a\", \"password\": \"$pw_admin_a\", \"role\": \"tenant-admin\"}" "${OP[@]}"
expect 201 "create admin-a"
is "create admin-a" '(d["name"], d["role"])' "('admin-a', 'tenant-admin')"
is "create admin-a" '"password" in d or "password_hash" in d' False
json_req POST /users "{\"name\": \"alice\", \"password\": \"$pw_alice\"}" "${A_ADMIN[@]}"
expect 201 "tenant-admin creates alice"
is "create alice" 'd["role"]' user
json_req POST /users "{\"name\": \"bob\", \"password\": \"$pw_bob\", \"role\": \"user\"}" "${A_ADMIN[@]}"
expect 201 "tenant-admin creates bob"
json_req POST "/users?tenant=$tb" "{\"name\": \"admin-b\", \"password\": \"$pw_admin_b\", \"role\": \"tenant-admin\"}" "${OP[@]}"
expect 201 "create admin-b"
json_req POST "/users?tenant=$tc" "{\"name\": \"carol\", \"password\": \"$pw_carol\"}" "${OP[@]}"
expect 201 "create carol"
pass "users created by the operator and by a tenant-admin"

json_req POST /users "{\"name\": \"alice\", \"password\": \"x-$tag\"}" "${A_ADMIN[@]}"
expect 409 "duplicate user"
json_req POST /users "{\"name\": \"mallory\", \"password\": \"x-$tag\", \"role\": \"operator\"}" "${A_ADMIN[@]}"
expect 403 "tenant-admin creating an operator"
json_req POST "/users?tenant=system" "{\"name\": \"mallory\", \"password\": \"x-$tag\"}" "${A_ADMIN[@]}"
expect 403 "tenant-admin acting on tenant system"
json_req POST /users "{\"name\": \"eve\", \"password\": \"x-$tag\"}" "${ALICE[@]}"
expect 403 "user creating users"
req GET /users "${ALICE[@]}"
expect 403 "user listing users"
pass "403 for users creating users and tenant-admins creating operators"

req GET /whoami "${ALICE[@]}"
expect 200 "alice whoami"
is "alice whoami" '(d["user"], d["tenant"], d["role"])' "('alice', '$ta', 'user')"
req GET /users "${A_ADMIN[@]}"
expect 200 "list users of A"
is "list users of A" "sorted(u['name'] for u in d['users'])" "['admin-a', 'alice', 'bob']"
req GET /users/alice "${ALICE[@]}"
expect 200 "alice reads herself"
req GET /users/bob "${ALICE[@]}"
expect 403 "alice reads bob"
pass "whoami, user list, self read"

# ---- queues -------------------------------------------------------------------
json_req POST /queues '{"name": "front", "description": "Front desk"}' "${A_ADMIN[@]}"
expect 201 "create queue front"
is "create queue front" '(d["name"], d["release_immediately"], d["allow_anonymous"])' "('front', False, False)"
is "printer_uri" 'd["printer_uri"].startswith("ipp://") and d["printer_uri"].endswith("/ipp/print/'"$ta"'/front")' True
json_req POST /queues '{"name": "direct", "release_immediately": true}' "${A_ADMIN[@]}"
expect 201 "create queue direct"
json_req POST /queues '{"name": "other", "release_immediately": "yes"}' "${A_ADMIN[@]}"
expect 400 "queue with a string for a boolean"
json_req POST /queues '{"name": "front"}' "${A_ADMIN[@]}"
expect 409 "duplicate queue"
json_req POST "/queues?tenant=$tc" '{"name": "small"}' "${OP[@]}"
expect 201 "create queue small in C"
json_req POST /queues '{"name": "mine"}' "${ALICE[@]}"
expect 403 "user creating a queue"
req GET /queues "${ALICE[@]}"
expect 200 "user lists queues"
is "user lists queues" "sorted(q['name'] for q in d['queues'])" "['direct', 'front']"
pass "queues: create, printer_uri, 409, 403 for users, users may list"

# ---- tokens -------------------------------------------------------------------
json_req POST /tokens '{"label": "ci", "expires_in": 3600}' "${ALICE[@]}"
expect 201 "alice creates a token"
token=$(j 'd["token"]')
token_id=$(j 'd["id"]')
case $token in nmb_*) ;; *) fail "token does not look like a token: '$token'" ;; esac
is "token create" '(d["label"], d["expires_at"] is not None)' "('ci', True)"
pass "token created; the secret is returned once"

req GET /whoami -H "Authorization: Bearer $token"
expect 200 "whoami with the token"
is "whoami with the token" '(d["user"], d["tenant"])' "('alice', '$ta')"
pass "bearer token authenticates"

req GET /tokens "${ALICE[@]}"
expect 200 "alice lists tokens"
is "token list" "[(t['id'], t['user'], t['revoked']) for t in d['tokens']]" "[($token_id, 'alice', False)]"
grep -qF "$token" "$work/body" && fail "token list contains the secret"
req GET /tokens "${BOB[@]}"
expect 200 "bob lists tokens"
is "bob's token list" 'len(d["tokens"])' 0
req DELETE "/tokens/$token_id" "${BOB[@]}"
expect 404 "bob revokes alice's token"
pass "token list shows own tokens only, without the secret"

json_req POST /tokens '{"user": "bob"}' "${ALICE[@]}"
expect 403 "user creating a token for another user"
json_req POST /tokens '{"user": "bob", "label": "for bob"}' "${A_ADMIN[@]}"
expect 201 "admin creates a token for bob"
bob_token_id=$(j 'd["id"]')
is "token for bob" 'd["user"]' bob
pass "admins create tokens for others, users cannot"

req DELETE "/tokens/$token_id" "${ALICE[@]}"
expect 204 "alice revokes her token"
req GET /whoami -H "Authorization: Bearer $token"
expect 401 "revoked token"
pass "revoked token is 401"

# ---- job upload -----------------------------------------------------------
upload "${ALICE[@]}" -- "queue=front" "job-name=Quarterly report" "copies=2" \
  "job-password=$PIN" "job-account-id=cc-42" "document=@$pdf;type=application/pdf"
expect 201 "upload job 1"
job1=$(j 'd["id"]')
is "job 1" '(d["state"], d["ipp_state"], d["pages"], d["copies"], d["impressions"], d["has_pin"])' \
  "('held', 'pending-held', 1, 2, 2, True)"
is "job 1" '(d["name"], d["owner"], d["queue"], d["tenant"], d["account_id"])' \
  "('Quarterly report', 'alice', 'front', '$ta', 'cc-42')"
is "job 1" '(len(d["documents"]), d["documents"][0]["format"], d["documents"][0]["pages"], d["documents"][0]["number"])' \
  "(1, 'application/pdf', 1, 1)"
is "job 1" 'd["documents"][0]["size"]' "$(wc -c <"$pdf" | tr -d ' ')"
is "job 1" 'd["completed_at"]' None
is "job 1" '"job-password-wait" in d["state_reasons"]' True
[ "$(header Location)" = "/api/v1/jobs/$job1" ] || fail "upload: Location is '$(header Location)'"
pass "multipart upload: held, 1 page, impressions = pages x copies, has_pin"

upload "${ALICE[@]}" -- "queue=front" "document=@$pdf"
expect 201 "upload job 2 (auto format, default name)"
job2=$(j 'd["id"]')
is "job 2" '(d["state"], d["copies"], d["has_pin"], d["name"])' "('held', 1, False, 'onepage-30k.pdf')"
upload "${ALICE[@]}" -- "queue=direct" "document=@$pdf"
expect 201 "upload job 3 to a release-immediately queue"
job3=$(j 'd["id"]')
is "job 3" '(d["state"], d["ipp_state"])' "('fetchable', 'pending')"
upload "${BOB[@]}" -- "queue=front" "document=@$pdf"
expect 201 "upload job 4 as bob"
job4=$(j 'd["id"]')
pass "uploads: default name, no PIN, release-immediately queue"

for bad in "copies=0" "copies=1000" "copies=two" "job-password=123" "colour=red"; do
  upload "${ALICE[@]}" -- "queue=front" "$bad" "document=@$pdf"
  expect 400 "upload with $bad"
done
upload "${ALICE[@]}" -- "queue=front" "job-name=no document"
expect 400 "upload without a document"
upload "${ALICE[@]}" -- "document=@$pdf"
expect 400 "upload without a queue"
upload "${ALICE[@]}" -- "queue=nope" "document=@$pdf"
expect 404 "upload to an unknown queue"
upload "${ALICE[@]}" -- "queue=front" "document-format=text/plain" "document=@$pdf"
expect 415 "upload with an unsupported document-format"
json_req POST /jobs '{"queue": "front"}' "${ALICE[@]}"
expect 415 "JSON to POST /jobs"
upload "${NOAUTH[@]}" -- "queue=front" "document=@$pdf"
expect 401 "upload without credentials"
pass "upload errors: bad fields 400, missing document 400, unknown queue 404, format 415, 401"

# ---- reading jobs ------------------------------------------------------------
req GET "/jobs/$job1" "${ALICE[@]}"
expect 200 "get job 1"
is "get job 1" '(d["id"], d["state"], d["has_pin"])' "($job1, 'held', True)"
is "get job 1" '"pin" in d or "pin_hash" in d or "job-password" in d' False

req GET /jobs "${ALICE[@]}"
expect 200 "alice lists jobs"
is "alice's jobs" "sorted(x['id'] for x in d['jobs'])" "$(python3 -c "print(sorted([$job1, $job2, $job3]))")"
is "alice's jobs" '(d["total"], d["next_offset"])' "(3, None)"
req GET "/jobs?user=bob" "${ALICE[@]}"
expect 200 "alice asks for bob's jobs"
is "user= is ignored for users" "$job4 in [x['id'] for x in d['jobs']]" False
req GET "/jobs/$job4" "${ALICE[@]}"
expect 404 "alice reads bob's job"
req POST "/jobs/$job4/cancel" "${ALICE[@]}"
expect 404 "alice cancels bob's job"
pass "users see and act on their own jobs only"

req GET "/jobs?state=held" "${A_ADMIN[@]}"
expect 200 "held jobs"
is "held jobs" "sorted(x['id'] for x in d['jobs'])" "$(python3 -c "print(sorted([$job1, $job2, $job4]))")"
req GET "/jobs?queue=direct&state=all" "${A_ADMIN[@]}"
expect 200 "jobs of queue direct"
is "jobs of queue direct" "[x['id'] for x in d['jobs']]" "[$job3]"
req GET "/jobs?user=bob" "${A_ADMIN[@]}"
expect 200 "jobs of bob"
is "jobs of bob" "[x['id'] for x in d['jobs']]" "[$job4]"
req GET "/jobs?state=completed" "${A_ADMIN[@]}"
expect 200 "completed jobs"
is "completed jobs" 'd["total"]' 0
pass "job list filters: state, queue, user"

req GET "/jobs?state=all&limit=2" "${A_ADMIN[@]}"
expect 200 "page 1"
is "page 1" '(len(d["jobs"]), d["total"], d["next_offset"])' "(2, 4, 2)"
first_page=$(j "[x['id'] for x in d['jobs']]")
req GET "/jobs?state=all&limit=2&offset=2" "${A_ADMIN[@]}"
expect 200 "page 2"
is "page 2" '(len(d["jobs"]), d["total"], d["next_offset"])' "(2, 4, None)"
second_page=$(j "[x['id'] for x in d['jobs']]")
python3 -c "import sys; a=$first_page; b=$second_page; sys.exit(0 if not set(a) & set(b) and len(set(a+b)) == 4 else 1)" ||
  fail "pages overlap: $first_page $second_page"
for bad in "limit=0" "limit=x" "offset=-1" "state=bogus" "queue=nope" "user=nobody"; do
  req GET "/jobs?$bad" "${A_ADMIN[@]}"
  case $bad in queue=*|user=*) expect 404 "jobs with $bad" ;; *) expect 400 "jobs with $bad" ;; esac
done
req GET /jobs/0 "${A_ADMIN[@]}"
expect 404 "job id 0"
req GET /jobs/abc "${A_ADMIN[@]}"
expect 404 "job id abc"
pass "paging with total and next_offset; bad query arguments refused"

# ---- release and cancel -------------------------------------------------------
json_req POST "/jobs/$job1/release" "{\"pin\": \"$WRONG_PIN\"}" "${ALICE[@]}"
expect 403 "release with a wrong PIN"
req POST "/jobs/$job1/release" "${ALICE[@]}"
expect 403 "release without the PIN"
json_req POST "/jobs/$job1/release" '{"pin": 4711}' "${ALICE[@]}"
expect 400 "release with a number for the PIN"
req GET "/jobs/$job1" "${ALICE[@]}"
is "job 1 after wrong PINs" 'd["state"]' held
pass "wrong or missing PIN is 403 and the job stays held"

json_req POST "/jobs/$job1/release" "{\"pin\": \"$PIN\"}" "${ALICE[@]}"
expect 200 "release with the right PIN"
is "released job 1" '(d["state"], d["ipp_state"])' "('fetchable', 'pending')"
req GET "/jobs/$job1" "${ALICE[@]}"
is "job 1 after release" 'd["state"]' fetchable
req GET "/jobs?state=fetchable" "${A_ADMIN[@]}"
is "fetchable jobs" "sorted(x['id'] for x in d['jobs'])" "$(python3 -c "print(sorted([$job1, $job3]))")"
json_req POST "/jobs/$job1/release" "{\"pin\": \"$PIN\"}" "${ALICE[@]}"
expect 409 "release twice"
pass "right PIN releases the job (fetchable); a second release is 409"

req POST "/jobs/$job4/release" "${A_ADMIN[@]}"
expect 200 "tenant-admin releases bob's job (no PIN)"
is "job 4" 'd["state"]' fetchable
pass "tenant-admin releases a user's job"

req POST "/jobs/$job2/cancel" "${ALICE[@]}"
expect 200 "cancel job 2"
is "canceled job 2" '(d["state"], d["ipp_state"], d["completed_at"] is not None)' "('canceled', 'canceled', True)"
req POST "/jobs/$job2/cancel" "${ALICE[@]}"
expect 409 "cancel twice"
req GET "/jobs?state=completed" "${ALICE[@]}"
is "completed jobs" "[x['id'] for x in d['jobs']]" "[$job2]"
pass "cancel, and 409 for a terminal job"

# ---- tenant isolation ------------------------------------------------------------
for path in "/jobs/$job1" "/users/alice" "/queues/front" "/tokens/$bob_token_id"; do
  req GET "$path" "${B_ADMIN[@]}"
  expect 404 "B's admin reads A's $path"
done
req POST "/jobs/$job1/cancel" "${B_ADMIN[@]}"
expect 404 "B's admin cancels A's job"
json_req POST "/jobs/$job1/release" "{\"pin\": \"$PIN\"}" "${B_ADMIN[@]}"
expect 404 "B's admin releases A's job"
req DELETE "/tokens/$bob_token_id" "${B_ADMIN[@]}"
expect 404 "B's admin revokes A's token"
req DELETE /users/alice "${B_ADMIN[@]}"
expect 404 "B's admin deletes A's user"
req GET "/jobs?state=all" "${B_ADMIN[@]}"
expect 200 "B's job list"
is "B's job list" "[x['id'] for x in d['jobs'] if x['id'] in ($job1, $job2, $job3, $job4)]" "[]"
is "B's job list" 'd["total"]' 0
req GET "/jobs?tenant=$ta" "${B_ADMIN[@]}"
expect 403 "B's admin names tenant A"
req GET /users "${B_ADMIN[@]}"
is "B's users" "[u['name'] for u in d['users']]" "['admin-b']"
req GET "/jobs?tenant=no-such-tenant-$tag" "${OP[@]}"
expect 404 "operator names an unknown tenant"
req GET "/jobs/$job1?tenant=$ta" "${OP[@]}"
expect 200 "operator reads A's job with ?tenant="
pass "tenant isolation: 404 for another tenant's job, user, queue, token; lists stay separate"

# ---- limits: size and corrupt documents ------------------------------------------
before=$(job_total "$tc")
spool_before=$(spool_files)
upload "${CAROL[@]}" -- "queue=small" "document=@$pdf"
expect 413 "upload over max_document_size"
after=$(job_total "$tc")
[ "$before" = "$after" ] || fail "oversize upload changed the job count ($before -> $after)"
pass "oversize upload is 413 and no job is created"

upload "${CAROL[@]}" -- "queue=small" "document=@$corrupt"
expect 422 "corrupt PDF"
upload "${CAROL[@]}" -- "queue=small" "document-format=application/pdf" "document=@$corrupt"
expect 422 "corrupt PDF declared as PDF"
after=$(job_total "$tc")
[ "$before" = "$after" ] || fail "corrupt upload changed the job count ($before -> $after)"
spool_after=$(spool_files)
[ "$spool_before" = "$spool_after" ] || fail "refused uploads left files in the spool ($spool_before -> $spool_after)"
pass "corrupt PDF is 422 and nothing is stored"

# ---- users: password change and deletion -------------------------------------------
json_req PATCH /users/alice "{\"role\": \"tenant-admin\"}" "${ALICE[@]}"
expect 403 "alice promotes herself"
json_req PATCH /users/alice "{\"password\": \"new-$pw_alice\"}" "${ALICE[@]}"
expect 200 "alice changes her password"
req GET /whoami "${ALICE[@]}"
expect 401 "old password after the change"
ALICE=(-u "alice@$ta:new-$pw_alice")
req GET /whoami "${ALICE[@]}"
expect 200 "new password"
json_req PATCH /users/bob '{"role": "tenant-admin"}' "${A_ADMIN[@]}"
expect 200 "admin promotes bob"
is "bob promoted" 'd["role"]' tenant-admin
req DELETE /users/bob "${A_ADMIN[@]}"
expect 204 "admin deletes bob"
req GET /whoami "${BOB[@]}"
expect 401 "deleted user"
req DELETE /users/admin-a "${A_ADMIN[@]}"
expect 409 "admin deletes itself"
pass "password change, role change, user deletion"

# ---- queue deletion ------------------------------------------------------------
req DELETE /queues/front "${A_ADMIN[@]}"
expect 409 "delete a queue with pending jobs"
req DELETE /queues/front "${ALICE[@]}"
expect 403 "user deletes a queue"
json_req POST "/queues?tenant=$ta" '{"name": "spare"}' "${OP[@]}"
expect 201 "operator creates a queue in A"
req DELETE /queues/spare "${A_ADMIN[@]}"
expect 204 "delete an empty queue"
pass "queue deletion: 409 with pending jobs, 204 otherwise"

# ---- the PIN never came back -------------------------------------------------------
grep -qF "$PIN" "$work/all" && fail "the job PIN appears in a response"
grep -qF "$WRONG_PIN" "$work/all" && fail "a tried PIN appears in a response"
pass "the PIN is absent from every response"

# ---- tenant deletion ------------------------------------------------------------------
req GET /tenants "${A_ADMIN[@]}"
expect 403 "tenant-admin lists tenants"
req DELETE /tenants/system "${OP[@]}"
expect 403 "delete tenant system"
for t in "$ta" "$tb" "$tc"; do
  req DELETE "/tenants/$t" "${OP[@]}"
  expect 204 "delete tenant $t"
  req GET "/tenants/$t" "${OP[@]}"
  expect 404 "deleted tenant $t"
done
req GET /whoami "${ALICE[@]}"
expect 401 "user of a deleted tenant"
pass "tenants deleted; their users can no longer log in"

echo "api: $passed passed, 0 failed"
