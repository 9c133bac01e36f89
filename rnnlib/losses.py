"""Losses over time: softmax cross-entropy (classification) and mean squared error (regression).

Each returns ``(loss, dinput)`` in one call, since the gradient reuses what the loss computed.
Both average over the positions that count, so the loss reads as "per character" (nats) or
"per value", whatever the sequence length; a ``mask`` marks padding that must not count.
"""
from __future__ import annotations

import numpy as np


__all__ = ["softmax", "softmax_cross_entropy", "mse"]


def softmax(logits, axis=-1):
    """Numerically stable softmax.

    Parameters
    ----------
    logits : ndarray
        Any shape; normalised along ``axis``.

    Returns
    -------
    probs : ndarray
        Same shape, non-negative, summing to one along ``axis``.
    """
    shifted = logits - logits.max(axis=axis, keepdims=True)  # exp never overflows
    e = np.exp(shifted)
    return e / e.sum(axis=axis, keepdims=True)


def softmax_cross_entropy(logits, targets, mask=None):
    """Mean cross-entropy of a softmax classifier at every time step.

    Parameters
    ----------
    logits : (T, B, V) ndarray
        Unnormalised scores.
    targets : (T, B) int ndarray
        Index of the correct class at each position, in ``[0, V)``.
    mask : (T, B) bool ndarray, optional
        ``True`` where the position counts. Default: every position counts.

    Returns
    -------
    loss : float
        Mean negative log-probability of the targets over counted positions, in nats.
    dlogits : (T, B, V) ndarray
        Gradient of ``loss`` with respect to ``logits``.
    """
    T, B, V = logits.shape
    if mask is None:
        mask = np.ones((T, B), dtype=bool)
    mask = np.asarray(mask, dtype=bool)
    n = max(int(mask.sum()), 1)
    flat = logits.reshape(T * B, V)
    shifted = flat - flat.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(T * B)
    idx = targets.reshape(T * B)
    weights = mask.reshape(T * B) / n
    loss = -float(np.sum(log_probs[rows, idx] * weights))
    # d(-log softmax_k)/dlogits = softmax - onehot(k)
    dflat = np.exp(log_probs)
    dflat[rows, idx] -= 1.0
    dflat *= weights[:, None]
    return loss, dflat.reshape(T, B, V)


def mse(preds, targets, mask=None):
    """Mean squared error.

    Parameters
    ----------
    preds : ndarray
        Predictions, e.g. ``(T, B, O)`` or ``(B, O)``.
    targets : ndarray
        Same shape as ``preds``.
    mask : ndarray of bool, optional
        Broadcastable to ``preds``; ``True`` where the value counts.

    Returns
    -------
    loss : float
        Mean of ``(preds - targets)**2`` over counted values.
    dpreds : ndarray
        Same shape as ``preds``.
    """
    diff = preds - targets
    if mask is None:
        weights = np.full(diff.shape, 1.0 / diff.size)
    else:
        m = np.broadcast_to(np.asarray(mask, dtype=float), diff.shape)
        weights = m / max(m.sum(), 1.0)
    loss = float(np.sum(weights * diff**2))
    return loss, 2.0 * weights * diff
