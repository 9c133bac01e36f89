"""Checkers for chapter 7, beyond the vanilla RNN: the LSTM step, forecasting windows and the
"last value" baseline.

The LSTM step is diagnosed like the RNN step: when it is wrong, try the classic mistakes (the
gates read in another order, a sigmoid where the candidate needs tanh, ``h = o * c`` without
the tanh, a cell state that forgets ``c_prev``) and name the one that matches.
"""
from __future__ import annotations

import itertools

import numpy as np

from rnnlib import forecast as _forecast
from rnnlib import lstm as _lstm
from rnnlib.checks._core import (
    CheckFailed,
    call_student,
    case_seeds,
    close,
    fmt_shape,
    require_array,
    require_close,
)

__all__ = [
    "check_lstm_step_forward",
    "check_lstm_step_backward",
    "check_forecast_windows",
    "check_last_value_forecast",
]

_step_forward = _lstm.lstm_step_forward
_step_backward = _lstm.lstm_step_backward
_windows = _forecast.forecast_windows
_last_value = _forecast.last_value_forecast
_tanh = np.tanh
_ndarray = np.ndarray
_GATES = ("i", "f", "g", "o")


def _sigmoid(z):
    return 0.5 * (1.0 + _tanh(0.5 * z))


def _step_inputs(rng, B, D, H):
    return (
        rng.standard_normal((B, D)),
        rng.standard_normal((B, H)),
        rng.standard_normal((B, H)),
        rng.standard_normal((4 * H, D)) * 0.6,
        rng.standard_normal((4 * H, H)) * 0.6,
        rng.standard_normal(4 * H) * 0.6,
    )


def _student_states(fn, args, context):
    out = call_student(fn, *args)
    ok = (isinstance(out, tuple) and len(out) == 2 and isinstance(out[0], tuple)
          and len(out[0]) == 2)
    if not ok:
        raise CheckFailed(
            f"{fn.__name__} should return ((h_t, c_t), cache), a pair whose first element is "
            f"the pair of new states; it returned {fmt_shape(out)}.{context}"
        )
    return out[0], out[1]


def _manual_step(x, h, c, Wx, Wh, b, *, order=(0, 1, 2, 3), g_act=_tanh, gate_act=_sigmoid,
                 tanh_c=True, forget=True):
    H = h.shape[1]
    a = x @ Wx.T + h @ Wh.T + b
    blocks = [a[:, k * H:(k + 1) * H] for k in range(4)]
    ai, af, ag, ao = (blocks[k] for k in order)
    i, f, g, o = gate_act(ai), gate_act(af), g_act(ag), gate_act(ao)
    c_t = (f * c if forget else 0.0) + i * g
    h_t = o * (_tanh(c_t) if tanh_c else c_t)
    return h_t, c_t


def _diagnose_lstm(h, c, args):
    x, h_prev, c_prev, Wx, Wh, b = args
    for order in itertools.permutations(range(4)):
        if order == (0, 1, 2, 3):
            continue
        hh, cc = _manual_step(*args, order=order)
        if close(h, hh) and close(c, cc):
            names = ", ".join(_GATES[k] for k in order)
            return (f"Your gates read the blocks of Wx, Wh and b in another order. Rows [0:H] "
                    f"belong to i, [H:2H] to f, [2H:3H] to g and [3H:4H] to o (PyTorch's "
                    f"order); you use the blocks of ({names}) for (i, f, g, o).")
    if close(c, _manual_step(*args, g_act=_sigmoid)[1]):
        return "The candidate g uses a sigmoid: g = tanh(...), only the three gates use sigmoid."
    if close(c, _manual_step(*args, gate_act=_tanh)[1]):
        return "The gates use tanh: i, f and o are sigmoids (numbers between 0 and 1)."
    if close(c, _manual_step(*args, forget=False)[1]):
        return "c_t ignores c_prev: the cell keeps f * c_prev and adds i * g."
    hh, cc = _manual_step(*args)
    if close(c, cc):
        if close(h, _manual_step(*args, tanh_c=False)[0]):
            return "c_t is right but h_t = o * c_t: squash the cell first, h_t = o * tanh(c_t)."
        if close(h, _tanh(cc)):
            return "c_t is right but h_t lacks the output gate: h_t = o * tanh(c_t)."
        return "c_t is right but h_t is not: h_t = o * tanh(c_t)."
    if close(h, cc) and close(c, hh):
        return "h_t and c_t are swapped: return ((h_t, c_t), cache)."
    return ("Compute the four pre-activations in one product, a = x_t @ Wx.T + h_prev @ Wh.T + b "
            "(shape (B, 4H)), then split it into i, f, g, o in that order.")


def check_lstm_step_forward(lstm_step_forward, hidden=False):
    """Check ``lstm_step_forward(x_t, h_prev, c_prev, Wx, Wh, b) -> ((h_t, c_t), cache)``.

    Gates stacked in the order ``i, f, g, o``: ``Wx (4H, D)``, ``Wh (4H, H)``, ``b (4H,)``.
    """
    shapes = [(1, 3, 4), (5, 2, 6), (3, 3, 3)] if hidden else [(3, 4, 5), (2, 6, 3)]
    for seed in case_seeds(hidden):
        for B, D, H in shapes:
            rng = np.random.default_rng(seed)
            args = _step_inputs(rng, B, D, H)
            (h_want, c_want), _ = _step_forward(*args)
            context = f" (seed {seed}, B={B}, D={D}, H={H})"
            (h, c), _ = _student_states(lstm_step_forward, args, context)
            require_array(h, (B, H), f"h_t{context}")
            require_array(c, (B, H), f"c_t{context}")
            if close(h, h_want) and close(c, c_want):
                continue
            raise CheckFailed(f"lstm_step_forward gives wrong states{context}. "
                              + _diagnose_lstm(h, c, args))
    print("lstm_step_forward: all checks passed.")


_GRAD_NAMES = ("dx_t", "dh_prev", "dc_prev", "dWx", "dWh", "db")


def check_lstm_step_backward(lstm_step_forward, lstm_step_backward, hidden=False):
    """Check ``lstm_step_backward((dh_t, dc_t), cache) -> (dx_t, dh_prev, dc_prev, dWx, dWh, db)``.

    The student's forward makes the cache their backward reads; its results are compared with
    the reference gradients (which pass rnnlib's gradient check).
    """
    shapes = [(1, 3, 4), (4, 2, 3)] if hidden else [(3, 4, 5)]
    for seed in case_seeds(hidden):
        for B, D, H in shapes:
            rng = np.random.default_rng(seed)
            args = _step_inputs(rng, B, D, H)
            dh, dc = rng.standard_normal((B, H)), rng.standard_normal((B, H))
            _, ref_cache = _step_forward(*args)
            want = _step_backward((dh, dc), ref_cache)
            context = f" (seed {seed}, B={B}, D={D}, H={H})"
            _, cache = _student_states(lstm_step_forward, args, context)
            got = call_student(lstm_step_backward, (dh, dc), cache)
            if not (isinstance(got, tuple) and len(got) == 6):
                raise CheckFailed(
                    f"lstm_step_backward should return 6 gradients ({', '.join(_GRAD_NAMES)}), "
                    f"but it returned {fmt_shape(got)}.{context}"
                )
            for name, g, w in zip(_GRAD_NAMES, got, want):
                if isinstance(g, _ndarray) and g.ndim == 2 and g.shape == w.shape[::-1] \
                        and close(g.T, w):
                    raise CheckFailed(f"{name} is the transpose of the right answer.{context}")
                require_close(g, w, name, rtol=1e-6, atol=1e-9, context=context)
    print("lstm_step_backward: all checks passed.")


def check_forecast_windows(forecast_windows, hidden=False):
    """Check ``forecast_windows(series, window, horizon=1) -> (x (window, M, 1), y (M, horizon))``."""
    cases = [(12, 4, 1), (15, 5, 3)] if hidden else [(10, 3, 1), (11, 4, 2)]
    if hidden:
        cases.append((6, 5, 1))  # a single window (M = 1)
    for seed in case_seeds(hidden):
        for N, window, horizon in cases:
            rng = np.random.default_rng(seed)
            series = np.round(rng.standard_normal(N), 3)
            x_want, y_want = _windows(series, window, horizon)
            M = N - window - horizon + 1
            context = f" (N={N}, window={window}, horizon={horizon}, so M={M} examples)"
            out = call_student(forecast_windows, series, window, horizon)
            if not (isinstance(out, tuple) and len(out) == 2):
                raise CheckFailed(f"forecast_windows should return a pair (x, y), not {fmt_shape(out)}.{context}")
            x, y = out
            if isinstance(x, _ndarray) and x.shape == (M, window, 1):
                raise CheckFailed(
                    f"x has shape {x.shape}, one example per row; an RNN reads time-major "
                    f"arrays, shape (window, M, 1) = {(window, M, 1)}: swap the first two axes.{context}"
                )
            if isinstance(x, _ndarray) and x.shape == (window, M):
                raise CheckFailed(
                    f"x has shape {x.shape}: add the feature axis, (window, M, 1).{context}"
                )
            require_array(x, (window, M, 1), f"x{context}")
            if isinstance(y, _ndarray) and y.shape == (horizon, M) and horizon != M:
                raise CheckFailed(f"y has shape {y.shape}; expected (M, horizon) = {(M, horizon)}.{context}")
            require_array(y, (M, horizon), f"y{context}")
            if not close(x, x_want):
                raise CheckFailed(
                    f"x has the right shape but wrong values: x[:, i, 0] must be "
                    f"series[i : i + window].{context}"
                )
            if not close(y, y_want):
                shifted = np.stack([series[i + window - 1: i + window - 1 + horizon] for i in range(M)])
                if close(y, shifted):
                    raise CheckFailed(
                        "y starts with the last value of its window: the target must come right "
                        f"after it, y[i] = series[i + window : i + window + horizon].{context}"
                    )
                raise CheckFailed(
                    f"y has the right shape but wrong values: y[i] = series[i + window : i + "
                    f"window + horizon].{context}"
                )
    print("forecast_windows: all checks passed.")


def check_last_value_forecast(last_value_forecast, hidden=False):
    """Check ``last_value_forecast(x (T, B, 1), horizon=1) -> (B, horizon)``."""
    shapes = [(1, 3, 2), (6, 1, 1), (4, 5, 4)] if hidden else [(5, 3, 1), (4, 2, 3)]  # (T, B, horizon)
    for seed in case_seeds(hidden):
        for T, B, horizon in shapes:
            rng = np.random.default_rng(seed)
            x = rng.standard_normal((T, B, 1))
            want = _last_value(x, horizon)
            context = f" (T={T}, B={B}, horizon={horizon})"
            got = call_student(last_value_forecast, x, horizon)
            if isinstance(got, _ndarray) and got.shape == (horizon, B) and horizon != B:
                raise CheckFailed(
                    f"The forecast has shape {got.shape}; expected (B, horizon) = {(B, horizon)}: "
                    f"one row per example.{context}"
                )
            require_array(got, (B, horizon), f"the forecast{context}")
            if close(got, want):
                continue
            if T > 1 and close(got, np.repeat(x[0], horizon, axis=1)):
                raise CheckFailed(
                    f"You repeat the first value of each window, x[0]; the forecast is the last one, "
                    f"x[-1].{context}"
                )
            if T > 1 and close(got, np.repeat(x.mean(axis=0), horizon, axis=1)):
                raise CheckFailed(f"You repeat the mean of the window; use its last value x[-1].{context}")
            raise CheckFailed(
                f"Wrong values: row b must repeat x[-1, b, 0] horizon times.{context}"
            )
    print("last_value_forecast: all checks passed.")
