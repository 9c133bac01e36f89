"""Checkers for chapter 9, sequence to sequence: attention forward and backward, greedy
decoding, beam search, and questions on teacher forcing.

Every graded function is an :class:`~rnnlib.checks._engine.Exercise` whose catalogue of known
mistakes is built from the reference in :mod:`rnnlib.attention` or :mod:`rnnlib.seq2seq` by one
edit (:func:`~rnnlib.checks._engine.mutate`) or one changed input or output.

The decoders are checked on small decoders whose answers are known: a table of next-token
probabilities worked out by hand in the book (greedy never ends, a beam of width 2 finds
"b .", an exhaustive search finds "b a .", and without length normalisation the empty
translation "." wins), and tiny random RNN decoders with a few examples each, where the
reference's answers are what the checker compares with (the tests check the reference
against exhaustive search). The step function handed to the student is the checker's: it
calls rnnlib's RNN step, which the guard lets through because the call comes from rnnlib.
"""
from __future__ import annotations

import numpy as np

from rnnlib import attention as _attention
from rnnlib import rnn as _rnn
from rnnlib import seq2seq as _seq2seq
from rnnlib.checks._core import CheckFailed, call_student, case_seeds, fmt_shape
from rnnlib.checks._engine import Case, Exercise, Mistake, mutate, run_backward_check, run_check
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
# wrong value; some cases have padding (a mask), some none; the hidden ones add S = 1, B = 1
# and S = B (where a softmax over the wrong axis still has the right shape).


def _mask(rng, S, B):
    mask = rng.random((S, B)) < 0.6
    mask[0] = True  # padding comes at the end: every source has a first character
    return mask


def _attention_case(seed, S, B, H, masked, with_dcontext=False):
    rng = np.random.default_rng(seed)
    args = (rng.standard_normal((B, H)), rng.standard_normal((S, B, H)),
            _mask(rng, S, B) if masked else None)
    if with_dcontext:
        args = args + (rng.standard_normal((B, H)),)
    return Case(f"seed {seed}, S={S}, B={B}, H={H}, {'with padding' if masked else 'mask=None'}",
                args, {}, {"S": S, "B": B, "H": H})


def _attention_cases(hidden, with_dcontext=False):
    shapes = ([(1, 2, 3, False), (4, 4, 3, True), (7, 1, 5, True), (3, 5, 2, True), (2, 3, 4, False)]
              if hidden else [(5, 3, 4, True), (4, 2, 3, False), (6, 4, 2, True)])
    return [_attention_case(seed, *s, with_dcontext=with_dcontext)
            for seed in case_seeds(hidden) for s in shapes]


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


ATTENTION_FORWARD = Exercise(
    name="attention_forward",
    reference=_att_forward,
    cases=_attention_cases,
    returns=("context", "weights", "cache"),
    compare=("context", "weights"),
    cache_fields=_FIELDS,
    section="ch09-attention",
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

def _forward_pair(query, keys, mask):
    """The reference forward as an (output, cache) pair, as the backward check expects."""
    context, _, cache = _att_forward(query, keys, mask)
    return context, cache


ATTENTION_BACKWARD = Exercise(
    name="attention_backward",
    reference=_att_backward,
    forward=_forward_pair,
    cache_fields=_FIELDS,
    arg_names=("query", "keys", "mask", "dcontext"),
    cases=lambda hidden: _attention_cases(hidden, with_dcontext=True),
    returns=("dquery", "dkeys"),
    section="ch09-attention-backward",
    mistakes=[
        _mistake("attention_backward/no-softmax-jacobian",
                "The gradient goes from the weights to the scores unchanged: the weights are a "
                "softmax of the scores, so dscores = weights * (dweights - sum over s of "
                "weights * dweights).",
                mutate(_att_backward, (_DSCORES, "dscores = dweights")), "ch09-attention-backward"),
        _mistake("attention_backward/jacobian-diagonal-only",
                "dscores = weights * dweights uses only the diagonal of the softmax's Jacobian: "
                "raising one score lowers every other weight, so subtract the weighted sum, "
                "dscores = weights * (dweights - sum over s of weights * dweights).",
                mutate(_att_backward, (_DSCORES, "dscores = weights * dweights")),
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


def _decoder_case(seed, V, H, B, max_len, k=None):
    rng = np.random.default_rng(seed)
    eos = int(rng.integers(V))  # not always 0: the end marker is an argument
    step = _TinyRNN(seed, V, H, eos)
    state = rng.standard_normal((B, H))
    args = (step, state, V, eos, max_len) + (() if k is None else (k,))
    label = f"seed {seed}, a tiny RNN decoder with V={V} tokens, B={B}, max_len={max_len}"
    return Case(label + ("" if k is None else f", k={k}"), args, {}, {"B": B})


def _table_case(B, k=None):
    args = (_table_step, np.zeros((B, 1)), 3, 0, 3) + (() if k is None else (k,))
    return Case("the table of the book, bos=3, eos=0, max_len=3" + ("" if k is None else f", k={k}"),
                args, {}, {"B": B})


def _greedy_cases(hidden):
    shapes = [(4, 3, 4, 5), (5, 2, 3, 4), (3, 3, 3, 6)] if hidden else [(5, 3, 6, 5), (4, 4, 4, 6)]
    cases = [] if hidden else [_table_case(1)]
    return cases + [_decoder_case(seed, *s) for seed in case_seeds(hidden) for s in shapes]


def _beam_cases(hidden):
    # Several examples per case, so that a wrong search is unlikely to agree with another
    # wrong one on all of them by chance; the hidden cases add B = 1 and a beam as wide as V.
    shapes = ([(4, 3, 8, 4, 2), (5, 2, 6, 4, 3), (3, 3, 1, 5, 2), (4, 3, 8, 3, 4)] if hidden
              else [(4, 3, 8, 4, 2), (5, 3, 8, 4, 3)])
    cases = [_decoder_case(seed, *s) for seed in case_seeds(hidden) for s in shapes]
    return [_table_case(1, 2)] + cases if not hidden else cases + [_table_case(2, 2)]


# ---------------------------------------------------------------------------------------------
# greedy_decode

_STEP = "log_probs, state = step(prev, state)"


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
        _mistake("greedy_decode/argmax-wrong-axis",
                "The argmax runs over the batch (axis 0) of the (B, V) log-probabilities: take the "
                "most likely token of each example, np.argmax(log_probs, axis=1).",
                mutate(_greedy, ("np.argmax(log_probs, axis=1)", "np.argmax(log_probs, axis=0)")),
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
    section="ch09-beam",
    mistakes=[
        _mistake("beam_search/no-length-normalisation",
                "Hypotheses are compared by their total log-probability: that favours short ones "
                "(every token adds a negative number). Compare finished hypotheses by score / "
                "length, length counting the generated tokens with eos, and return that.",
                mutate(_beam, ("return scores / length", "return scores"), inner=_normalised),
                "ch09-length-normalisation"),
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
                "The search stops as soon as some hypothesis ends: a longer one may still score "
                "better per token. Go on until every beam is empty or max_len steps are done.",
                mutate(_beam, ("if not np.isfinite(scores).any():", "if ended.any():")), "ch09-beam"),
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
                mutate(_beam, ("_normalised(scores, t + 1)", "_normalised(scores, max(t, 1))")),
                "ch09-length-normalisation"),
    ],
)


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
], section="ch09")
