"""Checkers for chapter 6, the character-level language model: sampling, a clipped training
step, bits per character.

Sampling is random, so :func:`check_sample` checks it twice: with a fixed seed (the same seed
must give the same characters as the reference, which fixes *how* the random numbers are used)
and statistically (over thousands of draws the characters must appear as often as the model's
tempered probabilities say), so that a student whose draws are right but use the generator
differently is told exactly that.
"""
from __future__ import annotations

import math

import numpy as np

from rnnlib import charlm as _charlm
from rnnlib import optim as _optim
from rnnlib import training as _training
from rnnlib.checks._core import (
    CheckFailed,
    call_student,
    case_seeds,
    close,
    fmt_shape,
    require_array,
)

__all__ = ["check_sample", "check_train_step", "check_bits_per_char"]

# Private references, bound at import time.
_sample = _charlm.sample
_train_step = _charlm.train_step
_char_rnn_loss = _charlm.char_rnn_loss
_clip = _optim.clip_by_global_norm
_clip_value = _optim.clip_by_value
_bits = _training.bits_per_char
_exp = np.exp
_tanh = np.tanh
_sqrt = np.sqrt
_ndarray = np.ndarray
_integer = np.integer
_floating = np.floating


def _random_params(rng, V, H, scale=1.0):
    # Larger weights than a fresh model's, so that the tempered distributions differ clearly.
    return {
        "Wxh": rng.standard_normal((H, V)) * scale,
        "Whh": rng.standard_normal((H, H)) * scale / math.sqrt(H),
        "bh": rng.standard_normal(H) * 0.5,
        "Why": rng.standard_normal((V, H)) * scale,
        "by": rng.standard_normal(V) * 0.5,
    }


def _copy_params(params):
    return {k: v.copy() for k, v in params.items()}


def _softmax(z):
    e = _exp(z - z.max())
    return e / e.sum()


def _first_probs(params, first_id, temperature):
    """The tempered distribution of the first sampled character, and the hidden state."""
    h = _tanh(params["Wxh"][:, first_id] + params["bh"])
    logits = params["Why"] @ h + params["by"]
    return _softmax(logits / temperature), h


def _variant(params, first_id, n, temperature, seed, *, feed_first=False, reset=False):
    """The reference sampler with one classic mistake, for diagnosis."""
    rng = np.random.default_rng(seed)
    H, V = params["Wxh"].shape
    h = np.zeros(H)
    idx, out = first_id, []
    for _ in range(n):
        if reset:
            h = np.zeros(H)
        h = _tanh(params["Wxh"][:, first_id if feed_first else idx] + params["Whh"] @ h + params["bh"])
        p = _softmax((params["Why"] @ h + params["by"]) / temperature)
        idx = int(rng.choice(V, p=p))
        out.append(idx)
    return np.array(out)


def _as_ids(value, n, V, context):
    if isinstance(value, (list, tuple)):
        value = np.asarray(value)
    require_array(value, (n,), f"the ids sample returned{context}", dtype_kind="i")
    if n and (value.min() < 0 or value.max() >= V):
        raise CheckFailed(
            f"sample returned ids outside 0..{V - 1} (min {value.min()}, max {value.max()})"
            f"{context}: each id must be drawn from range(V)."
        )
    return value


def _sampling_frequencies(sample, params, first_id, temperature, draws, rng):
    counts = np.zeros(params["Why"].shape[0])
    for _ in range(draws):
        out = call_student(sample, params, first_id, 1, temperature, rng, name="sample")
        out = np.asarray(out).reshape(-1)
        if out.size != 1:
            extra = " (return only the generated characters, not first_id)" if out.size == 2 else ""
            raise CheckFailed(
                f"sample(..., n=1, ...) returned {out.size} ids; expected exactly 1{extra}."
            )
        counts[int(out[0])] += 1
    return counts / draws


def _check_statistics(sample, params, first_id, temperature, seed, draws):
    """Frequencies of the first character over many draws against the tempered softmax."""
    p, _ = _first_probs(params, first_id, temperature)
    freq = _sampling_frequencies(sample, params, first_id, temperature, draws,
                                 np.random.default_rng(seed))
    # Five standard errors of a frequency, plus a little: a correct sampler fails this with
    # a probability far below one in a million.
    tol = 5.0 * _sqrt(p * (1 - p) / draws) + 0.005
    bad = np.abs(freq - p) > tol
    if not bad.any():
        return None
    p1, _ = _first_probs(params, first_id, 1.0)
    pinv, _ = _first_probs(params, first_id, 1.0 / temperature)
    k = int(np.argmax(np.abs(freq - p)))
    detail = (f"character {k} came out in {freq[k]:.1%} of {draws} draws, but the model gives it "
              f"probability {p[k]:.1%} at temperature {temperature}")
    if temperature != 1.0 and np.all(np.abs(freq - p1) <= 5.0 * _sqrt(p1 * (1 - p1) / draws) + 0.005):
        return (f"{detail}. Your frequencies match temperature 1: divide the logits by the "
                "temperature before the softmax.")
    if temperature != 1.0 and np.all(np.abs(freq - pinv) <= 5.0 * _sqrt(pinv * (1 - pinv) / draws) + 0.005):
        return (f"{detail}. Your frequencies match temperature {1 / temperature:g}: you multiply "
                "the logits by the temperature; divide them by it.")
    if freq.max() == 1.0:
        return (f"{detail}. Every draw gave the same character: sample from the distribution "
                "(rng.choice(V, p=p)) instead of taking the most likely one.")
    return f"{detail}: the characters are not drawn from softmax(logits / temperature)."


def check_sample(sample, hidden=False):
    """Check a student's ``sample(params, first_id, n, temperature=1.0, rng=None) -> ids (n,)``.

    Two checks. Fixed seed: with ``rng`` an integer seed, the ids must equal the reference's
    (one ``rng.choice(V, p=p)`` per character, ``rng = np.random.default_rng(rng)``).
    Statistical: over thousands of one-character samples, each character must come out about
    as often as ``softmax(logits / temperature)`` says.
    """
    temps = (1.0, 0.5, 2.0)
    draws = 2000
    shapes = [(4, 3, 7), (9, 5, 1)] if hidden else [(6, 4, 10)]  # (V, H, n)
    seeds = case_seeds(hidden)
    for seed in seeds:
        for V, H, n in shapes:
            rng = np.random.default_rng(seed)
            params = _random_params(rng, V, H)
            first_id = int(rng.integers(V))
            for temperature in temps:
                context = f" (seed {seed}, V={V}, H={H}, n={n}, temperature={temperature})"
                # Statistics first (once per shape: thousands of calls): if the distribution is
                # wrong, that is the message to give.
                if seed == seeds[0]:
                    msg = _check_statistics(sample, params, first_id, temperature, seed, draws)
                    if msg:
                        raise CheckFailed(msg + context)
                expected = _sample(params, first_id, n, temperature, seed)
                got = call_student(sample, _copy_params(params), first_id, n, temperature, seed,
                                   name="sample")
                if isinstance(got, (list, tuple, _ndarray)) and np.asarray(got).shape == (n + 1,):
                    raise CheckFailed(
                        f"sample returned {n + 1} ids for n={n}: return only the n generated "
                        f"characters, not first_id.{context}"
                    )
                got = _as_ids(got, n, V, context)
                if np.array_equal(got, expected):
                    continue
                if n > 1 and np.array_equal(got, _variant(params, first_id, n, temperature, seed,
                                                          feed_first=True)):
                    raise CheckFailed(
                        "Every step reads first_id again: feed each sampled character back in "
                        f"as the next input.{context}"
                    )
                if n > 1 and np.array_equal(got, _variant(params, first_id, n, temperature, seed,
                                                          reset=True)):
                    raise CheckFailed(
                        "The hidden state restarts from zero at every step: carry h from one "
                        f"step to the next.{context}"
                    )
                if got[0] == expected[0]:
                    raise CheckFailed(
                        f"The first character matches the reference but character {int(np.argmax(got != expected))} "
                        "does not: after drawing a character, feed it in as the next input and "
                        f"keep the hidden state.{context}"
                    )
                raise CheckFailed(
                    "Your characters have the right distribution, but with a fixed seed they "
                    "differ from the reference's. Make the draws reproducible: "
                    "rng = np.random.default_rng(rng) once, then exactly one "
                    f"rng.choice(V, p=p) per character, nothing else drawn.{context}"
                )
    print("sample: all checks passed.")


# --------------------------------------------------------------------------------------------
# One training step with clipping
# --------------------------------------------------------------------------------------------


def _reference_train_step(params, inputs, targets, h0, lr, max_norm):
    grads = _char_rnn_loss(params, inputs, targets, h0)[1]  # kept for the diagnosis
    loss, norm, h_last = _train_step(params, inputs, targets, h0, lr, max_norm)
    return loss, norm, h_last, grads


def _applied(params, grads, lr):
    return {k: params[k] - lr * grads[k] for k in params}


def _matches(got, want):
    return all(close(got[k], want[k], rtol=1e-6, atol=1e-10) for k in want)


def check_train_step(train_step, hidden=False):
    """Check ``train_step(params, inputs, targets, h0, lr, max_norm) -> (loss, grad_norm, h_last)``.

    The step computes loss and gradients with ``rnnlib.charlm.char_rnn_loss``, clips the
    gradients by their *global* norm to ``max_norm``, updates every parameter with plain
    gradient descent ``p -= lr * g`` (in the dict it was given), and returns the loss, the
    global norm *before* clipping and the last hidden state.
    """
    shapes = [(1, 1, 5, 3), (6, 2, 4, 6)] if hidden else [(5, 3, 6, 4)]  # (T, B, V, H)
    for seed in case_seeds(hidden):
        for T, B, V, H in shapes:
            for regime in ("clipped", "not clipped"):
                rng = np.random.default_rng(seed)
                params = _random_params(rng, V, H, scale=0.7)
                inputs = rng.integers(0, V, size=(T, B))
                targets = rng.integers(0, V, size=(T, B))
                h0 = rng.standard_normal((B, H)) * 0.5
                lr = 0.1
                _, grads, _ = _char_rnn_loss(params, inputs, targets, h0)
                norm0 = _optim.global_norm(grads)
                max_norm = norm0 / 3 if regime == "clipped" else norm0 * 2
                want_params = _copy_params(params)
                loss, norm, h_last, _ = _reference_train_step(want_params, inputs, targets, h0,
                                                             lr, max_norm)
                got_params = _copy_params(params)
                # The exercise gives char_rnn_loss: the one rnnlib function it may call.
                out = call_student(train_step, got_params, inputs, targets, h0, lr, max_norm,
                                   name="train_step", allow=(_char_rnn_loss,))
                context = (f" (seed {seed}, T={T}, B={B}, V={V}, H={H}, max_norm={max_norm:.3g},"
                           f" gradient norm {norm0:.3g}, {regime})")
                if not (isinstance(out, tuple) and len(out) == 3):
                    raise CheckFailed(
                        "train_step should return a tuple (loss, grad_norm, h_last), but it "
                        f"returned {fmt_shape(out)}.{context}"
                    )
                got_loss, got_norm, got_h = out
                if not isinstance(got_params, dict) or set(got_params) != set(params):
                    raise CheckFailed(f"train_step changed the keys of params.{context}")
                if not _matches(got_params, want_params):
                    if _matches(got_params, params):
                        raise CheckFailed(
                            "params did not change: update the arrays in the dict you were given "
                            f"(params[k] -= lr * g).{context}"
                        )
                    if _matches(got_params, _applied(params, grads, lr)):
                        raise CheckFailed(
                            "The update used the unclipped gradients: when their global norm "
                            f"exceeds max_norm, scale all of them by max_norm / norm first.{context}"
                        )
                    per_array = {k: g * min(1.0, max_norm / max(float(np.linalg.norm(g)), 1e-300))
                                 for k, g in grads.items()}
                    if _matches(got_params, _applied(params, per_array, lr)):
                        raise CheckFailed(
                            "Each gradient was clipped by its own norm: clip by the global norm "
                            "of all gradients together, so that the update keeps its direction."
                            + context
                        )
                    if _matches(got_params, _applied(params, _clip_value(grads, max_norm), lr)):
                        raise CheckFailed(
                            "The gradients were clipped entry by entry (np.clip): rescale them "
                            f"all by the same factor max_norm / global norm instead.{context}"
                        )
                    if _matches(got_params, _applied(params, _clip(grads, max_norm)[0], -lr)):
                        raise CheckFailed(
                            "The parameters moved uphill: gradient descent subtracts lr * g."
                            + context
                        )
                    bad = [k for k in params if not close(got_params[k], want_params[k], 1e-6, 1e-10)]
                    raise CheckFailed(
                        f"The updated parameters are wrong for {', '.join(bad)}: expected "
                        f"params[k] - lr * clipped_grads[k].{context}"
                    )
                if not isinstance(got_loss, (float, _floating)) and not (
                        isinstance(got_loss, _ndarray) and got_loss.shape == ()):
                    raise CheckFailed(f"loss should be a number, but it is {fmt_shape(got_loss)}.{context}")
                if not close(got_loss, loss):
                    raise CheckFailed(
                        f"loss is {float(got_loss):.6g}, expected {loss:.6g}: return the loss "
                        f"char_rnn_loss computed, before the update.{context}"
                    )
                if not isinstance(got_norm, (float, _floating, int)) and not (
                        isinstance(got_norm, _ndarray) and got_norm.shape == ()):
                    raise CheckFailed(f"grad_norm should be a number, but it is {fmt_shape(got_norm)}.{context}")
                if not close(got_norm, norm):
                    if regime == "clipped" and close(got_norm, max_norm):
                        raise CheckFailed(
                            "grad_norm is the norm after clipping: return the global norm before "
                            f"clipping (that is the number worth logging).{context}"
                        )
                    if close(got_norm, norm**2):
                        raise CheckFailed(
                            f"grad_norm is the squared norm: take the square root.{context}"
                        )
                    raise CheckFailed(
                        f"grad_norm is {float(got_norm):.6g}, expected {norm:.6g}, the square root "
                        f"of the sum of squares of all gradient entries.{context}"
                    )
                require_array(got_h, (B, H), f"h_last{context}")
                if not close(got_h, h_last):
                    raise CheckFailed(
                        "h_last differs from the last hidden state char_rnn_loss returned: return "
                        f"that one (computed with the parameters before the update).{context}"
                    )
    print("train_step: all checks passed.")


# --------------------------------------------------------------------------------------------
# Bits per character
# --------------------------------------------------------------------------------------------


def check_bits_per_char(bits_per_char, hidden=False):
    """Check ``bits_per_char(loss_nats) -> float``, the loss converted from nats to bits."""
    values = [math.log(2.0), math.log(96.0), 0.0, 1.37]
    if hidden:
        values += [math.log(2.0) * 3, 4.6, 1e-3]
    for x in values:
        got = call_student(bits_per_char, x, name="bits_per_char")
        want = _bits(x)
        if isinstance(got, _ndarray) and got.shape == ():
            got = float(got)
        if not isinstance(got, (float, int, _floating, _integer)):
            raise CheckFailed(f"bits_per_char({x:.4g}) should return a number, not {fmt_shape(got)}.")
        got = float(got)
        if close(got, want, rtol=1e-9, atol=1e-12):
            continue
        msg = f"bits_per_char({x:.4g}) returned {got:.6g}, expected {want:.6g}."
        if close(got, x * math.log(2.0)):
            msg += " You multiplied by ln 2: one bit is ln 2 nats, so divide by ln 2."
        elif x > 0 and close(got, x / math.log(10.0)):
            msg += " You divided by ln 10 (that gives digits, not bits): divide by ln 2."
        elif x > 0 and close(got, math.log2(x)):
            msg += " You took log2 of the loss: the loss is already a logarithm; change its base by dividing by ln 2."
        elif close(got, x):
            msg += " That is the loss in nats, unchanged: divide by ln 2."
        raise CheckFailed(msg)
    print("bits_per_char: all checks passed.")
