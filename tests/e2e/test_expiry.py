"""Key expiry: EXPIRE and its family, TTL and its family, SET/SETEX deadlines, RESTORE with a
TTL, on plain values (answered as Redis 7.0 answers, checked against a real redis-server) and
on tensors, models and scripts on every face; deadlines kept by snapshots, DEBUG RELOAD, the
append-only file and its rewrite; keys that expire without being read leave (active expiry).
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
import redis

from conftest import RespError, _start, store_or_skip

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ONNX = FIXTURES / "onnx"
TORCH = FIXTURES / "torch"
MISSING_TENSOR = "tensor key is empty or in a different shard"


def wait_gone(r, key: str, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while r.exists(key):
        assert time.monotonic() < deadline, f"{key} did not expire"
        time.sleep(0.02)


# ---- plain values, against Redis itself -------------------------------------------------------


def test_expire_family_answers_as_redis(any_srv):
    r = any_srv.client()
    r.set("k", "v")
    assert r.ttl("k") == -1 and r.pttl("k") == -1
    assert r.ttl("missing") == -2 and r.pttl("missing") == -2
    assert r.execute_command("EXPIRETIME", "k") == -1
    assert r.execute_command("EXPIRETIME", "missing") == -2
    assert r.expire("missing", 10) is False
    assert r.expire("k", 100) is True
    assert 99 <= r.ttl("k") <= 100 and 99_000 < r.pttl("k") <= 100_000
    # NX / XX / GT / LT
    assert r.execute_command("EXPIRE", "k", 50, "NX") == 0
    assert r.execute_command("EXPIRE", "k", 50, "GT") == 0
    assert r.execute_command("EXPIRE", "k", 200, "GT") == 1
    assert r.execute_command("EXPIRE", "k", 300, "LT") == 0
    assert r.execute_command("EXPIRE", "k", 150, "LT") == 1
    assert r.execute_command("EXPIRE", "k", 150, "xx") == 1
    at = int(time.time()) + 1000
    assert r.execute_command("EXPIREAT", "k", at) == 1
    assert r.execute_command("EXPIRETIME", "k") == at
    assert r.execute_command("PEXPIRETIME", "k") == at * 1000
    assert r.execute_command("PEXPIREAT", "k", at * 1000 + 5) == 1
    assert r.execute_command("PEXPIRETIME", "k") == at * 1000 + 5
    assert r.persist("k") is True and r.persist("k") is False and r.ttl("k") == -1
    assert r.execute_command("EXPIRE", "k", 10, "XX") == 0
    assert r.execute_command("EXPIRE", "k", 10, "GT") == 0
    assert r.execute_command("EXPIRE", "k", 10, "LT") == 1
    # A deadline in the past deletes at once.
    assert r.expire("k", -1) is True and r.exists("k") == 0
    r.set("k", "v")
    assert r.execute_command("PEXPIREAT", "k", 1) == 1 and r.get("k") is None
    for args, text in [
        (("EXPIRE", "k", "ten"), "value is not an integer or out of range"),
        (("EXPIRE", "k", 1, "NX", "XX"), "NX and XX, GT or LT options at the same time are not compatible"),
        (("EXPIRE", "k", 1, "GT", "LT"), "GT and LT options at the same time are not compatible"),
        (("EXPIRE", "k", 1, "SOON"), "Unsupported option SOON"),
        (("EXPIRE", "k", 2**62), "invalid expire time in 'expire' command"),
        (("PEXPIRE", "k", 2**63 - 1), "invalid expire time in 'pexpire' command"),
        (("EXPIRE", "k"), "wrong number of arguments for 'expire' command"),
        (("TTL",), "wrong number of arguments for 'ttl' command"),
    ]:
        with pytest.raises(redis.ResponseError) as e:
            r.execute_command(*args)
        assert str(e.value) == text, args


def test_set_and_setex_deadlines_answer_as_redis(any_srv):
    r = any_srv.client()
    assert r.set("a", "1", ex=100) is True and 99 <= r.ttl("a") <= 100
    assert r.set("a", "2", px=5000) is True and 4000 < r.pttl("a") <= 5000
    assert r.set("a", "3", keepttl=True) is True and 4000 < r.pttl("a") <= 5000
    assert r.set("a", "4") is True and r.ttl("a") == -1
    at = int(time.time()) + 500
    assert r.set("a", "5", exat=at) and r.execute_command("EXPIRETIME", "a") == at
    assert r.set("a", "6", pxat=at * 1000 + 7) and r.execute_command("PEXPIRETIME", "a") == at * 1000 + 7
    # NX that does not set leaves the deadline; GET answers the old value.
    assert r.set("a", "7", nx=True, ex=1) is None and r.execute_command("PEXPIRETIME", "a") == at * 1000 + 7
    assert r.set("a", "8", get=True, ex=50) == b"6" and r.ttl("a") == 50
    assert r.setex("b", 30, "x") is True and r.get("b") == b"x" and 29 <= r.ttl("b") <= 30
    assert r.psetex("b", 3000, "y") is True and 2000 < r.pttl("b") <= 3000
    r.execute_command("SET", "c", "v", "PX", 80)
    wait_gone(r, "c")
    for args, text in [
        (("SET", "a", "v", "EX", 0), "invalid expire time in 'set' command"),
        (("SET", "a", "v", "PX", -5), "invalid expire time in 'set' command"),
        (("SET", "a", "v", "EX", "soon"), "value is not an integer or out of range"),
        (("SET", "a", "v", "EX", 10, "PX", 10), "syntax error"),
        (("SET", "a", "v", "EX", 10, "KEEPTTL"), "syntax error"),
        (("SET", "a", "v", "EX"), "syntax error"),
        (("SETEX", "a", 0, "v"), "invalid expire time in 'setex' command"),
        (("PSETEX", "a", -1, "v"), "invalid expire time in 'psetex' command"),
        (("SETEX", "a", "x", "v"), "value is not an integer or out of range"),
    ]:
        with pytest.raises(redis.ResponseError) as e:
            r.execute_command(*args)
        assert str(e.value) == text, args
    assert r.get("a") == b"8"


def test_info_keyspace_counts_expires(any_srv):
    r = any_srv.client()
    r.set("a", "1")
    r.set("b", "2", ex=1000)
    db0 = r.info("keyspace")["db0"]
    assert db0["keys"] == 2 and db0["expires"] == 1
    assert 0 <= db0["avg_ttl"] <= 1_000_000  # Redis's is an estimate, 0 until sampled


def test_hash_and_list_writes_keep_the_deadline(any_srv):
    r = any_srv.client()
    r.hset("h", "f", "v")
    r.rpush("l", "a")
    r.expire("h", 100)
    r.expire("l", 100)
    r.hset("h", "g", "w")
    r.rpush("l", "b")
    assert r.ttl("h") > 0 and r.ttl("l") > 0
    r.delete("h")
    r.hset("h", "f", "v")
    assert r.ttl("h") == -1


def test_restore_with_a_ttl(any_srv):
    r = any_srv.client()
    r.set("src", "value")
    payload = r.dump("src")
    assert r.restore("d1", 5000, payload)
    assert 4000 < r.pttl("d1") <= 5000
    at = int(time.time() * 1000) + 60_000
    assert r.restore("d2", at, payload, absttl=True)
    assert r.execute_command("PEXPIRETIME", "d2") == at
    # A deadline already past: OK, and nothing is there (what REPLACE replaced is deleted).
    assert r.restore("d3", 1, payload, absttl=True)
    assert r.exists("d3") == 0
    assert r.restore("d2", 1, payload, replace=True, absttl=True)
    assert r.exists("d2") == 0
    with pytest.raises(redis.ResponseError, match="Invalid TTL value, must be >= 0"):
        r.restore("d4", -1, payload)


# ---- RedisAI values on every face ------------------------------------------------------------


def test_tensors_models_and_scripts_expire(srv):
    r = srv.client()
    r.execute_command("AI.TENSORSET", "t", "FLOAT", 1, 2, "VALUES", 2, 3)
    store_or_skip(r, "AI.MODELSTORE", "m", "ONNX", "CPU", "BLOB", (ONNX / "mul.onnx").read_bytes())
    r.execute_command("AI.SCRIPTSTORE", "s", "CPU", "ENTRY_POINTS", 1, "bar",
                      "SOURCE", (TORCH / "script.txt").read_text())
    for key in ("t", "m", "s"):
        assert r.pexpire(key, 150) is True
        assert 0 < r.pttl(key) <= 150
    time.sleep(0.4)
    assert r.exists("t", "m", "s") == 0
    with pytest.raises(redis.ResponseError, match=MISSING_TENSOR):
        r.execute_command("AI.TENSORGET", "t", "VALUES")
    with pytest.raises(redis.ResponseError, match="model key is empty"):
        r.execute_command("AI.MODELGET", "m", "META")
    with pytest.raises(redis.ResponseError, match="script key is empty"):
        r.execute_command("AI.SCRIPTGET", "s", "META")


def test_replacing_an_ai_value_drops_its_deadline(srv):
    """AI.TENSORSET, AI.MODELSTORE and a run's output replace the value, so the deadline goes
    with it (RedisModule_ModuleTypeSetValue deletes the key first)."""
    r = srv.client()
    r.execute_command("AI.TENSORSET", "a", "FLOAT", 1, 2, "VALUES", 2, 3)
    store_or_skip(r, "AI.MODELSTORE", "m", "ONNX", "CPU", "BLOB", (ONNX / "mul.onnx").read_bytes())
    r.execute_command("AI.TENSORSET", "out", "FLOAT", 1, "VALUES", 0)
    for key in ("a", "m", "out"):
        r.expire(key, 100)
    r.execute_command("AI.TENSORSET", "a", "FLOAT", 1, 2, "VALUES", 4, 5)
    r.execute_command("AI.MODELSTORE", "m", "ONNX", "CPU", "BLOB", (ONNX / "mul.onnx").read_bytes())
    assert r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "out") == b"OK"
    assert [r.ttl(k) for k in ("a", "m", "out")] == [-1, -1, -1]
    assert r.execute_command("AI.TENSORGET", "out", "VALUES") == [b"16", b"25"]


def test_a_run_does_not_see_an_expired_input(srv):
    r = srv.client()
    store_or_skip(r, "AI.MODELSTORE", "m", "ONNX", "CPU", "BLOB", (ONNX / "mul.onnx").read_bytes())
    r.execute_command("AI.TENSORSET", "a", "FLOAT", 1, 2, "VALUES", 2, 3, )
    r.pexpire("a", 50)
    time.sleep(0.2)
    with pytest.raises(redis.ResponseError, match=MISSING_TENSOR):
        r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "o")
    with pytest.raises(redis.ResponseError, match=MISSING_TENSOR):
        r.execute_command("AI.DAGEXECUTE", "LOAD", 1, "a", "|>", "AI.TENSORGET", "a", "VALUES")


# ---- deadlines kept by snapshots and the append-only file -----------------------------------


def deadlines(r, keys) -> dict:
    return {k: r.execute_command("PEXPIRETIME", k) for k in keys}


def write_expiring(r) -> dict:
    r.execute_command("AI.TENSORSET", "t", "FLOAT", 1, "VALUES", 1)
    r.execute_command("AI.SCRIPTSTORE", "s", "CPU", "ENTRY_POINTS", 1, "bar",
                      "SOURCE", (TORCH / "script.txt").read_text())
    r.set("plain", "v", ex=1000)
    r.expire("t", 2000)
    r.expire("s", 3000)
    r.execute_command("AI.TENSORSET", "soon", "FLOAT", 1, "VALUES", 1)
    r.pexpire("soon", 300)
    r.execute_command("AI.TENSORSET", "forever", "FLOAT", 1, "VALUES", 1)
    return deadlines(r, ["t", "s", "plain", "forever"])


def test_snapshots_keep_deadlines(srv):
    r = srv.client()
    before = write_expiring(r)
    assert r.save()
    assert srv.halt() == 0
    time.sleep(0.4)  # "soon" expires while the server is down
    srv.start()
    r = srv.client()
    assert deadlines(r, before) == before
    assert r.exists("soon") == 0
    assert r.execute_command("DEBUG", "RELOAD") == b"OK"
    assert deadlines(r, before) == before


@pytest.mark.parametrize("rewrite", [False, True])
def test_the_append_only_file_keeps_deadlines(face, rewrite):
    extra = ["--appendonly", "yes", "--appendfsync", "always"]
    if face != "redisai":
        extra += ["--aof-use-rdb-preamble", "no"]
    s = _start(face, extra=extra)
    try:
        r = s.client()
        before = write_expiring(r)
        payload = r.dump("t")
        assert r.restore("restored", 4000_000, payload)
        before["restored"] = r.execute_command("PEXPIRETIME", "restored")
        if rewrite:
            assert r.bgrewriteaof()
            deadline = time.monotonic() + 30
            while r.info("persistence")["aof_rewrite_in_progress"] or r.info("persistence")["aof_rewrite_scheduled"]:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        wait_gone(r, "soon")
        assert s.halt(signal.SIGKILL) == -signal.SIGKILL
        s.start()
        r = s.client()
        assert deadlines(r, before) == before
        assert r.exists("soon") == 0
    finally:
        s.stop()


def test_keys_nobody_reads_expire_and_reach_the_log_as_deletes(face):
    s = _start(face, extra=["--appendonly", "yes", "--appendfsync", "always"])
    try:
        r = s.client()
        for i in range(20):
            r.execute_command("AI.TENSORSET", f"t{i}", "FLOAT", 1, "VALUES", i)
            r.pexpire(f"t{i}", 100)
        deadline = time.monotonic() + 10
        while True:
            aof = b"".join(p.read_bytes() for p in Path(s.tmp).rglob("*.aof*") if p.is_file())
            # DEL, or UNLINK where lazyfree-lazy-expire is on (Valkey 8's default)
            if aof.count(b"$3\r\nDEL\r\n") + aof.count(b"$6\r\nUNLINK\r\n") >= 20:
                break
            assert time.monotonic() < deadline, "the expired keys were not deleted"
            time.sleep(0.1)
        assert r.dbsize() == 0
    finally:
        s.stop()
