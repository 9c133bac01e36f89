"""The confined worker: runs one student's cells and calls their functions for the judge.

Started by the judge inside the sandbox as ``python -m rnngrade.worker READ_FD WRITE_FD``.
Before it runs any student code it says hello: ``{"op": "hello", ...}`` with the rnnlib it
imported, its user id and capabilities, so the judge can tell a grader that cannot work (the
worker never starts, imports another rnnlib, or runs privileged) from a student's crash. Then
it reads one JSON request per line and answers one JSON line:

``{"op": "run", "source": ...}``
    execute a code cell in the notebook's namespace; the answer carries the cell's outputs
    (what it printed, the value of its last expression, matplotlib figures, its error) in
    nbformat's shape, capped in size: they become the executed notebook's outputs;
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

import ast
import base64
import builtins
import io
import json
import os
import sys
import traceback

#: Figures kept per cell, and the largest PNG kept (bytes).
MAX_FIGURES = 5
MAX_PNG = 512 * 2**10


class _CappedText(io.TextIOBase):
    """A stream that keeps at most ``limit`` characters (per cell), then one notice."""

    def __init__(self, name, limit):
        self.name, self.limit = name, limit
        self.reset()

    def reset(self):
        self.parts, self.n, self.cut = [], 0, False

    def writable(self):
        return True

    def write(self, text):
        text = str(text)
        left = self.limit - self.n
        if left <= 0:
            self.cut = True
            return len(text)
        self.parts.append(text[:left])
        self.n += min(len(text), left)
        if len(text) > left:
            self.cut = True
        return len(text)

    def value(self):
        text = "".join(self.parts)
        if self.cut:
            text += "\n[... output truncated by the grader ...]\n"
        return text


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


def _figures():
    """PNG outputs of the open matplotlib figures (then closed), if pyplot was used."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return []
    out = []
    try:
        for num in plt.get_fignums()[:MAX_FIGURES]:
            buf = io.BytesIO()
            plt.figure(num).savefig(buf, format="png", dpi=72)
            if buf.tell() <= MAX_PNG:
                out.append({"output_type": "display_data", "metadata": {},
                            "data": {"image/png": base64.b64encode(buf.getvalue()).decode(),
                                     "text/plain": "<Figure>"}})
        plt.close("all")
    except Exception:  # noqa: BLE001 - a figure the student broke is not shown
        pass
    return out


def _run_cell(source, name, namespace, stdout, stderr, limit):
    """Execute one cell like a kernel would; return ``(ok, error, outputs)``."""
    stdout.reset()
    stderr.reset()
    outputs, error, result = [], None, None
    try:
        tree = ast.parse(_transform(source), name)
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        exec(compile(tree, name, "exec"), namespace)
        if last is not None:
            value = eval(compile(last, name, "eval"), namespace)
            if value is not None:
                result = repr(value)[:limit]
    except BaseException as err:  # noqa: BLE001 - a failing cell is the student's feedback
        error = err
    for stream in (stdout, stderr):
        text = stream.value()
        if text:
            outputs.append({"output_type": "stream", "name": stream.name, "text": text})
    outputs += _figures()
    if result is not None:
        outputs.append({"output_type": "execute_result", "execution_count": None,
                        "metadata": {}, "data": {"text/plain": result}})
    if error is not None:
        tb = traceback.format_exception(type(error), error, error.__traceback__)
        outputs.append({"output_type": "error", "ename": type(error).__name__,
                        "evalue": str(error)[:limit],
                        "traceback": ["".join(tb[-20:])[-limit:]]})
        return False, f"{type(error).__name__}: {error}", outputs
    return True, None, outputs


def _capabilities():
    try:
        for line in open("/proc/self/status"):
            if line.startswith("CapEff:"):
                return line.split()[1]
    except OSError:
        pass
    return None


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    rfile = os.fdopen(int(argv[0]), "rb")
    wfile = os.fdopen(int(argv[1]), "wb")
    limit = int(argv[2]) if len(argv) > 2 else 100_000
    # The student's prints are kept per cell, capped: unbounded output cannot fill memory.
    stdout, stderr = _CappedText("stdout", limit), _CappedText("stderr", limit)
    sys.stdout, sys.stderr = stdout, stderr

    import numpy as np  # imported before student code, like a kernel's setup

    import rnnlib
    from rnnlib._guard import ReferenceUsedError, call_blocked

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

    send({"op": "hello", "rnnlib": os.path.realpath(rnnlib.__file__), "numpy": np.__version__,
          "uid": os.getuid(), "euid": os.geteuid(), "caps": _capabilities()})
    # From here on the student's code runs: file descriptors 1 and 2 (the grader's log of a
    # worker that failed to start) go nowhere.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    while True:
        msg = recv()
        op = msg.get("op")
        try:
            if op == "run":
                ok, error, outputs = _run_cell(msg["source"], msg.get("name", "<cell>"),
                                               namespace, stdout, stderr, limit)
                send({"ok": ok, "error": error, "outputs": outputs})
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
                    # From the guard's student entry: a "function" that is itself an rnnlib
                    # reference (or a partial of one) is refused like a call from the student.
                    result = call_blocked(fn, *args, **kwargs)
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
                # The arguments after the call; those the call left as they came are marked
                # the same (the judge then neither decodes nor writes them back).
                after = wire.encode(list(args), to_handle)
                after = [wire.SAME if new == old else new for new, old in zip(after, msg["args"])]
                kw_after = wire.encode(dict(kwargs), to_handle)
                kw_before = {k: v for k, v in msg["kwargs"].get("__dict__", []) if isinstance(k, str)}
                kw_after = {"__dict__": [[k, wire.SAME if kw_before.get(k) == v else v]
                                         for k, v in kw_after["__dict__"]]}
                send({"ok": True, "value": wire.encode(result, to_handle),
                      "args": after, "kwargs": kw_after})
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
