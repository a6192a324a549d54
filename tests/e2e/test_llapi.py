"""RedisAI's low-level API (spec §7), as another Redis module uses it: `tests/llapi/testmod.c`, a
client module of this repository built here with the C compiler, is loaded next to the module
with MODULE LOAD and imports every `RedisAI_*` function through RedisModule_GetSharedAPI. Each
`llapitest.*` command drives one part of the API and replies what it saw; an API failure comes
back as ``[b"error", code, text]``. Runs in Debian's redis-server and in Valkey 8.1.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
from pathlib import Path

import pytest

from conftest import FACES, ROOT, serving, store_or_skip
from test_persistence import ONNX, TORCH

pytestmark = pytest.mark.faces(*[f for f in FACES if f != "redisai"])

LLAPI = ROOT / "tests" / "llapi"

# Error codes of the API (RedisAI's numbering).
EMODELCREATE, EMODELRUN, ESCRIPTCREATE, ESCRIPTRUN = 3, 4, 9, 10
EUNSUPPORTEDBACKEND, EDAGBUILDER, EDAGRUN, EKEYEMPTY = 11, 16, 17, 19


def redismodule_h() -> Path:
    """The redismodule.h the redis-module crate ships, at the version Cargo.lock pins."""
    lock = (ROOT / "Cargo.lock").read_text()
    version = re.search(r'name = "redis-module"\nversion = "([^"]+)"', lock).group(1)
    cargo_home = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo"))
    found = sorted(cargo_home.glob(f"registry/src/*/redis-module-{version}/src/include/redismodule.h"))
    if not found:
        pytest.fail(f"redis-module {version} is not in {cargo_home}/registry: build the module first")
    return found[0]


@pytest.fixture(scope="session")
def testmod(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("llapi") / "llapitest.so"
    cc = os.environ.get("CC", "cc")
    subprocess.run(
        [cc, "-std=gnu11", "-O1", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
         f"-I{redismodule_h().parent}", "-o", str(out), str(LLAPI / "testmod.c"), "-lpthread"],
        check=True,
    )
    return out


@pytest.fixture
def s(face, testmod):
    """The module face with the client module loaded after it."""
    with serving(face, extra=["--enable-module-command", "yes"]) as srv:
        assert srv.client().execute_command("MODULE", "LOAD", str(testmod)) == b"OK"
        yield srv


@pytest.fixture
def r(s):
    r = s.client()
    store_or_skip(r, "AI.MODELSTORE", "m", "ONNX", "CPU", "BLOB", (ONNX / "mul.onnx").read_bytes())
    store_or_skip(r, "AI.MODELSTORE", "mb", "ONNX", "CPU", "BLOB", (ONNX / "mul_batch.onnx").read_bytes())
    store_or_skip(r, "AI.SCRIPTSTORE", "s", "CPU", "ENTRY_POINTS", 1, "bar", "SOURCE",
                  (TORCH / "script.txt").read_text())
    r.execute_command("AI.TENSORSET", "a", "FLOAT", 1, 2, "VALUES", 2, 3)
    r.execute_command("AI.TENSORSET", "b", "FLOAT", 1, 2, "VALUES", 4, 5)
    return r


def calls(r, key) -> int:
    info = r.execute_command("AI.INFO", key)
    return dict(zip(info[::2], info[1::2]))[b"calls"]


def test_every_function_is_exported_at_version_1(s):
    r = s.client()
    # The client module's load imported all of them, or it would have failed.
    assert r.execute_command("llapitest.version") == 1
    assert r.info("ai")["ai_low_level_API_version"] == 1


def test_tensor_functions(s):
    assert s.client().execute_command("llapitest.tensors") == b"OK"


def test_a_module_stores_and_reads_tensors_as_key_values(r):
    assert r.execute_command("llapitest.store", "st") == b"OK"
    assert r.type("st") == b"AI_TENSOR"
    assert r.execute_command("AI.TENSORGET", "st", "META", "VALUES") == [
        b"dtype", b"DOUBLE", b"shape", [2, 2], b"values", [b"0.5", b"1", b"1.5", b"2"]]
    assert r.execute_command("llapitest.get", "a") == [[1, 2], [b"2", b"3"]]
    # What the module stored persists as any tensor.
    assert r.execute_command("DEBUG", "RELOAD") == b"OK"
    assert r.execute_command("llapitest.get", "st") == [[2, 2], [b"0.5", b"1", b"1.5", b"2"]]


def test_synchronous_model_runs(r):
    before = calls(r, "m")
    assert r.execute_command("llapitest.modelrun", "m", "out", "a", "b") == [b"8", b"15"]
    assert r.execute_command("AI.TENSORGET", "out", "VALUES") == [b"8", b"15"]
    assert calls(r, "m") == before + 1
    assert r.execute_command("llapitest.modelrun", "nosuch", "out2", "a", "b") == [
        b"error", EKEYEMPTY, b"ERR model key is empty"]
    assert r.execute_command("llapitest.modelrun", "a", "out2", "a", "b") == [
        b"error", EMODELRUN, b"WRONGTYPE Operation against a key holding the wrong kind of value"]
    error, code, _text = r.execute_command("llapitest.modelrun", "m", "out2", "a")
    assert (error, code) == (b"error", EMODELRUN)
    assert r.exists("out2") == 0


def test_runs_of_one_model_run_as_one_batch(r):
    before = calls(r, "mb")
    assert r.execute_command("llapitest.batchrun", "mb", "a", "b") == [
        [b"4", b"9"], [b"16", b"25"], [b"error", EMODELRUN, b"ERR Nothing to run"]]
    # One run of the model for both.
    assert calls(r, "mb") == before + 1


def test_asynchronous_runs_call_back_on_another_thread(r):
    """The client module waits on the main thread for the callback, as RedisAI's own test
    module does: the callback must come from elsewhere, and need nothing of the main thread."""
    assert r.execute_command("llapitest.modelasync", "m", "a", "b") == [
        [b"8", b"15"], b"Finish ctx is not a script run ctx", 0]
    (error, code, _text), _, on_caller = r.execute_command("llapitest.modelasync", "m", "a")
    assert (error, code, on_caller) == (b"error", EMODELRUN, 0)
    assert r.execute_command("llapitest.scriptasync", "s", "bar", "a", "b") == [
        [b"6", b"8"], b"Finish ctx is not a model run ctx", 0]
    assert r.execute_command("llapitest.scriptasync", "s", "nosuch", "a", "b") == [
        [b"error", ESCRIPTRUN, b"Function does not exist: nosuch"], b"Finish ctx is not a model run ctx", 0]
    assert r.execute_command("llapitest.scriptrun", "s", "bar", "a", "b") == [b"6", b"8"]
    assert r.execute_command("llapitest.scriptasync", "nosuch", "bar", "a") == [
        b"error", EKEYEMPTY, b"ERR script key is empty"]


def test_blocked_clients_each_get_their_own_result(s, r):
    """A client module that blocks its clients (the usual way): many clients at once, each
    with its own tensors, each gets its own result, and Redis keeps serving the others."""
    failures = []

    def client(i):
        c = s.client()
        c.execute_command("AI.TENSORSET", f"x{i}", "FLOAT", 1, 2, "VALUES", i, i + 1)
        for _ in range(20):
            got = c.execute_command("llapitest.modelblocked", "m", f"x{i}", f"x{i}")
            if got != [str(i * i).encode(), str((i + 1) * (i + 1)).encode()]:
                failures.append((i, got))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for _ in range(20):
        assert r.ping()
    for t in threads:
        t.join()
    assert failures == []
    error, code, _text = r.execute_command("llapitest.modelblocked", "m", "a")
    assert (error, code) == (b"error", EMODELRUN)


def test_scripts_a_module_runs_reach_redis_when_the_lock_is_free(r):
    r.execute_command("AI.SCRIPTSTORE", "rs", "CPU", "ENTRY_POINTS", 1, "touch", "SOURCE",
                      'def touch(tensors: List[Tensor], keys: List[str], args: List[str]):\n'
                      '    redis.execute("INCR", "llapi:calls")\n'
                      '    return tensors[0]\n')
    # Blocked client: the script's redis.execute takes the global lock on its worker.
    assert r.execute_command("llapitest.scriptblocked", "rs", "touch", "a") == [b"2", b"3"]
    assert r.get("llapi:calls") == b"1"
    # A synchronous run on the main thread, which holds the lock: an error, not a deadlock.
    error, code, text = r.execute_command("llapitest.scriptrun", "rs", "touch", "a")
    assert (error, code) == (b"error", ESCRIPTRUN)
    assert b"redis.execute is not available" in text
    assert r.get("llapi:calls") == b"1"


def test_dags_built_op_by_op(r):
    # LOAD a b; p = m(a, b); s = bar(p, a); TENSORGET p, s
    assert r.execute_command("llapitest.dag", "m", "s", "a", "b") == [
        2, [[b"8", b"15"], [b"10", b"18"]], None]


def test_dag_errors(r):
    assert r.execute_command("llapitest.dagerrors", "m", "a") == [
        # an empty DAG does not run
        1, [b"error", EDAGRUN, b"ERR DAG is empty"],
        # a name loads once
        1,
        # a model op with too few inputs is refused (and stays the caller's), then accepted
        1, [b"error", EDAGBUILDER, b"Number of keys given as INPUTS does not match model definition"],
        0,
        # an op reading what nothing made
        1, [b"error", EDAGRUN, b"ERR INPUT key cannot be found in DAG"],
        # ops from a string start with |>
        1, [b"error", EDAGBUILDER, b"DAG op should start with: '|>' "],
        # a model failing at run time: its TENSORGET gets nothing, the error reaches the callback
        [1, [None], [b"error", EMODELRUN,
                     b"Got invalid dimensions for input: a for the following indices  index: 1 Got: 3 "
                     b"Expected: 2  Please fix either the inputs/outputs or the model."]],
    ]


def test_dags_from_a_string(r):
    ops = ("|> AI.TENSORSET x FLOAT 1 2 VALUES 2 3 |> AI.MODELEXECUTE m INPUTS 2 x in OUTPUTS 1 y "
           "|> AI.SCRIPTEXECUTE s bar INPUTS 2 y y OUTPUTS 1 z |> AI.TENSORGET y VALUES |> AI.TENSORGET z BLOB")
    assert r.execute_command("llapitest.dagstring", ops, "in", "b") == [
        2, [[b"8", b"15"], [b"16", b"30"]], None]
    # Models are looked up when the ops are added; nothing is added when one is missing.
    assert r.execute_command("llapitest.dagstring", "|> AI.TENSORGET in |> AI.MODELEXECUTE nosuch INPUTS 1 in "
                             "OUTPUTS 1 y", "in", "a") == [[b"error", EKEYEMPTY, b"ERR model key is empty"], 0]
    assert r.execute_command("llapitest.dagstring", "|> AI.TENSORGET") == [
        [b"error", EDAGBUILDER, b"wrong number of arguments for 'AI.TENSORGET' command"], 0]


def test_models_and_scripts_a_module_makes(r):
    blob = (ONNX / "mul.onnx").read_bytes()
    # Serialized back byte for byte, and run.
    assert r.execute_command("llapitest.modelcreate", "mc", 3, blob) == [1, [b"8", b"15"]]
    meta = r.execute_command("AI.MODELGET", "mc", "META")
    meta = dict(zip(meta[::2], meta[1::2]))
    assert (meta[b"backend"], meta[b"tag"], meta[b"inputs"]) == (b"ONNX", b"made-by-llapitest", [b"a", b"b"])
    assert r.execute_command("AI.MODELEXECUTE", "mc", "INPUTS", 2, "b", "b", "OUTPUTS", 1, "o") == b"OK"
    assert r.execute_command("AI.TENSORGET", "o", "VALUES") == [b"16", b"25"]
    assert r.execute_command("llapitest.modelcreate", "x", 7, blob) == [
        b"error", EUNSUPPORTEDBACKEND, b"ERR Unsupported backend"]
    error, code, _text = r.execute_command("llapitest.modelcreate", "x", 3, b"not a model")
    assert (error, code) == (b"error", EMODELCREATE)

    source = (TORCH / "script.txt").read_text()
    assert r.execute_command("llapitest.scriptcreate", "sc", source, "add") == [b"4", b"6"]
    assert r.execute_command("AI.SCRIPTGET", "sc", "SOURCE") == source.encode()
    error, code, _text = r.execute_command("llapitest.scriptcreate", "x", "def f(a):\n    return a +\n", "f")
    assert (error, code) == (b"error", ESCRIPTCREATE)
    assert r.exists("x") == 0
    # Both persist as any model and script.
    assert r.execute_command("DEBUG", "RELOAD") == b"OK"
    assert r.execute_command("AI.MODELEXECUTE", "mc", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "o") == b"OK"
    assert r.execute_command("AI.TENSORGET", "o", "VALUES") == [b"4", b"9"]
    assert r.execute_command("AI.SCRIPTGET", "sc", "SOURCE") == source.encode()
