"""A few plots the chapters share. matplotlib is imported inside each function, so
``import rnnlib`` does not need it."""
from __future__ import annotations

import numpy as np

__all__ = ["plot_loss_curves", "heatmap", "smooth", "plot_pulse_response"]


def smooth(values, beta=0.9):
    """Exponential moving average with bias correction (Adam's trick), for noisy loss curves.

    Parameters
    ----------
    values : (N,) array_like
    beta : float
        Weight of the past, in ``[0, 1)``; 0 returns the values unchanged.

    Returns
    -------
    (N,) ndarray
    """
    out = np.empty(len(values))
    avg = 0.0
    for i, v in enumerate(values):
        avg = beta * avg + (1.0 - beta) * v
        out[i] = avg / (1.0 - beta ** (i + 1))
    return out


def plot_loss_curves(history, ax=None, beta=0.9, ylabel="loss (nats per character)"):
    """Plot training loss (raw and smoothed) and, if present, validation loss against steps.

    Parameters
    ----------
    history : dict
        ``"train_loss"`` or ``"loss"``: one value per step; optionally ``"val_step"`` and
        ``"val_loss"`` (as returned by :func:`rnnlib.charlm.train_char_rnn`).
    ax : matplotlib Axes, optional
        Drawn into a new figure when omitted.
    beta : float
        Smoothing of the training curve (see :func:`smooth`).
    ylabel : str

    Returns
    -------
    ax : matplotlib Axes
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
    train = np.asarray(history.get("train_loss", history.get("loss", [])), dtype=float)
    steps = np.arange(1, len(train) + 1)
    ax.plot(steps, train, color="C0", alpha=0.25, lw=0.8)
    ax.plot(steps, smooth(train, beta), color="C0", label="training (smoothed)")
    if history.get("val_loss"):
        ax.plot(history["val_step"], history["val_loss"], "o-", color="C1", label="validation")
    ax.set_xlabel("training step")
    ax.set_ylabel(ylabel)
    ax.legend()
    return ax


def heatmap(hs, ax=None, labels=None, cmap="RdBu_r", colorbar=True):
    """Hidden states over time as an image: one column per time step, one row per unit.

    Parameters
    ----------
    hs : (T, H) or (T, 1, H) ndarray
        Hidden states of one sequence (values in ``[-1, 1]`` for tanh units).
    ax : matplotlib Axes, optional
    labels : sequence of str, optional
        One label per time step (e.g. the characters read), shown under the columns.
    cmap : str
        A diverging map, so 0 is white and the sign is the colour.
    colorbar : bool

    Returns
    -------
    ax : matplotlib Axes
    """
    import matplotlib.pyplot as plt

    hs = np.asarray(hs)
    if hs.ndim == 3:
        hs = hs[:, 0]
    if ax is None:
        _, ax = plt.subplots(figsize=(min(12, 2 + 0.3 * hs.shape[0]), 3), layout="constrained")
    lim = max(float(np.abs(hs).max()), 1e-12)
    im = ax.imshow(hs.T, aspect="auto", cmap=cmap, vmin=-lim, vmax=lim, interpolation="nearest")
    ax.set_xlabel("time step t")
    ax.set_ylabel("hidden unit")
    if labels is not None:
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels([repr(c)[1:-1] if isinstance(c, str) else c for c in labels])
    if colorbar:
        ax.figure.colorbar(im, ax=ax, label="activation")
    return ax


def plot_pulse_response(hs, ax_heat, ax_norm, title=None, color="C0"):
    """What one input does to a network left alone: the states as a heatmap, and their norm.

    Chapter 2 draws this for a few fixed gains of ``W_hh``, and its exercise notebook for the
    gain a slider chooses: one picture of the same experiment.

    Parameters
    ----------
    hs : (T, H) or (T, 1, H) ndarray
        The states after one input at step 1 and zeros afterwards.
    ax_heat, ax_norm : matplotlib Axes
        Where the heatmap (one column per step) and the norm ``||h_t||`` against ``t``
        (logarithmic axis) are drawn.
    title : str, optional
        Title of the heatmap.
    color : str
        Colour of the norm's line.

    Returns
    -------
    norms : (T,) ndarray
        ``||h_t||`` for ``t = 1 .. T``.
    """
    hs = np.asarray(hs)
    if hs.ndim == 3:
        hs = hs[:, 0]
    from matplotlib.ticker import MaxNLocator

    heatmap(hs, ax=ax_heat, colorbar=False)
    ax_heat.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax_heat.xaxis.set_major_locator(MaxNLocator(integer=True))
    if title:
        ax_heat.set_title(title)
    norms = np.linalg.norm(hs, axis=1)
    ax_norm.semilogy(np.arange(1, len(norms) + 1), np.maximum(norms, 1e-300), color=color)
    ax_norm.set_xlabel("time step t")
    ax_norm.set_ylabel("$\\|h_t\\|$")
    return norms
