"""Forecasting a series: windows, the "last value" baseline, and standardisation.

A forecaster reads a window of ``T`` past values and predicts what comes next. Two shapes:

* **sequence-to-one**: one window in, the next ``horizon`` values out, ``y (B, horizon)``;
* **sequence-to-sequence**: at every step of the window, predict the value one step ahead,
  ``y (T, B, 1)`` (the window shifted by one).

The baseline every forecaster must beat is the naive "last value" forecast: tomorrow equals
today. For a series that wanders like a share price it is hard to beat, and a model that does
not beat it has learned nothing useful.

The forecasters themselves are :mod:`rnnlib.regressor`'s models, with the vanilla RNN cell or
the LSTM (``cell="lstm"``). Letters: ``T`` window length, ``B`` batch, ``D`` features (1 for a
single series), ``H`` hidden size, ``O`` outputs.
"""
from __future__ import annotations

import numpy as np

from rnnlib.data import sliding_windows

__all__ = [
    "forecast_windows",
    "last_value_forecast",
    "standardize",
]


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
    X, y = sliding_windows(series, window, horizon)  # (M, window), (M, horizon)
    return X.T[:, :, None].copy(), y


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
