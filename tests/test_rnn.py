"""rnnlib's core: shapes, the formula, and that importing it stays light."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import rnnlib
import rnnlib.rnn as rnn_mod
from rnnlib import rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward


def _params(rng, D, H):
    return rng.standard_normal((H, D)), rng.standard_normal((H, H)) * 0.5, rng.standard_normal(H)


def test_import_rnnlib_loads_numpy_only():
    code = "import sys, rnnlib, rnnlib.checks; print(sorted(m for m in ('matplotlib','torch','tqdm','scipy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("T,B,D,H", [(1, 1, 1, 1), (1, 3, 4, 5), (6, 1, 3, 2), (7, 4, 5, 6)])
def test_rnn_forward_equals_repeated_steps(T, B, D, H):
    rng = np.random.default_rng(T * 100 + B)
    x, h0 = rng.standard_normal((T, B, D)), rng.standard_normal((B, H))
    Wxh, Whh, bh = _params(rng, D, H)
    hs, _ = rnn_forward(x, h0, Wxh, Whh, bh)
    assert hs.shape == (T, B, H)
    h = h0
    for t in range(T):
        h, _ = rnn_step_forward(x[t], h, Wxh, Whh, bh)
        np.testing.assert_allclose(hs[t], h, rtol=1e-12, atol=1e-12)


def test_rnn_step_matches_the_column_vector_formula():
    rng = np.random.default_rng(0)
    D, H = 3, 4
    Wxh, Whh, bh = _params(rng, D, H)
    x, h_prev = rng.standard_normal(D), rng.standard_normal(H)
    column = np.tanh(Wxh @ x + Whh @ h_prev + bh)
    batched, _ = rnn_step_forward(x[None], h_prev[None], Wxh, Whh, bh)
    np.testing.assert_allclose(batched[0], column, rtol=1e-13)


def test_rnn_backward_is_the_sum_of_step_backwards_over_time():
    rng = np.random.default_rng(1)
    T, B, D, H = 5, 3, 4, 6
    x, h0 = rng.standard_normal((T, B, D)), rng.standard_normal((B, H))
    Wxh, Whh, bh = _params(rng, D, H)
    dhs = rng.standard_normal((T, B, H))
    hs, cache = rnn_forward(x, h0, Wxh, Whh, bh)
    dx, dh0, dWxh, dWhh, dbh = rnn_backward(dhs, cache)

    hs_prev = np.concatenate([h0[None], hs[:-1]])
    sums = [np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros_like(bh)]
    dh_next = np.zeros((B, H))
    for t in reversed(range(T)):
        _, step_cache = rnn_step_forward(x[t], hs_prev[t], Wxh, Whh, bh)
        dx_t, dh_next, *dw = rnn_step_backward(dhs[t] + dh_next, step_cache)
        np.testing.assert_allclose(dx[t], dx_t, rtol=1e-10, atol=1e-12)
        for s, g in zip(sums, dw):
            s += g  # weight sharing: the same matrix collects a gradient at every step
    np.testing.assert_allclose(dh0, dh_next, rtol=1e-10, atol=1e-12)
    for got, want in zip((dWxh, dWhh, dbh), sums):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_float32_inputs_stay_float32():
    rng = np.random.default_rng(2)
    T, B, D, H = 4, 2, 3, 5
    args = [a.astype(np.float32) for a in (rng.standard_normal((T, B, D)), rng.standard_normal((B, H)), *_params(rng, D, H))]
    hs, cache = rnn_forward(*args)
    assert hs.dtype == np.float32
    assert all(g.dtype == np.float32 for g in rnn_backward(np.ones_like(hs), cache))


def test_public_api_is_exported():
    for name in ("rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
                 "output_forward", "output_backward", "softmax_cross_entropy", "mse", "rel_error"):
        assert callable(getattr(rnnlib, name))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tanh_via_exp_is_tanh_to_two_eps_everywhere(dtype):
    # A dense grid through the curved part, both tails on a log scale (tiny values, where the
    # identity's error is absolute, and huge ones, where exp overflows), and the special values.
    tiny = np.logspace(-30, 3, 4001)
    z = np.concatenate([np.linspace(-20, 20, 400_001), tiny, -tiny,
                        [0.0, -0.0, 1e30, -1e30, np.inf, -np.inf]]).astype(dtype)
    exact = np.tanh(z.astype(np.float64))
    work = z.copy()
    with np.errstate(all="raise"):  # the overflow of exp(2 z) must not leak out as a warning
        got = rnn_mod._tanh_via_exp(work)
    assert got is work and got.dtype == dtype
    assert np.max(np.abs(got - exact)) <= 2 * np.finfo(dtype).eps
    assert np.isnan(rnn_mod._tanh_via_exp(np.array([np.nan], dtype=dtype)))[0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tanh_in_place_overwrites_its_argument_with_tanh(dtype):
    z = np.linspace(-5, 5, 101).astype(dtype)
    want = np.tanh(z)
    got = rnn_mod.tanh_in_place(z)
    assert got is z and got.dtype == dtype
    np.testing.assert_allclose(got, want, rtol=0, atol=2 * np.finfo(dtype).eps)
