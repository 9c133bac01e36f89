"""Checkers for chapter 8, gated and deeper networks: the GRU step forward and backward, a
bidirectional GRU built from the student's step, and the chapter's conceptual questions.

Every graded function is an :class:`~rnnlib.checks._engine.Exercise` whose catalogue of known
mistakes is built from the references in :mod:`rnnlib.gru` and :mod:`rnnlib.bidirectional`:
an edit of their source (:func:`~rnnlib.checks._engine.mutate`; the step's gates are computed
in ``rnnlib.gru._gates`` and differentiated in ``rnnlib.gru._gates_backward``, so most edits
land there), or the reference with one input changed. The GRU follows PyTorch: gates stacked
``(r, z, n)``, ``h_t = (1 - z) * n + z * h_prev``, and the reset gate multiplies
``W_hn h_prev + b_hn``, the whole hidden term of the candidate.
"""
from __future__ import annotations

import numpy as np

from rnnlib import bidirectional as _bi
from rnnlib import gru as _gru
from rnnlib.checks._core import CheckFailed, call_student, case_seeds
from rnnlib.checks._engine import Case, Exercise, Mistake, close, mutate, run_backward_check, run_check
from rnnlib.checks._questions import Question, Wrong, question_set

__all__ = [
    "check_gru_step_forward",
    "check_gru_step_backward",
    "check_bidirectional_gru_forward",
    "check_ch08_questions",
]

_step_forward = _gru.gru_step_forward
_step_backward = _gru.gru_step_backward
_gates = _gru._gates
_gates_backward = _gru._gates_backward
_bidirectional = _bi.bidirectional_gru_forward
_STEP_FIELDS = ("x_t", "h_prev", "r", "z", "n", "hn", "Wx", "Wh")


# ---------------------------------------------------------------------------------------------
# Cases. B, D, H differ so that a swapped axis is a shape error; weights are large enough that
# the gates spread over (0, 1) instead of all sitting near 0.5, so that a gate used in the
# wrong place shows.


def _gru_params(rng, D, H):
    return (rng.standard_normal((3 * H, D)) * 0.8, rng.standard_normal((3 * H, H)) * 0.8,
            rng.standard_normal(3 * H) * 0.8, rng.standard_normal(3 * H) * 0.8)


def _step_case(seed, B, D, H, with_dh=False):
    rng = np.random.default_rng(seed)
    args = (rng.standard_normal((B, D)), rng.standard_normal((B, H))) + _gru_params(rng, D, H)
    if with_dh:
        args = args + (rng.standard_normal((B, H)),)
    return Case(f"seed {seed}, B={B}, D={D}, H={H}", args, {}, {"B": B})


def _step_cases(hidden, with_dh=False):
    shapes = [(1, 3, 4), (5, 2, 6), (4, 4, 4)] if hidden else [(3, 4, 5), (2, 6, 3), (3, 4, 4)]
    return [_step_case(seed, *s, with_dh=with_dh) for seed in case_seeds(hidden) for s in shapes]


def _bi_case(seed, T, B, D, H):
    rng = np.random.default_rng(seed)
    args = (rng.standard_normal((T, B, D)), rng.standard_normal((B, H)), rng.standard_normal((B, H)),
            _gru_params(rng, D, H), _gru_params(rng, D, H))
    return Case(f"seed {seed}, T={T}, B={B}, D={D}, H={H}", args, {}, {"T": T, "B": B})


def _bi_cases(hidden):
    # The last shape has T == B: a function that indexes x[:, t] (batch-major) runs there.
    shapes = ([(1, 2, 3, 4), (6, 1, 3, 5), (5, 4, 2, 3), (4, 3, 4, 4), (2, 2, 3, 3)] if hidden
              else [(5, 3, 4, 6), (6, 2, 3, 4), (4, 3, 4, 4), (3, 3, 2, 4)])
    return [_bi_case(seed, *s) for seed in case_seeds(hidden) for s in shapes]


# ---------------------------------------------------------------------------------------------
# gru_step_forward

_R = "r = sigmoid(a_t[:, :H] + g_t[:, :H])"
_ZG = "z = sigmoid(a_t[:, H:2 * H] + g_t[:, H:2 * H])"
_N = "n = np.tanh(a_t[:, 2 * H:] + r * hn)"
_H = "h_t = (1.0 - z) * n + z * h_prev"


def _reset_before_product(x_t, h_prev, Wx, Wh, bx, bh):
    # Cho et al.'s formula: the reset gate multiplies h_prev *before* the product with W_hn.
    H = h_prev.shape[1]
    _, cache = _step_forward(x_t, h_prev, Wx, Wh, bx, bh)
    n = np.tanh(x_t @ Wx[2 * H:].T + bx[2 * H:] + (cache.r * h_prev) @ Wh[2 * H:].T + bh[2 * H:])
    return (1.0 - cache.z) * n + cache.z * h_prev, cache


def _reset_skips_bias(x_t, h_prev, Wx, Wh, bx, bh):
    # r * (W_hn h_prev) + b_hn: the same as the reference with b_hn moved into b_in.
    H = h_prev.shape[1]
    bx, bh = bx.copy(), bh.copy()
    bx[2 * H:] += bh[2 * H:]
    bh[2 * H:] = 0.0
    return _step_forward(x_t, h_prev, Wx, Wh, bx, bh)


def _no_recurrent_bias(x_t, h_prev, Wx, Wh, bx, bh):
    return _step_forward(x_t, h_prev, Wx, Wh, bx, np.zeros_like(bh))


def _hn_cached_without_bias(x_t, h_prev, Wx, Wh, bx, bh):
    # h_t right, but the cache's hn is h_prev @ W_hn.T without b_hn.
    H = h_prev.shape[1]
    h_t, cache = _step_forward(x_t, h_prev, Wx, Wh, bx, bh)
    return h_t, cache._replace(hn=cache.hn - bh[2 * H:])


_GATES_SECTION = "ch08-gru-cell"
_PYTORCH = "ch08-pytorch-form"

_HN_WITHOUT_BIAS = Mistake(
    "gru_step_forward/cache-hn-without-bias",
    "h_t is right, but the cache's hn is h_prev @ W_hn.T without its bias: hn is the whole term "
    "the reset gate multiplies, h_prev @ W_hn.T + b_hn (b_hn = bh[2H:]); the backward reads it "
    "to get the reset gate's gradient.",
    _hn_cached_without_bias, _PYTORCH)

STEP_FORWARD = Exercise(
    name="gru_step_forward",
    reference=_step_forward,
    cases=_step_cases,
    returns=("h_t", "cache"),
    compare=("h_t",),
    cache_fields=_STEP_FIELDS,
    section=_GATES_SECTION,
    mistakes=[
        Mistake("gru_step_forward/gates-z-r-n",
                "Your gates read the blocks in the order (z, r, n), Keras's order: in this "
                "course (and PyTorch) rows [0:H] of Wx, Wh, bx, bh belong to the reset gate r, "
                "[H:2H] to the update gate z and [2H:3H] to the candidate n.",
                mutate(_step_forward, (_R, "r = sigmoid(a_t[:, H:2 * H] + g_t[:, H:2 * H])"),
                       (_ZG, "z = sigmoid(a_t[:, :H] + g_t[:, :H])"), inner=_gates),
                _GATES_SECTION),
        Mistake("gru_step_forward/one-minus-z-on-h-prev",
                "h_t = z * n + (1 - z) * h_prev puts (1 - z) on the wrong term (the convention "
                "of Chung et al. 2014): here h_t = (1 - z) * n + z * h_prev, so z = 1 keeps "
                "the old state.",
                mutate(_step_forward, (_H, "h_t = z * n + (1.0 - z) * h_prev")), _GATES_SECTION),
        Mistake("gru_step_forward/reset-before-product",
                "The reset gate multiplies h_prev before the product, (r * h_prev) @ W_hn.T "
                "(the original paper's formula): in PyTorch's GRU, which this course follows, it "
                "multiplies the whole hidden term, r * (h_prev @ W_hn.T + b_hn).",
                _reset_before_product, _PYTORCH),
        Mistake("gru_step_forward/reset-skips-b-hn",
                "The reset gate multiplies h_prev @ W_hn.T but not its bias b_hn = bh[2H:]: the "
                "candidate is tanh(x_t @ W_in.T + b_in + r * (h_prev @ W_hn.T + b_hn)), with "
                "b_hn inside the product with r.",
                _reset_skips_bias, _PYTORCH),
        Mistake("gru_step_forward/no-reset",
                "The candidate ignores the reset gate: n = tanh(x_t @ W_in.T + b_in + "
                "r * (h_prev @ W_hn.T + b_hn)), with r multiplying the hidden term.",
                mutate(_step_forward, (_N, "n = np.tanh(a_t[:, 2 * H:] + hn)"), inner=_gates),
                _GATES_SECTION),
        Mistake("gru_step_forward/no-interpolation",
                "h_t is the candidate n alone: the update gate mixes it with the old state, "
                "h_t = (1 - z) * n + z * h_prev.",
                mutate(_step_forward, (_H, "h_t = n")), _GATES_SECTION),
        Mistake("gru_step_forward/reset-gate-interpolates",
                "h_t is mixed with the reset gate r: the update gate z decides how much of the "
                "old state to keep, h_t = (1 - z) * n + z * h_prev; r only enters the "
                "candidate n.",
                mutate(_step_forward, (_H, "h_t = (1.0 - r) * n + r * h_prev")), _GATES_SECTION),
        Mistake("gru_step_forward/sigmoid-candidate",
                "The candidate n uses a sigmoid: n = tanh(...); only the gates r and z are "
                "sigmoids.",
                mutate(_step_forward, (_N, "n = sigmoid(a_t[:, 2 * H:] + r * hn)"), inner=_gates),
                _GATES_SECTION),
        Mistake("gru_step_forward/tanh-gates",
                "The gates r and z use tanh: they are sigmoids, numbers between 0 and 1 that "
                "say how much to let through.",
                mutate(_step_forward, (_R, "r = np.tanh(a_t[:, :H] + g_t[:, :H])"),
                       (_ZG, "z = np.tanh(a_t[:, H:2 * H] + g_t[:, H:2 * H])"), inner=_gates),
                _GATES_SECTION),
        Mistake("gru_step_forward/no-bh",
                "Your step ignores the recurrent bias bh: the gates' pre-activations are "
                "x_t @ Wx.T + bx plus h_prev @ Wh.T + bh (two biases, as in PyTorch).",
                _no_recurrent_bias, _PYTORCH),
        _HN_WITHOUT_BIAS,
    ],
)


def _check_step_forward(gru_step_forward, hidden=False, quiet=True):
    try:
        run_check(STEP_FORWARD, gru_step_forward, hidden, quiet=quiet)
    except CheckFailed as err:
        if err.mistake_id == "generic/cache" and " in hn " in str(err) and _hn_lacks_bias(gru_step_forward, hidden):
            raise CheckFailed(f"gru_step_forward: {_HN_WITHOUT_BIAS.says}", mistake_id=_HN_WITHOUT_BIAS.id) from None
        raise


def _hn_lacks_bias(gru_step_forward, hidden):
    """Is the cache's hn (field 5) what the reference's hn is without b_hn, on the first case?"""
    x_t, h_prev, Wx, Wh, bx, bh = _step_cases(hidden)[0].args
    H = h_prev.shape[1]
    try:
        _, cache = call_student(gru_step_forward, x_t, h_prev, Wx, Wh, bx, bh)
        return close(np.asarray(cache[5], dtype=float), h_prev @ Wh[2 * H:].T)
    except Exception:  # noqa: BLE001 - the check has already said what is wrong
        return False


STEP_FORWARD.check_student = _check_step_forward


def check_gru_step_forward(gru_step_forward, hidden=False, quiet=False):
    """Check a student's ``gru_step_forward(x_t, h_prev, Wx, Wh, bx, bh) -> (h_t, cache)``.

    The cache must be ``(x_t, h_prev, r, z, n, hn, Wx, Wh)`` with
    ``hn = h_prev @ Wh[2H:].T + bh[2H:]`` (the backward reads it).

    Parameters
    ----------
    gru_step_forward : callable
        The student's function.
    hidden : bool
        Hidden tests: other seeds, ``B = 1``, ``D = H``.
    """
    _check_step_forward(gru_step_forward, hidden, quiet=quiet)


# ---------------------------------------------------------------------------------------------
# gru_step_backward

_DN = "dn_pre = dh * (1.0 - z) * (1.0 - n**2)"
_DR = "da[:, :H] = dn_pre * hn * r * (1.0 - r)"
_DZ = "da[:, H:2 * H] = dh * (h_prev - n) * z * (1.0 - z)"
_DGN = "dg[:, 2 * H:] = dn_pre * r"
_DAN = "da[:, 2 * H:] = dn_pre\n"
_DIRECT = "return da, dg, dh * z"
_BACK = "ch08-gru-backward"


def _edit(*edits):
    return mutate(_step_backward, *edits, inner=_gates_backward)


STEP_BACKWARD = Exercise(
    name="gru_step_backward",
    reference=_step_backward,
    forward=_step_forward,
    cache_fields=_STEP_FIELDS,
    arg_names=("x_t", "h_prev", "Wx", "Wh", "bx", "bh", "dh_t"),
    cases=lambda hidden: _step_cases(hidden, with_dh=True),
    returns=("dx_t", "dh_prev", "dWx", "dWh", "dbx", "dbh"),
    section=_BACK,
    mistakes=[
        Mistake("gru_step_backward/dz-sign",
                "The update gate's gradient has the wrong sign: h_t = (1 - z) n + z h_prev, so "
                "dh_t/dz = h_prev - n (not n - h_prev).",
                _edit((_DZ, "da[:, H:2 * H] = dh * (n - h_prev) * z * (1.0 - z)")), _BACK),
        Mistake("gru_step_backward/dn-misses-one-minus-z",
                "The gradient on the candidate n misses the factor (1 - z): n enters h_t as "
                "(1 - z) * n, so dn = dh_t * (1 - z).",
                _edit((_DN, "dn_pre = dh * (1.0 - n**2)")), _BACK),
        Mistake("gru_step_backward/dn-uses-z",
                "The gradient on the candidate n is multiplied by z: n enters h_t as "
                "(1 - z) * n, so dn = dh_t * (1 - z); z goes with h_prev.",
                _edit((_DN, "dn_pre = dh * z * (1.0 - n**2)")), _BACK),
        Mistake("gru_step_backward/z-roles-swapped",
                "The backward pass swaps the roles of z and 1 - z, as if h_t = z * n + (1 - z) * "
                "h_prev (the convention of Chung et al. 2014): in this course, as in PyTorch, "
                "h_t = (1 - z) * n + z * h_prev, so n's gradient is dh_t * (1 - z), the direct "
                "path to h_prev is dh_t * z, and dh_t/dz = h_prev - n.",
                _edit((_DN, "dn_pre = dh * z * (1.0 - n**2)"),
                      (_DZ, "da[:, H:2 * H] = dh * (n - h_prev) * z * (1.0 - z)"),
                      (_DIRECT, "return da, dg, dh * (1.0 - z)")), _BACK),
        Mistake("gru_step_backward/tanh-derivative-one-minus-n",
                "tanh's derivative is written 1 - n: it is 1 - n**2 (squared).",
                _edit((_DN, "dn_pre = dh * (1.0 - z) * (1.0 - n)")), _BACK),
        Mistake("gru_step_backward/dr-uses-h-prev",
                "The reset gate's gradient uses h_prev: r multiplies hn = h_prev @ W_hn.T + b_hn "
                "(the term in the cache), so its gradient is a_n's gradient times hn, where a_n is "
                "the candidate's pre-activation.",
                _edit((_DR, "da[:, :H] = dn_pre * h_prev * r * (1.0 - r)")), _PYTORCH),
        Mistake("gru_step_backward/dr-misses-tanh-derivative",
                "The reset gate's gradient skips tanh's derivative: r sits inside the candidate, "
                "n = tanh(a_n + r * hn), so its gradient is the gradient on n times (1 - n**2), "
                "times hn, times the sigmoid's slope r * (1 - r).",
                _edit((_DR, "da[:, :H] = dh * (1.0 - z) * hn * r * (1.0 - r)")), _BACK),
        Mistake("gru_step_backward/dr-misses-sigmoid-slope",
                "The reset gate's gradient misses the sigmoid's slope: r = sigmoid(a_r), so the "
                "gradient on its pre-activation (the block [0:H] of da and dg) is the gradient on "
                "r, dn_pre * hn, times r * (1 - r).",
                _edit((_DR, "da[:, :H] = dn_pre * hn")), _BACK),
        Mistake("gru_step_backward/dr-misses-hn",
                "The reset gate's gradient misses the factor hn: r enters the candidate's "
                "pre-activation a_n + r * hn, with hn = h_prev @ W_hn.T + b_hn (in the cache), so "
                "the gradient on r is the gradient on that pre-activation times hn, and on r's "
                "own pre-activation that times r * (1 - r).",
                _edit((_DR, "da[:, :H] = dn_pre * r * (1.0 - r)")), _BACK),
        Mistake("gru_step_backward/tanh-slope-at-hn",
                "The candidate's tanh slope is taken at hn, 1 - hn**2: n = tanh(a_n + r * hn), "
                "and the slope of a tanh is 1 - n**2, read off its output n (the cached "
                "candidate), not off hn, a term inside it.",
                _edit((_DN, "dn_pre = dh * (1.0 - z) * (1.0 - hn**2)")), _BACK),
        Mistake("gru_step_backward/hidden-n-misses-r",
                "The candidate's hidden block gets the same gradient as its input block: the "
                "reset gate multiplies the hidden term only, so the gradient on "
                "h_prev @ W_hn.T + b_hn is the gradient on the candidate's pre-activation times r "
                "(this changes dWh, dbh and dh_prev).",
                _edit((_DGN, "dg[:, 2 * H:] = dn_pre")), _BACK),
        Mistake("gru_step_backward/input-n-has-r",
                "The candidate's input block is multiplied by r: the reset gate multiplies the "
                "hidden term only, so the gradient on x_t @ W_in.T + b_in is the gradient on the "
                "candidate's pre-activation itself "
                "(this changes dWx, dbx and dx_t).",
                _edit((_DAN, "da[:, 2 * H:] = dn_pre * r\n")), _BACK),
        Mistake("gru_step_backward/no-direct-path",
                "dh_prev misses the direct path: h_t = ... + z * h_prev, so dh_prev gets "
                "dh_t * z besides the products with Wh.",
                _edit((_DIRECT, "return da, dg, 0.0 * dh")), "ch08-gradient-path"),
        Mistake("gru_step_backward/direct-path-one-minus-z",
                "The direct path to h_prev is multiplied by (1 - z): h_prev enters h_t as "
                "z * h_prev, so that path gives dh_t * z.",
                _edit((_DIRECT, "return da, dg, dh * (1.0 - z)")), "ch08-gradient-path"),
        Mistake("gru_step_backward/sigmoid-derivative-as-tanh",
                "The gates' derivatives are written 1 - s**2 (tanh's): for a sigmoid s the "
                "derivative is s * (1 - s).",
                _edit((_DR, "da[:, :H] = dn_pre * hn * (1.0 - r**2)"),
                      (_DZ, "da[:, H:2 * H] = dh * (h_prev - n) * (1.0 - z**2)")), _BACK),
        Mistake("gru_step_backward/dh-prev-uses-input-gradient",
                "dh_prev is computed from the input side's gradient: the products with Wh use "
                "the hidden terms' gradient, whose candidate block is multiplied by r, so "
                "dh_prev = dg @ Wh + dh_t * z.",
                mutate(_step_backward, ("dh_prev = dg @ Wh + dh_direct", "dh_prev = da @ Wh + dh_direct")),
                _BACK),
        Mistake("gru_step_backward/dwh-transposed",
                "dWh is transposed: with rows as examples it is dg.T @ h_prev, of shape (3H, H) "
                "like Wh.",
                mutate(_step_backward, ("dg.T @ h_prev", "h_prev.T @ dg")), _BACK),
        Mistake("gru_step_backward/biases-averaged",
                "dbx and dbh are means over the batch: every example adds to the shared biases, "
                "so their gradients are sums, .sum(axis=0).",
                mutate(_step_backward, ("da.sum(axis=0), dg.sum(axis=0)",
                                        "da.mean(axis=0), dg.mean(axis=0)")), _BACK),
    ],
)


def check_gru_step_backward(gru_step_forward, gru_step_backward, hidden=False, quiet=False):
    """Check a student's ``gru_step_backward(dh_t, cache) -> (dx_t, dh_prev, dWx, dWh, dbx, dbh)``.

    The student's own forward makes the cache: a cache that is not
    ``(x_t, h_prev, r, z, n, hn, Wx, Wh)`` with the right values is reported as the
    forward's problem.
    """
    run_backward_check(STEP_BACKWARD, gru_step_forward, gru_step_backward, hidden, quiet=quiet)


# ---------------------------------------------------------------------------------------------
# bidirectional_gru_forward

_BWD = "hs_b, _ = gru_forward(x[::-1], h0_b, *bwd)"
_JOIN = "np.concatenate([hs_f, hs_b[::-1]], axis=-1)"
_BI = "ch08-bidirectional"


def _bi_edit(*edits):
    return mutate(_bidirectional, *edits)


BIDIRECTIONAL = Exercise(
    name="bidirectional_gru_forward",
    reference=_bidirectional,
    cases=_bi_cases,
    returns=("hs",),
    time_axis={"hs": 0},
    arg_names=("x", "h0_f", "h0_b", "fwd", "bwd"),
    section=_BI,
    mistakes=[
        Mistake("bidirectional_gru_forward/backward-not-reversed",
                "The backward direction reads the inputs in their own order: it must read "
                "x[T-1], x[T-2], ..., x[0] (loop t from T-1 down to 0, or run over x[::-1]).",
                _bi_edit((_BWD, "hs_b, _ = gru_forward(x, h0_b, *bwd)")), _BI),
        Mistake("bidirectional_gru_forward/backward-states-not-realigned",
                "The backward states are stored in the order they were computed: the state "
                "computed after reading x[t] belongs in row t, so reverse them back "
                "(hs_b[::-1]) or write each into row t as you go.",
                _bi_edit((_JOIN, "np.concatenate([hs_f, hs_b], axis=-1)")), _BI),
        Mistake("bidirectional_gru_forward/backward-is-a-second-forward",
                "Your backward direction is a second forward pass: it reads x[0], ..., x[T-1]. "
                "It must read x[T-1] first and x[0] last, its state after reading x[t] stored in "
                "row t.",
                _bi_edit((_BWD, "hs_b, _ = gru_forward(x, h0_b, *bwd)"),
                         (_JOIN, "np.concatenate([hs_f, hs_b], axis=-1)")), _BI),
        Mistake("bidirectional_gru_forward/directions-swapped",
                "The two halves are in the wrong order: the forward direction's states come "
                "first, hs[t] = [h_forward_t, h_backward_t] (PyTorch's order).",
                _bi_edit((_JOIN, "np.concatenate([hs_b[::-1], hs_f], axis=-1)")), _BI),
        Mistake("bidirectional_gru_forward/same-weights",
                "Both directions use the forward parameters fwd: the backward direction has its "
                "own, bwd.",
                _bi_edit((_BWD, "hs_b, _ = gru_forward(x[::-1], h0_b, *fwd)")), _BI),
        Mistake("bidirectional_gru_forward/h0-swapped",
                "The backward direction starts from h0_f: it starts from its own initial state "
                "h0_b (and the forward direction from h0_f).",
                _bi_edit((_BWD, "hs_b, _ = gru_forward(x[::-1], h0_f, *bwd)")), _BI),
        Mistake("bidirectional_gru_forward/backward-starts-from-forward-end",
                "The backward direction starts from the forward direction's last state: the two "
                "directions are independent, and the backward one starts from h0_b.",
                _bi_edit((_BWD, "hs_b, _ = gru_forward(x[::-1], hs_f[-1], *bwd)")), _BI),
        Mistake("bidirectional_gru_forward/reversed-batch-axis",
                "You reversed the batch axis (x[:, ::-1]): time is the first axis of x (T, B, D), "
                "so the reversed sequence is x[::-1].",
                _bi_edit((_BWD, "hs_b, _ = gru_forward(x[:, ::-1], h0_b, *bwd)"),
                         (_JOIN, "np.concatenate([hs_f, hs_b[:, ::-1]], axis=-1)")), _BI),
        Mistake("bidirectional_gru_forward/joined-along-time",
                "The two directions are joined along time (shape (2T, B, H)): put them side by "
                "side along the last axis, np.concatenate([...], axis=-1), shape (T, B, 2H).",
                _bi_edit((_JOIN, "np.concatenate([hs_f, hs_b[::-1]], axis=0)")), _BI),
        Mistake("bidirectional_gru_forward/directions-added",
                "The two directions are added: they are concatenated side by side, "
                "shape (T, B, 2H), so that the next layer sees both.",
                _bi_edit((_JOIN, "hs_f + hs_b[::-1]")), _BI),
        Mistake("bidirectional_gru_forward/backward-skips-x0",
                "The backward direction stops before x[0]: row 0's backward half never gets a "
                "state. Its loop must run t = T-1, ..., 0, e.g. range(T - 1, -1, -1) (the stop "
                "value of range is not included).",
                _bi_edit((_BWD, "hs_b, _ = gru_forward(x[:0:-1], h0_b, *bwd)\n"
                                "    hs_b = np.concatenate([hs_b, np.zeros_like(h0_b)[None]])")), _BI),
        Mistake("bidirectional_gru_forward/joined-along-batch",
                "The two directions are joined along the batch axis (shape (T, 2B, H)): put them "
                "side by side along the last axis, np.concatenate([...], axis=-1), shape (T, B, 2H).",
                _bi_edit((_JOIN, "np.concatenate([hs_f, hs_b[::-1]], axis=1)")), _BI),
        Mistake("bidirectional_gru_forward/batch-major",
                "It indexes the sequence as batch-major (x[:, t]): x is time-major, (T, B, D), so "
                "step t reads x[t], and row t of the output, hs[t], is (B, 2H).",
                lambda x, h0_f, h0_b, fwd, bwd: _bidirectional(x.swapaxes(0, 1), h0_f, h0_b, fwd, bwd).swapaxes(0, 1),
                _BI),
        Mistake("bidirectional_gru_forward/stacked-new-axis",
                "np.stack made a new axis (shape (T, B, 2, H)): concatenate along the last "
                "axis instead, np.concatenate([...], axis=-1), shape (T, B, 2H).",
                _bi_edit((_JOIN, "np.stack([hs_f, hs_b[::-1]], axis=2)")), _BI),
    ],
)


def check_bidirectional_gru_forward(bidirectional_gru_forward, gru_step_forward=None, hidden=False):
    """Check ``bidirectional_gru_forward(x, h0_f, h0_b, fwd, bwd) -> hs (T, B, 2H)``.

    Parameters
    ----------
    bidirectional_gru_forward : callable
        The student's function; ``fwd`` and ``bwd`` are tuples ``(Wx, Wh, bx, bh)``.
    gru_step_forward : callable, optional
        The student's step, which the bidirectional forward is built on: checked first when
        the bidirectional forward is wrong ("fix gru_step_forward first").
    hidden : bool
    """
    depends = {}
    if gru_step_forward is not None:
        depends["gru_step_forward"] = lambda: check_gru_step_forward(gru_step_forward, hidden, quiet=True)
    run_check(BIDIRECTIONAL, bidirectional_gru_forward, hidden, depends=depends)


# ---------------------------------------------------------------------------------------------
# Conceptual questions

QUESTIONS, check_ch08_questions = question_set("ch08_questions", [
    Question("gru_params", 3 * (20 * 10 + 20 * 20 + 2 * 20),
             "The number of parameters of a GRU layer (PyTorch's form) with D = 10, H = 20",
             "Count Wx (3H, D), Wh (3H, H) and the two biases bx and bh, (3H,) each.",
             wrong=(Wrong(3 * (20 * 10 + 20 * 20 + 20), "gru-params-one-bias",
                          "That counts one bias vector; PyTorch's GRU has two, bx and bh (the "
                          "reset gate multiplies b_hn, so it cannot merge with b_in)."),
                    Wrong(4 * (20 * 10 + 20 * 20 + 20), "gru-params-lstm",
                          "That is the LSTM's count (four blocks); the GRU has three blocks, "
                          "r, z and n, and two biases."),
                    Wrong(20 * 10 + 20 * 20 + 20, "gru-params-rnn",
                          "That is the vanilla RNN's count; the GRU has three blocks of "
                          "weights (r, z, n) and two biases."),
                    Wrong(3 * (20 * 10 + 20 * 20), "gru-params-no-bias",
                          "That counts the weights only: add the two bias vectors bx and bh, "
                          "3H entries each."),
                    Wrong(4 * (20 * 10 + 20 * 20 + 2 * 20), "gru-params-lstm-two-biases",
                          "That is PyTorch's LSTM count (four blocks, two biases); the GRU has "
                          "three blocks, r, z and n.")),
             section="ch08-params", rtol=0.0),
    Question("copy_z", 1.0,
             "The value of the update gate z for which a unit copies its previous state "
             "(h_t = h_prev)",
             "Put the value into h_t = (1 - z) * n + z * h_prev.",
             wrong=(Wrong(0.0, "copy-z-zero",
                          "That is the convention of Chung et al. (2014), who write "
                          "h_t = (1 - z) h_prev + z n. In this course and in PyTorch "
                          "h_t = (1 - z) * n + z * h_prev, so z = 1 keeps the old state."),
                    Wrong(0.5, "copy-z-half",
                          "At z = 0.5 the unit keeps half of its old state and takes half of the "
                          "candidate.")),
             section="ch08-gru-cell"),
    Question("direct_path", "z",
             "On the path from h_prev to h_t that skips the weight matrices, the gradient is "
             "multiplied by ('z', '1 - z', 'r' or 'W_hh')",
             "Differentiate the term of h_t = (1 - z) * n + z * h_prev that holds h_prev directly.",
             wrong=(Wrong("1 - z", "direct-path-one-minus-z",
                          "(1 - z) multiplies the candidate n, not h_prev."),
                    Wrong("r", "direct-path-reset",
                          "The reset gate acts inside the candidate, on the path through W_hn."),
                    Wrong("W_hh", "direct-path-matrix",
                          "That is the vanilla RNN's path; this one skips the matrices.")),
             section="ch08-gradient-path"),
    Question("bi_backward_reads", "x[t..T-1]",
             "At step t of a bidirectional layer over T steps, the inputs the backward "
             "direction's state has read ('x[0..t]', 'x[t..T-1]' or 'all')",
             "The backward direction starts at x[T-1] and walks towards x[0].",
             accept=("x[t:T]", "x[t:]"),
             wrong=(Wrong("x[0..t]", "bi-backward-reads-past",
                          "That is the forward direction; the backward one starts at the end, "
                          "x[T-1], and has reached x[t]."),
                    Wrong("all", "bi-backward-reads-all",
                          "Each half has read one side; together, [h_forward_t, h_backward_t] "
                          "has read everything.")),
             section="ch08-bidirectional"),
    Question("bi_can_generate", False,
             "Can a bidirectional network generate text one character at a time (True/False)",
             "What does the backward direction need before it can compute its state at step t?",
             wrong=(Wrong(True, "bi-generates",
                          "Its backward direction starts from the end of the sequence: the state "
                          "at step t needs the inputs after t, which a generator has not "
                          "produced yet."),),
             section="ch08-bidirectional"),
    Question("layer2_input_shape", (48, 32),
             "The shape of layer 2's input weight Wx in a 2-layer bidirectional GRU with "
             "D = 10 and H = 16 (PyTorch's weight_ih_l1)",
             "Layer 2 reads, at every step, the outputs of layer 1.",
             wrong=(Wrong((48, 16), "layer2-reads-one-direction",
                          "Layer 1 is bidirectional: its output at each step is both "
                          "directions side by side, 2H = 32 wide."),
                    Wrong((48, 10), "layer2-reads-x",
                          "Only layer 1 reads x; layer 2 reads layer 1's states."),
                    Wrong((32, 48), "layer2-transposed",
                          "That is the transpose: a weight is stored (out, in), like PyTorch's "
                          "weight_ih_l1, with 3H rows for the three blocks r, z, n."),
                    Wrong((96, 32), "layer2-both-directions-rows",
                          "That stacks both directions' weights; PyTorch's weight_ih_l1 is one "
                          "direction's, (3H, 2H).")),
             section="ch08-depth"),
], section="ch08")
