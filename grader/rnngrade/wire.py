"""The judge and the confined worker talk in JSON lines; this module encodes the values.

Nothing from the student's process is ever unpickled or ``eval``-ed. A message is one line of
JSON; values are encoded as:

* ``None``, ``bool``, ``int``, ``float``, ``str`` as themselves;
* a list as a JSON list; a tuple, dict or set as a tagged object;
* a numeric numpy array (or numpy scalar) as ``{"__nd__": dtype, "shape": ..., "b64": ...}``,
  raw bytes of a *numeric* dtype only (object arrays are never decoded);
* a ``np.random.Generator`` as its bit generator's state (so a student's function that draws
  from the ``rng`` it is given advances the caller's generator, as it would in one process);
* anything else (the student's cache objects, classes, closures) stays where it was made and
  travels as a *handle*: ``{"__h__": id, ...}``. The other side turns a handle into a proxy
  that can be passed back, called, indexed and iterated by asking its owner.

A tuple made by the worker (a NamedTuple cache, say) is sent both by value and with a handle,
so the judge can unpack it *and* pass the original object back to the student's backward.
"""
from __future__ import annotations

import base64
import json

import numpy as np

#: dtype kinds that may cross the wire as raw bytes (bool, ints, floats, complex, unicode).
SAFE_KINDS = "biufcU"
#: A message longer than this is refused (a student cannot make the judge run out of memory).
MAX_MESSAGE = 64 * 2**20
#: At most this many values (list items, object members) in one message: 64 MB of ``[[],[],...``
#: would otherwise become over a gigabyte of Python objects in the judge. Arrays travel as one
#: string each, so this bounds lists of Python numbers and nested containers only.
MAX_ITEMS = 1_000_000
MAX_DEPTH = 40
#: Stands for an argument that a call left unchanged (it is not sent back).
SAME = {"__same__": 1}
#: Random generators travel as their state (the checkers pass ``rng`` to students' functions).
BIT_GENERATORS = ("PCG64", "PCG64DXSM", "Philox", "SFC64", "MT19937")


class WireError(ValueError):
    """A message that cannot be decoded safely."""


def _encode_array(a):
    a = np.ascontiguousarray(a)
    return {"__nd__": a.dtype.str, "shape": list(a.shape),
            "b64": base64.b64encode(a.tobytes()).decode("ascii")}


def _decode_array(obj):
    dtype = np.dtype(str(obj["__nd__"]))
    if dtype.kind not in SAFE_KINDS or dtype.hasobject:
        raise WireError(f"refusing array of dtype {dtype}")
    shape = tuple(int(s) for s in obj["shape"])
    raw = base64.b64decode(obj["b64"], validate=True)
    count = int(np.prod(shape)) if shape else 1
    if len(raw) != count * dtype.itemsize:
        raise WireError("array bytes do not match its shape")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def encode(value, to_handle, depth=0):
    """Encode ``value``; ``to_handle(obj) -> dict`` is called for what cannot go by value."""
    if depth > MAX_DEPTH:
        return to_handle(value)
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value if abs(value) < 2**63 else {"__bigint__": str(value)}
    if isinstance(value, float):
        return {"__float__": repr(value)} if value != value or value in (float("inf"), float("-inf")) else value
    if isinstance(value, np.ndarray):
        if value.dtype.kind in SAFE_KINDS and not value.dtype.hasobject:
            return _encode_array(value)
        return to_handle(value)
    if isinstance(value, np.generic) and value.dtype.kind in SAFE_KINDS:
        out = _encode_array(np.asarray(value))
        out["scalar"] = True
        return out
    if isinstance(value, np.random.Generator):
        bitgen = value.bit_generator
        if type(bitgen).__name__ in BIT_GENERATORS:
            return {"__rng__": type(bitgen).__name__,
                    "state": encode(bitgen.state, to_handle, depth + 1)}
        return to_handle(value)
    if type(value) is list:
        return [encode(v, to_handle, depth + 1) for v in value]
    if isinstance(value, tuple):
        out = {"__tuple__": [encode(v, to_handle, depth + 1) for v in value]}
        if type(value) is not tuple:
            out["handle"] = to_handle(value)
        return out
    if type(value) is dict:
        return {"__dict__": [[encode(k, to_handle, depth + 1), encode(v, to_handle, depth + 1)]
                             for k, v in value.items()]}
    if type(value) in (set, frozenset):
        return {"__set__": [encode(v, to_handle, depth + 1) for v in value],
                "frozen": type(value) is frozenset}
    return to_handle(value)


def decode(obj, from_handle, depth=0):
    """Decode what :func:`encode` made; ``from_handle(dict) -> object`` resolves handles."""
    if depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, list):
        return [decode(v, from_handle, depth + 1) for v in obj]
    if not isinstance(obj, dict):
        raise WireError(f"unexpected {type(obj).__name__}")
    if "__nd__" in obj:
        a = _decode_array(obj)
        return a[()] if obj.get("scalar") else a
    if "__tuple__" in obj:
        items = tuple(decode(v, from_handle, depth + 1) for v in obj["__tuple__"])
        if "handle" in obj:
            return from_handle(obj["handle"], items)
        return items
    if "__dict__" in obj:
        out = {}
        for k, v in obj["__dict__"]:
            key = decode(k, from_handle, depth + 1)
            if isinstance(key, list):
                key = tuple(key)
            try:
                out[key] = decode(v, from_handle, depth + 1)
            except TypeError as err:  # an unhashable key
                raise WireError(str(err)) from None
        return out
    if "__set__" in obj:
        items = [decode(v, from_handle, depth + 1) for v in obj["__set__"]]
        return frozenset(items) if obj.get("frozen") else set(items)
    if "__rng__" in obj:
        name = obj["__rng__"]
        if name not in BIT_GENERATORS:
            raise WireError(f"unknown bit generator {name!r}")
        bitgen = getattr(np.random, name)()
        try:
            bitgen.state = decode(obj["state"], from_handle, depth + 1)
        except (TypeError, ValueError, KeyError) as err:
            raise WireError(f"bad generator state: {err}") from None
        return np.random.Generator(bitgen)
    if "__float__" in obj:
        return float(obj["__float__"])
    if "__bigint__" in obj:
        return int(obj["__bigint__"])
    if "__h__" in obj or "__cb__" in obj:
        return from_handle(obj, None)
    raise WireError("unknown tagged value")


def dumps(message):
    return (json.dumps(message, allow_nan=False) + "\n").encode()


def loads(line):
    if len(line) > MAX_MESSAGE:
        raise WireError("message too large")
    # Every value after the first in a container follows a comma; every container opens with
    # a bracket. Counting them (commas inside strings too: an overestimate) is linear and
    # allocates nothing, so the judge refuses a message before building its objects.
    data = line if isinstance(line, (bytes, bytearray)) else str(line).encode()
    if data.count(b",") + data.count(b"[") + data.count(b"{") > MAX_ITEMS:
        raise WireError(f"an answer with more than {MAX_ITEMS} values")
    return json.loads(line)
