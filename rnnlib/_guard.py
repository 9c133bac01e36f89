"""Blocking rnnlib's reference functions while a student's code runs.

A checker calls the student's function inside :func:`references_blocked`. Every public
reference function is wrapped by :func:`reference`, so that calling it during that window
raises :class:`ReferenceUsedError` instead of quietly scoring the reference's answer. The
checkers themselves compute expected values through ``fn.__wrapped__`` (the undecorated
function), which the block does not affect.

This is feedback, not security: a student's code runs in the same process and could undo
it. Trustworthy grading happens outside the student's process (see the instructor's grader, ``rnngrade``, in ``grader/``).
"""
from __future__ import annotations

import contextlib
import functools

__all__ = ["ReferenceUsedError", "reference", "references_blocked"]

_state = {"blocked": False}


class ReferenceUsedError(RuntimeError):
    """Raised when a student's function calls the rnnlib reference it should implement."""


def reference(fn):
    """Mark ``fn`` as a reference implementation that students must not call while graded."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if _state["blocked"]:
            raise ReferenceUsedError(
                f"Your code called rnnlib.{fn.__name__}, the course's reference solution. "
                "Implement this yourself with numpy; rnnlib's answer earns no points."
            )
        return fn(*args, **kwargs)

    wrapper.__rnnlib_reference__ = True
    return wrapper


@contextlib.contextmanager
def references_blocked():
    """Context in which every :func:`reference`-wrapped function raises ReferenceUsedError."""
    previous = _state["blocked"]
    _state["blocked"] = True
    try:
        yield
    finally:
        _state["blocked"] = previous
