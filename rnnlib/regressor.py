"""A sequence regressor for time series: an RNN reads a window and predicts real values.

Two shapes of problem:

* **many-to-one** (``many_to_one=True``): read ``x (T, B, D)`` and predict ``y (B, O)`` from the
  last hidden state only, e.g. the next value of a series after a window of ``T`` values;
* **many-to-many** (``many_to_one=False``): predict ``y (T, B, O)`` at every step.

The loss is the mean squared error (:func:`rnnlib.losses.mse`).
"""
from __future__ import annotations

import numpy as np

from rnnlib.layers import output_backward, output_forward
from rnnlib.losses import mse
from rnnlib.optim import Adam, clip_by_global_norm
from rnnlib.params import init_rnn_params
from rnnlib.rnn import rnn_backward, rnn_forward
from rnnlib.training import progress_bar

# Undecorated building blocks (see rnnlib._guard), so these models also run while a checker
# blocks the references, e.g. inside a student's function that trains or samples a model.
_rnn_forward = rnn_forward.__wrapped__
_rnn_backward = rnn_backward.__wrapped__
_output_forward = output_forward.__wrapped__
_output_backward = output_backward.__wrapped__
_mse = mse.__wrapped__
_clip = clip_by_global_norm.__wrapped__
_init_rnn_params = init_rnn_params.__wrapped__

__all__ = ["init_regressor", "regressor_loss", "regressor_predict", "train_regressor", "fit_minibatches"]


def init_regressor(D, H, O, rng=None):
    """Initial parameters: ``Wxh (H, D)``, ``Whh (H, H)``, ``bh``, ``Why (O, H)``, ``by``.

    Parameters
    ----------
    D, H, O : int
        Input, hidden and output sizes.
    rng : int | numpy.random.Generator | None

    Returns
    -------
    params : dict
    """
    return _init_rnn_params(D, H, O, rng)


def read_out(hs, params, many_to_one):
    """The output layer on the hidden states ``hs (T, B, H)``: ``(ys, out_cache)``.

    Many-to-one reads only the last state; keeping it as a length-1 sequence (``ys`` is then
    ``(1, B, O)``) lets the same output layer serve both cases. Shared with the LSTM regressor
    of :mod:`rnnlib.forecast`.
    """
    read = hs[-1:] if many_to_one else hs
    return _output_forward(read, params["Why"], params["by"])


def mse_back_to_states(ys, y, hs, out_cache, many_to_one):
    """Mean squared error of :func:`read_out`'s predictions, and its gradient on every state.

    Returns
    -------
    loss : float
    dhs : (T, B, H) ndarray
        Gradient on each hidden state (zero before the last one when ``many_to_one``).
    dWhy, dby : ndarray
        Gradients of the output layer.
    """
    loss, dys = _mse(ys, y[None] if many_to_one else y)
    dread, dWhy, dby = _output_backward(dys, out_cache)
    if many_to_one:
        # Only the last state was read: every earlier state gets its gradient through time.
        dhs = np.zeros_like(hs)
        dhs[-1] = dread[0]
    else:
        dhs = dread
    return loss, dhs, dWhy, dby


def _forward(params, x, h0, many_to_one):
    T, B, _ = x.shape
    H = params["Whh"].shape[0]
    h0 = np.zeros((B, H)) if h0 is None else h0
    hs, rnn_cache = _rnn_forward(x, h0, params["Wxh"], params["Whh"], params["bh"])
    ys, out_cache = read_out(hs, params, many_to_one)
    return ys, hs, rnn_cache, out_cache


def regressor_loss(params, x, y, h0=None, many_to_one=True):
    """Mean squared error of the regressor and its gradients.

    Parameters
    ----------
    params : dict
    x : (T, B, D) ndarray
        Input windows, time-major.
    y : (B, O) ndarray if ``many_to_one`` else (T, B, O) ndarray
        Targets.
    h0 : (B, H) ndarray, optional
        Initial hidden state (default zeros).
    many_to_one : bool
        Predict from the last hidden state only (``True``) or at every step.

    Returns
    -------
    loss : float
        Mean squared error over all predicted values.
    grads : dict
        Same keys and shapes as ``params``.
    h_last : (B, H) ndarray
    """
    ys, hs, rnn_cache, out_cache = _forward(params, x, h0, many_to_one)
    loss, dhs, dWhy, dby = mse_back_to_states(ys, y, hs, out_cache, many_to_one)
    _, _, dWxh, dWhh, dbh = _rnn_backward(dhs, rnn_cache)
    grads = {"Wxh": dWxh, "Whh": dWhh, "bh": dbh, "Why": dWhy, "by": dby}
    return loss, grads, hs[-1].copy()


def regressor_predict(params, x, h0=None, many_to_one=True):
    """Predictions of the regressor.

    Parameters
    ----------
    params : dict
    x : (T, B, D) ndarray
    h0 : (B, H) ndarray, optional
    many_to_one : bool

    Returns
    -------
    (B, O) ndarray if ``many_to_one`` else (T, B, O) ndarray
    """
    ys = _forward(params, x, h0, many_to_one)[0]
    return ys[0] if many_to_one else ys


def train_regressor(x, y, H=32, steps=500, lr=1e-2, batch_size=32, clip=1.0, rng=None,
                    many_to_one=True, params=None, progress=False):
    """Fit a regressor with Adam on random minibatches of windows.

    Parameters
    ----------
    x : (T, N, D) ndarray
        ``N`` training windows, time-major.
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

    Returns
    -------
    params : dict
    history : dict
        ``"loss"``: minibatch MSE of every step (before its update).
    """
    rng = np.random.default_rng(rng)
    T, N, D = x.shape
    if params is None:
        params = init_regressor(D, H, y.shape[-1], rng)
    return fit_minibatches(params, regressor_loss, x, y, steps=steps, lr=lr,
                           batch_size=batch_size, clip=clip, rng=rng,
                           many_to_one=many_to_one, progress=progress)


def fit_minibatches(params, loss_fn, x, y, *, steps, lr, batch_size, clip, rng,
                    many_to_one=True, progress=False):
    """Adam on random minibatches of windows: the loop shared by the RNN and LSTM regressors.

    Parameters
    ----------
    params : dict
        Updated in place.
    loss_fn : callable
        ``loss_fn(params, x (T, b, D), y, many_to_one=...) -> (loss, grads, state)``.
    x : (T, N, D) ndarray
    y : (N, O) ndarray if ``many_to_one`` else (T, N, O) ndarray
    steps, lr, batch_size, clip
        As in :func:`train_regressor`.
    rng : numpy.random.Generator
        Draws the minibatches.

    Returns
    -------
    params : dict
    history : dict
        ``"loss"``: minibatch loss of every step (before its update).
    """
    N = x.shape[1]
    opt = Adam(lr)
    history = {"loss": []}
    bar = progress_bar(steps, enabled=progress)
    for _ in range(steps):
        idx = rng.choice(N, size=min(batch_size, N), replace=False)
        yb = y[idx] if many_to_one else y[:, idx]
        loss, grads, _ = loss_fn(params, x[:, idx], yb, many_to_one=many_to_one)
        if clip is not None:
            grads, _ = _clip(grads, clip)
        opt.step(params, grads)
        history["loss"].append(loss)
        bar.update(loss)
    bar.close()
    return params, history
