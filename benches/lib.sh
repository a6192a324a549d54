# shellcheck shell=bash
# Shell helpers shared by the benchmark scripts (sourced, not run): loopback ports and
# waiting for a server to listen.

die() {
    echo "$(basename "$0"): $*" >&2
    exit 1
}

port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# A loopback port nobody listens on, different from the ones given as arguments.
free_port() {
    local port taken
    for _ in $(seq 200); do
        port=$((20000 + RANDOM % 40000))
        for taken in "$@"; do
            [[ $port == "$taken" ]] && continue 2
        done
        port_in_use "$port" || {
            echo "$port"
            return
        }
    done
    die "no free loopback port found"
}

# Waits until the server started as $2 listens on port $1.
wait_ready() {
    local port=$1 pid=$2 name=$3 log=$4
    for _ in $(seq 200); do
        port_in_use "$port" && return
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "--- $log" >&2
            tail -n 20 "$log" >&2 || true
            die "$name exited before listening on port $port"
        fi
        sleep 0.05
    done
    die "$name did not listen on port $port within 10 s"
}

# An awk function for the programs that read loadgen's JSON lines (prepend it to the program):
# field(line, name) is the value of "name": in line, quotes dropped, "" when absent.
# shellcheck disable=SC2034 # used by the scripts that source this file
AWK_FIELD='
function field(line, name,    m) {
    if (match(line, "\"" name "\":[^,}]*")) {
        m = substr(line, RSTART + length(name) + 3, RLENGTH - length(name) - 3)
        gsub(/"/, "", m)
        return m
    }
    return ""
}
'
