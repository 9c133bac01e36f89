"""Checkers for chapter 3: parameters, the output layer over time, and the loss over time.

* ``init_rnn_params(D, H, O, rng)`` is checked by its *properties* (keys, shapes, zero biases,
  the same result from the same seed, the ``1/sqrt(fan_in)`` scale measured on large
  matrices), so any correct way of drawing passes, not only the reference's order of draws.
* ``count_parameters``, ``output_forward``, ``sequence_cross_entropy`` and ``initial_loss``
  are compared with the references; on a mismatch the usual near misses are recomputed (biases
  forgotten, a transposed weight, the mask ignored or averaged over the wrong count, a sum
  instead of a mean, bits instead of nats, perplexity instead of loss) and named.
"""
from __future__ import annotations

import numbers

import numpy as np

from rnnlib import layers as _layers
from rnnlib import params as _params
from rnnlib import probes as _probes
from rnnlib.checks._core import (
    CheckFailed,
    call_student,
    case_seeds,
    close,
    fmt_shape,
    require_array,
)

__all__ = [
    "check_init_rnn_params",
    "check_count_parameters",
    "check_output_forward",
    "check_sequence_cross_entropy",
    "check_initial_loss",
]

_count = _params.count_parameters
_output_forward = _layers.output_forward
_sequence_ce = _probes.sequence_cross_entropy
_initial_loss = _probes.initial_loss
_ndarray = np.ndarray
_array_equal = np.array_equal
_log = np.log
_exp = np.exp
_sqrt = np.sqrt

_KEYS = ("Wxh", "Whh", "bh", "Why", "by")


# ---------------------------------------------------------------------------------------------
# init_rnn_params


def _expected_shapes(D, H, O):
    return {"Wxh": (H, D), "Whh": (H, H), "bh": (H,), "Why": (O, H), "by": (O,)}


def _fan_in(D, H, O):
    return {"Wxh": D, "Whh": H, "Why": H}


def _get_params(init, D, H, O, rng):
    params = call_student(init, D, H, O, rng, name="init_rnn_params")
    if not isinstance(params, dict):
        raise CheckFailed(
            "init_rnn_params should return a dict with the keys "
            f"{', '.join(_KEYS)}, but it returns {fmt_shape(params)}."
        )
    missing = [k for k in _KEYS if k not in params]
    extra = [k for k in params if k not in _KEYS]
    if missing:
        raise CheckFailed(
            f"init_rnn_params's dict is missing the key(s) {', '.join(map(repr, missing))}"
            + (f" and has unexpected key(s) {', '.join(map(repr, extra))}" if extra else "")
            + f". The keys must be exactly {', '.join(_KEYS)}."
        )
    if extra:
        raise CheckFailed(
            f"init_rnn_params's dict has unexpected key(s) {', '.join(map(repr, extra))}; "
            f"the keys must be exactly {', '.join(_KEYS)}."
        )
    shapes = _expected_shapes(D, H, O)
    for k in _KEYS:
        v = params[k]
        if isinstance(v, _ndarray) and k.startswith("W") and v.shape == shapes[k][::-1] and v.shape != shapes[k]:
            raise CheckFailed(
                f"params[{k!r}] has shape {v.shape}, expected {shapes[k]} (D={D}, H={H}, O={O}): it is "
                "transposed. Weights are stored (to, from): Wxh is (H, D), Why is (O, H)."
            )
        require_array(v, shapes[k], f"params[{k!r}] (D={D}, H={H}, O={O})", dtype_kind="f")
    return params


def _describe_scale(std, fan_in, fan_out):
    target = 1.0 / _sqrt(fan_in)
    if abs(std - 1.0) < 0.1:
        return "its entries have standard deviation about 1: divide the standard normal draws by sqrt(fan_in)"
    if abs(std - 1.0 / fan_in) < 0.1 / fan_in:
        return "it is divided by fan_in; divide by sqrt(fan_in) instead"
    if fan_out != fan_in and abs(std - 1.0 / _sqrt(fan_out)) < 0.1 / _sqrt(fan_out):
        return (
            "it is scaled with the number of rows; the fan-in is the number of columns "
            "(the size of the vector the matrix multiplies)"
        )
    return f"the standard deviation of its entries is {std:.4g}, expected about {target:.4g} = 1/sqrt({fan_in})"


def check_init_rnn_params(init_rnn_params, hidden=False):
    """Check a student's ``init_rnn_params(D, H, O, rng) -> params``.

    Checked: the five keys, every shape (float arrays), zero biases, the same parameters from
    the same seed (an int, or a fresh Generator with that seed), different parameters from
    different seeds, and each weight matrix's scale ``1/sqrt(fan_in)`` (mean about 0).

    Parameters
    ----------
    init_rnn_params : callable
    hidden : bool
        Hidden tests: other seeds and sizes (including ``D = 1``, ``O = 1``).
    """
    sizes = [(1, 3, 1), (7, 2, 5), (4, 4, 4)] if hidden else [(3, 5, 4), (6, 2, 3)]
    for seed in case_seeds(hidden):
        for D, H, O in sizes:
            where = f" (D={D}, H={H}, O={O}, rng={seed})"
            p1 = _get_params(init_rnn_params, D, H, O, seed)
            for k in ("bh", "by"):
                if not _array_equal(p1[k], np.zeros_like(p1[k])):
                    raise CheckFailed(
                        f"params[{k!r}] is not zero: biases start at zero (np.zeros), only the "
                        f"weight matrices are random.{where}"
                    )
            p2 = _get_params(init_rnn_params, D, H, O, seed)
            for k in ("Wxh", "Whh", "Why"):
                if not _array_equal(p1[k], p2[k]):
                    raise CheckFailed(
                        f"Not reproducible from the seed: two calls with rng={seed} give different "
                        f"params[{k!r}]. Draw everything from rng = np.random.default_rng(rng), "
                        f"never from np.random.randn or np.random.seed.{where}"
                    )
            p3 = _get_params(init_rnn_params, D, H, O, np.random.default_rng(seed))
            for k in ("Wxh", "Whh", "Why"):
                if not _array_equal(p1[k], p3[k]):
                    raise CheckFailed(
                        "Passing a Generator made with np.random.default_rng(seed) should give the same "
                        f"parameters as passing the int seed, but params[{k!r}] differs. Start with "
                        f"rng = np.random.default_rng(rng): it accepts both.{where}"
                    )
            p4 = _get_params(init_rnn_params, D, H, O, seed + 1)
            if all(_array_equal(p1[k], p4[k]) for k in ("Wxh", "Whh", "Why")):
                raise CheckFailed(
                    f"rng={seed} and rng={seed + 1} give the same parameters: the seed is ignored."
                )
            if D == H and _array_equal(p1["Wxh"], p1["Whh"]):
                raise CheckFailed(
                    "params['Wxh'] and params['Whh'] are the same matrix: draw each weight matrix separately."
                )
    # Scale, measured on large matrices where the sample standard deviation is precise.
    D, H, O = (300, 200, 120) if not hidden else (150, 260, 90)
    p = _get_params(init_rnn_params, D, H, O, case_seeds(hidden)[0])
    fans = _fan_in(D, H, O)
    shapes = _expected_shapes(D, H, O)
    for k in ("Wxh", "Whh", "Why"):
        w = p[k]
        std = float(w.std())
        target = 1.0 / _sqrt(fans[k])
        if not abs(std - target) < 0.1 * target:
            why = _describe_scale(std, fans[k], shapes[k][0])
            raise CheckFailed(f"params[{k!r}] has the wrong scale: {why}. (D={D}, H={H}, O={O})")
        if abs(float(w.mean())) > 6 * target / _sqrt(w.size):
            raise CheckFailed(
                f"params[{k!r}] has mean {float(w.mean()):.3g}, but its entries should be centred on 0: "
                f"use a normal distribution with mean 0 (rng.standard_normal). (D={D}, H={H}, O={O})"
            )
    print("init_rnn_params: all checks passed.")


# ---------------------------------------------------------------------------------------------
# count_parameters


def _random_params(rng, shapes):
    return {k: rng.standard_normal(s) for k, s in shapes.items()}


def check_count_parameters(count_parameters, hidden=False):
    """Check a student's ``count_parameters(params) -> int``.

    The cases are RNN parameter dicts of several sizes; the hidden ones add dicts with other
    keys (a two-layer model, a gated cell), since the function counts *any* dict of arrays.
    """
    rng = np.random.default_rng(case_seeds(hidden)[0])
    sizes = [(1, 3, 1), (7, 2, 5), (40, 64, 40)] if hidden else [(3, 5, 4), (65, 100, 65)]
    cases = [_random_params(rng, _expected_shapes(*s)) for s in sizes]
    if hidden:
        cases.append(
            _random_params(
                rng,
                {"Wxh": (4, 3), "Whh": (4, 4), "bh": (4,), "Wxh2": (5, 4), "Whh2": (5, 5),
                 "bh2": (5,), "Why": (2, 5), "by": (2,)},
            )
        )
        cases.append(_random_params(rng, {"W": (12, 7), "b": (12,), "Why": (3, 3), "by": (3,)}))
    for params in cases:
        desc = ", ".join(f"{k} {v.shape}" for k, v in params.items())
        want = _count(params)
        got = call_student(count_parameters, dict(params), name="count_parameters")
        if isinstance(got, _ndarray) and got.ndim == 0:
            got = got.item()
        if isinstance(got, bool) or not isinstance(got, (numbers.Integral, np.integer)):
            if isinstance(got, numbers.Real) and float(got) == want:
                raise CheckFailed(
                    f"count_parameters returns {got!r}, a {type(got).__name__}; a count is an integer: return int(...)."
                )
            raise CheckFailed(
                f"count_parameters should return an int, but it returns {fmt_shape(got)} (for {desc})."
            )
        got = int(got)
        if got == want:
            continue
        no_bias = sum(v.size for v in params.values() if v.ndim >= 2)
        rnn_only = sum(v.size for k, v in params.items() if k in _KEYS)
        if got == no_bias:
            reason = "It leaves out the biases (bh, by): they are parameters too, H + O more numbers."
        elif got == sum(sum(v.shape) for v in params.values()):
            reason = "It adds the dimensions of each shape; the number of entries is their product (array.size)."
        elif got == len(params):
            reason = "It counts the arrays; count the numbers inside them (array.size)."
        elif got == rnn_only:
            reason = "It only counts the keys Wxh, Whh, bh, Why, by; count every array in the dict."
        else:
            reason = "Add up array.size over every value in the dict."
        raise CheckFailed(f"count_parameters returns {got}, expected {want} for the dict {{{desc}}}. {reason}")
    print("count_parameters: all checks passed.")


# ---------------------------------------------------------------------------------------------
# output_forward


def _softmax(z):
    e = _exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def check_output_forward(output_forward, hidden=False):
    """Check a student's ``output_forward(hs, Why, by) -> (ys, cache)``.

    ``hs`` is ``(T, B, H)``, ``Why`` is ``(O, H)``, ``by`` is ``(O,)``, and ``ys`` must be
    ``(T, B, O)`` with ``ys[t] = hs[t] @ Why.T + by`` at every step. ``cache`` may be anything.
    """
    shapes = [(1, 1, 4, 3), (5, 2, 4, 4), (3, 4, 6, 2)] if hidden else [(4, 3, 5, 6), (2, 2, 3, 7)]
    for seed in case_seeds(hidden):
        for T, B, H, O in shapes:
            rng = np.random.default_rng(seed)
            hs = np.tanh(rng.standard_normal((T, B, H)))
            Why = rng.standard_normal((O, H))
            by = rng.standard_normal(O)
            where = f" (seed {seed}, T={T}, B={B}, H={H}, O={O})"
            want, _ = _output_forward(hs, Why, by)
            out = call_student(output_forward, hs, Why, by)
            if isinstance(out, _ndarray):
                raise CheckFailed(
                    "output_forward should return a pair (ys, cache), like every forward in this course; "
                    "it returns only an array. End with `return ys, (hs, Why)`."
                )
            if not (isinstance(out, tuple) and len(out) == 2):
                raise CheckFailed(
                    f"output_forward should return a pair (ys, cache), but it returns {fmt_shape(out)}."
                )
            ys = out[0]
            if isinstance(ys, _ndarray) and ys.shape == (B, O) and T > 1:
                raise CheckFailed(
                    f"ys has shape {ys.shape}: that is one time step. Apply the layer to every step; "
                    f"ys must be (T, B, O) = {(T, B, O)}.{where}"
                )
            require_array(ys, (T, B, O), f"ys (for T={T}, B={B}, H={H}, O={O})")
            if close(ys, want):
                continue
            if close(ys, want - by):
                reason = "It leaves out the bias by: add it at every step (it broadcasts over T and B)."
            elif H == O and close(ys, hs @ Why + by):
                reason = "It multiplies by Why where Why.T belongs: Why is stored (O, H), so the batched product is hs @ Why.T."
            elif close(ys, _softmax(want)):
                reason = "It applies softmax: the output layer returns the raw scores (logits); the loss applies softmax."
            elif close(ys, np.tanh(want)):
                reason = "It applies tanh: the output layer is affine, y_t = W_hy h_t + b_y, with no nonlinearity."
            elif close(ys[-1], want[-1]):
                reason = "The last step is right but earlier ones are not: apply the same Why and by at every time step."
            else:
                reason = "Compute ys[t] = hs[t] @ Why.T + by for every t (or all at once: hs @ Why.T + by)."
            raise CheckFailed(f"output_forward gives wrong values{where}. {reason}")
    print("output_forward: all checks passed.")


# ---------------------------------------------------------------------------------------------
# sequence_cross_entropy


def _nll(logits, targets):
    z = logits - logits.max(axis=-1, keepdims=True)
    logp = z - _log(_exp(z).sum(axis=-1, keepdims=True))
    return -np.take_along_axis(logp, targets[..., None], axis=-1)[..., 0]


def _scalar(value, name):
    if isinstance(value, tuple):
        raise CheckFailed(f"{name} should return one number (the loss), but it returns a tuple.")
    if isinstance(value, _ndarray):
        if value.size != 1:
            raise CheckFailed(
                f"{name} should return one number (the mean loss), but it returns an array of shape "
                f"{value.shape}: average it to a single number."
            )
        value = value.reshape(()).item()
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise CheckFailed(f"{name} should return a number, but it returns {fmt_shape(value)}.")
    return float(value)


def _ce_cases(hidden, seed):
    rng = np.random.default_rng(seed)
    if hidden:
        specs = [(1, 1, 3, False, 1.0), (6, 4, 10, True, 2.0), (3, 2, 5, True, 300.0)]
    else:
        specs = [(5, 3, 7, True, 2.0), (4, 2, 5, False, 2.0)]
    cases = []
    for T, B, V, masked, scale in specs:
        logits = rng.standard_normal((T, B, V)) * scale
        targets = rng.integers(0, V, size=(T, B))
        mask = None
        if masked:
            # Sequences of different lengths padded at the end, as a batch of real text would be.
            lengths = rng.integers(1, T + 1, size=B)
            lengths[0] = T
            if B > 2:
                lengths[-1] = max(1, T // 3)
            mask = np.arange(T)[:, None] < lengths[None, :]
        cases.append((logits, targets, mask))
    return cases


def _diagnose_ce(got, logits, targets, mask):
    T, B, _ = logits.shape
    nll = _nll(logits, targets)
    m = np.ones((T, B)) if mask is None else mask.astype(float)
    n = max(m.sum(), 1.0)
    right = float((nll * m).sum() / n)

    def near(v):
        return abs(got - v) <= 1e-7 * abs(v) + 1e-9

    if mask is not None and near(float(nll.mean())):
        return "It ignores the mask: padded positions (mask False) must not count."
    if mask is not None and near(float((nll * m).sum() / (T * B))):
        return (
            "It divides by every position, T*B; divide by the number of positions the mask keeps "
            "(mask.sum()), so padding does not pull the loss down."
        )
    if near(float((nll * m).sum())):
        return "It sums over the positions; the course's loss is the mean over the positions that count."
    if mask is not None and near(float(nll.sum())):
        return "It sums over every position and ignores the mask; take the mean over the unmasked positions."
    if mask is not None and B > 1:
        per_seq = (nll * m).sum(axis=0) / np.maximum(m.sum(axis=0), 1)
        if near(float(per_seq.mean())):
            return (
                "It averages each sequence first and then the sequences; the course averages over all "
                "unmasked positions at once (every position counts the same, whatever its sequence's length)."
            )
    if near(-right):
        return "It has the wrong sign: cross-entropy is minus the log-probability of the target."
    if near(right / np.log(2.0)):
        return "It is in bits (log base 2); use the natural log (np.log): the course measures the loss in nats."
    if near(float(np.exp(right))):
        return "It returns the perplexity exp(loss); return the loss itself."
    raw = -np.take_along_axis(logits, targets[..., None], axis=-1)[..., 0]
    if near(float((raw * m).sum() / n)):
        return "It uses the raw logit of the target; the loss needs log softmax: logit - log(sum(exp(logits)))."
    return ""


def check_sequence_cross_entropy(sequence_cross_entropy, hidden=False):
    """Check a student's ``sequence_cross_entropy(logits, targets, mask=None) -> float``.

    The loss is the mean over the positions where ``mask`` is True (every position when
    ``mask`` is None) of ``-log softmax(logits[t, b])[targets[t, b]]``, in nats — the
    convention of :func:`rnnlib.losses.softmax_cross_entropy`.
    """
    for seed in case_seeds(hidden):
        for logits, targets, mask in _ce_cases(hidden, seed):
            T, B, V = logits.shape
            where = f" (seed {seed}, T={T}, B={B}, V={V}, " + ("no mask" if mask is None else "with a mask") + ")"
            want = _sequence_ce(logits, targets, mask)
            if mask is None:
                got = call_student(sequence_cross_entropy, logits, targets, name="sequence_cross_entropy")
            else:
                got = call_student(sequence_cross_entropy, logits, targets, mask.copy(), name="sequence_cross_entropy")
            got = _scalar(got, "sequence_cross_entropy")
            if abs(got - want) <= 1e-7 * abs(want) + 1e-9:
                continue
            if not np.isfinite(got):
                raise CheckFailed(
                    f"sequence_cross_entropy returns {got} for logits as large as "
                    f"{float(np.abs(logits).max()):.0f}: exp overflows. Subtract each row's largest logit "
                    f"before exp; softmax does not change.{where}"
                )
            reason = _diagnose_ce(got, logits, targets, mask)
            raise CheckFailed(
                f"sequence_cross_entropy returns {got:.6g}, expected {want:.6g}{where}. {reason}".rstrip()
            )
    print("sequence_cross_entropy: all checks passed.")


# ---------------------------------------------------------------------------------------------
# initial_loss


def _loss_inputs(rng, T, B, V, H):
    params = {
        "Wxh": rng.standard_normal((H, V)),
        "Whh": rng.standard_normal((H, H)) / _sqrt(H),
        "bh": rng.standard_normal(H) * 0.3,
        # Larger than an initialisation would use, so the right loss is far from ln V.
        "Why": rng.standard_normal((V, H)) * 2.0,
        "by": rng.standard_normal(V),
    }
    x = np.eye(V)[rng.integers(0, V, size=(T, B))]
    targets = rng.integers(0, V, size=(T, B))
    return params, x, targets


def check_initial_loss(initial_loss, hidden=False):
    """Check a student's ``initial_loss(params, x, targets) -> float``.

    The model runs from ``h0 = 0``: the RNN over ``x``, the output layer at every step, and the
    mean softmax cross-entropy over all ``T*B`` positions. The parameters used here are *not*
    small, so a function that returns ``ln V`` without running the model fails.
    """
    shapes = [(1, 1, 3, 2), (7, 2, 5, 6)] if hidden else [(6, 3, 5, 4), (4, 2, 8, 3)]
    for seed in case_seeds(hidden):
        for T, B, V, H in shapes:
            rng = np.random.default_rng(seed)
            params, x, targets = _loss_inputs(rng, T, B, V, H)
            where = f" (seed {seed}, T={T}, B={B}, V={V}, H={H})"
            want = _initial_loss(params, x, targets)
            student_params = {k: v.copy() for k, v in params.items()}
            got = _scalar(call_student(initial_loss, student_params, x, targets, name="initial_loss"), "initial_loss")
            if abs(got - want) <= 1e-7 * abs(want) + 1e-9:
                continue

            def near(v):
                return abs(got - v) <= 1e-7 * abs(v) + 1e-9

            if near(float(_log(V))):
                reason = "It returns ln V without running the model: compute the loss of these parameters."
            elif near(float(_exp(want))):
                reason = "It returns the perplexity exp(loss); return the loss."
            elif near(want / float(_log(2.0))):
                reason = "It is in bits; use the natural log (nats)."
            elif near(want * T * B) and T * B > 1:
                reason = "It sums over all positions; return the mean over the T*B positions."
            elif near(want * T) and T > 1:
                reason = "It sums over time; return the mean over all T*B positions."
            elif near(want * B) and B > 1:
                reason = "It sums over the batch; return the mean over all T*B positions."
            else:
                p = dict(params)
                p["by"] = np.zeros_like(params["by"])
                if near(_initial_loss(p, x, targets)):
                    reason = "It leaves out the output bias by."
                else:
                    p = dict(params)
                    p["bh"] = np.zeros_like(params["bh"])
                    if near(_initial_loss(p, x, targets)):
                        reason = "It leaves out the hidden bias bh."
                    else:
                        reason = (
                            "Start from h0 = zeros((B, H)), run the RNN over x, apply the output layer to "
                            "every hidden state, and average the cross-entropy over all positions. Your "
                            "output_forward and sequence_cross_entropy must pass their checks first."
                        )
            raise CheckFailed(f"initial_loss returns {got:.6g}, expected {want:.6g}{where}. {reason}")
    print("initial_loss: all checks passed.")
