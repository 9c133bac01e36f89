"""What every checker shares: drawing cases, running the student's code, comparing, failing.

A checker's job is to say *what* is wrong in a sentence a stuck student can act on. The
pieces here keep that consistent:

* :class:`CheckFailed` is the one exception a checker raises (an ``AssertionError``, so
  nbgrader and pytest treat it as a failed test) and its message is the feedback;
* :func:`call_student` runs the student's function with rnnlib's references blocked and turns
  crashes into messages (``NotImplementedError`` is passed through unchanged, so an untouched
  exercise fails with the error a student expects);
* :func:`case_seeds` gives visible seeds, or hidden ones (plus the instructor's
  ``RNNLIB_GRADING_SEED``) so that hidden tests stay real tests in a public repository;
* the comparison helpers use numpy functions captured when rnnlib was imported: replacing
  ``np.allclose`` or ``np.testing.assert_allclose`` later changes nothing here.
"""
from __future__ import annotations

import os

import numpy as np

from rnnlib._guard import ReferenceUsedError, call_blocked

# Private references, bound at import time (before any student cell runs).
_abs = np.abs
_max = np.max
_isfinite = np.isfinite
_all = np.all
_asarray = np.asarray
_argmax = np.argmax
_unravel = np.unravel_index
_array_equal = np.array_equal
_ndarray = np.ndarray

GRADING_SEED_ENV = "RNNLIB_GRADING_SEED"
#: Set (to "1") by the instructor's grader in the process that runs a student's notebook, so
#: that demonstration cells (a model trained to show its samples) can run smaller when graded.
GRADING_ENV = "RNNLIB_GRADING"
VISIBLE_SEEDS = (0, 1, 2)
HIDDEN_SEEDS = (1009, 2027, 3041)

__all__ = [
    "CheckFailed",
    "GRADING_SEED_ENV",
    "GRADING_ENV",
    "grading",
    "call_student",
    "case_seeds",
    "close",
    "max_abs_diff",
    "require_array",
    "require_close",
    "fmt_shape",
]


class CheckFailed(AssertionError):
    """A checker found a problem; the message says what and where.

    Parameters
    ----------
    message : str
        The feedback, for the student.
    mistake_id : str
        What was diagnosed: a catalogued mistake's id (``"rnn_backward/no-carry"``), or
        ``"generic/<kind>"`` (``generic/shape``, ``generic/zeros``, ...). The grader counts
        these to tell an instructor what a class got wrong.
    """

    def __init__(self, message, mistake_id="generic/value"):
        super().__init__(message)
        self.mistake_id = mistake_id


def grading():
    """``True`` in a notebook run by the instructor's grader (demonstrations may run smaller).

    It changes nothing a checker compares: scores never depend on it.
    """
    return os.environ.get(GRADING_ENV, "") not in ("", "0")


def case_seeds(hidden=False):
    """Seeds for the random cases of a check.

    Parameters
    ----------
    hidden : bool
        ``False`` for the visible tests (fixed, public seeds). ``True`` for hidden tests:
        other fixed seeds, plus one derived from the environment variable
        ``RNNLIB_GRADING_SEED`` when an instructor sets it for grading.

    Returns
    -------
    tuple of int
    """
    if not hidden:
        return VISIBLE_SEEDS
    seeds = list(HIDDEN_SEEDS)
    env = os.environ.get(GRADING_SEED_ENV, "").strip()
    if env:
        try:
            seeds.append(int(env) % (2**32))
        except ValueError:
            seeds.append(sum(env.encode()) * 7919 % (2**32))
    return tuple(seeds)


def fmt_shape(x):
    """Describe the shape (or type) of a value for a message."""
    if isinstance(x, _ndarray):
        return str(tuple(x.shape))
    if isinstance(x, (tuple, list)):
        return f"a {type(x).__name__} of length {len(x)}"
    return f"a {type(x).__name__}"


def call_student(fn, *args, name=None, allow=(), copy_args=True, **kwargs):
    """Call a student's function with the rnnlib references blocked.

    Parameters
    ----------
    fn : callable
        The student's function.
    *args, **kwargs
        Passed to ``fn``. Arrays are copied, so an in-place edit by the student cannot change
        the inputs the reference sees.
    name : str, optional
        Name used in messages (default ``fn.__name__``).
    allow : sequence of functions
        rnnlib functions the exercise lets the student call.
    copy_args : bool
        Copy array arguments first (default), or pass them as they are, so that the caller
        can see whether the student's function changed them.

    Returns
    -------
    Whatever ``fn`` returns.

    Raises
    ------
    NotImplementedError
        Unchanged, when the exercise is not written yet.
    CheckFailed
        When ``fn`` calls the reference or raises anything else.
    """
    name = name or getattr(fn, "__name__", "your function")
    if not callable(fn):
        raise CheckFailed(f"{name} should be a function, but it is {fmt_shape(fn)}.",
                          mistake_id="generic/not-a-function")
    if copy_args:
        args = [a.copy(order="K") if isinstance(a, _ndarray) else a for a in args]
    try:
        return call_blocked(fn, *args, allow=allow, **kwargs)
    except (NotImplementedError, CheckFailed):
        # CheckFailed: a checker's own wrapper around the student's functions (a backward
        # given the cache of the student's forward) said what is wrong; not a crash.
        raise
    except ReferenceUsedError as err:
        raise CheckFailed(f"{name}: {err}", mistake_id="generic/calls-reference") from None
    except CheckFailed:
        # A checker's own verdict from inside the call (a student's backward run on the cache
        # of their forward: "fix the forward first"), already worded: not a crash to rewrap.
        raise
    except Exception as err:  # noqa: BLE001 - every crash becomes feedback
        shapes = ", ".join(fmt_shape(a) for a in args)
        hint = ""
        if isinstance(err, ValueError) and "matmul" in str(err):
            hint = (
                " The matrix shapes do not line up. Rows are examples and a weight W is stored "
                "(out, in): going forward the product is `x @ W.T`, going back the gradient "
                "on the input is `dout @ W` and on the weight `dout.T @ x`."
            )
        elif "NoneType" in str(err):
            hint = (
                " Something is None here: an argument left at its default None (such as "
                "mask=None) must be handled, or a function you call returns nothing (a missing "
                "return)."
            )
        line = _failing_line(err)
        at = f" at the line {line}" if line else ""
        raise CheckFailed(
            f"{name} raised {type(err).__name__}{at}: {err} (called with arguments of shapes "
            f"{shapes}).{hint}",
            mistake_id="generic/crash",
        ) from err


def _failing_line(err):
    """Where in the student's code ``err`` was raised, as a phrase, or "" if unknown.

    The frames of the traceback that are neither numpy's nor rnnlib's are the student's
    (notebook cells are in ``linecache``, as IPython registers them). The first is the line of
    the function being checked; the last is where it failed. When they differ (the checked
    function called another of the student's), both are named: the mistake is often in what
    the outer line passed in (an ``h0`` of the wrong size), not in the inner line that crashed.
    An error raised in another process (the grader's worker) carries that phrase, made there,
    as ``student_line``.
    """
    import linecache
    import os

    if hasattr(err, "student_line"):
        # Raised in another process (the grader's confined worker), which said where.
        return str(err.student_line or "")
    skip = tuple(os.path.dirname(m.__file__) for m in (np, _rnnlib_package()))
    lines = []
    tb = err.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if not code.co_filename.startswith(skip):
            lines.append((code.co_name, _short(linecache.getline(code.co_filename, tb.tb_lineno).strip())))
        tb = tb.tb_next
    lines = [(fn, line) for fn, line in lines if line]
    if not lines:
        return ""
    if len(lines) == 1 or lines[0][1] == lines[-1][1]:
        return f"`{lines[-1][1]}`"
    return f"`{lines[0][1]}` (inside {lines[-1][0]}, at `{lines[-1][1]}`)"


def _short(line):
    return line if len(line) <= 100 else line[:97] + "..."


def _rnnlib_package():
    import rnnlib

    return rnnlib


def max_abs_diff(a, b):
    """Largest absolute difference between two equally shaped arrays."""
    return float(_max(_abs(_asarray(a, dtype=float) - _asarray(b, dtype=float))))


def close(a, b, rtol=1e-7, atol=1e-9):
    """``True`` when ``a`` and ``b`` have one shape and agree to the tolerances."""
    a = _asarray(a)
    b = _asarray(b)
    if a.shape != b.shape:
        return False
    if a.size == 0:
        return True
    if not _all(_isfinite(a)):
        return False
    diff = _abs(a.astype(float) - b.astype(float))
    return bool(_all(diff <= atol + rtol * _abs(b.astype(float))))


def unpack_pair(result, name, first, second):
    """``result`` if it is a 2-tuple, else CheckFailed saying what ``name`` returned instead.

    ``first`` and ``second`` name the two values the student's function should return.
    """
    if not (isinstance(result, tuple) and len(result) == 2):
        extra = f" of length {len(result)}" if isinstance(result, (tuple, list)) else ""
        raise CheckFailed(
            f"{name} should return a pair ({first}, {second}), but it returned "
            f"{type(result).__name__}{extra}.",
            mistake_id="generic/returns",
        )
    return result


def require_array(value, expected_shape, what, dtype_kind=None):
    """Fail unless ``value`` is an ndarray of ``expected_shape`` (and dtype kind, if given).

    Parameters
    ----------
    value : object
        What the student returned.
    expected_shape : tuple of int
    what : str
        How to call it in the message, e.g. ``"h_t (your return value)"``.
    dtype_kind : str, optional
        ``"i"`` for integers, ``"f"`` for floats, ``"b"`` for booleans.
    """
    if not isinstance(value, _ndarray):
        raise CheckFailed(
            f"{what} should be a numpy array of shape {tuple(expected_shape)}, "
            f"but it is {fmt_shape(value)}.",
            mistake_id="generic/type",
        )
    if tuple(value.shape) != tuple(expected_shape):
        hint = ""
        if tuple(value.shape) == tuple(expected_shape)[::-1] and len(expected_shape) == 2:
            hint = " It looks transposed."
        raise CheckFailed(
            f"{what} has shape {tuple(value.shape)}, expected {tuple(expected_shape)}.{hint}",
            mistake_id="generic/shape",
        )
    if dtype_kind is not None:
        kinds = {"i": "an integer", "f": "a floating-point", "b": "a boolean"}
        ok = value.dtype.kind in ("iu" if dtype_kind == "i" else dtype_kind)
        if not ok:
            raise CheckFailed(
                f"{what} should have {kinds[dtype_kind]} dtype, but its dtype is {value.dtype}.",
                mistake_id="generic/type",
            )


def first_mismatch(a, b, rtol=1e-7, atol=1e-9):
    """Index (a tuple) of the first entry, in row-major order, where ``a`` and ``b`` differ
    by more than the tolerances; ``None`` when they agree everywhere."""
    b = _asarray(b, dtype=float)
    bad = _abs(_asarray(a, dtype=float) - b) > atol + rtol * _abs(b)
    if not bad.any():
        return None
    return tuple(int(i) for i in _unravel(_argmax(bad), bad.shape))


def require_close(value, expected, what, rtol=1e-7, atol=1e-9, context=""):
    """Fail unless ``value`` has the right shape and values; the message says where it differs."""
    require_array(value, expected.shape, what)
    if close(value, expected, rtol, atol):
        return
    if not _all(_isfinite(value)):
        raise CheckFailed(f"{what} contains NaN or inf values.{context}", mistake_id="generic/nan")
    idx = first_mismatch(value, expected, rtol, atol)
    raise CheckFailed(
        f"{what} has the right shape but wrong values: the first wrong entry is at index {idx}: "
        f"you have "
        f"{float(value[idx]):.6g}, the correct value is {float(expected[idx]):.6g} "
        f"(largest difference {max_abs_diff(value, expected):.3g}).{context}"
    )
