"""The chapter 7 checkers: a correct function passes; each plausible mistake fails with a message
that names it."""
from __future__ import annotations

import numpy as np
import pytest

from rnnlib.checks import (
    CheckFailed,
    check_forecast_windows,
    check_last_value_forecast,
    check_lstm_step_backward,
    check_lstm_step_forward,
)
from rnnlib.forecast import forecast_windows, last_value_forecast
from rnnlib.gradcheck import check_backward
from rnnlib.lstm import lstm_step_backward, lstm_step_forward
from tests.students import unguarded


def _fails(check, *fns, words):
    with pytest.raises(CheckFailed) as err:
        check(*fns)
    msg = str(err.value)
    for w in words:
        assert w.lower() in msg.lower(), f"{w!r} not in message: {msg}"
    return msg


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def make_lstm(mode="good"):
    def lstm_step_forward(x_t, h_prev, c_prev, Wx, Wh, b):
        H = h_prev.shape[1]
        a = x_t @ Wx.T + h_prev @ Wh.T + b
        blocks = [a[:, k * H:(k + 1) * H] for k in range(4)]
        if mode == "ifog":
            ai, af, ao, ag = blocks
        else:
            ai, af, ag, ao = blocks
        i, f, o = sigmoid(ai), sigmoid(af), sigmoid(ao)
        g = sigmoid(ag) if mode == "sigmoid_g" else np.tanh(ag)
        c = (0 if mode == "no_forget" else f * c_prev) + i * g
        h = o * (c if mode == "no_tanh" else np.tanh(c))
        if mode == "swap":
            return (c, h), None
        # The exercise prescribes the cache: (x_t, h_prev, c_prev, gates, tanh(c_t), Wx, Wh).
        gates = np.concatenate([i, f, g, o], axis=1)
        return (h, c), (x_t, h_prev, c_prev, gates, np.tanh(c), Wx, Wh)
    return lstm_step_forward


def test_correct_lstm_step_passes_visible_and_hidden(capsys):
    check_lstm_step_forward(make_lstm())
    check_lstm_step_forward(make_lstm(), hidden=True)
    assert "all checks passed" in capsys.readouterr().out


@pytest.mark.parametrize("mode,words", [
    ("ifog", ["another order", "i, f, o, g"]),
    ("sigmoid_g", ["candidate g uses a sigmoid"]),
    ("no_forget", ["ignores c_prev"]),
    ("no_tanh", ["o * tanh(c_t)"]),
    ("swap", ["swapped"]),
])
def test_lstm_step_mistakes_are_named(mode, words):
    _fails(check_lstm_step_forward, make_lstm(mode), words=words)


def test_lstm_step_calling_the_reference_is_refused():
    _fails(check_lstm_step_forward, lambda *a: lstm_step_forward(*a), words=["implement this yourself"])


def test_lstm_step_backward_reference_passes_and_gradient_checks():
    fwd, bwd = unguarded(lstm_step_forward), unguarded(lstm_step_backward)
    check_lstm_step_backward(fwd, bwd, hidden=True)
    rng = np.random.default_rng(0)
    B, D, H = 3, 4, 5
    args = (rng.standard_normal((B, D)), rng.standard_normal((B, H)), rng.standard_normal((B, H)),
            rng.standard_normal((4 * H, D)), rng.standard_normal((4 * H, H)), rng.standard_normal(4 * H))
    errors = check_backward(fwd, bwd, args, rng=1)
    assert max(errors.values()) < 1e-7, errors


def test_lstm_step_backward_with_transposed_weight_gradient_is_named():
    fwd, bwd = unguarded(lstm_step_forward), unguarded(lstm_step_backward)

    def wrong(dout, cache):
        g = list(bwd(dout, cache))
        g[3] = g[3].T.copy()
        return tuple(g)
    _fails(check_lstm_step_backward, fwd, wrong, words=["dWx", "transpose"])


def test_forecast_windows_reference_and_mistakes():
    check_forecast_windows(unguarded(forecast_windows), hidden=True)

    windows = unguarded(forecast_windows)

    def example_major(series, window, horizon=1):
        x, y = windows(series, window, horizon)
        return x.transpose(1, 0, 2), y
    _fails(check_forecast_windows, example_major, words=["time-major", "swap"])

    def overlapping(series, window, horizon=1):
        x, _ = windows(series, window, horizon)
        M = x.shape[1]
        return x, np.stack([series[i + window - 1:i + window - 1 + horizon] for i in range(M)])
    _fails(check_forecast_windows, overlapping, words=["right after"])


def test_last_value_forecast_reference_and_mistakes():
    check_last_value_forecast(unguarded(last_value_forecast), hidden=True)
    _fails(check_last_value_forecast, lambda x, horizon=1: np.repeat(x[0], horizon, axis=1),
           words=["first value"])
    _fails(check_last_value_forecast, lambda x, horizon=1: np.repeat(x[-1], horizon, axis=1).T,
           words=["(B, horizon)"])
    _fails(check_last_value_forecast, lambda x, horizon=1: np.repeat(x.mean(0), horizon, axis=1),
           words=["mean"])


def test_untouched_functions_raise_not_implemented():
    def f(*args, **kwargs):
        raise NotImplementedError()
    for check in (check_lstm_step_forward, check_forecast_windows, check_last_value_forecast):
        with pytest.raises(NotImplementedError):
            check(f)


@pytest.mark.parametrize("many_to_one", [True, False])
def test_lstm_regressor_loss_gradients_match_finite_differences(many_to_one):
    from rnnlib.gradcheck import numerical_gradient, rel_error
    from rnnlib.regressor import init_regressor, regressor_loss as lstm_regressor_loss

    rng = np.random.default_rng(3)
    T, B, D, H, O = 4, 3, 2, 5, 2
    params = init_regressor(D, H, O, rng, cell="lstm")
    x = rng.standard_normal((T, B, D))
    y = rng.standard_normal((B, O) if many_to_one else (T, B, O))
    _, grads, _ = lstm_regressor_loss(params, x, y, many_to_one=many_to_one)
    for k, p in params.items():
        num = numerical_gradient(lambda _: lstm_regressor_loss(params, x, y, many_to_one=many_to_one)[0], p)
        assert rel_error(grads[k], num) < 1e-7, k


def test_forecast_windows_docstring_example():
    x, y = forecast_windows(np.arange(5.0), window=3)
    assert x.shape == (3, 2, 1) and y.shape == (2, 1)
    np.testing.assert_array_equal(x[:, :, 0], [[0, 1], [1, 2], [2, 3]])
    np.testing.assert_array_equal(y, [[3], [4]])
    np.testing.assert_array_equal(last_value_forecast(x, 2), [[2, 2], [3, 3]])


def test_lstm_step_forward_returning_three_values_is_told_the_structure():
    good = make_lstm()

    def flat(*args):
        (h, c), cache = good(*args)
        return h, c, cache
    _fails(check_lstm_step_forward, flat, words=["three values", "return (h_t, c_t), cache"])


def test_lstm_step_forward_with_a_wrong_cache_is_told_which_field():
    good = make_lstm()

    def wrong_cache(*args):
        (h, c), cache = good(*args)
        x_t, h_prev, c_prev, gates, tanh_c, Wx, Wh = cache
        return (h, c), (x_t, h_prev, c_prev, gates, c, Wx, Wh)  # c_t where tanh(c_t) belongs
    _fails(check_lstm_step_forward, wrong_cache, words=["cache", "tanh_c"])


def test_lstm_step_backward_passes_with_its_gradient_check(capsys):
    fwd, bwd = make_lstm(), unguarded(lstm_step_backward)
    check_lstm_step_backward(fwd, bwd)
    check_lstm_step_backward(fwd, bwd, hidden=True)
    out = capsys.readouterr().out
    assert "all checks passed" in out and "gradient check" in out


def test_lstm_step_backward_blames_a_wrong_forward_first():
    bwd = unguarded(lstm_step_backward)
    with pytest.raises(CheckFailed) as err:
        check_lstm_step_backward(make_lstm("no_forget"), bwd)
    assert "fix lstm_step_forward first" in str(err.value).lower()
    assert err.value.mistake_id == "lstm_step_forward/no-forget"  # the forward's own mistake


def test_lstm_step_backward_missing_the_forget_gate_on_the_cell_path_is_named():
    bwd = unguarded(lstm_step_backward)

    def no_f(dout, cache):
        grads = list(bwd(dout, cache))
        f = cache[3][:, cache[1].shape[1]:2 * cache[1].shape[1]]
        grads[2] = grads[2] / f  # dc_prev = dc instead of dc * f
        return tuple(grads)
    with pytest.raises(CheckFailed) as err:
        check_lstm_step_backward(make_lstm(), no_f)
    assert err.value.mistake_id == "lstm_step_backward/dc-prev-missing-f"
    assert "dc_prev = dc * f" in str(err.value)


def test_untouched_backward_and_questions_raise_not_implemented():
    from rnnlib.checks import check_ch07_questions

    def f(*args, **kwargs):
        raise NotImplementedError()
    with pytest.raises(NotImplementedError):
        check_lstm_step_backward(make_lstm(), f)
    with pytest.raises(NotImplementedError):
        check_ch07_questions({"lstm_parameters": ..., "forget_everything": ...,
                              "cell_path_factor": ..., "last_value_3_ahead": ...})


def test_ch07_questions_name_the_misconception(capsys):
    from rnnlib.checks import check_ch07_questions

    right = {"lstm_parameters": 384, "forget_everything": "f", "cell_path_factor": 0.9 ** 50,
             "last_value_3_ahead": 0.4}
    check_ch07_questions(right)
    assert "all answers are right" in capsys.readouterr().out
    with pytest.raises(CheckFailed) as err:
        check_ch07_questions({**right, "lstm_parameters": 96})
    assert err.value.mistake_id == "ch07_questions/lstm-parameters-one-block"
    with pytest.raises(CheckFailed) as err:
        check_ch07_questions({**right, "forget_everything": "o"})
    assert "hides the cell" in str(err.value)


def test_a_cache_holding_pre_activations_is_told_what_gates_must_hold():
    good = make_lstm()

    def pre_activations(x_t, h_prev, c_prev, Wx, Wh, b):
        (h, c), cache = good(x_t, h_prev, c_prev, Wx, Wh, b)
        a = x_t @ Wx.T + h_prev @ Wh.T + b
        return (h, c), cache[:3] + (a,) + cache[4:]
    _fails(check_lstm_step_forward, pre_activations, words=["pre-activations", "where gates belongs",
                                                            "activated gates"])


def test_answers_of_the_wrong_kind_are_told_so():
    from rnnlib.checks import check_ch07_questions

    right = {"lstm_parameters": 384, "forget_everything": "f", "cell_path_factor": 0.9 ** 50,
             "last_value_3_ahead": 0.4}
    _fails(check_ch07_questions, {**right, "cell_path_factor": "0.9 ** 50"}, words=["without quotes"])
    _fails(check_ch07_questions, {**right, "last_value_3_ahead": [0.4] * 3}, words=["one number"])
    _fails(check_ch07_questions, {**right, "forget_everything": "forget"}, words=["one letter"])


# --- Mistakes an outside tester wrote blind, in a student's own words: each is named ----------

def _named(check, *fns, mistake_id):
    with pytest.raises(CheckFailed) as err:
        check(*fns)
    assert err.value.mistake_id == mistake_id, str(err.value)
    return str(err.value)


def _backward(total=None, partners_swapped=False):
    def backward(dout, cache):
        dh, dc_t = dout
        x_t, h_prev, c_prev, gates, tanh_c, Wx, Wh = cache
        H = h_prev.shape[1]
        i, f, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
        dc = total(dh, dc_t, o, tanh_c) if total else dc_t + dh * o * (1 - tanh_c ** 2)
        di, df = (dc * c_prev, dc * g) if partners_swapped else (dc * g, dc * c_prev)
        da = np.hstack([di * i * (1 - i), df * f * (1 - f), dc * i * (1 - g * g), dh * tanh_c * o * (1 - o)])
        return da @ Wx, da @ Wh, dc * f, da.T @ x_t, da.T @ h_prev, da.sum(0)

    return backward


@pytest.mark.parametrize("backward, mistake_id", [
    (_backward(total=lambda dh, dc_t, o, tanh_c: dc_t), "lstm_step_backward/dc-misses-h-path"),
    (_backward(total=lambda dh, dc_t, o, tanh_c: dc_t + dh * (1 - tanh_c ** 2)), "lstm_step_backward/dc-misses-o"),
    (_backward(partners_swapped=True), "lstm_step_backward/product-partners-swapped"),
])
def test_blind_lstm_backward_mistakes_are_named(backward, mistake_id):
    _named(check_lstm_step_backward, make_lstm(), backward, mistake_id=mistake_id)


def test_input_and_forget_swapped_in_the_cell_update_is_named_by_the_update():
    def step(x_t, h_prev, c_prev, Wx, Wh, b):
        H = h_prev.shape[1]
        a = x_t @ Wx.T + h_prev @ Wh.T + b
        i, f = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H])
        g, o = np.tanh(a[:, 2 * H:3 * H]), sigmoid(a[:, 3 * H:])
        c = i * c_prev + f * g
        return (o * np.tanh(c), c), (x_t, h_prev, c_prev, np.hstack([i, f, g, o]), np.tanh(c), Wx, Wh)
    msg = _named(check_lstm_step_forward, step, mistake_id="lstm_step_forward/input-forget-swapped")
    assert msg.index("c_t = i * c_prev + f * g") < msg.index("rows")


def test_windows_reshaped_instead_of_transposed_are_named():
    def windows(series, window, horizon=1):
        M = len(series) - window - horizon + 1
        X = np.array([series[i:i + window] for i in range(M)])
        y = np.array([series[i + window:i + window + horizon] for i in range(M)])
        return X.reshape(window, M, 1), y
    _named(check_forecast_windows, windows, mistake_id="forecast_windows/reshaped-not-transposed")


@pytest.mark.parametrize("forecast, mistake_id", [
    (lambda x, horizon=1: np.tile(x[:, -1, 0][:, None], (1, horizon)), "last_value_forecast/batch-major"),
    (lambda x, horizon=1: np.full((x.shape[1], horizon), x[-1, 0, 0]),
     "last_value_forecast/first-example-everywhere"),
])
def test_blind_last_value_mistakes_are_named(forecast, mistake_id):
    _named(check_last_value_forecast, forecast, mistake_id=mistake_id)


# --- Round 2 of the outside tester's blind mistakes --------------------------------------------

def test_the_candidates_slope_taken_as_a_sigmoids_is_named():
    def lstm_step_backward(dout, cache):
        dh, dc_in = dout
        x_t, h_prev, c_prev, gates, tanh_c, Wx, Wh = cache
        i, f, g, o = np.split(gates, 4, axis=1)
        dc = dc_in + dh * o * (1 - tanh_c ** 2)
        da = np.concatenate([dc * g, dc * c_prev, dc * i, dh * tanh_c], 1) * gates * (1 - gates)
        return da @ Wx, da @ Wh, dc * f, da.T @ x_t, da.T @ h_prev, da.sum(axis=0)

    text = _named(check_lstm_step_backward, unguarded(lstm_step_forward), lstm_step_backward,
                  mistake_id="lstm_step_backward/candidate-sigmoid-slope")
    assert "1 - g**2" in text


@pytest.mark.parametrize("fn, mistake_id", [
    (lambda x, horizon=1: np.repeat(x[-1], horizon), "last_value_forecast/repeat-without-axis"),
    (lambda x, horizon=1: np.tile(x[-1, :, 0], horizon).reshape(x.shape[1], horizon),
     "last_value_forecast/tiled-then-reshaped"),
    # x[-1].squeeze() also drops the batch axis when B = 1 (a visible case has B = 1)
    (lambda x, horizon=1: np.repeat(x[-1].squeeze()[:, None], horizon, axis=1),
     "last_value_forecast/squeezes-the-batch-axis"),
])
@pytest.mark.parametrize("hidden", [False, True])
def test_blind_tester_last_value_mistakes_are_named(fn, mistake_id, hidden):
    _named(lambda f: check_last_value_forecast(f, hidden=hidden), fn, mistake_id=mistake_id)


# --- Round 3 of the outside tester's blind mistakes --------------------------------------------

def _lstm_tf1(order="ifgo", forget_bias=0.0):
    """A student's step whose blocks are read in ``order`` and whose forget gate adds
    ``forget_bias`` inside its sigmoid (TensorFlow 1's LSTMCell: order "igfo", bias 1.0)."""
    def lstm_step_forward(x_t, h_prev, c_prev, Wx, Wh, b):
        H = h_prev.shape[1]
        a = x_t @ Wx.T + h_prev @ Wh.T + b
        blocks = dict(zip(order, (a[:, k * H:(k + 1) * H] for k in range(4))))
        i, f = sigmoid(blocks["i"]), sigmoid(blocks["f"] + forget_bias)
        g, o = np.tanh(blocks["g"]), sigmoid(blocks["o"])
        c = f * c_prev + i * g
        h = o * np.tanh(c)
        return (h, c), (x_t, h_prev, c_prev, np.concatenate([i, f, g, o], 1), np.tanh(c), Wx, Wh)
    return lstm_step_forward


@pytest.mark.parametrize("hidden", [False, True])
@pytest.mark.parametrize("fn, mistake_id, words", [
    (_lstm_tf1(order="igfo"), "lstm_step_forward/gate-order-igfo", "i, g, f, o"),
    (_lstm_tf1(forget_bias=1.0), "lstm_step_forward/forget-bias-added", "sigmoid(a_f + 1)"),
])
def test_tensorflow_1_habits_in_the_lstm_step_are_named(fn, mistake_id, words, hidden):
    with pytest.raises(CheckFailed) as err:
        check_lstm_step_forward(fn, hidden=hidden)
    assert err.value.mistake_id == mistake_id, str(err.value)
    assert words in str(err.value)


def test_the_sigmoid_applied_again_to_the_cached_gates_is_named():
    def lstm_step_backward(dout, cache):
        dh, dc_t = dout
        x_t, h_prev, c_prev, gates, tanh_c, Wx, Wh = cache
        i, f, g, o = np.split(gates, 4, axis=1)
        slope = lambda s: sigmoid(s) * (1 - sigmoid(s))  # noqa: E731 - s is already a sigmoid
        dc = dc_t + dh * o * (1 - tanh_c ** 2)
        da = np.concatenate([dc * g * slope(i), dc * c_prev * slope(f), dc * i * (1 - g ** 2),
                             dh * tanh_c * slope(o)], 1)
        return da @ Wx, da @ Wh, dc * f, da.T @ x_t, da.T @ h_prev, da.sum(axis=0)

    text = _named(check_lstm_step_backward, unguarded(lstm_step_forward), lstm_step_backward,
                  mistake_id="lstm_step_backward/sigmoid-of-gates-again")
    assert "s * (1 - s)" in text
