"""Recurrent cells behind one interface, so that a model is a cell and a head.

A *cell* is the part of a recurrent network that carries a state through time: the vanilla
RNN's ``h``, the LSTM's pair ``(h, c)``. Every cell splits its work the same way
(:mod:`rnnlib.rnn` explains why): the *input terms* ``a_t = x_t @ W_in.T + b_in`` of all
steps are computed by the model in one product (or gathered, for one-hot inputs), and the
cell runs the loop that needs the previous state. So a model can feed a cell dense vectors,
character ids or the states of a layer below without the cell knowing.

The interface, the same for every cell::

    cell.input_weight, cell.input_bias   keys of W_in ((G*H, D)) and b_in ((G*H,))
    cell.init_params(D, H, rng)          -> dict of the cell's parameters
    cell.zero_state(B, H, dtype)         -> the state before the first step
    cell.forward(params, a, state)       -> hs (T, B, H), cache     (a is overwritten)
    cell.backward(dhs, cache)            -> da (T, B, G*H), dstate, grads of the other params
    cell.last_state(cache)               -> the state after the last step (copies), to carry
    cell.step(params, a_t, state)        -> h_t (B, H), state       (one step: sampling)

``G`` is the number of stacked blocks in ``W_in``: 1 for the vanilla RNN, 4 for the LSTM.
:func:`cell_of` tells which cell a parameter dict belongs to.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnlib.lstm import lstm_recurrence_backward, lstm_recurrence_forward
from rnnlib.params import lstm_cell_params, rnn_cell_params
from rnnlib.rnn import recurrence_backward, recurrence_forward, recurrent_weight_gradient

__all__ = ["RNNCell", "LSTMCell", "CELLS", "get_cell", "cell_of"]


class _RNNCache(NamedTuple):
    hs: np.ndarray  # (T, B, H)
    h0: np.ndarray  # (B, H)
    Whh: np.ndarray  # (H, H)


class RNNCell:
    """The vanilla (Elman) cell: ``h_t = tanh(a_t + h_{t-1} @ Whh.T)``, ``a_t = x_t @ Wxh.T + bh``.

    Parameters
    ----------
    whh_init : {"gaussian", "orthogonal"}
        How :meth:`init_params` draws ``Whh`` (see :func:`rnnlib.params.rnn_cell_params`).
    scale : float, optional
        Multiplies the drawn ``Whh``.
    """

    name = "rnn"
    input_weight = "Wxh"
    input_bias = "bh"
    blocks = 1

    def __init__(self, whh_init="gaussian", scale=None):
        self.whh_init = whh_init
        self.scale = scale

    def init_params(self, D, H, rng=None):
        """``Wxh (H, D)``, ``Whh (H, H)``, ``bh (H,)``."""
        return rnn_cell_params(D, H, rng, self.whh_init, self.scale)

    def zero_state(self, B, H, dtype=np.float64):
        """``h0 = 0``, ``(B, H)``."""
        return np.zeros((B, H), dtype=dtype)

    def forward(self, params, a, h0):
        """Run the recurrence on the input terms ``a (T, B, H)`` (overwritten) from ``h0``."""
        hs = recurrence_forward(a, h0, params["Whh"])
        return hs, _RNNCache(hs, h0, params["Whh"])

    def backward(self, dhs, cache):
        """BPTT: ``(da (T, B, H), dh0 (B, H), {"Whh": dWhh})``."""
        hs, h0, Whh = cache
        dzs, dh0 = recurrence_backward(dhs, hs, h0, Whh)
        return dzs, dh0, {"Whh": recurrent_weight_gradient(dzs, h0, hs)}

    def last_state(self, cache):
        """A copy of the last hidden state ``(B, H)``."""
        return cache.hs[-1].copy()

    def step(self, params, a_t, h_prev):
        """One step from the input term ``a_t (B, H)``: ``(h_t, h_t)``."""
        h_t = recurrence_forward(a_t[None].copy(), h_prev, params["Whh"])[0]
        return h_t, h_t


class _LSTMCache(NamedTuple):
    hs: np.ndarray  # (T, B, H)
    cs: np.ndarray  # (T, B, H)
    gates: np.ndarray  # (T, B, 4H)
    h0: np.ndarray  # (B, H)
    c0: np.ndarray  # (B, H)
    Wh: np.ndarray  # (4H, H)


class LSTMCell:
    """The LSTM cell of :mod:`rnnlib.lstm`; its state is the pair ``(h, c)``.

    Parameters
    ----------
    forget_bias : float
        Initial bias of the forget gate (see :func:`rnnlib.params.lstm_cell_params`).
    """

    name = "lstm"
    input_weight = "Wx"
    input_bias = "b"
    blocks = 4

    def __init__(self, forget_bias=1.0):
        self.forget_bias = forget_bias

    def init_params(self, D, H, rng=None):
        """``Wx (4H, D)``, ``Wh (4H, H)``, ``b (4H,)``."""
        return lstm_cell_params(D, H, rng, self.forget_bias)

    def zero_state(self, B, H, dtype=np.float64):
        """``(h0, c0) = (0, 0)``, each ``(B, H)``."""
        return np.zeros((B, H), dtype=dtype), np.zeros((B, H), dtype=dtype)

    def forward(self, params, a, state):
        """Run the LSTM on the input terms ``a (T, B, 4H)`` (overwritten) from ``(h0, c0)``."""
        h0, c0 = state
        hs, cs, gates = lstm_recurrence_forward(a, h0, c0, params["Wh"])
        return hs, _LSTMCache(hs, cs, gates, h0, c0, params["Wh"])

    def backward(self, dhs, cache):
        """BPTT: ``(da (T, B, 4H), (dh0, dc0), {"Wh": dWh})``."""
        das, dh0, dc0 = lstm_recurrence_backward(dhs, *cache)
        return das, (dh0, dc0), {"Wh": recurrent_weight_gradient(das, cache.h0, cache.hs)}

    def last_state(self, cache):
        """Copies of the last ``(h, c)``."""
        return cache.hs[-1].copy(), cache.cs[-1].copy()

    def step(self, params, a_t, state):
        """One step from the input terms ``a_t (B, 4H)``: ``(h_t, (h_t, c_t))``."""
        hs, cs, _ = lstm_recurrence_forward(a_t[None].copy(), *state, params["Wh"])
        return hs[0], (hs[0], cs[0])


#: The cells by name, as ``cell="rnn"`` arguments name them.
CELLS = {"rnn": RNNCell, "lstm": LSTMCell}


def get_cell(cell):
    """A cell object from a name (``"rnn"``, ``"lstm"``) or a cell object (returned as is)."""
    if isinstance(cell, str):
        try:
            return CELLS[cell]()
        except KeyError:
            raise ValueError(f"unknown cell {cell!r}; one of {sorted(CELLS)}") from None
    return cell


def cell_of(params):
    """The cell whose parameters ``params`` holds, told by its keys.

    Parameters
    ----------
    params : dict
        A model's parameters (a cell's and a head's).

    Returns
    -------
    RNNCell or LSTMCell
    """
    for cls in CELLS.values():
        cell = cls()
        if cell.input_weight in params and cell.input_bias in params:
            return cell
    raise ValueError(f"no cell has the parameters {sorted(params)}")
