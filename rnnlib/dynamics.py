"""What happens to gradients over many time steps: BPTT end to end, and its long-range behaviour.

Letters as everywhere in rnnlib: ``T`` time steps, ``B`` batch, ``D`` input size, ``H`` hidden
size, ``V`` vocabulary (output) size.

* :func:`rnn_loss` is a whole model (RNN + output layer + softmax cross-entropy) returning its
  loss and the gradient of every parameter: backpropagation through time from end to end.
* :func:`step_jacobian` is ``dh_t / dh_{t-1} = diag(1 - h_t^2) W_hh``, the factor that is
  multiplied once per step when a gradient travels back in time.
* :func:`gradient_norm_vs_lag` pushes a gradient from the last hidden state back through every
  step and records its size: it shrinks or grows geometrically (vanishing / exploding).
* :func:`train_tbptt` is truncated BPTT: cut long streams into chunks, carry the hidden state
  forward across chunks, and backpropagate only inside each chunk.
"""
from __future__ import annotations

import numpy as np

from rnnlib._guard import reference
from rnnlib.data import batchify as _batchify_ref
from rnnlib.layers import output_backward, output_forward
from rnnlib.losses import softmax_cross_entropy
from rnnlib.rnn import rnn_backward, rnn_forward

# Undecorated: train_tbptt may run while a student's code is checked.
_batchify = _batchify_ref.__wrapped__

__all__ = ["rnn_loss", "step_jacobian", "gradient_norm_vs_lag", "train_tbptt"]

# Undecorated building blocks, so these references also run while references are blocked.
_rnn_forward = rnn_forward.__wrapped__
_rnn_backward = rnn_backward.__wrapped__
_output_forward = output_forward.__wrapped__
_output_backward = output_backward.__wrapped__
_xent = softmax_cross_entropy.__wrapped__


@reference
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
    hs, rcache = _rnn_forward(x, h0, params["Wxh"], params["Whh"], params["bh"])
    logits, ocache = _output_forward(hs, params["Why"], params["by"])
    loss, dlogits = _xent(logits, targets)
    dhs, dWhy, dby = _output_backward(dlogits, ocache)
    _, _, dWxh, dWhh, dbh = _rnn_backward(dhs, rcache)
    grads = {"Wxh": dWxh, "Whh": dWhh, "bh": dbh, "Why": dWhy, "by": dby}
    return loss, grads, hs[-1]


@reference
def step_jacobian(h_prev, x_t, Wxh, Whh, bh):
    """Jacobian of one RNN step with respect to the previous state, ``dh_t / dh_{t-1}``.

    With ``h_t = tanh(z_t)`` and ``z_t = W_xh x_t + W_hh h_{t-1} + b_h``, the chain rule gives
    ``J[i, j] = (1 - h_t[i]**2) * Whh[i, j]``, that is ``diag(1 - h_t^2) W_hh``.

    Parameters
    ----------
    h_prev : (H,) ndarray
        Previous hidden state of one example (a leading batch axis ``(B, H)`` also works).
    x_t : (D,) ndarray
        Input at this step (``(B, D)`` with a batch axis).
    Wxh : (H, D) ndarray
    Whh : (H, H) ndarray
    bh : (H,) ndarray

    Returns
    -------
    J : (H, H) ndarray
        ``J[i, j] = d h_t[i] / d h_prev[j]`` (``(B, H, H)`` with a batch axis).
    """
    h_t = np.tanh(x_t @ Wxh.T + h_prev @ Whh.T + bh)
    # Row i of W_hh is scaled by tanh's slope at unit i: the same as diag(1 - h_t^2) @ Whh.
    return (1.0 - h_t**2)[..., :, None] * Whh


@reference
def gradient_norm_vs_lag(x, h0, Wxh, Whh, bh, dh_T):
    """Size of the gradient on ``h_{T-k}`` when only the last state ``h_T`` receives one.

    Runs the RNN forward, then sends ``dh_T`` back through every step with
    ``dh_{t-1} = (dh_t * (1 - h_t**2)) @ Whh`` (the hidden-state part of BPTT, nothing else
    added), recording the norm after each step.

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
    hs, _ = _rnn_forward(x, h0, Wxh, Whh, bh)
    T = x.shape[0]
    norms = np.empty(T + 1)
    dh = dh_T
    norms[0] = np.linalg.norm(dh)
    for k in range(1, T + 1):
        t = T - k  # hs[t] is h_{t+1}: the step being undone maps dL/dh_{t+1} to dL/dh_t
        dh = (dh * (1.0 - hs[t] ** 2)) @ Whh
        norms[k] = np.linalg.norm(dh)
    return norms


@reference
def train_tbptt(params, loss_fn, ids, T, B, lr, epochs=1, clip=None, carry_state=True):
    """Truncated BPTT with plain SGD over ``B`` parallel streams of a long sequence.

    Parameters
    ----------
    params : dict of ndarray
        Initial parameters (not modified; a copy is trained). ``Whh`` gives ``H``.
    loss_fn : callable
        ``loss, grads, h_last = loss_fn(params, inputs, targets, h0)`` with ``inputs`` and
        ``targets`` ``(T, B)`` int arrays and ``h0`` ``(B, H)``.
    ids : (N,) int ndarray
        The whole training sequence.
    T : int
        Chunk length (how many steps the gradient flows back at most).
    B : int
        Number of parallel streams (:func:`rnnlib.data.batchify`).
    lr : float
        SGD step size: ``p -= lr * g``.
    epochs : int
        Passes over the streams. The hidden state starts at zero at the start of each pass.
    clip : float, optional
        If given, rescale the gradients to global norm at most ``clip`` before each update.
    carry_state : bool
        ``True`` (truncated BPTT): each chunk starts from the previous chunk's last state.
        ``False`` resets it to zero at every chunk (the checker's "forgot to carry" variant).

    Returns
    -------
    params : dict of ndarray
        Trained parameters.
    losses : list of float
        The loss of every chunk, in the order the updates were made.

    Notes
    -----
    Chunk ``c`` reads ``streams[c*T:(c+1)*T]`` and predicts ``streams[c*T+1:(c+1)*T+1]``; there
    are ``(L - 1) // T`` full chunks and a ragged remainder is skipped. Carrying ``h`` needs no
    "detach": ``h_last`` is a plain array, so the next chunk's gradient stops at it.
    """
    params = {k: np.array(v, dtype=np.float64, copy=True) for k, v in params.items()}
    streams = _batchify(ids, B)
    n_chunks = (streams.shape[0] - 1) // T
    H = params["Whh"].shape[0]
    losses = []
    for _ in range(epochs):
        h = np.zeros((B, H))
        for c in range(n_chunks):
            inputs = streams[c * T : (c + 1) * T]
            targets = streams[c * T + 1 : (c + 1) * T + 1]
            loss, grads, h_last = loss_fn(params, inputs, targets, h)
            if clip is not None:
                norm = np.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))
                if norm > clip:
                    grads = {k: g * (clip / norm) for k, g in grads.items()}
            for k in params:
                params[k] -= lr * grads[k]
            losses.append(float(loss))
            h = h_last if carry_state else np.zeros((B, H))
    return params, losses
