#!/usr/bin/env bash
# nimbus-connector and transient failures: nimbusd killed (every
# connection cut, long polls included) and started again with the same
# state, nimbusd stopped gracefully, nimbusd unreachable when the
# connector starts.  None of these may count as a deregistration: the
# connectors (one polling, one persistent, both with on-deregister=delete)
# back off, keep their registration, resubscribe, and print the next job.
set -euo pipefail
source "$(dirname "$0")/test-connector-common.sh"

nimbusd_start
check "tenant, users and queue" conn_setup_tenant
OUT="$CONN_DIR/out"
has_contact() { curl -fsS "$(conn_panel "$1")/status.json" | json_get "d['last_contact']" | grep -q T; }
registered() {
  [ "$(conn_status "$1")" = registered ] && [ "$(conn_state_field "$1" status)" = registered ] &&
    [ "$(conn_state_field "$1" credential | cut -c1-4)" = nmd_ ]
}
never_detected() { ! grep -q 'deregistration detected' "$CONN_DIR/$1.log"; }
long_polls() { curl -fsS "$NIMBUS_URL/metrics" | sed -n 's/^nimbus_device_long_polls //p'; }
retried() { [ "$(conn_log_count "$1" 'msg="retrying later"')" -gt "$2" ]; }
# The server never answered the connector's Get-Notifications with
# client-error-not-found (subscriptions live in the store, across restarts).
kept_subscription() { [ "$(conn_log_count waiter 'subscription unknown to the server')" = 0 ]; }
print_one() {
  local job
  job=$(submit_job onepage.pdf) && release_job "$job" &&
    wait_until "job $job completed" job_is "$job" completed
}

check "register a polling connector" conn_register poller "$(conn_claim poller)"
check "register a persistent connector" conn_register waiter "$(conn_claim waiter)"
check "start the polling connector" conn_start poller --output "file://$OUT/poller"
check "start the persistent connector" conn_start waiter --transport persistent --output "file://$OUT/waiter"
check "both talk to nimbusd" wait_until contact bash -c \
  "curl -fsS '$(conn_panel poller)/status.json' | grep -q '\"last_contact\": \"2' && curl -fsS '$(conn_panel waiter)/status.json' | grep -q '\"last_contact\": \"2'"
check "the persistent connector's long poll is held" wait_until "long poll" bash -c \
  "[ \"\$(curl -fsS '$NIMBUS_URL/metrics' | sed -n 's/^nimbus_device_long_polls //p')\" = 1 ]"
check "a job prints before the failures" print_one

# ---- kill -9: connections cut mid-long-poll ----
r_poll=$(conn_log_count poller 'msg="retrying later"')
r_wait=$(conn_log_count waiter 'msg="retrying later"')
nimbusd_kill9
check "polling connector notices and backs off" wait_until "poller retries" retried poller "$r_poll"
check "persistent connector notices and backs off" wait_until "waiter retries" retried waiter "$r_wait"
check "polling connector keeps its registration while nimbusd is down" registered poller
check "persistent connector keeps its registration while nimbusd is down" registered waiter
check "nimbusd starts again with the same state" nimbusd_restart
check "its long poll is held again" wait_until "long poll" bash -c \
  "[ \"\$(curl -fsS '$NIMBUS_URL/metrics' | sed -n 's/^nimbus_device_long_polls //p')\" = 1 ]"
# Subscriptions live in the store: the restarted server knows the old one.
check "the persistent connector keeps its subscription (the store kept it)" kept_subscription
check "a job prints after the restart" print_one
check "polling connector: never detected a deregistration" never_detected poller
check "persistent connector: never detected a deregistration" never_detected waiter
check "polling connector still registered" registered poller
check "persistent connector still registered" registered waiter
check "no deleted-registration answers" test "$(deleted_device_requests)" = 0

# ---- graceful stop and start ----
check "nimbusd stops gracefully" nimbusd_stop
check "nimbusd starts again" nimbusd_restart
check "its long poll is held again after the graceful restart" wait_until "long poll" bash -c \
  "[ \"\$(curl -fsS '$NIMBUS_URL/metrics' | sed -n 's/^nimbus_device_long_polls //p')\" = 1 ]"
check "persistent connector keeps its subscription" kept_subscription
check "a job prints after the graceful restart" print_one
check "still no deregistration detected" bash -c "! grep -q 'deregistration detected' '$CONN_DIR/poller.log' '$CONN_DIR/waiter.log'"

# ---- nimbusd down when a connector starts ----
check "polling connector stops" conn_stop poller
check "persistent connector stops" conn_stop waiter
nimbusd_kill9
check "polling connector starts with nimbusd down" conn_start poller --output "file://$OUT/poller"
check "persistent connector starts with nimbusd down" conn_start waiter --transport persistent --output "file://$OUT/waiter"
check "they back off" wait_until "retries" bash -c \
  "grep -q 'retrying later' '$CONN_DIR/poller.log' && grep -q 'retrying later' '$CONN_DIR/waiter.log'"
check "nimbusd comes back" nimbusd_restart
check "a job prints once nimbusd is back" print_one
check "polling connector registered at the end" registered poller
check "persistent connector registered at the end" registered waiter
check "never a deregistration" bash -c "! grep -q 'deregistration detected' '$CONN_DIR/poller.log' '$CONN_DIR/waiter.log'"
check "polling connector stops cleanly" conn_stop poller
check "persistent connector stops cleanly" conn_stop waiter
check "nimbusd stops cleanly" nimbusd_stop
finish test-connector-transient
