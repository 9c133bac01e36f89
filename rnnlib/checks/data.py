"""Checkers for chapter 1, sequential data: vocabulary, one-hot, batching, windows.

The data functions return integers and copies, so a check is an exact comparison; the work is
in the diagnosis. The cases use inputs whose values are all different (a permutation of ids,
a series of distinct numbers), so that from any wrong answer the checker can tell *which*
positions the student picked: targets not shifted, shifted backwards, streams interleaved,
windows one step late...
"""
from __future__ import annotations

import numpy as np

from rnnlib import data as _data
from rnnlib.checks._core import (
    CheckFailed, call_student, case_seeds, fmt_shape, require_array, unpack_pair,
)

__all__ = ["check_char_vocab", "check_one_hot", "check_make_batches", "check_sliding_windows"]

# The undecorated references: not blocked while the student's code runs.
_char_vocab = _data.char_vocab
_one_hot = _data.one_hot
_make_batches = _data.make_batches
_sliding_windows = _data.sliding_windows

# Private numpy references, bound before any student cell runs.
_array_equal = np.array_equal
_asarray = np.asarray
_ndarray = np.ndarray
_integer = np.integer
_argwhere = np.argwhere
_full = np.full


def _equal(a, b):
    """Same shape and the same values (exactly: these functions only move numbers around)."""
    a, b = _asarray(a), _asarray(b)
    return a.shape == b.shape and bool(_array_equal(a, b))


def _first_diff(a, b):
    """Index (tuple) of the first entry where two equally shaped arrays differ."""
    return tuple(int(i) for i in _argwhere(_asarray(a) != _asarray(b))[0])


# ---------------------------------------------------------------------------------------------
# char_vocab
# ---------------------------------------------------------------------------------------------


def _vocab_texts(seed, hidden):
    rng = np.random.default_rng(seed)
    letters = list("abcdefghij .,\n")
    random_text = "".join(rng.choice(letters, size=int(rng.integers(20, 60))))
    if not hidden:
        return ["hello world", "abracadabra", random_text]
    book = _data.load_text(max_chars=2000)
    start = int(rng.integers(0, 1500))
    return ["x", "zzzz", "Zebra zoo: 1, 2, 3!", book[start : start + 400], random_text]


def _describe_vocab_error(text, chars, index):
    want_chars, want_index = _char_vocab(text)
    shown = repr(text if len(text) <= 40 else text[:37] + "...")
    if isinstance(chars, str):
        raise CheckFailed(
            f"For the text {shown}, chars is a string {chars!r}; return a list of characters "
            "instead (list(...) of it)."
        )
    if not isinstance(chars, (list, tuple)):
        raise CheckFailed(f"chars should be a list of characters, but it is {fmt_shape(chars)}.")
    chars = list(chars)
    if not all(isinstance(c, str) and len(c) == 1 for c in chars):
        bad = next(c for c in chars if not (isinstance(c, str) and len(c) == 1))
        raise CheckFailed(
            f"Every entry of chars should be a single character, but one is {bad!r} "
            f"(for the text {shown}). Split the text into characters, not words."
        )
    if len(set(chars)) != len(chars):
        dup = next(c for c in chars if chars.count(c) > 1)
        raise CheckFailed(
            f"chars is not deduplicated: {dup!r} appears {chars.count(dup)} times (text {shown}). "
            "Each distinct character must appear once; set() removes repeats."
        )
    missing = sorted(set(want_chars) - set(chars))
    if missing:
        raise CheckFailed(f"chars misses {missing[0]!r}, which occurs in the text {shown}.")
    extra = sorted(set(chars) - set(want_chars))
    if extra:
        raise CheckFailed(f"chars contains {extra[0]!r}, which does not occur in the text {shown}.")
    if chars != want_chars:
        first_seen = list(dict.fromkeys(text))
        how = (
            " They are in order of first appearance in the text."
            if chars == first_seen
            else ""
        )
        raise CheckFailed(
            f"chars has the right characters but is not sorted (text {shown}): you have "
            f"{''.join(chars)!r}, expected {''.join(want_chars)!r}.{how} Sort them (sorted()), so "
            "that the numbering depends only on which characters occur."
        )
    if not isinstance(index, dict):
        raise CheckFailed(f"index should be a dict from character to integer, but it is {fmt_shape(index)}.")
    if set(index) != set(want_chars):
        wrong = sorted(set(index) ^ set(want_chars))[0]
        what = "is missing" if wrong not in index else "should not be a key"
        raise CheckFailed(f"index {what} the character {wrong!r} (text {shown}): its keys must be exactly chars.")
    for i, c in enumerate(want_chars):
        v = index[c]
        if not isinstance(v, (int, _integer)) or isinstance(v, bool):
            raise CheckFailed(f"index[{c!r}] should be an integer, but it is {fmt_shape(v)}.")
        if v != i:
            raise CheckFailed(
                f"index[{c!r}] is {v}, but {c!r} is chars[{i}]: index must be the inverse of "
                f"chars, index[chars[i]] == i (text {shown})."
            )


def check_char_vocab(char_vocab, hidden=False):
    """Check a student's ``char_vocab(text) -> (chars, index)``.

    ``chars`` must be the sorted list of distinct characters of ``text`` and ``index`` the dict
    that inverts it. Messages name duplicates, missing characters, the order (sorted vs first
    appearance) and an ``index`` that does not invert ``chars``.
    """
    for seed in case_seeds(hidden):
        for text in _vocab_texts(seed, hidden):
            out = call_student(char_vocab, text)
            chars, index = unpack_pair(out, "char_vocab", "chars", "index")
            _describe_vocab_error(text, chars, index)
    print("char_vocab: all checks passed.")


# ---------------------------------------------------------------------------------------------
# one_hot
# ---------------------------------------------------------------------------------------------


def _one_hot_cases(seed, hidden):
    rng = np.random.default_rng(seed)
    if not hidden:
        # V is larger than any id used, so "V = ids.max() + 1" is caught.
        return [
            (rng.integers(0, 5, size=6), 7),
            (rng.integers(0, 4, size=(3, 2)), 5),
        ]
    return [
        (np.array([0]), 1),
        (rng.integers(0, 3, size=(2, 3, 4)), 6),
        (rng.integers(0, 9, size=(5, 1)), 9),
        (np.array([3, 3, 3]), 4),
    ]


def _diagnose_one_hot(x, ids, V, want):
    """Fail with the first problem found in the student's one-hot array ``x``."""
    if not isinstance(x, _ndarray):
        raise CheckFailed(f"one_hot should return a numpy array of shape {want.shape}, but it returned {fmt_shape(x)}.")
    if x.shape != want.shape:
        if x.shape == (V,) + ids.shape:
            raise CheckFailed(
                f"one_hot({fmt_shape(ids)} ids, V={V}) has shape {x.shape}, expected {want.shape}: "
                "the one-hot axis is first. Put it last: the result is ids.shape + (V,)."
            )
        k = int(ids.max()) + 1
        if k != V and x.shape == ids.shape + (k,):
            raise CheckFailed(
                f"one_hot has shape {x.shape}, expected {want.shape}: you used ids.max() + 1 = {k} "
                f"as the length of the vectors. Use the argument V = {V}: an id can be absent "
                "from a batch and still belong to the vocabulary."
            )
        if x.shape == (ids.size, V):
            raise CheckFailed(
                f"one_hot has shape {x.shape}, expected {want.shape}: the ids were flattened. "
                "Keep their shape and add a new last axis of length V."
            )
        raise CheckFailed(f"one_hot({fmt_shape(ids)} ids, V={V}) has shape {x.shape}, expected {want.shape}.")
    if x.dtype.kind != "f":
        raise CheckFailed(
            f"one_hot should return floats (float64), but its dtype is {x.dtype}: the vectors are "
            "multiplied by weight matrices next."
        )
    if _equal(x, 1.0 - want):
        raise CheckFailed("one_hot has 0 and 1 swapped: the entry at the id is 1, all others 0.")
    if not _equal(x, want):
        idx = _first_diff(x, want)
        pos, k = idx[:-1], idx[-1]
        the_id = int(ids[pos]) if pos else int(ids)
        raise CheckFailed(
            f"one_hot is wrong for the id {the_id} at position {pos} of ids: entry {k} of its "
            f"vector is {float(x[idx]):g}, should be {float(want[idx]):g}. The vector of id k is "
            "all zeros except a 1 at index k."
        )


def check_one_hot(one_hot, hidden=False):
    """Check a student's ``one_hot(ids, V)``: float array ``ids.shape + (V,)``, 1 at each id.

    Diagnoses the vector axis in front instead of last, ``ids.max() + 1`` used instead of
    ``V``, flattened ids, integer dtype, swapped 0/1 and a 1 in the wrong place.
    """
    for seed in case_seeds(hidden):
        for ids, V in _one_hot_cases(seed, hidden):
            want = _one_hot(ids, V)
            x = call_student(one_hot, ids, V)
            _diagnose_one_hot(x, ids, V, want)
    print("one_hot: all checks passed.")


# ---------------------------------------------------------------------------------------------
# make_batches
# ---------------------------------------------------------------------------------------------


def _batch_cases(hidden):
    # (N, T, B). T, B and n differ, so a swapped axis changes the shape.
    if not hidden:
        return [(103, 4, 3), (50, 3, 2)]
    # T = 1; B = 1; no remainder at all (N = B * (n*T + 1)); a stream one short of a chunk.
    return [(40, 1, 3), (29, 5, 1), (3 * (4 * 3 + 1), 3, 3), (2 * 12, 4, 2)]


def _positions(values, pos_of):
    """Map every id in ``values`` to its position in the text (-1 if not in the text)."""
    flat = [pos_of.get(int(v), -1) for v in _asarray(values).ravel()]
    return _asarray(flat).reshape(_asarray(values).shape)


def _diagnose_batches(x, y, ids, T, B, want_x, want_y):
    N = len(ids)
    L = N // B
    n = want_x.shape[0]
    ctx = f" (N={N} ids, T={T}, B={B}, so L = N // B = {L} steps per stream and n = (L - 1) // T = {n} chunks)"
    for arr, what in ((x, "inputs"), (y, "targets")):
        if not isinstance(arr, _ndarray):
            raise CheckFailed(f"{what} should be a numpy array of shape {want_x.shape}, but it is {fmt_shape(arr)}.")
    for arr, what in ((x, "inputs"), (y, "targets")):
        if arr.shape == (n, B, T) and T != B:
            raise CheckFailed(
                f"{what} has shape {arr.shape}, expected (n, T, B) = {want_x.shape}: time and batch "
                f"axes are swapped. Each chunk is time-major, {what}[k][t] holds step t of all B streams.{ctx}"
            )
        if arr.ndim == 3 and arr.shape[1:] == (T, B) and arr.shape[0] != n:
            hint = ""
            if arr.shape[0] == L // T and L // T == n + 1:
                hint = (
                    " The last chunk's targets would run past the end of the stream: a target is one "
                    "step after its input, so only L - 1 inputs have a target."
                )
            raise CheckFailed(f"{what} has {arr.shape[0]} chunks, expected {n}.{hint}{ctx}")
        if arr.shape != want_x.shape:
            raise CheckFailed(f"{what} has shape {arr.shape}, expected (n, T, B) = {want_x.shape}.{ctx}")
    for arr, what in ((x, "inputs"), (y, "targets")):
        if arr.dtype.kind not in "iu":
            raise CheckFailed(f"{what} should hold integer ids like the input, but its dtype is {arr.dtype}.")
    if _equal(x, want_x) and _equal(y, want_y):
        return
    pos_of = {int(v): i for i, v in enumerate(ids)}
    px, py = _positions(x, pos_of), _positions(y, pos_of)
    if _equal(x, want_x):
        if _equal(y, x):
            raise CheckFailed(
                "targets are the same as inputs: they must be shifted one step later in time, "
                f"targets[k, t, b] is the character after inputs[k, t, b].{ctx}"
            )
        inner = px % L != 0  # a stream's first character has no "previous" one in the stream
        if ((py == px - 1) | ~inner).all():
            raise CheckFailed(
                "targets are shifted the wrong way: each target is the character *before* its "
                "input. The target is the next character, one step later.{ctx}".replace("{ctx}", ctx)
            )
        idx = _first_diff(y, want_y)
        raise CheckFailed(
            f"inputs are right but targets are not: targets{list(idx)} should be the id right after "
            f"inputs{list(idx)} in the text.{ctx}"
        )
    if _equal(x, want_y) and _equal(y, want_x):
        raise CheckFailed(
            "inputs and targets are swapped: each target is the character *before* its input, the "
            f"shift goes the wrong way. inputs start at the beginning of each stream, targets one step later.{ctx}"
        )
    # The inputs are wrong: find out which positions of the text the student took.
    if (px < 0).any():
        raise CheckFailed(f"inputs contain values that are not ids of the text: only move ids around.{ctx}")
    if B > 1 and (px[..., 1:] - px[..., :-1] == 1).all():
        raise CheckFailed(
            "Your streams are interleaved: neighbouring columns hold neighbouring characters, so "
            "column b is every B-th character of the text. Each column must be a contiguous piece "
            f"of the text: reshape to (B, L) and transpose, not reshape to (L, B).{ctx}"
        )
    if T > 1 and not (px[:, 1:, :] - px[:, :-1, :] == 1).all():
        k, t, b = (int(i) for i in _argwhere(px[:, 1:, :] - px[:, :-1, :] != 1)[0])
        raise CheckFailed(
            f"Within a chunk, time steps are not consecutive characters: inputs[{k}, {t + 1}, {b}] "
            f"is not the character after inputs[{k}, {t}, {b}].{ctx}"
        )
    if n > 1 and not (px[1:, 0, :] == px[:-1, -1, :] + 1).all():
        k, b = (int(i) for i in _argwhere(px[1:, 0, :] != px[:-1, -1, :] + 1)[0])
        raise CheckFailed(
            f"Chunk {k + 1} does not continue where chunk {k} stopped in stream {b}: its first "
            f"input must be the character after inputs[{k}, -1, {b}], so that the hidden state "
            f"can be carried from one chunk to the next.{ctx}"
        )
    starts = px[0, 0, :]
    for b in range(B):
        if starts[b] != b * L:
            raise CheckFailed(
                f"Stream {b} starts at position {int(starts[b])} of the text, expected b * L = {b * L}: "
                f"stream b is the piece ids[b*L:(b+1)*L].{ctx}"
            )
    idx = _first_diff(x, want_x)
    raise CheckFailed(f"inputs are wrong, first at index {list(idx)}.{ctx}")


def check_make_batches(make_batches, hidden=False):
    """Check a student's ``make_batches(ids, T, B) -> (inputs, targets)``, both ``(n, T, B)``.

    The ids of each case are a permutation, so every value tells where in the text it came
    from. Diagnoses time and batch axes swapped, too many chunks, targets not shifted or
    shifted the wrong way, interleaved (non-contiguous) streams, chunks that do not continue
    one another, and streams that start in the wrong place.
    """
    for seed in case_seeds(hidden):
        rng = np.random.default_rng(seed)
        for N, T, B in _batch_cases(hidden):
            ids = rng.permutation(N).astype(np.int64)
            want_x, want_y = _make_batches(ids, T, B)
            out = call_student(make_batches, ids, T, B)
            x, y = unpack_pair(out, "make_batches", "inputs", "targets")
            _diagnose_batches(x, y, ids, T, B, want_x, want_y)
    print("make_batches: all checks passed.")


# ---------------------------------------------------------------------------------------------
# sliding_windows
# ---------------------------------------------------------------------------------------------


def _window_cases(hidden):
    # (N, D or None, window, horizon); D=None means a 1-D series.
    if not hidden:
        return [(20, None, 5, 1), (30, None, 4, 3), (15, 2, 3, 2)]
    # window = 1; exactly one window; long horizon; a (N, 1) series.
    return [(10, None, 1, 1), (7, None, 4, 3), (25, 3, 2, 6), (12, 1, 5, 1)]


def _diagnose_windows(X, y, series, window, horizon, want_X, want_y):
    N = len(series)
    M = want_X.shape[0]
    ctx = f" (series of shape {series.shape}, window={window}, horizon={horizon}: M = N - window - horizon + 1 = {M} windows)"
    for arr, what, want in ((X, "X", want_X), (y, "y", want_y)):
        if not isinstance(arr, _ndarray):
            raise CheckFailed(f"{what} should be a numpy array of shape {want.shape}, but it is {fmt_shape(arr)}.")
    if y.shape == want_y.shape[:1] + want_y.shape[2:] and horizon == 1:
        raise CheckFailed(
            f"y has shape {y.shape}, expected {want_y.shape}: keep the horizon axis, "
            f"y[i] = series[i + window : i + window + horizon] even when horizon = 1.{ctx}"
        )
    for arr, what, want, length in ((X, "X", want_X, window), (y, "y", want_y, horizon)):
        if arr.shape == want.shape:
            continue
        if arr.ndim == want.ndim and arr.shape[1:] == want.shape[1:]:
            got = arr.shape[0]
            if got == M - 1:
                hint = " You miss the last window: the final target ends exactly at the end of the series."
            elif got == N - window and horizon > 1:
                hint = " The last windows need horizon values after them: count them with the horizon too."
            elif got > M:
                hint = " Some windows would have targets running past the end of the series."
            else:
                hint = ""
            raise CheckFailed(f"{what} has {got} windows, expected {M}.{hint}{ctx}")
        if arr.ndim >= 2 and arr.shape[:2] == (length, M) and arr.shape[2:] == want.shape[2:] and length != M:
            raise CheckFailed(
                f"{what} has shape {arr.shape}, expected {want.shape}: the first two axes are swapped. "
                f"{what}[i] is example i (example-major), time is the second axis.{ctx}"
            )
        raise CheckFailed(f"{what} has shape {arr.shape}, expected {want.shape}.{ctx}")
    if _equal(X, want_X) and _equal(y, want_y):
        return
    # Window i one step late equals the correct window i + 1 (and early equals window i - 1).
    if not _equal(X, want_X):
        if M > 1 and _equal(X[:-1], want_X[1:]):
            raise CheckFailed(f"X is one step late: X[i] must start at series[i], X[i] = series[i : i + window].{ctx}")
        if M > 1 and _equal(X[1:], want_X[:-1]):
            raise CheckFailed(f"X is one step early: X[i] must start at series[i], X[i] = series[i : i + window].{ctx}")
        idx = _first_diff(X, want_X)
        raise CheckFailed(
            f"X is wrong at window {idx[0]}, step {idx[1]}: X[i] = series[i : i + window], so "
            f"X[{idx[0]}, {idx[1]}] is series[{idx[0] + idx[1]}].{ctx}"
        )
    # X is right, y is not.
    if _equal(y[:, 0], X[:, -1]) or (M > 1 and _equal(y[1:], want_y[:-1])):
        raise CheckFailed(
            "y is one step early: y[i] starts with the last value of window i, which the model "
            f"has already seen. The target starts right after the window, at series[i + window].{ctx}"
        )
    if M > 1 and _equal(y[:-1], want_y[1:]):
        raise CheckFailed(
            f"y is one step late: it skips series[i + window], the value right after the window.{ctx}"
        )
    idx = _first_diff(y, want_y)
    raise CheckFailed(
        f"y is wrong at window {idx[0]}, step {idx[1]}: y[i] = series[i + window : i + window + horizon], "
        f"so y[{idx[0]}, {idx[1]}] is series[{idx[0] + window + idx[1]}].{ctx}"
    )


def check_sliding_windows(sliding_windows, hidden=False):
    """Check a student's ``sliding_windows(series, window, horizon=1) -> (X, y)``.

    Series are 1-D ``(N,)`` and 2-D ``(N, D)``. Diagnoses a missing last window, a dropped
    horizon axis, swapped axes, windows one step early or late, and targets that overlap the
    window.
    """
    for seed in case_seeds(hidden):
        rng = np.random.default_rng(seed)
        for N, D, window, horizon in _window_cases(hidden):
            shape = (N,) if D is None else (N, D)
            series = rng.standard_normal(shape)
            want_X, want_y = _sliding_windows(series, window, horizon)
            out = call_student(sliding_windows, series, window, horizon)
            X, y = unpack_pair(out, "sliding_windows", "X", "y")
            _diagnose_windows(X, y, series, window, horizon, want_X, want_y)
    print("sliding_windows: all checks passed.")
