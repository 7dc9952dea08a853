#!/usr/bin/env bash
#
# Integration test of nimbusctl against a nimbusd: a running one, or one
# it starts itself.
#
# Environment:
#   NIMBUS_URL        base URL of a running server (e.g. http://127.0.0.1:8631).
#                     Unset: start a fresh nimbusd with lib-nimbusd.sh
#                     ($NIMBUSD, default build/src/server/nimbusd) and act
#                     as its operator admin@system; stop it at the end.
#   NIMBUS_USER       operator, NAME@TENANT (with NIMBUS_URL)
#   NIMBUS_PASSWORD   operator's password (with NIMBUS_URL)
#   NIMBUS_TEST_DATA  directory holding onepage-30k.pdf (a one-page PDF;
#                     default tests/data when self-starting)
#   NIMBUSCTL         nimbusctl binary (default: build/src/cli/nimbusctl,
#                     else nimbusctl from PATH)
#
# Creates a tenant with a user, a queue and a token, submits a PIN-protected
# job, checks it is held with one page, cancels it, revokes the token and
# checks the token no longer works; then deletes what it created.  Stops at
# the first failed check with a message naming it and a non-zero status.
#

set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
self_started=
if [ -z "${NIMBUS_URL:-}" ]; then
  if [ -z "${NIMBUSD:-}" ] && [ -x "$top/build/src/server/nimbusd" ]; then
    NIMBUSD=$top/build/src/server/nimbusd
  fi
  : "${NIMBUSD:?set NIMBUS_URL to a running nimbusd, or NIMBUSD to a nimbusd binary to start}"
  # Defines check/finish too: this script's own check (below) replaces it.
  source "$(dirname "$0")/lib-nimbusd.sh"
  nimbusd_start || { echo "test-nimbusctl: could not start nimbusd" >&2; exit 1; }
  self_started=1
  NIMBUS_USER=admin@system
  NIMBUS_PASSWORD=$NIMBUS_ADMIN_PASSWORD
fi

: "${NIMBUS_URL:?set NIMBUS_URL to the running nimbusd}"
: "${NIMBUS_USER:?set NIMBUS_USER to an operator NAME@TENANT}"
: "${NIMBUS_PASSWORD:?set NIMBUS_PASSWORD to the operator password}"
: "${NIMBUS_TEST_DATA:?set NIMBUS_TEST_DATA to the test data directory}"
export NIMBUS_URL NIMBUS_USER NIMBUS_PASSWORD
unset NIMBUS_TOKEN

if [ -z "${NIMBUSCTL:-}" ]; then
  if [ -x "$top/build/src/cli/nimbusctl" ]; then
    NIMBUSCTL=$top/build/src/cli/nimbusctl
  else
    NIMBUSCTL=nimbusctl
  fi
fi

document=$NIMBUS_TEST_DATA/onepage-30k.pdf
[ -r "$document" ] || { echo "test-nimbusctl: cannot read $document" >&2; exit 1; }

passed=0
work=$(mktemp -d)
tenant="it-$$-$RANDOM"
user=alice
queue=front
pin=4711

cleanup() {
  # Best effort; the tenant deletion check below reports real failures.
  if [ -n "$tenant" ]; then
    "$NIMBUSCTL" tenant delete "$tenant" >/dev/null 2>&1
  fi
  rm -rf "$work"
  if [ -n "$self_started" ]; then _lib_cleanup; fi
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  if [ -s "$work/err" ]; then
    echo "  stderr: $(cat "$work/err")" >&2
  fi
  echo "nimbusctl: $passed passed, 1 failed" >&2
  exit 1
}

pass() {
  passed=$((passed + 1))
  echo "ok $passed - $*"
}

# run ARGS...: run nimbusctl, stdout to $work/out, stderr to $work/err, status in $rc.
run() {
  "$NIMBUSCTL" "$@" >"$work/out" 2>"$work/err"
  rc=$?
}

# expect_ok DESCRIPTION ARGS...: nimbusctl must succeed.
expect_ok() {
  local what=$1
  shift
  run "$@"
  [ "$rc" -eq 0 ] || fail "$what: 'nimbusctl $*' exited $rc, expected 0"
}

# expect_status DESCRIPTION STATUS ARGS...: nimbusctl must exit with STATUS.
expect_status() {
  local what=$1 want=$2
  shift 2
  run "$@"
  [ "$rc" -eq "$want" ] || fail "$what: 'nimbusctl $*' exited $rc, expected $want"
}

# json EXPR: evaluate a Python expression over the JSON document in $work/out
# (bound to d) and print the result.
json() {
  python3 -c '
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    print(eval(sys.argv[2], {"d": d}))
except Exception as e:
    print("<%s: %s>" % (type(e).__name__, e))
    sys.exit(1)
' "$work/out" "$1"
}

# check DESCRIPTION EXPR WANT: the JSON expression must print WANT.
check() {
  local got
  got=$(json "$2")
  [ "$got" = "$3" ] || fail "$1: $2 is '$got', expected '$3'"
}

printf '%s\n' "pw-$RANDOM-$RANDOM-secret" > "$work/alice.pw"
chmod 600 "$work/alice.pw"

# --- identity and usage -------------------------------------------------
expect_ok "operator whoami" --json whoami
check "operator whoami" 'd["role"]' operator
pass "whoami --json reports the operator role"

expect_status "bad --state is a usage error" 2 job list --state bogus
pass "usage error exits 2"

expect_status "unreachable server" 3 --url http://127.0.0.1:1 --timeout 5 whoami
pass "connection failure exits 3"

# --- tenant, user, queue ------------------------------------------------
expect_ok "create tenant" tenant create "$tenant" --display-name "Integration $tenant" --max-held-jobs 10
expect_ok "show tenant" --json tenant show "$tenant"
check "show tenant" 'd["name"]' "$tenant"
check "show tenant" 'd["max_held_jobs_per_user"]' 10
pass "tenant create/show"

expect_ok "list tenants" --json tenant list
check "list tenants" "any(t['name'] == '$tenant' for t in d['tenants'])" True
pass "tenant list contains the new tenant"

expect_ok "create user" --tenant "$tenant" user create "$user" --password-file "$work/alice.pw" --role user
expect_ok "list users" --tenant "$tenant" --json user list
check "list users" "[u['role'] for u in d['users'] if u['name'] == '$user']" "['user']"
pass "user create/list"

expect_ok "create queue" --tenant "$tenant" queue create "$queue" --description "integration queue"
expect_ok "show queue" --tenant "$tenant" --json queue show "$queue"
check "show queue" 'd["name"]' "$queue"
check "show queue" 'd["release_immediately"]' False
pass "queue create/show"

# --- token ----------------------------------------------------------------
expect_ok "create token" --user "$user@$tenant" --password-file "$work/alice.pw" --json token create --label integration
token=$(json 'd["token"]') || fail "create token: no token in the response"
token_id=$(json 'd["id"]') || fail "create token: no id in the response"
if [ -z "$token" ] || [ "$token" = None ]; then
  fail "create token: empty token in the response"
fi
pass "token create returns a token"

expect_ok "whoami with token" --token "$token" --json whoami
check "whoami with token" 'd["user"]' "$user"
check "whoami with token" 'd["tenant"]' "$tenant"
pass "the token authenticates as $user@$tenant"

# --- submit, list, cancel ---------------------------------------------------
expect_ok "submit" --token "$token" --json submit --queue "$queue" --pin "$pin" --title "integration job" "$document"
job_id=$(json 'd["id"]') || fail "submit: no job id in the response"
check "submit" 'd["has_pin"]' True
pass "submit with --pin creates job $job_id"

# Page counting may finish just after the upload; give it a few seconds.
for _ in 1 2 3 4 5 6 7 8 9 10; do
  expect_ok "list held jobs" --token "$token" --json job list --state held
  [ "$(json "[j['pages'] for j in d['jobs'] if str(j['id']) == '$job_id']")" = "[1]" ] && break
  sleep 1
done
check "list held jobs" "[(j['state'], j['pages']) for j in d['jobs'] if str(j['id']) == '$job_id']" "[('held', 1)]"
pass "job list shows job $job_id held with 1 page"

expect_ok "list jobs as table" --token "$token" job list --state held
grep -Eq "^$job_id +.* held +1 " "$work/out" || fail "job table: no line for job $job_id held with 1 page: $(cat "$work/out")"
pass "job list table shows the job"

expect_ok "cancel job" --token "$token" job cancel "$job_id"
expect_ok "show canceled job" --token "$token" --json job show "$job_id"
check "show canceled job" 'd["state"]' canceled
pass "job cancel"

# --- revoke ---------------------------------------------------------------
expect_ok "revoke token" --tenant "$tenant" token revoke "$token_id"
expect_status "revoked token" 1 --token "$token" whoami
grep -q "(HTTP 401)" "$work/err" || fail "revoked token: expected an HTTP 401 problem on stderr"
pass "revoked token is refused with exit 1"

# --- cleanup ----------------------------------------------------------------
expect_ok "delete queue" --tenant "$tenant" queue delete "$queue"
expect_ok "delete user" --tenant "$tenant" user delete "$user"
expect_ok "delete tenant" tenant delete "$tenant"
expect_status "deleted tenant" 1 tenant show "$tenant"
tenant=
pass "queue, user and tenant deleted"

if [ -n "$self_started" ]; then
  # Non-zero on a crash or a sanitizer report at exit (log tail above).
  nimbusd_stop || fail "nimbusd did not stop cleanly"
  pass "nimbusd stops cleanly"
fi

echo "nimbusctl: $passed passed, 0 failed"
