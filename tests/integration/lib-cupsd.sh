# lib-cupsd.sh: start, configure and stop a PRIVATE cupsd for tests and
# benchmarks.  Source it from bash:
#
#   . tests/integration/lib-cupsd.sh
#   cupsd_start "$tmp/cupsd" auto        # or a fixed port
#   cupsd_add_queue fwd ipp://127.0.0.1:8631/ipp/print
#   cupsd_add_held_queue held
#   lp -h "$CUPSD_SERVER" -d fwd doc.pdf
#   cupsd_stop                           # also runs on EXIT
#
# Functions: cupsd_start, cupsd_stop, cupsd_stop_all, cupsd_add_queue (raw
# queue forwarding to a device URI), cupsd_add_held_queue (jobs held on
# arrival, nothing printed), cupsd_purge_jobs, cupsd_job_states,
# cupsd_job_count, cupsd_free_port.
#
# Promises:
#  * The system cupsd and its files are never touched: every path the
#    scheduler reads or writes (config, spool, cache, state, logs, certs)
#    lives under DIR, it listens on 127.0.0.1:PORT only (no domain socket),
#    with no browsing, no DNS-SD, no TLS and no web interface.
#  * Several instances may run at once (different DIR and PORT), from one
#    shell or from parallel test runs.  "auto" picks a free loopback port and
#    retries if another process wins the race for it.
#  * Every instance started from this shell is stopped, and its DIR removed
#    (unless CUPSD_KEEP_DIR=1), when the shell exits.  The EXIT trap is
#    chained after any trap already installed; a caller that installs its
#    own EXIT trap AFTER sourcing this file must call cupsd_stop_all in it.
#
# Running as root (the usual case in CI containers):
#  * cupsd refuses "User root" in cups-files.conf ("Will not use User root
#    (UID=0) ... for security reasons", fatal under FatalErrors config), so
#    filters and backends run as lp (except backends installed mode 0700,
#    e.g. cups-brf, which cupsd runs as root).  "RunAsUser" no longer
#    exists in 2.4 and "Sandboxing" only matters on macOS: neither is set.
#    DIR and its spool must therefore be reachable by lp: cupsd_start makes
#    DIR mode 0755 and warns about a DIR whose parents lp cannot traverse.
#  * Not as root, cupsd runs everything as the caller (User/Group are set
#    to the caller's); checked with held queues.
#  * The default operation policy demands @SYSTEM + authentication for
#    lpadmin; the private policy below allows every operation from
#    loopback without authentication.
#
# Exports after cupsd_start: CUPSD_PID, CUPSD_PORT, CUPSD_DIR,
# CUPSD_SERVER (host:port for lp/lpadmin/lpstat -h) and CUPSD_URI
# (ipp://127.0.0.1:PORT).  Functions return non-zero on failure and print
# the reason (and the tail of DIR/log/error_log) to stderr.

# shellcheck shell=bash

if [ -n "${_LIB_CUPSD_LOADED:-}" ]; then
    return 0
fi
_LIB_CUPSD_LOADED=1

CUPSD_BIN=${CUPSD_BIN:-$(command -v cupsd 2>/dev/null || echo /usr/sbin/cupsd)}
LPADMIN_BIN=${LPADMIN_BIN:-$(command -v lpadmin 2>/dev/null || echo /usr/sbin/lpadmin)}
CUPSD_START_TIMEOUT=${CUPSD_START_TIMEOUT:-15}   # seconds to wait for an answer
CUPSD_LOGLEVEL=${CUPSD_LOGLEVEL:-warn}

# DIR -> pid of every instance started from this shell.
declare -gA _CUPSD_PIDS=()

_cupsd_err() { echo "lib-cupsd: $*" >&2; }

# cupsd_free_port: print a loopback TCP port nobody listens on right now.
# Racy by nature; cupsd_start retries when the bind then fails.
cupsd_free_port() {
    local port
    for _ in $(seq 1 50); do
        port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
        if command -v ss >/dev/null 2>&1; then
            ss -Hltn "sport = :$port" 2>/dev/null | grep -q . && continue
        fi
        # Nothing answered a connect: take it.
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    _cupsd_err "no free port found"
    return 1
}

# _cupsd_check_parents DIR: lp (the user backends run as) must be able to
# traverse every parent of DIR, or printed jobs fail with "unable to open
# print file".  Only warns: held queues never run a backend.
_cupsd_check_parents() {
    local d
    d=$(dirname "$1")
    while [ "$d" != "/" ]; do
        if [ -d "$d" ] && [ "$(( $(stat -c '0%a' "$d") & 01 ))" -eq 0 ]; then
            _cupsd_err "warning: $d is not world-traversable; backends (user lp) will fail to read spooled documents under $1 (held queues are unaffected)"
            return 0
        fi
        d=$(dirname "$d")
    done
    return 0
}

# _cupsd_owns_port PID PORT: true unless ss shows another process listening
# on PORT (a racing process may take the port between check and bind).
_cupsd_owns_port() {
    local out
    kill -0 "$1" 2>/dev/null || return 1
    command -v ss >/dev/null 2>&1 || return 0
    out=$(ss -Hltnp "sport = :$2" 2>/dev/null)
    case "$out" in
        *"pid=$1,"*) return 0 ;;
        *users:*) return 1 ;;       # someone else owns it
        *) return 0 ;;               # no process info (not root): trust it
    esac
}

# _cupsd_user_lines: the User/Group lines of cups-files.conf.  As root:
# filters and backends run as lp (cupsd refuses "User root").  Otherwise
# cupsd cannot switch users and everything runs as the caller.
_cupsd_user_lines() {
    if [ "$(id -u)" = 0 ]; then
        printf '%s\n' "User lp" "Group lp" "SystemGroup root" "LogFileGroup root"
    else
        printf '%s\n' "User $(id -un)" "Group $(id -gn)" "SystemGroup $(id -gn)" "LogFileGroup $(id -gn)"
    fi
}

# _cupsd_write_conf DIR PORT: write DIR/cupsd.conf and DIR/cups-files.conf.
_cupsd_write_conf() {
    local dir=$1 port=$2
    cat >"$dir/cupsd.conf" <<EOF
# Private cupsd written by tests/integration/lib-cupsd.sh
Listen 127.0.0.1:$port
ServerName 127.0.0.1
ServerAlias *
Browsing No
BrowseLocalProtocols none
WebInterface No
DefaultEncryption Never
DefaultAuthType None
LogLevel $CUPSD_LOGLEVEL
MaxLogSize 0
# The intake benchmark keeps thousands of held jobs: no job-count limits.
MaxJobs 0
MaxJobsPerPrinter 0
MaxJobsPerUser 0
MaxClients 1000
MaxClientsPerHost 1000
PreserveJobHistory No
PreserveJobFiles No
Timeout 300
<Location />
  Order allow,deny
  Allow all
</Location>
<Location /admin>
  Order allow,deny
  Allow all
</Location>
<Policy default>
  JobPrivateAccess default
  JobPrivateValues default
  SubscriptionPrivateAccess default
  SubscriptionPrivateValues default
  <Limit All>
    Order deny,allow
    Allow all
  </Limit>
</Policy>
EOF
    cat >"$dir/cups-files.conf" <<EOF
# Private cupsd written by tests/integration/lib-cupsd.sh
ServerRoot $dir
RequestRoot $dir/spool
TempDir $dir/spool/tmp
CacheDir $dir/cache
StateDir $dir/state
ServerKeychain $dir/ssl
DocumentRoot $dir/doc-root
ErrorLog $dir/log/error_log
AccessLog $dir/log/access_log
PageLog $dir/log/page_log
CreateSelfSignedCerts no
FileDevice Yes
$(_cupsd_user_lines)
# Fail instead of running without a listener when the port is taken.
FatalErrors config listen
EOF
}

# cupsd_start DIR [PORT|auto]: create DIR, configure and start cupsd in the
# foreground as a background job, wait until it answers HTTP, export the
# CUPSD_* variables.  DIR must not hold a running instance.
cupsd_start() {
    local dir=${1:?cupsd_start DIR [PORT|auto]} want=${2:-auto}
    local port attempt tries pid code
    if [ "$want" = auto ]; then tries=5; else tries=1; fi

    mkdir -p "$dir" || return 1
    dir=$(cd "$dir" && pwd) || return 1
    if [ -n "${_CUPSD_PIDS[$dir]:-}" ]; then
        _cupsd_err "an instance already runs in $dir"
        return 1
    fi
    _cupsd_check_parents "$dir"
    chmod 0755 "$dir"
    mkdir -p "$dir/spool/tmp" "$dir/cache" "$dir/state" "$dir/ssl" \
             "$dir/log" "$dir/ppd" "$dir/doc-root" || return 1
    # cupsd fixes ownership itself, but the spool must be lp-writable
    # from the first job on.
    if [ "$(id -u)" = 0 ]; then
        chown root:lp "$dir/spool" "$dir/spool/tmp" "$dir/cache" 2>/dev/null || true
    fi
    chmod 0710 "$dir/spool"; chmod 1770 "$dir/spool/tmp"; chmod 0770 "$dir/cache"

    for attempt in $(seq 1 "$tries"); do
        if [ "$want" = auto ]; then
            port=$(cupsd_free_port) || return 1
        else
            port=$want
        fi
        # Something already answering there would pass the readiness
        # check below in cupsd's place.
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            _cupsd_err "port $port is already in use (attempt $attempt/$tries)"
            continue
        fi
        _cupsd_write_conf "$dir" "$port"
        : >"$dir/log/cupsd.out"
        "$CUPSD_BIN" -f -c "$dir/cupsd.conf" -s "$dir/cups-files.conf" \
            </dev/null >>"$dir/log/cupsd.out" 2>&1 &
        pid=$!
        _CUPSD_PIDS[$dir]=$pid
        echo "$pid" >"$dir/cupsd.pid"

        for _ in $(seq 1 $(( CUPSD_START_TIMEOUT * 10 ))); do
            if ! kill -0 "$pid" 2>/dev/null; then
                break
            fi
            # allowed to fail: cupsd may still be starting (curl then
            # prints 000 and exits non-zero)
            code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' \
                   "http://127.0.0.1:$port/" 2>/dev/null) || true
            if [ -n "$code" ] && [ "$code" != 000 ] && _cupsd_owns_port "$pid" "$port"; then
                export CUPSD_PID=$pid CUPSD_PORT=$port CUPSD_DIR=$dir
                export CUPSD_SERVER="127.0.0.1:$port"
                export CUPSD_URI="ipp://127.0.0.1:$port"
                return 0
            fi
            sleep 0.1
        done
        # Died (port taken?) or never answered: it may be gone already.
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        unset '_CUPSD_PIDS[$dir]'
        _cupsd_err "cupsd on port $port did not come up (attempt $attempt/$tries)"
        tail -n 5 "$dir/log/error_log" "$dir/log/cupsd.out" >&2 2>/dev/null || true
        # Only a lost race for the port is worth another try.
        grep -q 'Address already in use' "$dir/log/error_log" 2>/dev/null || break
        rm -f "$dir/log/error_log"
    done
    return 1
}

# cupsd_stop [DIR]: stop the instance in DIR (default: the last started,
# $CUPSD_DIR), TERM then KILL after 10 s, and remove DIR unless
# CUPSD_KEEP_DIR=1.  Returns 0 when nothing runs there.
cupsd_stop() {
    local dir=${1:-${CUPSD_DIR:-}} pid
    [ -n "$dir" ] || return 0
    dir=$(cd "$dir" 2>/dev/null && pwd) || dir=${1:-$CUPSD_DIR}
    pid=${_CUPSD_PIDS[$dir]:-}
    if [ -n "$pid" ]; then
        kill -TERM "$pid" 2>/dev/null || true # may have exited
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            _cupsd_err "cupsd $pid ignored SIGTERM; killing"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true # its status: signalled or cupsd's own
        unset '_CUPSD_PIDS[$dir]'
    fi
    if [ "${CUPSD_KEEP_DIR:-0}" != 1 ] && [ -f "$dir/cups-files.conf" ]; then
        rm -rf -- "$dir"
    fi
    if [ "${CUPSD_DIR:-}" = "$dir" ]; then
        unset CUPSD_PID CUPSD_PORT CUPSD_DIR CUPSD_SERVER CUPSD_URI
    fi
    return 0
}

# cupsd_stop_all: stop every instance started from this shell.
cupsd_stop_all() {
    local dir
    for dir in "${!_CUPSD_PIDS[@]}"; do
        cupsd_stop "$dir"
    done
}

# _cupsd_lpadmin ARGS...: lpadmin against the current instance.
_cupsd_lpadmin() {
    if [ -z "${CUPSD_SERVER:-}" ]; then
        _cupsd_err "no private cupsd running (call cupsd_start first)"
        return 1
    fi
    "$LPADMIN_BIN" -h "$CUPSD_SERVER" "$@"
}

# cupsd_add_queue NAME DEVICE_URI [lpadmin options...]: add an enabled raw
# queue that sends each document unchanged to DEVICE_URI (ipp://... makes
# `lp -h $CUPSD_SERVER -d NAME f.pdf` an IPP Print-Job on that URI).  No
# PPD and no -m: that is a raw queue, which lpadmin 2.4 still creates
# (only "-m raw" prints the deprecation warning).
cupsd_add_queue() {
    local name=${1:?cupsd_add_queue NAME DEVICE_URI [options]} uri=${2:?device uri}
    shift 2
    _cupsd_lpadmin -p "$name" -v "$uri" -E "$@" || {
        _cupsd_err "lpadmin -p $name failed"; return 1; }
}

# cupsd_add_held_queue NAME [lpadmin options...]: a raw queue on a
# discarding file device whose jobs are held on arrival
# (job-hold-until-default=indefinite): cupsd spools them and runs no filter
# or backend.  Used by the intake benchmark.
cupsd_add_held_queue() {
    local name=${1:?cupsd_add_held_queue NAME [options]}
    shift
    cupsd_add_queue "$name" file:///dev/null \
        -o job-hold-until-default=indefinite "$@"
}

# cupsd_purge_jobs [NAME]: cancel and purge every job (of NAME, or all),
# deleting spool files; keeps the benchmark's spool from growing.
cupsd_purge_jobs() {
    local dest=${1:-}
    if [ -z "${CUPSD_SERVER:-}" ]; then return 1; fi
    if [ -n "$dest" ]; then
        cancel -h "$CUPSD_SERVER" -a -x "$dest" 2>/dev/null
    else
        cancel -h "$CUPSD_SERVER" -a -x 2>/dev/null
    fi
}

# cupsd_job_states [WHICH]: "COUNT STATE" lines (e.g. "5 pending-held")
# for the jobs Get-Jobs lists with which-jobs=WHICH (default
# not-completed), all printers.
cupsd_job_states() {
    local which=${1:-not-completed}
    [ -n "${CUPSD_URI:-}" ] || return 1
    ipptool -c -d which="$which" "$CUPSD_URI/" /dev/stdin 2>/dev/null <<'EOF' |
{
    OPERATION Get-Jobs
    GROUP operation-attributes-tag
    ATTR charset attributes-charset utf-8
    ATTR naturalLanguage attributes-natural-language en
    ATTR uri printer-uri $uri
    ATTR keyword which-jobs $which
    ATTR keyword requested-attributes job-id,job-state
    DISPLAY job-state
}
EOF
    { grep -v '^job-state$' || true; } | sort | uniq -c | awk '{print $1, $2}' # no jobs: no lines
}

# cupsd_job_count [WHICH]: number of jobs Get-Jobs lists (see above).
cupsd_job_count() {
    cupsd_job_states "$@" | awk '{n += $1} END {print n + 0}'
}

# Chain our cleanup after whatever EXIT trap the caller already has.
_cupsd_install_trap() {
    local prev
    prev=$(trap -p EXIT | sed -e "s/^trap -- '\(.*\)' EXIT\$/\1/")
    case "$prev" in
        *cupsd_stop_all*) return 0 ;;
    esac
    if [ -n "$prev" ]; then
        # shellcheck disable=SC2064
        trap "$prev; cupsd_stop_all" EXIT
    else
        trap cupsd_stop_all EXIT
    fi
}
_cupsd_install_trap
