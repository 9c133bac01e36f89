"""Checkers for chapter 7, beyond the vanilla RNN: the LSTM step (forward and backward),
forecasting windows, the "last value" baseline, and the chapter's conceptual questions.

Each graded function is an :class:`~rnnlib.checks._engine.Exercise` whose catalogue of known
mistakes is built from the references in :mod:`rnnlib.lstm` and :mod:`rnnlib.forecast`: one
edit of the reference's source (:func:`~rnnlib.checks._engine.mutate`), or the reference with
one input or output changed (the gates' blocks read in another order is the reference run on
weights whose blocks are permuted). The engine runs the cases and names the mistake that a
wrong answer matches.

The LSTM step returns ``((h_t, c_t), cache)``: the checks flatten it to ``(h_t, c_t, cache)``
(after telling a student who returned another structure what is expected), so that ``h_t``
and ``c_t`` are compared and diagnosed separately. The backward is checked on the cache of
the student's own forward, after the forward itself (a wrong forward is named as such, not
blamed on the backward) and its cache (the layout is prescribed); a right backward is then
also gradient-checked against central differences of the student's own forward.
"""
from __future__ import annotations

import numpy as np

from rnnlib import data as _data
from rnnlib import forecast as _forecast
from rnnlib import lstm as _lstm
from rnnlib.checks._core import CheckFailed, call_student, case_seeds, fmt_shape
from rnnlib.checks._engine import Case, Exercise, Mistake, mutate, run_backward_check, run_check
from rnnlib.checks._questions import Question, Wrong, question_set
from rnnlib.checks.data import PAST_THE_END
from rnnlib.gradcheck import check_backward as _check_backward

__all__ = [
    "check_lstm_step_forward",
    "check_lstm_step_backward",
    "check_forecast_windows",
    "check_last_value_forecast",
    "check_ch07_questions",
]

_step_forward = _lstm.lstm_step_forward
_step_backward = _lstm.lstm_step_backward
_gates_backward = _lstm._gates_backward
_activate = _lstm._activate
_windows = _forecast.forecast_windows
_last_value = _forecast.last_value_forecast
_concatenate = np.concatenate
_arange = np.arange
_ndarray = np.ndarray
_allclose = np.allclose

#: The cache lstm_step_forward must return (the reference's LSTMStepCache, field by field).
STEP_FIELDS = ("x_t", "h_prev", "c_prev", "gates", "tanh_c", "Wx", "Wh")
_STEP_ARGS = ("x_t", "h_prev", "c_prev", "Wx", "Wh", "b")


# ---------------------------------------------------------------------------------------------
# Cases. B, D, H differ and 4H never equals D, so that a swapped axis is a shape error, not a
# silent bug; one case per set has D = H, where Wx and Wh have one shape (so that multiplying
# the input by Wh runs instead of crashing). Hidden cases add B = 1.


def _step_case(seed, B, D, H, with_dout=False):
    rng = np.random.default_rng(seed)
    args = (rng.standard_normal((B, D)), rng.standard_normal((B, H)), rng.standard_normal((B, H)),
            rng.standard_normal((4 * H, D)) * 0.6, rng.standard_normal((4 * H, H)) * 0.6,
            rng.standard_normal(4 * H) * 0.6)
    if with_dout:
        args = args + ((rng.standard_normal((B, H)), rng.standard_normal((B, H))),)
    return Case(f"seed {seed}, B={B}, D={D}, H={H}", args, {}, {"B": B})


def _step_cases(hidden, with_dout=False):
    shapes = [(1, 3, 4), (5, 2, 6), (4, 4, 4)] if hidden else [(3, 4, 5), (2, 6, 3), (3, 4, 4)]
    return [_step_case(seed, *s, with_dout=with_dout) for seed in case_seeds(hidden) for s in shapes]


# ---------------------------------------------------------------------------------------------
# lstm_step_forward: ((h_t, c_t), cache), compared as h_t and c_t


def _flat(fn):
    """``fn`` returning ``((h_t, c_t), cache)``, seen as returning ``(h_t, c_t, cache)``."""

    def flat(*args):
        (h_t, c_t), cache = fn(*args)
        return h_t, c_t, cache

    return flat


def _flat_student(student, name="lstm_step_forward"):
    """The student's step, flattened after checking that it returns ((h_t, c_t), cache)."""

    def flat(*args):
        out = student(*args)
        if isinstance(out, tuple) and len(out) == 3 and all(isinstance(v, _ndarray) for v in out[:2]):
            raise CheckFailed(
                f"{name} returned three values (h_t, c_t, cache); return a pair whose first "
                "element is the pair of new states: return (h_t, c_t), cache.",
                mistake_id="generic/returns")
        if not (isinstance(out, (tuple, list)) and len(out) == 2
                and isinstance(out[0], (tuple, list)) and len(out[0]) == 2):
            raise CheckFailed(
                f"{name} should return ((h_t, c_t), cache): a pair whose first element is the "
                f"pair of new states; it returned {_structure(out)}.",
                mistake_id="generic/returns")
        return out[0][0], out[0][1], out[1]

    return flat


def _structure(value):
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(_structure(v) if isinstance(v, (tuple, list)) else fmt_shape(v)
                               for v in value) + ")"
    return fmt_shape(value)


def _blocks_read_as(order, name):
    """The step of a student whose gates (i, f, g, o) read the weight blocks ``order``."""

    def variant(x_t, h_prev, c_prev, Wx, Wh, b):
        H = h_prev.shape[1]
        rows = _concatenate([_arange(k * H, (k + 1) * H) for k in order])
        return _step_forward(x_t, h_prev, c_prev, Wx[rows], Wh[rows], b[rows])

    variant.__name__ = name
    return variant


def _forget_bias_added(x_t, h_prev, c_prev, Wx, Wh, b):
    """The reference with 1 added to the forget gate's pre-activation (its bias block)."""
    H = h_prev.shape[1]
    shifted = b.copy()
    shifted[H:2 * H] += 1.0
    return _step_forward(x_t, h_prev, c_prev, Wx, Wh, shifted)


def _states_swapped(*args):
    (h_t, c_t), cache = _step_forward(*args)
    return (c_t, h_t), cache


def _pre_activations(x_t, h_prev, c_prev, Wx, Wh, b):
    return x_t @ Wx.T + h_prev @ Wh.T + b


def _ifog(gates):
    H = gates.shape[1] // 4
    return _concatenate([gates[:, :2 * H], gates[:, 3 * H:], gates[:, 2 * H:3 * H]], axis=1)


def _cache_changed(change):
    """The reference step whose cache is ``change(cache, pre_activations)``."""

    def variant(*args):
        out, cache = _step_forward(*args)
        return out, change(cache, _pre_activations(*args))

    return variant


_SLICES = "i, f, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]"


def _column_form(*args):
    (h_t, c_t), cache = _step_forward(*args)
    return (h_t.T.copy(), c_t.T.copy()), cache


def _cache_c_for_tanh_c(*args):
    (h_t, c_t), cache = _step_forward(*args)
    return (h_t, c_t), cache._replace(tanh_c=c_t)


def _cache_extra(case):
    (h_t, c_t), cache = _step_forward(*case.args[:6])
    return (("cache-c-for-tanh-c", c_t),
            ("cache-pre-activations", _pre_activations(*case.args[:6])),
            ("cache-gates-ifog", _ifog(cache.gates)))


_ACT_G = "a[:, 2 * H: 3 * H] = np.tanh(a[:, 2 * H: 3 * H])  # g"
_ACT_IF = "a[:, : 2 * H] = sigmoid(a[:, : 2 * H])  # i, f"
_ACT_O = "a[:, 3 * H:] = sigmoid(a[:, 3 * H:])  # o"
_CELL = "c_t = f * c_prev + i * g"
_SQUASH = "tanh_c = np.tanh(c_t)"
_OUT = "h_t = o * tanh_c"
_PRE = "x_t @ Wx.T + h_prev @ Wh.T + b"

STEP_FORWARD = Exercise(
    name="lstm_step_forward",
    reference=_step_forward,
    cases=_step_cases,
    returns=("h_t", "c_t", "cache"),
    compare=("h_t", "c_t"),
    cache_fields=STEP_FIELDS,
    arg_names=_STEP_ARGS,
    section="ch07-lstm-cell",
    mistakes=[
        Mistake("lstm_step_forward/gate-order-ifog",
                "Your gates read the blocks of Wx, Wh and b in another order, i, f, o, g "
                "(CS231n's order): this course stacks them as PyTorch does, i, f, g, o. Rows [2H:3H] "
                "belong to the candidate g, rows [3H:4H] to the output gate o.",
                _blocks_read_as((0, 1, 3, 2), "gate_order_ifog"), "ch07-lstm-cell"),
        Mistake("lstm_step_forward/gate-order-igfo",
                "Your gates read the blocks of Wx, Wh and b in another order, i, g, f, o "
                "(TensorFlow 1's LSTMCell order, i, j, f, o): this course stacks them as PyTorch "
                "does, i, f, g, o. Rows [H:2H] belong to the forget gate f, rows [2H:3H] to the "
                "candidate g.",
                _blocks_read_as((0, 2, 1, 3), "gate_order_igfo"), "ch07-lstm-cell"),
        Mistake("lstm_step_forward/forget-bias-added",
                "Your forget gate adds a constant inside its sigmoid, f = sigmoid(a_f + 1) "
                "(TensorFlow 1's forget_bias=1.0): in this course the 1 is where the forget "
                "gate's bias b[H:2H] starts when the weights are made, not a term of the step. The "
                "step uses b as it is given, f = sigmoid(a_f), with a_f the rows [H:2H] of "
                "x_t @ Wx.T + h_prev @ Wh.T + b.",
                _forget_bias_added, "ch07-lstm-cell"),
        Mistake("lstm_step_forward/input-forget-swapped",
                "Your input and forget gates are swapped: your cell update works out as "
                "c_t = i * c_prev + f * g, where it is c_t = f * c_prev + i * g (f keeps the old "
                "cell, i scales the candidate). Check that line, and that i comes from the rows "
                "[0:H] of Wx, Wh and b and f from the rows [H:2H].",
                _blocks_read_as((1, 0, 2, 3), "input_forget_swapped"), "ch07-lstm-cell"),
        Mistake("lstm_step_forward/candidate-sigmoid",
                "The candidate g uses a sigmoid: g = tanh(a_g), which ranges over (-1, 1) so "
                "that the cell can be written down as well as up; only the three gates i, f, o "
                "are sigmoids.",
                mutate(_step_forward, (_ACT_G, "a[:, 2 * H: 3 * H] = sigmoid(a[:, 2 * H: 3 * H])"),
                       inner=_activate), "ch07-lstm-cell"),
        Mistake("lstm_step_forward/gates-tanh",
                "The gates i, f and o use tanh: a gate is a sigmoid, a number between 0 and 1 "
                "that says how much to let through (tanh is for the candidate g only).",
                mutate(_step_forward, (_ACT_IF, "a[:, : 2 * H] = np.tanh(a[:, : 2 * H])"),
                       (_ACT_O, "a[:, 3 * H:] = np.tanh(a[:, 3 * H:])"), inner=_activate),
                "ch07-lstm-cell"),
        Mistake("lstm_step_forward/no-input-gate",
                "c_t adds the candidate without the input gate (c_t = f * c_prev + g): the input "
                "gate decides how much of g is written, c_t = f * c_prev + i * g.",
                mutate(_step_forward, (_CELL, "c_t = f * c_prev + g")), "ch07-lstm-cell"),
        Mistake("lstm_step_forward/forget-on-candidate",
                "The forget gate multiplies the new candidate instead of the old cell "
                "(c_t = c_prev + f * i * g): f decides how much of c_prev is kept, "
                "c_t = f * c_prev + i * g.",
                mutate(_step_forward, (_CELL, "c_t = c_prev + f * i * g")), "ch07-lstm-cell"),
        Mistake("lstm_step_forward/forget-on-both",
                "The forget gate multiplies the new candidate too (c_t = f * (c_prev + i * g)): "
                "f scales only the old cell state, c_t = f * c_prev + i * g.",
                mutate(_step_forward, (_CELL, "c_t = f * (c_prev + i * g)")), "ch07-lstm-cell"),
        Mistake("lstm_step_forward/no-forget",
                "c_t ignores c_prev (c_t = i * g): the cell keeps f * c_prev and adds i * g. "
                "Without the old cell the LSTM has no memory path.",
                mutate(_step_forward, (_CELL, "c_t = i * g")), "ch07-lstm-cell"),
        Mistake("lstm_step_forward/no-tanh-on-c",
                "c_t is right but h_t = o * c_t: squash the cell first, h_t = o * tanh(c_t).",
                mutate(_step_forward, (_OUT, "h_t = o * c_t")), "ch07-lstm-cell"),
        Mistake("lstm_step_forward/tanh-after-output-gate",
                "c_t is right but h_t = tanh(o * c_t): the output gate scales the squashed cell, "
                "h_t = o * tanh(c_t).",
                mutate(_step_forward, (_OUT, "h_t = o * tanh_c\n    h_t = np.tanh(o * c_t)")), "ch07-lstm-cell"),
        Mistake("lstm_step_forward/no-output-gate",
                "c_t is right but h_t = tanh(c_t), without the output gate: h_t = o * tanh(c_t).",
                mutate(_step_forward, (_OUT, "h_t = tanh_c")), "ch07-lstm-cell"),
        Mistake("lstm_step_forward/h-from-c-prev",
                "h_t is computed from the previous cell state, o * tanh(c_prev): update the cell "
                "first, then h_t = o * tanh(c_t) with the new c_t.",
                mutate(_step_forward, (_SQUASH, "tanh_c = np.tanh(c_prev)")), "ch07-lstm-cell"),
        Mistake("lstm_step_forward/no-bias",
                "The pre-activations ignore the bias b: a = x_t @ Wx.T + h_prev @ Wh.T + b.",
                mutate(_step_forward, (_PRE, "x_t @ Wx.T + h_prev @ Wh.T")), "ch07-lstm-cell"),
        Mistake("lstm_step_forward/weights-swapped",
                "The input is multiplied by Wh and the previous state by Wx: x_t goes with Wx "
                "(shape (4H, D)), h_prev with Wh (shape (4H, H)).",
                mutate(_step_forward, (_PRE, "x_t @ Wh.T + h_prev @ Wx.T + b")), "ch07-lstm-cell"),
        Mistake("lstm_step_forward/states-swapped",
                "h_t and c_t are swapped: return ((h_t, c_t), cache), the hidden state first.",
                _states_swapped, "ch07-lstm-cell"),
        Mistake("lstm_step_forward/split-along-rows",
                "np.split(a, 4) splits the rows (axis 0) by default: the four blocks are blocks "
                "of columns of a (B, 4H), np.split(a, 4, axis=1), or slices a[:, k*H:(k+1)*H].",
                mutate(_step_forward, (_SLICES, "i, f, g, o = np.split(gates, 4)")), "ch07-lstm-cell", crashes=("array split does not result in an equal division",)),
        Mistake("lstm_step_forward/column-form",
                "h_t and c_t are (H, B), the column form (W x_t with the examples as columns): with "
                "the examples as rows, as x_t, h_prev and c_prev are given, the pre-activations are "
                "a = x_t @ Wx.T + h_prev @ Wh.T + b, (B, 4H), and the states (B, H).",
                _column_form, "ch07-lstm-cell"),
        Mistake("lstm_step_forward/cache-c-for-tanh-c",
                "its cache holds the cell state c_t where tanh_c belongs: cache tanh_c = "
                "np.tanh(c_t), which the backward pass needs for h_t = o * tanh(c_t).",
                _cache_c_for_tanh_c,
                "ch07-lstm-cell"),
        Mistake("lstm_step_forward/cache-order",
                "its cache holds the right arrays in another order: the backward pass unpacks the "
                "cache by position, so return (x_t, h_prev, c_prev, gates, tanh_c, Wx, Wh).",
                _cache_changed(lambda c, a: (c.x_t, c.h_prev, c.c_prev, c.tanh_c, c.gates, c.Wx, c.Wh)),
                "ch07-lstm-cell"),
        Mistake("lstm_step_forward/cache-pre-activations",
                "its cache holds the pre-activations a = x_t @ Wx.T + h_prev @ Wh.T + b where gates "
                "belongs: cache the activated gates, i, f, g, o after the sigmoids and the tanh "
                "(the backward pass needs their values for their slopes).",
                _cache_changed(lambda c, a: (c.x_t, c.h_prev, c.c_prev, a, c.tanh_c, c.Wx, c.Wh)),
                "ch07-lstm-cell"),
        Mistake("lstm_step_forward/cache-gates-ifog",
                "its cache holds the gates side by side in the order i, f, o, g where gates "
                "belongs: concatenate them in the weights' order, i, f, g, o.",
                _cache_changed(lambda c, a: (c.x_t, c.h_prev, c.c_prev, _ifog(c.gates), c.tanh_c, c.Wx, c.Wh)),
                "ch07-lstm-cell"),
    ],
)


STEP_FORWARD.cache_extra = _cache_extra
STEP_FORWARD.cache_hints = {
    "gates": " gates must be the (B, 4H) array of the activated i, f, g, o side by side, in "
             "that order: after the sigmoids and the tanh, not the pre-activations a.",
    "tanh_c": " tanh_c must be np.tanh(c_t), of the new cell state.",
}


def _check_step_forward(lstm_step_forward, hidden=False, quiet=False):
    run_check(STEP_FORWARD, _flat_student(lstm_step_forward), hidden, prepare=_flat, quiet=quiet)


STEP_FORWARD.check_student = lambda fn, hidden: _check_step_forward(fn, hidden, quiet=True)


def check_lstm_step_forward(lstm_step_forward, hidden=False):
    """Check ``lstm_step_forward(x_t, h_prev, c_prev, Wx, Wh, b) -> ((h_t, c_t), cache)``.

    Gates stacked in the order ``i, f, g, o``: ``Wx (4H, D)``, ``Wh (4H, H)``, ``b (4H,)``;
    ``cache = (x_t, h_prev, c_prev, gates, tanh_c, Wx, Wh)`` with ``gates (B, 4H)`` the
    activated ``i, f, g, o`` side by side and ``tanh_c = tanh(c_t)``.

    Parameters
    ----------
    lstm_step_forward : callable
        The student's function.
    hidden : bool
        Hidden tests: other seeds, ``B = 1``.
    """
    _check_step_forward(lstm_step_forward, hidden)


# ---------------------------------------------------------------------------------------------
# lstm_step_backward, checked on the cache of the student's own forward

_TOTAL_DC = "dc = dc + dh * o * (1.0 - tanh_c**2)"
_DI = "da[:, :H] = dc * g * i * (1.0 - i)"
_DF = "da[:, H:2 * H] = dc * c_prev * f * (1.0 - f)"
_DG = "da[:, 2 * H:3 * H] = dc * i * (1.0 - g**2)"
_DO = "da[:, 3 * H:] = dh * tanh_c * o * (1.0 - o)"
_CARRY = "return da, dc * f"
_C_T = "(f * c_prev + i * g)"  # c_t, which the cache does not hold


def _in_gates(*edits):
    return mutate(_step_backward, *edits, inner=_gates_backward)


_BACKWARD_RETURNS = ("dx_t", "dh_prev", "dc_prev", "dWx", "dWh", "db")


def _backward_reordered(order):
    def variant(dout, cache):
        grads = _step_backward(dout, cache)
        return tuple(grads[k] for k in order)

    return variant


def _diagnose_backward(got, expected, case):
    """Right gradients returned in another order."""
    names = _BACKWARD_RETURNS
    if not all(isinstance(got.get(n), _ndarray) for n in names):
        return None
    held = []
    for n in names:
        j = next((k for k, m in enumerate(names) if got[n].shape == expected[m].shape
                  and _allclose(got[n], expected[m], rtol=1e-6, atol=1e-9)), None)
        held.append(j)
    if None in held or sorted(held) != list(range(len(names))) or held == list(range(len(names))):
        return None
    order = ", ".join(names[j] for j in held)
    return "lstm_step_backward/returns-out-of-order", (
        f"Your gradients are right but come back in another order, ({order}): return them in "
        f"the order of the forward's arguments, ({', '.join(names)}).")


STEP_BACKWARD = Exercise(
    name="lstm_step_backward",
    reference=_step_backward,
    forward=_step_forward,
    cache_fields=STEP_FIELDS,
    arg_names=_STEP_ARGS + ("dout",),
    cases=lambda hidden: _step_cases(hidden, with_dout=True),
    returns=_BACKWARD_RETURNS,
    diagnose=_diagnose_backward,
    section="ch07-lstm-backward",
    mistakes=[
        Mistake("lstm_step_backward/dc-prev-missing-f",
                "dc_prev is the gradient on c_t itself: the cell path multiplies by the forget "
                "gate on its way back, because c_t = f * c_prev + ..., so dc_prev = dc * f "
                "(with dc the total gradient on c_t).",
                _in_gates((_CARRY, "return da, dc")), "ch07-lstm-backward"),
        Mistake("lstm_step_backward/dc-prev-skips-h-path",
                "dc_prev carries only the upstream dc_t (dc_prev = dc_t * f): c_t also reaches "
                "the loss through h_t = o * tanh(c_t). Add that path first, dc = dc_t + dh_t * o "
                "* (1 - tanh(c_t)**2), and use this total dc everywhere, dc_prev = dc * f.",
                _in_gates((_TOTAL_DC, "dc_in = dc\n    " + _TOTAL_DC), (_CARRY, "return da, dc_in * f")),
                "ch07-lstm-backward"),
        Mistake("lstm_step_backward/dc-misses-h-path",
                "The total gradient on c_t is dc_t alone: c_t also reaches the loss through "
                "h_t = o * tanh(c_t). Add that route first, dc = dc_t + dh_t * o * (1 - tanh(c_t)**2), "
                "and use this total dc for the gates i, f, g and for dc_prev.",
                _in_gates((_TOTAL_DC, "dc = dc")), "ch07-lstm-backward"),
        Mistake("lstm_step_backward/dc-misses-o",
                "The route from h_t into c_t misses the factor o: h_t = o * tanh(c_t), so c_t "
                "receives dh_t * o * (1 - tanh(c_t)**2), not dh_t * (1 - tanh(c_t)**2).",
                _in_gates((_TOTAL_DC, "dc = dc + dh * (1.0 - tanh_c**2)")), "ch07-lstm-backward"),
        Mistake("lstm_step_backward/gates-use-dc-t-only",
                "The gates i, f and the candidate g use the upstream dc_t alone, while dc_prev uses "
                "the total gradient on c_t: every gradient below c_t uses the total, "
                "dc = dc_t + dh_t * o * (1 - tanh(c_t)**2).",
                _in_gates((_TOTAL_DC, "dc_total = dc + dh * o * (1.0 - tanh_c**2)"),
                          (_CARRY, "return da, dc_total * f")), "ch07-lstm-backward"),
        Mistake("lstm_step_backward/product-partners-swapped",
                "The gradients on i and f take each other's partner: in c_t = f * c_prev + i * g "
                "the gradient on i is dc * g (i multiplies g) and the gradient on f is dc * c_prev "
                "(f multiplies c_prev), not dc * c_prev and dc * g.",
                _in_gates((_DI, "da[:, :H] = dc * c_prev * i * (1.0 - i)"),
                          (_DF, "da[:, H:2 * H] = dc * g * f * (1.0 - f)")), "ch07-lstm-backward"),
        Mistake("lstm_step_backward/do-misses-tanh-c",
                "The output gate's gradient misses tanh(c_t): h_t = o * tanh(c_t), so the gradient "
                "on o is dh_t * tanh(c_t), and on its pre-activation dh_t * tanh(c_t) * o * (1 - o).",
                _in_gates((_DO, "da[:, 3 * H:] = dh * o * (1.0 - o)")), "ch07-lstm-backward"),
        Mistake("lstm_step_backward/dh-prev-transposed",
                "dh_prev uses Wh.T: the forward multiplied h_prev @ Wh.T, so the gradient flows back "
                "as da @ Wh, (B, 4H) @ (4H, H) = (B, H).",
                mutate(_step_backward, ("dh_prev = da @ Wh", "dh_prev = da @ Wh.T")), "ch07-lstm-backward"),
        Mistake("lstm_step_backward/dx-transposed",
                "dx_t uses Wx.T: the forward multiplied x_t @ Wx.T, so the gradient flows back "
                "as da @ Wx, (B, 4H) @ (4H, D) = (B, D).",
                mutate(_step_backward, ("dx_t = da @ Wx", "dx_t = da @ Wx.T")), "ch07-lstm-backward"),
        Mistake("lstm_step_backward/returns-out-of-order",
                "Your gradients are right but come back in another order: return them in the "
                "order of the forward's arguments, (dx_t, dh_prev, dc_prev, dWx, dWh, db).",
                _backward_reordered((0, 1, 3, 4, 5, 2)), "ch07-lstm-backward"),
        Mistake("lstm_step_backward/ignores-dc-t",
                "The gradients ignore the upstream dc_t: c_t reaches the loss both through h_t "
                "and directly (through the next step's cell), so the total gradient on c_t is "
                "dc_t plus what comes through h_t.",
                _in_gates((_TOTAL_DC, "dc = dh * o * (1.0 - tanh_c**2)")), "ch07-lstm-backward"),
        Mistake("lstm_step_backward/no-tanh-derivative-on-c",
                "The gradient from h_t to c_t misses tanh's derivative: h_t = o * tanh(c_t), so "
                "c_t receives dh_t * o * (1 - tanh(c_t)**2), not dh_t * o.",
                _in_gates((_TOTAL_DC, "dc = dc + dh * o")), "ch07-lstm-backward"),
        Mistake("lstm_step_backward/one-minus-tanh-c",
                "tanh's derivative at c_t is written 1 - tanh(c_t): it is 1 - tanh(c_t)**2 "
                "(squared).",
                _in_gates((_TOTAL_DC, "dc = dc + dh * o * (1.0 - tanh_c)")), "ch07-lstm-backward"),
        Mistake("lstm_step_backward/do-uses-c",
                "The output gate's gradient uses c_t where tanh(c_t) belongs: h_t = o * tanh(c_t), "
                "so the gradient on o is dh_t * tanh(c_t).",
                _in_gates((_DO, f"da[:, 3 * H:] = dh * {_C_T} * o * (1.0 - o)")), "ch07-lstm-backward"),
        Mistake("lstm_step_backward/do-uses-dc",
                "The output gate's gradient uses the gradient on the cell: o only touches h_t = "
                "o * tanh(c_t), so its gradient is dh_t * tanh(c_t) (dh_t, not dc).",
                _in_gates((_DO, "da[:, 3 * H:] = dc * tanh_c * o * (1.0 - o)")), "ch07-lstm-backward"),
        Mistake("lstm_step_backward/df-uses-c-t",
                "The forget gate's gradient uses the new cell c_t: f multiplies the previous "
                "cell (c_t = f * c_prev + i * g), so the gradient on f is dc * c_prev.",
                _in_gates((_DF, f"da[:, H:2 * H] = dc * {_C_T} * f * (1.0 - f)")), "ch07-lstm-backward"),
        Mistake("lstm_step_backward/sigmoid-derivative-as-tanh",
                "The gates' derivatives are written 1 - s**2, tanh's: a sigmoid s has the "
                "derivative s * (1 - s).",
                _in_gates((_DI, "da[:, :H] = dc * g * (1.0 - i**2)"),
                          (_DF, "da[:, H:2 * H] = dc * c_prev * (1.0 - f**2)"),
                          (_DO, "da[:, 3 * H:] = dh * tanh_c * (1.0 - o**2)")), "ch07-lstm-backward"),
        Mistake("lstm_step_backward/no-gate-derivatives",
                "The gradients skip the sigmoids' derivatives: da for the gates i, f and o must "
                "be multiplied by s * (1 - s), the slope of the sigmoid s that made the gate.",
                _in_gates((_DI, "da[:, :H] = dc * g"), (_DF, "da[:, H:2 * H] = dc * c_prev"),
                          (_DO, "da[:, 3 * H:] = dh * tanh_c")), "ch07-lstm-backward"),
        Mistake("lstm_step_backward/no-candidate-derivative",
                "The candidate's gradient skips tanh's derivative: g = tanh(a_g), so its "
                "pre-activation receives dc * i * (1 - g**2).",
                _in_gates((_DG, "da[:, 2 * H:3 * H] = dc * i")), "ch07-lstm-backward"),
        Mistake("lstm_step_backward/sigmoid-of-gates-again",
                "The gates' slopes apply the sigmoid again: the cache holds the gates i, f, o "
                "after their sigmoid, so the slope of gate s is s * (1 - s) with s the cached "
                "value itself, not sigmoid(s) * (1 - sigmoid(s)), which is the slope at another "
                "point.",
                _in_gates((_DI, "da[:, :H] = dc * g * sigmoid(i) * (1.0 - sigmoid(i))"),
                          (_DF, "da[:, H:2 * H] = dc * c_prev * sigmoid(f) * (1.0 - sigmoid(f))"),
                          (_DO, "da[:, 3 * H:] = dh * tanh_c * sigmoid(o) * (1.0 - sigmoid(o))")),
                "ch07-lstm-backward"),
        Mistake("lstm_step_backward/candidate-sigmoid-slope",
                "The candidate g is differentiated with the sigmoid's slope g * (1 - g): g = "
                "tanh(a_g) is the one block of the four made by a tanh, so its slope is 1 - g**2 "
                "(only i, f and o are sigmoids, with slope s * (1 - s)). Its pre-activation "
                "receives dc * i * (1 - g**2).",
                _in_gates((_DG, "da[:, 2 * H:3 * H] = dc * i * g * (1.0 - g)")), "ch07-lstm-backward"),
        Mistake("lstm_step_backward/blocks-in-wrong-order",
                "The gradients of the four pre-activations are stacked in the order i, f, o, g: "
                "stack da in the forward's order, i, f, g, o, so that da @ Wx and da.T @ x_t "
                "line up with Wx's blocks.",
                _in_gates((_DG, "da[:, 3 * H:] = dc * i * (1.0 - g**2)"),
                          (_DO, "da[:, 2 * H:3 * H] = dh * tanh_c * o * (1.0 - o)")),
                "ch07-lstm-backward"),
        Mistake("lstm_step_backward/dwh-uses-h-t",
                "dWh uses h_t where h_prev belongs: the recurrent weights multiply the previous "
                "state, so dWh = da.T @ h_prev.",
                mutate(_step_backward, ("dWh = da.T @ h_prev", "dWh = da.T @ (gates[:, 3 * H:] * tanh_c)")),
                "ch07-lstm-backward"),
        Mistake("lstm_step_backward/dwx-transposed",
                "dWx is the transpose of the right answer: a gradient has the shape of what it "
                "differentiates, Wx's (4H, D), so dWx = da.T @ x_t.",
                mutate(_step_backward, ("dWx = da.T @ x_t", "dWx = x_t.T @ da")),
                "ch07-lstm-backward"),
        Mistake("lstm_step_backward/db-mean",
                "db is the mean of da over the batch: the bias is shared by every example, so "
                "its gradient is the sum, da.sum(axis=0).",
                mutate(_step_backward, ("db = da.sum(axis=0)", "db = da.mean(axis=0)")),
                "ch07-lstm-backward"),
    ],
)


def _given_forward(*args):
    # The reference step handed to a variant checked as a student's backward (rnnlib code
    # calling the reference, so the guard lets it run).
    out, cache = _step_forward(*args)
    return out, tuple(cache)


def _check_step_backward(lstm_step_forward, lstm_step_backward, hidden=False, quiet=False):
    # The backward reads the forward's cache: a wrong forward is named first, as what it is,
    # rather than as a cache that "holds wrong values".
    try:
        _check_step_forward(lstm_step_forward, hidden, quiet=True)
    except CheckFailed as err:
        raise CheckFailed(f"lstm_step_backward reads the cache of your lstm_step_forward, which "
                          f"is not right yet. Fix lstm_step_forward first: {err}",
                          mistake_id=err.mistake_id) from None
    run_backward_check(STEP_BACKWARD, lstm_step_forward, lstm_step_backward, hidden, quiet=True)
    # The gradients equal the reference's; say so with the course's own evidence too: the
    # student's backward against central differences of the student's own forward.
    # A small step (B = D = H = 2: 52 entries, 104 calls of the forward): each entry of every
    # argument is perturbed twice, and in the grader each call crosses into the confined
    # worker, so the size of this check is the size of the grading time.
    args = _step_case(case_seeds(hidden)[0], 2, 2, 2).args

    def gradient_check():
        return _check_backward(lstm_step_forward, lstm_step_backward, args, rng=1)

    errors = call_student(gradient_check, name="lstm_step_backward")
    worst = max(errors, key=errors.get)
    if errors[worst] >= 1e-7:
        raise CheckFailed(
            f"lstm_step_backward matches the reference, but the gradient check against central "
            f"differences of your lstm_step_forward fails for {worst} (relative error "
            f"{errors[worst]:.1e}): does your forward change its inputs or keep state between "
            "calls?", mistake_id="generic/gradcheck")
    if not quiet:
        print(f"lstm_step_backward: all checks passed (gradient check against central "
              f"differences of your forward: largest relative error {errors[worst]:.1e}).")


STEP_BACKWARD.check_student = lambda fn, hidden: _check_step_backward(_given_forward, fn, hidden, quiet=True)


def check_lstm_step_backward(lstm_step_forward, lstm_step_backward, hidden=False):
    """Check ``lstm_step_backward((dh_t, dc_t), cache) -> (dx_t, dh_prev, dc_prev, dWx, dWh, db)``.

    The student's forward makes the cache their backward reads (it must be the prescribed
    ``(x_t, h_prev, c_prev, gates, tanh_c, Wx, Wh)``) and is checked first; the gradients are
    compared with the reference's, and a right backward is then gradient-checked against
    central differences of the student's forward.
    """
    _check_step_backward(lstm_step_forward, lstm_step_backward, hidden)


# ---------------------------------------------------------------------------------------------
# forecast_windows

_RETURN_WINDOWS = "return X.T[:, :, None].copy(), y"


def _windows_case(seed, N, window, horizon):
    rng = np.random.default_rng(seed)
    series = np.round(rng.standard_normal(N), 3)
    M = N - window - horizon + 1
    return Case(f"N={N}, window={window}, horizon={horizon}, so M={M} examples", (series, window, horizon))


def _windows_cases(hidden):
    shapes = [(12, 4, 1), (15, 5, 3), (6, 5, 1)] if hidden else [(10, 3, 1), (11, 4, 2), (9, 3, 2)]
    return [_windows_case(seed, *s) for seed in case_seeds(hidden) for s in shapes]


def _target_overlaps(series, window, horizon=1):
    x, y = _windows(series, window, horizon)
    # y[i] = series[i + window - 1 : ...]: the windows of length window - 1 have those targets.
    return x, _windows(series, window - 1, horizon)[1][: y.shape[0]]


def _horizon_ignored(series, window, horizon=1):
    return _windows(series, window, 1)


WINDOWS = Exercise(
    name="forecast_windows",
    reference=_windows,
    cases=_windows_cases,
    returns=("x", "y"),
    time_axis={"x": 0},
    arg_names=("series", "window", "horizon"),
    section="ch07-windows",
    mistakes=[
        Mistake("forecast_windows/example-major",
                "x is example-major, shape (M, window, 1), one example per row: an RNN reads "
                "time-major arrays, x[t] is the batch of values at step t, so x has shape "
                "(window, M, 1). Swap the first two axes.",
                mutate(_windows, (_RETURN_WINDOWS, "return X[:, :, None].copy(), y")), "ch07-windows"),
        Mistake("forecast_windows/reshaped-not-transposed",
                "x has the right shape, but its windows are scrambled: X.reshape(window, M, 1) "
                "refills the numbers of the (M, window) windows row by row into the new shape, so "
                "a column of x is not one window. Turn the windows into columns with a transpose, "
                "X.T[:, :, None] (or np.swapaxes): x[:, i, 0] must be series[i : i + window].",
                mutate(_windows, (_RETURN_WINDOWS, "return X.reshape(X.shape[1], X.shape[0], 1).copy(), y")),
                "ch07-windows"),
        Mistake("forecast_windows/targets-past-the-end",
                "The last windows' targets run past the end of the series: each window needs "
                "horizon values after it, so there are only M = N - window - horizon + 1 windows, "
                "the last target ending exactly at the last value.",
                mutate(_windows, ("M = len(series) - window - horizon + 1", "M = len(series) - window"),
                       inner=_data.sliding_windows), "ch07-windows", crashes=PAST_THE_END),
        Mistake("forecast_windows/y-squeezed",
                "y has lost its horizon axis: keep it, y has shape (M, horizon) even when "
                "horizon = 1, y[i] = series[i + window : i + window + horizon].",
                mutate(_windows, (_RETURN_WINDOWS, "return X.T[:, :, None].copy(), (y[:, 0] if horizon == 1 else y)")),
                "ch07-windows"),
        Mistake("forecast_windows/no-feature-axis",
                "x has shape (window, M): add the feature axis, (window, M, 1), as the RNN "
                "expects x of shape (T, B, D) with D = 1 here.",
                mutate(_windows, (_RETURN_WINDOWS, "return X.T.copy(), y")), "ch07-windows"),
        Mistake("forecast_windows/target-overlaps-window",
                "y starts with the last value of its window: the target must come right after "
                "it, y[i] = series[i + window : i + window + horizon]. (A target inside the "
                "window is the last-value forecast's answer, free to learn.)",
                _target_overlaps, "ch07-windows"),
        Mistake("forecast_windows/one-window-too-few",
                "The last window is missing: with N values there are M = N - window - horizon "
                "+ 1 windows (the last one starts at N - window - horizon).",
                mutate(_windows, (_RETURN_WINDOWS, "return X[:-1].T[:, :, None].copy(), y[:-1]")),
                "ch07-windows"),
        Mistake("forecast_windows/y-transposed",
                "y has shape (horizon, M): one row per example, y of shape (M, horizon), "
                "y[i] = series[i + window : i + window + horizon].",
                mutate(_windows, (_RETURN_WINDOWS, "return X.T[:, :, None].copy(), y.T.copy()")),
                "ch07-windows"),
        Mistake("forecast_windows/horizon-ignored",
                "Your windows ignore the horizon: each target holds the horizon values right "
                "after its window, and the last window must leave room for them, so there are "
                "M = N - window - horizon + 1 windows.",
                _horizon_ignored, "ch07-windows"),
    ],
)


def check_forecast_windows(forecast_windows, hidden=False):
    """Check ``forecast_windows(series, window, horizon=1) -> (x (window, M, 1), y (M, horizon))``.

    Parameters
    ----------
    forecast_windows : callable
        The student's function.
    hidden : bool
        Hidden tests: other seeds and sizes, a series with a single window (``M = 1``).
    """
    run_check(WINDOWS, forecast_windows, hidden)




# ---------------------------------------------------------------------------------------------
# last_value_forecast

_LAST = "return np.repeat(x[-1, :, :1], horizon, axis=1)"


def _last_value_cases(hidden):
    # A visible case with B = 1 too: an x[-1].squeeze() that also drops the batch axis shows.
    shapes = [(1, 3, 2), (6, 1, 1), (4, 5, 4)] if hidden else [(5, 3, 1), (4, 2, 3), (6, 4, 2), (3, 1, 2)]
    cases = []
    for seed in case_seeds(hidden):
        for T, B, horizon in shapes:
            rng = np.random.default_rng(seed)
            cases.append(Case(f"seed {seed}, T={T}, B={B}, horizon={horizon}",
                              (rng.standard_normal((T, B, 1)), horizon), {}, {"T": T}))
    return cases


LAST_VALUE = Exercise(
    name="last_value_forecast",
    reference=_last_value,
    cases=_last_value_cases,
    returns=("forecast",),
    arg_names=("x", "horizon"),
    section="ch07-baseline",
    mistakes=[
        Mistake("last_value_forecast/first-step",
                "You repeat the first value of each window, x[0]: the forecast is the last value "
                "seen, x[-1] (time runs down the first axis).",
                mutate(_last_value, (_LAST, "return np.repeat(x[0, :, :1], horizon, axis=1)")),
                "ch07-baseline"),
        Mistake("last_value_forecast/one-step-early",
                "You repeat the second-to-last value, x[-2]: the last value seen is x[-1] "
                "(x[T - 1] for a window of T values).",
                mutate(_last_value, (_LAST, "return np.repeat(x[-2, :, :1], horizon, axis=1)")),
                "ch07-baseline"),
        Mistake("last_value_forecast/window-mean",
                "You repeat the mean of the window: the baseline repeats its last value, x[-1].",
                mutate(_last_value, (_LAST, "return np.repeat(x.mean(axis=0)[:, :1], horizon, axis=1)")),
                "ch07-baseline"),
        Mistake("last_value_forecast/transposed",
                "The forecast has shape (horizon, B): one row per example, shape (B, horizon), "
                "row b repeating x[-1, b, 0].",
                mutate(_last_value, (_LAST, "return np.repeat(x[-1, :, :1], horizon, axis=1).T")),
                "ch07-baseline"),
        Mistake("last_value_forecast/batch-major",
                "You take x[:, -1], the last example's whole window (the batch-major habit): x is "
                "time-major, (T, B, 1), so the last value of every window is x[-1, :, 0], one per "
                "example.",
                mutate(_last_value, (_LAST, "return np.repeat(x[:, -1, :1], horizon, axis=1)")),
                "ch07-baseline"),
        Mistake("last_value_forecast/first-example-everywhere",
                "Every row repeats the first example's last value, x[-1, 0, 0]: row b repeats its "
                "own example's last value, x[-1, b, 0].",
                mutate(_last_value, (_LAST, "return np.repeat(np.repeat(x[-1, :1, :1], x.shape[1], axis=0), "
                                            "horizon, axis=1)")),
                "ch07-baseline"),
        Mistake("last_value_forecast/repeated-down-the-rows",
                "np.repeat along axis 0 puts the copies under each other, (B * horizon, 1): repeat "
                "along axis 1, the columns, so that row b holds x[-1, b, 0] horizon times, "
                "(B, horizon).",
                mutate(_last_value, (_LAST, "return np.repeat(x[-1, :, :1], horizon, axis=0)")),
                "ch07-baseline"),
        Mistake("last_value_forecast/repeat-without-axis",
                "The forecast is flat, (B * horizon,): np.repeat without axis= flattens its input "
                "first. Give the axis: np.repeat(x[-1, :, :1], horizon, axis=1) turns the (B, 1) "
                "last values into (B, horizon).",
                mutate(_last_value, (_LAST, "return np.repeat(x[-1, :, :1], horizon)")),
                "ch07-baseline"),
        Mistake("last_value_forecast/tiled-then-reshaped",
                "Rows mix the values of different examples: np.tile(last, horizon) writes the B "
                "last values one copy after another, [v_0, ..., v_(B-1), v_0, ...], and "
                ".reshape(B, horizon) cuts that list into rows in that order (a reshape never "
                "moves numbers between axes). Repeat along a new axis instead: "
                "np.tile(last[:, None], (1, horizon)), or np.repeat(x[-1, :, :1], horizon, axis=1), "
                "so that row b holds x[-1, b, 0] horizon times.",
                mutate(_last_value, (_LAST, "return np.tile(x[-1, :, 0], horizon).reshape(x.shape[1], horizon)")),
                "ch07-baseline"),
        Mistake("last_value_forecast/squeezes-the-batch-axis",
                "x[-1].squeeze() (or np.squeeze) removes every axis of length 1: with a single "
                "example, B = 1, it removes the batch axis too, and the last value is left as a "
                "0-d array. Index the axis you mean instead: x[-1, :, 0] is (B,) for every B "
                "(x[-1, :, :1] is (B, 1)).",
                mutate(_last_value, (_LAST, "last = x[-1].squeeze()\n    return np.repeat(last[:, None], horizon, axis=1)")),
                "ch07-baseline", crashes=("0-dimensional",)),
        Mistake("last_value_forecast/horizon-ignored",
                "The forecast has one column: it must repeat the last value horizon times, "
                "shape (B, horizon).",
                mutate(_last_value, (_LAST, "return np.repeat(x[-1, :, :1], 1, axis=1)")),
                "ch07-baseline"),
    ],
)


def check_last_value_forecast(last_value_forecast, hidden=False):
    """Check ``last_value_forecast(x (T, B, 1), horizon=1) -> (B, horizon)``.

    Parameters
    ----------
    last_value_forecast : callable
        The student's function.
    hidden : bool
        Hidden tests: other seeds, ``T = 1``, ``B = 1``.
    """
    run_check(LAST_VALUE, last_value_forecast, hidden)


# ---------------------------------------------------------------------------------------------
# Conceptual questions

QUESTIONS, _check_questions = question_set("ch07_questions", [
    Question(
        "lstm_parameters", 4 * 8 * (3 + 8 + 1),
        "The number of parameters of an LSTM cell (Wx, Wh and b) with D = 3 inputs and H = 8",
        "Count the entries of Wx (4H, D), Wh (4H, H) and b (4H,).",
        wrong=(
            Wrong(8 * (3 + 8 + 1), "lstm-parameters-one-block",
                  "That is one block, as many as a vanilla RNN cell of the same size: an LSTM "
                  "stacks four blocks (i, f, g, o), each with its own input weights, recurrent "
                  "weights and bias, so Wx is (4H, D), Wh (4H, H) and b (4H,)."),
            Wrong(3 * 8 * (3 + 8 + 1), "lstm-parameters-three-blocks",
                  "That counts the three gates but not the candidate g, which has its own "
                  "weights too: four blocks (i, f, g, o)."),
            Wrong(4 * 8 * (3 + 8), "lstm-parameters-no-bias",
                  "You left out the bias b, which has 4H entries."),
            Wrong(4 * 8 * (3 + 8 + 2), "lstm-parameters-two-biases",
                  "PyTorch stores two bias vectors, but they only ever appear as a sum: the "
                  "cell has one bias b of 4H entries (the other adds no expressive power)."),
        ),
        section="ch07-lstm-cell"),
    Question(
        "forget_everything", "f",
        "The gate that, set to 0 at one step, erases what the cell state held ('i', 'f', 'g' "
        "or 'o')",
        "Look at c_t = f * c_prev + i * g: which factor decides whether c_prev survives?",
        wrong=(
            Wrong("o", "forget-everything-output-gate",
                  "o = 0 hides the cell from h_t (h_t = o * tanh(c_t) = 0) for this step, but "
                  "c_t = f * c_prev + i * g does not involve o: the cell keeps its content."),
            Wrong("i", "forget-everything-input-gate",
                  "i = 0 writes nothing new (i * g = 0), but c_t = f * c_prev + i * g still "
                  "keeps f * c_prev: the old content survives."),
            Wrong("g", "forget-everything-candidate",
                  "g = 0 makes the new content zero (i * g = 0), but c_t = f * c_prev + i * g "
                  "still keeps f * c_prev: the old content survives."),
        ),
        section="ch07-lstm-cell"),
    Question(
        "cell_path_factor", 0.9 ** 50,
        "The factor by which the cell path alone multiplies the gradient from c_50 back to c_0 "
        "when every forget gate is 0.9",
        "One step back along the cell path multiplies by f (dc_prev = dc * f); repeat that for "
        "every step between c_50 and c_0.",
        wrong=(
            Wrong(0.9, "cell-path-factor-one-step",
                  "That is the factor of one step: going back 50 steps multiplies 50 of them, "
                  "0.9 * 0.9 * ... * 0.9."),
            Wrong(1.0, "cell-path-factor-lossless",
                  "The cell path has no weight matrix and no tanh', but every step still "
                  "multiplies by its forget gate: 50 factors of 0.9. A forget gate of 0.9 is "
                  "not 'near 1' over 50 steps."),
            Wrong(0.9 ** 49, "cell-path-factor-49-steps",
                  "That is 49 factors: from c_50 back to c_0 there are 50 steps, each with its own "
                  "forget gate (c_50 = f_50 * c_49 + ..., down to c_1 = f_1 * c_0), so 0.9 ** 50."),
            Wrong(0.9 * 50, "cell-path-factor-sum",
                  "The chain rule multiplies the factors of successive steps; it does not add "
                  "them."),
        ),
        section="ch07-gradient-path"),
    Question(
        "last_value_3_ahead", 0.4,
        "The last-value forecast, three steps ahead, after the window 0.2, 0.5, -0.1, 0.4",
        "The baseline repeats one value of the window for every future step: which one?",
        wrong=(
            Wrong(0.2, "last-value-first", "0.2 is the first value of the window; the baseline "
                  "repeats the last one."),
            Wrong(0.25, "last-value-mean", "0.25 is the window's mean; the baseline repeats its "
                  "last value."),
            Wrong(1.9, "last-value-extrapolated", "The baseline does not follow the trend (0.4 + "
                  "3 * 0.5 = 1.9): it repeats the last value for every future step."),
        ),
        section="ch07-baseline"),
], section="ch07")


def check_ch07_questions(answers, hidden=False):
    """Check the chapter's conceptual questions: a dict ``{key: answer}``.

    Parameters
    ----------
    answers : dict
        ``"lstm_parameters"``, ``"forget_everything"``, ``"cell_path_factor"``,
        ``"last_value_3_ahead"``.
    hidden : bool
        Accepted for symmetry with the other checkers (the questions are the same).
    """
    if isinstance(answers, dict) and answers and all(v is None or v is ... for v in answers.values()):
        raise NotImplementedError("Answer the questions: replace each None by your answer.")
    if isinstance(answers, dict):
        for key in ("lstm_parameters", "cell_path_factor", "last_value_3_ahead"):
            value = answers.get(key)
            if isinstance(value, str):
                raise CheckFailed(
                    f"answers[{key!r}] is the text {value!r}: write the number itself, or an "
                    "expression that computes it (such as 2 * 3 + 1), without quotes.",
                    mistake_id="generic/type")
            if isinstance(value, (list, tuple, _ndarray)):
                raise CheckFailed(f"answers[{key!r}] should be one number, not {fmt_shape(value)}.",
                                  mistake_id="generic/type")
        letter = answers.get("forget_everything")
        if isinstance(letter, str) and len(letter.strip()) > 1:
            raise CheckFailed(f"answers['forget_everything'] is {letter!r}: answer with one "
                              "letter, 'i', 'f', 'g' or 'o'.", mistake_id="generic/type")
    _check_questions(answers, hidden)
