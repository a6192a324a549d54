"""Fixtures for the end-to-end tests: real server processes on free loopback ports.

* ``srv`` starts one face of redisai-rs for one test and kills it afterwards, whatever the test did.
  It is parametrized by ``face``: ``redisai`` is the standalone server
  (``target/release/redisai-server`` or ``$REDISAI_SERVER``), ``module`` is Debian's
  ``redis-server --loadmodule target/release/libredisai_module.so`` (or ``$REDISAI_MODULE``), and
  ``valkey`` the same module in Valkey 8.1 (``.deps/valkey/valkey-server`` or ``$VALKEY_SERVER``,
  skipped where it is not installed). So one test states one behaviour for every face.
  ``r`` / ``r3`` are redis-py clients on it (RESP2 / RESP3).
* ``_start(face, extra=[...])`` starts a face with the standalone server's flags; for the module
  faces, engine flags (``--threads-per-queue 2``) become load-time arguments
  (``THREADS_PER_QUEUE 2``) and the others go to redis-server.
* ``auth_srv`` is the same server started with ``--requirepass``.
* ``any_srv`` is parametrized: the test runs once against our server and once against a real
  ``redis-server`` (Debian's 7.0), so the reply shapes and error texts are proven to match.
  The real one is skipped when ``redis-server`` is not installed.
* ``RawConn`` speaks RESP over a socket and keeps the exact wire reply (an error's full text, a
  status reply vs a bulk string, a RESP3 double) where redis-py would interpret it.

redis-py strips a known leading error code (``ERR ``, ``NOAUTH ``, ``WRONGPASS ``, ``EXECABORT ``...)
from an exception's text but keeps unknown ones (``WRONGTYPE ...`` stays whole). Tests that assert
error texts use ``RawConn`` (or ``raw_err``), which gives the text exactly as the server sent it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "s3cret-pass"


def server_binary() -> Path:
    env = os.environ.get("REDISAI_SERVER")
    if env:
        return Path(env)
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    if not target.is_absolute():
        target = ROOT / target
    return target / "release" / "redisai-server"


def module_binary() -> Path:
    env = os.environ.get("REDISAI_MODULE")
    if env:
        return Path(env)
    return server_binary().parent / "libredisai_module.so"


def valkey_binary() -> Path:
    env = os.environ.get("VALKEY_SERVER")
    if env:
        return Path(env)
    return ROOT / ".deps" / "valkey" / "valkey-server"


#: The faces of redisai-rs that the AI tests run against.
FACES = ["redisai", "module", "valkey"]
#: The standalone server's engine flags: RedisAI's load-time arguments of the same names.
ENGINE_FLAGS = {
    "--backendspath", "--threads-per-queue", "--intra-op-parallelism", "--inter-op-parallelism",
    "--model-chunk-size", "--model-execution-timeout", "--inline-run-max-us", "--backend-memory-limit",
}


def double_text(face: str, x: float) -> str:
    """How a face writes a double reply (``RedisModule_ReplyWithDouble``, so the server's own
    format, as the C module's doubles were): Redis 7.0 and the standalone server print ``%.17g``;
    Valkey 8 prints the shortest digits that round-trip, laid out as its fpconv does."""
    if face != "valkey" or x != x or x in (float("inf"), float("-inf")) or x == 0:
        return "%.17g" % x
    import decimal

    sign, digits, k = decimal.Decimal(repr(abs(x))).as_tuple()
    digits = "".join(map(str, digits)).rstrip("0") or "0"
    k += len("".join(map(str, decimal.Decimal(repr(abs(x))).as_tuple()[1]))) - len(digits)
    neg = "-" if x < 0 else ""
    n = len(digits)
    exp = abs(k + n - 1)
    if k >= 0 and exp < n + 7:
        return neg + digits + "0" * k
    if k < 0 and (k > -7 or exp < 4):
        offset = n - abs(k)
        if offset <= 0:
            return neg + "0." + "0" * -offset + digits
        return neg + digits[:offset] + "." + digits[offset:]
    digits = digits[: 18 - len(neg)]
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{neg}{mantissa}e{'-' if k + n - 1 < 0 else '+'}{exp}"


#: Redis Cluster needs port + 10000 for its bus, so no server of the tests listens above this.
MAX_PORT = 55535


def free_port() -> int:
    """A port nobody listens on now, at most MAX_PORT: bind port 0 on loopback and read what the
    kernel chose (its ephemeral range reaches 60999: too high ones are drawn again)."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port <= MAX_PORT:
            return port
    raise RuntimeError(f"the kernel gave no free port at or below {MAX_PORT}")


# ---------------------------------------------------------------------------------------------
# A minimal RESP2/RESP3 client that keeps wire types


class Status(str):
    """A simple-string reply (``+OK``)."""

    def __repr__(self):
        return f"Status({str.__repr__(self)})"


class RespError(str):
    """An error reply, with the whole text the server sent (``ERR ...``)."""

    def __repr__(self):
        return f"RespError({str.__repr__(self)})"


class Double(float):
    """A RESP3 double (``,``); ``text`` is the number exactly as the server wrote it."""

    text = ""

    def __repr__(self):
        return f"Double({float.__repr__(self)})"


class Map(list):
    """A RESP3 map, kept as a list of (key, value) pairs (keys may be unhashable)."""


class RespSet(list):
    """A RESP3 set."""


class Push(list):
    """A RESP3 push."""


class Verbatim(bytes):
    """A RESP3 verbatim string (the 3-letter format and ':' removed)."""


class RawConn:
    """One TCP connection speaking RESP, replies parsed into the classes above."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 30.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @staticmethod
    def encode(*args) -> bytes:
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            if isinstance(a, str):
                a = a.encode()
            elif isinstance(a, (int, float)):
                a = str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    def send_raw(self, data: bytes):
        self.sock.sendall(data)

    def cmd(self, *args):
        self.sock.sendall(self.encode(*args))
        return self.read()

    def pipeline(self, commands):
        self.sock.sendall(b"".join(self.encode(*c) for c in commands))
        return [self.read() for _ in commands]

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("connection closed by the server")
        self.buf += chunk

    def _line(self) -> bytes:
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 2 :]
                return line
            self._fill()

    def _exact(self, n: int) -> bytes:
        while len(self.buf) < n + 2:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n + 2 :]
        return data

    def is_closed(self, wait: float = 2.0) -> bool:
        """Whether the server closed the connection (EOF within ``wait`` seconds)."""
        self.sock.settimeout(wait)
        try:
            return self.sock.recv(1) == b""
        except (socket.timeout, TimeoutError):
            return False
        except ConnectionError:
            return True

    def read(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return Status(rest.decode())
        if t == b"-":
            return RespError(rest.decode(errors="replace"))
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        if t == b"_":
            return None
        if t == b",":
            d = Double(float(rest))
            d.text = rest.decode()
            return d
        if t == b"#":
            return rest == b"t"
        if t == b"(":
            return int(rest)
        if t == b"=":
            data = self._exact(int(rest))
            return Verbatim(data[4:])
        if t == b"!":
            return RespError(self._exact(int(rest)).decode(errors="replace"))
        if t == b"%":
            return Map((self.read(), self.read()) for _ in range(int(rest)))
        if t == b"~":
            return RespSet(self.read() for _ in range(int(rest)))
        if t == b">":
            return Push(self.read() for _ in range(int(rest)))
        if t == b"|":
            for _ in range(int(rest)):  # attributes: read and drop
                self.read(), self.read()
            return self.read()
        raise ValueError(f"bad RESP line: {line!r}")


def raw_err(port: int, *args, password: str | None = None) -> str:
    """The full error text the server replies to ``args`` on a fresh connection."""
    with RawConn(port) as c:
        if password is not None:
            assert c.cmd("AUTH", password) == "OK"
        reply = c.cmd(*args)
    assert isinstance(reply, RespError), f"expected an error for {args!r}, got {reply!r}"
    return str(reply)


# ---------------------------------------------------------------------------------------------
# Server processes


class ServerProc:
    """A server process on a loopback port; ``kind`` is ``redisai`` (the standalone server),
    ``redis`` (a plain redis-server), ``module`` / ``valkey`` (redis-server / valkey-server with
    the module)."""

    def __init__(self, kind: str, password: str | None = None, extra: list[str] | None = None):
        self.kind = kind
        self.password = password
        self.extra = extra or []
        self.host = "127.0.0.1"
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.tmp = tempfile.mkdtemp(prefix=f"e2e-{kind}-")
        self.log_path = Path(self.tmp) / "server.log"
        self.clients: list[redis.Redis] = []

    def _argv(self, port: int) -> list[str]:
        if self.kind == "redisai":
            argv = [str(server_binary()), "--port", str(port), "--bind", "127.0.0.1"]
            if self.password:
                argv += ["--requirepass", self.password]
            return argv + self.extra
        binary = str(valkey_binary()) if self.kind == "valkey" else shutil.which("redis-server") or "redis-server"
        argv = [
            binary,
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--databases", "1",  # as our server: only db 0 exists
            "--dir", self.tmp,
            "--logfile", "",
        ]
        if self.password:
            argv += ["--requirepass", self.password]
        if self.kind == "redis":
            return argv
        argv += ["--enable-debug-command", "yes"]
        module_args: list[str] = []
        extra = list(self.extra)
        while extra:
            arg = extra.pop(0)
            if arg in ENGINE_FLAGS:
                module_args += [arg[2:].replace("-", "_").upper(), extra.pop(0) if extra else ""]
            else:
                argv.append(arg)  # a redis-server option or one of its values, as it is
        return argv + ["--loadmodule", str(module_binary()), *module_args]

    def start(self, timeout: float = 15.0):
        last_error = None
        for _attempt in range(3):  # a port picked by free_port() can be taken meanwhile
            self.port = free_port()
            log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(
                self._argv(self.port),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.tmp,
            )
            log.close()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    last_error = f"{self.kind} exited with {self.proc.returncode}"
                    break
                if self._answers_ping():
                    return self
                time.sleep(0.02)
            else:
                last_error = f"{self.kind} did not answer PING within {timeout}s"
                self.stop()
                break
        raise RuntimeError(f"{last_error}; log:\n{self.log()}")

    def _answers_ping(self) -> bool:
        try:
            with RawConn(self.port, timeout=1.0) as c:
                reply = c.cmd("PING")
        except OSError:
            return False
        # NOAUTH is an answer too: the server is up.
        return reply == "PONG" or (isinstance(reply, RespError) and reply.startswith("NOAUTH"))

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def client(self, protocol: int = 2, **kw) -> redis.Redis:
        kw.setdefault("socket_timeout", 60)
        if self.password and "password" not in kw:
            kw["password"] = self.password
        c = redis.Redis(host=self.host, port=self.port, protocol=protocol, **kw)
        self.clients.append(c)
        return c

    def raw(self, timeout: float = 30.0) -> RawConn:
        return RawConn(self.port, self.host, timeout)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def halt(self, sig: int = 15, timeout: float = 30.0) -> int:
        """Ends the process with signal `sig` (SIGTERM: Redis saves and exits; SIGKILL: nothing
        is saved), keeping its directory, so `start` brings it back on its files. The exit code."""
        for c in self.clients:
            try:
                c.close()
            except Exception:
                pass
        self.clients.clear()
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)

    def stop(self):
        for c in self.clients:
            try:
                c.close()
            except Exception:
                pass
        self.clients.clear()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        shutil.rmtree(self.tmp, ignore_errors=True)


def _start(kind: str, password: str | None = None, extra: list[str] | None = None):
    if kind == "redisai":
        binary = server_binary()
        if not binary.exists():
            pytest.fail(f"{binary} not found: build it with `cargo build --release -p redisai-server`")
    elif kind == "valkey" and not valkey_binary().exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{valkey_binary()} not found: scripts/bootstrap installs it")
        pytest.skip("valkey-server is not installed (scripts/bootstrap installs it)")
    elif kind != "valkey" and shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (scripts/bootstrap installs it)")
    if kind in ("module", "valkey") and not module_binary().exists():
        pytest.fail(f"{module_binary()} not found: build it with `cargo build --release -p redisai-module`")
    s = ServerProc(kind, password, extra)
    try:
        s.start()
    except Exception:
        s.stop()
        raise
    return s


def pytest_generate_tests(metafunc):
    """``face``: each face of redisai-rs in turn, or those a ``@pytest.mark.faces(...)`` names
    (a test of the standalone server's own flags, say)."""
    if "face" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("faces")
        metafunc.parametrize("face", marker.args if marker else FACES)


@contextlib.contextmanager
def serving(face: str, extra: list[str] | None = None):
    """A face started for the block and stopped after it; the test fails if it died meanwhile."""
    s = _start(face, extra=extra)
    try:
        yield s
    finally:
        crashed = not s.alive()
        log = s.log()
        s.stop()
        if crashed:
            pytest.fail(f"the {face} face died during the test; log:\n{log}")


@pytest.fixture
def srv(face):
    """One face of redisai-rs, started for this test, killed afterwards."""
    with serving(face) as s:
        yield s


@pytest.fixture
def port(srv):
    return srv.port


@pytest.fixture
def r(srv):
    """A redis-py RESP2 client on our server (replies as bytes)."""
    return srv.client(protocol=2)


@pytest.fixture
def r3(srv):
    """A redis-py RESP3 client on our server (replies as bytes)."""
    return srv.client(protocol=3)


@pytest.fixture
def auth_srv(face):
    """One face started with --requirepass PASSWORD."""
    s = _start(face, PASSWORD)
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(params=["redisai", "redis"])
def any_srv(request):
    """Parametrized: our server, then a real redis-server, for comparing replies."""
    s = _start(request.param)
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(params=["redisai", "redis"])
def any_auth_srv(request):
    """Parametrized like any_srv, both started with --requirepass PASSWORD."""
    s = _start(request.param, PASSWORD)
    try:
        yield s
    finally:
        s.stop()


def store_or_skip(r, *args):
    """Runs a model/script store; skips the test if the backend is not built in (fails in CI)."""
    try:
        return r.execute_command(*args)
    except redis.ResponseError as e:
        if "not compiled" in str(e) and os.environ.get("CI") != "true":
            pytest.skip(f"this build lacks the backend: {e}")
        raise


def in_threads(r, clients: int, body) -> list:
    """Runs `body(c, i)` in `clients` threads at once, each with its own connection `c` from
    `r`'s pool; returns what they raised (as reprs), so the test asserts it is empty."""
    import threading

    errors = []

    def client(i: int):
        try:
            body(redis.Redis(connection_pool=r.connection_pool), i)
        except Exception as e:  # noqa: BLE001 - returned to the test
            errors.append(repr(e))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def run_concurrently(r, model: str, expected, clients: int = 8, runs: int = 20) -> list:
    """`clients` threads each run `model` (two FLOAT [1,2] inputs, both the same tensor) `runs`
    times with values of their own; returns every mismatch against `expected(v)` or error."""
    import struct

    mismatches = []

    def client(c, i: int):
        for j in range(runs):
            v = (float(i * 100 + j), j + 0.5)
            c.execute_command("AI.TENSORSET", f"in{i}", "FLOAT", 1, 2, "BLOB", struct.pack("<2f", *v))
            c.execute_command("AI.MODELEXECUTE", model, "INPUTS", 2, f"in{i}", f"in{i}", "OUTPUTS", 1, f"out{i}")
            got = list(struct.unpack("<2f", c.execute_command("AI.TENSORGET", f"out{i}", "BLOB")))
            if got != expected(v):
                mismatches.append((i, j, got))

    errors = in_threads(r, clients, client)
    return mismatches + errors
