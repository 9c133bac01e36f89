"""Bidirectional recurrent networks (Schuster & Paliwal, 1997): one cell reads the sequence
forwards, another reads it backwards, and their states are put side by side.

::

    forward direction:   h→_0 ──> h→_1 ──> ... ──> h→_{T-1}       reads x_0, x_1, ..., x_{T-1}
    backward direction:  h←_0 <── h←_1 <── ... <── h←_{T-1}       reads x_{T-1}, ..., x_1, x_0
    output at step t:    [h→_t, h←_t]                             (B, 2H)

``h→_t`` has read ``x_0 .. x_t`` and ``h←_t`` has read ``x_t .. x_{T-1}``, so the output at
every step depends on the *whole* sequence. That is what a tagger wants (the label of a word
may depend on the words after it), and it is why a bidirectional network cannot generate: to
compute ``h←_t`` it needs inputs that a generator has not produced yet.

The backward direction is an ordinary cell run over the time-reversed sequence; its states are
reversed again before they are joined, so that row ``t`` of the output belongs to input ``t``.
PyTorch's ``nn.RNN(bidirectional=True)`` does the same, forward half first.

* :func:`bidirectional_gru_forward` is the plain function of the exercises: two GRUs over a
  dense sequence, their states joined.
* :class:`Bidirectional` wraps any cell of :mod:`rnnlib.cells` and is a cell itself (its
  forward and backward passes, its parameters). The two directions read the same input, so
  their input weights are stored stacked: ``W_in (2*G*H, D)``, forward direction's rows
  first (PyTorch's ``weight_ih_l0`` over ``weight_ih_l0_reverse``), and one product computes
  both directions' input terms. The backward direction's recurrent parameters carry the suffix
  ``_reverse`` (``"Whh_reverse"``), as in PyTorch. The state is the pair
  ``(forward state, backward state)``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnlib.cells import get_cell
from rnnlib.gru import gru_forward

__all__ = ["bidirectional_gru_forward", "Bidirectional", "REVERSE"]

#: The suffix of the backward direction's parameter names.
REVERSE = "_reverse"


def bidirectional_gru_forward(x, h0_f, h0_b, fwd, bwd):
    """A bidirectional GRU layer over a whole sequence.

    Parameters
    ----------
    x : (T, B, D) ndarray
    h0_f : (B, H) ndarray
        Initial state of the forward direction (before it reads ``x[0]``).
    h0_b : (B, H) ndarray
        Initial state of the backward direction (before it reads ``x[T-1]``).
    fwd, bwd : tuple ``(Wx, Wh, bx, bh)``
        The two directions' GRU parameters (:mod:`rnnlib.gru`), each ``Wx (3H, D)``,
        ``Wh (3H, H)``, ``bx (3H,)``, ``bh (3H,)``.

    Returns
    -------
    hs : (T, B, 2H) ndarray
        ``hs[t, :, :H]`` is the forward state after reading ``x[0..t]``; ``hs[t, :, H:]`` the
        backward state after reading ``x[T-1], ..., x[t]``.
    """
    hs_f, _ = gru_forward(x, h0_f, *fwd)
    hs_b, _ = gru_forward(x[::-1], h0_b, *bwd)  # reads x[T-1], ..., x[0]
    # hs_b[k] is the state after reading x[T-1-k]: reverse it so that row t belongs to x[t].
    return np.concatenate([hs_f, hs_b[::-1]], axis=-1)


class _BidirectionalCache(NamedTuple):
    forward: object  # the forward direction's cell cache
    backward: object  # the backward direction's cell cache (over reversed time)


class Bidirectional:
    """A cell read in both directions, as one cell whose outputs are ``(T, B, 2H)``.

    Parameters
    ----------
    cell : cell object or str
        The cell of both directions (``"rnn"``, ``"gru"``, ``"lstm"`` or a cell object).
    """

    def __init__(self, cell):
        self.cell = get_cell(cell)
        self.name = f"bi{self.cell.name}"
        self.input_weight = self.cell.input_weight
        self.input_bias = self.cell.input_bias
        self.blocks = 2 * self.cell.blocks  # both directions' blocks, forward first
        self._keys = tuple(self.cell.init_params(1, 1, 0))  # one direction's names

    def _split(self, params):
        """The two directions' parameters under the cell's own names (views, no copies)."""
        GH = params[self.input_weight].shape[0] // 2
        fwd, bwd = {}, {}
        for k in self._keys:
            if k in (self.input_weight, self.input_bias):
                fwd[k], bwd[k] = params[k][:GH], params[k][GH:]
            else:
                fwd[k], bwd[k] = params[k], params[k + REVERSE]
        return fwd, bwd

    def init_params(self, D, H, rng=None):
        """Both directions' parameters: forward direction drawn first, then backward."""
        rng = np.random.default_rng(rng)
        fwd = self.cell.init_params(D, H, rng)
        bwd = self.cell.init_params(D, H, rng)
        params = {}
        for k in fwd:
            if k in (self.input_weight, self.input_bias):
                params[k] = np.concatenate([fwd[k], bwd[k]])
            else:
                params[k], params[k + REVERSE] = fwd[k], bwd[k]
        return params

    def zero_state(self, B, H, dtype=np.float64):
        """``(forward state, backward state)``, both zeros."""
        return self.cell.zero_state(B, H, dtype), self.cell.zero_state(B, H, dtype)

    def forward(self, params, a, state):
        """Run both directions on the input terms ``a (T, B, 2*G*H)`` from ``(state_f, state_b)``.

        Returns
        -------
        hs : (T, B, 2H) ndarray
            Row ``t``: the forward state after ``x[0..t]``, then the backward state after
            ``x[T-1..t]``.
        cache
        """
        fwd, bwd = self._split(params)
        GH = a.shape[-1] // 2
        hs_f, cache_f = self.cell.forward(fwd, a[:, :, :GH].copy(), state[0])
        # The backward direction reads time reversed; its outputs are reversed back.
        hs_b, cache_b = self.cell.forward(bwd, a[::-1, :, GH:].copy(), state[1])
        return np.concatenate([hs_f, hs_b[::-1]], axis=-1), _BidirectionalCache(cache_f, cache_b)

    def backward(self, dhs, cache):
        """BPTT in both directions.

        Returns
        -------
        da : (T, B, 2*G*H) ndarray
            Gradient on the input terms, forward direction's blocks first.
        dstate : pair
            Gradients on both initial states.
        grads : dict
            Both directions' recurrent parameters (the backward one's with ``_reverse``).
        """
        H = dhs.shape[-1] // 2
        da_f, ds_f, g_f = self.cell.backward(dhs[:, :, :H].copy(), cache.forward)
        # The backward direction's step k was time T-1-k: its gradients are reversed both ways.
        da_b, ds_b, g_b = self.cell.backward(dhs[::-1, :, H:].copy(), cache.backward)
        grads = {**g_f, **{k + REVERSE: v for k, v in g_b.items()}}
        return np.concatenate([da_f, da_b[::-1]], axis=-1), (ds_f, ds_b), grads

    def last_state(self, cache):
        """Copies of ``(forward state after x[T-1], backward state after x[0])``, as PyTorch's
        ``h_n``. Carrying them into a next chunk would be meaningless for the backward
        direction (it should start from the end of the *next* chunk): a bidirectional network
        reads whole sequences."""
        return self.cell.last_state(cache.forward), self.cell.last_state(cache.backward)

    def step(self, params, a_t, state):
        """Not possible: refuses with the reason."""
        raise TypeError(
            "a bidirectional network cannot run one step at a time: its backward direction "
            "starts at the end of the sequence, so the state at step t needs inputs that come "
            "after t. It can tag or encode a whole sequence, not generate one.")

    def output_size(self, H):
        """``2 * cell.output_size(H)``: both directions side by side."""
        return 2 * self.cell.output_size(H)
