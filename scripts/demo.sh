#!/usr/bin/env bash
# Install dependencies, build, and start a local Nimbus Print deployment on
# the embedded defaults: nimbusd with SQLite + local spool in ./nimbus-state
# (a demo tenant, users and queue are created on first start), and a
# nimbus-connector with a virtual printer (file:// output in
# ./nimbus-state/printed) registered to the demo queue over the IPP INFRA
# device channel, with its panel and its own IPP printer for PCs (release
# at the printer), and nimbus-paysim, the payment simulator: the demo's
# queue "shop" takes payment at the printer through it (docs/PAYMENTS.md);
# billing by purpose (docs/BILLING.md): the accounts ACME-OPS and CLIENT-B
# and alice's purposes "Work", "Client B" and "Personal", listed last;
# a sample service contract "demo-services" (docs/PROVISIONING.md).
# With --with-remote, also a second print service, "the remote" (another
# nimbusd with its own state dir, tenant "other" and its alice), linked to
# the demo as docs/FEDERATION.md describes: a remote printer link on the
# demo tenant and alice's account link, approved as the remote's alice.
# Runs in the foreground; Ctrl-C stops them all gracefully.
#
# Usage: scripts/demo.sh [--port N] [--panel-port N] [--printer-port N]
#                        [--paysim-port N] [--postgresql]
#                        [--with-remote] [--remote-port N] [extra nimbusd flags]
#   --port N          nimbusd (IPP, REST, console)     env NIMBUS_PORT, default 8631
#   --panel-port N    the printer's panel               env NIMBUS_PANEL_PORT, default 8632
#   --printer-port N  the printer's IPP listener (PCs)  env NIMBUS_PRINTER_PORT, default 8633
#   --paysim-port N   the payment simulator (its pages) env NIMBUS_PAYSIM_PORT, default 8634
#   --postgresql      store the data in PostgreSQL instead of SQLite: a
#                     private cluster in <state dir>/pg (unix socket only,
#                     tests/pg/pg-cluster.sh), started with the demo and
#                     stopped with it; env NIMBUS_DEMO_POSTGRESQL=1
#   --with-remote     also start the remote (state in <state dir>/remote,
#                     console served too) and link it; env NIMBUS_DEMO_REMOTE=1
#   --remote-port N   the remote nimbusd                env NIMBUS_REMOTE_PORT, default 8641
# Everything listens on 127.0.0.1.  A port that is taken stops the demo
# before anything starts; a component that fails to start stops the rest.
# The addresses and demo sign-ins are printed last, once all is listening.
# Environment: NIMBUS_STATE_DIR (default ./nimbus-state); NIMBUS_BUILD_ROOT
# (an already built tree: no dependency install, no build; otherwise BUILD,
# default build/, is set up in release mode and built).
set -euo pipefail
cd "$(dirname "$0")/.."

die() {
  echo "demo: $*" >&2
  exit 1
}

PORT=${NIMBUS_PORT:-8631}
PANEL_PORT=${NIMBUS_PANEL_PORT:-8632}
PRINTER_PORT=${NIMBUS_PRINTER_PORT:-8633}
PAYSIM_PORT=${NIMBUS_PAYSIM_PORT:-8634}
POSTGRESQL=${NIMBUS_DEMO_POSTGRESQL:-0}
WITH_REMOTE=${NIMBUS_DEMO_REMOTE:-0}
REMOTE_PORT=${NIMBUS_REMOTE_PORT:-8641}
nimbusd_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --postgresql)
      POSTGRESQL=1
      shift
      continue
      ;;
    --with-remote)
      WITH_REMOTE=1
      shift
      continue
      ;;
    --port | --panel-port | --printer-port | --paysim-port | --remote-port)
      [ $# -ge 2 ] || die "$1 needs a port number"
      opt=$1 value=$2
      shift 2
      ;;
    --port=* | --panel-port=* | --printer-port=* | --paysim-port=* | --remote-port=*)
      opt=${1%%=*} value=${1#*=}
      shift
      ;;
    *)
      nimbusd_args+=("$1")
      shift
      continue
      ;;
  esac
  case "$opt" in
    --port) PORT=$value ;;
    --panel-port) PANEL_PORT=$value ;;
    --printer-port) PRINTER_PORT=$value ;;
    --paysim-port) PAYSIM_PORT=$value ;;
    --remote-port) REMOTE_PORT=$value ;;
  esac
done
ports=("$PORT" "$PANEL_PORT" "$PRINTER_PORT" "$PAYSIM_PORT")
[ "$WITH_REMOTE" = 1 ] && ports+=("$REMOTE_PORT")
for p in "${ports[@]}"; do
  [[ "$p" =~ ^[0-9]+$ ]] && [ "$p" -ge 1 ] && [ "$p" -le 65535 ] || die "'$p' is not a port number"
done
[ "$(printf '%s\n' "${ports[@]}" | sort -u | wc -l)" = "${#ports[@]}" ] ||
  die "the ports must differ"

if [ -n "${NIMBUS_BUILD_ROOT:-}" ]; then
  BUILD=$NIMBUS_BUILD_ROOT
else
  scripts/install-deps.sh
  BUILD=${BUILD:-build}
  [ -d "$BUILD" ] || meson setup "$BUILD" --buildtype=release
  ninja -C "$BUILD"
fi
NIMBUSD_BIN=$BUILD/src/server/nimbusd
CONNECTOR_BIN=$BUILD/src/connector/nimbus-connector
PAYSIM_BIN=$BUILD/src/paysim/nimbus-paysim
[ -x "$NIMBUSD_BIN" ] && [ -x "$CONNECTOR_BIN" ] && [ -x "$PAYSIM_BIN" ] ||
  die "no nimbusd, nimbus-connector or nimbus-paysim in $BUILD"

# Every port must be free before anything starts (a bind test, as the
# daemons will bind: 127.0.0.1, SO_REUSEADDR).
port_free() {
  python3 - "$1" <<'EOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
EOF
}
port_free "$PORT" || die "port $PORT (nimbusd) is in use; choose another with --port or NIMBUS_PORT"
port_free "$PANEL_PORT" ||
  die "port $PANEL_PORT (panel) is in use; choose another with --panel-port or NIMBUS_PANEL_PORT"
port_free "$PRINTER_PORT" ||
  die "port $PRINTER_PORT (printer's IPP) is in use; choose another with --printer-port or NIMBUS_PRINTER_PORT"
port_free "$PAYSIM_PORT" ||
  die "port $PAYSIM_PORT (payment simulator) is in use; choose another with --paysim-port or NIMBUS_PAYSIM_PORT"
if [ "$WITH_REMOTE" = 1 ]; then
  port_free "$REMOTE_PORT" ||
    die "port $REMOTE_PORT (the remote nimbusd) is in use; choose another with --remote-port or NIMBUS_REMOTE_PORT"
fi

STATE=${NIMBUS_STATE_DIR:-./nimbus-state}
URL="http://127.0.0.1:$PORT"
mkdir -p "$STATE"

NIMBUSD=
CONNECTOR=
PAYSIM=
REMOTE=
PG_DIR=
stop() {
  trap - INT TERM EXIT
  [ -n "$CONNECTOR" ] && kill -TERM "$CONNECTOR" 2>/dev/null || true
  [ -n "$PAYSIM" ] && kill -TERM "$PAYSIM" 2>/dev/null || true
  [ -n "$NIMBUSD" ] && kill -TERM "$NIMBUSD" 2>/dev/null || true
  [ -n "$REMOTE" ] && kill -TERM "$REMOTE" 2>/dev/null || true
  wait 2>/dev/null || true
  [ -z "$PG_DIR" ] || tests/pg/pg-cluster.sh stop "$PG_DIR" >/dev/null 2>&1 || true
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT

# wait_for NAME PID CMD...: until CMD succeeds; fails if PID exits or after 20 s
wait_for() {
  local name=$1 pid=$2
  shift 2
  for _ in $(seq 1 200); do
    kill -0 "$pid" 2>/dev/null || die "$name exited during start-up (see its log above)"
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  die "$name did not start listening within 20 s"
}
tcp_open() { python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1"; }

DATABASE="SQLite, $STATE/nimbus.db"
if [ "$POSTGRESQL" = 1 ]; then
  # The cluster outlives the demo (data kept in $STATE/pg/data), as the
  # SQLite file does; only its server process stops with the demo.
  mkdir -p "$STATE/pg"
  PG_DIR=$(cd "$STATE/pg" && pwd)
  tests/pg/pg-cluster.sh start "$PG_DIR" || die "cannot start PostgreSQL in $PG_DIR"
  nimbusd_args=(--store "$(tests/pg/pg-cluster.sh url "$PG_DIR")" ${nimbusd_args[@]+"${nimbusd_args[@]}"})
  DATABASE="PostgreSQL, private cluster in $PG_DIR (socket only)"
fi

# The web console as built (build/web/console; -Dconsole=disabled or no
# node: nimbusd answers / with "the web console is not installed").
CONSOLE_DIR=$BUILD/web/console
[ -f "$CONSOLE_DIR/index.html" ] || CONSOLE_DIR=
if [ "$WITH_REMOTE" = 1 ]; then
  # The remote: another nimbusd (SQLite in <state dir>/remote, its operator
  # password generated there); the demo polls it every 2 s, not 10.
  mkdir -p "$STATE/remote"
  REMOTE_URL="http://127.0.0.1:$REMOTE_PORT"
  "$NIMBUSD_BIN" --state-dir "$STATE/remote" --port "$REMOTE_PORT" --console-dir "$CONSOLE_DIR" &
  REMOTE=$!
  wait_for "the remote nimbusd" "$REMOTE" curl -fsS "$REMOTE_URL/healthz"
  nimbusd_args=(--remote-poll 2 ${nimbusd_args[@]+"${nimbusd_args[@]}"})
fi
"$NIMBUSD_BIN" --demo --state-dir "$STATE" --port "$PORT" --console-dir "$CONSOLE_DIR" \
  ${nimbusd_args[@]+"${nimbusd_args[@]}"} &
NIMBUSD=$!
wait_for nimbusd "$NIMBUSD" curl -fsS "$URL/healthz"

# The payment simulator, with a Stripe test key and webhook secret of this
# state dir (made once, kept private), sending its webhooks to nimbusd.
SECRETS="$STATE/paysim-secrets"
if [ ! -s "$SECRETS" ]; then
  (umask 077 && printf 'sk_test_demo_%s\nwhsec_demo_%s\n' "$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" \
    "$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" >"$SECRETS")
fi
STRIPE_KEY=$(sed -n 1p "$SECRETS")
STRIPE_WHSEC=$(sed -n 2p "$SECRETS")
PAYSIM_URL="http://127.0.0.1:$PAYSIM_PORT"
"$PAYSIM_BIN" --listen 127.0.0.1 --port "$PAYSIM_PORT" --merchant "Nimbus demo shop" \
  --stripe-key "$STRIPE_KEY" --stripe-webhook "$URL/api/v1/payments/stripe-webhook/demo=$STRIPE_WHSEC" &
PAYSIM=$!
wait_for nimbus-paysim "$PAYSIM" curl -fsS "$PAYSIM_URL/healthz"

# Money for the demo tenant (first start): EUR, a service fee, a price table
# and the queue "shop" that takes payment at the printer; every start: the
# provider (the simulator, wherever it listens now).
OPERATOR="admin@system:$(cat "$STATE/admin-password")"
ADMIN="demo-admin@demo:demo-admin-pass"
rest() { # METHOD PATH JSON AUTH
  curl -fsS -o /dev/null -u "$4" -X "$1" -H 'Content-Type: application/json' -d "$3" "$URL/api/v1$2"
}
if ! curl -fsS -o /dev/null -u "$ADMIN" "$URL/api/v1/queues/shop" 2>/dev/null; then
  rest PATCH '/billing?tenant=demo' '{"currency":"EUR","service_fee_fixed":5,"service_fee_bps":500}' \
    "$OPERATOR" || die "could not set the demo tenant's currency"
  rest POST /price-tables '{"name":"demo-prices","table":{"currency":"EUR","mode":"graduated","tiers":[
    {"from":1,"prices":{"a4":{"mono":{"one-sided":10,"two-sided":8},"color":{"one-sided":40,"two-sided":35}},
      "letter":{"mono":{"one-sided":10,"two-sided":8},"color":{"one-sided":40,"two-sided":35}},
      "other":{"mono":{"one-sided":20},"color":{"one-sided":60}}}},
    {"from":11,"prices":{"a4":{"mono":{"one-sided":8,"two-sided":6},"color":{"one-sided":30,"two-sided":25}},
      "letter":{"mono":{"one-sided":8,"two-sided":6},"color":{"one-sided":30,"two-sided":25}},
      "other":{"mono":{"one-sided":15},"color":{"one-sided":50}}}}]}}' "$ADMIN" ||
    die "could not create the demo price table"
  rest POST /queues '{"name":"shop","description":"pay at the printer","price_table":"demo-prices","payment":"at-printer"}' \
    "$ADMIN" || die "could not create the queue 'shop'"
fi
# Billing by purpose (docs/BILLING.md), each piece made once when absent
# (a state dir from an older demo gets them too): the accounts ACME-OPS
# (invoiced, everyone may charge it) and CLIENT-B (prepaid, EUR 2.00, alice
# only), and alice's purposes "Work" (ACME-OPS, two-sided monochrome),
# "Client B" (CLIENT-B) and "Personal" (private: her own saved payment
# method).  None is her default, so that her jobs without a purpose go on
# as before (free on "office", paid at the printer on "shop"): a default
# would bill all of them to it, and the README's pay-at-the-printer
# walk-through would no longer pay (`nimbusctl purpose set Work --default`
# makes it so).
exists() { curl -fsS -o /dev/null -u "$ADMIN" "$URL/api/v1$1" 2>/dev/null; }
exists /billing-accounts/ACME-OPS ||
  rest POST /billing-accounts '{"code":"ACME-OPS","name":"ACME operations","mode":"invoiced","everyone":true}' \
    "$ADMIN" || die "could not create the billing account ACME-OPS"
if ! exists /billing-accounts/CLIENT-B; then
  rest POST /billing-accounts '{"code":"CLIENT-B","name":"Client B project","mode":"prepaid","everyone":false}' \
    "$ADMIN" && rest PUT /billing-accounts/CLIENT-B/users/alice '' "$ADMIN" &&
    rest POST /billing-accounts/CLIENT-B/topup '{"amount":200,"memo":"demo budget"}' "$ADMIN" ||
    die "could not create the billing account CLIENT-B"
fi
exists '/purposes/Work?user=alice' ||
  rest POST '/purposes?user=alice' '{"name":"Work","account":"ACME-OPS",
    "defaults":{"sides":"two-sided-long-edge","print-color-mode":"monochrome"}}' "$ADMIN" ||
  die "could not create alice's purpose 'Work'"
exists '/purposes/Client%20B?user=alice' ||
  rest POST '/purposes?user=alice' '{"name":"Client B","account":"CLIENT-B"}' "$ADMIN" ||
  die "could not create alice's purpose 'Client B'"
exists '/purposes/Personal?user=alice' ||
  rest POST '/purposes?user=alice' '{"name":"Personal","account":null}' "$ADMIN" ||
  die "could not create alice's purpose 'Personal'"
rest PUT '/billing/provider?tenant=demo' "{\"provider\":\"stripe\",\"credentials\":{\"secret_key\":\"$STRIPE_KEY\",\"webhook_secrets\":[\"$STRIPE_WHSEC\"],\"api_base\":\"$PAYSIM_URL\"}}" \
  "$OPERATOR" || die "could not set the demo tenant's payment provider"

[ "$WITH_REMOTE" = 1 ] && . scripts/demo-remote.sh

# First start: register the virtual printer "lobby" to the demo queue.  A
# later start on another --port points the saved registration at it.
CSTATE="$STATE/connector/state.json"
if [ ! -s "$CSTATE" ]; then
  mkdir -p "$STATE/connector"
  CLAIM=$(curl -fsS -u demo-admin@demo:demo-admin-pass -H 'Content-Type: application/json' \
    -X POST "$URL/api/v1/printers" -d '{"name":"lobby","queues":["office","shop"]}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["claim_code"])') ||
    die "could not create the printer 'lobby'"
  "$CONNECTOR_BIN" register --server "$URL" --claim "$CLAIM" --state "$CSTATE" ||
    die "could not register the printer 'lobby'"
else
  python3 - "$CSTATE" "$URL" <<'EOF' || die "cannot update $CSTATE"
import json, os, re, sys
path, url = sys.argv[1], sys.argv[2]
with open(path) as f:
    text = f.read()
old = re.match(r"https?://[^/]+:(\d+)$", json.loads(text).get("server", ""))
new_port = url.rsplit(":", 1)[1]
if old and old.group(1) != new_port:
    # the server and the queue URIs it handed out: //127.0.0.1:OLD/, //localhost:OLD/
    text = re.sub(r"(//(?:127\.0\.0\.1|localhost)):" + old.group(1) + r'(?=[/"])',
                  r"\g<1>:" + new_port, text)
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)
EOF
fi
# A sample service contract (docs/PROVISIONING.md), made once: for every
# printer of the demo tenant a settings profile (the connector's poll
# interval), the sample application "demo-app" 1.0.0 (a small package
# uploaded here) and the data backup service (daily at 02:30, full, 7
# kept); so the console's Contracts page and
# `nimbusctl contract show demo-services --tenant demo` show its run.
# The demo printer's installer (scripts/demo-installer.sh) keeps what it
# installs in $STATE/installed.  A failure here is said and the demo goes on.
if CONTRACTS=$(curl -fsS -u "$OPERATOR" "$URL/api/v1/contracts?tenant=demo"); then
  if ! printf '%s' "$CONTRACTS" | python3 -c 'import json, sys
sys.exit(0 if any(c["name"] == "demo-services" for c in json.load(sys.stdin)["contracts"]) else 1)'; then
    printf 'Nimbus demo application 1.0.0\n' >"$STATE/demo-app-1.0.0.bin"
    PKG=$(curl -fsS -u "$OPERATOR" -H 'Content-Type: application/octet-stream' \
      --data-binary "@$STATE/demo-app-1.0.0.bin" \
      "$URL/api/v1/packages?kind=application&name=demo-app&version=1.0.0" |
      python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["id"], d["sha256"])') || PKG=
    START_AT=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    END_AT=$(date -u -d '+1 year' +%Y-%m-%dT%H:%M:%SZ)
    if [ -z "$PKG" ] || ! rest POST /contracts "{\"name\":\"demo-services\",\"tenant\":\"demo\",
      \"start_at\":\"$START_AT\",\"end_at\":\"$END_AT\",\"printers\":\"all\",
      \"service_settings\":{\"backup\":{\"period\":\"daily\",\"time\":\"02:30\",\"mode\":\"full\",\"retention\":7}},
      \"items\":[{\"kind\":\"settings\",\"name\":\"demo-profile\",\"values\":{\"connector.poll-interval\":15}},
        {\"kind\":\"application\",\"name\":\"demo-app\",\"version\":\"1.0.0\",\"package\":${PKG%% *},\"sha256\":\"${PKG#* }\"},
        {\"kind\":\"backup\"}]}" "$OPERATOR"; then
      echo "demo: could not create the sample contract 'demo-services'; going on without it" >&2
    fi
  fi
fi
# The connector's installer runs without a shell: a wrapper in the state
# dir carries the directory.
printf "#!/bin/sh\nNIMBUS_DEMO_INSTALLED='%s/installed' exec '%s/scripts/demo-installer.sh' \"\$@\"\n" \
  "$(cd "$STATE" && pwd)" "$(pwd)" >"$STATE/demo-installer"
chmod 755 "$STATE/demo-installer"
mkdir -p "$STATE/printed"
"$CONNECTOR_BIN" run --state "$CSTATE" --transport persistent \
  --output "file://$(cd "$STATE" && pwd)/printed" --panel-listen "127.0.0.1:$PANEL_PORT" \
  --listen-ipp "127.0.0.1:$PRINTER_PORT" \
  --installer "$(cd "$STATE" && pwd)/demo-installer" --provision-poll 10 &
CONNECTOR=$!
wait_for "nimbus-connector's panel" "$CONNECTOR" curl -fsS "http://127.0.0.1:$PANEL_PORT/"
wait_for "nimbus-connector's IPP printer" "$CONNECTOR" tcp_open "$PRINTER_PORT"

# alice's purposes as they are now, for the banner
PURPOSES=$(curl -fsS -u "$ADMIN" "$URL/api/v1/purposes?user=alice" | python3 -c '
import json, sys
for p in json.load(sys.stdin)["purposes"]:
    where = "private: her saved card" if p["private"] else "account " + p["account"]
    settings = ", ".join(str(v) for _, v in sorted((p.get("defaults") or {}).items()))
    print("    %-15s %s%s%s" % (p["name"], where, "; " + settings if settings else "",
                                " (her default)" if p["default"] else ""))
' 2>/dev/null) || PURPOSES="    (cannot be listed now: nimbusctl purpose list)"

cat <<EOF

+----------------------------------------------------------------------+
  Nimbus Print demo is running (Ctrl-C stops it)
    cloud queue     ipp://127.0.0.1:$PORT/ipp/print/demo/office
    web console     $URL/   (sign in with a sign-in below)
    REST API        $URL/api/v1/
    printer panel   http://127.0.0.1:$PANEL_PORT/release
    print here      ipp://127.0.0.1:$PRINTER_PORT/ipp/print   (release at the printer)
    pay to print    ipp://127.0.0.1:$PORT/ipp/print/demo/shop  (pay at the printer's panel)
    payments        $PAYSIM_URL/sim/transactions  (nimbus-paysim, the payment simulator)
    printed files   $STATE/printed/
    database        $DATABASE
  Sign-ins
    user            alice@demo / alice-demo-pass
    tenant admin    demo-admin@demo / demo-admin-pass
    operator        admin@system / password in $STATE/admin-password
  Billing by purpose (docs/BILLING.md): alice's purposes
$PURPOSES
    print for one   nimbusctl submit --queue office --purpose Work FILE
                    lp -d lobby -o job-billing=Work FILE   (CUPS)
    private         nimbusctl payment-method register: save a card first
  Sample contract (docs/PROVISIONING.md): the console's Contracts page, or
    nimbusctl --user admin@system contract show demo-services --tenant demo
+----------------------------------------------------------------------+
EOF
[ "$WITH_REMOTE" = 1 ] && remote_banner

# Stop everything when either daemon exits.
status=0
wait -n "$NIMBUSD" "$CONNECTOR" "$PAYSIM" ${REMOTE:+"$REMOTE"} || status=$?
echo "demo: a component stopped (status $status); stopping the rest" >&2
exit "$status"
