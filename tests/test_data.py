"""rnnlib.data: vocabularies, one-hot, batching for truncated BPTT, windows, loaders, tasks."""
import subprocess
import sys

import numpy as np
import pytest

from rnnlib import data
from rnnlib._guard import ReferenceUsedError, reference_functions, references_blocked


# --- vocabulary and one-hot ------------------------------------------------------------------


def test_char_vocab_is_sorted_distinct_and_inverse():
    chars, index = data.char_vocab("hello world")
    assert chars == sorted(set("hello world"))
    assert all(chars[index[c]] == c for c in chars)


def test_vocab_encode_decode_round_trip_on_the_book_text():
    text = data.load_text(max_chars=5000)
    vocab = data.build_vocab(text)
    ids = vocab.encode(text)
    assert ids.dtype == np.int64 and ids.shape == (len(text),)
    assert vocab.decode(ids) == text
    assert data.decode(data.encode(text, vocab), vocab) == text
    assert len(vocab) == len(set(text)) and vocab.chars == sorted(set(text))


def test_vocab_encode_names_an_unknown_character():
    with pytest.raises(KeyError, match="'z'"):
        data.build_vocab("abc").encode("abz")


def test_one_hot_shape_dtype_and_position():
    ids = np.array([[0, 2], [1, 2], [3, 0]])
    x = data.one_hot(ids, 5)
    assert x.shape == (3, 2, 5) and x.dtype == np.float64
    assert np.array_equal(x.argmax(-1), ids)
    assert np.array_equal(x.sum(-1), np.ones((3, 2)))


def test_one_hot_rejects_ids_out_of_range():
    with pytest.raises(ValueError):
        data.one_hot(np.array([0, 5]), 5)


# --- batching ----------------------------------------------------------------------------------


def test_batchify_columns_are_contiguous_pieces_and_remainder_dropped():
    s = data.batchify(np.arange(23), 4)  # L = 5, 3 ids dropped
    assert s.shape == (5, 4)
    for b in range(4):
        assert np.array_equal(s[:, b], np.arange(b * 5, b * 5 + 5))


def test_iter_chunks_targets_are_inputs_shifted_and_streams_continue():
    streams = data.batchify(np.arange(43), 3)  # L = 14, 13 inputs with a target
    chunks = list(data.iter_chunks(streams, 4))
    assert [c[0].shape for c in chunks] == [(4, 3), (4, 3), (4, 3), (1, 3)]
    for x, y in chunks:
        assert np.array_equal(y, x + 1)  # ids are positions: the target is the next one
    for (x0, y0), (x1, _) in zip(chunks, chunks[1:]):
        assert np.array_equal(x1[0], y0[-1])  # the next chunk starts where this one ended
    assert len(list(data.iter_chunks(streams, 4, drop_last=True))) == 3


def test_make_batches_matches_iter_chunks_and_shapes():
    ids = np.random.default_rng(0).permutation(103)
    x, y = data.make_batches(ids, T=4, B=3)
    L = 103 // 3
    assert x.shape == y.shape == ((L - 1) // 4, 4, 3)
    chunks = list(data.iter_chunks(data.batchify(ids, 3), 4, drop_last=True))
    assert np.array_equal(x, np.stack([c[0] for c in chunks]))
    assert np.array_equal(y, np.stack([c[1] for c in chunks]))


def test_make_batches_uses_every_id_when_nothing_is_left_over():
    x, y = data.make_batches(np.arange(26), T=4, B=2)  # L = 13 = 3*4 + 1
    assert x.shape == (3, 4, 2)
    assert y[-1, -1, -1] == 25 and x[0, 0, 0] == 0


def test_make_batches_of_a_short_text_has_no_chunks():
    x, y = data.make_batches(np.arange(5), T=4, B=2)
    assert x.shape == y.shape == (0, 4, 2)


# --- windows and splits ------------------------------------------------------------------------


def test_sliding_windows_align_1d():
    series = np.arange(10.0)
    X, y = data.sliding_windows(series, window=3, horizon=2)
    assert X.shape == (6, 3) and y.shape == (6, 2)
    for i in range(6):
        assert np.array_equal(X[i], series[i : i + 3])
        assert np.array_equal(y[i], series[i + 3 : i + 5])


def test_sliding_windows_align_2d():
    series = np.arange(24.0).reshape(12, 2)
    X, y = data.sliding_windows(series, window=4)
    assert X.shape == (8, 4, 2) and y.shape == (8, 1, 2)
    assert np.array_equal(y[:, 0], series[4:])


def test_sliding_windows_too_short_series_raises():
    with pytest.raises(ValueError):
        data.sliding_windows(np.arange(3), window=3)


def test_train_val_split_is_contiguous_in_time():
    x = np.arange(100)
    tr, va = data.train_val_split(x, 0.2)
    assert np.array_equal(tr, np.arange(80)) and np.array_equal(va, np.arange(80, 100))
    t_tr, t_va = data.train_val_split("abcdefghij", 0.3)
    assert t_tr + t_va == "abcdefghij" and t_va == "hij"


# --- loaders -----------------------------------------------------------------------------------


def test_load_text_is_deterministic_and_large():
    text = data.load_text()
    assert 300_000 < len(text) < 1_000_000
    assert text == data.load_text()
    assert data.load_text(max_chars=100) == text[:100]
    assert 60 < len(set(text)) < 200


def test_load_series_sizes_without_network():
    t, v = data.load_series("stocks")
    assert v.shape == (len(t), len(data.STOCK_TICKERS)) and len(t) > 300
    assert t.dtype == np.dtype("datetime64[D]") and np.all(np.diff(t) > np.timedelta64(0, "D"))
    t, aapl = data.load_series("stocks", "AAPL")
    assert aapl.shape == t.shape and np.isfinite(aapl).all() and (aapl > 0).all()
    t, g = data.load_series("goog")
    assert g.shape == t.shape == (1047,)
    t, eeg = data.load_series("eeg")
    assert eeg.shape == (800, 4) and t.shape == (800,) and np.isfinite(eeg).all()
    assert np.isclose(t[1] - t[0], 1 / 80)
    assert data.load_series("eeg", 2).values.shape == (800,)


def test_load_series_rejects_unknown_names():
    with pytest.raises(ValueError):
        data.load_series("weather")
    with pytest.raises(ValueError):
        data.load_series("stocks", "NOPE")


def test_importing_rnnlib_data_does_not_import_matplotlib():
    code = "import rnnlib, rnnlib.data, sys; rnnlib.data.load_series('eeg'); print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- synthetic tasks ---------------------------------------------------------------------------


def test_sine_waves_shape_and_seed_determinism():
    w = data.sine_waves(5, 40, rng=0)
    assert w.shape == (40, 5, 1)
    assert np.array_equal(w, data.sine_waves(5, 40, rng=0))
    assert not np.array_equal(w, data.sine_waves(5, 40, rng=1))
    assert np.abs(w).max() <= 1.0


def test_adding_problem_targets_are_the_marked_sums():
    x, y = data.adding_problem(64, 20, rng=3)
    assert x.shape == (20, 64, 2) and y.shape == (64,)
    markers = x[..., 1]
    assert np.array_equal(markers.sum(0), np.full(64, 2.0))
    assert (markers[:10].sum(0) == 1).all() and (markers[10:].sum(0) == 1).all()
    assert np.allclose(y, (x[..., 0] * markers).sum(0))
    x2, y2 = data.adding_problem(64, 20, rng=3)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)


def test_adding_problem_baseline_is_about_one_sixth():
    _, y = data.adding_problem(20000, 10, rng=0)
    assert abs(data.adding_problem_baseline(y) - data.adding_problem_baseline()) < 0.01
    assert abs(data.adding_problem_baseline() - 1 / 6) < 1e-12


def test_copy_memory_layout():
    inputs, targets, mask = data.copy_memory(6, T_delay=5, n_symbols=4, length=3, rng=0)
    T = 5 + 2 * 3
    assert inputs.shape == targets.shape == mask.shape == (T, 6)
    assert inputs.dtype == targets.dtype == np.int64 and mask.dtype == bool
    assert np.array_equal(targets[-3:], inputs[:3])  # the answer is the symbols read
    assert ((inputs[:3] >= 1) & (inputs[:3] <= 4)).all()
    assert (inputs[3 + 5 - 1] == 5).all()  # the go marker, n_symbols + 1
    assert (targets[:-3] == data.COPY_BLANK).all() and mask[-3:].all() and not mask[:-3].any()
    again = data.copy_memory(6, T_delay=5, n_symbols=4, length=3, rng=0)
    assert all(np.array_equal(a, b) for a, b in zip((inputs, targets, mask), again))


def test_copy_memory_baseline_is_uniform_guess_loss():
    from rnnlib.losses import softmax_cross_entropy

    n_symbols, length, T_delay = 8, 10, 20
    inputs, targets, mask = data.copy_memory(50, T_delay, n_symbols, length, rng=1)
    # The memoryless model: certain of blank where the answer is blank, uniform over symbols
    # on the answer steps.
    logits = np.full(targets.shape + (n_symbols + 1,), -1e9)
    logits[..., 0] = 0.0
    logits[-length:] = 0.0
    logits[-length:, :, 0] = -1e9
    masked, _ = softmax_cross_entropy(logits, targets, mask)
    full, _ = softmax_cross_entropy(logits, targets)
    assert np.isclose(masked, data.copy_memory_baseline(n_symbols, length))
    assert np.isclose(full, data.copy_memory_baseline(n_symbols, length, T_delay))


# --- the guard ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["char_vocab", "build_vocab", "one_hot", "batchify", "make_batches", "sliding_windows"])
def test_chapter_one_references_are_blocked_while_grading(name):
    fn = getattr(data, name)
    assert id(fn.__code__) in reference_functions()
    with pytest.raises(ReferenceUsedError), references_blocked():
        if name in ("char_vocab", "build_vocab"):
            fn("ab")
        elif name == "make_batches":
            fn(np.arange(9), 2, 2)
        else:
            fn(np.arange(8), 2)
