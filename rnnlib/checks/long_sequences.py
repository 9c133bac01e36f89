"""Checkers for chapter 5, long sequences: Jacobians, gradient norm vs lag, clipping, TBPTT.

The truncated-BPTT checker runs the student's training loop on a tiny problem with a loss
function that *records* every call (the chunk it was given, the starting hidden state, the
parameters at that moment). Comparing that record with the reference's says exactly where the
loop departs: wrong chunks, targets not shifted, the hidden state reset instead of carried,
a wrong update.
"""
from __future__ import annotations

import numpy as np

from rnnlib import data as _data
from rnnlib import dynamics as _dyn
from rnnlib import optim as _optim
from rnnlib import training as _training
from rnnlib.checks._core import (
    CheckFailed,
    call_student,
    case_seeds,
    close,
    fmt_shape,
    require_array,
    require_close,
)

__all__ = [
    "check_step_jacobian",
    "check_gradient_norm_vs_lag",
    "check_clip_by_global_norm",
    "check_train_tbptt",
]

_step_jacobian = _dyn.step_jacobian
_norm_vs_lag = _dyn.gradient_norm_vs_lag
_rnn_loss = _dyn.rnn_loss
_clip = _optim.clip_by_global_norm
_tanh = np.tanh
_norm = np.linalg.norm
_array_equal = np.array_equal


# --------------------------------------------------------------------------------------------
# step_jacobian
# --------------------------------------------------------------------------------------------

def check_step_jacobian(step_jacobian, hidden=False):
    """Check a student's ``step_jacobian(h_prev, x_t, Wxh, Whh, bh) -> J (H, H)`` for one example.

    ``J[i, j] = d h_t[i] / d h_prev[j] = (1 - h_t[i]**2) * Whh[i, j]``.
    """
    shapes = [(1, 3), (4, 4), (2, 6)] if hidden else [(3, 4), (5, 2)]
    for seed in case_seeds(hidden):
        for D, H in shapes:
            rng = np.random.default_rng(seed)
            h_prev = rng.standard_normal(H) * 0.8
            x_t = rng.standard_normal(D)
            Wxh = rng.standard_normal((H, D))
            Whh = rng.standard_normal((H, H))
            bh = rng.standard_normal(H) * 0.5
            want = _step_jacobian(x_t, h_prev, Wxh, Whh, bh)
            got = call_student(step_jacobian, h_prev, x_t, Wxh, Whh, bh)
            where = f" (seed {seed}, D={D}, H={H})"
            require_array(got, (H, H), "J" + where)
            if close(got, want):
                continue
            z = Wxh @ x_t + Whh @ h_prev + bh
            h_t = _tanh(z)
            s = 1 - h_t**2
            if close(got, want.T):
                hint = ("It is the transpose: J[i, j] is d h_t[i] / d h_prev[j], so tanh's slope at unit i "
                        "scales row i of Whh (diag(s) @ Whh, i.e. s[:, None] * Whh), not column i.")
            elif close(got, Whh):
                hint = "It is Whh alone: multiply by tanh's derivative 1 - h_t**2 (one factor per row)."
            elif close(got, (1 - h_prev**2)[:, None] * Whh):
                hint = "It uses tanh's slope at h_prev; the slope belongs to this step's output h_t."
            elif close(got, (1 - z**2)[:, None] * Whh):
                hint = "It uses 1 - z**2 with z the pre-activation: tanh'(z) is 1 - tanh(z)**2 = 1 - h_t**2."
            elif close(got, s[None, :] * Whh) or close(got, Whh @ np.diag(s)):
                hint = "tanh's slope scales the columns: it must scale the rows (diag(s) @ Whh)."
            elif close(got, s[:, None] * Whh.T):
                hint = "It uses Whh.T: with column vectors the step is W_hh h_prev, so d h_t/d h_prev involves W_hh itself."
            elif close(got, np.diag(s)):
                hint = "It is diag(1 - h_t**2) alone: the chain rule multiplies it by Whh."
            else:
                hint = "Compute h_t, then J = (1 - h_t**2)[:, None] * Whh."
            require_close(got, want, "J", context=f" {hint}{where}")
    print("step_jacobian: all checks passed.")


# --------------------------------------------------------------------------------------------
# gradient_norm_vs_lag
# --------------------------------------------------------------------------------------------

def _norms_variant(x, h0, Wxh, Whh, bh, dh_T, kind):
    T = x.shape[0]
    hs = []
    h = h0
    for t in range(T):
        h = _tanh(x[t] @ Wxh.T + h @ Whh.T + bh)
        hs.append(h)
    states = [h0] + hs  # states[t] is h_t
    out = [_norm(dh_T)]
    dh = dh_T
    for k in range(1, T + 1):
        t = T - k + 1  # undoing step t: from dL/dh_t to dL/dh_{t-1}
        if kind == "no_slope":
            dh = dh @ Whh
        elif kind == "transpose":
            dh = (dh * (1 - states[t] ** 2)) @ Whh.T
        elif kind == "prev_slope":
            dh = (dh * (1 - states[t - 1] ** 2)) @ Whh
        out.append(_norm(dh))
    return np.array(out)


def check_gradient_norm_vs_lag(gradient_norm_vs_lag, hidden=False):
    """Check ``gradient_norm_vs_lag(x, h0, Wxh, Whh, bh, dh_T) -> norms (T + 1,)``.

    ``norms[k]`` is the norm of ``dL/dh_(T-k)`` when only ``h_T`` receives the gradient ``dh_T``.
    """
    shapes = [(1, 2, 3, 4), (6, 1, 2, 3), (12, 3, 4, 4)] if hidden else [(8, 2, 3, 5), (5, 3, 2, 4)]
    for seed in case_seeds(hidden):
        for T, B, D, H in shapes:
            rng = np.random.default_rng(seed)
            x = rng.standard_normal((T, B, D))
            h0 = rng.standard_normal((B, H)) * 0.5
            Wxh = rng.standard_normal((H, D)) * 0.5
            Whh = rng.standard_normal((H, H)) * 1.2 / np.sqrt(H)
            bh = rng.standard_normal(H) * 0.2
            dh_T = rng.standard_normal((B, H))
            args = (x, h0, Wxh, Whh, bh, dh_T)
            want = _norm_vs_lag(*args)
            got = call_student(gradient_norm_vs_lag, *args)
            where = f" (seed {seed}, T={T}, B={B}, D={D}, H={H})"
            if isinstance(got, (list, tuple)):
                got = np.asarray(got, dtype=float)
            if isinstance(got, np.ndarray) and got.shape == (T,):
                raise CheckFailed(
                    f"norms has {T} values, expected T + 1 = {T + 1}: lags run from 0 (||dh_T||, the "
                    "gradient you start with) to T (the gradient on h0)." + where
                )
            require_array(got, (T + 1,), "norms" + where)
            if close(got, want, rtol=1e-6):
                continue
            if T > 1 and close(got, want[::-1], rtol=1e-6):
                hint = "It is reversed: norms[0] is lag 0 (the last state), norms[T] is the gradient on h0."
            elif abs(got[0] - want[0]) > 1e-9 * max(1, want[0]):
                hint = f"norms[0] should be ||dh_T|| = {want[0]:.6g}, the gradient before any step back."
            elif close(got, _norms_variant(*args, "no_slope"), rtol=1e-6):
                hint = "It ignores tanh's derivative: each step back multiplies by (1 - h_t**2) before Whh."
            elif close(got, _norms_variant(*args, "transpose"), rtol=1e-6):
                hint = ("It uses Whh.T: with rows as examples the step back is (dh * (1 - h_t**2)) @ Whh "
                        "(the transpose of the column form W_hh^T dh).")
            elif close(got, _norms_variant(*args, "prev_slope"), rtol=1e-6):
                hint = ("It uses tanh's slope at h_(t-1): going from dL/dh_t to dL/dh_(t-1), the slope is "
                        "the one of the step that produced h_t, 1 - h_t**2.")
            else:
                k = int(np.argmax(np.abs(got - want) > 1e-6 * np.abs(want) + 1e-12))
                hint = f"It matches up to lag {k - 1} and first differs at lag {k}."
            raise CheckFailed("gradient_norm_vs_lag gives wrong norms. " + hint + where)
    print("gradient_norm_vs_lag: all checks passed.")


# --------------------------------------------------------------------------------------------
# clip_by_global_norm
# --------------------------------------------------------------------------------------------

def _grads_case(rng, scale):
    return {
        "Wxh": rng.standard_normal((4, 3)) * scale,
        "Whh": rng.standard_normal((4, 4)) * scale,
        "bh": rng.standard_normal(4) * scale,
        "Why": rng.standard_normal((2, 4)) * scale * 5,  # one array much larger than the rest
        "by": rng.standard_normal(2) * scale,
    }


def check_clip_by_global_norm(clip_by_global_norm, hidden=False):
    """Check ``clip_by_global_norm(grads, max_norm) -> (clipped, norm_before)``."""
    for seed in case_seeds(hidden):
        rng = np.random.default_rng(seed)
        cases = [(_grads_case(rng, 1.0), 1.0), (_grads_case(rng, 0.01), 5.0), (_grads_case(rng, 3.0), 2.5)]
        if hidden:
            g = _grads_case(rng, 1.0)
            cases.append((g, float(np.sqrt(sum(np.sum(v * v) for v in g.values())))))  # exactly at the limit
            cases.append(({"W": rng.standard_normal((3, 3)) * 10}, 0.5))
        for grads, max_norm in cases:
            keep = {k: v.copy() for k, v in grads.items()}
            want, want_norm = _clip(keep, max_norm)
            student_in = {k: v.copy() for k, v in grads.items()}
            out = call_student(clip_by_global_norm, student_in, max_norm)
            where = f" (seed {seed}, max_norm={max_norm:.3g}, global norm {want_norm:.3g})"
            if not (isinstance(out, tuple) and len(out) == 2):
                raise CheckFailed(
                    "clip_by_global_norm should return (clipped, norm_before), but it returned "
                    f"{fmt_shape(out)}." + where
                )
            clipped, norm = out
            if not isinstance(clipped, dict) or set(clipped) != set(grads):
                raise CheckFailed(
                    "clipped should be a dict with the same keys as grads"
                    + (f"; it has {sorted(clipped)}" if isinstance(clipped, dict) else f", but it is {fmt_shape(clipped)}")
                    + "." + where
                )
            try:
                norm = float(norm)
            except (TypeError, ValueError):
                raise CheckFailed(f"norm_before should be a number, but it is {fmt_shape(norm)}.") from None
            for k in grads:
                require_array(clipped[k], grads[k].shape, f"clipped['{k}']" + where)
            if any(not _array_equal(student_in[k], grads[k]) for k in grads) and want_norm > max_norm:
                raise CheckFailed(
                    "clip_by_global_norm changed the caller's gradient arrays in place: return new "
                    "arrays (g * scale) and leave grads as they were." + where
                )
            if abs(norm - want_norm) > 1e-9 * max(1.0, want_norm):
                got_after = np.sqrt(sum(np.sum(c * c) for c in clipped.values()))
                if abs(norm - min(want_norm, max_norm)) < 1e-9 * max(1.0, want_norm) and abs(norm - got_after) < 1e-9 * max(1.0, norm):
                    hint = "It is the norm after clipping: return the norm before clipping (it shows the spikes)."
                elif abs(norm - want_norm**2) < 1e-9 * max(1.0, want_norm**2):
                    hint = "It is the squared norm: take the square root of the sum of squares."
                else:
                    hint = "The global norm is sqrt(sum over every array of sum(g**2))."
                raise CheckFailed(f"norm_before is {norm:.6g}, expected {want_norm:.6g}. {hint}{where}")
            if all(close(clipped[k], want[k]) for k in grads):
                continue
            per_array = {k: g * min(1.0, max_norm / max(_norm(g), 1e-300)) for k, g in grads.items()}
            by_value = {k: np.clip(g, -max_norm, max_norm) for k, g in grads.items()}
            always = {k: g * (max_norm / want_norm) for k, g in grads.items()}
            if all(close(clipped[k], per_array[k]) for k in grads):
                hint = ("Each array was clipped by its own norm. Clip by the global norm: one factor "
                        "max_norm / global_norm for every array, so the update keeps its direction.")
            elif all(close(clipped[k], by_value[k]) for k in grads):
                hint = "That is clipping by value (np.clip); this function rescales all arrays by one factor."
            elif want_norm <= max_norm and all(close(clipped[k], always[k]) for k in grads):
                hint = ("The global norm was already below max_norm, but you rescaled the gradients up to "
                        "max_norm: only shrink them when the norm exceeds the limit.")
            elif all(close(clipped[k], grads[k]) for k in grads):
                hint = "The gradients came back unchanged although their norm exceeds max_norm."
            else:
                hint = "When the global norm n exceeds max_norm, multiply every array by max_norm / n."
            bad = next(k for k in grads if not close(clipped[k], want[k]))
            raise CheckFailed(f"clipped['{bad}'] is wrong. {hint}{where}")
    print("clip_by_global_norm: all checks passed.")


# --------------------------------------------------------------------------------------------
# train_tbptt
# --------------------------------------------------------------------------------------------

def _train_tbptt(params, loss_fn, ids, T, B, lr, epochs=1, clip=None, carry_state=True):
    """The reference of chapter 5's exercise: rnnlib's one training loop with plain SGD.

    Each epoch reads the ``(L, B)`` streams in non-overlapping chunks of ``T`` (a ragged end
    skipped) from ``h = 0``; ``carry_state=False`` is the "forgot to carry" variant.
    """
    params = {k: np.array(v, dtype=np.float64, copy=True) for k, v in params.items()}
    streams = _data.batchify(ids, B)
    H = params["Whh"].shape[0]
    losses = []
    for _ in range(epochs):
        chunks = _data.iter_chunks(streams, T, drop_last=True)
        history = _training.tbptt_train(params, loss_fn, chunks, _optim.SGD(lr), clip=clip,
                                        h0=np.zeros((B, H)), carry=carry_state)
        losses += history["loss"]
    return params, losses


class _Recorder:
    """A character-model loss function that remembers every call it receives."""

    def __init__(self, V):
        self.V = V
        self.calls = []  # (inputs, targets, h0, params snapshot, h_last)

    def __call__(self, params, inputs, targets, h0):
        inputs = np.asarray(inputs)
        targets = np.asarray(targets)
        h0 = np.asarray(h0, dtype=float)
        snap = {k: np.array(v, dtype=float, copy=True) for k, v in params.items()}
        x = np.eye(self.V)[inputs]  # one-hot, (T, B, V)
        loss, grads, h_last = _rnn_loss(snap, x, targets, h0)
        self.calls.append((inputs.copy(), targets.copy(), h0.copy(), snap, h_last.copy()))
        return loss, grads, h_last.copy()


def _tbptt_case(seed, hidden):
    rng = np.random.default_rng(seed)
    V, H = 5, 4
    params = {
        "Wxh": rng.standard_normal((H, V)) * 0.5,
        "Whh": rng.standard_normal((H, H)) * 0.5,
        "bh": np.zeros(H),
        "Why": rng.standard_normal((V, H)) * 0.5,
        "by": np.zeros(V),
    }
    if hidden:
        ids = rng.integers(0, V, size=53)
        settings = [dict(T=3, B=3, lr=0.3, epochs=2, clip=0.2), dict(T=1, B=1, lr=0.5, epochs=1, clip=None)]
    else:
        ids = rng.integers(0, V, size=45)
        settings = [dict(T=4, B=2, lr=0.5, epochs=1, clip=None), dict(T=5, B=2, lr=0.5, epochs=2, clip=0.1)]
    return V, params, ids, settings


def check_train_tbptt(train_tbptt, hidden=False):
    """Check ``train_tbptt(params, loss_fn, ids, T, B, lr, epochs=1, clip=None) -> (params, losses)``.

    The student's loop is run on a tiny character problem with a recording ``loss_fn`` and
    compared call by call with the reference: which chunk is read, whether the targets are the
    next ids, whether the hidden state is carried from chunk to chunk (and reset to zero at the
    start of each epoch), and whether the SGD update (with optional clipping) is right.
    """
    for seed in case_seeds(hidden):
        V, params, ids, settings = _tbptt_case(seed, hidden)
        for st in settings:
            T, B, lr, epochs, clip = st["T"], st["B"], st["lr"], st["epochs"], st["clip"]
            where = f" (seed {seed}, T={T}, B={B}, lr={lr}, epochs={epochs}, clip={clip}, len(ids)={len(ids)})"
            ref = _Recorder(V)
            want_params, want_losses = _train_tbptt(params, ref, ids, T, B, lr, epochs=epochs, clip=clip)
            reset = _Recorder(V)
            _, reset_losses = _train_tbptt(params, reset, ids, T, B, lr, epochs=epochs, clip=clip, carry_state=False)
            rec = _Recorder(V)
            student_params = {k: v.copy() for k, v in params.items()}
            out = call_student(train_tbptt, student_params, rec, ids, T, B, lr, epochs=epochs, clip=clip)
            _check_calls(rec.calls, ref.calls, T, B, lr, clip, where)
            if not (isinstance(out, tuple) and len(out) == 2):
                raise CheckFailed("train_tbptt should return (params, losses), but it returned " + fmt_shape(out) + "." + where)
            got_params, got_losses = out
            try:
                got_losses = np.asarray(got_losses, dtype=float).ravel()
            except (TypeError, ValueError):
                raise CheckFailed("losses should be a list of floats, one per chunk." + where) from None
            if got_losses.shape != (len(want_losses),):
                raise CheckFailed(
                    f"losses has {got_losses.size} values, expected one per update: {len(want_losses)}." + where
                )
            if close(got_losses, np.asarray(reset_losses)) and not close(got_losses, np.asarray(want_losses)):
                raise CheckFailed("Your losses are those of a loop that resets h at each chunk: carry h_last "
                                  "into the next chunk." + where)
            require_close(got_losses, np.asarray(want_losses), "losses", context=where)
            if not isinstance(got_params, dict):
                raise CheckFailed(f"The first return value should be the params dict, but it is {fmt_shape(got_params)}." + where)
            for k, w in want_params.items():
                if k not in got_params:
                    raise CheckFailed(f"The returned params have no key '{k}'." + where)
                require_close(np.asarray(got_params[k]), w, f"params['{k}'] after training",
                              context=" The last update is wrong (or not applied)." + where)
    print("train_tbptt: all checks passed.")


def _check_calls(got, want, T, B, lr, clip, where):
    """Compare the student's sequence of loss_fn calls with the reference's, call by call."""
    n_chunks = len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        g_in, g_tg, g_h0, g_p, _ = g
        w_in, w_tg, w_h0, w_p, _ = w
        at = f"At update {i}"
        if g_in.shape != w_in.shape:
            raise CheckFailed(
                f"{at}, loss_fn received inputs of shape {g_in.shape}, expected (T, B) = {w_in.shape}: "
                "each chunk is T consecutive rows of the (L, B) streams." + where
            )
        if not _array_equal(g_in, w_in):
            L = w_in.shape[0]
            hint = ""
            if i == 0:
                hint = (" The streams are ids[:L*B].reshape(B, L).T with L = len(ids) // B: column b is "
                        "the b-th contiguous piece of ids, so each column continues where its last chunk ended.")
            else:
                hint = f" Chunk c reads streams[c*T:(c+1)*T]; the chunks go in order, without overlap."
            raise CheckFailed(f"{at}, loss_fn received the wrong inputs.{hint}" + where)
        if not _array_equal(g_tg, w_tg):
            if _array_equal(g_tg, g_in):
                hint = " The targets equal the inputs: each target is the next id, streams[c*T+1:(c+1)*T+1]."
            else:
                hint = " The targets are the inputs shifted one step later: streams[c*T+1:(c+1)*T+1]."
            raise CheckFailed(f"{at}, loss_fn received the wrong targets.{hint}" + where)
        if g_h0.shape != w_h0.shape or not close(g_h0, w_h0, rtol=1e-9, atol=1e-12):
            if g_h0.shape != w_h0.shape:
                hint = f" h0 has shape {g_h0.shape}, expected (B, H) = {w_h0.shape}."
            elif not np.any(w_h0):
                hint = " A new pass over the data starts from h = 0 (zeros of shape (B, H))."
            elif not np.any(g_h0):
                hint = (" You reset h at each chunk (h0 is all zeros). Carry the previous chunk's h_last "
                        "into this one: the model should keep reading across the cut; only the gradient stops there.")
            elif i > 0 and close(g_h0, got[i - 1][4], rtol=1e-9, atol=1e-12):
                hint = " It is the previous call's h_last, but that call was not the previous chunk."
            else:
                hint = " h0 must be the h_last that loss_fn returned for the previous chunk."
            raise CheckFailed(f"{at}, loss_fn received the wrong starting hidden state.{hint}" + where)
        bad = [k for k in w_p if k not in g_p or not close(g_p[k], w_p[k], rtol=1e-9, atol=1e-12)]
        if bad:
            k = bad[0]
            if i == 0:
                raise CheckFailed(f"{at}, params['{k}'] had already changed before the first chunk." + where)
            prev_p, prev_grads = want[i - 1][3], _grads_of(want[i - 1])
            raw = {kk: prev_p[kk] - lr * prev_grads[kk] for kk in prev_p}
            up = {kk: prev_p[kk] + lr * prev_grads[kk] for kk in prev_p}
            nolr = {kk: prev_p[kk] - prev_grads[kk] for kk in prev_p}
            if k in g_p and close(g_p[k], prev_p[k], rtol=1e-9, atol=1e-12):
                hint = f" params['{k}'] did not change after update {i - 1}: update every parameter in place or pass the new dict on."
            elif all(kk in g_p and close(g_p[kk], up[kk]) for kk in prev_p):
                hint = " The update went uphill: SGD subtracts, p -= lr * g."
            elif all(kk in g_p and close(g_p[kk], nolr[kk]) for kk in prev_p):
                hint = " The update ignores the learning rate: p -= lr * g."
            elif clip is not None and all(kk in g_p and close(g_p[kk], raw[kk]) for kk in prev_p):
                hint = f" The gradients were not clipped to global norm {clip} before the update."
            else:
                hint = " The SGD step is p -= lr * g" + (f", with g clipped to global norm {clip}." if clip is not None else ".")
            raise CheckFailed(f"{at}, params['{k}'] differs from the reference after update {i - 1}.{hint}" + where)
    if len(got) != n_chunks:
        per = "(L - 1) // T full chunks per epoch, with L = len(ids) // B"
        raise CheckFailed(
            f"Your loop called loss_fn {len(got)} times, expected {n_chunks}: {per}, times epochs." + where
        )


def _grads_of(call):
    inputs, targets, h0, snap, _ = call
    V = snap["Why"].shape[0]
    return _rnn_loss(snap, np.eye(V)[inputs], targets, h0)[1]
