"""What a trained character model's hidden state tracks, measured against what the last few
characters alone reveal.

Chapter 6 asks whether the hidden state of a character RNN keeps track of structure that spans
many characters, such as being inside a quoted string or inside parentheses. Three measurements,
each on text the choices were not made on:

* :func:`unit_correlations`: the correlation of every hidden unit with a property of the text
  (a *feature*: 1.0 where the position is inside quotes, 0.0 elsewhere, say);
* :class:`ContextTable`: what the *local context alone* explains. It predicts the feature at
  position ``t`` as its average, in a training text, over the positions whose last ``k``
  characters were the same (backing off to fewer characters for contexts seen fewer than
  ``min_count`` times). Whatever it gets right needs no memory beyond ``k`` characters;
* :func:`fit_readout` / :func:`readout`: a linear read-out of all hidden units together
  (least squares with an intercept), fitted on a training text: how much of the feature the
  state holds, even when no single unit holds it;
* :func:`partial_correlation`: what a unit (or the read-out) knows about the feature *beyond*
  what the local context alone predicts.

The features are functions of the text *up to and including* position ``t``, because ``h_t``
is the state after reading character ``t``: :func:`inside_quotes` and :func:`bracket_depth`.
"""
from __future__ import annotations

import numpy as np

from rnnlib.cells import cell_of
from rnnlib.charlm import char_model

__all__ = [
    "char_states",
    "inside_quotes",
    "bracket_depth",
    "recent_mark",
    "unit_correlations",
    "correlation",
    "partial_correlation",
    "ContextTable",
    "fit_readout",
    "readout",
]


def char_states(params, ids, h0=None):
    """The hidden state after every character of one text, ``hs (N, H)``.

    Parameters
    ----------
    params : dict
        A character model's parameters (:func:`rnnlib.charlm.init_char_rnn`); the vanilla RNN's
        states are its ``h``, the LSTM's its ``h`` too.
    ids : (N,) int ndarray
        The text, encoded.
    h0 : (1, H) ndarray, optional
        The state before the first character (default zeros).

    Returns
    -------
    hs : (N, H) ndarray
        ``hs[t]`` is the state after reading ``ids[t]``.
    """
    model = char_model(cell_of(params))
    hs, _ = model.forward(params, np.asarray(ids)[:, None], h0)
    return hs[:, 0].copy()


def inside_quotes(text, quote='"'):
    """1.0 where, after reading character ``t``, a quoted string is open.

    Quote characters alternate between opening and closing, so the position of an opening
    quote is inside (1.0) and the position of its closing quote is outside (0.0).

    Parameters
    ----------
    text : str
    quote : str
        The quote character.

    Returns
    -------
    (len(text),) float ndarray
    """
    marks = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32) == ord(quote)
    return (np.cumsum(marks) % 2 == 1).astype(float)


def bracket_depth(text, open_char="(", close_char=")"):
    """How many brackets are open after reading character ``t`` (a closing bracket without an
    opening one is ignored, so the depth never goes below 0).

    Parameters
    ----------
    text : str
    open_char, close_char : str

    Returns
    -------
    (len(text),) float ndarray
    """
    depth, d = np.empty(len(text)), 0
    for t, c in enumerate(text):
        if c == open_char:
            d += 1
        elif c == close_char and d > 0:
            d -= 1
        depth[t] = d
    return depth


def recent_mark(text, marks, w):
    """``True`` where one of the last ``w`` characters (``t-w+1 .. t``) is in ``marks``.

    Parameters
    ----------
    text : str
    marks : str
        Characters to look for, e.g. ``'"'`` or ``"()"``.
    w : int
        Window length, at least 1.

    Returns
    -------
    (len(text),) bool ndarray
    """
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    hit = np.isin(codes, [ord(c) for c in marks]).astype(np.int64)
    seen = np.concatenate([[0], np.cumsum(hit)])  # seen[i]: marks among the first i characters
    t = np.arange(len(codes))
    return seen[t + 1] - seen[np.maximum(t - w + 1, 0)] > 0


def correlation(a, b):
    """Pearson correlation of two equally long 1-d arrays (0 if either is constant)."""
    a = np.asarray(a, dtype=float) - np.mean(a)
    b = np.asarray(b, dtype=float) - np.mean(b)
    denom = np.sqrt(np.sum(a * a) * np.sum(b * b))
    return float(np.sum(a * b) / denom) if denom > 0 else 0.0


def partial_correlation(a, b, given):
    """Correlation of ``a`` and ``b`` once a linear dependence of each on ``given`` is removed.

    Each of ``a`` and ``b`` is replaced by its residual after a least-squares fit
    ``x ~ c0 + c1 * given``; the result is the Pearson correlation of the two residuals. With
    ``given`` the local context's prediction of a feature, it measures what ``a`` knows about
    the feature that the local context does not.

    Parameters
    ----------
    a, b, given : (N,) ndarray

    Returns
    -------
    float
        In ``[-1, 1]`` (0 if a residual is constant).
    """
    X = np.stack([np.ones(len(given)), np.asarray(given, dtype=float)], axis=1)

    def residual(y):
        y = np.asarray(y, dtype=float)
        return y - X @ np.linalg.lstsq(X, y, rcond=None)[0]

    return correlation(residual(a), residual(b))


def unit_correlations(hs, feature):
    """Pearson correlation of every unit's activation with a feature.

    Parameters
    ----------
    hs : (N, H) ndarray
    feature : (N,) ndarray

    Returns
    -------
    (H,) ndarray
        Entry ``j`` is the correlation of ``hs[:, j]`` with ``feature`` (0 for a constant unit).
    """
    hc = hs - hs.mean(axis=0)
    fc = np.asarray(feature, dtype=float) - np.mean(feature)
    denom = np.sqrt((hc**2).sum(axis=0) * (fc**2).sum())
    num = hc.T @ fc
    return np.divide(num, denom, out=np.zeros_like(num), where=denom > 0)


def _context_codes(ids, j, V):
    """Code of the ``j`` characters ending at every position (-1 where fewer than ``j`` exist)."""
    ids = np.asarray(ids, dtype=np.int64)
    N = len(ids)
    codes = np.full(N, -1, dtype=np.int64)
    if N >= j:
        c = np.zeros(N - j + 1, dtype=np.int64)
        for i in range(j):
            c = c * V + ids[i: i + N - j + 1]
        codes[j - 1:] = c
    return codes


class ContextTable:
    """Predict a feature from the last ``k`` characters alone, by averaging it in a training text.

    Parameters
    ----------
    fit_ids : (N,) int ndarray
        The training text, encoded.
    fit_feature : (N,) ndarray
        The feature at every position of the training text.
    V : int
        Vocabulary size.
    max_k : int
        Longest context that can be used (``V ** max_k`` must fit in 63 bits).
    min_count : int
        A context seen fewer times than this in the training text is not trusted: the
        prediction backs off to the context one character shorter, and finally to the
        feature's overall mean.
    """

    def __init__(self, fit_ids, fit_feature, V, max_k=8, min_count=2):
        if V ** max_k >= 2**62:
            raise ValueError(f"max_k={max_k} is too long for V={V}: the codes overflow int64")
        self.V, self.max_k, self.min_count = V, max_k, min_count
        f = np.asarray(fit_feature, dtype=float)
        self.mean = float(f.mean())
        self.tables = []
        for j in range(1, max_k + 1):
            codes = _context_codes(fit_ids, j, V)
            ok = codes >= 0
            keys, inverse, counts = np.unique(codes[ok], return_inverse=True, return_counts=True)
            means = np.bincount(inverse, weights=f[ok]) / counts
            self.tables.append((keys, counts, means))

    def predict(self, ids, k):
        """The feature predicted from the last ``k`` characters at every position of ``ids``.

        Parameters
        ----------
        ids : (M,) int ndarray
        k : int
            1 to ``max_k``.

        Returns
        -------
        (M,) ndarray
        """
        if not 1 <= k <= self.max_k:
            raise ValueError(f"k must be in 1..{self.max_k}, got {k}")
        pred = np.full(len(ids), self.mean)
        for j in range(1, k + 1):  # longer contexts overwrite shorter ones where trusted
            keys, counts, means = self.tables[j - 1]
            codes = _context_codes(ids, j, self.V)
            pos = np.minimum(np.searchsorted(keys, codes), len(keys) - 1)
            found = (codes >= 0) & (keys[pos] == codes) & (counts[pos] >= self.min_count)
            pred = np.where(found, means[pos], pred)
        return pred


def fit_readout(hs, feature):
    """Least-squares weights of a linear read-out ``feature ~ hs @ w[:-1] + w[-1]``.

    Parameters
    ----------
    hs : (N, H) ndarray
    feature : (N,) or (N, m) ndarray
        One feature, or ``m`` features as columns (one factorisation serves them all).

    Returns
    -------
    w : (H + 1,) or (H + 1, m) ndarray
        The unit weights, then the intercept (a column per feature).
    """
    X = np.concatenate([hs, np.ones((len(hs), 1))], axis=1)
    return np.linalg.lstsq(X, np.asarray(feature, dtype=float), rcond=None)[0]


def readout(hs, w):
    """The read-out ``hs @ w[:-1] + w[-1]`` of :func:`fit_readout`, ``(N,)`` (or ``(N, m)``)."""
    return hs @ w[:-1] + w[-1]
