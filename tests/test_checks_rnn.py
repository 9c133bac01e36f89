"""The RNN checkers: a correct function passes; each plausible mistake fails with a message that
names it."""
from __future__ import annotations

import numpy as np
import pytest

import rnnlib
from rnnlib.checks import (
    CheckFailed,
    check_rnn_backward,
    check_rnn_forward,
    check_rnn_step_backward,
    check_rnn_step_forward,
)

from tests.students import unguarded

# The references as a student who wrote them would: correct code that the guard lets run.
step_ref = unguarded(rnnlib.rnn_step_forward)
step_back_ref = unguarded(rnnlib.rnn_step_backward)
forward_ref = unguarded(rnnlib.rnn_forward)
backward_ref = unguarded(rnnlib.rnn_backward)


def _fails(check, *fns, words):
    with pytest.raises(CheckFailed) as err:
        check(*fns)
    msg = str(err.value)
    for w in words:
        assert w.lower() in msg.lower(), f"{w!r} not in message: {msg}"
    return msg


# --- rnn_step_forward -------------------------------------------------------------------------

def good_step(x_t, h_prev, Wxh, Whh, bh):
    h = np.tanh(x_t @ Wxh.T + h_prev @ Whh.T + bh)
    return h, (x_t, h_prev, h, Wxh, Whh)


def test_correct_step_passes_visible_and_hidden(capsys):
    check_rnn_step_forward(good_step)
    check_rnn_step_forward(good_step, hidden=True)
    assert "all checks passed" in capsys.readouterr().out


def test_step_without_bias_is_named():
    def f(x_t, h_prev, Wxh, Whh, bh):
        return np.tanh(x_t @ Wxh.T + h_prev @ Whh.T), None
    _fails(check_rnn_step_forward, f, words=["ignores the bias"])


def test_step_with_recurrent_weight_transposed_is_named():
    def f(x_t, h_prev, Wxh, Whh, bh):
        return np.tanh(x_t @ Wxh.T + h_prev @ Whh + bh), None
    _fails(check_rnn_step_forward, f, words=["Whh.T"])


def test_step_with_input_weight_untransposed_explains_the_shapes():
    def f(x_t, h_prev, Wxh, Whh, bh):
        return np.tanh(x_t @ Wxh + h_prev @ Whh.T + bh), None
    _fails(check_rnn_step_forward, f, words=["stored (H, D)", "x_t @ Wxh.T"])


def test_step_with_sigmoid_is_named():
    def f(x_t, h_prev, Wxh, Whh, bh):
        return 1 / (1 + np.exp(-(x_t @ Wxh.T + h_prev @ Whh.T + bh))), None
    _fails(check_rnn_step_forward, f, words=["sigmoid", "tanh"])


def test_step_without_nonlinearity_is_named():
    def f(x_t, h_prev, Wxh, Whh, bh):
        return x_t @ Wxh.T + h_prev @ Whh.T + bh, None
    _fails(check_rnn_step_forward, f, words=["without tanh"])


def test_step_ignoring_previous_state_is_named():
    def f(x_t, h_prev, Wxh, Whh, bh):
        return np.tanh(x_t @ Wxh.T + bh), None
    _fails(check_rnn_step_forward, f, words=["ignores the previous state"])


def test_step_returning_only_h_says_to_return_a_pair():
    def f(x_t, h_prev, Wxh, Whh, bh):
        return np.tanh(x_t @ Wxh.T + h_prev @ Whh.T + bh)
    _fails(check_rnn_step_forward, f, words=["pair", "cache"])


def test_step_in_the_column_form_says_which_shape_is_expected():
    def f(x_t, h_prev, Wxh, Whh, bh):
        h = np.tanh(x_t @ Wxh.T + h_prev @ Whh.T + bh)
        return h.T, None
    _fails(check_rnn_step_forward, f, words=["shape (H, B)", "column form", "h_t is (B, H)"])


def test_step_calling_the_reference_is_refused():
    def f(x_t, h_prev, Wxh, Whh, bh):
        return rnnlib.rnn_step_forward(x_t, h_prev, Wxh, Whh, bh)
    _fails(check_rnn_step_forward, f, words=["reference", "yourself"])


def test_step_not_written_raises_not_implemented():
    def f(x_t, h_prev, Wxh, Whh, bh):
        raise NotImplementedError()
    with pytest.raises(NotImplementedError):
        check_rnn_step_forward(f)


def test_replacing_numpy_comparisons_does_not_fool_the_checker(monkeypatch):
    monkeypatch.setattr(np, "allclose", lambda *a, **k: True)
    monkeypatch.setattr(np.testing, "assert_allclose", lambda *a, **k: None)
    def f(x_t, h_prev, Wxh, Whh, bh):
        return np.zeros((x_t.shape[0], Whh.shape[0])), None
    with pytest.raises(CheckFailed):
        check_rnn_step_forward(f)


# --- rnn_forward ------------------------------------------------------------------------------

def good_forward(x, h0, Wxh, Whh, bh):
    hs, h = [], h0
    for t in range(x.shape[0]):
        h, _ = good_step(x[t], h, Wxh, Whh, bh)
        hs.append(h)
    hs = np.stack(hs)
    return hs, (x, h0, hs, Wxh, Whh)


def test_correct_forward_passes_visible_and_hidden():
    check_rnn_forward(good_forward)
    check_rnn_forward(good_forward, hidden=True)


def test_forward_not_carrying_the_state_is_named():
    def f(x, h0, Wxh, Whh, bh):
        return np.stack([good_step(x[t], h0, Wxh, Whh, bh)[0] for t in range(x.shape[0])]), None
    _fails(check_rnn_forward, f, words=["h0", "h_prev for the next step"])


def test_forward_off_by_one_in_time_is_named():
    def f(x, h0, Wxh, Whh, bh):
        hs, h = [h0], h0
        for t in range(x.shape[0] - 1):
            h, _ = good_step(x[t], h, Wxh, Whh, bh)
            hs.append(h)
        return np.stack(hs), None
    _fails(check_rnn_forward, f, words=["shifted", "hs[0]"])


def test_forward_with_batch_and_time_swapped_reports_shape():
    def f(x, h0, Wxh, Whh, bh):
        hs, _ = good_forward(x, h0, Wxh, Whh, bh)
        return hs.transpose(1, 0, 2), None
    _fails(check_rnn_forward, f, words=["shape", "expected"])


def test_forward_names_the_first_wrong_time_step():
    def f(x, h0, Wxh, Whh, bh):
        hs, _ = good_forward(x, h0, Wxh, Whh, bh)
        hs = hs.copy()
        hs[3:] *= 0.5
        return hs, None
    _fails(check_rnn_forward, f, words=["first differs at t = 3"])


def test_forward_calling_the_reference_is_refused():
    _fails(check_rnn_forward, lambda *a: rnnlib.rnn_forward(*a), words=["implement this yourself"])


# --- backward ---------------------------------------------------------------------------------

def test_correct_backwards_pass():
    check_rnn_step_backward(step_ref, step_back_ref)
    check_rnn_step_backward(step_ref, step_back_ref, hidden=True)
    check_rnn_backward(forward_ref, backward_ref)
    check_rnn_backward(forward_ref, backward_ref, hidden=True)


def test_step_backward_with_transposed_weight_gradient_is_named():
    def bad(dh, cache):
        dx, dh_prev, dWxh, dWhh, dbh = step_back_ref(dh, cache)
        return dx, dh_prev, dWxh, dWhh.T, dbh
    _fails(check_rnn_step_backward, step_ref, bad, words=["dWhh", "transpose"])


def test_step_backward_without_tanh_derivative_is_named():
    def bad(dh, cache):
        return (dh @ cache.Wxh, dh @ cache.Whh, dh.T @ cache.x_t, dh.T @ cache.h_prev, dh.sum(0))
    _fails(check_rnn_step_backward, step_ref, bad, words=["1 - h_t**2"])


def test_step_backward_with_wrong_sign_is_named():
    def bad(dh, cache):
        dx, dh_prev, dWxh, dWhh, dbh = step_back_ref(dh, cache)
        return dx, dh_prev, dWxh, dWhh, -dbh
    _fails(check_rnn_step_backward, step_ref, bad, words=["dbh", "sign"])


def test_backward_forgetting_the_gradient_from_the_future_is_named():
    def bad(dhs, cache):
        x, h0, hs, Wxh, Whh = cache
        T = x.shape[0]
        hs_prev = np.concatenate([h0[None], hs[:-1]])
        grads = [np.zeros_like(x), None, np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros(Whh.shape[0])]
        for t in reversed(range(T)):
            dz = dhs[t] * (1 - hs[t] ** 2)  # forgets dh_next
            grads[0][t] = dz @ Wxh
            grads[1] = dz @ Whh
            grads[2] += dz.T @ x[t]
            grads[3] += dz.T @ hs_prev[t]
            grads[4] += dz.sum(0)
        return tuple(grads)
    _fails(check_rnn_backward, forward_ref, bad, words=["h_{t+1}", "last step"])


def test_gradient_check_tools_are_blocked_references_but_the_battery_still_runs():
    from rnnlib._guard import ReferenceUsedError, references_blocked
    from rnnlib.gradcheck import check_backward, numerical_gradient, rel_error

    rng = np.random.default_rng(0)
    args = [rng.standard_normal(s) for s in [(2, 3), (2, 4), (4, 3), (4, 4), (4,)]]
    with pytest.raises(ReferenceUsedError), references_blocked():
        rel_error(args[0], args[0])
    with pytest.raises(ReferenceUsedError), references_blocked():
        numerical_gradient(lambda x: float(np.sum(x)), args[0])
    errors = check_backward(step_ref, step_back_ref, args, rng=1)
    assert max(errors.values()) < 1e-7


# --- side effects ---------------------------------------------------------------------------

def test_forward_that_overwrites_h0_is_told_which_argument_it_changed():
    def f(x, h0, Wxh, Whh, bh):
        hs = []
        for x_t in x:
            h0[...] = np.tanh(x_t @ Wxh.T + h0 @ Whh.T + bh)  # writes into the caller's h0
            hs.append(h0.copy())
        return np.stack(hs), None
    msg = _fails(check_rnn_forward, f, words=["changed its argument h0", "copy"])
    assert "h0" in msg


def test_forward_returning_a_buffer_it_reuses_between_calls_is_named():
    buffers = {}

    def f(x, h0, Wxh, Whh, bh):
        hs = buffers.setdefault(x.shape[:2] + Whh.shape[:1], np.empty(x.shape[:2] + Whh.shape[:1]))
        h = h0
        for t, x_t in enumerate(x):
            h = hs[t] = np.tanh(x_t @ Wxh.T + h @ Whh.T + bh)
        return hs, (x, h0, hs, Wxh, Whh)
    _fails(check_rnn_forward, f, words=["reuses one buffer"])


def test_backward_that_edits_dhs_in_place_is_told_so():
    def bad(dhs, cache):
        grads = backward_ref(dhs.copy(), cache)  # right answer...
        dhs[:] = 0.0  # ...but the caller's upstream gradient is wiped
        return grads
    _fails(check_rnn_backward, forward_ref, bad, words=["changed its argument dhs"])


# --- generic diagnoses: arrangement of the results ---------------------------------------------

def test_outputs_returned_in_swapped_order_are_named():
    def bad(dh, cache):
        dx, dh_prev, dWxh, dWhh, dbh = step_back_ref(dh, cache)
        return dh_prev, dx, dWxh, dWhh, dbh
    _fails(check_rnn_step_backward, step_ref, bad, words=["swapped", "in this order"])


def test_an_extra_first_time_step_is_told_so_by_the_generic_diagnosis():
    from rnnlib.checks._engine import generic_diagnosis

    right = np.random.default_rng(0).standard_normal((5, 3, 4))
    got = np.concatenate([np.zeros((1, 3, 4)), right])
    mid, sentence = generic_diagnosis("hs", got, right, None, time_axis=0)
    assert mid == "generic/extra-first-step" and "one time step too many at the start" in sentence


def test_steps_left_at_zero_by_a_loop_that_stops_early_are_told_so_by_the_generic_diagnosis():
    from rnnlib.checks._engine import generic_diagnosis

    right = np.random.default_rng(0).standard_normal((5, 3, 4))
    got = right.copy()
    got[-2:] = 0.0
    mid, sentence = generic_diagnosis("hs", got, right, None, time_axis=0)
    assert mid == "generic/loop-stops-early" and "range(T)" in sentence
    ids = np.array([[3, 1, 0, 0]])  # token ids: 0 is a token here, not a step never computed
    assert generic_diagnosis("ids", ids, np.array([[3, 1, 2, 0]]), None, time_axis=1)[0] == "generic/value"


def test_forward_returning_batch_major_states_is_told_time_comes_first():
    def f(x, h0, Wxh, Whh, bh):
        hs, _ = good_forward(x, h0, Wxh, Whh, bh)
        return hs.transpose(1, 0, 2).copy(), None
    _fails(check_rnn_forward, f, words=["time and batch axes swapped"])


# --- Mistakes an outside tester wrote blind, in a student's own words: each is named ----------

def _named(check, *fns, mistake_id):
    with pytest.raises(CheckFailed) as err:
        check(*fns)
    assert err.value.mistake_id == mistake_id, str(err.value)
    return str(err.value)


def test_a_bias_outside_the_tanh_is_named():
    def f(x_t, h_prev, Wxh, Whh, bh):
        h = np.tanh(x_t @ Wxh.T + h_prev @ Whh.T) + bh
        return h, (x_t, h_prev, h, Wxh, Whh)
    assert "inside" in _named(check_rnn_step_forward, f, mistake_id="rnn_step_forward/bias-outside-tanh")


def test_a_step_cache_in_another_order_says_which_order():
    def f(x_t, h_prev, Wxh, Whh, bh):
        h = np.tanh(x_t @ Wxh.T + h_prev @ Whh.T + bh)
        return h, (x_t, h_prev, Wxh, Whh, h)
    msg = _named(check_rnn_step_forward, f, mistake_id="rnn_step_forward/cache-order")
    assert "Yours holds (x_t, h_prev, Wxh, Whh, h_t)" in msg


def test_a_step_caching_the_pre_activation_is_named():
    def f(x_t, h_prev, Wxh, Whh, bh):
        z = x_t @ Wxh.T + h_prev @ Whh.T + bh
        return np.tanh(z), (x_t, h_prev, z, Wxh, Whh)
    _named(check_rnn_step_forward, f, mistake_id="rnn_step_forward/cache-pre-activation")


def test_a_forward_that_keeps_h0_in_hs_is_named():
    def f(x, h0, Wxh, Whh, bh):
        T, B, _ = x.shape
        hs = np.zeros((T + 1, B, Whh.shape[0]))
        hs[0] = h0
        for t in range(T):
            hs[t + 1], _ = good_step(x[t], hs[t], Wxh, Whh, bh)
        return hs, (x, h0, hs, Wxh, Whh)
    _named(check_rnn_forward, f, mistake_id="rnn_forward/includes-h0")


def test_a_forward_loop_one_step_short_is_named():
    def f(x, h0, Wxh, Whh, bh):
        hs, h = np.zeros((x.shape[0], x.shape[1], Whh.shape[0])), h0
        for t in range(x.shape[0] - 1):
            h, _ = good_step(x[t], h, Wxh, Whh, bh)
            hs[t] = h
        return hs, (x, h0, hs, Wxh, Whh)
    _named(check_rnn_forward, f, mistake_id="rnn_forward/last-state-missing")


def test_a_batch_major_forward_loop_is_named_although_it_crashes():
    def f(x, h0, Wxh, Whh, bh):
        h, hs = h0, []
        for t in range(x.shape[1]):
            h, _ = good_step(x[:, t], h, Wxh, Whh, bh)
            hs.append(h)
        hs = np.stack(hs, axis=1)
        return hs, (x, h0, hs, Wxh, Whh)
    assert "x[t]" in _named(check_rnn_forward, f, mistake_id="rnn_forward/loops-over-batch")


def test_a_forward_cache_in_another_order_is_named():
    def f(x, h0, Wxh, Whh, bh):
        hs, cache = good_forward(x, h0, Wxh, Whh, bh)
        return hs, (x, hs, h0, Wxh, Whh)
    _named(check_rnn_forward, f, mistake_id="rnn_forward/cache-order")


def test_a_reshape_where_a_transpose_belongs_is_told_by_the_generic_diagnosis():
    from rnnlib.checks._engine import generic_diagnosis

    right = np.random.default_rng(1).standard_normal((4, 3))
    mid, sentence = generic_diagnosis("ys", right.T.reshape(4, 3), right, None)
    assert mid == "generic/reshape-for-transpose" and "np.transpose" in sentence


def test_one_buffer_stored_at_every_step_is_told_by_the_generic_diagnosis():
    from rnnlib.checks._engine import generic_diagnosis

    right = np.random.default_rng(2).standard_normal((5, 2, 3))
    got = np.broadcast_to(right[-1], right.shape).copy()
    mid, sentence = generic_diagnosis("hs", got, right, None, time_axis=0)
    assert mid == "generic/one-buffer-for-every-step" and "last time step" in sentence


def test_axes_of_length_one_squeezed_away_are_told_by_the_generic_diagnosis():
    from rnnlib.checks._engine import generic_diagnosis

    right = np.random.default_rng(3).standard_normal((1, 2, 4))
    assert generic_diagnosis("hs", right[0], right, None, time_axis=0)[0] == "generic/squeezed"
    assert generic_diagnosis("m", 0.5, np.array([0.4]), None)[0] == "generic/squeezed"


# --- Mistakes an outside tester wrote blind (round 3) ------------------------------------------

@pytest.mark.parametrize("hidden", [False, True])
def test_the_bias_added_to_both_terms_is_named(hidden):
    def f(x_t, h_prev, Wxh, Whh, bh):  # PyTorch's b_ih + b_hh, with the one bias twice
        h = np.tanh((x_t @ Wxh.T + bh) + (h_prev @ Whh.T + bh))
        return h, (x_t, h_prev, h, Wxh, Whh)
    with pytest.raises(CheckFailed) as err:
        check_rnn_step_forward(f, hidden=hidden)
    assert err.value.mistake_id == "rnn_step_forward/bias-twice", str(err.value)
    assert "b_ih" in str(err.value)
