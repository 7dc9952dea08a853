#!/usr/bin/env bash
# run-payments.sh: the pay-at-the-printer benchmark (issue 12): the time
# from the user's Pay on the payment page to the printer receiving the job,
# p50 and p99 with N payments in flight at once.
#
# Per provider (PROVIDER, default "linepay stripe", one after the other), on
# loopback and a fresh state dir: a release-build nimbusd (SQLite, or
# STORE=pg on a private PostgreSQL cluster made by tests/pg/pg-cluster.sh),
# nimbus-paysim (both wire formats), and PRINTERS nimbus-connector
# processes with --transport persistent (as in production) and a file://
# output directory each (the printer; a document renamed into place there
# is "received").  Tenant acme with a currency (JPY for LINE Pay, EUR for
# Stripe) and a service fee, a price table, PRINTERS queues taking payment
# at the printer with one printer each, the provider's credentials.  Then
# REPEAT rounds of bench/pay-phones.py: N held jobs (distinct documents,
# round robin over the queues), N payments started and their pages opened,
# then Pay pressed on all N pages at once, each phone following the
# redirects (LINE Pay: paysim -> nimbusd's confirm URL -> return page;
# Stripe: paysim -> return page, the webhook sent by paysim meanwhile).
# Per round: latency p50 / p90 / p99 / max, throughput, the phones' page
# time, and the CPU seconds of nimbusd (and paysim, the connectors) over the
# window from the first Pay to the last document printed.  Prints a
# Markdown table (medians over the rounds) with the machine.
#
# Exit status: non-zero when any job did not print, printed wrong, or did
# not end completed at nimbusd (the round's errors are on stderr).
#
# Usage: bench/run-payments.sh          (about 1 minute with the defaults)
# Environment:
#   BUILD        meson build dir (default build-release; configured with
#                --buildtype=release if missing)
#   PROVIDER     "linepay stripe" (default), "linepay" or "stripe"
#   N            payments in flight at once (50)
#   REPEAT       rounds per provider, on the same processes (3)
#   PRINTERS     printers (queue + connector each) the jobs are spread over
#                (1: all N jobs wait for one printer, which prints them one
#                after the other; N: one printer per payment)
#   STORE        sqlite (default) or pg
#   NIMBUSD_EXTRA, CONNECTOR_EXTRA  more options for nimbusd / the
#                connectors (e.g. "--log-level debug"; later options win)
#   NIMBUSD_DIR  put nimbusd's state dir (SQLite database, spool) under
#                this directory instead of the temp dir, e.g. /dev/shm to
#                see what the database's fsyncs cost (the connectors' output
#                stays in the temp dir: TMPDIR moves everything)
#   PRINT_TIMEOUT  seconds after the Pay presses before a document that has
#                not arrived fails the round (60)
#   NIMBUSD      the nimbusd binary (default: the one in BUILD), e.g. one
#                built from another commit for an A/B comparison
#   PERF=1       perf record nimbusd during the rounds (call graphs);
#                the top of the report is printed at the end
#   RESULTS_OUT  also write the table to this file
#   KEEP_WORK=1  keep the temp dir (logs, raw JSON per round)
set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build-release}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
PROVIDER=${PROVIDER:-linepay stripe}
N=${N:-50}
REPEAT=${REPEAT:-3}
PRINTERS=${PRINTERS:-1}
STORE=${STORE:-sqlite}
PERF=${PERF:-0}
NIMBUSD_EXTRA=${NIMBUSD_EXTRA:-}
CONNECTOR_EXTRA=${CONNECTOR_EXTRA:-}
NIMBUSD_DIR=${NIMBUSD_DIR:-}
PRINT_TIMEOUT=${PRINT_TIMEOUT:-60}
STATE_DIRS=()
RESULTS_OUT=${RESULTS_OUT:-}
KEEP_WORK=${KEEP_WORK:-0}
NIMBUSD=${NIMBUSD:-$BUILD/src/server/nimbusd}
CONNECTOR=$BUILD/src/connector/nimbus-connector
PAYSIM=$BUILD/src/paysim/nimbus-paysim
PG_CLUSTER=$ROOT/tests/pg/pg-cluster.sh
ADMIN_PASSWORD=bench-admin-pw
LP_CHANNEL=1234567890
LP_SECRET=lp-bench-secret-$$
SK=sk_test_bench_$$
WHSEC=whsec_bench_$$

WORK=$(mktemp -d "${TMPDIR:-/tmp}/nimbus-pay-bench.XXXXXX") || exit 1
chmod 0755 "$WORK" # the cluster's owner (postgres, under root) must reach it
SRV_PID=
SIM_PID=
PERF_PID=
CONN_PIDS=()
PG_DIR=
STATUS=0

log() { echo "run-payments: $*" >&2; }

stop_pid() {
  local pid=$1
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
}

stop_all() {
  local p
  stop_pid "$PERF_PID"
  PERF_PID=
  for p in "${CONN_PIDS[@]}"; do stop_pid "$p"; done
  CONN_PIDS=()
  stop_pid "$SIM_PID"
  SIM_PID=
  stop_pid "$SRV_PID"
  SRV_PID=
}

# shellcheck disable=SC2317  # called by the trap
cleanup() {
  stop_all
  [ -z "$PG_DIR" ] || "$PG_CLUSTER" stop "$PG_DIR" >/dev/null 2>&1
  if [ "$KEEP_WORK" = 1 ]; then
    log "kept $WORK ${STATE_DIRS[*]}"
  else
    rm -rf -- "$WORK" "${STATE_DIRS[@]}"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

case "$STORE" in sqlite | pg) ;; *) log "STORE must be sqlite or pg"; exit 2 ;; esac
for p in $PROVIDER; do
  case "$p" in linepay | stripe) ;; *) log "unknown provider $p"; exit 2 ;; esac
done

if [ ! -f "$BUILD/build.ninja" ]; then
  meson setup "$BUILD" "$ROOT" --buildtype=release >"$WORK/meson.log" 2>&1 || {
    tail -20 "$WORK/meson.log" >&2
    exit 1
  }
fi
ninja -C "$BUILD" src/server/nimbusd src/connector/nimbus-connector src/paysim/nimbus-paysim \
  >"$WORK/ninja.log" 2>&1 || { tail -30 "$WORK/ninja.log" >&2; exit 1; }

# median V...: the median of the numbers given (empty when none)
median() {
  [ $# -gt 0 ] || return 0
  printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END {
    if (NR % 2) print a[(NR + 1) / 2]; else printf "%.2f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
# jget JSON EXPR: a Python expression over the decoded JSON d
jget() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print($2)" "$1"; }

# ---------------------------------------------------------------- set-up

# start_store: the --store argument for nimbusd (a fresh database on
# STORE=pg; its cluster is started on first use)
STORE_ARGS=()
start_store() {
  STORE_ARGS=()
  [ "$STORE" = pg ] || return 0
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
  db=paybench_$$_$1
  psql -q "$url" -c "CREATE DATABASE $db" >/dev/null || return 1
  STORE_ARGS=(--store "${url/\/nimbus_test\?/\/$db?}")
}

api() { # METHOD PATH JSON: as the operator
  curl -fsS -u "admin@system:$ADMIN_PASSWORD" -H 'Content-Type: application/json' \
    -X "$1" "$URL$2" -d "$3"
}
boss() { # METHOD PATH JSON: as the tenant admin
  curl -fsS -u boss@acme:boss-pw-1 -H 'Content-Type: application/json' -X "$1" "$URL$2" -d "$3"
}

# start_provider P: fresh nimbusd, paysim, tenant set up for P, PRINTERS
# printers running.  Sets URL, SRV_PID, SIM_PID, CONN_PIDS, QUEUES, OUTPUTS.
start_provider() {
  local p=$1 dir=$WORK/$1 port sim_port i code cur table body state
  state=$dir/state
  if [ -n "$NIMBUSD_DIR" ]; then
    state=$(mktemp -d "$NIMBUSD_DIR/nimbus-pay-bench-state.XXXXXX") || return 1
    STATE_DIRS+=("$state")
  fi
  mkdir -p "$dir" "$state"
  start_store "$p" || { log "no database"; return 1; }
  # shellcheck disable=SC2086  # NIMBUSD_EXTRA: several options
  "$NIMBUSD" --listen 127.0.0.1 --port 0 --state-dir "$state" "${STORE_ARGS[@]}" \
    --admin-password "$ADMIN_PASSWORD" --fast-hashing --max-held-jobs 100000 \
    --log-level info $NIMBUSD_EXTRA </dev/null >"$dir/nimbusd.out" 2>"$dir/nimbusd.log" &
  SRV_PID=$!
  port=
  for _ in $(seq 1 600); do
    port=$(sed -n 's/.* port \([0-9]*\), state.*/\1/p' "$dir/nimbusd.out" | head -1)
    [ -n "$port" ] && break
    kill -0 "$SRV_PID" 2>/dev/null || break
    sleep 0.05
  done
  [ -n "$port" ] || { log "nimbusd did not start"; cat "$dir/nimbusd.log" >&2; return 1; }
  URL=http://127.0.0.1:$port
  for _ in $(seq 1 100); do curl -fsS -o /dev/null "$URL/healthz" 2>/dev/null && break; sleep 0.05; done

  "$PAYSIM" --listen 127.0.0.1 --port 0 --merchant "Nimbus bench shop" --log-level warn \
    --linepay-channel "$LP_CHANNEL:$LP_SECRET" --stripe-key "$SK" \
    --stripe-webhook "$URL/api/v1/payments/stripe-webhook/acme=$WHSEC" \
    </dev/null >"$dir/paysim.out" 2>"$dir/paysim.log" &
  SIM_PID=$!
  sim_port=
  for _ in $(seq 1 300); do
    sim_port=$(sed -n 's/.*listening on .* port \([0-9]*\).*/\1/p' "$dir/paysim.out" | head -1)
    [ -n "$sim_port" ] && break
    kill -0 "$SIM_PID" 2>/dev/null || break
    sleep 0.05
  done
  [ -n "$sim_port" ] || { log "nimbus-paysim did not start"; cat "$dir/paysim.log" >&2; return 1; }
  SIM_URL=http://127.0.0.1:$sim_port

  if [ "$p" = linepay ]; then cur=JPY; else cur=EUR; fi
  table="{\"currency\":\"$cur\",\"mode\":\"graduated\",\"tiers\":[{\"from\":1,\"prices\":{\"a4\":{\"mono\":{\"one-sided\":10},\"color\":{\"one-sided\":50}},\"other\":{\"mono\":{\"one-sided\":10},\"color\":{\"one-sided\":50}}}}]}"
  if [ "$p" = linepay ]; then
    body="{\"provider\":\"linepay\",\"credentials\":{\"channel_id\":\"$LP_CHANNEL\",\"channel_secret\":\"$LP_SECRET\",\"api_base\":\"$SIM_URL\"}}"
  else
    body="{\"provider\":\"stripe\",\"credentials\":{\"secret_key\":\"$SK\",\"webhook_secrets\":[\"$WHSEC\"],\"api_base\":\"$SIM_URL\"}}"
  fi
  {
    api POST /api/v1/tenants '{"name":"acme"}' &&
      api POST '/api/v1/users?tenant=acme' '{"name":"alice","password":"alice-pw-1","role":"user"}' &&
      api POST '/api/v1/users?tenant=acme' '{"name":"boss","password":"boss-pw-1","role":"tenant-admin"}' &&
      api PATCH '/api/v1/billing?tenant=acme' "{\"currency\":\"$cur\",\"service_fee_fixed\":10,\"service_fee_bps\":500}" &&
      boss POST /api/v1/price-tables "{\"name\":\"shop\",\"table\":$table}" &&
      api PUT '/api/v1/billing/provider?tenant=acme' "$body"
  } >"$dir/setup.log" 2>&1 || { log "set-up failed"; cat "$dir/setup.log" >&2; return 1; }

  QUEUES=
  OUTPUTS=
  CONN_PIDS=()
  for i in $(seq 1 "$PRINTERS"); do
    {
      api POST '/api/v1/queues?tenant=acme' "{\"name\":\"q$i\"}" &&
        boss PATCH "/api/v1/queues/q$i" '{"price_table":"shop","payment":"at-printer"}'
    } >>"$dir/setup.log" 2>&1 || { log "queue q$i"; cat "$dir/setup.log" >&2; return 1; }
    code=$(boss POST /api/v1/printers "{\"name\":\"p$i\",\"queues\":[\"q$i\"]}" |
      sed -n 's/.*"claim_code": *"\([^"]*\)".*/\1/p') || return 1
    [ -n "$code" ] || { log "no claim code for p$i"; return 1; }
    "$CONNECTOR" register --server "$URL" --claim "$code" --state "$dir/p$i.json" \
      >/dev/null 2>"$dir/p$i.register.log" || { cat "$dir/p$i.register.log" >&2; return 1; }
    mkdir -p "$dir/out$i"
    # shellcheck disable=SC2086  # CONNECTOR_EXTRA: several options
    "$CONNECTOR" run --state "$dir/p$i.json" --output "file://$dir/out$i" --panel-listen '' \
      --transport persistent --log-level warn $CONNECTOR_EXTRA 2>"$dir/p$i.log" &
    CONN_PIDS+=($!)
    QUEUES+=${QUEUES:+,}q$i
    OUTPUTS+=${OUTPUTS:+,}$dir/out$i
  done
  # every connector has subscribed and holds its Get-Notifications
  sleep 1
  for i in "${!CONN_PIDS[@]}"; do
    kill -0 "${CONN_PIDS[$i]}" 2>/dev/null || {
      log "connector p$((i + 1)) exited"
      cat "$dir/p$((i + 1)).log" >&2
      return 1
    }
  done
}

# ---------------------------------------------------------------- rounds

declare -A R=()
PERF_TOP=

run_provider() {
  local p=$1 r json rc conn_csv
  log "$p: starting nimbusd, nimbus-paysim and $PRINTERS connector(s)"
  start_provider "$p" || { STATUS=1; stop_all; return 1; }
  if [ "$PERF" = 1 ]; then
    perf record -g -F 999 -p "$SRV_PID" -o "$WORK/$p.perf.data" >"$WORK/$p.perf.log" 2>&1 &
    PERF_PID=$!
    sleep 0.5
  fi
  conn_csv=$(
    IFS=,
    echo "${CONN_PIDS[*]}"
  )
  for r in $(seq 1 "$REPEAT"); do
    json=$(python3 "$ROOT/bench/pay-phones.py" --url "$URL" --user alice@acme:alice-pw-1 \
      --queues "$QUEUES" --outputs "$OUTPUTS" --jobs "$N" --tag "$p$r" \
      --nimbusd-log "$WORK/$p/nimbusd.log" --timeout "$PRINT_TIMEOUT" \
      --cpu "nimbusd=$SRV_PID" --cpu "paysim=$SIM_PID" --cpu "connectors=$conn_csv")
    rc=$?
    echo "$p $r $json" >>"$WORK/raw.jsonl"
    if [ $rc -ne 0 ] || [ -z "$json" ]; then
      STATUS=1
      log "$p round $r FAILED (status $rc)"
      [ -z "$json" ] || jget "$json" "'\n'.join(d['errors'])" >&2
      continue
    fi
    # one python3 for all the figures (its start-up is slow on a busy machine)
    while read -r k v; do R[$p,$r,$k]=$v; done < <(jget "$json" "'\\n'.join(f'{k} {v}' for k, v in [
        ('p50', d['p50']), ('p90', d['p90']), ('p99', d['p99']), ('max', d['max']),
        ('tput', d['throughput']), ('paid50', d.get('paid_p50', '')), ('paid99', d.get('paid_p99', '')),
        ('print50', d.get('print_p50', '')), ('print99', d.get('print_p99', '')), ('page50', d['page_p50']), ('page99', d['page_p99']),
        ('cpu', d['cpu_s']['nimbusd']), ('cpu_sim', d['cpu_s']['paysim']),
        ('cpu_conn', d['cpu_s']['connectors']), ('cpu_phones', d['cpu_s']['phones']),
        ('all', ' '.join(map(str, d['latencies_ms'])))])")
    log "$p round $r: p50 ${R[$p,$r,p50]} ms, p99 ${R[$p,$r,p99]} ms, max ${R[$p,$r,max]} ms, ${R[$p,$r,tput]} jobs/s, nimbusd CPU ${R[$p,$r,cpu]} s"
  done
  if [ -n "$PERF_PID" ]; then
    kill -INT "$PERF_PID" 2>/dev/null
    wait "$PERF_PID" 2>/dev/null
    PERF_PID=
    PERF_TOP+="---- $p: perf report (nimbusd, children, top 40)"$'\n'
    PERF_TOP+=$(perf report -i "$WORK/$p.perf.data" --stdio --children --no-demangle \
      --percent-limit 2 2>/dev/null | grep -v '^$' | grep -E '^ +[0-9]' | head -40)$'\n'
  fi
  stop_all
}

for p in $PROVIDER; do run_provider "$p"; done

# ---------------------------------------------------------------- report

med() { # PROVIDER KEY: median over the rounds
  local r vals=()
  for r in $(seq 1 "$REPEAT"); do
    [ -n "${R[$1,$r,$2]:-}" ] && vals+=("${R[$1,$r,$2]}")
  done
  median "${vals[@]}"
}
pooled() { # PROVIDER PCT: nearest-rank percentile over every round's samples
  local r all=''
  for r in $(seq 1 "$REPEAT"); do all+=" ${R[$1,$r,all]:-}"; done
  # shellcheck disable=SC2086
  printf '%s\n' $all | sort -g | awk -v p="$2" '{ a[NR] = $1 } END {
    if (NR) { k = int(p / 100 * NR); if (k < p / 100 * NR) k++; if (k < 1) k = 1; print a[k] } }'
}

{
  echo "Pay pressed on $N payment pages at once -> each document complete in the printer's file:// output; $PRINTERS printer(s) (one queue and one nimbus-connector --transport persistent each), store $STORE; medians of $REPEAT rounds:"
  echo
  echo "| provider | p50 (ms) | p90 (ms) | p99 (ms) | max (ms) | p99 of all rounds' samples (ms) | throughput (jobs/s) | Pay -> paid at nimbusd, p50 / p99 (ms) | paid -> printed, p50 / p99 (ms) | phone's page flow, p50 / p99 (ms) | nimbusd CPU (s) | nimbusd CPU per payment (ms) | paysim / connectors / phones CPU (s) |"
  echo "|---|---:|---:|---:|---:|---:|---:|---|---|---|---:|---:|---|"
  for p in $PROVIDER; do
    cpu=$(med "$p" cpu)
    echo "| $p | $(med "$p" p50) | $(med "$p" p90) | $(med "$p" p99) | $(med "$p" max) | $(pooled "$p" 99) | $(med "$p" tput) | $(med "$p" paid50) / $(med "$p" paid99) | $(med "$p" print50) / $(med "$p" print99) | $(med "$p" page50) / $(med "$p" page99) | $cpu | $(awk -v c="${cpu:-0}" -v n="$N" 'BEGIN { printf "%.1f", c * 1000 / n }') | $(med "$p" cpu_sim) / $(med "$p" cpu_conn) / $(med "$p" cpu_phones) |"
  done
  echo
  echo "Per round (p50 / p99 / max ms, jobs/s, nimbusd CPU s):"
  echo
  for p in $PROVIDER; do
    for r in $(seq 1 "$REPEAT"); do
      echo "- $p round $r: ${R[$p,$r,p50]:-FAILED} / ${R[$p,$r,p99]:-} / ${R[$p,$r,max]:-}, ${R[$p,$r,tput]:-}, ${R[$p,$r,cpu]:-}"
    done
  done
  echo
  echo "Machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) RAM, $(uname -sr); load average at the end $(cut -d' ' -f1-3 /proc/loadavg); build $(basename "$BUILD"); $(date -u '+%Y-%m-%d %H:%M UTC')."
} | tee ${RESULTS_OUT:+"$RESULTS_OUT"}
[ -z "$PERF_TOP" ] || printf '\n%s' "$PERF_TOP"
[ "$STATUS" = 0 ] || log "FAILED: a job did not print, printed wrong or did not complete (see above)"
exit $STATUS
