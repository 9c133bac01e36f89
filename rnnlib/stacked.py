"""Stacked (deep) recurrent networks: ``L`` layers of a cell, each reading the states of the
layer below.

::

    x_t ──> layer 0 ──h^(0)_t──> layer 1 ──h^(1)_t──> ... ──> layer L-1 ──h^(L-1)_t──> head

Layer 0 reads the inputs; layer ``l > 0`` reads ``h^(l-1)_t``, the state that layer ``l-1``
computed *at the same step*, so a stack adds computation between an input and its output at
every step, not memory of the past: each layer still carries its own state through time.

:class:`Stacked` wraps any cell of :mod:`rnnlib.cells` (or a :class:`~rnnlib.bidirectional.
Bidirectional` one) and is a cell itself, so ``SequenceModel(Stacked("gru", 2), head)``
works like any other model. Its parameters are the layers' side by side: layer 0 keeps the
cell's own names (``"Wxh", "Whh", "bh"``), layer ``l`` adds the suffix ``_l<l>``
(``"Wxh_l1"``, ``"Whh_l1"``, ...), as PyTorch's ``weight_ih_l1`` does. Its state is the tuple
of the layers' states, bottom first (PyTorch's ``h0`` of shape ``(L, B, H)``, one row per
layer). The forward pass runs the layers bottom to top; the backward pass top to bottom, each
layer's gradient on its input terms becoming the gradient on the states of the layer below.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnlib.cells import get_cell, layer_backward, layer_forward

__all__ = ["Stacked", "layer_params", "layer_key"]


def layer_key(key, layer):
    """The name of a cell's parameter ``key`` in layer ``layer``: ``"Whh"``, ``"Whh_l1"``, ..."""
    return key if layer == 0 else f"{key}_l{layer}"


def layer_params(params, layer, keys):
    """The parameters of one layer under the cell's own names (no copies).

    Parameters
    ----------
    params : dict
        A stack's parameters.
    layer : int
    keys : iterable of str
        The cell's parameter names.

    Returns
    -------
    dict
    """
    return {k: params[layer_key(k, layer)] for k in keys}


class _StackedCache(NamedTuple):
    bottom: object  # layer 0's cell cache
    layers: tuple  # LayerCache of layers 1 .. L-1


class Stacked:
    """``L`` layers of one kind of cell, as one cell.

    Parameters
    ----------
    cell : cell object or str
        The cell of every layer (``"rnn"``, ``"gru"``, ``"lstm"``, a cell object, or a
        :class:`~rnnlib.bidirectional.Bidirectional` cell).
    layers : int
        ``L``, at least 1.
    """

    def __init__(self, cell, layers=2):
        if layers < 1:
            raise ValueError(f"a stack needs at least one layer, got {layers}")
        self.cell = get_cell(cell)
        self.layers = int(layers)
        self.name = f"{self.cell.name}x{self.layers}"
        # The model computes layer 0's input terms; the stack computes the others.
        self.input_weight = self.cell.input_weight
        self.input_bias = self.cell.input_bias
        self.blocks = self.cell.blocks
        # The names of one layer's parameters, as the cell calls them.
        self.keys = tuple(self.cell.init_params(1, 1, 0))

    def init_params(self, D, H, rng=None):
        """Every layer's parameters, drawn bottom to top from one generator.

        Layer 0 reads ``D`` inputs, layer ``l > 0`` reads the ``cell.output_size(H)`` states of
        the layer below.
        """
        rng = np.random.default_rng(rng)
        params = {}
        for layer in range(self.layers):
            fan_in = D if layer == 0 else self.cell.output_size(H)
            for k, v in self.cell.init_params(fan_in, H, rng).items():
                params[layer_key(k, layer)] = v
        return params

    def zero_state(self, B, H, dtype=np.float64):
        """The tuple of the layers' zero states, bottom first."""
        return tuple(self.cell.zero_state(B, H, dtype) for _ in range(self.layers))

    def forward(self, params, a, state):
        """Run the stack on layer 0's input terms ``a`` (overwritten) from ``state`` (a tuple).

        Returns
        -------
        hs : (T, B, cell.output_size(H)) ndarray
            The top layer's states.
        cache
        """
        keys = self.keys
        hs, bottom = self.cell.forward(layer_params(params, 0, keys), a, state[0])
        caches = []
        for layer in range(1, self.layers):
            # The states of the layer below are this layer's inputs x_t.
            hs, cache = layer_forward(self.cell, layer_params(params, layer, keys), hs, state[layer])
            caches.append(cache)
        return hs, _StackedCache(bottom, tuple(caches))

    def backward(self, dhs, cache):
        """BPTT through every layer, top to bottom.

        Returns
        -------
        da : (T, B, G*H) ndarray
            Gradient on layer 0's input terms.
        dstate : tuple
            Gradient on each layer's initial state, bottom first.
        grads : dict
            Every parameter's gradient except layer 0's input weight and bias (the model's).
        """
        grads, dstates = {}, []
        for layer in range(self.layers - 1, 0, -1):
            # dhs becomes the gradient on the states of the layer below (its outputs).
            dhs, dstate, layer_grads = layer_backward(dhs, cache.layers[layer - 1])
            grads.update({layer_key(k, layer): v for k, v in layer_grads.items()})
            dstates.append(dstate)
        da, dstate, bottom_grads = self.cell.backward(dhs, cache.bottom)
        grads.update(bottom_grads)
        dstates.append(dstate)
        return da, tuple(dstates[::-1]), grads

    def last_state(self, cache):
        """The tuple of every layer's last state (copies), bottom first."""
        return (self.cell.last_state(cache.bottom),) + tuple(
            c.cell.last_state(c.cache) for c in cache.layers)

    def step(self, params, a_t, state):
        """One step through every layer: ``(top h_t, tuple of new states)``."""
        keys = self.keys
        h_t, new = self.cell.step(layer_params(params, 0, keys), a_t, state[0])
        states = [new]
        for layer in range(1, self.layers):
            p = layer_params(params, layer, keys)
            h_t, new = self.cell.step(p, h_t @ p[self.input_weight].T + p[self.input_bias], state[layer])
            states.append(new)
        return h_t, tuple(states)

    def output_size(self, H):
        """The width of the top layer's states."""
        return self.cell.output_size(H)
