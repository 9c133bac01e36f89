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
        order = range(T) if mode == "backward_forward_in_time" else reversed(range(T))
        for t in order:
            dy = ps[t].copy()
            dy[np.arange(B), y[t]] -= 1
            dy /= N
            grads["Why"] += dy.T @ hs[t + 1]
            grads["by"] += dy.sum(0)
            dh = dy @ Why + (0 if mode == "no_carry" else dh_next)
            if mode == "slope_on_output_only":
                dz = (dy @ Why) * (1 - hs[t + 1] ** 2) + dh_next
            elif mode == "tanh_twice":
                dz = dh * (1 - np.tanh(hs[t + 1]) ** 2)
            else:
                dz = dh * (1 - hs[t + 1] ** 2)
            if mode == "fancy_index":
                grads["Wxh"][:, inputs[t]] += dz.T
            else:
                np.add.at(grads["Wxh"].T, inputs[t], dz)
            if mode == "assign":
                grads["Whh"] = dz.T @ hs[t]
            elif mode == "whh_current_state":
                grads["Whh"] += dz.T @ hs[t + 1]
            else:
                grads["Whh"] += dz.T @ hs[t]
            grads["bh"] += dz.sum(0)
            dh_next = dz @ Whh
        if mode == "cs231n_keys":
            grads = {"d" + k: g for k, g in grads.items()}
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
    # An outside tester's case: dWhh += dz.T @ hs[t] with the current state.
    ("whh_current_state", ["h_t", "h_(t-1)"], "char_rnn_loss/dwhh-current-state"),
    ("slope_on_output_only", ["both paths", "add them first"], "char_rnn_loss/slope-on-output-only"),
    ("tanh_twice", ["already tanh"], "char_rnn_loss/tanh-applied-twice"),
    ("backward_forward_in_time", ["reversed(range(T))"], "char_rnn_loss/backward-forward-in-time"),
    ("cs231n_keys", ["'dWxh'", "keys of params"], "char_rnn_loss/grads-keys-prefixed"),
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
            elif mode == "bias_only":  # Why @ h + by / temperature: the brackets forgotten
                p = softmax(Why @ h + by / temperature)
            elif mode == "bias_not_divided":
                p = softmax(Why @ h / temperature + by)
            elif mode == "no_temperature":
                p = softmax(logits)
            else:
                p = softmax(logits / temperature)
            if mode == "argmax":
                idx = int(np.argmax(p))
            elif mode == "extra_draw":  # the right distribution, other use of the generator
                rng.random()
                idx = int(rng.choice(V, p=p))
            elif mode == "multinomial":  # the right distribution, another generator method
                idx = int(np.argmax(rng.multinomial(1, p)))
            elif mode == "inverse_cdf":  # correct: what rng.choice(V, p=p) does inside
                idx = int(np.searchsorted(np.cumsum(p), rng.random(), side="right"))
            elif mode == "no_p":
                idx = int(rng.choice(V))
            else:
                idx = int(rng.choice(V, p=p))
            out.append(idx)
        if mode == "with_first":
            return np.array([first_id] + out)
        if mode == "starts_with_first":  # n ids: first_id, then the first n - 1 draws
            return np.array([first_id] + out[:-1])
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


def test_sample_starting_with_first_id_is_named_not_blamed_on_the_generator():
    # An outside tester's case: n ids, first_id first. The draws themselves are right.
    msg = _fails(check_sample, make_sampler("starts_with_first"), words=["start with first_id"],
                 mistake_id="sample/starts-with-first-id")
    assert "rng.choice" not in msg and "reproducible" not in msg


@pytest.mark.parametrize("mode, words, mistake_id", [
    ("bias_only", ["Only by is divided", "binds tighter"], "sample/temperature-bias-only"),
    ("bias_not_divided", ["Only Why @ h is divided", "mind the brackets"], "sample/temperature-bias-not-divided"),
    ("no_p", ["without p"], "sample/uniform-draws"),
])
def test_sample_temperature_on_part_of_the_logits_and_uniform_draws_are_named(mode, words, mistake_id):
    _fails(check_sample, make_sampler(mode), words=words, mistake_id=mistake_id)


def test_sample_drawing_with_another_generator_method_is_told_which():
    _fails(check_sample, make_sampler("multinomial"), words=["rng.multinomial", "rng.choice(V, p=p)"],
           mistake_id="generic/not-reproducible")


def test_sample_drawing_by_the_inverse_cdf_like_rng_choice_passes():
    check_sample(make_sampler("inverse_cdf"))
    check_sample(make_sampler("inverse_cdf"), hidden=True)


def test_sample_feeding_the_argmax_back_in_is_told_which_character_goes_wrong():
    def sample(params, first_id, n, temperature=1.0, rng=None):
        rng = np.random.default_rng(rng)
        Wxh, Whh, bh, Why, by = (params[k] for k in ("Wxh", "Whh", "bh", "Why", "by"))
        h, idx, out = np.zeros(Whh.shape[0]), first_id, []
        for _ in range(n):
            h = np.tanh(Wxh[:, idx] + Whh @ h + bh)
            p = softmax((Why @ h + by) / temperature)
            out.append(int(rng.choice(len(by), p=p)))
            idx = int(np.argmax(p))  # feeds the most likely character, not the drawn one
        return np.array(out)
    _fails(check_sample, sample, words=["character 1 is not", "read the character you just drew"],
           mistake_id="generic/time-step")


def test_sample_reading_a_row_of_wxh_is_told_where_the_column_is():
    def sample(params, first_id, n, temperature=1.0, rng=None):
        rng = np.random.default_rng(rng)
        Wxh, Whh, bh, Why, by = (params[k] for k in ("Wxh", "Whh", "bh", "Why", "by"))
        h, idx, out = np.zeros(Whh.shape[0]), first_id, []
        for _ in range(n):
            h = np.tanh(Wxh[idx] + Whh @ h + bh)
            idx = int(rng.choice(len(by), p=softmax((Why @ h + by) / temperature)))
            out.append(idx)
        return np.array(out)
    _fails(check_sample, sample, words=["Wxh[:, idx]", "V=6, H=4"], mistake_id="generic/crash")


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


def test_train_step_with_pytorchs_clip_factor_passes():
    # torch.nn.utils.clip_grad_norm_ multiplies by max_norm / (norm + 1e-6).
    def step(params, inputs, targets, h0, lr, max_norm):
        loss, grads, h_last = char_rnn_loss(params, inputs, targets, h0)
        norm = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
        coef = min(1.0, max_norm / (norm + 1e-6))
        for k in params:
            params[k] -= lr * coef * grads[k]
        return loss, norm, h_last
    check_train_step(step)
    check_train_step(step, hidden=True)


@pytest.mark.parametrize("change, words, mistake_id", [
    ("zero_state", ["zero state instead of h0"], "train_step/loss-from-zero-state"),
    ("no_sqrt", ["without the square root"], "train_step/norm-without-sqrt"),
    ("weights_only", ["grad_norm is", "all 5 arrays together"], "generic/grad-norm"),
    ("adagrad", ["did not move along its gradient", "Adagrad"], "generic/update"),
    ("clip_to_one", ["Every parameter moved by", "max_norm / grad_norm"], "generic/update"),
])
def test_train_step_norm_and_update_mistakes_are_described(change, words, mistake_id):
    def step(params, inputs, targets, h0, lr, max_norm):
        start = np.zeros_like(h0) if change == "zero_state" else h0
        loss, grads, h_last = char_rnn_loss(params, inputs, targets, start)
        keys = ("Wxh", "Whh", "Why") if change == "weights_only" else tuple(grads)
        sq = sum(float(np.sum(grads[k] ** 2)) for k in keys)
        norm = sq if change == "no_sqrt" else float(np.sqrt(sq))
        scale = (1.0 if change == "clip_to_one" else max_norm) / norm if norm > max_norm else 1.0
        for k in params:
            g = grads[k] * scale
            params[k] -= lr * (g / np.sqrt(g * g + 1e-8) if change == "adagrad" else g)
        return loss, norm, h_last
    _fails(check_train_step, step, words=words, mistake_id=mistake_id)


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


@pytest.mark.parametrize("fn, words", [
    (lambda loss: loss / 0.693, ["0.693", "np.log(2)"]),  # an outside tester's case
    (lambda loss: loss * 1.443, ["1.443", "np.log(2)"]),
    (lambda loss: loss / 0.69, ["divided by 0.69", "rounded ln 2"]),
    (lambda loss: loss * 1.44, ["multiplied by 1.44", "rounded log2 e"]),
])
def test_bits_per_char_with_a_rounded_constant_is_named(fn, words):
    _fails(check_bits_per_char, fn, words=words, mistake_id="bits_per_char/rounded-ln2")


def test_bits_per_char_rounded_to_three_decimals_is_named():
    _fails(check_bits_per_char, lambda loss: round(loss / math.log(2), 3), words=["rounded to 3 decimals"],
           mistake_id="bits_per_char/rounded")


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


@pytest.mark.parametrize("fn, words", [
    (lambda loss: 2.718 ** loss, ["2.718"]),
    (lambda loss: 2.72 ** loss, ["2.72 ** loss", "rounded e"]),
    (lambda loss: 2 ** (loss / 0.693), ["2 ** (loss / 0.693)", "rounded ln 2"]),
])
def test_perplexity_with_a_rounded_constant_is_named(fn, words):
    _fails(check_perplexity, fn, words=words, mistake_id="perplexity/rounded-e")


def test_a_perplexity_close_to_e_to_the_loss_by_chance_is_not_called_a_rounded_e():
    # (loss / ln 2) ** 2 is within 1% of e ** loss at loss = 1.37: no rounded constant gives it.
    msg = _fails(check_perplexity, lambda loss: (loss / math.log(2)) ** 2, words=["perplexity"])
    assert "rounded" not in msg


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


@pytest.mark.parametrize("letter", ["a", "A", "(a)", "a)", " a. "])
def test_the_letter_may_be_written_several_ways(letter, capsys):
    check_ch06_questions(dict(RIGHT, temperature_to_zero=letter))
    assert "all answers are right" in capsys.readouterr().out


def test_a_multiple_choice_answer_that_is_not_a_letter_is_told_to_give_one():
    _fails(check_ch06_questions, dict(RIGHT, temperature_to_zero="greedy"),
           words=["letter", "'greedy'"], mistake_id="generic/type")


# --- Mistakes an outside tester wrote blind (round 3), and others of the same kind -----------


def _loss_clipped_at(c):
    def loss_fn(params, inputs, targets, h0):  # min-char-rnn clips inside its lossFun
        loss, grads, h_last = char_rnn_loss(params, inputs, targets, h0)
        for g in grads.values():
            np.clip(g, -c, c, out=g)
        return loss, grads, h_last
    return loss_fn


@pytest.mark.parametrize("hidden", [False, True])
@pytest.mark.parametrize("c", [5.0, 3.0, 1.0])
def test_gradients_clipped_inside_the_loss_are_named(c, hidden):
    _fails(check_char_rnn_loss, _loss_clipped_at(c), words=["min-char-rnn", "global norm"],
           mistake_id="char_rnn_loss/clips-gradients", hidden=hidden)


def test_the_checks_include_gradients_above_5():
    from rnnlib.checks.char_lm import _loss_cases

    for hidden in (False, True):
        biggest = max(float(np.abs(g).max()) for case in _loss_cases(hidden)
                      for g in ref_char_rnn_loss(*case.args)[1].values())
        assert biggest > 5, biggest
