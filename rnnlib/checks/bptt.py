"""Checkers for chapter 4, backpropagation through time.

The step and sequence backward passes are checked by ``check_rnn_step_backward`` and
``check_rnn_backward`` (in :mod:`rnnlib.checks.rnn`). This module checks the gradient-checking
tools a student writes (a central-difference gradient and the relative error), a whole model's
loss and gradients, and the chapter's conceptual questions.

Every graded function is an :class:`~rnnlib.checks._engine.Exercise` whose catalogue of known
mistakes is built from rnnlib's references: the mistakes of ``rnn_loss`` are the reference
model (:func:`rnnlib.dynamics.rnn_loss`) with one of its parts edited (the loss's gradient in
:mod:`rnnlib.losses`, the output layer in :mod:`rnnlib.layers`, the BPTT loop in
:mod:`rnnlib.rnn`), so no recurrence or BPTT loop is written again here.
"""
from __future__ import annotations

import types

import numpy as np

from rnnlib import dynamics as _dyn
from rnnlib import gradcheck as _gc
from rnnlib import rnn as _rnn
from rnnlib.cells import RNNCell
from rnnlib.checks._core import CheckFailed, call_student, case_seeds
from rnnlib.checks._engine import Case, Exercise, Mistake, _rebind, close, is_number, mutate, run_backward_check, run_check
from rnnlib.checks._questions import Question, Wrong, question_set
from rnnlib.checks.rnn import BACKWARD as _RNN_BACKWARD
from rnnlib.checks.rnn import STEP_BACKWARD as _RNN_STEP_BACKWARD
from rnnlib.checks.rnn import _given_step_forward
from rnnlib.heads import SoftmaxHead
from rnnlib.layers import output_backward
from rnnlib.losses import softmax_cross_entropy
from rnnlib.models import SequenceModel

__all__ = ["check_numerical_gradient", "check_rel_error", "check_rnn_loss", "check_ch04_questions"]

# Private references, bound at import time.
_tanh = np.tanh
_num_grad = _gc.numerical_gradient
_rel_error = _gc.rel_error
_rnn_loss = _dyn.rnn_loss


# ---------------------------------------------------------------------------------------------
# numerical_gradient


def _test_functions(rng, hidden):
    """Smooth scalar functions of an array, curved (so that a one-sided difference shows)."""
    a = rng.standard_normal((3, 4))
    W = rng.standard_normal((4, 4))

    def f_sin_cube(x):
        return float(np.sum(np.sin(x) * a) + 0.5 * np.sum(x**3))

    def f_tanh_layer(x):  # a tiny tanh "network", as in an RNN step
        return float(np.sum(_tanh(x @ W) ** 2))

    cases = [("f(x) = sum(a*sin(x)) + sum(x**3)/2", f_sin_cube, rng.standard_normal((3, 4))),
             ("f(x) = sum(tanh(x @ W)**2)", f_tanh_layer, rng.standard_normal((2, 4)))]
    if hidden:
        c = rng.standard_normal((2, 3, 2))

        def f_quadratic(x):
            return float(np.sum(c * x**2 + x**3))

        def f_exp(x):
            return float(np.exp(x[0]))

        cases += [("f(x) = sum(c * x**2 + x**3), x 3-D", f_quadratic, rng.standard_normal((2, 3, 2))),
                  ("f(x) = exp(x[0]), one entry", f_exp, rng.standard_normal(1))]
    # x = M.T, a transposed view (not contiguous in memory), as in a gradient with respect to
    # W.T: x.ravel() and x.reshape(-1) are then copies, not views of x.
    cases.append(("f(x) = sum(a*sin(x)) + sum(x**3)/2, x = M.T (a transposed array, not "
                  "contiguous in memory)", f_sin_cube, rng.standard_normal((4, 3)).T))
    return cases


def _numerical_gradient_cases(hidden):
    out = []
    for seed in case_seeds(hidden):
        for j, (label, f, x) in enumerate(_test_functions(np.random.default_rng(seed), hidden)):
            # One case per seed with a large step: a function that ignores its argument h shows.
            h = 1e-2 if j == 1 else 1e-5
            out.append(Case(f"seed {seed}, {label}, x of shape {x.shape}, h={h:g}", (f, x, h)))
    return out


_STORE = "grad[i] = (f_plus - f_minus) / (2 * h)"

_NOT_RESTORED = Mistake(
    "numerical_gradient/not-restored",
    "It changed x: after evaluating f at old + h and old - h, put the entry back "
    "(x[i] = old). Otherwise every later entry is differentiated at a shifted point, and the "
    "caller's array is left changed.",
    mutate(_num_grad, ("x[i] = old\n        grad[i]", "grad[i]")), "ch04-gradient-check")

def _all_entries_at_once(f, x, h=1e-5):
    """The reference on one number s, moving every entry of x by s: the same number everywhere."""
    return np.full(x.shape, _num_grad(lambda s: f(x + s[0]), np.zeros(1), h)[0])


def _rows_at_once(f, x, h=1e-5):
    """``for i in range(len(x))``: the reference along each row of x moved as a whole."""
    grad = np.zeros_like(x)
    for i in range(len(x)):
        def along_row(s, i=i):
            moved = x.copy()
            moved[i] += s[0]
            return f(moved)

        grad[i] = _num_grad(along_row, np.zeros(1), h)[0]
    return grad


def _ignores_h(f, x, h=1e-5):
    """The reference with the step it is given ignored (the default 1e-5 used instead)."""
    return _num_grad(f, x)


_RESTORED_BY_ARITHMETIC = Mistake(
    "numerical_gradient/restored-by-arithmetic",
    "It leaves x changed in its last digits: adding h and taking it away again (x[i] += h, "
    "x[i] -= 2 * h, x[i] += h) does not give back exactly the old value in floating point. "
    "Save the entry first, old = x[i], and put it back with x[i] = old.",
    mutate(_num_grad, ("x[i] = old + h", "x[i] += h"), ("x[i] = old - h", "x[i] -= 2 * h"),
           ("x[i] = old\n        grad[i]", "x[i] += h\n        grad[i]")), "ch04-gradient-check")


def _perturbs_a_copy(f, x, h=1e-5):
    """The reference perturbing a copy of x: an f that reads x itself never sees the change."""
    return _num_grad(f, x.copy(), h)


def _perturbs_a_flat_copy(f, x, h=1e-5):
    """The reference perturbing x.ravel(): a view of x when x is contiguous, a copy when it is
    not (a transposed array), and then f, which reads x, never sees the change."""
    return _num_grad(lambda _: f(x), x.ravel(), h).reshape(x.shape)


_PERTURBS_A_FLAT_COPY = Mistake(
    "numerical_gradient/perturbs-a-flat-copy",
    "Its gradient is all zeros when x is a transposed array (x = M.T), which is not contiguous "
    "in memory: x.ravel() and x.reshape(-1) are views of x only when x is contiguous; otherwise "
    "they are copies, so writing into the flat array never changes x and f(x) never sees the "
    "step. Perturb x itself: for i in np.ndindex(x.shape): old = x[i]; x[i] = old + h; ... "
    "(x.flat[k] also writes into x).",
    _perturbs_a_flat_copy, "ch04-gradient-check")


_PERTURBS_A_COPY = Mistake(
    "numerical_gradient/perturbs-a-copy",
    "It perturbs a copy of x (xp = x.copy(); xp[i] += h, or x + h * e_i, a new array) and calls "
    "f on the copy: an f that reads x itself, through a closure (f = lambda _: loss(params), "
    "with x one of the params), never sees the change, and its gradient comes out 0. The "
    "exercise says f may read x itself: change x in place, x[i] = old + h, call f(x), and put "
    "the old value back, x[i] = old.",
    _perturbs_a_copy, "ch04-gradient-check")


NUMERICAL_GRADIENT = Exercise(
    name="numerical_gradient",
    reference=_num_grad,
    cases=_numerical_gradient_cases,
    returns=("grad",),
    arg_names=("f", "x", "h"),
    section="ch04-gradient-check",
    mistakes=[
        Mistake("numerical_gradient/one-sided",
                "It matches the one-sided difference (f(x + h) - f(x)) / h, whose error is of "
                "order h. Use the central difference (f(x + h) - f(x - h)) / (2h), whose error "
                "is of order h**2.",
                mutate(_num_grad, ("x[i] = old - h", "x[i] = old"), (_STORE, "grad[i] = (f_plus - f_minus) / h")),
                "ch04-gradient-check"),
        Mistake("numerical_gradient/divides-by-h",
                "It is twice the gradient: f(x + h) and f(x - h) are 2h apart, so divide their "
                "difference by 2h, not by h.",
                mutate(_num_grad, (_STORE, "grad[i] = (f_plus - f_minus) / h")), "ch04-gradient-check"),
        Mistake("numerical_gradient/no-parentheses",
                "It is h**2 times the gradient: (f_plus - f_minus) / 2 * h divides by 2 and then "
                "multiplies by h. Write / (2 * h).",
                mutate(_num_grad, (_STORE, "grad[i] = (f_plus - f_minus) / 2 * h")), "ch04-gradient-check"),
        Mistake("numerical_gradient/wrong-sign",
                "It has the wrong sign: the central difference is (f(x + h) - f(x - h)) / (2h), "
                "the value above minus the value below.",
                mutate(_num_grad, (_STORE, "grad[i] = (f_minus - f_plus) / (2 * h)")), "ch04-gradient-check"),
        Mistake("numerical_gradient/half-step",
                "It matches (f(x + h) - f(x)) / (2h): the two evaluations are only h apart, so this "
                "is half a one-sided difference. Evaluate f at x - h for the second one: "
                "(f(x + h) - f(x - h)) / (2h).",
                mutate(_num_grad, ("x[i] = old - h", "x[i] = old")), "ch04-gradient-check"),
        Mistake("numerical_gradient/all-entries-at-once",
                "Every entry holds the same number: you moved all of x at once (x + h), which gives "
                "the derivative along all entries together. Perturb one entry x[i] at a time, "
                "for every index i (np.ndindex(x.shape) lists them).",
                _all_entries_at_once, "ch04-gradient-check"),
        Mistake("numerical_gradient/rows-at-once",
                "Each row of grad holds one number: for i in range(len(x)) visits the rows of x, "
                "so x[i] = old + h moves a whole row at once. Perturb one entry at a time, for "
                "every index of x: for i in np.ndindex(x.shape).",
                _rows_at_once, "ch04-gradient-check"),
        Mistake("numerical_gradient/ignores-h",
                "It ignores its argument h: called with h = 0.01 it returned what a much "
                "smaller step gives (the default 1e-5, or a step fixed in your code). Use the h "
                "it is given; 1e-5 is only the default, for a caller who passes none.",
                _ignores_h, "ch04-gradient-check"),
        _NOT_RESTORED,
        _RESTORED_BY_ARITHMETIC,
        _PERTURBS_A_COPY,
        _PERTURBS_A_FLAT_COPY,
    ],
)


def _closure_case(hidden):
    """x and an f that ignores its argument and reads x itself, as the exercise allows."""
    rng = np.random.default_rng(case_seeds(hidden)[0] + 1)
    x = rng.standard_normal((2, 3) if not hidden else (3, 2, 2))
    W = rng.standard_normal((x.shape[-1], 4))

    def f_reads_x(_):
        return float(np.sum(_tanh(x @ W) ** 2) + np.sum(x**3) / 3)

    label = (f"f = lambda _: sum(tanh(x @ W)**2) + sum(x**3)/3, which reads x itself (a closure) "
             f"and ignores its argument, x of shape {x.shape}, h=1e-05")
    return f_reads_x, x, label


def _check_closure(numerical_gradient, hidden):
    """An f that reads x itself (the exercise allows it) must see every perturbation."""
    f, x, label = _closure_case(hidden)
    want = _num_grad(f, x, 1e-5)  # perturbs x in place and puts every entry back
    got = call_student(numerical_gradient, f, x, 1e-5, name="numerical_gradient", copy_args=False)
    got = np.asarray(got, dtype=float) if isinstance(got, np.ndarray) else got
    if isinstance(got, np.ndarray) and close(got, want):
        return
    if isinstance(got, np.ndarray) and close(got, _perturbs_a_copy(f, x, 1e-5)):
        raise CheckFailed(f"numerical_gradient: {_PERTURBS_A_COPY.says} ({label})",
                          mistake_id=_PERTURBS_A_COPY.id)
    raise CheckFailed(
        f"numerical_gradient gives a wrong result when f reads x itself ({label}): perturb x in "
        "place, one entry at a time, so that f sees each change, and call f(x) after each one.",
        mistake_id="generic/value")


def _restored_by_arithmetic(numerical_gradient, hidden):
    """Does the student's function leave x off by rounding error only (put back by arithmetic)?"""
    case = _numerical_gradient_cases(hidden)[0]
    f, x, h = case.args
    moved = x.copy()
    try:
        call_student(numerical_gradient, f, moved, h, copy_args=False)
    except Exception:  # noqa: BLE001 - the check has already said what is wrong
        return False
    diff = np.abs(moved - x)
    return bool(np.any(diff > 0) and np.all(diff <= 1e-12 * (1.0 + np.abs(x))))


def _check_numerical_gradient(numerical_gradient, hidden=False):
    try:
        run_check(NUMERICAL_GRADIENT, numerical_gradient, hidden, quiet=True)
    except CheckFailed as err:
        if err.mistake_id in ("generic/changes-input", _NOT_RESTORED.id, _RESTORED_BY_ARITHMETIC.id):
            # x not put back exactly: by arithmetic (off by rounding only), or not at all.
            named = (_RESTORED_BY_ARITHMETIC if _restored_by_arithmetic(numerical_gradient, hidden)
                     else _NOT_RESTORED)
            raise CheckFailed(f"numerical_gradient: {named.says}", mistake_id=named.id) from None
        raise
    _check_closure(numerical_gradient, hidden)


NUMERICAL_GRADIENT.check_student = _check_numerical_gradient


def check_numerical_gradient(numerical_gradient, hidden=False):
    """Check a student's ``numerical_gradient(f, x, h=1e-5)`` (central differences).

    Parameters
    ----------
    numerical_gradient : callable
        ``grad = numerical_gradient(f, x, h)`` with ``grad`` the shape of ``x``; ``x`` must be
        unchanged when it returns. ``f`` may read ``x`` itself (a closure), so ``x`` must be
        perturbed in place: one case's ``f`` ignores its argument.
    hidden : bool
        Hidden tests: other seeds, a 3-D ``x`` and a one-element ``x``. Visible and hidden
        tests both pass a transposed ``x`` (not contiguous in memory).
    """
    _check_numerical_gradient(numerical_gradient, hidden)
    print("numerical_gradient: all checks passed.")


# ---------------------------------------------------------------------------------------------
# rel_error


def _rel_error_cases(hidden):
    out = []
    for seed in case_seeds(hidden):
        rng = np.random.default_rng(seed)
        a = rng.standard_normal((3, 4))
        tiny = np.zeros(5)
        tiny[0] = 1.0
        # b slightly longer than a in the first pair and much shorter in the second, so that
        # dividing by ||a||, by ||b|| and by the larger of the two give three different answers.
        pairs = [
            ("two nearby (3, 4) arrays", a, (1 + 2e-3) * a + 1e-3 * rng.standard_normal((3, 4))),
            ("an array and a very different one", a, 0.3 * rng.standard_normal((3, 4))),
            ("a and -a", a, -a),
            ("two equal arrays", a, a.copy()),
            ("a vector with zero entries and a nearby one", tiny, tiny + 1e-9 * (np.arange(5) > 0)),
        ]
        if hidden:
            c = rng.standard_normal((2, 2, 3))
            pairs += [("a 3-D array and a scaled copy", c, 1.5 * c),
                      ("two all-zero arrays", np.zeros((2, 3)), np.zeros((2, 3)))]
        else:
            pairs.append(("two all-zero arrays", np.zeros(4), np.zeros(4)))
        out += [Case(f"seed {seed}, {label}", (x, y)) for label, x, y in pairs]
    return out


_RATIO = "float(np.linalg.norm(a - b) / denom)"
_DENOM = "denom = np.linalg.norm(a) + np.linalg.norm(b)"

def _diagnose_rel_error(got, expected, case):
    """An entry-by-entry relative error (its largest or its mean), whatever small number keeps
    its denominators from 0: the catalogued variant uses CS231n's 1e-8, a student may use none."""
    mine = got.get("rel_error")
    if not is_number(mine):
        return None
    a, b = (np.asarray(v, dtype=float) for v in case.args)
    num, den = np.abs(a - b), np.abs(a) + np.abs(b)
    for floor in (0.0, 1e-300, 1e-12, 1e-10, 1e-8, 1e-6):
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(den == 0, 0.0, num / np.maximum(den, floor))
        for reduce in (np.max, np.mean):
            if ratio.size and close(float(mine), float(reduce(ratio)), 1e-6, 1e-12):
                entry = _ENTRYWISE.says if reduce is np.max else _ENTRYWISE_MEAN.says
                mid = _ENTRYWISE.id if reduce is np.max else _ENTRYWISE_MEAN.id
                return mid, (f"rel_error is {float(mine):.6g}; the right value is "
                             f"{float(expected['rel_error']):.6g}. {entry}")
    return None


_ENTRYWISE = Mistake(
    "rel_error/entrywise",
    "It is the largest entry-by-entry relative error, max |a - b| / (|a| + |b|) (CS231n's "
    "formula). This course takes norms of the whole arrays, ||a - b|| / (||a|| + ||b||) with "
    "np.linalg.norm, so that entries that are nearly 0 in both do not turn rounding noise into "
    "a large error.",
    mutate(_rel_error, (f"return {_RATIO}",
                        "return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-8)))")),
    "ch04-gradient-check")

_ENTRYWISE_MEAN = Mistake(
    "rel_error/entrywise-mean",
    "It is the mean of entry-by-entry relative errors: this course takes norms of "
    "the whole arrays, ||a - b|| / (||a|| + ||b||).",
    mutate(_rel_error, (f"return {_RATIO}",
                        "return float(np.mean(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-12)))")),
    "ch04-gradient-check")

REL_ERROR = Exercise(
    name="rel_error",
    diagnose=_diagnose_rel_error,
    reference=_rel_error,
    cases=_rel_error_cases,
    returns=("rel_error",),
    arg_names=("a", "b"),
    section="ch04-gradient-check",
    mistakes=[
        Mistake("rel_error/absolute-error",
                "It is the absolute error ||a - b||: divide it by ||a|| + ||b||, so that the "
                "number means the same for large and for small gradients.",
                mutate(_rel_error, (_RATIO, "float(np.linalg.norm(a - b))")), "ch04-gradient-check"),
        Mistake("rel_error/divides-by-b",
                "It divides by ||b|| only: use ||a|| + ||b||, which treats a and b alike and is "
                "0 only when both are.",
                mutate(_rel_error, (_DENOM, "denom = np.linalg.norm(b)")), "ch04-gradient-check"),
        Mistake("rel_error/divides-by-a",
                "It divides by ||a|| only: use ||a|| + ||b||, which treats a and b alike and is "
                "0 only when both are.",
                mutate(_rel_error, (_DENOM, "denom = np.linalg.norm(a)")), "ch04-gradient-check"),
        Mistake("rel_error/divides-by-max",
                "It divides by the larger of ||a|| and ||b||: this course divides by their sum, "
                "||a - b|| / (||a|| + ||b||), which is at most 1 (for arrays pointing in opposite "
                "directions).",
                mutate(_rel_error, (_DENOM, "denom = max(np.linalg.norm(a), np.linalg.norm(b))")),
                "ch04-gradient-check"),
        Mistake("rel_error/norm-of-sum",
                "It divides by ||a + b||, the norm of the sum: divide by the sum of the norms, "
                "||a|| + ||b|| (||a + b|| is 0 for a and -a, the most different arrays of all).",
                mutate(_rel_error, (_DENOM, "denom = np.linalg.norm(a + b)"),
                       ("if denom == 0.0:", "if not (np.any(a) or np.any(b)):")), "ch04-gradient-check"),
        Mistake("rel_error/squared-norms",
                "It uses squared norms, sum((a - b)**2) / (sum(a**2) + sum(b**2)): take the norms "
                "themselves (square roots of those sums), np.linalg.norm.",
                mutate(_rel_error, (_DENOM, "denom = np.sum(a ** 2) + np.sum(b ** 2)"),
                       (_RATIO, "float(np.sum((a - b) ** 2) / denom)")), "ch04-gradient-check"),
        _ENTRYWISE_MEAN,
        Mistake("rel_error/zero-arrays",
                "For two all-zero arrays it divides 0 by 0 and returns nan: when ||a|| + ||b|| "
                "is 0 the arrays are equal, so return 0.0.",
                mutate(_rel_error, ("    if denom == 0.0:\n        return 0.0\n", "")), "ch04-gradient-check"),
        Mistake("rel_error/max-norm",
                "It measures the arrays by their largest absolute entry (the max norm, "
                "np.max(np.abs(...))): this course uses the Euclidean norm of all the entries, "
                "the square root of the sum of their squares, np.linalg.norm(a - b) / "
                "(np.linalg.norm(a) + np.linalg.norm(b)).",
                mutate(_rel_error, (_DENOM, "denom = np.max(np.abs(a)) + np.max(np.abs(b))"),
                       (_RATIO, "float(np.max(np.abs(a - b)) / denom)")), "ch04-gradient-check"),
        Mistake("rel_error/sum-of-absolute-values",
                "It measures the arrays by the sum of their absolute entries (the L1 norm): this "
                "course uses the Euclidean norm of all the entries, the square root of the sum of "
                "their squares, np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b)).",
                mutate(_rel_error, (_DENOM, "denom = np.sum(np.abs(a)) + np.sum(np.abs(b))"),
                       (_RATIO, "float(np.sum(np.abs(a - b)) / denom)")), "ch04-gradient-check"),
        _ENTRYWISE,
    ],
)


def _check_rel_error(rel_error, hidden=False, quiet=True):
    with np.errstate(invalid="ignore", divide="ignore"):  # 0/0 is a mistake to name, not to print
        run_check(REL_ERROR, rel_error, hidden, quiet=quiet)


REL_ERROR.check_student = _check_rel_error


def check_rel_error(rel_error, hidden=False):
    """Check a student's ``rel_error(a, b) = ||a - b|| / (||a|| + ||b||)`` (0 when both are 0)."""
    _check_rel_error(rel_error, hidden, quiet=False)


# ---------------------------------------------------------------------------------------------
# rnn_loss: the whole model. Its mistakes are the reference model with one part edited.


def _model_case(seed, T, B, D, H, V):
    rng = np.random.default_rng(seed)
    params = {
        "Wxh": rng.standard_normal((H, D)) * 0.5,
        "Whh": rng.standard_normal((H, H)) * 0.5,
        "bh": rng.standard_normal(H) * 0.3,
        "Why": rng.standard_normal((V, H)) * 0.5,
        "by": rng.standard_normal(V) * 0.3,
    }
    x = rng.standard_normal((T, B, D))
    targets = rng.integers(0, V, size=(T, B))
    h0 = rng.standard_normal((B, H)) * 0.5
    return Case(f"seed {seed}, T={T}, B={B}, D={D}, H={H}, V={V}", (params, x, targets, h0), {},
                {"T": T, "B": B})


def _rnn_loss_cases(hidden):
    # V == H in one case of each set: a transposed W_hy runs there instead of crashing.
    shapes = ([(1, 2, 3, 4, 5), (6, 1, 2, 3, 4), (4, 3, 3, 3, 3)] if hidden
              else [(5, 3, 4, 6, 7), (4, 2, 3, 4, 5), (3, 2, 3, 4, 4)])
    return [_model_case(seed, *s) for seed in case_seeds(hidden) for s in shapes]


def _model_with(cell_backward=None, head_loss=None):
    """rnnlib.dynamics.rnn_loss, its model's cell backward or head loss replaced."""
    model = SequenceModel(RNNCell(), SoftmaxHead(), inputs="dense")
    if cell_backward is not None:
        model.cell.backward = types.MethodType(cell_backward, model.cell)
    if head_loss is not None:
        model.head.loss = types.MethodType(head_loss, model.head)
    return _rebind(_rnn_loss, {"_CLASSIFIER": model}, None)


def _with_bptt(*edits, inner=_rnn.recurrence_backward):
    """The model with one edit of its BPTT (:mod:`rnnlib.rnn`), run by the vanilla cell."""
    return _model_with(cell_backward=mutate(RNNCell.backward, *edits, inner=inner))


def _scaled(loss_factor, grads_factor):
    """The reference with its loss and/or gradients multiplied by a count (T, B or T*B)."""

    def variant(params, x, targets, h0):
        loss, grads, h_last = _rnn_loss(params, x, targets, h0)
        T, B = targets.shape
        k = {"1": 1, "T": T, "B": B, "N": T * B}
        return (loss * k[loss_factor], {name: g * k[grads_factor] for name, g in grads.items()}, h_last)

    return variant


def _first_state_returned(params, x, targets, h0):
    loss, grads, _ = _rnn_loss(params, x, targets, h0)
    return loss, grads, _rnn.rnn_forward(x, h0, params["Wxh"], params["Whh"], params["bh"])[0][0]


def _without_dby(params, x, targets, h0):
    loss, grads, h_last = _rnn_loss(params, x, targets, h0)
    return loss, {**grads, "by": np.zeros_like(grads["by"])}, h_last


_REC_DERIVATIVE = "dzs = np.square(hs)\n    np.subtract(1.0, dzs, out=dzs)"
_REC_LOOP = "for t in range(hs.shape[0] - 1, -1, -1):"

RNN_LOSS = Exercise(
    name="rnn_loss",
    reference=_rnn_loss,
    cases=_rnn_loss_cases,
    returns=("loss", "grads", "h_last"),
    arg_names=("params", "x", "targets", "h0"),
    section="ch04-whole-model",
    mistakes=[
        Mistake("rnn_loss/loss-summed",
                "The loss and every gradient are the sum over positions, T*B times the mean: "
                "this course averages (the mean reads per position, whatever T and B). Divide "
                "the loss by T*B, and dlogits = (softmax - onehot) / (T*B).",
                _scaled("N", "N"), "ch04-loss"),
        Mistake("rnn_loss/loss-summed-gradients-averaged",
                "The loss you return is the sum over positions (T*B times the mean), while the "
                "gradients are those of the mean: return the mean, -mean(log p[target]).",
                _scaled("N", "1"), "ch04-loss"),
        Mistake("rnn_loss/gradients-not-averaged",
                "The loss is the mean over the T*B positions, but every gradient is T*B times "
                "too large: the 1/(T*B) of the mean belongs in dlogits too, "
                "dlogits = (softmax - onehot) / (T*B).",
                _scaled("1", "N"), "ch04-loss"),
        Mistake("rnn_loss/mean-over-batch-only",
                "The loss and the gradients are averaged over the batch but summed over time "
                "(T times too large): the mean is over all T*B positions.",
                _scaled("T", "T"), "ch04-loss"),
        Mistake("rnn_loss/no-onehot",
                "dlogits is softmax(logits) / (T*B) without the target's -1: the gradient of "
                "-log p[target] with respect to the logits is (softmax - onehot(target)), "
                "then divided by T*B.",
                _model_with(head_loss=mutate(SoftmaxHead.loss, ("dflat[rows, idx] -= 1.0", "pass"),
                                             inner=softmax_cross_entropy)),
                "ch04-loss"),
        Mistake("rnn_loss/onehot-at-every-position",
                "The -1 of softmax - onehot(target) lands at every target id of the batch, at "
                "every position: dlogits[..., targets] -= 1 (or dlogits[:, targets] on the "
                "flattened rows) indexes the last axis with the whole array of targets, so each "
                "position gets -1 at every id that occurs anywhere in targets. Subtract 1 only at "
                "each position's own target: dlogits[np.arange(T)[:, None], np.arange(B), "
                "targets] -= 1, or subtract a one-hot array, np.eye(V)[targets].",
                _model_with(head_loss=mutate(SoftmaxHead.loss, ("dflat[rows, idx] -= 1.0", "dflat[:, idx] -= 1.0"),
                                             inner=softmax_cross_entropy)),
                "ch04-loss"),
        Mistake("rnn_loss/onehot-at-every-row-of-a-step",
                "The gradient on the logits is wrong where you subtract the one-hot targets: "
                "dlogits[t][:, targets[t]] -= 1 subtracts 1 in every row of step t at every "
                "target id of that step (the index targets[t] picks whole columns), so example b "
                "also gets -1 at the other examples' targets. Subtract 1 only at each example's "
                "own target: dlogits[t][np.arange(B), targets[t]] -= 1 (or subtract np.eye(V)"
                "[targets]); every gradient follows from dlogits, so all of them are off.",
                _model_with(head_loss=mutate(SoftmaxHead.loss, (
                    "dflat[rows, idx] -= 1.0",
                    "dflat.reshape(T, B, V)[np.arange(T)[:, None, None], np.arange(B)[None, :, None], "
                    "targets[:, None, :]] -= 1.0"), inner=softmax_cross_entropy)),
                "ch04-loss"),
        Mistake("rnn_loss/dby-missing",
                "grads['by'] is all zeros: the output bias b_y gets a gradient too, the sum of "
                "dlogits over time and batch.",
                _without_dby, "ch04-loss"),
        Mistake("rnn_loss/dby-summed-over-time-only",
                "grads['by'] has one row per example: dlogits.sum(axis=0) sums over time only. The "
                "output bias is shared by every position, so sum over time and batch, "
                "dlogits.sum(axis=(0, 1)), of shape (V,).",
                _model_with(head_loss=mutate(SoftmaxHead.loss, ("dby = dys_flat.sum(axis=0)", "dby = dys.sum(axis=0)"),
                                             inner=output_backward)),
                "ch04-loss"),
        Mistake("rnn_loss/h-last-is-first-state",
                "h_last is hs[0], the state after the first step: return the last one, hs[-1] "
                "(the state the next chunk of a long sequence starts from).",
                _first_state_returned, "ch04-whole-model"),
        Mistake("rnn_loss/dhs-transposed",
                "The gradient sent to the hidden states uses Why.T: the logits are hs @ Why.T, "
                "so dhs = dlogits @ Why, of shape (T, B, H).",
                _model_with(head_loss=mutate(SoftmaxHead.loss, ("dhs = (dys_flat @ Why)", "dhs = (dys_flat @ Why.T)"),
                                             inner=output_backward)),
                "ch04-bptt"),
        Mistake("rnn_loss/no-carry",
                "The gradients ignore the gradient that flows back from h_(t+1) into h_t: at "
                "each step the gradient on h_t is dhs[t] (from the output) plus what step t+1 "
                "sends back. Let rnn_backward do the backward pass through time.",
                _with_bptt(("np.add(dhs[t], dh_next, out=dh_t)", "np.copyto(dh_t, dhs[t])")),
                "ch04-bptt"),
        Mistake("rnn_loss/no-tanh-derivative",
                "The gradients ignore tanh's derivative: the gradient on h_t is multiplied by "
                "(1 - h_t**2) before it reaches the weights and h_(t-1).",
                _with_bptt((_REC_DERIVATIVE, "dzs = np.ones_like(hs)")), "ch04-one-step"),
        Mistake("rnn_loss/dwhh-uses-h-t",
                "dWhh uses h_t where h_(t-1) belongs: W_hh multiplies the previous state, so "
                "step t adds dz_t.T @ h_(t-1) (h0 at the first step).",
                _with_bptt(("dW = dzs[0].T @ h0", "dW = dzs[0].T @ hs[0]"),
                           ("@ hs[:-1].reshape", "@ hs[1:].reshape"), inner=_rnn.recurrent_weight_gradient),
                "ch04-sum"),
        Mistake("rnn_loss/stops-before-t0",
                "The backward loop stops before t = 0: every gradient is the sum over time steps "
                "except t = 0, whose contributions are missing. Walk t = T-1, ..., 0, e.g. "
                "range(T - 1, -1, -1).",
                _model_with(cell_backward=mutate(RNNCell.backward, (_REC_LOOP, "dzs[0] = 0.0\n    " + _REC_LOOP.replace(
                                ", -1, -1)", ", 0, -1)")), inner=_rnn.recurrence_backward),
                            head_loss=mutate(SoftmaxHead.loss, ("dhs, dWhy, dby = output_backward(dlogits, cache)",
                                                                "dlogits[0] = 0.0\n    dhs, dWhy, dby = "
                                                                "output_backward(dlogits, cache)"))),
                "ch04-one-step"),
        Mistake("rnn_loss/dwhh-overwritten",
                "dWhh holds only the contribution of time step 0 (the last one a backward loop "
                "visits): it is overwritten at each step. W_hh is shared by every step, so its "
                "gradient is the sum over t: accumulate with +=.",
                _with_bptt(("if T > 1:", "if False:"), inner=_rnn.recurrent_weight_gradient),
                "ch04-sum"),
    ],
)


def _gradient_check_sentence(rnn_loss, hidden):
    """What a gradient check of the student's own gradients against their own loss shows.

    Said when the loss is right and a gradient is not: the student sees how the check of the
    chapter would have found it.
    """
    for case in _rnn_loss_cases(hidden):
        params, x, targets, h0 = case.args
        want_loss, want_grads, _ = _rnn_loss(params, x, targets, h0)
        try:
            loss, grads, _ = call_student(rnn_loss, {k: v.copy() for k, v in params.items()}, x, targets, h0)
            if not close(float(loss), want_loss):
                return ""
            wrong = [k for k in want_grads
                     if not (isinstance(grads.get(k), np.ndarray) and close(grads[k], want_grads[k]))]
        except Exception:  # noqa: BLE001 - the engine has already said what is wrong
            return ""
        if not wrong:
            continue
        name = wrong[0]
        if not isinstance(grads.get(name), np.ndarray) or grads[name].shape != want_grads[name].shape:
            return ""
        p = {k: v.copy() for k, v in params.items()}

        def f(_):
            return float(call_student(rnn_loss, p, x, targets, h0)[0])

        try:
            num = _num_grad(f, p[name])
        except Exception:  # noqa: BLE001
            return ""
        return (f"A gradient check agrees: your loss is right, and the relative error "
                f"between your grads['{name}'] and central differences of your loss is "
                f"{_rel_error(grads[name], num):.1e} ({case.label}; a correct gradient gives "
                "below 1e-7).")
    return ""


def _check_rnn_loss(rnn_loss, hidden=False, depends=None):
    try:
        run_check(RNN_LOSS, rnn_loss, hidden, depends=depends, quiet=True)
    except CheckFailed as err:
        if "Fix rnn_" in str(err) or err.mistake_id in ("generic/crash", "generic/returns",
                                                          "generic/calls-reference"):
            raise
        extra = _gradient_check_sentence(rnn_loss, hidden)
        raise CheckFailed(f"{err} {extra}".rstrip(), mistake_id=err.mistake_id) from None


RNN_LOSS.check_student = lambda fn, hidden: _check_rnn_loss(fn, hidden)


def check_rnn_loss(rnn_loss, hidden=False, rnn_forward=None, rnn_backward=None, rnn_step_backward=None):
    """Check a student's ``rnn_loss(params, x, targets, h0) -> (loss, grads, h_last)``.

    The model is ``h_t = tanh(W_xh x_t + W_hh h_(t-1) + b_h)``, ``logits_t = W_hy h_t + b_y``,
    and the loss is the mean softmax cross-entropy over all ``T * B`` positions.

    Parameters
    ----------
    rnn_loss : callable
        The student's function.
    hidden : bool
        Hidden tests: other seeds and the edge shapes ``T = 1`` and ``B = 1``.
    rnn_forward, rnn_backward : callable, optional
        The forward and backward ``rnn_loss`` is built on: when ``rnn_loss`` is wrong,
        ``rnn_backward`` is checked first ("fix rnn_backward first").
    rnn_step_backward : callable, optional
        The step ``rnn_backward`` is built on, checked before it.
    """
    depends = {}
    if rnn_backward is not None and rnn_forward is not None:
        if rnn_step_backward is not None:
            depends["rnn_step_backward"] = lambda: run_backward_check(
                _RNN_STEP_BACKWARD, _given_step_forward, rnn_step_backward, hidden, quiet=True)
        depends["rnn_backward"] = lambda: run_backward_check(
            _RNN_BACKWARD, rnn_forward, rnn_backward, hidden, quiet=True)
    _check_rnn_loss(rnn_loss, hidden, depends)
    print("rnn_loss: all checks passed.")


# ---------------------------------------------------------------------------------------------
# Conceptual questions

CH04_QUESTIONS, check_ch04_questions = question_set("ch04_questions", [
    Question(
        "dWxh_shape", (5, 3),
        "The shape of dWxh for an RNN with D = 3 inputs and H = 5 hidden units",
        "A gradient has the shape of the array it differentiates: look at the shape of Wxh.",
        wrong=(Wrong((3, 5), "dwxh-shape-transposed",
                     "That is the transpose. A gradient has the shape of what it differentiates, "
                     "and Wxh is stored (H, D)."),
               Wrong((5, 5), "dwxh-shape-like-whh",
                     "(5, 5) is the shape of Whh. Wxh maps D inputs to H units: it is (H, D).")),
        section="ch04-sum"),
    Question(
        "steps_in_dWhh", [2, 3, 4, 5],
        "With h_0 = 0 and a loss on the last output only (T = 5, steps t = 1..5), the steps t "
        "whose term g_t h_(t-1)^T can be non-zero in dL/dW_hh",
        "Follow the gradient from the loss at step 5 back through h_4, h_3, ... and ask for each "
        "step whether g_t and h_(t-1) can both be non-zero.",
        wrong=(Wrong([5], "only-the-last-step",
                     "The loss sits at step 5, but its gradient flows back through h_4, h_3, ... "
                     "(the path from h_(t+1)), so g_t is non-zero at earlier steps too."),
               Wrong([1, 2, 3, 4, 5], "step-one-with-h0",
                     "Step 1's term is g_1 h_0^T, and h_0 = 0: that term is zero whatever g_1 is."),
               Wrong([1, 2, 3, 4], "steps-counted-from-zero",
                     "That would be right if the steps were numbered from 0, as in code; the "
                     "question numbers them t = 1..5 as the book does (h_0 is the state before "
                     "step 1). Which of steps 1..5 have a non-zero term?"),
               Wrong([0, 1, 2, 3, 4], "steps-counted-from-zero-with-h0",
                     "The steps are t = 1..5 here, as in the book (h_0 is the state before step "
                     "1, not a step). And step 1's term, g_1 h_0^T, is zero since h_0 = 0.")),
        section="ch04-sum", as_set=True),
    Question(
        "loss_evaluations", 2048,
        "How many evaluations of the loss a central-difference check of every entry of W_hh "
        "needs when H = 32",
        "Count the entries of W_hh, and the evaluations of the loss each entry needs.",
        wrong=(Wrong(1024, "one-evaluation-per-entry",
                     "W_hh has 32 x 32 = 1024 entries, but a central difference evaluates the "
                     "loss twice per entry, at +h and at -h."),
               Wrong(2049, "counts-unperturbed-loss",
                     "A central difference never needs the loss at the unperturbed point: only "
                     "at +h and at -h, for each entry."),
               Wrong(64, "one-per-row",
                     "Each of the 1024 entries of W_hh is perturbed on its own, twice.")),
        section="ch04-gradient-check", rtol=0.0),
], section="ch04")
