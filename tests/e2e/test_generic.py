"""The generic (non-AI) commands of the embedded server.

Most tests take ``any_srv`` and so run twice: against redisai-server and against a real
redis-server 7.0 started the same way (``--databases 1``, no persistence). The expected values are
what Redis 7.0 replies; a test passing on both proves the shapes and texts match.
"""

from __future__ import annotations

import time

import pytest
import redis

from conftest import PASSWORD, Map, RawConn, RespError, Status, raw_err

# The tests that take ``srv`` test the standalone server's own answers to Redis commands; on the
# module faces Redis itself answers them.
pytestmark = pytest.mark.faces("redisai")


def conn(s, proto: int = 2) -> RawConn:
    c = s.raw()
    if proto == 3:
        hello = c.cmd("HELLO", "3")
        assert isinstance(hello, Map), hello
    return c


def as_dict(pairs):
    return {k: v for k, v in pairs}


# ---- PING / ECHO / unknown commands / connection robustness ----------------------------------


def test_ping(any_srv):
    with conn(any_srv) as c:
        assert c.cmd("PING") == Status("PONG")
        assert isinstance(c.cmd("PING"), Status)
        assert c.cmd("ping", "hello") == b"hello"
        assert c.cmd("PING", "a", "b") == RespError("ERR wrong number of arguments for 'ping' command")
    r = any_srv.client()
    assert r.ping() is True


def test_ping_resp3(any_srv):
    with conn(any_srv, 3) as c:
        assert c.cmd("PING") == Status("PONG")
        assert c.cmd("PING", "x") == b"x"


def test_echo(any_srv):
    with conn(any_srv) as c:
        assert c.cmd("ECHO", "hello world") == b"hello world"
        assert c.cmd("ECHO", b"\x00\xff\r\n") == b"\x00\xff\r\n"
        assert c.cmd("ECHO", "") == b""
        assert c.cmd("ECHO") == RespError("ERR wrong number of arguments for 'echo' command")
        assert c.cmd("ECHO", "a", "b") == RespError("ERR wrong number of arguments for 'echo' command")
    assert any_srv.client().echo("x") == b"x"


def test_unknown_command_text(any_srv):
    assert raw_err(any_srv.port, "FOO", "a", "b") == (
        "ERR unknown command 'FOO', with args beginning with: 'a' 'b' "
    )
    assert raw_err(any_srv.port, "foo") == "ERR unknown command 'foo', with args beginning with: "


def test_unknown_command_long_args_are_truncated(any_srv):
    text = raw_err(any_srv.port, "NOPE", "x" * 200, "y" * 10)
    # Redis 7.0 stops adding arguments once the list reaches 128 characters, and cuts each one
    # to what remains of the 128.
    assert text == "ERR unknown command 'NOPE', with args beginning with: '" + "x" * 128 + "' "


def test_error_keeps_connection_open(any_srv):
    with conn(any_srv) as c:
        assert isinstance(c.cmd("FOO", "a", "b"), RespError)
        assert c.cmd("PING") == "PONG"
        assert isinstance(c.cmd("GET"), RespError)
        assert c.cmd("PING") == "PONG"
        assert isinstance(c.cmd("AI.TENSORGET", "nosuchkey"), (RespError,))
        assert c.cmd("PING") == "PONG"
    r = any_srv.client()
    with pytest.raises(redis.ResponseError):
        r.execute_command("FOO", "a", "b")
    assert r.ping() is True


def test_inline_commands(any_srv):
    """Telnet-style inline commands (no RESP framing) work, as in Redis."""
    with conn(any_srv) as c:
        c.send_raw(b"PING\r\n")
        assert c.read() == "PONG"
        c.send_raw(b"ECHO   hi\r\n")
        assert c.read() == b"hi"
        c.send_raw(b"SET  k \"a b\"\r\nGET k\n")
        assert c.read() == "OK"
        assert c.read() == b"a b"


def test_commands_split_into_single_bytes(any_srv):
    """A command may arrive a byte at a time (slow client / tiny TCP segments)."""
    with conn(any_srv) as c:
        data = RawConn.encode("SET", "k", "x" * 1000) + RawConn.encode("GET", "k") + b"PING\r\n"
        for i in range(len(data)):
            c.send_raw(data[i : i + 1])
        assert c.read() == "OK"
        assert c.read() == b"x" * 1000
        assert c.read() == "PONG"


def test_large_bulks_arriving_slowly_pipelined_or_not_last(any_srv):
    """Large bulks are complete only when their last byte is there, whatever the pieces: sent
    slowly, followed by more arguments, pipelined, one byte over the size from which our server
    waits for the rest of a bulk in one go, and a client that stalls mid-bulk still gets served
    once it goes on."""
    big, other = bytes(range(256)) * 1200, b"y" * (64 * 1024 + 1)
    with conn(any_srv) as c:
        data = RawConn.encode("HSET", "h", "a", big, "b", "x")
        for at in range(0, len(data), 70_000):
            c.send_raw(data[at : at + 70_000])
            time.sleep(0.02)
        assert c.read() == 2
        assert c.cmd("HGET", "h", "a") == big
        assert c.pipeline([("SET", "k1", big), ("SET", "k2", other), ("GET", "k2")]) == [
            "OK",
            "OK",
            other,
        ]
        data = RawConn.encode("SET", "k3", other)
        c.send_raw(data[:1000])
        time.sleep(0.1)
        c.send_raw(data[1000:-3])
        c.sock.settimeout(0.3)
        with pytest.raises((TimeoutError, OSError)):
            c.sock.recv(1)
        c.sock.settimeout(30)
        c.send_raw(data[-3:])
        assert c.read() == "OK"
        assert c.cmd("GET", "k3") == other
        # The rest of a last argument, all sent after the server learnt its size.
        data = RawConn.encode("SET", "k4", big)
        c.send_raw(data[:1000])
        time.sleep(0.1)
        c.sock.settimeout(5)
        c.send_raw(data[1000:])
        assert c.read() == "OK"
        assert c.cmd("PING") == "PONG"


def test_client_vanishing_mid_command(any_srv):
    """A client that disconnects in the middle of a bulk string does not disturb the server."""
    for partial in (b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\nabc", b"*2\r\n$4\r\nEC", b"PIN"):
        c = conn(any_srv)
        c.send_raw(partial)
        c.close()
    with conn(any_srv) as c:
        assert c.cmd("PING") == "PONG"
        assert c.cmd("EXISTS", "k") == 0


def test_protocol_error_closes_connection(any_srv):
    with conn(any_srv) as c:
        c.send_raw(b"*1\r\n$abc\r\n")
        assert c.read() == RespError("ERR Protocol error: invalid bulk length")
        assert c.is_closed()
    with conn(any_srv) as c:
        c.send_raw(b"*abc\r\n")
        assert c.read() == RespError("ERR Protocol error: invalid multibulk length")
        assert c.is_closed()
    with conn(any_srv) as c:
        c.send_raw(b"*1\r\n$536870913\r\n")  # over proto-max-bulk-len
        assert c.read() == RespError("ERR Protocol error: invalid bulk length")
        assert c.is_closed()


@pytest.mark.parametrize("any_srv", ["redisai", "redis"], indirect=True)
def test_empty_and_null_multibulk_are_ignored(any_srv):
    with conn(any_srv) as c:
        c.send_raw(b"*0\r\n*-1\r\n" + RawConn.encode("PING"))
        assert c.read() == "PONG"


@pytest.mark.parametrize("any_srv", ["redisai", "redis"], indirect=True)
def test_inline_quoting_escapes(any_srv):
    """Inline commands split arguments as redis-cli/sdssplitargs: \\xHH and \\n in double quotes,
    nothing in single quotes."""
    with conn(any_srv) as c:
        c.send_raw(b'ECHO "\\x41\\x00\\t\\n"\r\n')
        assert c.read() == b"A\x00\t\n"
        c.send_raw(b"ECHO 'a\\nb'\r\n")
        assert c.read() == b"a\\nb"


@pytest.mark.parametrize("any_srv", ["redisai", "redis"], indirect=True)
def test_hello_setname_validates_the_name(any_srv):
    with conn(any_srv) as c:
        assert c.cmd("HELLO", "3", "SETNAME", "a b") == RespError(
            "ERR Client names cannot contain spaces, newlines or special characters."
        )
        assert c.cmd("CLIENT", "GETNAME") is None


def test_concurrent_clients(any_srv):
    import threading

    errors = []

    def worker(n):
        try:
            r = any_srv.client()
            for i in range(300):
                r.set(f"w{n}:{i}", i)
                assert r.get(f"w{n}:{i}") == str(i).encode()
                r.hset(f"h{n}", str(i), i)
            assert len(r.hgetall(f"h{n}")) == 300
        except Exception as e:  # pragma: no cover - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert any_srv.client().dbsize() == 8 * 300 + 8


def test_pipelined_raw(any_srv):
    with conn(any_srv) as c:
        cmds = [("SET", f"k{i}", str(i)) for i in range(200)] + [("GET", f"k{i}") for i in range(200)]
        replies = c.pipeline(cmds)
        assert replies[:200] == ["OK"] * 200
        assert replies[200:] == [str(i).encode() for i in range(200)]


def test_redis_py_pipeline_1000(any_srv):
    r = any_srv.client()
    p = r.pipeline(transaction=False)
    for i in range(1000):
        p.set(f"key:{i}", i)
    for i in range(1000):
        p.get(f"key:{i}")
    out = p.execute()
    assert out[:1000] == [True] * 1000
    assert out[1000:] == [str(i).encode() for i in range(1000)]
    assert r.dbsize() == 1000


# ---- HELLO / AUTH / SELECT / CLIENT -------------------------------------------------------


def test_hello_2(any_srv):
    with conn(any_srv) as c:
        reply = c.cmd("HELLO", "2")
        assert isinstance(reply, list) and len(reply) == 14
        fields = dict(zip(reply[::2], reply[1::2]))
        assert list(fields) == [b"server", b"version", b"proto", b"id", b"mode", b"role", b"modules"]
        assert fields[b"proto"] == 2
        assert isinstance(fields[b"id"], int)
        assert fields[b"mode"] == b"standalone"
        assert fields[b"role"] == b"master"
        assert isinstance(fields[b"modules"], list)
        assert isinstance(fields[b"version"], bytes)


def test_hello_3(any_srv):
    with conn(any_srv) as c:
        reply = c.cmd("HELLO", "3")
        assert isinstance(reply, Map)
        fields = as_dict(reply)
        assert list(fields) == [b"server", b"version", b"proto", b"id", b"mode", b"role", b"modules"]
        assert fields[b"proto"] == 3
        # the connection now speaks RESP3: a map for HGETALL
        c.cmd("HSET", "h", "f", "v")
        assert c.cmd("HGETALL", "h") == Map([(b"f", b"v")])
        # and back
        assert isinstance(c.cmd("HELLO", "2"), list)
        assert c.cmd("HGETALL", "h") == [b"f", b"v"]


def test_hello_no_args_and_errors(any_srv):
    with conn(any_srv) as c:
        reply = c.cmd("HELLO")
        assert isinstance(reply, list) and reply[4:6] == [b"proto", 2]
        assert c.cmd("HELLO", "4") == RespError("NOPROTO unsupported protocol version")
        assert c.cmd("HELLO", "1") == RespError("NOPROTO unsupported protocol version")
        assert c.cmd("HELLO", "x") == RespError("ERR Protocol version is not an integer or out of range")


def test_hello_setname(any_srv):
    with conn(any_srv) as c:
        assert isinstance(c.cmd("HELLO", "2", "SETNAME", "myname"), list)
        assert c.cmd("CLIENT", "GETNAME") == b"myname"


def test_auth_without_password_configured(any_srv):
    assert raw_err(any_srv.port, "AUTH", "x") == (
        "ERR AUTH <password> called without any password configured for the default user. "
        "Are you sure your configuration is correct?"
    )


def test_auth_required(any_auth_srv):
    with any_auth_srv.raw() as c:
        assert c.cmd("PING") == RespError("NOAUTH Authentication required.")
        assert c.cmd("GET", "x") == RespError("NOAUTH Authentication required.")
        # Redis looks the command up before checking authentication
        assert c.cmd("FOO", "x") == RespError("ERR unknown command 'FOO', with args beginning with: 'x' ")
        assert c.cmd("AUTH", "bad") == RespError(
            "WRONGPASS invalid username-password pair or user is disabled."
        )
        assert c.cmd("AUTH", "default", "bad") == RespError(
            "WRONGPASS invalid username-password pair or user is disabled."
        )
        assert c.cmd("AUTH", "a", "b", "c") == RespError("ERR syntax error")
        assert c.cmd("PING") == RespError("NOAUTH Authentication required.")
        assert c.cmd("AUTH", PASSWORD) == "OK"
        assert c.cmd("PING") == "PONG"
    with any_auth_srv.raw() as c:
        assert c.cmd("AUTH", "default", PASSWORD) == "OK"
        assert c.cmd("SET", "k", "v") == "OK"


def test_auth_required_for_ai_commands(auth_srv):
    with auth_srv.raw() as c:
        assert c.cmd("AI.TENSORGET", "x") == RespError("NOAUTH Authentication required.")
        assert c.cmd("AI.TENSORSET", "x", "FLOAT", "1") == RespError("NOAUTH Authentication required.")
        assert c.cmd("AUTH", PASSWORD) == "OK"
        assert c.cmd("AI.TENSORSET", "x", "FLOAT", "1") == "OK"


def test_auth_hello(any_auth_srv):
    with any_auth_srv.raw() as c:
        err = c.cmd("HELLO", "3")
        assert isinstance(err, RespError) and err.startswith("NOAUTH ")
        assert c.cmd("HELLO", "3", "AUTH", "default", "bad") == RespError(
            "WRONGPASS invalid username-password pair or user is disabled."
        )
        reply = c.cmd("HELLO", "3", "AUTH", "default", PASSWORD)
        assert isinstance(reply, Map)
        assert c.cmd("PING") == "PONG"


def test_auth_redis_py(any_auth_srv):
    ok = any_auth_srv.client()  # sends AUTH on connect
    assert ok.ping() is True
    bad = redis.Redis(port=any_auth_srv.port, password="wrong")
    with pytest.raises(redis.AuthenticationError):
        bad.ping()
    bad.close()
    nopass = redis.Redis(port=any_auth_srv.port)
    with pytest.raises(redis.AuthenticationError):
        nopass.get("x")
    nopass.close()
    r3 = any_auth_srv.client(protocol=3)  # HELLO 3 AUTH default PASSWORD
    assert r3.ping() is True


def test_select(any_srv):
    with conn(any_srv) as c:
        assert c.cmd("SELECT", "0") == "OK"
        assert c.cmd("SELECT", "1") == RespError("ERR DB index is out of range")
        assert c.cmd("SELECT", "x") == RespError("ERR value is not an integer or out of range")
        assert c.cmd("SELECT", "-1") == RespError("ERR DB index is out of range")
        assert c.cmd("PING") == "PONG"


def test_client_name_and_id(any_srv):
    with conn(any_srv) as c:
        assert c.cmd("CLIENT", "GETNAME") is None
        assert c.cmd("CLIENT", "SETNAME", "worker-1") == "OK"
        assert c.cmd("CLIENT", "GETNAME") == b"worker-1"
        assert c.cmd("CLIENT", "SETNAME", "a b") == RespError(
            "ERR Client names cannot contain spaces, newlines or special characters."
        )
        assert c.cmd("client", "getname") == b"worker-1"
        cid = c.cmd("CLIENT", "ID")
        assert isinstance(cid, int) and cid > 0
        with conn(any_srv) as c2:
            cid2 = c2.cmd("CLIENT", "ID")
            assert isinstance(cid2, int) and cid2 != cid
        info = c.cmd("CLIENT", "INFO")
        assert isinstance(info, bytes) and info.endswith(b"\n")
        fields = dict(kv.split(b"=", 1) for kv in info.strip().split(b" "))
        assert fields[b"id"] == str(cid).encode()
        assert fields[b"name"] == b"worker-1"
        assert fields[b"addr"].startswith(b"127.0.0.1:")
        assert fields[b"db"] == b"0"
        assert fields[b"resp"] == b"2"
        assert c.cmd("CLIENT", "NOSUCH") == RespError("ERR unknown subcommand 'NOSUCH'. Try CLIENT HELP.")


def test_client_setname_empty_clears(any_srv):
    with conn(any_srv) as c:
        assert c.cmd("CLIENT", "SETNAME", "x") == "OK"
        assert c.cmd("CLIENT", "SETNAME", "") == "OK"
        assert c.cmd("CLIENT", "GETNAME") is None


def test_client_setinfo(srv):
    """CLIENT SETINFO is Redis 7.2; redis-py sends it on connect. Our server accepts it."""
    with srv.raw() as c:
        assert c.cmd("CLIENT", "SETINFO", "LIB-NAME", "mylib") == "OK"
        assert c.cmd("CLIENT", "SETINFO", "LIB-VER", "1.2.3") == "OK"
        info = c.cmd("CLIENT", "INFO")
        assert b"lib-name=mylib" in info and b"lib-ver=1.2.3" in info
    r = srv.client(lib_name="e2e", lib_version="9.9")
    assert r.ping()


# ---- COMMAND / INFO / CONFIG ---------------------------------------------------------------


def test_command_count(any_srv):
    with conn(any_srv) as c:
        n = c.cmd("COMMAND", "COUNT")
        assert isinstance(n, int) and n > 20


def test_command_docs(any_srv):
    with conn(any_srv) as c:
        assert c.cmd("COMMAND", "DOCS", "nosuchcommand") == []
        docs = c.cmd("COMMAND", "DOCS", "get")
        assert isinstance(docs, list) and len(docs) == 2 and docs[0] == b"get"
        doc = dict(zip(docs[1][::2], docs[1][1::2]))
        assert b"summary" in doc and b"group" in doc
        everything = c.cmd("COMMAND", "DOCS")
        assert isinstance(everything, list) and len(everything) % 2 == 0 and len(everything) > 40
        names = set(everything[::2])
        assert {b"get", b"set", b"ping", b"hset"} <= names
    with conn(any_srv, 3) as c:
        docs = c.cmd("COMMAND", "DOCS", "get")
        assert isinstance(docs, Map) and docs[0][0] == b"get"
        assert isinstance(docs[0][1], Map)


def test_command_docs_lists_ai_commands(srv):
    with srv.raw() as c:
        names = set(c.cmd("COMMAND", "DOCS")[::2])
        assert {b"ai.tensorset", b"ai.tensorget"} <= {n.lower() for n in names}


def test_info_sections(any_srv):
    r = any_srv.client()
    r.set("a", "1")
    r.set("b", "2")
    with conn(any_srv) as c:
        text = c.cmd("INFO")
        assert isinstance(text, bytes)
        for section in (b"# Server", b"# Clients", b"# Memory", b"# Keyspace"):
            assert section + b"\r\n" in text
        server = c.cmd("INFO", "server")
        assert server.startswith(b"# Server\r\n")
        assert b"# Clients" not in server
        assert b"redis_version:" in server
        assert b"tcp_port:%d\r\n" % any_srv.port in server
        clients = c.cmd("INFO", "clients")
        assert clients.startswith(b"# Clients\r\n") and b"connected_clients:" in clients
        memory = c.cmd("INFO", "memory")
        assert memory.startswith(b"# Memory\r\n") and b"used_memory:" in memory
        keyspace = c.cmd("INFO", "keyspace")
        assert keyspace == b"# Keyspace\r\ndb0:keys=2,expires=0,avg_ttl=0\r\n"
        multi = c.cmd("INFO", "server", "keyspace")
        assert b"# Server" in multi and b"# Keyspace" in multi and b"# Memory" not in multi
    assert r.info("keyspace") == {"db0": {"keys": 2, "expires": 0, "avg_ttl": 0}}
    assert r.info("clients")["connected_clients"] >= 1
    assert isinstance(r.info("memory")["used_memory"], int)
    assert r.info("server")["tcp_port"] == any_srv.port


def test_info_keyspace_empty(any_srv):
    with conn(any_srv) as c:
        assert c.cmd("INFO", "keyspace") == b"# Keyspace\r\n"


def test_config_get(any_srv):
    with conn(any_srv) as c:
        assert c.cmd("CONFIG", "GET", "proto-max-bulk-len") == [b"proto-max-bulk-len", b"536870912"]
        assert c.cmd("CONFIG", "GET", "no-such-parameter") == []
    with conn(any_srv, 3) as c:
        assert c.cmd("CONFIG", "GET", "proto-max-bulk-len") == Map(
            [(b"proto-max-bulk-len", b"536870912")]
        )
    # redis-py decodes CONFIG GET replies itself
    assert any_srv.client().config_get("proto-max-bulk-len") == {"proto-max-bulk-len": "536870912"}


# ---- keyspace commands ---------------------------------------------------------------------


def test_dbsize_exists_del_unlink(any_srv):
    with conn(any_srv) as c:
        assert c.cmd("DBSIZE") == 0
        assert c.cmd("MSET", "a", "1", "b", "2", "c", "3", "d", "4") == "OK"
        assert c.cmd("DBSIZE") == 4
        assert c.cmd("EXISTS", "a") == 1
        assert c.cmd("EXISTS", "a", "a", "b", "zz") == 3
        assert c.cmd("EXISTS", "zz") == 0
        assert c.cmd("DEL", "a", "b", "zz") == 2
        assert c.cmd("DEL", "a") == 0
        assert c.cmd("UNLINK", "c", "zz") == 1
        assert c.cmd("DBSIZE") == 1
        assert c.cmd("DEL") == RespError("ERR wrong number of arguments for 'del' command")
        assert c.cmd("EXISTS") == RespError("ERR wrong number of arguments for 'exists' command")


def test_type(any_srv):
    with conn(any_srv) as c:
        c.cmd("SET", "s", "v")
        c.cmd("HSET", "h", "f", "v")
        c.cmd("RPUSH", "l", "x")
        assert c.cmd("TYPE", "s") == Status("string")
        assert c.cmd("TYPE", "h") == Status("hash")
        assert c.cmd("TYPE", "l") == Status("list")
        assert c.cmd("TYPE", "nokey") == Status("none")
        assert isinstance(c.cmd("TYPE", "s"), Status)


KEYS = [b"hello", b"hallo", b"hxllo", b"hllo", b"heeeello", b"h*llo", b"user:1", b"user:22", b"x"]


@pytest.mark.parametrize(
    "pattern,expected",
    [
        ("*", KEYS),
        ("h?llo", [b"hello", b"hallo", b"hxllo", b"h*llo"]),
        ("h*llo", [b"hello", b"hallo", b"hxllo", b"hllo", b"heeeello", b"h*llo"]),
        ("h[ae]llo", [b"hello", b"hallo"]),
        ("h[^e]llo", [b"hallo", b"hxllo", b"h*llo"]),
        ("h[a-b]llo", [b"hallo"]),
        ("h\\*llo", [b"h*llo"]),
        ("user:?", [b"user:1"]),
        ("user:*", [b"user:1", b"user:22"]),
        ("nomatch*", []),
        ("x", [b"x"]),
    ],
)
def test_keys_glob(any_srv, pattern, expected):
    with conn(any_srv) as c:
        c.cmd("MSET", *[a for k in KEYS for a in (k, b"v")])
        assert sorted(c.cmd("KEYS", pattern)) == sorted(expected)


def test_scan_iterates_every_key_once(any_srv):
    r = any_srv.client()
    with r.pipeline(transaction=False) as p:
        for i in range(1500):
            p.set(f"key:{i}", "v")
        for i in range(300):
            p.set(f"other:{i}", "v")
        p.execute()
    with conn(any_srv) as c:
        seen = []
        cursor = b"0"
        rounds = 0
        while True:
            reply = c.cmd("SCAN", cursor, "MATCH", "key:*", "COUNT", "37")
            assert isinstance(reply, list) and len(reply) == 2
            cursor, keys = reply
            assert isinstance(cursor, bytes) and cursor.isdigit()
            seen.extend(keys)
            rounds += 1
            assert rounds < 10000
            if cursor == b"0":
                break
        assert rounds > 1
        if any_srv.kind == "redisai":
            assert len(seen) == 1500  # exactly once (Redis only promises "at least once")
        assert len(set(seen)) == 1500
        assert set(seen) == {f"key:{i}".encode() for i in range(1500)}
        # no MATCH: every key, default COUNT
        everything = set()
        cursor = b"0"
        while True:
            cursor, keys = c.cmd("SCAN", cursor)
            everything.update(keys)
            if cursor == b"0":
                break
        assert len(everything) == 1800
        assert c.cmd("SCAN", "x") == RespError("ERR invalid cursor")
        assert c.cmd("SCAN", "0", "COUNT", "0") == RespError("ERR syntax error")
    assert {k for k in r.scan_iter(match="other:*", count=50)} == {
        f"other:{i}".encode() for i in range(300)
    }


def test_scan_type(any_srv):
    with conn(any_srv) as c:
        c.cmd("SET", "s", "v")
        c.cmd("HSET", "h", "f", "v")
        cursor, keys = c.cmd("SCAN", "0", "COUNT", "1000", "TYPE", "hash")
        assert cursor == b"0" and keys == [b"h"]


def test_flushdb_flushall(any_srv):
    with conn(any_srv) as c:
        c.cmd("MSET", "a", "1", "b", "2")
        c.cmd("HSET", "h", "f", "v")
        assert c.cmd("FLUSHDB") == "OK"
        assert c.cmd("DBSIZE") == 0
        c.cmd("SET", "a", "1")
        assert c.cmd("FLUSHALL") == "OK"
        assert c.cmd("DBSIZE") == 0
        c.cmd("SET", "a", "1")
        assert c.cmd("FLUSHALL", "SYNC") == "OK"
        assert c.cmd("FLUSHDB", "ASYNC") == "OK"
        assert c.cmd("DBSIZE") == 0
        assert c.cmd("FLUSHDB", "BOGUS") == RespError("ERR syntax error")


# ---- strings -------------------------------------------------------------------------------


def test_get_set_plain(any_srv):
    r = any_srv.client()
    assert r.get("missing") is None
    assert r.set("k", "v") is True
    assert r.get("k") == b"v"
    assert r.set("k", b"\x00\x01binary\r\n") is True
    assert r.get("k") == b"\x00\x01binary\r\n"
    with conn(any_srv) as c:
        assert c.cmd("SET", "k", "v") == Status("OK")
        assert c.cmd("GET", "k") == b"v"
        assert c.cmd("GET", "nokey") is None
        assert c.cmd("GET") == RespError("ERR wrong number of arguments for 'get' command")
        assert c.cmd("SET", "k") == RespError("ERR wrong number of arguments for 'set' command")
        assert c.cmd("SET", "k", "v", "BOGUS") == RespError("ERR syntax error")


def test_set_nx_xx_get(any_srv):
    with conn(any_srv) as c:
        assert c.cmd("SET", "k", "1", "XX") is None
        assert c.cmd("SET", "k", "1", "NX") == "OK"
        assert c.cmd("SET", "k", "2", "NX") is None
        assert c.cmd("SET", "k", "3", "XX") == "OK"
        assert c.cmd("GET", "k") == b"3"
        assert c.cmd("SET", "k", "4", "GET") == b"3"
        assert c.cmd("SET", "k", "v", "NX", "XX") == RespError("ERR syntax error")


def test_set_ex_px(any_srv):
    with conn(any_srv) as c:
        assert c.cmd("SET", "k", "v", "EX", "100") == "OK"
        ttl = c.cmd("TTL", "k")
        assert 98 <= ttl <= 100
        assert c.cmd("SET", "p", "v", "PX", "150") == "OK"
        assert c.cmd("GET", "p") == b"v"
        time.sleep(0.4)
        assert c.cmd("GET", "p") is None
        assert c.cmd("EXISTS", "p") == 0
        assert c.cmd("SET", "k", "v", "EX", "0") == RespError("ERR invalid expire time in 'set' command")
        assert c.cmd("SET", "k", "v", "EX", "x") == RespError("ERR value is not an integer or out of range")


def test_mget_mset(any_srv):
    with conn(any_srv) as c:
        assert c.cmd("MSET", "a", "1", "b", "2") == "OK"
        c.cmd("HSET", "h", "f", "v")
        assert c.cmd("MGET", "a", "nokey", "b", "h") == [b"1", None, b"2", None]
        assert c.cmd("MSET", "a") == RespError("ERR wrong number of arguments for 'mset' command")
        assert c.cmd("MSET", "a", "1", "b") == RespError("ERR wrong number of arguments for 'mset' command")
        assert c.cmd("MGET") == RespError("ERR wrong number of arguments for 'mget' command")


def test_wrongtype_between_generic_types(any_srv):
    wrongtype = "WRONGTYPE Operation against a key holding the wrong kind of value"
    with conn(any_srv) as c:
        c.cmd("SET", "s", "v")
        c.cmd("HSET", "h", "f", "v")
        assert c.cmd("GET", "h") == RespError(wrongtype)
        assert c.cmd("HGET", "s", "f") == RespError(wrongtype)
        assert c.cmd("LPUSH", "s", "x") == RespError(wrongtype)
        assert c.cmd("LRANGE", "h", "0", "-1") == RespError(wrongtype)
        # SET replaces whatever the key holds
        assert c.cmd("SET", "h", "now-a-string") == "OK"
        assert c.cmd("TYPE", "h") == "string"
    r = any_srv.client()
    with pytest.raises(redis.ResponseError) as e:
        r.hget("s", "f")
    assert str(e.value) == wrongtype  # redis-py keeps WRONGTYPE (it strips only codes it knows)


# ---- hashes / lists ------------------------------------------------------------------------


def test_hashes(any_srv):
    with conn(any_srv) as c:
        assert c.cmd("HSET", "h", "a", "1", "b", "2") == 2
        assert c.cmd("HSET", "h", "a", "10", "c", "3") == 1
        assert c.cmd("HGET", "h", "a") == b"10"
        assert c.cmd("HGET", "h", "zz") is None
        assert c.cmd("HGET", "nokey", "a") is None
        # Small hashes keep insertion order in Redis (listpacks), and an update keeps the place;
        # ours keep it at any size (scripts' redis.execute("HVALS") results depend on it)
        assert c.cmd("HGETALL", "h") == [b"a", b"10", b"b", b"2", b"c", b"3"]
        assert c.cmd("HGETALL", "nokey") == []
        assert c.cmd("HDEL", "h", "a", "zz") == 1
        assert c.cmd("HDEL", "h", "b", "c") == 2
        assert c.cmd("EXISTS", "h") == 0  # empty hash is removed
        assert c.cmd("HSET", "h", "a") == RespError("ERR wrong number of arguments for 'hset' command")
    with conn(any_srv, 3) as c:
        c.cmd("HSET", "h", "x", "1", "y", "2")
        assert isinstance(c.cmd("HGETALL", "h"), Map)
        assert sorted(c.cmd("HGETALL", "h")) == [(b"x", b"1"), (b"y", b"2")]
        assert c.cmd("HGETALL", "nokey") == Map([])
    r = any_srv.client()
    assert r.hgetall("h") == {b"x": b"1", b"y": b"2"}


def test_counters(any_srv):
    """INCR and friends, as TorchScript's redis.execute and clients use them."""
    with conn(any_srv) as c:
        assert c.cmd("INCR", "n") == 1
        assert c.cmd("INCRBY", "n", "41") == 42
        assert c.cmd("DECR", "n") == 41
        assert c.cmd("DECRBY", "n", "-9") == 50
        assert c.cmd("GET", "n") == b"50"
        assert c.cmd("SET", "t", "7", "EX", "100") == "OK"
        assert c.cmd("INCR", "t") == 8
        assert 0 < c.cmd("TTL", "t") <= 100  # the TTL is kept
        c.cmd("SET", "s", "abc")
        assert c.cmd("INCR", "s") == RespError("ERR value is not an integer or out of range")
        assert c.cmd("INCRBY", "n", "1.5") == RespError("ERR value is not an integer or out of range")
        c.cmd("SET", "big", "9223372036854775807")
        assert c.cmd("INCR", "big") == RespError("ERR increment or decrement would overflow")
        assert c.cmd("DECRBY", "n", "-9223372036854775808") == RespError("ERR decrement would overflow")
        assert c.cmd("GET", "big") == b"9223372036854775807"
        c.cmd("HSET", "h", "f", "1")
        assert c.cmd("INCR", "h") == RespError("WRONGTYPE Operation against a key holding the wrong kind of value")
        assert c.cmd("INCR") == RespError("ERR wrong number of arguments for 'incr' command")


def test_hash_listing(any_srv):
    with conn(any_srv) as c:
        c.cmd("HSET", "h", "a", "1", "b", "2", "c", "3")
        assert c.cmd("HLEN", "h") == 3
        assert c.cmd("HKEYS", "h") == [b"a", b"b", b"c"]
        assert c.cmd("HVALS", "h") == [b"1", b"2", b"3"]
        c.cmd("HDEL", "h", "b")
        c.cmd("HSET", "h", "d", "4", "a", "0")
        assert c.cmd("HKEYS", "h") == [b"a", b"c", b"d"]
        assert c.cmd("HVALS", "h") == [b"0", b"3", b"4"]
        assert c.cmd("HLEN", "nokey") == 0
        assert c.cmd("HKEYS", "nokey") == []
        assert c.cmd("HVALS", "nokey") == []
        c.cmd("SET", "s", "x")
        assert c.cmd("HVALS", "s") == RespError("WRONGTYPE Operation against a key holding the wrong kind of value")


def test_lists(any_srv):
    with conn(any_srv) as c:
        assert c.cmd("RPUSH", "l", "a", "b", "c") == 3
        assert c.cmd("LPUSH", "l", "z", "y") == 5
        assert c.cmd("LRANGE", "l", "0", "-1") == [b"y", b"z", b"a", b"b", b"c"]
        assert c.cmd("LRANGE", "l", "1", "2") == [b"z", b"a"]
        assert c.cmd("LRANGE", "l", "-2", "-1") == [b"b", b"c"]
        assert c.cmd("LRANGE", "l", "3", "100") == [b"b", b"c"]
        assert c.cmd("LRANGE", "l", "4", "1") == []
        assert c.cmd("LRANGE", "l", "-100", "0") == [b"y"]
        assert c.cmd("LRANGE", "nokey", "0", "-1") == []
        assert c.cmd("LLEN", "l") == 5
        assert c.cmd("LLEN", "nokey") == 0
        assert c.cmd("LRANGE", "l", "a", "1") == RespError("ERR value is not an integer or out of range")
        assert c.cmd("RPUSH", "l") == RespError("ERR wrong number of arguments for 'rpush' command")


# ---- transactions --------------------------------------------------------------------------


def test_multi_exec(any_srv):
    with conn(any_srv) as c:
        assert c.cmd("MULTI") == "OK"
        assert c.cmd("SET", "a", "1") == Status("QUEUED")
        assert c.cmd("GET", "a") == "QUEUED"
        assert c.cmd("HSET", "a", "f", "v") == "QUEUED"  # WRONGTYPE at EXEC time
        assert c.cmd("RPUSH", "l", "x") == "QUEUED"
        out = c.cmd("EXEC")
        assert out == [
            "OK",
            b"1",
            RespError("WRONGTYPE Operation against a key holding the wrong kind of value"),
            1,
        ]
        assert c.cmd("MULTI") == "OK"
        assert c.cmd("MULTI") == RespError("ERR MULTI calls can not be nested")
        assert c.cmd("EXEC") == []


def test_shutdown_is_refused_inside_multi(any_srv):
    with conn(any_srv) as c:
        assert c.cmd("MULTI") == "OK"
        assert c.cmd("SHUTDOWN") == RespError("ERR Command not allowed inside a transaction")
        assert c.cmd("EXEC") == RespError("EXECABORT Transaction discarded because of previous errors.")
        assert c.cmd("PING") == "PONG"


def test_multi_discard_and_errors(any_srv):
    with conn(any_srv) as c:
        assert c.cmd("EXEC") == RespError("ERR EXEC without MULTI")
        assert c.cmd("DISCARD") == RespError("ERR DISCARD without MULTI")
        assert c.cmd("MULTI") == "OK"
        assert c.cmd("SET", "a", "1") == "QUEUED"
        assert c.cmd("DISCARD") == "OK"
        assert c.cmd("EXISTS", "a") == 0
        # a command refused at queue time aborts the transaction
        assert c.cmd("MULTI") == "OK"
        assert c.cmd("SET", "a", "1") == "QUEUED"
        assert c.cmd("NOSUCHCMD", "x") == RespError(
            "ERR unknown command 'NOSUCHCMD', with args beginning with: 'x' "
        )
        assert c.cmd("GET") == RespError("ERR wrong number of arguments for 'get' command")
        assert c.cmd("EXEC") == RespError("EXECABORT Transaction discarded because of previous errors.")
        assert c.cmd("EXISTS", "a") == 0
        assert c.cmd("PING") == "PONG"


def test_multi_redis_py(any_srv):
    r = any_srv.client()
    with r.pipeline(transaction=True) as p:
        p.set("a", "1").get("a").hset("h", "f", "v").hgetall("h")
        assert p.execute() == [True, b"1", 1, {b"f": b"v"}]


def test_multi_resp3(any_srv):
    with conn(any_srv, 3) as c:
        assert c.cmd("MULTI") == "OK"
        assert c.cmd("HSET", "h", "f", "v") == "QUEUED"
        assert c.cmd("HGETALL", "h") == "QUEUED"
        assert c.cmd("EXEC") == [1, Map([(b"f", b"v")])]


def test_quit(any_srv):
    with conn(any_srv) as c:
        assert c.cmd("SET", "a", "1") == "OK"
        assert c.cmd("QUIT") == Status("OK")
        assert c.is_closed()
    with conn(any_srv) as c:
        assert c.cmd("GET", "a") == b"1"


def test_quit_after_pipelined_commands(any_srv):
    with conn(any_srv) as c:
        c.send_raw(RawConn.encode("PING") + RawConn.encode("QUIT") + RawConn.encode("PING"))
        assert c.read() == "PONG"
        assert c.read() == "OK"
        assert c.is_closed()


def test_many_clients(any_srv):
    conns = [conn(any_srv) for _ in range(50)]
    try:
        for i, c in enumerate(conns):
            assert c.cmd("SET", f"c{i}", str(i)) == "OK"
        for i, c in enumerate(conns):
            assert c.cmd("GET", f"c{(i + 1) % 50}") == str((i + 1) % 50).encode()
        info = conns[0].cmd("INFO", "clients")
        n = int(info.split(b"connected_clients:")[1].split(b"\r\n")[0])
        assert n >= 50
    finally:
        for c in conns:
            c.close()


def test_one_io_thread_serves_many_clients():
    """--io-threads 1: every connection on one thread, concurrent clients all served."""
    import threading

    from conftest import _start

    s = _start("redisai", extra=["--io-threads", "1"])
    try:
        r = s.client(protocol=2)
        errors = []

        def client(i: int):
            c = redis.Redis(connection_pool=r.connection_pool)
            try:
                for j in range(50):
                    c.execute_command("AI.TENSORSET", f"t{i}", "INT32", 1, "VALUES", j)
                    if c.execute_command("AI.TENSORGET", f"t{i}", "VALUES") != [j]:
                        errors.append((i, j))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))

        threads = [threading.Thread(target=client, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert r.dbsize() == 6
    finally:
        s.stop()
