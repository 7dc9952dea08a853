#!/usr/bin/env bash
# The printer's listener for PCs under abuse (issue 8, item 12; PROTOCOL.md
# 7.1, OPERATIONS "The connector's listeners"), in a tenant set to hold jobs
# for unknown names (unknown_user_names = hold).  nimbusd runs with
# --max-held-jobs-per-printer 4, the connector with --listen-ipp, a 3 s
# header deadline and 4 connections per client address:
#  - anyone on the LAN fills the printer's limit with jobs for alice: the
#    next one is refused (server-error-busy) for alice and for a name that
#    is no user alike, while alice's own submissions straight to nimbusd
#    (IPP with her password, REST) still work;
#  - Validate-Job, Print-Job and Create-Job through the listener answer the
#    same (status, status-message, job-state, reasons) for alice and for a
#    name that is no user, also when refused for a bad document-format; the
#    latter's job is kept held, owner-less, and never offered to a printer;
#  - a slow but steady upload (body trickled over twice the header
#    deadline) is accepted;
#  - 40 slow-loris connections per listener (headers one byte at a time,
#    from ten loopback addresses, reopened when cut) leave both the
#    listener and the panel answering real requests; a trickling
#    connection is cut by the header deadline; one address gets at most 4
#    connections.
set -euo pipefail
source "$(dirname "$0")/test-connector-common.sh"

MAXP=4
PROBE="$HERE/listener_probe.py"
PDF="$NIMBUS_TEST_DATA/onepage.pdf"

nimbusd_start --max-held-jobs-per-printer "$MAXP"
check "tenant, users and queue" conn_setup_tenant
# Names that are no user are answered as users' only in a tenant that holds
# them (the default refuses them: test-user-aliases.sh).
check "tenant acme holds jobs for unknown names" test "$(api PATCH /api/v1/tenants/acme \
  -H 'Content-Type: application/json' -d '{"unknown_user_names":"hold"}' -o /dev/null \
  -w '%{http_code}')" = 200
check "register the printer" conn_register lobby "$(conn_claim lobby)"
mkdir -p "$CONN_DIR/out"
check "connector starts with --listen-ipp and the connection limits" conn_start lobby \
  --output "file://$CONN_DIR/out" --listen-ipp 127.0.0.1:0 --http-header-timeout 3 \
  --http-max-per-address 4 --http-max-connections 64
ipp_port() { sed -n 's/.*msg="ipp listening".* port=\([0-9]*\).*/\1/p' "$CONN_DIR/lobby.log" | tail -1; }
has_ipp_port() { [ -n "$(ipp_port)" ]; }
check "the ipp listener logged its port" wait_until 'msg="ipp listening"' has_ipp_port
IPP_PORT=$(ipp_port)
PRINTER="ipp://127.0.0.1:$IPP_PORT/ipp/print"
PANEL=$(conn_panel lobby)
PANEL_PORT=${PANEL##*:}

# pc OP USER [probe flags...]: one request through the listener; prints the JSON summary
pc() {
  local op=$1 user=$2
  shift 2
  python3 "$PROBE" ipp "$PRINTER" "$op" --user "$user" "$@"
}
field() { # field JSON KEY: a scalar member of pc's one-line answer (null when absent)
  sed -n "s/.*\"$2\": \"\{0,1\}\([^\",}]*\).*/\1/p" <<<"$1"
}
admin_jobs() { # jobs of the tenant (all states) as "id owner state origin" lines
  curl -fsS -u boss@acme:boss-pw-1 "$NIMBUS_URL/api/v1/jobs?state=all&limit=1000" |
    json_get "'\n'.join('%s %s %s %s' % (j['id'], j['owner'], j['state'], j['origin_device']) for j in d['jobs'])"
}
pending_through_printer() { admin_jobs | awk '$4 == "lobby" && ($3 == "held" || $3 == "received")' | wc -l; }
cancel_printer_jobs() {
  local id
  for id in $(admin_jobs | awk '$4 == "lobby" && ($3 == "held" || $3 == "received") {print $1}'); do
    curl -fsS -o /dev/null -u boss@acme:boss-pw-1 -X POST "$NIMBUS_URL/api/v1/jobs/$id/cancel" || return 1
  done
  [ "$(pending_through_printer)" = 0 ]
}
same() {
  if [ "$1" != "$2" ]; then
    echo "  differ: '$1' vs '$2'" >&2
    return 1
  fi
}

# ---- the printer's pending-jobs limit --------------------------------------
for i in $(seq 1 "$MAXP"); do
  check "fake job $i for alice through the listener is taken" \
    test "$(field "$(pc print-job alice --document "$PDF")" status)" = 0x0000
done
FULL_ALICE=$(pc print-job alice --document "$PDF")
FULL_NOBODY=$(pc print-job nobody --document "$PDF")
check "past the printer's limit: server-error-busy" test "$(field "$FULL_ALICE" status)" = 0x0507
check "... with a message" test "$(field "$FULL_ALICE" message)" != null
check "... the same answer for a name that is no user" same "$FULL_ALICE" "$FULL_NOBODY"
check "Create-Job past the limit: the same" same "$(field "$(pc create-job alice)" status)" 0x0507
check "nothing more was stored for the printer" test "$(pending_through_printer)" = "$MAXP"
submit_ok() { submit_job >/dev/null; }
check "alice's own Print-Job straight to nimbusd still works" submit_ok
check "... and over REST" bash -c "curl -fsS -o /dev/null -u alice@acme:alice-pw-1 -F queue=office \
  -F 'document=@$PDF;type=application/pdf' '$NIMBUS_URL/api/v1/jobs'"
check "the printer takes jobs again once they are gone" cancel_printer_jobs
check "... a job for alice" test "$(field "$(pc print-job alice --document "$PDF")" status)" = 0x0000
check "free the printer's quota" cancel_printer_jobs
# A user at the user's own limit gets the printer's answer: only a real
# user can reach it, so another answer would tell that the name exists.
set_user_limit() {
  curl -fsS -o /dev/null -u "admin@system:$NIMBUS_ADMIN_PASSWORD" -X PATCH \
    -H 'Content-Type: application/json' -d "{\"max_held_jobs_per_user\":$1}" \
    "$NIMBUS_URL/api/v1/tenants/acme"
}
check "acme's users may hold 2 jobs (alice holds 2 sent straight)" set_user_limit 2
USER_FULL=$(pc print-job alice --document "$PDF")
check "alice past her own limit through the printer: server-error-busy" \
  test "$(field "$USER_FULL" status)" = 0x0507
check "... with the printer's answer (the name is not revealed)" same \
  "$(field "$USER_FULL" message)" "$(field "$FULL_NOBODY" message)"
check "acme's user limit back to the default" set_user_limit 100

# ---- the same answers for a user and for a name that is no user -------------
pair() { # pair DESC OP [flags...]: alice's and nobody's answers are identical
  local desc=$1 op=$2 a n
  shift 2
  a=$(pc "$op" alice "$@")
  n=$(pc "$op" nobody "$@")
  echo "  $desc: $a"
  LAST=$a
  same "$a" "$n"
}
check "Validate-Job: the same answer" pair validate validate-job --format application/pdf
check "Validate-Job: successful" test "$(field "$(pc validate-job nobody)" status)" = 0x0000
check "Validate-Job with a bad document-format: the same refusal" \
  pair bad-format validate-job --format application/x-bogus
check "Print-Job with a PIN: the same answer" pair print print-job --document "$PDF" --pin 1234
check "... a job was taken (job-id)" test "$(field "$LAST" job-id)" = true
check "Print-Job with an unsupported document: the same refusal" \
  pair bad-document print-job --document "$PDF" --format application/x-bogus
check "Create-Job: the same answer" pair create create-job
owner_less_held() { admin_jobs | awk '$2 == "nobody" && $4 == "lobby" && $3 == "held"' | grep -q .; }
check "nobody's job is kept held, owner-less, through this printer" owner_less_held
not_fetchable() { ! admin_jobs | awk '$2 == "nobody"' | grep -Eq 'fetchable|processing|completed'; }
check "... and never offered to a printer" not_fetchable
check "the output printed nothing" test -z "$(ls -A "$CONN_DIR/out")"
check "free the printer's quota" cancel_printer_jobs

# ---- a slow but honest PC ---------------------------------------------------
SLOW=$(pc print-job alice --document "$NIMBUS_TEST_DATA/threepage.pdf" --slow 7)
check "a document trickled over twice the header deadline is accepted" \
  test "$(field "$SLOW" status)" = 0x0000
check "free the printer's quota" cancel_printer_jobs

# ---- slow-loris --------------------------------------------------------------
SOURCES=$(seq -s, -f '127.0.0.%g' 2 11)
python3 "$PROBE" hold 127.0.0.1 "$IPP_PORT" --sources "$SOURCES" --per-source 4 --seconds 8 \
  >"$CONN_DIR/hold-ipp.json" &
HOLD1=$!
python3 "$PROBE" hold 127.0.0.1 "$PANEL_PORT" --sources "$SOURCES" --per-source 4 --seconds 8 \
  >"$CONN_DIR/hold-panel.json" &
HOLD2=$!
sleep 2 # let the 80 slow connections open (not a timing assertion)
cat >"$CONN_DIR/gpa.test" <<'EOF'
{
  NAME "Get-Printer-Attributes"
  OPERATION Get-Printer-Attributes
  GROUP operation-attributes-tag
  ATTR charset attributes-charset utf-8
  ATTR naturalLanguage attributes-natural-language en
  ATTR uri printer-uri $uri
  STATUS successful-ok
  EXPECT printer-is-accepting-jobs OF-TYPE boolean
}
EOF
check "under slow-loris the listener answers Get-Printer-Attributes" \
  ipptool -t -T 20 "$PRINTER" "$CONN_DIR/gpa.test"
check "... and takes a job" test "$(field "$(pc print-job alice --document "$PDF")" status)" = 0x0000
check "under slow-loris the panel answers" curl -fsS -m 20 -o /dev/null "$PANEL/status.json"
check "the slow-loris clients ran" wait "$HOLD1"
check "... on both listeners" wait "$HOLD2"
echo "  slow-loris: ipp $(cat "$CONN_DIR/hold-ipp.json"), panel $(cat "$CONN_DIR/hold-panel.json")"
check "a connection trickling its headers is cut (listener)" \
  python3 "$PROBE" deadline 127.0.0.1 "$IPP_PORT" --source 127.0.0.20 --limit 60
check "a connection trickling its headers is cut (panel)" \
  python3 "$PROBE" deadline 127.0.0.1 "$PANEL_PORT" --source 127.0.0.20 --limit 60
check "the cut is logged" grep -q 'msg="connections cut: request headers not complete in time"' \
  "$CONN_DIR/lobby.log"
in_range() { [ "$1" -ge 1 ] && [ "$1" -le 4 ]; }
N=$(python3 "$PROBE" per-address 127.0.0.1 "$PANEL_PORT" --source 127.0.0.21 --count 8 \
  --path /release/login --expect 4)
check "one address keeps at most 4 panel connections ($N of 8 left open)" in_range "$N"
N=$(python3 "$PROBE" per-address 127.0.0.1 "$IPP_PORT" --source 127.0.0.22 --count 8 \
  --path /ipp/print --expect 4)
check "one address keeps at most 4 listener connections ($N of 8 left open)" in_range "$N"

check "connector stops cleanly" conn_stop lobby
check "nimbusd stops cleanly" nimbusd_stop
finish test-connector-listener
