"""Baselines for a character language model: uniform, unigram and character n-gram models.

A language model is judged by how few bits per character it needs on text it has not seen
(Shannon, 1951). Before training a recurrent network it is worth knowing what simple counting
achieves, because a network that does not beat counting has learned nothing worth its cost:

* **uniform**: every one of the ``V`` characters equally likely, ``log2 V`` bits per character;
* **unigram**: each character with its frequency in the training text, ignoring the past;
* **n-gram**: the next character given the ``n - 1`` characters before it, from counts.

Counts of unseen combinations are zero, and a zero probability costs infinitely many bits, so
the counts are *smoothed* with add-k (Lidstone) smoothing::

    p(c | context) = (count(context, c) + k) / (count(context) + k V)

``k`` is chosen on validation text (:func:`tune_ngram`). Letters: ``V`` vocabulary size,
``n`` the order (1 = unigram: no context).
"""
from __future__ import annotations

import math

import numpy as np

__all__ = [
    "uniform_bits",
    "NGramModel",
    "fit_ngram",
    "ngram_bits",
    "tune_ngram",
]


def uniform_bits(V):
    """Bits per character of the model that spreads its bet evenly over ``V`` characters.

    Parameters
    ----------
    V : int
        Vocabulary size.

    Returns
    -------
    float
        ``log2 V``: every character costs the same, whatever the text.
    """
    return math.log2(V)


class NGramModel:
    """Counts of a character n-gram model (built by :func:`fit_ngram`).

    Attributes
    ----------
    n : int
        Order: the next character is predicted from the ``n - 1`` before it.
    V : int
        Vocabulary size.
    codes : (K,) int64 ndarray
        Sorted codes of the n-grams seen in training (an n-gram ``c_1 ... c_n`` is the number
        ``c_1 V^(n-1) + ... + c_n``, i.e. the ids written in base ``V``).
    counts : (K,) int64 ndarray
        How often each of those n-grams occurred.
    context_codes, context_counts : (K',) int64 ndarray
        The same for the ``(n-1)``-character contexts that were followed by something.
    """

    def __init__(self, n, V, codes, counts, context_codes, context_counts):
        self.n, self.V = n, V
        self.codes, self.counts = codes, counts
        self.context_codes, self.context_counts = context_codes, context_counts

    def log_probs(self, ids, k):
        """Natural-log probability of every character of ``ids`` that has a full context.

        Parameters
        ----------
        ids : (N,) int ndarray
            Encoded text.
        k : float
            Add-k smoothing constant (``> 0``).

        Returns
        -------
        (N - n + 1,) ndarray
            ``log p(ids[i] | ids[i-n+1 : i])`` for ``i = n-1 .. N-1``.
        """
        codes = _codes(ids, self.n, self.V)
        joint = _lookup(self.codes, self.counts, codes)
        context = _lookup(self.context_codes, self.context_counts, codes // self.V)
        return np.log(joint + k) - np.log(context + k * self.V)


def _codes(ids, n, V):
    # The n-gram starting at each position, written as one base-V integer.
    ids = np.asarray(ids, dtype=np.int64)
    if V ** n >= 2**62:
        raise ValueError(f"order {n} is too high for V={V}: the codes overflow int64")
    N = len(ids) - n + 1
    code = np.zeros(max(N, 0), dtype=np.int64)
    for j in range(n):
        code = code * V + ids[j: j + N]
    return code


def _lookup(keys, counts, queries):
    # counts[keys == q] for each query, 0 when q was never seen. keys are sorted.
    if len(keys) == 0:
        return np.zeros(len(queries))
    pos = np.searchsorted(keys, queries)
    pos = np.minimum(pos, len(keys) - 1)
    found = keys[pos] == queries
    return np.where(found, counts[pos], 0).astype(np.float64)


def fit_ngram(ids, n, V):
    """Count the n-grams of a training text.

    Parameters
    ----------
    ids : (N,) int ndarray
        Encoded training text, ids in ``0 .. V-1``.
    n : int
        Order, at least 1 (1 = unigram).
    V : int
        Vocabulary size.

    Returns
    -------
    NGramModel
    """
    if n < 1:
        raise ValueError("the order n must be at least 1")
    codes, counts = np.unique(_codes(ids, n, V), return_counts=True)
    # A context's count is the sum of the counts of the n-grams that extend it. (Counting
    # contexts in the text directly would also count the last n-1 characters, which are
    # followed by nothing.)
    ctx, inverse = np.unique(codes // V, return_inverse=True)
    ctx_counts = np.bincount(inverse, weights=counts).astype(np.int64)
    return NGramModel(n, V, codes, counts.astype(np.int64), ctx, ctx_counts)


def ngram_bits(model, ids, k):
    """Bits per character of an add-k smoothed n-gram model on a text.

    Parameters
    ----------
    model : NGramModel
    ids : (N,) int ndarray
        Encoded text to score (e.g. the validation text).
    k : float
        Smoothing constant.

    Returns
    -------
    float
        Mean of ``-log2 p(c | context)`` over the characters that have ``n - 1`` characters
        before them in ``ids``.
    """
    return float(-np.mean(model.log_probs(ids, k)) / math.log(2.0))


def tune_ngram(train_ids, val_ids, V, orders=(1, 2, 3, 4, 5), ks=None):
    """Fit n-grams of several orders and pick each one's smoothing ``k`` on validation text.

    Choosing ``k`` (and the order) on the validation text is generous to the baseline: it
    gets to see the answers for two numbers. A model that still beats it has really won.

    Parameters
    ----------
    train_ids, val_ids : (N,) and (M,) int ndarray
    V : int
    orders : sequence of int
    ks : sequence of float, optional
        Candidate smoothing constants (default: 13 values from 1e-4 to 1, log-spaced).

    Returns
    -------
    results : list of dict
        One per order: ``{"n", "k", "val_bits", "train_bits", "model"}``, with ``k`` the best
        constant on validation and ``val_bits`` its score.
    """
    ks = np.logspace(-4, 0, 13) if ks is None else ks
    results = []
    for n in orders:
        model = fit_ngram(train_ids, n, V)
        scores = [ngram_bits(model, val_ids, k) for k in ks]
        best = int(np.argmin(scores))
        results.append({
            "n": n,
            "k": float(ks[best]),
            "val_bits": float(scores[best]),
            "train_bits": ngram_bits(model, train_ids, float(ks[best])),
            "model": model,
        })
    return results
