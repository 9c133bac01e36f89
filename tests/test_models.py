"""Models built from rnnlib's pieces: the character language model, TBPTT, the regressor."""
from __future__ import annotations

import time

import numpy as np
import pytest

from rnnlib.charlm import (
    char_rnn_loss,
    evaluate_char_rnn,
    init_char_rnn,
    sample,
    train_char_rnn,
)
from rnnlib.data import batchify, build_vocab, iter_chunks, one_hot, sine_waves
from rnnlib.layers import output_backward, output_forward
from rnnlib.losses import softmax, softmax_cross_entropy
from rnnlib.optim import Adam
from rnnlib.regressor import init_regressor, regressor_loss, regressor_predict, train_regressor
from rnnlib.rnn import rnn_backward, rnn_forward
from rnnlib.training import bits_per_char, tbptt_train

TEXT = "hello world, hello rnn! " * 6


# --- character language model -----------------------------------------------------------


def test_char_rnn_loss_equals_the_one_hot_formulation():
    # The gather inside char_rnn_loss must give exactly rnn_forward on one-hot inputs,
    # followed by the output layer and softmax cross-entropy.
    rng = np.random.default_rng(0)
    T, B, V, H = 6, 3, 7, 5
    params = init_char_rnn(V, H, rng)
    params["bh"] += 0.1 * rng.standard_normal(H)
    inputs, targets = rng.integers(0, V, (T, B)), rng.integers(0, V, (T, B))
    h0 = rng.standard_normal((B, H))
    loss, grads, h_last = char_rnn_loss(params, inputs, targets, h0)

    x = one_hot(inputs, V)
    assert x.shape == (T, B, V)
    hs, rc = rnn_forward(x, h0, params["Wxh"], params["Whh"], params["bh"])
    logits, oc = output_forward(hs, params["Why"], params["by"])
    ref_loss, dlogits = softmax_cross_entropy(logits, targets)
    dhs, dWhy, dby = output_backward(dlogits, oc)
    _, _, dWxh, dWhh, dbh = rnn_backward(dhs, rc)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    np.testing.assert_allclose(h_last, hs[-1], rtol=1e-12, atol=1e-14)
    want = {"Wxh": dWxh, "Whh": dWhh, "bh": dbh, "Why": dWhy, "by": dby}
    for k in want:
        np.testing.assert_allclose(grads[k], want[k], rtol=1e-10, atol=1e-14, err_msg=k)


def test_char_rnn_loss_of_a_fresh_model_is_about_log_V():
    V = 20
    params = init_char_rnn(V, 16, rng=0)
    rng = np.random.default_rng(1)
    loss, _, _ = char_rnn_loss(params, rng.integers(0, V, (10, 4)), rng.integers(0, V, (10, 4)))
    assert abs(loss - np.log(V)) < 0.5


def test_char_rnn_overfits_a_short_string():
    vocab = build_vocab(TEXT)
    start = time.perf_counter()
    params, hist = train_char_rnn(TEXT, vocab, H=32, T=12, B=4, steps=250,
                                  optimizer=Adam(1e-2), rng=0, progress=False)
    elapsed = time.perf_counter() - start
    final = np.mean(hist["train_loss"][-10:])
    assert hist["train_loss"][0] > 2.0  # it really started from scratch
    assert final < 0.05, f"final training loss {final:.3f} nats per character"
    assert elapsed < 10
    # Greedy generation reproduces the string (which needs the memory of "world" vs "rnn").
    ids = sample(params, vocab.encode("h")[0], len(TEXT) - 1, temperature=0)
    assert vocab.decode(ids) == TEXT[1:]


def test_train_char_rnn_reports_validation_loss():
    vocab = build_vocab(TEXT)
    val = vocab.encode(TEXT[:60])
    params, hist = train_char_rnn(TEXT, vocab, H=8, T=10, B=2, steps=20, rng=0, progress=False,
                                  eval_every=10, val_ids=val)
    assert hist["val_step"] == [10, 20]
    assert len(hist["val_loss"]) == 2 and len(hist["train_loss"]) == 20
    assert hist["val_loss"][-1] == pytest.approx(evaluate_char_rnn(params, val, T=50, B=2))


def test_train_char_rnn_is_reproducible_with_a_seed():
    vocab = build_vocab(TEXT)
    runs = [train_char_rnn(TEXT, vocab, H=8, T=10, B=2, steps=5, rng=3, progress=False)[1]
            for _ in range(2)]
    assert runs[0]["train_loss"] == runs[1]["train_loss"]


def _model(V=6, H=10, seed=0):
    params = init_char_rnn(V, H, seed)
    params["Why"] *= 3  # a more peaked distribution makes the statistics sharper
    return params


def test_sample_with_temperature_zero_is_argmax_and_tiny_temperature_matches_it():
    params = _model()
    greedy = sample(params, 2, 30, temperature=0)
    # Recompute the greedy path by hand.
    h = np.zeros(params["Whh"].shape[0])
    idx, want = 2, []
    for _ in range(30):
        h = np.tanh(params["Wxh"][:, idx] + params["Whh"] @ h + params["bh"])
        idx = int(np.argmax(params["Why"] @ h + params["by"]))
        want.append(idx)
    assert greedy.tolist() == want
    assert sample(params, 2, 30, temperature=1e-4, rng=0).tolist() == want


def test_sample_is_reproducible_with_a_seed_and_varies_without():
    params = _model()
    a = sample(params, 0, 50, rng=7)
    b = sample(params, 0, 50, rng=7)
    c = sample(params, 0, 50, rng=8)
    assert a.shape == (50,) and np.issubdtype(a.dtype, np.integer)
    assert a.tolist() == b.tolist()
    assert a.tolist() != c.tolist()


def test_sample_draws_from_the_softmax_at_the_given_temperature():
    params = _model()
    V = params["by"].shape[0]
    h = np.tanh(params["Wxh"][:, 1] + params["bh"])
    logits = params["Why"] @ h + params["by"]
    rng = np.random.default_rng(0)
    n = 4000
    for temperature in (1.0, 2.0):
        p = softmax(logits / temperature)
        counts = np.bincount([sample(params, 1, 1, temperature, rng)[0] for _ in range(n)],
                             minlength=V)
        # Every frequency within 4.5 standard errors of its probability.
        se = np.sqrt(p * (1 - p) / n)
        assert np.all(np.abs(counts / n - p) < 4.5 * se + 1e-3), (temperature, counts / n, p)


def test_bits_per_char_divides_by_ln2():
    assert bits_per_char(np.log(2.0)) == pytest.approx(1.0)
    assert bits_per_char(np.log(27)) == pytest.approx(np.log2(27))


# --- truncated BPTT ------------------------------------------------------------------------


def test_carried_state_changes_the_loss_of_the_next_chunk():
    vocab = build_vocab(TEXT)
    params = init_char_rnn(len(vocab), 16, rng=0)
    chunks = list(iter_chunks(batchify(vocab.encode(TEXT), 2), 8))
    _, _, h_last = char_rnn_loss(params, *chunks[0])
    carried = char_rnn_loss(params, *chunks[1], h_last)[0]
    reset = char_rnn_loss(params, *chunks[1])[0]
    assert abs(carried - reset) > 1e-6


def _recall_stream(n_segments, rng):
    # Segments "s . . . s": the last symbol repeats the first, 4 steps later. With chunks of
    # T=6 the pair is often split by a chunk boundary, where only a carried state remembers s.
    s = rng.integers(1, 3, n_segments)
    seg = np.zeros((n_segments, 5), dtype=np.int64)
    seg[:, 0] = s
    seg[:, 4] = s
    return seg.ravel()


def test_tbptt_with_carried_state_learns_what_crosses_the_chunk_boundary():
    rng = np.random.default_rng(0)
    streams = batchify(_recall_stream(2000, rng), 16)  # (625, 16)
    results = {}
    for carry in (True, False):
        params = init_char_rnn(3, 16, rng=1)
        chunks = [c for _ in range(2) for c in iter_chunks(streams, 6, drop_last=True)]
        hist = tbptt_train(params, char_rnn_loss, chunks, Adam(2e-2), clip=5.0, carry=carry)
        results[carry] = np.mean(hist["loss"][-40:])
    # Per segment of 5 predictions, one (the new s) is a coin flip: ln 2 / 5 = 0.139 is the
    # best possible loss. Resetting at every cut loses the phase and s across the cut.
    assert results[True] < 0.25
    assert results[False] > results[True] + 0.1, results


def test_tbptt_records_loss_and_gradient_norm_and_clips():
    vocab = build_vocab(TEXT)
    params = init_char_rnn(len(vocab), 8, rng=0)
    chunks = list(iter_chunks(batchify(vocab.encode(TEXT), 2), 10))
    seen = []
    hist = tbptt_train(params, char_rnn_loss, chunks, Adam(1e-3), clip=1e-3,
                       callback=lambda step, p, h: seen.append(step))
    assert len(hist["loss"]) == len(hist["grad_norm"]) == len(chunks) == len(seen)
    assert all(n > 1e-3 for n in hist["grad_norm"])  # the recorded norm is before clipping


# --- sequence regressor --------------------------------------------------------------------


def test_regressor_beats_the_last_value_baseline_on_sine_waves():
    waves = sine_waves(512, 21, rng=0)  # (21, 512, 1)
    x, y = waves[:-1], waves[-1]  # predict the value after a window of 20
    params, hist = train_regressor(x[:, :448], y[:448], H=16, steps=300, lr=1e-2,
                                   batch_size=64, rng=0)
    x_test, y_test = x[:, 448:], y[448:]
    pred = regressor_predict(params, x_test)
    assert pred.shape == y_test.shape
    model_mse = np.mean((pred - y_test) ** 2)
    baseline_mse = np.mean((x_test[-1] - y_test) ** 2)
    assert model_mse < 0.1 * baseline_mse, (model_mse, baseline_mse)
    assert hist["loss"][-1] < hist["loss"][0]


def test_regressor_many_to_many_predicts_every_step():
    rng = np.random.default_rng(0)
    params = init_regressor(2, 5, 3, rng)
    x = rng.standard_normal((4, 6, 2))
    y = rng.standard_normal((4, 6, 3))
    assert regressor_predict(params, x, many_to_one=False).shape == (4, 6, 3)
    assert regressor_predict(params, x).shape == (6, 3)
    loss, grads, h_last = regressor_loss(params, x, y, many_to_one=False)
    assert loss == pytest.approx(np.mean((regressor_predict(params, x, many_to_one=False) - y) ** 2))
    assert h_last.shape == (6, 5)


# --- usable inside a checker ---------------------------------------------------------------


def test_a_checker_callback_trains_a_model_while_the_student_may_not():
    # Inside the window a checker's callback (rnnlib code) runs rnnlib's models: the guard
    # refuses only calls whose caller is outside rnnlib, such as a student's function.
    from rnnlib._guard import ReferenceUsedError, references_blocked
    from rnnlib.checks.long_sequences import _Recorder

    vocab = build_vocab(TEXT)
    inputs, targets = next(iter_chunks(batchify(vocab.encode(TEXT), 2), 10))
    params = init_char_rnn(len(vocab), 4, rng=0)
    recorder = _Recorder(len(vocab))
    with references_blocked():
        loss, _, _ = recorder(params, inputs, targets, np.zeros((2, 4)))
    assert np.isfinite(loss)
    optimizer = Adam(1e-3)
    with pytest.raises(ReferenceUsedError, match="rnnlib.training.tbptt_train"), references_blocked():
        tbptt_train(params, char_rnn_loss, [(inputs, targets)], optimizer)
