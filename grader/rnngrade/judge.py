"""The trusted judge: scores a notebook from a process the student's code cannot touch.

nbgrader runs a student's cells and then the test cells in one kernel, so the student can
replace whatever a test relies on. The judge does not: it runs the student's code cells in a
confined worker process (:mod:`rnngrade.worker`), and runs the *instructor's* test cells
(from the source notebook, hidden tests included) in its own process, with the instructor's
setup cells, where the names a test uses for the student's functions are proxies that forward
each call to the worker and bring back plain values. The checkers compare those values with
rnnlib's references here, with this process's numpy.

Cells run in notebook order, so a test sees the student's functions as they were defined
above it. A cell that crashes the worker (``os._exit``, a segfault, the memory limit) or runs
past the cell timeout is recorded, the worker is restarted, the cells before it are replayed
without it, and grading goes on: the student keeps the points of every part that works.
"""
from __future__ import annotations

import ast
import builtins
import contextlib
import dataclasses
import io
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time

from rnnlib._guard import ReferenceUsedError
from rnngrade import wire
from rnngrade.settings import SEED_ENV
from rnngrade.sandbox import Confinement

__all__ = ["TestResult", "JudgeReport", "judge_notebook", "StudentCrashed", "StudentTimeout"]

MAX_RESTARTS = 6


class StudentCrashed(RuntimeError):
    """The process running the student's code died."""


class StudentTimeout(RuntimeError):
    """The student's code ran past its time limit."""


class StudentError(RuntimeError):
    """The student's function raised; the message is ``Type: message``."""


@dataclasses.dataclass
class TestResult:
    grade_id: str
    points: float
    max_points: float
    message: str


@dataclasses.dataclass
class JudgeReport:
    tests: dict
    problems: list
    #: indices (in the notebook) of cells that crashed the worker or ran out of time
    skipped: list = dataclasses.field(default_factory=list)

    @property
    def score(self):
        return sum(t.points for t in self.tests.values())


def _signal_name(code):
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    if code > 128:
        try:
            return f"was killed by {signal.Signals(code - 128).name}"
        except ValueError:
            pass
    return f"exited with status {code}"


class Worker:
    """One confined worker process and the channel to it."""

    def __init__(self, confinement, workdir):
        self.confinement = confinement
        self.workdir = workdir
        self.deadline = None
        self.callbacks = {}
        self.proc = None
        self.dead = None
        self._buf = b""
        self._start()

    def _start(self):
        to_worker_r, to_worker_w = os.pipe()
        from_worker_r, from_worker_w = os.pipe()
        argv = [sys.executable, "-m", "rnngrade.worker",
                str(to_worker_r), str(from_worker_w)]
        cmd = self.confinement.command(argv, [self.workdir], self.workdir)
        env = {k: v for k, v in os.environ.items() if k != SEED_ENV}
        env.update(MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
        self.proc = subprocess.Popen(
            cmd, pass_fds=(to_worker_r, from_worker_w), cwd=self.workdir, env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        os.close(to_worker_r)
        os.close(from_worker_w)
        self._w = os.fdopen(to_worker_w, "wb")
        self._r = from_worker_r
        self.dead = None

    def kill(self):
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        with contextlib.suppress(OSError):
            self._w.close()
        with contextlib.suppress(OSError):
            os.close(self._r)

    def _readline(self, timeout):
        end = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = end - time.monotonic()
            if left <= 0:
                raise StudentTimeout("timeout")
            ready, _, _ = select.select([self._r], [], [], left)
            if not ready:
                continue
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                raise EOFError
            self._buf += chunk
            if len(self._buf) > wire.MAX_MESSAGE:
                raise StudentCrashed("sent an answer larger than the grader accepts")
        line, self._buf = self._buf.split(b"\n", 1)
        return wire.loads(line)

    def request(self, msg, timeout):
        """Send ``msg``; answer callbacks until the reply comes. Kills the worker on failure."""
        if self.dead:
            raise StudentCrashed(self.dead)
        if self.deadline is not None:
            timeout = min(timeout, self.deadline - time.monotonic())
        try:
            self._w.write(wire.dumps(msg))
            self._w.flush()
            end = time.monotonic() + timeout
            while True:
                reply = self._readline(max(end - time.monotonic(), 0.0))
                if reply.get("op") == "callback":
                    self._answer_callback(reply)
                    continue
                return reply
        except StudentTimeout:
            self.kill()
            self.dead = f"the code ran longer than the time limit and was stopped"
            raise StudentTimeout(self.dead) from None
        except (EOFError, BrokenPipeError, OSError, ValueError) as err:
            # Let a dying process finish dying, so its exit status says why.
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=2)
            self.kill()
            code = self.proc.returncode
            why = _signal_name(code)
            if code in (-signal.SIGXCPU, 128 + signal.SIGXCPU, -signal.SIGKILL, 128 + signal.SIGKILL):
                why += " (the CPU-time or memory limit)"
            self.dead = (f"the Python process running your code {why}"
                         if not isinstance(err, ValueError) else f"sent a malformed answer ({err})")
            raise StudentCrashed(self.dead) from None

    def _answer_callback(self, msg):
        fn = self.callbacks.get(int(msg["id"]))
        try:
            args = wire.decode(msg["args"], self.decode_handle)
            kwargs = wire.decode(msg["kwargs"], self.decode_handle)
            reply = {"ok": True, "value": wire.encode(fn(*args, **kwargs), self.encode_handle)}
        except Exception as err:  # noqa: BLE001 - reported to the student's code
            reply = {"ok": False, "error": f"{type(err).__name__}: {err}"}
        self._w.write(wire.dumps(reply))
        self._w.flush()

    # Values crossing from the judge: judge-side callables become callbacks.
    def encode_handle(self, obj):
        if isinstance(obj, Remote) and obj._worker is self:
            return {"__h__": obj._handle}
        if isinstance(obj, RemoteTuple) and obj._worker is self:
            return {"__h__": obj._handle}
        if isinstance(obj, RemoteFunction):
            raise TypeError("a function of a student process that was restarted")
        if callable(obj):
            cbid = len(self.callbacks) + 1
            self.callbacks[cbid] = obj
            return {"__cb__": cbid}
        raise TypeError(f"cannot send a {type(obj).__name__} to the student's code")

    def decode_handle(self, obj, items):
        if items is not None:
            return RemoteTuple(items, self, int(obj["__h__"]))
        return Remote(self, int(obj["__h__"]), obj.get("type", "object"), bool(obj.get("callable")))

    def call(self, target, args, kwargs, timeout):
        msg = {"op": "call", "target": target,
               "args": wire.encode(list(args), self._encode_arg),
               "kwargs": wire.encode(dict(kwargs), self._encode_arg)}
        reply = self.request(msg, timeout)
        if not reply.get("ok"):
            kind = reply.get("kind")
            if kind == "NotImplementedError":
                raise NotImplementedError(reply.get("error", ""))
            if kind == "ReferenceUsedError":
                raise ReferenceUsedError(reply.get("error", ""))
            raise _student_exception(reply.get("etype"))(reply.get("error", ""))
        value = wire.decode(reply["value"], self.decode_handle)
        new_args = wire.decode(reply["args"], self.decode_handle)
        for old, new in zip(args, new_args):
            _write_back(old, new)
        new_kwargs = wire.decode(reply["kwargs"], self.decode_handle)
        for k, old in kwargs.items():
            if k in new_kwargs:
                _write_back(old, new_kwargs[k])
        return value

    def _encode_arg(self, obj):
        if isinstance(obj, RemoteFunction) and obj._worker is self:
            return {"__h__": self.handle_of_global(obj._name)}
        return self.encode_handle(obj)

    def handle_of_global(self, name):
        # The worker's helper returns the global itself, which travels back as a handle.
        reply = self.request({"op": "call", "target": {"name": "__rnnlib_handle__"},
                              "args": [name], "kwargs": {"__dict__": []}}, 5.0)
        return int(reply["value"]["__h__"]) if reply.get("ok") else -1


_EXCEPTIONS = {}


def _student_exception(name):
    """A judge-side exception class named like the student's (so messages read naturally)."""
    name = name if isinstance(name, str) and name.isidentifier() else "StudentError"
    if name not in _EXCEPTIONS:
        _EXCEPTIONS[name] = type(name, (StudentError,), {})
    return _EXCEPTIONS[name]


def _write_back(old, new):
    """Mirror an in-place update the student's function made to an argument.

    Returns ``False`` when ``old`` cannot take ``new`` in place (the caller replaces it).
    """
    import numpy as np

    if isinstance(old, np.random.Generator) and isinstance(new, np.random.Generator):
        if type(old.bit_generator) is not type(new.bit_generator):
            return False
        old.bit_generator.state = new.bit_generator.state
    elif isinstance(old, np.ndarray) and isinstance(new, np.ndarray):
        if old.shape != new.shape or old.dtype != new.dtype:
            return False
        if not np.array_equal(old, new, equal_nan=old.dtype.kind in "fc"):
            if not old.flags.writeable:
                return False
            old[...] = new
    elif isinstance(old, dict) and isinstance(new, dict):
        for k in [k for k in old if k not in new]:
            del old[k]
        for k, v in new.items():
            if k not in old or not _write_back(old[k], v):
                old[k] = v
    elif isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            old[:] = new
        for i, v in enumerate(new):
            if not _write_back(old[i], v):
                old[i] = v
    else:
        return old is new or (type(old) is type(new) and _plain_equal(old, new))
    return True


def _plain_equal(a, b):
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - arrays inside tuples and the like
        return False


class Remote:
    """An object that lives in the worker (the student's cache, a closure, a class)."""

    def __init__(self, worker, handle, typename, is_callable):
        self._worker, self._handle, self._type, self._callable = worker, handle, typename, is_callable
        self.__name__ = typename

    def __call__(self, *args, **kwargs):
        return self._worker.call({"handle": self._handle}, args, kwargs, self._worker.timeout)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return self._op("attr", name=name)

    def __getitem__(self, key):
        return self._op("item", key=wire.encode(key, self._worker.encode_handle))

    def __len__(self):
        return self._op("len")

    def __iter__(self):
        return iter(self._op("iter"))

    def _op(self, op, **kw):
        reply = self._worker.request({"op": op, "handle": self._handle, **kw}, self._worker.timeout)
        if not reply.get("ok"):
            raise StudentError(reply.get("error", "error"))
        return wire.decode(reply["value"], self._worker.decode_handle)

    def __repr__(self):
        return f"<student's {self._type}>"


class RemoteTuple(tuple):
    """A tuple the student returned (a NamedTuple cache, say): its items, and the original."""

    def __new__(cls, items, worker, handle):
        obj = super().__new__(cls, items)
        obj._worker, obj._handle = worker, handle
        return obj


class RemoteFunction:
    """The student's function ``name``, as defined in the worker when it is called."""

    def __init__(self, worker, name, timeout):
        self._worker, self._name = worker, name
        self.__name__ = self.__qualname__ = name
        self._timeout = timeout

    def __call__(self, *args, **kwargs):
        return self._worker.call({"name": self._name}, args, kwargs, self._timeout)

    def __repr__(self):
        return f"<student's function {self._name}>"


def _nbgrader(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def _free_names(source):
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _first_line(text, limit=400):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Session:
    """The worker of one notebook, restartable, with the cells it ran so far."""

    def __init__(self, confinement, workdir, timeout):
        self.confinement, self.workdir, self.timeout = confinement, workdir, timeout
        self.ran = []        # sources of cells run so far (in order), replayed after a crash
        self.skip = set()    # indices of cells that crashed or timed out: not replayed
        self.restarts = 0
        self.worker = None

    def ensure(self):
        if self.worker is not None and not self.worker.dead:
            return True
        if self.worker is not None:
            self.worker.kill()
            self.restarts += 1
            if self.restarts > MAX_RESTARTS:
                return False
        self.worker = Worker(self.confinement, self.workdir)
        self.worker.timeout = self.timeout
        self.worker.request({"op": "run", "source": _HANDLE_HELPER}, 60.0)
        for idx, source in self.ran:
            if idx in self.skip:
                continue
            with contextlib.suppress(StudentTimeout, StudentCrashed):
                self.worker.request({"op": "run", "source": source, "name": f"<cell {idx + 1}>"},
                                    self.timeout)
            if self.worker.dead:
                self.skip.add(idx)
                return self.ensure()
        return True

    def close(self):
        if self.worker is not None:
            self.worker.kill()


# Lets the judge pass the student's own function back to the student's code (by handle).
_HANDLE_HELPER = """
def __rnnlib_handle__(name):
    return globals()[name]
"""


def judge_notebook(nb, source_nb, confinement=None, timeout=30.0, workdir=None):
    """Score a (normalised) student notebook with the instructor's tests.

    Parameters
    ----------
    nb : dict
        The student's notebook after :func:`rnngrade.normalise.normalise` (nbformat 4).
    source_nb : dict
        The instructor's source notebook (solutions and hidden tests).
    confinement : Confinement, optional
        How to confine the worker (default: confined, default limits, hiding nothing extra).
    timeout : float
        Seconds for each cell and for each test cell's checks.
    workdir : str, optional
        The worker's folder (the only place it can write). A temporary folder by default.

    Returns
    -------
    JudgeReport
        ``tests``: {grade_id: TestResult}; ``problems``: feedback lines about the run.
    """
    confinement = confinement or Confinement(hide=[])
    source_cells = {(_nbgrader(c).get("grade_id")): c for c in source_nb["cells"]
                    if _nbgrader(c).get("grade_id")}
    tests = {gid: c for gid, c in source_cells.items() if _nbgrader(c).get("grade") and c["cell_type"] == "code"}
    problems = []
    results = {}
    own_tmp = None
    if workdir is None:
        own_tmp = tempfile.TemporaryDirectory(prefix="rnn-judge-")
        workdir = own_tmp.name
    trusted = trusted_namespace(source_nb)
    session = _Session(confinement, workdir, timeout)
    try:
        for idx, cell in enumerate(nb["cells"]):
            if cell["cell_type"] != "code":
                continue
            gid = _nbgrader(cell).get("grade_id")
            if gid in tests:
                results[gid] = _run_test(gid, tests[gid], session, trusted, timeout)
                continue
            session.ran.append((idx, cell["source"]))
            if not session.ensure():
                continue
            try:
                reply = session.worker.request(
                    {"op": "run", "source": cell["source"], "name": f"<cell {idx + 1}>"}, timeout)
            except StudentTimeout:
                session.skip.add(idx)
                problems.append(f"Cell {idx + 1}{_label(gid)} ran longer than {timeout:g} s and was stopped; "
                                "the cells after it were graded without it.")
                continue
            except StudentCrashed as err:
                session.skip.add(idx)
                problems.append(f"Cell {idx + 1}{_label(gid)} crashed: {err}; the cells after it were "
                                "graded without it.")
                continue
            if not reply.get("ok") and not str(reply.get("error", "")).startswith("NotImplementedError"):
                problems.append(f"Cell {idx + 1}{_label(gid)} raised {_first_line(reply.get('error'), 200)}")
        for gid, cell in tests.items():
            if gid not in results:
                pts = float(_nbgrader(cell).get("points", 0))
                results[gid] = TestResult(gid, 0.0, pts, "this test cell was not found in the notebook.")
        if session.restarts > MAX_RESTARTS:
            problems.append("Your code crashed its process too many times; the remaining parts "
                            "were not graded.")
    finally:
        session.close()
        if own_tmp is not None:
            own_tmp.cleanup()
    return JudgeReport(results, problems, sorted(session.skip))


_TRUSTED_CACHE = {}


def _defined_names(source):
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                names.update(n.id for n in ast.walk(t) if isinstance(n, ast.Name))
    return names


def _definitions_only(source):
    """The imports and definitions of a cell, without its demonstrations (which may be slow)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return ""
    keep = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    tree.body = [node for node in tree.body if isinstance(node, keep)]
    return ast.unparse(tree)


def trusted_namespace(source_nb):
    """The instructor's code (not solutions, not tests) run in the judge's process.

    This gives the test cells the checkers and the given code (a provided forward, data): the
    read-only cells run whole; of the other instructor cells, only imports and definitions
    run (their demonstrations would call the student's functions, and can be slow). Names that
    solution cells define are removed, so the test cells always find the *student's* functions
    in the worker.
    """
    key = json.dumps(source_nb, sort_keys=True)
    if key in _TRUSTED_CACHE:
        return dict(_TRUSTED_CACHE[key])
    ns = {"__name__": "__judge__", "__builtins__": builtins}
    solution_names = set()
    for c in source_nb["cells"]:
        meta = _nbgrader(c)
        if c["cell_type"] != "code" or meta.get("grade"):
            continue
        if meta.get("solution"):
            solution_names |= _defined_names(c["source"])
            continue
        source = c["source"] if meta.get("locked") else _definitions_only(c["source"])
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            try:
                exec(compile(source, "<instructor cell>", "exec"), ns)
            except Exception:  # noqa: BLE001 - e.g. a cell that needs a student's function
                pass
    for name in solution_names:
        ns.pop(name, None)
    _TRUSTED_CACHE[key] = ns
    return dict(ns)


def _label(gid):
    return f" ({gid})" if gid else ""


def _run_test(gid, cell, session, trusted, timeout):
    points = float(_nbgrader(cell).get("points", 0))
    source = cell["source"]
    if not session.ensure():
        return TestResult(gid, 0.0, points, "not graded: your code crashed too many times.")
    ns = dict(trusted)
    worker = session.worker
    for name in sorted(_free_names(source) - set(ns) - set(dir(builtins))):
        try:
            reply = worker.request({"op": "lookup", "name": name}, 10.0)
        except (StudentTimeout, StudentCrashed):
            break
        if not reply.get("ok") or not reply.get("defined"):
            continue
        if reply.get("callable"):
            ns[name] = RemoteFunction(worker, name, timeout)
        else:
            try:
                ns[name] = wire.decode(reply["value"], worker.decode_handle)
            except wire.WireError:
                continue
    worker.deadline = time.monotonic() + timeout
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            exec(compile(source, f"<{gid}>", "exec"), ns)
    except NotImplementedError:
        return TestResult(gid, 0.0, points, "not attempted (NotImplementedError).")
    except NameError as err:
        return TestResult(gid, 0.0, points, f"{err} — is the function defined (and its cell runnable)?")
    except Exception as err:  # noqa: BLE001 - a failed check is the student's feedback
        msg = _first_line(err) or type(err).__name__
        if worker.dead:
            msg = f"{msg} ({worker.dead})" if worker.dead not in msg else msg
        return TestResult(gid, 0.0, points, msg)
    finally:
        worker.deadline = None
    if worker.dead:
        return TestResult(gid, 0.0, points, worker.dead)
    return TestResult(gid, points, points, "passed.")
