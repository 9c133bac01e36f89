"""Correct attention, decoders and answers for chapter 9, written in several styles."""
import heapq

import numpy as np


# --- attention_forward --------------------------------------------------------------------------

def attention_einsum(query, keys, mask):
    scores = np.einsum("sbh,bh->sb", keys, query)
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    e = np.exp(scores - scores.max(axis=0))
    weights = e / e.sum(axis=0)
    context = np.einsum("sb,sbh->bh", weights, keys)
    return context, weights, (query, keys, weights)


def attention_per_example(query, keys, mask):
    # One example at a time, as column vectors: e = K q over that example's real positions.
    S, B, H = keys.shape
    weights = np.zeros((S, B))
    context = np.zeros((B, H))
    for b in range(B):
        real = np.ones(S, dtype=bool) if mask is None else mask[:, b]
        K = keys[real, b]  # (S_b, H)
        e = K @ query[b]
        w = np.exp(e - e.max())
        w /= w.sum()
        weights[real, b] = w
        context[b] = w @ K
    return context, weights, (query, keys, weights)


def attention_multiply_by_mask(query, keys, mask):
    # exp of the scores, times the mask (0 for padding), over their sum: the same weights.
    scores = (keys * query[None, :, :]).sum(axis=-1)
    m = np.ones_like(scores) if mask is None else mask.astype(float)
    shift = np.where(m > 0, scores, -np.inf).max(axis=0, keepdims=True)
    e = np.exp(np.where(m > 0, scores - shift, 0.0)) * m
    weights = e / e.sum(axis=0, keepdims=True)
    context = (weights[..., None] * keys).sum(axis=0)
    return context, weights, (query, keys, weights)


def attention_matmul(query, keys, mask):
    # Batch-first views and matrix products: (B, 1, H) @ (B, H, S) -> (B, 1, S).
    kb = keys.transpose(1, 0, 2)  # (B, S, H)
    scores = (query[:, None, :] @ kb.transpose(0, 2, 1))[:, 0, :]  # (B, S)
    if mask is not None:
        scores[~mask.T] = -np.inf
    scores -= scores.max(axis=1, keepdims=True)
    w = np.exp(scores)
    w /= w.sum(axis=1, keepdims=True)
    context = (w[:, None, :] @ kb)[:, 0, :]
    return context, w.T.copy(), (query, keys, w.T.copy())


def attention_from_lengths(query, keys, mask):
    # Padding comes at the end, so each source is its first `length` positions.
    S, B, H = keys.shape
    lengths = np.full(B, S) if mask is None else mask.sum(axis=0)
    weights = np.zeros((S, B))
    context = np.zeros((B, H))
    for b in range(B):
        K = keys[: lengths[b], b]
        e = K @ query[b]
        w = np.exp(e - e.max())
        weights[: lengths[b], b] = w / w.sum()
        context[b] = weights[: lengths[b], b] @ K
    return context, weights, (query, keys, weights)


def attention_softmax_then_renormalise(query, keys, mask):
    # Softmax over every position, then padding zeroed and the rest renormalised: the same.
    scores = np.einsum("sbh,bh->sb", keys, query)
    w = np.exp(scores - scores.max(axis=0))
    if mask is not None:
        w = w * mask
    w = w / w.sum(axis=0)
    return np.einsum("sb,sbh->bh", w, keys), w, (query, keys, w)


# --- attention_backward -------------------------------------------------------------------------

def attention_backward_einsum(dcontext, cache):
    query, keys, weights = cache
    dweights = np.einsum("bh,sbh->sb", dcontext, keys)
    dscores = weights * (dweights - np.einsum("sb,sb->b", weights, dweights))
    dquery = np.einsum("sb,sbh->bh", dscores, keys)
    dkeys = np.einsum("sb,bh->sbh", weights, dcontext) + np.einsum("sb,bh->sbh", dscores, query)
    return dquery, dkeys


def attention_backward_jacobian_matrix(dcontext, cache):
    # Per example, with the softmax's Jacobian written out: J = diag(w) - w w^T.
    query, keys, weights = cache
    S, B, H = keys.shape
    dquery = np.zeros((B, H))
    dkeys = np.zeros((S, B, H))
    for b in range(B):
        w, K = weights[:, b], keys[:, b]
        dw = K @ dcontext[b]
        J = np.diag(w) - np.outer(w, w)
        de = J @ dw  # J is symmetric
        dquery[b] = K.T @ de
        dkeys[:, b] = np.outer(w, dcontext[b]) + np.outer(de, query[b])
    return dquery, dkeys


def attention_backward_loops(dcontext, cache):
    # Every position of every example, accumulated term by term.
    query, keys, weights = cache
    S, B, H = keys.shape
    dquery = np.zeros_like(query)
    dkeys = np.zeros_like(keys)
    for b in range(B):
        dw = [float(np.dot(keys[s, b], dcontext[b])) for s in range(S)]
        mean = sum(weights[s, b] * dw[s] for s in range(S))
        for s in range(S):
            de = weights[s, b] * (dw[s] - mean)
            dquery[b] += de * keys[s, b]
            dkeys[s, b] += weights[s, b] * dcontext[b] + de * query[b]
    return dquery, dkeys


# --- greedy_decode ------------------------------------------------------------------------------

def greedy_vectorised(step, state, bos, eos, max_len):
    B = state.shape[0]
    out = np.full((max_len, B), eos)
    prev = np.full(B, bos)
    finished = np.zeros(B, dtype=bool)
    t = 0
    while t < max_len and not finished.all():
        log_probs, state = step(prev, state)
        prev = log_probs.argmax(axis=-1)
        out[t, ~finished] = prev[~finished]
        finished |= prev == eos
        t += 1
    return out


def greedy_one_example_at_a_time(step, state, bos, eos, max_len):
    B = state.shape[0]
    out = np.full((max_len, B), eos, dtype=int)
    for b in range(B):
        h, prev = state[b:b + 1], np.array([bos])
        for t in range(max_len):
            log_probs, h = step(prev, h)
            prev = np.array([int(np.argmax(log_probs[0]))])
            out[t, b] = prev[0]
            if prev[0] == eos:
                break
    return out


def greedy_then_cut(step, state, bos, eos, max_len):
    # Run all max_len steps, then overwrite everything after each example's first eos.
    tokens = []
    prev = np.full(state.shape[0], bos)
    for _ in range(max_len):
        log_probs, state = step(prev, state)
        prev = np.argmax(np.exp(log_probs), axis=1)  # the argmax of the probabilities is the same
        tokens.append(prev)
    out = np.array(tokens)
    ended = np.cumsum(out == eos, axis=0) > 0
    after = np.vstack([np.zeros((1, out.shape[1]), dtype=bool), ended[:-1]])
    out[after] = eos
    return out


# --- beam_search --------------------------------------------------------------------------------

def beam_lists_per_example(step, state, bos, eos, max_len, k):
    # Each example alone, hypotheses as (score, tokens, state row) in Python lists.
    B = state.shape[0]
    ids = np.full((max_len, B), eos)
    scores = np.full(B, -np.inf)
    for b in range(B):
        beam = [(0.0, [], state[b])]
        best, best_score = None, -np.inf
        for t in range(max_len):
            prev = np.array([tokens[-1] if tokens else bos for _, tokens, _ in beam])
            log_probs, new = step(prev, np.array([h for _, _, h in beam]))
            candidates = [(score + log_probs[i, v], tokens + [v], new[i])
                          for i, (score, tokens, _) in enumerate(beam)
                          for v in range(log_probs.shape[1])]
            candidates = sorted(candidates, key=lambda c: -c[0])[:k]  # sorted() is stable
            beam = []
            for score, tokens, h in candidates:
                if tokens[-1] == eos:
                    if score / len(tokens) > best_score:
                        best, best_score = tokens, score / len(tokens)
                else:
                    beam.append((score, tokens, h))
            if not beam:
                break
        else:
            for score, tokens, _ in beam:
                if score / len(tokens) > best_score:
                    best, best_score = tokens, score / len(tokens)
        ids[: len(best), b] = best
        scores[b] = best_score
    return ids, scores


def beam_flat_arrays(step, state, bos, eos, max_len, k):
    # All examples at once; finished hypotheses kept in a list and the best chosen at the end.
    B, H = state.shape
    score = np.full((B, k), -np.inf)
    score[:, 0] = 0.0
    seqs = np.full((B, k, 0), eos)
    h = np.repeat(state, k, axis=0)
    last = np.full(B * k, bos)
    finished = [[] for _ in range(B)]
    for t in range(max_len):
        log_probs, h = step(last, h)
        V = log_probs.shape[1]
        total = score[:, :, None] + log_probs.reshape(B, k, V)
        flat = total.reshape(B, -1)
        order = np.argsort(-flat, axis=1, kind="stable")[:, :k]
        new_score = np.take_along_axis(flat, order, axis=1)
        parent, token = order // V, order % V
        seqs = np.concatenate([np.take_along_axis(seqs, parent[:, :, None], axis=1),
                               token[:, :, None]], axis=2)
        h = h[(np.arange(B)[:, None] * k + parent).ravel()]
        for b in range(B):
            for j in range(k):
                if token[b, j] == eos and np.isfinite(new_score[b, j]):
                    finished[b].append((new_score[b, j] / (t + 1), seqs[b, j].copy()))
                    new_score[b, j] = -np.inf
        score, last = new_score, token.ravel()
        if np.all(score == -np.inf):
            break
    else:
        for b in range(B):
            for j in range(k):
                if np.isfinite(score[b, j]):
                    finished[b].append((score[b, j] / max_len, seqs[b, j].copy()))
    ids = np.full((max_len, B), eos)
    best = np.full(B, -np.inf)
    for b in range(B):
        for s, seq in finished[b]:  # the first of equal scores wins, as in the search order
            if s > best[b]:
                best[b] = s
                ids[:, b] = eos
                ids[: len(seq), b] = seq
    return ids, best


def beam_log_space_loop(step, state, bos, eos, max_len, k):
    # Beams as arrays per example, extended one parent at a time.
    B = state.shape[0]
    ids = np.full((max_len, B), eos)
    out = np.full(B, -np.inf)
    for b in range(B):
        hyps = [((), 0.0)]  # (tokens, log-probability)
        states = state[b:b + 1]
        for t in range(max_len):
            prev = np.array([h[0][-1] if h[0] else bos for h in hyps])
            log_probs, states_new = step(prev, states)
            cand = []
            for i, (tokens, lp) in enumerate(hyps):
                for v in range(log_probs.shape[1]):
                    cand.append((lp + log_probs[i, v], i * log_probs.shape[1] + v, tokens + (v,), i))
            cand.sort(key=lambda c: (-c[0], c[1]))
            hyps, rows = [], []
            for lp, _, tokens, i in cand[:k]:
                if tokens[-1] == eos:
                    norm = lp / len(tokens)
                    if norm > out[b]:
                        out[b] = norm
                        ids[:, b] = eos
                        ids[: len(tokens), b] = tokens
                else:
                    hyps.append((tokens, lp))
                    rows.append(i)
            if not hyps:
                break
            states = states_new[rows]
        else:
            for tokens, lp in hyps:
                if lp / max_len > out[b]:
                    out[b] = lp / max_len
                    ids[:, b] = tokens
    return ids, out


def beam_heap(step, state, bos, eos, max_len, k):
    # One example at a time; heapq.nlargest picks the k best candidates (ties: the earlier one,
    # by hypothesis then token, as np.argsort(kind="stable") does).
    B = state.shape[0]
    ids = np.full((max_len, B), eos)
    out = np.full(B, -np.inf)
    for b in range(B):
        beam = [(0.0, (), state[b])]
        best, best_score = (), -np.inf
        for t in range(max_len):
            log_probs, new = step(np.array([tk[-1] if tk else bos for _, tk, _ in beam]),
                                  np.stack([h for _, _, h in beam]))
            V = log_probs.shape[1]
            candidates = ((score + log_probs[i, v], -(i * V + v), tokens + (v,), i)
                          for i, (score, tokens, _) in enumerate(beam) for v in range(V))
            beam = []
            for score, _, tokens, i in heapq.nlargest(k, candidates, key=lambda c: c[:2]):
                if tokens[-1] == eos:
                    if score / len(tokens) > best_score:
                        best, best_score = tokens, score / len(tokens)
                else:
                    beam.append((score, tokens, new[i]))
            if not beam:
                break
        else:
            for score, tokens, _ in beam:
                if score / max_len > best_score:
                    best, best_score = tokens, score / max_len
        ids[: len(best), b] = best
        out[b] = best_score
    return ids, out


def beam_partition(step, state, bos, eos, max_len, k):
    # np.partition finds each example's k-th best candidate score; the candidates at least as
    # good are ordered by (-score, index), so that among equal scores the first (by hypothesis,
    # then token) is kept, as the exercise asks. Finished hypotheses collected per example and
    # the best chosen at the end.
    B = state.shape[0]
    score = np.full((B, k), -np.inf)
    score[:, 0] = 0
    h = np.repeat(state, k, axis=0)
    prev = np.full(B * k, bos)
    hist = np.zeros((B, k, 0), dtype=int)
    finished = [[] for _ in range(B)]
    for t in range(max_len):
        log_probs, h = step(prev, h)
        V = log_probs.shape[1]
        cand = (score[:, :, None] + log_probs.reshape(B, k, V)).reshape(B, -1)
        top = np.empty((B, k), dtype=int)
        for b in range(B):
            row = cand[b]
            keep = np.arange(row.size)
            if k < row.size:
                kth = np.partition(row, row.size - k)[row.size - k]  # the k-th largest score
                keep = np.flatnonzero(row >= kth)  # ties at the k-th score included
            top[b] = keep[np.lexsort((keep, -row[keep]))][:k]
        score = np.take_along_axis(cand, top, 1)
        parent, token = top // V, top % V
        hist = np.concatenate([np.take_along_axis(hist, parent[:, :, None], 1), token[:, :, None]], 2)
        h = h[(np.arange(B)[:, None] * k + parent).ravel()]
        prev = token.ravel()
        ended = (token == eos) & np.isfinite(score)
        for b, j in zip(*np.nonzero(ended)):
            finished[b].append((score[b, j] / (t + 1), hist[b, j].copy()))
        score[ended] = -np.inf
        if not np.isfinite(score).any():
            break
    else:
        for b, j in zip(*np.nonzero(np.isfinite(score))):
            finished[b].append((score[b, j] / max_len, hist[b, j].copy()))
    ids = np.full((max_len, B), eos)
    out = np.full(B, -np.inf)
    for b in range(B):
        out[b], seq = max(finished[b], key=lambda f: f[0])
        ids[: len(seq), b] = seq
    return ids, out


# --- the questions --------------------------------------------------------------------------------

def answers_plain():
    return {"train_input": "a", "test_input": "b", "exposure_bias": "b", "weights_shape": (7, 4),
            "beam_rows": 15, "dscores_0": -0.375, "beam_len2": (2, 2)}


def answers_other_types():
    return {"train_input": "A", "test_input": " b ", "exposure_bias": "B",
            "weights_shape": [7, 4], "beam_rows": 15.0, "dscores_0": np.float64(-3 / 8),
            "beam_len2": [2, 2]}


def answers_computed():
    w, dw = np.array([0.25, 0.75]), np.array([1.0, 3.0])
    return {"train_input": "a", "test_input": "b", "exposure_bias": "b",
            "weights_shape": np.zeros((7, 4, 16)).shape[:2], "beam_rows": np.int64(5 * 3),
            "dscores_0": (w * (dw - w @ dw))[0], "beam_len2": np.array([2, 2])}


STYLES = {
    "attention_forward": [attention_einsum, attention_per_example, attention_multiply_by_mask,
                          attention_matmul, attention_from_lengths, attention_softmax_then_renormalise],
    "attention_backward": [attention_backward_einsum, attention_backward_jacobian_matrix,
                           attention_backward_loops],
    "greedy_decode": [greedy_vectorised, greedy_one_example_at_a_time, greedy_then_cut],
    "beam_search": [beam_lists_per_example, beam_flat_arrays, beam_log_space_loop, beam_heap,
                    beam_partition],
    "ch09_questions": [answers_plain, answers_other_types, answers_computed],
}
