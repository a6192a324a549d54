"""TorchScript models and scripts through the server with the real TORCH backend: store, run,
scripts with entry points and best-effort calls, redis.execute, redisAI.model_execute, DAG
pipelines, errors, and the redisai-py client."""

import os
import struct
from pathlib import Path

import pytest
import redis

from conftest import RawConn, RespError, run_concurrently, store_or_skip

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TORCH = FIXTURES / "torch"


def blob(name: str) -> bytes:
    return (TORCH / name).read_bytes()


def source(name: str) -> str:
    return (TORCH / name).read_text()


def floats(b: bytes) -> list:
    return list(struct.unpack(f"<{len(b) // 4}f", b))


@pytest.fixture
def torch(r):
    store_or_skip(r, "AI.MODELSTORE", "m", "TORCH", "CPU", "TAG", "v1", "BLOB", blob("pt-minimal.pt"))
    r.execute_command("AI.TENSORSET", "a", "FLOAT", 2, 2, "VALUES", 2, 3, 2, 3)
    r.execute_command("AI.TENSORSET", "b", "FLOAT", 2, 2, "VALUES", 2, 3, 2, 3)
    return r


@pytest.fixture
def script(torch):
    r = torch
    eps = ["bar", "bar_variadic", "two_outputs", "list_outputs", "keys_and_args", "index_error", "returns_str"]
    r.execute_command("AI.SCRIPTSTORE", "s", "CPU", "TAG", "t", "ENTRY_POINTS", len(eps), *eps, "SOURCE", source("script.txt"))
    return r


def test_model_store_get_run(torch):
    r = torch
    meta = r.execute_command("AI.MODELGET", "m", "META")
    assert meta[:6] == [b"backend", b"TORCH", b"device", b"CPU", b"tag", b"v1"]
    assert meta[10:12] == [b"inputs", [b"a", b"b"]]
    assert r.execute_command("AI.MODELGET", "m", "BLOB") == blob("pt-minimal.pt")
    assert r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c") == b"OK"
    assert r.execute_command("AI.TENSORGET", "c", "VALUES") == [b"4", b"6", b"4", b"6"]
    info = r.execute_command("AI.INFO", "m")
    assert info[4:6] == [b"backend", b"TORCH"]
    assert info[12:18] == [b"samples", 2, b"calls", 1, b"errors", 0]
    assert "ai_Torch_version" in r.info("ai")


def test_output_names_come_from_the_forward_schema(r):
    """One "" per returned tensor, known at store time: a tensor, a tuple of two; a list's count
    is not known before a run (empty)."""
    for key, name, outputs in [("one", "pt-minimal.pt", [b""]), ("two", "pt-tuple.pt", [b"", b""]),
                               ("list", "pt-list.pt", [])]:
        store_or_skip(r, "AI.MODELSTORE", key, "TORCH", "CPU", "BLOB", blob(name))
        meta = r.execute_command("AI.MODELGET", key, "META")
        assert meta[12:14] == [b"outputs", outputs], name
    r.execute_command("AI.TENSORSET", "a", "FLOAT", 1, "VALUES", 1)
    with pytest.raises(redis.ResponseError, match="Number of keys given as OUTPUTS"):
        r.execute_command("AI.MODELEXECUTE", "two", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "x")
    assert r.execute_command("AI.MODELEXECUTE", "list", "INPUTS", 2, "a", "a", "OUTPUTS", 3, "x", "y", "z") == b"OK"


def test_empty_tensors(torch):
    r = torch
    r.execute_command("AI.TENSORSET", "e", "FLOAT", 0, 2)
    assert r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, "e", "e", "OUTPUTS", 1, "c") == b"OK"
    assert r.execute_command("AI.TENSORGET", "c", "META", "VALUES") == [
        b"dtype", b"FLOAT", b"shape", [0, 2], b"values", []]


def test_loadbackend_checks_the_path(srv):
    """libtorch is linked in: the TORCH backend only accepts the path of the libtorch the server
    runs on, from LOADBACKEND or the default file under BACKENDSPATH (a fresh server: TORCH is not
    loaded yet; once it is, a second LOADBACKEND is refused too)."""
    r = srv.client(protocol=2)
    deps = Path(__file__).resolve().parents[2] / ".deps" / "backends"
    lib = deps / "redisai_torch" / "libtorch_cpu.so"
    if not lib.exists() and os.environ.get("CI") != "true":
        pytest.skip("libtorch is not linked into .deps/backends (scripts/bootstrap)")
    assert r.execute_command("AI.CONFIG", "BACKENDSPATH", "/no/such/dir") == b"OK"
    with pytest.raises(redis.ResponseError, match="Could not load backend"):
        store_or_skip(r, "AI.MODELSTORE", "m", "TORCH", "CPU", "BLOB", blob("pt-minimal.pt"))
    assert r.execute_command("AI.CONFIG", "BACKENDSPATH", str(deps)) == b"OK"
    for bad in ["/no/such/dir", str(TORCH), str(TORCH / "pt-minimal.pt"), "redisai_torch/nosuch.so"]:
        with pytest.raises(redis.ResponseError, match="error loading backend"):
            r.execute_command("AI.CONFIG", "LOADBACKEND", "TORCH", bad)
    # relative to BACKENDSPATH: the directory holding the link
    assert r.execute_command("AI.CONFIG", "LOADBACKEND", "TORCH", "redisai_torch") == b"OK"
    with pytest.raises(redis.ResponseError, match="error loading backend"):
        r.execute_command("AI.CONFIG", "LOADBACKEND", "TORCH", str(lib))
    assert r.execute_command("AI.MODELSTORE", "m", "TORCH", "CPU", "BLOB", blob("pt-minimal.pt")) == b"OK"


def test_model_with_tuple_outputs(r):
    store_or_skip(r, "AI.MODELSTORE", "t", "TORCH", "CPU", "BLOB", blob("pt-tuple.pt"))
    r.execute_command("AI.TENSORSET", "a", "FLOAT", 1, 2, "VALUES", 1, 2)
    r.execute_command("AI.TENSORSET", "b", "FLOAT", 1, 2, "VALUES", 3, 4)
    inputs = len(r.execute_command("AI.MODELGET", "t", "META")[11])
    args = ["a", "b"][:inputs]
    assert r.execute_command("AI.MODELEXECUTE", "t", "INPUTS", inputs, *args, "OUTPUTS", 2, "x", "y") == b"OK"
    assert r.exists("x", "y") == 2


def test_model_errors(torch, port):
    r = torch
    with RawConn(port) as c:
        corrupt = c.cmd("AI.MODELSTORE", "m", "TORCH", "CPU", "BLOB", b"garbage")
        assert isinstance(corrupt, RespError) and "\n" not in corrupt and corrupt
        assert c.cmd("AI.MODELGET", "m", "BLOB") == blob("pt-minimal.pt")
        c.cmd("AI.TENSORSET", "u16", "UINT16", 2, 2)
        err = c.cmd("AI.MODELEXECUTE", "m", "INPUTS", 2, "u16", "u16", "OUTPUTS", 1, "c")
        assert isinstance(err, RespError) and "Unsupported" in err
        if not Path("/dev/nvidia0").exists():
            assert c.cmd("AI.MODELSTORE", "g", "TORCH", "GPU", "BLOB", blob("pt-minimal.pt")) == RespError(
                "GPU requested but Torch couldn't find CUDA"
            )
        assert c.cmd("EXISTS", "c", "g") == 0


def test_script_entry_points(script):
    r = script
    meta = r.execute_command("AI.SCRIPTGET", "s", "META")
    assert meta[:4] == [b"device", b"CPU", b"tag", b"t"]
    assert meta[4] == b"Entry Points" and b"bar" in meta[5]
    assert r.execute_command("AI.SCRIPTGET", "s", "SOURCE") == source("script.txt").encode()
    assert r.type("s") == b"AI_SCRIPT"
    assert r.execute_command("AI.SCRIPTEXECUTE", "s", "bar", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c") == b"OK"
    assert r.execute_command("AI.TENSORGET", "c", "VALUES") == [b"4", b"6", b"4", b"6"]
    r.execute_command("AI.SCRIPTEXECUTE", "s", "two_outputs", "INPUTS", 1, "a", "OUTPUTS", 2, "p", "q")
    assert r.execute_command("AI.TENSORGET", "p", "VALUES") == [b"3", b"4", b"3", b"4"]
    r.execute_command("AI.SCRIPTEXECUTE", "s", "list_outputs", "INPUTS", 1, "a", "OUTPUTS", 3, "l1", "l2", "l3")
    assert r.execute_command("AI.TENSORGET", "l3", "VALUES") == [b"6", b"9", b"6", b"9"]
    r.execute_command(
        "AI.SCRIPTEXECUTE", "s", "keys_and_args", "KEYS", 1, "k", "ARGS", 2, "7", "x", "OUTPUTS", 1, "ka"
    )
    assert r.execute_command("AI.TENSORGET", "ka", "VALUES") == [1, 2, 7]
    info = r.execute_command("AI.INFO", "s")
    assert info[2:4] == [b"type", b"SCRIPT"] and info[12:14] == [b"samples", -1]


def test_script_errors(script, port):
    with RawConn(port) as c:
        err = c.cmd("AI.SCRIPTEXECUTE", "s", "index_error", "INPUTS", 1, "a", "OUTPUTS", 1, "x")
        assert isinstance(err, RespError) and "out of range" in err and "\n" not in err
        err = c.cmd("AI.SCRIPTEXECUTE", "s", "bar", "INPUTS", 2, "a", "b", "OUTPUTS", 2, "x", "y")
        assert isinstance(err, RespError) and "unexpected number of outputs" in err
        assert c.cmd("AI.SCRIPTSTORE", "s2", "CPU", "ENTRY_POINTS", 1, "nope", "SOURCE", source("script.txt")) == RespError(
            "Function nope does not exist in the given script."
        )
        assert c.cmd("AI.SCRIPTSTORE", "s2", "CPU", "ENTRY_POINTS", 1, "two_args", "SOURCE", source("script.txt")) == RespError(
            "Wrong number of inputs in function two_args. Expected 3 but was 2"
        )
        bad = c.cmd("AI.SCRIPTSTORE", "s2", "CPU", "ENTRY_POINTS", 1, "bar", "SOURCE", source("script_bad.txt"))
        assert isinstance(bad, RespError) and "\n" not in bad
        assert c.cmd("EXISTS", "x", "y", "s2") == 0


def test_scriptrun_best_effort_and_variadic(script):
    r = script
    r.execute_command("AI.SCRIPTSET", "old", "CPU", "SOURCE", source("script.txt"))
    assert r.execute_command("AI.SCRIPTRUN", "old", "add", "INPUTS", "a", "b", "OUTPUTS", "c") == b"OK"
    assert r.execute_command("AI.TENSORGET", "c", "VALUES") == [b"4", b"6", b"4", b"6"]
    assert r.execute_command(
        "AI.SCRIPTRUN", "old", "first_plus_list", "INPUTS", "a", "$", "b", "b", "OUTPUTS", "d"
    ) == b"OK"
    assert r.execute_command("AI.TENSORGET", "d", "VALUES") == [b"6", b"9", b"6", b"9"]
    assert r.execute_command("AI.SCRIPTGET", "old", "META")[5] == []


def test_redis_execute_and_model_execute_from_scripts(script):
    r = script
    eps = ["set_get", "wrong_arity", "run_model", "missing_key"]
    store_or_skip(r, "AI.SCRIPTSTORE", "rs", "CPU", "ENTRY_POINTS", len(eps), *eps, "SOURCE", source("redis_scripts.txt"))
    assert r.execute_command("AI.SCRIPTEXECUTE", "rs", "set_get", "KEYS", 1, "k", "ARGS", 1, "42", "OUTPUTS", 1, "o") == b"OK"
    assert r.get("k") == b"42"
    assert r.execute_command("AI.TENSORGET", "o", "VALUES") == [42]
    with pytest.raises(redis.ResponseError, match="Invalid argument"):
        r.execute_command("AI.SCRIPTEXECUTE", "rs", "wrong_arity", "KEYS", 1, "k", "INPUTS", 1, "a", "OUTPUTS", 1, "o")
    assert r.execute_command("AI.SCRIPTEXECUTE", "rs", "missing_key", "KEYS", 1, "k", "OUTPUTS", 1, "mk") == b"OK"
    assert r.execute_command("AI.TENSORGET", "mk", "VALUES") == [1]
    assert r.execute_command(
        "AI.SCRIPTEXECUTE", "rs", "run_model", "KEYS", 1, "m", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "mo"
    ) == b"OK"
    assert r.execute_command("AI.TENSORGET", "mo", "VALUES") == [b"4", b"6", b"4", b"6"]
    # model_execute from a script does not count in the model's stats
    assert r.execute_command("AI.INFO", "m")[14:16] == [b"calls", 0]


def test_pipeline_dag_script_model_script(script):
    """The image-pipeline shape: script pre-process -> model -> script post-process -> TENSORGET."""
    r = script
    r.execute_command("AI.TENSORSET", "img", "FLOAT", 2, 2, "VALUES", 1, 1, 1, 1)
    reply = r.execute_command(
        "AI.DAGEXECUTE", "LOAD", 1, "img", "PERSIST", 1, "result",
        "|>", "AI.SCRIPTEXECUTE", "s", "two_outputs", "INPUTS", 1, "img", "OUTPUTS", 2, "pre", "unused",
        "|>", "AI.MODELEXECUTE", "m", "INPUTS", 2, "pre", "pre", "OUTPUTS", 1, "out",
        "|>", "AI.SCRIPTEXECUTE", "s", "bar", "INPUTS", 2, "out", "img", "OUTPUTS", 1, "result",
        "|>", "AI.TENSORGET", "result", "VALUES",
    )
    assert reply == [b"OK", b"OK", b"OK", [b"5", b"5", b"5", b"5"]]
    assert r.execute_command("AI.TENSORGET", "result", "VALUES") == [b"5", b"5", b"5", b"5"]
    assert r.exists("pre", "out", "unused") == 0
    ro = r.execute_command(
        "AI.DAGEXECUTE_RO", "LOAD", 1, "img",
        "|>", "AI.MODELEXECUTE", "m", "INPUTS", 2, "img", "img", "OUTPUTS", 1, "o",
        "|>", "AI.TENSORGET", "o", "VALUES",
    )
    assert ro == [b"OK", [b"2", b"2", b"2", b"2"]]
    with pytest.raises(redis.ResponseError, match="cannot be specified in a read-only DAG"):
        r.execute_command(
            "AI.DAGEXECUTE_RO", "LOAD", 1, "img",
            "|>", "AI.SCRIPTEXECUTE", "s", "bar", "INPUTS", 2, "img", "img", "OUTPUTS", 1, "o",
        )


def test_redisai_py_torch_and_scripts(srv):
    redisai = pytest.importorskip("redisai")
    np = pytest.importorskip("numpy")
    con = redisai.Client(host="127.0.0.1", port=srv.port)
    try:
        con.modelstore("m", "torch", "cpu", blob("pt-minimal.pt"))
    except redis.ResponseError as e:
        if "not compiled" in str(e) and os.environ.get("CI") != "true":
            pytest.skip("this build has no TORCH backend")
        raise
    con.tensorset("a", np.array([[1, 2]], dtype=np.float32))
    con.modelexecute("m", inputs=["a", "a"], outputs=["b"])
    assert con.tensorget("b").tolist() == [[2.0, 4.0]]
    con.scriptstore("s", "cpu", source("script.txt"), entry_points=["bar"])
    assert con.scriptexecute("s", "bar", inputs=["a", "b"], outputs=["c"]) == "OK"
    assert con.tensorget("c").tolist() == [[3.0, 6.0]]
    eps = con.scriptget("s")["entry points"]
    assert [e.decode() if isinstance(e, bytes) else e for e in eps] == ["bar"]
    assert con.scriptdel("s") == "OK"


def test_torch_batching_gives_the_same_results(r):
    store_or_skip(
        r, "AI.MODELSTORE", "mb", "TORCH", "CPU", "BATCHSIZE", 8, "MINBATCHSIZE", 2,
        "MINBATCHTIMEOUT", 50, "BLOB", blob("pt-minimal.pt"),
    )
    assert run_concurrently(r, "mb", lambda v: [2 * v[0], 2 * v[1]]) == []
    assert r.execute_command("AI.INFO", "mb")[12:18] == [b"samples", 160, b"calls", 160, b"errors", 0]


def test_torch_batch_dim_mismatch_fails_every_participant(r):
    """forward(a, b) returns (cat([a, a]), cat([b, b])): twice the rows it was given."""
    import threading

    store_or_skip(
        r, "AI.MODELSTORE", "bad", "TORCH", "CPU", "BATCHSIZE", 2, "MINBATCHSIZE", 2,
        "BLOB", blob("batchdim_mismatch.pt"),
    )
    r.execute_command("AI.TENSORSET", "a", "FLOAT", 1, 2, "VALUES", 1, 2)
    replies = []

    def run(out: str):
        c = redis.Redis(connection_pool=r.connection_pool)
        try:
            replies.append(c.execute_command(
                "AI.MODELEXECUTE", "bad", "INPUTS", 2, "a", "a", "OUTPUTS", 2, out, out + "_2"
            ))
        except redis.ResponseError as e:
            replies.append(str(e))

    threads = [threading.Thread(target=run, args=(f"o{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert replies == ["Model did not generate the expected batch size"] * 2
    assert r.exists("o0", "o1", "o0_2", "o1_2") == 0


def test_engine_flags_reach_the_engine(face):
    """--threads-per-queue and the parallelism flags are the module's load-time configs."""
    from conftest import _start

    s = _start(face, extra=["--threads-per-queue", "2", "--intra-op-parallelism", "1",
                                 "--inter-op-parallelism", "1", "--model-chunk-size", "1000"])
    try:
        r = s.client(protocol=2)
        info = r.info("ai")
        assert info["ai_threads_per_queue"] == 2
        assert info["ai_intra_op_parallelism"] == 1
        assert info["ai_inter_op_parallelism"] == 1
        assert r.execute_command("AI.CONFIG", "GET", "MODEL_CHUNK_SIZE") == 1000
        assert "ai_queue_CPU_bthread_n2_used_cpu_total" in info
        store_or_skip(r, "AI.MODELSTORE", "m", "TORCH", "CPU", "BLOB", blob("pt-minimal.pt"))
        r.execute_command("AI.TENSORSET", "a", "FLOAT", 1, 2, "VALUES", 1, 2)
        assert r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "b") == b"OK"
        assert r.execute_command("AI.TENSORGET", "b", "VALUES") == [b"2", b"4"]
    finally:
        s.stop()
