"""Checkers for chapter 5, long sequences: Jacobians, gradient norm vs lag, clipping, TBPTT.

Every graded function is an :class:`~rnnlib.checks._engine.Exercise` whose catalogue of known
mistakes is built from rnnlib's references (:mod:`rnnlib.dynamics`, :mod:`rnnlib.optim`,
:mod:`rnnlib.training`) by small edits of their source: a wrong variant of the gradient's trip
back in time is :func:`rnnlib.rnn.recurrence_backward` with one line changed, never a loop
written again here.

The truncated-BPTT checker runs the student's training loop on a tiny problem with a loss
function that *records* every call (the chunk it was given, the starting hidden state, the
parameters at that moment), and compares that record with the reference's and with each
catalogued mistake's: a match names the mistake; otherwise the first call that differs says
where the loop departs.
"""
from __future__ import annotations

import numpy as np

from rnnlib import dynamics as _dyn
from rnnlib import optim as _optim
from rnnlib import rnn as _rnn
from rnnlib.checks._core import CheckFailed, call_student, case_seeds, fmt_shape
from rnnlib.checks._engine import Case, Exercise, Mistake, _rebind, close, mutate, run_check
from rnnlib.checks._questions import Question, Wrong, question_set
from rnnlib.data import batchify, iter_chunks
from rnnlib.optim import SGD
from rnnlib.training import tbptt_train

__all__ = [
    "check_step_jacobian",
    "check_gradient_norm_vs_lag",
    "check_clip_by_global_norm",
    "check_train_tbptt",
    "check_ch05_questions",
]

# Private references, bound at import time.
_step_jacobian = _dyn.step_jacobian
_norm_vs_lag = _dyn.gradient_norm_vs_lag
_rnn_loss = _dyn.rnn_loss
_clip = _optim.clip_by_global_norm
_array_equal = np.array_equal


def _deep(reference, chain, *edits):
    """``reference`` calling ``chain[0]``, which calls ``chain[1]``, ..., whose last is edited.

    Each function is called by its global name in the one before it; the result is a variant
    of ``reference`` in which only the last function's source differs.
    """
    edited = mutate(chain[-1], *edits)
    for caller, callee in zip(reversed(chain[:-1]), reversed(chain[1:])):
        edited = _rebind(caller, {callee.__name__: edited}, None)
    return _rebind(reference, {chain[0].__name__: edited}, None)


def _both(reference, outer_edits, inner, inner_edits):
    """``reference`` with ``outer_edits`` of its own source, calling ``inner`` edited too."""
    variant = mutate(reference, *outer_edits)
    variant.__globals__[inner.__name__] = mutate(inner, *inner_edits)  # its own namespace copy
    return variant


# ---------------------------------------------------------------------------------------------
# step_jacobian


def _jacobian_cases(hidden):
    shapes = [(1, 3), (4, 4), (2, 6)] if hidden else [(3, 4), (5, 2), (3, 3)]
    out = []
    for seed in case_seeds(hidden):
        for D, H in shapes:
            rng = np.random.default_rng(seed)
            args = (rng.standard_normal(D), rng.standard_normal(H) * 0.8, rng.standard_normal((H, D)),
                    rng.standard_normal((H, H)), rng.standard_normal(H) * 0.5)
            out.append(Case(f"seed {seed}, D={D}, H={H}", args))
    return out


_J = "return (1.0 - h_t**2)[..., :, None] * Whh"
_STEP_Z = "x_t @ Wxh.T + h_prev @ Whh.T + bh"

def _swapped_arguments(x_t, h_prev, Wxh, Whh, bh):
    return _step_jacobian(h_prev, x_t, Wxh, Whh, bh)


STEP_JACOBIAN = Exercise(
    name="step_jacobian",
    reference=_step_jacobian,
    cases=_jacobian_cases,
    returns=("J",),
    arg_names=("x_t", "h_prev", "Wxh", "Whh", "bh"),
    section="ch05-jacobians",
    mistakes=[
        Mistake("step_jacobian/transposed",
                "J is the transpose of the right answer: J[i, j] is d h_t[i] / d h_prev[j], so "
                "tanh's slope at unit i scales row i of Whh (diag(s) @ Whh, or s[:, None] * Whh), "
                "not column i.",
                mutate(_step_jacobian, (_J, f"{_J.replace('return ', 'return (')}).T")), "ch05-jacobians"),
        Mistake("step_jacobian/slope-scales-columns",
                "tanh's slope scales the columns of Whh (Whh @ diag(s)): the slope of unit i "
                "belongs to row i, J = diag(s) @ Whh with s = 1 - h_t**2.",
                mutate(_step_jacobian, (_J, "return (1.0 - h_t**2)[..., None, :] * Whh")), "ch05-jacobians"),
        Mistake("step_jacobian/slope-of-both-units",
                "Each entry J[i, j] is scaled by the slopes of two units, s[i] * s[j] * Whh[i, j] "
                "(np.outer(s, s) * Whh): h_prev[j] enters unit i through Whh[i, j] and then through "
                "unit i's tanh only, so only unit i's slope s[i] = 1 - h_t[i]**2 scales it. "
                "J = diag(s) @ Whh, or s[:, None] * Whh.",
                mutate(_step_jacobian, (_J, "return np.outer(1.0 - h_t**2, 1.0 - h_t**2) * Whh")),
                "ch05-jacobians"),
        Mistake("step_jacobian/no-slope",
                "J is Whh alone: the chain rule through tanh multiplies it by tanh's derivative "
                "1 - h_t**2 (one factor per row).",
                mutate(_step_jacobian, (_J, "return Whh.copy()")), "ch05-jacobians"),
        Mistake("step_jacobian/slope-at-h-prev",
                "It uses tanh's slope at h_prev: the slope belongs to this step's output, "
                "1 - h_t**2, with h_t = tanh(Wxh @ x_t + Whh @ h_prev + bh).",
                mutate(_step_jacobian, (_J, "return (1.0 - h_prev**2)[..., :, None] * Whh")), "ch05-jacobians"),
        Mistake("step_jacobian/slope-not-squared",
                "tanh's derivative is written 1 - h_t: it is 1 - tanh(z)**2 = 1 - h_t**2.",
                mutate(_step_jacobian, (_J, "return (1.0 - h_t)[..., :, None] * Whh")), "ch05-jacobians"),
        Mistake("step_jacobian/slope-squared-after-subtracting",
                "tanh's derivative is written (1 - h_t)**2, the square of 1 - h_t: it is "
                "1 - tanh(z)**2 = 1 - h_t**2, h_t squared first and then subtracted from 1.",
                mutate(_step_jacobian, (_J, "return ((1.0 - h_t)**2)[..., :, None] * Whh")), "ch05-jacobians"),
        Mistake("step_jacobian/elementwise-diag",
                "J keeps only the diagonal of Whh: np.diag(s) * Whh multiplies entry by entry, and "
                "every entry of diag(s) off its diagonal is 0. The Jacobian is the matrix product "
                "diag(s) @ Whh, or s[:, None] * Whh (row i of Whh times s[i]), with s = 1 - h_t**2.",
                mutate(_step_jacobian, (_J, "return np.diag(1.0 - h_t**2) * Whh")), "ch05-jacobians"),
        Mistake("step_jacobian/slope-of-z",
                "It uses 1 - z**2 with z the pre-activation: tanh'(z) is 1 - tanh(z)**2, so "
                "compute h_t = tanh(z) first and use 1 - h_t**2.",
                mutate(_step_jacobian, (f"np.tanh({_STEP_Z})", f"({_STEP_Z})"), inner=_rnn.rnn_step_forward),
                "ch05-jacobians"),
        Mistake("step_jacobian/uses-whh-transposed",
                "It uses Whh.T: with column vectors the step is Whh @ h_prev, whose derivative "
                "with respect to h_prev is Whh itself, so J = diag(1 - h_t**2) @ Whh.",
                mutate(_step_jacobian, (_J, "return (1.0 - h_t**2)[..., :, None] * Whh.T")), "ch05-jacobians"),
        Mistake("step_jacobian/no-whh",
                "J is diag(1 - h_t**2) alone: the chain rule multiplies tanh's slope by the "
                "derivative of z = Wxh @ x_t + Whh @ h_prev + bh with respect to h_prev, which is Whh.",
                mutate(_step_jacobian, (_J, "return np.diag(1.0 - h_t**2)")), "ch05-jacobians"),
        Mistake("step_jacobian/vector-times-whh",
                "J is a vector, (1 - h_t**2) @ Whh: the product sums over the units. J is the "
                "(H, H) matrix whose row i is row i of Whh times unit i's slope: "
                "diag(1 - h_t**2) @ Whh, or (1 - h_t**2)[:, None] * Whh.",
                mutate(_step_jacobian, (_J, "return (1.0 - h_t**2) @ Whh")), "ch05-jacobians"),
        Mistake("step_jacobian/no-bias",
                "The slope is computed from a step without the bias: h_t = tanh(Wxh @ x_t + "
                "Whh @ h_prev + bh), and tanh's slope 1 - h_t**2 depends on bh too.",
                mutate(_step_jacobian, (_STEP_Z, "x_t @ Wxh.T + h_prev @ Whh.T"), inner=_rnn.rnn_step_forward),
                "ch05-jacobians"),
        Mistake("step_jacobian/arguments-swapped",
                "Your function reads its arguments in another order: they come in the order of "
                "rnn_step_forward, step_jacobian(x_t, h_prev, Wxh, Whh, bh).",
                _swapped_arguments, "ch05-jacobians"),
        Mistake("step_jacobian/step-whh-transposed",
                "Your h_t is computed with h_prev @ Whh (that is Whh.T @ h_prev): for one example "
                "as a column vector the step is tanh(Wxh @ x_t + Whh @ h_prev + bh).",
                mutate(_step_jacobian, (_STEP_Z, "x_t @ Wxh.T + h_prev @ Whh + bh"), inner=_rnn.rnn_step_forward),
                "ch05-jacobians"),
    ],
)


def check_step_jacobian(step_jacobian, hidden=False):
    """Check a student's ``step_jacobian(x_t, h_prev, Wxh, Whh, bh) -> J (H, H)`` for one example.

    ``J[i, j] = d h_t[i] / d h_prev[j] = (1 - h_t[i]**2) * Whh[i, j]``; the arguments come in
    the order of ``rnn_step_forward``.
    """
    run_check(STEP_JACOBIAN, step_jacobian, hidden)


# ---------------------------------------------------------------------------------------------
# gradient_norm_vs_lag


def _lag_cases(hidden):
    shapes = [(1, 2, 3, 4), (6, 1, 2, 3), (12, 3, 4, 4)] if hidden else [(8, 2, 3, 5), (5, 3, 2, 4), (6, 2, 3, 3)]
    out = []
    for seed in case_seeds(hidden):
        for T, B, D, H in shapes:
            rng = np.random.default_rng(seed)
            args = (rng.standard_normal((T, B, D)), rng.standard_normal((B, H)) * 0.5,
                    rng.standard_normal((H, D)) * 0.5, rng.standard_normal((H, H)) * 1.2 / np.sqrt(H),
                    rng.standard_normal(H) * 0.2, rng.standard_normal((B, H)))
            out.append(Case(f"seed {seed}, T={T}, B={B}, D={D}, H={H}", args, {}, {"T": T, "B": B}))
    return out


_SEND_BACK = "np.matmul(dzs[t], Whh, out=dh_next)"
_LAST_STEP = "dh_before = dzs[::-1] @ Whh"
_REC_DERIVATIVE = "dzs = np.square(hs)\n    np.subtract(1.0, dzs, out=dzs)"
_NORMS_REST = "norms[1:] = np.linalg.norm(dh_before.reshape(x.shape[0], -1), axis=1)"

GRADIENT_NORM_VS_LAG = Exercise(
    name="gradient_norm_vs_lag",
    reference=_norm_vs_lag,
    cases=_lag_cases,
    returns=("norms",),
    arg_names=("x", "h0", "Wxh", "Whh", "bh", "dh_T"),
    time_axis={"norms": 0},
    section="ch05-norm-vs-lag",
    mistakes=[
        Mistake("gradient_norm_vs_lag/no-tanh-derivative",
                "It ignores tanh's derivative: each step back multiplies the gradient by "
                "(1 - h_t**2) before the product with Whh.",
                mutate(_norm_vs_lag, (_REC_DERIVATIVE, "dzs = np.ones_like(hs)"), inner=_rnn.recurrence_backward),
                "ch05-jacobians"),
        Mistake("gradient_norm_vs_lag/slope-at-previous-state",
                "It uses tanh's slope at h_(t-1): going from the gradient on h_t to the one on "
                "h_(t-1), the slope is the one of the step that produced h_t, 1 - h_t**2.",
                mutate(_norm_vs_lag, (_REC_DERIVATIVE,
                                      "dzs = np.square(np.concatenate([h0[None], hs[:-1]]))\n"
                                      "    np.subtract(1.0, dzs, out=dzs)"), inner=_rnn.recurrence_backward),
                "ch05-jacobians"),
        Mistake("gradient_norm_vs_lag/whh-transposed",
                "It uses Whh.T: with rows as examples the step back is (dh * (1 - h_t**2)) @ Whh "
                "(the transpose of the column form W_hh^T dh).",
                _both(_norm_vs_lag, [(_LAST_STEP, "dh_before = dzs[::-1] @ Whh.T")],
                      _rnn.recurrence_backward, [(_SEND_BACK, "np.matmul(dzs[t], Whh.T, out=dh_next)")]),
                "ch05-norm-vs-lag"),
        Mistake("gradient_norm_vs_lag/norm-before-whh",
                "For k >= 1 it records the norm of dh * (1 - h_t**2), the gradient on the "
                "pre-activation: the gradient on h_(t-1) is that times Whh, "
                "(dh * (1 - h_t**2)) @ Whh. Record its norm.",
                mutate(_norm_vs_lag, (_LAST_STEP, "dh_before = dzs[::-1]")), "ch05-norm-vs-lag"),
        Mistake("gradient_norm_vs_lag/no-lag-zero",
                "norms has T values, expected T + 1: it is missing norms[0] = ||dh_T||, the "
                "gradient at lag 0, before any step back. Lags run from 0 to T (the gradient on h0).",
                mutate(_norm_vs_lag, ("    return norms", "    return norms[1:]")), "ch05-norm-vs-lag"),
        Mistake("gradient_norm_vs_lag/stops-before-h0",
                "norms has T values, expected T + 1: the loop stops one step early, so the last "
                "entry, norms[T] (the gradient on h0), is missing. Lags run from 0 to T.",
                mutate(_norm_vs_lag, ("    return norms", "    return norms[:-1]")), "ch05-norm-vs-lag"),
        Mistake("gradient_norm_vs_lag/reversed",
                "It is reversed: norms[0] is lag 0 (the last state, ||dh_T||) and norms[T] is the "
                "gradient on h0.",
                mutate(_norm_vs_lag, ("    return norms", "    return norms[::-1]")), "ch05-norm-vs-lag"),
        Mistake("gradient_norm_vs_lag/squared-norms",
                "It holds squared norms (sums of squares): take the square root, "
                "np.linalg.norm(dh).",
                mutate(_norm_vs_lag, ("norms[0] = np.linalg.norm(dh_T)", "norms[0] = np.linalg.norm(dh_T) ** 2"),
                       (_NORMS_REST, _NORMS_REST + " ** 2")), "ch05-norm-vs-lag"),
        Mistake("gradient_norm_vs_lag/per-example-norms-averaged",
                "norms[k] is the mean of the examples' norms: take the norm of the whole (B, H) "
                "gradient, np.linalg.norm(dh), as if the batch were one long vector.",
                mutate(_norm_vs_lag, ("norms[0] = np.linalg.norm(dh_T)", "norms[0] = np.linalg.norm(dh_T, axis=-1).mean()"),
                       (_NORMS_REST, "norms[1:] = np.linalg.norm(dh_before, axis=-1).mean(axis=1)")),
                "ch05-norm-vs-lag"),
        Mistake("gradient_norm_vs_lag/per-example-norms-summed",
                "norms[k] is the sum of the examples' norms: take the norm of the whole (B, H) "
                "gradient, np.linalg.norm(dh), as if the batch were one long vector.",
                mutate(_norm_vs_lag, ("norms[0] = np.linalg.norm(dh_T)", "norms[0] = np.linalg.norm(dh_T, axis=-1).sum()"),
                       (_NORMS_REST, "norms[1:] = np.linalg.norm(dh_before, axis=-1).sum(axis=1)")),
                "ch05-norm-vs-lag"),
        Mistake("gradient_norm_vs_lag/divided-by-first",
                "norms is divided by norms[0], so that norms[0] is 1: return the norms themselves "
                "(a plot may divide by norms[0]; the function does not).",
                mutate(_norm_vs_lag, ("    return norms", "    return norms / norms[0]")), "ch05-norm-vs-lag"),
        Mistake("gradient_norm_vs_lag/forward-whh-not-transposed",
                "The backward part is right, but the forward states are wrong: they were computed "
                "with h @ Whh where h @ Whh.T belongs (Whh is stored (to, from)).",
                _deep(_norm_vs_lag, [_rnn.rnn_forward, _rnn.recurrence_forward],
                      ("np.matmul(h, Whh.T, out=rec)", "np.matmul(h, Whh, out=rec)")),
                "ch05-norm-vs-lag"),
    ],
)


def check_gradient_norm_vs_lag(gradient_norm_vs_lag, hidden=False):
    """Check ``gradient_norm_vs_lag(x, h0, Wxh, Whh, bh, dh_T) -> norms (T + 1,)``.

    ``norms[k]`` is the norm of ``dL/dh_(T-k)`` when only ``h_T`` receives the gradient ``dh_T``.
    """
    run_check(GRADIENT_NORM_VS_LAG, gradient_norm_vs_lag, hidden)


# ---------------------------------------------------------------------------------------------
# clip_by_global_norm


def _grads_case(rng, scale):
    return {
        "Wxh": rng.standard_normal((4, 3)) * scale,
        "Whh": rng.standard_normal((4, 4)) * scale,
        "bh": rng.standard_normal(4) * scale,
        "Why": rng.standard_normal((2, 4)) * scale * 5,  # one array much larger than the rest
        "by": rng.standard_normal(2) * scale,
    }


def _clip_cases(hidden):
    out = []
    for seed in case_seeds(hidden):
        rng = np.random.default_rng(seed)
        pairs = [(_grads_case(rng, 1.0), 1.0), (_grads_case(rng, 0.01), 5.0), (_grads_case(rng, 3.0), 2.5)]
        if hidden:
            g = _grads_case(rng, 1.0)
            pairs.append((g, float(np.sqrt(sum(np.sum(v * v) for v in g.values())))))  # exactly at the limit
            pairs.append(({"W": rng.standard_normal((3, 3)) * 10}, 0.5))
        for grads, max_norm in pairs:
            norm = float(np.sqrt(sum(np.sum(v * v) for v in grads.values())))
            out.append(Case(f"seed {seed}, max_norm={max_norm:.3g}, global norm {norm:.3g}", (grads, max_norm)))
    return out


_SCALE = "scale = max_norm / norm if norm > max_norm else 1.0"
_RETURN = "return {k: g * scale for k, g in grads.items()}, norm"
_GLOBAL = "return float(np.sqrt(sum(float(np.sum(g * g)) for g in grads.values())))"

_IN_PLACE = Mistake(
    "clip_by_global_norm/in-place",
    "It scales the caller's arrays in place (g *= scale): the caller still needs its gradients "
    "as they were (to log them, say). Return a new dict of new arrays, {k: g * scale ...}.",
    mutate(_clip, (_RETURN, "for g in grads.values():\n        g *= scale\n    return grads, norm")),
    "ch05-clipping")

_RETURNS_ITS_INPUT = Mistake(
    "clip_by_global_norm/returns-the-callers-arrays",
    "When no clipping is needed it returns the caller's own arrays (return grads, n, or "
    "{k: g ...} with the same g): the exercise asks for a new dict of new arrays, so that a "
    "caller who later changes the clipped gradients (an update written g *= lr, say) does not "
    "change its own. Return {k: g * scale for k, g in grads.items()} in both cases (scale = 1.0 "
    "when the norm is within max_norm), or copy the arrays.",
    mutate(_clip, (_RETURN, "if scale == 1.0:\n        return grads, norm\n    " + _RETURN)),
    "ch05-clipping")

CLIP_BY_GLOBAL_NORM = Exercise(
    name="clip_by_global_norm",
    reference=_clip,
    cases=_clip_cases,
    returns=("clipped", "norm"),
    arg_names=("grads", "max_norm"),
    section="ch05-clipping",
    mistakes=[
        Mistake("clip_by_global_norm/per-array",
                "Each array was clipped by its own norm. Clip by the global norm: one factor "
                "max_norm / n for every array, so that the update keeps its direction.",
                mutate(_clip, (_RETURN, "return {k: g * min(1.0, max_norm / max(float(np.sqrt(np.sum(g * g))), "
                                        "1e-300)) for k, g in grads.items()}, norm")), "ch05-clipping"),
        Mistake("clip_by_global_norm/by-value",
                "That is clipping by value (np.clip), which cuts large entries and turns the "
                "update; this function rescales all arrays by one factor, max_norm / n.",
                mutate(_clip, (_RETURN, "return {k: np.clip(g, -max_norm, max_norm) for k, g in grads.items()}, norm")),
                "ch05-clipping"),
        Mistake("clip_by_global_norm/always-rescales",
                "The global norm was already below max_norm, but you rescaled the gradients up to "
                "max_norm: only shrink them when the norm exceeds the limit.",
                mutate(_clip, (_SCALE, "scale = max_norm / norm")), "ch05-clipping"),
        Mistake("clip_by_global_norm/factor-inverted",
                "The factor is upside down: n / max_norm makes a too-long gradient longer. "
                "Multiply by max_norm / n (less than 1 when n > max_norm).",
                mutate(_clip, (_SCALE, "scale = norm / max_norm if norm > max_norm else 1.0")), "ch05-clipping"),
        Mistake("clip_by_global_norm/norm-after",
                "The norm you return is the norm after clipping: return the norm before clipping "
                "(worth logging: its spikes are the exploding gradients).",
                mutate(_clip, (_RETURN, "return {k: g * scale for k, g in grads.items()}, min(norm, max_norm)")),
                "ch05-clipping"),
        Mistake("clip_by_global_norm/squared-norm",
                "The global norm is squared: it is the square root of the sum of squares over "
                "every array, sqrt(sum of sum(g**2)).",
                mutate(_clip, (_GLOBAL, "return float(sum(float(np.sum(g * g)) for g in grads.values()))"),
                       inner=_optim.global_norm), "ch05-clipping"),
        Mistake("clip_by_global_norm/sum-of-norms",
                "The global norm is the sum of the arrays' norms: it is the norm of all entries "
                "together, sqrt(sum over arrays of sum(g**2)), as if flattened into one vector.",
                mutate(_clip, (_GLOBAL, "return float(sum(float(np.sqrt(np.sum(g * g))) for g in grads.values()))"),
                       inner=_optim.global_norm), "ch05-clipping"),
        _IN_PLACE,
        _RETURNS_ITS_INPUT,
    ],
)


def _shares_the_callers_arrays(clip_by_global_norm, hidden):
    """On a case that needs no clipping: does the result hold (or is it) the caller's arrays?"""
    for case in _clip_cases(hidden):
        grads, max_norm = case.args
        if _optim.global_norm(grads) > max_norm:
            continue
        given = {k: v.copy() for k, v in grads.items()}
        out = call_student(clip_by_global_norm, given, max_norm, copy_args=False)
        clipped = out[0] if isinstance(out, tuple) and out else None
        if clipped is given:
            return case
        if isinstance(clipped, dict) and any(
                isinstance(v, np.ndarray) and any(np.shares_memory(v, g) for g in given.values())
                for v in clipped.values()):
            return case
    return None


def _check_clip(clip_by_global_norm, hidden=False, quiet=True):
    try:
        run_check(CLIP_BY_GLOBAL_NORM, clip_by_global_norm, hidden, quiet=True)
    except CheckFailed as err:
        if err.mistake_id == "generic/changes-input":  # grads changed: name it
            raise CheckFailed(f"clip_by_global_norm: {_IN_PLACE.says}", mistake_id=_IN_PLACE.id) from None
        if err.mistake_id in ("generic/missing", "generic/type"):
            case = _clip_cases(hidden)[0]
            try:
                out = call_student(clip_by_global_norm, {k: v.copy() for k, v in case.args[0].items()}, case.args[1])
            except Exception:  # noqa: BLE001
                raise err from None
            if isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], dict) and not isinstance(out[0], dict):
                raise CheckFailed("clip_by_global_norm returns (norm, clipped): return the two in the "
                                  "order (clipped, norm).", mistake_id="generic/returns") from None
        raise
    case = _shares_the_callers_arrays(clip_by_global_norm, hidden)
    if case is not None:
        raise CheckFailed(f"clip_by_global_norm: {_RETURNS_ITS_INPUT.says} ({case.label})",
                          mistake_id=_RETURNS_ITS_INPUT.id)
    if not quiet:
        print("clip_by_global_norm: all checks passed.")


CLIP_BY_GLOBAL_NORM.check_student = _check_clip


def check_clip_by_global_norm(clip_by_global_norm, hidden=False):
    """Check ``clip_by_global_norm(grads, max_norm) -> (clipped, norm_before)``."""
    _check_clip(clip_by_global_norm, hidden, quiet=False)


# ---------------------------------------------------------------------------------------------
# train_tbptt


def _train_tbptt(params, loss_fn, ids, T, B, lr, epochs=1, clip=None, carry_state=True):
    """The reference of chapter 5's exercise: rnnlib's one training loop with plain SGD.

    Each epoch reads the ``(L, B)`` streams in non-overlapping chunks of ``T`` (a ragged end
    skipped) from ``h = 0``; ``carry_state=False`` is the "forgot to carry" variant.
    """
    params = {k: np.array(v, dtype=np.float64, copy=True) for k, v in params.items()}
    streams = batchify(ids, B)
    H = params["Whh"].shape[0]
    optimizer = SGD(lr)
    losses = []
    for _ in range(epochs):
        chunks = iter_chunks(streams, T, drop_last=True)
        history = tbptt_train(params, loss_fn, chunks, optimizer, clip=clip,
                              h0=np.zeros((B, H)), carry=carry_state)
        losses += history["loss"]
    return params, losses


def _state_reset(params, loss_fn, ids, T, B, lr, epochs=1, clip=None):
    return _train_tbptt(params, loss_fn, ids, T, B, lr, epochs, clip, carry_state=False)


_PER_ARRAY_CLIP = CLIP_BY_GLOBAL_NORM.mistakes[0].variant
_EPOCH = ('losses += history["loss"]',)

_CHANGES_PARAMS = Mistake(
    "train_tbptt/changes-params",
    "It trains the caller's params in place: work on a copy, "
    "params = {k: v.copy() for k, v in params.items()}, and return it. (The caller's dict may "
    "be the starting point of another run, as in the book's comparisons.)",
    mutate(_train_tbptt, ("params = {k: np.array(v, dtype=np.float64, copy=True) for k, v in params.items()}",
                          "params = params")), "ch05-tbptt")

TBPTT_MISTAKES = [
    Mistake("train_tbptt/state-reset",
            "Every chunk starts from h = 0: you reset h at each chunk. Carry the previous chunk's "
            "h_last into the next one (h = h_last): the model keeps reading across the cut; only "
            "the gradient stops there.",
            _state_reset, "ch05-tbptt"),
    Mistake("train_tbptt/state-kept-across-epochs",
            "The state is carried from the end of one epoch into the start of the next: a new "
            "pass over the data starts again at the beginning of the streams, from h = zeros((B, H)).",
            mutate(_train_tbptt, ("losses = []", "losses = []\n    state = np.zeros((B, H))"),
                   ("h0=np.zeros((B, H))", "h0=state"),
                   ('losses += history["loss"]', 'losses += history["loss"]\n        state = history["state"]')),
            "ch05-tbptt"),
    Mistake("train_tbptt/streams-row-major",
            "The streams are cut the wrong way: ids[:L*B].reshape(L, B) puts consecutive ids side "
            "by side in one row. Use ids[:L*B].reshape(B, L).T: column b is the b-th contiguous "
            "piece of ids, so each column continues where its last chunk ended.",
            _deep(_train_tbptt, [batchify], ("ids[: B * L].reshape(B, L).T", "ids[: B * L].reshape(L, B)")),
            "ch05-tbptt"),
    Mistake("train_tbptt/targets-not-shifted",
            "The targets equal the inputs: each target is the next id, "
            "targets = streams[c*T + 1:(c+1)*T + 1].",
            _deep(_train_tbptt, [iter_chunks], ("streams[s + 1 : s + n + 1]", "streams[s : s + n]")),
            "ch05-tbptt"),
    Mistake("train_tbptt/ragged-chunk",
            "It also trains on the short chunk left at the end of the streams: there are "
            "(L - 1) // T full chunks per epoch, and the ragged end is skipped.",
            mutate(_train_tbptt, ("drop_last=True", "drop_last=False")), "ch05-tbptt"),
    Mistake("train_tbptt/uphill",
            "The update goes uphill: SGD subtracts the gradient, params[k] -= lr * grads[k].",
            mutate(_train_tbptt, ("optimizer = SGD(lr)", "optimizer = SGD(-lr)")), "ch05-tbptt"),
    Mistake("train_tbptt/no-learning-rate",
            "The update ignores the learning rate: params[k] -= lr * grads[k].",
            mutate(_train_tbptt, ("optimizer = SGD(lr)", "optimizer = SGD(1.0)")), "ch05-tbptt"),
    Mistake("train_tbptt/not-clipped",
            "The gradients were not clipped before the update: when clip is given, clip them to "
            "that global norm with clip_by_global_norm first.",
            mutate(_train_tbptt, ("clip=clip,", "clip=None,")), "ch05-clipping"),
    Mistake("train_tbptt/clipped-per-array",
            "The gradients were clipped array by array: clip them together, by their global norm "
            "(your clip_by_global_norm), so the update keeps its direction.",
            _rebind(_train_tbptt, {"tbptt_train": _rebind(
                tbptt_train, {"clip_by_global_norm": _PER_ARRAY_CLIP}, None)}, None),
            "ch05-clipping"),
    Mistake("train_tbptt/clip-result-not-unpacked",
            "clip_by_global_norm returns a pair (clipped, norm): grads = clip_by_global_norm(grads, "
            "clip) makes grads that pair, and the update cannot read grads[k] from it. Unpack it: "
            "grads, _ = clip_by_global_norm(grads, clip).",
            _rebind(_train_tbptt, {"tbptt_train": mutate(
                tbptt_train, ("grads, norm = clip_by_global_norm(grads, clip)",
                              "grads = clip_by_global_norm(grads, clip)\n            norm = 0.0"))}, None),
            "ch05-clipping"),
    Mistake("train_tbptt/losses-of-last-epoch",
            "losses holds the last epoch's losses only: keep every chunk's loss of every epoch, "
            "in order (epochs * n_chunks values).",
            mutate(_train_tbptt, ('losses += history["loss"]', 'losses = history["loss"]')), "ch05-tbptt"),
    _CHANGES_PARAMS,
]


class _BadCall(Exception):
    """loss_fn was called with arguments it cannot use; the message says which and why."""


class _Recorder:
    """A character-model loss function that remembers every call it receives."""

    def __init__(self, V):
        self.V = V
        self.calls = []  # (inputs, targets, h0, params snapshot, h_last)

    def __call__(self, params, inputs, targets, h0):
        at = f"At update {len(self.calls)}, loss_fn"
        if h0 is None:
            raise _BadCall(f"{at} received h0=None: start every epoch from h = np.zeros((B, H)), "
                           "and pass each chunk's h_last to the next one.")
        inputs = np.asarray(inputs)
        targets = np.asarray(targets)
        h0 = np.asarray(h0, dtype=float)
        H = np.shape(params.get("Whh"))[0] if isinstance(params, dict) and "Whh" in params else None
        if inputs.ndim != 2 or targets.shape != inputs.shape:
            raise _BadCall(f"{at} received inputs of shape {inputs.shape} and targets of shape "
                           f"{targets.shape}; both must be (T, B). A chunk whose targets run past the "
                           "end of the streams is one chunk too many: n_chunks = (L - 1) // T.")
        if H is not None and h0.shape != (inputs.shape[1], H):
            raise _BadCall(f"{at} received h0 of shape {h0.shape}; it must be (B, H) = "
                           f"{(inputs.shape[1], H)}.")
        snap = {k: np.array(v, dtype=float, copy=True) for k, v in params.items()}
        x = np.eye(self.V)[inputs]  # one-hot, (T, B, V)
        loss, grads, h_last = _rnn_loss(snap, x, targets, h0)
        self.calls.append((inputs.copy(), targets.copy(), h0.copy(), snap, h_last.copy()))
        return loss, grads, h_last.copy()


def _tbptt_cases(hidden):
    out = []
    for seed in case_seeds(hidden):
        rng = np.random.default_rng(seed)
        V, H = 5, 4
        params = {
            "Wxh": rng.standard_normal((H, V)) * 0.5,
            "Whh": rng.standard_normal((H, H)) * 0.5,
            "bh": np.zeros(H),
            "Why": rng.standard_normal((V, H)) * 0.5,
            "by": np.zeros(V),
        }
        if hidden:
            ids = rng.integers(0, V, size=53)
            settings = [dict(T=3, B=3, lr=0.3, epochs=2, clip=0.2), dict(T=1, B=1, lr=0.5, epochs=1, clip=None)]
        else:
            ids = rng.integers(0, V, size=41)  # L = 20: (L - 1) // T, not L // T, chunks
            # T = 4 divides L and T = 3 does not: L // T and L // T - 1 chunks both show.
            settings = [dict(T=4, B=2, lr=0.5, epochs=1, clip=None), dict(T=3, B=2, lr=0.5, epochs=2, clip=0.1)]
        for st in settings:
            label = (f"seed {seed}, T={st['T']}, B={st['B']}, lr={st['lr']}, epochs={st['epochs']}, "
                     f"clip={st['clip']}, len(ids)={len(ids)}")
            out.append(Case(label, (V, params, ids), st))
    return out


class _Run:
    """What one training run did: every call to loss_fn, and what it returned (or raised)."""

    def __init__(self, calls, result=None, error=None, changed_params=False):
        self.calls, self.result, self.error, self.changed_params = calls, result, error, changed_params


def _run(fn, case, student=False):
    V, params, ids = case.args
    rec = _Recorder(V)
    given = {k: v.copy() for k, v in params.items()}
    kwargs = dict(case.kwargs)
    args = (given, rec, ids.copy(), kwargs.pop("T"), kwargs.pop("B"), kwargs.pop("lr"))
    try:
        if student:
            result = call_student(fn, *args, name="train_tbptt", copy_args=False, **kwargs)
        else:
            result = fn(*args, **kwargs)
    except CheckFailed as err:
        if isinstance(err.__cause__, _BadCall):
            err = CheckFailed(f"train_tbptt: {err.__cause__} ({case.label})", mistake_id="generic/value")
        return _Run(rec.calls, error=err)
    except Exception as err:  # noqa: BLE001 - a variant that cannot run on this case says nothing
        return _Run(rec.calls, error=err)
    changed = any(not _array_equal(given[k], params[k]) for k in params)
    return _Run(rec.calls, result, changed_params=changed)


def _same_calls(a, b):
    if len(a) != len(b):
        return False
    for (ai, at, ah, ap, _), (bi, bt, bh, bp, _) in zip(a, b):
        if ai.shape != bi.shape or not _array_equal(ai, bi) or at.shape != bt.shape or not _array_equal(at, bt):
            return False
        if ah.shape != bh.shape or not close(ah, bh, 1e-9, 1e-12):
            return False
        if ap.keys() != bp.keys() or not all(close(ap[k], bp[k], 1e-9, 1e-12) for k in ap):
            return False
    return True


def _same_result(got, want):
    """Same (params, losses) up to rounding; ``False`` for anything malformed."""
    try:
        g_params, g_losses = got
        w_params, w_losses = want
        g_losses = np.asarray(g_losses, dtype=float).ravel()
    except (TypeError, ValueError):
        return False
    if not isinstance(g_params, dict) or g_params.keys() != w_params.keys():
        return False
    if g_losses.shape != (len(w_losses),) or not close(g_losses, np.asarray(w_losses, dtype=float), 1e-9, 1e-12):
        return False
    return all(close(np.asarray(g_params[k], dtype=float), w_params[k], 1e-9, 1e-12) for k in w_params)


def _same_run(a, b):
    return (a.error is None and b.error is None and a.changed_params == b.changed_params
            and _same_calls(a.calls, b.calls) and _same_result(a.result, b.result))


def _check_train_tbptt(train_tbptt, hidden=False, depends=None):
    cases = _tbptt_cases(hidden)
    for i, case in enumerate(cases):
        want = _run(_train_tbptt, case)
        got = _run(train_tbptt, case, student=True)
        if isinstance(got.error, NotImplementedError):
            raise got.error
        if _same_run(got, want):
            continue
        where = f" ({case.label})"
        if got.error is not None and not isinstance(got.error, CheckFailed):
            raise got.error
        if got.error is not None and got.error.mistake_id == "generic/calls-reference":
            raise got.error
        for dep_name, dep_check in (depends or {}).items():  # what it builds on, first
            try:
                dep_check()
            except NotImplementedError:
                raise CheckFailed(f"train_tbptt gives wrong results{where}, and it builds on {dep_name}, "
                                  f"which is not written yet: write {dep_name} first.",
                                  mistake_id="generic/dependency") from None
            except CheckFailed as err:
                raise CheckFailed(f"train_tbptt gives wrong results{where}. Fix {dep_name} first, which "
                                  f"train_tbptt builds on: {err}", mistake_id=err.mistake_id) from None
        mistake = _match(train_tbptt, cases, i, got)
        if mistake is None and got.error is not None:
            mistake = _explain_crash(train_tbptt, case, got)
        if mistake is not None:
            raise CheckFailed(f"train_tbptt: {mistake.says}{where}", mistake_id=mistake.id)
        if got.error is not None:
            raise got.error
        try:
            _diagnose(got, want, case, where)
        except CheckFailed as err:
            message = str(err) if str(err).startswith("train_tbptt") else f"train_tbptt: {err}"
            raise CheckFailed(message, mistake_id=err.mistake_id) from None
        raise CheckFailed("train_tbptt gives a wrong result" + where, mistake_id="generic/value")


def _match(student, cases, i, got):
    """The catalogued mistake whose run the student's matches, confirmed on another case."""
    for mistake in TBPTT_MISTAKES:
        variant = _run(mistake.variant, cases[i])
        want = _run(_train_tbptt, cases[i])
        if variant.error is not None or _same_run(variant, want) or not _same_run(got, variant):
            continue
        confirmed = True
        for case in cases[i + 1:] + cases[:i]:
            other = _run(mistake.variant, case)
            if other.error is not None or _same_run(other, _run(_train_tbptt, case)):
                continue
            confirmed = _same_run(_run(student, case, student=True), other)
            break
        if confirmed:
            return mistake
    return None


def _explain_crash(student, case, got):
    """A catalogued mistake that crashes where the student's loop crashed, for the same reason.

    The reason is compared by what the loop does with clipping: the student's loop and the
    variant both crash on this case, both run when ``clip`` is None, and the student's error
    is about a tuple (the pair clip_by_global_norm returns, used as the gradients).
    """
    cause = got.error.__cause__ if got.error.__cause__ is not None else got.error
    if case.kwargs.get("clip") is None or "tuple" not in str(cause):
        return None
    unclipped = case._replace(kwargs={**case.kwargs, "clip": None})
    if _run(student, unclipped, student=True).error is not None:
        return None
    for mistake in TBPTT_MISTAKES:
        if _run(mistake.variant, case).error is not None and _run(mistake.variant, unclipped).error is None:
            return mistake
    return None


def _diagnose(got, want, case, where):
    """Where the student's loop first departs from the reference's: raises CheckFailed."""
    T, B, lr, clip = case.kwargs["T"], case.kwargs["B"], case.kwargs["lr"], case.kwargs["clip"]
    if got.changed_params and not want.changed_params:
        raise CheckFailed(f"train_tbptt: {_CHANGES_PARAMS.says}{where}", mistake_id=_CHANGES_PARAMS.id)
    _check_calls(got.calls, want.calls, lr, clip, where, case)
    out = got.result
    if not (isinstance(out, tuple) and len(out) == 2):
        raise CheckFailed("train_tbptt should return (params, losses), but it returned " + fmt_shape(out) + "."
                          + where, mistake_id="generic/returns")
    got_params, got_losses = out
    want_params, want_losses = want.result
    try:
        got_losses = np.asarray(got_losses, dtype=float).ravel()
    except (TypeError, ValueError):
        raise CheckFailed("losses should be a list of floats, one per chunk." + where, mistake_id="generic/type") from None
    if got_losses.shape != (len(want_losses),):
        raise CheckFailed(f"losses has {got_losses.size} value{'' if got_losses.size == 1 else 's'}, expected "
                          f"one per update: {len(want_losses)}."
                          + where, mistake_id="generic/shape")
    if not close(got_losses, np.asarray(want_losses), 1e-9, 1e-12):
        k = int(np.argmax(~np.isclose(got_losses, want_losses, rtol=1e-9, atol=1e-12)))
        raise CheckFailed(f"losses[{k}] is {got_losses[k]:.6g}, but loss_fn returned {want_losses[k]:.6g} for that "
                          "chunk: record each chunk's loss, in order, as loss_fn returns it." + where,
                          mistake_id="generic/value")
    if not isinstance(got_params, dict):
        raise CheckFailed(f"The first return value should be the params dict, but it is {fmt_shape(got_params)}."
                          + where, mistake_id="generic/type")
    for k, w in want_params.items():
        if k not in got_params:
            raise CheckFailed(f"The returned params have no key '{k}'." + where, mistake_id="generic/missing")
        if not close(np.asarray(got_params[k], dtype=float), w, 1e-9, 1e-12):
            raise CheckFailed(f"The returned params['{k}'] differs from the reference after the last update: "
                              "the last update is wrong, or not applied to the dict you return." + where,
                              mistake_id="generic/value")


def _check_calls(got, want, lr, clip, where, case=None):
    """Compare the student's loss_fn calls with the reference's, call by call."""
    if len(got) != len(want) and case is not None:
        # A loop with the wrong number of chunks per epoch starts its next epoch early (or
        # late): say so, rather than "wrong inputs" at the first update of the next epoch.
        n = min(len(got), len(want))
        first = next((i for i in range(n) if got[i][0].shape != want[i][0].shape
                      or not _array_equal(got[i][0], want[i][0])), n)
        if first == n or (got[first][0].shape == want[0][0].shape and _array_equal(got[first][0], want[0][0])):
            epochs, B, T = case.kwargs["epochs"], case.kwargs["B"], case.kwargs["T"]
            L = len(case.args[2]) // B
            per_epoch = len(want) // epochs
            raise CheckFailed(
                f"Your loop called loss_fn {len(got)} times, expected {len(want)}: each epoch has "
                f"n_chunks = (L - 1) // T = ({L} - 1) // {T} = {per_epoch} chunks, with "
                f"L = len(ids) // B = {L}, and there {'is' if epochs == 1 else 'are'} {epochs} "
                f"epoch{'' if epochs == 1 else 's'}." + where, mistake_id="generic/value")
    for i, (g, w) in enumerate(zip(got, want)):
        g_in, g_tg, g_h0, g_p, _ = g
        w_in, w_tg, w_h0, w_p, _ = w
        at = f"At update {i}"
        if g_in.shape != w_in.shape:
            raise CheckFailed(
                f"{at}, loss_fn received inputs of shape {g_in.shape}, expected (T, B) = {w_in.shape}: "
                "each chunk is T consecutive rows of the (L, B) streams." + where, mistake_id="generic/shape")
        if not _array_equal(g_in, w_in):
            raise CheckFailed(f"{at}, loss_fn received the wrong inputs. Chunk c reads streams[c*T:(c+1)*T]; "
                              "the chunks go in order, without overlap." + where, mistake_id="generic/value")
        if g_tg.shape != w_tg.shape or not _array_equal(g_tg, w_tg):
            raise CheckFailed(f"{at}, loss_fn received the wrong targets: the inputs shifted one step later, "
                              "streams[c*T+1:(c+1)*T+1]." + where, mistake_id="generic/value")
        if g_h0.shape != w_h0.shape or not close(g_h0, w_h0, 1e-9, 1e-12):
            if g_h0.shape != w_h0.shape:
                hint = f" h0 has shape {g_h0.shape}, expected (B, H) = {w_h0.shape}."
            elif not np.any(w_h0):
                hint = " A new pass over the data starts from h = 0 (zeros of shape (B, H))."
            else:
                hint = " h0 must be the h_last that loss_fn returned for the previous chunk."
            raise CheckFailed(f"{at}, loss_fn received the wrong starting hidden state.{hint}" + where,
                              mistake_id="generic/value")
        bad = [k for k in w_p if k not in g_p or not close(g_p[k], w_p[k], 1e-9, 1e-12)]
        if bad:
            k = bad[0]
            if i == 0:
                raise CheckFailed(f"{at}, params['{k}'] had already changed before the first chunk." + where,
                                  mistake_id="generic/value")
            step = "params[k] -= lr * grads[k]" + (f", with grads clipped to global norm {clip} first" if clip else "")
            raise CheckFailed(f"{at}, params['{k}'] differs from the reference after update {i - 1}: the SGD step "
                              f"is {step}, for every key." + where, mistake_id="generic/value")
    if len(got) != len(want):
        raise CheckFailed(
            f"Your loop called loss_fn {len(got)} times, expected {len(want)}: (L - 1) // T full chunks per "
            "epoch, with L = len(ids) // B, times epochs." + where, mistake_id="generic/value")


TRAIN_TBPTT = Exercise(
    name="train_tbptt",
    reference=_train_tbptt,
    cases=_tbptt_cases,
    returns=("params", "losses"),
    mistakes=TBPTT_MISTAKES,
    section="ch05-tbptt",
    check_student=lambda fn, hidden: _check_train_tbptt(fn, hidden),
)


def check_train_tbptt(train_tbptt, hidden=False, clip_by_global_norm=None):
    """Check ``train_tbptt(params, loss_fn, ids, T, B, lr, epochs=1, clip=None) -> (params, losses)``.

    The student's loop is run on a tiny character problem with a recording ``loss_fn`` and
    compared call by call with the reference and with each catalogued mistake: which chunk is
    read, whether the targets are the next ids, whether the hidden state is carried from chunk
    to chunk (and reset to zero at the start of each epoch), and whether the SGD update (with
    optional clipping) is right.

    Parameters
    ----------
    train_tbptt : callable
        The student's function.
    hidden : bool
        Hidden tests: other seeds, two epochs with clipping, and ``T = B = 1``.
    clip_by_global_norm : callable, optional
        The student's clipping, if ``train_tbptt`` calls it: checked first when ``train_tbptt``
        is wrong ("fix clip_by_global_norm first").
    """
    depends = {}
    if clip_by_global_norm is not None:
        depends["clip_by_global_norm"] = lambda: _check_clip(clip_by_global_norm, hidden)
    _check_train_tbptt(train_tbptt, hidden, depends)
    print("train_tbptt: all checks passed.")


# ---------------------------------------------------------------------------------------------
# Conceptual questions

CH05_QUESTIONS, check_ch05_questions = question_set("ch05_questions", [
    Question(
        "can_grow", "B",
        "Three recurrent matrices: A has spectral radius 0.9 and largest singular value 0.9; "
        "B has spectral radius 0.9 and largest singular value 1.9; C has spectral radius 0.5 "
        "and largest singular value 0.8. The one that can make the gradient grow over many "
        "steps ('A', 'B', 'C' or 'none')",
        "Every step multiplies the gradient by a matrix no larger than sigma_max(W_hh): which "
        "matrices can stretch a vector at all?",
        wrong=(Wrong("none", "spectral-radius-decides",
                     "All three have spectral radius below 1, but B's largest singular value is "
                     "1.9: it can stretch a direction by up to 1.9 per step, and a non-normal "
                     "matrix like it can grow the gradient by orders of magnitude for many steps "
                     "before its eigenvalues win."),
               Wrong("A", "a-can-grow",
                     "A's largest singular value is 0.9: no vector comes out longer than 0.9 times "
                     "its length, so the gradient shrinks at every step."),
               Wrong("C", "c-can-grow",
                     "C's largest singular value is 0.8: no vector comes out longer than 0.8 times "
                     "its length, so the gradient shrinks at every step.")),
        section="ch05-non-normal"),
    Question(
        "credited_steps", [8, 9],
        "A stream of 12 steps (t = 0..11) is trained with truncated BPTT in chunks of 4 "
        "(steps 0-3, 4-7, 8-11), the state carried across. The steps whose inputs the loss at "
        "step 9 sends gradient to",
        "The gradient flows back inside the chunk that contains step 9 only.",
        wrong=(Wrong(list(range(10)), "gradient-crosses-cuts",
                     "The hidden state crosses the cuts, but the gradient does not: the carried "
                     "state is a given starting point for the next chunk, not part of its graph."),
               Wrong([9], "only-its-own-step",
                     "Inside a chunk the gradient does flow back through time: from step 9 to "
                     "step 8, where the chunk starts."),
               Wrong(list(range(4, 10)), "one-chunk-back",
                     "The gradient stops at the cut before step 8: the chunk 4-7 only passed its "
                     "last state on, as a plain array."),
               Wrong([8, 9, 10, 11], "later-steps-in-chunk",
                     "The loss at step 9 depends only on inputs up to step 9: steps 10 and 11 come "
                     "after it, in the same chunk but not on any path to that loss.")),
        section="ch05-tbptt", as_set=True),
    Question(
        "clip_factor", 0.2,
        "Gradients with global norm 10 are clipped by global norm to max_norm = 2: the factor "
        "every array is multiplied by",
        "The clipped gradients must have global norm max_norm.",
        wrong=(Wrong(5.0, "factor-upside-down",
                     "That makes the gradient five times longer: the factor is max_norm / n."),
               Wrong(1.0, "no-change", "A norm of 10 exceeds max_norm = 2, so the gradients are shrunk."),
               Wrong(2.0, "factor-is-new-norm",
                     "2 is the global norm after clipping; the factor that takes the norm from 10 "
                     "to 2 is max_norm / n.")),
        section="ch05-clipping"),
], section="ch05")
