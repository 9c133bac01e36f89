"""Creating and counting the parameters of a vanilla RNN with an output layer.

Parameters live in a dict with the keys ``"Wxh" (H, D)``, ``"Whh" (H, H)``, ``"bh" (H,)``,
``"Why" (O, H)``, ``"by" (O,)``; gradients use the same keys, so optimizers match them by name.
"""
from __future__ import annotations

import numpy as np

from rnnlib._guard import reference

__all__ = ["PARAM_NAMES", "init_rnn_params", "orthogonal", "count_parameters", "spectral_radius"]

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


@reference
def init_rnn_params(D, H, O, rng=None, whh_init="gaussian", scale=None):
    """Initial parameters of an RNN with input size D, hidden size H and output size O.

    Parameters
    ----------
    D, H, O : int
        Input, hidden and output sizes.
    rng : int | numpy.random.Generator | None
        Seed or generator; the same seed gives the same parameters.
    whh_init : {"gaussian", "orthogonal"}
        ``"gaussian"``: every weight matrix is ``N(0, 1/fan_in)`` (Xavier-like, so that
        ``W x`` keeps roughly the variance of ``x``). ``"orthogonal"``: ``Whh`` is a random
        orthogonal matrix times ``scale`` (spectral radius exactly ``scale``).
    scale : float, optional
        Multiplies ``Whh`` (default 1.0).

    Returns
    -------
    params : dict
        ``Wxh (H, D)``, ``Whh (H, H)``, ``bh (H,)`` zeros, ``Why (O, H)``, ``by (O,)`` zeros,
        all float64. Drawn in the order Wxh, Whh, Why.
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
    Why = rng.standard_normal((O, H)) / np.sqrt(H)
    return {"Wxh": Wxh, "Whh": Whh, "bh": np.zeros(H), "Why": Why, "by": np.zeros(O)}


@reference
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
