#!/usr/bin/env bash
# Compares redisai-server's AI.TENSORSET / AI.TENSORGET BLOB with a stock
# redis-server's SET / GET of the same payload size, in one run, on loopback.
#
# Usage: benches/compare.sh [path/to/redisai-server]
#   default server binary: target/release/redisai-server (build it first:
#   cargo build --release -p redisai-server)
# Environment (optional):
#   CLIENTS=1,8  SIZES=4KiB,1MiB  DURATION=5  WARMUP=1   what to run
#   LOADGEN=path/to/loadgen    default target/release/loadgen, built if missing
#   REDIS_SERVER=redis-server  the baseline server binary
#
# Starts redis-server (--save "" --appendonly no) and redisai-server on two free
# loopback ports, runs benches' `loadgen` against both for every clients x size
# combination (ours then theirs, alternating, so that drift hits both alike),
# prints two markdown tables (writes, reads) with ops/s, p50, p99 and the ops/s
# ratio ours/redis, and kills both servers on exit. Exits non-zero if any run
# had error replies or failed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SERVER=${1:-$ROOT/target/release/redisai-server}
LOADGEN=${LOADGEN:-$ROOT/target/release/loadgen}
REDIS_SERVER=${REDIS_SERVER:-redis-server}
CLIENTS=${CLIENTS:-1,8}
SIZES=${SIZES:-4KiB,1MiB}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}

# shellcheck source=benches/lib.sh
source "$ROOT/benches/lib.sh"

if [[ ! -x $SERVER ]]; then
    die "redisai-server binary not found (or not executable) at $SERVER; build it with 'cargo build --release -p redisai-server' or pass its path"
fi
if ! command -v "$REDIS_SERVER" >/dev/null 2>&1; then
    echo "compare.sh: $REDIS_SERVER not on PATH, installing Debian's redis-server" >&2
    if ! apt-get install -y redis-server >&2; then
        apt-get update >&2 && apt-get install -y redis-server >&2
    fi
    command -v "$REDIS_SERVER" >/dev/null 2>&1 || die "$REDIS_SERVER still not found after install"
fi
if [[ ! -x $LOADGEN ]]; then
    echo "compare.sh: building loadgen" >&2
    cargo build --release -p redisai-bench --manifest-path "$ROOT/Cargo.toml" >&2
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/redisai-compare.XXXXXX")
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

REDIS_PORT=$(free_port)
OUR_PORT=$(free_port "$REDIS_PORT")

"$REDIS_SERVER" --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    --daemonize no >"$WORK/redis.log" 2>&1 &
PIDS+=($!)
wait_ready "$REDIS_PORT" "${PIDS[-1]}" redis-server "$WORK/redis.log"

"$SERVER" --port "$OUR_PORT" ${SERVER_ARGS:-} >"$WORK/redisai.log" 2>&1 &
PIDS+=($!)
wait_ready "$OUR_PORT" "${PIDS[-1]}" redisai-server "$WORK/redisai.log"

echo "redis-server: $("$REDIS_SERVER" --version | head -n 1)" >&2
echo "redisai-server: $SERVER (port $OUR_PORT); redis-server port $REDIS_PORT" >&2
echo "each run: ${WARMUP}s warm-up + ${DURATION}s measured" >&2

RESULTS=$WORK/results.jsonl
: >"$RESULTS"
failed=0
IFS=, read -r -a sizes <<<"$SIZES"
IFS=, read -r -a clients <<<"$CLIENTS"
for size in "${sizes[@]}"; do
    for c in "${clients[@]}"; do
        for target in "$OUR_PORT tensorset,tensorget" "$REDIS_PORT set,get"; do
            read -r port scenarios <<<"$target"
            echo "running $scenarios, $c clients, $size" >&2
            if ! "$LOADGEN" --port "$port" --scenario "$scenarios" --clients "$c" --size "$size" \
                --duration "$DURATION" --warmup "$WARMUP" --json >>"$RESULTS"; then
                failed=1
            fi
        done
    done
done

# Prints one markdown table comparing scenario $1 (ours) with $2 (redis).
table() {
    local ours=$1 theirs=$2
    awk -v ours="$ours" -v theirs="$theirs" "$AWK_FIELD"'
        function human(size) {
            if (size % 1048576 == 0) return (size / 1048576) "MiB"
            if (size % 1024 == 0) return (size / 1024) "KiB"
            return size "B"
        }
        {
            s = field($0, "scenario"); k = field($0, "clients") SUBSEP field($0, "size")
            if (!(k in seen)) { seen[k] = 1; order[n++] = k }
            ops[s, k] = field($0, "ops_per_sec"); p50[s, k] = field($0, "p50_us")
            p99[s, k] = field($0, "p99_us"); err[s, k] = field($0, "errors")
        }
        END {
            U = toupper(ours); T = toupper(theirs)
            printf "| clients | size | %s ops/s | p50 (µs) | p99 (µs) | %s ops/s | p50 (µs) | p99 (µs) | %s/%s ops/s |\n", U, T, U, T, U, T
            print "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
            for (i = 0; i < n; i++) {
                k = order[i]; split(k, kv, SUBSEP)
                a = ops[ours, k]; b = ops[theirs, k]
                ratio = (a != "" && b != "" && b + 0 > 0) ? sprintf("%.2f", a / b) : "n/a"
                if (err[ours, k] + 0 > 0 || err[theirs, k] + 0 > 0) ratio = ratio " (ERRORS)"
                printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", kv[1], human(kv[2]),
                    (a == "" ? "FAILED" : sprintf("%.0f", a)), p50[ours, k], p99[ours, k],
                    (b == "" ? "FAILED" : sprintf("%.0f", b)), p50[theirs, k], p99[theirs, k], ratio
            }
        }' "$RESULTS"
}

echo
echo "### Writes: AI.TENSORSET (redisai-server) vs SET (redis-server)"
echo
table tensorset set
echo
echo "### Reads: AI.TENSORGET BLOB (redisai-server) vs GET (redis-server)"
echo
table tensorget get

if [[ $failed != 0 ]]; then
    echo >&2
    echo "compare.sh: SOME RUNS HAD ERROR REPLIES OR FAILED: see the messages above; figures marked are not valid" >&2
    exit 1
fi
