"""Checkers for chapter 1, sequential data: vocabulary, one-hot, batching, windows.

Each graded function is an :class:`~rnnlib.checks._engine.Exercise` with a catalogue of the
mistakes students make, each built from the reference in :mod:`rnnlib.data` by one edit
(:func:`~rnnlib.checks._engine.mutate`) or one changed output. The data functions only move
numbers around, so the cases use inputs whose values are all different (a permutation of ids,
a series of distinct numbers): from any wrong answer the exercise's own diagnosis can tell
*which* positions the student picked (targets not shifted, streams interleaved, windows one
step late...) when no catalogued mistake matches.
"""
from __future__ import annotations

import numpy as np

from rnnlib import data as _data
from rnnlib.checks._core import case_seeds, fmt_shape
from rnnlib.checks._engine import Case, Exercise, Mistake, mutate, run_check
from rnnlib.checks._questions import Question, Wrong, question_set

__all__ = ["check_char_vocab", "check_one_hot", "check_make_batches", "check_sliding_windows",
           "check_ch01_questions"]

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


def _equal(a, b):
    """Same shape and the same values (exactly: these functions only move numbers around)."""
    a, b = _asarray(a), _asarray(b)
    return a.shape == b.shape and bool(_array_equal(a, b))


def _first_diff(a, b):
    """Index (tuple) of the first entry where two equally shaped arrays differ."""
    return tuple(int(i) for i in _argwhere(_asarray(a) != _asarray(b))[0])



#: What numpy says when a slice or an index runs past the end of an array (np.stack of slices
#: of different lengths, np.array of them, an index out of range, a short slice assigned into
#: a preallocated row).
PAST_THE_END = ("must have the same shape", "inhomogeneous", "out of bounds",
                "could not broadcast input array from shape")

# ---------------------------------------------------------------------------------------------
# char_vocab


def _shown(text):
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _vocab_cases(hidden):
    cases = []
    for seed in case_seeds(hidden):
        rng = np.random.default_rng(seed)
        letters = list("abcdefghij ABC.,\n")
        random_text = "".join(rng.choice(letters, size=int(rng.integers(20, 60))))
        if not hidden:
            texts = ["Hello world", "abracadabra", random_text]
        else:
            book = _data.load_text(max_chars=2000)
            start = int(rng.integers(0, 1500))
            texts = ["x", "zzzz", "Zebra zoo: 1, 2, 3!", book[start: start + 400], random_text]
        cases += [Case(f"text {_shown(t)}", (t,)) for t in texts]
    return cases


def _diagnose_vocab(got, expected, case):
    """What is wrong with (chars, index), described from their properties."""
    (text,) = case.args
    shown = _shown(text)
    chars = got.get("chars")
    want = expected["chars"]
    if isinstance(chars, str):
        return "char_vocab/chars-a-string", (
            f"chars is the string {chars!r}; return a list of characters instead (list(...) of it).")
    if not isinstance(chars, (list, tuple)):
        return "generic/type", f"chars should be a list of characters, but it is {fmt_shape(chars)}."
    chars = list(chars)
    if not all(isinstance(c, str) and len(c) == 1 for c in chars):
        bad = next(c for c in chars if not (isinstance(c, str) and len(c) == 1))
        if isinstance(bad, str) and bad and bad not in text.split():
            # Not a word of the text: a token of the student's own, such as '<pad>' or '<unk>'.
            return "char_vocab/special-token", f"{_SPECIAL_TOKEN} (Yours holds {bad!r}; text {shown}.)"
        return "char_vocab/not-characters", (
            f"Every entry of chars should be a single character, but one is {bad!r} (text {shown}). "
            "Split the text into characters, not words.")
    if len(set(chars)) != len(chars):
        dup = next(c for c in chars if chars.count(c) > 1)
        return "char_vocab/duplicates", (
            f"chars is not deduplicated: {dup!r} appears {chars.count(dup)} times (text {shown}). "
            "Each distinct character must appear once; set() removes repeats.")
    missing = sorted(set(want) - set(chars))
    if missing:
        return "char_vocab/missing-character", f"chars misses {missing[0]!r}, which occurs in the text {shown}."
    extra = sorted(set(chars) - set(want))
    if extra:
        return "char_vocab/extra-character", f"chars contains {extra[0]!r}, which does not occur in the text {shown}."
    if chars != want:
        how = " They are in order of first appearance in the text." if chars == list(dict.fromkeys(text)) else ""
        return "char_vocab/not-sorted", (
            "chars has the right characters but is not sorted: you have "
            f"{''.join(chars)!r}, expected {''.join(want)!r}.{how} Sort them (sorted()), so that "
            "the numbering depends only on which characters occur.")
    index = {k[len("index['"):-2]: v for k, v in got.items() if k.startswith("index[")}
    if "index" in got and not isinstance(got["index"], dict):
        return "generic/type", f"index should be a dict from character to integer, but it is {fmt_shape(got['index'])}."
    if set(index) != set(want):
        wrong = sorted(set(index) ^ set(want), key=str)[0]
        what = (f"is missing the character {wrong!r}" if wrong not in index
                else f"has the key {wrong!r}, which is not a character of chars")
        return "char_vocab/index-keys", f"index {what} (text {shown}): its keys must be exactly chars."

    for i, c in enumerate(want):
        v = index[c]
        if v != i:
            return "char_vocab/index-not-inverse", (
                f"index[{c!r}] is {v}, but {c!r} is chars[{i}]: index must be the inverse of chars, "
                f"index[chars[i]] == i (text {shown}).")
    return None


_VOCAB_SORTED = "chars = sorted(set(text))"

_SPECIAL_TOKEN = (
    "chars holds a token that is not a character of the text, such as '<pad>', '<unk>' or "
    "'<eos>' (NLP libraries reserve ids for padding, unknown tokens and sentence ends): here the "
    "vocabulary is exactly the distinct characters of the text, sorted(set(text)), the first of "
    "them with id 0. Add nothing to it: chunks cut from one text need no padding.")


CHAR_VOCAB = Exercise(
    name="char_vocab",
    reference=_char_vocab,
    cases=_vocab_cases,
    returns=("chars", "index"),
    section="ch01-characters",
    diagnose=_diagnose_vocab,
    mistakes=[
        Mistake("char_vocab/first-appearance",
                "chars has the right characters but is not sorted: they are in order of first "
                "appearance in the text. Sort them (sorted(set(text))), so that the numbering "
                "depends only on which characters occur, not on where they first appear.",
                mutate(_char_vocab, (_VOCAB_SORTED, "chars = list(dict.fromkeys(text))")),
                "ch01-characters"),
        Mistake("char_vocab/not-deduplicated",
                "chars is not deduplicated: a character that occurs several times in the text "
                "appears several times in chars. Each distinct character must appear once; "
                "set() removes repeats.",
                mutate(_char_vocab, (_VOCAB_SORTED, "chars = sorted(text)")), "ch01-characters"),
        Mistake("char_vocab/chars-a-string",
                "chars is a string: return a list of characters (sorted() of a set is already "
                "a list; ''.join makes it a string again).",
                mutate(_char_vocab, (_VOCAB_SORTED, "chars = ''.join(sorted(set(text)))")),
                "ch01-characters"),
        Mistake("char_vocab/index-from-one",
                "index counts from 1: index must be the inverse of chars, index[chars[i]] == i, "
                "and Python lists count from 0 (enumerate(chars) starts at 0).",
                mutate(_char_vocab, ("enumerate(chars)", "enumerate(chars, start=1)")),
                "ch01-characters"),
        Mistake("char_vocab/index-id-to-character",
                "index maps each id to its character, which is what chars already does; it must "
                "be the inverse of chars and map each character to its id, index[chars[i]] == i.",
                mutate(_char_vocab, ("{c: i for i, c in enumerate(chars)}", "{i: c for i, c in enumerate(chars)}")),
                "ch01-characters"),
        Mistake("char_vocab/lowercased",
                "chars misses the capital letters: the text was lowercased. A character model "
                "keeps 'A' and 'a' apart (they are different characters to predict); use the "
                "text as it is.",
                mutate(_char_vocab, (_VOCAB_SORTED, "chars = sorted(set(text.lower()))")),
                "ch01-characters"),
        Mistake("char_vocab/words",
                "Every entry of chars should be a single character, but chars holds words: "
                "split the text into characters (set(text)), not into words (text.split()).",
                mutate(_char_vocab, (_VOCAB_SORTED, "chars = sorted(set(text.split()))")),
                "ch01-characters"),
        Mistake("char_vocab/special-token", _SPECIAL_TOKEN,
                mutate(_char_vocab, (_VOCAB_SORTED, "chars = ['<pad>'] + sorted(set(text))")),
                "ch01-characters"),
        Mistake("char_vocab/returns-swapped",
                "It returns (index, chars), the dict first: return the pair in the order "
                "(chars, index), the sorted list first and the dict that inverts it second.",
                mutate(_char_vocab, ("return chars, {c: i for i, c in enumerate(chars)}",
                                     "return {c: i for i, c in enumerate(chars)}, chars")),
                "ch01-characters"),
        Mistake("char_vocab/drops-spaces",
                "chars misses ' ' (the space): a space is a character of the text like any "
                "other, and a character model must predict it too.",
                mutate(_char_vocab, (_VOCAB_SORTED, "chars = sorted(set(text) - {' '})")),
                "ch01-characters"),
    ],
)


def check_char_vocab(char_vocab, hidden=False):
    """Check a student's ``char_vocab(text) -> (chars, index)``.

    ``chars`` must be the sorted list of distinct characters of ``text`` and ``index`` the dict
    that inverts it. Messages name duplicates, missing characters, the order (sorted vs first
    appearance) and an ``index`` that does not invert ``chars``.
    """
    run_check(CHAR_VOCAB, char_vocab, hidden)


# ---------------------------------------------------------------------------------------------
# one_hot


def _one_hot_cases(hidden):
    cases = []
    for seed in case_seeds(hidden):
        rng = np.random.default_rng(seed)
        if not hidden:
            # V is larger than any id used, so "V = ids.max() + 1" is caught; 2-D ids catch a
            # flattened result.
            specs = [(rng.integers(0, 5, size=6), 7), (rng.integers(0, 4, size=(3, 2)), 5)]
        else:
            specs = [(np.array([0]), 1), (rng.integers(0, 3, size=(2, 3, 4)), 6),
                     (rng.integers(0, 9, size=(5, 1)), 9), (np.array([3, 3, 3]), 4)]
        cases += [Case(f"ids of shape {ids.shape}, V={V}", (ids, V)) for ids, V in specs]
    return cases


def _diagnose_one_hot(got, expected, case):
    ids, V = case.args
    x, want = got.get("x"), expected["x"]
    if not isinstance(x, _ndarray):
        return None
    if x.shape != want.shape:
        if x.shape == (V,) + ids.shape:
            return "one_hot/axis-first", (
                f"one_hot has shape {x.shape}, expected {want.shape}: the one-hot axis is first. "
                "Put it last: the result is ids.shape + (V,).")
        k = int(ids.max()) + 1
        if k != V and x.shape == ids.shape + (k,):
            return "one_hot/max-plus-one", (
                f"one_hot has shape {x.shape}, expected {want.shape}: you used ids.max() + 1 = {k} "
                f"as the length of the vectors. Use the argument V = {V}.")
        if x.shape == (ids.size, V):
            return "one_hot/flattened", (
                f"one_hot has shape {x.shape}, expected {want.shape}: the ids were flattened. "
                "Keep their shape and add a new last axis of length V.")
        return None
    if x.dtype.kind not in "fiub":
        return None
    diff = _argwhere(x != want)
    if len(diff) == 0:
        return None
    idx = tuple(int(i) for i in diff[0])
    pos, k = idx[:-1], idx[-1]
    the_id = int(ids[pos])
    return "generic/value", (
        f"The vector of the id {the_id} at position {pos} of ids is wrong: its entry {k} is "
        f"{float(x[idx]):g}, should be {float(want[idx]):g}. The vector of id k is all zeros "
        "except a 1 at index k.")


_ZEROS = "x = np.zeros(ids.shape + (V,), dtype=np.float64)"
_PUT = "np.put_along_axis(x, ids[..., None].astype(np.intp), 1.0, axis=-1)"

ONE_HOT = Exercise(
    name="one_hot",
    reference=_one_hot,
    cases=_one_hot_cases,
    returns=("x",),
    section="ch01-one-hot",
    kinds={"x": "float"},
    diagnose=_diagnose_one_hot,
    mistakes=[
        Mistake("one_hot/axis-first",
                "The one-hot axis is first: the result must have shape ids.shape + (V,), each "
                "id's vector on a new last axis.",
                mutate(_one_hot, ("    return x\n", "    return np.moveaxis(x, -1, 0)\n")), "ch01-one-hot"),
        Mistake("one_hot/max-plus-one",
                "The vectors have length ids.max() + 1 instead of V: use the argument V. An id "
                "can be absent from a batch and still belong to the vocabulary.",
                mutate(_one_hot, (_ZEROS, "x = np.zeros(ids.shape + (int(ids.max()) + 1,), dtype=np.float64)")),
                "ch01-one-hot"),
        Mistake("one_hot/flattened",
                "The ids were flattened: the result must keep their shape and add a new last "
                "axis of length V (ids.shape + (V,)), so that (T, B) ids become (T, B, V).",
                mutate(_one_hot, (_ZEROS, "ids = ids.reshape(-1)\n    " + _ZEROS)), "ch01-one-hot"),
        Mistake("one_hot/integer-dtype",
                "one_hot returns integers: the vectors are multiplied by weight matrices next, so "
                "make them floats (dtype float64).",
                mutate(_one_hot, (_ZEROS, "x = np.zeros(ids.shape + (V,), dtype=np.int64)")), "ch01-one-hot"),
        Mistake("one_hot/zeros-and-ones-swapped",
                "0 and 1 are swapped: the entry at the id is 1, all others 0.",
                mutate(_one_hot, (_ZEROS, "x = np.ones(ids.shape + (V,), dtype=np.float64)"),
                       (_PUT, "np.put_along_axis(x, ids[..., None].astype(np.intp), 0.0, axis=-1)")),
                "ch01-one-hot"),
        Mistake("one_hot/assumes-1d",
                "It works for a 1-D array of ids only: x[np.arange(len(ids)), ids] pairs positions "
                "and ids along one axis. ids can have any shape, (T, B) for a batch: np.eye(V)[ids] "
                "or ids[..., None] == np.arange(V) work for every shape.",
                mutate(_one_hot, (_PUT, "x[np.arange(len(ids)), ids] = 1.0")), "ch01-one-hot"),
        Mistake("one_hot/one-based",
                "Every 1 sits one place early, at index id - 1 (and id 0's at the last index): "
                "ids count from 0, so the vector of id k has its 1 at index k (np.eye(V)[ids], "
                "not np.eye(V)[ids - 1]).",
                mutate(_one_hot, (_PUT, "np.put_along_axis(x, (ids[..., None] - 1).astype(np.intp), 1.0, axis=-1)")),
                "ch01-one-hot"),
        Mistake("one_hot/ones-at-every-id",
                "Every vector has a 1 at every id of the batch, not only at its own: x[..., ids] = 1 "
                "pairs each position with all the ids. Pair each position with its own id: "
                "np.eye(V)[ids], or ids[..., None] == np.arange(V).",
                mutate(_one_hot, (_PUT, "x[..., ids] = 1.0")), "ch01-one-hot"),
    ],
)


def check_one_hot(one_hot, hidden=False):
    """Check a student's ``one_hot(ids, V)``: float array ``ids.shape + (V,)``, 1 at each id.

    Diagnoses the vector axis in front instead of last, ``ids.max() + 1`` used instead of
    ``V``, flattened ids, integer dtype, swapped 0/1 and a 1 in the wrong place.
    """
    run_check(ONE_HOT, one_hot, hidden)


# ---------------------------------------------------------------------------------------------
# make_batches


def _batch_cases(hidden):
    # (N, T, B). T, B and n differ, so a swapped axis changes the shape.
    specs = ([(40, 1, 3), (29, 5, 1), (3 * (4 * 3 + 1), 3, 3), (2 * 12, 4, 2)] if hidden
             # T = 1; B = 1; no remainder at all (N = B * (n*T + 1)); a stream one short of a chunk.
             # L = 16 is a multiple of T = 4: the last full chunk's targets would run past the end.
             else [(103, 4, 3), (50, 3, 2), (2 * 16 + 1, 4, 2)])
    cases = []
    for seed in case_seeds(hidden):
        rng = np.random.default_rng(seed)
        for N, T, B in specs:
            # A permutation: every value says where in the text it came from.
            ids = rng.permutation(N).astype(np.int64)
            cases.append(Case(f"N={N} ids, T={T}, B={B}", (ids, T, B), {}, {"T": T, "B": B}))
    return cases


def _positions(values, pos_of):
    """Map every id in ``values`` to its position in the text (-1 if not in the text)."""
    flat = [pos_of.get(int(v), -1) for v in _asarray(values).ravel()]
    return _asarray(flat).reshape(_asarray(values).shape)


def _diagnose_batches(got, expected, case):
    ids, T, B = case.args
    x, y = got.get("inputs"), got.get("targets")
    want_x, want_y = expected["inputs"], expected["targets"]
    N = len(ids)
    L = N // B
    n = want_x.shape[0]
    ctx = (f" (N={N} ids, T={T}, B={B}, so L = N // B = {L} steps per stream and "
           f"n = (L - 1) // T = {n} chunks)")
    if not (isinstance(x, _ndarray) and isinstance(y, _ndarray)):
        return None
    for arr, what in ((x, "inputs"), (y, "targets")):
        if arr.ndim == 3 and arr.shape[1:] == (T, B) and arr.shape[0] != n:
            hint = ""
            if arr.shape[0] == n + 1:
                hint = (" The last chunk's targets would run past the end of the stream: a target "
                        "is one step after its input, so only L - 1 inputs have a target.")
            return "make_batches/number-of-chunks", f"{what} has {arr.shape[0]} chunks, expected {n}.{hint}{ctx}"
        if arr.shape != want_x.shape:
            return "generic/shape", f"{what} has shape {arr.shape}, expected (n, T, B) = {want_x.shape}.{ctx}"
    pos_of = {int(v): i for i, v in enumerate(ids)}
    px, py = _positions(x, pos_of), _positions(y, pos_of)
    if _equal(x, want_x):
        if _equal(y, x):
            return "make_batches/targets-not-shifted", (
                "targets are the same as inputs: they must be shifted one step later in time, "
                f"targets[k, t, b] is the character after inputs[k, t, b].{ctx}")
        inner = px % L != 0  # a stream's first character has no "previous" one in the stream
        if ((py == px - 1) | ~inner).all():
            return "make_batches/targets-shifted-back", (
                "targets are shifted the wrong way: each target is the character *before* its "
                f"input. The target is the next character, one step later.{ctx}")
        idx = _first_diff(y, want_y)
        return "generic/value", (
            f"inputs are right but targets are not: targets{list(idx)} should be the id right "
            f"after inputs{list(idx)} in the text.{ctx}")
    if (px < 0).any():
        return "generic/value", f"inputs contain values that are not ids of the text: only move ids around.{ctx}"
    if B > 1 and (px[..., 1:] - px[..., :-1] == 1).all():
        return "make_batches/interleaved-streams", (
            "Your streams are interleaved: neighbouring columns hold neighbouring characters, so "
            "column b is every B-th character of the text. Each column must be a contiguous piece "
            f"of the text: reshape to (B, L) and transpose, not reshape to (L, B).{ctx}")
    if T > 1 and not (px[:, 1:, :] - px[:, :-1, :] == 1).all():
        k, t, b = (int(i) for i in _argwhere(px[:, 1:, :] - px[:, :-1, :] != 1)[0])
        return "make_batches/steps-not-consecutive", (
            f"Within a chunk, time steps are not consecutive characters: inputs[{k}, {t + 1}, {b}] "
            f"is not the character after inputs[{k}, {t}, {b}].{ctx}")
    if n > 1 and not (px[1:, 0, :] == px[:-1, -1, :] + 1).all():
        k, b = (int(i) for i in _argwhere(px[1:, 0, :] != px[:-1, -1, :] + 1)[0])
        return "make_batches/chunks-do-not-continue", (
            f"Chunk {k + 1} does not continue where chunk {k} stopped in stream {b}: its first "
            f"input must be the character after inputs[{k}, -1, {b}], so that the hidden state "
            f"can be carried from one chunk to the next.{ctx}")
    for b in range(B):
        if px[0, 0, b] != b * L:
            return "make_batches/stream-start", (
                f"Stream {b} starts at position {int(px[0, 0, b])} of the text, expected b * L = "
                f"{b * L}: stream b is the piece ids[b*L:(b+1)*L].{ctx}")
    return None


_STREAMS = "streams = ids[: B * L].reshape(B, L).T"
_INPUTS = "inputs = streams[: n * T].reshape(n, T, B)"
_TARGETS = "targets = streams[1 : n * T + 1].reshape(n, T, B)"
_RETURN = "return inputs.copy(), targets.copy()"

MAKE_BATCHES = Exercise(
    name="make_batches",
    reference=_make_batches,
    cases=_batch_cases,
    returns=("inputs", "targets"),
    section="ch01-batching",
    kinds={"inputs": "int", "targets": "int"},
    diagnose=_diagnose_batches,
    mistakes=[
        Mistake("make_batches/targets-not-shifted",
                "targets are the same as inputs: they must be shifted one step later in time, "
                "targets[k, t, b] is the character after inputs[k, t, b].",
                mutate(_make_batches, (_TARGETS, "targets = streams[: n * T].reshape(n, T, B)")),
                "ch01-batching"),
        Mistake("make_batches/targets-shifted-back",
                "targets are shifted the wrong way: each target is the character *before* its "
                "input. The target is the next character, one step later: rows 1 ... n*T of the "
                "streams.",
                mutate(_make_batches, (_TARGETS, "targets = np.concatenate([streams[:1], streams[:-1]])"
                                                 "[: n * T].reshape(n, T, B)")),
                "ch01-batching"),
        Mistake("make_batches/inputs-targets-swapped",
                "inputs and targets are swapped: as returned, each target is the character "
                "*before* its input, the shift goes the wrong way. inputs start at the beginning "
                "of each stream, targets one step later.",
                mutate(_make_batches, (_RETURN, "return targets.copy(), inputs.copy()")), "ch01-batching"),
        Mistake("make_batches/time-batch-swapped",
                "Time and batch axes are swapped: each chunk is time-major, (T, B); inputs[k][t] "
                "holds step t of all B streams.",
                mutate(_make_batches, (_RETURN, "return inputs.transpose(0, 2, 1).copy(), "
                                                "targets.transpose(0, 2, 1).copy()")),
                "ch01-batching"),
        Mistake("make_batches/interleaved-streams",
                "Your streams are interleaved: neighbouring columns hold neighbouring characters, "
                "so column b is every B-th character of the text. Each column must be a "
                "contiguous piece of the text: reshape to (B, L) and transpose, not reshape to (L, B).",
                mutate(_make_batches, (_STREAMS, "streams = ids[: B * L].reshape(L, B)")), "ch01-batching"),
        Mistake("make_batches/float-ids",
                "make_batches returns floats: ids are integers (they index the vocabulary and "
                "one_hot), so keep the integer dtype of ids (np.zeros makes floats unless you "
                "give it dtype=ids.dtype).",
                mutate(_make_batches, (_RETURN, "return inputs.astype(float), targets.astype(float)")),
                "ch01-batching"),
        Mistake("make_batches/chunks-past-the-end",
                "There is one chunk too many: n = L // T counts chunks whose targets would run past "
                "the end of a stream. A target is one step after its input, so only L - 1 positions "
                "of a stream can be inputs: n = (L - 1) // T.",
                mutate(_make_batches, ("n = max((L - 1) // T, 0)", "n = max(L // T, 0)")), "ch01-batching"),
        Mistake("make_batches/one-chunk-short",
                "There is one chunk too few: n = (L - 1) // T. Only the last id of a stream has "
                "no target, so L - 1 positions of each stream can be inputs.",
                mutate(_make_batches, ("n = max((L - 1) // T, 0)", "n = max(L // T - 1, 0)")), "ch01-batching"),
        Mistake("make_batches/chunks-skip-a-step",
                "Each chunk starts T + 1 rows after the previous one, right after its last "
                "target, so one row of every stream is never an input. Chunk k + 1 starts where "
                "chunk k's inputs stop, at row (k + 1) * T: the last target of chunk k is the "
                "first input of chunk k + 1.",
                mutate(_make_batches,
                       (_INPUTS, "rows = (np.arange(min(n, L // (T + 1))) * (T + 1))[:, None] + np.arange(T)\n"
                                 "    inputs = streams[rows]"),
                       (_TARGETS, "targets = streams[rows + 1]")),
                "ch01-batching"),
        Mistake("make_batches/chunks-strided",
                "Within a chunk, time steps are not consecutive: chunk k holds every n-th row of "
                "the streams. Chunk k is the T consecutive rows k*T ... k*T + T - 1: reshape the "
                "(n*T, B) rows to (n, T, B) directly.",
                mutate(_make_batches, (_INPUTS, "inputs = streams[: n * T].reshape(T, n, B).transpose(1, 0, 2)"),
                       (_TARGETS, "targets = streams[1 : n * T + 1].reshape(T, n, B).transpose(1, 0, 2)")),
                "ch01-batching"),
    ],
)


def check_make_batches(make_batches, hidden=False):
    """Check a student's ``make_batches(ids, T, B) -> (inputs, targets)``, both ``(n, T, B)``.

    The ids of each case are a permutation, so every value tells where in the text it came
    from. Diagnoses time and batch axes swapped, too many chunks, targets not shifted or
    shifted the wrong way, interleaved (non-contiguous) streams, chunks that do not continue
    one another, and streams that start in the wrong place.
    """
    run_check(MAKE_BATCHES, make_batches, hidden)


# ---------------------------------------------------------------------------------------------
# sliding_windows


def _window_cases(hidden):
    # (N, D or None, window, horizon); D=None means a 1-D series.
    specs = ([(10, None, 1, 1), (7, None, 4, 3), (25, 3, 2, 6), (12, 1, 5, 1)] if hidden
             # window = 1; exactly one window; long horizon; a (N, 1) series.
             else [(20, None, 5, 1), (30, None, 4, 3), (15, 2, 3, 2)])
    cases = []
    for seed in case_seeds(hidden):
        rng = np.random.default_rng(seed)
        for N, D, window, horizon in specs:
            series = rng.standard_normal((N,) if D is None else (N, D))
            cases.append(Case(f"series of shape {series.shape}, window={window}, horizon={horizon}",
                              (series, window, horizon)))
    return cases


def _diagnose_windows(got, expected, case):
    series, window, horizon = case.args
    X, y = got.get("X"), got.get("y")
    want_X, want_y = expected["X"], expected["y"]
    N = len(series)
    M = want_X.shape[0]
    ctx = f" (M = N - window - horizon + 1 = {M} windows)"
    if not (isinstance(X, _ndarray) and isinstance(y, _ndarray)):
        return None
    if y.shape == want_y.shape[:1] + want_y.shape[2:] and horizon == 1:
        return "sliding_windows/drops-horizon-axis", (
            f"y has shape {y.shape}, expected {want_y.shape}: keep the horizon axis, "
            f"y[i] = series[i + window : i + window + horizon] even when horizon = 1.{ctx}")
    for arr, what, want, length in ((X, "X", want_X, window), (y, "y", want_y, horizon)):
        if arr.shape == want.shape:
            continue
        if arr.ndim == want.ndim and arr.shape[1:] == want.shape[1:]:
            got_m = arr.shape[0]
            if got_m == M - 1:
                hint = " You miss the last window: the final target ends exactly at the end of the series."
            elif got_m == N - window and horizon > 1:
                hint = " The last windows need horizon values after them: count them with the horizon too."
            elif got_m > M:
                hint = " Some windows would have targets running past the end of the series."
            else:
                hint = ""
            return "sliding_windows/number-of-windows", f"{what} has {got_m} windows, expected {M}.{hint}{ctx}"
        if arr.ndim >= 2 and arr.shape[:2] == (length, M) and arr.shape[2:] == want.shape[2:] and length != M:
            return "sliding_windows/axes-swapped", (
                f"{what} has shape {arr.shape}, expected {want.shape}: the first two axes are swapped. "
                f"{what}[i] is example i (example-major), time is the second axis.{ctx}")
        return None
    if not _equal(X, want_X):
        if M > 1 and _equal(X[:-1], want_X[1:]):
            return "sliding_windows/x-one-step-late", (
                f"X is one step late: X[i] must start at series[i], X[i] = series[i : i + window].{ctx}")
        if M > 1 and _equal(X[1:], want_X[:-1]):
            return "sliding_windows/x-one-step-early", (
                f"X is one step early: X[i] must start at series[i], X[i] = series[i : i + window].{ctx}")
        idx = _first_diff(X, want_X)
        return "generic/value", (
            f"X is wrong at window {idx[0]}, step {idx[1]}: X[i] = series[i : i + window], so "
            f"X[{idx[0]}, {idx[1]}] is series[{idx[0] + idx[1]}].{ctx}")
    if _equal(y[:, 0], X[:, -1]) or (M > 1 and _equal(y[1:], want_y[:-1])):
        return "sliding_windows/target-overlaps-window", (
            "y is one step early: y[i] starts with the last value of window i, which the model "
            f"has already seen. The target starts right after the window, at series[i + window].{ctx}")
    if M > 1 and _equal(y[:-1], want_y[1:]):
        return "sliding_windows/target-one-step-late", (
            f"y is one step late: it skips series[i + window], the value right after the window.{ctx}")
    idx = _first_diff(y, want_y)
    return "generic/value", (
        f"y is wrong at window {idx[0]}, step {idx[1]}: y[i] = series[i + window : i + window + horizon], "
        f"so y[{idx[0]}, {idx[1]}] is series[{idx[0] + window + idx[1]}].{ctx}")


def _horizon_axis_dropped(series, window, horizon=1):
    X, y = _sliding_windows(series, window, horizon)
    return X, (y[:, 0] if horizon == 1 else y)


def _example_axes_swapped(series, window, horizon=1):
    X, y = _sliding_windows(series, window, horizon)
    return X.swapaxes(0, 1), y


def _window_flattened(series, window, horizon=1):
    # np.ravel(series[i : i + window]): each window one row of window * D features.
    X, y = _sliding_windows(series, window, horizon)
    return X.reshape(X.shape[0], -1), y


_M = "M = len(series) - window - horizon + 1"
_Y = "y = series[starts[:, None] + window + np.arange(horizon)]"

SLIDING_WINDOWS = Exercise(
    name="sliding_windows",
    reference=_sliding_windows,
    cases=_window_cases,
    returns=("X", "y"),
    section="ch01-windows",
    diagnose=_diagnose_windows,
    mistakes=[
        Mistake("sliding_windows/misses-last-window",
                "There is one window too few: you miss the last window, whose target ends exactly "
                "at the end of the series. There are M = N - window - horizon + 1 windows.",
                mutate(_sliding_windows, (_M, "M = len(series) - window - horizon")), "ch01-windows"),
        Mistake("sliding_windows/target-overlaps-window",
                "y is one step early: y[i] starts with the last value of window i, which the model "
                "has already seen. The target starts right after the window, at series[i + window].",
                mutate(_sliding_windows, (_Y, "y = series[starts[:, None] + window - 1 + np.arange(horizon)]")),
                "ch01-windows"),
        Mistake("sliding_windows/target-one-step-late",
                "y is one step late: it skips series[i + window], the value right after the "
                "window (and so the last window is lost). y[i] = series[i + window : i + window + horizon].",
                mutate(_sliding_windows, (_M, "M = len(series) - window - horizon"),
                       (_Y, "y = series[starts[:, None] + window + 1 + np.arange(horizon)]")),
                "ch01-windows"),
        Mistake("sliding_windows/window-includes-target",
                "X[i] has window + 1 values: it runs one step too far and includes the value to "
                "predict. X[i] = series[i : i + window] (a slice stops before its end index).",
                mutate(_sliding_windows, ("X = series[starts[:, None] + np.arange(window)]",
                                          "X = series[starts[:, None] + np.arange(window + 1)]")),
                "ch01-windows"),
        Mistake("sliding_windows/x-one-step-late",
                "X is one step late: X[i] must start at series[i], X[i] = series[i : i + window] "
                "(the target then starts right after it).",
                mutate(_sliding_windows, ("X = series[starts[:, None] + np.arange(window)]",
                                          "X = series[starts[:, None] + 1 + np.arange(window)]")),
                "ch01-windows"),
        Mistake("sliding_windows/targets-past-the-end",
                "The last windows' targets run past the end of the series: window i's targets "
                "are series[i + window : i + window + horizon], and with M = N - window - "
                "horizon + 1 windows the last target ends exactly at the last value, "
                "series[N - 1].",
                mutate(_sliding_windows, (_M, "M = len(series) - window")), "ch01-windows", crashes=PAST_THE_END),
        Mistake("sliding_windows/drops-horizon-axis",
                "y has lost its horizon axis: keep it, y[i] = series[i + window : i + window + horizon] "
                "is (horizon,) (or (horizon, D)) even when horizon = 1.",
                _horizon_axis_dropped, "ch01-windows"),
        Mistake("sliding_windows/axes-swapped",
                "X's first two axes are swapped: X[i] is example i (example-major, like a "
                "dataset), time is the second axis; move time to the front only when you batch.",
                _example_axes_swapped, "ch01-windows"),
        Mistake("sliding_windows/window-flattened",
                "X is (M, window * D): each window is flattened into one row of features, as for "
                "a dense model or scikit-learn. An RNN reads a window one time step at a time, so "
                "keep its two axes: X[i] = series[i : i + window], of shape (window, D), and X is "
                "(M, window, D) (no ravel or reshape).",
                _window_flattened, "ch01-windows"),
    ],
)


def check_sliding_windows(sliding_windows, hidden=False):
    """Check a student's ``sliding_windows(series, window, horizon=1) -> (X, y)``.

    Series are 1-D ``(N,)`` and 2-D ``(N, D)``. Diagnoses a missing last window, a dropped
    horizon axis, swapped axes, windows one step early or late, and targets that overlap the
    window; windows whose targets run past the end of the series (a crash) are named too.
    """
    run_check(SLIDING_WINDOWS, sliding_windows, hidden)


# ---------------------------------------------------------------------------------------------
# Conceptual questions

_CH01_EXERCISE, check_ch01_questions = question_set("ch01_questions", [
    Question(
        "n_chunks", 9,
        "make_batches on N = 1000 ids with T = 25 and B = 4: the number of chunks n",
        "Cut the text into B streams of L = N // B ids first, then count how many full chunks of "
        "T inputs fit in a stream when every input needs its target one step later.",
        wrong=(
            Wrong(10, "chunks-without-targets",
                  "That is L // T with L = N // B = 250. The last id of a stream has no target (the "
                  "target is the next id), so only L - 1 = 249 positions can be inputs: "
                  "n = (L - 1) // T."),
            Wrong(40, "chunks-of-the-whole-text",
                  "That is N // T, chunks of the whole text in one line. The text is first cut into "
                  "B = 4 streams of L = N // B ids, and every chunk takes T steps of all B streams at "
                  "once."),
            Wrong(39, "chunks-of-the-whole-text-shifted",
                  "That is (N - 1) // T, chunks of the whole text in one line. The text is first cut "
                  "into B = 4 streams of L = N // B ids, and every chunk takes T steps of all B "
                  "streams at once: n = (L - 1) // T."),
        ),
        section="ch01-batching"),
    Question(
        "x_shape", (25, 4, 80),
        "The shape of one_hot(inputs[0], 80) for those chunks (a tuple)",
        "inputs[0] is one chunk, time-major; one_hot adds a last axis of length V.",
        wrong=(
            Wrong((4, 25, 80), "batch-major",
                  "Every array in the course is time-major: inputs[0] is (T, B) = (25, 4), row t "
                  "holds step t of every stream, and one_hot adds V = 80 at the end."),
            Wrong((80, 25, 4), "one-hot-axis-first",
                  "one_hot puts the new axis last: the result is ids.shape + (V,)."),
            Wrong((9, 25, 4, 80), "all-chunks",
                  "That is one_hot(inputs, 80), all 9 chunks; inputs[0] is one chunk, (T, B)."),
        ),
        section="ch01-layout"),
    Question(
        "n_windows", 86,
        "sliding_windows on a series of N = 100 values with window = 10, horizon = 5: the number of "
        "windows M",
        "A window can start at every position that leaves room for its window values and its "
        "horizon values after them.",
        wrong=(
            Wrong(90, "forgets-horizon",
                  "That is N - window: it forgets that every window needs its horizon = 5 target "
                  "values after it. M = N - window - horizon + 1."),
            Wrong(85, "misses-last-window",
                  "That is N - window - horizon: it misses the last window, whose target ends exactly "
                  "at the last value of the series. M = N - window - horizon + 1."),
            Wrong(91, "windows-without-targets",
                  "That is N - window + 1, the number of windows when nothing follows them; every "
                  "window here needs horizon = 5 values after it."),
        ),
        section="ch01-windows"),
])
