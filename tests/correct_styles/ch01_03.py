"""Correct solutions of chapters 1-3, each in several styles a student might write."""
import numpy as np


# --- char_vocab ---------------------------------------------------------------------------------

def vocab_sorted_set(text):
    chars = sorted(set(text))
    return chars, {c: i for i, c in enumerate(chars)}


def vocab_loop(text):
    seen = []
    for c in text:
        if c not in seen:
            seen.append(c)
    seen.sort()
    index = {}
    for i in range(len(seen)):
        index[seen[i]] = i
    return seen, index


def vocab_numpy_unique(text):
    chars = [str(c) for c in np.unique(list(text))] if text else []
    return chars, dict(zip(chars, range(len(chars))))


def vocab_dict_fromkeys(text):
    chars = sorted(dict.fromkeys(text))
    return list(chars), {c: chars.index(c) for c in chars}


# --- one_hot ------------------------------------------------------------------------------------

def one_hot_compare(ids, V):
    return (ids[..., None] == np.arange(V)).astype(np.float64)


def one_hot_eye(ids, V):
    return np.eye(V)[ids]


def one_hot_loop(ids, V):
    flat = ids.reshape(-1)
    x = np.zeros((flat.size, V))
    for i, k in enumerate(flat):
        x[i, k] = 1.0
    return x.reshape(ids.shape + (V,))


def one_hot_put(ids, V):
    x = np.zeros(ids.shape + (V,))
    np.put_along_axis(x, ids[..., None], 1.0, axis=-1)
    return x


# --- make_batches -------------------------------------------------------------------------------

def batches_reshape(ids, T, B):
    L = len(ids) // B
    streams = ids[: B * L].reshape(B, L).T
    n = (L - 1) // T
    return streams[: n * T].reshape(n, T, B), streams[1: n * T + 1].reshape(n, T, B)


def batches_loops(ids, T, B):
    L = len(ids) // B
    n = (L - 1) // T
    inputs = np.zeros((n, T, B), dtype=ids.dtype)
    targets = np.zeros((n, T, B), dtype=ids.dtype)
    for k in range(n):
        for t in range(T):
            for b in range(B):
                inputs[k, t, b] = ids[b * L + k * T + t]
                targets[k, t, b] = ids[b * L + k * T + t + 1]
    return inputs, targets


def batches_stack_of_chunks(ids, T, B):
    L = len(ids) // B
    streams = np.stack([ids[b * L:(b + 1) * L] for b in range(B)], axis=1)  # (L, B)
    chunks_x, chunks_y = [], []
    for s in range(0, L - T, T):
        chunks_x.append(streams[s:s + T])
        chunks_y.append(streams[s + 1:s + T + 1])
    n = (L - 1) // T
    chunks_x, chunks_y = chunks_x[:n], chunks_y[:n]
    if not chunks_x:
        return np.zeros((0, T, B), dtype=ids.dtype), np.zeros((0, T, B), dtype=ids.dtype)
    return np.stack(chunks_x), np.stack(chunks_y)


def batches_fancy_index(ids, T, B):
    L = len(ids) // B
    n = (L - 1) // T
    k, t, b = np.meshgrid(np.arange(n), np.arange(T), np.arange(B), indexing="ij")
    pos = b * L + k * T + t
    return ids[pos], ids[pos + 1]


# --- sliding_windows ----------------------------------------------------------------------------

def windows_stack(series, window, horizon=1):
    M = len(series) - window - horizon + 1
    X = np.stack([series[i:i + window] for i in range(M)])
    y = np.stack([series[i + window:i + window + horizon] for i in range(M)])
    return X, y


def windows_fancy_index(series, window, horizon=1):
    M = len(series) - window - horizon + 1
    starts = np.arange(M)[:, None]
    return series[starts + np.arange(window)], series[starts + window + np.arange(horizon)]


def windows_stride_tricks(series, window, horizon=1):
    M = len(series) - window - horizon + 1
    both = np.lib.stride_tricks.sliding_window_view(series, window + horizon, axis=0)[:M]
    both = np.moveaxis(both, -1, 1)  # (M, window + horizon, ...)
    return both[:, :window].copy(), both[:, window:].copy()


def windows_preallocated(series, window, horizon=1):
    M = len(series) - window - horizon + 1
    X = np.empty((M, window) + series.shape[1:])
    y = np.empty((M, horizon) + series.shape[1:])
    for i in range(M):
        X[i] = series[i:i + window]
        y[i] = series[i + window:i + window + horizon]
    return X, y


# --- memory_probe -------------------------------------------------------------------------------

def _forward(x, h0, Wxh, Whh, bh):
    hs = np.zeros((x.shape[0],) + h0.shape)
    h = h0
    for t in range(x.shape[0]):
        h = np.tanh(x[t] @ Wxh.T + h @ Whh.T + bh)
        hs[t] = h
    return hs


def probe_copy(x, h0, Wxh, Whh, bh, dx0):
    x2 = x.copy()
    x2[0] += dx0
    return np.linalg.norm(_forward(x2, h0, Wxh, Whh, bh)[-1] - _forward(x, h0, Wxh, Whh, bh)[-1], axis=1)


def probe_concatenate(x, h0, Wxh, Whh, bh, dx0):
    x2 = np.concatenate([(x[0] + dx0)[None], x[1:]])
    d = _forward(x2, h0, Wxh, Whh, bh)[-1] - _forward(x, h0, Wxh, Whh, bh)[-1]
    return np.sqrt((d ** 2).sum(axis=1))


def probe_batched_once(x, h0, Wxh, Whh, bh, dx0):
    # Both runs as one batch of 2B sequences.
    B = x.shape[1]
    x2 = x.copy()
    x2[0] = x2[0] + dx0
    hs = _forward(np.concatenate([x, x2], axis=1), np.concatenate([h0, h0]), Wxh, Whh, bh)
    return np.linalg.norm(hs[-1, B:] - hs[-1, :B], axis=-1)


def probe_per_example(x, h0, Wxh, Whh, bh, dx0):
    out = np.zeros(x.shape[1])
    for b in range(x.shape[1]):
        xb = x[:, b:b + 1].copy()
        xb[0] = xb[0] + dx0[b]
        h_changed = _forward(xb, h0[b:b + 1], Wxh, Whh, bh)[-1, 0]
        h_plain = _forward(x[:, b:b + 1], h0[b:b + 1], Wxh, Whh, bh)[-1, 0]
        out[b] = np.linalg.norm(h_changed - h_plain)
    return out


# --- init_rnn_params ----------------------------------------------------------------------------

def init_dict(D, H, O, rng=None):
    rng = np.random.default_rng(rng)
    return {"Wxh": rng.standard_normal((H, D)) / np.sqrt(D),
            "Whh": rng.standard_normal((H, H)) / np.sqrt(H),
            "bh": np.zeros(H),
            "Why": rng.standard_normal((O, H)) / np.sqrt(H),
            "by": np.zeros(O)}


def init_normal_scale(D, H, O, rng=None):
    # Another order of draws, with rng.normal's scale argument.
    rng = np.random.default_rng(rng)
    Why = rng.normal(0.0, 1.0 / np.sqrt(H), size=(O, H))
    Whh = rng.normal(0.0, 1.0 / np.sqrt(H), size=(H, H))
    Wxh = rng.normal(0.0, 1.0 / np.sqrt(D), size=(H, D))
    return {"Wxh": Wxh, "Whh": Whh, "bh": np.zeros(H), "Why": Why, "by": np.zeros(O)}


def init_loop_over_shapes(D, H, O, rng=None):
    rng = np.random.default_rng(rng)
    shapes = {"Wxh": (H, D), "Whh": (H, H), "bh": (H,), "Why": (O, H), "by": (O,)}
    params = {}
    for name, shape in shapes.items():
        if len(shape) == 1:
            params[name] = np.zeros(shape)
        else:
            params[name] = rng.standard_normal(shape) * shape[1] ** -0.5
    return params


# --- count_parameters ---------------------------------------------------------------------------

def count_sum_sizes(params):
    return int(sum(p.size for p in params.values()))


def count_loop_prod(params):
    total = 0
    for name in params:
        n = 1
        for d in params[name].shape:
            n *= d
        total += n
    return total


def count_numpy(params):
    return int(np.sum([np.prod(p.shape, dtype=int) for p in params.values()]))


# --- output_forward -----------------------------------------------------------------------------

def output_broadcast(hs, Why, by):
    return hs @ Why.T + by, (hs, Why)


def output_loop(hs, Why, by):
    ys = np.zeros(hs.shape[:2] + (Why.shape[0],))
    for t in range(hs.shape[0]):
        ys[t] = hs[t] @ Why.T + by
    return ys, (hs, Why)


def output_einsum(hs, Why, by):
    return np.einsum("tbh,oh->tbo", hs, Why) + by, (hs, Why)


def output_columns(hs, Why, by):
    # The book's column form y = W h + b, one example at a time.
    T, B, _ = hs.shape
    ys = np.empty((T, B, Why.shape[0]))
    for t in range(T):
        for b in range(B):
            ys[t, b] = Why @ hs[t, b] + by
    return ys, (hs, Why)


# --- sequence_cross_entropy ---------------------------------------------------------------------

def ce_take_along(logits, targets, mask=None):
    if mask is None:
        mask = np.ones(targets.shape, dtype=bool)
    z = logits - logits.max(axis=-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    nll = -np.take_along_axis(logp, targets[..., None], axis=-1)[..., 0]
    return float((nll * mask).sum() / mask.sum())


def ce_loops(logits, targets, mask=None):
    T, B, V = logits.shape
    total, count = 0.0, 0
    for t in range(T):
        for b in range(B):
            if mask is not None and not mask[t, b]:
                continue
            z = logits[t, b]
            m = z.max()
            total += -(z[targets[t, b]] - m - np.log(np.sum(np.exp(z - m))))
            count += 1
    return total / count


def ce_onehot_logsumexp(logits, targets, mask=None):
    V = logits.shape[-1]
    m = logits.max(axis=-1, keepdims=True)
    lse = m[..., 0] + np.log(np.exp(logits - m).sum(axis=-1))
    picked = (logits * (targets[..., None] == np.arange(V))).sum(axis=-1)
    nll = lse - picked
    if mask is None:
        return float(nll.mean())
    return float(nll[mask].mean())


# --- initial_loss -------------------------------------------------------------------------------

def loss_loop(params, x, targets):
    T, B, _ = x.shape
    h = np.zeros((B, params["Whh"].shape[0]))
    total = 0.0
    for t in range(T):
        h = np.tanh(x[t] @ params["Wxh"].T + h @ params["Whh"].T + params["bh"])
        y = h @ params["Why"].T + params["by"]
        y = y - y.max(axis=1, keepdims=True)
        logp = y - np.log(np.exp(y).sum(axis=1, keepdims=True))
        total -= logp[np.arange(B), targets[t]].sum()
    return total / (T * B)


def loss_all_states_then_outputs(params, x, targets):
    hs = _forward(x, np.zeros((x.shape[1], params["Whh"].shape[0])), params["Wxh"], params["Whh"], params["bh"])
    ys = hs @ params["Why"].T + params["by"]
    return ce_take_along(ys, targets)


def loss_columns(params, x, targets):
    # One example at a time, column vectors, the book's formulas.
    T, B, _ = x.shape
    losses = []
    for b in range(B):
        h = np.zeros(params["Whh"].shape[0])
        for t in range(T):
            h = np.tanh(params["Wxh"] @ x[t, b] + params["Whh"] @ h + params["bh"])
            y = params["Why"] @ h + params["by"]
            p = np.exp(y - y.max())
            p /= p.sum()
            losses.append(-np.log(p[targets[t, b]]))
    return float(np.mean(losses))


# --- conceptual questions: the right answers, written in different ways -------------------------

def ch01_answers_ints():
    return {"n_chunks": 9, "x_shape": (25, 4, 80), "n_windows": 86}


def ch01_answers_floats_and_lists():
    return {"n_chunks": 9.0, "x_shape": [25, 4, 80], "n_windows": np.int64(86)}


def ch01_answers_numpy():
    return {"n_chunks": np.int64(9), "x_shape": np.array([25, 4, 80]), "n_windows": 86.0}


def ch02_answers_ints():
    return {"hs_shape": (7, 3, 4), "whh_products": 19, "probe_shape": (3,), "slope_at_099": 0.0199}


def ch02_answers_lists():
    return {"hs_shape": [7, 3, 4], "whh_products": 19.0, "probe_shape": [3], "slope_at_099": 1 - 0.99 ** 2}


def ch02_answers_numpy():
    return {"hs_shape": np.array([7, 3, 4]), "whh_products": np.int64(19), "probe_shape": (3,),
            "slope_at_099": np.float64(0.0199)}


def ch03_answers_exact():
    return {"n_params": 23165, "n_params_T1000": 23165, "initial_loss_V65": float(np.log(65)),
            "dlogit_target": -0.2}


def ch03_answers_rounded():
    return {"n_params": 23165.0, "n_params_T1000": np.int64(23165), "initial_loss_V65": 4.174,
            "dlogit_target": (0.2 - 1) / 4}


def ch03_answers_expressions():
    H, D, O = 100, 65, 65
    n = H * D + H * H + H + O * H + O
    return {"n_params": n, "n_params_T1000": n, "initial_loss_V65": np.log(65.0), "dlogit_target": -0.20}


STYLES = {
    "char_vocab": [vocab_sorted_set, vocab_loop, vocab_numpy_unique, vocab_dict_fromkeys],
    "one_hot": [one_hot_compare, one_hot_eye, one_hot_loop, one_hot_put],
    "make_batches": [batches_reshape, batches_loops, batches_stack_of_chunks, batches_fancy_index],
    "sliding_windows": [windows_stack, windows_fancy_index, windows_stride_tricks, windows_preallocated],
    "memory_probe": [probe_copy, probe_concatenate, probe_batched_once, probe_per_example],
    "init_rnn_params": [init_dict, init_normal_scale, init_loop_over_shapes],
    "count_parameters": [count_sum_sizes, count_loop_prod, count_numpy],
    "output_forward": [output_broadcast, output_loop, output_einsum, output_columns],
    "sequence_cross_entropy": [ce_take_along, ce_loops, ce_onehot_logsumexp],
    "initial_loss": [loss_loop, loss_all_states_then_outputs, loss_columns],
    "ch01_questions": [ch01_answers_ints, ch01_answers_floats_and_lists, ch01_answers_numpy],
    "ch02_questions": [ch02_answers_ints, ch02_answers_lists, ch02_answers_numpy],
    "ch03_questions": [ch03_answers_exact, ch03_answers_rounded, ch03_answers_expressions],
}
