"""A sequence regressor for time series: a recurrent cell reads a window and predicts real values.

Two shapes of problem:

* **many-to-one** (``many_to_one=True``): read ``x (T, B, D)`` and predict ``y (B, O)`` from the
  last hidden state only, e.g. the next value of a series after a window of ``T`` values;
* **many-to-many** (``many_to_one=False``): predict ``y (T, B, O)`` at every step.

The model is a cell (the vanilla RNN by default, or the LSTM: ``cell="lstm"``) and a
mean-squared-error head (:class:`rnnlib.heads.RegressionHead`). The functions below take any
cell's parameters; the cell is told by the keys (:func:`rnnlib.cells.cell_of`).
"""
from __future__ import annotations

import numpy as np

from rnnlib.cells import cell_of
from rnnlib.heads import RegressionHead
from rnnlib.models import SequenceModel
from rnnlib.optim import Adam
from rnnlib.training import tbptt_train

__all__ = ["regressor_model", "init_regressor", "regressor_loss", "regressor_predict",
           "train_regressor"]


def regressor_model(cell="rnn", many_to_one=True):
    """Dense inputs, a cell, a mean-squared-error head.

    Parameters
    ----------
    cell : str or cell object
        ``"rnn"``, ``"lstm"`` or a cell from :mod:`rnnlib.cells`.
    many_to_one : bool

    Returns
    -------
    rnnlib.models.SequenceModel
    """
    return SequenceModel(cell, RegressionHead(many_to_one), inputs="dense")


def init_regressor(D, H, O, rng=None, cell="rnn"):
    """Initial parameters: the cell's (``Wxh (H, D)``, ``Whh (H, H)``, ``bh`` for the RNN),
    then ``Why (O, H)``, ``by``.

    Parameters
    ----------
    D, H, O : int
        Input, hidden and output sizes.
    rng : int | numpy.random.Generator | None
    cell : str or cell object

    Returns
    -------
    params : dict
    """
    return regressor_model(cell).init_params(D, H, O, rng)


def regressor_loss(params, x, y, h0=None, many_to_one=True):
    """Mean squared error of the regressor and its gradients.

    Parameters
    ----------
    params : dict
    x : (T, B, D) ndarray
        Input windows, time-major.
    y : (B, O) ndarray if ``many_to_one`` else (T, B, O) ndarray
        Targets.
    h0 : optional
        The cell's initial state (``(B, H)``, a pair for the LSTM; default zeros).
    many_to_one : bool
        Predict from the last hidden state only (``True``) or at every step.

    Returns
    -------
    loss : float
        Mean squared error over all predicted values.
    grads : dict
        Same keys and shapes as ``params``.
    h_last : the state after the last step
    """
    return regressor_model(cell_of(params), many_to_one).loss(params, x, y, h0)


def regressor_predict(params, x, h0=None, many_to_one=True):
    """Predictions of the regressor.

    Parameters
    ----------
    params : dict
    x : (T, B, D) ndarray
    h0 : optional
    many_to_one : bool

    Returns
    -------
    (B, O) ndarray if ``many_to_one`` else (T, B, O) ndarray
    """
    return regressor_model(cell_of(params), many_to_one).predict(params, x, h0)[0]


def train_regressor(x, y, H=32, steps=500, lr=1e-2, batch_size=32, clip=1.0, rng=None,
                    many_to_one=True, params=None, progress=False, cell="rnn"):
    """Fit a regressor with Adam on random minibatches of windows.

    Parameters
    ----------
    x : (T, N, D) ndarray
        ``N`` training sequences, time-major.
    y : (N, O) ndarray if ``many_to_one`` else (T, N, O) ndarray
    H : int
        Hidden size.
    steps : int
        Optimizer steps.
    lr : float
        Adam's learning rate.
    batch_size : int
        Windows per step (all of them if ``N`` is smaller).
    clip : float or None
        Global-norm clipping threshold.
    rng : int | numpy.random.Generator | None
        Seeds the initial parameters and the minibatch draws.
    many_to_one : bool
    params : dict, optional
        Start from these (updated in place) instead of a fresh initialisation.
    progress : bool
    cell : str or cell object
        ``"rnn"`` (default) or ``"lstm"``, for a fresh initialisation.

    Returns
    -------
    params : dict
    history : dict
        ``"loss"``: minibatch MSE of every step (before its update); ``"grad_norm"``.
    """
    rng = np.random.default_rng(rng)
    T, N, D = x.shape
    if params is None:
        params = init_regressor(D, H, y.shape[-1], rng, cell)

    def minibatches():
        for _ in range(steps):
            idx = rng.choice(N, size=min(batch_size, N), replace=False)
            yield x[:, idx], (y[idx] if many_to_one else y[:, idx])

    def loss_fn(params, xb, yb, h0):
        return regressor_loss(params, xb, yb, h0, many_to_one)

    # The one training loop; the windows are unrelated, so no state is carried between them.
    history = tbptt_train(params, loss_fn, minibatches(), Adam(lr), clip=clip, carry=False,
                          progress=progress, total=steps)
    return params, history
