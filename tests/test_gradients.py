"""The shared gradient battery: every backward in rnnlib against central differences (float64).

One check (``rnnlib.gradcheck.check_backward``) for every forward/backward pair, and
``numerical_gradient`` for every loss that returns its own gradients. Shapes are random
but include the edges ``T = 1`` and ``B = 1``; every relative error must be below 1e-7.
"""
from __future__ import annotations

import zlib

import numpy as np
import pytest

from rnnlib.charlm import char_rnn_loss, init_char_rnn
from rnnlib.gradcheck import RTOL, check_backward, numerical_gradient, rel_error
from rnnlib.layers import output_backward, output_forward
from rnnlib.losses import mse, softmax_cross_entropy
from rnnlib.lstm import (
    lstm_backward,
    lstm_forward,
    lstm_step_backward,
    lstm_step_forward,
)
from rnnlib.params import init_rnn_params
from rnnlib.regressor import init_regressor, regressor_loss
from rnnlib.rnn import rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward

# (T, B, D, H): the edges T=1 and B=1, and a couple of ordinary shapes with D != H.
SHAPES = [(1, 1, 2, 3), (1, 3, 4, 2), (4, 1, 3, 5), (5, 3, 2, 4)]


def _assert_all_small(errors, what):
    assert errors, f"{what}: nothing was checked"
    bad = {k: v for k, v in errors.items() if not v < RTOL}
    assert not bad, f"{what}: relative errors above {RTOL}: {bad}"


def _rng(*key):
    # A fixed seed per test case (str hashes are salted per process, crc32 is not).
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


@pytest.mark.parametrize("T,B,D,H", SHAPES)
def test_rnn_step_backward_matches_finite_differences(T, B, D, H):
    rng = _rng("step", T, B, D, H)
    args = [rng.standard_normal((B, D)), rng.standard_normal((B, H)),
            rng.standard_normal((H, D)), rng.standard_normal((H, H)) * 0.5,
            rng.standard_normal(H)]
    errors = check_backward(rnn_step_forward, rnn_step_backward, args, rng)
    assert set(errors) == {"x_t", "h_prev", "Wxh", "Whh", "bh"}
    _assert_all_small(errors, "rnn_step_backward")


@pytest.mark.parametrize("T,B,D,H", SHAPES)
def test_rnn_backward_matches_finite_differences(T, B, D, H):
    rng = _rng("seq", T, B, D, H)
    args = [rng.standard_normal((T, B, D)), rng.standard_normal((B, H)),
            rng.standard_normal((H, D)), rng.standard_normal((H, H)) * 0.5,
            rng.standard_normal(H)]
    errors = check_backward(rnn_forward, rnn_backward, args, rng)
    assert set(errors) == {"x", "h0", "Wxh", "Whh", "bh"}
    _assert_all_small(errors, "rnn_backward")


@pytest.mark.parametrize("T,B,D,H", SHAPES)
def test_output_backward_matches_finite_differences(T, B, D, H):
    rng = _rng("out", T, B, D, H)
    O = D + 1
    args = [rng.standard_normal((T, B, H)), rng.standard_normal((O, H)), rng.standard_normal(O)]
    errors = check_backward(output_forward, output_backward, args, rng)
    assert set(errors) == {"hs", "Why", "by"}
    _assert_all_small(errors, "output_backward")


@pytest.mark.parametrize("T,B,D,H", SHAPES)
def test_lstm_step_backward_matches_finite_differences(T, B, D, H):
    rng = _rng("lstm_step", T, B, D, H)
    args = [rng.standard_normal((B, D)), rng.standard_normal((B, H)),
            rng.standard_normal((B, H)), rng.standard_normal((4 * H, D)),
            rng.standard_normal((4 * H, H)) * 0.5, rng.standard_normal(4 * H)]
    # The step returns (h_t, c_t): check_backward pushes a random gradient into both.
    errors = check_backward(lstm_step_forward, lstm_step_backward, args, rng)
    assert set(errors) == {"x_t", "h_prev", "c_prev", "Wx", "Wh", "b"}
    _assert_all_small(errors, "lstm_step_backward")


@pytest.mark.parametrize("T,B,D,H", SHAPES)
def test_lstm_backward_matches_finite_differences(T, B, D, H):
    rng = _rng("lstm_seq", T, B, D, H)
    args = [rng.standard_normal((T, B, D)), rng.standard_normal((B, H)),
            rng.standard_normal((B, H)), rng.standard_normal((4 * H, D)),
            rng.standard_normal((4 * H, H)) * 0.5, rng.standard_normal(4 * H)]
    errors = check_backward(lstm_forward, lstm_backward, args, rng)
    assert set(errors) == {"x", "h0", "c0", "Wx", "Wh", "b"}
    _assert_all_small(errors, "lstm_backward")


@pytest.mark.parametrize("T,B,V", [(1, 1, 3), (3, 2, 5), (4, 1, 2)])
@pytest.mark.parametrize("masked", [False, True])
def test_softmax_cross_entropy_gradient_matches_finite_differences(T, B, V, masked):
    rng = _rng("sce", T, B, V, masked)
    logits = rng.standard_normal((T, B, V)) * 2
    targets = rng.integers(0, V, size=(T, B))
    mask = None
    if masked:
        mask = rng.random((T, B)) < 0.6
        mask.flat[0] = True  # at least one position counts
    loss, dlogits = softmax_cross_entropy(logits, targets, mask)
    num = numerical_gradient(lambda z: softmax_cross_entropy(z, targets, mask)[0], logits)
    assert rel_error(dlogits, num) < RTOL
    if masked:
        # Positions that do not count get no gradient at all.
        assert np.all(dlogits[~mask] == 0.0)


@pytest.mark.parametrize("shape", [(1, 1, 1), (3, 2, 4), (5, 3)])
@pytest.mark.parametrize("masked", [False, True])
def test_mse_gradient_matches_finite_differences(shape, masked):
    rng = _rng("mse", shape, masked)
    preds, targets = rng.standard_normal(shape), rng.standard_normal(shape)
    mask = None
    if masked:
        mask = rng.random(shape) < 0.5
        mask.flat[0] = True
    loss, dpreds = mse(preds, targets, mask)
    num = numerical_gradient(lambda p: mse(p, targets, mask)[0], preds)
    assert rel_error(dpreds, num) < RTOL


def _check_loss_grads(loss_fn, params):
    loss, grads, _ = loss_fn(params)
    assert set(grads) == set(params)
    errors = {}
    for k in params:
        assert grads[k].shape == params[k].shape, k
        num = numerical_gradient(lambda _: loss_fn(params)[0], params[k])
        errors[k] = rel_error(grads[k], num)
    return errors


@pytest.mark.parametrize("T,B,V,H", [(1, 1, 4, 3), (4, 1, 5, 3), (3, 3, 4, 5)])
def test_char_rnn_loss_gradient_matches_finite_differences(T, B, V, H):
    rng = _rng("char", T, B, V, H)
    params = init_char_rnn(V, H, rng)
    params["bh"] += rng.standard_normal(H) * 0.1  # nonzero biases exercise every term
    params["by"] += rng.standard_normal(V) * 0.1
    inputs = rng.integers(0, V, size=(T, B))
    targets = rng.integers(0, V, size=(T, B))
    h0 = rng.standard_normal((B, H)) * 0.5
    errors = _check_loss_grads(lambda p: char_rnn_loss(p, inputs, targets, h0), params)
    _assert_all_small(errors, "char_rnn_loss")


@pytest.mark.parametrize("T,B,V,H", [(1, 1, 4, 3), (3, 2, 5, 2)])
@pytest.mark.parametrize("masked", [False, True])
def test_char_rnn_loss_with_mask_and_two_vocabularies_matches_finite_differences(T, B, V, H, masked):
    # The copy-memory setting: V_in = V + 1 input symbols, V outputs, a mask on the answer.
    rng = _rng("char_mask", T, B, V, H, masked)
    params = init_rnn_params(V + 1, H, V, rng)
    inputs = rng.integers(0, V + 1, size=(T, B))
    targets = rng.integers(0, V, size=(T, B))
    mask = None
    if masked:
        mask = np.zeros((T, B), dtype=bool)
        mask[-1] = True
    errors = _check_loss_grads(lambda p: char_rnn_loss(p, inputs, targets, None, mask), params)
    _assert_all_small(errors, "char_rnn_loss with mask")


@pytest.mark.parametrize("T,B,V,H", [(1, 1, 3, 2), (4, 2, 4, 3)])
def test_lstm_char_model_gradient_matches_finite_differences(T, B, V, H):
    rng = _rng("lstm_char", T, B, V, H)
    params = init_char_rnn(V, H, rng, cell="lstm")
    inputs = rng.integers(0, V, size=(T, B))
    targets = rng.integers(0, V, size=(T, B))
    state = (rng.standard_normal((B, H)) * 0.5, rng.standard_normal((B, H)) * 0.5)
    errors = _check_loss_grads(lambda p: char_rnn_loss(p, inputs, targets, state), params)
    _assert_all_small(errors, "char_rnn_loss with an LSTM")


@pytest.mark.parametrize("T,B,D,H,O", [(1, 1, 2, 3, 1), (5, 2, 1, 4, 2), (3, 1, 3, 3, 3)])
@pytest.mark.parametrize("many_to_one", [True, False])
def test_regressor_loss_gradient_matches_finite_differences(T, B, D, H, O, many_to_one):
    rng = _rng("reg", T, B, D, H, O, many_to_one)
    params = init_regressor(D, H, O, rng)
    params["bh"] += rng.standard_normal(H) * 0.1
    x = rng.standard_normal((T, B, D))
    y = rng.standard_normal((B, O) if many_to_one else (T, B, O))
    h0 = rng.standard_normal((B, H)) * 0.5
    errors = _check_loss_grads(lambda p: regressor_loss(p, x, y, h0, many_to_one), params)
    _assert_all_small(errors, f"regressor_loss(many_to_one={many_to_one})")


@pytest.mark.parametrize("T,B,D,H", SHAPES)
def test_rnn_backward_is_the_sum_of_step_backwards_over_time(T, B, D, H):
    # Weight sharing: the sequence's weight gradients are the per-step gradients summed.
    rng = _rng("sum", T, B, D, H)
    x, h0 = rng.standard_normal((T, B, D)), rng.standard_normal((B, H))
    Wxh, Whh, bh = rng.standard_normal((H, D)), rng.standard_normal((H, H)) * 0.5, rng.standard_normal(H)
    dhs = rng.standard_normal((T, B, H))
    hs, cache = rnn_forward(x, h0, Wxh, Whh, bh)
    dx, dh0, dWxh, dWhh, dbh = rnn_backward(dhs, cache)

    caches, h = [], h0
    for t in range(T):
        h, c = rnn_step_forward(x[t], h, Wxh, Whh, bh)
        caches.append(c)
    sums = [np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros_like(bh)]
    dx_loop = np.zeros_like(x)
    dh_next = np.zeros((B, H))
    for t in reversed(range(T)):
        dx_loop[t], dh_next, *dW = rnn_step_backward(dhs[t] + dh_next, caches[t])
        for s, d in zip(sums, dW):
            s += d
    for got, want in zip((dx, dh0, dWxh, dWhh, dbh), (dx_loop, dh_next, *sums)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_gradient_check_refuses_float32():
    rng = np.random.default_rng(0)
    x32 = rng.standard_normal((2, 3)).astype(np.float32)
    with pytest.raises(TypeError, match="float64"):
        numerical_gradient(lambda z: float(np.sum(z**2)), x32)
    args = [rng.standard_normal((2, 3)).astype(np.float32), rng.standard_normal((2, 4)),
            rng.standard_normal((4, 3)), rng.standard_normal((4, 4)), rng.standard_normal(4)]
    with pytest.raises(TypeError, match="float64"):
        check_backward(rnn_step_forward, rnn_step_backward, args, 0)


def test_gradient_check_catches_a_wrong_backward():
    # A battery that cannot fail is no battery: a transposed dWhh must be caught.
    def bad_backward(dh, cache):
        dx, dh_prev, dWxh, dWhh, dbh = rnn_step_backward(dh, cache)
        return dx, dh_prev, dWxh, dWhh.T, dbh

    rng = np.random.default_rng(1)
    args = [rng.standard_normal((3, 2)), rng.standard_normal((3, 4)),
            rng.standard_normal((4, 2)), rng.standard_normal((4, 4)), rng.standard_normal(4)]
    errors = check_backward(rnn_step_forward, bad_backward, args, rng)
    assert errors["Whh"] > 1e-3 and errors["Wxh"] < RTOL
