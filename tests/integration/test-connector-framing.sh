#!/usr/bin/env bash
# HTTP framing (RFC 9112 section 6, issue 8 item 14) on the connector's two
# libmicrohttpd fronts, its IPP printer for PCs (--listen-ipp) and its
# panel: a request with Content-Length and Transfer-Encoding, two different
# Content-Lengths or chunked applied twice is answered 400, an unsupported
# transfer coding (gzip) 501, and the connection is closed at once; sound
# requests are still served.  Raw sockets: tests/integration/http_framing.py.
set -euo pipefail
source "$(dirname "$0")/test-connector-common.sh"

nimbusd_start
OUT=$(mktemp -d /tmp/nimbus-framing.XXXXXX)
_lib_tmpdirs+=("$OUT")
check "tenant, users and queue" conn_setup_tenant
check "register the printer" conn_register desk "$(conn_claim desk)"
check "connector starts with --listen-ipp" conn_start desk --output "file://$OUT" \
  --listen-ipp 127.0.0.1:0
ipp_port() { sed -n 's/.*msg="ipp listening".* port=\([0-9]*\).*/\1/p' "$CONN_DIR/desk.log" | tail -1; }
has_ipp_port() { [ -n "$(ipp_port)" ]; }
check "the ipp listener logged its port" wait_until 'msg="ipp listening"' has_ipp_port
IPP_PORT=$(ipp_port)
PANEL_PORT=$(conn_panel desk)
PANEL_PORT=${PANEL_PORT##*:}

is() {
  local want=$1 got
  shift
  got=$("$@")
  [ "$got" = "$want" ] || { echo "got '$got', expected '$want'" >&2; return 1; }
}
framing() { python3 "$HERE/http_framing.py" "$@"; }

for front in "ipp $IPP_PORT /ipp/print" "panel $PANEL_PORT /decision"; do
  read -r name port path <<<"$front"
  check "$name: Content-Length and Transfer-Encoding: chunked: 400, closed" \
    is "HTTP 400 closed" framing "$port" "$path" cl-and-chunked
  check "$name: two different Content-Length headers: 400, closed" \
    is "HTTP 400 closed" framing "$port" "$path" two-lengths
  check "$name: chunked applied twice: 400, closed" \
    is "HTTP 400 closed" framing "$port" "$path" te-chunked-twice
  check "$name: Transfer-Encoding: gzip: 501, closed" \
    is "HTTP 501 closed" framing "$port" "$path" te-gzip
  check "$name: Transfer-Encoding: gzip, chunked: 501, closed" \
    is "HTTP 501 closed" framing "$port" "$path" te-gzip-chunked
done
python3 "$HERE/ipp_bad.py" get-printer-attributes "ipp://127.0.0.1:$IPP_PORT/ipp/print" \
  >"$OUT/gpa.ipp"
gpa() {
  curl -sS -o /dev/null -w '%{http_code} %{content_type}' -H 'Content-Type: application/ipp' \
    --data-binary "@$OUT/gpa.ipp" "http://127.0.0.1:$IPP_PORT/ipp/print"
}
check "ipp: a sound request is still served" is "200 application/ipp" gpa
check "panel: a sound request is still served" curl -fsS -o /dev/null "http://127.0.0.1:$PANEL_PORT/"

check "connector stops cleanly" conn_stop desk
check "nimbusd stops cleanly" nimbusd_stop
finish connector-framing
