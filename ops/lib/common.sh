# Shared helpers for the ops scripts: installing dependencies, running a private
# Redis on a free loopback port, and stopping everything a script started.
# Source it from bash scripts that run with `set -euo pipefail`.

# Process id and port of the Redis started by lr_start_redis, empty when none runs.
LR_REDIS_PID=""
LR_REDIS_PORT=""
# Directory given to lr_start_redis, which contains the Redis log.
LR_REDIS_DIR=""
# Background processes other than Redis (workers) that lr_cleanup stops.
LR_WORKER_PIDS=()
# Scratch directory that lr_cleanup removes when the script succeeds.
LR_TMP_DIR=""

# Seconds to wait for Redis to reply to PING after it starts, and for a process to
# exit after SIGTERM before it gets SIGKILL.
LR_REDIS_START_TIMEOUT_S=10
LR_STOP_TIMEOUT_S=10

lr_log() {
    printf '==> %s\n' "$*"
}

lr_die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# Install redis-server, redis-cli, libhiredis-dev, libmicrohttpd-dev (the
# worker's metrics endpoint), pkg-config and python3 with apt-get when any of
# them is missing. Prints nothing when all are present.
lr_install_deps() {
    local packages=()
    if ! command -v redis-server >/dev/null 2>&1; then
        packages+=(redis-server)
    fi
    if ! command -v redis-cli >/dev/null 2>&1; then
        packages+=(redis-tools)
    fi
    if ! command -v pkg-config >/dev/null 2>&1; then
        packages+=(pkg-config libhiredis-dev libmicrohttpd-dev)
    else
        if ! pkg-config --exists hiredis; then
            packages+=(libhiredis-dev)
        fi
        if ! pkg-config --exists libmicrohttpd; then
            packages+=(libmicrohttpd-dev)
        fi
    fi
    # The ops scripts use python3 to find a free port and to read JSON.
    if ! command -v python3 >/dev/null 2>&1; then
        packages+=(python3)
    fi
    if ((${#packages[@]} == 0)); then
        return 0
    fi

    local sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        if ! command -v sudo >/dev/null 2>&1; then
            lr_die "missing packages ${packages[*]}, and sudo is not installed; install them as root with: apt-get install -y ${packages[*]}"
        fi
        sudo=(sudo)
    fi

    lr_log "installing ${packages[*]} with apt-get"
    "${sudo[@]}" apt-get update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${packages[@]}"

    if ! command -v redis-server >/dev/null 2>&1 || ! pkg-config --exists hiredis libmicrohttpd; then
        lr_die "redis-server, hiredis or libmicrohttpd is still missing after apt-get install ${packages[*]}"
    fi
}

# Put the Swift toolchain on PATH if it is installed in /opt/swift but not on PATH.
lr_require_swift() {
    if ! command -v swift >/dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then
        PATH="/opt/swift/usr/bin:$PATH"
        export PATH
    fi
    if ! command -v swift >/dev/null 2>&1; then
        lr_die "swift not found; install the Swift 6 toolchain and add its usr/bin directory to PATH"
    fi
}

# Print a TCP port on 127.0.0.1 that was free a moment ago. Another process may
# take it before Redis binds it, so lr_start_redis retries with a new port.
lr_free_port() {
    python3 -c '
import socket
with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1])
'
}

# Start a private redis-server on a free loopback port with DIR as its working
# directory and DIR/redis.log as its log, and wait until it replies to PING.
# Sets LR_REDIS_PID and LR_REDIS_PORT and exports REDIS_URL and
# LEADROUTER_REDIS_URL. Persistence is off, so the data is gone when it stops.
lr_start_redis() {
    local dir=${1:?lr_start_redis: missing directory argument}
    if [[ -n $LR_REDIS_PID ]]; then
        lr_die "lr_start_redis: Redis is already running with pid $LR_REDIS_PID"
    fi
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    LR_REDIS_DIR=$dir
    local log="$dir/redis.log"

    local attempt port deadline
    for attempt in 1 2 3; do
        port=$(lr_free_port)
        lr_log "starting Redis on 127.0.0.1:$port"
        redis-server --bind 127.0.0.1 --port "$port" --protected-mode yes \
            --dir "$dir" --daemonize no --save '' --appendonly no \
            >>"$log" 2>&1 &
        LR_REDIS_PID=$!
        LR_REDIS_PORT=$port

        deadline=$((SECONDS + LR_REDIS_START_TIMEOUT_S))
        while true; do
            if [[ $(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null) == PONG ]]; then
                export REDIS_URL="redis://127.0.0.1:$port"
                export LEADROUTER_REDIS_URL="$REDIS_URL"
                return 0
            fi
            if ! kill -0 "$LR_REDIS_PID" 2>/dev/null; then
                # Redis exited, most likely because another process took the port.
                wait "$LR_REDIS_PID" 2>/dev/null || true
                LR_REDIS_PID=""
                LR_REDIS_PORT=""
                printf 'warning: Redis on port %s exited at start (attempt %s of 3); last log lines:\n' \
                    "$port" "$attempt" >&2
                tail -n 5 "$log" >&2 || true
                break
            fi
            if ((SECONDS >= deadline)); then
                lr_stop_redis || true
                tail -n 20 "$log" >&2 || true
                lr_die "Redis on 127.0.0.1:$port did not reply to PING within ${LR_REDIS_START_TIMEOUT_S} s; log: $log"
            fi
            sleep 0.1
        done
    done
    lr_die "Redis failed to start 3 times; log: $log"
}

# Stop process PID with SIGTERM, and with SIGKILL if it is still running after
# LR_STOP_TIMEOUT_S seconds. NAME appears in messages. PID must be a child of
# this shell. Returns the process's exit status.
lr_stop_process() {
    local pid=$1 name=$2
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        local deadline=$((SECONDS + LR_STOP_TIMEOUT_S))
        while kill -0 "$pid" 2>/dev/null; do
            if ((SECONDS >= deadline)); then
                printf 'warning: %s (pid %s) still running %s s after SIGTERM; sending SIGKILL\n' \
                    "$name" "$pid" "$LR_STOP_TIMEOUT_S" >&2
                kill -KILL "$pid" 2>/dev/null || true
                break
            fi
            sleep 0.1
        done
    fi
    local status=0
    wait "$pid" 2>/dev/null || status=$?
    return "$status"
}

# Stop the Redis started by lr_start_redis. Does nothing when none runs.
lr_stop_redis() {
    if [[ -z $LR_REDIS_PID ]]; then
        return 0
    fi
    local pid=$LR_REDIS_PID
    LR_REDIS_PID=""
    LR_REDIS_PORT=""
    # Redis exits with status 0 on SIGTERM, so any other status is worth a look.
    local status=0
    lr_stop_process "$pid" "redis-server" || status=$?
    if ((status != 0)); then
        printf 'warning: redis-server (pid %s) exited with status %s; log: %s/redis.log\n' \
            "$pid" "$status" "$LR_REDIS_DIR" >&2
    fi
}

# Stop the workers in LR_WORKER_PIDS and Redis, then remove LR_TMP_DIR if the
# script is exiting with status 0 and keep it for inspection otherwise.
# lr_install_cleanup_trap runs it on every exit.
lr_cleanup() {
    local status=$?
    local pid
    for pid in "${LR_WORKER_PIDS[@]}"; do
        lr_stop_process "$pid" "worker" || true
    done
    LR_WORKER_PIDS=()
    lr_stop_redis || true
    if [[ -n $LR_TMP_DIR && -d $LR_TMP_DIR ]]; then
        if ((status == 0)); then
            rm -rf -- "$LR_TMP_DIR"
        else
            printf 'logs kept in %s\n' "$LR_TMP_DIR" >&2
        fi
    fi
}

# Run lr_cleanup when the script exits, fails under set -e, or gets SIGINT
# (Ctrl-C), SIGTERM or SIGHUP.
lr_install_cleanup_trap() {
    trap lr_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
}
