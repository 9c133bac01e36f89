"""Refusing calls into rnnlib while a student's function is being checked.

Every exercise asks for numpy only: a student's ``rnn_forward`` that returns
``rnnlib.rnn.rnn_forward(...)`` must fail with "implement this yourself", not score. A checker
therefore runs the student's function inside :func:`references_blocked`. In that window any
call *from code outside rnnlib* into one of rnnlib's public functions is refused with
:class:`ReferenceUsedError`, whatever name the function was imported under (the check is on
the function's code object, not on its name). Calls made by rnnlib itself go through: a
checker may hand the student a callback built on the references, and rnnlib's own models keep
working inside it.

The mechanism is one profile hook (:func:`sys.setprofile`) installed for the window, so the
references are plain functions: nothing wraps them and nothing needs unwrapping. A reference is
known by its code object and, failing that, by where its code was written (file, qualified
name, first line): a module reloaded with :func:`importlib.reload`, or a function rebuilt from
a copy of a reference's code object, is the same reference. When the hook
refuses a call, CPython switches profiling off (that is how a raising profile function is
treated), so a student who catches the error could then call the reference unhindered; the
refusal is remembered instead, and :func:`references_blocked` raises after the window
whatever the student's code did with the error.

In a *strict* window (the grader's worker, where no checker runs), "rnnlib calling itself"
must also have been entered legitimately: a reference reached through another rnnlib function
that the student's code called (a checker's helper, a private helper, a mistake's variant) is
refused like a direct call, unless an allowed function is on the way.

This is feedback, not security: a student's code runs in the same process and could undo it.
Trustworthy grading happens outside the student's process (the instructor's grader,
``rnngrade``, in ``grader/``, which also watches over this guard in its worker).
"""
from __future__ import annotations

import contextlib
import dis
import importlib
import inspect
import pkgutil
import sys
import threading
import types
from pathlib import Path

__all__ = ["ReferenceUsedError", "references_blocked", "call_blocked", "reference_functions"]

_PACKAGE_DIR = str(Path(__file__).resolve().parent)
# Modules whose functions a student may call freely: the checkers (a student never calls
# them from a graded function, but their callbacks run inside the window) and plotting.
_NOT_REFERENCES = ("rnnlib.checks", "rnnlib.plotting", "rnnlib._guard")


class ReferenceUsedError(RuntimeError):
    """Raised when a student's function calls the rnnlib reference it should implement."""


def _is_rnnlib_code(code):
    return code.co_filename.startswith(_PACKAGE_DIR)


def code_key(code):
    """Where a function's code was written: ``(file, qualified name, first line)``."""
    return (code.co_filename, code.co_qualname, code.co_firstlineno)


def reference_functions():
    """Every public function of rnnlib's numpy modules, by code object.

    Returns
    -------
    dict
        ``{id(function.__code__): "rnnlib.module.name"}`` for every function (and every method
        of a public class) listed in a module's ``__all__``.
    """
    return {id(fn.__code__): name for fn, name in _reference_objects()}


def _reference_objects():
    """``(function, "rnnlib.module.name")`` for every reference."""
    import rnnlib

    for info in pkgutil.iter_modules(rnnlib.__path__, prefix="rnnlib."):
        if info.ispkg or info.name.startswith(_NOT_REFERENCES):
            continue  # the references are rnnlib's top-level modules
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name, None)
            for fn in _functions_of(obj):
                if fn.__module__ == module.__name__:
                    yield fn, f"{module.__name__}.{fn.__qualname__}"


def _functions_of(obj):
    if isinstance(obj, types.FunctionType):
        return [obj]
    if isinstance(obj, type):
        return [v for v in vars(obj).values() if isinstance(v, types.FunctionType)]
    return []


_REFERENCES = None  # filled on first use: importing every module at import time would be circular
_REFERENCE_KEYS = None  # {code_key: name}, filled with _REFERENCES


def _load_references():
    global _REFERENCES, _REFERENCE_KEYS
    if _REFERENCES is None:
        pairs = list(_reference_objects())
        _REFERENCE_KEYS = {code_key(fn.__code__): name for fn, name in pairs}
        _REFERENCES = {id(fn.__code__): name for fn, name in pairs}
    return _REFERENCES, _REFERENCE_KEYS


_GENERATOR_FLAGS = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR
_FIRST_ENTRY = {}  # id(code) -> offset of the instruction where a generator's body starts


def _resumed_generator(frame):
    """A generator frame entered for anything but its first step: ``next`` after the first one,
    or its finalisation by the garbage collector (which runs wherever the collector happens to
    run, so its caller says nothing). The first ``next`` is the call that counts."""
    code = frame.f_code
    if not code.co_flags & _GENERATOR_FLAGS:
        return False
    start = _FIRST_ENTRY.get(id(code))
    if start is None:
        start = _FIRST_ENTRY[id(code)] = next(
            (i.offset for i in dis.get_instructions(code) if i.opname == "RESUME"), 0)
    return frame.f_lasti != start


class _Window:
    """One blocking window: the hook, and what it refused."""

    def __init__(self, references, allow, keys=None, strict=False):
        allowed_keys = {code_key(fn.__code__) for fn in allow}
        allowed_ids = {id(fn.__code__) for fn in allow}
        self.references = {k: v for k, v in references.items() if k not in allowed_ids}
        self.keys = {k: v for k, v in (keys or {}).items() if k not in allowed_keys}
        self.allowed_keys = allowed_keys
        self.strict = strict
        self.refused = None

    def hook(self, frame, event, arg):
        if event != "call":
            return
        code = frame.f_code
        name = self.references.get(id(code))
        if name is None:
            if not code.co_filename.startswith(_PACKAGE_DIR):
                return  # the fast path: the student's code, numpy, the standard library
            # A reference whose code object is not the one imported first: its module was
            # reloaded, or its code copied into a new function.
            name = self.keys.get(code_key(code)) or self._edited_copy(code)
            if name is None:
                return
        if _resumed_generator(frame):
            return
        caller = frame.f_back
        if (caller is not None and caller.f_code is not _STUDENT_ENTRY
                and _is_rnnlib_code(caller.f_code)):
            if not self.strict or self._entered_legitimately(caller):
                return  # rnnlib calling itself (a model, or a checker's callback)
        self.refused = name
        raise ReferenceUsedError(
            f"Your code called {name}, the course's reference solution. Implement this "
            "yourself with numpy; rnnlib's answer earns no points."
        )

    def _edited_copy(self, code):
        """Strict windows: the name of the reference a catalogued mistake's variant copies.

        The checkers' catalogue builds each known mistake by editing a reference's source
        (``rnnlib.checks._engine.mutate``), under a code name ending in ``<variant>`` so that it
        is not taken for the reference when a checker runs it. No checker runs in a strict
        window: a variant called there was built by the student, as a copy of the reference.
        """
        if not self.strict or not code.co_qualname.endswith("<variant>"):
            return None
        key = (code.co_filename, code.co_qualname[: -len("<variant>")], code.co_firstlineno)
        if key in self.allowed_keys:
            return None  # a copy of what the student may call anyway
        return self.keys.get(key) or f"a copy of rnnlib's {key[1]}"

    def _entered_legitimately(self, caller):
        """Strict windows: is an allowed function on the way from outside rnnlib to here?"""
        frame = caller
        while (frame is not None and frame.f_code is not _STUDENT_ENTRY
               and _is_rnnlib_code(frame.f_code)):
            if code_key(frame.f_code) in self.allowed_keys:
                return True
            frame = frame.f_back
        return False


@contextlib.contextmanager
def references_blocked(allow=(), strict=False):
    """Context in which calls from outside rnnlib into rnnlib's functions are refused.

    Parameters
    ----------
    allow : sequence of functions
        rnnlib functions an exercise gives the student to call (for example the loss that a
        training step is built on).
    strict : bool
        Also refuse a reference that rnnlib code reached after the student's code called into
        rnnlib (a helper that calls the reference for them), unless an allowed function is on
        the way. For a process where no checker runs (the grader's worker): a checker's
        callback built on a reference would be refused too.

    Raises
    ------
    ReferenceUsedError
        On the refused call, inside the window; and again when the window closes if the
        student's code caught it and carried on.
    """
    references, keys = _load_references()
    window = _Window(references, allow, keys, strict)
    previous = sys.getprofile(), threading.getprofile()
    sys.setprofile(window.hook)
    threading.setprofile(window.hook)
    try:
        yield window
    except BaseException as err:
        _restore(previous)
        if window.refused is not None and not isinstance(err, ReferenceUsedError):
            raise _refusal(window.refused) from None
        raise
    _restore(previous)
    if window.refused is not None:
        raise _refusal(window.refused)


def call_blocked(fn, *args, allow=(), **kwargs):
    """``fn(*args, **kwargs)`` with the references blocked, ``fn`` being the student's function.

    The call is made from :func:`_student_entry`, which the hook does not count as rnnlib: so a
    "student's function" that *is* a reference (``from rnnlib.rnn import rnn_forward`` and no
    definition), or a ``functools.partial`` of one, is refused like a call from the student.

    Parameters
    ----------
    fn : callable
    *args, **kwargs
        Passed to ``fn``.
    allow : sequence of functions
        rnnlib functions the exercise lets the student call.
    """
    with references_blocked(allow):
        return _student_entry(fn, args, kwargs)


def _student_entry(fn, args, kwargs):
    return fn(*args, **kwargs)


_STUDENT_ENTRY = _student_entry.__code__


def _restore(previous):
    sys.setprofile(previous[0])
    threading.setprofile(previous[1])


def _refusal(name):
    # The student's code caught the first refusal and went on (or raised something else).
    return ReferenceUsedError(
        f"Your code called {name}, the course's reference solution, and carried on after "
        "being told not to. Implement this yourself with numpy; rnnlib's answer earns no points."
    )
