#!/usr/bin/env bash
# Disk full (issue 8): nimbusd's state directory on a 4 MiB tmpfs.  An
# upload larger than the free space is answered 507 with Retry-After
# (REST) and server-error-busy (IPP) saying the server is out of space,
# the log has the errno, /healthz is 503 with a reason while the disk is
# full or a write has just failed for lack of space, and once space is
# freed uploads work again and every job accepted before is intact (its
# spool file byte for byte, its inline document, the database).
# Needs root for the tmpfs mount (CI runs as root).
set -euo pipefail
source "$(dirname "$0")/lib-nimbusd.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
D=$NIMBUS_TEST_DATA
TMP=$(mktemp -d /tmp/nimbus-diskfull.XXXXXX)
_lib_tmpdirs+=("$TMP")

nimbusd_start --min-free-space 512K
mk() { api POST "$1" -H 'Content-Type: application/json' -d "$2" -o /dev/null -w '%{http_code}' | grep -qx 201; }
check "set up tenant, user, queue" mk /api/v1/tenants '{"name":"acme"}'
mk "/api/v1/users?tenant=acme" '{"name":"alice","password":"alice-pw-1","role":"user"}'
mk "/api/v1/queues?tenant=acme" '{"name":"floor"}'
nimbusd_stop

# Move the state directory onto a small tmpfs (unmounted at exit).
cp -a "$NIMBUS_STATE" "$TMP/copy"
if ! mount -t tmpfs -o size=4m,mode=0700 tmpfs "$NIMBUS_STATE" 2>"$TMP/mount.err"; then
  echo "SKIP: cannot mount a tmpfs (needs root): $(cat "$TMP/mount.err")"
  exit 77
fi
_unmount() { umount "$NIMBUS_STATE" 2>/dev/null || umount -l "$NIMBUS_STATE" 2>/dev/null || true; }
trap '_lib_cleanup_and_unmount' EXIT
_lib_cleanup_and_unmount() {
  _lib_cleanup_pid
  _unmount
  for d in "${_lib_tmpdirs[@]}"; do rm -rf "$d"; done
}
_lib_cleanup_pid() {
  if [ -n "${NIMBUSD_PID:-}" ] && kill -0 "$NIMBUSD_PID" 2>/dev/null; then
    kill -TERM "$NIMBUSD_PID" 2>/dev/null
    wait "$NIMBUSD_PID" 2>/dev/null || true
  fi
}
cp -a "$TMP/copy/." "$NIMBUS_STATE/"
nimbusd_restart
H="127.0.0.1:$NIMBUS_PORT"
ALICE=alice@acme:alice-pw-1
healthz() { curl -sS -o "$TMP/health" -w '%{http_code}' "$NIMBUS_URL/healthz"; }
check "/healthz is ok on the small disk with room to spare" test "$(healthz)" = 200

# Jobs accepted before the disk fills: one spooled (REST), one inline (IPP).
python3 "$HERE/make_pdf.py" "$TMP/big.pdf" 20000 # ~200 KB: goes to the spool
upload() { # upload FILE TYPE: REST submission; HTTP status, body in $TMP/body, headers in $TMP/hdr
  curl -sS -u "$ALICE" -D "$TMP/hdr" -o "$TMP/body" -w '%{http_code}' -F queue=floor \
    -F "document=@$1;type=$2" "$NIMBUS_URL/api/v1/jobs"
}
check "a spooled upload before the disk fills is accepted" test "$(upload "$TMP/big.pdf" application/pdf)" = 201
EARLY=$(json_get "d['id']" <"$TMP/body")
ipp_print() { # ipp_print FILE FORMAT STATUS: Print-Job answered STATUS; output in $TMP/ipp
  cat >"$TMP/print.test" <<TEST
{
	NAME "Print-Job answered $3"
	OPERATION Print-Job
	GROUP operation-attributes-tag
	ATTR charset attributes-charset utf-8
	ATTR naturalLanguage attributes-natural-language en
	ATTR uri printer-uri \$uri
	ATTR name requesting-user-name alice
	ATTR mimeMediaType document-format $2
	FILE $1
	STATUS $3
	DISPLAY status-message
}
TEST
  local rc=0
  ipptool -t -T 30 "ipp://alice:alice-pw-1@$H/ipp/print/acme/floor" "$TMP/print.test" >"$TMP/ipp" 2>&1 || rc=$?
  if [ $rc -ne 0 ] || grep -q -e '^ipptool:' -e '\[FAIL\]' "$TMP/ipp" || ! grep -q '\[PASS\]' "$TMP/ipp"; then
    cat "$TMP/ipp" >&2
    return 1
  fi
}
check "an inline Print-Job before the disk fills is accepted" \
  ipp_print "$D/onepage.pdf" application/pdf successful-ok

# An upload larger than the free space.
head -c 6000000 /dev/urandom >"$TMP/huge.bin"
check "REST: an upload larger than the free space is 507" \
  test "$(upload "$TMP/huge.bin" application/pdf)" = 507
check "...a problem document saying the server is out of space" \
  test "$(json_get "d['status'], 'out of disk space' in d['detail']" <"$TMP/body")" = "507 True"
check "...with Retry-After" grep -qi '^Retry-After: [1-9]' "$TMP/hdr"
check "the log names the errno (ENOSPC)" grep -q 'msg="disk full" where="spool write" errno=28' "$NIMBUS_STATE.log"
check "/healthz is 503 after the failed write" test "$(healthz)" = 503
check "...with the reason" grep -q 'lack of disk space' "$TMP/health"
check "IPP: a Print-Job larger than the free space is server-error-busy" \
  ipp_print "$TMP/huge.bin" application/octet-stream server-error-busy
check "...with a status-message saying so" grep -q 'status-message.*out of disk space' "$TMP/ipp"
check "no partial spool file is left behind" \
  test -z "$(find "$NIMBUS_STATE/spool/tmp" -name '*.part')"

# The disk itself full: /healthz says so from the free space.
dd if=/dev/zero of="$NIMBUS_STATE/filler" bs=64k 2>/dev/null || true
check "/healthz is 503 while the disk is full" test "$(healthz)" = 503
check "...saying how much is free" grep -q 'bytes free, less than --min-free-space' "$TMP/health"
code=$(upload "$D/onepage-30k.pdf" application/pdf)
check "REST: any upload on the full disk is 507 (got $code)" test "$code" = 507
check "IPP: a small Print-Job on the full disk is server-error-busy" \
  ipp_print "$D/onepage.pdf" application/pdf server-error-busy
check "...refused by the store (SQLITE_FULL), logged as such" \
  grep -q 'msg="disk full" where="store: ' "$NIMBUS_STATE.log"

# Space freed: uploads work again, /healthz recovers.
rm -f "$NIMBUS_STATE/filler"
check "after freeing space an upload is accepted" test "$(upload "$D/onepage-30k.pdf" application/pdf)" = 201
check "...and an IPP Print-Job as well" ipp_print "$D/onepage.pdf" application/pdf successful-ok
check "/healthz is ok again" test "$(healthz)" = 200

# Everything accepted is intact.
jobs_seen=$(curl -fsS -u "$ALICE" "$NIMBUS_URL/api/v1/jobs?state=all" |
  json_get "' '.join('%d:%s:%d' % (j['id'], j['state'], j['documents'][0]['size']) for j in d['jobs'])")
big=$(stat -c %s "$TMP/big.pdf")
check "the four accepted jobs are listed, held, with their sizes ($jobs_seen)" \
  test "$jobs_seen" = "$EARLY:held:$big 2:held:656 3:held:30668 4:held:656"
sum=$(sha256sum <"$TMP/big.pdf" | cut -d' ' -f1)
check "the early spooled document is intact byte for byte" \
  bash -c "sha256sum '$NIMBUS_STATE'/spool/data/* | grep -q '^$sum '"
nimbusd_stop
check "the database passes integrity_check" \
  test "$(sqlite3 "$NIMBUS_STATE/nimbus.db" 'PRAGMA integrity_check')" = ok
check "the inline document is intact" \
  test "$(sqlite3 "$NIMBUS_STATE/nimbus.db" 'SELECT length(data) FROM document_data ORDER BY job_id LIMIT 1')" = 656
finish test-disk-full
