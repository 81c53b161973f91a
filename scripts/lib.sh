# shellcheck shell=bash
# Shared helpers for scripts/kafka, scripts/redis and scripts/test. Sourced, not run.
#
# Conventions: progress and errors go to stderr; the one useful result (an address) is the last
# line of stdout. Nothing here ever binds or connects to anything but 127.0.0.1.

STREAMKIT_CACHE="${STREAMKIT_CACHE:-$HOME/.cache/streamkit}"
SK_HOST=127.0.0.1

sk_log() { printf '%s: %s\n' "${SK_NAME:-streamkit}" "$*" >&2; }

sk_die() {
    sk_log "error: $*"
    exit 1
}

# sk_tail FILE [N]: show the last N (40) lines of FILE on stderr, framed, if it exists.
sk_tail() {
    local file=$1 n=${2:-40}
    if [[ -s $file ]]; then
        printf -- '----- last %s lines of %s -----\n' "$n" "$file" >&2
        tail -n "$n" "$file" >&2
        printf -- '----- end of %s -----\n' "$file" >&2
    fi
}

# sk_valid_port P: exits with an error unless P is a TCP port number.
sk_valid_port() {
    if ! [[ $1 =~ ^[0-9]+$ ]] || ((10#$1 < 1 || 10#$1 > 65535)); then
        sk_die "not a port number: '$1'"
    fi
}

# sk_port_open P: true if something accepts TCP connections on 127.0.0.1:P.
sk_port_open() {
    (exec 3<>"/dev/tcp/$SK_HOST/$1") 2>/dev/null
}

# sk_port_owner P: one line describing who listens on 127.0.0.1:P (best effort, may be empty).
sk_port_owner() {
    if command -v ss >/dev/null 2>&1; then
        ss -Hltnp "sport = :$1" 2>/dev/null | head -n 1 || true
    fi
}

# sk_alive PID: true if PID runs. A zombie (exited, not yet reaped by its parent, which for a
# daemon is PID 1 and may be slow) does not count: it holds no ports and no files.
sk_alive() {
    kill -0 "$1" 2>/dev/null || return 1
    local state
    state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null) || true
    [[ $state != Z ]]
}

# sk_pid_matches PID WORD: true if PID is alive and its command line contains WORD
# (used so that a stale pid file never makes us signal a recycled, unrelated pid).
sk_pid_matches() {
    local pid=$1 word=$2 cmdline
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    sk_alive "$pid" || return 1
    [[ -r /proc/$pid/cmdline ]] || return 0 # no procfs: trust kill -0
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    [[ $cmdline == *"$word"* ]]
}

# sk_read_pid FILE: prints the pid stored in FILE, or nothing.
sk_read_pid() {
    [[ -f $1 ]] || return 0
    local pid
    pid=$(head -n 1 "$1" 2>/dev/null | tr -dc '0-9') || true
    printf '%s' "$pid"
}

# sk_stop_pid PID WHAT [TIMEOUT_S]: SIGTERM, wait up to TIMEOUT_S (default 30), then SIGKILL.
sk_stop_pid() {
    local pid=$1 what=$2 timeout=${3:-30} waited=0
    kill -TERM "$pid" 2>/dev/null || return 0
    while sk_alive "$pid"; do
        if ((waited >= timeout * 10)); then
            sk_log "$what (pid $pid) still running after ${timeout}s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 0.5
            break
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    if sk_alive "$pid"; then
        sk_die "could not stop $what (pid $pid)"
    fi
}

# sk_lock NAME: serialise concurrent runs that touch the same thing (held until the script exits).
# A long-lived child (a broker) must not inherit the lock: start it through sk_close_locks.
SK_LOCK_FDS=()
sk_lock() {
    command -v flock >/dev/null 2>&1 || return 0
    mkdir -p "$STREAMKIT_CACHE/locks"
    local fd
    exec {fd}>"$STREAMKIT_CACHE/locks/$1.lock"
    SK_LOCK_FDS+=("$fd")
    if ! flock -w 600 "$fd"; then
        sk_die "another run has held $STREAMKIT_CACHE/locks/$1.lock for over 600s"
    fi
}

# sk_close_locks CMD...: runs CMD (exec, same pid) with the lock file descriptors closed.
sk_close_locks() {
    local fd
    for fd in "${SK_LOCK_FDS[@]}"; do
        exec {fd}>&-
    done
    exec "$@"
}

# sk_ensure_cmd CMD DEBIAN_PACKAGE: installs the package with apt-get when CMD is missing and we
# are root (or have password-less sudo); otherwise fails with the command to run.
sk_ensure_cmd() {
    local cmd=$1 pkg=$2 sudo=()
    command -v "$cmd" >/dev/null 2>&1 && return 0
    if ((EUID != 0)); then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            sk_die "'$cmd' not found; install it: sudo apt-get install -y $pkg"
        fi
    fi
    command -v apt-get >/dev/null 2>&1 || sk_die "'$cmd' not found and no apt-get here; install $pkg"
    sk_log "'$cmd' not found; installing Debian package $pkg"
    local out
    out=$(mktemp)
    if ! { "${sudo[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "$pkg"; } >"$out" 2>&1; then
        sk_tail "$out"
        rm -f "$out"
        sk_die "apt-get install $pkg failed"
    fi
    rm -f "$out"
    hash -r
    command -v "$cmd" >/dev/null 2>&1 || sk_die "installed $pkg but '$cmd' is still not on PATH"
}
