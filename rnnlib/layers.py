"""The output layer applied at every time step: ``y_t = W_hy h_t + b_y``.

The seed article calls the output matrix ``Who``; rnnlib calls it ``Why`` (hidden to y).
Like the recurrent weights it is shared across time, so its gradient is a sum over steps.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


__all__ = ["OutputCache", "output_forward", "output_backward"]


class OutputCache(NamedTuple):
    hs: np.ndarray  # (T, B, H)
    Why: np.ndarray  # (O, H)


def output_forward(hs, Why, by):
    """Apply the same affine output layer to every hidden state.

    Parameters
    ----------
    hs : (T, B, H) ndarray
        Hidden states.
    Why : (O, H) ndarray
        Hidden-to-output weights (the article's ``Who``).
    by : (O,) ndarray
        Output bias.

    Returns
    -------
    ys : (T, B, O) ndarray
        Outputs (logits, for a classifier) at every step.
    cache : OutputCache
    """
    T, B, H = hs.shape
    ys = (hs.reshape(T * B, H) @ Why.T).reshape(T, B, -1) + by
    return ys, OutputCache(hs, Why)


def output_backward(dys, cache):
    """Backward pass of :func:`output_forward`.

    Parameters
    ----------
    dys : (T, B, O) ndarray
        Upstream gradient on the outputs.
    cache : OutputCache

    Returns
    -------
    dhs : (T, B, H) ndarray
    dWhy : (O, H) ndarray
        Summed over every time step and example (weight sharing).
    dby : (O,) ndarray
    """
    hs, Why = cache
    T, B, H = hs.shape
    dys_flat = dys.reshape(T * B, -1)
    dhs = (dys_flat @ Why).reshape(T, B, H)
    dWhy = dys_flat.T @ hs.reshape(T * B, H)
    dby = dys_flat.sum(axis=0)
    return dhs, dWhy, dby
