#!/usr/bin/env bash
# CPU per request, server and client, of one closed-loop `loadgen` run: where a saturated
# machine's time goes (with client and server on the same cores, ops/s is the inverse of it).
#
# Usage: benches/cpu.sh ours|redis CLIENTS [loadgen arguments...]
#   benches/cpu.sh ours 16 --scenario ping
#   benches/cpu.sh redis 8 --scenario get --size 4KiB
#   benches/cpu.sh ours 16 --setup "AI.MODELSTORE m ONNX CPU BLOB {file:tests/fixtures/onnx/mul.onnx}" \
#       --setup "AI.TENSORSET a FLOAT 1 2 VALUES 1 2" --raw "AI.MODELEXECUTE m INPUTS 2 a a OUTPUTS 1 c{conn}"
# Environment (optional): DURATION=4  SERVER_ARGS="..." (ours)  REDIS_SERVER=redis-server
#
# Starts the server on a free loopback port (ours: target/release/redisai-server; redis:
# redis-server --save "" --appendonly no), runs loadgen with no warm-up, and prints ops/s and
# microseconds per request: the server's user and system time (from /proc/PID/stat around the
# run) and the client's user + system time (from `time`). Setup commands and connecting are
# counted too; at a few seconds per run they are below the noise.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=benches/lib.sh
source "$ROOT/benches/lib.sh"

[[ $# -ge 2 ]] || die "usage: benches/cpu.sh ours|redis CLIENTS [loadgen arguments...]"
WHICH=$1
CLIENTS=$2
shift 2
LOADGEN=${LOADGEN:-$ROOT/target/release/loadgen}
DURATION=${DURATION:-4}
[[ -x $LOADGEN ]] || cargo build --release -p redisai-bench --manifest-path "$ROOT/Cargo.toml" >&2

PORT=$(free_port)
LOG=$(mktemp)
OUT=$(mktemp)
TIMES=$(mktemp)
case $WHICH in
ours)
    SERVER=$ROOT/target/release/redisai-server
    [[ -x $SERVER ]] || die "build the server first: cargo build --release -p redisai-server"
    # shellcheck disable=SC2086 # SERVER_ARGS is a list of words
    "$SERVER" --port "$PORT" ${SERVER_ARGS:-} >"$LOG" 2>&1 &
    ;;
redis)
    "${REDIS_SERVER:-redis-server}" --port "$PORT" --save "" --appendonly no >"$LOG" 2>&1 &
    ;;
*) die "the first argument is ours or redis, not $WHICH" ;;
esac
PID=$!
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -f "$LOG" "$OUT" "$TIMES"' EXIT
wait_ready "$PORT" "$PID" "$WHICH server" "$LOG"

# Fields 14 and 15 of /proc/PID/stat: user and system time in clock ticks.
ticks() { awk '{print $14, $15}' "/proc/$PID/stat"; }
TICK=$(getconf CLK_TCK)
read -r u0 s0 < <(ticks)
/usr/bin/time -f "%U %S" -o "$TIMES" "$LOADGEN" --port "$PORT" --clients "$CLIENTS" \
    --duration "$DURATION" --warmup 0 --json "$@" >"$OUT"
read -r u1 s1 < <(ticks)

python3 - "$OUT" "$TIMES" "$TICK" "$u0" "$s0" "$u1" "$s1" <<'PY'
import json, sys
out, times, tick = sys.argv[1], sys.argv[2], int(sys.argv[3])
u0, s0, u1, s1 = map(int, sys.argv[4:8])
run = json.loads(open(out).read().strip().splitlines()[-1])
ops = run["ops"]
cu, cs = map(float, open(times).read().split()[-2:])
per = lambda seconds: seconds / ops * 1e6
print(f"ops/s {run['ops_per_sec']:.0f}  per request: server user {per((u1 - u0) / tick):.2f} µs, "
      f"sys {per((s1 - s0) / tick):.2f} µs; client {per(cu + cs):.2f} µs")
PY
