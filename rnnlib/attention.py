"""Attention: a decoder step looks back at every encoder state and takes a weighted average.

A plain encoder–decoder hands the decoder one vector, the encoder's last state, whatever the
length of the input. With attention (Bahdanau et al., 2015; Luong et al., 2015) the decoder
keeps all ``S`` encoder states ``k_1 .. k_S`` (the *keys*, one per source position) and, at
every output step, compares them with its own state ``q`` (the *query*):

    e_s = k_s . q                                  one score per source position
    alpha = softmax(e)  over s = 1..S              weights: positive, summing to 1
    context = sum_s alpha_s k_s                    a weighted average of the keys

Padding positions of a batch are *masked*: their score is set to ``-inf`` before the softmax,
so their weight is exactly 0 and the weights of the real positions still sum to 1.

Shapes, batched: ``query (B, H)``, ``keys (S, B, H)`` time-major like every sequence in rnnlib,
``mask (S, B)`` (``True`` where a position is real), ``weights (S, B)``, ``context (B, H)``.

* :func:`attention_forward` / :func:`attention_backward` — dot-product attention (Luong et
  al.'s "dot" score), the one the book derives and the exercises ask for;
* :func:`additive_attention_forward` / :func:`additive_attention_backward` — Bahdanau et
  al.'s additive score ``e_s = v . tanh(W_q q + W_k k_s)``, which has weights of its own and
  lets the query and the keys have different sizes;
* :func:`masked_softmax` — the softmax over positions that both use.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnlib.losses import softmax

__all__ = [
    "AttentionCache",
    "AdditiveAttentionCache",
    "masked_softmax",
    "attention_forward",
    "attention_backward",
    "additive_attention_forward",
    "additive_attention_backward",
]


class AttentionCache(NamedTuple):
    """What :func:`attention_backward` needs from :func:`attention_forward`."""

    query: np.ndarray  # (B, H)
    keys: np.ndarray  # (S, B, H)
    weights: np.ndarray  # (S, B)


def masked_softmax(scores, mask=None):
    """Softmax over positions (axis 0), with masked positions given weight exactly 0.

    Parameters
    ----------
    scores : (S, B) ndarray
        One score per source position and example.
    mask : (S, B) bool ndarray, optional
        ``True`` where the position is real; default: every position is. Every example needs
        at least one real position.

    Returns
    -------
    weights : (S, B) ndarray
        Non-negative; each column sums to 1 over its real positions and is 0 elsewhere.
    """
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any(axis=0).all():
            raise ValueError("every example needs at least one unmasked position")
        # exp(-inf) = 0: a masked position gets no weight, and the others still sum to 1.
        scores = np.where(mask, scores, -np.inf)
    return softmax(scores, axis=0)


def attention_forward(query, keys, mask=None):
    """Dot-product attention of one query per example over that example's keys.

    Parameters
    ----------
    query : (B, H) ndarray
        The decoder's state at this step.
    keys : (S, B, H) ndarray
        The encoder's states, one per source position (they are also the values averaged).
    mask : (S, B) bool ndarray, optional
        ``True`` where a position is real, ``False`` for padding (default: all real).

    Returns
    -------
    context : (B, H) ndarray
        ``sum_s weights[s, b] * keys[s, b]``.
    weights : (S, B) ndarray
        ``softmax_s(keys[s, b] . query[b])``, 0 at masked positions; columns sum to 1.
    cache : AttentionCache
        ``(query, keys, weights)``.
    """
    scores = np.sum(keys * query, axis=2)  # (S, B): e_s = k_s . q for every example
    weights = masked_softmax(scores, mask)
    context = np.sum(weights[:, :, None] * keys, axis=0)  # (B, H)
    return context, weights, AttentionCache(query, keys, weights)


def attention_backward(dcontext, cache):
    """Backward pass of :func:`attention_forward`.

    Parameters
    ----------
    dcontext : (B, H) ndarray
        Gradient of the loss with respect to the context.
    cache : AttentionCache

    Returns
    -------
    dquery : (B, H) ndarray
    dkeys : (S, B, H) ndarray

    Notes
    -----
    The keys reach the context on two paths: as the vectors being averaged (the gradient is
    ``weights[s] * dcontext``) and through the scores that set the weights. Backwards through
    ``context = sum_s w_s k_s`` gives ``dw_s = k_s . dcontext``; through the softmax (its
    Jacobian is ``dw_s/de_r = w_s (delta_sr - w_r)``) it gives
    ``de_s = w_s (dw_s - sum_r w_r dw_r)``; through ``e_s = k_s . q`` it gives
    ``dq = sum_s de_s k_s`` and ``de_s q`` more for each ``k_s``. A masked position has
    ``w_s = 0``, so its ``de_s`` is 0: no gradient flows into padding through the scores.
    """
    query, keys, weights = cache
    dweights = np.sum(keys * dcontext, axis=2)  # (S, B)
    dkeys = weights[:, :, None] * dcontext  # the averaged path
    # The softmax's Jacobian applied to dweights, one column (example) at a time.
    dscores = weights * (dweights - np.sum(weights * dweights, axis=0))
    dquery = np.sum(dscores[:, :, None] * keys, axis=0)
    dkeys += dscores[:, :, None] * query  # the score path
    return dquery, dkeys


class AdditiveAttentionCache(NamedTuple):
    """What :func:`additive_attention_backward` needs from :func:`additive_attention_forward`."""

    query: np.ndarray  # (B, Hq)
    keys: np.ndarray  # (S, B, H)
    hidden: np.ndarray  # (S, B, A): tanh(W_q q + W_k k_s)
    weights: np.ndarray  # (S, B)
    Wq: np.ndarray  # (A, Hq)
    Wk: np.ndarray  # (A, H)
    v: np.ndarray  # (A,)


def additive_attention_forward(query, keys, mask, Wq, Wk, v):
    """Additive (Bahdanau) attention: ``e_s = v . tanh(W_q q + W_k k_s)``.

    Parameters
    ----------
    query : (B, Hq) ndarray
    keys : (S, B, H) ndarray
    mask : (S, B) bool ndarray or None
    Wq : (A, Hq) ndarray
    Wk : (A, H) ndarray
    v : (A,) ndarray
        ``A`` is the size of the small layer that scores a (query, key) pair.

    Returns
    -------
    context : (B, H) ndarray
    weights : (S, B) ndarray
    cache : AdditiveAttentionCache
    """
    S, B, H = keys.shape
    projected = (keys.reshape(S * B, H) @ Wk.T).reshape(S, B, -1)  # (S, B, A)
    hidden = np.tanh(projected + query @ Wq.T)
    scores = hidden @ v  # (S, B)
    weights = masked_softmax(scores, mask)
    context = np.sum(weights[:, :, None] * keys, axis=0)
    return context, weights, AdditiveAttentionCache(query, keys, hidden, weights, Wq, Wk, v)


def additive_attention_backward(dcontext, cache):
    """Backward pass of :func:`additive_attention_forward`.

    Returns
    -------
    dquery : (B, Hq) ndarray
    dkeys : (S, B, H) ndarray
    dWq : (A, Hq) ndarray
    dWk : (A, H) ndarray
    dv : (A,) ndarray
    """
    query, keys, hidden, weights, Wq, Wk, v = cache
    S, B, H = keys.shape
    A = v.shape[0]
    dweights = np.sum(keys * dcontext, axis=2)
    dkeys = weights[:, :, None] * dcontext
    dscores = weights * (dweights - np.sum(weights * dweights, axis=0))
    dv = np.tensordot(dscores, hidden, axes=([0, 1], [0, 1]))  # sum over s and b
    dz = (dscores[:, :, None] * v) * (1.0 - hidden**2)  # (S, B, A), through tanh
    dz_flat = dz.reshape(S * B, A)
    dkeys += (dz_flat @ Wk).reshape(S, B, H)
    dWk = dz_flat.T @ keys.reshape(S * B, H)
    dz_sum = dz.sum(axis=0)  # (B, A): the query is shared by every position
    dquery = dz_sum @ Wq
    dWq = dz_sum.T @ query
    return dquery, dkeys, dWq, dWk, dv
