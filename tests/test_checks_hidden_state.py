"""Chapter 2's memory-probe checker: the right probe passes, each near miss is named."""
import numpy as np
import pytest

from rnnlib import probes
from rnnlib.checks import CheckFailed, check_memory_probe


def _states(x, h0, Wxh, Whh, bh):
    hs, h = [], h0
    for t in range(x.shape[0]):
        h = np.tanh(x[t] @ Wxh.T + h @ Whh.T + bh)
        hs.append(h)
    return np.stack(hs)


def good(x, h0, Wxh, Whh, bh, dx0):
    x2 = x.copy()
    x2[0] += dx0
    return np.linalg.norm(_states(x2, h0, Wxh, Whh, bh)[-1] - _states(x, h0, Wxh, Whh, bh)[-1], axis=1)


def _variant(t_changed=0, t_read=-1, reduce=lambda d: np.linalg.norm(d, axis=1), inplace=False, every=False):
    def probe(x, h0, Wxh, Whh, bh, dx0):
        base = _states(x, h0, Wxh, Whh, bh)
        if inplace:
            x2 = x
        else:
            x2 = x.copy()
        if every:
            x2 = x2 + dx0
        else:
            x2[t_changed] += dx0
        if inplace:
            base = _states(x, h0, Wxh, Whh, bh)
        return reduce(_states(x2, h0, Wxh, Whh, bh)[t_read] - base[t_read])

    return probe


def test_correct_memory_probe_passes(capsys):
    check_memory_probe(good)
    check_memory_probe(good, hidden=True)
    assert "all checks passed" in capsys.readouterr().out


def test_reference_is_blocked():
    with pytest.raises(CheckFailed, match="reference"):
        check_memory_probe(lambda *a: probes.memory_probe(*a))


def test_not_implemented_passes_through():
    def todo(*args):
        raise NotImplementedError()

    with pytest.raises(NotImplementedError):
        check_memory_probe(todo)


@pytest.mark.parametrize(
    "fn, words",
    [
        (_variant(t_changed=-1), "last input"),
        (_variant(t_read=0), "first state"),
        (_variant(reduce=lambda d: np.sum(d**2, axis=1)), "squared"),
        (_variant(reduce=lambda d: np.abs(d).sum(axis=1)), "L1"),
        (_variant(reduce=lambda d: d), "Euclidean norm for each example"),
        (_variant(reduce=lambda d: np.linalg.norm(d)), "whole batch"),
        (_variant(reduce=lambda d: np.linalg.norm(d, axis=0)), "across the batch"),
        (_variant(inplace=True), "x.copy()"),
        (_variant(every=True), "every input"),
        (lambda *a: (good(*a), None), "not a tuple"),
    ],
)
def test_wrong_memory_probe_is_named(fn, words):
    with pytest.raises(CheckFailed) as err:
        check_memory_probe(fn)
    assert words in str(err.value)


def test_hidden_cases_include_edge_shapes():
    # T = 1: the first input is also the last; B = 1: a single example.
    seen = []

    def spy(x, h0, Wxh, Whh, bh, dx0):
        seen.append(x.shape)
        return good(x, h0, Wxh, Whh, bh, dx0)

    check_memory_probe(spy, hidden=True)
    assert any(s[0] == 1 for s in seen) and any(s[1] == 1 for s in seen)


def test_perturbation_trace_ends_with_memory_probe():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 2, 3))
    h0 = np.zeros((2, 4))
    Wxh, Whh, bh = rng.standard_normal((4, 3)), rng.standard_normal((4, 4)) * 0.4, np.zeros(4)
    dx0 = rng.standard_normal((2, 3))
    trace = probes.perturbation_trace(x, h0, Wxh, Whh, bh, dx0)
    assert trace.shape == (6, 2)
    np.testing.assert_allclose(trace[-1], probes.memory_probe(x, h0, Wxh, Whh, bh, dx0))


def test_rnn_states_relu_grows_without_bound():
    x = np.zeros((30, 1, 1))
    x[0] = 1.0
    hs = probes.rnn_states(x, np.zeros((1, 2)), np.ones((2, 1)), 1.5 * np.eye(2), np.zeros(2), "relu")
    assert hs[-1].max() > 1e4
    hs = probes.rnn_states(x, np.zeros((1, 2)), np.ones((2, 1)), 1.5 * np.eye(2), np.zeros(2), "tanh")
    assert np.abs(hs).max() < 1


def _forward_h0_first(x, h0, Wxh, Whh, bh):
    # The mistake of the issue: hs[0] = h0, so every state is one step late.
    hs = np.zeros((x.shape[0],) + h0.shape)
    hs[0] = h0
    for t in range(1, x.shape[0]):
        hs[t] = np.tanh(x[t - 1] @ Wxh.T + hs[t - 1] @ Whh.T + bh)
    return hs, (x, h0, hs, Wxh, Whh)


def test_a_probe_built_on_a_wrong_forward_is_told_to_fix_the_forward_first():
    def probe(x, h0, Wxh, Whh, bh, dx0):
        x2 = x.copy()
        x2[0] += dx0
        hs, _ = _forward_h0_first(x, h0, Wxh, Whh, bh)
        hs2, _ = _forward_h0_first(x2, h0, Wxh, Whh, bh)
        return np.linalg.norm(hs2[-1] - hs[-1], axis=1)

    with pytest.raises(CheckFailed) as err:
        check_memory_probe(probe, rnn_forward=_forward_h0_first)
    assert "Fix rnn_forward first" in str(err.value) and "hs[0] is h0" in str(err.value)
    assert err.value.mistake_id == "rnn_forward/hs-starts-with-h0"
    # Without the forward, the probe itself is named: it reads the state before the last.
    with pytest.raises(CheckFailed) as err:
        check_memory_probe(probe)
    assert err.value.mistake_id == "memory_probe/state-before-last"


def test_a_right_probe_with_a_wrong_forward_given_passes():
    # The forward is only checked when the probe is wrong.
    check_memory_probe(good, rnn_forward=_forward_h0_first)


def test_editing_the_callers_x_is_named_with_the_argument_even_when_the_values_are_right():
    def probe(x, h0, Wxh, Whh, bh, dx0):
        before = _states(x, h0, Wxh, Whh, bh)[-1]
        x[0] += dx0  # right numbers, but the caller's x has changed
        return np.linalg.norm(_states(x, h0, Wxh, Whh, bh)[-1] - before, axis=1)

    with pytest.raises(CheckFailed) as err:
        check_memory_probe(probe)
    assert err.value.mistake_id == "memory_probe/edits-x-in-place"
    assert "changed its argument x in place" in str(err.value) and "x.copy()" in str(err.value)


def test_chapter_2_questions_name_the_misconception():
    from rnnlib.checks import check_ch02_questions

    right = {"hs_shape": (7, 3, 4), "whh_products": 19, "probe_shape": (3,), "slope_at_099": 0.02}
    check_ch02_questions(right)
    with pytest.raises(CheckFailed) as err:
        check_ch02_questions({**right, "hs_shape": (8, 3, 4)})
    assert err.value.mistake_id == "ch02_questions/counts-h0" and "h0 is not part of hs" in str(err.value)
    with pytest.raises(NotImplementedError):
        check_ch02_questions({k: ... for k in right})


def test_a_first_input_replaced_instead_of_changed_is_named():
    def probe(x, h0, Wxh, Whh, bh, dx0):
        x2 = x.copy()
        x2[0] = dx0
        return np.linalg.norm(_states(x2, h0, Wxh, Whh, bh)[-1] - _states(x, h0, Wxh, Whh, bh)[-1], axis=1)

    with pytest.raises(CheckFailed) as err:
        check_memory_probe(probe)
    assert err.value.mistake_id == "memory_probe/replaces-first-input", str(err.value)


def test_the_books_x1_read_as_x_of_1_is_named():
    def probe(x, h0, Wxh, Whh, bh, dx0):
        x2 = x.copy()
        x2[1] += dx0
        return np.linalg.norm(_states(x2, h0, Wxh, Whh, bh)[-1] - _states(x, h0, Wxh, Whh, bh)[-1], axis=1)

    with pytest.raises(CheckFailed) as err:
        check_memory_probe(probe)
    assert err.value.mistake_id == "memory_probe/second-input", str(err.value)
