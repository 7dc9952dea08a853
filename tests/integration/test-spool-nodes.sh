#!/usr/bin/env bash
# Several nodes on one spool (--node-id, docs/ARCHITECTURE.md §6): a node
# keeps its uploads in progress in spool/tmp/<node-id>/ and holds
# spool/tmp/<node-id>/.lock while it runs.  Another node's upload in
# progress (simulated: a .part file below spool/tmp/other-node/, since two
# real nodes would share this SQLite database) survives a start-up, this
# node's stale ones do not; a second nimbusd with the same node id on the
# same spool is refused with a clear message; bad node ids are refused; the
# default node id is the host name.
set -euo pipefail
source "$(dirname "$0")/lib-nimbusd.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

nimbusd_start --demo --node-id node-a
SPOOL=$NIMBUS_STATE/spool
H="127.0.0.1:$NIMBUS_PORT"

layout() {
  test -f "$SPOOL/tmp/node-a/.lock"
  test -d "$SPOOL/tmp/node-a/0" && test -d "$SPOOL/tmp/node-a/f" && test -d "$SPOOL/data"
  test "$(cat "$SPOOL/tmp/node-a/.lock")" = "$NIMBUSD_PID"
}
check "the node's upload area and lock (holding its pid)" layout

# A document larger than the inline limit goes through this node's area.
python3 "$HERE/make_pdf.py" "$NIMBUS_STATE.big.pdf" 20000
spooled() {
  ipptool -t -T 10 -f "$NIMBUS_STATE.big.pdf" \
    "ipp://alice:alice-demo-pass@$H/ipp/print/demo/office" "$HERE/ipp/print-job-display.test" \
    >/dev/null
  test "$(find "$SPOOL/data" -type f | wc -l)" -eq 1
  test -z "$(find "$SPOOL/tmp" -name '*.part')"
}
check "a spooled document is committed to the shared data/" spooled

# A second nimbusd with the same node id on the same spool: refused.
same_id_refused() {
  local rc=0
  "$NIMBUSD" --listen 127.0.0.1 --port 0 --state-dir "$NIMBUS_STATE" --node-id node-a \
    --admin-password "$NIMBUS_ADMIN_PASSWORD" --fast-hashing >"$NIMBUS_STATE.second.out" \
    2>"$NIMBUS_STATE.second.err" || rc=$?
  test "$rc" -eq 1
  grep -q "node id 'node-a' is already in use on spool $SPOOL" "$NIMBUS_STATE.second.err"
  grep -q "pid $NIMBUSD_PID" "$NIMBUS_STATE.second.err"
  curl -fsS "$NIMBUS_URL/healthz" >/dev/null # the first one serves on
  test "$(cat "$SPOOL/tmp/node-a/.lock")" = "$NIMBUSD_PID"
}
check "a second nimbusd with the same --node-id on the spool is refused" same_id_refused
check "nimbusd stops" nimbusd_stop

# Leftovers while stopped: this node's stale uploads (as after a crash) and
# another node's upload in progress.
OWN_PART=$SPOOL/tmp/node-a/7/7777777777777777777777777777777a.part
OTHER_PART=$SPOOL/tmp/other-node/3/3333333333333333333333333333333b.part
mkdir -p "$(dirname "$OTHER_PART")"
echo "node-a crashed during this upload" >"$OWN_PART"
echo "other-node is receiving this" >"$OTHER_PART"
echo "stale too" >"$SPOOL/tmp/node-a/c/cccccccccccccccccccccccccccccccc.part"

sweep_own_only() {
  nimbusd_restart
  test ! -e "$OWN_PART"
  test -z "$(find "$SPOOL/tmp/node-a" -name '*.part')"
  test -f "$OTHER_PART"
  grep -q 'msg="removed unfinished spool files" count=2' "$NIMBUS_STATE.log"
  test "$(find "$SPOOL/data" -type f | wc -l)" -eq 1 # the acknowledged job's document
}
check "start-up removes this node's stale uploads, never another node's" sweep_own_only
check "nimbusd stops again" nimbusd_stop

bad_ids() {
  local id rc
  for id in 'a/b' '..' 'node a' "$(printf 'x%.0s' $(seq 1 65))"; do
    rc=0
    "$NIMBUSD" --state-dir "$NIMBUS_STATE" --port 0 --node-id "$id" >/dev/null \
      2>"$NIMBUS_STATE.bad.err" || rc=$?
    [ "$rc" -eq 2 ] || { echo "--node-id '$id': exit $rc" >&2; return 1; }
    grep -Eq "invalid node id|longer than 64" "$NIMBUS_STATE.bad.err"
  done
}
check "invalid --node-id values are refused (exit 2)" bad_ids

default_id() {
  local host
  host=$(hostname)
  nimbusd_start
  test -f "$NIMBUS_STATE/spool/tmp/$host/.lock"
  grep -q "node_id=$host" "$NIMBUS_STATE.log"
  nimbusd_stop
}
check "the node id defaults to the host name" default_id
finish spool-nodes
