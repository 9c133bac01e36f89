"""Checkers for the vanilla RNN: step and sequence, forward and backward.

The diagnosis follows the Coursera-style "isolate one term" idea: when the output is wrong,
re-run the student's function with all but one of ``x``, ``h_prev`` and ``b`` set to zero, and
say which term is missing or transposed. For sequences, find the first time step that differs.
"""
from __future__ import annotations

import numpy as np

from rnnlib import rnn as _rnn
from rnnlib.checks._core import (
    CheckFailed,
    call_student,
    case_seeds,
    close,
    require_array,
    require_close,
    unpack_pair,
)

__all__ = [
    "check_rnn_step_forward",
    "check_rnn_forward",
    "check_rnn_step_backward",
    "check_rnn_backward",
]

# The undecorated references: not blocked while the student's code runs.
_step_forward = _rnn.rnn_step_forward
_step_backward = _rnn.rnn_step_backward
_forward = _rnn.rnn_forward
_backward = _rnn.rnn_backward
_tanh = np.tanh


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _visible_shapes():
    # B, D, H all different so that a swapped axis is a shape error, not a silent bug.
    return [(3, 4, 5), (2, 6, 3)]


def _hidden_shapes():
    return [(1, 3, 4), (5, 2, 6), (4, 4, 4)]


def _step_inputs(rng, B, D, H, scale=0.5):
    return (
        rng.standard_normal((B, D)),
        rng.standard_normal((B, H)),
        rng.standard_normal((H, D)) * scale,
        rng.standard_normal((H, H)) * scale,
        rng.standard_normal(H) * scale,
    )


def _student_step(fn, x_t, h_prev, Wxh, Whh, bh):
    out = call_student(fn, x_t, h_prev, Wxh, Whh, bh)
    return unpack_pair(out, fn.__name__, "h_t", "cache")[0]


def _diagnose_step(fn, x_t, h_prev, Wxh, Whh, bh):
    """Say which part of ``tanh(x Wxh^T + h Whh^T + b)`` the student's step gets wrong."""
    z = x_t @ Wxh.T + h_prev @ Whh.T + bh
    h_t = _student_step(fn, x_t, h_prev, Wxh, Whh, bh)
    if close(h_t, _sigmoid(z)):
        return "It matches sigmoid(z): the vanilla RNN uses tanh, which is zero-centred and ranges over (-1, 1)."
    if close(h_t, z):
        return "It matches the pre-activation z without tanh: apply np.tanh to the sum."
    if close(h_t, np.maximum(z, 0)):
        return "It matches ReLU(z): this course's RNN uses tanh."
    zx, zh, zb = np.zeros_like(x_t), np.zeros_like(h_prev), np.zeros_like(bh)
    # Only the bias.
    only_b = _student_step(fn, zx, zh, Wxh, Whh, bh)
    if not close(only_b, _tanh(np.broadcast_to(bh, only_b.shape))):
        if close(only_b, np.zeros_like(only_b)):
            return "With x_t = 0 and h_prev = 0 your output is 0: it ignores the bias bh."
        return "With x_t = 0 and h_prev = 0 the output should be tanh(bh); yours is not, so the bias term is wrong."
    # Only the input.
    only_x = _student_step(fn, x_t, zh, Wxh, Whh, zb)
    if not close(only_x, _tanh(x_t @ Wxh.T)):
        if close(only_x, np.zeros_like(only_x)):
            return "With h_prev = 0 and bh = 0 your output is 0: it ignores the input x_t."
        if Wxh.shape[0] == Wxh.shape[1] and close(only_x, _tanh(x_t @ Wxh)):
            return "The input term uses Wxh where Wxh.T belongs: Wxh is stored (H, D), so the batched product is x_t @ Wxh.T."
        if close(only_x, _tanh(x_t @ Whh.T)) if Whh.shape == Wxh.shape else False:
            return "The input term uses Whh: x_t must be multiplied by Wxh."
        return "With h_prev = 0 and bh = 0 the output should be tanh(x_t @ Wxh.T); the input term is wrong."
    # Only the previous state.
    only_h = _student_step(fn, zx, h_prev, Wxh, Whh, zb)
    if not close(only_h, _tanh(h_prev @ Whh.T)):
        if close(only_h, np.zeros_like(only_h)):
            return "With x_t = 0 and bh = 0 your output is 0: it ignores the previous state h_prev."
        if close(only_h, _tanh(h_prev @ Whh)):
            return "The recurrent term uses Whh where Whh.T belongs: with rows as examples it is h_prev @ Whh.T."
        return "With x_t = 0 and bh = 0 the output should be tanh(h_prev @ Whh.T); the recurrent term is wrong."
    return "Each term is right on its own, so the way they are combined is wrong: add all three inside one tanh."


def check_rnn_step_forward(rnn_step_forward, hidden=False):
    """Check a student's ``rnn_step_forward(x_t, h_prev, Wxh, Whh, bh) -> (h_t, cache)``.

    Parameters
    ----------
    rnn_step_forward : callable
        The student's function.
    hidden : bool
        Use the hidden tests' seeds and edge shapes (B = 1, square weights).

    Raises
    ------
    CheckFailed
        With a message naming the problem (shape, missing term, transposed weight, nonlinearity).
    """
    shapes = _hidden_shapes() if hidden else _visible_shapes()
    for seed in case_seeds(hidden):
        for B, D, H in shapes:
            rng = np.random.default_rng(seed)
            args = _step_inputs(rng, B, D, H)
            expected, _ = _step_forward(*args)
            h_t = _student_step(rnn_step_forward, *args)
            require_array(h_t, (B, H), f"h_t (for B={B}, D={D}, H={H})")
            if not close(h_t, expected):
                reason = _diagnose_step(rnn_step_forward, *args)
                raise CheckFailed(f"rnn_step_forward gives wrong values (seed {seed}, B={B}, D={D}, H={H}). {reason}")
    print("rnn_step_forward: all checks passed.")


def _sequence_inputs(rng, T, B, D, H, scale=0.5):
    x = rng.standard_normal((T, B, D))
    h0 = rng.standard_normal((B, H))
    Wxh = rng.standard_normal((H, D)) * scale
    Whh = rng.standard_normal((H, H)) * scale
    bh = rng.standard_normal(H) * scale
    return x, h0, Wxh, Whh, bh


def _diagnose_sequence(hs, x, h0, Wxh, Whh, bh, expected):
    T = x.shape[0]
    # Every step restarted from h0: the state is not carried.
    from_h0 = np.stack([_tanh(x[t] @ Wxh.T + h0 @ Whh.T + bh) for t in range(T)])
    if T > 1 and close(hs, from_h0):
        return "Every step uses h0 as its previous state: pass each new h_t on as h_prev for the next step."
    if T > 1 and close(hs[1:], expected[:-1]) and close(hs[0], h0):
        return "Your hs is shifted one step late: hs[0] is h0. hs[t] must be the state after reading x[t], so hs[0] = step(x[0], h0)."
    if T > 1 and close(hs[:-1], expected[1:]):
        return "Your hs is shifted one step early: hs[t] must be the state after reading x[t], starting from hs[0] = step(x[0], h0)."
    for t in range(T):
        if not close(hs[t], expected[t]):
            if t == 0:
                return "It already differs at t = 0, the first step: check the step computation (run check_rnn_step_forward)."
            return (
                f"hs matches the reference up to t = {t - 1} and first differs at t = {t}: "
                "check how the state is passed from one step to the next."
            )
    return ""


def check_rnn_forward(rnn_forward, hidden=False):
    """Check a student's ``rnn_forward(x, h0, Wxh, Whh, bh) -> (hs, cache)``.

    Parameters
    ----------
    rnn_forward : callable
        The student's function; ``x`` is ``(T, B, D)`` and ``hs`` must be ``(T, B, H)``.
    hidden : bool
        Hidden tests: other seeds, and the edge cases ``T = 1`` and ``B = 1``.
    """
    shapes = [(1, 2, 3, 4), (6, 1, 3, 5), (8, 4, 2, 3)] if hidden else [(5, 3, 4, 6), (7, 2, 3, 4)]
    for seed in case_seeds(hidden):
        for T, B, D, H in shapes:
            rng = np.random.default_rng(seed)
            args = _sequence_inputs(rng, T, B, D, H)
            expected, _ = _forward(*args)
            out = call_student(rnn_forward, *args)
            hs = unpack_pair(out, "rnn_forward", "hs", "cache")[0]
            require_array(hs, (T, B, H), f"hs (for T={T}, B={B}, D={D}, H={H})")
            if not close(hs, expected):
                reason = _diagnose_sequence(hs, *args, expected)
                raise CheckFailed(
                    f"rnn_forward gives wrong hidden states (seed {seed}, T={T}, B={B}, D={D}, H={H}). {reason}"
                )
    print("rnn_forward: all checks passed.")


_GRAD_NAMES_STEP = ("dx_t", "dh_prev", "dWxh", "dWhh", "dbh")
_GRAD_NAMES_SEQ = ("dx", "dh0", "dWxh", "dWhh", "dbh")


def _diagnose_gradient(name, got, want):
    """A sentence on how one gradient is off: transpose, sign, scale."""
    if got.ndim == 2 and got.shape[::-1] == want.shape and close(got.T, want):
        return f"{name} is the transpose of the right answer."
    if got.shape == want.shape:
        if close(got.T, want) and got.ndim == 2 and got.shape[0] == got.shape[1]:
            return f"{name} is the transpose of the right answer."
        if close(-got, want):
            return f"{name} has the wrong sign."
        denom = float(np.sum(want * want))
        if denom > 0:
            k = float(np.sum(got * want)) / denom
            if abs(k - 1) > 1e-3 and close(got, k * want, rtol=1e-6, atol=1e-8):
                return f"{name} is {k:.3g} times the right answer: a factor is off."
    return ""


def _compare_grads(names, got, want, context):
    if not (isinstance(got, tuple) and len(got) == len(want)):
        raise CheckFailed(
            f"The backward should return {len(want)} gradients ({', '.join(names)}), "
            f"but it returned {type(got).__name__}"
            + (f" of length {len(got)}" if isinstance(got, (tuple, list)) else "")
            + "."
        )
    for name, g, w in zip(names, got, want):
        hint = _diagnose_gradient(name, g, w) if isinstance(g, np.ndarray) else ""
        if hint:
            raise CheckFailed(f"{hint}{context}")
        require_close(g, w, name, rtol=1e-6, atol=1e-9, context=context)


def check_rnn_step_backward(rnn_step_forward, rnn_step_backward, hidden=False):
    """Check a student's ``rnn_step_backward(dh_t, cache)`` against the reference gradients.

    The student's own forward produces the cache their backward reads, so the two are checked
    together; the forward must already pass :func:`check_rnn_step_forward`.
    """
    shapes = _hidden_shapes() if hidden else _visible_shapes()
    for seed in case_seeds(hidden):
        for B, D, H in shapes:
            rng = np.random.default_rng(seed)
            args = _step_inputs(rng, B, D, H)
            dh = rng.standard_normal((B, H))
            _, ref_cache = _step_forward(*args)
            want = _step_backward(dh, ref_cache)
            out = call_student(rnn_step_forward, *args)
            _, cache = unpack_pair(out, "rnn_step_forward", "h_t", "cache")
            got = call_student(rnn_step_backward, dh, cache)
            context = f" (seed {seed}, B={B}, D={D}, H={H})"
            if isinstance(got, tuple) and len(got) == 5 and isinstance(got[0], np.ndarray):
                dz = dh * (1 - ref_cache.h_t**2)
                if close(got[2], dh.T @ args[0]):
                    raise CheckFailed(
                        "dWxh ignores tanh's derivative: multiply dh_t by (1 - h_t**2) before the products." + context
                    )
                del dz
            _compare_grads(_GRAD_NAMES_STEP, got, want, context)
    print("rnn_step_backward: all checks passed.")


def check_rnn_backward(rnn_forward, rnn_backward, hidden=False):
    """Check a student's ``rnn_backward(dhs, cache)`` (backpropagation through time).

    Besides shapes, transposes and signs, it recognises the classic BPTT bug of dropping the
    gradient that flows back from ``h_{t+1}``: the last step is right, earlier ones are not.
    """
    shapes = [(1, 2, 3, 4), (6, 1, 3, 5)] if hidden else [(5, 3, 4, 6), (4, 2, 3, 4)]
    for seed in case_seeds(hidden):
        for T, B, D, H in shapes:
            rng = np.random.default_rng(seed)
            args = _sequence_inputs(rng, T, B, D, H)
            dhs = rng.standard_normal((T, B, H))
            _, ref_cache = _forward(*args)
            want = _backward(dhs, ref_cache)
            out = call_student(rnn_forward, *args)
            _, cache = unpack_pair(out, "rnn_forward", "hs", "cache")
            got = call_student(rnn_backward, dhs, cache)
            context = f" (seed {seed}, T={T}, B={B}, D={D}, H={H})"
            if isinstance(got, tuple) and len(got) == 5 and isinstance(got[0], np.ndarray):
                dx = got[0]
                if dx.shape == want[0].shape and T > 1 and not close(dx, want[0]):
                    bad = [t for t in range(T) if not close(dx[t], want[0][t])]
                    last_ok = close(dx[T - 1], want[0][T - 1])
                    if last_ok:
                        raise CheckFailed(
                            f"dx is right at the last step but wrong at t = {bad[-1]}: the gradient "
                            "flowing back from h_{t+1} is not added to dhs[t]. Carry dh_prev from "
                            "each step into the next (earlier) one." + context
                        )
                    raise CheckFailed(
                        f"dx is already wrong at the last step t = {T - 1}, where only dhs[T-1] "
                        "matters: check the single-step backward (tanh's derivative, transposes)."
                        + context
                    )
            _compare_grads(_GRAD_NAMES_SEQ, got, want, context)
    print("rnn_backward: all checks passed.")
