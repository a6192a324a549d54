#!/usr/bin/env bash
# AI.MODELEXECUTE of a tiny model against PING, on the same server in the same run.
#
# Usage: benches/models.sh [path/to/redisai-server]
#   CLIENTS=1,16 DURATION=5 WARMUP=1 REPEAT=3   (environment, optional)
#
# Starts redisai-server on a free loopback port, stores the ONNX model
# tests/fixtures/onnx/mul.onnx and the TORCH model tests/fixtures/torch/pt-minimal.pt (both
# take two FLOAT [1,2] inputs), and for each client count runs PING, then AI.MODELEXECUTE of the
# ONNX model, then of the TORCH model, REPEAT times alternating, with `loadgen`. Prints one
# markdown row per run and, per client count, the median ops/s of each and the ratios
# MODELEXECUTE/PING. The issue's target: >= 0.8 at 1 and 16 clients.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SERVER=${1:-$ROOT/target/release/redisai-server}
LOADGEN=${LOADGEN:-$ROOT/target/release/loadgen}
CLIENTS=${CLIENTS:-1,16}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
REPEAT=${REPEAT:-3}

[[ -x $SERVER ]] || { echo "models.sh: build the server first: cargo build --release -p redisai-server" >&2; exit 1; }
[[ -x $LOADGEN ]] || cargo build --release -p redisai-bench --manifest-path "$ROOT/Cargo.toml" >&2

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$SERVER" --port "$PORT" >/dev/null 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    redis-cli -p "$PORT" PING >/dev/null 2>&1 && break
    sleep 0.05
done

common=(--port "$PORT" --duration "$DURATION" --warmup "$WARMUP" --json)
onnx=(--setup "AI.MODELSTORE m ONNX CPU BLOB {file:$ROOT/tests/fixtures/onnx/mul.onnx}"
      --setup "AI.TENSORSET a FLOAT 1 2 VALUES 1 2"
      --raw "AI.MODELEXECUTE m INPUTS 2 a a OUTPUTS 1 c{conn}")
torch=(--setup "AI.MODELSTORE t TORCH CPU BLOB {file:$ROOT/tests/fixtures/torch/pt-minimal.pt}"
       --setup "AI.TENSORSET a FLOAT 1 2 VALUES 1 2"
       --raw "AI.MODELEXECUTE t INPUTS 2 a a OUTPUTS 1 c{conn}")

OUT=$(mktemp)
IFS=, read -r -a clients <<<"$CLIENTS"
for c in "${clients[@]}"; do
    for _ in $(seq "$REPEAT"); do
        "$LOADGEN" "${common[@]}" --clients "$c" --scenario ping | sed 's/^/ping /' >>"$OUT"
        "$LOADGEN" "${common[@]}" --clients "$c" "${onnx[@]}" | sed 's/^/onnx /' >>"$OUT"
        "$LOADGEN" "${common[@]}" --clients "$c" "${torch[@]}" | sed 's/^/torch /' >>"$OUT"
    done
done

python3 - "$OUT" <<'PY'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    kind, js = line.split(" ", 1)
    d = json.loads(js)
    runs.setdefault((d["clients"], kind), []).append(d)
print("| clients | request | runs | median ops/s | median p50 (µs) | median p99 (µs) | ops/s vs PING |")
print("|---:|---|---:|---:|---:|---:|---:|")
for clients in sorted({k[0] for k in runs}):
    ping = statistics.median(r["ops_per_sec"] for r in runs[(clients, "ping")])
    for kind, label in (("ping", "PING"), ("onnx", "AI.MODELEXECUTE (ONNX)"), ("torch", "AI.MODELEXECUTE (TORCH)")):
        rs = runs[(clients, kind)]
        ops = statistics.median(r["ops_per_sec"] for r in rs)
        p50 = statistics.median(r["p50_us"] for r in rs)
        p99 = statistics.median(r["p99_us"] for r in rs)
        print(f"| {clients} | {label} | {len(rs)} | {ops:.0f} | {p50:.1f} | {p99:.1f} | {ops / ping:.2f} |")
PY
rm -f "$OUT"
