"""The confined worker: runs one student's cells and calls their functions for the judge.

Started by the judge inside the sandbox as ``python -m rnngrade.worker READ_FD WRITE_FD``.
It reads one JSON request per line and answers one JSON line:

``{"op": "run", "source": ...}``
    execute a code cell in the notebook's namespace;
``{"op": "lookup", "name": ...}``
    is ``name`` defined, and is it callable? (its value, if it can go by value);
``{"op": "call", "target": ..., "args": [...], "kwargs": {...}}``
    call a function with rnnlib's references blocked; answer its result, and the arguments
    after the call (so in-place updates are seen by the judge);
``{"op": "attr"/"item"/"iter"/"len", ...}``
    operations on an object the worker keeps (a handle).

While a call runs, the student's code may call a function the judge passed in (a callback):
the worker then sends ``{"op": "callback", ...}`` and waits for the judge's answer.

Everything here runs in the student's process and is therefore the student's to change; the
judge trusts none of it except as data (arrays and plain values) that it checks itself.
"""
from __future__ import annotations

import builtins
import io
import json
import os
import sys


def _null_stream():
    return io.TextIOWrapper(open(os.devnull, "wb"), write_through=True)


def _transform(source):
    """IPython syntax (magics, ``!cmd``) into Python, if IPython is available."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - plain Python then
        return source


class _FakeIPython:
    """Enough of ``get_ipython()`` for magics to be no-ops outside a kernel."""

    def __getattr__(self, name):
        return lambda *a, **k: None


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    rfile = os.fdopen(int(argv[0]), "rb")
    wfile = os.fdopen(int(argv[1]), "wb")
    # The student's prints go nowhere: unbounded output cannot fill the judge's memory.
    sys.stdout = _null_stream()
    sys.stderr = _null_stream()

    import numpy as np  # noqa: F401 - imported before student code, like the kernel's setup

    from rnnlib._guard import ReferenceUsedError, references_blocked
    from rnngrade import wire

    namespace = {"__name__": "__main__", "__builtins__": builtins, "get_ipython": _FakeIPython}
    handles = {}

    def to_handle(obj):
        hid = len(handles) + 1
        handles[hid] = obj
        return {"__h__": hid, "type": type(obj).__name__, "callable": callable(obj)}

    def send(msg):
        wfile.write(wire.dumps(msg))
        wfile.flush()

    def recv():
        line = rfile.readline()
        if not line:
            os._exit(0)
        return json.loads(line)

    def make_callback(cbid):
        def callback(*args, **kwargs):
            send({"op": "callback", "id": cbid,
                  "args": wire.encode(list(args), to_handle),
                  "kwargs": wire.encode(dict(kwargs), to_handle)})
            reply = recv()
            if not reply.get("ok"):
                raise RuntimeError(reply.get("error", "the grader's function failed"))
            return wire.decode(reply["value"], from_handle)

        return callback

    def from_handle(obj, items):
        if "__cb__" in obj:
            return make_callback(obj["__cb__"])
        return handles[int(obj["__h__"])]

    def describe(err):
        return f"{type(err).__name__}: {err}"

    while True:
        msg = recv()
        op = msg.get("op")
        try:
            if op == "run":
                exec(compile(_transform(msg["source"]), msg.get("name", "<cell>"), "exec"),
                     namespace)
                send({"ok": True})
            elif op == "lookup":
                name = msg["name"]
                if name not in namespace:
                    send({"ok": True, "defined": False})
                else:
                    value = namespace[name]
                    send({"ok": True, "defined": True, "callable": callable(value),
                          "value": None if callable(value) else wire.encode(value, to_handle)})
            elif op == "call":
                target = msg["target"]
                fn = namespace[target["name"]] if "name" in target else handles[int(target["handle"])]
                args = wire.decode(msg["args"], from_handle)
                kwargs = wire.decode(msg["kwargs"], from_handle)
                try:
                    with references_blocked():
                        result = fn(*args, **kwargs)
                except NotImplementedError as err:
                    send({"ok": False, "kind": "NotImplementedError", "error": str(err)})
                    continue
                except ReferenceUsedError as err:
                    send({"ok": False, "kind": "ReferenceUsedError", "error": str(err)})
                    continue
                except BaseException as err:  # noqa: BLE001 - SystemExit too: it is feedback
                    send({"ok": False, "kind": "error", "etype": type(err).__name__,
                          "error": str(err)})
                    continue
                send({"ok": True, "value": wire.encode(result, to_handle),
                      "args": wire.encode(list(args), to_handle),
                      "kwargs": wire.encode(dict(kwargs), to_handle)})
            elif op in ("attr", "item", "len", "iter"):
                obj = handles[int(msg["handle"])]
                if op == "attr":
                    value = getattr(obj, msg["name"])
                elif op == "item":
                    value = obj[wire.decode(msg["key"], from_handle)]
                elif op == "len":
                    value = len(obj)
                else:
                    value = list(obj)
                send({"ok": True, "value": wire.encode(value, to_handle)})
            else:
                send({"ok": False, "kind": "protocol", "error": f"unknown op {op!r}"})
        except BaseException as err:  # noqa: BLE001 - a failing cell is the student's feedback
            try:
                send({"ok": False, "kind": "error", "error": describe(err)})
            except BaseException:  # noqa: BLE001
                os._exit(3)


if __name__ == "__main__":
    main()
