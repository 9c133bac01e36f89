"""Creating and counting parameters.

Parameters live in a dict keyed by name; gradients use the same keys, so optimizers match them
by name. A vanilla RNN with an output layer has the keys of :data:`PARAM_NAMES`:
``"Wxh" (H, D)``, ``"Whh" (H, H)``, ``"bh" (H,)``, ``"Why" (O, H)``, ``"by" (O,)``. Each cell
of :mod:`rnnlib.cells` draws its own part here, and an output head its own, so that a model's
parameters are the cell's and the head's side by side.
"""
from __future__ import annotations

import numpy as np

__all__ = [
    "PARAM_NAMES",
    "init_rnn_params",
    "rnn_cell_params",
    "gru_cell_params",
    "lstm_cell_params",
    "linear_params",
    "orthogonal",
    "count_parameters",
    "spectral_radius",
]

#: The parameters of a vanilla RNN with an output layer, in the order they are drawn.
PARAM_NAMES = ("Wxh", "Whh", "bh", "Why", "by")


def orthogonal(n, rng=None):
    """A random ``(n, n)`` orthogonal matrix (all singular values exactly 1).

    Parameters
    ----------
    n : int
    rng : int | numpy.random.Generator | None

    Returns
    -------
    Q : (n, n) ndarray
    """
    rng = np.random.default_rng(rng)
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    # Fix the signs so that Q is uniformly distributed over orthogonal matrices.
    return q * np.sign(np.diag(r))


def rnn_cell_params(D, H, rng=None, whh_init="gaussian", scale=None):
    """The vanilla RNN cell's parameters ``Wxh (H, D)``, ``Whh (H, H)``, ``bh (H,)``.

    Parameters
    ----------
    D, H : int
        Input and hidden sizes.
    rng : int | numpy.random.Generator | None
    whh_init : {"gaussian", "orthogonal"}
        ``"gaussian"``: ``N(0, 1/fan_in)`` entries (Xavier-like, so that ``W x`` keeps roughly
        the variance of ``x``). ``"orthogonal"``: ``Whh`` is a random orthogonal matrix times
        ``scale`` (every singular value, and so the spectral radius, exactly ``scale``).
    scale : float, optional
        Multiplies ``Whh`` (default 1.0).

    Returns
    -------
    dict
        Drawn in the order Wxh, Whh; ``bh`` is zeros.
    """
    rng = np.random.default_rng(rng)
    scale = 1.0 if scale is None else float(scale)
    Wxh = rng.standard_normal((H, D)) / np.sqrt(D)
    if whh_init == "gaussian":
        Whh = rng.standard_normal((H, H)) / np.sqrt(H) * scale
    elif whh_init == "orthogonal":
        Whh = orthogonal(H, rng) * scale
    else:
        raise ValueError(f"whh_init must be 'gaussian' or 'orthogonal', got {whh_init!r}")
    return {"Wxh": Wxh, "Whh": Whh, "bh": np.zeros(H)}


def gru_cell_params(D, H, rng=None):
    """The GRU cell's parameters ``Wx (3H, D)``, ``Wh (3H, H)``, ``bx (3H,)``, ``bh (3H,)``.

    Parameters
    ----------
    D, H : int
    rng : int | numpy.random.Generator | None

    Returns
    -------
    dict
        ``Wx`` ~ ``N(0, 1/D)`` and ``Wh`` ~ ``N(0, 1/H)``, drawn in that order; both biases
        zero. The gates are stacked ``(r, z, n)`` as in :mod:`rnnlib.gru`. With zero biases a
        fresh GRU's update gate sits near ``sigmoid(0) = 0.5``: each step keeps about half of
        the previous state.
    """
    rng = np.random.default_rng(rng)
    Wx = rng.standard_normal((3 * H, D)) / np.sqrt(D)
    Wh = rng.standard_normal((3 * H, H)) / np.sqrt(H)
    return {"Wx": Wx, "Wh": Wh, "bx": np.zeros(3 * H), "bh": np.zeros(3 * H)}


def lstm_cell_params(D, H, rng=None, forget_bias=1.0):
    """The LSTM cell's parameters ``Wx (4H, D)``, ``Wh (4H, H)``, ``b (4H,)``.

    Parameters
    ----------
    D, H : int
    rng : int | numpy.random.Generator | None
    forget_bias : float
        The forget gate's block of the bias, ``b[H:2H]``. At 1 a fresh LSTM keeps most of its
        cell state (``sigmoid(1) = 0.73``), so gradients flow back through time from the start
        (Jozefowicz et al., 2015); 0 is the plain initialisation, for comparison.

    Returns
    -------
    dict
        ``Wx`` ~ ``N(0, 1/D)`` and ``Wh`` ~ ``N(0, 1/H)``, drawn in that order; the gates are
        stacked ``(i, f, g, o)`` as in :mod:`rnnlib.lstm`.
    """
    rng = np.random.default_rng(rng)
    Wx = rng.standard_normal((4 * H, D)) / np.sqrt(D)
    Wh = rng.standard_normal((4 * H, H)) / np.sqrt(H)
    b = np.zeros(4 * H)
    b[H:2 * H] = forget_bias
    return {"Wx": Wx, "Wh": Wh, "b": b}


def linear_params(H, O, rng=None):
    """An output layer's parameters ``Why (O, H)`` ~ ``N(0, 1/H)`` and ``by (O,)`` zeros.

    Parameters
    ----------
    H, O : int
    rng : int | numpy.random.Generator | None

    Returns
    -------
    dict
    """
    rng = np.random.default_rng(rng)
    return {"Why": rng.standard_normal((O, H)) / np.sqrt(H), "by": np.zeros(O)}


def init_rnn_params(D, H, O, rng=None, whh_init="gaussian", scale=None):
    """Initial parameters of an RNN with input size D, hidden size H and output size O.

    Parameters
    ----------
    D, H, O : int
        Input, hidden and output sizes.
    rng : int | numpy.random.Generator | None
        Seed or generator; the same seed gives the same parameters.
    whh_init : {"gaussian", "orthogonal"}
        See :func:`rnn_cell_params`.
    scale : float, optional
        Multiplies ``Whh`` (default 1.0).

    Returns
    -------
    params : dict
        ``Wxh (H, D)``, ``Whh (H, H)``, ``bh (H,)`` zeros, ``Why (O, H)``, ``by (O,)`` zeros,
        all float64. Drawn in the order Wxh, Whh, Why.
    """
    rng = np.random.default_rng(rng)
    return {**rnn_cell_params(D, H, rng, whh_init, scale), **linear_params(H, O, rng)}


def count_parameters(params):
    """Total number of scalars in a parameter dict.

    Parameters
    ----------
    params : dict of str -> ndarray

    Returns
    -------
    int
        For an RNN: ``H*D + H*H + H + O*H + O``, whatever the sequence length.
    """
    return int(sum(np.asarray(p).size for p in params.values()))


def spectral_radius(W):
    """Largest absolute eigenvalue of a square matrix.

    Parameters
    ----------
    W : (H, H) ndarray

    Returns
    -------
    float
    """
    return float(np.max(np.abs(np.linalg.eigvals(W))))
