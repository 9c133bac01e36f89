"""rnnlib against PyTorch (float64): nn.RNN, nn.LSTM and the optimizers, value by value.

rnnlib stores its weights in PyTorch's layout, so a cross-check is a direct copy:
``Wxh -> weight_ih_l0``, ``Whh -> weight_hh_l0``, ``bh -> bias_ih_l0`` (PyTorch's second bias
``bias_hh_l0`` is set to zero: the two only ever appear as a sum). Skipped without torch.
"""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rnnlib.lstm import lstm_backward, lstm_forward  # noqa: E402
from rnnlib.optim import Adagrad, Adam, SGD  # noqa: E402
from rnnlib.rnn import rnn_backward, rnn_forward  # noqa: E402

TOL = 1e-10
SHAPES = [(1, 1, 1, 1), (1, 3, 4, 5), (6, 1, 3, 2), (7, 4, 5, 6)]  # (T, B, D, H)


def _t(a, grad=False):
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


def _close(got, want, what):
    want = want.detach().numpy() if isinstance(want, torch.Tensor) else want
    np.testing.assert_allclose(got, want, rtol=TOL, atol=TOL, err_msg=what)


@pytest.mark.parametrize("T,B,D,H", SHAPES)
def test_rnn_matches_torch_nn_rnn(T, B, D, H):
    rng = np.random.default_rng(T * 100 + B * 10 + D)
    x, h0 = rng.standard_normal((T, B, D)), rng.standard_normal((B, H))
    Wxh, Whh, bh = rng.standard_normal((H, D)), rng.standard_normal((H, H)) * 0.5, rng.standard_normal(H)
    dhs = rng.standard_normal((T, B, H))

    hs, cache = rnn_forward(x, h0, Wxh, Whh, bh)
    dx, dh0, dWxh, dWhh, dbh = rnn_backward(dhs, cache)

    net = torch.nn.RNN(D, H, nonlinearity="tanh", batch_first=False).double()
    with torch.no_grad():
        net.weight_ih_l0.copy_(_t(Wxh))
        net.weight_hh_l0.copy_(_t(Whh))
        net.bias_ih_l0.copy_(_t(bh))
        net.bias_hh_l0.zero_()
    xt, h0t = _t(x, True), _t(h0[None], True)  # torch wants h0 as (layers, B, H)
    out, h_last = net(xt, h0t)
    (out * _t(dhs)).sum().backward()

    _close(hs, out, "hidden states")
    _close(hs[-1], h_last[0], "last hidden state")
    _close(dx, xt.grad, "dx")
    _close(dh0, h0t.grad[0], "dh0")
    _close(dWxh, net.weight_ih_l0.grad, "dWxh")
    _close(dWhh, net.weight_hh_l0.grad, "dWhh")
    _close(dbh, net.bias_ih_l0.grad, "dbh")


@pytest.mark.parametrize("T,B,D,H", SHAPES)
def test_lstm_matches_torch_nn_lstm(T, B, D, H):
    rng = np.random.default_rng(T * 100 + B * 10 + D + 1)
    x, h0, c0 = rng.standard_normal((T, B, D)), rng.standard_normal((B, H)), rng.standard_normal((B, H))
    Wx, Wh, b = rng.standard_normal((4 * H, D)), rng.standard_normal((4 * H, H)) * 0.5, rng.standard_normal(4 * H)
    dhs = rng.standard_normal((T, B, H))

    hs, cache = lstm_forward(x, h0, c0, Wx, Wh, b)
    dx, dh0, dc0, dWx, dWh, db = lstm_backward(dhs, cache)

    net = torch.nn.LSTM(D, H, batch_first=False).double()
    with torch.no_grad():
        net.weight_ih_l0.copy_(_t(Wx))
        net.weight_hh_l0.copy_(_t(Wh))
        net.bias_ih_l0.copy_(_t(b))
        net.bias_hh_l0.zero_()
    xt, h0t, c0t = _t(x, True), _t(h0[None], True), _t(c0[None], True)
    out, (h_last, c_last) = net(xt, (h0t, c0t))
    (out * _t(dhs)).sum().backward()

    _close(hs, out, "hidden states")
    _close(cache.cs[-1], c_last[0], "last cell state")
    _close(dx, xt.grad, "dx")
    _close(dh0, h0t.grad[0], "dh0")
    _close(dc0, c0t.grad[0], "dc0")
    _close(dWx, net.weight_ih_l0.grad, "dWx")
    _close(dWh, net.weight_hh_l0.grad, "dWh")
    _close(db, net.bias_ih_l0.grad, "db")


@pytest.mark.parametrize("name", ["SGD", "Adagrad", "Adam"])
def test_optimizers_match_torch_optim(name):
    rng = np.random.default_rng(5)
    ours_cls = {"SGD": SGD, "Adagrad": Adagrad, "Adam": Adam}[name]
    theirs_cls = getattr(torch.optim, name)
    kwargs = {"SGD": {}, "Adagrad": {"eps": 1e-8}, "Adam": {"betas": (0.9, 0.999), "eps": 1e-8}}[name]
    init = {"W": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}
    params = {k: v.copy() for k, v in init.items()}
    tparams = {k: _t(v, True) for k, v in init.items()}
    ours = ours_cls(0.05)
    theirs = theirs_cls(list(tparams.values()), lr=0.05, **kwargs)
    for _ in range(10):
        grads = {k: rng.standard_normal(v.shape) for k, v in init.items()}
        ours.step(params, grads)
        for k, p in tparams.items():
            p.grad = _t(grads[k])
        theirs.step()
    for k in init:
        _close(params[k], tparams[k], f"{name} {k}")
