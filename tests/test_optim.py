"""Optimizers and gradient clipping (rnnlib.optim)."""
from __future__ import annotations

import numpy as np
import pytest

from rnnlib.optim import SGD, Adagrad, Adam, clip_by_global_norm, clip_by_value, global_norm


def _quadratic(rng):
    # f(p) = 0.5 * sum_k (p_k - target_k)^T A_k (p_k - target_k), A_k positive definite,
    # with differently scaled coordinates (an ill-conditioned bowl).
    shapes = {"W": (3, 4), "b": (4,)}
    targets = {k: rng.standard_normal(s) for k, s in shapes.items()}
    scales = {k: np.exp(rng.uniform(-1, 1, size=s)) for k, s in shapes.items()}

    def loss_and_grads(p):
        diff = {k: p[k] - targets[k] for k in p}
        loss = 0.5 * sum(float(np.sum(scales[k] * diff[k] ** 2)) for k in p)
        return loss, {k: scales[k] * diff[k] for k in p}

    params = {k: rng.standard_normal(s) for k, s in shapes.items()}
    return params, loss_and_grads


@pytest.mark.parametrize("make", [lambda: SGD(0.1), lambda: Adagrad(0.5), lambda: Adam(0.05)],
                         ids=["SGD", "Adagrad", "Adam"])
def test_optimizers_decrease_a_quadratic(make):
    params, loss_and_grads = _quadratic(np.random.default_rng(0))
    opt = make()
    start = loss_and_grads(params)[0]
    arrays = {k: v for k, v in params.items()}
    for _ in range(300):
        _, grads = loss_and_grads(params)
        opt.step(params, grads)
    end = loss_and_grads(params)[0]
    assert end < 1e-3 * start
    # Updated in place: the dict still holds the very same arrays.
    assert all(params[k] is arrays[k] for k in params)


def test_sgd_step_is_minus_lr_times_gradient():
    p = {"w": np.array([1.0, -2.0])}
    SGD(0.5).step(p, {"w": np.array([2.0, 4.0])})
    np.testing.assert_allclose(p["w"], [0.0, -4.0])


def test_adam_first_step_moves_each_weight_by_lr():
    # Bias correction makes the first step lr * g / |g| = lr * sign(g), whatever |g| is.
    p = {"w": np.zeros(3), "v": np.ones(2)}
    Adam(0.01).step(p, {"w": np.array([0.02, -5.0, 200.0]), "v": np.array([0.5, -0.5])})
    np.testing.assert_allclose(p["w"], [-0.01, 0.01, -0.01], rtol=1e-6)
    np.testing.assert_allclose(p["v"], [0.99, 1.01], rtol=1e-6)


def test_adagrad_matches_its_formula_over_two_steps():
    p = {"w": np.array([1.0])}
    opt = Adagrad(0.1, eps=0.0)
    opt.step(p, {"w": np.array([3.0])})
    opt.step(p, {"w": np.array([4.0])})
    expected = 1.0 - 0.1 * 3 / 3 - 0.1 * 4 / 5
    np.testing.assert_allclose(p["w"], [expected])


def test_optimizer_state_is_kept_per_key():
    # A key that first appears later starts its own Adam bias correction at t = 1.
    opt = Adam(0.1)
    p = {"a": np.zeros(1), "b": np.zeros(1)}
    for _ in range(5):
        opt.step(p, {"a": np.ones(1)})
    assert p["b"][0] == 0.0  # never received a gradient: untouched
    opt.step(p, {"b": np.ones(1)})
    np.testing.assert_allclose(p["b"], [-0.1], rtol=1e-6)
    assert opt.t == {"a": 5, "b": 1}


def test_global_norm_is_the_norm_of_everything_flattened():
    rng = np.random.default_rng(0)
    g = {"a": rng.standard_normal((3, 2)), "b": rng.standard_normal(5)}
    flat = np.concatenate([g["a"].ravel(), g["b"]])
    assert global_norm(g) == pytest.approx(np.linalg.norm(flat), rel=1e-12)


@pytest.mark.parametrize("max_norm", [0.1, 1.0, 100.0])
def test_clip_by_global_norm_bounds_the_norm_and_keeps_the_direction(max_norm):
    rng = np.random.default_rng(1)
    g = {"a": rng.standard_normal((3, 2)) * 3, "b": rng.standard_normal(5)}
    before = {k: v.copy() for k, v in g.items()}
    clipped, norm = clip_by_global_norm(g, max_norm)
    assert norm == pytest.approx(global_norm(before))
    assert global_norm(clipped) <= max_norm * (1 + 1e-12)
    # Same direction: one common positive factor for every entry of every key.
    factor = min(1.0, max_norm / norm)
    for k in g:
        np.testing.assert_allclose(clipped[k], before[k] * factor, rtol=1e-12)
        np.testing.assert_array_equal(g[k], before[k])  # inputs untouched
        assert clipped[k] is not g[k]
    if norm <= max_norm:
        assert global_norm(clipped) == pytest.approx(norm)


def test_clip_by_value_bounds_every_entry_and_may_turn_the_direction():
    g = {"a": np.array([-5.0, 0.5, 3.0]), "b": np.array([[0.1, -0.2]])}
    clipped = clip_by_value(g, 1.0)
    np.testing.assert_array_equal(clipped["a"], [-1.0, 0.5, 1.0])
    np.testing.assert_array_equal(clipped["b"], g["b"])
    assert all(np.all(np.abs(v) <= 1.0) for v in clipped.values())
    np.testing.assert_array_equal(g["a"], [-5.0, 0.5, 3.0])  # inputs untouched
    # Unlike global-norm clipping, the result is no longer parallel to the input.
    a, c = g["a"], clipped["a"]
    cos = a @ c / (np.linalg.norm(a) * np.linalg.norm(c))
    assert cos < 1 - 1e-3


def test_clip_by_global_norm_is_a_reference_for_students():
    from rnnlib._guard import reference_functions

    assert reference_functions()[id(clip_by_global_norm.__code__)] == "rnnlib.optim.clip_by_global_norm"
