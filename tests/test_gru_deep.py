"""The GRU, stacked and bidirectional networks: gradient-checked in float64 (relative error
< 1e-7, shapes including T = 1 and B = 1), and behaving as their formulas say."""
from __future__ import annotations

import zlib

import numpy as np
import pytest

from rnnlib.bidirectional import Bidirectional, bidirectional_gru_forward
from rnnlib.cells import GRUCell, LSTMCell, RNNCell, cell_of, get_cell, layer_backward, layer_forward
from rnnlib.charlm import char_rnn_loss, init_char_rnn, sample
from rnnlib.gradcheck import RTOL, check_backward, numerical_gradient
from rnnlib.gru import gru_backward, gru_forward, gru_step_backward, gru_step_forward
from rnnlib.heads import SoftmaxHead
from rnnlib.models import SequenceModel
from rnnlib.params import count_parameters
from rnnlib.regressor import init_regressor, regressor_loss
from rnnlib.stacked import Stacked

SHAPES = [(1, 1, 2, 3), (1, 3, 4, 2), (4, 1, 3, 5), (5, 3, 2, 4)]  # (T, B, D, H)


def _rng(*key):
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def _small(errors, what):
    assert errors
    bad = {k: v for k, v in errors.items() if not v < RTOL}
    assert not bad, f"{what}: relative errors above {RTOL}: {bad}"


def _gru_args(rng, B, D, H, T=None):
    x = rng.standard_normal((B, D) if T is None else (T, B, D))
    return [x, rng.standard_normal((B, H)), rng.standard_normal((3 * H, D)) * 0.7,
            rng.standard_normal((3 * H, H)) * 0.7, rng.standard_normal(3 * H) * 0.5,
            rng.standard_normal(3 * H) * 0.5]


@pytest.mark.parametrize("T,B,D,H", SHAPES)
def test_gru_step_backward_matches_finite_differences(T, B, D, H):
    errors = check_backward(gru_step_forward, gru_step_backward, _gru_args(_rng("s", T, B, D, H), B, D, H), 1)
    assert set(errors) == {"x_t", "h_prev", "Wx", "Wh", "bx", "bh"}
    _small(errors, "gru_step_backward")


@pytest.mark.parametrize("T,B,D,H", SHAPES)
def test_gru_backward_matches_finite_differences(T, B, D, H):
    errors = check_backward(gru_forward, gru_backward, _gru_args(_rng("q", T, B, D, H), B, D, H, T), 1)
    assert set(errors) == {"x", "h0", "Wx", "Wh", "bx", "bh"}
    _small(errors, "gru_backward")


@pytest.mark.parametrize("T,B,D,H", SHAPES)
def test_gru_forward_and_backward_equal_repeated_steps(T, B, D, H):
    rng = _rng("r", T, B, D, H)
    x, h0, Wx, Wh, bx, bh = _gru_args(rng, B, D, H, T)
    dhs = rng.standard_normal((T, B, H))
    hs, cache = gru_forward(x, h0, Wx, Wh, bx, bh)
    seq_grads = gru_backward(dhs, cache)
    h, caches = h0, []
    for t in range(T):
        h, c = gru_step_forward(x[t], h, Wx, Wh, bx, bh)
        np.testing.assert_allclose(h, hs[t], rtol=1e-12, atol=1e-12)
        caches.append(c)
    dx, dh = np.zeros_like(x), np.zeros_like(h0)
    sums = [np.zeros_like(a) for a in (Wx, Wh, bx, bh)]
    for t in range(T - 1, -1, -1):
        dx[t], dh, *g = gru_step_backward(dhs[t] + dh, caches[t])
        for s, gi in zip(sums, g):
            s += gi  # shared weights: the sum over time
    for got, want in zip(seq_grads, [dx, dh, *sums]):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_gru_gates_follow_pytorchs_order_r_z_n_and_reset_multiplies_the_hidden_term():
    rng = np.random.default_rng(0)
    B, D, H = 2, 3, 4
    x, h, Wx, Wh, bx, bh = _gru_args(rng, B, D, H)
    h_t, c = gru_step_forward(x, h, Wx, Wh, bx, bh)

    def sig(v):
        return 1 / (1 + np.exp(-v))

    ax, ah = x @ Wx.T + bx, h @ Wh.T + bh
    r = sig(ax[:, :H] + ah[:, :H])
    z = sig(ax[:, H:2 * H] + ah[:, H:2 * H])
    n = np.tanh(ax[:, 2 * H:] + r * (h @ Wh[2 * H:].T + bh[2 * H:]))
    np.testing.assert_allclose(h_t, (1 - z) * n + z * h)
    np.testing.assert_allclose(c.r, r)
    np.testing.assert_allclose(c.hn, h @ Wh[2 * H:].T + bh[2 * H:])
    # The paper's formula (reset before the product) is a different function.
    n_paper = np.tanh(ax[:, 2 * H:] + (r * h) @ Wh[2 * H:].T + bh[2 * H:])
    assert not np.allclose((1 - z) * n_paper + z * h, h_t)


def test_gru_with_update_gate_open_copies_its_state_and_passes_the_gradient_unchanged():
    rng = np.random.default_rng(1)
    T, B, D, H = 30, 2, 3, 4
    x, h0, Wx, Wh, bx, bh = _gru_args(rng, B, D, H, T)
    bx[H:2 * H] = 40.0  # z = sigmoid(40 + ...) = 1 to rounding: h_t = h_{t-1}
    hs, cache = gru_forward(x, h0, Wx, Wh, bx, bh)
    np.testing.assert_allclose(hs[-1], h0, atol=1e-12)
    dhs = np.zeros((T, B, H))
    dhs[-1] = 1.0
    np.testing.assert_allclose(gru_backward(dhs, cache)[1], 1.0, atol=1e-10)


def test_gru_forward_does_not_modify_its_inputs():
    args = _gru_args(np.random.default_rng(2), 3, 2, 4, 5)
    copies = [a.copy() for a in args]
    gru_backward(np.ones((5, 3, 4)), gru_forward(*args)[1])
    for a, c in zip(args, copies):
        np.testing.assert_array_equal(a, c)


def test_parameter_counts_of_rnn_gru_and_lstm_cells():
    D, H = 5, 7
    counts = {name: count_parameters(get_cell(name).init_params(D, H, 0)) for name in ("rnn", "gru", "lstm")}
    assert counts == {"rnn": H * D + H * H + H, "gru": 3 * (H * D + H * H + 2 * H),
                      "lstm": 4 * (H * D + H * H + H)}


def test_cell_of_tells_every_cell_and_wrapper_from_its_keys():
    for cell in (RNNCell(), GRUCell(), LSTMCell(), Stacked("gru", 3), Bidirectional("lstm"),
                 Stacked(Bidirectional("rnn"), 2)):
        params = SequenceModel(cell, SoftmaxHead()).init_params(3, 4, 5, 0)
        found = cell_of(params)
        assert found.name == cell.name, (found.name, cell.name)


# --- the wrappers: gradient checks through the dense layer (input product included) ----------

WRAPPED = [
    ("gru", lambda: GRUCell()),
    ("rnn x2", lambda: Stacked("rnn", 2)),
    ("gru x3", lambda: Stacked("gru", 3)),
    ("lstm x2", lambda: Stacked("lstm", 2)),
    ("bi rnn", lambda: Bidirectional("rnn")),
    ("bi gru", lambda: Bidirectional("gru")),
    ("bi lstm", lambda: Bidirectional("lstm")),
    ("bi gru x2", lambda: Stacked(Bidirectional("gru"), 2)),
]


def _flat_state(state):
    if isinstance(state, tuple):
        return [a for s in state for a in _flat_state(s)]
    return [state]


def _rebuild(template, arrays):
    if isinstance(template, tuple):
        out = []
        for s in template:
            n = len(_flat_state(s))
            out.append(_rebuild(s, arrays[:n]))
            arrays = arrays[n:]
        return tuple(out)
    return arrays[0]


@pytest.mark.parametrize("T,B,D,H", SHAPES)
@pytest.mark.parametrize("name, make", WRAPPED, ids=[w[0] for w in WRAPPED])
def test_wrapped_cells_backward_matches_finite_differences(name, make, T, B, D, H):
    cell = make()
    rng = _rng(name, T, B, D, H)
    params = {k: v + 0.3 * rng.standard_normal(v.shape) for k, v in cell.init_params(D, H, rng).items()}
    keys = sorted(params)
    state = cell.zero_state(B, H)
    state = _rebuild(state, [rng.standard_normal(s.shape) for s in _flat_state(state)])
    n_state = len(_flat_state(state))

    def forward(x, *arrays):
        st = _rebuild(state, list(arrays[:n_state]))
        hs, cache = layer_forward(cell, dict(zip(keys, arrays[n_state:])), x, st)
        return hs, cache

    def backward(dhs, cache):
        dx, dstate, grads = layer_backward(dhs, cache)
        assert set(grads) == set(keys)
        return (dx, *_flat_state(dstate), *(grads[k] for k in keys))

    args = [rng.standard_normal((T, B, D)), *_flat_state(state), *(params[k] for k in keys)]
    errors = check_backward(forward, backward, args, rng)
    assert len(errors) == len(args)
    _small(errors, name)


def test_a_one_layer_stack_is_the_cell_itself():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 2, 3))
    params = GRUCell().init_params(3, 5, 0)
    hs1, _ = layer_forward(GRUCell(), params, x)
    hs2, _ = layer_forward(Stacked("gru", 1), params, x)
    np.testing.assert_array_equal(hs1, hs2)


def test_a_stack_feeds_each_layers_states_to_the_next():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((6, 2, 3))
    stack = Stacked("rnn", 2)
    params = stack.init_params(3, 4, 0)
    hs, _ = layer_forward(stack, params, x)
    low, _ = layer_forward("rnn", {k: params[k] for k in ("Wxh", "Whh", "bh")}, x)
    top, _ = layer_forward("rnn", {k: params[k + "_l1"] for k in ("Wxh", "Whh", "bh")}, low)
    np.testing.assert_allclose(hs, top)


def test_bidirectional_output_at_t_depends_on_the_whole_sequence_and_the_halves_on_their_sides():
    rng = np.random.default_rng(5)
    T, B, D, H = 6, 2, 3, 4
    cell = Bidirectional("gru")
    params = cell.init_params(D, H, 0)
    x = rng.standard_normal((T, B, D))
    hs, _ = layer_forward(cell, params, x)
    x2 = x.copy()
    x2[4] += 1.0  # change a late input
    hs2, _ = layer_forward(cell, params, x2)
    np.testing.assert_array_equal(hs[:4, :, :H], hs2[:4, :, :H])  # forward half: past only
    assert not np.allclose(hs[:4, :, H:], hs2[:4, :, H:])  # backward half: sees the future
    np.testing.assert_array_equal(hs[5:, :, H:], hs2[5:, :, H:])


def test_bidirectional_gru_forward_equals_the_bidirectional_cell():
    rng = np.random.default_rng(6)
    T, B, D, H = 5, 3, 2, 4
    x, h0f, h0b = rng.standard_normal((T, B, D)), rng.standard_normal((B, H)), rng.standard_normal((B, H))
    params = Bidirectional("gru").init_params(D, H, 0)
    fwd = (params["Wx"][:3 * H], params["Wh"], params["bx"][:3 * H], params["bh"])
    bwd = (params["Wx"][3 * H:], params["Wh_reverse"], params["bx"][3 * H:], params["bh_reverse"])
    hs = bidirectional_gru_forward(x, h0f, h0b, fwd, bwd)
    hs_cell, _ = layer_forward(Bidirectional("gru"), params, x, (h0f, h0b))
    np.testing.assert_allclose(hs, hs_cell)
    # The backward half at the last step has read only x[T-1]: one GRU step from h0b.
    np.testing.assert_allclose(hs[-1, :, H:], gru_step_forward(x[-1], h0b, *bwd)[0])


def test_a_bidirectional_model_refuses_to_step_and_so_to_generate():
    params = init_char_rnn(5, 4, 0, cell=Bidirectional("rnn"))
    with pytest.raises(TypeError, match="cannot run one step"):
        sample(params, 0, 3, rng=0)


@pytest.mark.parametrize("cell", [GRUCell(), Stacked("gru", 2), Bidirectional("gru")],
                         ids=["gru", "gru x2", "bi gru"])
def test_char_and_regressor_models_take_the_new_cells(cell):
    rng = np.random.default_rng(7)
    params = init_char_rnn(5, 3, 0, cell=cell)
    ids = rng.integers(0, 5, size=(4, 2))
    loss, grads, _ = char_rnn_loss(params, ids, rng.integers(0, 5, size=(4, 2)))
    assert np.isclose(loss, np.log(5), rtol=0.2)
    k = "Wx" if "Wx" in params else "Wxh"
    f = lambda W: char_rnn_loss({**params, k: W}, ids, ids)[0]  # noqa: E731
    num = numerical_gradient(f, params[k].copy())
    assert np.linalg.norm(num - char_rnn_loss(params, ids, ids)[1][k]) < 1e-7 * (1 + np.linalg.norm(num))
    rp = init_regressor(2, 3, 1, 0, cell=cell)
    loss, grads, _ = regressor_loss(rp, rng.standard_normal((5, 4, 2)), rng.standard_normal((4, 1)))
    assert set(grads) == set(rp)


def test_stacked_model_steps_like_its_forward():
    # Sampling runs one step at a time; it must agree with the whole-sequence forward.
    model = SequenceModel(Stacked("lstm", 2), SoftmaxHead(), inputs="ids")
    params = model.init_params(6, 4, 6, 0)
    ids = np.array([[1], [4], [2], [5]])
    hs, _ = model.forward(params, ids)
    state = model.cell.zero_state(1, 4)
    for t in range(4):
        out, state = model.step(params, ids[t], state)
        np.testing.assert_allclose(out, hs[t] @ params["Why"].T + params["by"], rtol=1e-12)
