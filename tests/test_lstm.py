"""The LSTM (rnnlib.lstm): layout, gates, the step/sequence agreement and the cell path.

Gradients are checked in tests/test_gradients.py and against PyTorch in
tests/test_torch_crosscheck.py.
"""
from __future__ import annotations

import numpy as np
import pytest

from rnnlib.charlm import char_rnn_loss, init_char_rnn
from rnnlib.lstm import (
    lstm_backward,
    lstm_forward,
    lstm_step_backward,
    lstm_step_forward,
    sigmoid,
)


def _args(rng, T, B, D, H):
    return (rng.standard_normal((T, B, D)), rng.standard_normal((B, H)),
            rng.standard_normal((B, H)), rng.standard_normal((4 * H, D)) * 0.5,
            rng.standard_normal((4 * H, H)) * 0.5, rng.standard_normal(4 * H))


def test_sigmoid_is_stable_and_correct():
    z = np.array([-1000.0, -5.0, 0.0, 5.0, 1000.0])
    with np.errstate(all="raise"):
        s = sigmoid(z)
    np.testing.assert_allclose(s[1:4], 1 / (1 + np.exp(-z[1:4])), rtol=1e-14)
    assert s[0] == 0.0 and s[-1] == 1.0


def test_lstm_model_params_shapes_and_forget_bias():
    from rnnlib.regressor import init_regressor

    p = init_regressor(3, 5, 2, rng=0, cell="lstm")
    assert p["Wx"].shape == (20, 3) and p["Wh"].shape == (20, 5) and p["b"].shape == (20,)
    assert p["Why"].shape == (2, 5) and p["by"].shape == (2,)
    np.testing.assert_array_equal(p["b"][5:10], 1.0)  # forget gate: rows H..2H
    np.testing.assert_array_equal(np.delete(p["b"], np.s_[5:10]), 0.0)
    q = init_regressor(3, 5, 2, rng=0, cell="lstm")
    assert all(np.array_equal(p[k], q[k]) for k in p)


def test_lstm_step_follows_the_gate_order_i_f_g_o():
    # Write the equations out gate by gate, slicing the stacked weights in the order i, f, g, o.
    rng = np.random.default_rng(0)
    B, D, H = 3, 4, 2
    x, h, c = rng.standard_normal((B, D)), rng.standard_normal((B, H)), rng.standard_normal((B, H))
    Wx, Wh, b = rng.standard_normal((4 * H, D)), rng.standard_normal((4 * H, H)), rng.standard_normal(4 * H)
    blk = [slice(k * H, (k + 1) * H) for k in range(4)]
    pre = [x @ Wx[s].T + h @ Wh[s].T + b[s] for s in blk]
    i, f, g, o = sigmoid(pre[0]), sigmoid(pre[1]), np.tanh(pre[2]), sigmoid(pre[3])
    c_want = f * c + i * g
    h_want = o * np.tanh(c_want)
    (h_t, c_t), _ = lstm_step_forward(x, h, c, Wx, Wh, b)
    np.testing.assert_allclose(c_t, c_want, rtol=1e-13)
    np.testing.assert_allclose(h_t, h_want, rtol=1e-13)


@pytest.mark.parametrize("T,B,D,H", [(1, 1, 1, 1), (1, 3, 2, 4), (5, 1, 3, 2), (6, 4, 3, 5)])
def test_lstm_forward_and_backward_equal_repeated_steps(T, B, D, H):
    rng = np.random.default_rng(T * 10 + B)
    x, h0, c0, Wx, Wh, b = _args(rng, T, B, D, H)
    hs, cache = lstm_forward(x, h0, c0, Wx, Wh, b)
    assert hs.shape == (T, B, H)

    h, c, caches = h0, c0, []
    for t in range(T):
        (h, c), step_cache = lstm_step_forward(x[t], h, c, Wx, Wh, b)
        np.testing.assert_allclose(hs[t], h, rtol=1e-13, atol=1e-15)
        caches.append(step_cache)
    np.testing.assert_allclose(cache.cs[-1], c, rtol=1e-13, atol=1e-15)

    dhs = rng.standard_normal((T, B, H))
    dx, dh0, dc0, dWx, dWh, db = lstm_backward(dhs, cache)
    dx_loop = np.zeros_like(x)
    dWs = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
    dh, dc = np.zeros((B, H)), np.zeros((B, H))
    for t in reversed(range(T)):
        dx_loop[t], dh, dc, *dW = lstm_step_backward((dhs[t] + dh, dc), caches[t])
        for s, d in zip(dWs, dW):
            s += d  # weight sharing: per-step gradients add up
    for got, want in zip((dx, dh0, dc0, dWx, dWh, db), (dx_loop, dh, dc, *dWs)):
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-13)


def test_lstm_cell_keeps_its_value_when_forget_is_open_and_input_closed():
    # With f = 1 and i = 0 (saturated biases) the cell carries c0 unchanged for T steps,
    # and its gradient flows back undiminished: the point of the LSTM.
    rng = np.random.default_rng(0)
    T, B, D, H = 50, 2, 3, 4
    x = rng.standard_normal((T, B, D))
    h0, c0 = np.zeros((B, H)), rng.standard_normal((B, H))
    Wx, Wh = np.zeros((4 * H, D)), np.zeros((4 * H, H))
    b = np.zeros(4 * H)
    b[:H] = -50.0  # input gate shut
    b[H:2 * H] = 50.0  # forget gate open
    hs, cache = lstm_forward(x, h0, c0, Wx, Wh, b)
    np.testing.assert_allclose(cache.cs[-1], c0, rtol=1e-12)
    dhs = np.zeros((T, B, H))
    dhs[-1] = 1.0
    _, _, dc0, *_ = lstm_backward(dhs, cache)
    # dh_T/dc_0 = o * (1 - tanh(c)^2) with o = sigmoid(0) = 1/2, the same after 50 steps.
    np.testing.assert_allclose(dc0, 0.5 * (1 - np.tanh(c0) ** 2), rtol=1e-10)


def test_lstm_forward_does_not_modify_its_inputs():
    rng = np.random.default_rng(3)
    args = _args(rng, 4, 2, 3, 2)
    copies = [a.copy() for a in args]
    hs, cache = lstm_forward(*args)
    lstm_backward(np.ones_like(hs), cache)
    for a, c in zip(args, copies):
        np.testing.assert_array_equal(a, c)


def test_lstm_char_model_learns_a_recall_across_chunks_with_tbptt():
    # The character model's loss takes an LSTM's parameters too, with state = (h, c), so the
    # generic truncated-BPTT loop trains it and carries both states.
    from rnnlib.data import batchify, iter_chunks
    from rnnlib.optim import Adam
    from rnnlib.training import tbptt_train

    rng = np.random.default_rng(0)
    s = rng.integers(1, 3, 2000)
    seg = np.zeros((2000, 5), dtype=np.int64)
    seg[:, 0] = seg[:, 4] = s  # "s . . . s"
    streams = batchify(seg.ravel(), 16)
    params = init_char_rnn(3, 16, rng=1, cell="lstm")
    chunks = [c for _ in range(2) for c in iter_chunks(streams, 6, drop_last=True)]
    hist = tbptt_train(params, char_rnn_loss, chunks, Adam(2e-2), clip=5.0)
    # ln 2 / 5 = 0.139 nats is the floor (the new symbol of each segment is a coin flip).
    assert np.mean(hist["loss"][-40:]) < 0.25
