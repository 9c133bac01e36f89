"""Sequential data: text as characters, series as windows, and synthetic memory tasks.

Everything here ships with the install; nothing is downloaded.

* **Text** — :func:`load_text`: the English reference documentation that CPython ships in
  ``pydoc_data.topics`` (about 465,000 characters). :func:`char_vocab` / :func:`build_vocab`
  give each distinct character an integer; :func:`one_hot` turns integers into vectors.
* **Batches of text** — :func:`batchify` cuts one long id stream into ``B`` contiguous
  streams, :func:`iter_chunks` walks them ``T`` steps at a time with targets shifted by one
  step, and :func:`make_batches` does both at once.
* **Real series** — :func:`load_series`: matplotlib's bundled sample data (monthly stock
  prices, daily Google prices, four EEG channels), read as plain files.
* **Windows** — :func:`sliding_windows` turns one series into (window, next values) examples;
  :func:`train_val_split` splits in time order.
* **Synthetic tasks** — :func:`sine_waves`, :func:`adding_problem`, :func:`copy_memory`, with
  the score of a model that remembers nothing (:func:`adding_problem_baseline`,
  :func:`copy_memory_baseline`).

Letters: ``N`` characters or samples in a stream, ``T`` time steps, ``B`` batch (streams),
``D`` features per step, ``V`` vocabulary size. Arrays fed to a model are time-major,
``(T, B)`` for ids and ``(T, B, D)`` for vectors.
"""
from __future__ import annotations

import importlib.util
import os
from typing import NamedTuple

import numpy as np


__all__ = [
    "Vocab",
    "char_vocab",
    "build_vocab",
    "encode",
    "decode",
    "one_hot",
    "batchify",
    "iter_chunks",
    "make_batches",
    "sliding_windows",
    "train_val_split",
    "load_text",
    "Series",
    "SERIES_NAMES",
    "STOCK_TICKERS",
    "load_series",
    "sine_waves",
    "adding_problem",
    "adding_problem_baseline",
    "COPY_BLANK",
    "copy_memory",
    "copy_memory_baseline",
]


# ---------------------------------------------------------------------------------------------
# Characters, vocabularies, one-hot vectors
# ---------------------------------------------------------------------------------------------


def char_vocab(text):
    """The sorted distinct characters of ``text`` and the index of each.

    Parameters
    ----------
    text : str

    Returns
    -------
    chars : list of str
        Every character that occurs in ``text``, once, in sorted (code point) order. Sorting
        makes the numbering depend only on *which* characters occur, not on where they first
        appear, so two runs on the same text agree.
    index : dict
        ``index[c]`` is the position of ``c`` in ``chars``; ``chars[index[c]] == c``.

    Examples
    --------
    >>> char_vocab("hello")
    (['e', 'h', 'l', 'o'], {'e': 0, 'h': 1, 'l': 2, 'o': 3})
    """
    chars = sorted(set(text))
    return chars, {c: i for i, c in enumerate(chars)}


class Vocab:
    """A character vocabulary: ``chars[i]`` is the character with id ``i``.

    Build one with :func:`build_vocab`. ``len(vocab)`` is the vocabulary size ``V``.

    Attributes
    ----------
    chars : list of str
        Sorted distinct characters.
    index : dict
        Character to id, the inverse of ``chars``.
    """

    def __init__(self, chars):
        self.chars = list(chars)
        self.index = {c: i for i, c in enumerate(self.chars)}
        if len(self.index) != len(self.chars):
            raise ValueError("a vocabulary's characters must be distinct")

    def __len__(self):
        return len(self.chars)

    def __eq__(self, other):
        return isinstance(other, Vocab) and self.chars == other.chars

    def __repr__(self):
        shown = "".join(self.chars[:20])
        more = "..." if len(self.chars) > 20 else ""
        return f"Vocab(V={len(self)}, chars={shown!r}{more})"

    def encode(self, text):
        """Ids of the characters of ``text``: an ``(N,)`` int64 array.

        Raises ``KeyError`` naming the first character that is not in the vocabulary.
        """
        try:
            return np.fromiter((self.index[c] for c in text), dtype=np.int64, count=len(text))
        except KeyError as err:
            raise KeyError(f"character {err.args[0]!r} is not in the vocabulary") from None

    def decode(self, ids):
        """The string whose characters have the ids ``ids`` (any shape, read in C order)."""
        return "".join(self.chars[int(i)] for i in np.asarray(ids).ravel())


def build_vocab(text):
    """A :class:`Vocab` of the distinct characters of ``text``, sorted.

    Parameters
    ----------
    text : str

    Returns
    -------
    Vocab
    """
    chars, _ = char_vocab(text)
    return Vocab(chars)


def encode(text, vocab):
    """``vocab.encode(text)``: the ``(N,)`` int64 ids of the characters of ``text``."""
    return vocab.encode(text)


def decode(ids, vocab):
    """``vocab.decode(ids)``: the string spelled by ``ids``."""
    return vocab.decode(ids)


def one_hot(ids, V):
    """One-hot vectors of integer ids, on a new last axis.

    Parameters
    ----------
    ids : int ndarray of any shape, e.g. (N,) or (T, B)
        Values in ``0 .. V-1``.
    V : int
        Vocabulary size: the length of each vector.

    Returns
    -------
    x : ndarray of shape ``ids.shape + (V,)``, float64
        ``x[..., k]`` is 1.0 where ``ids == k`` and 0.0 elsewhere, so ``(T, B)`` ids become
        the ``(T, B, V)`` input of an RNN.

    Examples
    --------
    >>> one_hot(np.array([2, 0]), 3)
    array([[0., 0., 1.],
           [1., 0., 0.]])
    """
    ids = np.asarray(ids)
    if ids.size and (ids.min() < 0 or ids.max() >= V):
        raise ValueError(f"ids must lie in 0..{V - 1}, got values from {ids.min()} to {ids.max()}")
    x = np.zeros(ids.shape + (V,), dtype=np.float64)
    # Put a 1 at position ids[...] along the new last axis.
    np.put_along_axis(x, ids[..., None].astype(np.intp), 1.0, axis=-1)
    return x


# ---------------------------------------------------------------------------------------------
# Batching a long stream for (truncated) backpropagation through time
# ---------------------------------------------------------------------------------------------


def batchify(ids, B):
    """Cut one long id stream into ``B`` contiguous streams, side by side.

    Parameters
    ----------
    ids : (N,) int ndarray
    B : int
        Number of streams (the batch size).

    Returns
    -------
    streams : (N // B, B) ndarray
        Column ``b`` is the contiguous piece ``ids[b*L : (b+1)*L]`` with ``L = N // B``; the
        last ``N - B*L`` ids are dropped. Row ``t`` holds time step ``t`` of every stream
        (time-major). Because each column is a run of consecutive text, a hidden state left at
        the end of one chunk of rows is the right starting state for the next chunk: that is
        what lets truncated BPTT carry the state across chunks.

    Examples
    --------
    >>> batchify(np.arange(7), 2)
    array([[0, 3],
           [1, 4],
           [2, 5]])
    """
    ids = np.asarray(ids)
    L = len(ids) // B
    # Row-major reshape to (B, L) makes each *row* contiguous; transposing makes it a column.
    return ids[: B * L].reshape(B, L).T.copy()


def iter_chunks(streams, T, drop_last=False):
    """Walk ``B`` streams ``T`` steps at a time: inputs and the targets one step ahead.

    Parameters
    ----------
    streams : (L, B) ndarray
        Time-major streams, e.g. from :func:`batchify`.
    T : int
        Chunk length (the truncation length of truncated BPTT).
    drop_last : bool
        The last chunk is shorter than ``T`` when ``L - 1`` is not a multiple of ``T``; it is
        yielded by default and skipped when ``drop_last`` is true.

    Yields
    ------
    inputs : (T, B) ndarray
    targets : (T, B) ndarray
        ``targets[t] = streams[s + t + 1]`` where ``inputs[t] = streams[s + t]``: the target at
        each step is the next element of the same stream. Chunk ``k`` starts at ``s = k*T``, so
        the next chunk's first input is this chunk's last target: the streams continue.
    """
    streams = np.asarray(streams)
    L = streams.shape[0]
    for s in range(0, L - 1, T):
        n = min(T, L - 1 - s)  # the last target must exist, so inputs stop at L - 2
        if n < T and drop_last:
            return
        yield streams[s : s + n], streams[s + 1 : s + n + 1]


def make_batches(ids, T, B):
    """All full ``(T, B)`` chunks of a text at once: inputs and targets shifted by one step.

    This is :func:`batchify` followed by :func:`iter_chunks` with ``drop_last=True``, stacked.

    Parameters
    ----------
    ids : (N,) int ndarray
    T : int
        Time steps per chunk.
    B : int
        Number of contiguous streams (batch size).

    Returns
    -------
    inputs : (n, T, B) ndarray
    targets : (n, T, B) ndarray
        With ``L = N // B`` steps per stream and ``n = (L - 1) // T`` chunks:
        ``inputs[k, t, b] = ids[b*L + k*T + t]`` and ``targets[k, t, b] = ids[b*L + k*T + t + 1]``.
        ``inputs[k]`` is the ``(T, B)`` array for one truncated-BPTT step; ``inputs[k + 1]``
        continues every stream where ``inputs[k]`` stopped. Ids that do not fill a whole chunk
        are dropped.

    Examples
    --------
    >>> x, y = make_batches(np.arange(10), T=2, B=2)
    >>> x[0], y[0]
    (array([[0, 5],
           [1, 6]]), array([[1, 6],
           [2, 7]]))
    """
    ids = np.asarray(ids)
    L = len(ids) // B
    streams = ids[: B * L].reshape(B, L).T  # (L, B), column b contiguous
    n = max((L - 1) // T, 0)
    inputs = streams[: n * T].reshape(n, T, B)
    targets = streams[1 : n * T + 1].reshape(n, T, B)
    return inputs.copy(), targets.copy()


# ---------------------------------------------------------------------------------------------
# Windows over a series, splitting in time
# ---------------------------------------------------------------------------------------------


def sliding_windows(series, window, horizon=1):
    """Every (past ``window`` values, next ``horizon`` values) pair of a series.

    Parameters
    ----------
    series : (N,) or (N, D) ndarray
        Time on the first axis.
    window : int
        Length of each input window.
    horizon : int
        How many following values each target holds.

    Returns
    -------
    X : (M, window) or (M, window, D) ndarray
        ``X[i] = series[i : i + window]``, with ``M = N - window - horizon + 1`` windows.
    y : (M, horizon) or (M, horizon, D) ndarray
        ``y[i] = series[i + window : i + window + horizon]``: the values right after window
        ``i``, never overlapping it.

    Notes
    -----
    The result is example-major (one window per row), like a dataset. To feed a batch of
    windows to an RNN, take rows and move time to the front: ``X[idx].swapaxes(0, 1)`` is
    ``(window, B)`` or ``(window, B, D)``.

    Examples
    --------
    >>> X, y = sliding_windows(np.arange(6), window=3)
    >>> X
    array([[0, 1, 2],
           [1, 2, 3],
           [2, 3, 4]])
    >>> y
    array([[3],
           [4],
           [5]])
    """
    series = np.asarray(series)
    M = len(series) - window - horizon + 1
    if window < 1 or horizon < 1 or M < 1:
        raise ValueError(
            f"a series of length {len(series)} has no window of {window} followed by {horizon}"
        )
    starts = np.arange(M)
    X = series[starts[:, None] + np.arange(window)]  # (M, window, ...)
    y = series[starts[:, None] + window + np.arange(horizon)]  # (M, horizon, ...)
    return X, y


def train_val_split(x, val_fraction=0.1):
    """Split along the first (time) axis: the first part trains, the last part validates.

    Parameters
    ----------
    x : ndarray (or str)
        Anything indexed by time on its first axis: a text, an id stream, a series.
    val_fraction : float
        Fraction of the length, at the end, kept for validation.

    Returns
    -------
    train, val
        ``x[:n_train]`` and ``x[n_train:]`` with ``n_train = round(len(x) * (1 - val_fraction))``.

    Notes
    -----
    Not shuffled, on purpose. Neighbouring positions of a sequence are strongly related
    (the next character, tomorrow's price), so a random split puts near-copies of every
    validation example in the training set and the validation score measures memory, not
    prediction. A contiguous split asks the question that matters: how well does the model
    predict a stretch of the sequence it has never seen, coming *after* the one it learned from?
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError("val_fraction must be in [0, 1)")
    n_train = int(round(len(x) * (1.0 - val_fraction)))
    return x[:n_train], x[n_train:]


# ---------------------------------------------------------------------------------------------
# Real data that ships with the install
# ---------------------------------------------------------------------------------------------


def load_text(max_chars=None):
    """The English reference documentation that ships with CPython, as one string.

    The text is ``pydoc_data.topics.topics`` (the help pages behind ``help("for")`` and
    friends: statements, operators, special methods...), its entries joined in sorted key order
    with a blank line between them. It is the same on every machine with the same Python
    version, and needs no download.

    Parameters
    ----------
    max_chars : int, optional
        Keep only the first ``max_chars`` characters.

    Returns
    -------
    text : str
        About 465,000 characters and a vocabulary of about 100 characters.
    """
    from pydoc_data.topics import topics

    text = "\n\n".join(topics[key] for key in sorted(topics))
    return text if max_chars is None else text[:max_chars]


class Series(NamedTuple):
    """A time series: when each sample was taken, and its values.

    Attributes
    ----------
    t : (N,) ndarray
        Dates (``datetime64[D]``) or times in seconds (float64).
    values : (N,) or (N, D) float64 ndarray
    """

    t: np.ndarray
    values: np.ndarray


SERIES_NAMES = ("stocks", "goog", "eeg")
STOCK_TICKERS = ("IBM", "AAPL", "MSFT", "XRX", "AMZN", "DELL", "GOOGL", "ADBE", "^GSPC", "^IXIC")
_GOOG_FIELDS = ("open", "high", "low", "close", "volume", "adj_close")


def _sample_data_dir():
    """matplotlib's ``mpl-data/sample_data`` folder, found without importing matplotlib."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("load_series needs matplotlib installed (for its sample data)")
    path = os.path.join(os.path.dirname(spec.origin), "mpl-data", "sample_data")
    if not os.path.isdir(path):
        raise FileNotFoundError(f"matplotlib's sample data is not at {path}")
    return path


def _load_stocks(column):
    path = os.path.join(_sample_data_dir(), "Stocks.csv")
    with open(path, encoding="utf-8") as f:
        lines = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    header = lines[0].split(",")
    dates, rows = [], []
    for line in lines[1:]:
        fields = line.split(",")
        prices = [float(v) if v else np.nan for v in fields[1:]]
        if all(np.isnan(prices)):
            continue  # the file has placeholder rows with a date and no prices
        if rows and prices == rows[-1]:
            continue  # its last row (2022-06-28) repeats the previous month's prices
        dates.append(fields[0])
        rows.append(prices)
    t = np.array(dates, dtype="datetime64[D]")
    values = np.array(rows, dtype=np.float64)
    if column is None:
        return Series(t, values)
    if column not in header[1:]:
        raise ValueError(f"unknown ticker {column!r}; choose from {header[1:]}")
    v = values[:, header.index(column) - 1]
    keep = ~np.isnan(v)  # some companies enter the file later than 1990
    return Series(t[keep], v[keep])


def _load_goog(column):
    column = "adj_close" if column is None else column
    if column not in _GOOG_FIELDS:
        raise ValueError(f"unknown field {column!r}; choose from {_GOOG_FIELDS}")
    with np.load(os.path.join(_sample_data_dir(), "goog.npz")) as f:
        data = f["price_data"]
    return Series(data["date"].astype("datetime64[D]"), data[column].astype(np.float64))


def _load_eeg(column):
    # 800 samples x 4 channels of float64, as read by matplotlib's mri_with_eeg example,
    # which spreads the samples over 10 seconds (80 samples per second).
    n_samples, n_channels = 800, 4
    raw = np.fromfile(os.path.join(_sample_data_dir(), "eeg.dat"), dtype=np.float64)
    values = raw.reshape(n_samples, n_channels)
    t = 10.0 * np.arange(n_samples) / n_samples
    if column is None:
        return Series(t, values)
    if column not in range(n_channels):
        raise ValueError(f"unknown EEG channel {column!r}; choose 0..{n_channels - 1}")
    return Series(t, values[:, column].copy())


def load_series(name, column=None):
    """A real time series from matplotlib's bundled sample data (no download).

    Parameters
    ----------
    name : {"stocks", "goog", "eeg"}
        * ``"stocks"`` — ``Stocks.csv``: first-of-month prices (USD, from Yahoo Finance)
          from 1990-01 to 2022-06 of ten tickers, :data:`STOCK_TICKERS`: IBM, Apple,
          Microsoft, Xerox, Amazon, Dell, Alphabet, Adobe and the S&P 500 and Nasdaq
          indices. A ticker is NaN before it enters the file.
        * ``"goog"`` — ``goog.npz``: daily Google prices over 1047 trading days from
          2004-08-19 to 2008-10; fields ``open, high, low, close, volume, adj_close``.
        * ``"eeg"`` — ``eeg.dat``: four EEG channels, 800 samples over 10 seconds (80 Hz),
          the traces shown in matplotlib's ``mri_with_eeg`` example.
    column : str or int, optional
        ``"stocks"``: a ticker (e.g. ``"AAPL"``), and the months where it has no price are
        dropped; default: all ten columns. ``"goog"``: a field name; default ``"adj_close"``.
        ``"eeg"``: a channel 0..3; default: all four.

    Returns
    -------
    Series
        ``(t, values)``: ``t`` is ``(N,)`` (``datetime64[D]`` dates, or seconds for ``"eeg"``);
        ``values`` is ``(N,)`` for one column or ``(N, D)`` for all of them, float64.

    Examples
    --------
    >>> t, aapl = load_series("stocks", "AAPL")
    >>> aapl.shape == t.shape
    True
    """
    loaders = {"stocks": _load_stocks, "goog": _load_goog, "eeg": _load_eeg}
    if name not in loaders:
        raise ValueError(f"unknown series {name!r}; choose from {SERIES_NAMES}")
    return loaders[name](column)


# ---------------------------------------------------------------------------------------------
# Synthetic tasks
# ---------------------------------------------------------------------------------------------


def sine_waves(n, T, rng=None, *, period_range=(8.0, 32.0), amplitude_range=(0.5, 1.0), noise=0.0):
    """``n`` sine waves of random period, phase and amplitude, sampled at ``T`` steps.

    Parameters
    ----------
    n : int
        Number of waves (batch size).
    T : int
        Number of time steps.
    rng : int | numpy.random.Generator | None
    period_range : (float, float)
        Periods, in time steps, drawn uniformly from this range.
    amplitude_range : (float, float)
        Amplitudes drawn uniformly from this range.
    noise : float
        Standard deviation of Gaussian noise added to every sample.

    Returns
    -------
    waves : (T, n, 1) float64 ndarray
        Time-major, one feature. For next-step forecasting use ``waves[:-1]`` as inputs and
        ``waves[1:]`` as targets.
    """
    rng = np.random.default_rng(rng)
    period = rng.uniform(*period_range, size=n)
    phase = rng.uniform(0.0, 2 * np.pi, size=n)
    amplitude = rng.uniform(*amplitude_range, size=n)
    t = np.arange(T)[:, None]
    waves = amplitude * np.sin(2 * np.pi * t / period + phase)  # (T, n)
    if noise:
        waves = waves + noise * rng.standard_normal(waves.shape)
    return waves[:, :, None]


def adding_problem(n, T, rng=None):
    """The adding problem (Hochreiter & Schmidhuber, 1997), in its usual modern form.

    Each sequence has ``T`` steps of two features: a value drawn uniformly from [0, 1), and a
    marker that is 1 at exactly two steps (one drawn in the first half, one in the second
    half) and 0 elsewhere. The target is the sum of the two marked values. Solving it means
    remembering one number across up to ``T`` steps while ignoring everything else.

    Parameters
    ----------
    n : int
        Number of sequences.
    T : int
        Sequence length, at least 2.
    rng : int | numpy.random.Generator | None

    Returns
    -------
    x : (T, n, 2) float64 ndarray
        ``x[..., 0]`` values, ``x[..., 1]`` markers.
    y : (n,) float64 ndarray
        Sum of the two marked values, in [0, 2).

    See Also
    --------
    adding_problem_baseline : the error of a model that always predicts 1.
    """
    if T < 2:
        raise ValueError("the adding problem needs T >= 2")
    rng = np.random.default_rng(rng)
    values = rng.uniform(0.0, 1.0, size=(T, n))
    half = T // 2
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, T, size=n)
    markers = np.zeros((T, n))
    cols = np.arange(n)
    markers[first, cols] = 1.0
    markers[second, cols] = 1.0
    y = values[first, cols] + values[second, cols]
    return np.stack([values, markers], axis=-1), y


def adding_problem_baseline(y=None):
    """Mean squared error of the memoryless answer "always predict 1" on the adding problem.

    Parameters
    ----------
    y : (n,) ndarray, optional
        Targets from :func:`adding_problem`. If given, the baseline measured on them.

    Returns
    -------
    float
        Without ``y``: the exact expectation. The target is a sum of two independent
        uniform [0, 1) values, with mean 1 and variance ``2 * (1/12)``, so predicting 1 has an
        expected squared error of ``1/6``, about 0.167. A model must beat this to have learned
        anything.
    """
    if y is None:
        return 2.0 * (1.0 / 12.0)  # Var(U1 + U2) for independent U ~ Uniform[0, 1)
    return float(np.mean((np.asarray(y) - 1.0) ** 2))


COPY_BLANK = 0
"""Id of the blank symbol in :func:`copy_memory`; data symbols are ``1..n_symbols`` and the
"go" marker is ``n_symbols + 1``."""


def copy_memory(n, T_delay, n_symbols=8, length=10, rng=None):
    """The copy-memory task: read ``length`` symbols, wait, then write them back.

    The usual formulation (Hochreiter & Schmidhuber, 1997; Arjovsky et al., 2016). Ids:
    ``0`` blank, ``1..n_symbols`` data symbols, ``n_symbols + 1`` the "go" marker. Each
    sequence has ``T = T_delay + 2 * length`` steps:

    * inputs: ``length`` random symbols, ``T_delay - 1`` blanks, the go marker, then
      ``length`` blanks;
    * targets: blanks for the first ``T_delay + length`` steps, then the ``length`` symbols.

    Parameters
    ----------
    n : int
        Number of sequences.
    T_delay : int
        Steps between the end of the symbols and the start of the answer, at least 1.
    n_symbols : int
        Size of the data alphabet.
    length : int
        How many symbols to remember.
    rng : int | numpy.random.Generator | None

    Returns
    -------
    inputs : (T, n) int64 ndarray
        Input ids in ``0 .. n_symbols + 1`` (``V_in = n_symbols + 2``).
    targets : (T, n) int64 ndarray
        Target ids in ``0 .. n_symbols`` (``V_out = n_symbols + 1``).
    mask : (T, n) bool ndarray
        True on the last ``length`` steps, where the answer is written; pass it as the
        ``mask`` of :func:`rnnlib.losses.softmax_cross_entropy` to score only the answer.

    See Also
    --------
    copy_memory_baseline : the loss of a model that remembers nothing.
    """
    if T_delay < 1:
        raise ValueError("T_delay must be at least 1 (the go marker takes one step)")
    rng = np.random.default_rng(rng)
    T = T_delay + 2 * length
    symbols = rng.integers(1, n_symbols + 1, size=(length, n))
    inputs = np.full((T, n), COPY_BLANK, dtype=np.int64)
    targets = np.full((T, n), COPY_BLANK, dtype=np.int64)
    inputs[:length] = symbols
    inputs[length + T_delay - 1] = n_symbols + 1
    targets[T - length :] = symbols
    mask = np.zeros((T, n), dtype=bool)
    mask[T - length :] = True
    return inputs, targets, mask


def copy_memory_baseline(n_symbols=8, length=10, T_delay=None):
    """Cross-entropy (nats) of the best model that remembers nothing, on copy memory.

    Such a model knows the layout but not the symbols: it predicts blank with certainty
    where the target is blank and guesses uniformly among ``n_symbols`` on the answer steps,
    losing ``ln(n_symbols)`` on each of them.

    Parameters
    ----------
    n_symbols, length : int
        As in :func:`copy_memory`.
    T_delay : int, optional
        If given, the loss averaged over all ``T_delay + 2*length`` steps (the unmasked
        loss); if omitted, averaged over the answer steps only (the masked loss), which is
        ``ln(n_symbols)``.

    Returns
    -------
    float
    """
    per_answer_step = float(np.log(n_symbols))
    if T_delay is None:
        return per_answer_step
    return length * per_answer_step / (T_delay + 2 * length)
