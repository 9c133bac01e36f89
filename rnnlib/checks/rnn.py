"""Checkers for the vanilla RNN: one step and a whole sequence, forward and backward.

Each graded function is an :class:`~rnnlib.checks._engine.Exercise` with a catalogue of the
mistakes students make, each built from the reference in :mod:`rnnlib.rnn` by one edit
(:func:`~rnnlib.checks._engine.mutate`) or one changed input or output. The engine runs the
cases, names the mistake a wrong answer matches, and otherwise says how the result is off.

The backward passes are checked on the cache that the student's own forward made (the
exercises prescribe its layout), after checking that cache: a forward that caches wrong values
is told to be fixed first, instead of the backward being blamed.
"""
from __future__ import annotations

import numpy as np

from rnnlib import rnn as _rnn
from rnnlib.checks._core import CheckFailed, call_student, case_seeds
from rnnlib.checks._engine import Case, Exercise, Mistake, close, mutate, run_backward_check, run_check

__all__ = [
    "check_rnn_step_forward",
    "check_rnn_forward",
    "check_rnn_step_backward",
    "check_rnn_backward",
]

_step_forward = _rnn.rnn_step_forward
_step_backward = _rnn.rnn_step_backward
_forward = _rnn.rnn_forward
_backward = _rnn.rnn_backward
_Seq = _rnn.SequenceCache
_STEP_FIELDS = ("x_t", "h_prev", "h_t", "Wxh", "Whh")
_SEQUENCE_FIELDS = ("x", "h0", "hs", "Wxh", "Whh")


# ---------------------------------------------------------------------------------------------
# Cases. B, D, H differ so that a swapped axis is a shape error, not a silent bug; the hidden
# cases add B = 1, T = 1 and square weights (where a missing transpose does not crash).


def _step_case(seed, B, D, H, with_dh=False):
    rng = np.random.default_rng(seed)
    args = (rng.standard_normal((B, D)), rng.standard_normal((B, H)),
            rng.standard_normal((H, D)) * 0.5, rng.standard_normal((H, H)) * 0.5,
            rng.standard_normal(H) * 0.5)
    if with_dh:
        args = args + (rng.standard_normal((B, H)),)
    return Case(f"seed {seed}, B={B}, D={D}, H={H}", args, {}, {"B": B})


def _step_cases(hidden, with_dh=False):
    shapes = [(1, 3, 4), (5, 2, 6), (4, 4, 4)] if hidden else [(3, 4, 5), (2, 6, 3), (3, 4, 4)]
    return [_step_case(seed, *s, with_dh=with_dh) for seed in case_seeds(hidden) for s in shapes]


def _sequence_case(seed, T, B, D, H, with_dhs=False):
    rng = np.random.default_rng(seed)
    args = (rng.standard_normal((T, B, D)), rng.standard_normal((B, H)),
            rng.standard_normal((H, D)) * 0.5, rng.standard_normal((H, H)) * 0.5,
            rng.standard_normal(H) * 0.5)
    if with_dhs:
        args = args + (rng.standard_normal((T, B, H)),)
    return Case(f"seed {seed}, T={T}, B={B}, D={D}, H={H}", args, {}, {"T": T, "B": B})


def _sequence_cases(hidden, with_dhs=False):
    # One case per set has T = B, where a loop over the batch axis (x[:, t]) runs instead of
    # crashing, so that its values can name it.
    shapes = ([(1, 2, 3, 4), (6, 1, 3, 5), (8, 4, 2, 3), (4, 3, 4, 4), (3, 3, 2, 4)] if hidden
              else [(5, 3, 4, 6), (7, 2, 3, 4), (4, 3, 4, 4), (3, 3, 4, 5)])
    return [_sequence_case(seed, *s, with_dhs=with_dhs) for seed in case_seeds(hidden) for s in shapes]


# ---------------------------------------------------------------------------------------------
# A cache with the right arrays in the wrong places. The engine says which field holds wrong
# values; here the student is told what the field holds instead: the arrays in another order,
# or (for the step) the pre-activation where h_t belongs.


# ---------------------------------------------------------------------------------------------
# rnn_step_forward

_Z = "x_t @ Wxh.T + h_prev @ Whh.T + bh"


def _step_column_form(x_t, h_prev, Wxh, Whh, bh):
    h_t, cache = _step_forward(x_t, h_prev, Wxh, Whh, bh)
    return h_t.T.copy(), cache


def _step_cache_reordered(x_t, h_prev, Wxh, Whh, bh):
    h_t, cache = _step_forward(x_t, h_prev, Wxh, Whh, bh)
    return h_t, (cache.x_t, cache.h_prev, cache.Wxh, cache.Whh, cache.h_t)


def _step_cache_pre_activation(x_t, h_prev, Wxh, Whh, bh):
    h_t, cache = _step_forward(x_t, h_prev, Wxh, Whh, bh)
    return h_t, (x_t, h_prev, x_t @ Wxh.T + h_prev @ Whh.T + bh, Wxh, Whh)

STEP_FORWARD = Exercise(
    name="rnn_step_forward",
    reference=_step_forward,
    cases=_step_cases,
    returns=("h_t", "cache"),
    compare=("h_t",),
    cache_fields=_STEP_FIELDS,
    section="ch02-one-step",
    mistakes=[
        Mistake("rnn_step_forward/no-tanh",
                "h_t matches the pre-activation z without tanh: apply np.tanh to the sum.",
                mutate(_step_forward, (f"np.tanh({_Z})", f"({_Z})")), "ch02-one-step"),
        Mistake("rnn_step_forward/sigmoid",
                "h_t matches sigmoid(z): the vanilla RNN uses tanh, which is zero-centred and "
                "ranges over (-1, 1).",
                mutate(_step_forward, (f"np.tanh({_Z})", f"1.0 / (1.0 + np.exp(-({_Z})))")),
                "ch02-one-step"),
        Mistake("rnn_step_forward/relu",
                "h_t matches ReLU(z) = max(z, 0): this course's RNN uses tanh.",
                mutate(_step_forward, (f"np.tanh({_Z})", f"np.maximum({_Z}, 0.0)")), "ch02-one-step"),
        Mistake("rnn_step_forward/no-bias",
                "With x_t and h_prev set to 0 your output is not tanh(bh): it ignores the bias bh.",
                mutate(_step_forward, (f"np.tanh({_Z})", "np.tanh(x_t @ Wxh.T + h_prev @ Whh.T)")),
                "ch02-one-step"),
        Mistake("rnn_step_forward/no-input",
                "With h_prev = 0 and bh = 0 your output is 0: it ignores the input x_t "
                "(the term x_t @ Wxh.T).",
                mutate(_step_forward, (f"np.tanh({_Z})", "np.tanh(h_prev @ Whh.T + bh)")),
                "ch02-one-step"),
        Mistake("rnn_step_forward/no-recurrence",
                "With x_t = 0 and bh = 0 your output is 0: it ignores the previous state h_prev "
                "(the term h_prev @ Whh.T).",
                mutate(_step_forward, (f"np.tanh({_Z})", "np.tanh(x_t @ Wxh.T + bh)")),
                "ch02-one-step"),
        Mistake("rnn_step_forward/whh-not-transposed",
                "The recurrent term uses Whh where Whh.T belongs: Whh is stored (to, from), so "
                "with rows as examples the term is h_prev @ Whh.T.",
                mutate(_step_forward, (f"np.tanh({_Z})", "np.tanh(x_t @ Wxh.T + h_prev @ Whh + bh)")),
                "ch02-batched-rows"),
        Mistake("rnn_step_forward/wxh-not-transposed",
                "The input term uses Wxh where Wxh.T belongs: Wxh is stored (H, D), so the "
                "batched product is x_t @ Wxh.T.",
                mutate(_step_forward, (f"np.tanh({_Z})", "np.tanh(x_t @ Wxh + h_prev @ Whh.T + bh)")),
                "ch02-batched-rows"),
        Mistake("rnn_step_forward/tanh-on-input-only",
                "tanh is applied to the input term alone: put all three terms inside one tanh, "
                "tanh(x_t @ Wxh.T + h_prev @ Whh.T + bh).",
                mutate(_step_forward, (f"np.tanh({_Z})", "np.tanh(x_t @ Wxh.T) + h_prev @ Whh.T + bh")),
                "ch02-one-step"),
        Mistake("rnn_step_forward/weights-swapped",
                "The input is multiplied by Whh and the state by Wxh: x_t goes with Wxh, h_prev "
                "with Whh.",
                mutate(_step_forward, (f"np.tanh({_Z})", "np.tanh(x_t @ Whh.T + h_prev @ Wxh.T + bh)")),
                "ch02-one-step"),
        Mistake("rnn_step_forward/bias-outside-tanh",
                "The bias is added after the tanh, tanh(x_t @ Wxh.T + h_prev @ Whh.T) + bh: it "
                "belongs inside, with the other two terms, h_t = tanh(x_t @ Wxh.T + h_prev @ Whh.T "
                "+ bh) (so that every h_t stays in (-1, 1)).",
                mutate(_step_forward, (f"np.tanh({_Z})", "np.tanh(x_t @ Wxh.T + h_prev @ Whh.T) + bh")),
                "ch02-one-step"),
        Mistake("rnn_step_forward/bias-twice",
                "bh is added twice, once to each term, as in (x_t @ Wxh.T + bh) + (h_prev @ Whh.T "
                "+ bh): PyTorch's nn.RNN has two bias vectors, b_ih and b_hh, one per term, but "
                "this course's step has one, bh, added once: tanh(x_t @ Wxh.T + h_prev @ Whh.T + bh).",
                mutate(_step_forward, (f"np.tanh({_Z})", "np.tanh(x_t @ Wxh.T + h_prev @ Whh.T + 2 * bh)")),
                "ch02-one-step"),
        Mistake("rnn_step_forward/bias-as-column",
                "bh is added as a column, bh[:, None] of shape (H, 1): with the examples as rows, "
                "bh of shape (H,) is added to every row as it is, x_t @ Wxh.T + h_prev @ Whh.T + bh.",
                mutate(_step_forward, (f"np.tanh({_Z})", "np.tanh(x_t @ Wxh.T + h_prev @ Whh.T + bh[:, None])")),
                "ch02-batched-rows"),
        Mistake("rnn_step_forward/column-form",
                "h_t has the shape (H, B) of the column form (W_xh x_t with the examples as "
                "columns): with the examples as rows, as x_t and h_prev are given, h_t is (B, H), "
                "tanh(x_t @ Wxh.T + h_prev @ Whh.T + bh).",
                _step_column_form, "ch02-batched-rows"),
        Mistake("rnn_step_forward/cache-order",
                "its cache holds the right arrays in another order: the backward pass unpacks the "
                "cache by position, so return (x_t, h_prev, h_t, Wxh, Whh).",
                _step_cache_reordered, "ch02-one-step"),
        Mistake("rnn_step_forward/cache-pre-activation",
                "its cache holds the pre-activation z = x_t @ Wxh.T + h_prev @ Whh.T + bh (before "
                "tanh) where h_t belongs: cache h_t itself, the backward pass computes tanh's "
                "derivative from it, 1 - h_t**2.",
                _step_cache_pre_activation, "ch02-one-step"),
    ],
)


def _step_extra(case):
    x_t, h_prev, Wxh, Whh, bh = case.args[:5]
    return (("cache-pre-activation", x_t @ Wxh.T + h_prev @ Whh.T + bh),)


STEP_FORWARD.cache_extra = _step_extra


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
        With a message naming the problem (shape, missing term, transposed weight, nonlinearity,
        a cache whose arrays are in the wrong order).
    """
    run_check(STEP_FORWARD, rnn_step_forward, hidden)


# ---------------------------------------------------------------------------------------------
# rnn_forward


def _shifted_late(x, h0, Wxh, Whh, bh):
    hs, cache = _forward(x, h0, Wxh, Whh, bh)
    return np.concatenate([h0[None], hs[:-1]]), cache


def _state_not_carried(x, h0, Wxh, Whh, bh):
    hs = np.stack([_step_forward(x_t, h0, Wxh, Whh, bh)[0] for x_t in x])
    return hs, _Seq(x, h0, hs, Wxh, Whh)


def _last_state_everywhere(x, h0, Wxh, Whh, bh):
    hs, cache = _forward(x, h0, Wxh, Whh, bh)
    return np.broadcast_to(hs[-1], hs.shape).copy(), cache


def _first_input_everywhere(x, h0, Wxh, Whh, bh):
    return _forward(np.broadcast_to(x[0], x.shape).copy(), h0, Wxh, Whh, bh)


def _includes_h0(x, h0, Wxh, Whh, bh):
    hs, cache = _forward(x, h0, Wxh, Whh, bh)
    return np.concatenate([h0[None], hs]), cache


def _last_state_missing(x, h0, Wxh, Whh, bh):
    hs, cache = _forward(x, h0, Wxh, Whh, bh)
    hs = hs.copy()
    hs[-1] = 0.0
    return hs, cache


def _starts_at_second_input(x, h0, Wxh, Whh, bh):
    hs = np.zeros((x.shape[0], h0.shape[0], Whh.shape[0]))
    if x.shape[0] > 1:
        hs[1:] = _forward(x[1:], h0, Wxh, Whh, bh)[0]
    return hs, _Seq(x, h0, hs, Wxh, Whh)


def _runs_backwards(x, h0, Wxh, Whh, bh):
    hs = _forward(x[::-1].copy(), h0, Wxh, Whh, bh)[0][::-1].copy()
    return hs, _Seq(x, h0, hs, Wxh, Whh)


def _loops_over_batch(stack_axis):
    """A loop over x.shape[1] reading x[:, t]: the reference run with time and batch swapped.

    It runs only when T = B (otherwise x[:, t], which has T rows, does not fit h_prev's B rows,
    and numpy refuses to add them, as the student's code does).
    """

    def variant(x, h0, Wxh, Whh, bh):
        if x.shape[0] != x.shape[1]:
            raise ValueError(f"operands could not be broadcast together with shapes "
                             f"({x.shape[0]},{h0.shape[1]}) ({x.shape[1]},{h0.shape[1]})")
        hs = _forward(np.swapaxes(x, 0, 1).copy(), h0, Wxh, Whh, bh)[0]
        hs = (np.swapaxes(hs, 0, 1) if stack_axis == 1 else hs).copy()
        return hs, _Seq(x, h0, hs, Wxh, Whh)

    return variant


def _hs_shaped_like_x(x, h0, Wxh, Whh, bh):
    right, cache = _forward(x, h0, Wxh, Whh, bh)
    hs = np.zeros_like(x)
    for t in range(x.shape[0]):  # fails where D != H, as the student's loop does
        hs[t] = right[t]
    return hs, cache._replace(hs=hs)


def _last_state_only(x, h0, Wxh, Whh, bh):
    hs, cache = _forward(x, h0, Wxh, Whh, bh)
    return hs[-1].copy(), cache


def _forward_cache_reordered(x, h0, Wxh, Whh, bh):
    hs, cache = _forward(x, h0, Wxh, Whh, bh)
    return hs, (x, hs, h0, Wxh, Whh)


FORWARD = Exercise(
    name="rnn_forward",
    reference=_forward,
    cases=_sequence_cases,
    returns=("hs", "cache"),
    compare=("hs",),
    time_axis={"hs": 0},
    cache_fields=_SEQUENCE_FIELDS,
    section="ch02-sequence",
    mistakes=[
        Mistake("rnn_forward/state-not-carried",
                "Every step uses h0 as its previous state: pass each new h_t on as h_prev for "
                "the next step.",
                _state_not_carried, "ch02-sequence"),
        Mistake("rnn_forward/hs-starts-with-h0",
                "Your hs is shifted one step late: hs[0] is h0. hs[t] must be the state after "
                "reading x[t], so hs[0] = step(x[0], h0).",
                _shifted_late, "ch02-sequence"),
        Mistake("rnn_forward/same-array-every-step",
                "Every hs[t] holds the last state: the same array was stored at every step and "
                "then overwritten. Store each step's state in hs[t] (a new array each step).",
                _last_state_everywhere, "ch02-sequence"),
        Mistake("rnn_forward/first-input-every-step",
                "Every step reads x[0]: step t must read its own input x[t].",
                _first_input_everywhere, "ch02-sequence"),
        Mistake("rnn_forward/includes-h0",
                "hs has T + 1 states and starts with h0: h0 is not part of hs. hs[t] is the state "
                "after reading x[t], so hs has T rows, hs[0] = step(x[0], h0), ..., hs[T-1] the "
                "state after the last input.",
                _includes_h0, "ch02-sequence"),
        Mistake("rnn_forward/last-state-missing",
                "The last state hs[T-1] is never computed (it is still zero): the loop stops one "
                "step early. range(T) runs t = 0, ..., T-1, one step per input.",
                _last_state_missing, "ch02-sequence"),
        Mistake("rnn_forward/starts-at-second-input",
                "Your loop starts at t = 1: hs[0] is never computed and the first input x[0] is "
                "never read. Python counts from 0: the book's x_1 is x[0], so the loop is "
                "for t in range(T).",
                _starts_at_second_input, "ch02-sequence"),
        Mistake("rnn_forward/runs-backwards",
                "Your loop runs backwards in time, from x[T-1] down to x[0]: the forward pass "
                "reads the inputs in order, t = 0, 1, ..., T-1, each step starting from the state "
                "the previous one left.",
                _runs_backwards, "ch02-sequence"),
        Mistake("rnn_forward/loops-over-batch",
                "Your loop runs over the batch axis, x[:, t] (the batch-major habit): x is "
                "time-major, (T, B, D), so step t reads x[t], the (B, D) inputs of every example "
                "at time t, and the loop is for t in range(x.shape[0]).",
                _loops_over_batch(1), "ch01-layout"),
        Mistake("rnn_forward/loops-over-batch-stacked",
                "Your loop runs over the batch axis, x[:, t] (the batch-major habit), and stacks "
                "the states batch-major: x is time-major, (T, B, D), so step t reads x[t], the "
                "(B, D) inputs of every example at time t, and hs[t] is the (B, H) state after it.",
                _loops_over_batch(0), "ch01-layout"),
        Mistake("rnn_forward/hs-shaped-like-x",
                "hs is allocated with the shape of x, (T, B, D) (np.zeros_like(x)): a state has H "
                "numbers, so hs is (T, B, H), np.zeros((T, B, H)) with H = Whh.shape[0].",
                _hs_shaped_like_x, "ch02-sequence"),
        Mistake("rnn_forward/last-state-only",
                "It returns only the last state, hs[-1], of shape (B, H): rnn_forward returns every "
                "state, hs of shape (T, B, H), hs[t] the state after reading x[t].",
                _last_state_only, "ch02-sequence"),
        Mistake("rnn_forward/cache-order",
                "its cache holds the right arrays in another order: the backward pass unpacks the "
                "cache by position, so return (x, h0, hs, Wxh, Whh).",
                _forward_cache_reordered, "ch02-sequence"),
    ],
)


def check_rnn_forward(rnn_forward, hidden=False, rnn_step_forward=None):
    """Check a student's ``rnn_forward(x, h0, Wxh, Whh, bh) -> (hs, cache)``.

    Parameters
    ----------
    rnn_forward : callable
        The student's function; ``x`` is ``(T, B, D)`` and ``hs`` must be ``(T, B, H)``.
    hidden : bool
        Hidden tests: other seeds, and the edge cases ``T = 1`` and ``B = 1``.
    rnn_step_forward : callable, optional
        The student's step, if ``rnn_forward`` is built on it: checked first when
        ``rnn_forward`` is wrong.
    """
    depends = {}
    if rnn_step_forward is not None:
        depends["rnn_step_forward"] = lambda: run_check(STEP_FORWARD, rnn_step_forward, hidden, quiet=True)
    run_check(FORWARD, rnn_forward, hidden, depends=depends)


# ---------------------------------------------------------------------------------------------
# rnn_step_backward

_STEP_BACKWARD_RETURNS = ("dx_t", "dh_prev", "dWxh", "dWhh", "dbh")


_DZ = "dz = dh_t * (1.0 - h_t**2)"

STEP_BACKWARD = Exercise(
    name="rnn_step_backward",
    reference=_step_backward,
    forward=_step_forward,
    cache_fields=_STEP_FIELDS,
    arg_names=_STEP_FIELDS[:2] + ("Wxh", "Whh", "bh", "dh_t"),
    cases=lambda hidden: _step_cases(hidden, with_dh=True),
    returns=_STEP_BACKWARD_RETURNS,
    section="ch04-one-step",
    mistakes=[
        Mistake("rnn_step_backward/no-tanh-derivative",
                "The gradients ignore tanh's derivative: multiply dh_t by (1 - h_t**2) before "
                "the products (dz = dh_t * (1 - h_t**2)).",
                mutate(_step_backward, (_DZ, "dz = dh_t")), "ch04-one-step"),
        Mistake("rnn_step_backward/one-minus-tanh",
                "tanh's derivative is written 1 - h_t: it is 1 - tanh(z)**2 = 1 - h_t**2 (squared).",
                mutate(_step_backward, (_DZ, "dz = dh_t * (1.0 - h_t)")), "ch04-one-step"),
        Mistake("rnn_step_backward/tanh-applied-again",
                "tanh's derivative is computed as 1 - tanh(h_t)**2, applying tanh to h_t once "
                "more: h_t already is tanh(z), so the derivative is 1 - h_t**2.",
                mutate(_step_backward, (_DZ, "dz = dh_t * (1.0 - np.tanh(h_t)**2)")),
                "ch04-one-step"),
        Mistake("rnn_step_backward/derivative-at-h-prev",
                "tanh's derivative uses h_prev: the slope belongs to this step's output, "
                "1 - h_t**2.",
                mutate(_step_backward, (_DZ, "dz = dh_t * (1.0 - h_prev**2)")), "ch04-one-step"),
        Mistake("rnn_step_backward/dwhh-uses-h-t",
                "dWhh uses h_t where h_prev belongs: the recurrent weight multiplies the previous "
                "state, so dWhh = dz.T @ h_prev.",
                mutate(_step_backward, ("dWhh = dz.T @ h_prev", "dWhh = dz.T @ h_t")),
                "ch04-one-step"),
        Mistake("rnn_step_backward/dwhh-transposed",
                "dWhh is the transpose of the right answer: with rows as examples it is "
                "dz.T @ h_prev, of shape (H, H) like Whh (for a square matrix the shapes "
                "cannot tell you).",
                mutate(_step_backward, ("dWhh = dz.T @ h_prev", "dWhh = h_prev.T @ dz")),
                "ch04-one-step"),
        Mistake("rnn_step_backward/dh-prev-transposed",
                "dh_prev uses Whh.T: the forward multiplied h_prev @ Whh.T, so the gradient "
                "flows back as dz @ Whh.",
                mutate(_step_backward, ("dh_prev = dz @ Whh", "dh_prev = dz @ Whh.T")),
                "ch04-one-step"),
        Mistake("rnn_step_backward/dbh-mean",
                "dbh is the mean of dz over the batch: the bias is shared by every example, so "
                "its gradient is the sum, dz.sum(axis=0).",
                mutate(_step_backward, ("dbh = dz.sum(axis=0)", "dbh = dz.mean(axis=0)")),
                "ch04-one-step"),
        Mistake("rnn_step_backward/weights-averaged",
                "dWxh and dWhh are divided by the batch size: every example's product adds to "
                "the shared weights, so they are sums over the batch (dz.T @ x_t), not means.",
                mutate(_step_backward, ("dWxh = dz.T @ x_t", "dWxh = dz.T @ x_t / len(dz)"),
                       ("dWhh = dz.T @ h_prev", "dWhh = dz.T @ h_prev / len(dz)")),
                "ch04-one-step"),
        Mistake("rnn_step_backward/all-averaged",
                "dWxh, dWhh and dbh are divided by the batch size (means over the examples): "
                "every example adds to the shared weights and bias, so their gradients are sums "
                "over the batch, dz.T @ x_t, dz.T @ h_prev and dz.sum(axis=0).",
                mutate(_step_backward, ("dWxh = dz.T @ x_t", "dWxh = dz.T @ x_t / len(dz)"),
                       ("dWhh = dz.T @ h_prev", "dWhh = dz.T @ h_prev / len(dz)"),
                       ("dbh = dz.sum(axis=0)", "dbh = dz.mean(axis=0)")),
                "ch04-one-step"),
        Mistake("rnn_step_backward/slope-squared-after-subtracting",
                "tanh's derivative is written (1 - h_t)**2: it is 1 - h_t**2, h_t squared and "
                "then subtracted from 1.",
                mutate(_step_backward, (_DZ, "dz = dh_t * (1.0 - h_t)**2")), "ch04-one-step"),
        Mistake("rnn_step_backward/dx-transposed",
                "dx_t uses Wxh.T: the forward multiplied x_t @ Wxh.T, so the gradient flows back "
                "as dz @ Wxh, of shape (B, D) (with Wxh.T the shapes only line up when D = H).",
                mutate(_step_backward, ("dx_t = dz @ Wxh", "dx_t = dz @ Wxh.T")), "ch04-one-step"),
        Mistake("rnn_step_backward/dh-prev-skips-slope",
                "dh_prev skips tanh's derivative: h_prev reaches h_t through z like x_t does, so "
                "dh_prev = dz @ Whh with dz = dh_t * (1 - h_t**2), not dh_t @ Whh.",
                mutate(_step_backward, ("dh_prev = dz @ Whh", "dh_prev = dh_t @ Whh")), "ch04-one-step"),
        Mistake("rnn_step_backward/dbh-wrong-axis",
                "dbh sums over the hidden units (axis=1): the bias is shared by the examples of the "
                "batch, so its gradient sums over the batch, dz.sum(axis=0), of shape (H,).",
                mutate(_step_backward, ("dbh = dz.sum(axis=0)", "dbh = dz.sum(axis=1)")), "ch04-one-step"),
        Mistake("rnn_step_backward/dbh-not-summed",
                "dbh is dz itself, one row per example: the bias is shared by every example, so "
                "its gradient is the sum over the batch, dz.sum(axis=0), of shape (H,).",
                mutate(_step_backward, ("dbh = dz.sum(axis=0)", "dbh = dz")), "ch04-one-step"),
        Mistake("rnn_step_backward/weight-gradients-swapped",
                "dWxh and dWhh come back in each other's places: return the gradients in the "
                "order of the forward's arguments (x_t, h_prev, Wxh, Whh, bh), that is "
                "(dx_t, dh_prev, dWxh, dWhh, dbh).",
                lambda dh_t, cache: _swap(_step_backward(dh_t, cache), 2, 3), "ch04-one-step"),
    ],
)


def _swap(grads, i, j):
    """The tuple ``grads`` with entries ``i`` and ``j`` exchanged (a wrong return order)."""
    grads = list(grads)
    grads[i], grads[j] = grads[j], grads[i]
    return tuple(grads)


def check_rnn_step_backward(rnn_step_forward, rnn_step_backward, hidden=False, quiet=False):
    """Check a student's ``rnn_step_backward(dh_t, cache)`` against the reference gradients.

    The student's own forward produces the cache their backward reads, so the two are checked
    together: a cache that is not ``(x_t, h_prev, h_t, Wxh, Whh)`` with the right values is
    reported as the forward's problem.
    """
    run_backward_check(STEP_BACKWARD, rnn_step_forward, rnn_step_backward, hidden, quiet=quiet)


# ---------------------------------------------------------------------------------------------
# rnn_backward: BPTT. The loop lives in rnnlib.rnn.recurrence_backward; its mistakes are edits
# of that loop, run inside the reference rnn_backward.

_rec_back = _rnn.recurrence_backward
_LOOP = "for t in range(hs.shape[0] - 1, -1, -1):"
_CARRY = "np.add(dhs[t], dh_next, out=dh_t)"
_DERIVATIVE = "dzs = np.square(hs)\n    np.subtract(1.0, dzs, out=dzs)"


def _overwritten(*names):
    """The weight gradients in ``names`` hold only step 0's term (= instead of +=)."""

    def variant(dhs, cache):
        x, h0, hs, Wxh, Whh = cache
        grads = list(_backward(dhs, cache))
        dz0 = _rec_back(dhs, hs, h0, Whh)[0][0]  # the last step the backward loop visits
        step0 = {"dWxh": dz0.T @ x[0], "dWhh": dz0.T @ h0, "dbh": dz0.sum(axis=0)}
        for k in names:
            grads[("dx", "dh0", "dWxh", "dWhh", "dbh").index(k)] = step0[k]
        return tuple(grads)

    return variant


def _batch_major(dhs, cache):
    """The reference run on x, hs, dhs read with time and batch exchanged (x[:, t] as step t)."""
    x, h0, hs, Wxh, Whh = cache
    dx, dh0, dWxh, dWhh, dbh = _backward(dhs.swapaxes(0, 1), (x.swapaxes(0, 1), h0, hs.swapaxes(0, 1), Wxh, Whh))
    return dx.swapaxes(0, 1), dh0, dWxh, dWhh, dbh


BACKWARD = Exercise(
    name="rnn_backward",
    reference=_backward,
    forward=_forward,
    cache_fields=_SEQUENCE_FIELDS,
    arg_names=("x", "h0", "Wxh", "Whh", "bh", "dhs"),
    cases=lambda hidden: _sequence_cases(hidden, with_dhs=True),
    returns=("dx", "dh0", "dWxh", "dWhh", "dbh"),
    time_axis={"dx": 0},
    section="ch04-bptt",
    mistakes=[
        Mistake("rnn_backward/no-carry",
                "The gradient flowing back from h_{t+1} is not added: dx is right at the last "
                "step only. At each step the gradient on h_t is dhs[t] plus the dh_prev that "
                "step t+1 sent back; carry dh_prev from each step into the next (earlier) one.",
                mutate(_backward, (_CARRY, "np.copyto(dh_t, dhs[t])"), inner=_rec_back),
                "ch04-bptt"),
        Mistake("rnn_backward/stops-before-t0",
                "The backward loop stops before t = 0: dx[0] and step 0's share of the weight "
                "gradients are missing. Walk t = T-1, ..., 0, e.g. range(T - 1, -1, -1).",
                mutate(_backward, (_LOOP, "dzs[0] = 0.0\n    for t in range(hs.shape[0] - 1, 0, -1):"),
                       inner=_rec_back), "ch04-bptt"),
        Mistake("rnn_backward/dhs-one-step-off",
                "Step t reads the upstream gradient of another step (dhs[t-1]): the gradient "
                "arriving at h_t from above is dhs[t].",
                mutate(_backward, (_CARRY, "np.add(dhs[t - 1], dh_next, out=dh_t)"), inner=_rec_back),
                "ch04-bptt"),
        Mistake("rnn_backward/carry-after-derivative",
                "The gradient from h_{t+1} is added after multiplying by tanh's derivative: add "
                "dhs[t] and dh_prev first, then multiply the sum by (1 - h_t**2).",
                mutate(_backward, (_CARRY + "\n        dzs[t] *= dh_t",
                                   "dzs[t] *= dhs[t]\n        dzs[t] += dh_next"), inner=_rec_back),
                "ch04-bptt"),
        Mistake("rnn_backward/no-tanh-derivative",
                "The gradients ignore tanh's derivative: at each step multiply the gradient on "
                "h_t by (1 - h_t**2).",
                mutate(_backward, (_DERIVATIVE, "dzs = np.ones_like(hs)"), inner=_rec_back),
                "ch04-one-step"),
        Mistake("rnn_backward/one-minus-tanh",
                "tanh's derivative is written 1 - h_t: it is 1 - h_t**2 (squared).",
                mutate(_backward, (_DERIVATIVE, "dzs = hs.copy()\n    np.subtract(1.0, dzs, out=dzs)"),
                       inner=_rec_back), "ch04-one-step"),
        Mistake("rnn_backward/derivative-at-previous-state",
                "tanh's derivative at step t uses h_(t-1) (hs[t-1], or h0): the slope belongs to "
                "the step's own output, 1 - hs[t]**2.",
                mutate(_backward, (_DERIVATIVE, "dzs = np.square(np.concatenate([h0[None], hs[:-1]]))\n"
                                                "    np.subtract(1.0, dzs, out=dzs)"), inner=_rec_back),
                "ch04-bptt"),
        Mistake("rnn_backward/dwhh-uses-h-t",
                "dWhh uses h_t where h_(t-1) belongs: the recurrent weight multiplies the "
                "previous state, so step t adds dz_t.T @ h_(t-1) (h0 at t = 0).",
                mutate(_backward, ("dWhh = recurrent_weight_gradient(dzs, h0, hs)",
                                   "dWhh = dz_flat.T @ hs.reshape(T * B, H)")), "ch04-bptt"),
        Mistake("rnn_backward/h-prev-at-t0-wraps",
                "At t = 0 dWhh uses hs[-1] (the last state, where the index t-1 wraps around) "
                "instead of h0: the state before the first step is h0.",
                mutate(_backward, ("dW = dzs[0].T @ h0", "dW = dzs[0].T @ hs[-1]"),
                       inner=_rnn.recurrent_weight_gradient), "ch04-bptt"),
        Mistake("rnn_backward/weights-overwritten",
                "dWxh, dWhh and dbh hold only the contribution of time step 0, the last one the "
                "loop visits: they are overwritten at each step. The weights are shared by every "
                "step, so accumulate the sum over t with +=.",
                _overwritten("dWxh", "dWhh", "dbh"), "ch04-sum"),
        Mistake("rnn_backward/dwhh-overwritten",
                "dWhh holds only the contribution of time step 0: it is overwritten at each "
                "step (= instead of +=). Whh is shared by every step, so its gradient is the sum "
                "over t.",
                _overwritten("dWhh"), "ch04-sum"),
        Mistake("rnn_backward/dwxh-overwritten",
                "dWxh holds only the contribution of time step 0: it is overwritten at each "
                "step (= instead of +=). Wxh is shared by every step, so its gradient is the sum "
                "over t.",
                _overwritten("dWxh"), "ch04-sum"),
        Mistake("rnn_backward/upstream-at-last-step-only",
                "Only the last step adds its upstream gradient dhs[T-1]: every state h_t has its "
                "own output, so the gradient on h_t is dhs[t] plus what step t+1 sent back, at "
                "every step t.",
                mutate(_backward, (_CARRY, "np.add(dhs[t] if t == hs.shape[0] - 1 else 0.0, dh_next, out=dh_t)"),
                       inner=_rec_back), "ch04-bptt"),
        Mistake("rnn_backward/dh0-is-gradient-on-h1",
                "dh0 is the gradient on hs[0], the state after the first step (dhs[0] plus what "
                "step 1 sent back), not on h0: go one step further back. dh0 is the dh_prev that "
                "the step backward at t = 0 returns.",
                mutate(_backward, ("return dzs, dh_next", "return dzs, dh_t.copy()"), inner=_rec_back),
                "ch04-bptt"),
        Mistake("rnn_backward/loop-forward-in-time",
                "The loop walks forward in time (t = 0, 1, ..., T-1): the gradient on h_t needs "
                "what step t+1 sends back, so that step must come first. Walk t = T-1, ..., 0, "
                "e.g. range(T - 1, -1, -1).",
                mutate(_backward, (_LOOP, "for t in range(hs.shape[0]):"), inner=_rec_back), "ch04-bptt"),
        Mistake("rnn_backward/batch-major",
                "It indexes the sequence as batch-major (x[:, t], hs[:, t], dhs[:, t]): here "
                "sequences are time-major, x is (T, B, D) and hs, dhs are (T, B, H), so step t is "
                "x[t], hs[t], dhs[t], and dx[t] is where its gradient goes.",
                _batch_major, "ch04-bptt"),
        Mistake("rnn_backward/dbh-overwritten",
                "dbh holds only the contribution of time step 0: it is overwritten at each step "
                "(= instead of +=). The bias is shared by every step, so its gradient is the sum "
                "over t.",
                _overwritten("dbh"), "ch04-sum"),
    ],
)


def check_rnn_backward(rnn_forward, rnn_backward, hidden=False, rnn_step_backward=None):
    """Check a student's ``rnn_backward(dhs, cache)`` (backpropagation through time).

    Parameters
    ----------
    rnn_forward : callable
        The forward whose cache ``(x, h0, hs, Wxh, Whh)`` the backward reads.
    rnn_backward : callable
        The student's function.
    hidden : bool
        Hidden tests: other seeds, ``T = 1``, ``B = 1``, square weights.
    rnn_step_backward : callable, optional
        The student's step backward, if ``rnn_backward`` is built on it: checked first when
        ``rnn_backward`` is wrong ("fix rnn_step_backward first").
    """
    depends = {}
    if rnn_step_backward is not None:
        depends["rnn_step_backward"] = lambda: check_rnn_step_backward(
            _given_step_forward, rnn_step_backward, hidden, quiet=True)
    run_backward_check(BACKWARD, rnn_forward, rnn_backward, hidden, depends=depends)


def _given_step_forward(x_t, h_prev, Wxh, Whh, bh):
    # The step forward handed to a student's step backward when it is checked as what their
    # rnn_backward builds on (rnnlib code calling the reference, so the guard lets it run).
    h_t, cache = _step_forward(x_t, h_prev, Wxh, Whh, bh)
    return h_t, tuple(cache)
