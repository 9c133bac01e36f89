"""Correct vanilla-RNN steps and sequences, forward and backward, in several styles."""
import numpy as np


# --- rnn_step_forward ---------------------------------------------------------------------------

def step_rows(x_t, h_prev, Wxh, Whh, bh):
    h_t = np.tanh(x_t @ Wxh.T + h_prev @ Whh.T + bh)
    return h_t, (x_t, h_prev, h_t, Wxh, Whh)


def step_columns_per_example(x_t, h_prev, Wxh, Whh, bh):
    # The book's column form, one example at a time: h = tanh(W_xh x + W_hh h + b).
    h_t = np.empty((x_t.shape[0], Whh.shape[0]))
    for b in range(x_t.shape[0]):
        h_t[b] = np.tanh(np.dot(Wxh, x_t[b]) + np.dot(Whh, h_prev[b]) + bh)
    return h_t, (x_t, h_prev, h_t, Wxh, Whh)


def step_einsum(x_t, h_prev, Wxh, Whh, bh):
    z = np.einsum("hd,bd->bh", Wxh, x_t) + np.einsum("hk,bk->bh", Whh, h_prev) + bh[None, :]
    h_t = (np.exp(2 * z) - 1) / (np.exp(2 * z) + 1)  # tanh written out
    return h_t, (x_t, h_prev, h_t, Wxh, Whh)


def step_transposed_product(x_t, h_prev, Wxh, Whh, bh):
    # (W x^T)^T computed column-major, then transposed back.
    z = (Wxh @ x_t.T + Whh @ h_prev.T + bh[:, None]).T
    h_t = np.tanh(z)
    return h_t, (x_t, h_prev, h_t, Wxh, Whh)


# --- rnn_forward --------------------------------------------------------------------------------

def forward_loop_of_steps(x, h0, Wxh, Whh, bh):
    hs = np.zeros((x.shape[0], x.shape[1], Whh.shape[0]))
    h = h0
    for t in range(x.shape[0]):
        h, _ = step_rows(x[t], h, Wxh, Whh, bh)
        hs[t] = h
    return hs, (x, h0, hs, Wxh, Whh)


def forward_projection_first(x, h0, Wxh, Whh, bh):
    T, B, D = x.shape
    a = (x.reshape(T * B, D) @ Wxh.T + bh).reshape(T, B, -1)
    states = []
    h = h0
    for a_t in a:
        h = np.tanh(a_t + h @ Whh.T)
        states.append(h)
    hs = np.stack(states)
    return hs, (x, h0, hs, Wxh, Whh)


def forward_einsum(x, h0, Wxh, Whh, bh):
    hs = np.empty(x.shape[:2] + (Whh.shape[0],))
    h = h0.copy()
    for t, x_t in enumerate(x):
        h = np.tanh(np.einsum("bd,hd->bh", x_t, Wxh) + np.einsum("bk,hk->bh", h, Whh) + bh)
        hs[t] = h
    return hs, (x, h0, hs, Wxh, Whh)


def forward_per_example(x, h0, Wxh, Whh, bh):
    T, B, _ = x.shape
    hs = np.zeros((T, B, Whh.shape[0]))
    for b in range(B):
        h = h0[b]
        for t in range(T):
            h = np.tanh(Wxh @ x[t, b] + Whh @ h + bh)
            hs[t, b] = h
    return hs, (x, h0, hs, Wxh, Whh)


# --- rnn_step_backward --------------------------------------------------------------------------

def step_backward_rows(dh_t, cache):
    x_t, h_prev, h_t, Wxh, Whh = cache
    dz = dh_t * (1 - h_t ** 2)
    return dz @ Wxh, dz @ Whh, dz.T @ x_t, dz.T @ h_prev, dz.sum(axis=0)


def step_backward_outer_products(dh_t, cache):
    x_t, h_prev, h_t, Wxh, Whh = cache
    dWxh, dWhh, dbh = np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros(Whh.shape[0])
    dx_t, dh_prev = np.zeros_like(x_t), np.zeros_like(h_prev)
    for b in range(x_t.shape[0]):
        dz = dh_t[b] * (1 - h_t[b] * h_t[b])
        dWxh += np.outer(dz, x_t[b])
        dWhh += np.outer(dz, h_prev[b])
        dbh += dz
        dx_t[b] = Wxh.T @ dz
        dh_prev[b] = Whh.T @ dz
    return dx_t, dh_prev, dWxh, dWhh, dbh


def step_backward_einsum(dh_t, cache):
    x_t, h_prev, h_t, Wxh, Whh = cache
    dz = np.einsum("bh,bh->bh", dh_t, 1 - np.square(h_t))
    return (np.einsum("bh,hd->bd", dz, Wxh), np.einsum("bh,hk->bk", dz, Whh),
            np.einsum("bh,bd->hd", dz, x_t), np.einsum("bh,bk->hk", dz, h_prev),
            np.einsum("bh->h", dz))


# --- rnn_backward -------------------------------------------------------------------------------

def backward_loop_of_steps(dhs, cache):
    x, h0, hs, Wxh, Whh = cache
    dx = np.zeros_like(x)
    dWxh, dWhh, dbh = np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros(Whh.shape[0])
    dh_next = np.zeros_like(h0)
    for t in reversed(range(x.shape[0])):
        h_prev = h0 if t == 0 else hs[t - 1]
        dx[t], dh_next, a, b, c = step_backward_rows(dhs[t] + dh_next, (x[t], h_prev, hs[t], Wxh, Whh))
        dWxh += a
        dWhh += b
        dbh += c
    return dx, dh_next, dWxh, dWhh, dbh


def backward_collect_then_sum(dhs, cache):
    x, h0, hs, Wxh, Whh = cache
    T = x.shape[0]
    dzs = [None] * T
    dh = np.zeros_like(h0)
    for t in range(T - 1, -1, -1):
        dzs[t] = (dhs[t] + dh) * (1 - hs[t] ** 2)
        dh = dzs[t] @ Whh
    dz = np.stack(dzs)
    h_prev = np.concatenate([h0[None], hs[:-1]], axis=0)
    return (np.einsum("tbh,hd->tbd", dz, Wxh), dh, np.einsum("tbh,tbd->hd", dz, x),
            np.einsum("tbh,tbk->hk", dz, h_prev), dz.sum(axis=(0, 1)))


def backward_per_example(dhs, cache):
    x, h0, hs, Wxh, Whh = cache
    T, B, _ = x.shape
    dx = np.zeros_like(x)
    dh0 = np.zeros_like(h0)
    dWxh, dWhh, dbh = np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros(Whh.shape[0])
    for b in range(B):
        g = np.zeros(Whh.shape[0])
        for t in range(T - 1, -1, -1):
            dz = (dhs[t, b] + g) * (1 - hs[t, b] ** 2)
            prev = hs[t - 1, b] if t > 0 else h0[b]
            dWxh += np.outer(dz, x[t, b])
            dWhh += np.outer(dz, prev)
            dbh += dz
            dx[t, b] = Wxh.T @ dz
            g = Whh.T @ dz
        dh0[b] = g
    return dx, dh0, dWxh, dWhh, dbh


def backward_vectorised_sums(dhs, cache):
    # The loop only carries the gradient back; the weight sums are products over time afterwards.
    x, h0, hs, Wxh, Whh = cache
    dz = np.zeros_like(hs)
    dh_next = np.zeros_like(h0)
    for t in reversed(range(hs.shape[0])):
        dz[t] = (dhs[t] + dh_next) * (1.0 - hs[t] ** 2)
        dh_next = dz[t] @ Whh
    h_prev = np.concatenate([h0[None], hs[:-1]])
    return (dz @ Wxh, dh_next, np.einsum("tbh,tbd->hd", dz, x),
            np.tensordot(dz, h_prev, axes=([0, 1], [0, 1])), dz.sum(axis=(0, 1)))


STYLES = {
    "rnn_step_forward": [step_rows, step_columns_per_example, step_einsum, step_transposed_product],
    "rnn_forward": [forward_loop_of_steps, forward_projection_first, forward_einsum, forward_per_example],
    "rnn_step_backward": [step_backward_rows, step_backward_outer_products, step_backward_einsum],
    "rnn_backward": [backward_loop_of_steps, backward_collect_then_sum, backward_per_example,
                     backward_vectorised_sums],
}
