"""The chapter 6 checkers: a correct function passes; each plausible mistake fails with a message
that names it."""
from __future__ import annotations

import math

import numpy as np
import pytest

from rnnlib.charlm import char_rnn_loss, sample as ref_sample
from rnnlib.checks import CheckFailed, check_bits_per_char, check_sample, check_train_step
from rnnlib.losses import softmax as _softmax
from tests.students import unguarded

softmax = unguarded(_softmax)  # a student's own softmax


def _fails(check, *fns, words):
    with pytest.raises(CheckFailed) as err:
        check(*fns)
    msg = str(err.value)
    for w in words:
        assert w.lower() in msg.lower(), f"{w!r} not in message: {msg}"
    return msg


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
    _fails(check_sample, make_sampler("extra_draw"), words=["right distribution", "one"])


def test_untouched_sample_raises_not_implemented():
    def sample(params, first_id, n, temperature=1.0, rng=None):
        raise NotImplementedError()
    with pytest.raises(NotImplementedError):
        check_sample(sample)


# --- train_step -----------------------------------------------------------------------------

def make_step(mode="good"):
    def train_step(params, inputs, targets, h0, lr, max_norm):
        loss, grads, h_last = char_rnn_loss(params, inputs, targets, h0)
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
        sign = -1.0 if mode == "ascent" else 1.0
        for k in params:
            params[k] -= sign * lr * grads[k]
        if mode == "norm_after":
            norm = min(norm, max_norm)
        return loss, norm, h_last
    return train_step


def test_correct_train_step_passes_visible_and_hidden(capsys):
    check_train_step(make_step())
    check_train_step(make_step(), hidden=True)
    assert "all checks passed" in capsys.readouterr().out


@pytest.mark.parametrize("mode,words", [
    ("no_clip", ["unclipped"]),
    ("per_array", ["own norm", "global"]),
    ("by_value", ["entry by entry"]),
    ("no_update", ["did not change"]),
    ("ascent", ["uphill"]),
    ("norm_after", ["after clipping"]),
])
def test_train_step_mistakes_are_named(mode, words):
    _fails(check_train_step, make_step(mode), words=words)


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
