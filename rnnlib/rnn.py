"""The vanilla (Elman) RNN: one step and a whole sequence, each forward beside its backward.

Letters used throughout rnnlib: ``T`` time steps, ``B`` examples in a batch, ``D`` input size,
``H`` hidden size, ``O`` output size (``V`` when the outputs are a vocabulary).

The recurrence, for one example written with column vectors, is

    h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h)

and for a batch stored as rows (``x_t`` is ``(B, D)``) it is the same formula transposed:

    h_t = tanh(x_t @ Wxh.T + h_prev @ Whh.T + bh)

Weights are stored as ``Wxh (H, D)`` and ``Whh (H, H)``, the layout of PyTorch's
``nn.RNN.weight_ih_l0`` and ``weight_hh_l0``. Sequences are time-major: ``x`` is ``(T, B, D)``.

This module is the only place the recurrence and its backpropagation through time are
written. :func:`rnn_step_forward` and :func:`rnn_step_backward` are the formulas for one step;
the sequence is split in two so that every model can reuse it:

* the *input terms* ``a_t = W_xh x_t + b_h`` do not depend on the previous state, so they are
  computed for all steps at once (:func:`input_terms`; a character model gathers them from
  one-hot ids instead, a stacked network from the layer below);
* :func:`recurrence_forward` runs the loop ``h_t = tanh(a_t + W_hh h_{t-1})`` and
  :func:`recurrence_backward` is BPTT for that loop.

:func:`rnn_forward` and :func:`rnn_backward` are the two put together. Every model, probe,
experiment and checker in rnnlib calls these functions rather than writing the loop again.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = [
    "tanh_in_place",
    "relu_in_place",
    "StepCache",
    "SequenceCache",
    "rnn_step_forward",
    "rnn_step_backward",
    "input_terms",
    "recurrence_forward",
    "recurrence_backward",
    "recurrent_weight_gradient",
    "rnn_forward",
    "rnn_backward",
]


class StepCache(NamedTuple):
    """What :func:`rnn_step_backward` needs from :func:`rnn_step_forward`."""

    x_t: np.ndarray  # (B, D)
    h_prev: np.ndarray  # (B, H)
    h_t: np.ndarray  # (B, H)
    Wxh: np.ndarray  # (H, D)
    Whh: np.ndarray  # (H, H)


class SequenceCache(NamedTuple):
    """What :func:`rnn_backward` needs from :func:`rnn_forward`."""

    x: np.ndarray  # (T, B, D)
    h0: np.ndarray  # (B, H)
    hs: np.ndarray  # (T, B, H)
    Wxh: np.ndarray  # (H, D)
    Whh: np.ndarray  # (H, H)


def tanh_in_place(z):
    """Overwrite ``z`` with ``tanh(z)`` and return it: ``np.tanh`` in float32, the identity
    ``tanh z = 1 - 2 / (exp(2 z) + 1)`` otherwise.

    Why not always ``np.tanh``? On the machine rnnlib was tuned on (2026-11-25, an x86 CPU
    that OpenBLAS reported as Haswell) numpy's float64 ``tanh`` was slow: ``exp`` plus four
    cheap in-place passes took about half its time, and in :func:`rnn_forward` the tanh was
    close to half of every step's time. On other CPUs ``np.tanh`` can be the faster one. In
    float32 numpy's ``tanh`` is about as fast as the identity at the sizes of this course.
    ``bench/run.py`` times both on the machine it runs on; the Performance page shows them.

    Parameters
    ----------
    z : ndarray of float32 or float64
        Pre-activations; overwritten.

    Returns
    -------
    z : ndarray
        The same array, now holding ``tanh(z)``.
    """
    if z.dtype == np.float32:
        return np.tanh(z, out=z)
    return _tanh_via_exp(z)


def relu_in_place(z):
    """Overwrite ``z`` with ``max(z, 0)`` and return it (an alternative nonlinearity whose states
    can grow without bound, shown in chapter 2)."""
    return np.maximum(z, 0.0, out=z)


def _tanh_via_exp(z):
    """``tanh(z)`` in place as ``1 - 2 / (exp(2 z) + 1)``.

    The same function as ``np.tanh``: multiply the top and bottom of
    ``tanh(z) = (e^z - e^-z) / (e^z + e^-z)`` by ``e^z`` to get ``(e^2z - 1) / (e^2z + 1)``,
    which is ``1 - 2 / (e^2z + 1)``.

    For large ``z``, ``exp(2 z)`` overflows to ``inf`` and ``2 / inf`` is ``0``: the result is
    exactly 1. That overflow, and the underflows on the way to -1, are expected and silenced.
    Near ``z = 0`` the result is ``1`` minus a number close to 1, so its error is about one unit
    of rounding *absolute* (``np.tanh``'s is relative): no difference next to hidden states of
    size about 1. ``tests/test_rnn.py`` holds it to within ``2 * eps`` of the exact value.
    """
    with np.errstate(over="ignore", under="ignore"):
        np.multiply(z, 2.0, out=z)
        np.exp(z, out=z)
        z += 1.0
        np.divide(2.0, z, out=z)
        np.subtract(1.0, z, out=z)
    return z


def rnn_step_forward(x_t, h_prev, Wxh, Whh, bh):
    """One step of a vanilla RNN: ``h_t = tanh(W_xh x_t + W_hh h_prev + b_h)``.

    Parameters
    ----------
    x_t : (B, D) ndarray
        Input at this time step, one row per example.
    h_prev : (B, H) ndarray
        Hidden state from the previous step.
    Wxh : (H, D) ndarray
        Input-to-hidden weights.
    Whh : (H, H) ndarray
        Hidden-to-hidden (recurrent) weights.
    bh : (H,) ndarray
        Hidden bias.

    Returns
    -------
    h_t : (B, H) ndarray
        The new hidden state.
    cache : StepCache
    """
    h_t = np.tanh(x_t @ Wxh.T + h_prev @ Whh.T + bh)
    return h_t, StepCache(x_t, h_prev, h_t, Wxh, Whh)


def rnn_step_backward(dh_t, cache):
    """Backward pass of :func:`rnn_step_forward`.

    Parameters
    ----------
    dh_t : (B, H) ndarray
        Gradient of the loss with respect to ``h_t``.
    cache : StepCache or tuple
        From the matching forward call: ``(x_t, h_prev, h_t, Wxh, Whh)``.

    Returns
    -------
    dx_t : (B, D) ndarray
    dh_prev : (B, H) ndarray
    dWxh : (H, D) ndarray
    dWhh : (H, H) ndarray
    dbh : (H,) ndarray
    """
    x_t, h_prev, h_t, Wxh, Whh = cache
    # tanh'(z) = 1 - tanh(z)^2, and tanh(z) is h_t, which the forward kept.
    dz = dh_t * (1.0 - h_t**2)
    dx_t = dz @ Wxh
    dh_prev = dz @ Whh
    # Each example in the batch contributes to the shared weights: the products sum over B.
    dWxh = dz.T @ x_t
    dWhh = dz.T @ h_prev
    dbh = dz.sum(axis=0)
    return dx_t, dh_prev, dWxh, dWhh, dbh


def input_terms(x, Wxh, bh):
    """The input part of every step's pre-activation, ``a_t = x_t @ Wxh.T + bh``, for all t.

    It does not depend on the previous state, so all ``T`` steps are one ``(T*B, D) @ (D, H)``
    product, which runs near the machine's peak speed where ``T`` small products would not.

    Parameters
    ----------
    x : (T, B, D) ndarray
    Wxh : (G*H, D) ndarray
        Input weights (``G = 1`` for the vanilla RNN; gated cells stack ``G`` blocks).
    bh : (G*H,) ndarray

    Returns
    -------
    a : (T, B, G*H) ndarray
        A new array.
    """
    T, B, D = x.shape
    a = (x.reshape(T * B, D) @ Wxh.T).reshape(T, B, -1)
    a += bh
    return a


def recurrence_forward(a, h0, Whh, activation=tanh_in_place):
    """The recurrence over a whole sequence, given its input terms: ``h_t = f(a_t + h_{t-1} Whh^T)``.

    Parameters
    ----------
    a : (T, B, H) ndarray
        Input terms ``x_t @ Wxh.T + bh`` of every step (:func:`input_terms`). Overwritten: each
        step finishes its own row in place, so the loop allocates nothing.
    h0 : (B, H) ndarray
        Initial hidden state.
    Whh : (H, H) ndarray
    activation : callable
        ``f(z)`` that overwrites ``z`` and returns it: :func:`tanh_in_place` (the vanilla RNN)
        or :func:`relu_in_place`.

    Returns
    -------
    hs : (T, B, H) ndarray
        The array ``a``, now holding ``hs[t]``, the state after reading input ``t``.
    """
    T, B, H = a.shape
    # The recurrent product of every step is written into one (B, H) buffer (out=).
    rec = np.empty((B, H), dtype=a.dtype)
    h = h0
    for t in range(T):
        # Same formula as rnn_step_forward: h_t = f(x_t Wxh^T + bh + h_{t-1} Whh^T).
        np.matmul(h, Whh.T, out=rec)
        a[t] += rec
        h = activation(a[t])
    return a


def recurrence_backward(dhs, hs, h0, Whh):
    """Backpropagation through time for :func:`recurrence_forward` (with tanh).

    Parameters
    ----------
    dhs : (T, B, H) ndarray
        Upstream gradient on every hidden state (for example from an output layer).
    hs : (T, B, H) ndarray
        The states the forward pass computed.
    h0 : (B, H) ndarray
    Whh : (H, H) ndarray

    Returns
    -------
    dzs : (T, B, H) ndarray
        ``dzs[t]`` is the gradient on step t's pre-activation ``z_t = a_t + h_{t-1} Whh^T``,
        and so also on its input term ``a_t``.
    dh0 : (B, H) ndarray
        Gradient on the initial state.

    Notes
    -----
    Two paths lead into ``h_t``: the upstream gradient ``dhs[t]`` and the gradient that flows
    back from ``h_{t+1}``. The loop walks time backwards adding the two, then multiplies by
    tanh's slope ``1 - h_t^2``. Only ``dh_prev = dz_t @ Whh`` has to wait for the step after
    it; the weights' gradients are sums over t that leave the loop
    (:func:`recurrent_weight_gradient`).
    """
    # dzs starts out holding tanh'(z_t) = 1 - h_t**2 for all steps at once (computed in place,
    # one array), and each step multiplies its own row by the gradient arriving at h_t, which
    # turns that row into dz_t. So one (T, B, H) array serves both, and the loop allocates nothing.
    dzs = np.square(hs)
    np.subtract(1.0, dzs, out=dzs)
    dh_t = np.empty(h0.shape, dtype=hs.dtype)  # total gradient on h_t, rewritten every step
    dh_next = np.zeros(h0.shape, dtype=hs.dtype)  # nothing flows back into h_T from the future
    for t in range(hs.shape[0] - 1, -1, -1):
        # The two paths into h_t (from the output, from h_{t+1}), times tanh'.
        np.add(dhs[t], dh_next, out=dh_t)
        dzs[t] *= dh_t  # now dz_t = dL/d(pre-activation at step t)
        np.matmul(dzs[t], Whh, out=dh_next)  # dh_prev, sent to the earlier step
    return dzs, dh_next


def recurrent_weight_gradient(dzs, h0, hs):
    """``sum_t dzs[t].T @ h_{t-1}``: the gradient of a recurrent weight shared by every step.

    Parameters
    ----------
    dzs : (T, B, G*H) ndarray
        Gradient on each step's pre-activations.
    h0 : (B, H) ndarray
        The state before the first step (``h_{-1}`` of step 0).
    hs : (T, B, H) ndarray
        The states after each step; ``hs[t-1]`` is the previous state of step ``t``.

    Returns
    -------
    (G*H, H) ndarray

    Notes
    -----
    The weight is shared by every step, so its gradient is the *sum over t* of each step's
    product. Flattening time and batch into ``(T-1)*B`` rows turns that sum into one large
    product (same numbers, far fewer Python calls), without building ``[h0, hs[:-1]]``.
    """
    T, B, GH = dzs.shape
    H = h0.shape[1]
    dW = dzs[0].T @ h0
    if T > 1:
        dW += dzs[1:].reshape((T - 1) * B, GH).T @ hs[:-1].reshape((T - 1) * B, H)
    return dW


def rnn_forward(x, h0, Wxh, Whh, bh):
    """Run a vanilla RNN over a whole sequence, returning every hidden state.

    Parameters
    ----------
    x : (T, B, D) ndarray
        Inputs, time-major.
    h0 : (B, H) ndarray
        Initial hidden state.
    Wxh : (H, D) ndarray
    Whh : (H, H) ndarray
    bh : (H,) ndarray

    Returns
    -------
    hs : (T, B, H) ndarray
        ``hs[t]`` is the hidden state after reading ``x[t]``.
    cache : SequenceCache
    """
    # hs is allocated once, holding the input terms, and each step finishes its own row.
    hs = recurrence_forward(input_terms(x, Wxh, bh), h0, Whh)
    return hs, SequenceCache(x, h0, hs, Wxh, Whh)


def rnn_backward(dhs, cache):
    """Backpropagation through time for :func:`rnn_forward`.

    Parameters
    ----------
    dhs : (T, B, H) ndarray
        Upstream gradient on every hidden state (for example from an output layer).
    cache : SequenceCache

    Returns
    -------
    dx : (T, B, D) ndarray
    dh0 : (B, H) ndarray
    dWxh : (H, D) ndarray
    dWhh : (H, H) ndarray
    dbh : (H,) ndarray

    Notes
    -----
    Because the same weights are used at every step, their gradient is the *sum over t* of
    what :func:`rnn_step_backward` returns at each step; instead of adding T small products we
    keep each step's ``dz_t`` and do that sum as one large matrix product after the loop.
    """
    x, h0, hs, Wxh, Whh = cache
    T, B, D = x.shape
    H = Whh.shape[0]
    dzs, dh0 = recurrence_backward(dhs, hs, h0, Whh)
    dz_flat = dzs.reshape(T * B, H)
    dx = (dz_flat @ Wxh).reshape(T, B, D)
    dWxh = dz_flat.T @ x.reshape(T * B, D)  # = sum_t dz_t.T @ x_t
    dWhh = recurrent_weight_gradient(dzs, h0, hs)  # = sum_t dz_t.T @ h_{t-1}
    dbh = dz_flat.sum(axis=0)
    return dx, dh0, dWxh, dWhh, dbh
