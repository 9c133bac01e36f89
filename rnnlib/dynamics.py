"""What happens to gradients over many time steps: BPTT end to end, and its long-range behaviour.

Letters as everywhere in rnnlib: ``T`` time steps, ``B`` batch, ``D`` input size, ``H`` hidden
size, ``V`` vocabulary (output) size.

* :func:`rnn_loss` is a whole model (RNN + output layer + softmax cross-entropy) returning its
  loss and the gradient of every parameter: backpropagation through time from end to end.
* :func:`step_jacobian` is ``dh_t / dh_{t-1} = diag(1 - h_t^2) W_hh``, the factor that is
  multiplied once per step when a gradient travels back in time.
* :func:`gradient_norm_vs_lag` pushes a gradient from the last hidden state back through every
  step and records its size: it shrinks or grows geometrically (vanishing / exploding).

Truncated BPTT, which cuts long streams into chunks, is :func:`rnnlib.training.tbptt_train`.
"""
from __future__ import annotations

import numpy as np

from rnnlib.heads import SoftmaxHead
from rnnlib.models import SequenceModel
from rnnlib.rnn import recurrence_backward, rnn_forward, rnn_step_forward

__all__ = ["rnn_loss", "step_jacobian", "gradient_norm_vs_lag"]

#: Chapter 4's whole model: dense inputs, the vanilla RNN cell, a softmax head.
_CLASSIFIER = SequenceModel("rnn", SoftmaxHead(), inputs="dense")


def rnn_loss(params, x, targets, h0):
    """Loss and gradients of an RNN classifier that predicts a class at every time step.

    Parameters
    ----------
    params : dict
        ``Wxh (H, D)``, ``Whh (H, H)``, ``bh (H,)``, ``Why (V, H)``, ``by (V,)``.
    x : (T, B, D) ndarray
        Inputs, time-major.
    targets : (T, B) int ndarray
        Correct class at every position.
    h0 : (B, H) ndarray
        Initial hidden state.

    Returns
    -------
    loss : float
        Mean cross-entropy over all ``T * B`` positions (nats).
    grads : dict
        Same keys and shapes as ``params``.
    h_last : (B, H) ndarray
        The final hidden state, to carry into the next chunk.
    """
    return _CLASSIFIER.loss(params, x, targets, h0)


def step_jacobian(x_t, h_prev, Wxh, Whh, bh):
    """Jacobian of one RNN step with respect to the previous state, ``dh_t / dh_{t-1}``.

    With ``h_t = tanh(z_t)`` and ``z_t = W_xh x_t + W_hh h_{t-1} + b_h``, the chain rule gives
    ``J[i, j] = (1 - h_t[i]**2) * Whh[i, j]``, that is ``diag(1 - h_t^2) W_hh``. The arguments
    come in the order of :func:`rnnlib.rnn.rnn_step_forward`.

    Parameters
    ----------
    x_t : (D,) ndarray
        Input at this step of one example (a leading batch axis ``(B, D)`` also works).
    h_prev : (H,) ndarray
        Previous hidden state (``(B, H)`` with a batch axis).
    Wxh : (H, D) ndarray
    Whh : (H, H) ndarray
    bh : (H,) ndarray

    Returns
    -------
    J : (H, H) ndarray
        ``J[i, j] = d h_t[i] / d h_prev[j]`` (``(B, H, H)`` with a batch axis).
    """
    h_t, _ = rnn_step_forward(x_t, h_prev, Wxh, Whh, bh)
    # Row i of W_hh is scaled by tanh's slope at unit i: the same as diag(1 - h_t^2) @ Whh.
    return (1.0 - h_t**2)[..., :, None] * Whh


def gradient_norm_vs_lag(x, h0, Wxh, Whh, bh, dh_T):
    """Size of the gradient on ``h_{T-k}`` when only the last state ``h_T`` receives one.

    Runs the RNN forward, then sends ``dh_T`` back through every step with the hidden-state
    part of BPTT, ``dh_{t-1} = (dh_t * (1 - h_t**2)) @ Whh`` (no other gradient added), and
    records the norm after each step.

    Parameters
    ----------
    x : (T, B, D) ndarray
    h0 : (B, H) ndarray
    Wxh : (H, D) ndarray
    Whh : (H, H) ndarray
    bh : (H,) ndarray
    dh_T : (B, H) ndarray
        Gradient of the loss with respect to the last hidden state.

    Returns
    -------
    norms : (T + 1,) ndarray
        ``norms[k]`` is the Frobenius norm of ``dL/dh_{T-k}``: ``norms[0] = ||dh_T||`` and
        ``norms[T] = ||dL/dh_0||``.
    """
    hs, _ = rnn_forward(x, h0, Wxh, Whh, bh)
    dhs = np.zeros_like(hs)
    dhs[-1] = dh_T
    dzs, _ = recurrence_backward(dhs, hs, h0, Whh)
    # dzs[t] @ Whh is the gradient sent from step t to the state before it, h_{t-1} in the
    # book's 1-based count; reading the steps from the last one back gives lags 1, 2, ..., T.
    dh_before = dzs[::-1] @ Whh
    norms = np.empty(x.shape[0] + 1)
    norms[0] = np.linalg.norm(dh_T)
    norms[1:] = np.linalg.norm(dh_before.reshape(x.shape[0], -1), axis=1)
    return norms
