"""Forecasting a series: windows, the "last value" baseline, and an LSTM regressor.

A forecaster reads a window of ``T`` past values and predicts what comes next. Two shapes:

* **sequence-to-one**: one window in, the next ``horizon`` values out, ``y (B, horizon)``;
* **sequence-to-sequence**: at every step of the window, predict the value one step ahead,
  ``y (T, B, 1)`` (the window shifted by one).

The baseline every forecaster must beat is the naive "last value" forecast: tomorrow equals
today. For a series that wanders like a share price it is hard to beat, and a model that does
not beat it has learned nothing useful.

The LSTM regressor here is :mod:`rnnlib.regressor` with the vanilla RNN replaced by
:func:`rnnlib.lstm.lstm_forward`; it has the same calling conventions, so the two can be trained
side by side on the same task. Letters: ``T`` window length, ``B`` batch, ``D`` features
(1 for a single series), ``H`` hidden size, ``O`` outputs.
"""
from __future__ import annotations

import numpy as np

from rnnlib._guard import reference
from rnnlib.data import sliding_windows
from rnnlib.lstm import init_lstm_params, lstm_backward, lstm_forward
from rnnlib.regressor import fit_minibatches, mse_back_to_states, read_out

# Undecorated building blocks (see rnnlib._guard), so these models also run while a checker
# blocks the references.
_sliding_windows = sliding_windows.__wrapped__
_lstm_forward = lstm_forward.__wrapped__
_lstm_backward = lstm_backward.__wrapped__

__all__ = [
    "forecast_windows",
    "last_value_forecast",
    "standardize",
    "init_lstm_regressor",
    "lstm_regressor_loss",
    "lstm_regressor_predict",
    "train_lstm_regressor",
]


@reference
def forecast_windows(series, window, horizon=1):
    """Sequence-to-one examples from a 1-D series, time-major, ready for an RNN.

    Parameters
    ----------
    series : (N,) ndarray
        One value per time step.
    window : int
        Input length ``T``.
    horizon : int
        How many following values each example must predict.

    Returns
    -------
    x : (window, M, 1) ndarray
        ``x[:, i, 0] = series[i : i + window]``, with ``M = N - window - horizon + 1``: example
        ``i`` is column ``i``, time runs down the first axis, one feature.
    y : (M, horizon) ndarray
        ``y[i] = series[i + window : i + window + horizon]``, the values right after window ``i``.

    Examples
    --------
    >>> x, y = forecast_windows(np.arange(5.0), window=3)
    >>> x[:, :, 0]
    array([[0., 1.],
           [1., 2.],
           [2., 3.]])
    >>> y
    array([[3.],
           [4.]])
    """
    series = np.asarray(series, dtype=np.float64)
    X, y = _sliding_windows(series, window, horizon)  # (M, window), (M, horizon)
    return X.T[:, :, None].copy(), y


@reference
def last_value_forecast(x, horizon=1):
    """The naive forecast: every future value equals the last value of the window.

    Parameters
    ----------
    x : (T, B, 1) ndarray
        A batch of windows, time-major.
    horizon : int
        How many steps ahead to forecast.

    Returns
    -------
    (B, horizon) ndarray
        Row ``b`` repeats ``x[-1, b, 0]`` ``horizon`` times.
    """
    x = np.asarray(x)
    return np.repeat(x[-1, :, :1], horizon, axis=1)


def standardize(train, *others):
    """Shift and scale by the *training* part's mean and standard deviation.

    Parameters
    ----------
    train : ndarray
    *others : ndarray
        Validation or test parts, transformed with the training statistics (computing them on
        the held-out part would let the model peek at it).

    Returns
    -------
    scaled : tuple of ndarray
        ``(train - mean) / std`` followed by each of ``others`` transformed the same way.
    mean, std : float
        To undo the scaling: ``value = scaled * std + mean``.
    """
    mean, std = float(np.mean(train)), float(np.std(train))
    scaled = tuple((np.asarray(a, dtype=np.float64) - mean) / std for a in (train, *others))
    return scaled, mean, std


def init_lstm_regressor(D, H, O, rng=None):
    """Initial parameters of an LSTM regressor: ``Wx (4H, D)``, ``Wh (4H, H)``, ``b (4H,)``,
    ``Why (O, H)``, ``by (O,)`` (see :func:`rnnlib.lstm.init_lstm_params`).

    Parameters
    ----------
    D, H, O : int
    rng : int | numpy.random.Generator | None

    Returns
    -------
    params : dict
    """
    return init_lstm_params(D, H, O, rng)


def _forward(params, x, state, many_to_one):
    T, B, _ = x.shape
    H = params["Wh"].shape[1]
    h0, c0 = (np.zeros((B, H)), np.zeros((B, H))) if state is None else state
    hs, cache = _lstm_forward(x, h0, c0, params["Wx"], params["Wh"], params["b"])
    ys, out_cache = read_out(hs, params, many_to_one)
    return ys, hs, cache, out_cache


def lstm_regressor_loss(params, x, y, state=None, many_to_one=True):
    """Mean squared error of the LSTM regressor and its gradients.

    Parameters
    ----------
    params : dict
        See :func:`init_lstm_regressor`.
    x : (T, B, D) ndarray
    y : (B, O) ndarray if ``many_to_one`` else (T, B, O) ndarray
    state : tuple (h0, c0) of (B, H) ndarray, optional
        Starting states (default zeros).
    many_to_one : bool
        Predict from the last hidden state only, or at every step.

    Returns
    -------
    loss : float
    grads : dict
        Same keys and shapes as ``params``.
    state : tuple (h_last, c_last) of (B, H) ndarray
    """
    ys, hs, cache, out_cache = _forward(params, x, state, many_to_one)
    loss, dhs, dWhy, dby = mse_back_to_states(ys, y, hs, out_cache, many_to_one)
    _, _, _, dWx, dWh, db = _lstm_backward(dhs, cache)
    grads = {"Wx": dWx, "Wh": dWh, "b": db, "Why": dWhy, "by": dby}
    return loss, grads, (hs[-1].copy(), cache.cs[-1].copy())


def lstm_regressor_predict(params, x, state=None, many_to_one=True):
    """Predictions of the LSTM regressor.

    Parameters
    ----------
    params : dict
    x : (T, B, D) ndarray
    state : tuple (h0, c0), optional
    many_to_one : bool

    Returns
    -------
    (B, O) ndarray if ``many_to_one`` else (T, B, O) ndarray
    """
    ys = _forward(params, x, state, many_to_one)[0]
    return ys[0] if many_to_one else ys


def train_lstm_regressor(x, y, H=32, steps=500, lr=1e-2, batch_size=32, clip=1.0, rng=None,
                         many_to_one=True, params=None, progress=False):
    """Fit an LSTM regressor with Adam on random minibatches of windows.

    The twin of :func:`rnnlib.regressor.train_regressor`: same arguments, same history.

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
    clip : float or None
        Global-norm clipping threshold.
    rng : int | numpy.random.Generator | None
        Seeds the initial parameters and the minibatches.
    many_to_one : bool
    params : dict, optional
        Continue from these parameters (updated in place).
    progress : bool
        Show a progress bar.

    Returns
    -------
    params : dict
    history : dict
        ``"loss"``: the minibatch loss of every step, before its update.
    """
    rng = np.random.default_rng(rng)
    T, N, D = x.shape
    if params is None:
        params = init_lstm_regressor(D, H, y.shape[-1], rng)
    return fit_minibatches(params, lstm_regressor_loss, x, y, steps=steps, lr=lr,
                           batch_size=batch_size, clip=clip, rng=rng,
                           many_to_one=many_to_one, progress=progress)
