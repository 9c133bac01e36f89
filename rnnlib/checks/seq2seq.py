"""Checkers for chapter 9, sequence to sequence: attention forward and backward, greedy
decoding, beam search, and questions on teacher forcing.

Every graded function is an :class:`~rnnlib.checks._engine.Exercise` whose catalogue of known
mistakes is built from the reference in :mod:`rnnlib.attention` or :mod:`rnnlib.seq2seq` by one
edit (:func:`~rnnlib.checks._engine.mutate`) or one changed input or output.

The decoders are checked on small decoders whose answers are known: a table of next-token
probabilities worked out by hand in the book (greedy never ends, a beam of width 2 finds
"b .", an exhaustive search finds "b a .", and without length normalisation the empty
translation "." wins), two more tables that tell apart mistakes the first cannot, and tiny
random RNN decoders with several examples each, chosen so that on each of them a beam differs
from greedy decoding and from an exhaustive search and some answers end before max_len while
others do not (the tests check the reference against exhaustive search). The step function
handed to the student is the checker's: it calls rnnlib's RNN step, which the guard lets
through because the call comes from rnnlib.

When no catalogued mistake matches, each exercise says which stage is wrong: the weights or
the context of attention, which gradient of the backward (or the gradient on the scores that
both follow from), and for the decoders the first example that differs, followed through the
reference's beam (at which step the student's answer drops out of the k best, or which better
hypothesis the beam finishes).
"""
from __future__ import annotations

import numpy as np

from rnnlib import attention as _attention
from rnnlib import rnn as _rnn
from rnnlib import seq2seq as _seq2seq
from rnnlib.checks._core import CheckFailed, call_student, case_seeds, fmt_shape
from rnnlib.checks._engine import Case, Exercise, Mistake, close, mutate, run_backward_check, run_check
from rnnlib.checks._questions import Question, Wrong, question_set

__all__ = [
    "check_attention_forward",
    "check_attention_backward",
    "check_greedy_decode",
    "check_beam_search",
    "check_ch09_questions",
]

_att_forward = _attention.attention_forward
_att_backward = _attention.attention_backward
_masked_softmax = _attention.masked_softmax
_greedy = _seq2seq.greedy_decode
_beam = _seq2seq.beam_search
_normalised = _seq2seq._normalised
_rnn_step = _rnn.rnn_step_forward
_FIELDS = ("query", "keys", "weights")


def _quietly(variant):
    """A mistake's variant that computes without numpy's warnings: a mask used the wrong way
    gives NaN on purpose, and the student should not see warnings from the diagnosis."""

    def quiet(*args, **kwargs):
        with np.errstate(all="ignore"):
            return variant(*args, **kwargs)

    quiet.__name__ = getattr(variant, "__name__", "variant")
    return quiet


def _mistake(mistake_id, says, variant, section):
    return Mistake(mistake_id, says, _quietly(variant), section)


# ---------------------------------------------------------------------------------------------
# Attention cases. S, B and H differ, so that an axis mixed up is a shape error or a clearly
# wrong value; some cases have padding (a mask), some none; the hidden ones add S = 1 and B = 1.
# One visible and one hidden case have S = B: there a softmax over the wrong axis still has the
# right shape, and keys read batch-first run instead of crashing, so that the crash on the other
# cases can be named.


def _mask(rng, S, B):
    """Sources padded at the end, as the exercise says: each has 1 to S real positions, and
    every case with S > 1 has at least one padded source and at least one full one."""
    lengths = rng.integers(1, S + 1, size=B)
    if S > 1:
        lengths[rng.integers(B)] = S
        if B > 1 and (lengths == S).all():
            lengths[0] = rng.integers(1, S)
    return np.arange(S)[:, None] < lengths


def _attention_case(seed, S, B, H, masked, with_dcontext=False):
    rng = np.random.default_rng(seed)
    args = (rng.standard_normal((B, H)), rng.standard_normal((S, B, H)),
            _mask(rng, S, B) if masked else None)
    if with_dcontext:
        args = args + (rng.standard_normal((B, H)),)
    return Case(f"seed {seed}, S={S}, B={B}, H={H}, {'with padding' if masked else 'mask=None'}",
                args, {}, {"S": S, "B": B, "H": H})


def _large_scores_case(seed, S, B, H):
    """Example 0's query points along its first key, so that its score there is 2000, while the
    other examples' scores stay near 1: a softmax stabilised with one maximum for the whole
    (S, B) array (or with none) underflows (or overflows) to 0 / 0 in some column. Each
    column's own maximum is what keeps every example's softmax finite."""
    case = _attention_case(seed, S, B, H, True)
    query, keys, mask = (np.array(a, copy=True) for a in case.args)
    keys[0, 0] = query[0] * (2000.0 / float(query[0] @ query[0]))
    return Case(f"{case.label}, example 0's scores up to 2000, the others' near 1",
                (query, keys, mask), {}, case.dims)


def _attention_cases(hidden, with_dcontext=False):
    shapes = ([(1, 2, 3, False), (4, 4, 3, True), (7, 1, 5, True), (3, 5, 2, True), (2, 3, 4, False)]
              if hidden else [(5, 3, 4, True), (4, 2, 3, False), (6, 4, 2, True), (3, 3, 2, True)])
    cases = [_attention_case(seed, *s, with_dcontext=with_dcontext)
             for seed in case_seeds(hidden) for s in shapes]
    if not with_dcontext:
        cases.append(_large_scores_case(case_seeds(hidden)[0], 4, 3, 3))
    return cases


# ---------------------------------------------------------------------------------------------
# attention_forward

_WHERE = "scores = np.where(mask, scores, -np.inf)"
_SOFTMAX = "return softmax(scores, axis=0)"
_CONTEXT = "context = np.sum(weights[:, :, None] * keys, axis=0)"
_SCORES = "scores = np.sum(keys * query, axis=2)"


def _softmax_edit(*edits):
    return mutate(_att_forward, *edits, inner=_masked_softmax)


def _weights_transposed(query, keys, mask):
    context, weights, cache = _att_forward(query, keys, mask)
    return context, weights.T.copy(), cache


def _keys_batch_first(query, keys, mask):
    """Keys read as ``(B, S, H)`` and the mask as ``(B, S)``: the reference on the transposed
    inputs, its weights returned batch-first. It runs only when S = B (else it crashes)."""
    context, weights, _ = _att_forward(query, keys.transpose(1, 0, 2), None if mask is None else mask.T)
    return context, weights.T.copy(), (query, keys, weights.T.copy())


def _diagnose_attention(got, expected, case):
    """Which stage is wrong, when no catalogued mistake matches: the context (weights right),
    the mask, the normalisation, or the scores."""
    weights, context = got.get("weights"), got.get("context")
    right = expected["weights"]
    if not (isinstance(weights, np.ndarray) and weights.shape == right.shape
            and weights.dtype.kind == "f" and np.isfinite(weights).all()):
        return None  # a shape or NaN: the generic diagnoses say it
    mask = case.args[2]
    real = np.ones(right.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if close(weights, right):
        if isinstance(context, np.ndarray) and context.shape == expected["context"].shape:
            return "attention_forward/context", (
                "Your weights are right, but the context is not their weighted average of the "
                "keys: context[b] = sum over s of weights[s, b] * keys[s, b], one (H,) vector per "
                "example.")
        return None
    if np.any(weights[~real] != 0):
        s, b = (int(i) for i in np.argwhere((weights != 0) & ~real)[0])
        return "attention_forward/padding-weighted", (
            f"Position {s} of example {b} is padding (mask[{s}, {b}] is False), but its weight is "
            f"{weights[s, b]:.4g}: padding must get weight exactly 0. Set the scores of padding to "
            "-inf before the softmax.")
    sums = weights.sum(axis=0)
    if not np.allclose(sums, 1.0, rtol=1e-6, atol=1e-9):
        b = int(np.flatnonzero(~np.isclose(sums, 1.0, rtol=1e-6, atol=1e-9))[0])
        return "attention_forward/weights-not-normalised", (
            f"The weights of example {b} (column {b}) sum to {sums[b]:.6g} over its positions: "
            "each column must sum to 1, a softmax over axis 0 (the source positions) of that "
            "example's scores.")
    return "attention_forward/wrong-scores", (
        "Your weights are 0 on padding and sum to 1 for every example, but they are not the "
        "softmax of the right scores: the score of position s of example b is the dot product "
        "keys[s, b] . query[b], that key with that example's own query.")


ATTENTION_FORWARD = Exercise(
    name="attention_forward",
    reference=_att_forward,
    cases=_attention_cases,
    returns=("context", "weights", "cache"),
    compare=("context", "weights"),
    cache_fields=_FIELDS,
    section="ch09-attention",
    diagnose=_diagnose_attention,
    mistakes=[
        _mistake("attention_forward/softmax-wrong-axis",
                "The weights sum to 1 over the batch, not over the source positions: the softmax "
                "runs along axis 0 of the (S, B) scores, so that each example's weights over its "
                "S positions sum to 1.",
                _softmax_edit((_SOFTMAX, "return softmax(scores, axis=1)")), "ch09-attention"),
        _mistake("attention_forward/mask-ignored",
                "Padding gets attention weight: the mask is ignored. Set the scores of masked "
                "positions to -inf before the softmax (np.where(mask, scores, -np.inf)), so "
                "their weight is exactly 0.",
                _softmax_edit((_WHERE, "scores = scores")), "ch09-mask"),
        _mistake("attention_forward/masked-with-zero",
                "Masked positions get the score 0 instead of -inf: exp(0) = 1, so padding still "
                "gets weight. Use -np.inf, whose exp is exactly 0.",
                _softmax_edit((_WHERE, "scores = np.where(mask, scores, 0.0)")), "ch09-mask"),
        _mistake("attention_forward/masked-after-softmax",
                "The weights of padding are set to 0 after the softmax, so the weights of the real "
                "positions no longer sum to 1. Mask the scores (with -inf) before the softmax.",
                _softmax_edit((_WHERE, "pass"),
                              (_SOFTMAX, "return softmax(scores, axis=0) * (1 if mask is None else mask)")),
                "ch09-mask"),
        _mistake("attention_forward/mask-inverted",
                "The mask is used the wrong way round: True marks a real position (keep its score), "
                "False marks padding (score -inf).",
                _softmax_edit((_WHERE, "scores = np.where(mask, -np.inf, scores)")), "ch09-mask"),
        _mistake("attention_forward/no-softmax",
                "The weights are the raw scores: turn them into weights with a softmax over the "
                "source positions (positive, summing to 1).",
                _softmax_edit((_SOFTMAX, "return np.where(np.isfinite(scores), scores, 0.0)")),
                "ch09-attention"),
        _mistake("attention_forward/not-normalised",
                "The weights are exp(scores) without dividing by their sum: each example's weights "
                "must sum to 1 over its source positions.",
                _softmax_edit((_SOFTMAX, "return np.exp(scores)")), "ch09-attention"),
        _mistake("attention_forward/scaled-scores",
                "The scores are divided by sqrt(H), as in the Transformer's scaled dot product: this "
                "exercise's score is the plain dot product keys[s, b] . query[b].",
                mutate(_att_forward, (_SCORES, "scores = np.sum(keys * query, axis=2) / np.sqrt(query.shape[1])")),
                "ch09-attention"),
        _mistake("attention_forward/context-summed",
                "The context is the plain sum of the keys: weight each key by its attention weight, "
                "context[b] = sum over s of weights[s, b] * keys[s, b].",
                mutate(_att_forward, (_CONTEXT, "context = np.sum(keys, axis=0)")), "ch09-attention"),
        _mistake("attention_forward/context-averaged",
                "The context is the plain average of the keys, as if every weight were 1/S: weight "
                "each key by its attention weight.",
                mutate(_att_forward, (_CONTEXT, "context = np.mean(keys, axis=0)")), "ch09-attention"),
        _mistake("attention_forward/weights-transposed",
                "Your weights are (B, S), one row per example: rnnlib is time-major, so the "
                "weights are (S, B), weights[s, b] for position s of example b, like the scores.",
                _weights_transposed, "ch09-attention"),
        _mistake("attention_forward/mask-none-not-handled",
                "With mask=None (no padding) your weights are NaN: None means every position is "
                "real, so use the mask only when it is not None.",
                _softmax_edit(("if mask is not None:", "if True:"),
                              ("if not mask.any(axis=0).all():", "if False:")), "ch09-mask"),
        _mistake("attention_forward/keys-batch-first",
                "You read keys as (B, S, H), batch first (and the mask as (B, S)): rnnlib is "
                "time-major, keys is (S, B, H) with keys[s, b] the state of example b after source "
                "position s, mask is (S, B), and the weights are (S, B) too.",
                _keys_batch_first, "ch09-attention"),
        _mistake("attention_forward/softmax-over-everything",
                "Your weights sum to 1 over the whole batch: the softmax runs over the source "
                "positions of each example separately (axis 0 of the (S, B) scores), so that each "
                "column sums to 1.",
                _softmax_edit((_SOFTMAX, "return softmax(scores.reshape(-1), axis=0).reshape(scores.shape)")),
                "ch09-attention"),
        _mistake("attention_forward/softmax-global-max",
                "The softmax is stabilised with one maximum for the whole (S, B) array "
                "(scores.max()): when one example's scores are far above another's, exp(scores - "
                "max) underflows to 0 in every position of that other example, and its weights "
                "become 0 / 0. Subtract each column's own maximum, scores.max(axis=0, "
                "keepdims=True): the softmax of one example does not change, and its largest "
                "term is exp(0) = 1.",
                _softmax_edit((_SOFTMAX, "return np.exp(scores - scores.max()) / "
                                         "np.exp(scores - scores.max()).sum(axis=0, keepdims=True)")),
                "ch09-attention"),
        _mistake("attention_forward/softmax-overflow",
                "The softmax takes np.exp of the raw scores: a score above about 709 overflows "
                "to inf, and the weights become inf / inf. Subtract each column's maximum first, "
                "scores - scores.max(axis=0, keepdims=True): the softmax does not change, and "
                "every exp is at most 1.",
                _softmax_edit((_SOFTMAX, "return np.exp(scores) / np.exp(scores).sum(axis=0, keepdims=True)")),
                "ch09-attention"),
        _mistake("attention_forward/context-real-keys-summed",
                "The context is the plain sum of the real (unpadded) keys: weight each key by its "
                "attention weight, context[b] = sum over s of weights[s, b] * keys[s, b].",
                mutate(_att_forward, (_CONTEXT, "context = np.sum((weights[:, :, None] > 0) * keys, axis=0)")),
                "ch09-attention"),
        _mistake("attention_forward/context-wrong-axis",
                "The context sums over the batch axis: the weighted sum runs over the source "
                "positions s (axis 0 of keys), one context per example, shape (B, H).",
                mutate(_att_forward, (_CONTEXT, "context = np.sum(weights[:, :, None] * keys, axis=1)")),
                "ch09-attention"),
    ],
)


def check_attention_forward(attention_forward, hidden=False):
    """Check ``attention_forward(query, keys, mask) -> (context, weights, cache)``.

    ``query (B, H)``, ``keys (S, B, H)``, ``mask (S, B)`` bool or None; ``context (B, H)``,
    ``weights (S, B)`` (0 at masked positions, each column summing to 1), ``cache =
    (query, keys, weights)``.
    """
    run_check(ATTENTION_FORWARD, attention_forward, hidden)


# ---------------------------------------------------------------------------------------------
# attention_backward

_DSCORES = "dscores = weights * (dweights - np.sum(weights * dweights, axis=0))"
_DQUERY = "dquery = np.sum(dscores[:, :, None] * keys, axis=0)"
_SCORE_PATH = "dkeys += dscores[:, :, None] * query"
_AVERAGE_PATH = "dkeys = weights[:, :, None] * dcontext"

_UNPACK = "query, keys, weights = cache"


def _forward_pair(query, keys, mask):
    """The reference forward as an (output, cache) pair, as the backward check expects."""
    context, _, cache = _att_forward(query, keys, mask)
    return context, cache


def _diagnose_attention_backward(got, expected, case):
    """Which part of the backward is wrong, when no catalogued mistake matches.

    ``dkeys`` is the average path ``weights * dcontext`` plus the score path
    ``dscores * query``. When the student's ``dkeys`` minus the right average path is some
    ``x[s, b] * query[b]`` and the student's ``dquery`` is ``sum_s x[s, b] keys[s, b]`` with the
    same ``x``, everything after the gradient on the scores is right, and that gradient is not.
    """
    query, keys, mask, dcontext = case.args
    dquery, dkeys = got.get("dquery"), got.get("dkeys")
    if not (isinstance(dquery, np.ndarray) and dquery.shape == query.shape and dquery.dtype.kind == "f"
            and isinstance(dkeys, np.ndarray) and dkeys.shape == keys.shape and dkeys.dtype.kind == "f"
            and np.isfinite(dquery).all() and np.isfinite(dkeys).all()):
        return None
    _, weights, _ = _att_forward(query, keys, mask)
    dweights = np.sum(keys * dcontext, axis=2)
    dscores = weights * (dweights - np.sum(weights * dweights, axis=0))
    average, score_path = weights[:, :, None] * dcontext, dscores[:, :, None] * query
    query_ok, keys_ok = close(dquery, expected["dquery"]), close(dkeys, expected["dkeys"])
    # The gradient on the scores that the student's dkeys implies (least squares per position).
    x = np.sum((dkeys - average) * query, axis=2) / np.sum(query * query, axis=1)
    one_x = close(x[:, :, None] * query, dkeys - average)
    if one_x and close(np.sum(x[:, :, None] * keys, axis=0), dquery):
        s, b = (int(i) for i in np.argwhere(~np.isclose(x, dscores, rtol=1e-6, atol=1e-9))[0])
        return "attention_backward/dscores", (
            "Your dquery and dkeys follow correctly from your gradient on the scores, but that "
            f"gradient is wrong (at position {s} of example {b} it is {x[s, b]:.6g}, the right "
            f"value {dscores[s, b]:.6g}). Through the softmax, dscores = weights * (dweights - sum "
            "over s of weights * dweights), with dweights[s] = keys[s] . dcontext.")
    if keys_ok:
        right = expected["dquery"]
        factor = float(np.sum(dquery * right) / np.sum(right * right))
        S, B = keys.shape[:2]
        scaled = ""
        if abs(factor - 1) > 1e-6 and close(dquery, factor * right):
            scaled = f" Yours is {factor:.4g} times the right one."
            if S != B and abs(factor - 1 / S) < 1e-9:
                scaled = (f" Yours is 1/S = {factor:.4g} times the right one: a mean over the S = {S} "
                          "positions where their sum belongs.")
        return "attention_backward/dquery", (
            "dkeys is right, so your gradient on the scores is right too, but dquery is not: the "
            f"query is in every score, dquery[b] = sum over s of dscores[s, b] * keys[s, b].{scaled}")
    if query_ok and one_x:
        return "attention_backward/dkeys-score-path", (
            "dquery is right, and so is the part of dkeys through the average (weights[s] * "
            "dcontext); the part through the scores is not: key s also gets dscores[s] * query, "
            "with the dscores you used for dquery.")
    rest = dkeys - score_path  # should be the average path weights[s, b] * dcontext[b]
    y = np.sum(rest * dcontext, axis=2) / np.sum(dcontext * dcontext, axis=1)
    if query_ok and close(y[:, :, None] * dcontext, rest):
        return "attention_backward/dkeys-average-path", (
            "dquery is right, and so is the part of dkeys through the scores (dscores[s] * query); "
            "the part through the average is not: key s is averaged into the context with its "
            "weight, so it gets weights[s] * dcontext.")
    return None


ATTENTION_BACKWARD = Exercise(
    name="attention_backward",
    reference=_att_backward,
    forward=_forward_pair,
    cache_fields=_FIELDS,
    arg_names=("query", "keys", "mask", "dcontext"),
    cases=lambda hidden: _attention_cases(hidden, with_dcontext=True),
    returns=("dquery", "dkeys"),
    section="ch09-attention-backward",
    diagnose=_diagnose_attention_backward,
    mistakes=[
        _mistake("attention_backward/no-softmax-jacobian",
                "The gradient goes from the weights to the scores unchanged: the weights are a "
                "softmax of the scores, so dscores = weights * (dweights - sum over s of "
                "weights * dweights).",
                mutate(_att_backward, (_DSCORES, "dscores = dweights")), "ch09-attention-backward"),
        _mistake("attention_backward/jacobian-of-exp",
                "dscores = weights * dweights differentiates each weight as if it were exp(score) "
                "alone; but the denominator, the sum of all the exps, depends on every score too "
                "(raising one score lowers every other weight). Subtract the weighted sum: "
                "dscores = weights * (dweights - sum over s of weights * dweights).",
                mutate(_att_backward, (_DSCORES, "dscores = weights * dweights")),
                "ch09-attention-backward"),
        _mistake("attention_backward/jacobian-diagonal-only",
                "dscores = weights * (1 - weights) * dweights uses only the diagonal of the "
                "softmax's Jacobian, dw_s/de_s = w_s (1 - w_s): raising score r also lowers weight "
                "s (dw_s/de_r = -w_s w_r), so dscores = weights * (dweights - sum over r of "
                "weights * dweights).",
                mutate(_att_backward, (_DSCORES, "dscores = weights * (1 - weights) * dweights")),
                "ch09-attention-backward"),
        _mistake("attention_backward/jacobian-sum-unweighted",
                "The sum in the softmax's Jacobian is weighted: subtract sum over r of weights[r] * "
                "dweights[r], not the plain sum of dweights.",
                mutate(_att_backward, (_DSCORES, "dscores = weights * (dweights - np.sum(dweights, axis=0))")),
                "ch09-attention-backward"),
        _mistake("attention_backward/jacobian-missing-weights",
                "The softmax's Jacobian lacks its factor weights[s]: dscores = weights * (dweights "
                "- sum over s of weights * dweights).",
                mutate(_att_backward, (_DSCORES, "dscores = dweights - np.sum(weights * dweights, axis=0)")),
                "ch09-attention-backward"),
        _mistake("attention_backward/jacobian-sign-flipped",
                "The softmax's Jacobian has the wrong sign: dscores = weights * (dweights - sum "
                "over s of weights * dweights), the weighted sum subtracted from dweights.",
                mutate(_att_backward, (_DSCORES, "dscores = weights * (np.sum(weights * dweights, axis=0) - dweights)")),
                "ch09-attention-backward"),
        _mistake("attention_backward/jacobian-sum-wrong-axis",
                "The sum in the softmax's Jacobian runs over the batch: it runs over the source "
                "positions s of one example (axis 0 of the (S, B) weights).",
                mutate(_att_backward, (_DSCORES, "dscores = weights * (dweights - np.sum(weights * dweights, axis=1, keepdims=True))")),
                "ch09-attention-backward"),
        _mistake("attention_backward/jacobian-sum-wrong-axis-broadcast",
                "The sum in the softmax's Jacobian runs over the batch (axis 1) and is then "
                "broadcast against the (S, B) weights: it runs over the source positions s of one "
                "example, np.sum(weights * dweights, axis=0), one number per example.",
                mutate(_att_backward, (_DSCORES, "dscores = weights * (dweights - np.sum(weights * dweights, axis=1))")),
                "ch09-attention-backward"),
        _mistake("attention_backward/cache-read-in-another-order",
                "You unpack the cache in another order than attention_forward stores it: the cache "
                "is (query, keys, weights).",
                mutate(_att_backward, (_UNPACK, "keys, query, weights = cache")),
                "ch09-attention-backward"),
        _mistake("attention_backward/dkeys-score-path-times-keys",
                "The score path of dkeys multiplies dscores by the keys: the score k_s . q changes "
                "with k_s at the rate q, so key s gets dscores[s] * query.",
                mutate(_att_backward, (_SCORE_PATH, "dkeys += dscores[:, :, None] * keys")),
                "ch09-attention-backward"),
        _mistake("attention_backward/dkeys-average-path-unweighted",
                "Through the average every key gets dcontext itself: key s enters the context as "
                "weights[s] * keys[s], so it gets weights[s] * dcontext.",
                mutate(_att_backward, (_AVERAGE_PATH, "dkeys = np.broadcast_to(dcontext, keys.shape).copy()")),
                "ch09-attention-backward"),
        _mistake("attention_backward/dkeys-missing-score-path",
                "dkeys only has the gradient through the average (weights * dcontext): each key "
                "also sets its own score k_s . q, which adds dscores[s] * query.",
                mutate(_att_backward, (_SCORE_PATH, "pass")), "ch09-attention-backward"),
        _mistake("attention_backward/dkeys-missing-average-path",
                "dkeys only has the gradient through the scores: each key is also averaged into "
                "the context, which adds weights[s] * dcontext.",
                mutate(_att_backward, (_AVERAGE_PATH, "dkeys = np.zeros_like(keys)")),
                "ch09-attention-backward"),
        _mistake("attention_backward/dkeys-score-path-without-jacobian",
                "dquery is right, but dkeys's score path uses dweights where dscores belongs: "
                "the gradient reaches the scores through the softmax, dkeys gets dscores[s] * query.",
                mutate(_att_backward, (_SCORE_PATH, "dkeys += dweights[:, :, None] * query")),
                "ch09-attention-backward"),
        _mistake("attention_backward/returns-swapped",
                "You return (dkeys, dquery): a backward returns the gradients in the order of the "
                "forward's arguments, (dquery, dkeys).",
                mutate(_att_backward, ("return dquery, dkeys", "return dkeys, dquery")),
                "ch09-attention-backward"),
        _mistake("attention_backward/dquery-without-jacobian",
                "dkeys is right, but dquery uses dweights where dscores belongs: dquery = sum over "
                "s of dscores[s] * keys[s], with dscores after the softmax's Jacobian.",
                mutate(_att_backward, (_DQUERY, "dquery = np.sum(dweights[:, :, None] * keys, axis=0)")),
                "ch09-attention-backward"),
    ],
)


def check_attention_backward(attention_forward, attention_backward, hidden=False):
    """Check ``attention_backward(dcontext, cache) -> (dquery, dkeys)``.

    The cache comes from the student's own ``attention_forward`` (it must be ``(query, keys,
    weights)``); the gradients are compared with the reference's, which passes rnnlib's
    gradient check.
    """

    def forward_pair(query, keys, mask):
        # The student's forward returns (context, weights, cache); the backward reads the cache.
        out = call_student(attention_forward, query, keys, mask, name="attention_forward")
        if isinstance(out, tuple) and len(out) == 3:
            return out[0], out[2]
        raise CheckFailed(f"Fix attention_forward first: it should return (context, weights, "
                          f"cache), but it returned {fmt_shape(out)}.", mistake_id="generic/dependency")

    forward_pair.__name__ = "attention_forward"
    run_backward_check(ATTENTION_BACKWARD, forward_pair, attention_backward, hidden,
                       forward_name="attention_forward")


# ---------------------------------------------------------------------------------------------
# Decoders with known answers

# Tokens: 0 the end marker ".", 1 "a", 2 "b"; 3 the start marker (an input only). Row = the
# previous token, column = the next: p(next | previous). Worked out in the book's section on
# beam search: greedy "b b b" (never ends), width 2 "b .", width 27 (everything) "b a .".
TABLE = np.array([
    [0.60, 0.35, 0.05],
    [0.85, 0.10, 0.05],
    [0.35, 0.25, 0.40],
    [0.25, 0.05, 0.70],
])


def _table_step(prev, state):
    """The table as a decoder: its state is passed through unchanged."""
    return np.log(TABLE[prev]), state


# A second table, where the best translation is neither the first to finish nor the last: with
# k = 2 and max_len = 3 the beam finishes "." at step 0 (mean log-probability -1.20), "a ." at
# step 1 (-0.31, the answer), "a a ." at step 2 (-1.20), and the unfinished "a a a" (-2.17) is
# worse still. It tells apart mistakes that the first table cannot: stopping at the first
# finished hypothesis, keeping the last one instead of the best, dropping finished ones, a
# length without eos.
TABLE_EARLY = np.array([
    [0.60, 0.20, 0.20],
    [0.90, 0.05, 0.05],
    [0.20, 0.10, 0.70],
    [0.30, 0.60, 0.10],
])


def _table_early_step(prev, state):
    """The second table as a decoder."""
    return np.log(TABLE_EARLY[prev]), state


# A third table, found by a search over random tables, with max_len = 4 and k = 2: on it an
# exhaustive search, a beam whose finished hypotheses take no slot, a beam of width 2, k
# greedy searches side by side and a beam of k copies of the start all return different
# answers, which the random decoders do not always show.
TABLE_WIDE = np.array([
    [0.10, 0.46, 0.44],
    [0.04, 0.14, 0.82],
    [0.17, 0.32, 0.51],
    [0.44, 0.27, 0.29],
])


def _table_wide_step(prev, state):
    """The third table as a decoder."""
    return np.log(TABLE_WIDE[prev]), state


class _TinyRNN:
    """A random vanilla-RNN decoder over ``V`` tokens (and a start marker, id ``V``).

    Calling it is one step: ``(log_probs (N, V), h)`` from the previous tokens ``(N,)`` and
    the states ``(N, H)``. A named class rather than a closure, so that messages can print it.
    """

    def __init__(self, seed, V, H, eos):
        rng = np.random.default_rng(seed)
        self.V, self.eos = V, eos
        self.Wxh = rng.standard_normal((H, V + 1)) * 1.5
        self.Whh = rng.standard_normal((H, H)) * 0.9
        self.bh = rng.standard_normal(H) * 0.3
        self.Why = rng.standard_normal((V, H)) * 1.2
        self.by = rng.standard_normal(V) * 0.3
        self.by[eos] += 0.8  # so that sequences end at different steps
        self.eye = np.eye(V + 1)

    def __call__(self, prev, h):
        prev = np.asarray(prev)
        h, _ = _rnn_step(self.eye[prev], h, self.Wxh, self.Whh, self.bh)
        logits = h @ self.Why.T + self.by
        logits = logits - logits.max(axis=1, keepdims=True)
        return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True)), h

    def __repr__(self):
        return f"a tiny RNN decoder (V={self.V})"


def _tiny_decoder_case(seed, V, H, B, max_len, k=None):
    rng = np.random.default_rng(seed)
    eos = int(rng.integers(V))  # not always 0: the end marker is an argument
    step = _TinyRNN(seed, V, H, eos)
    state = rng.standard_normal((B, H))
    args = (step, state, V, eos, max_len) + (() if k is None else (k,))
    label = f"seed {seed}, a tiny RNN decoder with V={V} tokens, B={B}, max_len={max_len}"
    return Case(label + ("" if k is None else f", k={k}"), args, {}, {"B": B})


def _shows_the_search(case):
    """Does this beam case tell a beam of width k from greedy decoding and from an exhaustive
    search (on some example), and has some example's answer no end marker (it is still in the
    beam after max_len steps) while another's has? Cases that do not are weak tests."""
    step, state, bos, eos, max_len, k = case.args
    ids = _beam(step, state, bos, eos, max_len, k)[0]
    greedy = _greedy(step, state, bos, eos, max_len)
    V = step(np.full(state.shape[0], bos), state)[0].shape[1]
    everything = _beam(step, state, bos, eos, max_len, V ** max_len)[0]
    differs = lambda other: bool((other != ids).any())  # noqa: E731
    ended = (ids == eos).any(axis=0)
    return differs(greedy) and differs(everything) and ended.any() and not ended.all()


def _decoder_case(seed, V, H, B, max_len, k=None):
    """A tiny random decoder; for a beam search over several examples, the first decoder from
    ``seed`` on whose answers show what a beam does (see :func:`_shows_the_search`)."""
    if k is None or B < 4:
        return _tiny_decoder_case(seed, V, H, B, max_len, k)
    for offset in range(200):
        case = _tiny_decoder_case(1000 * seed + offset, V, H, B, max_len, k)
        if _shows_the_search(case):
            return case
    return _tiny_decoder_case(seed, V, H, B, max_len, k)


# A fourth table, with an exact tie: from the start marker "a" and "b" are equally likely
# (0.4 each). The exercise keeps the first of equal candidates (by hypothesis, then token), so
# a beam of width 1 keeps "a" and finds "a ." (mean log-probability -0.51); a search that keeps
# the later of equal candidates keeps "b" and ends with "b b b" (-0.45).
TABLE_TIE = np.array([
    [0.60, 0.20, 0.20],
    [0.90, 0.05, 0.05],
    [0.10, 0.10, 0.80],
    [0.20, 0.40, 0.40],
])


def _table_tie_step(prev, state):
    """The fourth table as a decoder."""
    return np.log(TABLE_TIE[prev]), state


class _TiedTables:
    """A decoder of V = 10 tokens whose next-token probabilities come from a table with few
    distinct values (1, 2 or 4, eos half as likely, normalised per row), one table per example
    (the state carries the example's number): many candidates tie exactly, among k * V = 30 of
    them, so an unstable sort (np.argsort's default, whose order of equal keys depends on the
    length of the row and on the machine's SIMD sort) keeps other candidates than the first of
    equal scores."""

    V = 10

    def __init__(self, seeds):
        tables = []
        for seed in seeds:
            rng = np.random.default_rng(seed)
            table = np.array([1.0, 2.0, 4.0])[rng.integers(0, 3, (self.V, self.V))]
            table[:, 0] *= 0.5
            tables.append(np.log(table / table.sum(axis=1, keepdims=True)))
        self.tables = np.array(tables)

    def __call__(self, prev, state):
        return self.tables[state[:, 0].astype(np.int64), np.asarray(prev)], state

    def __repr__(self):
        return "a decoder with tied probabilities (V=10)"


def _tied_case():
    """Three examples, k = 3: the first of equal candidates (by hypothesis, then token) kept."""
    step = _TiedTables((1, 4, 5))
    state = np.arange(3, dtype=float)[:, None]
    return Case("a decoder whose probabilities tie exactly (a table of V=10 tokens with values 1, "
                "2 or 4 per row, normalised), B=3, bos=9, eos=0, max_len=3, k=3",
                (step, state, 9, 0, 3, 3), {}, {"B": 3})


def _table_case(B, k=None, which="book"):
    step, name, max_len = {"book": (_table_step, "the table of the book", 3),
                           "early": (_table_early_step, "a second table (answer 'a .')", 3),
                           "wide": (_table_wide_step, "a third table", 4),
                           "tie": (_table_tie_step, "a fourth table, where 'a' and 'b' tie at "
                                                    "step 0", 3)}[which]
    args = (step, np.zeros((B, 1)), 3, 0, max_len) + (() if k is None else (k,))
    return Case(f"{name}, bos=3, eos=0, max_len={max_len}" + ("" if k is None else f", k={k}"),
                args, {}, {"B": B})


def _greedy_cases(hidden):
    shapes = [(4, 3, 4, 5), (5, 2, 3, 4), (3, 3, 3, 6)] if hidden else [(5, 3, 6, 5), (4, 4, 4, 6)]
    cases = [] if hidden else [_table_case(1)]
    return cases + [_decoder_case(seed, *s) for seed in case_seeds(hidden) for s in shapes]


_BEAM_CASES = {}


def _beam_cases(hidden):
    # Several examples per case, so that a wrong search is unlikely to agree with another
    # wrong one on all of them by chance; the hidden cases add B = 1 and a beam as wide as V.
    # Finding decoders that show the search takes a moment: the cases are made once per seeds.
    key = (hidden, tuple(case_seeds(hidden)))
    if key not in _BEAM_CASES:
        _BEAM_CASES[key] = _make_beam_cases(hidden)
    return list(_BEAM_CASES[key])


def _make_beam_cases(hidden):
    shapes = ([(4, 3, 8, 4, 2), (5, 2, 6, 4, 3), (3, 3, 1, 5, 2), (4, 3, 8, 4, 4)] if hidden
              else [(4, 3, 8, 4, 2), (5, 3, 8, 4, 3)])
    cases = [_decoder_case(seed, *s) for seed in case_seeds(hidden) for s in shapes]
    # The tables come first: their answers are worked out by hand and tell the catalogued
    # mistakes apart best, so a match found there is confirmed on the random decoders.
    tables = [_table_case(2 if hidden else 1, 2), _table_case(1, 2, "early"), _table_case(1, 2, "wide"),
              _table_case(1, 1, "tie"), _tied_case()]
    return tables + cases


# ---------------------------------------------------------------------------------------------
# greedy_decode

_STEP = "log_probs, state = step(prev, state)"


def _tokens(column, eos):
    """A decoded column's hypothesis: up to and including its first eos (or all of it)."""
    ends = np.flatnonzero(column == eos)
    return column[: ends[0] + 1] if ends.size else column


def _show(tokens):
    return "[" + " ".join(str(int(v)) for v in tokens) + "]"


def _first_wrong_column(ids, right, eos, who):
    """``(b, t, head)`` for the first example whose column differs, or None when the ids cannot
    be read as token ids of the right shape (the generic diagnoses then say why)."""
    if not (isinstance(ids, np.ndarray) and ids.shape == right.shape and ids.dtype.kind in "iuf"
            and np.isfinite(ids).all()):
        return None
    bad = np.flatnonzero((ids != right).any(axis=0))
    if not bad.size:
        return None
    b = int(bad[0])
    t = int(np.flatnonzero(ids[:, b] != right[:, b])[0])
    head = (f"Example {b} (column {b} of ids): yours is {_show(ids[:, b])}, the right one "
            f"{_show(right[:, b])} (eos = {eos}).")
    return b, t, head


def _decoding_diagnosis(ids, right, eos, who):
    """What is wrong with the first wrong column, as far as the tokens alone tell: the column goes
    on after its own eos; or (greedy decoding) it is eos where the right column goes on."""
    found = _first_wrong_column(ids, right, eos, who)
    if found is None:
        return None
    b, t, head = found
    col, want = ids[:, b], right[:, b]
    own_end = np.flatnonzero(col == eos)
    if own_end.size and (col[own_end[0]:] != eos).any():
        after = int(own_end[0] + np.flatnonzero(col[own_end[0]:] != eos)[0])
        return f"{who}/continues-after-eos", (
            f"{head} Your column has eos at step {int(own_end[0])} but {int(col[after])} at step "
            f"{after}: once an example has written eos, the rest of its column must be eos.")
    if who == "greedy_decode" and col[t] == eos:
        return "greedy_decode/ends-early", (
            f"{head} From step {t} on your column is eos, but the example goes on: given the right "
            f"tokens before it, the most likely token at step {t} is {int(want[t])}, not eos. (An "
            f"example ends when the token it writes is eos, here {eos}; only after that is its "
            "column filled with eos.)")
    return None


def _diagnose_greedy(got, expected, case):
    eos = case.args[3]
    found = _decoding_diagnosis(got.get("ids"), expected["ids"], eos, "greedy_decode")
    if found is not None:
        return found
    first = _first_wrong_column(got.get("ids"), expected["ids"], eos, "greedy_decode")
    if first is None:
        return None
    b, t, head = first
    return "greedy_decode/wrong-token", (
        f"{head} The two agree up to step {t - 1}; at step {t} the most likely token, given the "
        f"tokens before it, is {int(expected['ids'][t, b])}, and yours is {int(got['ids'][t, b])}. "
        "Check what step reads at each step (the token chosen at the step before, and the state "
        "it returned) and that you take the argmax over the tokens (axis 1)."
        if t else
        f"{head} At step 0 the most likely token is {int(expected['ids'][0, b])}, and yours is "
        f"{int(got['ids'][0, b])}: the first step reads bos and the initial state, and its token "
        "is the argmax of the log-probabilities over the tokens (axis 1).")


def _with_bos(step, state, bos, eos, max_len):
    ids = _greedy(step, state, bos, eos, max_len)
    return np.concatenate([np.full((1, ids.shape[1]), bos, dtype=ids.dtype), ids[:-1]])


def _batch_major(decoder):
    """A decoder whose ids come back batch-major, ``(B, max_len)``: the transpose."""

    def variant(*args):
        out = decoder(*args)
        if isinstance(out, tuple):
            return (out[0].T.copy(),) + out[1:]
        return out.T.copy()

    return variant


def _ended_rows(ids, eos):
    """How many rows it takes until every column has had its eos (all rows if one never ends)."""
    ended = np.cumsum(ids == eos, axis=0) > 0
    done = np.flatnonzero(ended.all(axis=1))
    return int(done[0]) + 1 if done.size else ids.shape[0]


def _trimmed(step, state, bos, eos, max_len):
    ids = _greedy(step, state, bos, eos, max_len)
    return ids[:_ended_rows(ids, eos)]


def _filled_with_zeros(step, state, bos, eos, max_len):
    ids = _greedy(step, state, bos, eos, max_len)
    after = np.vstack([np.zeros((1, ids.shape[1]), dtype=bool), (np.cumsum(ids == eos, axis=0) > 0)[:-1]])
    return np.where(after, 0, ids)


GREEDY = Exercise(
    name="greedy_decode",
    reference=_greedy,
    cases=_greedy_cases,
    returns=("ids",),
    time_axis={"ids": 0},
    kinds={"ids": "int"},
    diagnose=_diagnose_greedy,
    section="ch09-greedy",
    mistakes=[
        _mistake("greedy_decode/prediction-not-fed-back",
                "Every step reads the start marker bos again: at step t the decoder must read "
                "its own prediction from step t-1 (prev = the argmax you just took).",
                mutate(_greedy, (_STEP, "log_probs, state = step(np.full(B, bos, dtype=np.int64), state)")),
                "ch09-teacher-forcing"),
        _mistake("greedy_decode/state-not-carried",
                "Every step starts from the initial state: keep the state that step returns and "
                "pass it to the next call.",
                mutate(_greedy, (_STEP, "log_probs, _ = step(prev, state)")), "ch09-greedy"),
        _mistake("greedy_decode/continues-after-eos",
                "After an example has produced eos your output goes on with more tokens: once an "
                "example has ended, the rest of its column must be eos.",
                mutate(_greedy, ("ids[t] = np.where(done, eos, prev)", "ids[t] = prev")), "ch09-greedy"),
        _mistake("greedy_decode/stops-when-one-ends",
                "Decoding stops for every example as soon as one of them produces eos: stop only "
                "when all of them have ended (or after max_len steps).",
                mutate(_greedy, ("if done.all():", "if done.any():")), "ch09-greedy"),
        _mistake("greedy_decode/one-step-short",
                "Your loop makes max_len - 1 steps: an example that has not ended by then needs its "
                "last token too. range(max_len) makes max_len steps.",
                mutate(_greedy, ("for t in range(max_len):", "for t in range(max_len - 1):")), "ch09-greedy"),
        _mistake("greedy_decode/feeds-log-probability",
                "You feed the decoder the largest log-probability instead of the token: the next "
                "input is the id of the most likely token, np.argmax(log_probs, axis=1), an integer.",
                mutate(_greedy, ("prev = np.argmax(log_probs, axis=1)", "prev = np.max(log_probs, axis=1)")),
                "ch09-greedy"),
        _mistake("greedy_decode/argmax-wrong-axis",
                "The argmax runs over the batch (axis 0) of the (B, V) log-probabilities: take the "
                "most likely token of each example, np.argmax(log_probs, axis=1).",
                mutate(_greedy, ("np.argmax(log_probs, axis=1)", "np.argmax(log_probs, axis=0)")),
                "ch09-greedy"),
        _mistake("greedy_decode/argmax-without-axis",
                "np.argmax(log_probs) without axis= gives one index into the flattened (B, V) "
                "array, the same number for every example, and not a token id (it can be as large "
                "as B * V - 1, which step then cannot read). Take the most likely token of each "
                "example, np.argmax(log_probs, axis=1), one id per row.",
                mutate(_greedy, ("prev = np.argmax(log_probs, axis=1)", "prev = np.full(B, np.argmax(log_probs))")),
                "ch09-greedy"),
        _mistake("greedy_decode/argmax-without-axis-wrapped",
                "np.argmax(log_probs) without axis= gives one index into the flattened (B, V) "
                "array: the position of the largest entry of all the examples together. Taking it "
                "% V (or np.unravel_index) makes it a token id, but still one token for the whole "
                "batch, the most likely token of whichever example holds that entry. Take the most "
                "likely token of each example, np.argmax(log_probs, axis=1), one id per row.",
                mutate(_greedy, ("prev = np.argmax(log_probs, axis=1)",
                                 "prev = np.full(B, np.argmax(log_probs) % log_probs.shape[1])")),
                "ch09-greedy"),
        _mistake("greedy_decode/output-starts-with-bos",
                "Your output starts with the start marker: return only the generated tokens, the "
                "first one in row 0.",
                _with_bos, "ch09-greedy"),
        _mistake("greedy_decode/batch-major",
                "Your ids are (B, max_len), one row per example: rnnlib is time-major, so ids[t, b] "
                "is the token of example b at step t, shape (max_len, B).",
                _batch_major(_greedy), "ch09-greedy"),
        _mistake("greedy_decode/trimmed",
                "Your output stops at the step where decoding stopped: it must always have max_len "
                "rows, filled with eos after each example's end.",
                _trimmed, "ch09-greedy"),
        _mistake("greedy_decode/padded-with-zeros",
                "After an example's eos your column holds 0: fill the rest of the column with eos "
                "(the end marker's id is an argument; it is not always 0).",
                _filled_with_zeros, "ch09-greedy"),
    ],
)


def check_greedy_decode(greedy_decode, hidden=False):
    """Check ``greedy_decode(step, state, bos, eos, max_len) -> ids (max_len, B)``."""
    run_check(GREEDY, greedy_decode, hidden)


# ---------------------------------------------------------------------------------------------
# beam_search

_TOP = "top = np.argsort(-candidates, axis=1, kind=\"stable\")[:, :k]"
_REORDER = "state = _take(state, (rows * k + parent).reshape(-1))"
_BETTER = "better = normalised[rows[:, 0], j] > best_score"
_HISTORY = "history = np.concatenate([history[:, rows, parent], token[None]])"
_CANDIDATES = "candidates = (scores[:, :, None] + log_probs.reshape(B, k, V)).reshape(B, k * V)"
_LEAVE = "scores = np.where(ended, -np.inf, scores)"
_FINISHED_LENGTH = "_normalised(scores, t + 1)"
_UNFINISHED_LENGTH = "_normalised(scores, max_len)"


def _mean_log_prob(step, state, b, bos, tokens):
    """``log p(tokens) / len(tokens)`` for example ``b``, under the checker's step function."""
    prev, row, total = np.array([bos]), state[b:b + 1], 0.0
    for token in tokens:
        log_probs, row = step(prev, row)
        total += float(log_probs[0, int(token)])
        prev = np.array([int(token)])
    return total / len(tokens)


# The reference, recording what its beam holds after every pruning: (history (t+1, B, k),
# scores (B, k)) with -inf for empty slots. Finished candidates are still in it (with eos last).
_beam_traced = mutate(_beam, ("def beam_search(step, state, bos, eos, max_len, k):",
                              "def beam_search(step, state, bos, eos, max_len, k, _trace=None):"),
                      ("        prev = token\n",
                       "        prev = token\n        _trace.append((history.copy(), scores.copy()))\n"))


def _kept(trace, t, b):
    """The token sequences the beam of example ``b`` keeps at step ``t`` (finished ones too)."""
    history, scores = trace[t]
    return [tuple(int(v) for v in history[:, b, j]) for j in range(scores.shape[1]) if np.isfinite(scores[b, j])]


def _diagnose_beam(got, expected, case):
    """The first wrong example, followed through the beam of width k: at which step does the
    student's answer drop out of the k best (the beam cannot return it), or does the beam reach
    it and finish a better one? Or are the ids right and a score is not their mean
    log-probability?"""
    step, state, bos, eos, max_len, k = case.args
    ids, scores = got.get("ids"), got.get("scores")
    right_ids, right_scores = expected["ids"], expected["scores"]
    found = _decoding_diagnosis(ids, right_ids, eos, "beam_search")
    if found is not None:
        return found
    first = _first_wrong_column(ids, right_ids, eos, "beam_search")
    V = step(np.full(1, bos), state[:1])[0].shape[1]
    if first is None:
        if not (isinstance(ids, np.ndarray) and np.array_equal(ids, right_ids)
                and isinstance(scores, np.ndarray) and scores.shape == right_scores.shape
                and scores.dtype.kind == "f"):
            return None
        bad = np.flatnonzero(~np.isclose(scores, right_scores, rtol=1e-6, atol=1e-9))
        if not bad.size:
            return None
        b = int(bad[0])
        tokens = _tokens(ids[:, b], eos)
        n = len(tokens)
        what = "eos included" if tokens[-1] == eos else "no eos: it was still in the beam after max_len steps"
        return "beam_search/score-not-mean", (
            f"Your ids are right, but the score of example {b} is {float(scores[b]):.6g}: the score is "
            f"the mean log-probability of the returned tokens {_show(tokens)}, their total "
            f"{right_scores[b] * n:.6g} divided by their number, {n} ({what}), which is "
            f"{right_scores[b]:.6g}.")
    b, _, head = first
    mine, right = _tokens(ids[:, b], eos), _tokens(right_ids[:, b], eos)
    if not all(0 <= int(v) < V for v in mine):
        return None
    mean = _mean_log_prob(step, state, b, bos, mine)
    trace = []
    _beam_traced(step, state, bos, eos, max_len, k, trace)
    for t in range(len(mine)):
        kept = _kept(trace, t, b)
        if tuple(int(v) for v in mine[: t + 1]) not in kept:
            better = (f" Yours has a higher mean log-probability ({mean:.6g}) than the right one "
                      f"({right_scores[b]:.6g}), but" if mean > right_scores[b] + 1e-9 else " But")
            return "beam_search/leaves-the-beam", (
                f"{head}{better} a beam of width k = {k} cannot return yours: after step {t} its "
                f"first {t + 1} token{'s' if t else ''} {_show(mine[: t + 1])} are not among the k "
                f"best candidates, which are {', '.join(_show(h) for h in kept)}. Keep exactly the k "
                "best of the k * V candidates at every step (finished ones count among them), and "
                "let each kept candidate continue its parent's tokens and state.")
    when = (f"finishes at step {len(right) - 1}" if right[-1] == eos
            else "is still in the beam after max_len steps, which makes it finished too")
    return "beam_search/not-the-best-finished", (
        f"{head} The beam reaches yours (mean log-probability {mean:.6g}), but the right one "
        f"{when}, with a better mean log-probability, {right_scores[b]:.6g}: the answer is the "
        "finished hypothesis with the highest score / length (eos counted in the length), "
        "the hypotheses left in the beam after max_len steps included.")


def _raw_score_returned(step, state, bos, eos, max_len, k):
    """The right hypotheses, returned with their total log-probability instead of per token."""
    ids, scores = _beam(step, state, bos, eos, max_len, k)
    lengths = np.array([min(_ended_rows(ids[:, [b]], eos), max_len) for b in range(ids.shape[1])])
    return ids, scores * lengths


def _not_pruned(step, state, bos, eos, max_len, k):
    """The reference with a beam wide enough never to prune: an exhaustive search."""
    V = step(np.full(state.shape[0], bos), state)[0].shape[1]
    return _beam(step, state, bos, eos, max_len, V ** max_len)


BEAM = Exercise(
    name="beam_search",
    reference=_beam,
    cases=_beam_cases,
    returns=("ids", "scores"),
    time_axis={"ids": 0},
    kinds={"ids": "int"},
    diagnose=_diagnose_beam,
    section="ch09-beam",
    mistakes=[
        _mistake("beam_search/no-length-normalisation",
                "Hypotheses are compared by their total log-probability: that favours short ones "
                "(every token adds a negative number). Compare finished hypotheses by score / "
                "length, length counting the generated tokens with eos, and return that.",
                mutate(_beam, ("return scores / length", "return scores"), inner=_normalised),
                "ch09-length-normalisation"),
        _mistake("beam_search/finished-take-no-slot",
                "A finished hypothesis takes no place in your beam: you keep the k best unfinished "
                "candidates. In this exercise (as in the book) the k best candidates are kept, "
                "finished or not; a finished one is recorded and leaves the beam, which then holds "
                "fewer than k hypotheses.",
                mutate(_beam, (_HISTORY, "old_history, history = history, np.concatenate([history[:, rows, parent], token[None]])"),
                       (_REORDER, "old_state, state = state, _take(state, (rows * k + parent).reshape(-1))"),
                       (_LEAVE, "live = np.where(np.arange(k * V) % V != eos, candidates, -np.inf); "
                                "top = np.argsort(-live, axis=1, kind='stable')[:, :k]; "
                                "scores = np.take_along_axis(live, top, axis=1); parent, token = np.divmod(top, V); "
                                "history = np.concatenate([old_history[:, rows, parent], token[None]]); "
                                "state = _take(old_state, (rows * k + parent).reshape(-1)); prev = token")),
                "ch09-beam"),
        _mistake("beam_search/not-pruned",
                "Your search keeps every candidate instead of the k best at each step: it finds "
                "what an exhaustive search finds. Keep only the k highest-scoring candidates of "
                "each example after every step.",
                _not_pruned, "ch09-beam"),
        _mistake("beam_search/k-copies-of-start",
                "Your beam finds what greedy decoding finds: its k slots hold copies of the same "
                "hypothesis. At the start only one slot holds the empty hypothesis (score 0); the "
                "others are empty (score -inf), so the first step's k candidates are different.",
                mutate(_beam, ("scores[:, 0] = 0.0", "scores[:, :] = 0.0")), "ch09-beam"),
        _mistake("beam_search/finished-stay-in-beam",
                "Hypotheses that ended with eos stay in the beam and are extended further, taking "
                "the places of live ones: a finished hypothesis leaves the beam (set its score to "
                "-inf after recording it).",
                mutate(_beam, ("scores = np.where(ended, -np.inf, scores)", "pass")), "ch09-beam"),
        _mistake("beam_search/finished-dropped",
                "Hypotheses that end with eos are thrown away: only those still unfinished after "
                "max_len steps are returned. Record every finished hypothesis and keep the best.",
                mutate(_beam, (_BETTER, "better = np.zeros(B, dtype=bool)")), "ch09-beam"),
        _mistake("beam_search/stops-at-first-finished",
                "Your search stops as soon as a hypothesis ends (the example's search, or the whole "
                "batch's): a longer one may still score better per token. Go on until every beam "
                "is empty or max_len steps are done.",
                mutate(_beam, (_LEAVE, "scores = np.where(ended.any(axis=1, keepdims=True), -np.inf, scores)")),
                "ch09-beam"),
        _mistake("beam_search/slots-extended-greedily",
                "After the first step each hypothesis is extended only by its own most likely "
                "token: that is k greedy searches side by side. Extend every hypothesis by every "
                "token and keep the k best of all k * V candidates.",
                mutate(_beam, (_CANDIDATES, "lp = log_probs.reshape(B, k, V); "
                                            "lp = np.where((lp == lp.max(axis=2, keepdims=True)) | (t == 0), lp, -np.inf); "
                                            "candidates = (scores[:, :, None] + lp).reshape(B, k * V)")),
                "ch09-beam"),
        _mistake("beam_search/unfinished-ignored",
                "The hypotheses still in the beam after max_len steps are never considered: when "
                "the search stops at max_len they count as finished too (without eos, length "
                "max_len), and one of them may be the best.",
                mutate(_beam, ("wins = last[rows[:, 0], slot] > best_score", "wins = np.zeros(B, dtype=bool)")),
                "ch09-length-normalisation"),
        _mistake("beam_search/length-counts-bos",
                "Your length counts the start marker: the length of a hypothesis is the number of "
                "tokens it generated, eos included, bos not (a hypothesis finished at step t has "
                "length t + 1).",
                mutate(_beam, (_FINISHED_LENGTH, "_normalised(scores, t + 2)"),
                       (_UNFINISHED_LENGTH, "_normalised(scores, max_len + 1)")),
                "ch09-length-normalisation"),
        _mistake("beam_search/length-penalty-power",
                "You divide by a power of the length (length ** alpha, as d2l.ai and Wu et al. "
                "do with alpha < 1): this exercise divides by the length itself, score / length, "
                "the mean log-probability per token.",
                mutate(_beam, ("return scores / length", "return scores / length ** 0.75"), inner=_normalised),
                "ch09-length-normalisation"),
        _mistake("beam_search/last-finished-not-best",
                "Each finished hypothesis replaces the previous one, even when it scores worse: "
                "keep a finished hypothesis only if its normalised score beats the best so far.",
                mutate(_beam, (_BETTER, "better = np.isfinite(normalised[rows[:, 0], j])")), "ch09-beam"),
        _mistake("beam_search/history-not-reordered",
                "The kept candidates append their token to the history of the slot they land in, "
                "not to their parent's: after pruning, slot j continues hypothesis parent[j], so "
                "reorder the history (and the state) by parent before appending.",
                mutate(_beam, ("history[:, rows, parent]", "history")), "ch09-beam"),
        _mistake("beam_search/states-not-reordered",
                "The decoder states are not reordered after pruning: slot j now continues "
                "hypothesis parent[j], so its state must be row parent[j]'s state "
                "(state = state[parent rows]).",
                mutate(_beam, (_REORDER, "pass")), "ch09-beam"),
        _mistake("beam_search/adds-probabilities",
                "The scores add probabilities: a sequence's probability is the product of its "
                "tokens' probabilities, so its score adds their log-probabilities.",
                mutate(_beam, ("log_probs.reshape(B, k, V)", "np.exp(log_probs).reshape(B, k, V)")),
                "ch09-beam"),
        _mistake("beam_search/keeps-lowest",
                "The beam keeps the k lowest-scoring candidates: np.argsort sorts in increasing "
                "order, so sort -candidates (or take the last k).",
                mutate(_beam, (_TOP, "top = np.argsort(candidates, axis=1, kind=\"stable\")[:, :k]")),
                "ch09-beam"),
        _mistake("beam_search/ties-keep-the-later",
                "Among candidates with equal scores your pruning keeps a later one (a later "
                "hypothesis or token): the exercise keeps the first, by hypothesis, then token. "
                "A descending sort reverses the order of equal scores too (sorted(..., "
                "reverse=True) over (score, hypothesis, token) tuples, np.argsort(row)[::-1]): "
                "sort the negated scores with a stable sort, np.argsort(-row, kind=\"stable\"), "
                "or sort by (-score, hypothesis, token).",
                mutate(_beam, (_TOP, "top = np.argsort(candidates, axis=1, kind=\"stable\")[:, ::-1][:, :k]")),
                "ch09-beam"),
        _mistake("beam_search/unstable-sort",
                "Among candidates with equal scores your pruning does not keep the first (by "
                "hypothesis, then token), as the exercise asks: np.argsort's default sort "
                "(quicksort) is not stable: on a long row (here k * V = 30 candidates) it may put "
                "equal scores in any order. Use a stable sort, np.argsort(-row, kind=\"stable\")[:k], "
                "which keeps equal candidates in their order.",
                mutate(_beam, (_TOP, "top = np.argsort(-candidates, axis=1)[:, :k]")), "ch09-beam"),
        _mistake("beam_search/raw-score-returned",
                "The right hypotheses, but the scores returned are their total log-probabilities: "
                "return the normalised score, score / length, by which they were chosen.",
                _raw_score_returned, "ch09-length-normalisation"),
        _mistake("beam_search/batch-major",
                "Your ids are (B, max_len), one row per example: rnnlib is time-major, so ids[t, b] "
                "is the token of example b at step t, shape (max_len, B).",
                _batch_major(_beam), "ch09-beam"),
        _mistake("beam_search/length-without-eos",
                "A finished hypothesis's length does not count its eos: the length is the number "
                "of tokens generated, eos included (a hypothesis ending at step t has length t + 1).",
                mutate(_beam, (_FINISHED_LENGTH, "_normalised(scores, t)")),
                "ch09-length-normalisation"),
    ],
)


_STATES_NOT_REORDERED = next(m for m in BEAM.mistakes if m.id == "beam_search/states-not-reordered")
# What the search diagnoses say about a wrong answer whose cause may be the decoder's states.
_SEARCH_DIAGNOSES = ("beam_search/not-the-best-finished", "beam_search/leaves-the-beam",
                     "beam_search/score-not-mean", "generic/value", "generic/time-step")


def _answer(beam_search, args):
    """The student's ids on one case, or None when they cannot be compared."""
    try:
        out = call_student(beam_search, *args, name="beam_search")
    except Exception:  # noqa: BLE001 - the check has already said what is wrong
        return None
    ids = out[0] if isinstance(out, (tuple, list)) and len(out) == 2 else None
    return np.asarray(ids) if isinstance(ids, np.ndarray) else None


def _states_mishandled(beam_search, hidden):
    """``(case label, b)`` when the search is right on every table, where the log-probabilities
    do not depend on the decoder's state, and wrong on an RNN decoder, whose do, even on one of
    its examples alone (so not because examples are mixed up in the batch); else None."""
    for case in _beam_cases(hidden):
        step, state, bos, eos, max_len, k = case.args
        right = _beam(*case.args)[0]
        ids = _answer(beam_search, case.args)
        if ids is None or ids.shape != right.shape:
            return None
        if np.array_equal(ids, right):
            continue
        if not isinstance(step, _TinyRNN):
            return None  # wrong on a table: something else than the states
        b = int(np.flatnonzero((ids != right).any(axis=0))[0])
        alone = (step, state[b:b + 1], bos, eos, max_len, k)
        ids_alone = _answer(beam_search, alone)
        if ids_alone is None or np.array_equal(ids_alone, _beam(*alone)[0]):
            return None  # right on its own: the examples of the batch are mixed up
        return case.label, b
    return None


def _probe_states(beam_search, hidden, err):
    """A search wrong only where the log-probabilities depend on the state: states not reordered."""
    if err.mistake_id not in _SEARCH_DIAGNOSES:
        return None
    found = _states_mishandled(beam_search, hidden)
    if found is None:
        return None
    label, b = found
    return CheckFailed(
        f"beam_search: {_STATES_NOT_REORDERED.says} Your search is right on the tables, whose "
        "log-probabilities do not depend on the decoder's state, and wrong on an RNN decoder, "
        f"whose do, even for its example {b} alone: the states do not follow the hypotheses "
        "(check too that every step is given the states the step before returned). "
        f"({label})", mistake_id=_STATES_NOT_REORDERED.id)


BEAM.probe = _probe_states


def check_beam_search(beam_search, hidden=False):
    """Check ``beam_search(step, state, bos, eos, max_len, k) -> (ids (max_len, B), scores (B,))``."""
    run_check(BEAM, beam_search, hidden)


# ---------------------------------------------------------------------------------------------
# Questions: teacher forcing, exposure bias, shapes

_QUESTIONS_EXERCISE, check_ch09_questions = question_set("ch09_questions", [
    Question(
        "train_input", "a",
        "During training with teacher forcing, what does the decoder read at step t",
        "Teacher forcing feeds the decoder the true previous character of the target.",
        wrong=(Wrong("b", "free-running-training",
                     "Reading its own previous prediction is what the decoder does when it "
                     "translates; teacher forcing feeds it the true previous character."),
               Wrong("c", "training-reads-start-marker",
                     "The start marker is read only at the first step; at step t the decoder "
                     "reads the true previous character.")),
        section="ch09-teacher-forcing"),
    Question(
        "test_input", "b",
        "When the trained model translates a new date, what does the decoder read at step t",
        "At test time there is no target to read: the decoder reads its own previous prediction.",
        wrong=(Wrong("a", "teacher-forcing-at-test-time",
                     "That is teacher forcing at test time: there is no true target when a new "
                     "date is translated (that is what we want to find out), so the decoder reads "
                     "its own previous prediction."),
               Wrong("c", "testing-reads-start-marker",
                     "A decoder that reads the start marker at every step never learns what it has "
                     "already written; it reads its own previous prediction.")),
        section="ch09-teacher-forcing"),
    Question(
        "exposure_bias", "b",
        "Why can a model that predicts almost every character right under teacher forcing "
        "still translate whole dates wrongly",
        "Compare what the decoder reads in training and when it translates.",
        wrong=(Wrong("a", "exposure-bias-is-overfitting",
                     "Overfitting would show on held-out data under teacher forcing too. The "
                     "difference is what the decoder reads: in training always the true previous "
                     "character, when translating its own, possibly wrong, prediction, a situation "
                     "it never met in training (exposure bias)."),
               Wrong("c", "exposure-bias-is-the-loss",
                     "The loss is what training minimises; the difference is what the decoder "
                     "reads: its own, possibly wrong, predictions, which it never met in "
                     "training (exposure bias).")),
        section="ch09-teacher-forcing"),
    Question(
        "weights_shape", (7, 4),
        "For keys of shape (S, B, H) = (7, 4, 16), what is the shape of the attention weights",
        "One weight per source position and example.",
        wrong=(Wrong((4, 7), "weights-batch-first",
                     "rnnlib is time-major: the weights are (S, B), one column of S weights per "
                     "example."),
               Wrong((7, 4, 16), "weights-per-unit",
                     "There is one weight per source position and example, shared by all H units "
                     "of that position's key: (S, B).")),
        section="ch09-attention"),
    Question(
        "beam_rows", 15,
        "With B = 5 examples and a beam of width k = 3, how many rows does each call of step read",
        "Every slot of every example's beam is one row.",
        wrong=(Wrong(3, "beam-rows-k", "Each of the B examples has its own beam of k slots: B * k rows."),
               Wrong(5, "beam-rows-b", "Each example keeps k hypotheses, each one row: B * k rows.")),
        section="ch09-beam"),
    Question(
        "dscores_0", -0.375,
        "With weights (0.25, 0.75) and dweights (1, 3), what is dscores[0]",
        "Back through the softmax: dscores[s] = w[s] * (dw[s] - sum over r of w[r] * dw[r]); "
        "the weighted sum is 0.25 * 1 + 0.75 * 3.",
        wrong=(Wrong(1, "dscores-no-jacobian",
                     "That is dweights[0] itself: the gradient must go through the softmax, "
                     "dscores[s] = w[s] * (dw[s] - sum over r of w[r] * dw[r])."),
               Wrong(0.25, "dscores-exp-derivative",
                     "w[0] * dw[0] differentiates the weight as if it were exp(score) alone; the sum "
                     "in the softmax's denominator depends on every score: subtract the weighted sum "
                     "of dweights, w[0] * (dw[0] - sum over r of w[r] * dw[r])."),
               Wrong(0.1875, "dscores-diagonal-only",
                     "w[0] * (1 - w[0]) * dw[0] keeps only the diagonal of the softmax's Jacobian: "
                     "raising score 0 also lowers weight 1, whose gradient dw[1] = 3 enters too."),
               Wrong(0.375, "dscores-sign",
                     "The sign is flipped: dscores[s] = w[s] * (dw[s] - sum over r of w[r] * dw[r]), "
                     "the weighted sum subtracted from dw[s]."),
               Wrong(-1.5, "dscores-missing-weight",
                     "dw[0] - sum over r of w[r] * dw[r] still needs the factor w[0] in front."),
               Wrong(-0.75, "dscores-unweighted-sum",
                     "The sum in the softmax's Jacobian is weighted by the weights: 0.25 * 1 + "
                     "0.75 * 3, not 1 + 3.")),
        section="ch09-attention-backward"),
    Question(
        "beam_len2", (2, 2),
        "On the table, what does a beam of width 2 return with max_len = 2",
        "Follow the two steps of the book's worked example, and remember what happens to the "
        "hypotheses still in the beam when max_len steps are done.",
        wrong=(Wrong((2, 0), "beam-len2-unfinished-ignored",
                     "'b .' is the best *finished* hypothesis (per character ln(0.245) / 2 = -0.703), "
                     "but after max_len = 2 steps the hypothesis 'b b' still in the beam counts as "
                     "finished too, with ln(0.28) / 2 = -0.636, which is better."),
               Wrong((0,), "beam-len2-not-normalised",
                     "'.' has the highest probability of the hypotheses that end with '.', but the "
                     "search compares them per character, and after max_len = 2 steps the "
                     "hypothesis 'b b' still in the beam counts as finished too.")),
        section="ch09-length-normalisation"),
], section="ch09")
