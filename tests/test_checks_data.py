"""Chapter 1 checkers: the right answer passes, each plausible mistake fails with its name."""
import numpy as np
import pytest

from rnnlib import data
from rnnlib.checks import (
    CheckFailed,
    check_char_vocab,
    check_make_batches,
    check_one_hot,
    check_sliding_windows,
)


def _fails(check, fn, *words, hidden=False):
    with pytest.raises(CheckFailed) as info:
        check(fn, hidden=hidden)
    msg = str(info.value)
    for w in words:
        assert w.lower() in msg.lower(), msg
    return msg


# --- char_vocab --------------------------------------------------------------------------------


def good_char_vocab(text):
    chars = sorted(set(text))
    return chars, {c: i for i, c in enumerate(chars)}


@pytest.mark.parametrize("hidden", [False, True])
def test_char_vocab_correct_passes(hidden, capsys):
    check_char_vocab(good_char_vocab, hidden=hidden)
    assert "passed" in capsys.readouterr().out


def test_char_vocab_not_sorted_first_appearance():
    def f(text):
        chars = list(dict.fromkeys(text))
        return chars, {c: i for i, c in enumerate(chars)}

    _fails(check_char_vocab, f, "not sorted", "first appearance")


def test_char_vocab_with_duplicates():
    def f(text):
        chars = sorted(text)
        return chars, {c: i for i, c in enumerate(chars)}

    _fails(check_char_vocab, f, "not deduplicated")


def test_char_vocab_returns_a_string():
    def f(text):
        chars = "".join(sorted(set(text)))
        return chars, {c: i for i, c in enumerate(chars)}

    _fails(check_char_vocab, f, "list")


def test_char_vocab_index_not_inverse():
    def f(text):
        chars = sorted(set(text))
        return chars, {c: i + 1 for i, c in enumerate(chars)}

    _fails(check_char_vocab, f, "inverse")


def test_char_vocab_returns_only_chars():
    _fails(check_char_vocab, lambda text: sorted(set(text)), "pair")


def test_char_vocab_calling_the_reference_is_refused():
    _fails(check_char_vocab, lambda text: data.char_vocab(text), "implement this yourself")


def test_char_vocab_untouched_raises_not_implemented():
    def f(text):
        raise NotImplementedError()

    with pytest.raises(NotImplementedError):
        check_char_vocab(f)


# --- one_hot -----------------------------------------------------------------------------------


def good_one_hot(ids, V):
    return (ids[..., None] == np.arange(V)).astype(float)


@pytest.mark.parametrize("hidden", [False, True])
def test_one_hot_correct_passes(hidden):
    check_one_hot(good_one_hot, hidden=hidden)


def test_one_hot_on_the_first_axis():
    _fails(check_one_hot, lambda ids, V: np.moveaxis(good_one_hot(ids, V), -1, 0), "axis", "last")


def test_one_hot_uses_max_plus_one():
    _fails(check_one_hot, lambda ids, V: good_one_hot(ids, int(ids.max()) + 1), "ids.max() + 1")


def test_one_hot_integer_dtype():
    _fails(check_one_hot, lambda ids, V: good_one_hot(ids, V).astype(int), "float")


def test_one_hot_flattened():
    _fails(check_one_hot, lambda ids, V: good_one_hot(ids.ravel(), V), "flattened")


def test_one_hot_off_by_one_position():
    _fails(check_one_hot, lambda ids, V: good_one_hot((ids + 1) % V, V), "entry")


def test_one_hot_inverted():
    _fails(check_one_hot, lambda ids, V: 1.0 - good_one_hot(ids, V), "swapped")


# --- make_batches ------------------------------------------------------------------------------


def good_make_batches(ids, T, B):
    L = len(ids) // B
    streams = ids[: B * L].reshape(B, L).T
    n = (L - 1) // T
    return streams[: n * T].reshape(n, T, B), streams[1 : n * T + 1].reshape(n, T, B)


@pytest.mark.parametrize("hidden", [False, True])
def test_make_batches_correct_passes(hidden):
    check_make_batches(good_make_batches, hidden=hidden)


def test_make_batches_targets_not_shifted():
    def f(ids, T, B):
        x, _ = good_make_batches(ids, T, B)
        return x, x.copy()

    _fails(check_make_batches, f, "same as inputs", "shifted")


def test_make_batches_targets_shifted_the_wrong_way():
    def f(ids, T, B):
        L = len(ids) // B
        s = ids[: B * L].reshape(B, L).T
        n = (L - 1) // T
        return s[1 : n * T + 1].reshape(n, T, B), s[: n * T].reshape(n, T, B)

    # Or the inputs right and the targets taken one step back.
    def g(ids, T, B):
        x, _ = good_make_batches(ids, T, B)
        L = len(ids) // B
        s = ids[: B * L].reshape(B, L).T
        prev = np.concatenate([s[:1], s[:-1]])  # the character before each input
        n = x.shape[0]
        return x, prev[: n * T].reshape(n, T, B)

    _fails(check_make_batches, f, "swapped", "wrong way")
    _fails(check_make_batches, g, "wrong way")


def test_make_batches_time_and_batch_swapped():
    def f(ids, T, B):
        x, y = good_make_batches(ids, T, B)
        return x.transpose(0, 2, 1), y.transpose(0, 2, 1)

    _fails(check_make_batches, f, "swapped", "time")


def test_make_batches_interleaved_streams():
    def f(ids, T, B):
        L = len(ids) // B
        s = ids[: B * L].reshape(L, B)  # column b is every B-th id: the classic mistake
        n = (L - 1) // T
        return s[: n * T].reshape(n, T, B), s[1 : n * T + 1].reshape(n, T, B)

    _fails(check_make_batches, f, "interleaved", "contiguous")


def test_make_batches_too_many_chunks():
    def f(ids, T, B):
        L = len(ids) // B
        s = ids[: B * L].reshape(B, L).T
        s = np.concatenate([s, s[:1]])  # pretend the stream is one longer
        n = L // T
        return s[: n * T].reshape(n, T, B), s[1 : n * T + 1].reshape(n, T, B)

    _fails(check_make_batches, f, "chunks", "L - 1", hidden=True)


def test_make_batches_overlapping_chunks_do_not_continue():
    def f(ids, T, B):
        x, y = good_make_batches(ids, T, B)
        L = len(ids) // B
        s = ids[: B * L].reshape(B, L).T
        n = x.shape[0]
        # Chunks start every T - 1 steps instead of every T: they overlap.
        xs = np.stack([s[k * (T - 1) : k * (T - 1) + T] for k in range(n)])
        ys = np.stack([s[k * (T - 1) + 1 : k * (T - 1) + T + 1] for k in range(n)])
        return xs, ys

    _fails(check_make_batches, f, "does not continue")


def test_make_batches_float_output():
    _fails(check_make_batches, lambda ids, T, B: tuple(a.astype(float) for a in good_make_batches(ids, T, B)), "integer")


# --- sliding_windows ---------------------------------------------------------------------------


def good_sliding_windows(series, window, horizon=1):
    M = len(series) - window - horizon + 1
    X = np.stack([series[i : i + window] for i in range(M)])
    y = np.stack([series[i + window : i + window + horizon] for i in range(M)])
    return X, y


@pytest.mark.parametrize("hidden", [False, True])
def test_sliding_windows_correct_passes(hidden):
    check_sliding_windows(good_sliding_windows, hidden=hidden)


def test_sliding_windows_missing_last_window():
    def f(series, window, horizon=1):
        X, y = good_sliding_windows(series, window, horizon)
        return X[:-1], y[:-1]

    _fails(check_sliding_windows, f, "last window")


def test_sliding_windows_target_overlaps_window():
    def f(series, window, horizon=1):
        X, _ = good_sliding_windows(series, window, horizon)
        y = np.stack([series[i + window - 1 : i + window - 1 + horizon] for i in range(len(X))])
        return X, y

    _fails(check_sliding_windows, f, "one step early")


def test_sliding_windows_target_one_step_late():
    def f(series, window, horizon=1):
        X, y = good_sliding_windows(series, window, horizon)
        return X[:-1], y[1:]  # windows 0..M-2 with the targets of windows 1..M-1

    msg = _fails(check_sliding_windows, f)
    assert "windows" in msg or "late" in msg

    def g(series, window, horizon=1):
        X, y = good_sliding_windows(series, window, horizon)
        shifted = np.concatenate([y[1:], y[-1:]])
        return X, shifted

    _fails(check_sliding_windows, g, "one step late")


def test_sliding_windows_drops_horizon_axis():
    def f(series, window, horizon=1):
        X, y = good_sliding_windows(series, window, horizon)
        return X, y[:, 0]

    _fails(check_sliding_windows, f, "horizon axis")


def test_sliding_windows_time_major():
    def f(series, window, horizon=1):
        X, y = good_sliding_windows(series, window, horizon)
        return X.swapaxes(0, 1), y

    _fails(check_sliding_windows, f, "swapped")


def test_sliding_windows_x_one_step_late():
    def f(series, window, horizon=1):
        X, y = good_sliding_windows(series, window, horizon)
        return np.concatenate([X[1:], X[-1:]]), y

    _fails(check_sliding_windows, f, "one step late")


def test_sliding_windows_untouched_raises_not_implemented():
    def f(series, window, horizon=1):
        raise NotImplementedError()

    with pytest.raises(NotImplementedError):
        check_sliding_windows(f)


def test_char_vocab_index_with_an_extra_key_is_caught():
    def f(text):
        chars = sorted(set(text))
        index = {c: i for i, c in enumerate(chars)}
        index["<unk>"] = len(chars)  # not asked for: index must invert chars exactly
        return chars, index

    _fails(check_char_vocab, f, "index", "<unk>")


def test_make_batches_float_ids_are_named_with_the_catalogue_id():
    def f(ids, T, B):
        x, y = good_make_batches(ids, T, B)
        out_x, out_y = np.zeros(x.shape), np.zeros(y.shape)  # np.zeros makes floats
        out_x[...], out_y[...] = x, y
        return out_x, out_y

    with pytest.raises(CheckFailed) as err:
        check_make_batches(f)
    assert err.value.mistake_id == "make_batches/float-ids"


def test_chapter_1_questions_name_the_misconception_and_untouched_answers_are_not_implemented():
    from rnnlib.checks import check_ch01_questions

    right = {"n_chunks": 9, "x_shape": (25, 4, 80), "n_windows": 86}
    check_ch01_questions(right)
    with pytest.raises(CheckFailed) as err:
        check_ch01_questions({**right, "n_chunks": 10})
    assert err.value.mistake_id == "ch01_questions/chunks-without-targets"
    with pytest.raises(CheckFailed) as err:
        check_ch01_questions({**right, "n_windows": 87})
    assert err.value.mistake_id == "ch01_questions/n_windows-other"
    with pytest.raises(NotImplementedError):
        check_ch01_questions({"n_chunks": ..., "x_shape": ..., "n_windows": ...})
    with pytest.raises(CheckFailed, match="no answer"):
        check_ch01_questions({**right, "x_shape": ...})


def test_a_crash_with_the_same_error_as_a_catalogued_mistake_is_named():
    # n = L // T: a chunk too many, whose reshape fails exactly as the catalogued variant's does.
    def f(ids, T, B):
        L = len(ids) // B
        s = ids[: B * L].reshape(B, L).T
        n = L // T
        return s[: n * T].reshape(n, T, B), s[1 : n * T + 1].reshape(n, T, B)

    with pytest.raises(CheckFailed) as err:
        check_make_batches(f)
    assert err.value.mistake_id == "make_batches/chunks-past-the-end" and "L - 1" in str(err.value)

    def g(ids, V):  # right for 1-D ids only
        x = np.zeros(ids.shape + (V,))
        x[np.arange(len(ids)), ids] = 1.0
        return x

    with pytest.raises(CheckFailed) as err:
        check_one_hot(g)
    assert err.value.mistake_id == "one_hot/assumes-1d"


# --- A mistake an outside tester wrote blind (round 2), in a student's own words ---------------


@pytest.mark.parametrize("hidden", [False, True])
def test_windows_flattened_into_feature_rows_are_named(hidden):
    def sliding_windows(series, window, horizon=1):
        M = len(series) - window - horizon + 1
        X = np.stack([np.ravel(series[i:i + window]) for i in range(M)])
        y = np.stack([series[i + window:i + window + horizon] for i in range(M)])
        return X, y

    with pytest.raises(CheckFailed) as err:
        check_sliding_windows(sliding_windows, hidden=hidden)
    assert err.value.mistake_id == "sliding_windows/window-flattened", str(err.value)
    assert "(M, window, D)" in str(err.value)


# --- Mistakes an outside tester wrote blind (round 3), and others of the same kind -----------


@pytest.mark.parametrize("hidden", [False, True])
@pytest.mark.parametrize("extra", [["<pad>"], ["<pad>", "<unk>"]])
def test_special_tokens_in_the_vocabulary_are_named_not_called_words(extra, hidden):
    def char_vocab(text):  # the tester's: id 0 reserved for padding, as NLP libraries do
        chars = extra + sorted(set(text))
        return chars, {c: i for i, c in enumerate(chars)}

    with pytest.raises(CheckFailed) as err:
        check_char_vocab(char_vocab, hidden=hidden)
    assert err.value.mistake_id == "char_vocab/special-token", str(err.value)
    assert "'<pad>'" in str(err.value) and "words" not in str(err.value)


def test_a_special_token_appended_at_the_end_is_named():
    def char_vocab(text):
        chars = sorted(set(text)) + ["<unk>"]
        return chars, {c: i for i, c in enumerate(chars)}

    with pytest.raises(CheckFailed) as err:
        check_char_vocab(char_vocab)
    assert err.value.mistake_id == "char_vocab/special-token", str(err.value)
    assert "'<unk>'" in str(err.value)


def test_words_are_still_called_words():
    def char_vocab(text):
        chars = sorted(set(text.split()) | {" "})
        return chars, {c: i for i, c in enumerate(chars)}

    with pytest.raises(CheckFailed) as err:
        check_char_vocab(char_vocab)
    assert err.value.mistake_id == "char_vocab/not-characters", str(err.value)
    assert "not words" in str(err.value)
