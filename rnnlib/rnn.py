"""The vanilla (Elman) RNN: one step and a whole sequence, each forward beside its backward.

Letters used throughout rnnlib: ``T`` time steps, ``B`` examples in a batch, ``D`` input size,
``H`` hidden size, ``O`` output size (``V`` when the outputs are a vocabulary).

The recurrence, for one example written with column vectors, is

    h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h)

and for a batch stored as rows (``x_t`` is ``(B, D)``) it is the same formula transposed:

    h_t = tanh(x_t @ Wxh.T + h_prev @ Whh.T + bh)

Weights are stored as ``Wxh (H, D)`` and ``Whh (H, H)``, the layout of PyTorch's
``nn.RNN.weight_ih_l0`` and ``weight_hh_l0``. Sequences are time-major: ``x`` is ``(T, B, D)``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnlib._guard import reference

__all__ = [
    "tanh_in_place",
    "StepCache",
    "SequenceCache",
    "rnn_step_forward",
    "rnn_step_backward",
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

    Why not always ``np.tanh``? On x86 CPUs without AVX-512 (like the machine this course is
    tested on) numpy's float64 ``tanh`` is slow: ``exp`` plus four cheap in-place passes takes
    about half its time, and in :func:`rnn_forward` the tanh was close to half of every step's
    time. In float32 numpy's ``tanh`` is as fast as the identity or faster at the sizes of this
    course. ``bench/run.py`` times both on the machine it runs on; the Performance page shows
    them.

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


@reference
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


@reference
def rnn_step_backward(dh_t, cache):
    """Backward pass of :func:`rnn_step_forward`.

    Parameters
    ----------
    dh_t : (B, H) ndarray
        Gradient of the loss with respect to ``h_t``.
    cache : StepCache
        From the matching forward call.

    Returns
    -------
    dx_t : (B, D) ndarray
    dh_prev : (B, H) ndarray
    dWxh : (H, D) ndarray
    dWhh : (H, H) ndarray
    dbh : (H,) ndarray
    """
    # tanh'(z) = 1 - tanh(z)^2, and tanh(z) is h_t, which the forward kept.
    dz = dh_t * (1.0 - cache.h_t**2)
    dx_t = dz @ cache.Wxh
    dh_prev = dz @ cache.Whh
    # Each example in the batch contributes to the shared weights: the products sum over B.
    dWxh = dz.T @ cache.x_t
    dWhh = dz.T @ cache.h_prev
    dbh = dz.sum(axis=0)
    return dx_t, dh_prev, dWxh, dWhh, dbh


@reference
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
    T, B, D = x.shape
    H = Whh.shape[0]
    # Two choices make this fast without hiding the formula:
    # 1. The input term W_xh x_t + b_h does not depend on the previous state, so all T of
    #    them are computed in one (T*B, D) @ (D, H) product before the loop. One large
    #    product runs near the machine's peak speed; T small ones would not. Only the
    #    recurrent term has to wait for h_{t-1}.
    # 2. hs is allocated once, holding the input terms, and each step finishes its own row
    #    in place: add the recurrent term, then apply tanh where the numbers already are.
    hs = (x.reshape(T * B, D) @ Wxh.T).reshape(T, B, H)
    hs += bh
    # 3. The recurrent product of every step is written into one (B, H) buffer (out=), so the
    #    loop allocates nothing.
    # 4. tanh_in_place is np.tanh, computed through exp in float64 (twice as fast here).
    rec = np.empty((B, H), dtype=hs.dtype)
    h = h0
    for t in range(T):
        # Same formula as rnn_step_forward: h_t = tanh(x_t Wxh^T + bh + h_{t-1} Whh^T).
        np.matmul(h, Whh.T, out=rec)
        hs[t] += rec
        h = tanh_in_place(hs[t])
    return hs, SequenceCache(x, h0, hs, Wxh, Whh)


@reference
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
    Two paths lead into ``h_t``: the upstream gradient ``dhs[t]`` and the gradient that flows
    back from ``h_{t+1}``. The loop walks time backwards adding the two. Because the same
    weights are used at every step, their gradient is the *sum over t* of what
    :func:`rnn_step_backward` returns at each step; instead of adding T small products we keep
    each step's ``dz_t`` and do that sum as one large matrix product after the loop (same
    numbers, far fewer Python calls).
    """
    x, h0, hs, Wxh, Whh = cache
    T, B, D = x.shape
    H = Whh.shape[0]
    # Only dh_prev = dz_t @ Whh has to wait for the step after it; the rest leaves the loop.
    # dzs starts out holding tanh'(z_t) = 1 - h_t**2 for all steps at once (computed in place,
    # one array), and each step multiplies its own row by the gradient arriving at h_t, which
    # turns that row into dz_t. So one (T, B, H) array serves both, and the loop allocates nothing.
    dzs = np.square(hs)
    np.subtract(1.0, dzs, out=dzs)
    dh_t = np.empty(h0.shape, dtype=hs.dtype)  # total gradient on h_t, rewritten every step
    dh_next = np.zeros(h0.shape, dtype=hs.dtype)  # nothing flows back into h_T from the future
    for t in range(T - 1, -1, -1):
        # The two paths into h_t (from the output, from h_{t+1}), times tanh'.
        np.add(dhs[t], dh_next, out=dh_t)
        dzs[t] *= dh_t  # now dz_t = dL/d(pre-activation at step t)
        np.matmul(dzs[t], Whh, out=dh_next)  # dh_prev, sent to the earlier step
    dh0 = dh_next

    # The weights' gradients are sums over t of one product per step. Flattening time and
    # batch into T*B rows turns each sum into a single large product.
    dz_flat = dzs.reshape(T * B, H)
    dx = (dz_flat @ Wxh).reshape(T, B, D)
    dWxh = dz_flat.T @ x.reshape(T * B, D)  # = sum_t dz_t.T @ x_t
    # dWhh = sum_t dz_t.T @ h_{t-1}, where h_{t-1} is h0 at t = 0 and hs[t-1] after.
    dWhh = dzs[0].T @ h0
    if T > 1:
        dWhh += dzs[1:].reshape((T - 1) * B, H).T @ hs[:-1].reshape((T - 1) * B, H)
    dbh = dz_flat.sum(axis=0)
    return dx, dh0, dWxh, dWhh, dbh
