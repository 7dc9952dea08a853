# lib-ippeve.sh: a real IPP printer for connector tests: CUPS's
# ippeveprinter on a free loopback port.  Source it, then:
#   ippeve_start [extra ippeveprinter flags...]
#       starts dbus and avahi-daemon when they are not running (ippeveprinter
#       needs them), then the printer; exports IPPEVE_URI, IPPEVE_PORT,
#       IPPEVE_PID, IPPEVE_SPOOL and IPPEVE_PRINTED (a directory that gets
#       one copy of every document the printer prints)
#   ippeve_printed_count   number of documents printed so far
#   ippeve_printed_with COPIES SIDES [WHICH]
#                          a job of the printer (WHICH: completed, the
#                          default, or all) has those copies and sides
#                          (Get-Jobs, ipp/printer-job-settings.test)
#   IPPEVE_HOLD            a file; while it exists, jobs stay "printing"
#   IPPEVE_FAIL            a file; while it exists, printing fails (job aborted)
#   ippeve_stop            stop the printer (dbus/avahi stay up)
# Needs: ippeveprinter (cups-ipp-utils), dbus-daemon (dbus), avahi-daemon,
# python3.

_ippeve_dirs=()

_ippeve_cleanup() {
  ippeve_stop
  local d
  for d in "${_ippeve_dirs[@]}"; do rm -rf "$d"; done
}

# dbus + avahi: ippeveprinter registers itself with DNS-SD and exits
# without a running avahi-daemon.
ippeve_system_services() {
  if ! pgrep -x dbus-daemon >/dev/null 2>&1; then
    mkdir -p /run/dbus
    dbus-uuidgen --ensure >/dev/null 2>&1 || true
    rm -f /run/dbus/pid
    dbus-daemon --system --fork >/dev/null 2>&1 || true
  fi
  if ! pgrep -x avahi-daemon >/dev/null 2>&1 && ! pgrep -f '^avahi-daemon: ' >/dev/null 2>&1; then
    avahi-daemon -D --no-chroot >/dev/null 2>&1 || true
  fi
  local i
  for i in $(seq 1 100); do
    [ -S /run/avahi-daemon/socket ] || [ -S /var/run/avahi-daemon/socket ] && return 0
    sleep 0.05
  done
  echo "lib-ippeve: avahi-daemon did not start" >&2
  return 1
}

_ippeve_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

ippeve_start() {
  ippeve_system_services || return 1
  local dir
  dir=$(mktemp -d /tmp/ippeve-test.XXXXXX)
  _ippeve_dirs+=("$dir")
  IPPEVE_SPOOL="$dir/spool"
  IPPEVE_PRINTED="$dir/printed"
  mkdir -p "$IPPEVE_SPOOL" "$IPPEVE_PRINTED"
  # the print command: keep a copy of each document, report success
  cat >"$dir/print.sh" <<'SH'
#!/bin/sh
# while the hold file exists the printer "prints" (tests of restarts)
while [ -n "$IPPEVE_HOLD" ] && [ -e "$IPPEVE_HOLD" ]; do sleep 0.1; done
# while the fail file exists printing fails (the job is aborted)
if [ -n "$IPPEVE_FAIL" ] && [ -e "$IPPEVE_FAIL" ]; then exit 1; fi
cp "$1" "$IPPEVE_PRINTED/" && exit 0
exit 1
SH
  chmod +x "$dir/print.sh"
  IPPEVE_HOLD="$dir/hold"
  IPPEVE_FAIL="$dir/fail"
  export IPPEVE_PRINTED IPPEVE_SPOOL IPPEVE_HOLD IPPEVE_FAIL
  local attempt i
  for attempt in 1 2 3; do
    IPPEVE_PORT=$(_ippeve_free_port)
    ippeveprinter -p "$IPPEVE_PORT" -n localhost -d "$IPPEVE_SPOOL" -k \
      -f application/pdf,image/pwg-raster,image/urf,image/jpeg \
      -c "$dir/print.sh" -M Nimbus -m "Test Printer" "$@" "nimbus-test-$IPPEVE_PORT" \
      >"$dir/ippeve.log" 2>&1 &
    IPPEVE_PID=$!
    for i in $(seq 1 200); do
      if ! kill -0 "$IPPEVE_PID" 2>/dev/null; then break; fi
      if ipptool -q -T 2 "ipp://127.0.0.1:$IPPEVE_PORT/ipp/print" get-printer-attributes.test \
        >/dev/null 2>&1; then
        IPPEVE_URI="ipp://127.0.0.1:$IPPEVE_PORT/ipp/print"
        export IPPEVE_URI IPPEVE_PORT IPPEVE_PID
        return 0
      fi
      sleep 0.1
    done
    kill "$IPPEVE_PID" 2>/dev/null || true # may have exited
    wait "$IPPEVE_PID" 2>/dev/null || true
  done
  echo "lib-ippeve: ippeveprinter did not start; its log:" >&2
  cat "$dir/ippeve.log" >&2
  return 1
}

ippeve_printed_count() { find "$IPPEVE_PRINTED" -type f | wc -l; }

ippeve_stop() {
  if [ -n "${IPPEVE_PID:-}" ] && kill -0 "$IPPEVE_PID" 2>/dev/null; then
    kill -TERM "$IPPEVE_PID" 2>/dev/null
    wait "$IPPEVE_PID" 2>/dev/null || true
  fi
  IPPEVE_PID=
}

ippeve_printed_with() {
  local out
  out=$(ipptool -t -T 10 -d which="${3:-completed}" "$IPPEVE_URI" \
    "$(dirname "${BASH_SOURCE[0]}")/ipp/printer-job-settings.test" 2>&1) || {
    echo "$out" >&2
    return 1
  }
  grep -q "copies (integer) = $1\$" <<<"$out" && grep -q "sides (keyword) = $2\$" <<<"$out"
}
