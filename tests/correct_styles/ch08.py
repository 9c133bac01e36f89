"""Correct GRU steps (forward and backward), bidirectional GRUs and answers, in several styles."""
import numpy as np


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# --- gru_step_forward ---------------------------------------------------------------------------

def step_split_blocks(x_t, h_prev, Wx, Wh, bx, bh):
    # Two products, then np.split into the three blocks.
    ar, az, an = np.split(x_t @ Wx.T + bx, 3, axis=1)
    gr, gz, gn = np.split(h_prev @ Wh.T + bh, 3, axis=1)
    r, z = _sigmoid(ar + gr), _sigmoid(az + gz)
    n = np.tanh(an + r * gn)
    return (1 - z) * n + z * h_prev, (x_t, h_prev, r, z, n, gn, Wx, Wh)


def step_weights_per_gate(x_t, h_prev, Wx, Wh, bx, bh):
    # Six matrices and six biases, one per gate and side, as the formulas are written.
    H = h_prev.shape[1]
    W_ir, W_iz, W_in = Wx[:H], Wx[H:2 * H], Wx[2 * H:]
    W_hr, W_hz, W_hn = Wh[:H], Wh[H:2 * H], Wh[2 * H:]
    b_ir, b_iz, b_in = bx[:H], bx[H:2 * H], bx[2 * H:]
    b_hr, b_hz, b_hn = bh[:H], bh[H:2 * H], bh[2 * H:]
    r = _sigmoid(x_t @ W_ir.T + b_ir + h_prev @ W_hr.T + b_hr)
    z = _sigmoid(x_t @ W_iz.T + b_iz + h_prev @ W_hz.T + b_hz)
    hn = h_prev @ W_hn.T + b_hn
    n = np.tanh(x_t @ W_in.T + b_in + r * hn)
    h_t = n + z * (h_prev - n)  # = (1 - z) n + z h_prev
    return h_t, (x_t, h_prev, r, z, n, hn, Wx, Wh)


def step_columns_per_example(x_t, h_prev, Wx, Wh, bx, bh):
    # The column form, one example at a time, sigmoid through tanh.
    B, H = h_prev.shape
    r, z, n, hn, h_t = (np.empty((B, H)) for _ in range(5))
    for b in range(B):
        a = Wx @ x_t[b] + bx
        g = Wh @ h_prev[b] + bh
        r[b] = 0.5 * (1 + np.tanh(0.5 * (a[:H] + g[:H])))
        z[b] = 0.5 * (1 + np.tanh(0.5 * (a[H:2 * H] + g[H:2 * H])))
        hn[b] = g[2 * H:]
        n[b] = np.tanh(a[2 * H:] + r[b] * hn[b])
        h_t[b] = (1 - z[b]) * n[b] + z[b] * h_prev[b]
    return h_t, (x_t, h_prev, r, z, n, hn, Wx, Wh)


def step_einsum(x_t, h_prev, Wx, Wh, bx, bh):
    H = h_prev.shape[1]
    a = np.einsum("gd,bd->bg", Wx, x_t) + bx
    g = np.einsum("gk,bk->bg", Wh, h_prev) + bh
    rz = _sigmoid(a[:, :2 * H] + g[:, :2 * H])
    r, z = rz[:, :H], rz[:, H:]
    hn = g[:, 2 * H:]
    n = np.tanh(a[:, 2 * H:] + r * hn)
    return z * h_prev + (1 - z) * n, (x_t, h_prev, r, z, n, hn, Wx, Wh)


# --- gru_step_backward --------------------------------------------------------------------------

def back_concatenate(dh_t, cache):
    x_t, h_prev, r, z, n, hn, Wx, Wh = cache
    dn = dh_t * (1 - z)
    dz = dh_t * (h_prev - n)
    da_n = dn * (1 - n ** 2)
    da_r = da_n * hn * r * (1 - r)
    da_z = dz * z * (1 - z)
    da = np.concatenate([da_r, da_z, da_n], axis=1)          # input side
    dg = np.concatenate([da_r, da_z, da_n * r], axis=1)      # hidden side
    return (da @ Wx, dg @ Wh + dh_t * z, da.T @ x_t, dg.T @ h_prev, da.sum(0), dg.sum(0))


def back_per_block(dh_t, cache):
    # Each block's weights separately, then stacked.
    x_t, h_prev, r, z, n, hn, Wx, Wh = cache
    H = h_prev.shape[1]
    da_n = dh_t * (1 - z) * (1 - n * n)
    da_r = da_n * hn * r * (1 - r)
    da_z = dh_t * (h_prev - n) * z * (1 - z)
    dg_n = da_n * r
    dx = da_r @ Wx[:H] + da_z @ Wx[H:2 * H] + da_n @ Wx[2 * H:]
    dh_prev = dh_t * z + da_r @ Wh[:H] + da_z @ Wh[H:2 * H] + dg_n @ Wh[2 * H:]
    dWx = np.vstack([da_r.T @ x_t, da_z.T @ x_t, da_n.T @ x_t])
    dWh = np.vstack([da_r.T @ h_prev, da_z.T @ h_prev, dg_n.T @ h_prev])
    dbx = np.concatenate([da_r.sum(0), da_z.sum(0), da_n.sum(0)])
    dbh = np.concatenate([da_r.sum(0), da_z.sum(0), dg_n.sum(0)])
    return dx, dh_prev, dWx, dWh, dbx, dbh


def back_per_example(dh_t, cache):
    # Accumulate the weight gradients example by example with +=.
    x_t, h_prev, r, z, n, hn, Wx, Wh = cache
    B, H = h_prev.shape
    dx, dh_prev = np.zeros_like(x_t), np.zeros_like(h_prev)
    dWx, dWh, dbx, dbh = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(3 * H), np.zeros(3 * H)
    for b in range(B):
        da_n = dh_t[b] * (1 - z[b]) * (1 - n[b] ** 2)
        da_r = da_n * hn[b] * r[b] * (1 - r[b])
        da_z = dh_t[b] * (h_prev[b] - n[b]) * z[b] * (1 - z[b])
        da = np.concatenate([da_r, da_z, da_n])
        dg = np.concatenate([da_r, da_z, da_n * r[b]])
        dx[b] = Wx.T @ da
        dh_prev[b] = Wh.T @ dg + dh_t[b] * z[b]
        dWx += np.outer(da, x_t[b])
        dWh += np.outer(dg, h_prev[b])
        dbx += da
        dbh += dg
    return dx, dh_prev, dWx, dWh, dbx, dbh


# --- bidirectional_gru_forward ------------------------------------------------------------------

def bi_two_loops(x, h0_f, h0_b, fwd, bwd):
    T = x.shape[0]
    hf, hb = h0_f, h0_b
    out_f, out_b = [], [None] * T
    for t in range(T):
        hf, _ = step_split_blocks(x[t], hf, *fwd)
        out_f.append(hf)
    for t in range(T - 1, -1, -1):
        hb, _ = step_split_blocks(x[t], hb, *bwd)
        out_b[t] = hb
    return np.concatenate([np.stack(out_f), np.stack(out_b)], axis=-1)


def bi_reverse_then_flip(x, h0_f, h0_b, fwd, bwd):
    # A one-direction helper run on x and on x[::-1]; its output flipped back.
    def run(seq, h, params):
        states = []
        for x_t in seq:
            h, _ = step_weights_per_gate(x_t, h, *params)
            states.append(h)
        return np.array(states)

    return np.concatenate([run(x, h0_f, fwd), run(x[::-1], h0_b, bwd)[::-1]], axis=2)


def bi_preallocated(x, h0_f, h0_b, fwd, bwd):
    # Write both directions into one output array, in a single loop over k.
    T, B, _ = x.shape
    H = h0_f.shape[1]
    hs = np.zeros((T, B, 2 * H))
    hf, hb = h0_f, h0_b
    for k in range(T):
        hf, _ = step_einsum(x[k], hf, *fwd)
        hb, _ = step_einsum(x[T - 1 - k], hb, *bwd)
        hs[k, :, :H] = hf
        hs[T - 1 - k, :, H:] = hb
    return hs


# --- ch08_questions -----------------------------------------------------------------------------

def answers_plain():
    return {"gru_params": 1920, "copy_z": 1, "direct_path": "z", "bi_backward_reads": "x[t..T-1]",
            "bi_can_generate": False, "layer2_input_shape": (48, 32)}


def answers_computed():
    D, H = 10, 20
    return {"gru_params": 3 * H * D + 3 * H * H + 3 * H + 3 * H, "copy_z": 1.0,
            "direct_path": " Z ", "bi_backward_reads": "X[t..T-1]", "bi_can_generate": False,
            "layer2_input_shape": [3 * 16, 2 * 16]}


def answers_numpy():
    return {"gru_params": np.int64(1920), "copy_z": np.float64(1.0), "direct_path": "z",
            "bi_backward_reads": "x[t..T-1]", "bi_can_generate": np.bool_(False),
            "layer2_input_shape": np.array([48, 32])}


def answers_slice_spelling():
    # x[t:T] is x[t..T-1] written as a Python slice; "(z)" is "z".
    return {"gru_params": 1920, "copy_z": 1, "direct_path": "(z)", "bi_backward_reads": "x[t:T]",
            "bi_can_generate": False, "layer2_input_shape": (48, 32)}


STYLES = {
    "gru_step_forward": [step_split_blocks, step_weights_per_gate, step_columns_per_example, step_einsum],
    "gru_step_backward": [back_concatenate, back_per_block, back_per_example],
    "bidirectional_gru_forward": [bi_two_loops, bi_reverse_then_flip, bi_preallocated],
    "ch08_questions": [answers_plain, answers_computed, answers_numpy, answers_slice_spelling],
}
