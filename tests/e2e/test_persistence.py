"""Durability on every face: snapshots in Redis's RDB format (SAVE and restart, DEBUG RELOAD,
files that move between the standalone server and redis-server with the module), DUMP and
RESTORE, and the append-only file (rewrite, replay, kill -9 with appendfsync always).
"""

from __future__ import annotations

import signal
import struct
import time
from pathlib import Path

import pytest
import redis

from conftest import _start, store_or_skip

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ONNX = FIXTURES / "onnx"
TORCH = FIXTURES / "torch"
SCRIPT_EPS = ["bar", "two_outputs"]


def floats(b: bytes) -> list:
    return list(struct.unpack(f"<{len(b) // 4}f", b))


def populate(r):
    """A tensor of each kind, an ONNX and a TORCH model, a script with entry points and one
    without (AI.SCRIPTSET: the AOF rewrite must not lose it), outputs of a run."""
    r.execute_command("AI.TENSORSET", "a", "FLOAT", 1, 2, "VALUES", 2, 3)
    r.execute_command("AI.TENSORSET", "b", "FLOAT", 1, 2, "VALUES", 4, 5)
    r.execute_command("AI.TENSORSET", "s", "STRING", 3, "VALUES", "x", "", "yz")
    r.execute_command("AI.TENSORSET", "i8", "INT8", 2, 2, "VALUES", -1, 2, 3, -4)
    r.execute_command("AI.TENSORSET", "e", "FLOAT", 0, 4)
    store_or_skip(r, "AI.MODELSTORE", "onnx", "ONNX", "CPU", "TAG", "v1", "BLOB", (ONNX / "mul.onnx").read_bytes())
    store_or_skip(r, "AI.MODELSTORE", "batched", "ONNX", "CPU", "BATCHSIZE", 4, "MINBATCHSIZE", 2,
                  "MINBATCHTIMEOUT", 10, "BLOB", (ONNX / "mul_batch.onnx").read_bytes())
    store_or_skip(r, "AI.MODELSTORE", "pt", "TORCH", "CPU", "BLOB", (TORCH / "pt-minimal.pt").read_bytes())
    r.execute_command("AI.SCRIPTSTORE", "script", "CPU", "TAG", "t", "ENTRY_POINTS", len(SCRIPT_EPS), *SCRIPT_EPS,
                      "SOURCE", (TORCH / "script.txt").read_text())
    r.execute_command("AI.SCRIPTSET", "old", "CPU", "SOURCE", (TORCH / "script.txt").read_text())
    assert r.execute_command("AI.MODELEXECUTE", "onnx", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c") == b"OK"
    r.set("plain", "value")


def snapshot(r) -> dict:
    """What each key holds, as clients read it."""
    return {
        "a": r.execute_command("AI.TENSORGET", "a", "META", "BLOB"),
        "s": r.execute_command("AI.TENSORGET", "s", "META", "VALUES"),
        "i8": r.execute_command("AI.TENSORGET", "i8", "VALUES"),
        "e": r.execute_command("AI.TENSORGET", "e", "META", "BLOB"),
        "c": r.execute_command("AI.TENSORGET", "c", "VALUES"),
        "onnx": r.execute_command("AI.MODELGET", "onnx", "META", "BLOB"),
        "batched": r.execute_command("AI.MODELGET", "batched", "META"),
        "pt": r.execute_command("AI.MODELGET", "pt", "META", "BLOB"),
        "script": r.execute_command("AI.SCRIPTGET", "script", "META", "SOURCE"),
        "old": r.execute_command("AI.SCRIPTGET", "old", "META"),
        "plain": r.get("plain"),
        "types": [r.type(k) for k in ("a", "onnx", "script", "plain")],
    }


def check_runs(r):
    """Loaded models and scripts run, and report fresh AI.INFO counters."""
    assert r.execute_command("AI.INFO", "onnx")[14:16] == [b"calls", 0]
    assert r.execute_command("AI.MODELEXECUTE", "onnx", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c2") == b"OK"
    assert r.execute_command("AI.TENSORGET", "c2", "VALUES") == [b"8", b"15"]
    r.execute_command("AI.TENSORSET", "p", "FLOAT", 2, 2, "VALUES", 1, 2, 3, 4)
    assert r.execute_command("AI.MODELEXECUTE", "pt", "INPUTS", 2, "p", "p", "OUTPUTS", 1, "q") == b"OK"
    assert floats(r.execute_command("AI.TENSORGET", "q", "BLOB")) == [2, 4, 6, 8]
    assert r.execute_command("AI.SCRIPTEXECUTE", "script", "bar", "INPUTS", 2, "p", "p", "OUTPUTS", 1, "q") == b"OK"
    assert floats(r.execute_command("AI.TENSORGET", "q", "BLOB")) == [2, 4, 6, 8]
    assert r.execute_command("AI.SCRIPTRUN", "old", "add", "INPUTS", "p", "p", "OUTPUTS", "q") == b"OK"


def test_save_and_restart_keeps_everything(srv):
    r = srv.client()
    populate(r)
    before = snapshot(r)
    assert r.save()
    assert srv.halt() == 0
    srv.start()
    r = srv.client()
    assert snapshot(r) == before
    check_runs(r)


def test_debug_reload_keeps_everything(srv):
    r = srv.client()
    populate(r)
    before = snapshot(r)
    assert r.execute_command("DEBUG", "RELOAD") == b"OK"
    assert snapshot(r) == before
    check_runs(r)


def test_dump_restore_round_trips(srv, face):
    r = srv.client()
    populate(r)
    for key in ("a", "s", "e", "onnx", "pt", "script", "old"):
        payload = r.dump(key)
        assert r.restore(key + "_copy", 0, payload)
        with pytest.raises(redis.ResponseError, match="BUSYKEY"):
            r.restore(key + "_copy", 0, payload)
        assert r.restore(key + "_copy", 0, payload, replace=True)
        if face != "redisai":  # DEBUG DIGEST-VALUE is Redis's
            assert r.execute_command("DEBUG", "DIGEST-VALUE", key) == r.execute_command("DEBUG", "DIGEST-VALUE", key + "_copy")
    for kind, key in (("TENSORGET", "a"), ("TENSORGET", "s"), ("TENSORGET", "e"), ("MODELGET", "onnx"),
                      ("MODELGET", "pt"), ("SCRIPTGET", "script"), ("SCRIPTGET", "old")):
        meta = ["META", "BLOB"] if kind != "SCRIPTGET" else ["META", "SOURCE"]
        assert r.execute_command(f"AI.{kind}", key, *meta) == r.execute_command(f"AI.{kind}", key + "_copy", *meta)
    assert r.execute_command("AI.TENSORGET", "s_copy", "VALUES") == [b"x", b"", b"yz"]
    assert r.execute_command("AI.MODELEXECUTE", "onnx_copy", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "x") == b"OK"
    assert r.execute_command("AI.TENSORGET", "x", "VALUES") == [b"8", b"15"]
    # A RESTOREd model has its own counters, under its own name.
    assert r.execute_command("AI.INFO", "onnx_copy")[:2] == [b"key", b"onnx_copy"]
    with pytest.raises(redis.ResponseError, match="DUMP payload version or checksum are wrong"):
        r.restore("bad", 0, r.dump("a")[:-3] + b"xyz")



def test_plain_values_dump_and_restore(srv):
    r = srv.client()
    r.set("str", b"\x00binary\r\n")
    r.hset("h", mapping={"f1": "v1", "f2": "v2"})
    r.rpush("l", "a", "b", "c")
    for key in ("str", "h", "l"):
        assert r.restore(key + "2", 0, r.dump(key))
    assert r.get("str2") == b"\x00binary\r\n"
    assert r.hgetall("h2") == {b"f1": b"v1", b"f2": b"v2"}
    assert r.lrange("l2", 0, -1) == [b"a", b"b", b"c"]
    assert r.dump("missing") is None


def test_bgsave_lastsave_and_info_persistence(srv):
    r = srv.client()
    r.execute_command("AI.TENSORSET", "t", "FLOAT", 1, "VALUES", 1)
    info = r.info("persistence")
    assert info["rdb_changes_since_last_save"] >= 1
    before = r.lastsave()
    assert r.bgsave()
    import time

    deadline = time.monotonic() + 30
    while r.info("persistence")["rdb_bgsave_in_progress"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    info = r.info("persistence")
    assert info["rdb_last_bgsave_status"] == "ok"
    assert info["rdb_changes_since_last_save"] == 0
    assert r.lastsave() >= before
    assert (Path(srv.tmp) / "dump.rdb").exists()


@pytest.mark.parametrize("writer,reader", [("redisai", "module"), ("module", "redisai"),
                                           ("redisai", "valkey")])
def test_snapshots_move_between_faces(writer, reader):
    """A dump.rdb written by one face loads into the other, and everything in it works."""
    import shutil

    w = _start(writer)
    target = None
    try:
        r = w.client()
        populate(r)
        before = snapshot(r)
        assert r.save()
        target = _start(reader)
        target.halt()
        shutil.copy(Path(w.tmp) / "dump.rdb", Path(target.tmp) / "dump.rdb")
        target.start()
        rr = target.client()
        assert snapshot(rr) == before
        check_runs(rr)
    finally:
        w.stop()
        if target is not None:
            target.stop()


def test_a_broken_snapshot_stops_the_start(face):
    s = _start(face)
    try:
        r = s.client()
        populate(r)
        assert r.save()
        assert s.halt() == 0
        path = Path(s.tmp) / "dump.rdb"
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
        with pytest.raises(RuntimeError):
            s.start(timeout=10)
    finally:
        s.stop()


def test_a_newer_rdb_version_is_refused_with_its_reason():
    """Valkey 8 writes RDB version 11, which this server (Redis 7.0's version 10) does not read:
    it does not start on it, and says why."""
    import shutil

    w = _start("valkey")
    target = None
    try:
        r = w.client()
        r.set("k", "v")
        assert r.save()
        target = _start("redisai")
        target.halt()
        shutil.copy(Path(w.tmp) / "dump.rdb", Path(target.tmp) / "dump.rdb")
        with pytest.raises(RuntimeError, match="RDB version 11 is newer than this server reads"):
            target.start(timeout=10)
    finally:
        w.stop()
        if target is not None:
            target.stop()


@pytest.mark.parametrize("preamble", ["yes", "no"])
def test_aof_rewrite_and_restart_keep_everything(face, preamble):
    """`aof-use-rdb-preamble no` makes BGREWRITEAOF write commands (the types' aof_rewrite)."""
    if face == "redisai" and preamble == "yes":
        pytest.skip("the standalone server's rewrite writes commands only")
    extra = ["--appendonly", "yes"] + (["--aof-use-rdb-preamble", preamble] if face != "redisai" else [])
    s = _start(face, extra=extra)
    try:
        r = s.client()
        populate(r)
        before = snapshot(r)
        assert r.bgrewriteaof()
        deadline = time.monotonic() + 30
        while r.info("persistence")["aof_rewrite_in_progress"] or r.info("persistence")["aof_rewrite_scheduled"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert r.info("persistence")["aof_last_bgrewrite_status"] == "ok"
        if preamble == "no":
            aof = b"".join(p.read_bytes() for p in Path(s.tmp).rglob("*.aof*") if p.is_file())
            assert b"AI.MODELSTORE" in aof and b"AI.SCRIPTSET" in aof and b"AI.TENSORSET" in aof
        # The AOF, not an RDB, is what the restart reads.
        assert s.halt(signal.SIGKILL) == -signal.SIGKILL
        s.start()
        r = s.client()
        assert snapshot(r) == before
        check_runs(r)
    finally:
        s.stop()


def test_appendonly_survives_kill_9(face):
    """Every write acknowledged with appendfsync always is there after a SIGKILL, outputs of
    runs included (they reach the AOF as AI.TENSORSET)."""
    s = _start(face, extra=["--appendonly", "yes", "--appendfsync", "always"])
    try:
        r = s.client()
        store_or_skip(r, "AI.MODELSTORE", "m", "ONNX", "CPU", "BLOB", (ONNX / "mul.onnx").read_bytes())
        for i in range(50):
            r.execute_command("AI.TENSORSET", f"t{i}", "FLOAT", 1, 2, "VALUES", i, i + 1)
            r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, f"t{i}", f"t{i}", "OUTPUTS", 1, f"o{i}")
        assert s.halt(signal.SIGKILL) == -signal.SIGKILL
        s.start()
        r = s.client()
        for i in range(50):
            assert r.execute_command("AI.TENSORGET", f"o{i}", "VALUES") == [b"%d" % (i * i), b"%d" % ((i + 1) ** 2)]
        assert r.execute_command("AI.MODELGET", "m", "META")[:2] == [b"backend", b"ONNX"]
    finally:
        s.stop()


def test_kill_9_under_load_loses_no_acknowledged_write(face):
    """A client writes tensors, models and run outputs in a loop; the server is killed with
    SIGKILL at random moments, several rounds; after each restart (appendfsync always) every
    write the client saw acknowledged is there, byte for byte."""
    import random
    import threading

    rng = random.Random(7)
    s = _start(face, extra=["--appendonly", "yes", "--appendfsync", "always"])
    acked: dict[str, bytes] = {}
    try:
        r = s.client()
        store_or_skip(r, "AI.MODELSTORE", "m", "ONNX", "CPU", "BLOB", (ONNX / "mul.onnx").read_bytes())
        model_blob = r.execute_command("AI.MODELGET", "m", "BLOB")
        for round_ in range(4):
            stop = threading.Event()

            def writer():
                c = redis.Redis(host="127.0.0.1", port=s.port, socket_timeout=10)
                i = 0
                try:
                    while not stop.is_set():
                        key = f"r{round_}:t{i}"
                        blob = struct.pack("<2f", round_ * 1000 + i, i + 0.5)
                        c.execute_command("AI.TENSORSET", key, "FLOAT", 1, 2, "BLOB", blob)
                        acked[key] = blob
                        c.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, key, key, "OUTPUTS", 1, key + ":sq")
                        v = struct.unpack("<2f", blob)
                        acked[key + ":sq"] = struct.pack("<2f", v[0] * v[0], v[1] * v[1])
                        if i % 10 == 0:
                            c.execute_command("AI.MODELSTORE", f"r{round_}:m{i}", "ONNX", "CPU", "BLOB", model_blob)
                            acked[f"r{round_}:m{i}"] = model_blob
                        i += 1
                except (redis.ConnectionError, redis.TimeoutError):
                    pass  # killed: what was not acknowledged may be lost

            t = threading.Thread(target=writer)
            t.start()
            time.sleep(0.3 + rng.random() * 0.7)
            s.halt(signal.SIGKILL)
            stop.set()
            t.join(15)
            s.start()
            r = s.client()
            for key, want in acked.items():
                if ":m" in key:
                    assert r.execute_command("AI.MODELGET", key, "BLOB") == want, key
                else:
                    assert r.execute_command("AI.TENSORGET", key, "BLOB") == want, key
        assert len(acked) > 20
    finally:
        s.stop()


@pytest.mark.faces("redisai")
def test_a_cut_last_command_is_dropped_other_damage_stops_the_start(face):
    """Redis's aof-load-truncated: a log whose last command is cut (a crash while writing)
    loads without it; a log damaged elsewhere is refused. (Redis checks its own.)"""
    s = _start(face, extra=["--appendonly", "yes", "--appendfsync", "always"])
    try:
        r = s.client()
        r.execute_command("AI.TENSORSET", "kept", "INT32", 1, "VALUES", 7)
        assert s.halt() == 0
        aof = Path(s.tmp) / "appendonly.aof"
        good = aof.read_bytes()
        aof.write_bytes(good + b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$5\r\nab")
        s.start()
        r = s.client()
        assert r.execute_command("AI.TENSORGET", "kept", "VALUES") == [7]
        assert r.exists("x") == 0
        assert "short read while loading the AOF" in s.log()
        assert s.halt() == 0
        aof.write_bytes(b"garbage" + aof.read_bytes())
        with pytest.raises(RuntimeError, match="bad AOF format at byte 0"):
            s.start(timeout=10)
    finally:
        s.stop()
