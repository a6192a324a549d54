"""Models through the server with the real ONNX backend: store, get, execute, batching, TIMEOUT,
DAGs, AI.INFO, errors, and the redisai-py client."""

import os
import struct
import time
from pathlib import Path

import pytest
import redis

from conftest import RawConn, RespError, run_concurrently, store_or_skip

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "onnx"
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def blob(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def floats(b: bytes) -> list:
    return list(struct.unpack(f"<{len(b) // 4}f", b))


def fblob(*v: float) -> bytes:
    return struct.pack(f"<{len(v)}f", *v)


@pytest.fixture
def onnx(r):
    """Our server with mul.onnx stored as `m`; fails (in CI) or skips if ONNX is not built in."""
    store_or_skip(r, "AI.MODELSTORE", "m", "ONNX", "CPU", "BLOB", blob("mul.onnx"))
    return r


def test_store_get_and_run(onnx):
    r = onnx
    meta = r.execute_command("AI.MODELGET", "m", "META")
    assert meta[:8] == [b"backend", b"ONNX", b"device", b"CPU", b"tag", b"", b"batchsize", 0]
    assert meta[10:14] == [b"inputs", [b"a", b"b"], b"outputs", [b"c"]]
    assert r.execute_command("AI.MODELGET", "m", "BLOB") == blob("mul.onnx")
    assert r.type("m") == b"AI__MODEL"
    r.execute_command("AI.TENSORSET", "a", "FLOAT", 1, 2, "VALUES", 2, 3)
    r.execute_command("AI.TENSORSET", "b", "FLOAT", 1, 2, "BLOB", fblob(4, 5))
    assert r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c") == b"OK"
    assert r.execute_command("AI.TENSORGET", "c", "VALUES") == [b"8", b"15"]
    assert r.execute_command("AI.MODELRUN", "m", "INPUTS", "a", "b", "OUTPUTS", "d") == b"OK"
    assert floats(r.execute_command("AI.TENSORGET", "d", "BLOB")) == [8.0, 15.0]
    info = r.execute_command("AI.INFO", "m")
    assert info[0:6] == [b"key", b"m", b"type", b"MODEL", b"backend", b"ONNX"]
    assert info[12:18] == [b"samples", 2, b"calls", 2, b"errors", 0]
    assert info[11] > 0  # microseconds in the backend
    assert r.execute_command("AI._MODELSCAN") == [[b"m", b""]]


def test_info_shows_the_backend_once_loaded(r):
    assert "ai_onnxruntime_version" not in r.info("ai")
    store_or_skip(r, "AI.MODELSTORE", "m", "ONNX", "CPU", "BLOB", blob("mul.onnx"))
    info = r.info("ai")
    assert info["ai_onnxruntime_version"] == "1.31.1"
    assert "ai_queue_CPU_bthread_n1_used_cpu_total" in info


def test_model_chunks(onnx):
    r = onnx
    whole = blob("mul.onnx")
    assert r.execute_command("AI.CONFIG", "MODEL_CHUNK_SIZE", 100) == b"OK"
    chunks = r.execute_command("AI.MODELGET", "m", "BLOB")
    assert isinstance(chunks, list) and b"".join(chunks) == whole
    assert all(len(c) == 100 for c in chunks[:-1])
    # A model uploaded in chunks is the same model.
    parts = [whole[i : i + 50] for i in range(0, len(whole), 50)]
    r.execute_command("AI.MODELSTORE", "m2", "ONNX", "CPU", "BLOB", *parts)
    r.execute_command("AI.CONFIG", "MODEL_CHUNK_SIZE", 1 << 20)
    assert r.execute_command("AI.MODELGET", "m2", "BLOB") == whole


def test_errors_change_nothing(onnx, port):
    r = onnx
    r.execute_command("AI.TENSORSET", "a", "FLOAT", 1, 2, "VALUES", 2, 3)
    r.execute_command("AI.TENSORSET", "wide", "FLOAT", 1, 3, "VALUES", 2, 3, 4)
    r.set("s", "v")
    with RawConn(port) as c:
        assert c.cmd("AI.MODELEXECUTE", "m", "INPUTS", 1, "a", "OUTPUTS", 1, "c") == RespError(
            "Number of keys given as INPUTS here does not match model definition"
        )
        assert c.cmd("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "zz", "OUTPUTS", 1, "c") == RespError(
            "ERR tensor key is empty or in a different shard"
        )
        assert c.cmd("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "s") == RespError(WRONGTYPE)
        shape_err = c.cmd("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "wide", "OUTPUTS", 1, "c")
        assert isinstance(shape_err, RespError) and "\n" not in shape_err
        assert "dimensions" in shape_err or "shape" in shape_err.lower()
        corrupt = c.cmd("AI.MODELSTORE", "m", "ONNX", "CPU", "BLOB", b"not a model")
        assert isinstance(corrupt, RespError) and corrupt and "\n" not in corrupt
        # the failed store left the model in place
        assert c.cmd("AI.MODELGET", "m", "BLOB") == blob("mul.onnx")
        assert c.cmd("AI.MODELSTORE", "s", "ONNX", "CPU", "BLOB", blob("mul.onnx")) == RespError(WRONGTYPE)
        if not Path("/dev/nvidia0").exists():
            assert c.cmd("AI.MODELSTORE", "x", "ONNX", "GPU", "BLOB", blob("mul.onnx")) == RespError(
                "ERR GPU requested but ONNX couldn't find CUDA"
            )
        ext = c.cmd("AI.MODELSTORE", "x", "ONNX", "CPU", "BLOB", blob("model_with_external_initializers.onnx"))
        assert isinstance(ext, RespError) and "external data is not allowed" in ext
        assert c.cmd("EXISTS", "c", "x") == 0
    assert r.get("s") == b"v"
    info = r.execute_command("AI.INFO", "m")
    assert info[14:18] == [b"calls", 1, b"errors", 1]


def test_modeldel_and_type_checks(onnx):
    r = onnx
    assert r.execute_command("AI.MODELDEL", "m") == b"OK"
    with pytest.raises(redis.ResponseError, match="model key is empty"):
        r.execute_command("AI.MODELGET", "m")
    with pytest.raises(redis.ResponseError, match="cannot find run info for key"):
        r.execute_command("AI.INFO", "m")


def test_timeout_stops_a_running_model(r):
    store_or_skip(r, "AI.MODELSTORE", "loop", "ONNX", "CPU", "BLOB", blob("model_with_infinite_loop.onnx"))
    r.execute_command("AI.TENSORSET", "outer", "FLOAT", 1, "VALUES", 1)
    r.execute_command("AI.TENSORSET", "iters", "INT64", 1, "VALUES", -1)
    r.execute_command("AI.TENSORSET", "cond", "BOOL", 1, "VALUES", 1)
    r.execute_command("AI.TENSORSET", "state", "FLOAT", 1, "VALUES", 0)
    reply = r.execute_command(
        "AI.MODELEXECUTE", "loop", "INPUTS", 4, "outer", "iters", "cond", "state",
        "OUTPUTS", 2, "o1", "o2", "TIMEOUT", 300,
    )
    assert reply == b"TIMEDOUT"
    assert r.exists("o1", "o2") == 0
    # the server still serves, and the worker is free again
    assert r.ping()



def test_model_execution_timeout_stops_a_run_without_timeout(face):
    """--model-execution-timeout is RedisAI's MODEL_EXECUTION_TIMEOUT: ONNX's kill switch."""
    import time

    from conftest import _start

    s = _start(face, extra=["--model-execution-timeout", "1000"])
    try:
        r = s.client(protocol=2)
        assert r.info("ai")["ai_model_execution_timeout"] == 1000
        store_or_skip(r, "AI.MODELSTORE", "loop", "ONNX", "CPU", "BLOB", blob("model_with_infinite_loop.onnx"))
        r.execute_command("AI.TENSORSET", "outer", "FLOAT", 1, "VALUES", 1)
        r.execute_command("AI.TENSORSET", "iters", "INT64", 1, "VALUES", -1)
        r.execute_command("AI.TENSORSET", "cond", "BOOL", 1, "VALUES", 1)
        r.execute_command("AI.TENSORSET", "state", "FLOAT", 1, "VALUES", 0)
        start = time.monotonic()
        with pytest.raises(redis.ResponseError, match="Exiting due to terminate flag being set to true"):
            r.execute_command("AI.MODELEXECUTE", "loop", "INPUTS", 4, "outer", "iters", "cond", "state",
                              "OUTPUTS", 2, "o1", "o2")
        assert 1.0 <= time.monotonic() - start < 3.0
        assert r.exists("o1", "o2") == 0
        r.execute_command("AI.TENSORSET", "iters", "INT64", 1, "VALUES", 3)
        assert r.execute_command("AI.MODELEXECUTE", "loop", "INPUTS", 4, "outer", "iters", "cond", "state",
                                 "OUTPUTS", 2, "o1", "o2") == b"OK"
    finally:
        s.stop()


@pytest.mark.parametrize(
    "flag,value,text",
    [("--model-execution-timeout", v, "--model-execution-timeout must be at least 1000") for v in ("999", "0", "x")]
    + [("--inline-run-max-us", v, "--inline-run-max-us must be a non-negative integer or auto") for v in ("-1", "x", "")],
)
def test_bad_engine_flags_are_refused(flag, value, text):
    """MODEL_EXECUTION_TIMEOUT below a second, and an inline threshold that is not a count."""
    import subprocess

    from conftest import server_binary

    p = subprocess.run([str(server_binary()), flag, value], capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert text in p.stderr

def test_dag_from_the_docs(onnx):
    r = onnx
    reply = r.execute_command(
        "AI.DAGEXECUTE", "PERSIST", 1, "c{t}",
        "|>", "AI.TENSORSET", "a", "FLOAT", 1, 2, "VALUES", 2, 3,
        "|>", "AI.TENSORSET", "b", "FLOAT", 1, 2, "VALUES", 2, 3,
        "|>", "AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c{t}",
        "|>", "AI.TENSORGET", "c{t}", "VALUES",
    )
    assert reply == [b"OK", b"OK", b"OK", [b"4", b"9"]]
    assert r.execute_command("AI.TENSORGET", "c{t}", "VALUES") == [b"4", b"9"]
    assert r.exists("a", "b") == 0
    # LOAD, re-binding a name, RO variant
    r.execute_command("AI.TENSORSET", "x", "FLOAT", 1, 2, "VALUES", 1, 2)
    reply = r.execute_command(
        "AI.DAGEXECUTE_RO", "LOAD", 1, "x",
        "|>", "AI.MODELEXECUTE", "m", "INPUTS", 2, "x", "x", "OUTPUTS", 1, "x",
        "|>", "AI.MODELEXECUTE", "m", "INPUTS", 2, "x", "x", "OUTPUTS", 1, "x",
        "|>", "AI.TENSORGET", "x", "VALUES",
    )
    assert reply == [b"OK", b"OK", [b"1", b"16"]]
    assert r.execute_command("AI.TENSORGET", "x", "VALUES") == [b"1", b"2"]


def test_batching_gives_the_same_results(r):
    store_or_skip(
        r, "AI.MODELSTORE", "mb", "ONNX", "CPU", "BATCHSIZE", 8, "MINBATCHSIZE", 2,
        "MINBATCHTIMEOUT", 50, "BLOB", blob("mul_batch.onnx"),
    )
    assert run_concurrently(r, "mb", lambda v: [v[0] * v[0], v[1] * v[1]]) == []
    info = r.execute_command("AI.INFO", "mb")
    assert info[12:18] == [b"samples", 160, b"calls", 160, b"errors", 0]


def test_empty_batches(r):
    """A [0,2] input gives a [0,2] output, also through a batching model (the empty request runs
    alone: MINBATCHSIZE does not keep it waiting) and in a DAG; a fixed dim still refuses it."""
    store_or_skip(
        r, "AI.MODELSTORE", "mb", "ONNX", "CPU", "BATCHSIZE", 8, "MINBATCHSIZE", 2,
        "MINBATCHTIMEOUT", 10000, "BLOB", blob("mul_batch.onnx"),
    )
    r.execute_command("AI.TENSORSET", "e", "FLOAT", 0, 2)
    started = time.monotonic()
    assert r.execute_command("AI.MODELEXECUTE", "mb", "INPUTS", 2, "e", "e", "OUTPUTS", 1, "o") == b"OK"
    assert time.monotonic() - started < 5
    assert r.execute_command("AI.TENSORGET", "o", "META", "BLOB") == [
        b"dtype", b"FLOAT", b"shape", [0, 2], b"blob", b""]
    info = r.execute_command("AI.INFO", "mb")
    assert info[12:18] == [b"samples", 0, b"calls", 1, b"errors", 0]
    reply = r.execute_command(
        "AI.DAGEXECUTE", "PERSIST", 1, "y", "|>", "AI.TENSORSET", "x", "FLOAT", 0, 2,
        "|>", "AI.MODELEXECUTE", "mb", "INPUTS", 2, "x", "x", "OUTPUTS", 1, "y",
        "|>", "AI.TENSORGET", "y", "META",
    )
    assert reply == [b"OK", b"OK", [b"dtype", b"FLOAT", b"shape", [0, 2]]]
    assert r.execute_command("AI.TENSORGET", "y", "BLOB") == b""
    store_or_skip(r, "AI.MODELSTORE", "m", "ONNX", "CPU", "BLOB", blob("mul.onnx"))
    with pytest.raises(redis.ResponseError, match="Got invalid dimensions for input"):
        r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, "e", "e", "OUTPUTS", 1, "o")


def test_string_and_every_dtype_roundtrip(r):
    store_or_skip(r, "AI.MODELSTORE", "ids", "ONNX", "CPU", "BLOB", blob("identity_string.onnx"))
    r.execute_command("AI.TENSORSET", "s", "STRING", 2, "VALUES", "hello", "")
    r.execute_command("AI.MODELEXECUTE", "ids", "INPUTS", 1, "s", "OUTPUTS", 1, "o")
    assert r.execute_command("AI.TENSORGET", "o", "VALUES") == [b"hello", b""]


def test_redisai_py_client(srv):
    redisai = pytest.importorskip("redisai")
    np = pytest.importorskip("numpy")
    con = redisai.Client(host="127.0.0.1", port=srv.port)
    try:
        con.modelstore("m", "onnx", "cpu", blob("mul.onnx"))
    except redis.ResponseError as e:
        if "not compiled" in str(e) and os.environ.get("CI") != "true":
            pytest.skip("this build has no ONNX backend")
        raise
    con.tensorset("a", np.array([[2, 3]], dtype=np.float32))
    con.tensorset("b", np.array([[4, 5]], dtype=np.float32))
    assert con.modelexecute("m", inputs=["a", "b"], outputs=["c"]) == "OK"
    out = con.tensorget("c")
    assert out.dtype == np.float32 and out.tolist() == [[8.0, 15.0]]
    meta = con.modelget("m", meta_only=True)
    assert meta["backend"] == "ONNX" and meta["inputs"] == ["a", "b"]
    assert con.tensorget("c", as_numpy=False)["shape"] == [1, 2]
    dag = con.dag(persist=["d"])
    dag.tensorset("x", np.array([[1, 2]], dtype=np.float32))
    dag.modelexecute("m", inputs=["x", "x"], outputs=["d"])
    dag.tensorget("d")
    results = dag.execute()
    assert results[-1].tolist() == [[1.0, 4.0]]
    assert con.modeldel("m") == "OK"


def test_onnx_ml_model_with_zipmap(r):
    """A scikit-learn classifier: the label is a tensor, the ZipMap probabilities are not, so
    that key is left unwritten (as RedisAI does) and nothing crashes."""
    store_or_skip(r, "AI.MODELSTORE", "iris", "ONNX", "CPU", "BLOB", blob("logreg_iris.onnx"))
    meta = r.execute_command("AI.MODELGET", "iris", "META")
    assert len(meta[13]) == 2  # label, probabilities
    r.execute_command("AI.TENSORSET", "x", "FLOAT", 1, 4, "VALUES", 5.1, 3.5, 1.4, 0.2)
    assert r.execute_command("AI.MODELEXECUTE", "iris", "INPUTS", 1, "x", "OUTPUTS", 2, "label", "probs") == b"OK"
    assert r.execute_command("AI.TENSORGET", "label", "VALUES") == [0]
    assert r.exists("probs") == 0


def test_config_loadbackend_and_backendspath(r, srv):
    deps = Path(__file__).resolve().parents[2] / ".deps" / "backends"
    lib = deps / "redisai_onnxruntime" / "libonnxruntime.so"
    if not lib.exists() and os.environ.get("CI") != "true":
        pytest.skip("onnxruntime is not installed (scripts/bootstrap)")
    assert r.execute_command("AI.CONFIG", "GET", "BACKENDSPATH") == str(deps).encode()
    with pytest.raises(redis.ResponseError, match="error loading backend"):
        r.execute_command("AI.CONFIG", "LOADBACKEND", "ONNX", "/nonexistent/libonnxruntime.so")
    assert r.execute_command("AI.CONFIG", "BACKENDSPATH", str(deps / "redisai_onnxruntime")) == b"OK"
    # relative to BACKENDSPATH
    assert r.execute_command("AI.CONFIG", "LOADBACKEND", "ONNX", "libonnxruntime.so") == b"OK"
    with pytest.raises(redis.ResponseError, match="error loading backend"):
        r.execute_command("AI.CONFIG", "LOADBACKEND", "ONNX", str(lib))
    assert r.info("ai")["ai_onnxruntime_version"] == "1.31.1"
    with pytest.raises(redis.ResponseError, match="error loading backend"):
        r.execute_command("AI.CONFIG", "LOADBACKEND", "TF", "x.so")


@pytest.mark.parametrize("inline_us", ["0", "1000000"])
def test_runs_on_the_connection_thread_or_the_queue_agree(face, inline_us):
    """--inline-run-max-us 0 sends every run through the queue; a large one runs every run after
    the first on the connection's thread, concurrently from both I/O threads on one session."""
    from conftest import _start

    s = _start(face, extra=["--inline-run-max-us", inline_us])
    try:
        r = s.client(protocol=2)
        store_or_skip(r, "AI.MODELSTORE", "m", "ONNX", "CPU", "BLOB", blob("mul.onnx"))
        assert run_concurrently(r, "m", lambda v: [v[0] * v[0], v[1] * v[1]], runs=40) == []
        info = r.execute_command("AI.INFO", "m")
        assert info[12:18] == [b"samples", 320, b"calls", 320, b"errors", 0]
        assert r.info("ai_engine")["ai_inline_run_max_us"] == int(inline_us)
    finally:
        s.stop()


@pytest.mark.parametrize("flag", [None, "auto"])
def test_the_inline_threshold_is_measured_by_default(face, flag):
    """By default (or with `auto`) the threshold is this machine's hand-off cost, within bounds."""
    from conftest import _start

    s = _start(face, extra=None if flag is None else ["--inline-run-max-us", flag])
    try:
        time.sleep(0.5)  # measured in the background, a few ms
        assert 20 <= s.client().info("ai_engine")["ai_inline_run_max_us"] <= 200
    finally:
        s.stop()


def test_backend_memory_limit_fails_what_does_not_fit(face):
    """BACKEND_MEMORY_LIMIT (MB): an ONNX allocation above it fails its run with RedisAI's text;
    the server goes on, and what fits still runs."""
    from conftest import _start

    s = _start(face, extra=["--backend-memory-limit", "1"])
    try:
        r = s.client(protocol=2)
        assert r.info("ai")["ai_backend_memory_limit"] == 1
        store_or_skip(r, "AI.MODELSTORE", "m", "ONNX", "CPU", "BLOB", blob("mul_batch.onnx"))
        r.execute_command("AI.TENSORSET", "small", "FLOAT", 2, 2, "BLOB", fblob(1, 2, 3, 4))
        rows = 300_000  # a 2.4 MB output
        r.execute_command("AI.TENSORSET", "big", "FLOAT", rows, 2)
        assert r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, "small", "small", "OUTPUTS", 1, "o") == b"OK"
        with pytest.raises(redis.ResponseError, match="Onnxruntime memory limit exceeded, memory allocation failed"):
            r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, "big", "big", "OUTPUTS", 1, "o2")
        assert r.exists("o2") == 0
        assert r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, "small", "small", "OUTPUTS", 1, "o") == b"OK"
        assert floats(r.execute_command("AI.TENSORGET", "o", "BLOB")) == [1, 4, 9, 16]
    finally:
        s.stop()


def test_info_modules_lists_the_module_then_redisai_sections_in_order(srv):
    """INFO MODULES as Redis writes it: the Modules list, then RedisAI's five sections in
    RedisAI's order (its clients index them by position), each with exactly its fields."""
    with srv.raw() as c:
        text = c.cmd("INFO", "MODULES").decode()
    chunks = text.split("#")
    assert chunks[1].split()[0] == "Modules" and "module:name=ai," in chunks[1]
    names = [c.split()[0] for c in chunks[2:]]
    assert names[:5] == ["ai_versions", "ai_git", "ai_load_time_configs", "ai_backends_info", "ai_cpu"]
    load_time = [f.split(":")[0] for f in chunks[4].split()[1:]]
    assert load_time == ["ai_threads_per_queue", "ai_inter_op_parallelism", "ai_intra_op_parallelism",
                         "ai_model_execution_timeout", "ai_backend_memory_limit"]
