"""Frozen TensorFlow graphs through every face with the real TF backend (TensorFlow 2.21's C API):
store, META, the framework's own results, every dtype, batching, DAGs with the other backends,
TorchScript's redisAI.model_execute on a TF model, persistence, LOADBACKEND, errors."""

import os
import struct
from pathlib import Path

import pytest
import redis

from conftest import in_threads, raw_err, store_or_skip
from expected_tensors import FIXTURES, blob_of, check, expected, tensorset

TF = FIXTURES / "tf"
EXPECTED = expected("tf")


def blob(name: str) -> bytes:
    return (TF / name).read_bytes()


def store(r, key: str, name: str, *extra):
    """Stores `name` with the IO names expected.json lists for it."""
    m = EXPECTED[name]
    ins = [i["name"] for i in m["inputs"]]
    return store_or_skip(
        r, "AI.MODELSTORE", key, "TF", "CPU", *extra,
        "INPUTS", len(ins), *ins, "OUTPUTS", len(m["outputs"]), *m["outputs"], "BLOB", blob(name),
    )


def fblob(*v: float) -> bytes:
    return struct.pack(f"<{len(v)}f", *v)


def floats(b: bytes) -> list:
    return list(struct.unpack(f"<{len(b) // 4}f", b))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_results_are_tensorflows_own(r, name):
    """Every sample of every graph gives what TensorFlow's own session gave."""
    m = EXPECTED[name]
    assert store(r, "m", name) == b"OK"
    for sample in m["samples"]:
        for i, t in enumerate(sample["inputs"]):
            tensorset(r, f"in{i}", t)
        outs = [f"out_{o}" for o in m["outputs"]]
        ins = [f"in{i}" for i in range(len(sample["inputs"]))]
        assert r.execute_command(
            "AI.MODELEXECUTE", "m", "INPUTS", len(ins), *ins, "OUTPUTS", len(outs), *outs
        ) == b"OK"
        for want in sample["outputs"]:
            check(r, f"out_{want['name']}", want, m["atol"])


def test_store_meta_info_and_output_ports(r):
    assert store(r, "m", "mul.pb", "TAG", "v1") == b"OK"
    meta = r.execute_command("AI.MODELGET", "m", "META")
    assert meta[:6] == [b"backend", b"TF", b"device", b"CPU", b"tag", b"v1"]
    assert meta[10:14] == [b"inputs", [b"a", b"b"], b"outputs", [b"mul", b"c"]]
    assert r.execute_command("AI.MODELGET", "m", "BLOB") == blob("mul.pb")
    assert r.info("ai")["ai_TensorFlow_version"] == "2.21.0"
    # `name:index` names an output port
    store_or_skip(r, "AI.MODELSTORE", "p", "TF", "CPU", "INPUTS", 2, "a:0", "b",
                  "OUTPUTS", 1, "mul:0", "BLOB", blob("mul.pb"))
    r.execute_command("AI.TENSORSET", "a", "FLOAT", 2, "VALUES", 2, 3)
    r.execute_command("AI.TENSORSET", "b", "FLOAT", 2, "VALUES", 4, 5)
    assert r.execute_command("AI.MODELEXECUTE", "p", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "o") == b"OK"
    assert floats(r.execute_command("AI.TENSORGET", "o", "BLOB")) == [8.0, 15.0]
    info = r.execute_command("AI.INFO", "p")
    assert info[4:6] == [b"backend", b"TF"]
    assert info[12:18] == [b"samples", 2, b"calls", 1, b"errors", 0]


def test_strings_are_bytes(r):
    """STRING elements are C strings of any bytes, not only UTF-8 text."""
    store(r, "s", "string_identity.pb")
    data = b"\xff\xfe\0" + b"x" * 40 + b"\0" + b"\0"
    r.execute_command("AI.TENSORSET", "t", "STRING", 3, "BLOB", data)
    assert r.execute_command("AI.MODELEXECUTE", "s", "INPUTS", 1, "t", "OUTPUTS", 1, "o") == b"OK"
    assert r.execute_command("AI.TENSORGET", "o", "BLOB") == data


def test_errors_are_one_line_and_change_nothing(r, port):
    def err(*args):
        return raw_err(port, *args)

    base = ["AI.MODELSTORE", "m", "TF", "CPU"]
    assert err(*base, "BLOB", blob("mul.pb")) == "ERR INPUTS not specified for TF"
    assert err(*base, "INPUTS", 1, "a", "BLOB", blob("mul.pb")) == "ERR OUTPUTS not specified for TF"
    assert err(*base, "INPUTS", 1, "a", "OUTPUTS", 1, "c", "BLOB", b"garbage") == "Invalid GraphDef"
    assert err(*base, "INPUTS", 1, "nope", "OUTPUTS", 1, "c", "BLOB", blob("mul.pb")) == (
        'ERR Input node named "nope" not found in TF graph.'
    )
    # an input must be a Placeholder
    assert err(*base, "INPUTS", 1, "mul", "OUTPUTS", 1, "c", "BLOB", blob("mul.pb")) == (
        'ERR Input node named "mul" not found in TF graph.'
    )
    assert err(*base, "INPUTS", 1, "a", "OUTPUTS", 1, "zz", "BLOB", blob("mul.pb")) == (
        'ERR Output node named "zz" not found in TF graph'
    )
    assert err(*base, "INPUTS", 1, "a", "OUTPUTS", 1, "mul:7", "BLOB", blob("mul.pb")) == (
        'ERR Output node named "mul:7" not found in TF graph'
    )
    assert r.exists("m") == 0
    store(r, "m", "mul.pb")
    r.execute_command("AI.TENSORSET", "a", "FLOAT", 2, "VALUES", 1, 2)
    r.execute_command("AI.TENSORSET", "b", "FLOAT", 2, 2, 3, "VALUES", *range(12))
    msg = err("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "b", "OUTPUTS", 2, "o1", "o2")
    assert msg.startswith("Incompatible shapes: [2] vs. [2,2,3]") and "\n" not in msg, msg
    assert r.exists("o1", "o2") == 0
    r.execute_command("AI.TENSORSET", "bf", "BFLOAT16", 2, "VALUES", 1, 2)
    msg = err("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "bf", "OUTPUTS", 2, "o1", "o2")
    assert "bfloat16" in msg and "\n" not in msg, msg
    assert r.execute_command("AI.INFO", "m")[16:18] == [b"errors", 2]


def test_batching_gives_the_same_results(r):
    store(r, "mlp", "mlp.pb", "BATCHSIZE", 8, "MINBATCHSIZE", 2, "MINBATCHTIMEOUT", 50)
    sample = EXPECTED["mlp.pb"]["samples"]
    single = next(s for s in sample if s["inputs"][0]["shape"][0] == 1)
    x, want = single["inputs"][0], single["outputs"][0]
    def client(c, i):
        for _ in range(10):
            tensorset(c, f"x{i}", x)
            c.execute_command("AI.MODELEXECUTE", "mlp", "INPUTS", 1, f"x{i}", "OUTPUTS", 1, f"y{i}")
            check(c, f"y{i}", want, 1e-5)

    errors = in_threads(r, 6, client)
    assert errors == []
    info = r.execute_command("AI.INFO", "mlp")
    assert info[12:18] == [b"samples", 60, b"calls", 60, b"errors", 0]


def test_dag_with_every_backend(r):
    """One DAG: TF mul → ONNX mul → TORCH add, then TENSORGET (TFLITE in test_models_tflite)."""
    onnx = FIXTURES / "onnx" / "mul.onnx"
    torch = FIXTURES / "torch" / "pt-minimal.pt"
    store(r, "tf", "mul.pb")
    store_or_skip(r, "AI.MODELSTORE", "onnx", "ONNX", "CPU", "BLOB", onnx.read_bytes())
    store_or_skip(r, "AI.MODELSTORE", "torch", "TORCH", "CPU", "BLOB", torch.read_bytes())
    reply = r.execute_command(
        "AI.DAGEXECUTE", "PERSIST", 1, "res",
        "|>", "AI.TENSORSET", "a", "FLOAT", 1, 2, "VALUES", 2, 3,
        "|>", "AI.MODELEXECUTE", "tf", "INPUTS", 2, "a", "a", "OUTPUTS", 2, "sq", "sq2",
        "|>", "AI.MODELEXECUTE", "onnx", "INPUTS", 2, "sq", "a", "OUTPUTS", 1, "cube",
        "|>", "AI.MODELEXECUTE", "torch", "INPUTS", 2, "cube", "sq2", "OUTPUTS", 1, "res",
        "|>", "AI.TENSORGET", "res", "VALUES",
    )
    assert reply == [b"OK", b"OK", b"OK", b"OK", [b"12", b"36"]]
    assert r.exists("res") == 1 and r.exists("sq", "cube") == 0


def test_fraud_dag_like_the_benchmark(r):
    m = EXPECTED["fraud.pb"]
    store(r, "fraud", "fraud.pb")
    s = next(s for s in m["samples"] if s["inputs"][0]["shape"][0] == 1)
    tensorset(r, "reference", s["inputs"][1])
    reply = r.execute_command(
        "AI.DAGEXECUTE", "LOAD", 1, "reference",
        "|>", "AI.TENSORSET", "transaction", "FLOAT", 1, 30, "BLOB", blob_of(s["inputs"][0]),
        "|>", "AI.MODELEXECUTE", "fraud", "INPUTS", 2, "transaction", "reference", "OUTPUTS", 1, "out",
        "|>", "AI.TENSORGET", "out", "BLOB",
    )
    assert reply[:2] == [b"OK", b"OK"]
    got = floats(reply[2])
    assert max(abs(a - b) for a, b in zip(got, s["outputs"][0]["values"])) <= m["atol"]


def test_torchscript_model_execute_on_a_tf_model(r):
    store(r, "tfm", "mul.pb")
    src = (
        "def run_tf(tensors: List[Tensor], keys: List[str], args: List[str]):\n"
        "    a = tensors[0]\n"
        "    outs = redisAI.model_execute(keys[0], [a, a + 1.0], 2)\n"
        "    return outs[1]\n"
    )
    store_or_skip(r, "AI.SCRIPTSTORE", "s", "CPU", "ENTRY_POINTS", 1, "run_tf", "SOURCE", src)
    r.execute_command("AI.TENSORSET", "a", "FLOAT", 2, "VALUES", 2, 3)
    assert r.execute_command(
        "AI.SCRIPTEXECUTE", "s", "run_tf", "KEYS", 1, "tfm", "INPUTS", 1, "a", "OUTPUTS", 1, "o"
    ) == b"OK"
    assert floats(r.execute_command("AI.TENSORGET", "o", "BLOB")) == [6.0, 12.0]


def test_dump_restore_keeps_names(r):
    store(r, "m", "mul.pb", "TAG", "t")
    dump = r.dump("m")
    r.delete("m")
    assert r.restore("m", 0, dump) == b"OK"
    meta = r.execute_command("AI.MODELGET", "m", "META")
    assert meta[10:14] == [b"inputs", [b"a", b"b"], b"outputs", [b"mul", b"c"]]
    r.execute_command("AI.TENSORSET", "a", "FLOAT", 1, "VALUES", 3)
    assert r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a", "OUTPUTS", 2, "o", "o2") == b"OK"
    assert floats(r.execute_command("AI.TENSORGET", "o", "BLOB")) == [9.0]


def test_loadbackend_tf_chooses_the_library(r):
    deps = Path(__file__).resolve().parents[2] / ".deps" / "backends" / "redisai_tensorflow"
    if not (deps / "libtensorflow.so").exists() and os.environ.get("CI") != "true":
        pytest.skip("TensorFlow is not installed (scripts/bootstrap)")
    with pytest.raises(redis.ResponseError, match="error loading backend"):
        r.execute_command("AI.CONFIG", "LOADBACKEND", "TF", "/nonexistent/libtensorflow.so")
    assert "ai_TensorFlow_version" not in r.info("ai")
    # RedisAI's own file name, relative to BACKENDSPATH
    assert r.execute_command(
        "AI.CONFIG", "LOADBACKEND", "TF", "redisai_tensorflow/redisai_tensorflow.so"
    ) == b"OK"
    assert r.info("ai")["ai_TensorFlow_version"] == "2.21.0"
    # loaded once, as in RedisAI: a second LOADBACKEND TF is refused
    with pytest.raises(redis.ResponseError, match="error loading backend"):
        r.execute_command("AI.CONFIG", "LOADBACKEND", "TF", str(deps / "libtensorflow.so"))
    store(r, "m", "mul.pb")
