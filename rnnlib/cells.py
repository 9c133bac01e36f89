"""Recurrent cells behind one interface, so that a model is a cell and a head.

A *cell* is the part of a recurrent network that carries a state through time: the vanilla
RNN's ``h``, the GRU's ``h``, the LSTM's pair ``(h, c)``. Every cell splits its work the same way
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
    cell.output_size(H)                  -> the width of hs: H (2H for a bidirectional cell)

``G`` is the number of stacked blocks in ``W_in``: 1 for the vanilla RNN, 3 for the GRU, 4
for the LSTM. :func:`cell_of` tells which cell a parameter dict belongs to. The wrappers of
:mod:`rnnlib.stacked` and :mod:`rnnlib.bidirectional` take any of these cells and are cells
themselves; :func:`layer_forward` and :func:`layer_backward` run any cell on dense inputs
``x (T, B, D)``, input product included.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnlib.gru import gru_recurrence_backward, gru_recurrence_forward
from rnnlib.lstm import lstm_recurrence_backward, lstm_recurrence_forward
from rnnlib.params import gru_cell_params, lstm_cell_params, rnn_cell_params
from rnnlib.rnn import input_terms, recurrence_backward, recurrence_forward, recurrent_weight_gradient

__all__ = ["RNNCell", "GRUCell", "LSTMCell", "CELLS", "get_cell", "cell_of", "LayerCache",
           "layer_forward", "layer_backward"]


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

    def output_size(self, H):
        """``H``: the width of the states the cell outputs."""
        return H

    def step(self, params, a_t, h_prev):
        """One step from the input term ``a_t (B, H)``: ``(h_t, h_t)``."""
        h_t = recurrence_forward(a_t[None].copy(), h_prev, params["Whh"])[0]
        return h_t, h_t


class _GRUCache(NamedTuple):
    hs: np.ndarray  # (T, B, H)
    gates: np.ndarray  # (T, B, 3H)
    hns: np.ndarray  # (T, B, H)
    h0: np.ndarray  # (B, H)
    Wh: np.ndarray  # (3H, H)


class GRUCell:
    """The GRU cell of :mod:`rnnlib.gru` (PyTorch's formulation); its state is ``h``.

    Its input terms ``a_t = x_t @ Wx.T + bx`` are the model's (``Wx (3H, D)``, ``bx (3H,)``);
    its own parameters are the recurrent ``Wh (3H, H)`` and ``bh (3H,)``, kept apart from
    ``bx`` because the reset gate multiplies ``bh``'s candidate block.
    """

    name = "gru"
    input_weight = "Wx"
    input_bias = "bx"
    blocks = 3

    def init_params(self, D, H, rng=None):
        """``Wx (3H, D)``, ``Wh (3H, H)``, ``bx (3H,)``, ``bh (3H,)``."""
        return gru_cell_params(D, H, rng)

    def zero_state(self, B, H, dtype=np.float64):
        """``h0 = 0``, ``(B, H)``."""
        return np.zeros((B, H), dtype=dtype)

    def forward(self, params, a, h0):
        """Run the GRU on the input terms ``a (T, B, 3H)`` (overwritten) from ``h0``."""
        hs, gates, hns = gru_recurrence_forward(a, h0, params["Wh"], params["bh"])
        return hs, _GRUCache(hs, gates, hns, h0, params["Wh"])

    def backward(self, dhs, cache):
        """BPTT: ``(da (T, B, 3H), dh0 (B, H), {"Wh": dWh, "bh": dbh})``."""
        hs, gates, hns, h0, Wh = cache
        das, dgs, dh0 = gru_recurrence_backward(dhs, hs, gates, hns, h0, Wh)
        T, B, H3 = dgs.shape
        return das, dh0, {"Wh": recurrent_weight_gradient(dgs, h0, hs),
                          "bh": dgs.reshape(T * B, H3).sum(axis=0)}

    def last_state(self, cache):
        """A copy of the last hidden state ``(B, H)``."""
        return cache.hs[-1].copy()

    def output_size(self, H):
        """``H``: the width of the states the cell outputs."""
        return H

    def step(self, params, a_t, h_prev):
        """One step from the input terms ``a_t (B, 3H)``: ``(h_t, h_t)``."""
        h_t = gru_recurrence_forward(a_t[None].copy(), h_prev, params["Wh"], params["bh"])[0][0]
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

    def output_size(self, H):
        """``H``: the width of the states the cell outputs."""
        return H

    def step(self, params, a_t, state):
        """One step from the input terms ``a_t (B, 4H)``: ``(h_t, (h_t, c_t))``."""
        hs, cs, _ = lstm_recurrence_forward(a_t[None].copy(), *state, params["Wh"])
        return hs[0], (hs[0], cs[0])


#: The cells by name, as ``cell="rnn"`` arguments name them.
CELLS = {"rnn": RNNCell, "gru": GRUCell, "lstm": LSTMCell}


def get_cell(cell):
    """A cell object from a name (``"rnn"``, ``"gru"``, ``"lstm"``) or a cell object (returned
    as is)."""
    if isinstance(cell, str):
        try:
            return CELLS[cell]()
        except KeyError:
            raise ValueError(f"unknown cell {cell!r}; one of {sorted(CELLS)}") from None
    return cell


class LayerCache(NamedTuple):
    """What :func:`layer_backward` needs from :func:`layer_forward`."""

    cell: object
    x: np.ndarray  # (T, B, D)
    W_in: np.ndarray  # (G*H, D)
    cache: object  # the cell's


def layer_forward(cell, params, x, state=None):
    """A cell on dense inputs: the input terms ``a_t = x_t @ W_in.T + b_in``, then the loop.

    Parameters
    ----------
    cell : cell object or str
    params : dict
        The cell's parameters (``cell.input_weight`` ``(G*H, D)``, ``cell.input_bias`` and its
        recurrent ones).
    x : (T, B, D) ndarray
    state : optional
        The cell's state before the first step (default zeros).

    Returns
    -------
    hs : (T, B, cell.output_size(H)) ndarray
    cache : LayerCache
    """
    cell = get_cell(cell)
    W, b = params[cell.input_weight], params[cell.input_bias]
    if state is None:
        state = cell.zero_state(x.shape[1], W.shape[0] // cell.blocks, x.dtype)
    hs, cache = cell.forward(params, input_terms(x, W, b), state)
    return hs, LayerCache(cell, x, W, cache)


def layer_backward(dhs, cache):
    """Backpropagation through time for :func:`layer_forward`.

    Parameters
    ----------
    dhs : (T, B, cell.output_size(H)) ndarray
        Upstream gradient on every output state.
    cache : LayerCache

    Returns
    -------
    dx : (T, B, D) ndarray
    dstate : the gradient on the initial state (same structure as the state)
    grads : dict
        The gradient of every parameter of the cell, by key.
    """
    cell, x, W, cell_cache = cache
    T, B, D = x.shape
    da, dstate, grads = cell.backward(dhs, cell_cache)
    da_flat = da.reshape(T * B, -1)
    grads = {cell.input_weight: da_flat.T @ x.reshape(T * B, D),  # = sum_t da_t.T @ x_t
             cell.input_bias: da_flat.sum(axis=0), **grads}
    return (da_flat @ W).reshape(T, B, D), dstate, grads


def cell_of(params):
    """The cell whose parameters ``params`` holds, told by its keys.

    Parameters
    ----------
    params : dict
        A model's parameters (a cell's and a head's).

    Returns
    -------
    RNNCell, GRUCell or LSTMCell, possibly wrapped

    Notes
    -----
    The GRU and the LSTM both name their input weight ``Wx``; the GRU's biases are ``bx`` and
    ``bh``, the LSTM's one bias is ``b``, so the bias keys tell them apart. Keys with the suffix
    ``_reverse`` make the cell :class:`~rnnlib.bidirectional.Bidirectional`, keys with
    ``_l1``, ``_l2``, ... a :class:`~rnnlib.stacked.Stacked` one of that many layers.
    """
    for cls in CELLS.values():
        cell = cls()
        if cell.input_weight in params and cell.input_bias in params:
            return _wrapped(cell, params)
    raise ValueError(f"no cell has the parameters {sorted(params)}")


def _wrapped(cell, params):
    """``cell``, wrapped as the keys of ``params`` say (bidirectional, stacked)."""
    import re

    # Imported here: the wrappers import this module.
    from rnnlib.bidirectional import REVERSE, Bidirectional
    from rnnlib.stacked import Stacked

    if any(REVERSE in k for k in params):
        cell = Bidirectional(cell)
    layers = [int(m.group(1)) for k in params for m in [re.search(r"_l(\d+)$", k)] if m]
    if layers:
        cell = Stacked(cell, max(layers) + 1)
    return cell
