"""Long short-term memory (Hochreiter & Schmidhuber, 1997): one step and a whole sequence.

Beside the hidden state ``h`` an LSTM carries a cell state ``c`` that is updated by addition,
under the control of three gates (numbers in ``(0, 1)``) and a candidate value::

    i = sigmoid(W_xi x_t + W_hi h_{t-1} + b_i)     input gate: how much to write
    f = sigmoid(W_xf x_t + W_hf h_{t-1} + b_f)     forget gate: how much to keep
    g = tanh(W_xg x_t + W_hg h_{t-1} + b_g)        candidate: what to write
    o = sigmoid(W_xo x_t + W_ho h_{t-1} + b_o)     output gate: how much to show
    c_t = f * c_{t-1} + i * g
    h_t = o * tanh(c_t)

Along the cell path the gradient is multiplied by ``f`` at each step, not by a weight matrix
and a ``tanh'``: with ``f`` near 1 it survives long time lags.

The four gates' weights are stacked in PyTorch's order ``(i, f, g, o)``: ``Wx (4H, D)``,
``Wh (4H, H)``, ``b (4H,)``, rows ``[0:H]`` for ``i``, ``[H:2H]`` for ``f``, ``[2H:3H]`` for
``g``, ``[3H:4H]`` for ``o`` (``nn.LSTM.weight_ih_l0``, ``weight_hh_l0``, and
``bias_ih_l0 + bias_hh_l0``). Shapes: ``x (T, B, D)``, states ``(B, H)``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnlib.rnn import input_terms, recurrent_weight_gradient

__all__ = [
    "LSTMStepCache",
    "LSTMCache",
    "sigmoid",
    "lstm_step_forward",
    "lstm_step_backward",
    "lstm_recurrence_forward",
    "lstm_recurrence_backward",
    "lstm_forward",
    "lstm_backward",
]


def sigmoid(z):
    """Logistic function ``1 / (1 + exp(-z))``, computed without overflow.

    Parameters
    ----------
    z : ndarray

    Returns
    -------
    ndarray, same shape, values in ``(0, 1)``
    """
    # The identity sigmoid(z) = (1 + tanh(z/2)) / 2 never exponentiates a large number.
    return 0.5 * (1.0 + np.tanh(0.5 * z))


class LSTMStepCache(NamedTuple):
    """What :func:`lstm_step_backward` needs from :func:`lstm_step_forward`."""

    x_t: np.ndarray  # (B, D)
    h_prev: np.ndarray  # (B, H)
    c_prev: np.ndarray  # (B, H)
    gates: np.ndarray  # (B, 4H): i, f, g, o after their nonlinearities
    tanh_c: np.ndarray  # (B, H): tanh(c_t)
    Wx: np.ndarray  # (4H, D)
    Wh: np.ndarray  # (4H, H)


class LSTMCache(NamedTuple):
    """What :func:`lstm_backward` needs from :func:`lstm_forward`."""

    x: np.ndarray  # (T, B, D)
    h0: np.ndarray  # (B, H)
    c0: np.ndarray  # (B, H)
    hs: np.ndarray  # (T, B, H)
    cs: np.ndarray  # (T, B, H); cs[-1] is the last cell state, to carry into the next chunk
    gates: np.ndarray  # (T, B, 4H)
    Wx: np.ndarray  # (4H, D)
    Wh: np.ndarray  # (4H, H)


def _activate(a, H):
    # a holds the four pre-activations side by side; activate each block in place.
    a[:, : 2 * H] = sigmoid(a[:, : 2 * H])  # i, f
    a[:, 2 * H: 3 * H] = np.tanh(a[:, 2 * H: 3 * H])  # g
    a[:, 3 * H:] = sigmoid(a[:, 3 * H:])  # o
    return a


def _gates_backward(dh, dc, gates, c_prev, tanh_c, H):
    # Shared by the step and the sequence backward. Returns d(pre-activations) (B, 4H) and
    # the gradient on c_prev.
    i, f, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
    # Two paths into c_t: from the future (dc) and through h_t = o * tanh(c_t).
    dc = dc + dh * o * (1.0 - tanh_c**2)
    da = np.empty_like(gates)
    da[:, :H] = dc * g * i * (1.0 - i)  # sigmoid' = s (1 - s)
    da[:, H:2 * H] = dc * c_prev * f * (1.0 - f)
    da[:, 2 * H:3 * H] = dc * i * (1.0 - g**2)  # tanh' = 1 - tanh^2
    da[:, 3 * H:] = dh * tanh_c * o * (1.0 - o)
    return da, dc * f


def lstm_step_forward(x_t, h_prev, c_prev, Wx, Wh, b):
    """One LSTM step.

    Parameters
    ----------
    x_t : (B, D) ndarray
    h_prev : (B, H) ndarray
    c_prev : (B, H) ndarray
    Wx : (4H, D) ndarray
        Input weights of the gates ``i, f, g, o`` stacked in that order.
    Wh : (4H, H) ndarray
        Recurrent weights, same order.
    b : (4H,) ndarray
        Biases, same order.

    Returns
    -------
    (h_t, c_t) : tuple of (B, H) ndarray
        New hidden and cell states.
    cache : LSTMStepCache
    """
    H = h_prev.shape[1]
    gates = _activate(x_t @ Wx.T + h_prev @ Wh.T + b, H)
    i, f, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
    c_t = f * c_prev + i * g
    tanh_c = np.tanh(c_t)
    h_t = o * tanh_c
    return (h_t, c_t), LSTMStepCache(x_t, h_prev, c_prev, gates, tanh_c, Wx, Wh)


def lstm_step_backward(dout, cache):
    """Backward pass of :func:`lstm_step_forward`.

    Parameters
    ----------
    dout : tuple (dh_t, dc_t) of (B, H) ndarray
        Gradients of the loss with respect to ``h_t`` and ``c_t``.
    cache : LSTMStepCache
        Or any tuple with its fields in its order, ``(x_t, h_prev, c_prev, gates, tanh_c,
        Wx, Wh)``.

    Returns
    -------
    dx_t : (B, D) ndarray
    dh_prev : (B, H) ndarray
    dc_prev : (B, H) ndarray
    dWx : (4H, D) ndarray
    dWh : (4H, H) ndarray
    db : (4H,) ndarray
    """
    dh_t, dc_t = dout
    x_t, h_prev, c_prev, gates, tanh_c, Wx, Wh = cache
    H = dh_t.shape[1]
    da, dc_prev = _gates_backward(dh_t, dc_t, gates, c_prev, tanh_c, H)
    dx_t = da @ Wx
    dh_prev = da @ Wh
    dWx = da.T @ x_t
    dWh = da.T @ h_prev
    db = da.sum(axis=0)
    return dx_t, dh_prev, dc_prev, dWx, dWh, db


def lstm_recurrence_forward(a, h0, c0, Wh):
    """The LSTM loop over a whole sequence, given its input terms ``a_t = x_t @ Wx.T + b``.

    Parameters
    ----------
    a : (T, B, 4H) ndarray
        Input terms of the four gates at every step (:func:`rnnlib.rnn.input_terms`).
        Overwritten: ``a[t]`` ends up holding step t's activated gates ``i, f, g, o``.
    h0, c0 : (B, H) ndarray
        Initial hidden and cell states.
    Wh : (4H, H) ndarray

    Returns
    -------
    hs, cs : (T, B, H) ndarray
        Hidden and cell states after each step.
    gates : (T, B, 4H) ndarray
        The array ``a``, holding the gates.
    """
    T, B, H4 = a.shape
    H = H4 // 4
    hs = np.empty((T, B, H), dtype=a.dtype)
    cs = np.empty((T, B, H), dtype=a.dtype)
    h, c = h0, c0
    for t in range(T):
        gates = _activate(np.add(a[t], h @ Wh.T, out=a[t]), H)  # a[t] now holds gates
        c = cs[t] = gates[:, H:2 * H] * c + gates[:, :H] * gates[:, 2 * H:3 * H]
        h = hs[t] = gates[:, 3 * H:] * np.tanh(c)
    return hs, cs, a


def lstm_recurrence_backward(dhs, hs, cs, gates, h0, c0, Wh):
    """Backpropagation through time for :func:`lstm_recurrence_forward`.

    Parameters
    ----------
    dhs : (T, B, H) ndarray
        Upstream gradient on every hidden state.
    hs, cs : (T, B, H) ndarray
    gates : (T, B, 4H) ndarray
    h0, c0 : (B, H) ndarray
    Wh : (4H, H) ndarray

    Returns
    -------
    das : (T, B, 4H) ndarray
        Gradient on each step's gate pre-activations (and so on its input terms).
    dh0, dc0 : (B, H) ndarray

    Notes
    -----
    The loop carries two gradients backwards, on ``h`` and on ``c``. As in
    :func:`rnnlib.rnn.recurrence_backward` only what the earlier step needs stays in the
    loop; the weights' gradients are formed afterwards in single products.
    """
    T, B, H = hs.shape
    das = np.empty_like(gates)
    dh_next = np.zeros_like(h0)
    dc_next = np.zeros_like(c0)
    for t in range(T - 1, -1, -1):
        c_prev = cs[t - 1] if t > 0 else c0
        das[t], dc_next = _gates_backward(dhs[t] + dh_next, dc_next, gates[t], c_prev,
                                          np.tanh(cs[t]), H)
        dh_next = das[t] @ Wh
    return das, dh_next, dc_next


def lstm_forward(x, h0, c0, Wx, Wh, b):
    """Run an LSTM over a whole sequence.

    Parameters
    ----------
    x : (T, B, D) ndarray
    h0, c0 : (B, H) ndarray
        Initial hidden and cell states.
    Wx : (4H, D) ndarray
    Wh : (4H, H) ndarray
    b : (4H,) ndarray

    Returns
    -------
    hs : (T, B, H) ndarray
        Hidden state after each step.
    cache : LSTMCache
        ``cache.cs[-1]`` is the last cell state.
    """
    hs, cs, gates = lstm_recurrence_forward(input_terms(x, Wx, b), h0, c0, Wh)
    return hs, LSTMCache(x, h0, c0, hs, cs, gates, Wx, Wh)


def lstm_backward(dhs, cache):
    """Backpropagation through time for :func:`lstm_forward`.

    Parameters
    ----------
    dhs : (T, B, H) ndarray
        Upstream gradient on every hidden state.
    cache : LSTMCache

    Returns
    -------
    dx : (T, B, D) ndarray
    dh0 : (B, H) ndarray
    dc0 : (B, H) ndarray
    dWx : (4H, D) ndarray
    dWh : (4H, H) ndarray
    db : (4H,) ndarray
    """
    x, h0, c0, hs, cs, gates, Wx, Wh = cache
    T, B, D = x.shape
    das, dh0, dc0 = lstm_recurrence_backward(dhs, hs, cs, gates, h0, c0, Wh)
    da = das.reshape(T * B, -1)
    dx = (da @ Wx).reshape(T, B, D)
    dWx = da.T @ x.reshape(T * B, D)
    dWh = recurrent_weight_gradient(das, h0, hs)
    db = da.sum(axis=0)
    return dx, dh0, dc0, dWx, dWh, db
