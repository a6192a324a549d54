"""AI.TENSORSET / AI.TENSORGET end to end, through redis-py (RESP2 and RESP3) and raw RESP.

Expected values are computed here with ``struct`` (no numpy): FLOAT/DOUBLE/FLOAT16 by packing the
Python float, BFLOAT16 by rounding the float32 bits to nearest-even. Doubles in RESP2 are bulk
strings formatted as Redis 7.0 does (``%.17g``, ``inf``/``-inf``); in RESP3 they are ``,`` doubles
with the same text.
"""

from __future__ import annotations

import hashlib
import struct

import pytest
import redis

from conftest import double_text, Double, RawConn, RespError, Status, raw_err

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


# ---- dtype tables -----------------------------------------------------------------------------


def bf16_bits(x: float) -> int:
    """float -> bfloat16 bits, round to nearest even (via float32, exact for the values used)."""
    (b,) = struct.unpack("<I", struct.pack("<f", x))
    if (b & 0x7F800000) == 0x7F800000:  # inf / nan
        return b >> 16
    return ((b + 0x7FFF + ((b >> 16) & 1)) >> 16) & 0xFFFF


def bf16_value(bits: int) -> float:
    return struct.unpack("<f", struct.pack("<I", bits << 16))[0]


def pack(dtype: str, values) -> bytes:
    """Little-endian blob for parsed values (numbers, or bytes for STRING)."""
    if dtype == "STRING":
        return b"".join(v + b"\0" for v in values)
    if dtype == "BFLOAT16":
        return b"".join(struct.pack("<H", bf16_bits(v)) for v in values)
    return struct.pack("<%d%s" % (len(values), FMT[dtype]), *values)


FMT = {
    "FLOAT": "f",
    "DOUBLE": "d",
    "FLOAT16": "e",
    "INT8": "b",
    "INT16": "h",
    "INT32": "i",
    "INT64": "q",
    "UINT8": "B",
    "UINT16": "H",
    "BOOL": "B",
}
SIZE = {"FLOAT": 4, "DOUBLE": 8, "FLOAT16": 2, "BFLOAT16": 2, "INT8": 1, "INT16": 2, "INT32": 4,
        "INT64": 8, "UINT8": 1, "UINT16": 2, "BOOL": 1, "STRING": 1}
FLOATS = {"FLOAT", "DOUBLE", "FLOAT16", "BFLOAT16"}
ALL_DTYPES = ["FLOAT", "DOUBLE", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "BOOL",
              "STRING", "FLOAT16", "BFLOAT16"]

# VALUES arguments per dtype (non-negative for signed ints: see test_signed_negative_values).
VALUES = {
    "FLOAT": ["4", "0.1", "-2.5", "1e20", "1e-5", "inf", "-inf", "-0", "3"],
    "DOUBLE": ["4", "0.1", "-2.5", "1e300", "1.5e-5", "-inf", "123456789.125", "0", "7"],
    "FLOAT16": ["4", "0.1", "-2.5", "65504", "0.000061035156", "inf", "1", "0", "-1"],
    "BFLOAT16": ["4", "0.1", "-2.5", "1e20", "256", "-inf", "1", "0", "3.5"],
    "INT8": ["0", "1", "127", "2", "3", "4", "5", "6", "100"],
    "INT16": ["0", "1", "32767", "300", "4", "5", "6", "7", "8"],
    "INT32": ["0", "1", "2147483647", "70000", "4", "5", "6", "7", "8"],
    "INT64": ["0", "1", "9223372036854775807", "5000000000", "4", "5", "6", "7", "8"],
    "UINT8": ["0", "1", "255", "128", "4", "5", "6", "7", "8"],
    "UINT16": ["0", "1", "65535", "40000", "4", "5", "6", "7", "8"],
    "BOOL": ["0", "1", "1", "0", "1", "0", "0", "0", "1"],
    "STRING": ["first", "second", "", "with space", "x", "\u00e9t\u00e9", "7", "8", "last"],
}


def stored(dtype: str, arg: str):
    """The element value the tensor holds for VALUES argument ``arg`` (float, int or bytes)."""
    if dtype == "STRING":
        return arg.encode()
    if dtype == "BFLOAT16":
        return bf16_value(bf16_bits(float(arg)))
    if dtype in FLOATS:
        return struct.unpack("<" + FMT[dtype], struct.pack("<" + FMT[dtype], float(arg)))[0]
    return int(arg)


def resp2_value(dtype: str, v, face: str):
    """What RESP2 VALUES replies for a stored element."""
    if dtype in FLOATS:
        return double_text(face, v).encode()
    return v


def elements(dtype: str, args):
    return [stored(dtype, a) for a in args]


def tset(r, key, dtype, shape, *tail):
    return r.execute_command("AI.TENSORSET", key, dtype, *shape, *tail)


def tget(r, key, *opts):
    return r.execute_command("AI.TENSORGET", key, *opts)


# ---- VALUES / BLOB round trips for every dtype -------------------------------------------------


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_values_round_trip_resp2(r, dtype, face):
    args = VALUES[dtype]
    assert tset(r, "t", dtype, [3, 3], "VALUES", *args) == b"OK"
    vals = elements(dtype, args)
    assert tget(r, "t", "VALUES") == [resp2_value(dtype, v, face) for v in vals]
    assert tget(r, "t", "BLOB") == pack(dtype, vals)
    assert tget(r, "t", "META") == [b"dtype", dtype.encode(), b"shape", [3, 3]]


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_values_round_trip_resp3(r3, dtype):
    args = VALUES[dtype]
    assert tset(r3, "t", dtype, [9], "VALUES", *args) in (b"OK", "OK", True)
    vals = elements(dtype, args)
    got = tget(r3, "t", "VALUES")
    assert got == vals
    if dtype in FLOATS:
        assert all(isinstance(x, float) for x in got)
    elif dtype == "STRING":
        assert all(isinstance(x, bytes) for x in got)
    else:
        assert all(isinstance(x, int) for x in got)
    assert tget(r3, "t", "META", "BLOB") == [b"dtype", dtype.encode(), b"shape", [9], b"blob",
                                               pack(dtype, vals)]


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_blob_round_trip(r, dtype, face):
    vals = elements(dtype, VALUES[dtype])
    blob = pack(dtype, vals)
    assert tset(r, "b", dtype, [1, 9], "BLOB", blob) == b"OK"
    assert tget(r, "b", "BLOB") == blob
    assert tget(r, "b", "VALUES") == [resp2_value(dtype, v, face) for v in vals]
    assert tget(r, "b", "META") == [b"dtype", dtype.encode(), b"shape", [1, 9]]


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_zeros_without_data(r, dtype):
    assert tset(r, "z", dtype, [2, 3]) == b"OK"
    if dtype == "STRING":
        assert tget(r, "z", "BLOB") == b"\0" * 6
        assert tget(r, "z", "VALUES") == [b""] * 6
    else:
        assert tget(r, "z", "BLOB") == b"\0" * (6 * SIZE[dtype])
        zero = b"0" if dtype in FLOATS else 0
        assert tget(r, "z", "VALUES") == [zero] * 6
    assert tget(r, "z", "META") == [b"dtype", dtype.encode(), b"shape", [2, 3]]


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_empty_tensors(r, dtype):
    """A zero dim makes an empty tensor (the C module refuses it): no data, no values."""
    meta = [b"dtype", dtype.encode(), b"shape", [0, 4]]
    assert tset(r, "e", dtype, [0, 4]) == b"OK"
    assert tget(r, "e") == meta + [b"blob", b""]
    assert tget(r, "e", "META", "VALUES") == meta + [b"values", []]
    assert tget(r, "e", "VALUES") == []
    assert tset(r, "b", dtype, [0, 4], "BLOB", b"") == b"OK"
    assert tset(r, "v", dtype, [2, 0], "VALUES") == b"OK"
    assert tget(r, "b", "META", "BLOB") == meta + [b"blob", b""]
    assert tget(r, "v", "META", "VALUES") == [b"dtype", dtype.encode(), b"shape", [2, 0], b"values", []]


def test_empty_tensors_in_a_dag(r):
    reply = r.execute_command("AI.DAGEXECUTE", "PERSIST", 1, "kept", "|>",
                              "AI.TENSORSET", "kept", "INT32", 0, 2, "|>",
                              "AI.TENSORGET", "kept", "META", "VALUES")
    assert reply == [b"OK", [b"dtype", b"INT32", b"shape", [0, 2], b"values", []]]
    assert tget(r, "kept", "BLOB") == b""


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_scalar(r, dtype, face):
    arg = VALUES[dtype][1]
    assert tset(r, "s", dtype, [], "VALUES", arg) == b"OK"
    v = stored(dtype, arg)
    assert tget(r, "s", "META") == [b"dtype", dtype.encode(), b"shape", []]
    assert tget(r, "s", "VALUES") == [resp2_value(dtype, v, face)]
    assert tget(r, "s", "BLOB") == pack(dtype, [v])
    assert tset(r, "s2", dtype, [], "BLOB", pack(dtype, [v])) == b"OK"
    assert tget(r, "s2", "META", "VALUES") == [b"dtype", dtype.encode(), b"shape", [], b"values",
                                               [resp2_value(dtype, v, face)]]


def test_keywords_and_dtype_are_case_insensitive(r):
    assert tset(r, "t", "float", [2], "values", "1", "2") == b"OK"
    assert tget(r, "t", "meta", "values") == [b"dtype", b"FLOAT", b"shape", [2], b"values",
                                              [b"1", b"2"]]
    assert tset(r, "u", "uInt8", [2], "blob", b"\x01\x02") == b"OK"
    assert tget(r, "u", "Values") == [1, 2]
    assert tset(r, "b", "BfLoAt16", [1], "VALUES", "1") == b"OK"
    assert tget(r, "b", "META")[1] == b"BFLOAT16"


def test_signed_negative_values(r):
    """The C module rejected every negative signed value (a bug, spec [Q]); redisai-rs accepts the
    whole range of each signed type (docs/compatibility.md)."""
    cases = {
        "INT8": ["-1", "-128", "127"],
        "INT16": ["-1", "-32768", "32767"],
        "INT32": ["-1", "-2147483648", "2147483647"],
        "INT64": ["-1", "-9223372036854775808", "9223372036854775807"],
    }
    for dtype, args in cases.items():
        assert tset(r, "n", dtype, [3], "VALUES", *args) == b"OK"
        vals = [int(a) for a in args]
        assert tget(r, "n", "VALUES") == vals
        assert tget(r, "n", "BLOB") == pack(dtype, vals)


def test_string_tensors(r):
    assert tset(r, "s", "STRING", [2, 2], "VALUES", "first", "second", "third", "fourth") == b"OK"
    assert tget(r, "s", "BLOB") == b"first\0second\0third\0fourth\0"
    assert tget(r, "s", "META") == [b"dtype", b"STRING", b"shape", [2, 2]]
    assert tget(r, "s", "META", "VALUES")[5] == [b"first", b"second", b"third", b"fourth"]
    # a trailing NUL in a value is the terminator: 'x\0' and 'x' are the same element
    assert tset(r, "s", "STRING", [2], "VALUES", b"str_val2\0", b"str_val2") == b"OK"
    assert tget(r, "s", "BLOB") == b"str_val2\0str_val2\0"
    # empty elements in a blob
    assert tset(r, "s", "STRING", [3], "BLOB", b"a\0\0bc\0") == b"OK"
    assert tget(r, "s", "VALUES") == [b"a", b"", b"bc"]
    # binary-safe, non-UTF-8 bytes
    assert tset(r, "s", "STRING", [1], "VALUES", b"\xff\x01\r\n") == b"OK"
    assert tget(r, "s", "VALUES") == [b"\xff\x01\r\n"]


def test_float_values_resp2_wire_format(port, face):
    """RESP2: each FLOAT element is a bulk string holding the server's text of the float32
    widened to double (%.17g in Redis 7.0 and the standalone server)."""
    with RawConn(port) as c:
        assert c.cmd("AI.TENSORSET", "f", "FLOAT", "6", "VALUES", "4", "0.1", "1e20", "inf", "-0",
                     "-2.5") == Status("OK")
        expected = {
            "valkey": [b"4", b"0.10000000149011612", b"100000002004087730000", b"inf", b"-0", b"-2.5"],
        }.get(face, [
            b"4",
            b"0.10000000149011612",
            b"1.0000000200408773e+20",
            b"inf",
            b"-0",
            b"-2.5",
        ])
        assert c.cmd("AI.TENSORGET", "f", "VALUES") == expected
        assert c.cmd("AI.TENSORSET", "d", "DOUBLE", "3", "VALUES", "0.1", "1e-5", "-inf") == "OK"
        expected = {"valkey": [b"0.1", b"0.00001", b"-inf"]}.get(
            face, [b"0.10000000000000001", b"1.0000000000000001e-05", b"-inf"])
        assert c.cmd("AI.TENSORGET", "d", "VALUES") == expected


def test_float_values_resp3_wire_format(port, face):
    """RESP3: ``,`` doubles, written with the same text as in RESP2."""
    with RawConn(port) as c:
        c.cmd("HELLO", "3")
        assert c.cmd("AI.TENSORSET", "f", "FLOAT", "5", "VALUES", "4", "0.1", "1e20", "-inf",
                     "-0") == Status("OK")
        got = c.cmd("AI.TENSORGET", "f", "VALUES")
        assert all(isinstance(x, Double) for x in got)
        big = "100000002004087730000" if face == "valkey" else "1.0000000200408773e+20"
        assert [x.text for x in got] == ["4", "0.10000000149011612", big, "-inf", "-0"]
        c.cmd("AI.TENSORSET", "i", "INT64", "2", "VALUES", "5", "6")
        assert c.cmd("AI.TENSORGET", "i", "VALUES") == [5, 6]
        meta = c.cmd("AI.TENSORGET", "f", "META")
        assert meta == [b"dtype", b"FLOAT", b"shape", [5]]  # an array, not a map, as the module


def test_tensorset_replies_status_ok(port):
    with RawConn(port) as c:
        reply = c.cmd("AI.TENSORSET", "t", "INT32", "1", "VALUES", "1")
        assert reply == "OK" and isinstance(reply, Status)


def test_tensorset_overwrites(r):
    tset(r, "t", "FLOAT", [2], "VALUES", "1", "2")
    tset(r, "t", "INT8", [3], "VALUES", "1", "2", "3")
    assert tget(r, "t", "META", "VALUES") == [b"dtype", b"INT8", b"shape", [3], b"values", [1, 2, 3]]


# ---- every TENSORGET reply format --------------------------------------------------------------


def test_tensorget_formats(r):
    tset(r, "t", "FLOAT", [2, 2], "VALUES", "1", "2", "3", "4")
    blob = struct.pack("<4f", 1, 2, 3, 4)
    meta = [b"dtype", b"FLOAT", b"shape", [2, 2]]
    values = [b"1", b"2", b"3", b"4"]
    assert tget(r, "t", "META") == meta
    assert tget(r, "t", "BLOB") == blob
    assert tget(r, "t", "VALUES") == values
    assert tget(r, "t", "META", "BLOB") == meta + [b"blob", blob]
    assert tget(r, "t", "META", "VALUES") == meta + [b"values", values]
    assert tget(r, "t", "BLOB", "META") == meta + [b"blob", blob]
    assert tget(r, "t", "VALUES", "META") == meta + [b"values", values]
    assert tget(r, "t") == meta + [b"blob", blob]  # default: META BLOB
    # repeats are allowed (META BLOB VALUES would be 5 arguments: refused by the arity check)
    assert tget(r, "t", "BLOB", "BLOB") == blob
    assert tget(r, "t", "META", "META") == meta
    assert tget(r, "t", "VALUES", "VALUES") == values


def test_tensorget_formats_resp3(r3):
    tset(r3, "t", "DOUBLE", [2], "VALUES", "1.5", "-2")
    meta = [b"dtype", b"DOUBLE", b"shape", [2]]
    assert tget(r3, "t", "VALUES") == [1.5, -2.0]
    assert tget(r3, "t", "META", "VALUES") == meta + [b"values", [1.5, -2.0]]
    assert tget(r3, "t") == meta + [b"blob", struct.pack("<2d", 1.5, -2)]


# ---- errors: the exact texts --------------------------------------------------------------------

ARITY_SET = "ERR wrong number of arguments for 'AI.TENSORSET' command"
ARITY_GET = "ERR wrong number of arguments for 'AI.TENSORGET' command"
BLOB_ARG = "ERR a single binary string should come after the BLOB argument in 'AI.TENSORSET' command"
VALUES_COUNT = "ERR wrong number of values was given in 'AI.TENSORSET' command"
BAD_SHAPE = "ERR invalid or negative value found in tensor shape"
DATA_LEN = "ERR data length does not match tensor shape and type"
BAD_VALUE = "ERR invalid value"
BAD_TYPE = "ERR invalid data type"
STRING_COUNT = "ERR Number of string elements in data blob does not match tensor length"


@pytest.mark.parametrize(
    "args,text",
    [
        (["AI.TENSORSET"], ARITY_SET),
        (["AI.TENSORSET", "t"], ARITY_SET),
        (["AI.TENSORSET", "t", "FLOAT"], ARITY_SET),
        (["ai.tensorset", "t", "FLOAT"], "ERR wrong number of arguments for 'ai.tensorset' command"),
        (["AI.TENSORSET", "t", "FLOATX", "1"], BAD_TYPE),
        (["AI.TENSORSET", "t", "INT", "1"], BAD_TYPE),
        (["AI.TENSORSET", "t", "INT12", "1"], BAD_TYPE),
        (["AI.TENSORSET", "t", "1", "FLOAT"], BAD_TYPE),
        (["AI.TENSORSET", "t", "FLOAT", "1", "BLOB"], BLOB_ARG),
        (["AI.TENSORSET", "t", "FLOAT", "1", "BLOB", "abcd", "efgh"], BLOB_ARG),
        (["AI.TENSORSET", "t", "FLOAT", "2", "VALUES", "1"], VALUES_COUNT),
        (["AI.TENSORSET", "t", "FLOAT", "2", "VALUES", "1", "2", "3"], VALUES_COUNT),
        (["AI.TENSORSET", "t", "FLOAT", "2", "VALUES"], VALUES_COUNT),
        (["AI.TENSORSET", "t", "FLOAT", "VALUES"], VALUES_COUNT),
        (["AI.TENSORSET", "t", "FLOAT", "-1"], BAD_SHAPE),
        (["AI.TENSORSET", "t", "FLOAT", "0", "-1"], BAD_SHAPE),
        (["AI.TENSORSET", "t", "FLOAT", "-0"], BAD_SHAPE),
        (["AI.TENSORSET", "t", "FLOAT", "0", "BLOB", b"\0" * 4], DATA_LEN),
        (["AI.TENSORSET", "t", "FLOAT", "0", "4", "VALUES", "1"], VALUES_COUNT),
        (["AI.TENSORSET", "t", "STRING", "0", "BLOB", b"\0"], STRING_COUNT),
        (["AI.TENSORSET", "t", "FLOAT", "1.5"], BAD_SHAPE),
        (["AI.TENSORSET", "t", "FLOAT", "+2"], BAD_SHAPE),
        (["AI.TENSORSET", "t", "FLOAT", " 2"], BAD_SHAPE),
        (["AI.TENSORSET", "t", "FLOAT", "2", "x"], BAD_SHAPE),
        (["AI.TENSORSET", "t", "FLOAT", "2", "VALUE", "1", "2"], BAD_SHAPE),
        (["AI.TENSORSET", "t", "FLOAT", "2", "BLOB", b"\0" * 7], DATA_LEN),
        (["AI.TENSORSET", "t", "FLOAT", "2", "BLOB", b"\0" * 9], DATA_LEN),
        (["AI.TENSORSET", "t", "INT16", "3", "BLOB", b"\0" * 5], DATA_LEN),
        (["AI.TENSORSET", "t", "DOUBLE", "BLOB", b""], DATA_LEN),
        (["AI.TENSORSET", "t", "BOOL", "2", "BLOB", b"\x02\x00"], "ERR BOOL tensor elements must be 0 or 1"),
        (["AI.TENSORSET", "t", "STRING", "2", "BLOB", b"a\0"], STRING_COUNT),
        (["AI.TENSORSET", "t", "STRING", "1", "BLOB", b"a"], STRING_COUNT),
        (["AI.TENSORSET", "t", "STRING", "1", "BLOB", b"a\0b\0"], STRING_COUNT),
        (["AI.TENSORSET", "t", "STRING", "2", "BLOB", b"a\0b"], STRING_COUNT),
        (["AI.TENSORSET", "t", "STRING", "1", "BLOB", b""], STRING_COUNT),
        (["AI.TENSORSET", "t", "FLOAT", "1", "VALUES", "abc"], BAD_VALUE),
        (["AI.TENSORSET", "t", "FLOAT", "1", "VALUES", "nan"], BAD_VALUE),
        (["AI.TENSORSET", "t", "FLOAT", "1", "VALUES", ""], BAD_VALUE),
        (["AI.TENSORSET", "t", "FLOAT", "1", "VALUES", "1x"], BAD_VALUE),
        (["AI.TENSORSET", "t", "DOUBLE", "2", "VALUES", "1", "NaN"], BAD_VALUE),
        (["AI.TENSORSET", "t", "FLOAT16", "1", "VALUES", "x"], BAD_VALUE),
        (["AI.TENSORSET", "t", "BFLOAT16", "1", "VALUES", "x"], BAD_VALUE),
        (["AI.TENSORSET", "t", "INT32", "1", "VALUES", "1.0"], BAD_VALUE),
        (["AI.TENSORSET", "t", "INT32", "1", "VALUES", "+1"], BAD_VALUE),
        (["AI.TENSORSET", "t", "INT8", "1", "VALUES", "128"], BAD_VALUE),
        (["AI.TENSORSET", "t", "INT16", "1", "VALUES", "32768"], BAD_VALUE),
        (["AI.TENSORSET", "t", "INT32", "1", "VALUES", "2147483648"], BAD_VALUE),
        (["AI.TENSORSET", "t", "INT64", "1", "VALUES", "9223372036854775808"], BAD_VALUE),
        (["AI.TENSORSET", "t", "UINT8", "1", "VALUES", "256"], BAD_VALUE),
        (["AI.TENSORSET", "t", "UINT8", "1", "VALUES", "-1"], BAD_VALUE),
        (["AI.TENSORSET", "t", "UINT16", "1", "VALUES", "65536"], BAD_VALUE),
        (["AI.TENSORSET", "t", "BOOL", "1", "VALUES", "2"], BAD_VALUE),
        (["AI.TENSORSET", "t", "BOOL", "1", "VALUES", "-1"], BAD_VALUE),
        (["AI.TENSORSET", "t", "STRING", "1", "VALUES", b"a\0b"], "ERR C-string value contains null character"),
        (["AI.TENSORSET", "t", "STRING", "1", "VALUES", b"ab\0\0"], "ERR C-string value contains null character"),
        (["AI.TENSORGET"], ARITY_GET),
        (["ai.tensorget"], "ERR wrong number of arguments for 'ai.tensorget' command"),
        (["AI.TENSORGET", "t", "META", "BLOB", "VALUES"], ARITY_GET),
        (["AI.TENSORGET", "nokey"], "ERR tensor key is empty or in a different shard"),
        (["AI.TENSORGET", "nokey", "META"], "ERR tensor key is empty or in a different shard"),
        (["AI.TENSORGET", "nokey", "VALUES"], "ERR tensor key is empty or in a different shard"),
        (["AI.TENSORGET", "nokey", "FOO"], "ERR tensor key is empty or in a different shard"),
        (["AI.TENSORSET", "t", "DOUBLE", "1", "VALUES", "1e400"], BAD_VALUE),
        (["AI.TENSORSET", "t", "DOUBLE", "1", "VALUES", "1e-400"], BAD_VALUE),
        (["AI.TENSORGET", "t", "FOO"], "ERR unsupported data format"),
        (["AI.TENSORGET", "t", "META", "FOO"], "ERR unsupported data format"),
        (["AI.TENSORGET", "t", "BLOB", "VALUES"], "ERR both BLOB and VALUES specified"),
        (["AI.TENSORGET", "t", "VALUES", "BLOB"], "ERR both BLOB and VALUES specified"),
    ],
)
def test_error_texts(port, args, text):
    with RawConn(port) as c:
        assert c.cmd("AI.TENSORSET", "t", "FLOAT", "1", "VALUES", "1") == "OK"
        reply = c.cmd(*args)
        assert reply == RespError(text)
        # a failed TENSORSET leaves the previous value alone
        assert c.cmd("AI.TENSORGET", "t", "VALUES") == [b"1"]
        assert c.cmd("PING") == "PONG"


def test_redis_py_error_texts(r):
    """What a redis-py user sees: redis-py drops the leading 'ERR ' but keeps 'WRONGTYPE ...'."""
    with pytest.raises(redis.ResponseError) as e:
        tget(r, "nokey")
    assert str(e.value) == "tensor key is empty or in a different shard"
    r.set("s", "v")
    with pytest.raises(redis.ResponseError) as e:
        tget(r, "s")
    assert str(e.value) == WRONGTYPE
    with pytest.raises(redis.ResponseError) as e:
        tset(r, "t", "FLOAT", [2], "VALUES", "1")
    assert str(e.value) == VALUES_COUNT[len("ERR "):]


# ---- types: WRONGTYPE both ways, TYPE, generic commands on tensors ------------------------------


def test_wrongtype_tensor_commands_on_other_types(port):
    with RawConn(port) as c:
        c.cmd("SET", "s", "v")
        c.cmd("HSET", "h", "f", "v")
        c.cmd("RPUSH", "l", "x")
        for key in ("s", "h", "l"):
            assert c.cmd("AI.TENSORSET", key, "FLOAT", "1", "VALUES", "1") == RespError(WRONGTYPE)
            assert c.cmd("AI.TENSORSET", key, "INT8", "2") == RespError(WRONGTYPE)
            assert c.cmd("AI.TENSORGET", key) == RespError(WRONGTYPE)
            assert c.cmd("AI.TENSORGET", key, "META") == RespError(WRONGTYPE)
            assert c.cmd("AI.TENSORGET", key, "VALUES") == RespError(WRONGTYPE)
            # the key is checked before the rest is parsed, as in the C module
            assert c.cmd("AI.TENSORSET", key, "BADTYPE", "1") == RespError(WRONGTYPE)
            assert c.cmd("AI.TENSORGET", key, "FOO") == RespError(WRONGTYPE)
        assert c.cmd("GET", "s") == b"v"
        assert c.cmd("TYPE", "h") == "hash"


def test_wrongtype_other_commands_on_tensors(port):
    with RawConn(port) as c:
        assert c.cmd("AI.TENSORSET", "t", "FLOAT", "1", "VALUES", "1") == "OK"
        assert c.cmd("GET", "t") == RespError(WRONGTYPE)
        assert c.cmd("HGET", "t", "f") == RespError(WRONGTYPE)
        assert c.cmd("HSET", "t", "f", "v") == RespError(WRONGTYPE)
        assert c.cmd("HGETALL", "t") == RespError(WRONGTYPE)
        assert c.cmd("HDEL", "t", "f") == RespError(WRONGTYPE)
        assert c.cmd("LPUSH", "t", "x") == RespError(WRONGTYPE)
        assert c.cmd("RPUSH", "t", "x") == RespError(WRONGTYPE)
        assert c.cmd("LRANGE", "t", "0", "-1") == RespError(WRONGTYPE)
        assert c.cmd("LLEN", "t") == RespError(WRONGTYPE)
        assert c.cmd("MGET", "t") == [None]
        assert c.cmd("AI.TENSORGET", "t", "VALUES") == [b"1"]
        # SET replaces a value of any type, tensors included
        assert c.cmd("SET", "t", "now-a-string") == "OK"
        assert c.cmd("TYPE", "t") == "string"
        assert c.cmd("AI.TENSORGET", "t") == RespError(WRONGTYPE)


def test_type_and_keyspace_commands_on_tensors(port):
    with RawConn(port) as c:
        assert c.cmd("AI.TENSORSET", "t1", "FLOAT", "1", "VALUES", "1") == "OK"
        assert c.cmd("AI.TENSORSET", "t2", "STRING", "1", "VALUES", "a") == "OK"
        assert c.cmd("SET", "s", "v") == "OK"
        reply = c.cmd("TYPE", "t1")
        assert reply == "AI_TENSOR" and isinstance(reply, Status)
        assert c.cmd("DBSIZE") == 3
        assert c.cmd("EXISTS", "t1", "t2", "nokey") == 2
        assert sorted(c.cmd("KEYS", "t*")) == [b"t1", b"t2"]
        assert c.cmd("INFO", "keyspace") == b"# Keyspace\r\ndb0:keys=3,expires=0,avg_ttl=0\r\n"
        cursor, keys = c.cmd("SCAN", "0", "COUNT", "100")
        assert cursor == b"0" and sorted(keys) == [b"s", b"t1", b"t2"]
        assert c.cmd("DEL", "t1") == 1
        assert c.cmd("TYPE", "t1") == "none"
        assert c.cmd("AI.TENSORGET", "t1") == RespError("ERR tensor key is empty or in a different shard")
        assert c.cmd("UNLINK", "t2") == 1
        c.cmd("AI.TENSORSET", "t3", "INT8", "1")
        assert c.cmd("FLUSHALL") == "OK"
        assert c.cmd("DBSIZE") == 0
        c.cmd("AI.TENSORSET", "t4", "INT8", "1")
        assert c.cmd("FLUSHDB") == "OK"
        assert c.cmd("EXISTS", "t4") == 0


def test_type_resp3(r3):
    tset(r3, "t", "INT8", [1])
    assert r3.type("t") in (b"AI_TENSOR", "AI_TENSOR")


# ---- MULTI / pipelining ------------------------------------------------------------------------

IN_TX = "ERR Cannot run RedisAI command within a transaction or a LUA script"


def test_ai_commands_in_multi(port):
    with RawConn(port) as c:
        assert c.cmd("MULTI") == "OK"
        assert c.cmd("AI.TENSORSET", "a", "FLOAT", "1", "VALUES", "40") == "QUEUED"
        assert c.cmd("AI.TENSORGET", "a", "VALUES") == "QUEUED"
        execs = [
            ["AI.MODELEXECUTE", "m", "INPUTS", "1", "a", "OUTPUTS", "1", "b"],
            ["AI.MODELRUN", "m", "INPUTS", "a", "OUTPUTS", "b"],
            ["AI.SCRIPTEXECUTE", "s", "f", "INPUTS", "1", "a", "OUTPUTS", "1", "b"],
            ["AI.SCRIPTRUN", "s", "f", "INPUTS", "a", "OUTPUTS", "b"],
            ["AI.DAGEXECUTE", "LOAD", "1", "a", "|>", "AI.TENSORGET", "a", "VALUES"],
            ["AI.DAGEXECUTE_RO", "LOAD", "1", "a", "|>", "AI.TENSORGET", "a", "VALUES"],
            ["AI.DAGRUN", "LOAD", "1", "a", "|>", "AI.TENSORGET", "a", "VALUES"],
            ["AI.DAGRUN_RO", "LOAD", "1", "a", "|>", "AI.TENSORGET", "a", "VALUES"],
        ]
        for cmd in execs:
            assert c.cmd(*cmd) == "QUEUED"
        assert c.cmd("AI.TENSORSET", "c", "INT8", "1", "VALUES", "2") == "QUEUED"
        out = c.cmd("EXEC")
        assert out == ["OK", [b"40"]] + [RespError(IN_TX)] * len(execs) + ["OK"]
        # the transaction's TENSORSETs took effect
        assert c.cmd("AI.TENSORGET", "c", "VALUES") == [2]
        # outside MULTI the DAG runs
        assert c.cmd("AI.DAGEXECUTE", "LOAD", "1", "a", "|>", "AI.TENSORGET", "a", "VALUES") == [[b"40"]]


def test_tensorset_in_redis_py_transaction(r):
    with r.pipeline(transaction=True) as p:
        p.execute_command("AI.TENSORSET", "x", "INT32", 2, "VALUES", 7, 8)
        p.execute_command("AI.TENSORGET", "x", "VALUES")
        p.execute_command("TYPE", "x")
        assert p.execute() == [b"OK", [7, 8], b"AI_TENSOR"]


def test_pipeline_1000_tensor_commands(r):
    p = r.pipeline(transaction=False)
    for i in range(1000):
        p.execute_command("AI.TENSORSET", f"t:{i}", "INT32", 2, "VALUES", i, -i)
    for i in range(1000):
        p.execute_command("AI.TENSORGET", f"t:{i}", "VALUES")
    out = p.execute()
    assert out[:1000] == [b"OK"] * 1000
    assert out[1000:] == [[i, -i] for i in range(1000)]
    assert r.dbsize() == 1000


def test_pipeline_errors_do_not_break_the_stream(port):
    with RawConn(port) as c:
        cmds = []
        for i in range(300):
            cmds.append(("AI.TENSORSET", f"k{i}", "UINT8", "1", "VALUES", str(i % 256)))
            cmds.append(("AI.TENSORSET", f"k{i}", "UINT8", "1", "VALUES", "999"))
            cmds.append(("AI.TENSORGET", f"k{i}", "VALUES"))
        out = c.pipeline(cmds)
        for i in range(300):
            assert out[3 * i] == "OK"
            assert out[3 * i + 1] == RespError(BAD_VALUE)
            assert out[3 * i + 2] == [i % 256]


def test_bad_request_keeps_connection(port):
    with RawConn(port) as c:
        assert isinstance(c.cmd("AI.TENSORSET", "t", "NOPE", "1"), RespError)
        assert c.cmd("PING") == "PONG"
        assert isinstance(c.cmd("AI.TENSORGET"), RespError)
        assert c.cmd("PING") == "PONG"


def test_many_connections_share_the_keyspace(srv):
    a = srv.client()
    b = srv.client(protocol=3)
    tset(a, "shared", "FLOAT", [2], "VALUES", "1.5", "2")
    assert tget(b, "shared", "VALUES") == [1.5, 2.0]


# ---- big tensors -------------------------------------------------------------------------------


@pytest.mark.slow
def test_100mib_blob_round_trip(srv):
    r = srv.client(socket_timeout=120)
    size = 100 * 1024 * 1024
    blob = bytes(range(256)) * (size // 256)
    digest = hashlib.sha256(blob).hexdigest()
    assert tset(r, "big", "FLOAT", [size // 4], "BLOB", blob) == b"OK"
    assert tget(r, "big", "META") == [b"dtype", b"FLOAT", b"shape", [size // 4]]
    got = tget(r, "big", "BLOB")
    assert len(got) == size
    assert hashlib.sha256(got).hexdigest() == digest
    del got
    meta_blob = tget(r, "big", "META", "BLOB")
    assert meta_blob[:4] == [b"dtype", b"FLOAT", b"shape", [size // 4]]
    assert hashlib.sha256(meta_blob[5]).hexdigest() == digest
    # the same data as UINT8 [100, 1 MiB]
    assert tset(r, "big8", "UINT8", [100, size // 100], "BLOB", blob[: 100 * (size // 100)]) == b"OK"
    assert tget(r, "big8", "META")[3] == [100, size // 100]
    assert raw_err(srv.port, "AI.TENSORSET", "bad", "FLOAT", "3", "BLOB", blob[:13]) == DATA_LEN


def test_medium_values_round_trip(r):
    n = 100_000
    args = [str(i % 1000) for i in range(n)]
    assert tset(r, "m", "INT16", [n], "VALUES", *args) == b"OK"
    assert tget(r, "m", "VALUES") == [i % 1000 for i in range(n)]
