#!/usr/bin/env bash
# The nimbusd process itself: --help, config file and flags (one table),
# bad configuration, TLS, /healthz and /metrics, request logging without
# secrets, graceful SIGTERM with an upload in flight and under keep-alive
# load.
set -euo pipefail
source "$(dirname "$0")/lib-nimbusd.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d /tmp/nimbus-srv.XXXXXX)
_lib_tmpdirs+=("$WORK")

help_lists_options() {
  local out
  out=$("$NIMBUSD" --help)
  for opt in --listen --port --state-dir --tls-cert --max-document-size --max-held-jobs \
    --group-commit --log-level --config; do
    grep -q -- "$opt" <<<"$out" || { echo "--help lacks $opt" >&2; return 1; }
  done
}
check "--help lists the options of the table" help_lists_options

bad_flag() {
  local rc=0
  "$NIMBUSD" --no-such-option 2>"$WORK/err" || rc=$?
  [ "$rc" -eq 2 ] && grep -q "unknown option" "$WORK/err"
}
check "an unknown flag exits 2 with a message" bad_flag
version_line() { "$NIMBUSD" --version | grep -Eq '^nimbusd [0-9]+\.[0-9]+\.[0-9]+ \(libmicrohttpd [0-9.]+, SQLite [0-9.]+(, libpq [0-9.]+)?\)$'; }
check "--version prints the version and those of its libraries" version_line

bad_file() {
  printf 'port = 8631\nmax-held-jobs = lots\n' >"$WORK/bad.conf"
  local rc=0
  "$NIMBUSD" --config "$WORK/bad.conf" 2>"$WORK/err" || rc=$?
  [ "$rc" -eq 2 ] && grep -q "bad.conf:2:" "$WORK/err"
}
check "a bad config file line is reported as file:line" bad_file

# --store: the backend by URL; a refused URL is never echoed (passwords).
store_refused() { # URL EXPECTED-MESSAGE
  local rc=0
  "$NIMBUSD" --state-dir "$WORK/st-refused" --port 0 --store "$1" >"$WORK/out" 2>"$WORK/err" || rc=$?
  [ "$rc" -eq 1 ] && grep -q "$2" "$WORK/err" && ! grep -q s3cret "$WORK/err" "$WORK/out"
}
check "--store: an unknown scheme is refused without echoing the URL" \
  store_refused 'mysql://u:s3cret@db/nimbus' "unknown scheme 'mysql'"
check "--store: sqlite:// needs an absolute path" \
  store_refused 'sqlite://relative/s3cret.db' "absolute path"
check "--store: an unreachable PostgreSQL is refused without echoing the password" \
  store_refused 'postgresql://nimbus:s3cret@/nimbus?host=/nonexistent-socket-dir' "PostgreSQL"
store_url_serves() { # URL: nimbusd starts on that store and answers /healthz
  local pid rc=0 port i
  "$NIMBUSD" --state-dir "$WORK/st-$2" --port 0 --listen 127.0.0.1 \
    --admin-password "$NIMBUS_ADMIN_PASSWORD" --store "$1" >"$WORK/$2.out" 2>"$WORK/$2.err" &
  pid=$!
  for i in $(seq 1 300); do # a limit for broken runs, not a timing assertion
    if grep -q "listening on" "$WORK/$2.out" || ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  port=$(sed -n 's/.*listening on [^ ]* port \([0-9][0-9]*\).*/\1/p' "$WORK/$2.out" | head -1)
  [ -n "$port" ] && curl -fsS "http://127.0.0.1:$port/healthz" | grep -q '"ok"' || rc=1
  kill -TERM "$pid" && wait "$pid" || rc=1
  [ "$rc" -eq 0 ] || cat "$WORK/$2.err" >&2
  return "$rc"
}
if [ -n "${NIMBUS_TEST_PG_URL:-}" ]; then
  check "--store postgresql://: nimbusd serves on PostgreSQL" store_url_serves "$NIMBUS_TEST_PG_URL" pg
fi
store_sqlite_url() {
  local pid rc=0
  "$NIMBUSD" --state-dir "$WORK/st-url" --port 0 --listen 127.0.0.1 --admin-password "$NIMBUS_ADMIN_PASSWORD" \
    --store "sqlite://$WORK/elsewhere.db" >"$WORK/url.out" 2>"$WORK/url.err" &
  pid=$!
  local i
  for i in $(seq 1 300); do # a limit for broken runs, not a timing assertion
    if grep -q "listening on" "$WORK/url.out" || ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  grep -q "listening on" "$WORK/url.out" || rc=1
  kill -TERM "$pid" && wait "$pid" || rc=1
  [ "$rc" -eq 0 ] && [ -s "$WORK/elsewhere.db" ] && [ ! -e "$WORK/st-url/nimbus.db" ]
}
check "--store sqlite:///path: the database lives there, not in state-dir" store_sqlite_url

# Config file plus a later flag: the flag wins; the file's value is used.
printf '# test config\nlog-level = debug\nmax-document-size = 20k\n' >"$WORK/ok.conf"
nimbusd_start --demo --config "$WORK/ok.conf" --max-document-size 40k
H="127.0.0.1:$NIMBUS_PORT"
print_status() { # FILE -> IPP status of a Print-Job, as 4 hex digits
  python3 "$HERE/ipp_raw.py" print-job "ipp://$H/ipp/print/demo/office" --document "$1" |
    curl -s -u alice:alice-demo-pass -H 'Content-Type: application/ipp' --data-binary @- \
      "http://$H/ipp/print/demo/office" |
    python3 "$HERE/ipp_strict.py" /dev/stdin | sed 's/^0x//' # strict: a malformed answer prints nothing
}
check "flag after --config wins (40k limit: a 30 KB PDF is accepted)" \
  test "$(print_status "$NIMBUS_TEST_DATA/onepage-30k.pdf")" = 0000
check "the file's log-level applies (debug lines logged)" grep -q "level=debug" "$NIMBUS_STATE.log"

# the schema version the store has (SQLite: user_version; PostgreSQL: its
# schema_version table), which /healthz must report
store_schema_version() {
  if [ -n "${NIMBUS_TEST_STORE_URL:-}" ]; then
    nimbus_sql "SELECT max(version) FROM schema_version"
  else
    nimbus_sql "PRAGMA user_version"
  fi
}
health() {
  local want
  want=$(store_schema_version) && [ "$want" -ge 3 ] &&
    curl -fsS "$NIMBUS_URL/healthz" | json_get "d['status']=='ok' and d['schema_version']==$want" |
    grep -qx True
}
check "/healthz answers ok with the schema version" health

metrics_ok() {
  curl -fsS "$NIMBUS_URL/metrics" >"$WORK/metrics"
  grep -q '^nimbus_requests_total{op="ipp.print-job",http_status="200",ipp_status="0x0000"} ' "$WORK/metrics" &&
    grep -q '^nimbus_jobs{state="held"} 1$' "$WORK/metrics" &&
    grep -q '^nimbus_request_duration_seconds_bucket{le="+Inf"} ' "$WORK/metrics" &&
    grep -q '^nimbus_spooled_bytes_total [1-9]' "$WORK/metrics"
}
check "/metrics: requests by op and status, jobs by state, latency, bytes" metrics_ok

no_secrets() {
  curl -s -o /dev/null -u alice@demo:alice-demo-pass "$NIMBUS_URL/api/v1/jobs"
  curl -s -o /dev/null -u alice@demo:wrong-secret-xyz "$NIMBUS_URL/api/v1/jobs"
  ! grep -q -e alice-demo-pass -e wrong-secret-xyz -e "$NIMBUS_ADMIN_PASSWORD" "$NIMBUS_STATE.log" &&
    grep -q 'msg=request .*req=\|req=[0-9a-f]\{16\} msg=request' "$NIMBUS_STATE.log"
}
check "logs carry request ids and never passwords" no_secrets

# Graceful SIGTERM: a slow upload in flight completes and is answered.
graceful() {
  python3 "$HERE/ipp_raw.py" print-job "ipp://$H/ipp/print/demo/office" \
    --document "$NIMBUS_TEST_DATA/threepage.pdf" >"$WORK/req"
  curl -s -o "$WORK/resp" -w '%{http_code}' -u alice:alice-demo-pass --limit-rate 400 \
    -H 'Content-Type: application/ipp' --data-binary @"$WORK/req" \
    "http://$H/ipp/print/demo/office" >"$WORK/code" &
  local cpid=$!
  sleep 1
  kill -TERM "$NIMBUSD_PID"
  wait "$cpid"
  local rc=0
  wait "$NIMBUSD_PID" || rc=$?
  NIMBUSD_PID=
  [ "$rc" -eq 0 ] && [ "$(cat "$WORK/code")" = 200 ] &&
    [ "$(python3 -c "import sys; b=open('$WORK/resp','rb').read(); print('%04x' % int.from_bytes(b[2:4],'big'))")" = 0000 ] &&
    [ -z "$(find "$NIMBUS_STATE/spool/tmp" -name '*.part')" ]
}
check "SIGTERM: the upload in flight finishes, exit 0, no partial files" graceful

# SIGTERM under keep-alive load: clients keep sending requests that run on
# workers (their connections suspended) while nimbusd stops; it must never
# stop libmicrohttpd with a connection suspended (that aborts the process).
stop_under_load() {
  local round rc answers
  for round in 1 2 3; do
    nimbusd_restart
    rm -f "$WORK/load-ready"
    python3 "$HERE/keepalive_load.py" "$NIMBUS_PORT" alice@demo:alice-demo-pass 4 \
      "$WORK/load-ready" >"$WORK/answers" &
    local lpid=$!
    local i
    for i in $(seq 1 600); do # until the load runs (up to 60 s on a busy machine)
      if [ -e "$WORK/load-ready" ]; then break; fi
      sleep 0.1
    done
    rc=0
    kill -TERM "$NIMBUSD_PID"
    wait "$NIMBUSD_PID" || rc=$?
    NIMBUSD_PID=
    wait "$lpid"
    answers=$(cat "$WORK/answers")
    if [ "$rc" -ne 0 ] || [ "$answers" -lt 10 ]; then
      echo "round $round: nimbusd exit status $rc after $answers answers" >&2
      return 1
    fi
  done
  ! grep -q "suspended connections" "$NIMBUS_STATE.log"
}
check "SIGTERM under keep-alive load: exit 0, three times" stop_under_load

# TLS with a self-signed certificate.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
nimbusd_restart --tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem"
tls_ok() {
  curl -fsS --cacert "$WORK/cert.pem" "https://localhost:$NIMBUS_PORT/healthz" | grep -q '"ok"' &&
    ! curl -fsS "http://127.0.0.1:$NIMBUS_PORT/healthz" >/dev/null 2>&1
}
check "TLS: HTTPS with the given certificate, no plain HTTP" tls_ok
ipps_uri() {
  curl -fsS --cacert "$WORK/cert.pem" -u demo-admin@demo:demo-admin-pass \
    "https://localhost:$NIMBUS_PORT/api/v1/queues" | json_get "d['queues'][0]['printer_uri']" |
    grep -q '^ipps://'
}
check "TLS: queues advertise ipps:// URIs" ipps_uri
check "nimbusd stops cleanly" nimbusd_stop
finish server
