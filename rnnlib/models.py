"""A recurrent model is an input projection, a cell and a head.

::

    inputs --(input terms a_t = x_t @ W_in.T + b_in)--> cell --(hs)--> head --> loss

* the *inputs* are dense vectors ``x (T, B, D)`` or integer ids ``(T, B)`` (characters); for
  ids the product with a one-hot vector only selects a column of ``W_in``, so the input terms
  are gathered instead of multiplied;
* the *cell* (:mod:`rnnlib.cells`) runs the recurrence and its backpropagation through time;
* the *head* (:mod:`rnnlib.heads`) computes predictions and the loss.

:class:`SequenceModel` puts the three together and gives every model the same calls:
``loss(params, inputs, targets, state) -> (loss, grads, state_after)``, the signature the
training loop (:func:`rnnlib.training.tbptt_train`) expects, and ``predict``. The character
language model (:mod:`rnnlib.charlm`) is an RNN or LSTM cell with a softmax head over ids; the
regressor (:mod:`rnnlib.regressor`) a cell with a mean-squared-error head over vectors.
"""
from __future__ import annotations

import numpy as np

from rnnlib.cells import get_cell
from rnnlib.rnn import input_terms

__all__ = ["SequenceModel"]


class SequenceModel:
    """A cell read by a head.

    Parameters
    ----------
    cell : cell object or str
        ``"rnn"``, ``"gru"``, ``"lstm"``, a cell from :mod:`rnnlib.cells`, or a wrapped one
        (:class:`rnnlib.stacked.Stacked`, :class:`rnnlib.bidirectional.Bidirectional`).
    head : head object
        From :mod:`rnnlib.heads`.
    inputs : {"dense", "ids"}
        ``"dense"``: inputs are float arrays ``(T, B, D)``. ``"ids"``: integer arrays ``(T, B)``
        read as one-hot vectors of size ``D``.
    """

    def __init__(self, cell, head, inputs="dense"):
        if inputs not in ("dense", "ids"):
            raise ValueError(f"inputs must be 'dense' or 'ids', got {inputs!r}")
        self.cell = get_cell(cell)
        self.head = head
        self.inputs = inputs

    def init_params(self, D, H, O, rng=None):
        """The cell's parameters, then the head's, drawn from one generator in that order.

        Parameters
        ----------
        D, H, O : int
            Input size (the vocabulary size for ids), hidden size, output size.
        rng : int | numpy.random.Generator | None

        Returns
        -------
        dict
        """
        rng = np.random.default_rng(rng)
        cell = self.cell.init_params(D, H, rng)
        # The head reads the cell's outputs: H wide, 2H for a bidirectional cell.
        return {**cell, **self.head.init_params(self.cell.output_size(H), O, rng)}

    def hidden_size(self, params):
        """``H``, read from the shape of the input weight ``(G*H, D)``."""
        return params[self.cell.input_weight].shape[0] // self.cell.blocks

    def input_terms(self, params, inputs):
        """``a (T, B, G*H)``: ``x_t @ W_in.T + b_in`` for every step (gathered for ids)."""
        W, b = params[self.cell.input_weight], params[self.cell.input_bias]
        if self.inputs == "ids":
            # For a one-hot x_t with its 1 at index k, x_t @ W.T is row k of W.T: the product
            # only selects. Indexing gathers those rows for all T*B positions at once (a new
            # array), the same numbers as the one-hot product without the multiplications.
            return W.T[np.asarray(inputs)] + b
        return input_terms(inputs, W, b)

    def input_grads(self, da, inputs, params):
        """Gradients of ``W_in`` and ``b_in`` from the gradient ``da (T, B, G*H)`` on the input terms.

        Returns
        -------
        dict
            ``{cell.input_weight: (G*H, D), cell.input_bias: (G*H,)}``.
        """
        W = params[self.cell.input_weight]
        T, B, GH = da.shape
        da_flat = da.reshape(T * B, GH)
        if self.inputs == "ids":
            # dW = sum over positions of da_t^T x_t. With one-hot x_t this adds da_t into
            # column k of dW; a product with the one-hot matrix does all those additions at once.
            one_hot = np.zeros((T * B, W.shape[1]), dtype=da.dtype)
            one_hot[np.arange(T * B), np.asarray(inputs).reshape(-1)] = 1.0
            dW = da_flat.T @ one_hot
        else:
            dW = da_flat.T @ inputs.reshape(T * B, -1)
        return {self.cell.input_weight: dW, self.cell.input_bias: da_flat.sum(axis=0)}

    def _start(self, params, inputs, state):
        if state is not None:
            return state
        B = np.shape(inputs)[1]
        return self.cell.zero_state(B, self.hidden_size(params), params[self.cell.input_weight].dtype)

    def forward(self, params, inputs, state=None):
        """Hidden states ``hs (T, B, H)`` and the cell's cache.

        Parameters
        ----------
        params : dict
        inputs : (T, B, D) float or (T, B) int ndarray
        state : optional
            The cell's state before the first step (default zeros).
        """
        a = self.input_terms(params, inputs)
        return self.cell.forward(params, a, self._start(params, inputs, state))

    def loss(self, params, inputs, targets, state=None, mask=None):
        """Loss and the gradient of every parameter (backpropagation through time).

        Parameters
        ----------
        params : dict
        inputs : (T, B, D) float or (T, B) int ndarray
        targets : what the head compares with (ids ``(T, B)`` or values)
        state : optional
            The cell's state before the first step (default zeros).
        mask : optional
            Where the loss counts (see the head).

        Returns
        -------
        loss : float
        grads : dict
            Same keys and shapes as ``params``.
        state : the cell's state after the last step
            A copy: pass it as ``state`` of the next chunk (truncated BPTT).
        """
        hs, cache = self.forward(params, inputs, state)
        loss, dhs, head_grads = self.head.loss(params, hs, targets, mask)
        da, _, cell_grads = self.cell.backward(dhs, cache)
        grads = {**self.input_grads(da, inputs, params), **cell_grads, **head_grads}
        return loss, {k: grads[k] for k in params}, self.cell.last_state(cache)

    def evaluate(self, params, inputs, targets, state=None, mask=None):
        """The loss without gradients, and the state after the last step (a copy)."""
        hs, cache = self.forward(params, inputs, state)
        return self.head.score(params, hs, targets, mask), self.cell.last_state(cache)

    def predict(self, params, inputs, state=None):
        """The head's predictions and the state after the last step."""
        hs, cache = self.forward(params, inputs, state)
        return self.head.outputs(params, hs), self.cell.last_state(cache)

    def step(self, params, input_t, state):
        """Read one input (an id ``(B,)`` or a vector ``(B, D)``): ``(outputs (B, O), state)``."""
        a_t = self.input_terms(params, np.asarray(input_t)[None])[0]
        h_t, state = self.cell.step(params, a_t, state)
        return self.head.read(params, h_t), state
