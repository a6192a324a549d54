#!/usr/bin/env bash
# The auto-batching benchmark, on loopback, with everything it needs built and generated here:
#
# - AI.MODELEXECUTE of an MLP (256 -> 1024 -> ReLU -> 1024 -> ReLU -> 10) stored twice, with
#   BATCHSIZE 0 (no batching) and with BATCHSIZE 16, for ONNX, TORCH and TF, CLIENTS concurrent
#   clients each sending batch-1 requests ([1,256] inputs, one input and one output key per
#   client);
# - the fraud-detection DAG (`AI.DAGEXECUTE LOAD 1 ref{t} |> AI.TENSORSET tx FLOAT 1 30 BLOB
#   <120 bytes> |> AI.MODELEXECUTE m{t} INPUTS 2 tx ref{t} OUTPUTS 1 out |> AI.TENSORGET out
#   BLOB`) at 1 and 16 clients, the model stored unbatched and batched, for TF (the frozen graph
#   tests/fixtures/tf/fraud.pb) and ONNX (the same graph converted by tf2onnx,
#   tests/fixtures/onnx/fraud_tf.onnx: see tests/fixtures/tf/README.md);
# - the batch sizes the engine actually forms: the same MLP with a probe output (see below), run
#   batched under the same load;
# - what a row costs the backend by batch size (the ceiling of what batching can win): one
#   client sends [N,256] inputs to the unbatched MLP, for each N of ROWS; AI.INFO's time per call
#   divided by N.
#
# Usage: benches/batching.sh
# Environment (optional):
#   CLIENTS=16  DAG_CLIENTS=1,16  BACKENDS=ONNX,TORCH,TF  DAG_BACKENDS=ONNX,TF
#                     what to run (DAG_CLIENTS= : no DAG)
#   ROWS=1,2,4,8,16   the batch sizes of the row-cost runs (ROWS= : none)
#   REPS=3  DURATION=5  WARMUP=1     repetitions; measured and warm-up seconds per run
#   BATCHSIZE=16  MINBATCHSIZE=0  MINBATCHTIMEOUT=0          the batched keys' options
#   SERVER_ARGS=""    extra redisai-server flags, e.g. "--intra-op-parallelism 1"
#   MODELS=target/bench-models       where the generated models go (git-ignored)
#   NO_BUILD=1        use target/release/{redisai-server,loadgen,examples/make_*} as they are
#   KEEP_RESULTS=FILE copy the raw results there (one JSON line per run: loadgen's, with the figures below)
#
# Steps: cargo builds redisai-server, loadgen and the model generators (examples of
# redisai-backends: make_mlp_onnx, make_mlp_torch, make_mlp_tf; no Python, no network);
# the generators write the models (fixed seeds: the same bytes every time; the three MLPs have
# the same weights); redisai-server starts on a free loopback port; a check runs one input through
# every MLP key, batched or not, and fails unless all give the same outputs; then the runs.
# Runs alternate: each repetition runs every backend unbatched and batched, in an order that
# flips from one repetition to the next, so that drift hits both alike. Summary rows are medians
# over the repetitions (ops/s, p50 and p99 each); the per-run table follows.
#
# Per run, besides loadgen's figures: the model's AI.INFO `duration`/`calls` (backend time per
# request; in a batch every request is charged the whole batch's time), and the CPU, in cores,
# used by the server, by loadgen and by everything else on the machine meanwhile ("other":
# anything above ~0.1 means another process competed, and the run is suspect).
#
# The probe: `make_mlp_* --probe` adds an output `n` of zeros shaped [N,N]; run batched, each
# request gets its [1,N] slice, so `AI.TENSORGET n BLOB` is 4 bytes per request of the batch it
# ran in, and loadgen's `bulks` (length -> replies) is the distribution of batch sizes.
#
# Exits non-zero if a run had error replies or failed, or the outputs check failed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLIENTS=${CLIENTS:-16}
DAG_CLIENTS=${DAG_CLIENTS-1,16}
ROWS=${ROWS-1,2,4,8,16}
BACKENDS=${BACKENDS:-ONNX,TORCH,TF}
DAG_BACKENDS=${DAG_BACKENDS:-ONNX,TF}
REPS=${REPS:-3}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
BATCHSIZE=${BATCHSIZE:-16}
MINBATCHSIZE=${MINBATCHSIZE:-0}
MINBATCHTIMEOUT=${MINBATCHTIMEOUT:-0}
SERVER_ARGS=${SERVER_ARGS:-}
MODELS=${MODELS:-$ROOT/target/bench-models}
RELEASE=$ROOT/target/release
SERVER=$RELEASE/redisai-server
LOADGEN=$RELEASE/loadgen

# shellcheck source=benches/lib.sh
source "$ROOT/benches/lib.sh"

IFS=, read -r -a backends <<<"$BACKENDS"
IFS=, read -r -a dag_backends <<<"$DAG_BACKENDS"
for backend in "${backends[@]}"; do
    [[ $backend == ONNX || $backend == TORCH || $backend == TF ]] || die "BACKENDS: $backend is not ONNX, TORCH or TF"
done
for backend in "${dag_backends[@]}"; do
    [[ $backend == ONNX || $backend == TF ]] || die "DAG_BACKENDS: $backend is not ONNX or TF"
done
command -v redis-cli >/dev/null 2>&1 || die "redis-cli not found: run scripts/bootstrap (it installs redis-tools)"

if [[ -z ${NO_BUILD:-} ]]; then
    echo "batching.sh: building the server, loadgen and the model generators" >&2
    cargo build --release --manifest-path "$ROOT/Cargo.toml" -p redisai-server -p redisai-bench >&2
    cargo build --release --manifest-path "$ROOT/Cargo.toml" -p redisai-backends --features onnx,torch,tf \
        --example make_mlp_onnx --example make_mlp_torch --example make_mlp_tf >&2
fi
for bin in "$SERVER" "$LOADGEN" "$RELEASE"/examples/make_{mlp_onnx,mlp_torch,mlp_tf}; do
    [[ -x $bin ]] || die "$bin not found: run without NO_BUILD"
done

mkdir -p "$MODELS"
"$RELEASE/examples/make_mlp_onnx" "$MODELS/mlp.onnx" >&2
"$RELEASE/examples/make_mlp_onnx" "$MODELS/mlp-probe.onnx" --probe >&2
"$RELEASE/examples/make_mlp_torch" "$MODELS/mlp.pt" >&2
"$RELEASE/examples/make_mlp_torch" "$MODELS/mlp-probe.pt" --probe >&2
"$RELEASE/examples/make_mlp_tf" "$MODELS/mlp.pb" >&2
"$RELEASE/examples/make_mlp_tf" "$MODELS/mlp-probe.pb" --probe >&2

WORK=$(mktemp -d "${TMPDIR:-/tmp}/redisai-batching.XXXXXX")
SERVER_PID=
cleanup() {
    if [[ -n $SERVER_PID ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck disable=SC2119 # no other port to avoid
PORT=$(free_port)
# shellcheck disable=SC2086 # SERVER_ARGS is a list of flags
"$SERVER" --port "$PORT" $SERVER_ARGS >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
wait_ready "$PORT" "$SERVER_PID" redisai-server "$WORK/server.log"

cli() {
    redis-cli -p "$PORT" "$@"
}

# Sends a command with redis-cli (with -x, the last argument is stdin) and dies on an error reply.
cli_ok() {
    local reply
    reply=$(cli "$@") || die "redis-cli $* failed"
    [[ $reply != ERR* && $reply != *$'\n'ERR* ]] || die "$*: $reply"
}

BATCHED="BATCHSIZE $BATCHSIZE MINBATCHSIZE $MINBATCHSIZE MINBATCHTIMEOUT $MINBATCHTIMEOUT"
IFS=, read -r -a dag_clients <<<"$DAG_CLIENTS"
IFS=, read -r -a rows <<<"$ROWS"
model_file() {
    case $1 in
    ONNX) echo "$MODELS/mlp$2.onnx" ;;
    TORCH) echo "$MODELS/mlp$2.pt" ;;
    TF) echo "$MODELS/mlp$2.pb" ;;
    esac
}
# A TF model names its graph's nodes (the probe has a second output, n).
io_names() {
    [[ $1 == TF ]] || return 0
    if [[ $2 == -probe ]]; then echo "INPUTS 1 x OUTPUTS 2 y n"; else echo "INPUTS 1 x OUTPUTS 1 y"; fi
}
for backend in "${backends[@]}"; do
    # shellcheck disable=SC2086 # BATCHED and io_names are lists of arguments
    {
        cli_ok -x AI.MODELSTORE "mlp:$backend:b0" "$backend" CPU $(io_names "$backend" "") BLOB <"$(model_file "$backend" "")"
        cli_ok -x AI.MODELSTORE "mlp:$backend:b$BATCHSIZE" "$backend" CPU $BATCHED $(io_names "$backend" "") BLOB <"$(model_file "$backend" "")"
        cli_ok -x AI.MODELSTORE "probe:$backend" "$backend" CPU $BATCHED $(io_names "$backend" -probe) BLOB <"$(model_file "$backend" -probe)"
    }
done
# The fraud-detection graph: TF's frozen graph and its tf2onnx conversion (checked in).
fraud_store() {
    case $1 in
    ONNX) echo "ONNX CPU $2 BLOB" ;;
    TF) echo "TF CPU $2 INPUTS 2 transaction reference OUTPUTS 1 output BLOB" ;;
    esac
}
fraud_file() {
    case $1 in
    ONNX) echo "$ROOT/tests/fixtures/onnx/fraud_tf.onnx" ;;
    TF) echo "$ROOT/tests/fixtures/tf/fraud.pb" ;;
    esac
}
for backend in "${dag_backends[@]}"; do
    # shellcheck disable=SC2046 # fraud_store is a list of arguments
    {
        cli_ok -x AI.MODELSTORE "fraud:$backend:b0{t}" $(fraud_store "$backend" "") <"$(fraud_file "$backend")"
        cli_ok -x AI.MODELSTORE "fraud:$backend:b$BATCHSIZE{t}" $(fraud_store "$backend" "$BATCHED") <"$(fraud_file "$backend")"
    }
done
# One [1,256] input, for the check and as the DAG's reference tensor.
read -r -a values <<<"$(awk 'BEGIN { for (i = 0; i < 256; i++) printf "%g ", (i % 7 - 3) / 3 }')"
cli_ok AI.TENSORSET "check:in" FLOAT 1 256 VALUES "${values[@]}"
cli_ok AI.TENSORSET "ref{t}" FLOAT 1 256 VALUES "${values[@]}"

# The check: every MLP key, batched or not, gives the first one's outputs (within 1e-4).
first=
for backend in "${backends[@]}"; do
    for key in "mlp:$backend:b0" "mlp:$backend:b$BATCHSIZE"; do
        cli_ok AI.MODELEXECUTE "$key" INPUTS 1 check:in OUTPUTS 1 "check:$key"
        out=$(cli AI.TENSORGET "check:$key" VALUES | tr '\n' ' ')
        if [[ -z $first ]]; then
            first=$out
            echo "outputs of $key: $out" >&2
        elif ! awk -v a="$first" -v b="$out" 'BEGIN {
                n = split(a, x, " "); m = split(b, y, " ")
                if (n != m || n != 10) exit 1
                for (i = 1; i <= n; i++) { d = x[i] - y[i]; if (d > 1e-4 || d < -1e-4) exit 1 }
            }'; then
            die "outputs of $key differ: $out"
        fi
    done
done
echo "check: every MLP key gives the same outputs" >&2

CLK_TCK=$(getconf CLK_TCK)
NPROC=$(getconf _NPROCESSORS_ONLN) # not nproc: it follows OMP_NUM_THREADS
server_ticks() { awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"; }
# user + nice + system + irq + softirq of every CPU
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat; }
now_ns() { date +%s%N; }
# CPU seconds of the children this shell waited for, from a file where bash's `times` wrote
# (`times` must run in this shell, not in a $(...) subshell, to see loadgen).
children_cpu() {
    awk 'NR == 2 {
        t = 0
        for (i = 1; i <= 2; i++) { split($i, p, "m"); sub(/s$/, "", p[2]); t += p[1] * 60 + p[2] }
        print t
    }' "$1"
}

RESULTS=$WORK/results.jsonl
: >"$RESULTS"
failed=0

# measure FIELDS KEY LOADGEN-ARGS...: one loadgen run; appends its JSON line, with FIELDS (a
# JSON fragment), the AI.INFO figures of model KEY and the CPU accounting, to $RESULTS.
measure() {
    local fields=$1 key=$2
    shift 2
    cli_ok AI.INFO "$key" RESETSTAT
    local s0 m0 t0 s1 m1 t1 info
    s0=$(server_ticks) m0=$(machine_ticks) t0=$(now_ns)
    times >"$WORK/times0"
    if ! "$LOADGEN" --port "$PORT" --json --duration "$DURATION" --warmup "$WARMUP" "$@" >"$WORK/run.json"; then
        failed=1
    fi
    times >"$WORK/times1"
    s1=$(server_ticks) m1=$(machine_ticks) t1=$(now_ns)
    [[ -s $WORK/run.json ]] || {
        echo "batching.sh: run $fields failed" >&2
        return
    }
    info=$(cli AI.INFO "$key" | awk 'prev == "duration" { d = $0 } prev == "calls" { c = $0 } { prev = $0 }
        END { printf "%.1f", (c > 0 ? d / c : 0) }')
    awk -v extra="$fields" -v info="$info" -v s="$((s1 - s0))" -v m="$((m1 - m0))" \
        -v c="$(awk -v a="$(children_cpu "$WORK/times0")" -v b="$(children_cpu "$WORK/times1")" 'BEGIN { print b - a }')" -v wall="$((t1 - t0))" \
        -v tck="$CLK_TCK" 'BEGIN { getline line; sec = wall / 1e9
            server = s / tck / sec; load = c / sec; other = m / tck / sec - server - load
            sub(/}$/, "", line)
            printf "%s,%s,\"info_us\":%s,\"server_cpu\":%.2f,\"loadgen_cpu\":%.2f,\"other_cpu\":%.2f}\n",
                line, extra, info, server, load, other }' <"$WORK/run.json" >>"$RESULTS"
}

SETUP_IN="AI.TENSORSET in:{conn} FLOAT 1 256 BLOB {blob}"
echo "redisai-server $SERVER_ARGS (port $PORT), $NPROC CPUs; each run: ${WARMUP}s warm-up + ${DURATION}s measured" >&2
echo "batched keys: $BATCHED" >&2
for rep in $(seq "$REPS"); do
    sizes=(0 "$BATCHSIZE")
    ((rep % 2 == 0)) && sizes=("$BATCHSIZE" 0)
    for backend in "${backends[@]}"; do
        for bs in "${sizes[@]}"; do
            key="mlp:$backend:b$bs"
            echo "rep $rep: $key, $CLIENTS clients" >&2
            measure "\"case\":\"mlp\",\"backend\":\"$backend\",\"batch\":$bs,\"rep\":$rep" "$key" \
                --label "$key" --clients "$CLIENTS" --size 1KiB --setup-each "$SETUP_IN" \
                --raw "AI.MODELEXECUTE $key INPUTS 1 in:{conn} OUTPUTS 1 out:{conn}"
        done
    done
    for c in "${dag_clients[@]}"; do
        for backend in "${dag_backends[@]}"; do
            for bs in "${sizes[@]}"; do
                key="fraud:$backend:b$bs{t}"
                echo "rep $rep: DAG on $key, $c clients" >&2
                measure "\"case\":\"dag\",\"backend\":\"$backend\",\"batch\":$bs,\"rep\":$rep" "$key" \
                    --label "dag fraud:$backend:b$bs" --clients "$c" --size 120B \
                    --raw "AI.DAGEXECUTE LOAD 1 ref{t} |> AI.TENSORSET tx FLOAT 1 30 BLOB {blob} |> AI.MODELEXECUTE $key INPUTS 2 tx ref{t} OUTPUTS 1 out |> AI.TENSORGET out BLOB"
            done
        done
    done
done
for backend in "${backends[@]}"; do
    for n in "${rows[@]}"; do
        key="mlp:$backend:b0"
        echo "rows: $key, [$n,256] inputs, 1 client" >&2
        measure "\"case\":\"rows\",\"backend\":\"$backend\",\"batch\":$n,\"rep\":1" "$key" \
            --label "rows:$backend:$n" --clients 1 --size "${n}KiB" \
            --setup "AI.TENSORSET rows FLOAT $n 256 BLOB {blob}" \
            --raw "AI.MODELEXECUTE $key INPUTS 1 rows OUTPUTS 1 rows:out"
    done
done
for backend in "${backends[@]}"; do
    key="probe:$backend"
    echo "probe: $key, $CLIENTS clients" >&2
    measure "\"case\":\"probe\",\"backend\":\"$backend\",\"batch\":$BATCHSIZE,\"rep\":1" "$key" \
        --label "$key" --clients "$CLIENTS" --size 1KiB --setup-each "$SETUP_IN" \
        --raw "AI.DAGEXECUTE LOAD 1 in:{conn} |> AI.MODELEXECUTE $key INPUTS 1 in:{conn} OUTPUTS 2 y n |> AI.TENSORGET n BLOB"
done

# The report, from $RESULTS.
awk -v clients="$CLIENTS" -v bsize="$BATCHSIZE" -v batched="$BATCHED" -v server_args="$SERVER_ARGS" \
    -v reps="$REPS" -v nproc="$NPROC" "$AWK_FIELD"'
    # The median of the n values in v[1..n] (sorted in place).
    function median(v, n,    i, j, t) {
        for (i = 2; i <= n; i++) {
            t = v[i]
            for (j = i - 1; j >= 1 && v[j] + 0 > t + 0; j--) v[j + 1] = v[j]
            v[j + 1] = t
        }
        if (n == 0) return ""
        return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    # Medians of ops/s, p50, p99 of the runs of group g, into med[g, what].
    function summarize(g,    what, k, n, v) {
        split("ops_per_sec p50_us p99_us info_us", whats, " ")
        for (k = 1; k <= 4; k++) {
            what = whats[k]; n = 0
            delete v
            for (i = 1; i <= count[g]; i++) v[++n] = val[g, i, what]
            med[g, what] = median(v, n)
        }
    }
    # A report section: a blank line, its title, a blank line, then a table header.
    function section(title, header, align) { printf "\n%s\n\n%s\n%s\n", title, header, align }
    function cell(g, what, fmt) { return (g in count) ? sprintf(fmt, med[g, what]) : "FAILED" }
    function ratio(a, b) { return (a != "" && b != "" && b + 0 > 0) ? sprintf("%.2f", a / b) : "n/a" }
    {
        kind = field($0, "case"); be = field($0, "backend"); b = field($0, "batch")
        c = field($0, "clients")
        g = kind SUBSEP be SUBSEP b SUBSEP c
        i = ++count[g]
        split("ops_per_sec p50_us p99_us info_us server_cpu loadgen_cpu other_cpu errors", names, " ")
        for (k = 1; k <= 8; k++) val[g, i, names[k]] = field($0, names[k])
        if (field($0, "errors") + 0 > 0) errs[g] = 1
        runs[++nruns] = $0
        if (kind == "probe" && match($0, /"bulks":\{[^}]*\}/)) bulks[be] = substr($0, RSTART + 9, RLENGTH - 10)
        if (kind == "mlp" && !(be in seen_be)) { seen_be[be] = 1; bes[++nbes] = be }
        if (kind == "dag" && !(c in seen_c)) { seen_c[c] = 1; dcs[++ndcs] = c }
        if (kind == "dag" && !(be in seen_dbe)) { seen_dbe[be] = 1; dbes[++ndbes] = be }
        if (kind == "rows") { rowrun[be, ++nrows[be]] = b; if (b == 1) row1[be] = field($0, "info_us") }
    }
    END {
        for (g in count) summarize(g)
        printf "Server flags: \"%s\"; %s CPUs; batched keys: %s; medians of %s runs.\n", server_args, nproc, batched, reps
        print ""
        printf "### AI.MODELEXECUTE of the MLP, %s clients, batch-1 requests\n\n", clients
        printf "| backend | BATCHSIZE 0 ops/s | p50 (µs) | p99 (µs) | BATCHSIZE %s ops/s | p50 (µs) | p99 (µs) | ops/s ratio | p99 ratio |\n", bsize
        print "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
        for (k = 1; k <= nbes; k++) {
            u = "mlp" SUBSEP bes[k] SUBSEP 0 SUBSEP clients; t = "mlp" SUBSEP bes[k] SUBSEP bsize SUBSEP clients
            printf "| %s | %s | %s | %s | %s | %s | %s | **%s** | %s |\n", bes[k],
                cell(u, "ops_per_sec", "%.0f"), cell(u, "p50_us", "%.0f"), cell(u, "p99_us", "%.0f"),
                cell(t, "ops_per_sec", "%.0f"), cell(t, "p50_us", "%.0f"), cell(t, "p99_us", "%.0f"),
                ratio(med[t, "ops_per_sec"], med[u, "ops_per_sec"]) ((u in errs || t in errs) ? " (ERRORS)" : ""),
                ratio(med[t, "p99_us"], med[u, "p99_us"])
        }
        if (ndcs > 0) {
            print ""
            printf "### The fraud-detection DAG (TF graph, and the same graph converted to ONNX)\n\n"
            printf "| backend | clients | BATCHSIZE 0 ops/s | p50 (µs) | p99 (µs) | BATCHSIZE %s ops/s | p50 (µs) | p99 (µs) | ops/s ratio | p99 ratio |\n", bsize
            print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
            for (k = 1; k <= ndcs; k++) for (m = 1; m <= ndbes; m++) {
                u = "dag" SUBSEP dbes[m] SUBSEP 0 SUBSEP dcs[k]; t = "dag" SUBSEP dbes[m] SUBSEP bsize SUBSEP dcs[k]
                printf "| %s | %s | %s | %s | %s | %s | %s | %s | **%s** | %s |\n", dbes[m], dcs[k],
                    cell(u, "ops_per_sec", "%.0f"), cell(u, "p50_us", "%.0f"), cell(u, "p99_us", "%.0f"),
                    cell(t, "ops_per_sec", "%.0f"), cell(t, "p50_us", "%.0f"), cell(t, "p99_us", "%.0f"),
                    ratio(med[t, "ops_per_sec"], med[u, "ops_per_sec"]) ((u in errs || t in errs) ? " (ERRORS)" : ""),
                    ratio(med[t, "p99_us"], med[u, "p99_us"])
            }
            if (("TF" in seen_dbe) && ("ONNX" in seen_dbe)) {
                print ""
                print "| clients | BATCHSIZE | TF ops/s / ONNX ops/s | TF p99 / ONNX p99 |"
                print "|---:|---:|---:|---:|"
                for (k = 1; k <= ndcs; k++) for (b = 0; b <= 1; b++) {
                    bs = b ? bsize : 0
                    f = "dag" SUBSEP "TF" SUBSEP bs SUBSEP dcs[k]; o = "dag" SUBSEP "ONNX" SUBSEP bs SUBSEP dcs[k]
                    printf "| %s | %s | %s | %s |\n", dcs[k], bs,
                        ratio(med[f, "ops_per_sec"], med[o, "ops_per_sec"]), ratio(med[f, "p99_us"], med[o, "p99_us"])
                }
            }
        }
        section(sprintf("### Batches formed (probe: the MLP batched, %s clients)", clients),
            "| backend | ops/s | p99 (µs) | requests per backend call | batch of the mean request | requests in full batches | most frequent batch sizes (share of requests) |",
            "|---|---:|---:|---:|---:|---:|---|")
        for (k = 1; k <= nbes; k++) {
            be = bes[k]; g = "probe" SUBSEP be SUBSEP bsize SUBSEP clients
            if (!(be in bulks)) { printf "| %s | FAILED | | | | | |\n", be; continue }
            n = split(bulks[be], pairs, ","); reqs = 0; calls = 0; weighted = 0; full = 0
            delete share
            for (j = 1; j <= n; j++) {
                split(pairs[j], kv, ":"); gsub(/"/, "", kv[1]); size = kv[1] / 4; cnt = kv[2] + 0
                reqs += cnt; calls += cnt / size; weighted += cnt * size
                if (size == bsize) full += cnt
                share[size] = cnt
            }
            top = ""
            for (r = 1; r <= 4; r++) {
                best = 0
                for (s in share) if (best == 0 || share[s] > share[best]) best = s
                if (best == 0) break
                top = top sprintf("%s%s: %.0f%%", (r > 1 ? ", " : ""), best, 100 * share[best] / reqs)
                delete share[best]
            }
            printf "| %s | %.0f | %.0f | %.1f | %.1f | %.0f%% | %s |\n", be, val[g, 1, "ops_per_sec"],
                val[g, 1, "p99_us"], reqs / calls, weighted / reqs, 100 * full / reqs, top
        }
        if (length(nrows) > 0) {
            section("### What a row costs the backend, by batch size (1 client, the unbatched MLP, AI.INFO)",
                "| backend | rows per call | µs per call | µs per row | batch-1 row cost / this row cost |",
                "|---|---:|---:|---:|---:|")
            for (k = 1; k <= nbes; k++) {
                be = bes[k]
                for (j = 1; j <= nrows[be]; j++) {
                    n = rowrun[be, j]; g = "rows" SUBSEP be SUBSEP n SUBSEP 1
                    us = val[g, 1, "info_us"]
                    printf "| %s | %s | %.1f | %.1f | %s |\n", be, n, us, us / n,
                        (be in row1 && us > 0) ? sprintf("%.2f", row1[be] * n / us) : "n/a"
                }
            }
        }
        section("### Every run",
            "| run | case | clients | ops/s | p50 (µs) | p99 (µs) | backend µs per request (AI.INFO) | server CPU | loadgen CPU | other CPU | errors |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for (r = 1; r <= nruns; r++) {
            line = runs[r]
            printf "| %s | %s | %s | %.0f | %.0f | %.0f | %s | %s | %s | %s | %s |\n", field(line, "rep"),
                field(line, "scenario"), field(line, "clients"), field(line, "ops_per_sec"),
                field(line, "p50_us"), field(line, "p99_us"), field(line, "info_us"),
                field(line, "server_cpu"), field(line, "loadgen_cpu"), field(line, "other_cpu"),
                field(line, "errors")
        }
    }' "$RESULTS"

if [[ -n ${KEEP_RESULTS:-} ]]; then
    cp "$RESULTS" "$KEEP_RESULTS"
fi
if [[ $failed != 0 ]]; then
    echo >&2
    echo "batching.sh: SOME RUNS HAD ERROR REPLIES OR FAILED: see the messages above; figures marked are not valid" >&2
    exit 1
fi
