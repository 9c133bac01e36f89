"""Chapter 9's pieces: the date task, attention, the encoder–decoder and its decoding.

Every backward is checked against central differences in float64 (the shared battery of
``rnnlib.gradcheck``); decoding is checked on models whose answers are known: a table of
next-token probabilities worked out by hand, and exhaustive search over a tiny vocabulary.
"""
from __future__ import annotations

import datetime
import itertools
import zlib

import numpy as np
import pytest

from rnnlib import dates
from rnnlib.attention import (
    additive_attention_backward,
    additive_attention_forward,
    attention_backward,
    attention_forward,
    masked_softmax,
)
from rnnlib.gradcheck import RTOL, check_backward, numerical_gradient, rel_error
from rnnlib.rnn import rnn_step_forward
from rnnlib.seq2seq import (
    BOS,
    EOS,
    PAD,
    Seq2Seq,
    beam_search,
    encode_pairs,
    exact_match,
    greedy_decode,
    minibatches,
    take,
    to_strings,
    train_seq2seq,
)

SHAPES = [(1, 1, 2), (4, 1, 3), (1, 3, 2), (5, 3, 4)]  # (S, B, H), with the edges S=1, B=1


def _rng(*key):
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def _mask(rng, S, B):
    mask = rng.random((S, B)) < 0.6
    mask[rng.integers(S, size=B), np.arange(B)] = True  # at least one real position each
    return mask


# ---------------------------------------------------------------------------------------------
# The date task


def test_date_pairs_are_reproducible_and_say_the_same_date():
    s1, t1, k1 = dates.date_pairs(300, rng=5)
    s2, t2, k2 = dates.date_pairs(300, rng=5)
    assert (s1, t1) == (s2, t2) and np.array_equal(k1, k2)
    names = list(dates.FORMATS)
    for source, target, kind in zip(s1, t1, k1):
        day = datetime.date.fromisoformat(target)
        assert dates.FIRST_DAY <= day <= dates.LAST_DAY
        assert dates.FORMATS[names[kind]](day) == source


def test_every_format_is_drawn_and_weekdays_are_right():
    sources, targets, kinds = dates.date_pairs(2000, rng=1)
    assert set(kinds) == set(range(len(dates.FORMATS)))
    for source, target in zip(sources, targets):
        for name in dates.WEEKDAYS:
            if source.startswith(name):
                assert datetime.date.fromisoformat(target).weekday() == dates.WEEKDAYS.index(name)


def test_known_formats_and_ordinals():
    d = datetime.date(1998, 3, 3)
    assert dates.FORMATS["weekday, d month yyyy"](d) == "tuesday, 3 march 1998"
    assert dates.FORMATS["d/m/yy"](d) == "3/3/98"
    assert dates.FORMATS["month dth yyyy"](d) == "march 3rd 1998"
    assert [dates.ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 31)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "31st"]


def test_splits_are_distinct_and_the_test_inputs_are_longer():
    sp = dates.date_splits(500, 100, 100, max_train_len=18, rng=3)
    train, val, test = (set(s) for s, _ in (sp.train, sp.val, sp.test))
    assert len(train) == 500 and len(val) == 100 and len(test) == 100
    assert not (train & val) and not (train & test) and not (val & test)
    assert max(len(s) for s in train | val) <= 18 < min(len(s) for s in test)
    assert dates.date_splits(500, 100, 100, max_train_len=18, rng=3) == sp


def test_vocabularies_cover_every_character():
    sv, tv = dates.source_vocab(), dates.target_vocab()
    sources, targets, _ = dates.date_pairs(3000, rng=2)
    assert set("".join(sources)) | {PAD} == set(sv.chars)
    assert set("".join(targets)) | {PAD, BOS, EOS} == set(tv.chars)


def test_encode_pairs_pads_at_the_end_with_masks():
    sv, tv = dates.source_vocab(), dates.target_vocab()
    batch = encode_pairs(["3/3/98", "tue 3 mar 1998"], ["1998-03-03", "1998-03-03"], sv, tv)
    assert batch.src.shape == (14, 2) and batch.dec_in.shape == (11, 2)
    assert sv.decode(batch.src[:, 0]) == "3/3/98________"
    assert batch.src_mask[:, 0].tolist() == [True] * 6 + [False] * 8
    assert tv.decode(batch.dec_in[:, 0]) == "<1998-03-03"
    assert tv.decode(batch.dec_out[:, 0]) == "1998-03-03>"
    assert batch.dec_mask.all()
    part = take(batch, [0])
    assert part.src.shape == (6, 1) and sv.decode(part.src) == "3/3/98"


def test_minibatches_cover_the_data_before_repeating():
    sv, tv = dates.source_vocab(), dates.target_vocab()
    s, t, _ = dates.date_pairs(40, rng=0)
    data = encode_pairs(s, t, sv, tv)
    seen = []
    for (src, src_mask), (dec_in, dec_out, dec_mask) in minibatches(data, 10, 4, rng=0):
        assert src.shape[1] == 10 and src_mask[0].all() and src_mask[-1].any()
        seen += to_strings(dec_out, tv)
    assert sorted(seen) == sorted(t)


# ---------------------------------------------------------------------------------------------
# Attention


@pytest.mark.parametrize("S,B,H", SHAPES)
@pytest.mark.parametrize("masked", [False, True])
def test_attention_backward_matches_finite_differences(S, B, H, masked):
    rng = _rng("attention", S, B, H, masked)
    mask = _mask(rng, S, B) if masked else None
    args = (rng.standard_normal((B, H)), rng.standard_normal((S, B, H)))

    def forward(query, keys):
        context, _, cache = attention_forward(query, keys, mask)
        return context, cache

    errors = check_backward(forward, attention_backward, args, rng)
    assert set(errors) == {"query", "keys"}
    assert max(errors.values()) < RTOL, errors


@pytest.mark.parametrize("S,B,H", SHAPES)
def test_additive_attention_backward_matches_finite_differences(S, B, H):
    rng = _rng("additive", S, B, H)
    A, Hq = 3, H + 1  # the query may have another size than the keys
    mask = _mask(rng, S, B)
    args = (rng.standard_normal((B, Hq)), rng.standard_normal((S, B, H)),
            rng.standard_normal((A, Hq)), rng.standard_normal((A, H)), rng.standard_normal(A))

    def forward(query, keys, Wq, Wk, v):
        context, _, cache = additive_attention_forward(query, keys, mask, Wq, Wk, v)
        return context, cache

    errors = check_backward(forward, additive_attention_backward, args, rng)
    assert set(errors) == {"query", "keys", "Wq", "Wk", "v"}
    assert max(errors.values()) < RTOL, errors


def test_attention_weights_sum_to_one_over_real_positions_and_masked_ones_get_none():
    rng = _rng("weights")
    S, B, H = 6, 4, 3
    query, keys = rng.standard_normal((B, H)) * 3, rng.standard_normal((S, B, H)) * 3
    mask = _mask(rng, S, B)
    for forward, extra in ((attention_forward, ()), (additive_attention_forward,
                           (rng.standard_normal((2, H)), rng.standard_normal((2, H)), rng.standard_normal(2)))):
        context, weights, _ = forward(query, keys, mask, *extra)
        assert weights.shape == (S, B) and context.shape == (B, H)
        assert np.all(weights[~mask] == 0.0)
        assert np.all(weights[mask] > 0.0)
        np.testing.assert_allclose(weights.sum(axis=0), 1.0, rtol=0, atol=1e-12)
        np.testing.assert_allclose(context, np.einsum("sb,sbh->bh", weights, keys), atol=1e-12)
    # No padding under a mask: the same as no mask at all.
    full = attention_forward(query, keys, np.ones((S, B), dtype=bool))
    np.testing.assert_allclose(full[1], attention_forward(query, keys)[1], atol=1e-15)


def test_attention_is_the_softmax_of_dot_products_and_ignores_padding_values():
    rng = _rng("dot")
    S, B, H = 4, 2, 3
    query, keys = rng.standard_normal((B, H)), rng.standard_normal((S, B, H))
    mask = np.ones((S, B), dtype=bool)
    mask[:2, 1] = False
    _, weights, _ = attention_forward(query, keys, mask)
    for b in range(B):
        e = keys[mask[:, b], b] @ query[b]
        np.testing.assert_allclose(weights[mask[:, b], b], np.exp(e) / np.exp(e).sum(), atol=1e-14)
    changed = keys.copy()
    changed[:2, 1] = 1e6  # what sits in the padding does not matter
    np.testing.assert_allclose(attention_forward(query, changed, mask)[0], attention_forward(query, keys, mask)[0])


def test_masked_softmax_refuses_an_example_without_a_real_position():
    with pytest.raises(ValueError, match="at least one"):
        masked_softmax(np.zeros((3, 2)), np.array([[True, False]] * 3))


# ---------------------------------------------------------------------------------------------
# The encoder–decoder


def _model_case(cell, attention, seed):
    rng = _rng("model", cell, attention, seed)
    model = Seq2Seq(cell, attention)
    V_src, V_tgt, H = 6, 5, 3
    params = model.init_params(V_src, V_tgt, H, rng=seed, A=2)
    for k in params:  # larger weights and non-zero biases, so every term matters
        params[k] = params[k] + 0.5 * rng.standard_normal(params[k].shape)
    S, T, B = 4, 3, 2
    src = rng.integers(0, V_src, (S, B))
    src_mask = np.ones((S, B), dtype=bool)
    src_mask[2:, 0] = False  # the first source is two characters long
    dec_in, dec_out = rng.integers(0, V_tgt, (T, B)), rng.integers(0, V_tgt, (T, B))
    dec_mask = np.ones((T, B), dtype=bool)
    dec_mask[-1, 1] = False
    return model, params, (src, src_mask, dec_in, dec_out, dec_mask)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
@pytest.mark.parametrize("attention", [None, "dot", "additive"])
def test_seq2seq_loss_gradients_match_finite_differences(cell, attention):
    model, params, batch = _model_case(cell, attention, 0)
    _, grads = model.loss(params, *batch)
    assert list(grads) == list(params)
    for key in params:
        num = numerical_gradient(lambda _: model.loss(params, *batch)[0], params[key])
        assert rel_error(grads[key], num) < RTOL, (key, rel_error(grads[key], num))


def test_padding_changes_neither_the_loss_nor_the_gradients():
    # Sources and targets are padded at the end: one more padding step (whatever it holds)
    # after every source and every target changes nothing.
    model, params, (src, src_mask, dec_in, dec_out, dec_mask) = _model_case("rnn", "dot", 1)
    loss, grads = model.loss(params, src, src_mask, dec_in, dec_out, dec_mask)
    more = [np.concatenate([a, a[-1:]]) for a in (src, dec_in, dec_out)]
    no = np.zeros((1, 2), dtype=bool)
    loss2, grads2 = model.loss(params, more[0], np.concatenate([src_mask, no]), more[1], more[2],
                               np.concatenate([dec_mask, no]))
    assert loss2 == pytest.approx(loss, abs=1e-14)
    for k in params:
        np.testing.assert_allclose(grads2[k], grads[k], atol=1e-14)


def test_decoder_step_agrees_with_teacher_forcing():
    # Fed the same inputs, the step-by-step decoder and the teacher-forced pass compute the
    # same distributions (one code path for training, one for translating).
    for attention in (None, "dot", "additive"):
        model, params, (src, src_mask, dec_in, dec_out, dec_mask) = _model_case("lstm", attention, 2)
        mixed, _, _ = model.forward(params, src, src_mask, dec_in)
        logits = model.head.outputs(params, mixed)
        step, state = model.decoder(params, src, src_mask)
        for t in range(dec_in.shape[0]):
            log_probs, state = step(dec_in[t], state)
            shifted = logits[t] - logits[t].max(axis=1, keepdims=True)
            np.testing.assert_allclose(log_probs, shifted - np.log(np.exp(shifted).sum(1, keepdims=True)),
                                       atol=1e-12)


def test_sequence_log_probs_sum_the_masked_steps():
    model, params, batch = _model_case("rnn", "dot", 3)
    logp = model.sequence_log_probs(params, *batch)
    loss, _ = model.loss(params, *batch)
    assert logp.shape == (2,)
    assert -logp.sum() / batch[-1].sum() == pytest.approx(loss)


def test_a_small_translator_learns_dates():
    sv, tv = dates.source_vocab(), dates.target_vocab()
    sp = dates.date_splits(600, 100, 10, max_train_len=8, rng=0, formats=["d/m/yy", "d mon yy"])
    data = encode_pairs(*sp.train, sv, tv)
    model = Seq2Seq("rnn", "dot")
    params = model.init_params(len(sv), len(tv), 24, rng=0)
    history = train_seq2seq(model, params, data, steps=150, batch_size=32, lr=0.01, rng=0)
    assert np.mean(history["loss"][-10:]) < 0.5 * np.mean(history["loss"][:10])
    val = encode_pairs(*sp.val, sv, tv)
    ids = model.translate(params, val, tv.index[BOS], tv.index[EOS], 11)
    accuracy, hits = exact_match(to_strings(ids, tv), sp.val[1])
    assert hits.shape == (100,) and accuracy > 0.2


# ---------------------------------------------------------------------------------------------
# Decoding, on models whose answers are known

# Tokens: 0 the end marker ".", 1 "a", 2 "b"; 3 the start marker (an input only).
# Row = the previous token, column = the next one: p(next | previous).
TABLE = np.array([
    [0.60, 0.35, 0.05],  # after "." (never used: the search stops)
    [0.85, 0.10, 0.05],  # after "a"
    [0.35, 0.25, 0.40],  # after "b"
    [0.25, 0.05, 0.70],  # after the start marker
])


def _table_step(prev, state):
    return np.log(TABLE[prev]), state


def test_decoding_a_known_table():
    state = np.zeros((1, 1))
    # Greedy takes "b" (0.70), then "b" (0.40) again and again: it never ends.
    assert greedy_decode(_table_step, state, 3, 0, 3)[:, 0].tolist() == [2, 2, 2]
    # Width 2 keeps "b ." (0.70 * 0.35) but prunes "b a" at step 2 (0.70 * 0.25 is third).
    ids, score = beam_search(_table_step, state, 3, 0, 3, 2)
    assert ids[:, 0].tolist() == [2, 0, 0]
    assert score[0] == pytest.approx(np.log(0.70 * 0.35) / 2)
    # A beam wide enough to keep everything finds "b a ." (0.70 * 0.25 * 0.85 per token is better).
    ids, score = beam_search(_table_step, state, 3, 0, 3, 27)
    assert ids[:, 0].tolist() == [2, 1, 0]
    assert score[0] == pytest.approx(np.log(0.70 * 0.25 * 0.85) / 3)


def _tiny_rnn(seed, V=4, H=3):
    rng = np.random.default_rng(seed)
    Wxh, Whh = rng.standard_normal((H, V + 1)) * 1.5, rng.standard_normal((H, H))
    Why, by = rng.standard_normal((V, H)) * 1.5, rng.standard_normal(V) * 0.5
    eye = np.eye(V + 1)

    def step(prev, h):
        h, _ = rnn_step_forward(eye[prev], h, Wxh, Whh, np.zeros(H))
        logits = h @ Why.T + by
        logits -= logits.max(axis=1, keepdims=True)
        return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True)), h

    return step, rng.standard_normal((5, H))


def _exhaustive(step, state, bos, eos, max_len, V):
    """The best sequence by mean log-probability, over every sequence the search can return."""
    out = []
    for b in range(state.shape[0]):
        best = (-np.inf, None)
        for n in range(1, max_len + 1):
            for seq in itertools.product(range(V), repeat=n):
                if eos in seq[:-1] or (n < max_len and seq[-1] != eos):
                    continue
                h, prev, total = state[b:b + 1], np.array([bos]), 0.0
                for token in seq:
                    log_probs, h = step(prev, h)
                    total += log_probs[0, token]
                    prev = np.array([token])
                best = max(best, (total / n, seq))
        out.append(best)
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_beam_search_of_width_one_is_greedy_and_a_full_beam_is_exhaustive(seed):
    V, max_len = 4, 4
    step, state = _tiny_rnn(seed, V)
    greedy = greedy_decode(step, state, V, 0, max_len)
    ids, _ = beam_search(step, state, V, 0, max_len, 1)
    np.testing.assert_array_equal(ids, greedy)
    ids, scores = beam_search(step, state, V, 0, max_len, V ** max_len)
    for b, (score, seq) in enumerate(_exhaustive(step, state, V, 0, max_len, V)):
        assert scores[b] == pytest.approx(score)
        assert tuple(ids[: len(seq), b]) == seq and (ids[len(seq):, b] == 0).all()


def test_wider_beams_never_find_worse_answers_here_and_batches_do_not_mix():
    step, state = _tiny_rnn(4)
    scores = [beam_search(step, state, 4, 0, 5, k)[1] for k in (1, 2, 3, 8)]
    assert np.all(np.diff(np.array(scores), axis=0) >= -1e-12)
    ids, s = beam_search(step, state, 4, 0, 5, 3)
    for b in range(state.shape[0]):  # each example decoded alone gives the same answer
        one, s1 = beam_search(step, state[b:b + 1], 4, 0, 5, 3)
        np.testing.assert_array_equal(one[:, 0], ids[:, b])
        assert s1[0] == pytest.approx(s[b])


def test_greedy_fills_with_the_end_marker_and_reads_its_own_predictions():
    step, state = _tiny_rnn(5)
    ids = greedy_decode(step, state, 4, 0, 6)
    prev, h = np.full(5, 4), state
    for t in range(6):
        log_probs, h = step(prev, h)
        prev = log_probs.argmax(axis=1)
        ended = (ids[:t] == 0).any(axis=0)
        np.testing.assert_array_equal(ids[t], np.where(ended, 0, prev))


def test_a_flat_decoder_state_gives_the_same_translations():
    for cell in ("rnn", "lstm"):
        model, params, (src, src_mask, *_) = _model_case(cell, "dot", 4)
        step, state = model.decoder(params, src, src_mask)
        flat_step, flat_state = model.decoder(params, src, src_mask, flat=True)
        assert isinstance(flat_state, np.ndarray) and flat_state.shape[0] == src.shape[1]
        np.testing.assert_array_equal(greedy_decode(step, state, 1, 0, 5),
                                      greedy_decode(flat_step, flat_state, 1, 0, 5))
        ids, scores = beam_search(step, state, 1, 0, 5, 3)
        flat_ids, flat_scores = beam_search(flat_step, flat_state, 1, 0, 5, 3)
        np.testing.assert_array_equal(ids, flat_ids)
        np.testing.assert_allclose(scores, flat_scores, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# Feedback on students' own wrong code (not the catalogue's variants): it names what they did


def _feedback(check, *fns, hidden=False):
    from rnnlib.checks import CheckFailed

    with pytest.raises(CheckFailed) as err:
        check(*fns, hidden=hidden)
    return err.value.mistake_id, str(err.value)


def _student_greedy(stop_on=None, steps=None):
    def greedy_decode(step, state, bos, eos, max_len):
        B = state.shape[0]
        ids, prev, done = np.full((max_len, B), eos), np.full(B, bos), np.zeros(B, dtype=bool)
        for t in range(max_len if steps is None else steps(max_len)):
            log_probs, state = step(prev, state)
            prev = log_probs.argmax(axis=1)
            ids[t] = np.where(done, eos, prev)
            done |= prev == (eos if stop_on is None else stop_on)
            if done.all():
                break
        return ids
    return greedy_decode


@pytest.mark.parametrize("hidden", [False, True])
def test_a_greedy_loop_one_step_short_is_not_called_shifted(hidden):
    from rnnlib.checks import check_greedy_decode

    mid, text = _feedback(check_greedy_decode, _student_greedy(steps=lambda n: n - 1), hidden=hidden)
    assert mid == "greedy_decode/one-step-short", text


@pytest.mark.parametrize("hidden", [False, True])
def test_a_greedy_search_that_stops_on_token_0_is_told_where_its_example_goes_on(hidden):
    from rnnlib.checks import check_greedy_decode

    mid, text = _feedback(check_greedy_decode, _student_greedy(stop_on=0), hidden=hidden)
    assert mid == "greedy_decode/ends-early" and "not eos" in text, text


def _beam_k_live(step, state, bos, eos, max_len, k):
    """The common variant (fairseq's): finished hypotheses take no slot, k live ones are kept."""
    B = state.shape[0]
    ids, out = np.full((max_len, B), eos), np.full(B, -np.inf)
    for b in range(B):
        beam, best, best_score = [(0.0, [], state[b])], [], -np.inf
        for t in range(max_len):
            log_probs, new = step(np.array([tk[-1] if tk else bos for _, tk, _ in beam]),
                                  np.array([h for _, _, h in beam]))
            cands = sorted(((s + log_probs[i, v], tk + [v], new[i]) for i, (s, tk, _) in enumerate(beam)
                            for v in range(log_probs.shape[1])), key=lambda c: -c[0])
            for s, tk, _ in cands[:k]:
                if tk[-1] == eos and s / len(tk) > best_score:
                    best, best_score = tk, s / len(tk)
            beam = [c for c in cands if c[1][-1] != eos][:k]
        else:
            for s, tk, _ in beam:
                if s / max_len > best_score:
                    best, best_score = tk, s / max_len
        ids[: len(best), b], out[b] = best, best_score
    return ids, out


@pytest.mark.parametrize("hidden", [False, True])
def test_a_beam_whose_finished_hypotheses_take_no_slot_is_not_called_unpruned(hidden):
    from rnnlib.checks import check_beam_search

    mid, text = _feedback(check_beam_search, _beam_k_live, hidden=hidden)
    assert mid == "beam_search/finished-take-no-slot", text


def test_attention_with_every_example_scored_against_one_query_is_told_the_scores_are_wrong():
    from rnnlib.checks import check_attention_forward

    def attention_forward(query, keys, mask):
        scores = keys @ query[0]  # (S, B): the first example's query for everyone
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
        w = np.exp(scores - scores.max(axis=0))
        w = w / w.sum(axis=0)
        return np.einsum("sb,sbh->bh", w, keys), w, (query, keys, w)

    mid, text = _feedback(check_attention_forward, attention_forward)
    assert mid == "attention_forward/wrong-scores" and "query[b]" in text, text


def test_a_backward_with_one_wrong_gradient_on_the_scores_is_told_so():
    from rnnlib.checks import check_attention_backward

    def attention_forward(query, keys, mask):
        scores = np.einsum("sbh,bh->sb", keys, query)
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
        w = np.exp(scores - scores.max(axis=0))
        w = w / w.sum(axis=0)
        return np.einsum("sb,sbh->bh", w, keys), w, (query, keys, w)

    def attention_backward(dcontext, cache):
        query, keys, w = cache
        dw = np.einsum("sbh,bh->sb", keys, dcontext)
        dscores = w * (dw - np.einsum("sb,sb->b", w, dw)) * 0.5  # a stray factor
        return (np.einsum("sb,sbh->bh", dscores, keys),
                w[:, :, None] * dcontext + dscores[:, :, None] * query)

    mid, text = _feedback(check_attention_backward, attention_forward, attention_backward)
    assert mid == "attention_backward/dscores", text


# --- Round 2 of an outside tester's blind mistakes ------------------------------------------------

@pytest.mark.parametrize("hidden", [False, True])
def test_a_flat_argmax_is_named_although_it_crashes_in_step(hidden):
    from rnnlib.checks import check_greedy_decode

    def greedy_decode(step, state, bos, eos, max_len):
        B = state.shape[0]
        prev, done = np.full(B, bos), np.zeros(B, bool)
        ids = np.full((max_len, B), eos)
        for t in range(max_len):
            log_probs, state = step(prev, state)
            tok = np.where(done, eos, np.argmax(log_probs))  # no axis: a flat index
            ids[t] = tok
            done |= tok == eos
            prev = tok
            if done.all():
                break
        return ids

    mid, text = _feedback(check_greedy_decode, greedy_decode, hidden=hidden)
    assert mid == "greedy_decode/argmax-without-axis" and "axis=1" in text, text


def _beam_per_example(reorder_state=True):
    """One example at a time, hypotheses as tuples; without reordering, kept candidate number r
    takes state row r instead of its parent's."""

    def beam_search(step, state, bos, eos, max_len, k):
        B = state.shape[0]
        ids, out = np.full((max_len, B), eos), np.full(B, -np.inf)
        for b in range(B):
            beam, best, best_score = [((), 0.0, state[b:b + 1])], (), -np.inf
            for t in range(max_len):
                if not beam:
                    break
                prev = np.array([h[0][-1] if h[0] else bos for h in beam])
                log_probs, new = step(prev, np.concatenate([h[2] for h in beam]))
                V = log_probs.shape[1]
                cand = (np.array([h[1] for h in beam])[:, None] + log_probs).ravel()
                kept = []
                for rank, idx in enumerate(np.argsort(-cand, kind="stable")[:k]):
                    j, v = divmod(int(idx), V)
                    toks = beam[j][0] + (v,)
                    row = j if reorder_state else min(rank, len(new) - 1)
                    if v == eos:
                        if cand[idx] / len(toks) > best_score:
                            best, best_score = toks, cand[idx] / len(toks)
                    else:
                        kept.append((toks, cand[idx], new[row:row + 1]))
                beam = kept
            for toks, score, _ in beam:
                if score / max_len > best_score:
                    best, best_score = toks, score / max_len
            ids[: len(best), b], out[b] = best, best_score
        return ids, out

    return beam_search


@pytest.mark.parametrize("hidden", [False, True])
def test_beam_states_not_reordered_by_parent_are_named_not_blamed_on_the_final_choice(hidden):
    from rnnlib.checks import check_beam_search

    check_beam_search(_beam_per_example(), hidden=hidden)  # the same search, states reordered
    mid, text = _feedback(check_beam_search, _beam_per_example(reorder_state=False), hidden=hidden)
    assert mid == "beam_search/states-not-reordered" and "right on the tables" in text, text


# ---------------------------------------------------------------------------------------------
# Round 3 of the outside tester's blind mistakes, and others of the same kind


def _attention_stabilised_by(shift):
    def attention_forward(query, keys, mask):
        scores = (keys * query).sum(-1)
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
        with np.errstate(all="ignore"):
            e = np.exp(scores - shift(scores))
            w = e / e.sum(axis=0, keepdims=True)
        return (w[:, :, None] * keys).sum(0), w, (query, keys, w)
    return attention_forward


@pytest.mark.parametrize("hidden", [False, True])
@pytest.mark.parametrize("shift, mistake_id", [
    (lambda s: s.max(), "attention_forward/softmax-global-max"),     # the tester's
    (lambda s: np.nanmax(s), "attention_forward/softmax-global-max"),
    (lambda s: 0.0, "attention_forward/softmax-overflow"),           # no shift at all
])
def test_a_softmax_not_stabilised_column_by_column_is_named(shift, mistake_id, hidden):
    from rnnlib.checks import check_attention_forward

    check_attention_forward(_attention_stabilised_by(lambda s: s.max(axis=0, keepdims=True)), hidden=hidden)
    mid, text = _feedback(check_attention_forward, _attention_stabilised_by(shift), hidden=hidden)
    assert mid == mistake_id and "each column's" in text, text


def _greedy_flat_argmax(to_token):
    def greedy_decode(step, state, bos, eos, max_len):
        B = state.shape[0]
        ids, prev, done = np.full((max_len, B), eos), np.full(B, bos), np.zeros(B, dtype=bool)
        for t in range(max_len):
            log_probs, state = step(prev, state)
            tok = np.where(done, eos, to_token(log_probs))
            ids[t] = tok
            done |= tok == eos
            prev = tok
            if done.all():
                break
        return ids
    return greedy_decode


@pytest.mark.parametrize("hidden", [False, True])
@pytest.mark.parametrize("to_token", [
    lambda lp: np.argmax(lp) % lp.shape[1],                      # the tester's
    lambda lp: np.unravel_index(np.argmax(lp), lp.shape)[1],
])
def test_a_flat_argmax_made_into_a_token_is_named(to_token, hidden):
    from rnnlib.checks import check_greedy_decode

    mid, text = _feedback(check_greedy_decode, _greedy_flat_argmax(to_token), hidden=hidden)
    assert mid == "greedy_decode/argmax-without-axis-wrapped" and "axis=1" in text, text


def _beam_sorted(later_first):
    """One example at a time, candidates as (score, hypothesis, token) tuples; equal scores
    keep the later candidate when ``later_first`` (sorted(..., reverse=True)), else the first."""
    def beam_search(step, state, bos, eos, max_len, k):
        B = state.shape[0]
        ids, out = np.full((max_len, B), eos), np.full(B, -np.inf)
        for b in range(B):
            beam, best, best_score = [((), 0.0, state[b:b + 1])], (), -np.inf
            for t in range(max_len):
                if not beam:
                    break
                prev = np.array([h[0][-1] if h[0] else bos for h in beam])
                log_probs, new = step(prev, np.concatenate([h[2] for h in beam]))
                cands = [(beam[j][1] + log_probs[j, v], j, v) for j in range(len(beam))
                         for v in range(log_probs.shape[1])]
                cands = (sorted(cands, reverse=True) if later_first
                         else sorted(cands, key=lambda c: (-c[0], c[1], c[2])))[:k]
                kept = []
                for score, j, v in cands:
                    toks = beam[j][0] + (v,)
                    if v == eos:
                        if score / len(toks) > best_score:
                            best, best_score = toks, score / len(toks)
                    else:
                        kept.append((toks, score, new[j:j + 1]))
                beam = kept
            for toks, score, _ in beam:
                if score / max_len > best_score:
                    best, best_score = toks, score / max_len
            ids[: len(best), b], out[b] = best, best_score
        return ids, out
    return beam_search


@pytest.mark.parametrize("hidden", [False, True])
def test_a_beam_whose_ties_keep_the_later_candidate_is_named(hidden):
    from rnnlib.checks import check_beam_search

    check_beam_search(_beam_sorted(later_first=False), hidden=hidden)
    mid, text = _feedback(check_beam_search, _beam_sorted(later_first=True), hidden=hidden)
    assert mid == "beam_search/ties-keep-the-later" and "stable" in text, text


def test_the_tie_table_is_an_exact_tie_that_decides_the_answer():
    from rnnlib.checks.seq2seq import _table_tie_step

    start = np.zeros((1, 1))
    log_probs, _ = _table_tie_step(np.array([3]), start)
    assert log_probs[0, 1] == log_probs[0, 2]
    ids, _ = beam_search(_table_tie_step, start, 3, 0, 3, 1)
    np.testing.assert_array_equal(ids[:, 0], [1, 0, 0])
