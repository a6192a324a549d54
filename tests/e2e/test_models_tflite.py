"""`.tflite` models through every face with the real TFLITE backend (LiteRT 2.3's C API): the
results of TensorFlow Lite's own Python interpreter on the same model and input, every dtype the
fixtures have (FLOAT, INT8, UINT8, INT32, INT64, FLOAT16), batching, inputs of another rank,
LOADBACKEND, errors."""

import os
import struct
from pathlib import Path

import pytest
import redis

from conftest import in_threads, raw_err, store_or_skip
from expected_tensors import FIXTURES, check, expected, tensorset

TFLITE = FIXTURES / "tflite"
EXPECTED = expected("tflite")
MNIST = Path(__file__).resolve().parents[2] / ".." / "shared" / "acceptance" / "tf_data" / "mnist_model_quant.tflite"


def blob(name: str) -> bytes:
    return (TFLITE / name).read_bytes()


def store(r, key: str, name: str, *extra):
    return store_or_skip(r, "AI.MODELSTORE", key, "TFLITE", "CPU", *extra, "BLOB", blob(name))


def interpreter():
    """LiteRT's Python interpreter (tests/e2e/requirements.txt), or a skip outside CI."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("ai-edge-litert is not installed (scripts/bootstrap)")
    return Interpreter


NUMPY = {"FLOAT": "float32", "FLOAT16": "float16", "INT8": "int8", "UINT8": "uint8",
         "INT32": "int32", "INT64": "int64"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bit_identical_to_the_interpreter_on_this_machine(r, name):
    """Random inputs through TensorFlow Lite's own Python interpreter, in this process, and
    through the server: the same bytes out (the same kernels: XNNPACK on this CPU)."""
    import numpy as np

    Interpreter = interpreter()
    model = blob(name)
    it = Interpreter(model_content=model)
    it.allocate_tensors()
    assert store(r, "m", name) == b"OK"
    meta = r.execute_command("AI.MODELGET", "m", "META")
    ins, outs = it.get_input_details(), it.get_output_details()
    assert [i["name"].encode() for i in ins] == meta[11]
    assert [o["name"].encode() for o in outs] == meta[13]
    rng = np.random.default_rng(12)
    dtype_of = {v: k for k, v in NUMPY.items()}
    for _ in range(3):
        for k, d in enumerate(ins):
            if np.issubdtype(d["dtype"], np.floating):
                x = rng.standard_normal(d["shape"]).astype(d["dtype"])
            else:
                info = np.iinfo(d["dtype"])
                x = rng.integers(max(info.min, -1000), min(info.max, 1000), d["shape"]).astype(d["dtype"])
            it.set_tensor(d["index"], x)
            r.execute_command("AI.TENSORSET", f"in{k}", dtype_of[np.dtype(d["dtype"]).name],
                              *x.shape, "BLOB", x.tobytes())
        it.invoke()
        keys_out = [f"out{k}" for k in range(len(outs))]
        assert r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", len(ins),
                                 *[f"in{k}" for k in range(len(ins))],
                                 "OUTPUTS", len(outs), *keys_out) == b"OK"
        for k, d in enumerate(outs):
            want = it.get_tensor(d["index"])
            got = r.execute_command("AI.TENSORGET", f"out{k}", "META", "BLOB")
            assert got[3] == list(want.shape), name
            assert got[5] == want.tobytes(), f"{name} output {k}"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_results_are_the_tflite_interpreters_own(r, name):
    """Every sample gives what `ai_edge_litert`'s Interpreter gave (expected.json)."""
    m = EXPECTED[name]
    assert store(r, "m", name) == b"OK"
    meta = r.execute_command("AI.MODELGET", "m", "META")
    ins = [i.decode() for i in meta[11]]
    outs = [o.decode() for o in meta[13]]
    # The model's own order and tensor names (the interpreter's), as RedisAI lists them.
    assert ins == [i["name"] for i in m["inputs"]]
    assert outs == [o["name"] for o in m["outputs"]]
    by_tensor = {i["name"]: i["signature_name"] for i in m["inputs"]}
    out_sig = [o["signature_name"] for o in m["outputs"]]
    for sample in m["samples"]:
        given = {t["name"]: t for t in sample["inputs"]}
        for k, tensor_name in enumerate(ins):
            tensorset(r, f"in{k}", given[by_tensor[tensor_name]])
        keys_in = [f"in{k}" for k in range(len(ins))]
        keys_out = [f"out{k}" for k in range(len(outs))]
        assert r.execute_command(
            "AI.MODELEXECUTE", "m", "INPUTS", len(ins), *keys_in, "OUTPUTS", len(outs), *keys_out
        ) == b"OK"
        want = {t["name"]: t for t in sample["outputs"]}
        for k, sig in enumerate(out_sig):
            check(r, f"out{k}", want[sig], m["atol"])


def test_meta_info_and_chunks(r):
    assert store(r, "m", "int_ops.tflite", "TAG", "v2") == b"OK"
    meta = r.execute_command("AI.MODELGET", "m", "META")
    assert meta[:6] == [b"backend", b"TFLITE", b"device", b"CPU", b"tag", b"v2"]
    assert r.execute_command("AI.MODELGET", "m", "BLOB") == blob("int_ops.tflite")
    assert r.info("ai")["ai_TensorFlowLite_version"] == "2.3.0"
    whole = blob("mlp.tflite")
    parts = [whole[i : i + 1000] for i in range(0, len(whole), 1000)]
    assert r.execute_command("AI.MODELSTORE", "c", "TFLITE", "CPU", "BLOB", *parts) == b"OK"
    assert r.execute_command("AI.MODELGET", "c", "BLOB") == whole


def test_errors_change_nothing(r, port):
    def err(*args):
        return raw_err(port, *args)

    assert err("AI.MODELSTORE", "m", "TFLITE", "CPU", "BLOB", b"garbage") == "Failed to load model from buffer"
    assert err("AI.MODELSTORE", "m", "TFLITE", "GPU", "BLOB", blob("mlp.tflite")) == "ERR Unsupported device"
    assert err("AI.MODELSET", "m", "TFLITE", "CPU", "BATCHSIZE", 2, "BLOB", blob("mlp.tflite")) == (
        "ERR Auto-batching not supported by the TFLITE backend"
    )
    assert err("AI.MODELSTORE", "m", "TFLITE", "CPU", "INPUTS", 1, "x", "BLOB", blob("mlp.tflite")) == (
        "ERR INPUTS argument should not be specified for this backend"
    )
    assert r.exists("m") == 0
    store(r, "m", "mlp.tflite")
    r.execute_command("AI.TENSORSET", "u", "UINT8", 1, 16)
    assert err("AI.MODELEXECUTE", "m", "INPUTS", 1, "u", "OUTPUTS", 1, "o") == (
        "Input tensor type doesn't match the type expected by the model definition"
    )
    r.execute_command("AI.TENSORSET", "f", "FLOAT", 1, 15)
    msg = err("AI.MODELEXECUTE", "m", "INPUTS", 1, "f", "OUTPUTS", 1, "o")
    assert msg in ("Failed to resize input tensors", "Failed to allocate tensors"), msg
    # the model still runs after a failed one
    r.execute_command("AI.TENSORSET", "x", "FLOAT", 1, 16)
    assert r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 1, "x", "OUTPUTS", 1, "o") == b"OK"
    assert r.exists("o") == 1
    assert r.execute_command("AI.INFO", "m")[12:18] == [b"samples", 1, b"calls", 3, b"errors", 2]


def test_input_of_another_rank_with_the_same_elements(r):
    """As RedisAI's interpreter resized it: [1,16] data fed as [1,1,16] or [16] runs."""
    m = EXPECTED["mlp.tflite"]
    s = next(s for s in m["samples"] if s["inputs"][0]["shape"][0] == 1)
    x = dict(s["inputs"][0])
    store(r, "m", "mlp.tflite")
    for shape in ([1, 1, 16], [16]):
        tensorset(r, "x", dict(x, shape=shape))
        assert r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 1, "x", "OUTPUTS", 1, "y") == b"OK"
        check(r, "y", s["outputs"][0], m["atol"])


def test_batching_gives_the_same_results(r):
    """MODELSTORE takes BATCHSIZE for TFLITE (MODELSET refuses it): requests of 1 row are run as
    one batch of the model's dynamic batch dim, and each gets its own row."""
    m = EXPECTED["mlp.tflite"]
    s = next(s for s in m["samples"] if s["inputs"][0]["shape"][0] == 1)
    store(r, "mb", "mlp.tflite", "BATCHSIZE", 8, "MINBATCHSIZE", 2, "MINBATCHTIMEOUT", 50)
    def client(c, i):
        for _ in range(10):
            tensorset(c, f"x{i}", s["inputs"][0])
            c.execute_command("AI.MODELEXECUTE", "mb", "INPUTS", 1, f"x{i}", "OUTPUTS", 1, f"y{i}")
            check(c, f"y{i}", s["outputs"][0], m["atol"])

    errors = in_threads(r, 6, client)
    assert errors == []
    info = r.execute_command("AI.INFO", "mb")
    assert info[12:18] == [b"samples", 60, b"calls", 60, b"errors", 0]


def test_the_flow_tests_mnist_gives_classes_and_probabilities(r):
    """The int8-weight MNIST stand-in of RedisAI's flow tests (rank-3 input fed as rank 4): an
    INT64 class that is the argmax of FLOAT probabilities summing to 1."""
    if not MNIST.exists():
        pytest.skip("../shared/acceptance/tf_data is not here")
    store_or_skip(r, "AI.MODELSTORE", "mnist", "TFLITE", "CPU", "BLOB", MNIST.read_bytes())
    img = [0.0] * 784
    for row in range(4, 24):
        for col in (13, 14):
            img[row * 28 + col] = 1.0
    r.execute_command("AI.TENSORSET", "img", "FLOAT", 1, 1, 28, 28, "BLOB", struct.pack("<784f", *img))
    assert r.execute_command("AI.MODELEXECUTE", "mnist", "INPUTS", 1, "img", "OUTPUTS", 2, "cls", "p") == b"OK"
    meta = r.execute_command("AI.TENSORGET", "cls", "META", "VALUES")
    assert meta[:4] == [b"dtype", b"INT64", b"shape", [1]]
    probs = struct.unpack("<10f", r.execute_command("AI.TENSORGET", "p", "BLOB"))
    assert abs(sum(probs) - 1) < 1e-3
    assert meta[5] == [probs.index(max(probs))]


def test_loadbackend_tflite_chooses_the_library(r):
    deps = Path(__file__).resolve().parents[2] / ".deps" / "backends" / "redisai_tflite"
    if not (deps / "libLiteRt.so").exists() and os.environ.get("CI") != "true":
        pytest.skip("LiteRT is not installed (scripts/bootstrap)")
    with pytest.raises(redis.ResponseError, match="error loading backend"):
        r.execute_command("AI.CONFIG", "LOADBACKEND", "TFLITE", "/nonexistent/libLiteRt.so")
    # RedisAI's own file name, relative to BACKENDSPATH
    assert r.execute_command("AI.CONFIG", "LOADBACKEND", "TFLITE", "redisai_tflite/redisai_tflite.so") == b"OK"
    assert r.info("ai")["ai_TensorFlowLite_version"] == "2.3.0"
    with pytest.raises(redis.ResponseError, match="error loading backend"):
        r.execute_command("AI.CONFIG", "LOADBACKEND", "TFLITE", str(deps / "libLiteRt.so"))
    assert store(r, "m", "mlp.tflite") == b"OK"


def test_backendspath_chooses_where_tflite_is_loaded_from(r, tmp_path):
    """The first TFLITE model loads `<BACKENDSPATH>/redisai_tflite/libLiteRt.so`: a folder
    without it fails the store, a folder with a link to it works."""
    deps = Path(__file__).resolve().parents[2] / ".deps" / "backends"
    lib = deps / "redisai_tflite" / "libLiteRt.so"
    if not lib.exists() and os.environ.get("CI") != "true":
        pytest.skip("LiteRT is not installed (scripts/bootstrap)")
    assert r.execute_command("AI.CONFIG", "BACKENDSPATH", str(tmp_path)) == b"OK"
    with pytest.raises(redis.ResponseError, match="Could not load backend"):
        store(r, "m", "mlp.tflite")
    (tmp_path / "redisai_tflite").mkdir()
    (tmp_path / "redisai_tflite" / "libLiteRt.so").symlink_to(lib)
    assert store(r, "m", "mlp.tflite") == b"OK"
    assert r.info("ai")["ai_TensorFlowLite_version"] == "2.3.0"
