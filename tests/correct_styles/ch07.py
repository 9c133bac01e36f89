"""Correct chapter 7 functions in several styles: the LSTM step forward and backward,
forecasting windows, the last-value forecast, and the chapter's question answers."""
import numpy as np


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# --- lstm_step_forward --------------------------------------------------------------------------
# Every style returns the prescribed cache (x_t, h_prev, c_prev, gates, tanh_c, Wx, Wh).

def step_one_product(x_t, h_prev, c_prev, Wx, Wh, b):
    H = h_prev.shape[1]
    a = x_t @ Wx.T + h_prev @ Wh.T + b
    i, f = _sigmoid(a[:, :H]), _sigmoid(a[:, H:2 * H])
    g, o = np.tanh(a[:, 2 * H:3 * H]), _sigmoid(a[:, 3 * H:])
    c_t = f * c_prev + i * g
    tanh_c = np.tanh(c_t)
    h_t = o * tanh_c
    gates = np.concatenate([i, f, g, o], axis=1)
    return (h_t, c_t), (x_t, h_prev, c_prev, gates, tanh_c, Wx, Wh)


def step_per_gate_matrices(x_t, h_prev, c_prev, Wx, Wh, b):
    # Olah's notation: one weight matrix per gate, split off the stacked ones; einsum products.
    Wxi, Wxf, Wxg, Wxo = np.split(Wx, 4, axis=0)
    Whi, Whf, Whg, Who = np.split(Wh, 4, axis=0)
    bi, bf, bg, bo = np.split(b, 4)
    pre = lambda Wxk, Whk, bk: np.einsum("bd,hd->bh", x_t, Wxk) + np.einsum("bk,hk->bh", h_prev, Whk) + bk
    i = 0.5 * (1 + np.tanh(0.5 * pre(Wxi, Whi, bi)))  # sigmoid through tanh
    f = 0.5 * (1 + np.tanh(0.5 * pre(Wxf, Whf, bf)))
    g = np.tanh(pre(Wxg, Whg, bg))
    o = 0.5 * (1 + np.tanh(0.5 * pre(Wxo, Who, bo)))
    c_t = i * g + c_prev * f  # another order of the sum
    tanh_c = np.tanh(c_t)
    return (o * tanh_c, c_t), (x_t, h_prev, c_prev, np.hstack([i, f, g, o]), tanh_c, Wx, Wh)


def step_columns_per_example(x_t, h_prev, c_prev, Wx, Wh, b):
    # The column form, one example at a time: a = W_x x + W_h h + b.
    B, H = h_prev.shape
    h_t, c_t = np.empty((B, H)), np.empty((B, H))
    gates = np.empty((B, 4 * H))
    for n in range(B):
        a = Wx @ x_t[n] + Wh @ h_prev[n] + b
        s = _sigmoid(a)
        gates[n] = s
        gates[n, 2 * H:3 * H] = np.tanh(a[2 * H:3 * H])
        i, f, g, o = gates[n, :H], gates[n, H:2 * H], gates[n, 2 * H:3 * H], gates[n, 3 * H:]
        c_t[n] = f * c_prev[n] + i * g
        h_t[n] = o * np.tanh(c_t[n])
    return (h_t, c_t), (x_t, h_prev, c_prev, gates, np.tanh(c_t), Wx, Wh)


def step_concatenated_input(x_t, h_prev, c_prev, Wx, Wh, b):
    # [x_t, h_prev] @ [Wx, Wh].T: one matrix for both inputs, as in Olah's W [h_{t-1}, x_t].
    H = h_prev.shape[1]
    a = np.concatenate([x_t, h_prev], axis=1) @ np.concatenate([Wx, Wh], axis=1).T + b
    gates = _sigmoid(a)
    gates[:, 2 * H:3 * H] = np.tanh(a[:, 2 * H:3 * H])
    i, f, g, o = np.split(gates, 4, axis=1)
    c_t = f * c_prev + i * g
    tanh_c = np.tanh(c_t)
    return (o * tanh_c, c_t), (x_t, h_prev, c_prev, gates, tanh_c, Wx, Wh)


# --- lstm_step_backward -------------------------------------------------------------------------

def backward_vectorised(dout, cache):
    dh_t, dc_t = dout
    x_t, h_prev, c_prev, gates, tanh_c, Wx, Wh = cache
    i, f, g, o = np.split(gates, 4, axis=1)
    dc = dc_t + dh_t * o * (1 - tanh_c ** 2)
    da = np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f),
                         dc * i * (1 - g ** 2), dh_t * tanh_c * o * (1 - o)], axis=1)
    return da @ Wx, da @ Wh, dc * f, da.T @ x_t, da.T @ h_prev, da.sum(axis=0)


def backward_gate_by_gate(dout, cache):
    # Gradients on each gate's output first, then through its nonlinearity; weights per block.
    dh_t, dc_t = dout
    x_t, h_prev, c_prev, gates, tanh_c, Wx, Wh = cache
    H = h_prev.shape[1]
    i, f, g, o = (gates[:, k * H:(k + 1) * H] for k in range(4))
    do = dh_t * tanh_c
    dc = dc_t + dh_t * o * (1 - tanh_c * tanh_c)
    di, df, dg = dc * g, dc * c_prev, dc * i
    blocks = [di * i * (1 - i), df * f * (1 - f), dg * (1 - g * g), do * o * (1 - o)]
    dWx = np.vstack([np.einsum("bh,bd->hd", d, x_t) for d in blocks])
    dWh = np.vstack([np.einsum("bh,bk->hk", d, h_prev) for d in blocks])
    db = np.concatenate([d.sum(axis=0) for d in blocks])
    dx_t = sum(d @ Wx[k * H:(k + 1) * H] for k, d in enumerate(blocks))
    dh_prev = sum(d @ Wh[k * H:(k + 1) * H] for k, d in enumerate(blocks))
    return dx_t, dh_prev, f * dc, dWx, dWh, db


def backward_per_example(dout, cache):
    # One example at a time (column vectors), the weight gradients accumulated with +=.
    dh_t, dc_t = dout
    x_t, h_prev, c_prev, gates, tanh_c, Wx, Wh = cache
    B, H = h_prev.shape
    dx, dh, dcp = np.zeros_like(x_t), np.zeros_like(h_prev), np.zeros_like(c_prev)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(4 * H)
    for n in range(B):
        i, f, g, o = gates[n, :H], gates[n, H:2 * H], gates[n, 2 * H:3 * H], gates[n, 3 * H:]
        dc = dc_t[n] + dh_t[n] * o * (1 - tanh_c[n] ** 2)
        da = np.concatenate([dc * g * i * (1 - i), dc * c_prev[n] * f * (1 - f),
                             dc * i * (1 - g ** 2), dh_t[n] * tanh_c[n] * o * (1 - o)])
        dx[n] = Wx.T @ da
        dh[n] = Wh.T @ da
        dcp[n] = dc * f
        dWx += np.outer(da, x_t[n])
        dWh += np.outer(da, h_prev[n])
        db += da
    return dx, dh, dcp, dWx, dWh, db


# --- forecast_windows ---------------------------------------------------------------------------

def windows_list_comprehension(series, window, horizon=1):
    M = len(series) - window - horizon + 1
    X = np.stack([series[i:i + window] for i in range(M)])
    y = np.stack([series[i + window:i + window + horizon] for i in range(M)])
    return X.T[:, :, None], y


def windows_index_matrix(series, window, horizon=1):
    series = np.asarray(series, dtype=float)
    M = len(series) - window - horizon + 1
    starts = np.arange(M)
    x = series[np.arange(window)[:, None] + starts[None, :]][:, :, None]   # (window, M, 1)
    y = series[starts[:, None] + window + np.arange(horizon)[None, :]]     # (M, horizon)
    return x, y


def windows_stride_tricks(series, window, horizon=1):
    views = np.lib.stride_tricks.sliding_window_view(series, window + horizon)  # (M, window+horizon)
    return np.ascontiguousarray(views[:, :window].T)[..., np.newaxis], views[:, window:].copy()


def windows_preallocated_loop(series, window, horizon=1):
    M = series.shape[0] - window - horizon + 1
    x = np.zeros((window, M, 1))
    y = np.zeros((M, horizon))
    for m in range(M):
        for t in range(window):
            x[t, m, 0] = series[m + t]
        for k in range(horizon):
            y[m, k] = series[m + window + k]
    return x, y


# --- last_value_forecast ------------------------------------------------------------------------

def last_value_repeat(x, horizon=1):
    return np.repeat(x[-1, :, :1], horizon, axis=1)


def last_value_tile(x, horizon=1):
    return np.tile(x[x.shape[0] - 1, :, 0][:, None], (1, horizon))


def last_value_broadcast(x, horizon=1):
    return x[-1, :, 0][:, None] * np.ones((1, horizon))


def last_value_loop(x, horizon=1):
    T, B, _ = x.shape
    out = np.empty((B, horizon))
    for b in range(B):
        out[b, :] = x[T - 1, b, 0]
    return out


# --- ch07_questions -----------------------------------------------------------------------------

def answers_computed():
    D, H = 3, 8
    return {"lstm_parameters": 4 * H * D + 4 * H * H + 4 * H, "forget_everything": "f",
            "cell_path_factor": 0.9 ** 50, "last_value_3_ahead": 0.4}


def answers_numpy():
    return {"lstm_parameters": np.int64(384), "forget_everything": "F",
            "cell_path_factor": np.prod(np.full(50, 0.9)), "last_value_3_ahead": np.float64(0.4)}


def answers_rounded():
    return {"lstm_parameters": 384.0, "forget_everything": " f ", "cell_path_factor": 0.00515,
            "last_value_3_ahead": [0.2, 0.5, -0.1, 0.4][-1]}


STYLES = {
    "lstm_step_forward": [step_one_product, step_per_gate_matrices, step_columns_per_example,
                          step_concatenated_input],
    "lstm_step_backward": [backward_vectorised, backward_gate_by_gate, backward_per_example],
    "forecast_windows": [windows_list_comprehension, windows_index_matrix, windows_stride_tricks,
                         windows_preallocated_loop],
    "last_value_forecast": [last_value_repeat, last_value_tile, last_value_broadcast, last_value_loop],
    "ch07_questions": [answers_computed, answers_numpy, answers_rounded],
}
