#!/usr/bin/env bash
# Bad input over IPP and REST: each request is refused with the right HTTP
# or IPP status and leaves no trace: the job count of every tenant (REST,
# as operator), the demo tenant's tokens and the files under spool/tmp/*/
# and spool/data/ are what they were before it.
# Also: requests with broken HTTP framing (RFC 9112 section 6,
# http_framing.py) are answered 400/501 and closed.  Hostile documents
# (PDF bombs) are in test-hostile-docs.sh.
# Documents are sent small (kept in memory until admitted) and larger than
# 64 KiB (spooled to a file first).  Phase 1 runs with the default limits,
# phase 2 on a second server with --max-ipp-header 4096 --max-json-body 4096.
set -euo pipefail
source "$(dirname "$0")/lib-nimbusd.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
D=$NIMBUS_TEST_DATA
WORK=$(mktemp -d /tmp/nimbus-bad.XXXXXX)
_lib_tmpdirs+=("$WORK")

nimbusd_start --demo
H="127.0.0.1:$NIMBUS_PORT"
OFFICE=/ipp/print/demo/office
ALICE=alice:alice-demo-pass

# ---- what a request may leave behind -------------------------------------

total_of() { api GET "$1" | json_get "d['total'] if 'total' in d else len(d['$2'])"; }

# traces: one line counting everything a request could have left behind.
traces() {
  local t jobs=0
  for t in $(api GET /api/v1/tenants | json_get "' '.join(t['name'] for t in d['tenants'])"); do
    jobs=$((jobs + $(total_of "/api/v1/jobs?tenant=$t&state=all&limit=1" jobs)))
  done
  echo "jobs=$jobs tokens=$(total_of "/api/v1/tokens?tenant=demo" tokens)" \
    "tmp=$(find "$NIMBUS_STATE"/spool/tmp/*/ -type f | wc -l)" \
    "data=$(find "$NIMBUS_STATE/spool/data/" -type f | wc -l)"
}

# no_trace: traces are back to $BASE.  A partial file is removed when the
# request is cleaned up, which may be a moment after the response: wait up
# to 5 s for that, no longer.
no_trace() {
  local now i
  for i in $(seq 1 50); do
    now=$(traces)
    [ "$now" = "$BASE" ] && return 0
    sleep 0.1
  done
  echo "the request left a trace: before '$BASE', after '$now'" >&2
  find "$NIMBUS_STATE/spool" -type f >&2
  return 1
}

# ---- requests ----------------------------------------------------------------

# outcome CODE: "HTTP CODE", plus the challenge scheme of a 401, the Allow
# header of a 405 and the media type of a REST error (headers in $WORK/h).
hdr() { tr -d '\r' <"$WORK/h" | sed -n "s/^$1: *//Ip" | tail -1; }
outcome() {
  local out="HTTP $1"
  case $1 in
    401) out+=" WWW-Authenticate=$(hdr WWW-Authenticate | cut -d' ' -f1)" ;;
    405) out+=" Allow=$(hdr Allow)" ;;
  esac
  echo "$out"
}

# ipp_post CREDS PATH FILE [CONTENT-TYPE]: POST FILE as an IPP request;
# prints "HTTP 200 IPP 0xSSSS" for an IPP answer (read by ipp_strict.py),
# else the outcome.
ipp_post() {
  local creds=$1 path=$2 file=$3 ctype=${4:-application/ipp} code
  code=$(curl -s -o "$WORK/body" -D "$WORK/h" -w '%{http_code}' ${creds:+-u "$creds"} \
    -H "Content-Type: $ctype" --data-binary "@$file" "http://$H$path") || true
  if [ "$code" = 200 ] && [ "$(hdr Content-Type)" = application/ipp ]; then
    # read strictly (group order, bounds): a malformed answer fails the check
    echo "HTTP 200 IPP $(python3 "$HERE/ipp_strict.py" "$WORK/body" 2>&1)"
  else
    outcome "$code"
  fi
}

# rest CREDS METHOD PATH [curl args...]: prints the outcome and the media
# type of the answer ("HTTP 400 application/problem+json").
rest() {
  local creds=$1 method=$2 path=$3 code
  shift 3
  code=$(curl -s -o "$WORK/body" -D "$WORK/h" -w '%{http_code}' -u "$creds" -X "$method" \
    "$@" "$NIMBUS_URL$path") || true
  echo "$(outcome "$code") $(hdr Content-Type)"
}

# refused WANT CMD...: CMD prints the outcome; it must be WANT, and the
# request must leave no trace.
refused() {
  local want=$1 got
  shift
  got=$("$@")
  if [ "$got" != "$want" ]; then
    echo "got '$got', expected '$want'; body: $(head -c 300 "$WORK/body" | tr -c '[:print:]\n' .)" >&2
    return 1
  fi
  no_trace
}

raw() { python3 "$HERE/ipp_raw.py" "$@"; }
bad() { python3 "$HERE/ipp_bad.py" "$@"; }
URI="ipp://$H$OFFICE"

# ---- request bodies ----------------------------------------------------------

raw print-job "$URI" --document "$D/onepage.pdf" --truncate 20 >"$WORK/truncated.ipp"
python3 -c 'import random, sys; random.seed(7); sys.stdout.buffer.write(random.randbytes(4096))' \
  >"$WORK/garbage.bin"
raw print-job "$URI" --version 9.9 --document "$D/onepage.pdf" >"$WORK/version.ipp"
raw print-job "$URI" --request-id 0 --document "$D/onepage.pdf" >"$WORK/reqid0.ipp"
raw print-job "$URI" --job-name "$(printf 'n%.0s' $(seq 1 300))" --document "$D/onepage.pdf" \
  >"$WORK/longname.ipp"
raw print-job "$URI" --document "$D/onepage.pdf" >"$WORK/good.ipp"
bad print-job "$URI" --document-format application/pdf --document "$D/corrupt.pdf" \
  >"$WORK/corrupt.ipp"
bad print-job "$URI" --document-format application/x-foo --document "$D/onepage.pdf" \
  >"$WORK/x-foo.ipp"
bad print-job "$URI" --document-format application/octet-stream --document "$WORK/garbage.bin" \
  >"$WORK/octet-garbage.ipp"
bad print-job "$URI" --pad 300000 --document "$D/onepage.pdf" >"$WORK/header-300k.ipp"

# A valid PDF of about 200 KB (one page, a padded content stream): larger
# than what waits in memory for admission, so it reaches the spool first.
python3 "$(dirname "$0")/make_pdf.py" "$WORK/big.pdf" 20000
# The same refusals with documents too large to wait in memory (more than
# 64 KiB): these reach a spool file before they are judged.
python3 -c 'import sys; sys.stdout.buffer.write(open(sys.argv[1], "rb").read() + b"% pad\n" * 20000)' \
  "$D/corrupt.pdf" >"$WORK/corrupt-big.pdf"
python3 -c 'import random, sys; random.seed(8); sys.stdout.buffer.write(random.randbytes(200000))' \
  >"$WORK/garbage-big.bin"
bad print-job "$URI" --document-format application/pdf --document "$WORK/corrupt-big.pdf" \
  >"$WORK/corrupt-big.ipp"
bad print-job "$URI" --document-format application/x-foo --document "$WORK/big.pdf" \
  >"$WORK/x-foo-big.ipp"
bad print-job "$URI" --document-format application/octet-stream --document "$WORK/garbage-big.bin" \
  >"$WORK/octet-garbage-big.ipp"
raw print-job "$URI" --version 9.9 --document "$WORK/big.pdf" >"$WORK/version-big.ipp"
raw print-job "$URI" --document "$WORK/big.pdf" >"$WORK/good-big.ipp"

# ---- phase 1: IPP -------------------------------------------------------------

BASE=$(traces)
echo "# before: $BASE"

check "truncated IPP request (first 20 bytes): HTTP 400" \
  refused "HTTP 400" ipp_post "$ALICE" "$OFFICE" "$WORK/truncated.ipp"
check "garbage bytes: HTTP 400" \
  refused "HTTP 400" ipp_post "$ALICE" "$OFFICE" "$WORK/garbage.bin"
check "IPP version 9.9: server-error-version-not-supported" \
  refused "HTTP 200 IPP 0x0503" ipp_post "$ALICE" "$OFFICE" "$WORK/version.ipp"
check "request-id 0: client-error-bad-request" \
  refused "HTTP 200 IPP 0x0400" ipp_post "$ALICE" "$OFFICE" "$WORK/reqid0.ipp"
check "job-name of 300 octets: client-error-request-value-too-long" \
  refused "HTTP 200 IPP 0x0409" ipp_post "$ALICE" "$OFFICE" "$WORK/longname.ipp"
check "Content-Type text/plain: HTTP 415" \
  refused "HTTP 415" ipp_post "$ALICE" "$OFFICE" "$WORK/good.ipp" text/plain
check "PUT on the IPP URL: HTTP 405, Allow: GET, HEAD, POST" \
  refused "HTTP 405 Allow=GET, HEAD, POST application/problem+json" rest "$ALICE" PUT "$OFFICE"
check "GET on /ipp/system: HTTP 405, Allow: POST" \
  refused "HTTP 405 Allow=POST application/problem+json" rest "$ALICE" GET /ipp/system
check "corrupt PDF declared application/pdf: client-error-document-format-error" \
  refused "HTTP 200 IPP 0x0411" ipp_post "$ALICE" "$OFFICE" "$WORK/corrupt.ipp"
check "document-format application/x-foo: client-error-document-format-not-supported" \
  refused "HTTP 200 IPP 0x040a" ipp_post "$ALICE" "$OFFICE" "$WORK/x-foo.ipp"
check "garbage as application/octet-stream: client-error-document-format-not-supported" \
  refused "HTTP 200 IPP 0x040a" ipp_post "$ALICE" "$OFFICE" "$WORK/octet-garbage.ipp"
check "200 KB corrupt PDF declared application/pdf: client-error-document-format-error" \
  refused "HTTP 200 IPP 0x0411" ipp_post "$ALICE" "$OFFICE" "$WORK/corrupt-big.ipp"
check "200 KB PDF declared application/x-foo: client-error-document-format-not-supported" \
  refused "HTTP 200 IPP 0x040a" ipp_post "$ALICE" "$OFFICE" "$WORK/x-foo-big.ipp"
check "200 KB of garbage as application/octet-stream: document-format-not-supported" \
  refused "HTTP 200 IPP 0x040a" ipp_post "$ALICE" "$OFFICE" "$WORK/octet-garbage-big.ipp"
check "IPP version 9.9 with a 200 KB document: server-error-version-not-supported" \
  refused "HTTP 200 IPP 0x0503" ipp_post "$ALICE" "$OFFICE" "$WORK/version-big.ipp"
check "wrong password: HTTP 401 with a Basic challenge" \
  refused "HTTP 401 WWW-Authenticate=Basic" ipp_post alice:wrong-pass "$OFFICE" "$WORK/good.ipp"
check "wrong password with a 200 KB document: HTTP 401" \
  refused "HTTP 401 WWW-Authenticate=Basic" ipp_post alice:wrong-pass "$OFFICE" "$WORK/good-big.ipp"
check "no credentials: HTTP 401 with a Basic challenge" \
  refused "HTTP 401 WWW-Authenticate=Basic" ipp_post "" "$OFFICE" "$WORK/good.ipp"
check "300 KB attribute section (default --max-ipp-header 256k): HTTP 413" \
  refused "HTTP 413" ipp_post "$ALICE" "$OFFICE" "$WORK/header-300k.ipp"

# A tenant whose documents may be at most 10000 bytes.
mk() { api POST "$1" -H 'Content-Type: application/json' -d "$2" -o /dev/null -w '%{http_code}' | grep -qx 201; }
check "create tenant 'small' (max_document_size 10000), its user and queue" \
  mk /api/v1/tenants '{"name":"small","max_document_size":10000}'
mk "/api/v1/users?tenant=small" '{"name":"sam","password":"sam-pass-1","role":"user"}'
mk "/api/v1/queues?tenant=small" '{"name":"tiny"}'
BASE=$(traces)
SMALL="ipp://$H/ipp/print/small/tiny"
raw print-job "$SMALL" --document "$D/onepage-30k.pdf" >"$WORK/30k.ipp"
raw print-job "$SMALL" --document "$WORK/big.pdf" >"$WORK/200k.ipp"
check "30 KB document over the tenant's 10000 bytes: client-error-request-entity-too-large" \
  refused "HTTP 200 IPP 0x0408" ipp_post sam:sam-pass-1 /ipp/print/small/tiny "$WORK/30k.ipp"
check "200 KB document (streamed to the spool) over 10000 bytes: request-entity-too-large" \
  refused "HTTP 200 IPP 0x0408" ipp_post sam:sam-pass-1 /ipp/print/small/tiny "$WORK/200k.ipp"

# ---- phase 1: HTTP framing (RFC 9112 section 6) ------------------------------

# No request body is read, so no trace is possible: plain comparisons.
framing() { python3 "$HERE/http_framing.py" "$NIMBUS_PORT" "$@"; }
is() {
  local want=$1 got
  shift
  got=$("$@")
  [ "$got" = "$want" ] || { echo "got '$got', expected '$want'" >&2; return 1; }
}
check "IPP: Content-Length and Transfer-Encoding: chunked: 400, closed" \
  is "HTTP 400 closed" framing "$OFFICE" cl-and-chunked
check "IPP: Transfer-Encoding: chunked then Content-Length: 400, closed" \
  is "HTTP 400 closed" framing "$OFFICE" chunked-and-cl
check "IPP: two different Content-Length headers: 400, closed" \
  is "HTTP 400 closed" framing "$OFFICE" two-lengths
check "IPP: Transfer-Encoding: gzip: 501, closed" is "HTTP 501 closed" framing "$OFFICE" te-gzip
check "IPP: Transfer-Encoding: gzip, chunked: 501, closed" \
  is "HTTP 501 closed" framing "$OFFICE" te-gzip-chunked
check "IPP: Transfer-Encoding gzip and chunked on two lines: 501, closed" \
  is "HTTP 501 closed" framing "$OFFICE" te-two-lines
check "IPP: chunked applied twice: 400, closed" \
  is "HTTP 400 closed" framing "$OFFICE" te-chunked-twice
check "REST: Content-Length and Transfer-Encoding: chunked: 400, closed" \
  is "HTTP 400 closed" framing /api/v1/jobs cl-and-chunked
check "REST: two different Content-Length headers: 400, closed" \
  is "HTTP 400 closed" framing /api/v1/jobs two-lengths
check "REST: Transfer-Encoding: gzip: 501, closed" \
  is "HTTP 501 closed" framing /api/v1/jobs te-gzip
check "two equal Content-Length headers are one length: answered, connection kept" \
  is "HTTP 401 open" framing /api/v1/jobs same-lengths

# ---- phase 1: REST -----------------------------------------------------------------

JSON=(-H 'Content-Type: application/json')
check "REST malformed JSON: 400 problem+json" \
  refused "HTTP 400 application/problem+json" \
  rest alice@demo:alice-demo-pass POST /api/v1/tokens "${JSON[@]}" -d '{"label": "x",'
python3 -c 'import json; print(json.dumps({"label": "x" * (2 << 20)}))' >"$WORK/2m.json"
check "REST 2 MB JSON body (default --max-json-body 1M): 413 problem+json" \
  refused "HTTP 413 application/problem+json" \
  rest alice@demo:alice-demo-pass POST /api/v1/tokens "${JSON[@]}" --data-binary "@$WORK/2m.json"
check "REST upload of a corrupt PDF: 422 problem+json" \
  refused "HTTP 422 application/problem+json" \
  rest alice@demo:alice-demo-pass POST /api/v1/jobs -F queue=office \
  -F document-format=application/pdf -F "document=@$D/corrupt.pdf"
check "REST upload with document-format application/x-foo: 415 problem+json" \
  refused "HTTP 415 application/problem+json" \
  rest alice@demo:alice-demo-pass POST /api/v1/jobs -F queue=office \
  -F document-format=application/x-foo -F "document=@$D/onepage.pdf"
check "REST upload with a wrong password: 401 with a Basic challenge" \
  refused "HTTP 401 WWW-Authenticate=Basic application/problem+json" \
  rest alice@demo:wrong-pass POST /api/v1/jobs -F queue=office -F "document=@$D/onepage.pdf"
check "REST upload over the tenant's max_document_size: 413 problem+json" \
  refused "HTTP 413 application/problem+json" \
  rest sam@small:sam-pass-1 POST /api/v1/jobs -F queue=tiny -F "document=@$WORK/big.pdf"

# ---- phase 2: small limits -------------------------------------------------------------

check "nimbusd stops cleanly" nimbusd_stop
# A fresh server (new state dir and port: a restart on the old port could
# find it taken by then).
nimbusd_start --demo --max-ipp-header 4096 --max-json-body 4096
H="127.0.0.1:$NIMBUS_PORT"
URI="ipp://$H$OFFICE"
BASE=$(traces)
echo "# phase 2, --max-ipp-header 4096 --max-json-body 4096: $BASE"
raw print-job "$URI" --document "$WORK/big.pdf" >"$WORK/good-big.ipp"
bad print-job "$URI" --pad 5000 --document "$D/onepage.pdf" >"$WORK/header-5k.ipp"
bad get-printer-attributes "$URI" --pad 2000 >"$WORK/header-2k.ipp"
check "attribute section under --max-ipp-header 4096 is read" \
  refused "HTTP 200 IPP 0x0000" ipp_post "$ALICE" "$OFFICE" "$WORK/header-2k.ipp"
check "5 KB attribute section over --max-ipp-header 4096: HTTP 413" \
  refused "HTTP 413" ipp_post "$ALICE" "$OFFICE" "$WORK/header-5k.ipp"
python3 -c 'import json; print(json.dumps({"label": "x" * 5000}))' >"$WORK/5k.json"
check "REST 5 KB JSON body over --max-json-body 4096: 413 problem+json" \
  refused "HTTP 413 application/problem+json" \
  rest alice@demo:alice-demo-pass POST /api/v1/tokens "${JSON[@]}" --data-binary "@$WORK/5k.json"

# ---- the counters do see a trace -------------------------------------------------------

# A 200 KB document is spooled to a file (small ones may be stored inline).
leaves_job() {
  [[ $BASE =~ ^jobs=([0-9]+)\ tokens=([0-9]+)\ tmp=([0-9]+)\ data=([0-9]+)$ ]] || return 1
  local want="jobs=$((BASH_REMATCH[1] + 1)) tokens=${BASH_REMATCH[2]} tmp=${BASH_REMATCH[3]}"
  want+=" data=$((BASH_REMATCH[4] + 1))"
  [ "$(ipp_post "$ALICE" "$OFFICE" "$WORK/good-big.ipp")" = "HTTP 200 IPP 0x0000" ] || return 1
  BASE=$want no_trace
}
check "a good 200 KB Print-Job after all that adds one job and one spool file" leaves_job

check "nimbusd stops cleanly" nimbusd_stop
finish bad-input
