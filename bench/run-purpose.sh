#!/usr/bin/env bash
# run-purpose.sh: the billing-by-purpose benchmark (issue 13,
# docs/BILLING.md): release contention on one prepaid account, the charge
# on completion, and what the purpose check costs a submission.
#
# Per store (STORES, default "sqlite pg", one after the other), on loopback
# and a fresh state dir: a release-build nimbusd (SQLite, or on pg a fresh
# database in a private PostgreSQL cluster made by tests/pg/pg-cluster.sh),
# ippeveprinter (tests/integration/lib-ippeve.sh: its print command copies
# the document) and one nimbus-connector (--transport persistent) printing
# to it.  Tenant acme (EUR, service fee 10 + 5 %), a price table on queue
# office (a one-page colour job: 50 + 10 + 3 = 63 cents), a prepaid account
# RACE<r> topped up with exactly K x 63 and alice's purpose race<r> on it.
# Then, REPEAT rounds of:
#   1. race (bench/purpose-race.py race): M jobs submitted under the
#      purpose (REST upload, held), then released at once by P client
#      threads over REST while a poller reads the account; exactly K must
#      be accepted and M - K refused with 402, balance - held never below
#      zero, the ledger summing to zero per currency.  The connector is
#      stopped meanwhile, so only the releases compete.
#   2. charges (purpose-race.py charges): the connector is started; the K
#      released jobs print on ippeveprinter one after the other and are
#      charged on completion; polled (completed count, the account's held)
#      until all K are charged: the time and the rate (both paced by the
#      printer: the connector asks ippeveprinter for the job's state once
#      a second), the account at exactly 0, the ledger; and from nimbusd's
#      log (millisecond stamps) the lag from each job's completion (its
#      "job documents deleted" line, written by the Update-Job-Status that
#      completes it) to its "job charged" line: the charge path itself.
# and once, after the rounds: 3. submit (purpose-race.py submit): SUBMITS
# REST uploads of a one-page PDF under alice's purpose work (invoiced
# account CORP, no limit) alternated with SUBMITS without a purpose,
# sequential, p50 / p90 / p99 of each (the jobs are canceled after).
# Prints a Markdown table (one row per store and round) with the machine.
#
# Exit status: non-zero when a check fails (a wrong count of accepted
# releases, a balance below zero, a job not charged, an unbalanced ledger).
#
# Usage: bench/run-purpose.sh     (about 2-3 minutes with the defaults)
# Environment:
#   BUILD        meson build dir (default build-release; configured with
#                --buildtype=release if missing)
#   STORES       "sqlite pg" (default), "sqlite" or "pg"
#   M, K, P      jobs released at once (300), of which the account pays
#                for exactly K (100), by P client threads (16)
#   REPEAT       rounds per store, on the same processes (1)
#   SUBMITS      uploads with and without a purpose each (100; 0 skips)
#   CHARGE_TIMEOUT  seconds to wait for the K charges (300)
#   NIMBUSD_EXTRA  more options for nimbusd (later options win)
#   RESULTS_OUT  also write the table to this file
#   KEEP_WORK=1  keep the temp dir (logs, raw JSON per round)
set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build-release}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
STORES=${STORES:-sqlite pg}
M=${M:-300}
K=${K:-100}
P=${P:-16}
REPEAT=${REPEAT:-1}
SUBMITS=${SUBMITS:-100}
CHARGE_TIMEOUT=${CHARGE_TIMEOUT:-300}
NIMBUSD_EXTRA=${NIMBUSD_EXTRA:-}
RESULTS_OUT=${RESULTS_OUT:-}
KEEP_WORK=${KEEP_WORK:-0}
NIMBUSD=$BUILD/src/server/nimbusd
CONNECTOR=$BUILD/src/connector/nimbus-connector
PG_CLUSTER=$ROOT/tests/pg/pg-cluster.sh
CLIENT=$ROOT/bench/purpose-race.py
DOC=$ROOT/tests/data/onepage.pdf
ADMIN_PASSWORD=bench-admin-pw
HOLD=63 # one page, colour, one-sided: 50 + service 10 + 5 % of 50

WORK=$(mktemp -d "${TMPDIR:-/tmp}/nimbus-purpose-bench.XXXXXX") || exit 1
chmod 0755 "$WORK" # the cluster's owner (postgres, under root) must reach it
SRV_PID=
CONN_PID=
PG_DIR=
STATUS=0

log() { echo "run-purpose: $*" >&2; }

# shellcheck source=bench/lib-bench.sh
source "$ROOT/bench/lib-bench.sh"
# shellcheck source=tests/integration/lib-ippeve.sh
source "$ROOT/tests/integration/lib-ippeve.sh"

stop_pid() {
  local pid=$1
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
}

stop_all() {
  stop_pid "$CONN_PID"
  CONN_PID=
  stop_pid "$SRV_PID"
  SRV_PID=
}

# shellcheck disable=SC2317  # called by the trap
cleanup() {
  stop_all
  _ippeve_cleanup
  [ -z "$PG_DIR" ] || "$PG_CLUSTER" stop "$PG_DIR" >/dev/null 2>&1
  if [ "$KEEP_WORK" = 1 ]; then log "kept $WORK"; else rm -rf -- "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for s in $STORES; do
  case "$s" in sqlite | pg) ;; *) log "STORES: sqlite and/or pg, not $s"; exit 2 ;; esac
done
if [ "$K" -gt "$M" ] || [ "$K" -lt 1 ]; then log "need 1 <= K <= M"; exit 2; fi

bench_build src/server/nimbusd src/connector/nimbus-connector || exit 1

# ---------------------------------------------------------------- set-up

# start_store S: sets STORE_ARGS for nimbusd (on pg a fresh database in
# the private cluster, started on first use)
STORE_ARGS=()
start_store() {
  STORE_ARGS=()
  [ "$1" = pg ] || return 0
  local url db
  if [ -z "$PG_DIR" ]; then
    PG_DIR=$WORK/pg
    mkdir -p "$PG_DIR"
    "$PG_CLUSTER" start "$PG_DIR" >"$WORK/pg-start.log" 2>&1 || {
      PG_DIR=
      cat "$WORK/pg-start.log" >&2
      return 1
    }
  fi
  url=$("$PG_CLUSTER" url "$PG_DIR")
  db=purposebench_$$
  psql -q "$url" -c "CREATE DATABASE $db" >/dev/null || return 1
  STORE_ARGS=(--store "${url/\/nimbus_test\?/\/$db?}")
}

api() { # METHOD PATH JSON: as the operator
  curl -fsS -u "admin@system:$ADMIN_PASSWORD" -H 'Content-Type: application/json' \
    -X "$1" "$URL$2" -d "$3"
}
boss() { # METHOD PATH [JSON]: as the tenant admin
  curl -fsS -u boss@acme:boss-pw-1 -H 'Content-Type: application/json' -X "$1" "$URL$2" ${3:+-d "$3"}
}

# start_server S: fresh nimbusd on store S, tenant set up, printer
# registered (its connector not running yet).  Sets URL, SRV_PID.
start_server() {
  local s=$1 dir=$WORK/$1 port code table
  mkdir -p "$dir/state"
  start_store "$s" || { log "no database"; return 1; }
  # shellcheck disable=SC2086  # NIMBUSD_EXTRA: several options
  "$NIMBUSD" --listen 127.0.0.1 --port 0 --state-dir "$dir/state" "${STORE_ARGS[@]}" \
    --admin-password "$ADMIN_PASSWORD" --fast-hashing --max-held-jobs 100000 \
    --log-level info $NIMBUSD_EXTRA </dev/null >"$dir/nimbusd.out" 2>"$dir/nimbusd.log" &
  SRV_PID=$!
  port=
  for _ in $(seq 1 600); do
    port=$(bench_banner_port "$dir/nimbusd.out")
    [ -n "$port" ] && break
    kill -0 "$SRV_PID" 2>/dev/null || break
    sleep 0.05
  done
  [ -n "$port" ] || { log "nimbusd did not start"; cat "$dir/nimbusd.log" >&2; return 1; }
  URL=http://127.0.0.1:$port
  bench_wait_healthz "$URL" || { log "nimbusd not healthy"; return 1; }
  table='{"currency":"EUR","mode":"graduated","tiers":[{"from":1,"prices":{"a4":{"mono":{"one-sided":10},"color":{"one-sided":50}},"other":{"mono":{"one-sided":10},"color":{"one-sided":50}}}}]}'
  {
    api POST /api/v1/tenants '{"name":"acme"}' &&
      api POST '/api/v1/users?tenant=acme' '{"name":"alice","password":"alice-pw-1","role":"user"}' &&
      api POST '/api/v1/users?tenant=acme' '{"name":"boss","password":"boss-pw-1","role":"tenant-admin"}' &&
      api PATCH '/api/v1/billing?tenant=acme' '{"currency":"EUR","service_fee_fixed":10,"service_fee_bps":500}' &&
      api POST '/api/v1/queues?tenant=acme' '{"name":"office"}' &&
      boss POST /api/v1/price-tables "{\"name\":\"office\",\"table\":$table}" &&
      boss PATCH /api/v1/queues/office '{"price_table":"office","payment":"none"}' &&
      boss POST /api/v1/billing-accounts '{"code":"CORP","name":"corp","mode":"invoiced","everyone":true}' &&
      curl -fsS -u alice@acme:alice-pw-1 -H 'Content-Type: application/json' -X POST \
        "$URL/api/v1/purposes" -d '{"name":"work","account":"CORP"}'
  } >"$dir/setup.log" 2>&1 || { log "set-up failed"; cat "$dir/setup.log" >&2; return 1; }
  code=$(boss POST /api/v1/printers '{"name":"lobby","queues":["office"]}' |
    sed -n 's/.*"claim_code": *"\([^"]*\)".*/\1/p') || return 1
  [ -n "$code" ] || { log "no claim code"; return 1; }
  "$CONNECTOR" register --server "$URL" --claim "$code" --state "$dir/lobby.json" \
    >/dev/null 2>"$dir/lobby.register.log" || { cat "$dir/lobby.register.log" >&2; return 1; }
}

# new_round S R: account RACE<R> (prepaid, exactly K jobs' worth) and
# alice's purpose race<R> on it
new_round() {
  {
    boss POST /api/v1/billing-accounts "{\"code\":\"RACE$2\",\"name\":\"race $2\",\"mode\":\"prepaid\",\"everyone\":true}" &&
      boss POST "/api/v1/billing-accounts/RACE$2/topup" "{\"amount\":$((HOLD * K))}" &&
      curl -fsS -u alice@acme:alice-pw-1 -H 'Content-Type: application/json' -X POST \
        "$URL/api/v1/purposes" -d "{\"name\":\"race$2\",\"account\":\"RACE$2\"}"
  } >>"$WORK/$1/setup.log" 2>&1 || { log "round $2 set-up failed"; tail -5 "$WORK/$1/setup.log" >&2; return 1; }
}

start_connector() {
  "$CONNECTOR" run --state "$WORK/$1/lobby.json" --output "$IPPEVE_URI" --panel-listen '' \
    --transport persistent --log-level warn 2>>"$WORK/$1/lobby.log" &
  CONN_PID=$!
}

client() { # SUBCOMMAND ARGS...
  python3 "$CLIENT" --url "$URL" --user alice@acme:alice-pw-1 --boss boss@acme:boss-pw-1 \
    --admin "admin@system:$ADMIN_PASSWORD" "$@"
}

# ---------------------------------------------------------------- rounds

declare -A R=()
# jset KEY JSON EXPR...: R[KEY,name] for each name=EXPR (Python over d)
jset() {
  local key=$1 json=$2 k v
  shift 2
  while read -r k v; do R[$key,$k]=$v; done < <(python3 -c '
import json, sys
d = json.loads(sys.argv[1])
for a in sys.argv[2:]:
    n, e = a.split("=", 1)
    print(n, eval(e))' "$json" "$@")
}

run_store() {
  local s=$1 r json rc
  log "$s: starting nimbusd (release build), ippeveprinter, one printer"
  start_server "$s" || { STATUS=1; stop_all; return 1; }
  for r in $(seq 1 "$REPEAT"); do
    new_round "$s" "$r" || { STATUS=1; break; }
    json=$(client race --queue office --purpose "race$r" --account "RACE$r" --document "$DOC" \
      --jobs "$M" --expect "$K" --clients "$P" --accepted-out "$WORK/$s/accepted-$r.json")
    rc=$?
    echo "$s $r race $json" >>"$WORK/raw.jsonl"
    [ -n "$json" ] || json='{"errors":["no output"]}'
    jset "$s,$r" "$json" ok="int(not d['errors'])" \
      rps="d.get('rps')" p50="d.get('p50')" p99="d.get('p99')" max="d.get('max')" \
      acc="d.get('accepted')" refused="d.get('codes', {}).get('402', 0)" \
      polls="d.get('polls')" minav="d.get('min_available')" el="d.get('elapsed_s')" \
      p50ok="d.get('p50_ok')" p50no="d.get('p50_402')" sub="d.get('submit_s')" \
      errs="'; '.join(d['errors'])"
    if [ $rc -ne 0 ]; then
      STATUS=1
      log "$s round $r race FAILED: ${R[$s,$r,errs]}"
      continue
    fi
    log "$s round $r: $M releases in ${R[$s,$r,el]} s (${R[$s,$r,rps]}/s), p50 ${R[$s,$r,p50]} ms, p99 ${R[$s,$r,p99]} ms; ${R[$s,$r,acc]} accepted, ${R[$s,$r,refused]} refused (402); min balance - held ${R[$s,$r,minav]} over ${R[$s,$r,polls]} polls"

    start_connector "$s"
    json=$(client --poll-interval 0.02 charges --account "RACE$r" \
      --accepted "$WORK/$s/accepted-$r.json" --timeout "$CHARGE_TIMEOUT" \
      --nimbusd-log "$WORK/$s/nimbusd.log")
    rc=$?
    stop_pid "$CONN_PID"
    CONN_PID=
    echo "$s $r charges $json" >>"$WORK/raw.jsonl"
    [ -n "$json" ] || json='{"errors":["no output"]}'
    jset "$s,$r" "$json" cok="int(not d['errors'])" ctotal="d.get('total_s')" \
      cps="d.get('charges_per_s')" prate="d.get('print_rate')" \
      lastlag="d.get('log_last_done_to_last_charge_ms')" lag50="d.get('log_lag_p50')" \
      lag99="d.get('log_lag_p99')" lagmax="d.get('log_lag_max')" logn="d.get('log_jobs')" \
      cerrs="'; '.join(d['errors'])"
    if [ $rc -ne 0 ]; then
      STATUS=1
      log "$s round $r charges FAILED: ${R[$s,$r,cerrs]}"
      continue
    fi
    log "$s round $r: $K charged ${R[$s,$r,ctotal]} s after the printer started (${R[$s,$r,cps]}/s; printed ${R[$s,$r,prate]}/s); completion -> charge (log, ${R[$s,$r,logn]} jobs) p50 ${R[$s,$r,lag50]} ms, p99 ${R[$s,$r,lag99]} ms; last completion -> last charge ${R[$s,$r,lastlag]} ms"
  done
  if [ "$SUBMITS" -gt 0 ]; then
    json=$(client submit --queue office --purpose work --document "$DOC" --count "$SUBMITS")
    rc=$?
    echo "$s submit $json" >>"$WORK/raw.jsonl"
    if [ $rc -ne 0 ] || [ -z "$json" ]; then
      STATUS=1
      log "$s submissions FAILED"
    else
      jset "$s" "$json" w50="d['with']['p50']" w90="d['with']['p90']" w99="d['with']['p99']" \
        o50="d['without']['p50']" o90="d['without']['p90']" o99="d['without']['p99']"
      log "$s: upload with a purpose p50 ${R[$s,w50]} ms, without ${R[$s,o50]} ms"
    fi
  fi
  stop_all
}

# shellcheck disable=SC2119  # no extra ippeveprinter options
ippeve_start || { log "ippeveprinter did not start"; exit 1; }
for s in $STORES; do run_store "$s"; done

# ---------------------------------------------------------------- report

name() { case "$1" in sqlite) echo SQLite ;; pg) echo PostgreSQL ;; esac; }
{
  echo "Release race: $M held jobs under one purpose, its prepaid account good for exactly $K, released at once by $P REST clients; then the $K printed on ippeveprinter through one nimbus-connector and charged:"
  echo
  echo "| store | round | releases/s | release p50 / p99 / max (ms) | p50 accepted / refused (ms) | accepted / 402 | min balance − held (polls) | $K charged after (s) | charges/s (paced by the printer) | completion → charge p50 / p99 / max (ms) | last completion → last charge (ms) |"
  echo "|---|---:|---:|---|---|---|---|---:|---:|---|---:|"
  for s in $STORES; do
    for r in $(seq 1 "$REPEAT"); do
      flag=
      [ "${R[$s,$r,ok]:-0}${R[$s,$r,cok]:-0}" = 11 ] || flag=' **FAILED**'
      echo "| $(name "$s")$flag | $r | ${R[$s,$r,rps]:-} | ${R[$s,$r,p50]:-} / ${R[$s,$r,p99]:-} / ${R[$s,$r,max]:-} | ${R[$s,$r,p50ok]:-} / ${R[$s,$r,p50no]:-} | ${R[$s,$r,acc]:-} / ${R[$s,$r,refused]:-} | ${R[$s,$r,minav]:-} (${R[$s,$r,polls]:-}) | ${R[$s,$r,ctotal]:-} | ${R[$s,$r,cps]:-} | ${R[$s,$r,lag50]:-} / ${R[$s,$r,lag99]:-} / ${R[$s,$r,lagmax]:-} | ${R[$s,$r,lastlag]:-} |"
    done
  done
  if [ "$SUBMITS" -gt 0 ]; then
    echo
    echo "REST upload of a one-page PDF, $SUBMITS with a purpose alternated with $SUBMITS without, one client:"
    echo
    echo "| store | with purpose p50 / p90 / p99 (ms) | without p50 / p90 / p99 (ms) |"
    echo "|---|---|---|"
    for s in $STORES; do
      echo "| $(name "$s") | ${R[$s,w50]:-FAILED} / ${R[$s,w90]:-} / ${R[$s,w99]:-} | ${R[$s,o50]:-} / ${R[$s,o90]:-} / ${R[$s,o99]:-} |"
    done
  fi
  echo
  echo "Machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) RAM, $(uname -sr); load average at the end $(cut -d' ' -f1-3 /proc/loadavg); build $(basename "$BUILD"); $(date -u '+%Y-%m-%d %H:%M UTC')."
} | tee ${RESULTS_OUT:+"$RESULTS_OUT"}
[ "$STATUS" = 0 ] || log "FAILED: a check did not hold (see above)"
exit $STATUS
