#!/usr/bin/env bash
# test-harness.sh: the integration harness itself (lib-nimbusd.sh's check).
# Each case is a small script that sources lib-nimbusd.sh and runs checks
# (no nimbusd is started); this test runs it and asserts its exit status and
# what it printed: a multi-step check fails on its FIRST failing step (not
# only its last) and names that step; steps written as conditions (polls,
# `|| true`, `!`) may fail; a check that expects failure still passes; the
# caller's shell options are restored after each check.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NIMBUSD=${NIMBUSD:-/nonexistent/nimbusd} # never started here
export NIMBUSD
source "$HERE/lib-nimbusd.sh"
T=$(mktemp -d /tmp/nimbus-harness.XXXXXX)
_lib_tmpdirs+=("$T")

# run_case NAME: run the script on stdin (after sourcing the library) as
# $T/NAME.sh; its stdout and stderr go to $T/NAME.out, its status to $T/NAME.rc.
run_case() {
  { echo "source '$HERE/lib-nimbusd.sh'"; cat; } >"$T/$1.sh"
  local rc=0
  bash "$T/$1.sh" >"$T/$1.out" 2>&1 || rc=$?
  echo "$rc" >"$T/$1.rc"
}
# status_is NAME RC: the case exited with RC (prints its output if not).
status_is() {
  if [ "$(cat "$T/$1.rc")" != "$2" ]; then
    echo "case $1 exited with $(cat "$T/$1.rc"), expected $2; its output:" >&2
    cat "$T/$1.out" >&2
    return 1
  fi
}
# says NAME TEXT: the case's output has the fixed string TEXT.
says() {
  if ! grep -qF -- "$2" "$T/$1.out"; then
    echo "case $1 does not say '$2'; its output:" >&2
    cat "$T/$1.out" >&2
    return 1
  fi
}
# never_says NAME TEXT: the case's output lacks the fixed string TEXT.
never_says() {
  if grep -qF -- "$2" "$T/$1.out"; then
    echo "case $1 says '$2'; its output:" >&2
    cat "$T/$1.out" >&2
    return 1
  fi
}

# A first step fails, the last one succeeds: the check fails, naming the step.
run_case first-step <<'SH'
three_steps() {
  echo step-one-ran
  test "first-step" = "fails-here"
  echo step-two-ran
  true
}
check "three steps" three_steps
echo after-the-check
SH
check "first failing step fails the check" status_is first-step 1
check "the report names the check" says first-step "FAILED - three steps"
check "the report names the failing command" says first-step \
  "'test \"first-step\" = \"fails-here\"' exited with status 1"
check "the report names the file, line and function" says first-step \
  "first-step.sh:4 in three_steps"
check "no step after the failing one ran" never_says first-step step-two-ran
check "the test stops at the failed check" never_says first-step after-the-check

# The failing step is in a function the check's function calls, and in a
# command substitution there.
run_case nested <<'SH'
inner() { grep -q never-there /dev/null; echo inner-went-on; }
outer() { inner; echo outer-went-on; }
check "nested" outer
SH
check "a failing step in a called function fails the check" status_is nested 1
check "...and is named" says nested "'grep -q never-there /dev/null' exited with status 1"
check "...nothing after it ran" never_says nested went-on
run_case substitution <<'SH'
value() { local v; v=$(false; echo late-success); [ -n "$v" ]; }
check "substitution" value
SH
check "a failing step inside \$(...) fails the check" status_is substitution 1
check "...and is named" says substitution "in a subshell) substitution.sh:2 in value: 'false'"
run_case pipeline <<'SH'
piped() { false | cat; true; }
check "pipeline" piped
SH
check "a failing first stage of a pipeline fails the check" status_is pipeline 1

# The check's command itself fails (a one-step check).
run_case one-step <<'SH'
check "one step" test 1 = 2
SH
check "a failing one-step check fails" status_is one-step 1
check "...naming its command" says one-step "the check's command: test 1 = 2"

# Steps written as conditions may fail: a readiness poll that fails first,
# `|| true`, `if`, `!`, `&& return 1`, a killed process waited for; expecting
# failure works.  Options are restored after the checks.
run_case allowed <<'SH'
polls=0
ready() { polls=$((polls + 1)); [ "$polls" -ge 3 ]; }
start_service() {
  local code
  until ready; do :; done                    # poll: a condition
  code=$(curl -s -m 1 http://127.0.0.1:1/ 2>/dev/null) || code=000 # may fail
  [ "$code" = 000 ]
  grep -q never-there /dev/null || true      # allowed to fail
  if grep -q never-there /dev/null; then return 1; fi
  sleep 30 &
  local pid=$!
  kill "$pid"
  wait "$pid" 2>/dev/null || true            # a killed process: status 143
  kill -0 "$pid" 2>/dev/null && return 1     # a probe: the process is gone
  echo "service ready after $polls polls"
}
refused() { ! grep -q never-there /dev/null; }
check "poll then success" start_service
check "expects failure (function)" refused
check "expects failure (bash -c)" bash -c '! false'
check "sets variables in the caller's shell" eval 'SET_BY_CHECK=yes'
[ "$SET_BY_CHECK" = yes ] || { echo "variable lost" >&2; exit 1; }
case $- in *e*) echo "errexit leaked out of check" >&2; exit 1 ;; esac
shopt -q inherit_errexit && { echo "inherit_errexit leaked" >&2; exit 1; }
false # no errexit here: the script's own options are back
finish allowed
SH
check "steps written as conditions may fail" status_is allowed 0
check "...the poll ran until ready" says allowed "service ready after 3 polls"
check "...expecting failure passes" says allowed "ok - expects failure (bash -c)"
check "...every check counted" says allowed "allowed: 4 passed, 0 failed"

finish harness
