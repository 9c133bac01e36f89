"""Correct answers to chapters 4 and 5's graded functions, each in several styles."""
import numpy as np


# --- numerical_gradient -------------------------------------------------------------------------

def numgrad_restore(f, x, h=1e-5):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        f_plus = f(x)
        x[i] = old - h
        f_minus = f(x)
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def numgrad_restore_from_backup(f, x, h=1e-5):
    # Perturbs x in place (f may read x itself) and puts the whole array back from a backup.
    backup = x.copy()
    grad = np.empty(x.shape)
    for i in np.ndindex(*x.shape):
        x[i] += h
        up = f(x)
        np.copyto(x, backup)
        x[i] -= h
        down = f(x)
        np.copyto(x, backup)
        grad[i] = (up - down) / (2 * h)
    return grad


def numgrad_flat_view(f, x, h=1e-5):
    # Walks the flat index with x.flat, which writes into x itself.
    grad = np.zeros(x.size)
    for k in range(x.size):
        old = x.flat[k]
        x.flat[k] = old + h
        f_plus = f(x)
        x.flat[k] = old - h
        f_minus = f(x)
        x.flat[k] = old
        grad[k] = (f_plus - f_minus) / (2.0 * h)
    return grad.reshape(x.shape)


def numgrad_nditer(f, x, h=1e-5):
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    while not it.finished:
        i = it.multi_index
        saved = float(x[i])
        x[i] = saved + h
        a = float(f(x))
        x[i] = saved - h
        b = float(f(x))
        x[i] = saved
        grad[i] = 0.5 * (a - b) / h
        it.iternext()
    return grad


# --- rel_error ----------------------------------------------------------------------------------

def rel_error_norms(a, b):
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


def rel_error_sqrt_sums(a, b):
    num = np.sqrt(np.sum((a - b) ** 2))
    den = np.sqrt(np.sum(a * a)) + np.sqrt(np.sum(b * b))
    if den == 0.0:
        return 0.0
    return num / den


def rel_error_ravel(a, b):
    a, b = np.ravel(a), np.ravel(b)
    if not (a.any() or b.any()):
        return 0.0
    return float(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b)))


# --- rnn_loss -----------------------------------------------------------------------------------

def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _forward(x, h0, Wxh, Whh, bh):
    hs = np.zeros((x.shape[0], x.shape[1], Whh.shape[0]))
    h = h0
    for t in range(x.shape[0]):
        h = np.tanh(x[t] @ Wxh.T + h @ Whh.T + bh)
        hs[t] = h
    return hs


def rnn_loss_vectorised(params, x, targets, h0):
    Wxh, Whh, bh, Why, by = (params[k] for k in ("Wxh", "Whh", "bh", "Why", "by"))
    T, B, _ = x.shape
    hs = _forward(x, h0, Wxh, Whh, bh)
    probs = _softmax(hs @ Why.T + by)
    t_idx, b_idx = np.meshgrid(np.arange(T), np.arange(B), indexing="ij")
    loss = -np.mean(np.log(probs[t_idx, b_idx, targets]))
    dlogits = probs.copy()
    dlogits[t_idx, b_idx, targets] -= 1.0
    dlogits /= T * B
    dWhy = np.einsum("tbv,tbh->vh", dlogits, hs)
    dby = dlogits.sum(axis=(0, 1))
    dhs = dlogits @ Why
    dzs = np.zeros_like(hs)
    dh_next = np.zeros_like(h0)
    for t in range(T - 1, -1, -1):
        dzs[t] = (dhs[t] + dh_next) * (1 - hs[t] ** 2)
        dh_next = dzs[t] @ Whh
    h_prev = np.concatenate([h0[None], hs[:-1]])
    grads = {"Wxh": np.einsum("tbh,tbd->hd", dzs, x), "Whh": np.einsum("tbh,tbk->hk", dzs, h_prev),
             "bh": dzs.sum(axis=(0, 1)), "Why": dWhy, "by": dby}
    return float(loss), grads, hs[-1]


def rnn_loss_one_loop(params, x, targets, h0):
    # Everything in one backward loop over time, accumulating with +=.
    Wxh, Whh, bh, Why, by = (params[k] for k in ("Wxh", "Whh", "bh", "Why", "by"))
    T, B, _ = x.shape
    N = T * B
    hs = _forward(x, h0, Wxh, Whh, bh)
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    loss = 0.0
    dh_next = np.zeros_like(h0)
    for t in reversed(range(T)):
        p = _softmax(hs[t] @ Why.T + by)
        loss -= np.log(p[np.arange(B), targets[t]]).sum() / N
        dy = p
        dy[np.arange(B), targets[t]] -= 1.0
        dy /= N
        grads["Why"] += dy.T @ hs[t]
        grads["by"] += dy.sum(axis=0)
        dz = (dy @ Why + dh_next) * (1 - hs[t] ** 2)
        grads["Wxh"] += dz.T @ x[t]
        grads["Whh"] += dz.T @ (hs[t - 1] if t > 0 else h0)
        grads["bh"] += dz.sum(axis=0)
        dh_next = dz @ Whh
    return loss, grads, hs[T - 1].copy()


def rnn_loss_per_example(params, x, targets, h0):
    # Column vectors, one example at a time, the sum over examples divided by T*B at the end.
    Wxh, Whh, bh, Why, by = (params[k] for k in ("Wxh", "Whh", "bh", "Why", "by"))
    T, B, _ = x.shape
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    total = 0.0
    h_last = np.zeros_like(h0)
    for b in range(B):
        hs = [h0[b]]
        for t in range(T):
            hs.append(np.tanh(Wxh @ x[t, b] + Whh @ hs[-1] + bh))
        g = np.zeros(Whh.shape[0])
        for t in range(T, 0, -1):
            y = Why @ hs[t] + by
            p = np.exp(y - y.max())
            p /= p.sum()
            total += -np.log(p[targets[t - 1, b]])
            p[targets[t - 1, b]] -= 1.0
            grads["Why"] += np.outer(p, hs[t])
            grads["by"] += p
            dz = (Why.T @ p + g) * (1 - hs[t] ** 2)
            grads["Wxh"] += np.outer(dz, x[t - 1, b])
            grads["Whh"] += np.outer(dz, hs[t - 1])
            grads["bh"] += dz
            g = Whh.T @ dz
        h_last[b] = hs[T]
    return total / (T * B), {k: v / (T * B) for k, v in grads.items()}, h_last


# --- step_jacobian ------------------------------------------------------------------------------

def jacobian_broadcast(x_t, h_prev, Wxh, Whh, bh):
    h_t = np.tanh(Wxh @ x_t + Whh @ h_prev + bh)
    return (1.0 - h_t**2)[:, None] * Whh


def jacobian_diag(x_t, h_prev, Wxh, Whh, bh):
    h_t = np.tanh(x_t @ Wxh.T + h_prev @ Whh.T + bh)
    return np.diag(1 - h_t * h_t) @ Whh


def jacobian_entries(x_t, h_prev, Wxh, Whh, bh):
    H = Whh.shape[0]
    z = np.dot(Wxh, x_t) + np.dot(Whh, h_prev) + bh
    J = np.zeros((H, H))
    for i in range(H):
        slope = 1.0 / np.cosh(z[i]) ** 2  # tanh'(z) = sech^2(z)
        for j in range(H):
            J[i, j] = slope * Whh[i, j]
    return J


# --- gradient_norm_vs_lag -----------------------------------------------------------------------

def norms_loop(x, h0, Wxh, Whh, bh, dh_T):
    T = x.shape[0]
    states = [h0]
    for t in range(T):
        states.append(np.tanh(x[t] @ Wxh.T + states[-1] @ Whh.T + bh))
    norms = np.zeros(T + 1)
    dh = dh_T
    norms[0] = np.linalg.norm(dh)
    for k in range(1, T + 1):
        dh = (dh * (1.0 - states[T - k + 1] ** 2)) @ Whh
        norms[k] = np.linalg.norm(dh)
    return norms


def norms_list_of_arrays(x, h0, Wxh, Whh, bh, dh_T):
    hs = []
    h = h0
    for x_t in x:
        h = np.tanh(x_t @ Wxh.T + h @ Whh.T + bh)
        hs.append(h)
    out = [np.sqrt(np.sum(dh_T**2))]
    g = dh_T.copy()
    for h_t in reversed(hs):
        g = np.einsum("bi,ij->bj", g * (1 - h_t * h_t), Whh)
        out.append(np.sqrt(np.sum(g**2)))
    return np.array(out)


def norms_per_example_columns(x, h0, Wxh, Whh, bh, dh_T):
    # Column vectors per example: J^T g per step, norms summed over examples as squares.
    T, B, _ = x.shape
    sq = np.zeros(T + 1)
    for b in range(B):
        hs = [h0[b]]
        for t in range(T):
            hs.append(np.tanh(Wxh @ x[t, b] + Whh @ hs[-1] + bh))
        g = dh_T[b]
        sq[0] += g @ g
        for k in range(1, T + 1):
            J = (1 - hs[T - k + 1] ** 2)[:, None] * Whh
            g = J.T @ g
            sq[k] += g @ g
    return np.sqrt(sq)


# --- clip_by_global_norm ------------------------------------------------------------------------

def clip_dict_comprehension(grads, max_norm):
    norm = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
    scale = max_norm / norm if norm > max_norm else 1.0
    return {k: g * scale for k, g in grads.items()}, norm


def clip_concatenate(grads, max_norm):
    flat = np.concatenate([g.ravel() for g in grads.values()])
    norm = np.linalg.norm(flat)
    out = {}
    for k, g in grads.items():
        out[k] = g.copy()
        if norm > max_norm:
            out[k] *= max_norm / norm
    return out, norm


def clip_min_factor(grads, max_norm):
    total = 0.0
    for g in grads.values():
        total += float(np.vdot(g, g))
    norm = total ** 0.5
    factor = min(1.0, max_norm / max(norm, 1e-12))
    return {name: factor * g for name, g in grads.items()}, norm


def clip_pytorch_eps(grads, max_norm):
    # torch.nn.utils.clip_grad_norm_'s formula: max_norm / (norm + 1e-6), at most 1.
    norm = float(np.sqrt(sum(np.sum(g**2) for g in grads.values())))
    coef = min(1.0, max_norm / (norm + 1e-6))
    return {k: g * coef for k, g in grads.items()}, norm


# --- train_tbptt --------------------------------------------------------------------------------

def _clip(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g * g) for g in grads.values()))
    return {k: g * (max_norm / norm) for k, g in grads.items()} if norm > max_norm else grads


def tbptt_chunk_index(params, loss_fn, ids, T, B, lr, epochs=1, clip=None):
    params = {k: v.copy() for k, v in params.items()}
    L = len(ids) // B
    streams = ids[: L * B].reshape(B, L).T
    H = params["Whh"].shape[0]
    losses = []
    for _ in range(epochs):
        h = np.zeros((B, H))
        for c in range((L - 1) // T):
            loss, grads, h = loss_fn(params, streams[c * T:(c + 1) * T], streams[c * T + 1:(c + 1) * T + 1], h)
            if clip is not None:
                grads = _clip(grads, clip)
            for k in params:
                params[k] -= lr * grads[k]
            losses.append(float(loss))
    return params, losses


def tbptt_start_offsets(params, loss_fn, ids, T, B, lr, epochs=1, clip=None):
    # Streams as columns built by stacking the B pieces; chunks by start offset.
    p = {k: np.array(v, dtype=float) for k, v in params.items()}
    L = len(ids) // B
    streams = np.stack([ids[b * L:(b + 1) * L] for b in range(B)], axis=1)
    losses = []
    for epoch in range(epochs):
        state = np.zeros((B, p["Whh"].shape[0]))
        for s in range(0, L - 1, T):
            if s + T + 1 > L:
                break  # the ragged end
            loss, grads, state = loss_fn(p, streams[s:s + T], streams[s + 1:s + T + 1], state)
            if clip is not None:
                n = np.sqrt(sum(float((g ** 2).sum()) for g in grads.values()))
                if n > clip:
                    grads = {k: g * clip / n for k, g in grads.items()}
            for k, g in grads.items():
                p[k] = p[k] - lr * g
            losses.append(loss)
    return p, losses


def tbptt_generator(params, loss_fn, ids, T, B, lr, epochs=1, clip=None):
    # A generator of chunks, and a new params dict after each update.
    def chunks(streams):
        n = (streams.shape[0] - 1) // T
        for c in range(n):
            yield streams[c * T:(c + 1) * T], streams[c * T + 1:(c + 1) * T + 1]

    L = len(ids) // B
    streams = np.asarray(ids)[: L * B].reshape(B, L).T
    losses = []
    for _ in range(epochs):
        h = np.zeros((B, params["Whh"].shape[0]))
        for inputs, targets in chunks(streams):
            loss, grads, h_last = loss_fn(params, inputs, targets, h)
            if clip:
                grads = _clip(grads, clip)
            params = {k: params[k] - lr * grads[k] for k in params}
            h = h_last
            losses.append(loss)
    return params, losses


# --- the questions (answers in several spellings) -----------------------------------------------

def ch04_answers_tuples():
    return {"dWxh_shape": (5, 3), "steps_in_dWhh": [2, 3, 4, 5], "loss_evaluations": 2048}


def ch04_answers_arrays():
    return {"dWxh_shape": np.array([5, 3]), "steps_in_dWhh": range(2, 6), "loss_evaluations": 2 * 32 * 32}


def ch04_answers_floats():
    return {"dWxh_shape": [5, 3], "steps_in_dWhh": {5, 4, 3, 2}, "loss_evaluations": 2048.0}


def ch05_answers_plain():
    return {"can_grow": "B", "credited_steps": [8, 9], "clip_factor": 0.2}


def ch05_answers_spaced():
    return {"can_grow": " b ", "credited_steps": (9, 8), "clip_factor": 2 / 10}


def ch05_answers_numpy():
    return {"can_grow": "B", "credited_steps": np.array([8, 9]), "clip_factor": np.float64(0.2)}


STYLES = {
    "numerical_gradient": [numgrad_restore, numgrad_restore_from_backup, numgrad_flat_view, numgrad_nditer],
    "rel_error": [rel_error_norms, rel_error_sqrt_sums, rel_error_ravel],
    "rnn_loss": [rnn_loss_vectorised, rnn_loss_one_loop, rnn_loss_per_example],
    "step_jacobian": [jacobian_broadcast, jacobian_diag, jacobian_entries],
    "gradient_norm_vs_lag": [norms_loop, norms_list_of_arrays, norms_per_example_columns],
    "clip_by_global_norm": [clip_dict_comprehension, clip_concatenate, clip_min_factor, clip_pytorch_eps],
    "train_tbptt": [tbptt_chunk_index, tbptt_start_offsets, tbptt_generator],
    "ch04_questions": [ch04_answers_tuples, ch04_answers_arrays, ch04_answers_floats],
    "ch05_questions": [ch05_answers_plain, ch05_answers_spaced, ch05_answers_numpy],
}
