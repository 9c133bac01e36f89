"""The chapter 8 checkers on code a student would write: right code passes, the usual
mistakes are named, and the checks run in the right order (the step before what builds on it,
the forward's cache before the backward)."""
from __future__ import annotations

import numpy as np
import pytest

from rnnlib import bidirectional, gru
from rnnlib.checks import (
    CheckFailed,
    check_bidirectional_gru_forward,
    check_ch08_questions,
    check_gru_step_backward,
    check_gru_step_forward,
)
from tests.correct_styles.ch08 import answers_plain, back_concatenate, bi_two_loops, step_split_blocks
from tests.students import unguarded


def _sig(v):
    return 1 / (1 + np.exp(-v))


def _fails(check, *args, words, mistake=None):
    with pytest.raises(CheckFailed) as err:
        check(*args)
    msg = str(err.value)
    for w in words:
        assert w.lower() in msg.lower(), f"{w!r} not in message: {msg}"
    if mistake:
        assert err.value.mistake_id == mistake, (err.value.mistake_id, msg)
    return msg


def paper_step(x_t, h_prev, Wx, Wh, bx, bh):
    """Cho et al.'s formula, written from the paper, with PyTorch's two biases."""
    H = h_prev.shape[1]
    a, g = x_t @ Wx.T + bx, h_prev @ Wh.T + bh
    r, z = _sig(a[:, :H] + g[:, :H]), _sig(a[:, H:2 * H] + g[:, H:2 * H])
    n = np.tanh(a[:, 2 * H:] + (r * h_prev) @ Wh[2 * H:].T + bh[2 * H:])
    return (1 - z) * n + z * h_prev, (x_t, h_prev, r, z, n, g[:, 2 * H:], Wx, Wh)


def test_a_correct_step_passes_visible_and_hidden(capsys):
    check_gru_step_forward(step_split_blocks)
    check_gru_step_forward(step_split_blocks, hidden=True)
    assert "all checks passed" in capsys.readouterr().out


def test_the_papers_formula_is_told_where_pytorchs_reset_goes():
    _fails(check_gru_step_forward, paper_step, words=["before the product", "r * (h_prev @ W_hn.T + b_hn)"],
           mistake="gru_step_forward/reset-before-product")


def test_chungs_convention_for_z_is_named():
    def step(x_t, h_prev, Wx, Wh, bx, bh):
        h, c = step_split_blocks(x_t, h_prev, Wx, Wh, bx, bh)
        r, z, n = c[2], c[3], c[4]
        return z * n + (1 - z) * h_prev, c
    _fails(check_gru_step_forward, step, words=["(1 - z) on the wrong term"],
           mistake="gru_step_forward/one-minus-z-on-h-prev")


def test_a_single_merged_bias_is_named():
    def step(x_t, h_prev, Wx, Wh, bx, bh):
        # b = bx + bh added once, outside the reset: a common simplification that is wrong here.
        H = h_prev.shape[1]
        a = x_t @ Wx.T + h_prev @ Wh.T * np.r_[np.ones(2 * H), np.zeros(H)] + bx + bh
        r, z = _sig(a[:, :H]), _sig(a[:, H:2 * H])
        hn = h_prev @ Wh[2 * H:].T
        n = np.tanh(a[:, 2 * H:] + r * hn)
        return (1 - z) * n + z * h_prev, (x_t, h_prev, r, z, n, hn, Wx, Wh)
    _fails(check_gru_step_forward, step, words=["b_hn"], mistake="gru_step_forward/reset-skips-b-hn")


def test_calling_the_reference_is_refused():
    _fails(check_gru_step_forward, lambda *a: gru.gru_step_forward(*a), words=["yourself"])


def test_an_untouched_step_raises_not_implemented():
    def step(*args):
        raise NotImplementedError()
    with pytest.raises(NotImplementedError):
        check_gru_step_forward(step)


def test_a_correct_backward_passes_on_the_students_forward(capsys):
    check_gru_step_backward(step_split_blocks, back_concatenate)
    check_gru_step_backward(step_split_blocks, back_concatenate, hidden=True)
    assert "all checks passed" in capsys.readouterr().out


def test_a_cache_in_another_order_blames_the_forward():
    def step(*args):
        h, c = step_split_blocks(*args)
        return h, (c[0], c[1], c[3], c[2]) + tuple(c[4:])  # z before r
    _fails(check_gru_step_backward, step, back_concatenate, words=["Fix gru_step_forward first", "r, z, n, hn"])


def test_a_backward_with_one_gradient_for_both_sides_is_named():
    def back(dh_t, cache):
        x_t, h_prev, r, z, n, hn, Wx, Wh = cache
        da_n = dh_t * (1 - z) * (1 - n ** 2)
        da = np.concatenate([da_n * hn * r * (1 - r), dh_t * (h_prev - n) * z * (1 - z), da_n], axis=1)
        return da @ Wx, da @ Wh + dh_t * z, da.T @ x_t, da.T @ h_prev, da.sum(0), da.sum(0)
    _fails(check_gru_step_backward, step_split_blocks, back, words=["same gradient", "times r"],
           mistake="gru_step_backward/hidden-n-misses-r")


def test_a_backward_without_the_direct_path_is_named():
    def back(dh_t, cache):
        dx, dh_prev, *rest = back_concatenate(dh_t, cache)
        return (dx, dh_prev - dh_t * cache[3], *rest)
    _fails(check_gru_step_backward, step_split_blocks, back, words=["direct path"],
           mistake="gru_step_backward/no-direct-path")


def test_a_correct_bidirectional_forward_passes(capsys):
    check_bidirectional_gru_forward(bi_two_loops, step_split_blocks)
    check_bidirectional_gru_forward(bi_two_loops, step_split_blocks, hidden=True)
    assert "all checks passed" in capsys.readouterr().out


def test_a_backward_direction_that_reads_forwards_is_named():
    def bi(x, h0_f, h0_b, fwd, bwd):
        hs_f, hs_b, hf, hb = [], [], h0_f, h0_b
        for t in range(x.shape[0]):
            hf, _ = step_split_blocks(x[t], hf, *fwd)
            hb, _ = step_split_blocks(x[t], hb, *bwd)
            hs_f.append(hf)
            hs_b.append(hb)
        return np.concatenate([np.stack(hs_f), np.stack(hs_b)], axis=-1)
    _fails(check_bidirectional_gru_forward, bi, step_split_blocks, words=["second forward pass"],
           mistake="bidirectional_gru_forward/backward-is-a-second-forward")


def test_halves_in_the_wrong_order_are_named():
    def bi(*args):
        hs = bi_two_loops(*args)
        H = hs.shape[-1] // 2
        return np.concatenate([hs[..., H:], hs[..., :H]], axis=-1)
    _fails(check_bidirectional_gru_forward, bi, words=["wrong order", "forward direction's states come first"],
           mistake="bidirectional_gru_forward/directions-swapped")


def test_a_wrong_step_under_the_bidirectional_forward_is_blamed_first():
    def bi(x, h0_f, h0_b, fwd, bwd):
        T = x.shape[0]
        hf, hb, out_f, out_b = h0_f, h0_b, [], [None] * T
        for t in range(T):
            hf, _ = paper_step(x[t], hf, *fwd)
            out_f.append(hf)
        for t in range(T - 1, -1, -1):
            hb, _ = paper_step(x[t], hb, *bwd)
            out_b[t] = hb
        return np.concatenate([np.stack(out_f), np.stack(out_b)], axis=-1)
    _fails(check_bidirectional_gru_forward, bi, paper_step, words=["Fix gru_step_forward first", "before the product"],
           mistake="gru_step_forward/reset-before-product")


def test_the_bidirectional_forward_may_not_call_rnnlibs():
    _fails(check_bidirectional_gru_forward, lambda *a: bidirectional.bidirectional_gru_forward(*a),
           words=["yourself"])


def test_questions_right_answers_pass_and_known_wrong_ones_are_explained(capsys):
    check_ch08_questions(answers_plain())
    assert "all answers are right" in capsys.readouterr().out
    _fails(check_ch08_questions, {**answers_plain(), "copy_z": 0}, words=["Chung"],
           mistake="ch08_questions/copy-z-zero")
    _fails(check_ch08_questions, {**answers_plain(), "bi_can_generate": True}, words=["end of the sequence"],
           mistake="ch08_questions/bi-generates")
    _fails(check_ch08_questions, {**answers_plain(), "gru_params": 1234}, words=["two biases"],
           mistake="ch08_questions/gru_params-other")
    _fails(check_ch08_questions, {k: v for k, v in answers_plain().items() if k != "direct_path"},
           words=["no answer"], mistake="generic/missing-answer")


def test_a_student_stand_in_for_the_reference_passes_every_check():
    check_gru_step_forward(unguarded(gru.gru_step_forward), hidden=True)
    check_gru_step_backward(unguarded(gru.gru_step_forward), unguarded(gru.gru_step_backward), hidden=True)


# --- A mistake an outside tester wrote blind (round 2), in a student's own words ---------------

def test_a_backward_with_the_roles_of_z_swapped_is_named():
    def gru_step_backward(dh_t, cache):  # as if h_t = z * n + (1 - z) * h_prev
        x_t, h_prev, r, z, n, hn, Wx, Wh = cache
        dn_pre = dh_t * z * (1 - n ** 2)
        dr = dn_pre * hn * r * (1 - r)
        dz = dh_t * (n - h_prev) * z * (1 - z)
        da = np.concatenate([dr, dz, dn_pre], 1)
        dg = np.concatenate([dr, dz, dn_pre * r], 1)
        return (da @ Wx, dg @ Wh + dh_t * (1 - z), da.T @ x_t, dg.T @ h_prev, da.sum(0), dg.sum(0))

    for hidden in (False, True):
        _fails(lambda *a: check_gru_step_backward(*a, hidden=hidden), step_split_blocks, gru_step_backward,
               words=["(1 - z) * n + z * h_prev"], mistake="gru_step_backward/z-roles-swapped")


# --- Mistakes an outside tester wrote blind (round 3), in a student's own words ---------------

def _gru_backward(dr_of, slope_of):
    def gru_step_backward(dh_t, cache):
        x_t, h_prev, r, z, n, hn, Wx, Wh = cache
        dn_pre = dh_t * (1 - z) * slope_of(n, hn)
        dr = dr_of(dn_pre, hn) * r * (1 - r)
        dz = dh_t * (h_prev - n) * z * (1 - z)
        da = np.concatenate([dr, dz, dn_pre], 1)
        dg = np.concatenate([dr, dz, dn_pre * r], 1)
        return (da @ Wx, dg @ Wh + dh_t * z, da.T @ x_t, dg.T @ h_prev, da.sum(0), dg.sum(0))
    return gru_step_backward


@pytest.mark.parametrize("hidden", [False, True])
@pytest.mark.parametrize("backward, mistake, words", [
    # the reset gate's gradient without its factor hn
    (_gru_backward(lambda d, hn: d, lambda n, hn: 1 - n ** 2), "gru_step_backward/dr-misses-hn",
     ["misses the factor hn"]),
    # the candidate's tanh slope taken at hn instead of at n
    (_gru_backward(lambda d, hn: d * hn, lambda n, hn: 1 - hn ** 2), "gru_step_backward/tanh-slope-at-hn",
     ["1 - n**2"]),
])
def test_blind_gru_backward_mistakes_round_3_are_named(backward, mistake, words, hidden):
    _fails(lambda *a: check_gru_step_backward(*a, hidden=hidden), step_split_blocks, backward,
           words=words, mistake=mistake)


def test_the_round_3_helper_is_right_when_it_should_be():
    check_gru_step_backward(step_split_blocks, _gru_backward(lambda d, hn: d * hn, lambda n, hn: 1 - n ** 2),
                            hidden=True)
