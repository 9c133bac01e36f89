"""The gated recurrent unit (Cho et al., 2014), in PyTorch's formulation: one step and a sequence.

A GRU keeps one state ``h``, like the vanilla RNN, but updates it under the control of two
gates (numbers in ``(0, 1)``)::

    r = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)         reset gate
    z = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)         update gate
    n = tanh(W_in x_t + b_in + r * (W_hn h_{t-1} + b_hn))      candidate
    h_t = (1 - z) * n + z * h_{t-1}

``*`` is the element-wise product. Where ``z`` is near 1 the unit copies its previous value,
and along that path the gradient from ``h_t`` to ``h_{t-1}`` is ``z`` itself: no weight
matrix, no ``tanh'``.

This is ``torch.nn.GRU``'s formula, which differs from the paper's in one place: Cho et al.
reset the state *before* the product, ``tanh(W x_t + U (r * h_{t-1}))``; PyTorch (and cuDNN)
reset the product, ``r * (W_hn h_{t-1} + b_hn)``, so that all three hidden products are one
``h_{t-1} @ Wh.T``. The two are different functions, so only this one can be cross-checked
with ``nn.GRU`` to rounding error. For the same reason the GRU has two bias vectors: ``b_hn``
sits inside the reset and does not merge with ``b_in``.

Weights are stacked in PyTorch's order ``(r, z, n)``: ``Wx (3H, D)``, ``Wh (3H, H)``,
``bx (3H,)``, ``bh (3H,)``, rows ``[0:H]`` for ``r``, ``[H:2H]`` for ``z``, ``[2H:3H]`` for
``n`` (``nn.GRU.weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``). Shapes:
``x (T, B, D)``, states ``(B, H)``.

As in :mod:`rnnlib.rnn`, the sequence is split in two: the input terms ``a_t = x_t @ Wx.T + bx``
of all steps are one product (:func:`rnnlib.rnn.input_terms`), and
:func:`gru_recurrence_forward` / :func:`gru_recurrence_backward` run the loop that needs the
previous state. The backward passes return two gradients per step: on the input terms
``a_t`` (which give ``dx``, ``dWx``, ``dbx``) and on the hidden terms
``h_{t-1} @ Wh.T + bh`` (which give ``dh_prev``, ``dWh``, ``dbh``). They differ only in the
candidate's block, where the reset gate multiplies the hidden term alone.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnlib.lstm import sigmoid
from rnnlib.rnn import input_terms, recurrent_weight_gradient

__all__ = [
    "GRUStepCache",
    "GRUCache",
    "gru_step_forward",
    "gru_step_backward",
    "gru_recurrence_forward",
    "gru_recurrence_backward",
    "gru_forward",
    "gru_backward",
]


class GRUStepCache(NamedTuple):
    """What :func:`gru_step_backward` needs from :func:`gru_step_forward`."""

    x_t: np.ndarray  # (B, D)
    h_prev: np.ndarray  # (B, H)
    r: np.ndarray  # (B, H) reset gate
    z: np.ndarray  # (B, H) update gate
    n: np.ndarray  # (B, H) candidate
    hn: np.ndarray  # (B, H) h_prev @ W_hn.T + b_hn, the term the reset gate multiplies
    Wx: np.ndarray  # (3H, D)
    Wh: np.ndarray  # (3H, H)


class GRUCache(NamedTuple):
    """What :func:`gru_backward` needs from :func:`gru_forward`."""

    x: np.ndarray  # (T, B, D)
    h0: np.ndarray  # (B, H)
    hs: np.ndarray  # (T, B, H)
    gates: np.ndarray  # (T, B, 3H): r, z, n of every step
    hns: np.ndarray  # (T, B, H): W_hn h_{t-1} + b_hn of every step
    Wx: np.ndarray  # (3H, D)
    Wh: np.ndarray  # (3H, H)


def _gates(a_t, g_t, H):
    """``(r, z, n, hn)`` from a step's input terms ``a_t`` and hidden terms ``g_t``, (B, 3H) each."""
    r = sigmoid(a_t[:, :H] + g_t[:, :H])
    z = sigmoid(a_t[:, H:2 * H] + g_t[:, H:2 * H])
    hn = g_t[:, 2 * H:]
    n = np.tanh(a_t[:, 2 * H:] + r * hn)
    return r, z, n, hn


def _gates_backward(dh, h_prev, r, z, n, hn):
    """Gradients of one step on its input terms and hidden terms, (B, 3H) each, and the part of
    ``dh_prev`` that goes around the matrices (the ``z * h_prev`` path)."""
    H = dh.shape[1]
    da = np.empty((dh.shape[0], 3 * H), dtype=dh.dtype)
    dn_pre = dh * (1.0 - z) * (1.0 - n**2)  # through h = (1 - z) n + ..., then tanh'
    da[:, 2 * H:] = dn_pre
    da[:, :H] = dn_pre * hn * r * (1.0 - r)  # n's pre-activation holds r * hn; sigmoid'
    da[:, H:2 * H] = dh * (h_prev - n) * z * (1.0 - z)  # dh/dz = h_prev - n
    dg = da.copy()
    dg[:, 2 * H:] = dn_pre * r  # the reset gate multiplies the hidden term only
    return da, dg, dh * z


def gru_step_forward(x_t, h_prev, Wx, Wh, bx, bh):
    """One GRU step (PyTorch's formulation).

    Parameters
    ----------
    x_t : (B, D) ndarray
    h_prev : (B, H) ndarray
    Wx : (3H, D) ndarray
        Input weights of ``r, z, n`` stacked in that order.
    Wh : (3H, H) ndarray
        Recurrent weights, same order.
    bx : (3H,) ndarray
        Input biases, same order.
    bh : (3H,) ndarray
        Recurrent biases, same order (``bh[2H:]`` is ``b_hn``, inside the reset).

    Returns
    -------
    h_t : (B, H) ndarray
    cache : GRUStepCache
    """
    H = h_prev.shape[1]
    r, z, n, hn = _gates(x_t @ Wx.T + bx, h_prev @ Wh.T + bh, H)
    h_t = (1.0 - z) * n + z * h_prev
    return h_t, GRUStepCache(x_t, h_prev, r, z, n, hn, Wx, Wh)


def gru_step_backward(dh_t, cache):
    """Backward pass of :func:`gru_step_forward`.

    Parameters
    ----------
    dh_t : (B, H) ndarray
        Gradient of the loss with respect to ``h_t``.
    cache : GRUStepCache or tuple
        ``(x_t, h_prev, r, z, n, hn, Wx, Wh)`` from the matching forward call.

    Returns
    -------
    dx_t : (B, D) ndarray
    dh_prev : (B, H) ndarray
    dWx : (3H, D) ndarray
    dWh : (3H, H) ndarray
    dbx : (3H,) ndarray
    dbh : (3H,) ndarray
    """
    x_t, h_prev, r, z, n, hn, Wx, Wh = cache
    da, dg, dh_direct = _gates_backward(dh_t, h_prev, r, z, n, hn)
    dx_t = da @ Wx
    dh_prev = dg @ Wh + dh_direct
    return dx_t, dh_prev, da.T @ x_t, dg.T @ h_prev, da.sum(axis=0), dg.sum(axis=0)


def gru_recurrence_forward(a, h0, Wh, bh):
    """The GRU loop over a whole sequence, given its input terms ``a_t = x_t @ Wx.T + bx``.

    Parameters
    ----------
    a : (T, B, 3H) ndarray
        Input terms of every step (:func:`rnnlib.rnn.input_terms`). Overwritten: ``a[t]`` ends
        up holding step t's ``r, z, n``.
    h0 : (B, H) ndarray
    Wh : (3H, H) ndarray
    bh : (3H,) ndarray

    Returns
    -------
    hs : (T, B, H) ndarray
        The state after each step.
    gates : (T, B, 3H) ndarray
        The array ``a``, holding ``r, z, n``.
    hns : (T, B, H) ndarray
        ``h_{t-1} @ W_hn.T + b_hn`` of every step (the backward needs it).
    """
    T, B, H3 = a.shape
    H = H3 // 3
    hs = np.empty((T, B, H), dtype=a.dtype)
    hns = np.empty((T, B, H), dtype=a.dtype)
    h = h0
    for t in range(T):
        # Same formulas as gru_step_forward, written into the preallocated rows.
        r, z, n, hns[t] = _gates(a[t], h @ Wh.T + bh, H)
        a[t, :, :H], a[t, :, H:2 * H], a[t, :, 2 * H:] = r, z, n
        h = hs[t] = (1.0 - z) * n + z * h
    return hs, a, hns


def gru_recurrence_backward(dhs, hs, gates, hns, h0, Wh):
    """Backpropagation through time for :func:`gru_recurrence_forward`.

    Parameters
    ----------
    dhs : (T, B, H) ndarray
        Upstream gradient on every hidden state.
    hs : (T, B, H) ndarray
    gates : (T, B, 3H) ndarray
        ``r, z, n`` of every step.
    hns : (T, B, H) ndarray
    h0 : (B, H) ndarray
    Wh : (3H, H) ndarray

    Returns
    -------
    das : (T, B, 3H) ndarray
        Gradient on each step's input terms ``x_t @ Wx.T + bx``.
    dgs : (T, B, 3H) ndarray
        Gradient on each step's hidden terms ``h_{t-1} @ Wh.T + bh``.
    dh0 : (B, H) ndarray

    Notes
    -----
    Two paths lead from ``h_t`` back to ``h_{t-1}``: through the matrices (``dg_t @ Wh``) and
    directly, ``z_t * dh_t``. Only ``dh_prev`` has to wait for the step after it; the weights'
    gradients are sums over t formed after the loop.
    """
    T, B, H = hs.shape
    das = np.empty_like(gates)
    dgs = np.empty_like(gates)
    dh_next = np.zeros_like(h0)
    for t in range(T - 1, -1, -1):
        h_prev = hs[t - 1] if t > 0 else h0
        r, z, n = gates[t, :, :H], gates[t, :, H:2 * H], gates[t, :, 2 * H:]
        das[t], dgs[t], dh_direct = _gates_backward(dhs[t] + dh_next, h_prev, r, z, n, hns[t])
        dh_next = dgs[t] @ Wh + dh_direct
    return das, dgs, dh_next


def gru_forward(x, h0, Wx, Wh, bx, bh):
    """Run a GRU over a whole sequence.

    Parameters
    ----------
    x : (T, B, D) ndarray
    h0 : (B, H) ndarray
    Wx : (3H, D) ndarray
    Wh : (3H, H) ndarray
    bx : (3H,) ndarray
    bh : (3H,) ndarray

    Returns
    -------
    hs : (T, B, H) ndarray
        ``hs[t]`` is the state after reading ``x[t]``.
    cache : GRUCache
    """
    hs, gates, hns = gru_recurrence_forward(input_terms(x, Wx, bx), h0, Wh, bh)
    return hs, GRUCache(x, h0, hs, gates, hns, Wx, Wh)


def gru_backward(dhs, cache):
    """Backpropagation through time for :func:`gru_forward`.

    Parameters
    ----------
    dhs : (T, B, H) ndarray
        Upstream gradient on every hidden state.
    cache : GRUCache

    Returns
    -------
    dx : (T, B, D) ndarray
    dh0 : (B, H) ndarray
    dWx : (3H, D) ndarray
    dWh : (3H, H) ndarray
    dbx : (3H,) ndarray
    dbh : (3H,) ndarray
    """
    x, h0, hs, gates, hns, Wx, Wh = cache
    T, B, D = x.shape
    das, dgs, dh0 = gru_recurrence_backward(dhs, hs, gates, hns, h0, Wh)
    da = das.reshape(T * B, -1)
    dx = (da @ Wx).reshape(T, B, D)
    dWx = da.T @ x.reshape(T * B, D)
    dWh = recurrent_weight_gradient(dgs, h0, hs)  # = sum_t dg_t.T @ h_{t-1}
    return dx, dh0, dWx, dWh, da.sum(axis=0), dgs.reshape(T * B, -1).sum(axis=0)
