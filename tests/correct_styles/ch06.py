"""Correct chapter 6 functions in several styles: the character model's loss and gradients, a
clipped training step, sampling, bits per character, perplexity, and the questions' answers."""
import math

import numpy as np


def _softmax_rows(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# --- char_rnn_loss ------------------------------------------------------------------------------

def loss_loop_over_time_add_at(params, inputs, targets, h0):
    # Gather the input columns, a loop over time both ways, np.add.at for the gathered weight.
    Wxh, Whh, bh, Why, by = (params[k] for k in ("Wxh", "Whh", "bh", "Why", "by"))
    T, B = inputs.shape
    N = T * B
    hs = {-1: h0}
    ps = {}
    loss = 0.0
    for t in range(T):
        hs[t] = np.tanh(Wxh[:, inputs[t]].T + hs[t - 1] @ Whh.T + bh)
        ps[t] = _softmax_rows(hs[t] @ Why.T + by)
        loss -= np.log(ps[t][np.arange(B), targets[t]]).sum()
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    dh_next = np.zeros_like(h0)
    for t in reversed(range(T)):
        dy = ps[t].copy()
        dy[np.arange(B), targets[t]] -= 1.0
        dy /= N
        grads["Why"] += dy.T @ hs[t]
        grads["by"] += dy.sum(axis=0)
        dz = (dy @ Why + dh_next) * (1.0 - hs[t] ** 2)
        np.add.at(grads["Wxh"].T, inputs[t], dz)
        grads["Whh"] += dz.T @ hs[t - 1]
        grads["bh"] += dz.sum(axis=0)
        dh_next = dz @ Whh
    return loss / N, grads, hs[T - 1]


def loss_one_hot_vectorised(params, inputs, targets, h0):
    # One-hot inputs (T, B, V) as in chapter 4; the weight gradients as sums after the loop.
    Wxh, Whh, bh, Why, by = (params[k] for k in ("Wxh", "Whh", "bh", "Why", "by"))
    T, B = inputs.shape
    V, H = Why.shape[0], Whh.shape[0]
    x = np.eye(Wxh.shape[1])[inputs]
    hs = np.empty((T, B, H))
    h = h0
    for t in range(T):
        h = np.tanh(x[t] @ Wxh.T + h @ Whh.T + bh)
        hs[t] = h
    logits = hs @ Why.T + by
    logp = logits - logits.max(-1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(-1, keepdims=True))
    onehot_y = np.eye(V)[targets]
    loss = -np.sum(logp * onehot_y) / (T * B)
    dlogits = (np.exp(logp) - onehot_y) / (T * B)
    dhs = dlogits @ Why
    dzs = np.empty_like(hs)
    dh_next = np.zeros((B, H))
    for t in range(T - 1, -1, -1):
        dzs[t] = (dhs[t] + dh_next) * (1 - hs[t] ** 2)
        dh_next = dzs[t] @ Whh
    h_prev = np.concatenate([h0[None], hs[:-1]])
    grads = {
        "Wxh": np.einsum("tbh,tbv->hv", dzs, x),
        "Whh": np.einsum("tbh,tbk->hk", dzs, h_prev),
        "bh": dzs.sum(axis=(0, 1)),
        "Why": np.einsum("tbv,tbh->vh", dlogits, hs),
        "by": dlogits.sum(axis=(0, 1)),
    }
    return float(loss), grads, hs[-1]


def loss_per_example_columns(params, inputs, targets, h0):
    # The book's column form, one example and one step at a time, gradients accumulated with +=.
    Wxh, Whh, bh, Why, by = (params[k] for k in ("Wxh", "Whh", "bh", "Why", "by"))
    T, B = inputs.shape
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    total = 0.0
    h_last = np.empty_like(h0)
    for b in range(B):
        hs = [h0[b]]
        ps = []
        for t in range(T):
            hs.append(np.tanh(Wxh[:, inputs[t, b]] + Whh @ hs[-1] + bh))
            z = Why @ hs[-1] + by
            p = np.exp(z - z.max())
            ps.append(p / p.sum())
            total += -math.log(ps[-1][targets[t, b]])
        h_last[b] = hs[-1]
        dh_next = np.zeros(Whh.shape[0])
        for t in range(T - 1, -1, -1):
            dz_out = ps[t].copy()
            dz_out[targets[t, b]] -= 1.0
            dz_out /= T * B
            grads["Why"] += np.outer(dz_out, hs[t + 1])
            grads["by"] += dz_out
            dz = (Why.T @ dz_out + dh_next) * (1 - hs[t + 1] ** 2)
            grads["Wxh"][:, inputs[t, b]] += dz
            grads["Whh"] += np.outer(dz, hs[t])
            grads["bh"] += dz
            dh_next = Whh.T @ dz
    return total / (T * B), grads, h_last


def _rnn_forward(x, h0, Wxh, Whh, bh):
    hs = np.zeros((x.shape[0], x.shape[1], Whh.shape[0]))
    h = h0
    for t in range(x.shape[0]):
        h = np.tanh(x[t] @ Wxh.T + h @ Whh.T + bh)
        hs[t] = h
    return hs, (x, h0, hs, Wxh, Whh)


def _rnn_backward(dhs, cache):
    x, h0, hs, Wxh, Whh = cache
    dWxh, dWhh, dbh = np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros(Whh.shape[0])
    dh_next = np.zeros_like(h0)
    for t in reversed(range(x.shape[0])):
        dz = (dhs[t] + dh_next) * (1 - hs[t] ** 2)
        dWxh += dz.T @ x[t]
        dWhh += dz.T @ (hs[t - 1] if t > 0 else h0)
        dbh += dz.sum(axis=0)
        dh_next = dz @ Whh
    return None, dh_next, dWxh, dWhh, dbh


def loss_reusing_chapter4(params, inputs, targets, h0):
    # Chapter 4's rnn_forward / rnn_backward on one-hot inputs, then the output layer.
    V = params["Why"].shape[0]
    x = np.zeros(inputs.shape + (params["Wxh"].shape[1],))
    np.put_along_axis(x, inputs[..., None], 1.0, axis=-1)
    hs, cache = _rnn_forward(x, h0, params["Wxh"], params["Whh"], params["bh"])
    T, B, H = hs.shape
    probs = _softmax_rows(hs @ params["Why"].T + params["by"])
    t_idx, b_idx = np.meshgrid(np.arange(T), np.arange(B), indexing="ij")
    loss = -np.mean(np.log(probs[t_idx, b_idx, targets]))
    dlogits = probs
    dlogits[t_idx, b_idx, targets] -= 1
    dlogits /= T * B
    _, _, dWxh, dWhh, dbh = _rnn_backward(dlogits @ params["Why"], cache)
    return float(loss), {"Wxh": dWxh, "Whh": dWhh, "bh": dbh,
                         "Why": dlogits.reshape(-1, V).T @ hs.reshape(-1, H),
                         "by": dlogits.sum(axis=(0, 1))}, hs[-1]


def loss_mean_of_step_means(params, inputs, targets, h0):
    # The mean over t of each step's batch mean (the same number), each step's dlogits divided
    # by B and every gradient by T at the end; logsumexp for the loss; a loop over the batch for
    # the gathered columns.
    Wxh, Whh, bh, Why, by = (params[k] for k in ("Wxh", "Whh", "bh", "Why", "by"))
    T, B = inputs.shape
    hs, losses, dlogits = [h0], [], []
    for t in range(T):
        h = np.tanh(Wxh.T[inputs[t]] + hs[-1] @ Whh.T + bh)
        hs.append(h)
        logits = h @ Why.T + by
        top = logits.max(axis=1)
        lse = top + np.log(np.exp(logits - top[:, None]).sum(axis=1))
        losses.append(np.mean(lse - logits[np.arange(B), targets[t]]))
        d = np.exp(logits - lse[:, None])
        d[np.arange(B), targets[t]] -= 1.0
        dlogits.append(d / B)
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    dh = np.zeros_like(h0)
    for t in range(T - 1, -1, -1):
        grads["Why"] += dlogits[t].T @ hs[t + 1]
        grads["by"] += dlogits[t].sum(axis=0)
        dz = (dlogits[t] @ Why + dh) * (1.0 - hs[t + 1] ** 2)
        for b in range(B):
            grads["Wxh"][:, inputs[t, b]] += dz[b]
        grads["Whh"] += dz.T @ hs[t]
        grads["bh"] += dz.sum(axis=0)
        dh = dz @ Whh
    return float(np.mean(losses)), {k: g / T for k, g in grads.items()}, hs[-1]


# --- train_step ---------------------------------------------------------------------------------

def step_in_place(params, inputs, targets, h0, lr, max_norm):
    loss, grads, h_last = loss_loop_over_time_add_at(params, inputs, targets, h0)
    norm = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
    scale = min(1.0, max_norm / norm)
    for k in params:
        params[k] -= lr * scale * grads[k]
    return loss, norm, h_last


def step_concatenated_norm(params, inputs, targets, h0, lr, max_norm):
    loss, grads, h_last = loss_one_hot_vectorised(params, inputs, targets, h0)
    norm = np.linalg.norm(np.concatenate([g.ravel() for g in grads.values()]))
    if norm > max_norm:
        grads = {k: g * (max_norm / norm) for k, g in grads.items()}
    for k, g in grads.items():
        params[k] = params[k] - lr * g
    return loss, float(norm), h_last


def step_out_argument(params, inputs, targets, h0, lr, max_norm):
    loss, grads, h_last = loss_per_example_columns(params, inputs, targets, h0)
    sq = 0.0
    for g in grads.values():
        sq += float(np.vdot(g, g))
    norm = math.sqrt(sq)
    factor = lr * (max_norm / norm if norm > max_norm else 1.0)
    for k in params:
        np.subtract(params[k], factor * grads[k], out=params[k])
    return loss, norm, h_last


def step_pytorch_clip_factor(params, inputs, targets, h0, lr, max_norm):
    # torch.nn.utils.clip_grad_norm_: factor max_norm / (norm + 1e-6), clamped at 1, gradients
    # scaled in place; parameters and gradients walked together.
    loss, grads, h_last = loss_mean_of_step_means(params, inputs, targets, h0)
    norm = float(np.linalg.norm(np.concatenate([g.ravel() for g in grads.values()])))
    coef = max_norm / (norm + 1e-6)
    if coef < 1.0:
        for g in grads.values():
            g *= coef
    for p, g in zip(params.values(), grads.values()):
        p -= lr * g
    return loss, norm, h_last


# --- sample -------------------------------------------------------------------------------------

def sample_columns(params, first_id, n, temperature=1.0, rng=None):
    rng = np.random.default_rng(rng)
    Wxh, Whh, bh, Why, by = (params[k] for k in ("Wxh", "Whh", "bh", "Why", "by"))
    H, V = Wxh.shape
    h, idx = np.zeros(H), first_id
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        h = np.tanh(Wxh[:, idx] + Whh @ h + bh)
        z = (Why @ h + by) / temperature
        p = np.exp(z - z.max())
        p /= p.sum()
        idx = int(rng.choice(V, p=p))
        out[i] = idx
    return out


def sample_one_hot_products(params, first_id, n, temperature=1.0, rng=None):
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    V = params["Why"].shape[0]
    h = np.zeros(params["Whh"].shape[0])
    x = np.zeros(params["Wxh"].shape[1])
    x[first_id] = 1.0
    ids = []
    for _ in range(n):
        h = np.tanh(params["Wxh"] @ x + params["Whh"] @ h + params["bh"])
        z = (params["Why"] @ h + params["by"]) / temperature
        logp = z - (z.max() + np.log(np.exp(z - z.max()).sum()))
        k = gen.choice(V, p=np.exp(logp))
        ids.append(int(k))
        x = np.zeros_like(x)
        x[k] = 1.0
    return np.array(ids, dtype=int)


def sample_rows_batch_of_one(params, first_id, n, temperature=1.0, rng=None):
    rng = np.random.default_rng(rng)
    h = np.zeros((1, params["Whh"].shape[0]))
    idx = [first_id]
    out = []
    for _ in range(n):
        h = np.tanh(params["Wxh"].T[idx] + h @ params["Whh"].T + params["bh"])
        p = _softmax_rows((h @ params["Why"].T + params["by"]) / temperature)[0]
        idx = [int(rng.choice(len(p), p=p))]
        out += idx
    return np.asarray(out, dtype=np.int64)


def sample_inverse_cdf(params, first_id, n, temperature=1.0, rng=None):
    # One uniform number per character, looked up in the cumulative distribution: what
    # rng.choice(V, p=p) does inside. The temperature as a power of the probabilities,
    # p ** (1 / temperature) renormalised, which is softmax(logits / temperature).
    rng = np.random.default_rng(rng)
    Wxh, Whh, bh, Why, by = (params[k] for k in ("Wxh", "Whh", "bh", "Why", "by"))
    h, idx = np.zeros(Whh.shape[0]), first_id
    out = []
    for _ in range(n):
        h = np.tanh(Wxh[:, idx] + Whh @ h + bh)
        z = Why @ h + by
        logp = (z - z.max()) - np.log(np.exp(z - z.max()).sum())
        q = np.exp(logp / temperature)
        idx = int(np.searchsorted(np.cumsum(q / q.sum()), rng.random(), side="right"))
        out.append(idx)
    return np.array(out)


# --- bits_per_char and perplexity ---------------------------------------------------------------

def bits_divide(loss_nats):
    return loss_nats / np.log(2)


def bits_log2e(loss_nats):
    return float(loss_nats * np.log2(np.e))


def bits_change_of_base(loss_nats):
    return math.log2(math.exp(loss_nats))


def perplexity_exp(loss_nats):
    return float(np.exp(loss_nats))


def perplexity_two_to_bits(loss_nats):
    return 2.0 ** (loss_nats / math.log(2))


def perplexity_e_power(loss_nats):
    return math.e ** loss_nats


# --- ch06_questions ----------------------------------------------------------------------------

def answers_numbers():
    return {"initial_loss": 4.382, "bits": 3.0, "uniform_perplexity": 80, "temperature_to_zero": "a"}


def answers_numpy():
    return {"initial_loss": np.log(80), "bits": np.log(8) / np.log(2),
            "uniform_perplexity": np.float64(80.0), "temperature_to_zero": "A"}


def answers_expressions():
    return {"initial_loss": -math.log(1 / 80), "bits": math.log2(8),
            "uniform_perplexity": math.exp(math.log(80)), "temperature_to_zero": " a "}


STYLES = {
    "char_rnn_loss": [loss_loop_over_time_add_at, loss_one_hot_vectorised, loss_per_example_columns,
                      loss_reusing_chapter4, loss_mean_of_step_means],
    "train_step": [step_in_place, step_concatenated_norm, step_out_argument, step_pytorch_clip_factor],
    "sample": [sample_columns, sample_one_hot_products, sample_rows_batch_of_one, sample_inverse_cdf],
    "bits_per_char": [bits_divide, bits_log2e, bits_change_of_base],
    "perplexity": [perplexity_exp, perplexity_two_to_bits, perplexity_e_power],
    "ch06_questions": [answers_numbers, answers_numpy, answers_expressions],
}
