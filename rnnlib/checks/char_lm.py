"""Checkers for chapter 6, the character-level language model (the capstone): its loss and
gradients, a clipped training step, sampling with a temperature, bits per character and
perplexity, and the chapter's conceptual questions.

Every graded function is an :class:`~rnnlib.checks._engine.Exercise` whose catalogue of known
mistakes is built from the references in :mod:`rnnlib.charlm`, :mod:`rnnlib.models`,
:mod:`rnnlib.rnn`, :mod:`rnnlib.optim` and :mod:`rnnlib.training`: each mistake is the
reference with one edit of its source (:func:`~rnnlib.checks._engine.mutate`), the reference
model with one of its parts edited, or the reference with one input or output changed. Nothing
here writes the recurrence again.

* ``char_rnn_loss`` and ``bits_per_char``/``perplexity`` go through
  :func:`~rnnlib.checks._engine.run_check`.
* ``train_step`` updates its ``params`` in place, which is its job: the check calls it on a
  copy and compares the updated copy with the reference's, together with what it returns.
  When it is wrong, the student's ``char_rnn_loss`` (which it builds on) is checked first.
* ``sample`` is random, so it is checked twice: statistically (the characters must come out as
  often as the model's tempered probabilities say) and with a fixed seed (the same seed must
  give the reference's characters, which fixes *how* the generator is used). A wrong answer is
  matched against the catalogue's variants and named. When none matches, the sampler runs once
  more with a generator that records what it is asked (:func:`_spy_generator`): which methods,
  how many draws, and the probabilities of each draw, compared with the model's given the
  characters drawn before it. So "the draws differ" is never blamed on the generator when the
  generator was used right and the state or the output was wrong.
* ``bits_per_char`` and ``perplexity`` also recognise a constant typed rounded (0.693, 2.718)
  and a result rounded to a few decimals, which the catalogue's exact variants cannot cover.
"""
from __future__ import annotations

import math
import re as _re
import types

import numpy as np

from rnnlib import charlm as _charlm
from rnnlib import optim as _optim
from rnnlib import rnn as _rnn
from rnnlib import training as _training
from rnnlib.cells import RNNCell
from rnnlib.checks._core import CheckFailed, call_student, case_seeds, fmt_shape
from rnnlib.checks._engine import Case, Exercise, Mistake, close as _close, mutate, run_check
from rnnlib.checks._questions import Question, Wrong, question_set
from rnnlib.heads import SoftmaxHead
from rnnlib.layers import output_backward
from rnnlib.losses import softmax_cross_entropy
from rnnlib.models import SequenceModel

__all__ = [
    "check_char_rnn_loss",
    "check_train_step",
    "check_sample",
    "check_bits_per_char",
    "check_perplexity",
    "check_ch06_questions",
]

# Private references, bound at import time (before any student cell runs).
_loss = _charlm.char_rnn_loss
_train_step = _charlm.train_step
_sample = _charlm.sample
_bits = _training.bits_per_char
_perplexity = _training.perplexity
_softmax = _charlm.softmax
_ndarray = np.ndarray
_array_equal = np.array_equal
_sqrt = np.sqrt
_abs = np.abs
_KEYS = ("Wxh", "Whh", "bh", "Why", "by")


def _copy_params(params):
    return {k: v.copy() for k, v in params.items()}


def _random_params(rng, V, H, scale=0.5):
    return {
        "Wxh": rng.standard_normal((H, V)) * scale,
        "Whh": rng.standard_normal((H, H)) * scale,
        "bh": rng.standard_normal(H) * 0.3,
        "Why": rng.standard_normal((V, H)) * scale,
        "by": rng.standard_normal(V) * 0.3,
    }


# =============================================================================================
# char_rnn_loss: forward over a chunk, mean softmax cross-entropy, BPTT
# =============================================================================================


def _loss_case(seed, T, B, V, H):
    rng = np.random.default_rng(seed)
    params = _random_params(rng, V, H)
    inputs = rng.integers(0, V, size=(T, B))
    if B > 1:
        # Two examples read the same character at step 0: a gradient gathered with
        # dWxh[:, ids] += ... counts it once instead of twice.
        inputs[0, 1] = inputs[0, 0]
    targets = rng.integers(0, V, size=(T, B))
    h0 = rng.standard_normal((B, H)) * 0.5  # not zeros: a loss that ignores h0 must show
    return Case(f"seed {seed}, T={T}, B={B}, V={V}, H={H}", (params, inputs, targets, h0), {},
                {"T": T, "B": B})


def _large_gradient_case(seed, T, B, V, H):
    """A case whose gradients exceed 5 in some entries: large output weights (the mean loss's
    gradients are small for the others). A loss that clips its gradients, as min-char-rnn's
    does, gives itself away here."""
    case = _loss_case(seed, T, B, V, H)
    params, inputs, targets, h0 = case.args
    for scale in (8.0, 16.0, 32.0, 64.0):
        big = {**params, "Why": params["Why"] * scale}
        if max(float(_abs(g).max()) for g in _loss(big, inputs, targets, h0)[1].values()) > 8.0:
            break
    return Case(f"{case.label}, large output weights Why", (big, inputs, targets, h0), {}, case.dims)


def _loss_cases(hidden):
    # T, B, V, H all different, so that a swapped axis is a shape error and a wrong
    # normalisation is a factor T, B or T*B the message can name.
    shapes = ([(1, 3, 5, 4), (6, 1, 4, 5), (7, 4, 9, 6)] if hidden
              else [(5, 3, 7, 4), (4, 2, 6, 5)])
    cases = [_loss_case(seed, *s) for seed in case_seeds(hidden) for s in shapes]
    return cases + [_large_gradient_case(case_seeds(hidden)[0], 3, 2, 5, 4)]


_CLIPS = (
    "Your gradients are cut off at a threshold, element by element: min-char-rnn clips every "
    "gradient to [-5, 5] inside its loss function (np.clip(dparam, -5, 5, out=dparam)), but "
    "char_rnn_loss returns the exact gradients of its loss (a gradient check compares them with "
    "the loss's slopes). Clipping is the training step's job: train_step clips all the gradients "
    "together, by their global norm.")


def _clipped(params, inputs, targets, h0=None):
    loss, grads, h_last = _loss(params, inputs, targets, h0)
    return loss, {k: np.clip(g, -5.0, 5.0) for k, g in grads.items()}, h_last


def _diagnose_loss(got, expected, case):
    """Gradients clipped element by element, at any threshold: each is the right one with its
    entries cut off at the largest magnitude among them all."""
    names = [n for n in expected if n.startswith("grads[")]
    if not all(isinstance(got.get(n), _ndarray) and got[n].shape == expected[n].shape
               and got[n].dtype.kind == "f" and np.isfinite(got[n]).all() for n in names):
        return None
    c = max(float(_abs(got[n]).max()) for n in names)
    if c > 0 and any(float(_abs(expected[n]).max()) > c * (1 + 1e-6) for n in names) and all(
            np.allclose(got[n], np.clip(expected[n], -c, c), rtol=1e-6, atol=1e-9) for n in names):
        return "char_rnn_loss/clips-gradients", f"{_CLIPS} (Yours are cut off at {c:.4g}.)"
    return None


def _scaled(loss_factor, grad_factor):
    """The reference with the loss and the gradients multiplied by counts of the chunk."""

    def variant(params, inputs, targets, h0=None):
        T, B = np.shape(inputs)
        loss, grads, h_last = _loss(params, inputs, targets, h0)
        k_loss, k_grad = loss_factor(T, B), grad_factor(T, B)
        return loss * k_loss, {k: g * k_grad for k, g in grads.items()}, h_last

    return variant


def _with_inputs(change):
    """The reference called with one input changed: ``change(params, inputs, targets, h0)``."""

    def variant(params, inputs, targets, h0=None):
        return _loss(*change(params, inputs, targets, h0))

    return variant


def _h_last_is_h0(params, inputs, targets, h0=None):
    loss, grads, _ = _loss(params, inputs, targets, h0)
    return loss, grads, h0


def _model(cell_backward=None, head_loss=None, input_grads=None):
    """The reference character model (RNN cell, softmax head, ids in) with parts replaced.

    Each replacement is a method of the reference built by :func:`mutate`: the cell's backward
    pass with an edited BPTT loop, the head's loss with an edited cross-entropy, the model's
    gradient of the gathered input weights with an edited accumulation.
    """
    cell, head = RNNCell(), SoftmaxHead()
    if cell_backward is not None:
        cell.backward = types.MethodType(cell_backward, cell)
    if head_loss is not None:
        head.loss = types.MethodType(head_loss, head)
    model = SequenceModel(cell, head, inputs="ids")
    if input_grads is not None:
        model.input_grads = types.MethodType(input_grads, model)

    def variant(params, inputs, targets, h0=None):
        return model.loss(params, inputs, targets, h0)

    return variant


_REC_BACK = _rnn.recurrence_backward
_DERIVATIVE = "dzs = np.square(hs)\n    np.subtract(1.0, dzs, out=dzs)"
_CARRY = "np.add(dhs[t], dh_next, out=dh_t)"
_GATHER_GRAD = "dW = da_flat.T @ one_hot"
_MODEL = _charlm.char_model("rnn")


def _overwritten(names):
    """The gradients in ``names`` hold only the contribution of time step 0, the last one a
    backward loop visits (each step's term was assigned with = instead of added with +=)."""

    def variant(params, inputs, targets, h0=None):
        loss, grads, h_last = _loss(params, inputs, targets, h0)
        T = np.shape(inputs)[0]
        hs, cache = _MODEL.forward(params, inputs, h0)
        _, dhs, _ = _MODEL.head.loss(params, hs, targets)
        das, _, _ = _MODEL.cell.backward(dhs, cache)
        # Step 0's share of the output layer: its loss term alone is normalised by B, not by
        # T*B, so divide by T.
        _, _, head0 = _MODEL.head.loss(params, hs[:1], targets[:1])
        step0 = {
            "Wxh": _MODEL.input_grads(das[:1], np.asarray(inputs)[:1], params)["Wxh"],
            "bh": das[0].sum(axis=0),
            "Whh": _rnn.recurrent_weight_gradient(das[:1], h0, hs[:1]),
            "Why": head0["Why"] / T,
            "by": head0["by"] / T,
        }
        return loss, {k: (step0[k] if k in names else g) for k, g in grads.items()}, h_last

    return variant


def _why_from_previous_state(params, inputs, targets, h0=None):
    """The reference with grads['Why'] built from h_(t-1) instead of h_t (an index off by one)."""
    loss, grads, h_last = _loss(params, inputs, targets, h0)
    hs, _ = _MODEL.forward(params, inputs, h0)
    _, dlogits = softmax_cross_entropy(_MODEL.head.outputs(params, hs), np.asarray(targets))
    h_prev = np.concatenate([np.asarray(h0)[None], hs[:-1]])
    return loss, {**grads, "Why": output_backward(dlogits, (h_prev, params["Why"]))[1]}, h_last


def _loss_of_block(normalise):
    """The reference with the loss read from ``ps[t][:, targets[t]]``, a (B, B) block per step
    (every example's probability of every example's target), summed, then divided by
    ``normalise(T, B)``."""

    def variant(params, inputs, targets, h0=None):
        loss, grads, h_last = _loss(params, inputs, targets, h0)
        T, B = np.shape(inputs)
        hs, _ = _MODEL.forward(params, inputs, h0)
        log_p = np.log(_softmax(_MODEL.head.outputs(params, hs)))
        block = sum(float(log_p[t][:, np.asarray(targets)[t]].sum()) for t in range(T))
        return -block / normalise(T, B), grads, h_last

    return variant


def _h_last_one_step_early(params, inputs, targets, h0=None):
    loss, grads, _ = _loss(params, inputs, targets, h0)
    hs, _ = _MODEL.forward(params, inputs, h0)
    return loss, grads, (hs[-2] if len(hs) > 1 else np.asarray(h0)).copy()


def _keys_prefixed(params, inputs, targets, h0=None):
    loss, grads, h_last = _loss(params, inputs, targets, h0)
    return loss, {"d" + k: g for k, g in grads.items()}, h_last


_REC_GRAD = _rnn.recurrent_weight_gradient
_WHH_FIRST = "dW = dzs[0].T @ h0"
_WHH_REST = "hs[:-1].reshape((T - 1) * B, H)"


CHAR_RNN_LOSS = Exercise(
    name="char_rnn_loss",
    reference=_loss,
    cases=_loss_cases,
    returns=("loss", "grads", "h_last"),
    arg_names=("params", "inputs", "targets", "h0"),
    section="ch06-gradients",
    diagnose=_diagnose_loss,
    mistakes=[
        Mistake("char_rnn_loss/summed",
                "The loss and the gradients are T*B times too large: they are sums over the "
                "T*B predictions of the chunk. Average them: divide the sum of -ln p by T*B "
                "(and so dlogits = (p - onehot) / (T*B)).",
                _scaled(lambda T, B: T * B, lambda T, B: T * B), "ch06-gradients"),
        Mistake("char_rnn_loss/summed-over-time",
                "The loss and the gradients are T times too large: they are summed over the T "
                "steps (as in min-char-rnn) and averaged over the batch only. The chapter's "
                "loss is the mean over all T*B positions.",
                _scaled(lambda T, B: T, lambda T, B: T), "ch06-gradients"),
        Mistake("char_rnn_loss/summed-over-batch",
                "The loss and the gradients are B times too large: they are averaged over time "
                "but summed over the batch. Divide by T*B, the number of predictions.",
                _scaled(lambda T, B: B, lambda T, B: B), "ch06-gradients"),
        Mistake("char_rnn_loss/loss-in-bits",
                "The loss is in bits (log base 2): it is ln 2 times too small. The training loss "
                "uses the natural logarithm, np.log; bits per character are computed from it "
                "afterwards.",
                _scaled(lambda T, B: 1.0 / math.log(2.0), lambda T, B: 1.0), "ch06-scoring"),
        Mistake("char_rnn_loss/gradients-not-averaged",
                "The loss is right but every gradient is T*B times too large: the loss is a "
                "mean, so its gradient on the logits is (p - onehot(targets)) / (T*B).",
                _scaled(lambda T, B: 1, lambda T, B: T * B), "ch06-gradients"),
        Mistake("char_rnn_loss/scores-inputs",
                "The loss scores the character just read (inputs) instead of the next one "
                "(targets): at step t the model predicts targets[t], the character after "
                "inputs[t]. Targets are the inputs shifted by one.",
                _with_inputs(lambda p, x, y, h0: (p, x, x, h0)), "ch06-gradients"),
        Mistake("char_rnn_loss/ignores-h0",
                "The forward pass starts from zeros instead of h0: the state of the previous "
                "chunk is how truncated BPTT carries memory across chunks, so the first step "
                "reads h0.",
                _with_inputs(lambda p, x, y, h0: (p, x, y, np.zeros_like(h0))), "ch06-training"),
        Mistake("char_rnn_loss/no-hidden-bias",
                "The forward pass ignores bh: h_t = tanh(Wxh[:, inputs[t]].T + h_(t-1) @ Whh.T + bh).",
                _with_inputs(lambda p, x, y, h0: ({**p, "bh": np.zeros_like(p["bh"])}, x, y, h0)),
                "ch06-gradients"),
        Mistake("char_rnn_loss/no-output-bias",
                "The logits ignore by: logits_t = h_t @ Why.T + by.",
                _with_inputs(lambda p, x, y, h0: ({**p, "by": np.zeros_like(p["by"])}, x, y, h0)),
                "ch06-gradients"),
        Mistake("char_rnn_loss/h-last-is-h0",
                "h_last is the h0 you were given: return the state after the last step (the "
                "next chunk starts from it).",
                _h_last_is_h0, "ch06-training"),
        Mistake("char_rnn_loss/weights-overwritten",
                "grads['Wxh'], grads['Whh'] and grads['bh'] hold only the contribution of time "
                "step 0, the last one the backward loop visits: they are assigned (=) at each "
                "step. The weights are shared by every step, so add each step's term (+=).",
                _overwritten(("Wxh", "Whh", "bh")), "ch04-sum"),
        Mistake("char_rnn_loss/dwhh-overwritten",
                "grads['Whh'] holds only the contribution of time step 0: it is assigned (=) at "
                "each step instead of accumulated (+=). Whh is shared by every step, so its "
                "gradient is the sum over t of dz_t.T @ h_(t-1).",
                _overwritten(("Whh",)), "ch04-sum"),
        Mistake("char_rnn_loss/output-grads-overwritten",
                "grads['Why'] and grads['by'] hold only the contribution of time step 0: they "
                "are assigned (=) at each step instead of accumulated (+=). The output layer is "
                "shared by every step, so its gradient is a sum over t.",
                _overwritten(("Why", "by")), "ch04-sum"),
        Mistake("char_rnn_loss/repeated-ids-dropped",
                "grads['Wxh'] misses some contributions when two examples read the same "
                "character at one step: dWxh[:, ids] += dz.T adds only once for a repeated id "
                "(numpy's buffered fancy indexing). Use np.add.at(dWxh.T, ids, dz), or a loop "
                "over the batch.",
                _model(input_grads=mutate(
                    SequenceModel.input_grads,
                    (_GATHER_GRAD, "dW = np.zeros_like(W)\n        for t in range(T):\n"
                                   "            dW[:, np.asarray(inputs)[t]] += da[t].T"))),
                "ch06-gradients"),
        Mistake("char_rnn_loss/repeated-ids-dropped-chunk",
                "grads['Wxh'] misses contributions of characters that occur more than once in "
                "the chunk: dWxh[:, inputs.ravel()] += dz.T adds only once per distinct id "
                "(numpy's buffered fancy indexing). Use np.add.at(dWxh.T, inputs.ravel(), dz), "
                "or a product with the one-hot matrix.",
                _model(input_grads=mutate(
                    SequenceModel.input_grads,
                    (_GATHER_GRAD, "dW = np.zeros_like(W)\n"
                                   "        dW[:, np.asarray(inputs).reshape(-1)] += da_flat.T"))),
                "ch06-gradients"),
        Mistake("char_rnn_loss/no-tanh-derivative",
                "The gradients ignore tanh's derivative: at each step multiply the gradient "
                "arriving at h_t by (1 - h_t**2) before sending it to the weights and to h_(t-1).",
                _model(cell_backward=mutate(RNNCell.backward, (_DERIVATIVE, "dzs = np.ones_like(hs)"),
                                            inner=_REC_BACK)), "ch04-one-step"),
        Mistake("char_rnn_loss/derivative-at-previous-state",
                "tanh's slope at step t uses h_(t-1): the slope belongs to the step's own output, "
                "so dz_t = dh_t * (1 - h_t**2).",
                _model(cell_backward=mutate(
                    RNNCell.backward,
                    (_DERIVATIVE, "dzs = np.square(np.concatenate([h0[None], hs[:-1]]))\n"
                                  "    np.subtract(1.0, dzs, out=dzs)"),
                    inner=_REC_BACK)), "ch04-bptt"),
        Mistake("char_rnn_loss/dh-prev-transposed",
                "The gradient sent back to h_(t-1) uses Whh.T: the forward computed "
                "h_(t-1) @ Whh.T, so the gradient flows back as dz_t @ Whh.",
                _model(cell_backward=mutate(RNNCell.backward,
                                            ("np.matmul(dzs[t], Whh, out=dh_next)",
                                             "np.matmul(dzs[t], Whh.T, out=dh_next)"),
                                            inner=_REC_BACK)), "ch04-bptt"),
        Mistake("char_rnn_loss/no-gradient-from-the-future",
                "The gradient that flows back from h_(t+1) is dropped: the gradient on h_t is "
                "the sum of the one from this step's output and dh_next = dz_(t+1) @ Whh from "
                "the step after it. Without it BPTT stops after one step.",
                _model(cell_backward=mutate(RNNCell.backward, (_CARRY, "np.copyto(dh_t, dhs[t])"),
                                            inner=_REC_BACK)), "ch04-bptt"),
        Mistake("char_rnn_loss/softmax-gradient-without-onehot",
                "The gradient on the logits is softmax(logits) without subtracting the one-hot "
                "target: d(-ln p_k)/dz = p - onehot(k), so subtract 1 at each target.",
                _model(head_loss=mutate(SoftmaxHead.loss, ("dflat[rows, idx] -= 1.0", "dflat[rows, idx] -= 0.0"),
                                        inner=softmax_cross_entropy)), "ch06-gradients"),
        Mistake("char_rnn_loss/dwhh-current-state",
                "grads['Whh'] pairs dz_t with h_t, the state step t produced: in the forward pass "
                "Whh multiplies the state before the step, h_t = tanh(... + h_(t-1) @ Whh.T + bh), "
                "so its gradient is the sum over t of dz_t.T @ h_(t-1) (h0 for the first step).",
                _model(cell_backward=mutate(RNNCell.backward, (_WHH_FIRST, "dW = dzs[0].T @ hs[0]"),
                                            (_WHH_REST, "hs[1:].reshape((T - 1) * B, H)"),
                                            inner=_REC_GRAD)), "ch04-sum"),
        Mistake("char_rnn_loss/dwhh-zero-h0",
                "grads['Whh'] leaves out the first step's term dz_0.T @ h0: it uses zeros as the "
                "state before step 0. The first step multiplies h0 (the state the previous chunk "
                "ended in) by Whh, so its share is dz_0.T @ h0.",
                _model(cell_backward=mutate(RNNCell.backward, (_WHH_FIRST, "dW = dzs[0].T @ np.zeros_like(h0)"),
                                            inner=_REC_GRAD)), "ch06-training"),
        Mistake("char_rnn_loss/slope-on-output-only",
                "tanh's slope multiplies only the gradient from the step's own output, "
                "dz_t = (dlogits_t @ Why) * (1 - h_t**2) + dh_next: both paths reach h_t before "
                "the tanh, so add them first, dz_t = (dlogits_t @ Why + dh_next) * (1 - h_t**2).",
                _model(cell_backward=mutate(RNNCell.backward,
                                            ("dzs[t] *= dh_t", "dzs[t] *= dhs[t]\n        dzs[t] += dh_next"),
                                            inner=_REC_BACK)), "ch04-bptt"),
        Mistake("char_rnn_loss/tanh-applied-twice",
                "tanh's slope is computed as 1 - np.tanh(h_t)**2: h_t is already tanh(z_t), so "
                "the slope is 1 - h_t**2.",
                _model(cell_backward=mutate(RNNCell.backward,
                                            (_DERIVATIVE, "dzs = np.square(np.tanh(hs))\n    np.subtract(1.0, dzs, out=dzs)"),
                                            inner=_REC_BACK)), "ch04-one-step"),
        Mistake("char_rnn_loss/slope-of-preactivation",
                "tanh's slope is computed from the pre-activation, 1 - z_t**2: the derivative of "
                "tanh at z_t is 1 - tanh(z_t)**2 = 1 - h_t**2.",
                _model(cell_backward=mutate(RNNCell.backward,
                                            (_DERIVATIVE, "dzs = np.square(np.arctanh(hs))\n    np.subtract(1.0, dzs, out=dzs)"),
                                            inner=_REC_BACK)), "ch04-one-step"),
        Mistake("char_rnn_loss/sigmoid-slope",
                "tanh's slope is written h_t * (1 - h_t), which is the sigmoid's: the derivative "
                "of tanh is 1 - h_t**2.",
                _model(cell_backward=mutate(RNNCell.backward, (_DERIVATIVE, "dzs = hs * (1.0 - hs)"),
                                            inner=_REC_BACK)), "ch04-one-step"),
        Mistake("char_rnn_loss/backward-forward-in-time",
                "The backward loop walks forward in time (t = 0, 1, ...): step t needs the "
                "gradient that comes back from step t+1, so walk t = T-1, ..., 0 "
                "(for t in reversed(range(T))).",
                _model(cell_backward=mutate(RNNCell.backward,
                                            ("for t in range(hs.shape[0] - 1, -1, -1):", "for t in range(hs.shape[0]):"),
                                            inner=_REC_BACK)), "ch04-bptt"),
        Mistake("char_rnn_loss/dwhy-previous-state",
                "grads['Why'] pairs dlogits_t with h_(t-1): the logits of step t are "
                "h_t @ Why.T + by, so Why's gradient is the sum over t of dlogits_t.T @ h_t.",
                _why_from_previous_state, "ch06-gradients"),
        Mistake("char_rnn_loss/loss-block",
                "The loss reads ps[t][:, targets[t]], a B x B block (every example's probability "
                "of every example's target): take one entry per example, "
                "ps[t][np.arange(B), targets[t]].",
                _loss_of_block(lambda T, B: T * B), "ch06-gradients"),
        Mistake("char_rnn_loss/loss-block-mean",
                "The loss is the mean of ps[t][:, targets[t]], a B x B block (every example's "
                "probability of every example's target): take one entry per example, "
                "ps[t][np.arange(B), targets[t]].",
                _loss_of_block(lambda T, B: T * B * B), "ch06-gradients"),
        Mistake("char_rnn_loss/h-last-one-step-early",
                "h_last is the state after step T-2, one step early (in a list that starts with "
                "h0, the state after the last step is the last entry, hs[T], not hs[T-1]): return "
                "the state after the last step.",
                _h_last_one_step_early, "ch06-training"),
        Mistake("char_rnn_loss/grads-keys-prefixed",
                "grads has the keys 'dWxh', 'dWhh', ... (CS231n's names): use the keys of params, "
                "'Wxh', 'Whh', 'bh', 'Why', 'by', so that train_step (and any optimizer) finds "
                "each parameter's gradient under the parameter's own name.",
                _keys_prefixed, "ch06-gradients"),
        Mistake("char_rnn_loss/clips-gradients", _CLIPS, _clipped, "ch06-training"),
    ],
)


def check_char_rnn_loss(char_rnn_loss, hidden=False):
    """Check ``char_rnn_loss(params, inputs, targets, h0) -> (loss, grads, h_last)``.

    The loss is the mean softmax cross-entropy (nats) of the ``T*B`` next characters of a chunk,
    ``grads`` a dict with the keys and shapes of ``params`` (backpropagation through time), and
    ``h_last`` the state after the last step.

    Parameters
    ----------
    char_rnn_loss : callable
        The student's function.
    hidden : bool
        Hidden tests: other seeds, ``T = 1``, ``B = 1``, larger chunks.
    """
    run_check(CHAR_RNN_LOSS, char_rnn_loss, hidden)


# =============================================================================================
# train_step: the student's loss, clipping by global norm, one SGD step (params in place)
# =============================================================================================


def _step_cases(hidden):
    shapes = [(1, 2, 5, 3), (6, 1, 4, 6)] if hidden else [(5, 3, 6, 4)]  # (T, B, V, H)
    cases = []
    for seed in case_seeds(hidden):
        for T, B, V, H in shapes:
            params, inputs, targets, h0 = _loss_case(seed, T, B, V, H).args
            norm = _optim.global_norm(_loss(params, inputs, targets, h0)[1])
            for regime, max_norm in (("clipped", norm / 3), ("not clipped", norm * 2)):
                cases.append(Case(
                    f"seed {seed}, T={T}, B={B}, V={V}, H={H}, lr=0.1, max_norm={max_norm:.3g}, "
                    f"gradient norm {norm:.3g}: {regime}",
                    (params, inputs, targets, h0, 0.1, max_norm)))
    return cases


def _in_place(step):
    """``step`` as a function of its inputs: it runs on a copy of ``params`` and returns the
    updated copy first, then what ``step`` returned (so the engine compares both)."""

    def run(params, inputs, targets, h0, lr, max_norm):
        updated = _copy_params(params)
        out = step(updated, inputs, targets, h0, lr, max_norm)
        if isinstance(out, (tuple, list)) and len(out) == 3:
            return (updated, *out)
        return out  # malformed: check_train_step says so before the engine sees it

    run.__name__ = getattr(step, "__name__", "train_step")
    return run


_STEP_CLIP = "clipped, norm = clip_by_global_norm(grads, max_norm)"
_STEP_UPDATE = "params[k] = params[k] - lr * clipped[k]"
_STEP_RETURN = "return loss, norm, h_last"
_STEP_LOSS = "loss, grads, h_last = char_rnn_loss(params, inputs, targets, h0)"


def _diagnose_step(got, expected, case):
    """What a wrong update is, when the catalogue has no name for it: a wrong global norm, or
    the step measured against the gradient (one factor for every entry, or not)."""
    params, inputs, targets, h0, lr, max_norm = case.args
    names = {k: f"params['{k}']" for k in params}
    if not all(isinstance(got.get(n), _ndarray) and got[n].shape == params[k].shape for k, n in names.items()):
        return None
    grads = _loss(params, inputs, targets, h0)[1]
    norm = _optim.global_norm(grads)
    if not _close(got.get("loss"), expected["loss"]):
        return None  # the loss itself is wrong: the generic diagnosis says which value
    if not _close(got.get("grad_norm"), expected["grad_norm"]):
        mine = got.get("grad_norm")
        shown = f"{float(mine):.6g}" if isinstance(mine, (int, float, np.floating, np.integer)) else repr(mine)
        return ("generic/grad-norm",
                f"grad_norm is {shown}, but the global norm of the gradients is {norm:.6g}: the "
                "square root of the sum of the squares of every entry of every gradient, all "
                f"{len(grads)} arrays together (sqrt(sum over k of np.sum(grads[k] ** 2))). The "
                "clipping factor max_norm / grad_norm depends on it too.")
    clipped = norm > max_norm
    want = max_norm / norm if clipped else 1.0
    why = (f"max_norm / grad_norm = {max_norm:.4g} / {norm:.4g} = {want:.4g} (the norm exceeds max_norm)"
           if clipped else "1 (the norm is below max_norm: no clipping)")
    factors, off = {}, []
    for k, n in names.items():
        step = (params[k] - got[n]) / lr
        g = grads[k]
        gg = float(np.sum(g * g))
        c = float(np.sum(step * g)) / gg if gg > 0 else 0.0
        if not np.allclose(step, c * g, rtol=1e-5, atol=1e-10):
            return ("generic/update",
                    f"{n} did not move along its gradient: its entries changed by different "
                    "multiples of grads[k] (clipped entry by entry, or an adaptive step such as "
                    "Adagrad's or Adam's?). Gradient descent moves every entry by one factor: "
                    f"params[k] -= lr * scale * grads[k], with scale = {why}.")
        factors[k] = c
        if abs(c - want) > 1e-5 * abs(want):
            off.append(k)
    if not off:
        return None
    if len(off) == len(factors) and max(factors.values()) - min(factors.values()) <= 1e-5 * abs(want):
        c = factors[off[0]]
        return ("generic/update",
                f"Every parameter moved by {c:.4g} * lr * grads[k]; the step is "
                f"params[k] -= lr * scale * grads[k] with scale = {why}.")
    listed = ", ".join(f"{names[k]} by {factors[k]:.4g} * lr * grads[k]" for k in off)
    return ("generic/update",
            f"The update is not the same for every parameter: {listed}; every key takes the same "
            f"step, params[k] -= lr * scale * grads[k] with scale = {why}.")

TRAIN_STEP = Exercise(
    name="train_step",
    reference=_train_step,
    cases=_step_cases,
    returns=("params", "loss", "grad_norm", "h_last"),
    arg_names=("params", "inputs", "targets", "h0", "lr", "max_norm"),
    section="ch06-training",
    # PyTorch's clip_grad_norm_ multiplies by max_norm / (norm + 1e-6): a relative difference of
    # about 1e-6 / norm in the update, which these tolerances accept.
    rtol=1e-5,
    atol=1e-7,
    diagnose=_diagnose_step,
    mistakes=[
        Mistake("train_step/no-clip",
                "The update used the unclipped gradients: when their global norm exceeds "
                "max_norm, multiply all of them by max_norm / norm before the update.",
                mutate(_train_step, (_STEP_CLIP, "clipped, norm = clip_by_global_norm(grads, float('inf'))")),
                "ch06-training"),
        Mistake("train_step/clips-every-time",
                "The gradients were rescaled to norm max_norm although their norm was already "
                "below it: clip only when the norm exceeds max_norm (scale = min(1, max_norm / norm)).",
                mutate(_train_step, ("scale = max_norm / norm if norm > max_norm else 1.0",
                                     "scale = max_norm / norm"), inner=_optim.clip_by_global_norm),
                "ch06-training"),
        Mistake("train_step/clip-factor-inverted",
                "The gradients were multiplied by norm / max_norm, which makes them longer: to "
                "shrink them to norm max_norm, multiply them by max_norm / norm.",
                mutate(_train_step, ("scale = max_norm / norm if norm > max_norm else 1.0",
                                     "scale = norm / max_norm if norm > max_norm else 1.0"),
                       inner=_optim.clip_by_global_norm), "ch06-training"),
        Mistake("train_step/per-array-clip",
                "Each gradient was clipped by its own norm: clip by the global norm of all "
                "gradients together (one factor for all), so that the update keeps its direction.",
                mutate(_train_step, (_STEP_CLIP,
                                     "norm = clip_by_global_norm(grads, max_norm)[1]\n    clipped = "
                                     "{k: clip_by_global_norm({k: g}, max_norm)[0][k] for k, g in grads.items()}")),
                "ch06-training"),
        Mistake("train_step/clip-by-value",
                "The gradients were clipped entry by entry (np.clip): rescale them all by the "
                "same factor max_norm / global norm instead, which keeps the update's direction.",
                mutate(_train_step, (_STEP_CLIP,
                                     "from rnnlib.optim import clip_by_value\n    "
                                     "clipped, norm = clip_by_value(grads, max_norm), "
                                     "clip_by_global_norm(grads, max_norm)[1]")),
                "ch06-training"),
        Mistake("train_step/params-not-updated",
                "params is unchanged after train_step: update the arrays of the dict you were "
                "given (params[k] -= lr * g). A new dict made inside the function is lost when "
                "it returns.",
                mutate(_train_step, ("for k in params:\n        " + _STEP_UPDATE,
                                     "params = {k: params[k] - lr * clipped[k] for k in params}")),
                "ch06-training"),
        Mistake("train_step/ascent",
                "The parameters moved uphill: gradient descent subtracts lr * g.",
                mutate(_train_step, (_STEP_UPDATE, "params[k] = params[k] + lr * clipped[k]")),
                "ch06-training"),
        Mistake("train_step/no-learning-rate",
                "The update is params[k] - clipped[k]: multiply the gradient by the learning "
                "rate lr.",
                mutate(_train_step, (_STEP_UPDATE, "params[k] = params[k] - clipped[k]")),
                "ch06-training"),
        Mistake("train_step/norm-is-sum-of-norms",
                "grad_norm adds up the norms of the arrays: the global norm is the norm of all "
                "gradients as one vector, sqrt(sum over arrays of sum(g**2)), which is smaller "
                "than the sum of their norms.",
                mutate(_train_step, ("norm = global_norm(grads)",
                                     "norm = sum(float(np.linalg.norm(g)) for g in grads.values())"),
                       inner=_optim.clip_by_global_norm), "ch06-training"),
        Mistake("train_step/norm-after-clipping",
                "grad_norm is the norm after clipping: return the global norm before clipping "
                "(the number worth logging: its spikes are exploding gradients).",
                mutate(_train_step, (_STEP_RETURN, "return loss, min(norm, max_norm), h_last")),
                "ch06-training"),
        Mistake("train_step/squared-norm",
                "grad_norm is the squared norm: take the square root of the sum of squares.",
                mutate(_train_step, (_STEP_RETURN, "return loss, norm**2, h_last")), "ch06-training"),
        Mistake("train_step/loss-and-norm-swapped",
                "loss and grad_norm are swapped: return (loss, grad_norm, h_last), in that order.",
                mutate(_train_step, (_STEP_RETURN, "return norm, loss, h_last")), "ch06-training"),
        Mistake("train_step/loss-from-zero-state",
                "char_rnn_loss is called with a zero state instead of h0: the chunk continues the "
                "text where the previous chunk stopped, so it starts from h0, "
                "char_rnn_loss(params, inputs, targets, h0).",
                mutate(_train_step, (_STEP_LOSS, "loss, grads, h_last = char_rnn_loss(params, inputs, targets, "
                                                 "np.zeros_like(h0))")), "ch06-training"),
        Mistake("train_step/norm-without-sqrt",
                "The norm is the sum of the squares, without the square root: the global norm is "
                "sqrt(sum over k of np.sum(grads[k] ** 2)). Both the clipping factor and the "
                "grad_norm you return use it.",
                mutate(_train_step, ("norm = global_norm(grads)", "norm = global_norm(grads) ** 2"),
                       inner=_optim.clip_by_global_norm), "ch06-training"),
        Mistake("train_step/loss-after-update",
                "The loss returned is computed after the update: return the loss that "
                "char_rnn_loss gave before it (the loss of the parameters the gradients belong to).",
                mutate(_train_step, (_STEP_RETURN, "return char_rnn_loss(params, inputs, targets, h0)[0], "
                                                   "norm, h_last")), "ch06-training"),
        Mistake("train_step/returns-h0",
                "train_step returns the h0 it was given instead of the state after the chunk: "
                "the next chunk would start from a stale state. Return char_rnn_loss's h_last.",
                mutate(_train_step, (_STEP_RETURN, "return loss, norm, h0")), "ch06-training"),
    ],
)


def _check_train_step(train_step, hidden=False, char_rnn_loss=None, quiet=False):
    case = _step_cases(hidden)[0]
    out = call_student(train_step, _copy_params(case.args[0]), *case.args[1:], name="train_step")
    if not (isinstance(out, (tuple, list)) and len(out) == 3):
        raise CheckFailed(
            "train_step should return a tuple (loss, grad_norm, h_last), but it returned "
            f"{fmt_shape(out)} ({case.label}). It updates params in place and returns these three.",
            mistake_id="generic/returns")
    depends = {}
    if char_rnn_loss is not None:
        depends["char_rnn_loss"] = lambda: run_check(CHAR_RNN_LOSS, char_rnn_loss, hidden, quiet=True)
    run_check(TRAIN_STEP, _in_place(train_step), hidden, prepare=_in_place, depends=depends,
              student_name="train_step", quiet=quiet)


TRAIN_STEP.check_student = lambda fn, hidden: _check_train_step(fn, hidden, quiet=True)


def check_train_step(train_step, hidden=False, char_rnn_loss=None):
    """Check ``train_step(params, inputs, targets, h0, lr, max_norm) -> (loss, grad_norm, h_last)``.

    The step computes the loss and gradients of one chunk (with the student's ``char_rnn_loss``),
    clips the gradients by their *global* norm to ``max_norm``, updates every parameter with
    gradient descent ``params[k] -= lr * g`` in the dict it was given, and returns the loss, the
    global norm *before* clipping and the last hidden state.

    Parameters
    ----------
    train_step : callable
        The student's function.
    hidden : bool
        Hidden tests: other seeds, ``T = 1``, ``B = 1``.
    char_rnn_loss : callable, optional
        The student's loss, which ``train_step`` builds on: checked first when ``train_step``
        is wrong ("fix char_rnn_loss first").
    """
    _check_train_step(train_step, hidden, char_rnn_loss)
    print("train_step: all checks passed.")


# =============================================================================================
# sample: temperature, one draw per character, the drawn character fed back in
# =============================================================================================

_SAMPLE_SOFTMAX = "p = softmax(logits / temperature)\n"  # the code line, not the docstring's
_SAMPLE_DRAW = "idx = int(rng.choice(V, p=p))"
_SAMPLE_STEP = "logits, state = model.step(params, np.array([idx]), state)"


def _with_first_id(params, first_id, n, temperature=1.0, rng=None):
    return np.concatenate([[int(first_id)], _sample(params, first_id, n, temperature, rng)]).astype(np.int64)


def _starts_with_first_id(params, first_id, n, temperature=1.0, rng=None):
    """n ids, first_id first, then the first n - 1 generated ones."""
    rest = _sample(params, first_id, max(n - 1, 0), temperature, rng)
    return np.concatenate([[int(first_id)], rest])[:n].astype(np.int64)


SAMPLE_MISTAKES = [
    Mistake("sample/temperature-multiplied",
            "Your characters come out as if the temperature were 1 / temperature: you multiply "
            "the logits by the temperature; divide them by it, p = softmax(logits / temperature).",
            mutate(_sample, (_SAMPLE_SOFTMAX, "p = softmax(logits * temperature)\n")), "ch06-temperature"),
    Mistake("sample/temperature-ignored",
            "Your characters come out as at temperature 1 whatever the temperature: divide the "
            "logits by the temperature before the softmax, p = softmax(logits / temperature).",
            mutate(_sample, (_SAMPLE_SOFTMAX, "p = softmax(logits)\n")), "ch06-temperature"),
    Mistake("sample/temperature-on-probabilities",
            "The probabilities were divided by the temperature after the softmax, so they no longer "
            "sum to 1 (rng.choice refuses them): divide the logits before the softmax, "
            "p = softmax(logits / temperature).",
            mutate(_sample, (_SAMPLE_SOFTMAX, "p = softmax(logits) / temperature\n")), "ch06-temperature"),
    Mistake("sample/argmax",
            "Every draw gives the most likely character: sample from the distribution with "
            "rng.choice(V, p=p) instead of taking the argmax (that is the limit temperature -> 0).",
            mutate(_sample, (_SAMPLE_DRAW, "idx = int(np.argmax(p))")), "ch06-sampling"),
    Mistake("sample/first-id-every-step",
            "Every step reads first_id again: feed each sampled character back in as the next "
            "input.",
            mutate(_sample, (_SAMPLE_STEP, "logits, state = model.step(params, np.array([int(first_id)]), state)")),
            "ch06-sampling"),
    Mistake("sample/state-not-carried",
            "The hidden state restarts from zero at every step: carry h from one step to the "
            "next, so that each character depends on all the ones before it.",
            mutate(_sample, (_SAMPLE_STEP, "logits, _ = model.step(params, np.array([idx]), state)")),
            "ch06-sampling"),
    Mistake("sample/returns-first-id",
            "sample returned n + 1 ids: return only the n generated characters, not first_id.",
            _with_first_id, "ch06-sampling"),
    Mistake("sample/starts-with-first-id",
            "Your ids start with first_id, followed by n - 1 generated characters: first_id is "
            "the character read first, not part of the output. Return the n characters drawn "
            "after it (n draws).",
            _starts_with_first_id, "ch06-sampling"),
    Mistake("sample/first-id-not-read",
            "The first character is drawn before first_id is read (from the logits of h = 0): "
            "at every step, first read the current character, h = tanh(Wxh[:, idx] + Whh @ h + bh) "
            "with idx = first_id at the first step, then draw the next one.",
            mutate(_sample, (_SAMPLE_STEP, "logits, state = model.step(params, np.array([idx]), state) if i "
                                           "else (model.head.read(params, state), state)")),
            "ch06-sampling"),
    Mistake("sample/uniform-draws",
            "Every character comes out about equally often: rng.choice(V) without p draws uniformly. "
            "Pass the probabilities, rng.choice(V, p=p).",
            mutate(_sample, (_SAMPLE_DRAW, "idx = int(rng.choice(V))")), "ch06-sampling"),
    Mistake("sample/temperature-bias-not-divided",
            "Only Why @ h is divided by the temperature, not by: the temperature divides the whole "
            "logits, p = softmax((Why @ h + by) / temperature) (mind the brackets).",
            mutate(_sample, (_SAMPLE_SOFTMAX, "p = softmax((logits - params['by']) / temperature + params['by'])\n")),
            "ch06-temperature"),
    Mistake("sample/temperature-bias-only",
            "Only by is divided by the temperature: Why @ h + by / temperature divides the bias "
            "alone (division binds tighter than +). Divide the whole logits, "
            "p = softmax((Why @ h + by) / temperature).",
            mutate(_sample, (_SAMPLE_SOFTMAX, "p = softmax(logits - params['by'] + params['by'] / temperature)\n")),
            "ch06-temperature"),
    Mistake("sample/generator-in-loop",
            "Your draws reuse the same random number: the generator is made from the seed again "
            "at every step, np.random.default_rng(rng) inside the loop. Make it once, before the "
            "loop, and draw from it at each step.",
            mutate(_sample, ("    rng = np.random.default_rng(rng)\n", "    seed = rng\n"),
                   (_SAMPLE_DRAW, "idx = int(np.random.default_rng(seed).choice(V, p=p))")),
            "ch06-sampling"),
    Mistake("sample/extra-draws",
            "Your characters have the right distribution, but with a fixed seed they differ "
            "from the reference's because the generator is used for something else too. Draw "
            "exactly once per character, rng.choice(V, p=p), and nothing else.",
            mutate(_sample, (_SAMPLE_DRAW, "rng.random()\n            " + _SAMPLE_DRAW)), "ch06-sampling"),
    Mistake("sample/overflow",
            "At a low temperature exp(logits / temperature) overflows to inf and the "
            "probabilities become NaN: subtract the largest logit before np.exp (a softmax does "
            "not change when the same number is subtracted from every logit).",
            mutate(_sample, (_SAMPLE_SOFTMAX, "p = np.exp(logits / temperature)\n            p = p / p.sum()\n")),
            "ch06-temperature"),
]
_SAMPLE_BY_SLUG = {m.id.split("/")[1]: m for m in SAMPLE_MISTAKES}


def _fail(slug, context):
    m = _SAMPLE_BY_SLUG[slug]
    return CheckFailed(f"sample: {m.says}{context}", mistake_id=m.id)


def _call_sample(sample, params, first_id, n, temperature, seed, context):
    """The student's ids, checked to be an integer array of n ids in range(V)."""
    V = params["Why"].shape[0]
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            got = call_student(sample, _copy_params(params), first_id, n, temperature, seed, name="sample")
    except CheckFailed as err:
        if err.mistake_id != "generic/crash":
            raise
        # The sizes, so that the shapes in the error can be read (V characters, H units).
        line = _re.search(r"at the line `([^`]*)`", str(err))
        hint = ""
        if line and _re.search(r"Wxh(?:[\"']\])?\[(?!\s*:)", line.group(1)):
            hint = (" Wxh is stored (H, V), one column per character: the column of character "
                    "idx is Wxh[:, idx] (H numbers); Wxh[idx] is a row.")
        raise CheckFailed(f"{err}{context}{hint}", mistake_id=err.mistake_id) from None
    if isinstance(got, (list, tuple)):
        got = np.asarray(got)
    if isinstance(got, _ndarray) and got.shape == (n + 1,):
        raise _fail("returns-first-id", context)
    if not isinstance(got, _ndarray) or got.shape != (n,):
        raise CheckFailed(f"sample should return a numpy array of {n} ids, shape ({n},), but it "
                          f"returned {fmt_shape(got)}{context}.", mistake_id="generic/shape")
    if got.dtype.kind not in "iu":
        raise CheckFailed(f"sample should return integer ids, but their dtype is {got.dtype}"
                          f"{context}: convert each draw with int(...).", mistake_id="generic/type")
    if n and (got.min() < 0 or got.max() >= V):
        raise CheckFailed(f"sample returned ids outside 0..{V - 1} (min {got.min()}, max "
                          f"{got.max()}){context}: each id is drawn from range(V).",
                          mistake_id="generic/value")
    return got


def _constant_state_params(seed, V, H):
    """Parameters whose hidden state is the same at every step (Wxh = Whh = 0), so that every
    character of one sample is an independent draw from the same distribution."""
    params = _random_params(np.random.default_rng(seed), V, H, scale=1.0)
    params["Wxh"][:] = 0.0
    params["Whh"][:] = 0.0
    params["by"] *= 3.0  # clearly unequal probabilities, so temperature mistakes show
    # A state far from 0, so that Why @ h weighs as much as by in the logits: a temperature that
    # divides only one of the two parts shows.
    params["bh"] *= 5.0
    return params


def _logits(params):
    """The reference model's logits ``Why @ h + by`` under parameters whose state is constant."""
    logits, _ = _MODEL.step(params, np.array([0]), np.zeros((1, params["Whh"].shape[0])))
    return logits[0]


def _tempered(params, temperature):
    """The reference model's distribution of every character under these parameters."""
    return _softmax(_logits(params) / temperature)


def _statistics(sample, V, H, seed, temperature, draws):
    """``None`` if the frequencies of ``draws`` characters match the tempered softmax, else a
    CheckFailed naming the mistake they match."""
    params = _constant_state_params(seed, V, H)
    context = f" (V={V}, H={H}, temperature={temperature}, {draws} characters drawn)"
    try:
        got = _call_sample(sample, params, 0, draws, temperature, seed, context)
    except CheckFailed as err:
        if temperature != 1.0 and err.mistake_id == "generic/crash" and "sum to 1" in str(err):
            return _fail("temperature-on-probabilities", context)
        raise
    freq = np.bincount(got, minlength=V) / draws

    def matches(p):
        # Five standard errors of a frequency, plus a little: a correct sampler fails this
        # with a probability far below one in a million.
        return bool(np.all(_abs(freq - p) <= 5.0 * _sqrt(p * (1 - p) / draws) + 0.005))

    p = _tempered(params, temperature)
    if matches(p):
        return None
    k = int(np.argmax(_abs(freq - p)))
    detail = (f" (character {k} came out in {freq[k]:.1%} of {draws} draws; the model gives it "
              f"probability {p[k]:.1%} at temperature {temperature})")
    if freq.max() == 1.0 and p.max() < 0.99:
        # Always the same character: the most likely one (whatever the seed), or one random
        # number used again (which character depends on the seed).
        others = [_call_sample(sample, params, 0, 5, temperature, seed + j, context) for j in range(1, 13)]
        seed_matters = any(not _array_equal(o, got[:5]) for o in others)
        again = _SAMPLE_BY_SLUG["generator-in-loop"].variant(_copy_params(params), 0, draws, temperature, seed)
        if _array_equal(got, again) and seed_matters:
            return _fail("generator-in-loop", detail)
        if got[0] == int(np.argmax(p)) and not seed_matters:
            return _fail("argmax", detail)
    if matches(np.full(V, 1.0 / V)):
        return _fail("uniform-draws", detail)
    if temperature != 1.0 and matches(_tempered(params, 1.0)):
        return _fail("temperature-ignored", detail)
    if temperature != 1.0 and matches(_tempered(params, 1.0 / temperature)):
        return _fail("temperature-multiplied", detail)
    # Brackets: only a part of the logits Why @ h + by divided by the temperature.
    logits, by = _logits(params), params["by"]
    if temperature != 1.0 and matches(_softmax((logits - by) / temperature + by)):
        return _fail("temperature-bias-not-divided", detail)
    if temperature != 1.0 and matches(_softmax(logits - by + by / temperature)):
        return _fail("temperature-bias-only", detail)
    return CheckFailed(f"sample: the characters are not drawn from softmax(logits / temperature)"
                       f"{detail}.", mistake_id="generic/distribution")


def _sample_cases(hidden):
    shapes = [(4, 3, 7), (9, 5, 1)] if hidden else [(6, 4, 10)]  # (V, H, n)
    cases = []
    for seed in case_seeds(hidden):
        for V, H, n in shapes:
            rng = np.random.default_rng(seed)
            params = _random_params(rng, V, H, scale=1.0)
            first_id = int(rng.integers(V))
            for temperature in (1.0, 0.5, 2.0):
                cases.append((params, first_id, n, temperature, seed))
    return cases


def _overflow_case(hidden):
    rng = np.random.default_rng(11 if hidden else 7)
    V, H = 5, 3
    params = _random_params(rng, V, H, scale=1.0)
    params["by"][1] += 10.0  # logits / 0.01 exceed 700: exp overflows without the max shift
    return params, 2, 6, 0.01, 5


def _context(params, first_id, n, temperature, seed):
    V, H = params["Why"].shape[0], params["Whh"].shape[0]
    return f" (seed {seed}, V={V}, H={H}, n={n}, first_id={first_id}, temperature={temperature})"


def _named_by_variant(got, args, context):
    """The catalogued mistake whose ids equal the student's, if any."""
    for m in SAMPLE_MISTAKES:
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                want = m.variant(_copy_params(args[0]), *args[1:])
        except Exception:  # noqa: BLE001 - a variant that cannot run here says nothing
            continue
        if isinstance(want, _ndarray) and want.shape == got.shape and _array_equal(want, got):
            return CheckFailed(f"sample: {m.says}{context}", mistake_id=m.id)
    return None


def _spy_generator(seed):
    """A generator seeded like ``np.random.default_rng(seed)`` that records what a sampler asks of
    it: ``(method, args, kwargs, result)`` for every call the sampler makes (calls a method makes
    internally, such as ``choice`` calling ``random``, are not recorded).

    ``np.random.default_rng`` returns a Generator it is given unchanged, so a sampler that starts
    with ``rng = np.random.default_rng(rng)`` uses this one.
    """
    calls, depth = [], [0]

    class SpyGenerator(np.random.Generator):
        pass

    def recording(name, method):
        def wrapper(self, *args, **kwargs):
            depth[0] += 1
            try:
                out = method(self, *args, **kwargs)
            finally:
                depth[0] -= 1
            if depth[0] == 0:
                calls.append((name, args, kwargs, out))
            return out
        return wrapper

    for name in dir(np.random.Generator):
        method = getattr(np.random.Generator, name)
        if not name.startswith("_") and callable(method) and name not in ("spawn",):
            setattr(SpyGenerator, name, recording(name, method))
    return SpyGenerator(np.random.PCG64(seed)), calls


def _traced_failure(sample, args, got, context):
    """With a generator that records its calls: how the student's sampler uses it, the
    distribution each draw came from, and where that first departs from the model's. ``None``
    when this cannot say (the sampler does not run with such a generator)."""
    params, first_id, n, temperature, seed = args
    V, H = params["Why"].shape[0], params["Whh"].shape[0]
    spy, calls = _spy_generator(seed)
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            ids = np.asarray(call_student(sample, _copy_params(params), first_id, n, temperature, spy,
                                          name="sample"))
    except Exception:  # noqa: BLE001 - the plain message below says what it can
        return None
    if ids.shape != got.shape or not _array_equal(ids, got):
        return None  # it behaves differently with a Generator than with a seed
    if not calls:
        return CheckFailed(
            "sample: your characters have the right distribution, but they are not drawn from the "
            "rng argument: it is never used (np.random.choice draws from numpy's global generator, "
            "np.random.default_rng() without the seed from a fresh one). Make the generator once, "
            "rng = np.random.default_rng(rng), then draw each character with rng.choice(V, p=p)"
            f"{context}.", mistake_id="generic/not-reproducible")
    counts = {}
    for name, *_ in calls:
        counts[name] = counts.get(name, 0) + 1
    if counts != {"choice": n}:
        used = ", ".join(f"{c} call{'s' if c > 1 else ''} of rng.{name}" for name, c in counts.items())
        mistake = "sample/extra-draws" if counts.get("choice") == n else "generic/not-reproducible"
        return CheckFailed(
            f"sample: your characters have the right distribution, but your sampler makes "
            f"{used} for {n} characters, so with a fixed seed they differ from "
            "the course's. Draw exactly once per character with rng.choice(V, p=p), and nothing "
            f"else{context}.", mistake_id=mistake)
    drawn, used_p = [], []
    for _, a, kw, out in calls:
        drawn.append(int(np.asarray(out).reshape(-1)[0]))
        used_p.append(kw.get("p", a[3] if len(a) > 3 else None))
    # The model's distribution of each draw, given first_id and the characters drawn before it.
    model_p, state, idx = [], np.zeros((1, H)), int(first_id)
    for i in range(n):
        logits, state = _MODEL.step(params, np.array([idx]), state)
        model_p.append(_softmax(logits[0] / temperature))
        idx = drawn[i]
    bad = [i for i in range(n) if used_p[i] is None or np.shape(used_p[i]) != (V,)
           or not np.allclose(np.asarray(used_p[i], dtype=float), model_p[i], rtol=1e-6, atol=1e-9)]
    if not bad:
        if ids.shape == (n,) and n > 1 and ids[0] == first_id and _array_equal(ids[1:], drawn[:-1]):
            return _fail("starts-with-first-id", context)
        if not _array_equal(ids, drawn):
            return CheckFailed(
                "sample: every draw comes from the right distribution, but the ids you return are "
                f"not the ones you drew (you drew {drawn}, you return {ids.tolist()}): return the n "
                f"drawn characters in the order they were drawn{context}.", mistake_id="generic/value")
        return None
    k = bad[0]
    if k == 0:
        return CheckFailed(
            "sample: the first character is drawn from the wrong distribution: start from h = 0, "
            "read first_id, h = tanh(Wxh[:, first_id] + Whh @ h + bh), and draw from "
            f"softmax((Why @ h + by) / temperature){context}.", mistake_id="generic/time-step")
    return CheckFailed(
        f"sample: {'character 0 is' if k == 1 else f'characters 0..{k - 1} are'} drawn from the right "
        f"distribution, but character {k} is not (after drawing character {k - 1}, id {drawn[k - 1]}): "
        "read the character you just "
        "drew as the next input and keep h from the step before, "
        f"h = tanh(Wxh[:, idx] + Whh @ h + bh){context}.", mistake_id="generic/time-step")


def _unnamed_sampling_failure(sample, cases, got, args, context):
    """What to say when the right distribution comes out, with a fixed seed, as other ids."""
    again = _call_sample(sample, *args, context)
    reproducible = (" Make the draws reproducible: rng = np.random.default_rng(rng) once, then "
                    "exactly one rng.choice(V, p=p) per character, nothing else drawn")
    if not _array_equal(got, again):
        return CheckFailed(
            "sample: two calls with the same seed gave different characters: the draws do not "
            "come from the rng argument (np.random.choice draws from numpy's global generator, "
            f"np.random.default_rng() without the seed from a fresh one).{reproducible}"
            f"{context}.", mistake_id="generic/not-reproducible")
    traced = _traced_failure(sample, args, got, context)
    if traced is not None:
        return traced
    # Only the first character right, in every case: the step after the first draw is wrong.
    firsts, later = [], []
    for a in cases:
        want = _sample(_copy_params(a[0]), *a[1:])
        mine = _call_sample(sample, *a, _context(*a))
        firsts.append(mine[0] == want[0])
        later.append(a[2] > 1 and not _array_equal(mine, want))
    if all(firsts) and any(later):
        k = int(np.argmax(got != _sample(_copy_params(args[0]), *args[1:])))
        return CheckFailed(
            f"sample: the first character matches the reference in every case, but character {k} "
            "does not: after drawing a character, feed it in as the next input and keep the "
            f"hidden state{context}.", mistake_id="generic/time-step")
    return CheckFailed(
        "sample: your characters have the right distribution, but with a fixed seed they "
        f"differ from the reference's.{reproducible}{context}.",
        mistake_id="generic/not-reproducible")


def _check_sample(sample, hidden=False):
    # 1. The distribution, from long samples of a model whose state does not change.
    shapes = [(4, 3), (9, 5)] if hidden else [(6, 4)]
    for V, H in shapes:
        for temperature in (1.0, 0.5, 2.0):
            failure = _statistics(sample, V, H, case_seeds(hidden)[0], temperature, draws=3000)
            if failure is not None:
                raise failure
    # 2. A fixed seed must give the reference's characters.
    cases = _sample_cases(hidden)
    for args in cases:
        context = _context(*args)
        want = _sample(_copy_params(args[0]), *args[1:])
        got = _call_sample(sample, *args, context)
        if _array_equal(got, want):
            continue
        named = _named_by_variant(got, args, context)
        if named is not None:
            raise named
        raise _unnamed_sampling_failure(sample, cases, got, args, context)
    # 3. A low temperature must not overflow.
    args = _overflow_case(hidden)
    context = _context(*args)
    want = _sample(_copy_params(args[0]), *args[1:])
    try:
        got = _call_sample(sample, *args, context)
    except CheckFailed as err:
        if err.mistake_id in ("generic/crash", "generic/value"):
            raise _fail("overflow", f"{context}; here: {str(err).split(' (called with')[0]}") from None
        raise
    if not _array_equal(got, want):
        raise _named_by_variant(got, args, context) or CheckFailed(
            f"sample: at temperature 0.01 the characters differ from the reference's{context}: "
            "compute softmax(logits / temperature) stably (subtract the largest logit first).",
            mistake_id="generic/value")


SAMPLE = Exercise(
    name="sample",
    reference=_sample,
    cases=lambda hidden: [],
    returns=("ids",),
    mistakes=SAMPLE_MISTAKES,
    section="ch06-sampling",
    check_student=_check_sample,
)


def check_sample(sample, hidden=False):
    """Check ``sample(params, first_id, n, temperature=1.0, rng=None) -> ids (n,)``.

    Three checks. Statistical: with a model whose hidden state does not change, each of
    thousands of characters is an independent draw, and each character must come out about as
    often as ``softmax(logits / temperature)`` says. Fixed seed: with ``rng`` an integer seed,
    the ids must equal the reference's (``rng = np.random.default_rng(rng)``, then one
    ``rng.choice(V, p=p)`` per character). Low temperature (0.01): no overflow.
    """
    _check_sample(sample, hidden)
    print("sample: all checks passed.")


# =============================================================================================
# bits_per_char and perplexity
# =============================================================================================


def _score_cases(hidden):
    # 0 comes last: log2(0) crashes, and a crash is explained from the cases before it.
    values = [1.37, math.log(96.0), math.log(2.0), 0.0]
    if hidden:
        values = [math.log(2.0) * 3, 4.6, 1e-3, 2.0, 0.0]
    return [Case(f"loss_nats = {x:.4g}", (x,)) for x in values]


_BITS = "float(loss_nats) / math.log(2.0)"


def _number(x):
    return isinstance(x, (int, float, np.floating, np.integer)) and not isinstance(x, (bool, np.bool_))


def _short(c):
    """Is ``c`` a constant someone typed: at most 5 decimals (0.693, 1.443, 2.718)?"""
    return any(abs(round(c, k) - c) <= 1e-9 * abs(c) for k in range(1, 6))


def _rounded(mine, right):
    """The number of decimals ``right`` was rounded to, to give ``mine`` (None if it was not)."""
    return next((d for d in range(7) if right != round(right, d) and mine == round(right, d)), None)


def _diagnose_bits(got, expected, case):
    """A conversion off by a rounded constant (0.693, 0.69, 1.443 for ln 2 and log2 e), a result
    rounded to a few decimals, or a division by 2 or by log10 2."""
    (x,) = case.args
    mine, right = got.get("bits"), expected["bits"]
    if not (_number(mine) and x > 0 and mine > 0):
        return None
    mine = float(mine)
    digits = _rounded(mine, right)
    if digits is not None:
        return ("bits_per_char/rounded",
                f"bits is {mine:g}: the right value {right:.9g} rounded to {digits} decimals. Return "
                "the full float; round only when you print it.")
    d = x / mine  # what the loss was divided by
    if abs(d / math.log(2.0) - 1) < 0.01 and (_short(d) or _short(1 / d)):
        used = (f"you divided by {d:.6g}, a rounded ln 2 (0.693147...)" if _short(d) else
                f"you multiplied by {1 / d:.6g}, a rounded log2 e (1 / ln 2 = 1.442695...)")
        return ("bits_per_char/rounded-ln2",
                f"bits is {mine:.6g}, the right value is {right:.6g}: {used}. The check compares to "
                "9 digits: divide by np.log(2).")
    for k, what in ((2.0, "2"), (math.log10(2.0), "log10 2 = 0.301")):
        if abs(d / k - 1) < 1e-9:
            return ("bits_per_char/divided-by-other",
                    f"bits is {mine:.6g}: you divided the loss by {what}; changing the base of a "
                    "natural logarithm to base 2 divides it by ln 2 = 0.693.")
    return None

BITS_PER_CHAR = Exercise(
    name="bits_per_char",
    reference=_bits,
    cases=_score_cases,
    returns=("bits",),
    rtol=1e-9,
    atol=1e-12,
    section="ch06-scoring",
    diagnose=_diagnose_bits,
    mistakes=[
        Mistake("bits_per_char/rounded-ln2",
                "You used a rounded constant, 0.693 for ln 2 = 0.693147... (or 1.443 for "
                "1 / ln 2 = log2 e = 1.442695...): the bits are off in the fourth digit. The check "
                "compares to 9 digits: divide by np.log(2).",
                mutate(_bits, (_BITS, "float(loss_nats) / 0.693")), "ch06-scoring"),
        Mistake("bits_per_char/two-to-the-loss",
                "You raised 2 to the loss: 2 ** loss undoes a logarithm, but bits per character are "
                "a logarithm too, the loss in base 2: divide the loss by ln 2.",
                mutate(_bits, (_BITS, "2.0 ** float(loss_nats)")), "ch06-scoring"),
        Mistake("bits_per_char/multiplied-by-ln2",
                "You multiplied by ln 2: one bit is ln 2 nats, so the number of bits is the "
                "loss divided by ln 2.",
                mutate(_bits, (_BITS, "float(loss_nats) * math.log(2.0)")), "ch06-scoring"),
        Mistake("bits_per_char/divided-by-ln10",
                "You divided by ln 10, which gives decimal digits (base-10 logarithms): divide "
                "by ln 2 for bits.",
                mutate(_bits, (_BITS, "float(loss_nats) / math.log(10.0)")), "ch06-scoring"),
        Mistake("bits_per_char/log2-of-loss",
                "You took log2 of the loss: the loss is already a logarithm (the mean of -ln p); "
                "change its base by dividing by ln 2.",
                mutate(_bits, (_BITS, "math.log2(float(loss_nats))")), "ch06-scoring"),
        Mistake("bits_per_char/unchanged",
                "That is the loss in nats, unchanged: divide by ln 2 to get bits.",
                mutate(_bits, (_BITS, "float(loss_nats)")), "ch06-scoring"),
        Mistake("bits_per_char/perplexity",
                "That is the perplexity e^loss, not bits: bits per character are loss / ln 2.",
                mutate(_bits, (_BITS, "math.exp(float(loss_nats))")), "ch06-scoring"),
    ],
)


def check_bits_per_char(bits_per_char, hidden=False):
    """Check ``bits_per_char(loss_nats) -> float``, the loss converted from nats to bits."""
    run_check(BITS_PER_CHAR, bits_per_char, hidden)


_PPL = "math.exp(float(loss_nats))"


def _diagnose_perplexity(got, expected, case):
    """e ** loss computed with a rounded e (2.718, or 2 ** (loss / 0.693)), or rounded."""
    (x,) = case.args
    mine, right = got.get("perplexity"), expected["perplexity"]
    if not (_number(mine) and x > 0 and mine > 0):
        return None
    mine = float(mine)
    digits = _rounded(mine, right)
    if digits is not None:
        return ("perplexity/rounded",
                f"perplexity is {mine:g}: the right value {right:.9g} rounded to {digits} decimals. "
                "Return the full float; round only when you print it.")
    base = mine ** (1.0 / x)  # mine = base ** loss
    ln2 = x * math.log(2.0) / math.log(mine) if mine != 1 else 0.0  # mine = 2 ** (loss / ln2)
    if abs(math.log(base) - 1.0) < 0.01 and (_short(base) or _short(ln2)):
        used = (f"{base:.6g} ** loss, with a rounded e (2.718281...)" if _short(base) else
                f"2 ** (loss / {ln2:.6g}), with a rounded ln 2 (0.693147...)")
        return ("perplexity/rounded-e",
                f"perplexity is {mine:.6g}, the right value is {right:.6g}: that is {used}. The check "
                "compares to 9 digits: use np.exp(loss).")
    return None

PERPLEXITY = Exercise(
    name="perplexity",
    reference=_perplexity,
    cases=_score_cases,
    returns=("perplexity",),
    rtol=1e-9,
    atol=1e-12,
    section="ch06-perplexity",
    diagnose=_diagnose_perplexity,
    mistakes=[
        Mistake("perplexity/rounded-e",
                "You raised 2.718, a rounded e, to the loss: the perplexity is off in the fourth "
                "digit. The check compares to 9 digits: use np.exp(loss).",
                mutate(_perplexity, (_PPL, "2.718 ** float(loss_nats)")), "ch06-perplexity"),
        Mistake("perplexity/ten-to-the-loss",
                "You raised 10 to the loss: 10 ** x undoes a base-10 logarithm, but the loss is in "
                "nats (natural logarithm). Perplexity is e ** loss.",
                mutate(_perplexity, (_PPL, "10.0 ** float(loss_nats)")), "ch06-perplexity"),
        Mistake("perplexity/two-to-the-nats",
                "You raised 2 to the loss: 2 ** x undoes a base-2 logarithm, but the loss is in "
                "nats (natural logarithm). Perplexity is e ** loss (which equals 2 ** bits).",
                mutate(_perplexity, (_PPL, "2.0 ** float(loss_nats)")), "ch06-perplexity"),
        Mistake("perplexity/exp-of-bits",
                "You raised e to the bits per character: use one base throughout, e ** (loss in "
                "nats) or 2 ** (bits).",
                mutate(_perplexity, (_PPL, "math.exp(float(loss_nats) / math.log(2.0))")),
                "ch06-perplexity"),
        Mistake("perplexity/inverse",
                "That is e ** -loss, the geometric mean of the probabilities the model gives the "
                "right characters (at most 1); the perplexity is its inverse, e ** loss.",
                mutate(_perplexity, (_PPL, "math.exp(-float(loss_nats))")), "ch06-perplexity"),
        Mistake("perplexity/one-over-loss",
                "That is 1 / loss, the inverse of the loss itself: the perplexity undoes the "
                "logarithm, e ** loss (np.exp(loss)), the number of characters the model is as "
                "unsure as if it chose uniformly among them.",
                mutate(_perplexity, (_PPL, "1.0 / float(loss_nats)")), "ch06-perplexity"),
        Mistake("perplexity/unchanged",
                "That is the loss itself: the perplexity is e ** loss.",
                mutate(_perplexity, (_PPL, "float(loss_nats)")), "ch06-perplexity"),
        Mistake("perplexity/bits",
                "That is the loss in bits: the perplexity is 2 ** bits = e ** (loss in nats).",
                mutate(_perplexity, (_PPL, "float(loss_nats) / math.log(2.0)")), "ch06-perplexity"),
    ],
)


def check_perplexity(perplexity, hidden=False):
    """Check ``perplexity(loss_nats) -> float``, ``e ** loss_nats``."""
    run_check(PERPLEXITY, perplexity, hidden)


# =============================================================================================
# Conceptual questions
# =============================================================================================

_V_Q = 80
QUESTIONS_ASKED = [
    Question(
        "initial_loss", math.log(_V_Q),
        asks=f"The loss of an untrained model over V = {_V_Q} characters (nats per character)",
        explain=("An untrained model with small weights gives every character about the same "
                 "probability 1/V; the loss is the mean of -ln p."),
        wrong=(Wrong(math.log2(_V_Q), "initial-loss-in-bits",
                     "That is log2 V, the same loss in bits; the training loss uses natural "
                     "logarithms (nats): -ln(1/V) = ln V."),
               Wrong(float(_V_Q), "initial-loss-is-perplexity",
                     "That is the perplexity of a uniform model; the loss is its logarithm."),
               Wrong(1.0 / _V_Q, "initial-loss-is-probability",
                     "That is the probability of each character; the loss is -ln of it."),
               Wrong(-math.log(_V_Q), "initial-loss-sign",
                     "That is ln(1/V), the log-probability itself: the loss is its negative, "
                     "-ln(1/V) = ln V, a positive number."),
               Wrong(math.log10(_V_Q), "initial-loss-log10",
                     "That is log10 V, a base-10 logarithm: the training loss uses natural "
                     "logarithms (np.log), -ln(1/V) = ln V.")),
        section="ch06-scoring"),
    Question(
        "bits", 3.0,
        asks="A loss of ln 8 = 2.0794 nats per character, in bits per character",
        explain="A bit is ln 2 nats: divide the loss by ln 2.",
        wrong=(Wrong(math.log(8.0) * math.log(2.0), "bits-multiplied",
                     "You multiplied by ln 2; one bit is ln 2 nats, so divide by ln 2."),
               Wrong(math.log2(math.log(8.0)), "bits-log-of-loss",
                     "You took log2 of the loss: it is already a logarithm; change its base by "
                     "dividing by ln 2."),
               Wrong(8.0, "bits-is-perplexity", "8 is the perplexity, e ** loss."),
               Wrong(math.log10(8.0), "bits-log10",
                     "That is the loss divided by ln 10, log10 8: decimal digits, not bits. Bits "
                     "are base-2 logarithms: divide by ln 2.")),
        section="ch06-scoring"),
    Question(
        "uniform_perplexity", float(_V_Q),
        asks=f"The perplexity of the uniform model over V = {_V_Q} characters",
        explain="Perplexity is e ** (loss in nats) = 2 ** bits; compute the uniform model's loss first.",
        wrong=(Wrong(math.log(_V_Q), "uniform-perplexity-is-loss",
                     "That is the uniform model's loss in nats; the perplexity is e ** loss."),
               Wrong(math.log2(_V_Q), "uniform-perplexity-is-bits",
                     "That is its bits per character; the perplexity is 2 ** bits."),
               Wrong(1.0 / _V_Q, "uniform-perplexity-inverse",
                     "That is the probability of each character; the perplexity is its inverse."),
               Wrong(1.0, "uniform-perplexity-one",
                     "Perplexity 1 belongs to a model that is always certain and right; the "
                     "uniform model is as unsure as a choice among all V characters.")),
        section="ch06-perplexity"),
    Question(
        "temperature_to_zero", "a",
        asks="What sampling does as the temperature goes to 0 (a, b, c or d)",
        explain="Divide the logits by a tiny positive number and look at what the softmax does "
                "to the largest one.",
        wrong=(Wrong("b", "cold-is-uniform",
                     "Uniform draws are the limit of a *high* temperature: y / tau -> 0 for every "
                     "character. A small tau magnifies the differences instead."),
               Wrong("c", "cold-is-unchanged",
                     "Temperature 1 leaves the distribution unchanged; dividing by a small tau "
                     "magnifies the gaps between logits."),
               Wrong("d", "cold-is-least-likely",
                     "Dividing by a positive tau keeps the order of the logits, so the largest "
                     "one wins, not the smallest.")),
        section="ch06-temperature"),
]
QUESTIONS, _check_questions = question_set("ch06_questions", QUESTIONS_ASKED, section="ch06")


def check_ch06_questions(answers, hidden=False):
    """Check the chapter's conceptual questions: ``answers`` is a dict ``{key: answer}``.

    An answer left as ``None`` (the notebook's placeholder) or ``...`` is not attempted: if no
    question is attempted this raises ``NotImplementedError``, like an unwritten function.
    """
    if isinstance(answers, dict):
        keys = [q.key for q in QUESTIONS_ASKED]
        blank = [k for k in keys if answers.get(k) is None or answers.get(k) is ...]
        if len(blank) == len(keys):
            raise NotImplementedError("answer the questions: replace each None in answers")
        if blank:
            asks = {q.key: q.asks for q in QUESTIONS_ASKED}[blank[0]]
            raise CheckFailed(f"answers has no answer yet for {blank[0]!r} ({asks}): replace its "
                              "None with your answer.", mistake_id="generic/missing-answer")
        choice = answers.get("temperature_to_zero")
        if isinstance(choice, str):
            # "a", "(a)", "a)", "A." are all the letter a; anything else is not a letter.
            letter = _re.fullmatch(r"\s*\(?\s*([a-dA-D])\s*[).]?\s*", choice)
            if letter is None:
                raise CheckFailed(
                    f"temperature_to_zero: answer with the letter of your choice, 'a', 'b', 'c' or "
                    f"'d', not {choice!r}.", mistake_id="generic/type")
            answers = {**answers, "temperature_to_zero": letter.group(1)}
    _check_questions(answers, hidden)
