"""The tensors of `tests/fixtures/*/expected.json` (written by the frameworks themselves, see
`tests/fixtures/tf/README.md`) as AI.TENSORSET arguments, and the comparison of a server's
AI.TENSORGET reply with them."""

from __future__ import annotations

import json
import struct
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

#: struct format per RedisAI type (FLOAT16 goes through its IEEE bit patterns)
FORMATS = {
    "FLOAT": "f", "DOUBLE": "d", "INT8": "b", "INT16": "h", "INT32": "i", "INT64": "q",
    "UINT8": "B", "UINT16": "H", "BOOL": "B", "FLOAT16": "H",
}


def expected(folder: str) -> dict:
    return json.loads((FIXTURES / folder / "expected.json").read_text())["models"]


def blob_of(t: dict) -> bytes:
    """The tensor's BLOB as AI.TENSORSET takes it."""
    if t["dtype"] == "STRING":
        return b"".join(v.encode() + b"\0" for v in t["values"])
    values = t["bits"] if t["dtype"] == "FLOAT16" else t["values"]
    return struct.pack(f"<{len(values)}{FORMATS[t['dtype']]}", *values)


def tensorset(r, key: str, t: dict):
    r.execute_command("AI.TENSORSET", key, t["dtype"], *t["shape"], "BLOB", blob_of(t))


def check(r, key: str, want: dict, atol: float = 0.0):
    """Asserts that the tensor at `key` has `want`'s type, shape and values (within `atol`)."""
    meta = r.execute_command("AI.TENSORGET", key, "META", "BLOB")
    got = dict(zip(meta[0::2], meta[1::2]))
    assert got[b"dtype"].decode() == want["dtype"], key
    assert got[b"shape"] == want["shape"], key
    if want["dtype"] == "STRING":
        assert got[b"blob"] == blob_of(want), key
        return
    if atol == 0.0 or want["dtype"] not in ("FLOAT", "DOUBLE", "FLOAT16"):
        assert got[b"blob"] == blob_of(want), key
        return
    fmt = FORMATS[want["dtype"]]
    n = len(want["values"])
    values = struct.unpack(f"<{n}{fmt}", got[b"blob"])
    diff = max((abs(a - b) for a, b in zip(values, want["values"])), default=0.0)
    assert diff <= atol, f"{key}: {diff} > {atol}"
