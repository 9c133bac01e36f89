"""rnnlib's GRU, stacked and bidirectional networks against PyTorch (float64), value by value.

``nn.GRU``'s four tensors are rnnlib's ``Wx, Wh, bx, bh`` as they are; a stack of ``L`` layers
is ``nn.RNN(num_layers=L)`` with layer ``l``'s tensors under the suffix ``_l<l>``; a
bidirectional layer stacks the two directions' input weights (``weight_ih_l0`` over
``weight_ih_l0_reverse``) and keeps the backward direction's recurrent ones under ``_reverse``.
Every hidden state and every gradient must agree to 1e-10. Skipped without torch.
"""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rnnlib.bidirectional import Bidirectional  # noqa: E402
from rnnlib.cells import get_cell, layer_backward, layer_forward  # noqa: E402
from rnnlib.gru import gru_backward, gru_forward, gru_step_backward, gru_step_forward  # noqa: E402
from rnnlib.stacked import Stacked, layer_key  # noqa: E402

TOL = 1e-10
SHAPES = [(1, 1, 1, 1), (1, 3, 4, 5), (6, 1, 3, 2), (7, 4, 5, 6)]  # (T, B, D, H)
TORCH = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}


def _t(a, grad=False):
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


def _close(got, want, what):
    want = want.detach().numpy() if isinstance(want, torch.Tensor) else want
    np.testing.assert_allclose(got, want, rtol=TOL, atol=TOL, err_msg=what)


def _torch_net(kind, D, H, layers, bidirectional, seed):
    torch.manual_seed(seed)
    net = TORCH[kind](D, H, num_layers=layers, bidirectional=bidirectional).double()
    with torch.no_grad():
        for p in net.parameters():  # larger than PyTorch's default init, so that gates vary
            p.uniform_(-0.8, 0.8)
    return net


def _pairs(kind, net, layers, bidirectional):
    """``{rnnlib key: [(torch tensor, how)]}``: which PyTorch tensors make each rnnlib array."""
    sfx = ["", "_reverse"] if bidirectional else [""]
    cell = get_cell(kind)
    out = {}
    for layer in range(layers):
        def key(k):
            return layer_key(k, layer)
        w_ih = [getattr(net, f"weight_ih_l{layer}{s}") for s in sfx]
        w_hh = [getattr(net, f"weight_hh_l{layer}{s}") for s in sfx]
        b_ih = [getattr(net, f"bias_ih_l{layer}{s}") for s in sfx]
        b_hh = [getattr(net, f"bias_hh_l{layer}{s}") for s in sfx]
        # Input weights and biases of both directions, stacked forward first.
        out[key(cell.input_weight)] = ("stack", w_ih)
        if kind == "gru":
            out[key("bx")] = ("stack", b_ih)
            for s, w, b in zip(sfx, w_hh, b_hh):
                out[layer_key("Wh" + s, layer)] = ("one", [w])
                out[layer_key("bh" + s, layer)] = ("one", [b])
        else:
            # The vanilla RNN and the LSTM use b_ih + b_hh only as a sum: one bias in rnnlib.
            out[key(cell.input_bias)] = ("sum", list(zip(b_ih, b_hh)))
            rec = "Whh" if kind == "rnn" else "Wh"
            for s, w in zip(sfx, w_hh):
                out[layer_key(rec + s, layer)] = ("one", [w])
    return out


def _params(pairs):
    params = {}
    for k, (how, tensors) in pairs.items():
        if how == "sum":
            params[k] = np.concatenate([(a + b).detach().numpy() for a, b in tensors])
        else:
            params[k] = np.concatenate([t.detach().numpy() for t in tensors])
    return params


def _check_grads(grads, pairs):
    for k, (how, tensors) in pairs.items():
        if how == "sum":  # the gradient of a sum reaches both terms unchanged
            for part in ("ih", "hh"):
                want = np.concatenate([(a if part == "ih" else b).grad.numpy() for a, b in tensors])
                _close(grads[k], want, f"d{k} vs bias_{part}")
        else:
            _close(grads[k], np.concatenate([t.grad.numpy() for t in tensors]), f"d{k}")


def _state(kind, h0, c0, layers, bidirectional):
    """rnnlib's initial state from PyTorch's ``(L * directions, B, H)`` tensors."""
    dirs = 2 if bidirectional else 1

    def one(i):
        return (h0[i], c0[i]) if kind == "lstm" else h0[i]

    per_layer = [tuple(one(l * dirs + d) for d in range(dirs)) if bidirectional else one(l * dirs)
                 for l in range(layers)]
    return tuple(per_layer) if layers > 1 else per_layer[0]


def _dstate(kind, dstate, layers, bidirectional):
    """rnnlib's gradient on the initial state as PyTorch's ``(L * directions, B, H)`` arrays."""
    per_layer = dstate if layers > 1 else (dstate,)
    hs, cs = [], []
    for d_layer in per_layer:
        for d in (d_layer if bidirectional else (d_layer,)):
            if kind == "lstm":
                hs.append(d[0])
                cs.append(d[1])
            else:
                hs.append(d)
    return np.stack(hs), (np.stack(cs) if cs else None)


def _compare(kind, layers, bidirectional, T, B, D, H, seed=0):
    rng = np.random.default_rng(seed)
    dirs = 2 if bidirectional else 1
    x = rng.standard_normal((T, B, D))
    h0 = rng.standard_normal((layers * dirs, B, H))
    c0 = rng.standard_normal((layers * dirs, B, H))
    dhs = rng.standard_normal((T, B, dirs * H))

    net = _torch_net(kind, D, H, layers, bidirectional, seed)
    pairs = _pairs(kind, net, layers, bidirectional)
    cell = get_cell(kind)
    if bidirectional:
        cell = Bidirectional(cell)
    if layers > 1:
        cell = Stacked(cell, layers)

    hs, cache = layer_forward(cell, _params(pairs), x, _state(kind, h0, c0, layers, bidirectional))
    dx, dstate, grads = layer_backward(dhs, cache)

    xt, h0t, c0t = _t(x, True), _t(h0, True), _t(c0, True)
    out, _ = net(xt, (h0t, c0t) if kind == "lstm" else h0t)
    (out * _t(dhs)).sum().backward()

    _close(hs, out, "hidden states")
    _close(dx, xt.grad, "dx")
    dh0, dc0 = _dstate(kind, dstate, layers, bidirectional)
    _close(dh0, h0t.grad, "dh0")
    if kind == "lstm":
        _close(dc0, c0t.grad, "dc0")
    _check_grads(grads, pairs)
    assert set(grads) == set(pairs), "a parameter without a gradient, or one too many"


@pytest.mark.parametrize("T,B,D,H", SHAPES)
def test_gru_matches_torch_nn_gru(T, B, D, H):
    rng = np.random.default_rng(T * 100 + B * 10 + D)
    x, h0 = rng.standard_normal((T, B, D)), rng.standard_normal((B, H))
    dhs = rng.standard_normal((T, B, H))
    net = _torch_net("gru", D, H, 1, False, seed=T + B)
    Wx, Wh = net.weight_ih_l0.detach().numpy(), net.weight_hh_l0.detach().numpy()
    bx, bh = net.bias_ih_l0.detach().numpy(), net.bias_hh_l0.detach().numpy()

    hs, cache = gru_forward(x, h0, Wx, Wh, bx, bh)
    dx, dh0, dWx, dWh, dbx, dbh = gru_backward(dhs, cache)

    xt, h0t = _t(x, True), _t(h0[None], True)
    out, h_last = net(xt, h0t)
    (out * _t(dhs)).sum().backward()
    _close(hs, out, "hidden states")
    _close(hs[-1], h_last[0], "last hidden state")
    _close(dx, xt.grad, "dx")
    _close(dh0, h0t.grad[0], "dh0")
    _close(dWx, net.weight_ih_l0.grad, "dWx")
    _close(dWh, net.weight_hh_l0.grad, "dWh")
    _close(dbx, net.bias_ih_l0.grad, "dbx")
    _close(dbh, net.bias_hh_l0.grad, "dbh")


@pytest.mark.parametrize("B,D,H", [(1, 1, 1), (3, 4, 5)])
def test_gru_step_matches_torch_gru_cell(B, D, H):
    rng = np.random.default_rng(B + D + H)
    x_t, h_prev, dh = rng.standard_normal((B, D)), rng.standard_normal((B, H)), rng.standard_normal((B, H))
    torch.manual_seed(0)
    net = torch.nn.GRUCell(D, H).double()
    with torch.no_grad():
        for p in net.parameters():
            p.uniform_(-0.8, 0.8)
    args = [p.detach().numpy() for p in (net.weight_ih, net.weight_hh, net.bias_ih, net.bias_hh)]
    h_t, cache = gru_step_forward(x_t, h_prev, *args)
    grads = gru_step_backward(dh, cache)
    xt, ht = _t(x_t, True), _t(h_prev, True)
    out = net(xt, ht)
    (out * _t(dh)).sum().backward()
    _close(h_t, out, "h_t")
    for got, want, what in zip(grads, (xt.grad, ht.grad, net.weight_ih.grad, net.weight_hh.grad,
                                       net.bias_ih.grad, net.bias_hh.grad),
                               ("dx_t", "dh_prev", "dWx", "dWh", "dbx", "dbh")):
        _close(got, want, what)


@pytest.mark.parametrize("T,B,D,H", SHAPES)
def test_two_layer_rnn_matches_torch_nn_rnn_num_layers_2(T, B, D, H):
    _compare("rnn", 2, False, T, B, D, H)


@pytest.mark.parametrize("T,B,D,H", SHAPES)
def test_bidirectional_rnn_matches_torch_nn_rnn_bidirectional(T, B, D, H):
    _compare("rnn", 1, True, T, B, D, H)


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("layers, bidirectional", [(1, False), (3, False), (1, True), (2, True)])
def test_every_cell_stacked_and_bidirectional_matches_torch(kind, layers, bidirectional):
    _compare(kind, layers, bidirectional, T=5, B=3, D=4, H=3, seed=layers)
