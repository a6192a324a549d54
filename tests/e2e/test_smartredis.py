"""SmartRedis (CrayLabs' client of SmartSim, PyPI `smartredis`) unchanged against every face, and
in cluster mode against a Redis Cluster of the module, where it stores a model and a script on
every shard and moves a run's inputs to one slot itself."""

from __future__ import annotations

import os

import pytest

from conftest import FACES
from test_persistence import ONNX
from test_scaleout import Cluster

np = pytest.importorskip("numpy")
smartredis = pytest.importorskip("smartredis")

os.environ.setdefault("SR_LOG_LEVEL", "QUIET")

SCRIPT = "def add(a, b):\n    return a + b\n"


def client(port: int, cluster: bool = False):
    return smartredis.Client(cluster=cluster, address=f"127.0.0.1:{port}", logger_name="e2e")


def test_smartredis_tensors_models_and_scripts(srv):
    c = client(srv.port)
    x = np.array([[2, 3]], dtype=np.float32)
    c.put_tensor("x", x)
    assert c.get_tensor("x").tolist() == x.tolist()
    ints = np.arange(6, dtype=np.int64).reshape(2, 3)
    c.put_tensor("ints", ints)
    got = c.get_tensor("ints")
    assert (got.dtype, got.tolist()) == (np.int64, ints.tolist())
    assert c.tensor_exists("x") and not c.tensor_exists("nosuch")

    c.set_model_from_file("m", str(ONNX / "mul.onnx"), "ONNX", device="CPU")
    assert c.model_exists("m")
    assert bytes(c.get_model("m")) == (ONNX / "mul.onnx").read_bytes()
    c.run_model("m", inputs=["x", "x"], outputs=["y"])
    assert c.get_tensor("y").tolist() == [[4.0, 9.0]]

    c.set_script("s", SCRIPT, device="CPU")
    assert c.get_script("s") == SCRIPT
    c.run_script("s", "add", ["x", "y"], ["z"])
    assert c.get_tensor("z").tolist() == [[6.0, 12.0]]

    c.delete_model("m")
    c.delete_script("s")
    assert not c.model_exists("m")
    with pytest.raises(smartredis.error.RedisReplyError):
        c.run_model("m", inputs=["x", "x"], outputs=["y"])


@pytest.mark.faces(*[f for f in FACES if f != "redisai"])
def test_smartredis_in_cluster_mode(face):
    cl = Cluster(face)
    try:
        c = client(cl.live()[0].port, cluster=True)
        for i in range(8):
            c.put_tensor(f"x{i}", np.array([[i, i + 1]], dtype=np.float32))
        # One copy of the model and the script per shard, under a tag that shard owns.
        c.set_model_from_file("m", str(ONNX / "mul.onnx"), "ONNX", device="CPU")
        c.set_script("s", SCRIPT, device="CPU")
        for master in cl.masters():
            assert len(master.client().execute_command("AI._MODELSCAN")) == 1
            assert len(master.client().execute_command("AI._SCRIPTSCAN")) == 1
        for i in range(8):
            c.run_model("m", inputs=[f"x{i}", f"x{i}"], outputs=[f"y{i}"])
            assert c.get_tensor(f"y{i}").tolist() == [[i * i, (i + 1) * (i + 1)]]
        # Inputs on two shards: the client copies them to the script's shard first.
        assert cl.owner("x0").port != cl.owner("x3").port
        c.run_script("s", "add", ["x0", "x3"], ["z"])
        assert c.get_tensor("z").tolist() == [[3.0, 5.0]]
        c.delete_model("m")
        assert not c.model_exists("m")
        for master in cl.masters():
            assert master.client().execute_command("AI._MODELSCAN") == []
    finally:
        cl.stop()
