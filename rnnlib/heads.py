"""Output heads: what a model computes from its hidden states, and the loss against targets.

A head reads the hidden states ``hs (T, B, H)`` that a cell produced, with its own parameters
``Why (O, H)`` and ``by (O,)`` (the output layer of :mod:`rnnlib.layers`), and turns a loss's
gradient into the gradient on every hidden state, which the cell then sends back through time.

The interface, the same for every head::

    head.init_params(H, O, rng)               -> {"Why": ..., "by": ...}
    head.outputs(params, hs)                  -> predictions
    head.read(params, h)                      -> the output layer on one step's states (B, O)
    head.loss(params, hs, targets, mask=None) -> loss, dhs (T, B, H), grads of Why and by
    head.score(params, hs, targets, mask=None) -> loss only (evaluation)
"""
from __future__ import annotations

import numpy as np

from rnnlib.layers import output_backward, output_forward
from rnnlib.losses import mse, softmax_cross_entropy
from rnnlib.params import linear_params

__all__ = ["SoftmaxHead", "RegressionHead"]


def _output_layer(params, h):
    """The output layer on one step's states ``h (B, H)``: ``(B, O)``."""
    return output_forward(h[None], params["Why"], params["by"])[0][0]


class SoftmaxHead:
    """Logits ``W_hy h_t + b_y`` at every step and the mean softmax cross-entropy (nats).

    ``targets`` are class ids ``(T, B)``; the outputs are logits ``(T, B, O)``. The character
    model's head (``O = V``) and chapter 4's classifier.
    """

    read = staticmethod(_output_layer)

    def init_params(self, H, O, rng=None):
        return linear_params(H, O, rng)

    def outputs(self, params, hs):
        """Logits ``(T, B, O)``."""
        return output_forward(hs, params["Why"], params["by"])[0]

    def score(self, params, hs, targets, mask=None):
        return softmax_cross_entropy(self.outputs(params, hs), targets, mask)[0]

    def loss(self, params, hs, targets, mask=None):
        logits, cache = output_forward(hs, params["Why"], params["by"])
        loss, dlogits = softmax_cross_entropy(logits, targets, mask)
        dhs, dWhy, dby = output_backward(dlogits, cache)
        return loss, dhs, {"Why": dWhy, "by": dby}


class RegressionHead:
    """Real-valued predictions and the mean squared error.

    Parameters
    ----------
    many_to_one : bool
        ``True``: predict ``(B, O)`` from the last hidden state only (e.g. the next value of a
        series after a window). ``False``: predict ``(T, B, O)`` at every step.
    """

    def __init__(self, many_to_one=True):
        self.many_to_one = many_to_one

    read = staticmethod(_output_layer)

    def init_params(self, H, O, rng=None):
        return linear_params(H, O, rng)

    def _read_states(self, params, hs):
        # Many-to-one reads only the last state; keeping it as a length-1 sequence lets the
        # same output layer serve both cases.
        return output_forward(hs[-1:] if self.many_to_one else hs, params["Why"], params["by"])

    def outputs(self, params, hs):
        """``(B, O)`` if many-to-one, else ``(T, B, O)``."""
        ys = self._read_states(params, hs)[0]
        return ys[0] if self.many_to_one else ys

    def score(self, params, hs, y, mask=None):
        return mse(self.outputs(params, hs), y, mask)[0]

    def loss(self, params, hs, y, mask=None):
        ys, cache = self._read_states(params, hs)
        loss, dys = mse(ys, y[None] if self.many_to_one else y, mask)
        dread, dWhy, dby = output_backward(dys, cache)
        if self.many_to_one:
            # Only the last state was read: every earlier state gets its gradient through time.
            dhs = np.zeros_like(hs)
            dhs[-1] = dread[0]
        else:
            dhs = dread
        return loss, dhs, {"Why": dWhy, "by": dby}
