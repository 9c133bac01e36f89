"""Measuring what an RNN remembers, and what an untrained one predicts.

Chapters 2 and 3 use these to look inside the model:

* :func:`rnn_states` runs the recurrence with either tanh or ReLU, to compare their dynamics;
* :func:`perturbation_trace` and :func:`memory_probe` change the first input ``x_1`` and
  measure how far every later hidden state (or only the last, ``h_T``) moves;
* :func:`sequence_cross_entropy` is the loss over time as a single number (mean over the
  positions the mask keeps), and :func:`initial_loss` runs the whole model to that number.

Letters: ``T`` time steps, ``B`` batch, ``D`` input size, ``H`` hidden size, ``V`` vocabulary.
"""
from __future__ import annotations

import numpy as np

from rnnlib.heads import SoftmaxHead
from rnnlib.losses import softmax_cross_entropy
from rnnlib.models import SequenceModel
from rnnlib.rnn import input_terms, recurrence_forward, relu_in_place, rnn_forward, tanh_in_place

__all__ = [
    "rnn_states",
    "perturbation_trace",
    "memory_probe",
    "sequence_cross_entropy",
    "initial_loss",
]

#: An RNN language model on dense (one-hot) inputs, for :func:`initial_loss`.
_LANGUAGE_MODEL = SequenceModel("rnn", SoftmaxHead(), inputs="dense")

_NONLINEARITIES = {"tanh": tanh_in_place, "relu": relu_in_place}


def rnn_states(x, h0, Wxh, Whh, bh, nonlinearity="tanh"):
    """Hidden states of a vanilla RNN with a chosen nonlinearity.

    The same recurrence as :func:`rnnlib.rnn.rnn_forward`, ``h_t = f(x_t Wxh^T + h_{t-1} Whh^T + bh)``,
    but ``f`` can be ReLU too, so that the book can show a state that grows without bound.

    Parameters
    ----------
    x : (T, B, D) ndarray
        Inputs, time-major.
    h0 : (B, H) ndarray
        Initial hidden state.
    Wxh : (H, D) ndarray
    Whh : (H, H) ndarray
    bh : (H,) ndarray
    nonlinearity : {"tanh", "relu"}

    Returns
    -------
    hs : (T, B, H) ndarray
        ``hs[t]`` is the state after reading ``x[t]``.
    """
    # ReLU states can overflow to inf for large Whh; that is the point of the demonstration.
    with np.errstate(over="ignore", invalid="ignore"):
        return recurrence_forward(input_terms(x, Wxh, bh), h0, Whh, _NONLINEARITIES[nonlinearity])


def perturbation_trace(x, h0, Wxh, Whh, bh, dx0, nonlinearity="tanh"):
    """How far every hidden state moves when the first input is changed.

    Parameters
    ----------
    x : (T, B, D) ndarray
    h0 : (B, H) ndarray
    Wxh : (H, D) ndarray
    Whh : (H, H) ndarray
    bh : (H,) ndarray
    dx0 : (B, D) ndarray
        Added to ``x[0]`` (the first input, ``x_1`` in the book's 1-based notation).
    nonlinearity : {"tanh", "relu"}

    Returns
    -------
    change : (T, B) ndarray
        ``change[t, b] = ||h_t(x') - h_t(x)||`` for example ``b``, Euclidean norm over units.
    """
    x2 = x.copy()
    x2[0] = x2[0] + dx0
    hs = rnn_states(x, h0, Wxh, Whh, bh, nonlinearity)
    hs2 = rnn_states(x2, h0, Wxh, Whh, bh, nonlinearity)
    return np.linalg.norm(hs2 - hs, axis=-1)


def memory_probe(x, h0, Wxh, Whh, bh, dx0):
    """How much the last hidden state ``h_T`` changes when the first input changes by ``dx0``.

    Parameters
    ----------
    x : (T, B, D) ndarray
        Inputs, time-major.
    h0 : (B, H) ndarray
        Initial hidden state.
    Wxh : (H, D) ndarray
    Whh : (H, H) ndarray
    bh : (H,) ndarray
    dx0 : (B, D) ndarray
        The change added to the first input ``x[0]``; the other inputs stay as they are.

    Returns
    -------
    change : (B,) ndarray
        ``change[b] = ||h_T(x with x[0] + dx0) - h_T(x)||_2`` for each example ``b``: zero
        would mean the network has forgotten its first input by the end of the sequence.
    """
    x2 = x.copy()  # never edit the caller's array
    x2[0] = x2[0] + dx0
    hs, _ = rnn_forward(x, h0, Wxh, Whh, bh)
    hs2, _ = rnn_forward(x2, h0, Wxh, Whh, bh)
    return np.linalg.norm(hs2[-1] - hs[-1], axis=1)


def sequence_cross_entropy(logits, targets, mask=None):
    """Mean softmax cross-entropy over the positions of a batch of sequences that count.

    The loss part of :func:`rnnlib.losses.softmax_cross_entropy`, without the gradient.

    Parameters
    ----------
    logits : (T, B, V) ndarray
        Unnormalised scores for every position.
    targets : (T, B) int ndarray
        Index of the correct symbol at every position.
    mask : (T, B) bool ndarray, optional
        ``True`` where a position counts (``False`` on padding). Default: all count.

    Returns
    -------
    loss : float
        ``-(1/N) sum_{t,b: mask} log softmax(logits[t, b])[targets[t, b]]`` in nats, where ``N``
        is the number of positions the mask keeps.
    """
    return softmax_cross_entropy(logits, targets, mask)[0]


def initial_loss(params, x, targets):
    """Loss of an RNN language model with the given (for example untrained) parameters.

    Runs the recurrence from ``h0 = 0``, the output layer at every step, and the mean softmax
    cross-entropy over all positions. For untrained parameters with small output weights the
    answer is close to ``ln V``: every symbol is about equally likely.

    Parameters
    ----------
    params : dict
        ``Wxh (H, D)``, ``Whh (H, H)``, ``bh (H,)``, ``Why (V, H)``, ``by (V,)``.
    x : (T, B, D) ndarray
        Inputs (for a character model, one-hot rows, ``D = V``).
    targets : (T, B) int ndarray
        The symbol to predict at every position.

    Returns
    -------
    loss : float
        Mean cross-entropy in nats.
    """
    return _LANGUAGE_MODEL.evaluate(params, x, targets)[0]
