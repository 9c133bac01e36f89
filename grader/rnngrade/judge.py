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

This one run is the notebook's only execution: the outputs of the student's cells (as the
worker reports them, capped) and of the test cells (the judge's verdicts) make the executed
notebook from which nbgrader's gradebook entry and the student's feedback are made.

It fails closed. A worker that does not say hello (it could not start, or could not import
the grader's rnnlib), imports another rnnlib than the judge's, or runs privileged, raises
:class:`JudgeUnavailable` before any student code runs: the grader cannot judge, for a reason
that is not the student's, and the command stops and says so instead of scoring anyone.
"""
from __future__ import annotations

import ast
import builtins
import contextlib
import dataclasses
import io
import os
import select
import signal
import subprocess
import sys
import tempfile
import time

from rnnlib._guard import ReferenceUsedError
from rnnlib.checks import CheckFailed
from rnngrade import wire
from rnngrade.sandbox import Confinement, compile_packages

__all__ = ["TestResult", "JudgeReport", "judge_notebook", "executed_notebook", "preload_modules",
           "JudgeUnavailable", "StudentCrashed", "StudentTimeout"]

MAX_RESTARTS = 6
#: Requests during which the student's code may call back a function the judge passed it.
CALLBACK_OPS = ("call", "attr", "item", "len", "iter")
#: A test cell's checks may take this many cell timeouts in all (each call: one).
TEST_BUDGET = 5
#: Seconds a worker may take to start and say hello (a loaded machine starts slowly).
HELLO_TIMEOUT = 60.0
#: What nbgrader tracks of a notebook's cells that the judge does not score.
MANUAL = "needs manual grading"


class JudgeUnavailable(RuntimeError):
    """The judge cannot work, for a reason that is not the student's (the grader fails closed)."""


class StudentCrashed(RuntimeError):
    """The process running the student's code died."""

    #: Where in the student's code (the checkers quote it; not this process's traceback).
    student_line = ""


class StudentTimeout(RuntimeError):
    """The student's code ran past its time limit."""

    student_line = ""


class StudentError(RuntimeError):
    """The student's function raised; the message is ``Type: message``."""

    student_line = ""


@dataclasses.dataclass
class TestResult:
    grade_id: str
    points: float
    max_points: float
    message: str
    #: What the judge found, for the misconception report (:mod:`rnngrade.misconceptions`):
    #: the checker's stable id of the mistake it recognised (``CheckFailed.mistake_id``, a
    #: catalogued ``<function>/<slug>`` or ``generic/<kind>``), or one of the outcomes
    #: ``passed``, ``not-attempted``, ``stopped`` (the student's process crashed or ran out of
    #: time), ``missing-cell`` (the test cell was not found or not reached), ``error`` (the
    #: check raised something other than its verdict).
    diagnosis: str | None = None


@dataclasses.dataclass
class JudgeReport:
    tests: dict
    problems: list
    #: indices (in the notebook) of cells that crashed the worker or ran out of time
    skipped: list = dataclasses.field(default_factory=list)
    #: {cell index: [nbformat outputs]} of this run: the executed notebook's outputs
    outputs: dict = dataclasses.field(default_factory=dict)
    #: grade ids of the cells nbgrader leaves to a person (manually graded answers, tasks)
    manual: list = dataclasses.field(default_factory=list)

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
    """One confined worker process and the channel to it.

    Parameters
    ----------
    confinement : Confinement
    workdir : str
        The worker's folder (the only place it can write).
    preload : sequence of str
        Modules it imports before its hello (:func:`preload_modules`).
    wait : bool
        Wait for the hello now. ``False`` starts the process and returns at once: the worker
        then starts while its caller does other work, and :meth:`ready` waits for it.
    """

    def __init__(self, confinement, workdir, preload=(), wait=True):
        self.confinement = confinement
        self.workdir = workdir
        self.preload = tuple(preload)
        self.deadline = None
        #: The whole notebook's deadline (``time.monotonic()``), set by the session.
        self.notebook_deadline = None
        self.callbacks = {}
        self._calls = []  # (args, kwargs) of the calls of the student's code under way
        #: Set when a request ran out of the notebook's time (not a single cell's).
        self.out_of_notebook_time = False
        self.proc = None
        self.dead = None
        self._buf = b""
        self._said_hello = False
        self._start()
        if wait:
            self.ready()

    def _start(self):
        compile_packages()
        to_worker_r, to_worker_w = os.pipe()
        from_worker_r, from_worker_w = os.pipe()
        argv = [sys.executable, "-s", "-m", "rnngrade.worker",
                str(to_worker_r), str(from_worker_w), str(int(self.confinement.limits.output)),
                "confined" if self.confinement.enabled else "unconfined", ",".join(self.preload)]
        cmd = self.confinement.command(argv, [self.workdir], self.workdir)
        # Nothing of the grader's environment (the seed, a database password) reaches the
        # worker: bubblewrap starts it with the sandbox's own few variables (--clearenv).
        env = dict(self.confinement.environment(), HOME=self.workdir)
        # What the worker prints before its hello (an import error) says why it did not start.
        self._log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            cmd, pass_fds=(to_worker_r, from_worker_w), cwd=self.workdir, env=env,
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
            start_new_session=True,
        )
        os.close(to_worker_r)
        os.close(from_worker_w)
        self._w = os.fdopen(to_worker_w, "wb")
        self._r = from_worker_r
        self.dead = None

    def ready(self):
        """Wait for the worker's hello (once); raise JudgeUnavailable if it cannot work."""
        if not self._said_hello:
            self._hello()
            self._said_hello = True

    def _hello(self):
        """Wait for the worker's hello; a worker that cannot start is the grader's failure."""
        try:
            hello = self._readline(HELLO_TIMEOUT)
        except (StudentTimeout, EOFError, StudentCrashed, ValueError, OSError) as err:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=2)
            self.kill()
            self._log.seek(0)
            said = self._log.read()[-2000:].decode(errors="replace").strip()
            why = "did not answer in time" if isinstance(err, StudentTimeout) else \
                _signal_name(self.proc.returncode)
            raise JudgeUnavailable(
                f"the judge's confined worker could not start ({why}) before running any "
                f"student code: {said or 'it printed nothing'}") from None
        self._log.close()
        if hello.get("op") != "hello":
            self.kill()
            raise JudgeUnavailable(f"the judge's worker answered {hello!r} instead of hello")
        import rnnlib

        mine = os.path.realpath(rnnlib.__file__)
        if hello.get("rnnlib") != mine:
            self.kill()
            raise JudgeUnavailable(f"the judge's worker imported rnnlib from {hello.get('rnnlib')}, "
                                   f"not the judge's {mine}")
        if self.confinement.enabled and (hello.get("uid") == 0 or hello.get("euid") == 0
                                         or hello.get("caps") not in ("0000000000000000",)):
            self.kill()
            raise JudgeUnavailable(f"the sandbox is not unprivileged (user {hello.get('uid')}, "
                                   f"capabilities {hello.get('caps')}): refusing to run student code")
        if self.confinement.enabled and hello.get("seccomp") != "2":
            # Without its seccomp filter the sandbox reaches the machine's Unix sockets.
            self.kill()
            raise JudgeUnavailable(f"the sandbox has no seccomp filter (Seccomp: {hello.get('seccomp')}): "
                                   "refusing to run student code")

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
        """One line from the worker. Chunks are kept in a list and only the new chunk is
        searched for the end of line: reading a large answer costs linear time, not quadratic
        (a student's 60 MB answer must not stall the judge)."""
        end = time.monotonic() + timeout
        chunks, size = ([self._buf] if self._buf else []), len(self._buf)
        newline = self._buf.find(b"\n")
        while newline < 0:
            left = end - time.monotonic()
            if left <= 0:
                self._buf = b"".join(chunks)
                raise StudentTimeout("timeout")
            ready, _, _ = select.select([self._r], [], [], left)
            if not ready:
                continue
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                raise EOFError
            at = chunk.find(b"\n")
            if at >= 0:
                newline = size + at
            chunks.append(chunk)
            size += len(chunk)
            if size > wire.MAX_MESSAGE and newline < 0:
                raise StudentCrashed("sent an answer larger than the grader accepts")
        data = b"".join(chunks)
        line, self._buf = data[:newline], data[newline + 1:]
        return wire.loads(line)

    def request(self, msg, timeout):
        """Send ``msg``; answer callbacks until the reply comes. Kills the worker on failure."""
        if self.dead:
            raise StudentCrashed(self.dead)
        if self.deadline is not None:
            timeout = min(timeout, self.deadline - time.monotonic())
        by_notebook = False
        if self.notebook_deadline is not None and self.notebook_deadline - time.monotonic() < timeout:
            timeout, by_notebook = self.notebook_deadline - time.monotonic(), True
        # The student's code may call the judge's functions back only while the judge is
        # calling it (a checker's callback); a cell or a look-up that does is out of protocol.
        callbacks = msg.get("op") in CALLBACK_OPS
        try:
            self._w.write(wire.dumps(msg))
            self._w.flush()
            end = time.monotonic() + max(timeout, 0.0)
            while True:
                reply = self._readline(max(end - time.monotonic(), 0.0))
                if not isinstance(reply, dict):
                    raise ValueError(f"a {type(reply).__name__} instead of an answer")
                if reply.get("op") == "callback":
                    if not callbacks:
                        raise ValueError("a call of the grader's functions outside a check")
                    self._answer_callback(reply)
                    continue
                return reply
        except StudentTimeout:
            self.kill()
            self.out_of_notebook_time = by_notebook
            self.dead = ("the notebook ran longer than its time limit in all and was stopped"
                         if by_notebook else
                         "the code ran longer than the time limit and was stopped")
            raise StudentTimeout(self.dead) from None
        except StudentCrashed as err:  # an answer too large: the rest of it is never read
            self.kill()
            self.dead = str(err)
            raise
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
        try:
            fn = self.callbacks[int(msg["id"])]
        except (KeyError, TypeError, ValueError):
            raise ValueError("a call of a grader's function it was not given") from None
        try:
            sync = msg.get("sync")
            if isinstance(sync, dict) and self._calls:
                # What the student's function changed in place so far, before the judge's
                # function (which may read those arguments) runs.
                self._apply_changes(*self._calls[-1], sync.get("args"), sync.get("kwargs"))
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
        self._calls.append((args, kwargs))
        try:
            reply = self.request(msg, timeout)
        finally:
            self._calls.pop()
        if not reply.get("ok"):
            kind = reply.get("kind")
            if kind == "NotImplementedError":
                raise NotImplementedError(reply.get("error", ""))
            if kind == "ReferenceUsedError":
                raise ReferenceUsedError(reply.get("error", ""))
            err = _student_exception(reply.get("etype"))(reply.get("error", ""))
            # Where in the student's code it was raised (the worker's traceback, not this one).
            where = reply.get("where")
            err.student_line = where if isinstance(where, str) else ""
            raise err
        value = wire.decode(reply["value"], self.decode_handle)
        # Arguments come back after the call (in-place updates); the worker marks those that
        # did not change, which are neither decoded nor written back.
        self._apply_changes(args, kwargs, reply.get("args"), reply.get("kwargs"))
        return value

    def _apply_changes(self, args, kwargs, new_args, new_kwargs):
        """Mirror the worker's in-place changes to a call's arguments in the judge's copies."""
        new_args = new_args if isinstance(new_args, list) else []
        for old, new in zip(args, new_args):
            if new != wire.SAME:
                _write_back(old, wire.decode(new, self.decode_handle))
        pairs = new_kwargs.get("__dict__", []) if isinstance(new_kwargs, dict) else []
        for pair in pairs:
            if isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str) \
                    and pair[0] in kwargs and pair[1] != wire.SAME:
                _write_back(kwargs[pair[0]], wire.decode(pair[1], self.decode_handle))

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
    """A tuple the student returned (a NamedTuple cache, say): its items, and the original.

    A copy the judge makes of it (``type(t)(items)``, as the checkers copy a result to see
    whether a later call changes it) is a plain tuple of those items: only the student's own
    object travels back to the student's code as itself.
    """

    def __new__(cls, items=(), worker=None, handle=None):
        if worker is None:
            return tuple(items)
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

    def __init__(self, confinement, workdir, timeout, notebook_timeout=None, preload=(),
                 worker=None):
        self.confinement, self.workdir, self.timeout = confinement, workdir, timeout
        self.preload = tuple(preload)
        self.ran = []        # sources of cells run so far (in order), replayed after a crash
        self.skip = set()    # indices of cells that crashed or timed out: not replayed
        self.restarts = 0
        self.worker = None
        self._ahead = worker  # a worker started ahead for this notebook, not yet used
        # Every cell has its timeout, and the notebook as a whole has one too: a thousand
        # cells that each sleep just under the cell timeout must not hold a grader for hours.
        self.deadline = (time.monotonic() + notebook_timeout) if notebook_timeout else None
        self.out_of_time = False

    def time_left(self):
        return float("inf") if self.deadline is None else self.deadline - time.monotonic()

    def ensure(self):
        """A live worker with the cells so far replayed; ``False`` after too many crashes.

        Raises JudgeUnavailable when a worker cannot start (the grader's failure)."""
        if self.worker is not None and self.worker.out_of_notebook_time:
            self.out_of_time = True
        if self.out_of_time or self.time_left() <= 0:
            self.out_of_time = True
            return False
        if self.worker is not None and not self.worker.dead:
            return True
        if self.worker is not None:
            self.worker.kill()
            self.restarts += 1
            if self.restarts > MAX_RESTARTS:
                return False
        if self._ahead is not None:
            self.worker, self._ahead = self._ahead, None
            self.worker.ready()
        else:
            self.worker = Worker(self.confinement, self.workdir, self.preload)
        self.worker.timeout = self.timeout
        self.worker.notebook_deadline = self.deadline
        self.worker.request({"op": "run", "source": _HANDLE_HELPER}, 60.0)
        for idx, source in self.ran:
            if idx in self.skip:
                continue
            with contextlib.suppress(StudentTimeout, StudentCrashed):
                self.worker.request({"op": "run", "source": source, "name": f"<cell {idx + 1}>"},
                                    self.timeout)
            if self.worker.dead:
                if self.worker.out_of_notebook_time:
                    self.out_of_time = True
                    return False
                self.skip.add(idx)
                return self.ensure()
        return True

    def stopped_why(self):
        """Why the session runs nothing more (after :meth:`ensure` returned ``False``)."""
        if self.out_of_time:
            return "the notebook used up its time limit"
        return "the code crashed its process too many times"

    def close(self):
        for worker in (self.worker, self._ahead):
            if worker is not None:
                worker.kill()


# Lets the judge pass the student's own function back to the student's code (by handle).
_HANDLE_HELPER = """
def __rnnlib_handle__(name):
    return globals()[name]
"""


def _stopped(text):
    """The output a cell gets when the grader stopped it (shown in the feedback)."""
    return {"output_type": "error", "ename": "GradingStopped", "evalue": text, "traceback": [text]}


def preload_modules(source_nb):
    """The modules the instructor's notebook imports (absolute imports) in the cells the
    worker runs: the released cells and the answers, not the test cells (which run in the
    judge, and whose hidden imports the student's process has no business seeing).

    A new worker imports them before any student code, as a kernel has them after its first
    cells; importing them is most of a worker's start (``matplotlib.pyplot`` alone: 0.6 s),
    which a worker started ahead of its notebook (:mod:`rnngrade.task`) pays while the
    notebook before it is judged. The instructor's notebook decides, never the student's.
    """
    modules = set()
    for cell in source_nb["cells"]:
        meta = _nbgrader(cell)
        if cell["cell_type"] != "code" or (meta.get("grade") and not meta.get("solution")):
            continue
        try:
            tree = ast.parse(cell["source"])
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module)
    return tuple(sorted(m for m in modules if all(part.isidentifier() for part in m.split("."))))


def judge_notebook(nb, source_nb, confinement=None, timeout=30.0, workdir=None,
                   notebook_timeout=None, worker=None):
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
    notebook_timeout : float, optional
        Seconds for the whole notebook (cells, test cells, restarts). Default: the
        confinement's ``limits.notebook_timeout``.
    worker : Worker, optional
        A worker already started for this notebook in ``workdir`` (with ``wait=False``, and
        the modules of :func:`preload_modules`): used first, instead of starting one.

    Returns
    -------
    JudgeReport
        ``tests``: {grade_id: TestResult}; ``problems``: feedback lines about the run;
        ``outputs``: the executed notebook's outputs; ``manual``: cells left to a person.

    Raises
    ------
    JudgeUnavailable
        When the grader cannot judge for a reason that is not the student's.
    """
    confinement = confinement or Confinement(hide=[])
    source_cells = {(_nbgrader(c).get("grade_id")): c for c in source_nb["cells"]
                    if _nbgrader(c).get("grade_id")}
    # Test cells are scored here; manually graded answers and tasks are left to a person.
    tests = {gid: c for gid, c in source_cells.items()
             if _nbgrader(c).get("grade") and not _nbgrader(c).get("solution")
             and c["cell_type"] == "code"}
    manual = [gid for gid, c in source_cells.items()
              if (_nbgrader(c).get("grade") and _nbgrader(c).get("solution"))
              or _nbgrader(c).get("task")]
    problems, results, outputs = [], {}, {}
    own_tmp = None
    if worker is not None:
        workdir = worker.workdir
    if workdir is None:
        own_tmp = tempfile.TemporaryDirectory(prefix="rnn-judge-")
        workdir = own_tmp.name
    trusted = trusted_namespace(source_nb)
    # The only names a test cell may take from the student's process: those the assignment
    # asks the student to define (in its answer cells). Any other name a test uses is the
    # instructor's and comes from the judge's own namespace, or not at all.
    answers = _answer_names(source_nb)
    limits = confinement.limits
    if notebook_timeout is None:
        notebook_timeout = getattr(limits, "notebook_timeout", None)
    session = _Session(confinement, workdir, timeout, notebook_timeout,
                       preload_modules(source_nb), worker)
    out_of_time = (f"The notebook ran longer than {notebook_timeout:g} s in all and was stopped; "
                   "what came after was not graded." if notebook_timeout else "")
    try:
        try:
            for idx, cell in enumerate(nb["cells"]):
                if cell["cell_type"] != "code":
                    continue
                gid = _nbgrader(cell).get("grade_id")
                if gid in tests:
                    results[gid], outputs[idx] = _run_test(gid, tests[gid], session, trusted, timeout,
                                                           answers)
                    continue
                session.ran.append((idx, cell["source"]))
                if not session.ensure():
                    outputs[idx] = [_stopped(f"not run: {session.stopped_why()}.")]
                    continue
                try:
                    reply = session.worker.request(
                        {"op": "run", "source": cell["source"], "name": f"<cell {idx + 1}>"}, timeout)
                except StudentTimeout:
                    if session.worker.out_of_notebook_time:
                        session.out_of_time = True
                        outputs[idx] = [_stopped(out_of_time)]
                        continue
                    session.skip.add(idx)
                    problems.append(f"Cell {idx + 1}{_label(gid)} ran longer than {timeout:g} s and was "
                                    "stopped; the cells after it were graded without it.")
                    outputs[idx] = [_stopped(f"The grader stopped this cell after {timeout:g} s.")]
                    continue
                except StudentCrashed as err:
                    session.skip.add(idx)
                    problems.append(f"Cell {idx + 1}{_label(gid)} crashed: {err}; the cells after it "
                                    "were graded without it.")
                    outputs[idx] = [_stopped(f"This cell crashed: {err}.")]
                    continue
                outputs[idx] = _clean_outputs(reply.get("outputs"), limits.output)
                if not reply.get("ok") and not str(reply.get("error", "")).startswith("NotImplementedError"):
                    problems.append(f"Cell {idx + 1}{_label(gid)} raised {_first_line(reply.get('error'), 200)}")
        except JudgeUnavailable:
            raise
        except Exception as err:  # noqa: BLE001 - the student made the judge itself fail
            problems.append(f"The grader could not finish judging this notebook ({type(err).__name__}: "
                            f"{_first_line(err, 200)}); what it could not see earns 0.")
        for gid, cell in tests.items():
            if gid not in results:
                pts = float(_nbgrader(cell).get("points", 0))
                results[gid] = TestResult(gid, 0.0, pts, "this test cell was not found in the notebook "
                                          "or was not reached.", "missing-cell")
        if session.out_of_time:
            problems.append(out_of_time)
        elif session.restarts > MAX_RESTARTS:
            problems.append("Your code crashed its process too many times; the remaining parts "
                            "were not graded.")
    finally:
        session.close()
        if own_tmp is not None:
            own_tmp.cleanup()
    return JudgeReport(results, problems, sorted(session.skip), outputs, manual)


#: Output types and keys an output may have in the executed notebook (the worker's are data).
_OUTPUT_KEYS = {"stream": ("name", "text"), "display_data": ("data", "metadata"),
                "execute_result": ("data", "metadata", "execution_count"),
                "error": ("ename", "evalue", "traceback")}
_MIME = {"text/plain", "image/png"}
#: Outputs kept per cell, and images among them (the worker's own caps are the student's to
#: break: a cell can write any answer it likes on the worker's pipe).
MAX_OUTPUTS = 20
MAX_IMAGES = 5
MAX_PNG = 512 * 2**10
MAX_ERROR = 20_000


def _png(data):
    """``data`` if it is the base64 text of a PNG image of at most MAX_PNG bytes, else None."""
    import base64
    import binascii

    if not isinstance(data, str) or len(data) > (MAX_PNG * 4) // 3 + 4:
        return None
    try:
        raw = base64.b64decode(data.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        return None
    return data if raw.startswith(b"\x89PNG\r\n\x1a\n") else None


def _clean_outputs(outputs, limit=100_000):
    """The worker's outputs, reduced to what a notebook may hold (no HTML, no JavaScript).

    The judge enforces the caps itself: at most ``limit`` characters of text per cell (all
    its outputs together), :data:`MAX_OUTPUTS` outputs, :data:`MAX_IMAGES` images, each a
    real PNG of at most :data:`MAX_PNG` bytes.
    """
    clean, left, images = [], int(limit), 0
    cut = False

    def text(value):
        nonlocal left, cut
        value = value if isinstance(value, str) else str(value)
        if len(value) > left:
            value, cut = value[:max(left, 0)], True
        left -= len(value)
        return value

    for out in outputs if isinstance(outputs, list) else []:
        kind = out.get("output_type") if isinstance(out, dict) else None
        if kind not in _OUTPUT_KEYS:
            continue
        if len(clean) >= MAX_OUTPUTS:
            cut = True
            break
        item = {"output_type": kind}
        for key in _OUTPUT_KEYS[kind]:
            item[key] = out.get(key)
        if kind == "stream":
            item["name"] = "stderr" if item["name"] == "stderr" else "stdout"
            item["text"] = text(item["text"] or "")
        elif kind == "error":
            # An error has a budget of its own: a cell that printed a flood still shows why
            # it failed.
            item["ename"] = str(item["ename"])[:200]
            item["evalue"] = str(item["evalue"])[:MAX_ERROR]
            lines = item["traceback"] if isinstance(item["traceback"], list) else []
            item["traceback"] = ["\n".join(str(t) for t in lines[:50])[-MAX_ERROR:]]
        else:
            data = item["data"] if isinstance(item["data"], dict) else {}
            kept = {}
            if "text/plain" in data:
                kept["text/plain"] = text(data["text/plain"])
            png = _png(data.get("image/png")) if images < MAX_IMAGES else None
            if png is not None:
                kept["image/png"] = png
                images += 1
            if not kept:
                continue
            item["data"] = kept
            item["metadata"] = {}
            if kind == "execute_result":
                item["execution_count"] = None
        clean.append(item)
    if cut:
        clean.append({"output_type": "stream", "name": "stderr",
                      "text": "\n[... output truncated by the grader ...]\n"})
    return clean


def executed_notebook(nb, report):
    """The notebook with this run's outputs: what nbgrader records and the feedback shows."""
    import copy

    out = copy.deepcopy(nb)
    count = 0
    for idx, cell in enumerate(out["cells"]):
        if cell["cell_type"] != "code":
            continue
        count += 1
        cell["execution_count"] = count
        cell["outputs"] = report.outputs.get(idx, [])
        for o in cell["outputs"]:
            if o["output_type"] == "execute_result":
                o["execution_count"] = count
    return out


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

    Run afresh for each notebook, never shared between notebooks: a test cell passes the
    instructor's arrays (and random generators) to the student's function, which may change
    them in place (the judge mirrors in-place changes), and the next student must be graded on
    the instructor's data, not on what another student left there. (It costs milliseconds.)
    """
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
    return ns


def _label(gid):
    return f" ({gid})" if gid else ""


def _answer_names(source_nb):
    """Names the answer cells of the instructor's notebook define (the student's to define)."""
    names = set()
    for c in source_nb["cells"]:
        if c["cell_type"] == "code" and _nbgrader(c).get("solution"):
            names |= _defined_names(c["source"])
    return names


def _run_test(gid, cell, session, trusted, timeout, answers=None):
    """Run the instructor's test cell here: ``(TestResult, outputs for the executed notebook)``.

    ``answers``: the names the test may take from the student's process (default: any name
    the judge's namespace lacks).
    """
    points = float(_nbgrader(cell).get("points", 0))
    source = cell["source"]
    if not session.ensure():
        msg = f"not graded: {session.stopped_why()}."
        return TestResult(gid, 0.0, points, msg, "stopped"), [_failed("GradingStopped", msg)]
    ns = dict(trusted)
    worker = session.worker
    wanted = _free_names(source) - set(ns) - set(dir(builtins))
    if answers is not None:
        wanted &= set(answers)
    try:
        return _judge_test(gid, source, points, ns, worker, timeout, sorted(wanted))
    finally:
        # A function the judge handed the student's code (a checker's callback) is valid for
        # this test cell only.
        worker.callbacks.clear()


def _judge_test(gid, source, points, ns, worker, timeout, wanted):
    for name in wanted:
        try:
            reply = worker.request({"op": "lookup", "name": name}, 10.0)
        except (StudentTimeout, StudentCrashed):
            break
        if reply.get("kind") == "ReferenceUsedError":
            msg = _first_line(reply.get("error"))
            return (TestResult(gid, 0.0, points, msg, "generic/calls-reference"),
                    [_failed("ReferenceUsedError", msg)])
        if not reply.get("ok") or not reply.get("defined"):
            continue
        if reply.get("callable"):
            ns[name] = RemoteFunction(worker, name, timeout)
        else:
            try:
                ns[name] = wire.decode(reply["value"], worker.decode_handle)
            except wire.WireError:
                continue
    # Each call of the student's function has the cell timeout; the test cell as a whole has
    # TEST_BUDGET times that, because a checker may call the student thousands of times and
    # each call also pays the judge's round trip: on a loaded machine a correct answer must
    # not run out of time (grades would then depend on the load).
    worker.deadline = time.monotonic() + TEST_BUDGET * timeout
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            exec(compile(source, f"<{gid}>", "exec"), ns)
    except JudgeUnavailable:
        raise
    except NotImplementedError:
        msg = "not attempted (NotImplementedError)."
        return TestResult(gid, 0.0, points, msg, "not-attempted"), [_failed("NotImplementedError", msg)]
    except NameError as err:
        msg = f"{err} — is the function defined (and its cell runnable)?"
        return TestResult(gid, 0.0, points, msg, "generic/undefined"), [_failed("NameError", msg)]
    except Exception as err:  # noqa: BLE001 - a failed check is the student's feedback
        msg = _first_line(err) or type(err).__name__
        if worker.dead:
            msg = f"{msg} ({worker.dead})" if worker.dead not in msg else msg
        # Only the checkers' own verdict names a mistake: an exception of any other class
        # (whatever attributes it carries) is an error of the check.
        diagnosis = err.mistake_id if isinstance(err, CheckFailed) else None
        if worker.dead:
            diagnosis = "stopped"
        elif not isinstance(diagnosis, str):
            diagnosis = "error"
        return (TestResult(gid, 0.0, points, msg, diagnosis), [_failed(type(err).__name__, msg)])
    finally:
        worker.deadline = None
    if worker.dead:
        return TestResult(gid, 0.0, points, worker.dead, "stopped"), [_failed("GradingStopped", worker.dead)]
    text = printed.getvalue()[:10_000]
    return (TestResult(gid, points, points, "passed.", "passed"),
            [{"output_type": "stream", "name": "stdout", "text": text}] if text else [])


def _failed(ename, message):
    return {"output_type": "error", "ename": ename, "evalue": message, "traceback": [message]}
