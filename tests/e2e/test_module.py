"""What only the Redis module face has: DEBUG DIGEST-VALUE, replication to a replica, load-time
arguments, blocked clients that disconnect or outlive a SHUTDOWN, MULTI and Lua, Redis's memory
accounting. Each test runs in Debian's redis-server and in Valkey 8.1. Snapshots, DEBUG RELOAD
and DUMP/RESTORE, which every face has, are in test_persistence.py.
"""

from __future__ import annotations

import signal
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest
import redis

from conftest import FACES, ServerProc, _start, module_binary, store_or_skip
from test_persistence import ONNX, TORCH, check_runs, floats, populate, snapshot

pytestmark = pytest.mark.faces(*[f for f in FACES if f != "redisai"])


def test_digests_differ_when_values_differ(srv):
    r = srv.client()
    r.execute_command("AI.TENSORSET", "x", "FLOAT", 2, "VALUES", 1, 2)
    r.execute_command("AI.TENSORSET", "y", "FLOAT", 2, "VALUES", 1, 2)
    r.execute_command("AI.TENSORSET", "z", "FLOAT", 1, 2, "VALUES", 1, 2)
    digest = lambda k: r.execute_command("DEBUG", "DIGEST-VALUE", k)  # noqa: E731
    assert digest("x") == digest("y")
    assert digest("x") != digest("z")  # same data, another shape


def test_memory_usage_counts_the_data(srv):
    r = srv.client()
    r.execute_command("AI.TENSORSET", "big", "FLOAT", 256, 1024)
    assert r.memory_usage("big") >= 1024 * 1024
    store_or_skip(r, "AI.MODELSTORE", "m", "ONNX", "CPU", "BLOB", (ONNX / "mul.onnx").read_bytes())
    assert r.memory_usage("m") >= len((ONNX / "mul.onnx").read_bytes())


def test_replica_holds_the_same_values_and_runs_read_only(face):
    master = _start(face)
    replica = None
    try:
        r = master.client()
        populate(r)
        replica = _start(face, extra=["--replicaof", "127.0.0.1", str(master.port)])
        rr = replica.client()
        deadline = time.monotonic() + 30
        while rr.info("replication").get("master_link_status") != "up":
            assert time.monotonic() < deadline, replica.log()
            time.sleep(0.05)
        # After the full sync: runs reach the replica as their outputs only.
        assert r.execute_command("AI.MODELEXECUTE", "onnx", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "sq") == b"OK"
        assert r.execute_command(
            "AI.DAGEXECUTE", "LOAD", 1, "b", "PERSIST", 1, "d", "|>", "AI.MODELEXECUTE", "onnx", "INPUTS", 2, "b", "b",
            "OUTPUTS", 1, "d") == [b"OK"]
        r.execute_command("AI.TENSORSET", "late", "INT32", 1, "VALUES", 7)
        assert r.execute_command("WAIT", 1, 10000) == 1
        for key in ("a", "s", "e", "c", "sq", "d", "late", "onnx", "batched", "pt", "script", "old"):
            assert rr.execute_command("DEBUG", "DIGEST-VALUE", key) == r.execute_command("DEBUG", "DIGEST-VALUE", key), key
        assert rr.execute_command("AI.TENSORGET", "sq", "VALUES") == [b"4", b"9"]
        # The replica never ran the model: its counters are untouched.
        assert rr.execute_command("AI.INFO", "onnx")[14:16] == [b"calls", 0]
        with pytest.raises(redis.ReadOnlyError):
            rr.execute_command("AI.MODELEXECUTE", "onnx", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "x")
        with pytest.raises(redis.ReadOnlyError):
            rr.execute_command("AI.TENSORSET", "x", "FLOAT", 1)
        assert rr.execute_command(
            "AI.DAGEXECUTE_RO", "LOAD", 2, "a", "b", "|>", "AI.MODELEXECUTE", "onnx", "INPUTS", 2, "a", "b",
            "OUTPUTS", 1, "t", "|>", "AI.TENSORGET", "t", "VALUES") == [b"OK", [b"8", b"15"]]
        assert rr.execute_command("AI.INFO", "onnx")[14:16] == [b"calls", 1]
        # Deletes and new stores replicate as they are.
        r.execute_command("AI.MODELDEL", "pt")
        r.execute_command("AI.SCRIPTDEL", "old")
        assert r.execute_command("WAIT", 1, 10000) == 1
        assert rr.exists("pt", "old") == 0
    finally:
        if replica is not None:
            replica.stop()
        master.stop()


def long_run(r, key: str = "loop"):
    """An ONNX model that loops until MODEL_EXECUTION_TIMEOUT stops it."""
    store_or_skip(r, "AI.MODELSTORE", key, "ONNX", "CPU", "BLOB", (ONNX / "model_with_infinite_loop.onnx").read_bytes())
    r.execute_command("AI.TENSORSET", "outer", "FLOAT", 1, "VALUES", 1)
    r.execute_command("AI.TENSORSET", "iters", "INT64", 1, "VALUES", -1)
    r.execute_command("AI.TENSORSET", "cond", "BOOL", 1, "VALUES", 1)
    r.execute_command("AI.TENSORSET", "state", "FLOAT", 1, "VALUES", 0)
    return ["AI.MODELEXECUTE", key, "INPUTS", 4, "outer", "iters", "cond", "state", "OUTPUTS", 2, "o1", "o2"]


def send_and_leave(port: int, *args) -> None:
    """Sends a command and closes the connection without reading the reply."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        parts = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
        sock.sendall(b"".join(parts))


def test_client_disconnect_during_a_run_is_harmless(face):
    """RedisAI issue 197: the C module crashed when a blocked client went away."""
    s = _start(face, extra=["--model-execution-timeout", "1000"])
    try:
        r = s.client()
        run = long_run(r)
        for _ in range(3):
            send_and_leave(s.port, *run)
        time.sleep(0.2)
        # The server serves others meanwhile, and after the runs end.
        assert r.ping()
        # The runs end one after another, each stopped by the 1 s kill switch.
        deadline = time.monotonic() + 20
        while r.execute_command("AI.INFO", "loop")[15] < 3:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert r.ping()
        assert r.execute_command("AI.INFO", "loop")[14:18] == [b"calls", 3, b"errors", 3]
        assert r.exists("o1", "o2") == 0
        assert s.alive()
    finally:
        s.stop()


def test_flushall_and_modeldel_during_a_run_are_harmless(face):
    s = _start(face, extra=["--model-execution-timeout", "1000"])
    try:
        r = s.client()
        run = long_run(r)
        replies = []
        t = threading.Thread(target=lambda: replies.append(
            _reply_or_error(s.client(), run)))
        t.start()
        time.sleep(0.2)
        assert r.execute_command("AI.MODELDEL", "loop") == b"OK"
        assert r.flushall()
        t.join(10)
        assert replies and "terminate flag" in str(replies[0])
        assert r.dbsize() == 0
        assert s.alive()
    finally:
        s.stop()


def _reply_or_error(c, args):
    try:
        return c.execute_command(*args)
    except redis.ResponseError as e:
        return e


def test_shutdown_with_queued_runs_is_clean(face):
    s = _start(face, extra=["--model-execution-timeout", "1000", "--save", "3600 1"])
    try:
        r = s.client()
        run = long_run(r)
        r.execute_command("AI.TENSORSET", "kept", "INT32", 1, "VALUES", 5)
        for _ in range(4):
            send_and_leave(s.port, *run)
        time.sleep(0.1)
        try:
            r.shutdown()
        except redis.ConnectionError:
            pass  # the server closed the connection as it exited
        assert s.proc.wait(timeout=30) == 0
        assert "crashed" not in s.log() and "Segmentation" not in s.log()
        s.start()
        assert s.client().execute_command("AI.TENSORGET", "kept", "VALUES") == [5]
    finally:
        s.stop()


def test_runs_are_refused_in_multi_and_lua_but_stores_work(srv):
    r = srv.client()
    store_or_skip(r, "AI.MODELSTORE", "m", "ONNX", "CPU", "BLOB", (ONNX / "mul.onnx").read_bytes())
    p = r.pipeline(transaction=True)
    p.execute_command("AI.TENSORSET", "a", "FLOAT", 1, 2, "VALUES", 1, 2)
    p.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "b")
    replies = p.execute(raise_on_error=False)
    assert replies[0] == b"OK"
    assert "Cannot run RedisAI command within a transaction or a LUA script" in str(replies[1])
    with pytest.raises(redis.ResponseError, match="Cannot run RedisAI command within a transaction or a LUA script"):
        r.eval("return redis.call('AI.MODELEXECUTE', 'm', 'INPUTS', 2, 'a', 'a', 'OUTPUTS', 1, 'b')", 0)
    assert r.eval("return redis.call('AI.TENSORGET', 'a', 'VALUES')", 0) == [b"1", b"2"]


def test_scripts_call_redis_as_their_user_and_replicate(face):
    """redis.execute runs as the client's ACL user (a user without SET cannot SET through a
    script either), and what it writes reaches the AOF."""
    s = _start(face, extra=["--appendonly", "yes"])
    try:
        admin = s.client()
        admin.execute_command("AI.SCRIPTSTORE", "rs", "CPU", "ENTRY_POINTS", 1, "set_get", "SOURCE",
                              (TORCH / "redis_scripts.txt").read_text())
        admin.execute_command("ACL", "SETUSER", "limited", "on", ">pw", "~*", "+@all", "-set")
        admin.execute_command("AI.TENSORSET", "t", "FLOAT", 1, "VALUES", 1)
        run = ["AI.SCRIPTEXECUTE", "rs", "set_get", "KEYS", 1, "mine:k", "INPUTS", 1, "t", "ARGS", 1, "42",
               "OUTPUTS", 1, "t"]
        assert admin.execute_command(*run) == b"OK"
        assert admin.get("mine:k") == b"42"
        limited = s.client(username="limited", password="pw")
        admin.delete("mine:k")
        with pytest.raises(redis.ResponseError, match="Redis command returned an error"):
            limited.execute_command(*run)
        assert admin.exists("mine:k") == 0
        aof = b"".join(p.read_bytes() for p in Path(s.tmp).rglob("*.aof*") if p.is_file())
        assert b"mine:k" in aof
    finally:
        s.stop()


@pytest.mark.parametrize("args,text", [
    (["THREADS_PER_QUEUE"], "Even number of arguments provided to module. Please provide arguments as KEY VAL pairs"),
    (["THREADS_PER_QUEUE", "0"], "ERR error processing argument: THREADS_PER_QUEUE 0"),
    (["MODEL_EXECUTION_TIMEOUT", "999"], "ERR error processing argument: MODEL_EXECUTION_TIMEOUT 999"),
    (["NO_SUCH_OPTION", "1"], "ERR error processing argument: NO_SUCH_OPTION 1"),
    (["BACKEND_MEMORY_LIMIT", "0"], "ERR error processing argument: BACKEND_MEMORY_LIMIT 0"),
    (["ONNX", "/no/such/libonnxruntime.so"], "could not load the ONNX backend"),
])
def test_bad_load_time_arguments_fail_the_load(face, args, text):
    from conftest import free_port

    s = ServerProc(face)
    argv = s._argv(free_port())
    argv = argv[: argv.index("--loadmodule") + 2] + args
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=60, cwd=s.tmp)
        assert proc.returncode != 0
        assert text in proc.stdout.decode(errors="replace")
    finally:
        s.stop()


def test_load_time_arguments_reach_the_engine(face):
    s = ServerProc(face)
    try:
        s.extra = []
        argv_of = s._argv

        def with_args(port):
            return argv_of(port) + ["THREADS_PER_QUEUE", "3", "BACKENDSPATH", str(module_binary().parent),
                                    "ONNX", str(Path(__file__).resolve().parents[2] / ".deps/backends/redisai_onnxruntime/libonnxruntime.so")]

        s._argv = with_args
        s.start()
        info = s.client().info("ai")
        assert info["ai_threads_per_queue"] == 3
        assert info["ai_onnxruntime_version"] == "1.31.1"
        assert s.client().execute_command("AI.CONFIG", "GET", "BACKENDSPATH") == str(module_binary().parent).encode()
        assert "ai_queue_CPU_bthread_n3_used_cpu_total" in info
    finally:
        s.stop()


def test_commands_are_declared_as_core_declares_them(srv):
    with srv.raw() as c:
        replies = c.cmd("COMMAND", "INFO", "AI.TENSORSET", "AI.MODELEXECUTE", "AI.DAGEXECUTE_RO", "AI.CONFIG",
                        "AI.TENSORGET")
    info = {c[0]: c for c in replies}
    assert set(info[b"ai.tensorset"][2]) >= {"write", "denyoom", "module"}
    assert set(info[b"ai.modelexecute"][2]) >= {"write", "denyoom", "module", "movablekeys"}
    assert set(info[b"ai.dagexecute_ro"][2]) >= {"readonly", "module", "movablekeys"}
    assert set(info[b"ai.tensorget"][2]) >= {"readonly", "module"}
    assert info[b"ai.tensorget"][3:6] == [1, 1, 1]
    assert info[b"ai.config"][3:6] == [0, 0, 0]


def test_used_memory_counts_tensors_and_maxmemory_refuses_more(face):
    """Tensors live in Redis's allocator: used_memory sees them, and past maxmemory the
    deny-oom AI commands are refused as Redis refuses SET."""
    s = _start(face, extra=["--maxmemory", "64mb", "--maxmemory-policy", "noeviction"])
    try:
        r = s.client()
        before = r.info("memory")["used_memory"]
        r.execute_command("AI.TENSORSET", "big", "FLOAT", 64, 1024, 256)  # 64 MiB of zeros
        after = r.info("memory")["used_memory"]
        assert after - before >= 64 * 1024 * 1024
        with pytest.raises(redis.exceptions.OutOfMemoryError):
            r.execute_command("AI.TENSORSET", "more", "FLOAT", 1)
        r.delete("big")
        assert r.info("memory")["used_memory"] < before + 8 * 1024 * 1024
        assert r.execute_command("AI.TENSORSET", "more", "FLOAT", 1) == b"OK"
    finally:
        s.stop()
