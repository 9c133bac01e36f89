"""The chapter 6 checkers: a correct function passes; each plausible mistake fails with a message
that names it."""
from __future__ import annotations

import math

import numpy as np
import pytest

from rnnlib.charlm import char_rnn_loss as ref_char_rnn_loss, sample as ref_sample
from rnnlib.checks import (
    CheckFailed,
    check_bits_per_char,
    check_ch06_questions,
    check_char_rnn_loss,
    check_perplexity,
    check_sample,
    check_train_step,
)
from rnnlib.losses import softmax as _softmax
from tests.correct_styles.ch06 import loss_loop_over_time_add_at
from tests.students import unguarded

softmax = unguarded(_softmax)  # a student's own softmax
char_rnn_loss = unguarded(ref_char_rnn_loss)  # a student's own (correct) loss


def _fails(check, *fns, words, mistake_id=None, **kwargs):
    with pytest.raises(CheckFailed) as err:
        check(*fns, **kwargs)
    msg = str(err.value)
    for w in words:
        assert w.lower() in msg.lower(), f"{w!r} not in message: {msg}"
    if mistake_id is not None:
        assert err.value.mistake_id == mistake_id, (err.value.mistake_id, msg)
    return msg


# --- char_rnn_loss ---------------------------------------------------------------------------

def make_loss(mode="good"):
    """A student's loss, written out, with one of the mistakes students make."""
    def char_rnn_loss(params, inputs, targets, h0):
        Wxh, Whh, bh, Why, by = (params[k] for k in ("Wxh", "Whh", "bh", "Why", "by"))
        T, B = inputs.shape
        N = {"summed": 1, "time_sum": B}.get(mode, T * B)
        h = np.zeros_like(h0) if mode == "zeros" else h0
        hs, ps = [h], []
        for t in range(T):
            h = np.tanh(Wxh[:, inputs[t]].T + h @ Whh.T + bh)
            hs.append(h)
            ps.append(softmax(h @ Why.T + by))
        y = inputs if mode == "not_shifted" else targets
        loss = -sum(np.log(ps[t][np.arange(B), y[t]]).sum() for t in range(T)) / N
        grads = {k: np.zeros_like(v) for k, v in params.items()}
        dh_next = np.zeros_like(h0)
        for t in reversed(range(T)):
            dy = ps[t].copy()
            dy[np.arange(B), y[t]] -= 1
            dy /= N
            grads["Why"] += dy.T @ hs[t + 1]
            grads["by"] += dy.sum(0)
            dh = dy @ Why + (0 if mode == "no_carry" else dh_next)
            dz = dh * (1 - hs[t + 1] ** 2)
            if mode == "fancy_index":
                grads["Wxh"][:, inputs[t]] += dz.T
            else:
                np.add.at(grads["Wxh"].T, inputs[t], dz)
            if mode == "assign":
                grads["Whh"] = dz.T @ hs[t]
            else:
                grads["Whh"] += dz.T @ hs[t]
            grads["bh"] += dz.sum(0)
            dh_next = dz @ Whh
        return loss, grads, hs[-1]
    return char_rnn_loss


def test_correct_char_rnn_loss_passes_visible_and_hidden(capsys):
    check_char_rnn_loss(make_loss())
    check_char_rnn_loss(make_loss(), hidden=True)
    assert "all checks passed" in capsys.readouterr().out


def test_reference_char_rnn_loss_agrees_with_the_check():
    check_char_rnn_loss(char_rnn_loss)


def test_char_rnn_loss_that_calls_the_reference_is_refused():
    def loss(params, inputs, targets, h0):
        return ref_char_rnn_loss(params, inputs, targets, h0)
    _fails(check_char_rnn_loss, loss, words=["implement this yourself"])


@pytest.mark.parametrize("mode, words, mistake_id", [
    ("summed", ["T*B times too large"], "char_rnn_loss/summed"),
    ("time_sum", ["T times too large", "summed over the T steps"], "char_rnn_loss/summed-over-time"),
    ("zeros", ["starts from zeros instead of h0"], "char_rnn_loss/ignores-h0"),
    ("not_shifted", ["targets", "shifted"], "char_rnn_loss/scores-inputs"),
    ("no_carry", ["h_(t+1) is dropped"], "char_rnn_loss/no-gradient-from-the-future"),
    ("fancy_index", ["np.add.at"], "char_rnn_loss/repeated-ids-dropped"),
    ("assign", ["grads['Whh']", "+="], "char_rnn_loss/dwhh-overwritten"),
])
def test_char_rnn_loss_mistakes_written_by_hand_are_named(mode, words, mistake_id):
    _fails(check_char_rnn_loss, make_loss(mode), words=words, mistake_id=mistake_id)


def test_char_rnn_loss_missing_a_gradient_is_told_which():
    def loss(params, inputs, targets, h0):
        value, grads, h_last = make_loss()(params, inputs, targets, h0)
        grads["bh"] = np.zeros_like(grads["bh"])
        return value, grads, h_last
    _fails(check_char_rnn_loss, loss, words=["grads['bh']", "all zeros"])


def test_untouched_char_rnn_loss_raises_not_implemented():
    def loss(params, inputs, targets, h0):
        raise NotImplementedError()
    with pytest.raises(NotImplementedError):
        check_char_rnn_loss(loss)


# --- sample ----------------------------------------------------------------------------------

def make_sampler(mode="good"):
    def sample(params, first_id, n, temperature=1.0, rng=None):
        rng = np.random.default_rng(rng)
        Wxh, Whh, bh, Why, by = (params[k] for k in ("Wxh", "Whh", "bh", "Why", "by"))
        H, V = Wxh.shape
        h = np.zeros(H)
        idx, out = first_id, []
        for _ in range(n):
            if mode == "reset":
                h = np.zeros(H)
            x = first_id if mode == "feed_first" else idx
            h = np.tanh(Wxh[:, x] + Whh @ h + bh)
            logits = Why @ h + by
            if mode == "multiply":
                p = softmax(logits * temperature)
            elif mode == "no_temperature":
                p = softmax(logits)
            else:
                p = softmax(logits / temperature)
            if mode == "argmax":
                idx = int(np.argmax(p))
            elif mode == "extra_draw":  # the right distribution, other use of the generator
                rng.random()
                idx = int(rng.choice(V, p=p))
            else:
                idx = int(rng.choice(V, p=p))
            out.append(idx)
        if mode == "with_first":
            return np.array([first_id] + out)
        return np.array(out)
    return sample


def test_correct_sample_passes_visible_and_hidden(capsys):
    check_sample(make_sampler())
    check_sample(make_sampler(), hidden=True)
    assert "all checks passed" in capsys.readouterr().out


def test_reference_sample_agrees_with_the_check():
    check_sample(unguarded(ref_sample))


def test_sample_that_calls_the_reference_is_refused():
    def sample(params, first_id, n, temperature=1.0, rng=None):
        return ref_sample(params, first_id, n, temperature, rng)
    _fails(check_sample, sample, words=["implement this yourself"])


def test_sample_multiplying_by_temperature_is_named():
    _fails(check_sample, make_sampler("multiply"), words=["multiply", "divide"])


def test_sample_ignoring_temperature_is_named():
    _fails(check_sample, make_sampler("no_temperature"), words=["temperature 1", "divide"])


def test_sample_taking_argmax_is_named():
    _fails(check_sample, make_sampler("argmax"), words=["rng.choice"])


def test_sample_feeding_first_id_is_named():
    _fails(check_sample, make_sampler("feed_first"), words=["feed each sampled character"])


def test_sample_resetting_state_is_named():
    _fails(check_sample, make_sampler("reset"), words=["hidden state restarts"])


def test_sample_returning_first_id_is_named():
    _fails(check_sample, make_sampler("with_first"), words=["not first_id"])


def test_sample_with_other_random_draws_is_told_to_use_the_generator_once():
    _fails(check_sample, make_sampler("extra_draw"), words=["right distribution", "once"])


def test_sample_with_the_global_generator_is_told_to_make_the_draws_reproducible():
    def sample_global(params, first_id, n, temperature=1.0, rng=None):
        Wxh, Whh, bh, Why, by = (params[k] for k in ("Wxh", "Whh", "bh", "Why", "by"))
        h, idx, out = np.zeros(Whh.shape[0]), first_id, []
        for _ in range(n):
            h = np.tanh(Wxh[:, idx] + Whh @ h + bh)
            idx = int(np.random.choice(len(by), p=softmax((Why @ h + by) / temperature)))
            out.append(idx)
        return np.array(out)
    _fails(check_sample, sample_global, words=["reproducible"], mistake_id="generic/not-reproducible")


def test_sample_without_the_max_shift_is_told_about_overflow():
    def sample(params, first_id, n, temperature=1.0, rng=None):
        rng = np.random.default_rng(rng)
        Wxh, Whh, bh, Why, by = (params[k] for k in ("Wxh", "Whh", "bh", "Why", "by"))
        h, idx, out = np.zeros(Whh.shape[0]), first_id, []
        for _ in range(n):
            h = np.tanh(Wxh[:, idx] + Whh @ h + bh)
            e = np.exp((Why @ h + by) / temperature)
            idx = int(rng.choice(len(by), p=e / e.sum()))
            out.append(idx)
        return np.array(out)
    _fails(check_sample, sample, words=["overflows", "subtract the largest logit"],
           mistake_id="sample/overflow")


def test_untouched_sample_raises_not_implemented():
    def sample(params, first_id, n, temperature=1.0, rng=None):
        raise NotImplementedError()
    with pytest.raises(NotImplementedError):
        check_sample(sample)


# --- train_step -----------------------------------------------------------------------------

def make_step(mode="good", loss_fn=char_rnn_loss):
    def train_step(params, inputs, targets, h0, lr, max_norm):
        loss, grads, h_last = loss_fn(params, inputs, targets, h0)
        norm = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
        if mode == "per_array":
            grads = {k: g * min(1.0, max_norm / np.linalg.norm(g)) for k, g in grads.items()}
        elif mode == "by_value":
            grads = {k: np.clip(g, -max_norm, max_norm) for k, g in grads.items()}
        elif mode != "no_clip":
            scale = min(1.0, max_norm / norm)
            grads = {k: g * scale for k, g in grads.items()}
        if mode == "no_update":
            return loss, norm, h_last
        if mode == "new_dict":  # rebinds the local name only: the caller's dict is unchanged
            params = {k: params[k] - lr * grads[k] for k in params}
            return loss, norm, h_last
        sign = -1.0 if mode == "ascent" else 1.0
        for k in params:
            params[k] -= sign * lr * grads[k]
        if mode == "norm_after":
            norm = min(norm, max_norm)
        return loss, norm, h0 if mode == "returns_h0" else h_last
    return train_step


def test_correct_train_step_passes_visible_and_hidden(capsys):
    check_train_step(make_step())
    check_train_step(make_step(), hidden=True)
    assert "all checks passed" in capsys.readouterr().out


@pytest.mark.parametrize("mode,words", [
    ("no_clip", ["unclipped"]),
    ("per_array", ["own norm", "global"]),
    ("by_value", ["entry by entry"]),
    ("no_update", ["is unchanged"]),
    ("new_dict", ["is unchanged", "new dict"]),
    ("ascent", ["uphill"]),
    ("norm_after", ["after clipping"]),
    ("returns_h0", ["stale state"]),
])
def test_train_step_mistakes_are_named(mode, words):
    _fails(check_train_step, make_step(mode), words=words)


def test_train_step_on_a_wrong_loss_is_told_to_fix_the_loss_first():
    step = make_step(loss_fn=make_loss("summed"))
    _fails(check_train_step, step, char_rnn_loss=make_loss("summed"),
           words=["Fix char_rnn_loss first", "T*B times too large"], mistake_id="char_rnn_loss/summed")


def test_train_step_on_the_students_own_loss_passes():
    check_train_step(make_step(loss_fn=loss_loop_over_time_add_at), char_rnn_loss=loss_loop_over_time_add_at)


def test_train_step_calling_the_reference_loss_is_refused():
    _fails(check_train_step, make_step(loss_fn=ref_char_rnn_loss), words=["implement this yourself"])


def test_train_step_returning_two_values_is_told_what_to_return():
    def step(params, inputs, targets, h0, lr, max_norm):
        return make_step()(params, inputs, targets, h0, lr, max_norm)[:2]
    _fails(check_train_step, step, words=["(loss, grad_norm, h_last)"])


# --- bits_per_char --------------------------------------------------------------------------

def test_correct_bits_per_char_passes(capsys):
    check_bits_per_char(lambda loss: loss / math.log(2))
    check_bits_per_char(lambda loss: np.float64(loss) / np.log(2), hidden=True)
    assert "all checks passed" in capsys.readouterr().out


@pytest.mark.parametrize("fn,words", [
    (lambda loss: loss * math.log(2), ["multiplied by ln 2"]),
    (lambda loss: loss / math.log(10), ["ln 10"]),
    (lambda loss: loss, ["unchanged"]),
    (lambda loss: [loss / math.log(2)], ["number"]),
])
def test_bits_per_char_mistakes_are_named(fn, words):
    _fails(check_bits_per_char, fn, words=words)


# --- perplexity ------------------------------------------------------------------------------

def test_correct_perplexity_passes(capsys):
    check_perplexity(lambda loss: math.exp(loss))
    check_perplexity(lambda loss: 2 ** (loss / math.log(2)), hidden=True)
    assert "all checks passed" in capsys.readouterr().out


@pytest.mark.parametrize("fn,words", [
    (lambda loss: 2 ** loss, ["raised 2 to the loss"]),
    (lambda loss: math.exp(-loss), ["inverse"]),
    (lambda loss: loss / math.log(2), ["in bits"]),
])
def test_perplexity_mistakes_are_named(fn, words):
    _fails(check_perplexity, fn, words=words)


# --- questions -------------------------------------------------------------------------------

RIGHT = {"initial_loss": math.log(80), "bits": 3, "uniform_perplexity": 80, "temperature_to_zero": "a"}


def test_right_answers_pass(capsys):
    check_ch06_questions(dict(RIGHT))
    assert "all answers are right" in capsys.readouterr().out


def test_untouched_answers_raise_not_implemented():
    with pytest.raises(NotImplementedError):
        check_ch06_questions({k: None for k in RIGHT})
    with pytest.raises(NotImplementedError):
        check_ch06_questions({k: ... for k in RIGHT})


def test_an_unanswered_question_is_named():
    _fails(check_ch06_questions, dict(RIGHT, bits=None), words=["no answer yet for 'bits'"],
           mistake_id="generic/missing-answer")


@pytest.mark.parametrize("key, answer, words", [
    ("initial_loss", math.log2(80), ["in bits"]),
    ("uniform_perplexity", math.log(80), ["loss in nats"]),
    ("temperature_to_zero", "b", ["high"]),
    ("bits", 2.5, ["divide the loss by ln 2"]),
])
def test_wrong_answers_are_explained(key, answer, words):
    _fails(check_ch06_questions, dict(RIGHT, **{key: answer}), words=words)
