"""The one diagnosis mechanism every checker uses: cases, a catalogue of known mistakes, and
generic diagnoses, so that a wrong answer is told *what* is wrong and where to look.

An :class:`Exercise` describes one graded function: its reference, how to draw test cases,
what its result is made of, and a catalogue of :class:`Mistake` s. Each mistake is a small
*variant of the reference* (built from it: the reference with one edit of its source, see
:func:`mutate`, or the reference with one input or output changed), with the sentence that
names the mistake and where to look. :func:`run_check` does the rest, the same way for every
graded function:

1. for every case, the student's function runs (with rnnlib's references blocked, on copies
   of the inputs) and its results are compared with the reference's;
2. a student function that changes an argument in place, or that returns a buffer it reuses
   from call to call, is told so (which argument, and that it must not change);
3. on a wrong answer, the functions it builds on (``depends``) are checked first: "fix
   ``rnn_forward`` first: ..." rather than blaming the wrong one;
4. then every catalogued mistake runs on the same inputs; the one whose results the student's
   match (on this case and, to be sure, on the next) is named;
5. then the exercise's own description of what is wrong, when it has one (``diagnose``: the
   data functions of chapter 1 say *which positions of the text* a wrong batch holds);
6. then the generic diagnoses: which outputs are wrong and which are right; a wrong shape
   (expected vs got, transposed?), NaN, all zeros ("missing"), the transpose, the sign, a
   constant factor (and which count it is, ``T``, ``B``, ``T*B``), states shifted by one time
   step, the first time step that differs.

A result with the right values can still be wrong in kind (``kinds``: floats where integer ids
belong, a float count): that is checked after the values, and named from the catalogue too. So
is a side effect: the catalogued mistake that changes the same argument the same way (an
``x[0] += dx0`` that writes into the caller's ``x``) is named with the argument.

The :class:`CheckFailed` raised carries ``mistake_id``: the catalogue id of the named mistake,
or ``generic/<kind>`` for a generic diagnosis, so that the grader can count misconceptions.
"""
from __future__ import annotations

import dataclasses
import functools
import inspect
import re
import textwrap
import types
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np

from rnnlib.checks._core import (
    CheckFailed,
    call_student,
    case_seeds,
    fmt_shape,
)

# Private references, bound at import time (before any student cell runs).
_abs = np.abs
_all = np.all
_any = np.any
_asarray = np.asarray
_isfinite = np.isfinite
_ndarray = np.ndarray
_sum = np.sum
_array_equal = np.array_equal
_floating = np.floating
_integer = np.integer
_bool = np.bool_

__all__ = [
    "Mistake",
    "Case",
    "Exercise",
    "mutate",
    "run_check",
    "run_backward_check",
    "EXERCISES",
    "RTOL",
    "ATOL",
]

RTOL = 1e-6
ATOL = 1e-9

#: Every graded function's Exercise, by name (filled by the checker modules as they load).
EXERCISES = {}

#: What each generic diagnosis (``CheckFailed.mistake_id`` ``generic/<kind>``) means, in a few
#: words, for the instructors' misconception report. Every id a checker raises is here (a test
#: checks it).
GENERIC = {
    "generic/value": "wrong values, no known mistake matched",
    "generic/type": "returns the wrong kind of value (not an array, not a number, not a dict)",
    "generic/kind": "numbers of the wrong kind (floats where integers belong, or the reverse)",
    "generic/shape": "a result of the wrong shape",
    "generic/squeezed": "axes of length 1 squeezed away (fails when B = 1 or T = 1)",
    "generic/returns": "returns the wrong number of values (not the pair or tuple asked for)",
    "generic/missing": "a dict with an entry missing",
    "generic/extra": "a dict with entries that do not belong",
    "generic/time-step": "right at some time steps, wrong from one step on",
    "generic/dependency": "a function it builds on is wrong (fix that one first)",
    "generic/crash": "raises an error",
    "generic/not-a-function": "not a function",
    "generic/calls-reference": "calls the course's reference instead of its own code",
    "generic/changes-input": "changes one of its inputs in place",
    "generic/reused-buffer": "returns a buffer that a later call overwrites",
    "generic/cache": "a cache that does not hold what the backward pass reads",
    "generic/nan": "NaN or inf in the result",
    "generic/zeros": "a result left at zero (never computed)",
    "generic/transpose": "the transpose of the right answer",
    "generic/sign": "the right answer with the wrong sign",
    "generic/factor": "the right answer times a constant (a wrong normalisation)",
    "generic/scale": "a result of the wrong scale",
    "generic/swapped": "two results returned in swapped order",
    "generic/axes": "the right numbers with the axes in another order",
    "generic/batch-major": "time and batch axes swapped (batch-major)",
    "generic/reshape-for-transpose": "a reshape where a transpose belongs",
    "generic/one-buffer-for-every-step": "one array stored at every time step",
    "generic/shifted-late": "shifted one time step late",
    "generic/shifted-early": "shifted one time step early",
    "generic/reversed": "reversed in time",
    "generic/extra-first-step": "one time step too many at the start",
    "generic/extra-last-step": "one time step too many at the end",
    "generic/missing-step": "one time step missing",
    "generic/loop-stops-early": "a loop over time that stops early",
    "generic/missing-answer": "a question left unanswered",
    "generic/not-reproducible": "draws that do not follow the random generator as asked",
    "generic/distribution": "samples from the wrong distribution",
    "generic/update": "a wrong parameter update",
    "generic/grad-norm": "a wrong gradient norm",
    "generic/gradcheck": "gradients that disagree with the student's own loss",
    "generic/undefined": "the function is not defined when the test runs",
}


class _Built:
    """``Mistake.variant``: a variant made by :func:`mutate` is compiled when first used.

    The catalogue holds hundreds of edited copies of the references; compiling them all was
    most of what ``import rnnlib.checks`` cost, in every notebook and every grading worker,
    which never run them. (A descriptor, so that ``Mistake(id, says, mutate(...))`` reads as
    before; ``__get__`` without an instance raises, so the field keeps no default.)
    """

    def __set_name__(self, owner, name):
        self.slot = f"_{name}"

    def __get__(self, obj, owner=None):
        if obj is None:
            raise AttributeError(self.slot)
        value = obj.__dict__[self.slot]
        if isinstance(value, _Edits):
            value = obj.__dict__[self.slot] = value.build()
        return value

    def __set__(self, obj, value):
        obj.__dict__[self.slot] = value


@dataclasses.dataclass(frozen=True)
class Mistake:
    """A known wrong implementation and the sentence that names it.

    Attributes
    ----------
    id : str
        Stable identifier, ``"<function>/<slug>"`` (counted in the instructors' reports).
    says : str
        What the student did wrong and where to look, for a student who is stuck.
    variant : callable
        Same signature as the reference; computes what the mistaken code computes.
    section : str
        Label of the book section that teaches the point (``"ch04-bptt"``), or "".
    crashes : tuple of str
        Fragments of the error a student's version of this mistake raises, when numpy words it
        differently from one implementation to the next (np.stack of slices of unequal lengths,
        an index out of bounds, np.dot's "not aligned"): a crash whose text holds one of them is
        named as this mistake.
    """

    id: str
    says: str
    variant: Callable = _Built()
    section: str = ""
    crashes: tuple = ()


class Case(NamedTuple):
    """One test input: the reference's arguments and a label for messages."""

    label: str
    args: tuple
    kwargs: dict = {}
    dims: dict = {}  # e.g. {"T": 5, "B": 3}: named sizes a constant factor may equal


@dataclasses.dataclass
class Exercise:
    """One graded function, as :func:`run_check` needs it.

    Attributes
    ----------
    name : str
        The function's name, as the student writes it.
    reference : callable
        rnnlib's implementation.
    cases : callable
        ``cases(hidden) -> list of Case``: visible cases, or hidden ones (other seeds, edge
        shapes, the instructor's grading seed).
    returns : tuple of str
        Names of the values the function returns (one name: a single value, not a tuple).
    compare : tuple of str
        Which of ``returns`` are compared (a cache, say, is not).
    mistakes : sequence of Mistake
    time_axis : dict
        ``{output name: axis}`` for outputs indexed by time (hidden states, ``dx``), where the
        generic diagnoses look for a shift by one step and the first step that differs.
    cache_fields : tuple of str
        When the exercise prescribes the cache as a tuple, the names of its fields, checked
        against the reference's cache (a forward whose cache holds wrong values would
        otherwise make the backward's check blame a correct backward).
    forward : callable, optional
        For a backward: the reference forward whose cache it reads. A case's arguments are then
        the forward's arguments followed by the upstream gradient (see
        :func:`run_backward_check`).
    arg_names : tuple of str
        Names of a case's arguments, for messages (default: the reference's parameters).
    probe : callable, optional
        ``probe(student, hidden, err) -> CheckFailed or None``: called when the check fails
        with ``err``; it may call the student's function in ways the cases do not (on the first
        time step alone, on one example alone) and return a failure that names the mistake.
    cache_extra : callable, optional
        ``cache_extra(case) -> [(slug, value), ...]``: arrays a prescribed cache's field may hold
        by mistake (a pre-activation where the activation belongs), each naming the catalogued
        mistake ``<name>/<slug>``. A cache holding the right fields in another order is named
        as ``<name>/cache-order`` when the catalogue has that entry.
    cache_hints : dict
        ``{field: sentence}`` added when a cache field holds wrong values (what it must hold).
    check_student : callable, optional
        ``check_student(fn, hidden)``: how to check a function standing in for the student's,
        for checkers that do more than :func:`run_check` (a sampler, a training loop). Default:
        :func:`run_check`, or :func:`run_backward_check` with the reference forward.
    diagnose : callable, optional
        ``diagnose(got, expected, case) -> (id, sentence) or None``: the exercise's own account
        of a wrong result (``got`` and ``expected`` are the dicts of named values), tried after
        the catalogue and before the generic diagnoses.
    kinds : dict
        ``{output name: "float" | "int"}``: the kind of number a value must hold (a one-hot
        vector holds floats, ids are integers, a count is an int), checked once its values are
        right.
    section : str
        Book label of the section that teaches the function.
    rtol, atol : float
        Tolerances of the comparison.
    """

    name: str
    reference: Callable
    cases: Callable
    returns: tuple
    compare: tuple = ()
    mistakes: Sequence[Mistake] = ()
    time_axis: dict = dataclasses.field(default_factory=dict)
    cache_fields: tuple = ()
    section: str = ""
    rtol: float = RTOL
    atol: float = ATOL
    forward: Callable = None
    arg_names: tuple = ()
    check_student: Callable = None
    probe: Callable = None
    cache_extra: Callable = None
    cache_hints: dict = dataclasses.field(default_factory=dict)
    diagnose: Callable = None
    kinds: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if not self.compare:
            self.compare = tuple(self.returns)
        ids = [m.id for m in self.mistakes]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate mistake ids in {self.name}: {ids}")
        EXERCISES[self.name] = self


# ---------------------------------------------------------------------------------------------
# Building variants from the reference


def mutate(reference, *edits, inner=None, name=None):
    """The reference with small edits of its source: a known mistake, built from the code.

    Parameters
    ----------
    reference : callable
        The function the student writes (a module-level function of rnnlib).
    *edits : (old, new) pairs of str
        Each ``old`` must occur exactly once in the edited function's source (so that a
        change of the reference that invalidates a mistake fails loudly, in the tests).
    inner : callable, optional
        Edit this function instead, one that ``reference`` calls by name; the result is the
        reference calling the edited ``inner``.
    name : str, optional
        A name for the variant (for tracebacks).

    Returns
    -------
    _Edits
        The edits, for a :class:`Mistake`'s ``variant``: compiled into a new function the
        first time the mistake's variant is used (its code compiled with the reference
        module's file name, so that the references it calls run as rnnlib's own calls).
        :meth:`_Edits.build` compiles it at once.
    """
    return _Edits(reference, edits, inner, name)


class _Edits:
    """What :func:`mutate` was asked, compiled into a function the first time it is needed.

    A :class:`Mistake` holding one gives its compiled function as ``variant``. Used anywhere
    else (a variant method of a model, say), it calls, binds and describes itself as that
    function, compiling it then.
    """

    __slots__ = ("_args", "_built")

    #: Every one made (the tests build them all: an edit that no longer matches fails there).
    made = []

    def __init__(self, reference, edits, inner, name):
        self._args = (reference, edits, inner, name)
        self._built = None
        _Edits.made.append(self)

    def build(self):
        if self._built is None:
            reference, edits, inner, name = self._args
            edited = _compile_edited(inner or reference, edits, name)
            self._built = edited if inner is None else \
                _rebind(reference, {inner.__name__: edited}, name)
        return self._built

    def __call__(self, *args, **kwargs):
        return self.build()(*args, **kwargs)

    def __get__(self, obj, owner=None):
        return self if obj is None else types.MethodType(self.build(), obj)

    @property
    def __signature__(self):
        return inspect.signature(self.build())

    def __getattr__(self, name):
        return getattr(self.build(), name)


@functools.lru_cache(maxsize=None)
def _source_of(code):
    """``(dedented source, first line, file)`` of a function's code. Cached: the catalogue
    edits some references dozens of times, and reading a function's source tokenizes its
    file's lines each time (most of the time ``import rnnlib.checks`` would take)."""
    lines, first_line = inspect.getsourcelines(code)
    return textwrap.dedent("".join(lines)), first_line, inspect.getsourcefile(code)


def _compile_edited(fn, edits, name):
    source, first_line, filename = _source_of(fn.__code__)
    for old, new in edits:
        count = source.count(old)
        if count != 1:
            raise ValueError(f"{fn.__qualname__}: {old!r} occurs {count} times in the source, not once")
        source = source.replace(old, new)
    # Blank lines in front keep the line numbers of the original file in tracebacks.
    code = compile("\n" * (first_line - 1) + source, filename, "exec")
    namespace = dict(fn.__globals__)
    exec(code, namespace)  # noqa: S102 - our own source, edited by our own catalogue
    out = namespace[fn.__name__]
    out.__name__ = name or f"{fn.__name__}_variant"
    return _not_the_reference(out)


def _not_the_reference(fn):
    """A variant's code is the reference's edited copy, written at the same place (file, line):
    rename its code object, so that the guard, which knows a reference's copied code by where
    it was written, does not take a catalogued mistake run as the student for the reference."""
    fn.__code__ = fn.__code__.replace(co_qualname=fn.__code__.co_qualname + "<variant>")
    return fn


def _rebind(fn, replace, name):
    """A copy of ``fn`` whose global names in ``replace`` point at other functions."""
    import types

    namespace = dict(fn.__globals__)
    namespace.update(replace)
    source, first_line, filename = _source_of(fn.__code__)
    code = compile("\n" * (first_line - 1) + source, filename, "exec")
    exec(code, namespace)  # noqa: S102
    out = namespace[fn.__name__]
    assert isinstance(out, types.FunctionType)
    out.__name__ = name or f"{fn.__name__}_variant"
    return _not_the_reference(out)


# ---------------------------------------------------------------------------------------------
# Values: unpacking a result into named arrays, comparing


def _copy(value):
    if isinstance(value, _ndarray):
        # order="K": a transposed (non-C-contiguous) input stays laid out as it is, so a
        # student's function meets it as the caller would pass it (x.ravel() is then a copy).
        return value.copy(order="K")
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return type(value)(_copy(v) for v in value)
    return value


def _same(a, b):
    """Exact equality of two argument values (to see whether one was changed in place)."""
    if isinstance(a, _ndarray) or isinstance(b, _ndarray):
        return (isinstance(a, _ndarray) and isinstance(b, _ndarray) and a.shape == b.shape
                and _array_equal(a, b, equal_nan=a.dtype.kind == "f"))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001
        return False


def unpack(exercise, result, who="your function"):
    """``{name: value}`` for the values ``exercise.returns`` names; CheckFailed if malformed."""
    names = exercise.returns
    if len(names) == 1:
        return {names[0]: result}
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        extra = f" of length {len(result)}" if isinstance(result, (tuple, list)) else ""
        kind = "a pair" if len(names) == 2 else "a tuple"
        raise CheckFailed(
            f"{exercise.name} should return {kind} ({', '.join(names)}), but {who} returned "
            f"{type(result).__name__}{extra}.",
            mistake_id="generic/returns",
        )
    return dict(zip(names, result))


def _as_number_or_array(value):
    """Numbers (Python or numpy scalars, 0-d arrays) become floats; arrays stay arrays."""
    if isinstance(value, _ndarray):
        return value[()] if value.ndim == 0 else value
    return value


def flat_values(name, value):
    """``{label: value}`` with dicts flattened (``grads['Wxh']``)."""
    if isinstance(value, dict):
        out = {}
        for k in value:
            out.update(flat_values(f"{name}['{k}']", value[k]))
        return out
    return {name: _as_number_or_array(value)}


def is_number(x):
    return isinstance(x, (int, float, _floating, _integer)) and not isinstance(x, (bool, _bool))


def close(a, b, rtol=RTOL, atol=ATOL):
    """``True`` when ``a`` and ``b`` are equal numbers or same-shaped arrays within tolerance."""
    if is_number(a) and is_number(b):
        fa, fb = float(a), float(b)
        if fa != fa or fb != fb:  # NaN: equal only to NaN, as for arrays (equal_nan below)
            return fa != fa and fb != fb
        if fa == fb:  # also inf == inf, where the difference below would be NaN
            return True
        return bool(abs(fa - fb) <= atol + rtol * abs(fb))
    if isinstance(a, tuple) and isinstance(b, tuple) and any(isinstance(v, _ndarray) for v in b):
        # A tuple of arrays (a state (h, c), a pair of outputs): equal entry by entry.
        return len(a) == len(b) and all(close(x, y, rtol, atol) for x, y in zip(a, b))
    if isinstance(b, (str, list)) or isinstance(a, (str, list)):
        return _same(a, b)  # plain values (a list of characters, a string): exactly equal
    if not (isinstance(a, _ndarray) and isinstance(b, _ndarray)):
        return False
    if a.shape != b.shape:
        return False
    if a.size == 0:
        return True
    if a.dtype.kind not in "fiub" or b.dtype.kind not in "fiub":
        return False
    if not _all(_isfinite(a)):
        return bool(_array_equal(a, b, equal_nan=True)) if b.dtype.kind == "f" else False
    fa = a.astype(float)
    fb = b.astype(float)
    return bool(_all(_abs(fa - fb) <= atol + rtol * _abs(fb)))


def _values_close(got, want, names, rtol, atol):
    return all(n in got and n in want and close(got[n], want[n], rtol, atol) for n in names)


# ---------------------------------------------------------------------------------------------
# Generic diagnoses of one wrong value


def _describe_value(x):
    if isinstance(x, _ndarray):
        return f"an array of shape {tuple(x.shape)}"
    if is_number(x):
        return f"the number {float(x):.6g}"
    return fmt_shape(x)


def generic_diagnosis(name, got, want, case, time_axis=None, rtol=RTOL, atol=ATOL):
    """``(id, sentence)`` saying how one value differs from the right one."""
    if is_number(want):
        if not is_number(got):
            return "generic/type", f"{name} should be one number, but it is {_describe_value(got)}."
        g, w = float(got), float(want)
        if not np.isfinite(g):
            return "generic/nan", f"{name} is {g}: a division by zero or an overflow."
        if w != 0 and abs(g + w) <= atol + rtol * abs(w):
            return "generic/sign", f"{name} is {g:.6g}, the right value with the wrong sign ({w:.6g})."
        for k, what in _factors(case):
            if w != 0 and abs(g - k * w) <= atol + rtol * abs(k * w):
                return "generic/factor", f"{name} is {g:.6g}, {k:g} times the right value {w:.6g} ({what})."
            if w != 0 and abs(g - w / k) <= atol + rtol * abs(w / k):
                return "generic/factor", f"{name} is {g:.6g}, the right value {w:.6g} divided by {k:g} ({what})."
        return "generic/value", f"{name} is {g:.6g}; the right value is {w:.6g}."
    if not isinstance(want, _ndarray):
        return "generic/value", f"{name} is {_describe_value(got)}; it should be {_describe_value(want)}."
    if not isinstance(got, _ndarray):
        if want.size == 1 and is_number(got):
            return "generic/squeezed", (
                f"{name} should be an array of shape {tuple(want.shape)}, but it is a number: its "
                "axes of length 1 were squeezed away (np.squeeze, .item(), or an index such as "
                "[0]). Keep every axis, also when B = 1 or T = 1.")
        return "generic/type", (f"{name} should be a numpy array of shape {tuple(want.shape)}, "
                                f"but it is {_describe_value(got)}.")
    if got.shape != want.shape:
        return _shape_diagnosis(name, got, want, time_axis, rtol, atol)
    if got.dtype.kind not in "fiub":
        return "generic/type", f"{name} should hold numbers, but its dtype is {got.dtype}."
    if not _all(_isfinite(got)):
        return "generic/nan", f"{name} contains NaN or inf values: a division by zero or an overflow."
    g = got.astype(float)
    w = want.astype(float)
    if _any(w != 0) and not _any(g != 0):
        return "generic/zeros", (f"{name} is all zeros: it is missing, never computed or never "
                                 "written into (or overwritten by zeros).")
    if g.ndim == 2 and g.shape[0] == g.shape[1] and not close(w, w.T) and close(g.T, w, rtol, atol):
        return "generic/transpose", f"{name} is the transpose of the right answer."
    if close(-g, w, rtol, atol):
        return "generic/sign", f"{name} has the wrong sign: it is minus the right answer."
    denom = float(_sum(w * w))
    if denom > 0:
        k = float(_sum(g * w)) / denom
        if abs(k - 1) > 1e-3 and abs(k) > 1e-12 and close(g, k * w, 1e-5, 1e-8):
            named = {round(kk, 9): what for kk, what in _factors(case)}
            if round(1 / k, 9) in named and round(k, 9) not in named:
                return "generic/factor", (f"{name} is the right answer divided by {1 / k:.4g} "
                                          f"({named[round(1 / k, 9)]}): a sum where a mean is not "
                                          "wanted, or a division too many.")
            why = f" ({named[round(k, 9)]})" if round(k, 9) in named else ""
            return "generic/factor", f"{name} is {k:.4g} times the right answer{why}: a constant factor is off."
    found = _reshaped_for_transpose(name, g, w, rtol, atol)
    if found:
        return found
    if time_axis is not None and g.shape[time_axis] > 1 and got.dtype.kind not in "iub":
        found = _time_diagnosis(name, g, w, time_axis, rtol, atol)
        if found:
            return found
    return "generic/value", _where_it_differs(name, g, w, rtol, atol)


def _reshaped_for_transpose(name, g, w, rtol, atol):
    """The right numbers with their axes reordered and then reshaped back to the right shape:
    a reshape where a transpose belongs (a reshape never moves numbers between axes)."""
    import itertools

    if g.ndim < 2 or g.ndim > 4:
        return None
    for perm in itertools.permutations(range(w.ndim)):
        moved = np.transpose(w, perm)
        if perm == tuple(range(w.ndim)) or moved.shape == w.shape and close(moved, w, rtol, atol):
            continue
        if close(g, moved.reshape(w.shape), rtol, atol):
            return "generic/reshape-for-transpose", (
                f"{name} holds the right numbers in the wrong places: they are in the order of the "
                f"right answer with its axes reordered to {tuple(moved.shape)}, cut into the right "
                "shape by a reshape. A reshape keeps numpy's order of the entries and never moves "
                "numbers between axes: to reorder axes use .T, np.transpose or np.moveaxis (or build "
                "the array along the right axis from the start).")
    return None


def _shape_diagnosis(name, got, want, time_axis, rtol, atol):
    """``(id, sentence)`` for a value of the wrong shape: what arrangement it is, if any."""
    shapes = f"{name} has shape {tuple(got.shape)}, expected {tuple(want.shape)}."
    if got.ndim < want.ndim and 1 in want.shape and tuple(d for d in want.shape if d != 1) == \
            tuple(d for d in got.shape if d != 1):
        return "generic/squeezed", (
            f"{shapes} Its axes of length 1 were squeezed away (np.squeeze, or an index that "
            "drops an axis): keep every axis, also when B = 1 or T = 1.")
    gradient = name.startswith("d") or name.startswith("grads")
    numeric = got.dtype.kind in "fiub"
    if numeric and got.ndim == want.ndim and got.ndim >= 2:
        # The right numbers with the axes in another order (transposed, batch-major...).
        import itertools

        for perm in itertools.permutations(range(got.ndim)):
            if perm == tuple(range(got.ndim)) or tuple(got.shape[i] for i in perm) != want.shape:
                continue
            if close(np.transpose(got, perm), want, rtol, atol):
                if got.ndim == 2:
                    why = (" A gradient has the shape of what it differentiates." if gradient
                           else " Check the order of the factors in the product.")
                    return "generic/transpose", f"{shapes} It is the transpose of the right answer.{why}"
                if time_axis == 0 and perm[:2] == (1, 0):
                    return "generic/batch-major", (
                        f"{shapes} It holds the right numbers with the time and batch axes swapped: "
                        "sequences are time-major here, (T, B, ...), so index time first (x[t]).")
                return "generic/axes", f"{shapes} It holds the right numbers with its axes in another order."
    if numeric and got.dtype.kind == "f" and time_axis is not None and got.ndim == want.ndim \
            and got.ndim >= 1:
        extra = got.shape[time_axis] - want.shape[time_axis]
        same_other = all(got.shape[i] == want.shape[i] for i in range(got.ndim) if i != time_axis)
        if same_other and extra == 1:
            gt = np.moveaxis(got, time_axis, 0)
            wt = np.moveaxis(want, time_axis, 0)
            if close(gt[1:], wt, rtol, atol):
                return "generic/extra-first-step", (
                    f"{shapes} It has one time step too many at the start: entries 1.. are right, so "
                    "entry 0 is extra (the initial state, stored before the first step?). Entry t must "
                    "be the result of step t, for t = 0..T-1.")
            if close(gt[:-1], wt, rtol, atol):
                return "generic/extra-last-step", (
                    f"{shapes} It has one time step too many at the end: the loop runs one step too far.")
        if same_other and extra == -1:
            return "generic/missing-step", (
                f"{shapes} One time step is missing: check the range of the loop over time "
                "(range(T) visits t = 0..T-1).")
    if got.size == want.size and got.ndim != want.ndim:
        return "generic/shape", (f"{shapes} It has the right number of entries with axes merged or "
                                 "split: keep each axis of the result separate (a reshape or a "
                                 "flatten too many, or one missing).")
    if got.ndim == want.ndim - 1:
        for k in range(want.ndim):
            if want.shape[:k] + want.shape[k + 1:] == got.shape:
                if want.shape[k] == 1:
                    return "generic/shape", (f"{shapes} The axis of length 1 (axis {k}) is missing: "
                                             "keep it (keepdims=True, or [:, None]).")
                return "generic/shape", (f"{shapes} Axis {k} (of length {want.shape[k]}) is missing: "
                                         "a sum, a mean or an index removed it.")
        return "generic/shape", f"{shapes} One axis is missing."
    if got.ndim == want.ndim + 1:
        return "generic/shape", (f"{shapes} There is one axis too many: a sum or an index that should "
                                 "remove an axis is missing.")
    if got.size == want.size:
        return "generic/shape", (f"{shapes} It has the right number of entries in another arrangement: "
                                 "check the axes.")
    return "generic/shape", shapes


def _factors(case):
    """Constant factors a wrong normalisation would introduce, named after the case's sizes.

    Sizes that happen to be equal (S = B = 4) are named together, so the message does not pick
    one of them arbitrarily.
    """
    dims = dict(case.dims) if case is not None else {}
    sizes = {k: int(v) for k, v in dims.items() if isinstance(v, (int, np.integer)) and v > 1}
    if "T" in sizes and "B" in sizes:
        sizes["T*B"] = sizes["T"] * sizes["B"]
    by_value = {}
    for key, value in sizes.items():
        by_value.setdefault(value, []).append(key)
    out = [(float(v), "a factor " + " = ".join(keys) + f" = {v}") for v, keys in by_value.items()]
    if 2 not in by_value:
        out.append((2.0, "a factor 2"))
    return out


def _time_diagnosis(name, g, w, axis, rtol, atol):
    gt = np.moveaxis(g, axis, 0)
    wt = np.moveaxis(w, axis, 0)
    T = gt.shape[0]
    if close(gt[1:], wt[:-1], rtol, atol):
        return "generic/shifted-late", (
            f"{name} is shifted one time step late: your entry t holds the right entry t-1. "
            "Check the index where each step's result is stored.")
    if close(gt[:-1], wt[1:], rtol, atol):
        return "generic/shifted-early", (
            f"{name} is shifted one time step early: your entry t holds the right entry t+1. "
            "Check the index where each step's result is stored.")
    if close(gt[::-1], wt, rtol, atol):
        return "generic/reversed", f"{name} is reversed in time."
    for which, ref in (("last", wt[-1]), ("first", wt[0])):
        if not close(wt[0], wt[-1], rtol, atol) and close(gt, np.broadcast_to(ref, wt.shape), rtol, atol):
            return "generic/one-buffer-for-every-step", (
                f"{name} holds the {which} time step's value at every t: one array was filled in at "
                "every step and stored (appended) each time, so every entry is that array as the "
                f"{which} step left it. Store a new array (or a copy) at each step.")
    good = [close(gt[t], wt[t], rtol, atol) for t in range(T)]
    zero = [not _any(gt[t] != 0) and bool(_any(wt[t] != 0)) for t in range(T)]
    bad = [t for t in range(T) if not good[t]]
    if bad and all(zero[t] for t in bad):
        if bad == list(range(T - len(bad), T)):
            return "generic/loop-stops-early", (
                f"{name} is right up to t = {T - len(bad) - 1} and all zeros from t = {T - len(bad)}: "
                "those steps were never computed. Check the range of the loop over time: "
                "range(T) visits t = 0..T-1.")
        if bad == list(range(len(bad))):
            return "generic/loop-stops-early", (
                f"{name} is all zeros at t = {_ranges(bad)} and right after: the loop never reaches "
                "those steps. A loop backwards in time visits t = T-1, ..., 0: range(T - 1, -1, -1).")
    k = good.index(False)
    if k > 0 and not any(good[k:]):
        return "generic/time-step", (
            f"{name} matches the right answer up to t = {k - 1} and first differs at t = {k}.")
    if any(good):
        bad = [t for t in range(T) if not good[t]]
        right = [t for t in range(T) if good[t]]
        return "generic/time-step", (
            f"{name} is right at time step{'s' if len(right) > 1 else ''} {_ranges(right)} and "
            f"wrong at {_ranges(bad)} (of t = 0..{T - 1}).")
    return None


def _ranges(ts):
    """``[0, 1, 2, 5]`` -> ``"0-2, 5"``."""
    parts, start = [], None
    for i, t in enumerate(ts):
        if start is None:
            start = t
        if i + 1 == len(ts) or ts[i + 1] != t + 1:
            parts.append(f"{start}" if start == t else f"{start}-{t}")
            start = None
    return ", ".join(parts)


def _where_it_differs(name, g, w, rtol, atol):
    bad = _abs(g - w) > atol + rtol * _abs(w)
    frac = float(bad.mean())
    if g.ndim >= 1:
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        first = f"; the first wrong entry is at index {idx}: yours {g[idx]:.6g}, right {w[idx]:.6g}"
    else:
        first = ""
    return f"{name} has the right shape but wrong values ({frac:.0%} of the entries differ{first})."


# ---------------------------------------------------------------------------------------------
# Running a check


def run_check(exercise, student, hidden=False, *, depends=None, prepare=None, student_name=None,
              allow=(), quiet=False):
    """Check a student's function against an exercise; print a line, or raise CheckFailed.

    Parameters
    ----------
    exercise : Exercise
    student : callable
        What to call with each case's arguments (for a backward, a composition of the
        student's forward and backward, see ``prepare``).
    hidden : bool
        Hidden cases.
    depends : dict, optional
        ``{name: check}``: the checks of the student's functions this one builds on, each a
        callable ``check(quiet=True)`` that raises CheckFailed; run only when this one fails.
    prepare : callable, optional
        ``prepare(fn) -> callable``: turns the reference, a mistake's variant or the student's
        function into what is called on a case's arguments (a backward is given the cache its
        forward made). Default: the function itself.
    student_name : str, optional
        Name in messages (default ``exercise.name``).
    allow : sequence of functions
        rnnlib functions the exercise lets the student call.
    quiet : bool
        No "all checks passed" line.
    """
    name = student_name or exercise.name
    prepare = prepare or (lambda fn: fn)
    try:
        _run_cases(exercise, student, hidden, depends, prepare, name, allow)
    except CheckFailed as err:
        # An exercise's probe may look further into a failure the cases could not name (it
        # calls the student's function in a way the cases do not, e.g. on part of an input).
        better = exercise.probe(student, hidden, err) if exercise.probe is not None else None
        if better is not None:
            raise better from None
        raise
    if not quiet:
        print(f"{name}: all checks passed.")


def _run_cases(exercise, student, hidden, depends, prepare, name, allow):
    arg_names = exercise.arg_names or _parameters(exercise.reference)
    cases = list(exercise.cases(hidden))
    reference = prepare(exercise.reference)
    for i, case in enumerate(cases):
        expected = _named(exercise, reference(*_copy(case.args), **_copy(case.kwargs)), "the reference")
        try:
            got = _run_student(exercise, student, case, name, allow, arg_names, prepare)
        except CheckFailed as err:
            if err.mistake_id != "generic/crash":
                raise
            mistake = _explain_crash(exercise, student, prepare, cases, i, name, allow, str(err))
            if mistake is None:
                mistake = _crash_by_words(exercise, str(err))
            if mistake is None:
                # A crash can come from a function it builds on (a wrong shape returned by the
                # student's step, say): that one is named first, as for a wrong result.
                blame = _dependency_failure(depends, name, f" ({case.label})", "crashed")
                if blame is not None:
                    raise blame from None
                raise
            raise CheckFailed(f"{name}: {mistake.says} ({case.label}; here it raised {_first_line(err)})",
                              mistake_id=mistake.id) from None
        if _all_close(exercise, got, expected):
            _check_cache(exercise, got, expected, case, name)
            _check_kinds(exercise, got, case, name, prepare)
            continue
        raise _failure(exercise, student, prepare, cases, i, got, expected, depends, name, allow)
    _check_aliasing(exercise, student, cases, name, allow)


def _named(exercise, result, who):
    values = unpack(exercise, result, who)
    out = {}
    for k, v in values.items():
        out.update(flat_values(k, v) if k in exercise.compare else {k: v})
    # Keep the compared names (dict entries expand to their keys).
    return out


def _all_close(exercise, got, expected):
    """Every compared value right, and no extra entries (a dict's keys are compared too)."""
    names = _compared_names(exercise, expected)
    if set(_compared_names(exercise, got)) != set(names):
        return False
    return _values_close(got, expected, names, exercise.rtol, exercise.atol)


def _compared_names(exercise, values):
    names = []
    for n in exercise.compare:
        names += [k for k in values if k == n or k.startswith(n + "[")]
    return names


def _run_student(exercise, student, case, name, allow, arg_names, prepare=None):
    args = _copy(case.args)
    kwargs = _copy(case.kwargs)
    result = call_student(student, *args, name=name, allow=allow, copy_args=False, **kwargs)
    for j, (before, after) in enumerate(zip(case.args, args)):
        if not _same(before, after):
            arg = arg_names[j] if j < len(arg_names) else f"number {j + 1}"
            mistake = _side_effect_mistake(exercise, prepare, case, j, after)
            if mistake is not None:
                raise CheckFailed(f"{name} changed its argument {arg} in place ({case.label}): "
                                  f"{mistake.says}", mistake_id=mistake.id)
            raise CheckFailed(
                f"{name} changed its argument {arg} in place ({case.label}). A function must "
                f"not change its inputs: the caller still needs {arg} as it was. Work on a copy "
                f"({arg}.copy()) or build new arrays instead of writing into {arg}.",
                mistake_id="generic/changes-input",
            )
    for k in case.kwargs:
        if not _same(case.kwargs[k], kwargs[k]):
            raise CheckFailed(f"{name} changed its argument {k} in place ({case.label}); it must "
                              "not change its inputs.", mistake_id="generic/changes-input")
    values = _named(exercise, result, "your function")
    return values


def _side_effect_mistake(exercise, prepare, case, j, after):
    """The catalogued mistake that leaves argument ``j`` as the student's call left it."""
    prepare = prepare or (lambda fn: fn)
    for mistake in exercise.mistakes:
        args = _copy(case.args)
        try:
            prepare(mistake.variant)(*args, **_copy(case.kwargs))
        except Exception:  # noqa: BLE001 - a variant that cannot run here says nothing
            continue
        if not _same(case.args[j], args[j]) and _same(args[j], after):
            return mistake
    return None


def _check_kinds(exercise, got, case, name, prepare):
    """Right values of the wrong kind: floats where integer ids belong, a float count."""
    for key, kind in exercise.kinds.items():
        value = got.get(key)
        if value is None or _is_kind(value, kind):
            continue
        found = None
        for mistake in exercise.mistakes:
            variant = _variant_values(exercise, prepare or (lambda fn: fn), mistake, case)
            if variant is not None and key in variant and not _is_kind(variant[key], kind) \
                    and _kind_name(variant[key]) == _kind_name(value):
                found = mistake
                break
        what = {"float": "floating-point numbers (float64)", "int": "integers"}[kind]
        if found is not None:
            raise CheckFailed(f"{name}: {found.says} ({case.label})", mistake_id=found.id)
        raise CheckFailed(f"{name} returns the right values, but {key} holds {_kind_name(value)}: "
                          f"it should hold {what} ({case.label}).", mistake_id="generic/kind")


def _is_kind(value, kind):
    if isinstance(value, _ndarray):
        return value.dtype.kind == "f" if kind == "float" else value.dtype.kind in "iu"
    if kind == "int":
        return isinstance(value, (int, _integer)) and not isinstance(value, (bool, _bool))
    return isinstance(value, (float, _floating))


def _kind_name(value):
    if isinstance(value, _ndarray):
        return f"values of dtype {value.dtype}"
    return f"a {type(value).__name__}"


def _parameters(fn):
    try:
        return tuple(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return ()


def _failure(exercise, student, prepare, cases, i, got, expected, depends, name, allow):
    case = cases[i]
    names = _compared_names(exercise, expected)
    wrong = [n for n in names if not (n in got and close(got[n], expected[n], exercise.rtol, exercise.atol))]
    right = [n for n in names if n not in wrong]
    extra = [n for n in _compared_names(exercise, got) if n not in expected]
    where = f" ({case.label})"
    # 1. What it builds on.
    blame = _dependency_failure(depends, name, where)
    if blame is not None:
        return blame
    # 2. The catalogue.
    mistake = _match_mistake(exercise, student, prepare, cases, i, got, expected, name, allow)
    if mistake is not None:
        tail = _right_and_wrong(wrong, right)
        return CheckFailed(f"{name}: {mistake.says}{where}{tail}", mistake_id=mistake.id)
    # 3. The exercise's own description of what is wrong.
    if exercise.diagnose is not None:
        found = exercise.diagnose(got, expected, case)
        if found:
            mid, sentence = found
            return CheckFailed(f"{name} gives a wrong result{where}. {sentence}", mistake_id=mid)
    # 4. Generic diagnoses, on the first wrong value.
    if not wrong:
        return CheckFailed(f"{name} gives a wrong result{where}: {_join(extra)} should not be "
                           "there.", mistake_id="generic/extra")
    swapped = _swapped_pair(wrong, got, expected, exercise.rtol, exercise.atol)
    if swapped:
        a, b = swapped
        order = ", ".join(exercise.returns)
        return CheckFailed(f"{name} gives a wrong result{where}. {a} and {b} are swapped: your {a} "
                           f"is the right {b} and your {b} the right {a}. Return ({order}) in "
                           "this order.", mistake_id="generic/swapped")
    first = wrong[0]
    if first not in got and "[" in first:  # an entry of a returned dict
        outer, key = first.split("[", 1)
        keys = _join([k.split('[', 1)[1][:-1] for k in names if k.startswith(outer + '[')])
        if outer in got:  # not a dict at all
            mid, sentence = "generic/type", (f"{outer} should be a dict with the keys ({keys}), but it "
                                             f"is {_describe_value(got[outer])}.")
        else:
            mid, sentence = "generic/missing", f"{outer} has no entry [{key}: it needs one for every key ({keys})."
    else:
        mid, sentence = generic_diagnosis(first, got.get(first), expected[first], case,
                                          exercise.time_axis.get(first.split("[")[0]),
                                          exercise.rtol, exercise.atol)
    others = [n for n in wrong[1:]]
    if len(wrong) == 1 and len(right) >= 2 and mid in ("generic/value", "generic/time-step"):
        # The others are right, so what they share (the upstream gradient dz, the states) is
        # right: the mistake is in the one line that forms this value.
        sentence += (f" Everything else you return is right, so what it shares with {first} is "
                     f"right too: the mistake is in the line that computes {first} itself.")
    tail = ""
    if right:
        shown = _join(right, wrong)
        tail += f" {shown} {'is' if ', ' not in shown else 'are'} right."
    if others:
        tail += f" Also wrong: {_join(others, right + [first])}."
    return CheckFailed(f"{name} gives a wrong result{where}. {sentence}{tail}", mistake_id=mid)


def _swapped_pair(wrong, got, expected, rtol, atol):
    """Two wrong values that are each other's right answers (returned in the wrong order)."""
    for i, a in enumerate(wrong):
        for b in wrong[i + 1:]:
            if a in got and b in got and close(_as_number_or_array(got[a]), expected[b], rtol, atol) \
                    and close(_as_number_or_array(got[b]), expected[a], rtol, atol):
                return a, b
    return None


def _dependency_failure(depends, name, where, what="gives wrong results"):
    """CheckFailed naming the first function ``name`` builds on that fails its own check, or None."""
    for dep_name, dep_check in (depends or {}).items():
        try:
            dep_check()
        except NotImplementedError:
            return CheckFailed(f"{name} {what}{where}, and it builds on {dep_name}, "
                               f"which is not written yet: write {dep_name} first.",
                               mistake_id="generic/dependency")
        except CheckFailed as err:
            return CheckFailed(f"{name} {what}{where}. Fix {dep_name} first, which "
                               f"{name} builds on: {err}",
                               mistake_id=getattr(err, "mistake_id", "generic/dependency"))
    return None


def _right_and_wrong(wrong, right):
    if not right or not wrong:
        return ""
    return f" (Wrong: {_join(wrong, right)}; right: {_join(right, wrong)}.)"


def _join(names, others=()):
    """Names for a message; a dict of many entries (a vocabulary's index) is named once, with
    how many of its entries are meant, instead of entry by entry."""
    out, seen = [], set()
    for n in names:
        base = n.split("[")[0]
        group = [m for m in names if m.split("[")[0] == base]
        if "[" not in n or len(group) + sum(m.split("[")[0] == base for m in others) <= 5:
            out.append(n)
        elif base not in seen:
            seen.add(base)
            total = len(group) + sum(m.split("[")[0] == base for m in others)
            out.append(base if len(group) == total else f"{base} ({len(group)} of {total} entries)")
    return ", ".join(out)


def _match_mistake(exercise, student, prepare, cases, i, got, expected, name, allow):
    """The catalogued mistake whose results the student's match, confirmed on a second case."""
    names = _compared_names(exercise, expected)
    case = cases[i]
    for mistake in exercise.mistakes:
        variant = _variant_values(exercise, prepare, mistake, case)
        if variant is None or _all_close(exercise, variant, expected):
            continue  # this case cannot tell the mistake from the right answer
        if not _matches(exercise, got, variant):
            continue
        if _confirmed(exercise, student, prepare, mistake, cases, i, names, name, allow):
            return mistake
    return None


def _matches(exercise, got, variant):
    """Does the student's result equal a mistake's (same entries, values within 1e-5)?"""
    names = _compared_names(exercise, variant)
    if set(_compared_names(exercise, got)) != set(names):
        return False
    return _values_close(got, variant, names, 1e-5, 1e-8)


def _first_line(err):
    """``"ValueError: matmul: ..."`` from a crash's message, at most about 100 characters."""
    text = str(err).split(" (called with")[0].split(" raised ", 1)[-1]
    return text if len(text) <= 100 else text[:97] + "..."


def _explain_crash(exercise, student, prepare, cases, i, name, allow, message=""):
    """A catalogued mistake that crashes where the student's function crashed, and matches the
    student's results on a case where it runs (a missing transpose runs only on square matrices,
    for example). Failing that, a mistake that cannot be told apart by its results on any case
    (it crashes, or gives the right answer) but raises the very same error here, same type and
    text: one chunk too many that cannot be reshaped, one-hot code that only works in 1-D."""
    crashed = _crash_text(message)
    same_error = []
    for mistake in exercise.mistakes:
        try:
            prepare(mistake.variant)(*_copy(cases[i].args), **_copy(cases[i].kwargs))
            continue  # the mistake does not crash here: it does not explain the crash
        except Exception as err:  # noqa: BLE001
            error = f"{type(err).__name__}: {err}"
        distinguishable = False
        for case in cases:
            variant = _variant_values(exercise, prepare, mistake, case)
            if variant is None:
                continue
            expected = _named(exercise, prepare(exercise.reference)(*_copy(case.args), **_copy(case.kwargs)),
                              "the reference")
            if _all_close(exercise, variant, expected):
                continue
            distinguishable = True
            try:
                got = _named(exercise, call_student(student, *_copy(case.args), name=name, allow=allow,
                                                    **_copy(case.kwargs)), "your function")
            except (CheckFailed, NotImplementedError):
                break
            if _matches(exercise, got, variant):
                return mistake
            break
        if not distinguishable and crashed and error == crashed:
            same_error.append(mistake)
    return same_error[0] if same_error else None


def _crash_by_words(exercise, message):
    """The catalogued mistake whose ``crashes`` fragments the crash's text holds, or None."""
    text = message.split(" (called with")[0]
    return next((m for m in exercise.mistakes if any(w in text for w in m.crashes)), None)


def _crash_text(message):
    """``"ValueError: cannot reshape ..."`` from :func:`call_student`'s crash message."""
    if " raised " not in message or " (called with arguments of shapes" not in message:
        return ""
    text = message.split(" raised ", 1)[1].rsplit(" (called with arguments of shapes", 1)[0]
    # Where it failed is not the error: " at the line `...` (inside f, at `...`):" goes.
    return re.sub(r" at the line `.*?`( \(inside .*?`\))?:", ":", text, count=1)


def _variant_values(exercise, prepare, mistake, case):
    try:
        result = prepare(mistake.variant)(*_copy(case.args), **_copy(case.kwargs))
        return _named(exercise, result, "a variant")
    except Exception:  # noqa: BLE001 - a variant that cannot run on this case says nothing
        return None


#: How many further cases must agree before a mistake is named (where it shows at all).
CONFIRMATIONS = 2


def _confirmed(exercise, student, prepare, mistake, cases, i, names, name, allow):
    """Does the student's function match the mistake on other cases where it shows too?

    Up to :data:`CONFIRMATIONS` further cases where the mistake's result differs from the right
    one must agree; two catalogued mistakes that happen to agree on one case are told apart by
    the next.
    """
    confirmed = 0
    for case in cases[i + 1:] + cases[:i]:
        if confirmed == CONFIRMATIONS:
            break
        variant = _variant_values(exercise, prepare, mistake, case)
        if variant is None:
            continue
        expected = _named(exercise, prepare(exercise.reference)(*_copy(case.args), **_copy(case.kwargs)),
                          "the reference")
        if _all_close(exercise, variant, expected):  # compares a dict's keys too
            continue
        try:
            got = _named(exercise, call_student(student, *_copy(case.args), name=name, allow=allow,
                                                **_copy(case.kwargs)), "your function")
        except (CheckFailed, NotImplementedError):
            return False
        if not _matches(exercise, got, variant):
            return False
        confirmed += 1
    return True  # every further case that shows the mistake agrees (or none shows it)


def _check_cache(exercise, got, expected, case, name):
    """A prescribed cache must hold what the exercise says (the backward will read it)."""
    if not exercise.cache_fields or "cache" not in got:
        return
    cache, want = got["cache"], expected["cache"]
    fields = exercise.cache_fields
    if not isinstance(cache, (tuple, list)) or len(cache) != len(fields):
        raise CheckFailed(
            f"{name}'s cache should be the tuple ({', '.join(fields)}), but it is "
            f"{fmt_shape(cache)} ({case.label}).", mistake_id="generic/cache")
    catalogue = {m.id: m for m in exercise.mistakes}
    order = _cache_order(cache, fields, want)
    if order is not None:
        holds = f"Yours holds ({', '.join(order)})."
        mistake = catalogue.get(f"{exercise.name}/cache-order")
        if mistake is not None:
            raise CheckFailed(f"{name} returns the right output, but {mistake.says} {holds} "
                              f"({case.label})", mistake_id=mistake.id)
        raise CheckFailed(
            f"{name} returns the right output, but its cache holds the right values in another "
            f"order ({case.label}). {holds} The exercise's is ({', '.join(fields)}): the "
            "backward pass unpacks it in that order.", mistake_id="generic/cache")
    extra = exercise.cache_extra(case) if exercise.cache_extra is not None else ()
    for field, mine, right in zip(fields, cache, want):
        if not close(_as_number_or_array(mine), _as_number_or_array(right), exercise.rtol, exercise.atol):
            for slug, value in extra:
                mistake = catalogue.get(f"{exercise.name}/{slug}")
                if mistake is not None and close(_as_number_or_array(mine), _as_number_or_array(value)):
                    raise CheckFailed(f"{name} returns the right output, but {mistake.says} "
                                      f"({case.label})", mistake_id=mistake.id)
            hint = _holds_instead(field, mine, fields, want) + exercise.cache_hints.get(field, "")
            hint = _stacked_on_rows(field, mine, right) + hint
            if isinstance(mine, _ndarray) and isinstance(right, _ndarray) and mine.shape == right.shape \
                    and right.ndim >= 3 and close(mine, np.broadcast_to(right[-1], right.shape)):
                hint = (" Every entry holds the last step's value: the same array was stored at "
                        "every step and then overwritten. Store a new array (or a copy) each step.")
            raise CheckFailed(
                f"{name} returns the right output, but its cache holds wrong values in {field} "
                f"({case.label}){hint if hint.startswith(':') else '.' + hint} The backward pass reads "
                f"them: the cache must be "
                f"({', '.join(fields)}).",
                mistake_id="generic/cache")


def _stacked_on_rows(field, mine, right):
    """A cache field of the wrong shape: which, and whether it holds the right blocks stacked on
    the first axis, (k*B, H) where (B, k*H) belongs (np.concatenate without axis=1)."""
    if not (isinstance(mine, _ndarray) and isinstance(right, _ndarray)) or mine.shape == right.shape:
        return ""
    text = f" Your {field} has shape {tuple(mine.shape)}, expected {tuple(right.shape)}."
    if mine.ndim == right.ndim == 2 and mine.size == right.size and right.shape[0] \
            and mine.shape[0] % right.shape[0] == 0 and mine.shape[0] > right.shape[0]:
        k = mine.shape[0] // right.shape[0]
        if right.shape[1] % k == 0 and close(mine, np.concatenate(np.split(right, k, axis=1), axis=0)):
            text += (f" It holds the {k} blocks stacked on the rows, ({k}B, H), where they belong "
                     f"side by side, (B, {k}H): np.concatenate stacks along axis 0 unless you give "
                     "it axis=1 (or use np.hstack).")
    return text


def _shapes(args):
    return tuple(getattr(a, "shape", None) for a in args)


def _check_aliasing(exercise, student, cases, name, allow):
    """Results must not change when the function is called again (a reused buffer)."""
    if len(cases) < 2:
        return
    first = cases[0]
    # Another case with the same shapes (another seed) shares a buffer's shape too.
    shapes = _shapes(first.args)
    second = next((c for c in cases[1:] if _shapes(c.args) == shapes), cases[1])
    result = call_student(student, *_copy(first.args), name=name, allow=allow, **_copy(first.kwargs))
    kept = _copy(result)
    # One more call on other inputs is enough to overwrite a buffer shared between calls.
    call_student(student, *_copy(second.args), name=name, allow=allow, **_copy(second.kwargs))
    if not _same(result, kept):
        raise CheckFailed(
            f"{name} returns an array that a later call changes: it reuses one buffer from "
            "call to call (a global or default-argument array). Return a new array each call.",
            mistake_id="generic/reused-buffer")


# ---------------------------------------------------------------------------------------------
# Backward passes: checked with the forward that made their cache


def with_forward(forward, backward):
    """``f(*forward_args, dout) = backward(dout, forward(*forward_args)[1])``."""

    def composite(*args):
        _, cache = forward(*args[:-1])
        return backward(args[-1], cache)

    return composite


def run_backward_check(exercise, student_forward, student_backward, hidden=False, *,
                       forward_name=None, depends=None, quiet=False):
    """Check a student's backward on the cache of the student's own forward.

    The forward's cache is checked first when the exercise prescribes its layout
    (``exercise.cache_fields``): wrong values there are the forward's fault, and the student
    is told to fix the forward first instead of being told the backward is wrong.

    Parameters
    ----------
    exercise : Exercise
        With ``forward`` (the reference forward) set; its cases are the forward's arguments
        followed by the upstream gradient.
    student_forward, student_backward : callable
    hidden : bool
    forward_name : str, optional
        The forward's name in messages (default: the reference forward's name).
    depends : dict, optional
        As in :func:`run_check`.
    quiet : bool
    """
    forward_name = forward_name or exercise.forward.__name__

    def student(*args):
        fwd_args, dout = args[:-1], args[-1]
        out = call_student(student_forward, *fwd_args, name=forward_name)
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise CheckFailed(f"Fix {forward_name} first: it should return a pair (output, "
                              f"cache), but it returned {fmt_shape(out)}.",
                              mistake_id="generic/dependency")
        cache = out[1]
        if exercise.cache_fields:
            _require_cache(cache, exercise.forward(*_copy(fwd_args))[1], exercise.cache_fields,
                           forward_name, exercise.name)
        return call_student(student_backward, dout, cache, name=exercise.name, copy_args=False)

    run_check(exercise, student, hidden, prepare=lambda bwd: with_forward(exercise.forward, bwd),
              depends=depends, quiet=quiet)


def _require_cache(cache, ref_cache, fields, forward_name, name):
    if not isinstance(cache, (tuple, list)) or len(cache) != len(fields):
        raise CheckFailed(
            f"Fix {forward_name} first: {name} reads its cache, which should be the tuple "
            f"({', '.join(fields)}), but it is {fmt_shape(cache)}.", mistake_id="generic/dependency")
    for field, mine, right in zip(fields, cache, ref_cache):
        if not close(_as_number_or_array(mine), _as_number_or_array(right)):
            found = _holds_instead(field, mine, fields, ref_cache)
            why = found or (" (a wrong field order, or an array that was overwritten after it "
                            "was stored).")
            raise CheckFailed(
                f"Fix {forward_name} first: {name} reads its cache, and the cache's {field} holds "
                f"wrong values{why} The cache must be ({', '.join(fields)}).",
                mistake_id="generic/dependency")


def _cache_order(cache, fields, want):
    """The field names in the order the student's cache holds them, when it is the right
    values reordered (and not in the right order); else None."""
    order = []
    for mine in cache:
        match = [f for f, right in zip(fields, want)
                 if close(_as_number_or_array(mine), _as_number_or_array(right))]
        if not match:
            return None
        order.append(next((f for f in match if f not in order), match[0]))
    if tuple(order) == tuple(fields) or sorted(order) != sorted(fields):
        return None
    return order


def _holds_instead(field, mine, fields, want):
    """``": it holds what belongs in z."`` when a cache entry is another field's value, else ""."""
    for other, value in zip(fields, want):
        if other != field and close(_as_number_or_array(mine), _as_number_or_array(value)):
            return f": it holds what belongs in {other} (the fields are in the wrong order)."
    return ""


# ---------------------------------------------------------------------------------------------
# The catalogue, checked against itself


def check_as_student(exercise, fn, hidden=False):
    """Run the exercise's check on ``fn`` as if a student had written it (quietly)."""
    if exercise.check_student is not None:
        return exercise.check_student(fn, hidden)
    if exercise.forward is not None:
        forward = exercise.forward

        def given_forward(*args):  # rnnlib code calling the reference: the guard lets it run
            return forward(*args)

        return run_backward_check(exercise, given_forward, fn, hidden, quiet=True)
    return run_check(exercise, fn, hidden, quiet=True)


def catalogue_outcomes(exercises=None):
    """For every catalogued mistake: is it rejected, and named as itself?

    Returns
    -------
    list of dict
        ``{"function", "mistake", "outcome", "message"}`` with ``outcome`` one of ``"named"``
        (rejected with its own id), ``"misnamed"`` (rejected, another diagnosis), ``"passed"``
        (not rejected: the cases cannot tell it from the reference).
    """
    rows = []
    for exercise in (exercises or EXERCISES.values()):
        for mistake in exercise.mistakes:
            try:
                check_as_student(exercise, mistake.variant)
            except CheckFailed as err:
                outcome = "named" if err.mistake_id == mistake.id else "misnamed"
                rows.append({"function": exercise.name, "mistake": mistake.id, "outcome": outcome,
                             "message": str(err), "got": err.mistake_id})
                continue
            rows.append({"function": exercise.name, "mistake": mistake.id, "outcome": "passed",
                         "message": "", "got": ""})
    return rows
