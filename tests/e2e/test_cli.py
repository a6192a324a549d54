"""redis-cli (Debian's redis-tools 7.0) against redisai-server, as a person would use it.

redis-cli prints "raw" output when its stdout is not a terminal, so ``--no-raw`` is passed where the
formatted (interactive-looking) output is checked.
"""

from __future__ import annotations

import shutil
import struct
import subprocess

import pytest

from conftest import PASSWORD

pytestmark = pytest.mark.skipif(
    shutil.which("redis-cli") is None, reason="redis-cli is not installed (scripts/bootstrap installs it)"
)


def cli(port: int, *args, stdin: bytes | None = None, check: bool = True) -> bytes:
    proc = subprocess.run(
        ["redis-cli", "-p", str(port), *args],
        input=stdin if stdin is not None else b"",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        timeout=60,
    )
    if check:
        assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return proc.stdout


def test_tensorset_tensorget_formatted(port):
    assert cli(port, "--no-raw", "AI.TENSORSET", "my_tensor", "FLOAT", "2", "2", "VALUES", "1", "2", "3", "4") == b"OK\n"
    assert cli(port, "--no-raw", "AI.TENSORGET", "my_tensor", "META", "VALUES").decode() == (
        '1) "dtype"\n'
        '2) "FLOAT"\n'
        '3) "shape"\n'
        "4) 1) (integer) 2\n"
        "   2) (integer) 2\n"
        '5) "values"\n'
        '6) 1) "1"\n'
        '   2) "2"\n'
        '   3) "3"\n'
        '   4) "4"\n'
    )
    assert cli(port, "--no-raw", "AI.TENSORGET", "my_tensor", "META", "BLOB").decode() == (
        '1) "dtype"\n'
        '2) "FLOAT"\n'
        '3) "shape"\n'
        "4) 1) (integer) 2\n"
        "   2) (integer) 2\n"
        '5) "blob"\n'
        '6) "\\x00\\x00\\x80?\\x00\\x00\\x00@\\x00\\x00@@\\x00\\x00\\x80@"\n'
    )
    assert cli(port, "--no-raw", "TYPE", "my_tensor") == b"AI_TENSOR\n"


def test_string_tensor_formatted(port):
    cli(port, "AI.TENSORSET", "my_str_tensor", "STRING", "2", "2", "VALUES", "first", "second", "third", "fourth")
    assert cli(port, "--no-raw", "AI.TENSORGET", "my_str_tensor", "META", "BLOB").decode() == (
        '1) "dtype"\n'
        '2) "STRING"\n'
        '3) "shape"\n'
        "4) 1) (integer) 2\n"
        "   2) (integer) 2\n"
        '5) "blob"\n'
        '6) "first\\x00second\\x00third\\x00fourth\\x00"\n'
    )


def test_raw_output(port, face):
    cli(port, "AI.TENSORSET", "t", "DOUBLE", "3", "VALUES", "0.5", "4", "0.1")
    tenth = "0.1" if face == "valkey" else "0.10000000000000001"
    assert cli(port, "--raw", "AI.TENSORGET", "t", "VALUES") == f"0.5\n4\n{tenth}\n".encode()
    cli(port, "AI.TENSORSET", "i", "INT8", "2", "VALUES", "7", "8")
    assert cli(port, "--raw", "AI.TENSORGET", "i", "VALUES") == b"7\n8\n"
    assert cli(port, "--raw", "AI.TENSORGET", "i", "BLOB") == b"\x07\x08\n"
    assert cli(port, "--raw", "AI.TENSORGET", "i", "META") == b"dtype\nINT8\nshape\n2\n"
    assert cli(port, "--raw", "TYPE", "i") == b"AI_TENSOR\n"


def test_resp3_doubles(port):
    cli(port, "AI.TENSORSET", "f", "FLOAT", "2", "VALUES", "0.1", "4")
    assert cli(port, "-3", "--no-raw", "AI.TENSORGET", "f", "VALUES") == (
        b"1) (double) 0.10000000149011612\n2) (double) 4\n"
    )
    assert cli(port, "--no-raw", "AI.TENSORGET", "f", "VALUES") == b'1) "0.10000000149011612"\n2) "4"\n'


def test_errors(port):
    out = cli(port, "--no-raw", "AI.TENSORGET", "nokey")
    assert out == b"(error) ERR tensor key is empty or in a different shard\n"
    out = cli(port, "--no-raw", "AI.TENSORSET", "t", "FLOAT", "2", "VALUES", "1")
    assert out == b"(error) ERR wrong number of values was given in 'AI.TENSORSET' command\n"
    cli(port, "SET", "s", "v")
    out = cli(port, "--no-raw", "AI.TENSORGET", "s")
    assert out == b"(error) WRONGTYPE Operation against a key holding the wrong kind of value\n"
    out = cli(port, "--raw", "AI.TENSORGET", "nokey")
    assert out.startswith(b"ERR tensor key is empty or in a different shard\n")


def test_pipe_of_commands(port):
    """Several commands on stdin, one per line: redis-cli sends them in order on one connection."""
    commands = (
        b"AI.TENSORSET a INT8 2 VALUES 1 2\n"
        b"AI.TENSORGET a VALUES\n"
        b"TYPE a\n"
        b"AI.TENSORSET b FLOAT 2 VALUES 1.5 nope\n"
        b"AI.TENSORGET a META\n"
        b"DBSIZE\n"
        b"PING\n"
    )
    out = cli(port, stdin=commands)
    # raw mode prints an error reply followed by an empty line
    assert out.startswith(b"OK\n1\n2\nAI_TENSOR\nERR invalid value\n\n")
    assert out.endswith(b"dtype\nINT8\nshape\n2\n1\nPONG\n")
    out = cli(port, "--no-raw", stdin=b"AI.TENSORGET a VALUES\nEXISTS a b\n")
    assert out == b"1) (integer) 1\n2) (integer) 2\n(integer) 1\n"


def test_pipe_mode_mass_insert(port):
    """redis-cli --pipe: raw RESP on stdin, replies counted (it ends with an ECHO of its own)."""
    def enc(*args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        return out

    data = b"".join(enc("AI.TENSORSET", f"m{i}", "INT32", 2, "VALUES", i, i + 1) for i in range(500))
    data += enc("AI.TENSORSET", "bad", "NOTATYPE", 1)
    proc = subprocess.run(["redis-cli", "-p", str(port), "--pipe"], input=data, capture_output=True, timeout=60)
    text = proc.stdout.decode()
    assert "errors: 1, replies: 501" in text, text + proc.stderr.decode()
    assert cli(port, "--raw", "AI.TENSORGET", "m499", "VALUES") == b"499\n500\n"
    assert cli(port, "DBSIZE") == b"500\n"


def test_x_reads_blob_from_stdin(port):
    floats = struct.pack("<4f", 1.0, -2.0, 0.5, 3.25)
    assert cli(port, "-x", "AI.TENSORSET", "xb", "FLOAT", "2", "2", "BLOB", stdin=floats) == b"OK\n"
    assert cli(port, "--raw", "AI.TENSORGET", "xb", "VALUES") == b"1\n-2\n0.5\n3.25\n"
    # binary with NULs, newlines and high bytes, as STRING elements
    strings = b"a\nb\0\0\xff\xfe\0"
    assert cli(port, "-x", "AI.TENSORSET", "xs", "STRING", "3", "BLOB", stdin=strings) == b"OK\n"
    assert cli(port, "--no-raw", "AI.TENSORGET", "xs", "VALUES") == b'1) "a\\nb"\n2) ""\n3) "\\xff\\xfe"\n'
    # a blob whose size does not fit the shape
    out = cli(port, "-x", "AI.TENSORSET", "xbad", "FLOAT", "3", "BLOB", stdin=floats)
    assert out.startswith(b"ERR data length does not match tensor shape and type\n")


def test_generic_commands_via_cli(port):
    assert cli(port, "PING") == b"PONG\n"
    assert cli(port, "ECHO", "hi there") == b"hi there\n"
    assert cli(port, "SET", "k", "v") == b"OK\n"
    assert cli(port, "--no-raw", "GET", "k") == b'"v"\n'
    assert cli(port, "--no-raw", "GET", "nokey") == b"(nil)\n"
    assert cli(port, "HSET", "h", "f1", "a", "f2", "b") == b"2\n"
    # field order is not specified by Redis (and differs here): compare the pairs
    out = cli(port, "--no-raw", "HGETALL", "h").decode().splitlines()
    assert sorted(zip(out[::2], out[1::2])) == sorted(
        [('1) "f1"', '2) "a"'), ('3) "f2"', '4) "b"')] if out[0] == '1) "f1"' else
        [('1) "f2"', '2) "b"'), ('3) "f1"', '4) "a"')]
    )
    assert sorted(cli(port, "-3", "--no-raw", "HGETALL", "h").decode().splitlines()) in (
        ['1# "f1" => "a"', '2# "f2" => "b"'],
        ['1# "f2" => "b"', '2# "f1" => "a"'],
    )
    assert cli(port, "RPUSH", "l", "x", "y") == b"2\n"
    assert cli(port, "--no-raw", "LRANGE", "l", "0", "-1") == b'1) "x"\n2) "y"\n'
    assert cli(port, "--no-raw", "DBSIZE") == b"(integer) 3\n"
    assert cli(port, "--no-raw", "FOO", "a", "b") == (
        b"(error) ERR unknown command 'FOO', with args beginning with: 'a' 'b' \n"
    )
    info = cli(port, "INFO", "server").decode()
    assert info.startswith("# Server") and f"tcp_port:{port}" in info


def test_scan_via_cli(port):
    cli(port, "MSET", *[f"user:{i}" for i in range(300) for _ in (0, 1)])
    cli(port, "AI.TENSORSET", "tensor:1", "INT8", "1")
    out = cli(port, "--scan", "--pattern", "user:*").split()
    assert sorted(out) == sorted(f"user:{i}".encode() for i in range(300))
    assert cli(port, "--scan", "--pattern", "tensor:*") == b"tensor:1\n"


def test_cli_password(auth_srv):
    port = auth_srv.port
    out = cli(port, "--no-raw", "AI.TENSORGET", "t")
    assert out == b"(error) NOAUTH Authentication required.\n"
    out = cli(port, "--no-auth-warning", "-a", PASSWORD, "AI.TENSORSET", "t", "UINT16", "1", "VALUES", "65535")
    assert out == b"OK\n"
    out = cli(port, "--no-auth-warning", "-a", PASSWORD, "--raw", "AI.TENSORGET", "t", "VALUES")
    assert out == b"65535\n"
    proc = subprocess.run(
        ["redis-cli", "-p", str(port), "--no-auth-warning", "-a", "wrong", "PING"],
        capture_output=True,
        timeout=30,
    )
    assert b"WRONGPASS" in proc.stdout + proc.stderr
