"""Checkers for chapter 4, backpropagation through time.

The step and sequence backward passes are checked by ``check_rnn_step_backward`` and
``check_rnn_backward`` (in :mod:`rnnlib.checks.rnn`). This module checks the gradient-checking
tools a student writes (a central-difference gradient and the relative error) and a whole
model's loss and gradients. For a wrong gradient of a shared weight it says *how* it is wrong:
its shape, sign, a transpose, a constant factor, or which time steps' contributions are missing
from the sum over ``t``; and it reports what a gradient check on the student's own loss shows.
"""
from __future__ import annotations

import numpy as np

from rnnlib import dynamics as _dyn
from rnnlib import gradcheck as _gc
from rnnlib._guard import call_blocked
from rnnlib.checks._core import (
    CheckFailed,
    call_student,
    case_seeds,
    close,
    fmt_shape,
    require_array,
    require_close,
)

__all__ = ["check_numerical_gradient", "check_rel_error", "check_rnn_loss"]

# Private references, bound at import time.
_rnn_loss = _dyn.rnn_loss
_ref_rel_error = _gc.rel_error
_ref_num_grad = _gc.numerical_gradient
_norm = np.linalg.norm
_tanh = np.tanh
_PARAM_ORDER = ("by", "Why", "bh", "Wxh", "Whh")  # the order the backward pass produces them


def _refuse_rnnlib(fn, name):
    # rnnlib.gradcheck's functions are the course's own answers to these exercises.
    if fn is _gc.numerical_gradient or fn is _gc.rel_error or fn is _gc.numerical_gradient_array:
        raise CheckFailed(
            f"{name} is rnnlib's reference. Implement it yourself with numpy; rnnlib's answer "
            "earns no points."
        )


# --------------------------------------------------------------------------------------------
# numerical_gradient
# --------------------------------------------------------------------------------------------

def _test_functions(rng):
    """Smooth scalar functions with their exact gradients (curved, so h matters)."""
    a = rng.standard_normal((3, 4))
    W = rng.standard_normal((4, 4))

    def f1(x):
        return float(np.sum(np.sin(x) * a) + 0.5 * np.sum(x**3))

    def g1(x):
        return np.cos(x) * a + 1.5 * x**2

    def f2(x):  # a tiny tanh "network", as in an RNN step
        return float(np.sum(_tanh(x @ W) ** 2))

    def g2(x):
        h = _tanh(x @ W)
        return (2 * h * (1 - h**2)) @ W.T

    return [("f(x) = sum(a*sin(x)) + sum(x**3)/2", f1, g1, rng.standard_normal((3, 4))),
            ("f(x) = sum(tanh(x @ W)**2)", f2, g2, rng.standard_normal((2, 4)))]


def check_numerical_gradient(numerical_gradient, hidden=False):
    """Check a student's ``numerical_gradient(f, x, h=1e-5)`` (central differences).

    Parameters
    ----------
    numerical_gradient : callable
        ``grad = numerical_gradient(f, x, h)`` with ``grad`` the shape of ``x``; ``x`` must be
        left unchanged.
    hidden : bool
        Hidden tests: other seeds, a 3-D ``x`` and a one-element ``x``.
    """
    _refuse_rnnlib(numerical_gradient, "numerical_gradient")
    for seed in case_seeds(hidden):
        rng = np.random.default_rng(seed)
        cases = _test_functions(rng)
        if hidden:
            c = rng.standard_normal((2, 3, 2))
            cases.append(("f(x) = sum(c * x**2)", lambda x: float(np.sum(c * x**2)), lambda x: 2 * c * x,
                          rng.standard_normal((2, 3, 2))))
            cases.append(("f(x) = exp(x[0])", lambda x: float(np.exp(x[0])), np.exp, rng.standard_normal(1)))
        for desc, f, g, x in cases:
            x0 = x.copy()
            x_arg = x.copy()
            try:
                got = call_blocked(numerical_gradient, f, x_arg, 1e-5)
            except NotImplementedError:
                raise
            except Exception as err:  # noqa: BLE001
                raise CheckFailed(
                    f"numerical_gradient raised {type(err).__name__}: {err} (for {desc}, x of shape {x.shape})."
                ) from err
            where = f" (seed {seed}, {desc}, x of shape {x.shape})"
            if not np.array_equal(x_arg, x0):
                raise CheckFailed(
                    "numerical_gradient changed x: after perturbing an entry, put its old value back "
                    "(x[i] = old), or the next entries are differentiated at the wrong point." + where
                )
            exact = g(x0)
            require_array(got, x.shape, "numerical_gradient's result" + where)
            err = _ref_rel_error(got, exact)
            if err < 1e-7:
                continue
            # Known wrong formulas, identified against what they would give.
            fx = f(x0.copy())
            fwd = np.zeros_like(x0)
            for i in np.ndindex(x0.shape):
                xp = x0.copy()
                xp[i] += 1e-5
                fwd[i] = (f(xp) - fx) / 1e-5
            if close(got, 2 * exact, rtol=1e-5, atol=1e-8):
                hint = "It is twice the gradient: divide (f(x+h) - f(x-h)) by 2h, not by h."
            elif close(got, 0.5 * exact, rtol=1e-5, atol=1e-8):
                hint = "It is half the gradient: the two evaluations are 2h apart, so divide by 2h (not 4h)."
            elif close(got, -exact, rtol=1e-5, atol=1e-8):
                hint = "It has the wrong sign: the central difference is (f(x + h) - f(x - h)) / 2h."
            elif close(got, fwd, rtol=1e-9, atol=1e-12):
                hint = (
                    f"It matches the one-sided difference (f(x+h) - f(x)) / h, whose error is about h: relative "
                    f"error {err:.1e} against the exact gradient. Use the central difference "
                    "(f(x+h) - f(x-h)) / 2h, whose error is about h**2."
                )
            else:
                hint = (
                    f"Its relative error against the exact gradient is {err:.1e} (a central difference "
                    "with h = 1e-5 in float64 gives below 1e-7). Perturb one entry at a time by +h and -h."
                )
            raise CheckFailed("numerical_gradient gives a wrong gradient. " + hint + where)
    print("numerical_gradient: all checks passed.")


# --------------------------------------------------------------------------------------------
# rel_error
# --------------------------------------------------------------------------------------------

def check_rel_error(rel_error, hidden=False):
    """Check a student's ``rel_error(a, b) = ||a - b|| / (||a|| + ||b||)`` (0 when both are 0)."""
    _refuse_rnnlib(rel_error, "rel_error")
    for seed in case_seeds(hidden):
        rng = np.random.default_rng(seed)
        a = rng.standard_normal((3, 4))
        b = a + 1e-3 * rng.standard_normal((3, 4))
        tiny = np.zeros(5)
        tiny[0] = 1.0
        cases = [
            ("two nearby (3, 4) arrays", a, b),
            ("an array and a very different one", a, rng.standard_normal((3, 4))),
            ("a and -a", a, -a),
            ("two equal arrays", a, a.copy()),
            ("a vector with zero entries and a nearby one", tiny, tiny + 1e-9 * (np.arange(5) > 0)),
        ]
        if hidden:
            c = rng.standard_normal((2, 2, 3))
            cases.append(("a 3-D array and a scaled copy", c, 1.5 * c))
            cases.append(("two all-zero arrays", np.zeros((2, 3)), np.zeros((2, 3))))
        else:
            cases.append(("two all-zero arrays", np.zeros(4), np.zeros(4)))
        for desc, x, y in cases:
            want = _ref_rel_error(x, y)
            got = call_student(rel_error, x, y)
            if isinstance(got, np.ndarray) and got.size == 1:
                got = got.reshape(())[()]
            if isinstance(got, np.ndarray):
                raise CheckFailed(
                    f"rel_error should return one number, but it returned an array of shape {got.shape} "
                    f"(for {desc}). Take norms of the whole arrays, not entry by entry."
                )
            try:
                got = float(got)
            except (TypeError, ValueError):
                raise CheckFailed(f"rel_error should return a float, but it returned {fmt_shape(got)}.") from None
            where = f" (for {desc}, seed {seed})"
            if want == 0.0 and not np.isfinite(got):
                raise CheckFailed(
                    f"rel_error returned {got} for two all-zero arrays: when both norms are 0 the "
                    "arrays are equal, so return 0.0 instead of dividing by zero." + where
                )
            if abs(got - want) <= 1e-9 * max(1.0, abs(want)):
                continue
            diff = _norm(x - y)
            if y is not None and np.isfinite(got) and abs(got - diff) < 1e-12:
                hint = "It is the absolute error ||a - b||: divide by ||a|| + ||b||."
            elif _norm(y) > 0 and abs(got - diff / _norm(y)) < 1e-12 and abs(want - diff / _norm(y)) > 1e-12:
                hint = "It divides by ||b|| only: use ||a|| + ||b||, which treats a and b alike and is never 0 unless both are."
            elif abs(got - float(np.max(np.abs(x - y) / np.maximum(np.abs(x) + np.abs(y), 1e-8)))) < 1e-12:
                hint = (
                    "It is the largest entry-by-entry relative error. This course uses norms of the whole "
                    "arrays, ||a - b|| / (||a|| + ||b||), so that entries that are nearly 0 in both do not "
                    "turn rounding noise into a large error."
                )
            else:
                hint = "The formula is ||a - b|| / (||a|| + ||b||), with norms over all entries (np.linalg.norm)."
            raise CheckFailed(f"rel_error returned {got:.6g}, expected {want:.6g}. {hint}{where}")
    print("rel_error: all checks passed.")


# --------------------------------------------------------------------------------------------
# rnn_loss: the whole model
# --------------------------------------------------------------------------------------------

def _model_case(rng, T, B, D, H, V):
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
    return params, x, targets, h0


def _per_step_contributions(params, x, targets, h0):
    """Each time step's share of every shared-weight gradient, plus two classic wrong sums.

    Returns ``(contrib, no_carry, used_h_t)``: ``contrib[k][t]`` is step ``t``'s term of the
    gradient of ``k``; ``no_carry[k]`` is the sum without the gradient from ``h_{t+1}``;
    ``used_h_t`` is ``dWhh`` computed with ``h_t`` where ``h_{t-1}`` belongs.
    """
    T, B, _ = x.shape
    Wxh, Whh, bh, Why, by = (params[k] for k in ("Wxh", "Whh", "bh", "Why", "by"))
    hs = []
    h = h0
    for t in range(T):
        h = _tanh(x[t] @ Wxh.T + h @ Whh.T + bh)
        hs.append(h)
    hs = np.stack(hs)
    logits = hs @ Why.T + by
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    dlog = p.copy()
    for t in range(T):
        dlog[t, np.arange(B), targets[t]] -= 1
    dlog /= T * B
    dhs = dlog @ Why
    h_prev = np.concatenate([h0[None], hs[:-1]])
    dz = np.empty_like(hs)
    dh_next = np.zeros_like(h0)
    for t in range(T - 1, -1, -1):
        dz[t] = (dhs[t] + dh_next) * (1 - hs[t] ** 2)
        dh_next = dz[t] @ Whh
    dz_nc = dhs * (1 - hs**2)
    contrib = {
        "by": [dlog[t].sum(0) for t in range(T)],
        "Why": [dlog[t].T @ hs[t] for t in range(T)],
        "bh": [dz[t].sum(0) for t in range(T)],
        "Wxh": [dz[t].T @ x[t] for t in range(T)],
        "Whh": [dz[t].T @ h_prev[t] for t in range(T)],
    }
    no_carry = {
        "bh": dz_nc.sum((0, 1)),
        "Wxh": sum(dz_nc[t].T @ x[t] for t in range(T)),
        "Whh": sum(dz_nc[t].T @ h_prev[t] for t in range(T)),
    }
    used_h_t = sum(dz[t].T @ hs[t] for t in range(T))
    return contrib, no_carry, used_h_t


def _how_wrong(name, got, want, contrib, no_carry, used_h_t, T, B):
    """One sentence on how the gradient of ``name`` differs from ``want``, or ''."""
    d = "d" + name
    if got.ndim == 2 and got.shape == want.shape[::-1] and close(got.T, want):
        return f"{d} is the transpose of the right answer: a gradient has the shape of its parameter, {want.shape}."
    if got.shape != want.shape:
        return ""
    if got.ndim == 2 and got.shape[0] == got.shape[1] and close(got.T, want):
        return f"{d} is the transpose of the right answer (for a square matrix the shapes cannot tell you)."
    if close(-got, want):
        return f"{d} has the wrong sign."
    for k, why in ((T * B, "T*B: the loss is a mean over all positions"), (T, "T"), (B, "B")):
        if k > 1 and close(got, k * want):
            return f"{d} is {k} times too large (a factor {why})."
        if k > 1 and close(got, want / k):
            return f"{d} is {k} times too small (a factor {why})."
    steps = contrib[name]
    if T > 1:
        if close(got, steps[T - 1]):
            return (f"{d} holds only the last time step's contribution. The weight is shared by every "
                    "step, so its gradient is the sum over t: accumulate with +=.")
        if close(got, steps[0]):
            return (f"{d} holds only the contribution of time step 0 (the last one the backward loop "
                    "visits): it is overwritten at each step. Accumulate the sum over t with +=.")
        for t in range(T):
            if close(got, want - steps[t]):
                return (f"{d} is the sum over time steps except t = {t}: that step's contribution is "
                        "missing (check the range of your loop).")
    if name in no_carry and close(got, no_carry[name]):
        return (f"{d} ignores the gradient that flows back from h_(t+1): at each step the gradient on "
                "h_t is dhs[t] plus what the later step sends back.")
    if name == "Whh" and close(got, used_h_t):
        return "dWhh uses h_t where h_(t-1) belongs: the recurrent weight multiplies the previous state."
    return ""


def check_rnn_loss(rnn_loss, hidden=False):
    """Check a student's ``rnn_loss(params, x, targets, h0) -> (loss, grads, h_last)``.

    The model is ``h_t = tanh(W_xh x_t + W_hh h_(t-1) + b_h)``, ``logits_t = W_hy h_t + b_y``,
    and the loss is the mean softmax cross-entropy over all ``T * B`` positions.

    Parameters
    ----------
    rnn_loss : callable
        The student's function.
    hidden : bool
        Hidden tests: other seeds and the edge shapes ``T = 1`` and ``B = 1``.
    """
    shapes = [(1, 2, 3, 4, 5), (6, 1, 2, 3, 4), (4, 3, 3, 3, 3)] if hidden else [(5, 3, 4, 6, 7), (4, 2, 3, 4, 5)]
    for seed in case_seeds(hidden):
        for T, B, D, H, V in shapes:
            rng = np.random.default_rng(seed)
            params, x, targets, h0 = _model_case(rng, T, B, D, H, V)
            where = f" (seed {seed}, T={T}, B={B}, D={D}, H={H}, V={V})"
            want_loss, want_grads, want_h = _rnn_loss(params, x, targets, h0)
            student_params = {k: v.copy() for k, v in params.items()}
            out = call_student(rnn_loss, student_params, x, targets, h0)
            if not (isinstance(out, tuple) and len(out) == 3):
                raise CheckFailed(
                    "rnn_loss should return (loss, grads, h_last), but it returned " + fmt_shape(out) + "."
                )
            loss, grads, h_last = out
            try:
                loss = float(loss)
            except (TypeError, ValueError):
                raise CheckFailed(f"The loss should be one number, but it is {fmt_shape(loss)}.") from None
            if not abs(loss - want_loss) <= 1e-8 * max(1.0, abs(want_loss)):
                hint = ""
                if abs(loss - want_loss * T * B) < 1e-8 * T * B * max(1.0, want_loss):
                    hint = " It is the sum over positions: divide by T*B to get the mean."
                elif T > 1 and abs(loss - want_loss * T) < 1e-8 * T * max(1.0, want_loss):
                    hint = " It is T times too large: average over time steps as well as the batch."
                elif B > 1 and abs(loss - want_loss * B) < 1e-8 * B * max(1.0, want_loss):
                    hint = " It is B times too large: average over the batch as well as the time steps."
                raise CheckFailed(f"rnn_loss returned the loss {loss:.8g}, expected {want_loss:.8g}.{hint}{where}")
            require_close(h_last, want_h, "h_last (the last hidden state)", context=where)
            if not isinstance(grads, dict):
                raise CheckFailed(f"grads should be a dict with the parameters' keys, but it is {fmt_shape(grads)}.")
            missing = [k for k in want_grads if k not in grads]
            if missing:
                raise CheckFailed(f"grads is missing the key(s) {', '.join(missing)}; it needs one entry per parameter.")
            contrib = no_carry = used_h_t = None
            for name in _PARAM_ORDER:
                got, want = grads[name], want_grads[name]
                if isinstance(got, np.ndarray) and close(got, want, rtol=1e-6, atol=1e-10):
                    continue
                if not isinstance(got, np.ndarray):
                    require_array(got, want.shape, "grads['" + name + "']")
                if contrib is None:
                    contrib, no_carry, used_h_t = _per_step_contributions(params, x, targets, h0)
                hint = _how_wrong(name, got, want, contrib, no_carry, used_h_t, T, B)
                require_array(got, want.shape, f"grads['{name}']")
                gc = _student_gradcheck(rnn_loss, params, x, targets, h0, name, got)
                raise CheckFailed(
                    f"The gradient of {name} is wrong.{(' ' + hint) if hint else ''} {gc}{where}"
                )
    print("rnn_loss: all checks passed.")


def _student_gradcheck(rnn_loss, params, x, targets, h0, name, got):
    """A gradient check of the student's ``grads[name]`` against their own loss."""
    p = {k: v.copy() for k, v in params.items()}

    def f(_):
        return float(call_student(rnn_loss, p, x, targets, h0)[0])

    try:
        num = _ref_num_grad(f, p[name])
    except CheckFailed:
        return ""
    return (f"A gradient check agrees: the relative error between your d{name} and central "
            f"differences of your loss is {_ref_rel_error(got, num):.1e} (a correct gradient gives < 1e-7).")
