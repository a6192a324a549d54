"""TF, TFLITE, TORCH and ONNX in one process: the standalone server, and redis-server / Valkey
with the module. TensorFlow exports thousands of unversioned protobuf and absl symbols; this
proves that it shares the process with libtorch, onnxruntime and LiteRT (and, inside
redis-server, with jemalloc), one run after another and all four at once."""

import struct


from conftest import in_threads, store_or_skip
from expected_tensors import FIXTURES, check, expected, tensorset

TF = expected("tf")["mlp.pb"]
TFLITE = expected("tflite")["mlp.tflite"]


def store_all(r):
    store_or_skip(r, "AI.MODELSTORE", "tf", "TF", "CPU", "INPUTS", 1, "x", "OUTPUTS", 1, "y",
                  "BLOB", (FIXTURES / "tf" / "mlp.pb").read_bytes())
    store_or_skip(r, "AI.MODELSTORE", "tflite", "TFLITE", "CPU",
                  "BLOB", (FIXTURES / "tflite" / "mlp.tflite").read_bytes())
    store_or_skip(r, "AI.MODELSTORE", "onnx", "ONNX", "CPU",
                  "BLOB", (FIXTURES / "onnx" / "mul.onnx").read_bytes())
    store_or_skip(r, "AI.MODELSTORE", "torch", "TORCH", "CPU",
                  "BLOB", (FIXTURES / "torch" / "pt-minimal.pt").read_bytes())


def one_sample(model):
    return next(s for s in model["samples"] if s["inputs"][0]["shape"][0] == 1)


def run_one(c, backend: str, tag: str):
    """Runs `backend`'s model once on keys suffixed `tag` and checks its result."""
    if backend in ("tf", "tflite"):
        model = TF if backend == "tf" else TFLITE
        s = one_sample(model)
        tensorset(c, f"x{tag}", s["inputs"][0])
        c.execute_command("AI.MODELEXECUTE", backend, "INPUTS", 1, f"x{tag}", "OUTPUTS", 1, f"y{tag}")
        check(c, f"y{tag}", s["outputs"][0], model["atol"])
        return
    c.execute_command("AI.TENSORSET", f"a{tag}", "FLOAT", 1, 2, "VALUES", 3, 4)
    c.execute_command("AI.MODELEXECUTE", backend, "INPUTS", 2, f"a{tag}", f"a{tag}", "OUTPUTS", 1, f"o{tag}")
    got = struct.unpack("<2f", c.execute_command("AI.TENSORGET", f"o{tag}", "BLOB"))
    assert list(got) == ([9.0, 16.0] if backend == "onnx" else [6.0, 8.0]), backend


def test_one_after_another(r):
    store_all(r)
    for round_ in range(3):
        for backend in ("tf", "tflite", "onnx", "torch"):
            run_one(r, backend, f"{backend}{round_}")
    info = r.info("ai")
    assert info["ai_TensorFlow_version"] == "2.21.0"
    assert "ai_TensorFlowLite_version" in info
    assert "ai_Torch_version" in info
    assert info["ai_onnxruntime_version"] == "1.31.1"


def test_all_four_at_once(r):
    store_all(r)
    backends = ["tf", "tflite", "onnx", "torch"] * 2

    def client(c, i):
        for _ in range(25):
            run_one(c, backends[i], f"{i}")

    errors = in_threads(r, len(backends), client)
    assert errors == []
    # A DAG that crosses all four runtimes in one request.
    s = one_sample(TF)
    tensorset(r, "x", s["inputs"][0])
    reply = r.execute_command(
        "AI.DAGEXECUTE", "LOAD", 1, "x",
        "|>", "AI.MODELEXECUTE", "tf", "INPUTS", 1, "x", "OUTPUTS", 1, "y_tf",
        "|>", "AI.MODELEXECUTE", "tflite", "INPUTS", 1, "x", "OUTPUTS", 1, "y_lite",
        "|>", "AI.MODELEXECUTE", "torch", "INPUTS", 2, "y_tf", "y_lite", "OUTPUTS", 1, "sum",
        "|>", "AI.TENSORSET", "p", "FLOAT", 1, 2, "VALUES", 3, 4,
        "|>", "AI.MODELEXECUTE", "onnx", "INPUTS", 2, "p", "p", "OUTPUTS", 1, "sq",
        "|>", "AI.TENSORGET", "sum", "BLOB",
        "|>", "AI.TENSORGET", "sq", "VALUES",
    )
    assert reply[:5] == [b"OK"] * 5
    # mlp.tflite has mlp.pb's weights: on the same input both give y (within float rounding)
    want = [2 * v for v in s["outputs"][0]["values"]]
    got = struct.unpack("<4f", reply[5])
    assert max(abs(a - b) for a, b in zip(got, want)) < 1e-5
    assert reply[6] == [b"9", b"16"]
