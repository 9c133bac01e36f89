"""The chapter 5 checkers pass correct code and name the problem in wrong code."""
import numpy as np
import pytest

from rnnlib import dynamics, optim
from rnnlib.checks.long_sequences import _train_tbptt
from rnnlib.checks import (
    CheckFailed,
    check_clip_by_global_norm,
    check_gradient_norm_vs_lag,
    check_step_jacobian,
    check_train_tbptt,
)


# ---- step_jacobian -----------------------------------------------------------------------------

def jac(bug=None):
    def step_jacobian(x_t, h_prev, Wxh, Whh, bh):
        z = Wxh @ x_t + Whh @ h_prev + bh
        h_t = np.tanh(z)
        if bug == "no_slope":
            return Whh.copy()
        if bug == "transpose":
            return ((1 - h_t**2)[:, None] * Whh).T
        if bug == "prev":
            return (1 - h_prev**2)[:, None] * Whh
        if bug == "z":
            return (1 - z**2)[:, None] * Whh
        return np.diag(1 - h_t**2) @ Whh

    return step_jacobian


def test_correct_step_jacobian_passes():
    check_step_jacobian(jac())
    check_step_jacobian(jac(), hidden=True)


def test_step_jacobian_matches_finite_differences():
    from rnnlib.gradcheck import numerical_gradient

    rng = np.random.default_rng(0)
    H, D = 4, 3
    h, x = rng.standard_normal(H), rng.standard_normal(D)
    Wxh, Whh, bh = rng.standard_normal((H, D)), rng.standard_normal((H, H)), rng.standard_normal(H)
    J = dynamics.step_jacobian(x, h, Wxh, Whh, bh)
    for i in range(H):
        row = numerical_gradient(lambda hp: np.tanh(Wxh @ x + Whh @ hp + bh)[i], h.copy())
        assert np.abs(row - J[i]).max() < 1e-8


@pytest.mark.parametrize(
    "bug, words",
    [("no_slope", "Whh alone"), ("transpose", "transpose"), ("prev", "slope at h_prev"), ("z", "pre-activation")],
)
def test_wrong_step_jacobian_is_named(bug, words):
    with pytest.raises(CheckFailed, match=words):
        check_step_jacobian(jac(bug))


# ---- gradient_norm_vs_lag ------------------------------------------------------------------------

def lag(bug=None):
    def gradient_norm_vs_lag(x, h0, Wxh, Whh, bh, dh_T):
        T = x.shape[0]
        states = [h0]
        for t in range(T):
            states.append(np.tanh(x[t] @ Wxh.T + states[-1] @ Whh.T + bh))
        norms = [np.linalg.norm(dh_T)]
        dh = dh_T
        for t in range(T, 0, -1):
            if bug == "no_slope":
                dh = dh @ Whh
            elif bug == "transpose":
                dh = (dh * (1 - states[t] ** 2)) @ Whh.T
            elif bug == "prev":
                dh = (dh * (1 - states[t - 1] ** 2)) @ Whh
            else:
                dh = (dh * (1 - states[t] ** 2)) @ Whh
            norms.append(np.linalg.norm(dh))
        norms = np.array(norms)
        if bug == "short":
            return norms[:-1]
        if bug == "reversed":
            return norms[::-1]
        return norms

    return gradient_norm_vs_lag


def test_correct_gradient_norm_vs_lag_passes():
    check_gradient_norm_vs_lag(lag())
    check_gradient_norm_vs_lag(lag(), hidden=True)


def test_reference_norm_vs_lag_equals_bptt_on_h0():
    # norms[T] is the norm of dh0 from rnn_backward when only the last state gets a gradient.
    from rnnlib import rnn_backward, rnn_forward

    rng = np.random.default_rng(3)
    T, B, D, H = 7, 2, 3, 4
    x, h0 = rng.standard_normal((T, B, D)), rng.standard_normal((B, H))
    Wxh, Whh, bh = rng.standard_normal((H, D)), rng.standard_normal((H, H)) * 0.5, rng.standard_normal(H)
    dh_T = rng.standard_normal((B, H))
    norms = dynamics.gradient_norm_vs_lag(x, h0, Wxh, Whh, bh, dh_T)
    _, cache = rnn_forward(x, h0, Wxh, Whh, bh)
    dhs = np.zeros((T, B, H))
    dhs[-1] = dh_T
    dh0 = rnn_backward(dhs, cache)[1]
    assert abs(norms[-1] - np.linalg.norm(dh0)) < 1e-12 * max(1, norms[-1])


@pytest.mark.parametrize(
    "bug, words",
    [
        ("no_slope", "derivative"),
        ("transpose", "Whh.T"),
        ("prev", "h_\\(t-1\\)"),
        ("short", "T \\+ 1"),
        ("reversed", "reversed"),
    ],
)
def test_wrong_gradient_norm_vs_lag_is_named(bug, words):
    with pytest.raises(CheckFailed, match=words):
        check_gradient_norm_vs_lag(lag(bug))


# ---- clip_by_global_norm -------------------------------------------------------------------------

def clip(bug=None):
    def clip_by_global_norm(grads, max_norm):
        n = np.sqrt(sum(np.sum(g * g) for g in grads.values()))
        if bug == "per_array":
            return {k: g * min(1, max_norm / np.linalg.norm(g)) for k, g in grads.items()}, n
        if bug == "value":
            return {k: np.clip(g, -max_norm, max_norm) for k, g in grads.items()}, n
        if bug == "always":
            return {k: g * max_norm / n for k, g in grads.items()}, n
        if bug == "inplace":
            if n > max_norm:
                for g in grads.values():
                    g *= max_norm / n
            return grads, n
        s = max_norm / n if n > max_norm else 1.0
        out = {k: g * s for k, g in grads.items()}
        if bug == "norm_after":
            return out, min(n, max_norm)
        return out, n

    return clip_by_global_norm


def test_correct_clip_passes():
    check_clip_by_global_norm(clip())
    check_clip_by_global_norm(clip(), hidden=True)


@pytest.mark.parametrize(
    "bug, words",
    [
        ("per_array", "its own norm"),
        ("value", "clipping by value"),
        ("always", "already below"),
        ("inplace", "in place"),
        ("norm_after", "norm after clipping"),
    ],
)
def test_wrong_clip_is_named(bug, words):
    with pytest.raises(CheckFailed, match=words):
        check_clip_by_global_norm(clip(bug))


def test_rnnlib_clip_earns_nothing():
    with pytest.raises(CheckFailed, match="reference"):
        check_clip_by_global_norm(optim.clip_by_global_norm)


# ---- train_tbptt --------------------------------------------------------------------------------

def tbptt(bug=None):
    def train_tbptt(params, loss_fn, ids, T, B, lr, epochs=1, clip=None):
        params = {k: v.copy() for k, v in params.items()}
        L = len(ids) // B
        streams = ids[: L * B].reshape(B, L).T
        if bug == "row_major":
            streams = ids[: L * B].reshape(L, B)
        H = params["Whh"].shape[0]
        losses = []
        for _ in range(epochs):
            h = np.zeros((B, H))
            for c in range((L - 1) // T):
                inputs = streams[c * T : (c + 1) * T]
                targets = streams[c * T + 1 : (c + 1) * T + 1]
                if bug == "same_targets":
                    targets = inputs
                loss, grads, h_last = loss_fn(params, inputs, targets, np.zeros((B, H)) if bug == "reset" else h)
                if clip is not None and bug != "no_clip":
                    n = np.sqrt(sum(np.sum(g * g) for g in grads.values()))
                    if n > clip:
                        grads = {k: g * clip / n for k, g in grads.items()}
                for k in params:
                    if bug == "uphill":
                        params[k] += lr * grads[k]
                    else:
                        params[k] -= lr * grads[k]
                losses.append(loss)
                h = h_last
        return params, losses

    return train_tbptt


def test_correct_tbptt_passes():
    check_train_tbptt(tbptt())
    check_train_tbptt(tbptt(), hidden=True)


@pytest.mark.parametrize(
    "bug, words",
    [
        ("reset", "reset h at each chunk"),
        ("row_major", "contiguous piece"),
        ("same_targets", "next id"),
        ("uphill", "uphill"),
        ("no_clip", "not clipped"),
    ],
)
def test_wrong_tbptt_is_named(bug, words):
    with pytest.raises(CheckFailed, match=words):
        check_train_tbptt(tbptt(bug))


def test_reference_tbptt_is_deterministic_and_carries_state():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 5, size=80)
    params = {"Wxh": rng.standard_normal((4, 5)), "Whh": rng.standard_normal((4, 4)) * 0.5,
              "bh": np.zeros(4), "Why": rng.standard_normal((5, 4)), "by": np.zeros(5)}

    def loss_fn(p, inputs, targets, h0):
        return dynamics.rnn_loss(p, np.eye(5)[inputs], targets, h0)

    a = _train_tbptt(params, loss_fn, ids, 4, 2, 0.1)
    b = _train_tbptt(params, loss_fn, ids, 4, 2, 0.1)
    c = _train_tbptt(params, loss_fn, ids, 4, 2, 0.1, carry_state=False)
    assert a[1] == b[1]
    assert a[1][0] == c[1][0] and a[1][1] != c[1][1]


# ---- Mistakes an outside tester wrote blind (round 2), in a student's own words ----------------

@pytest.mark.parametrize("fn, mistake_id, words", [
    # tanh's slope misremembered as (1 - tanh z)**2
    (lambda x_t, h_prev, Wxh, Whh, bh: ((1 - np.tanh(Wxh @ x_t + Whh @ h_prev + bh)) ** 2)[:, None] * Whh,
     "step_jacobian/slope-squared-after-subtracting", "1 - h_t**2"),
    # np.diag(s) * Whh, entry by entry, where the matrix product belongs
    (lambda x_t, h_prev, Wxh, Whh, bh: np.diag(1 - np.tanh(Wxh @ x_t + Whh @ h_prev + bh) ** 2) * Whh,
     "step_jacobian/elementwise-diag", "diag(s) @ Whh"),
])
@pytest.mark.parametrize("hidden", [False, True])
def test_blind_tester_jacobian_mistakes_are_named(fn, mistake_id, words, hidden):
    with pytest.raises(CheckFailed) as err:
        check_step_jacobian(fn, hidden=hidden)
    assert err.value.mistake_id == mistake_id, str(err.value)
    assert words in str(err.value)
